/* Test support: a private xensimd for one test program. */
#ifndef VSCSI_TEST_SIMENV_H
#define VSCSI_TEST_SIMENV_H

#include <stddef.h>
#include <sys/types.h>

struct xs_handle;

struct simenv {
	char rundir[256];
	pid_t pid;
};

/* The build directory holding the programs ($VSCSI_BUILD, default "build"). */
const char *simenv_build_dir(void);
/* Path of a built program, e.g. simenv_prog("tools/xensim/xensim"). */
const char *simenv_prog(const char *rel);
/* The domid that runs a program on the host itself, outside any domain
 * (the xensim CLI, for one). */
#define SIMENV_HOST (-1)

/* In a child: becomes argv running inside domid (xensim exec), or argv
 * itself for SIMENV_HOST; exits 127 if that cannot start. */
__attribute__((noreturn)) void simenv_exec_in(int domid, char *const argv[]);

/* Re-executes the test with LD_LIBRARY_PATH set to the simulated
 * libxengnttab/libxenevtchn, once; call first thing in main(). */
void simenv_use_sim_libs(int argc, char **argv);

/* Starts xensimd on a fresh private run directory and sets XENSIM_RUNDIR
 * for this process and its children. Returns 0 or -errno. */
int simenv_start(struct simenv *env);
/* Stops it (SIGTERM, then SIGKILL after 5 s) and removes the rundir. */
void simenv_stop(struct simenv *env);

int simenv_create_domain(struct simenv *env, const char *name);
int simenv_destroy_domain(struct simenv *env, int domid);
void simenv_xs_path(struct simenv *env, int domid, char *buf, size_t len);
/* A libxenstore handle speaking as domid (through its own socket). */
struct xs_handle *simenv_xs_open(struct simenv *env, int domid);
/* Makes this process act as domid for the simulated gnttab/evtchn libs. */
void simenv_be_domain(struct simenv *env, int domid);

/* Runs argv (NULL-terminated after cmd) via `xensim exec domid --`, with
 * stdout+stderr captured into out. Returns the exit status, or -1. */
int simenv_run(struct simenv *env, int domid, char *out, size_t outlen, const char *cmd, ...)
	__attribute__((sentinel));
/* Same, for an argv array, with optional stdin text. */
int simenv_runv(struct simenv *env, int domid, char *out, size_t outlen,
		const char *input, char *const argv[]);

/* What domain domid's init (xensim create ... -- INIT) printed so far,
 * NUL-terminated in buf ("" when nothing). Returns buf. */
char *simenv_console(struct simenv *env, int domid, char *buf, size_t len);

#endif
