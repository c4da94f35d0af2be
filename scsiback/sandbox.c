/* scsiback's seccomp filter: an allow-list of the system calls a serving
 * daemon makes (scsiback(8), SECURITY). Applied once everything is set
 * up; a call outside it kills the process, after one log line that names
 * the call. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

/* What serving needs: the event loop and timers, files in the state
 * directory and sysfs, the sg and Xen device nodes (ioctl, mmap of
 * grants), sockets to xenstored, the iSCSI portals and syslog, the
 * threads of libxenstore, and glibc's own (malloc, abort, time). */
static const char *const sandbox_allowed[] = {
	/* file descriptors and files */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"preadv2", "pwritev2", "open", "openat", "close", "close_range", "dup", "dup2", "dup3",
	"lseek", "fcntl", "flock", "fstat", "stat", "lstat", "newfstatat", "statx", "statfs",
	"fstatfs", "access", "faccessat", "faccessat2", "readlink", "readlinkat", "getdents64",
	"rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat", "ftruncate",
	"fsync", "fdatasync", "fchmod", "umask", "getcwd", "pipe2", "ioctl",
	/* memory */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
	/* the event loop, timers, signals */
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll",
	"select", "pselect6", "timerfd_create", "timerfd_settime", "timerfd_gettime", "eventfd2",
	"signalfd4", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
	"restart_syscall",
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
	/* sockets: xenstored, iSCSI portals (name lookup included), syslog */
	"socket", "connect", "getsockopt", "setsockopt", "getsockname", "getpeername", "sendto",
	"sendmsg", "sendmmsg", "recvfrom", "recvmsg", "recvmmsg", "shutdown", "bind",
	/* threads (libxenstore's reader) and process bookkeeping */
	"clone", "clone3", "futex", "set_robust_list", "get_robust_list", "rseq", "set_tid_address",
	"exit", "exit_group", "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid",
	"getegid", "tgkill", "sched_yield", "sched_getaffinity", "getrandom", "uname", "sysinfo",
	"prlimit64", "getrlimit",
	/* the guests' workers (docs/privsep.md): their sockets, their end */
	"socketpair", "kill", "pidfd_open",
#ifdef __SANITIZE_ADDRESS__
	/* ASan's reports and LeakSanitizer at exit (the sanitizer build only) */
	"ptrace", "wait4", "waitid", "process_vm_readv", "prctl", "mincore", "kill", "sched_getparam",
	"getrusage", "times", "getdents",
#endif
};

/* What a guest's worker needs once it serves (docs/privsep.md): its
 * descriptors, memory, the loop, and the sockets of its iSCSI LUNs. Calls
 * that need an argument checked have their rules in sandbox_worker_rules;
 * those that name a file fail with EACCES (glibc may try one lazily, e.g.
 * a time zone; the worker's chroot is empty anyway). */
static const char *const sandbox_worker_allowed[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "close",
	"fcntl", "fstat", "ioctl", "lseek",
	"brk", "munmap", "mremap", "madvise",
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll",
	"timerfd_create", "timerfd_settime", "timerfd_gettime", "rt_sigaction", "rt_sigprocmask",
	"rt_sigreturn", "sigaltstack", "restart_syscall", "clock_gettime", "clock_getres",
	"clock_nanosleep", "nanosleep", "gettimeofday", "time",
	"getsockopt", "setsockopt", "getsockname", "getpeername", "recvfrom", "recvmsg",
	"sendmsg", "shutdown",
	"futex", "set_robust_list", "rseq", "exit", "exit_group", "getpid", "gettid", "getuid",
	"rt_sigtimedwait", "eventfd2",   /* the SG_IO threads and their queues (sgio.c) */
	"geteuid", "getgid", "getegid", "sched_yield", "sched_getaffinity", "getrandom", "getrlimit",
#ifdef __SANITIZE_ADDRESS__
	"wait4", "waitid", "prctl", "mincore", "sched_getparam", "getrusage", "times", "getdents64",
#endif
};

static const char *const sandbox_worker_no_files[] = {
	"open", "openat", "openat2", "creat", "stat", "lstat", "statx", "access",
	"faccessat", "faccessat2", "readlink", "readlinkat", "unlink", "unlinkat", "rename",
	"renameat", "renameat2", "mkdir", "mkdirat",
};

