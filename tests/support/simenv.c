#include "simenv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

const char *simenv_build_dir(void)
{
	const char *b = getenv("VSCSI_BUILD");

	return b && *b ? b : "build";
}

const char *simenv_prog(const char *rel)
{
	static char path[8][PATH_MAX];
	static unsigned next;
	char *p = path[next++ % 8];

	snprintf(p, PATH_MAX, "%s/%s", simenv_build_dir(), rel);
	return p;
}

void simenv_exec_in(int domid, char *const argv[])
{
	char dom[16], *args[64];
	int n = 0;

	if (domid == SIMENV_HOST) {
		execv(argv[0], argv);
		_exit(127);
	}
	snprintf(dom, sizeof(dom), "%d", domid);
	args[n++] = (char *)simenv_prog("tools/xensim/xensim");
	args[n++] = "exec";
	args[n++] = dom;
	args[n++] = "--";
	for (int i = 0; argv[i] && n < 63; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	execv(args[0], args);
	_exit(127);
}

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 }, NULL);
}

void simenv_use_sim_libs(int argc, char **argv)
{
	char libdir[PATH_MAX], *ld;
	const char *old = getenv("LD_LIBRARY_PATH");

	(void)argc;
	if (getenv("SIMENV_REEXECED"))
		return;
	snprintf(libdir, sizeof(libdir), "%s/tools/xensim/lib", simenv_build_dir());
	if (asprintf(&ld, "%s%s%s", libdir, old && *old ? ":" : "", old ? old : "") < 0)
		return;
	setenv("LD_LIBRARY_PATH", ld, 1);
	setenv("SIMENV_REEXECED", "1", 1);
	execv("/proc/self/exe", argv);
	fprintf(stderr, "simenv: re-exec failed: %s\n", strerror(errno));
}

int simenv_start(struct simenv *env)
{
	char ctl[PATH_MAX];
	const char *tmp = getenv("TMPDIR");

	snprintf(env->rundir, sizeof(env->rundir), "%s/vscsi-sim-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(env->rundir))
		return -errno;
	setenv("XENSIM_RUNDIR", env->rundir, 1);
	env->pid = fork();
	if (env->pid < 0)
		return -errno;
	if (env->pid == 0) {
		char log[PATH_MAX];
		int fd;

		snprintf(log, sizeof(log), "%s/xensimd.log", env->rundir);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		execl(simenv_prog("tools/xensim/xensimd"), "xensimd", "--rundir", env->rundir,
		      "--log-level", "debug", (char *)NULL);
		_exit(127);
	}
	/* (30 s: a sanitizer build on a loaded machine has taken more than 5) */
	snprintf(ctl, sizeof(ctl), "%s/ctl", env->rundir);
	for (int i = 0; i < 3000; i++) {
		if (access(ctl, F_OK) == 0)
			return 0;
		if (waitpid(env->pid, NULL, WNOHANG) == env->pid) {
			fprintf(stderr, "simenv: xensimd ended before it served (its log: %s/xensimd.log)\n",
				env->rundir);
			env->pid = 0;
			return -ECHILD;
		}
		sleep_ms(10);
	}
	fprintf(stderr, "simenv: xensimd made no %s in 30 s\n", ctl);
	return -ETIMEDOUT;
}

void simenv_stop(struct simenv *env)
{
	char cmd[PATH_MAX + 16];

	if (env->pid > 0) {
		kill(env->pid, SIGTERM);
		for (int i = 0; i < 500; i++) {
			if (waitpid(env->pid, NULL, WNOHANG) == env->pid) {
				env->pid = 0;
				break;
			}
			sleep_ms(10);
		}
		if (env->pid > 0) {
			kill(env->pid, SIGKILL);
			waitpid(env->pid, NULL, 0);
			env->pid = 0;
		}
	}
	if (env->rundir[0] && !getenv("VSCSI_KEEP_RUNDIR")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", env->rundir);
		if (system(cmd) != 0)
			fprintf(stderr, "simenv: could not remove %s\n", env->rundir);
	}
}

int simenv_runv(struct simenv *env, int domid, char *out, size_t outlen,
		const char *input, char *const argv[])
{
	int outp[2], inp[2], status;
	size_t used = 0;
	pid_t pid;

	(void)env;
	if (pipe(outp) < 0 || pipe(inp) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(outp[1], 1);
		dup2(outp[1], 2);
		dup2(inp[0], 0);
		close(outp[0]);
		close(outp[1]);
		close(inp[0]);
		close(inp[1]);
		simenv_exec_in(domid, argv);
	}
	close(outp[1]);
	close(inp[0]);
	if (input && write(inp[1], input, strlen(input)) < 0)
		(void)0;
	close(inp[1]);
	for (;;) {
		char sink[4096];
		char *dst = out && used + 1 < outlen ? out + used : sink;
		size_t room = out && used + 1 < outlen ? outlen - used - 1 : sizeof(sink);
		ssize_t n = read(outp[0], dst, room);

		if (n <= 0)
			break;
		if (dst != sink)
			used += (size_t)n;
	}
	if (out && outlen)
		out[used] = 0;
	close(outp[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int simenv_run(struct simenv *env, int domid, char *out, size_t outlen, const char *cmd, ...)
{
	char *argv[64];
	va_list ap;
	int n = 0;

	argv[n++] = (char *)cmd;
	va_start(ap, cmd);
	while (n < 63 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return simenv_runv(env, domid, out, outlen, NULL, argv);
}

static int run_xensim(char *out, size_t outlen, const char *a1, const char *a2, const char *a3)
{
	char *argv[] = { (char *)simenv_prog("tools/xensim/xensim"), (char *)a1, (char *)a2,
			 (char *)a3, NULL };
	int outp[2], status;
	pid_t pid;
	ssize_t n;

	if (pipe(outp) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(outp[1], 1);
		close(outp[0]);
		close(outp[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(outp[1]);
	n = read(outp[0], out, outlen - 1);
	out[n > 0 ? n : 0] = 0;
	close(outp[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int simenv_create_domain(struct simenv *env, const char *name)
{
	char out[64];

	(void)env;
	if (run_xensim(out, sizeof(out), "create-domain", "--name", name) != 0)
		return -EIO;
	return atoi(out);
}

int simenv_destroy_domain(struct simenv *env, int domid)
{
	char out[64], id[16];

	(void)env;
	snprintf(id, sizeof(id), "%d", domid);
	return run_xensim(out, sizeof(out), "destroy-domain", id, NULL) == 0 ? 0 : -EIO;
}

void simenv_xs_path(struct simenv *env, int domid, char *buf, size_t len)
{
	snprintf(buf, len, "%s/xenstore/dom%d", env->rundir, domid);
}

struct xs_handle *simenv_xs_open(struct simenv *env, int domid)
{
	char path[PATH_MAX];

	simenv_xs_path(env, domid, path, sizeof(path));
	/* libxenstore reads XENSTORED_PATH at every xs_open. */
	setenv("XENSTORED_PATH", path, 1);
	return xs_open(0);
}

void simenv_be_domain(struct simenv *env, int domid)
{
	char buf[16];

	setenv("XENSIM_RUNDIR", env->rundir, 1);
	snprintf(buf, sizeof(buf), "%d", domid);
	setenv("XENSIM_DOMID", buf, 1);
}

char *simenv_console(struct simenv *env, int domid, char *buf, size_t len)
{
	char path[600];
	FILE *f;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/console/%d.log", env->rundir, domid);
	f = fopen(path, "r");
	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = 0;
	return buf;
}
