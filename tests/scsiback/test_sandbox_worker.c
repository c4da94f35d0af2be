/* What a guest's worker can still do once it has dropped its privileges
 * (privdrop_to_user) and loaded its seccomp filter
 * (sandbox_apply_worker), done for real in a child as a worker that a
 * hostile guest took over would: each forbidden action is refused (an
 * error, or the process killed with a log line naming the call), and what
 * serving needs (a TCP socket, a signal to itself, memory) still works,
 * so the refusals are the filter's and not a broken child's. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <cmocka.h>

#include "privdrop.h"
#include "sandbox.h"
#include "sgio.h"

static char jail[] = "/tmp/sandbox-worker-XXXXXX";
static pid_t other;   /* a process not the worker (the test itself) */

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

/* SG_IO for the worker's threads (scsiback/sgio.c): the real ioctl (a
 * pipe answers ENOTTY); a job with timeout 1 then waits, as sg would for
 * its device, until a signal ends the wait. */
static int sgio_standin(int fd, struct sg_io_hdr *h)
{
	if (ioctl(fd, SG_IO, h) == 0 || errno != ENOTTY)
		return -1;
	if (h->timeout == 1 && poll(NULL, 0, 10000) < 0)
		return -1;            /* EINTR */
	errno = ENOTTY;
	return -1;
}

/* What an sg LUN makes the worker do: a queue (an eventfd), a command in
 * a thread and its answer, and close() cancelling one that waits. */
static int sg_pipe[2];   /* made before the drop: the "sg node" */

static long sg_threads(void)
{
	struct sgio_queue *q = sgio_queue_new();
	struct sgio_job a = { 0 }, b = { 0 };
	struct pollfd w;

	if (!q)
		return 74;
	a.fd = b.fd = sg_pipe[0];
	sgio_submit(q, &a);
	w = (struct pollfd){ .fd = sgio_queue_fd(q), .events = POLLIN };
	if (poll(&w, 1, 5000) != 1 || sgio_reap(q) != &a || a.err != ENOTTY)
		return 75;
	b.hdr.timeout = 1;
	sgio_submit(q, &b);
	usleep(100000);
	sgio_cancel(q);
	if (sgio_reap(q) != &b || b.err != EINTR)
		return 76;
	sgio_queue_free(q);
	return 0;
}

/* The attempt, in the dropped and filtered child: returns 0 when the call
 * came back refused with want_errno (or succeeded, want_errno 0). A call
 * the filter kills never returns. */
static int attempt(const char *what, int want_errno)
{
	long r = 0;
	char *argv[] = { "true", NULL };

	errno = 0;
	if (!strcmp(what, "open-device"))
		r = open("/dev/null", O_RDWR);
	else if (!strcmp(what, "open-file"))
		r = open("/etc/passwd", O_RDONLY);
	else if (!strcmp(what, "unix-socket"))   /* xenstored's, syslog's */
		r = socket(AF_UNIX, SOCK_STREAM, 0);
	else if (!strcmp(what, "tcp-socket"))
		r = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	else if (!strcmp(what, "udp-socket"))
		r = socket(AF_INET, SOCK_DGRAM, 0);
	else if (!strcmp(what, "netlink-socket"))   /* getaddrinfo's, in libiscsi */
		r = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
	else if (!strcmp(what, "own-limits")) {     /* glibc: prlimit64(0, ...) */
		struct rlimit rl;

		r = getrlimit(RLIMIT_NOFILE, &rl);
		if (r == 0)
			r = setrlimit(RLIMIT_NOFILE, &rl);
	} else if (!strcmp(what, "others-limits")) {  /* another worker's, same user */
		struct rlimit rl = { 0, 0 };

		r = prlimit(other, RLIMIT_NOFILE, &rl, NULL);
	}
	else if (!strcmp(what, "self-signal")) {
		signal(SIGUSR1, on_usr1);
		r = raise(SIGUSR1);
		if (!got_usr1)
			return 70;
	} else if (!strcmp(what, "sg-threads")) {
		return (int)sg_threads();
	} else if (!strcmp(what, "memory")) {
		void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		r = p == MAP_FAILED ? -1 : munmap(p, 1 << 20);
	} else if (!strcmp(what, "execve"))
		r = execve("/bin/true", argv, environ);
	else if (!strcmp(what, "fork"))
		r = fork();
	else if (!strcmp(what, "ptrace"))
		r = ptrace(PTRACE_ATTACH, other, NULL, NULL);
	else if (!strcmp(what, "process_vm_writev")) {
		char b = 0;
		struct iovec l = { &b, 1 }, rm = { &b, 1 };

		r = syscall(SYS_process_vm_writev, other, &l, 1, &rm, 1, 0);
	} else if (!strcmp(what, "kill"))          /* another worker */
		r = kill(other, 0);
	else if (!strcmp(what, "init_module"))
		r = syscall(SYS_init_module, NULL, 0UL, "");
	else if (!strcmp(what, "setuid"))
		r = syscall(SYS_setuid, 0);
	else if (!strcmp(what, "exec-memory"))
		r = (long)mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	else if (!strcmp(what, "listen")) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		r = s < 0 ? -1 : listen(s, 1);
	} else if (!strcmp(what, "fastopen")) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		r = s < 0 ? -1 : sendto(s, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&a, sizeof(a));
	} else
		return 71;
	if (want_errno == 0)
		return r < 0 ? 72 : 0;
	return r < 0 && errno == want_errno ? 0 : 73;
}

