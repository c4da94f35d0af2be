/* Test support for the scsifront tests: a private simulator, scsiback in
 * dom0, one guest domain, and this test process acting as that guest so
 * that libvscsifront runs in it as it would in a domU. */
#ifndef VSCSI_TEST_SFENV_H
#define VSCSI_TEST_SFENV_H

#include <stdbool.h>
#include <sys/types.h>

#include "simenv.h"

struct xs_handle;

struct sfenv {
	struct simenv sim;
	int guest;                 /* the guest's domid */
	pid_t backend;             /* scsiback, 0 when not running */
	struct xs_handle *xs0;     /* dom0's view, for the toolstack */
	char logfile[512], statedir[512], config[512];
};

/* Starts xensimd, creates the guest, starts scsiback (if with_backend),
 * and makes this process the guest (XENSIM_DOMID, XENSTORED_PATH). */
int sfenv_start(struct sfenv *e, bool with_backend);
void sfenv_stop(struct sfenv *e);
pid_t sfenv_start_backend(struct sfenv *e);

/* Toolstack attach / detach from a child process (dom0), because the
 * toolstack waits for the guest, which is us. Returns the child's pid;
 * sfenv_ts_wait() returns its exit code. */
pid_t sfenv_ts_async(struct sfenv *e, bool attach, const char *pdev, const char *vdev);
int sfenv_ts_wait(pid_t pid);
/* Waits for it while calling service(arg) (e.g. to drive a frontend the
 * toolstack waits for). */
int sfenv_ts_wait_serviced(pid_t pid, void (*service)(void *), void *arg);
/* cmocka_set_test_filter($SF_TEST) when set. */
void sfenv_test_filter(void);
/* The same, synchronously, for a vhost we are not connected to. */
int sfenv_attach(struct sfenv *e, const char *pdev, const char *vdev);

/* The private tgtd of tests/support/tgtd-lab.sh (disk, tape, VTL). */
struct sftgt {
	char rundir[512];
	char disk_url[256], tape_url[256], drive1_url[256], drive2_url[256], changer_url[256];
	char disk_img[600];        /* the disk LUN's backing file */
};
/* 0, or -1 if tgtd could not be started (e.g. not installed). */
int sftgt_start(struct sftgt *t, const char *rundir);
void sftgt_stop(struct sftgt *t);
/* tgtd-lab.sh's kill (SIGKILL, the target gone) or restart, and tgtd's
 * pid now (0 if unknown), for tests that take the target away. */
int sftgt_cmd(struct sftgt *t, const char *cmd);
pid_t sftgt_pid(struct sftgt *t);

/* Runs argv inside the guest (xensim exec), output (stdout + stderr) in
 * out. Returns the exit status. */
int sfenv_run(struct sfenv *e, char *out, size_t outlen, char *const argv[]);
/* The same with the program and its arguments listed, NULL last (at most 63). */
int sfenv_runl(struct sfenv *e, char *out, size_t outlen, const char *first, ...)
	__attribute__((sentinel));

#endif
