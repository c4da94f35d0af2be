#include "daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "simenv.h"

pid_t daemon_start(struct simenv *env, int domid, const char *logfile, char *const argv[])
{
	pid_t pid = fork();

	(void)env;
	if (pid == 0) {
		int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		simenv_exec_in(domid, argv);
	}
	return pid;
}

int daemon_alive(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == 0;
}

int daemon_stop(pid_t pid, int sig, unsigned timeout_ms)
{
	int status = -1;

	if (pid <= 0)
		return -1;
	kill(pid, sig);
	for (unsigned i = 0; i < timeout_ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return status;
}

int daemon_log_clean(const char *logfile)
{
	FILE *f = fopen(logfile, "r");
	char line[1024];
	int r = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "ERROR: AddressSanitizer") || strstr(line, "runtime error:") ||
		    strstr(line, "ERROR: LeakSanitizer")) {
			fprintf(stderr, "%s: %s", logfile, line);
			r = -1;
			break;
		}
	fclose(f);
	return r;
}

int daemon_log_count(const char *logfile, const char *text)
{
	char line[1024];
	FILE *f = fopen(logfile, "r");
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, text) != NULL;
	fclose(f);
	return n;
}

int daemon_wait_log(const char *logfile, const char *text, unsigned timeout_ms)
{
	for (unsigned waited = 0;; waited += 20) {
		FILE *f = fopen(logfile, "r");
		char line[2048];
		int found = 0;

		while (f && !found && fgets(line, sizeof(line), f))
			found = strstr(line, text) != NULL;
		if (f)
			fclose(f);
		if (found)
			return 0;
		if (waited >= timeout_ms)
			return -1;
		usleep(20000);
	}
}

void daemon_finish(pid_t pid, const char *logfile)
{
	if (pid > 0)
		daemon_stop(pid, SIGTERM, 10000);
	if (getenv("VSCSI_SHOW_LOGS")) {
		FILE *f = fopen(logfile, "r");
		char line[2048];

		while (f && fgets(line, sizeof(line), f))
			fputs(line, stderr);
		if (f)
			fclose(f);
	}
}
