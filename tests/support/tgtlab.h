/* Test support: the private tgtd of tests/support/tgtd-lab.sh, from C. */
#ifndef VSCSI_TEST_TGTLAB_H
#define VSCSI_TEST_TGTLAB_H

struct tgtlab {
	char rundir[256];
	int pid;
	int port;
	char disk_url[256];
	char tape_url[256];
	char vtl_drive1_url[256];
	char vtl_drive2_url[256];
	char changer_url[256];
	char shared_url[256];      /* two disks of one target (reservations) */
	char shared2_url[256];
	int control_port;          /* tgtadm -C */
};

/* Runs `tgtd-lab.sh CMD rundir`; start also reads the env file. */
int tgtlab_start(struct tgtlab *lab, const char *rundir);
/* The same in PARENT/tgt (a test's run directory); says so on failure. */
int tgtlab_start_in(struct tgtlab *lab, const char *parent);
int tgtlab_cmd(struct tgtlab *lab, const char *cmd);
void tgtlab_stop(struct tgtlab *lab);

#endif