/* Runs what in a child that drops to nobody in the jail and loads the
 * worker's filter; returns its wait status, its stderr in out. */
static int run(const char *what, int want_errno, char *out, size_t outlen)
{
	int p[2], st;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];

		other = getppid();
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		/* (the worker starts its SG_IO threads before the drop) */
		sgio_test_set_ioctl(sgio_standin);
		if (!strcmp(what, "sg-threads") &&
		    (pipe(sg_pipe) < 0 || sgio_start(2, err, sizeof(err)) < 0)) {
			fprintf(stderr, "setup: %s\n", err);
			_exit(81);
		}
		if (privdrop_to_user("nobody", jail, err, sizeof(err)) < 0 ||
		    sandbox_apply_worker(false, err, sizeof(err)) < 0) {
			fprintf(stderr, "setup: %s\n", err);
			_exit(80);
		}
		_exit(attempt(what, want_errno));
	}
	close(p[1]);
	for (size_t at = 0;; at += (size_t)n) {   /* to the end: the child writes a line in parts */
		n = read(p[0], out + at, outlen - 1 - at);
		if (n <= 0) {
			out[at] = 0;
			break;
		}
	}
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void refused_with(const char *what, int want_errno)
{
	char out[512];
	int st = run(what, want_errno, out, sizeof(out));

	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("%s: expected %s, status %#x, stderr: %s", what,
			 want_errno ? strerror(want_errno) : "success", st, out);
}

static void killed_naming(const char *what, const char *call)
{
	char out[512];
	int st = run(what, 0, out, sizeof(out));

	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
		fail_msg("%s: expected death by SIGSYS, status %#x, stderr: %s", what, st, out);
	if (!strstr(out, "seccomp filter: system call ") || !strstr(out, call))
		fail_msg("%s: the log line does not name %s: %s", what, call, out);
}

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	if (!mkdtemp(jail))
		return -1;
	return chmod(jail, 0755);
}

static int teardown(void **state)
{
	(void)state;
	rmdir(jail);
	return 0;
}

static void test_serving_still_works(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	refused_with("tcp-socket", 0);
	refused_with("own-limits", 0);
	refused_with("netlink-socket", EACCES);
	refused_with("self-signal", 0);
	refused_with("memory", 0);
	refused_with("sg-threads", 0);
}

static void test_no_file_no_xenstore(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	refused_with("open-device", EACCES);
	refused_with("open-file", EACCES);
	refused_with("unix-socket", EACCES);
}

static void test_no_process_no_privilege(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	killed_naming("execve", "execve");
	killed_naming("fork", "clone");
	killed_naming("ptrace", "ptrace");
	killed_naming("process_vm_writev", "process_vm_writev");
	killed_naming("kill", "kill");
	killed_naming("others-limits", "prlimit64");
	killed_naming("init_module", "init_module");
	killed_naming("setuid", "setuid");
	killed_naming("exec-memory", "mmap");
}

static void test_no_network_beyond_tcp_clients(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	killed_naming("udp-socket", "socket");
	killed_naming("listen", "listen");
	killed_naming("fastopen", "sendto");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serving_still_works),
		cmocka_unit_test(test_no_file_no_xenstore),
		cmocka_unit_test(test_no_process_no_privilege),
		cmocka_unit_test(test_no_network_beyond_tcp_clients),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
