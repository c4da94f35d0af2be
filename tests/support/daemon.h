/* Test support: start a program under the simulator and stop it by PID. */
#ifndef VSCSI_TEST_DAEMON_H
#define VSCSI_TEST_DAEMON_H

#include <sys/types.h>

struct simenv;

/* Starts argv (NULL-terminated) inside domid via `xensim exec`, stderr to
 * logfile. Returns the pid or -1. */
pid_t daemon_start(struct simenv *env, int domid, const char *logfile, char *const argv[]);
/* Sends sig and waits up to timeout_ms; SIGKILL after that. Returns the
 * wait status. */
int daemon_stop(pid_t pid, int sig, unsigned timeout_ms);
/* Whether the process still runs. */
int daemon_alive(pid_t pid);

/* 0 when logfile holds no sanitizer report (ASan, UBSan, LSan), else -1
 * after printing the first report line. */
int daemon_log_clean(const char *logfile);
/* A test's teardown: stops pid (SIGTERM, then SIGKILL after 10 s) if it
 * is > 0, and prints logfile to stderr when VSCSI_SHOW_LOGS is set. */
void daemon_finish(pid_t pid, const char *logfile);
/* How many lines of logfile contain text (0 without the file). */
int daemon_log_count(const char *logfile, const char *text);
/* 0 once a line of logfile contains text, -1 after timeout_ms. */
int daemon_wait_log(const char *logfile, const char *text, unsigned timeout_ms);

#endif