static const char *sandbox_names[1024];     /* by number, for the SIGSYS handler */
static int sandbox_log_fd = -1;             /* a socket to syslog, connected in advance */
static bool sandbox_to_syslog;
static char sandbox_who[64];                /* "worker for domain 3: ", or "" */

void sandbox_name(const char *who)
{
	snprintf(sandbox_who, sizeof(sandbox_who), "%s: ", who);
}

/* Async-signal-safe: formats "... system call NAME (N) ..." into buf. */
static size_t sandbox_line(char *buf, size_t len, long nr)
{
	const char *name = nr >= 0 && nr < (long)(sizeof(sandbox_names) / sizeof(*sandbox_names)) &&
				   sandbox_names[nr] ? sandbox_names[nr] : "unknown";
	char num[24];
	int n = (int)sizeof(num);
	size_t at = 0;
	unsigned long v = nr < 0 ? 0 : (unsigned long)nr;

	num[--n] = 0;
	do {
		num[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n > 0);
	const char *parts[] = { sandbox_who, "killed by its seccomp filter: system call ", name, " (",
				num + n, ") is not one scsiback makes" };
	for (size_t i = 0; i < sizeof(parts) / sizeof(*parts); i++)
		for (const char *p = parts[i]; *p && at + 1 < len; p++)
			buf[at++] = *p;
	buf[at] = 0;
	return at;
}

static void sandbox_sigsys(int sig, siginfo_t *si, void *uc)
{
	char line[256], msg[300];
	size_t n = sandbox_line(line, sizeof(line), si->si_syscall);
	ssize_t r;

	(void)uc;
	r = write(STDERR_FILENO, "scsiback[err]: ", 15);
	r = write(STDERR_FILENO, line, n);
	r = write(STDERR_FILENO, "\n", 1);
	if (sandbox_to_syslog && sandbox_log_fd >= 0) {
		/* <LOG_DAEMON|LOG_CRIT>scsiback: ... (the daemon's ident) */
		static const char head[] = "<26>scsiback: ";
		size_t m = 0;

		for (const char *p = head; *p; p++)
			msg[m++] = *p;
		for (size_t i = 0; i < n && m + 1 < sizeof(msg); i++)
			msg[m++] = line[i];
		r = send(sandbox_log_fd, msg, m, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	(void)r;
	/* Die of the signal itself, as SECCOMP_RET_KILL would (the handler
	 * was reset on entry, and the signal is not blocked in it). */
	raise(sig);
	_exit(128 + sig);
}

static int sandbox_allow_list(scmp_filter_ctx ctx, const char *const *names, size_t n, uint32_t action,
			      char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]), rc;

		if (nr == __NR_SCMP_ERROR)
			continue;   /* not on this architecture */
		rc = seccomp_rule_add(ctx, action, nr, 0);
		if (rc < 0) {
			snprintf(err, errlen, "seccomp rule for %s: %s", names[i], strerror(-rc));
			return rc;
		}
	}
	return 0;
}

#define SANDBOX_RULE(ctx, action, call, ...)                                              \
	do {                                                                              \
		int r_ = seccomp_rule_add((ctx), (action), SCMP_SYS(call), __VA_ARGS__);   \
		if (r_ < 0) {                                                             \
			snprintf(err, errlen, "seccomp rule for %s: %s", #call, strerror(-r_)); \
			return r_;                                                        \
		}                                                                         \
	} while (0)

/* The worker's calls allowed only with some arguments; anything else
 * they could do kills it. */
static int sandbox_worker_rules(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	scmp_datum_t self = (scmp_datum_t)getpid();

	/* TCP to its portals, nothing else (a unix socket would reach
	 * xenstored or syslog: refused, not fatal, for glibc's syslog) */
	SANDBOX_RULE(ctx, SCMP_ACT_ALLOW, socket, 2, SCMP_A0(SCMP_CMP_EQ, AF_INET),
		     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM));
	SANDBOX_RULE(ctx, SCMP_ACT_ALLOW, socket, 2, SCMP_A0(SCMP_CMP_EQ, AF_INET6),
		     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM));
	SANDBOX_RULE(ctx, SCMP_ACT_ERRNO(EACCES), socket, 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	/* libiscsi resolves even a numeric portal; glibc's getaddrinfo asks
	 * netlink which families are configured and, refused, assumes both */
	SANDBOX_RULE(ctx, SCMP_ACT_ERRNO(EACCES), socket, 1, SCMP_A0(SCMP_CMP_EQ, AF_NETLINK));
	/* sendto's address: only where a connected socket ignores it, never
	 * TCP Fast Open's "connect with the data" */
	SANDBOX_RULE(ctx, SCMP_ACT_ALLOW, sendto, 1, SCMP_A3(SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, 0));
	/* memory, never executable (no code comes after start) */
	SANDBOX_RULE(ctx, SCMP_ACT_ALLOW, mmap, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	SANDBOX_RULE(ctx, SCMP_ACT_ALLOW, mprotect, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* fstat (glibc makes it newfstatat with AT_EMPTY_PATH): the
	 * descriptor's own file; a path is in the empty root anyway */
	SANDBOX_RULE(ctx, SCMP_ACT_ALLOW, newfstatat, 1,
		     SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
	/* its own limits only (glibc's getrlimit/setrlimit pass pid 0):
	 * another worker runs as the same user, whose limits it could lower */
	SANDBOX_RULE(ctx, SCMP_ACT_ALLOW, prlimit64, 1, SCMP_A0(SCMP_CMP_EQ, 0));
	/* signals to itself only (raise, abort): never another worker */
	SANDBOX_RULE(ctx, SCMP_ACT_ALLOW, kill, 1, SCMP_A0(SCMP_CMP_EQ, self));
	SANDBOX_RULE(ctx, SCMP_ACT_ALLOW, tgkill, 1, SCMP_A0(SCMP_CMP_EQ, self));
	return sandbox_allow_list(ctx, sandbox_worker_no_files,
				  sizeof(sandbox_worker_no_files) / sizeof(*sandbox_worker_no_files),
				  SCMP_ACT_ERRNO(EACCES), err, errlen);
}

static int sandbox_load(bool worker, bool to_syslog, char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	struct sigaction sa;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int rc;

	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx) {
		snprintf(err, errlen, "seccomp_init failed");
		return -ENOMEM;
	}
	/* every thread (libxenstore's reader runs already), not only ours */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc < 0) {
		snprintf(err, errlen, "seccomp thread sync: %s", strerror(-rc));
		goto fail;
	}
	if (worker)
		rc = sandbox_allow_list(ctx, sandbox_worker_allowed,
					sizeof(sandbox_worker_allowed) / sizeof(*sandbox_worker_allowed),
					SCMP_ACT_ALLOW, err, errlen);
	else
		rc = sandbox_allow_list(ctx, sandbox_allowed, sizeof(sandbox_allowed) / sizeof(*sandbox_allowed),
					SCMP_ACT_ALLOW, err, errlen);
	if (rc == 0 && worker)
		rc = sandbox_worker_rules(ctx, err, errlen);
	if (rc < 0)
		goto fail;
	for (int nr = 0; nr < (int)(sizeof(sandbox_names) / sizeof(*sandbox_names)); nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		sandbox_names[nr] = name;   /* kept for the life of the process */
	}
	sandbox_to_syslog = to_syslog;
	if (to_syslog) {
		sandbox_log_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", _PATH_LOG);
		if (sandbox_log_fd >= 0 && connect(sandbox_log_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
			close(sandbox_log_fd);
			sandbox_log_fd = -1;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_sigsys;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		snprintf(err, errlen, "SIGSYS handler: %s", strerror(errno));
		rc = -errno;
		goto fail;
	}
	/* no_new_privs comes with the filter (libseccomp's default) */
	rc = seccomp_load(ctx);
	if (rc < 0) {
		snprintf(err, errlen, "seccomp_load: %s", strerror(-rc));
		goto fail;
	}
	seccomp_release(ctx);
	return 0;
fail:
	seccomp_release(ctx);
	return rc < 0 ? rc : -EINVAL;
}

int sandbox_apply(bool to_syslog, char *err, size_t errlen)
{
	return sandbox_load(false, to_syslog, err, errlen);
}

int sandbox_apply_worker(bool to_syslog, char *err, size_t errlen)
{
	return sandbox_load(true, to_syslog, err, errlen);
}
