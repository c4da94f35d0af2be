/* The worker spawner; see spawner.h. */
#include "spawner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "portal.h"

struct spawner_req {
	uint32_t domid;
};

struct spawner_rsp {
	int32_t pid;                  /* or -errno */
};

#define SPAWNER_WORKER_FD 3       /* where a worker finds its socket */
/* and its portal channel: PORTAL_WORKER_FD (portal.h), right after */

static void spawner_reap(void)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (WIFSIGNALED(st))
			log_err("worker pid %d ended by signal %d (%s)", (int)pid, WTERMSIG(st),
				strsignal(WTERMSIG(st)));
		else if (WIFEXITED(st) && WEXITSTATUS(st))
			log_err("worker pid %d exited with status %d", (int)pid, WEXITSTATUS(st));
		else
			log_debug("worker pid %d ended", (int)pid);
	}
}

/* In the new worker's process: becomes scsiback --worker, with its
 * socket at SPAWNER_WORKER_FD and its portal channel at PORTAL_WORKER_FD. */
static void spawner_exec(const struct spawner_opts *o, uint32_t domid, int sock, int chan)
{
	char dom[16], lvl[8], poll[24];
	const char *argv[16];
	int n = 0;

	/* (both above the standard streams and each other's target first) */
	sock = fcntl(sock, F_DUPFD_CLOEXEC, PORTAL_WORKER_FD + 1);
	chan = fcntl(chan, F_DUPFD_CLOEXEC, PORTAL_WORKER_FD + 1);
	if (sock < 0 || chan < 0 || dup2(sock, SPAWNER_WORKER_FD) < 0 ||
	    dup2(chan, PORTAL_WORKER_FD) < 0)
		_exit(126);
	close(sock);
	close(chan);
	snprintf(dom, sizeof(dom), "%u", domid);
	snprintf(lvl, sizeof(lvl), "%d", o->log_level);
	snprintf(poll, sizeof(poll), "%ld", o->poll_us);
	argv[n++] = "scsiback";
	argv[n++] = "--worker";
	argv[n++] = dom;
	argv[n++] = o->user;
	argv[n++] = o->jail;
	argv[n++] = lvl;
	argv[n++] = poll;
	argv[n++] = o->to_syslog ? "syslog" : "stderr";
	argv[n++] = o->seccomp ? "seccomp" : "no-seccomp";
	argv[n] = NULL;
	execv("/proc/self/exe", (char *const *)argv);
	log_err("worker for domain %u: exec /proc/self/exe: %s", domid, strerror(errno));
	_exit(127);
}

static void spawner_loop(const struct spawner_opts *o, int sock)
{
	for (;;) {
		struct pollfd p = { sock, POLLIN, 0 };
		char ctl[CMSG_SPACE(2 * sizeof(int))];
		struct spawner_req req;
		struct spawner_rsp rsp;
		struct iovec iov = { &req, sizeof(req) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
				     .msg_controllen = sizeof(ctl) };
		struct cmsghdr *c;
		int wfd = -1, cfd = -1;
		ssize_t n;

		spawner_reap();
		if (poll(&p, 1, 1000) <= 0)
			continue;
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			break;   /* the broker has ended */
		/* (the broker's own request: a worker's socket and channel) */
		c = CMSG_FIRSTHDR(&mh);
		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(2 * sizeof(int))) {
			memcpy(&wfd, CMSG_DATA(c), sizeof(int));
			memcpy(&cfd, CMSG_DATA(c) + sizeof(int), sizeof(int));
		}
		if (n != sizeof(req) || wfd < 0 || cfd < 0) {
			if (wfd >= 0)
				close(wfd);
			if (cfd >= 0)
				close(cfd);
			rsp.pid = -EPROTO;
		} else {
			pid_t pid = fork();

			if (pid == 0) {
				close(sock);
				spawner_exec(o, req.domid, wfd, cfd);
			}
			rsp.pid = pid < 0 ? -errno : pid;
			close(wfd);
			close(cfd);
		}
		if (send(sock, &rsp, sizeof(rsp), MSG_NOSIGNAL) < 0)
			break;
	}
	/* The workers see their sockets end and stop on their own. */
	for (int i = 0; i < 50; i++) {
		spawner_reap();
		usleep(100000);
		if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
			break;
	}
	_exit(0);
}

int spawner_start(const struct spawner_opts *o)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_err("worker spawner: socketpair: %s", strerror(errno));
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;

		log_err("worker spawner: fork: %s", strerror(e));
		close(sv[0]);
		close(sv[1]);
		return -e;
	}
	if (pid == 0) {
		sigset_t all;

		close(sv[0]);
		for (int i = 0; i < 2; i++)
			if (o->locks[i] >= 0)
				close(o->locks[i]);
		/* the broker's signals are its own: this one ends with it */
		sigemptyset(&all);
		sigaddset(&all, SIGTERM);
		sigaddset(&all, SIGINT);
		sigaddset(&all, SIGHUP);
		sigprocmask(SIG_BLOCK, &all, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		prctl(PR_SET_NAME, "scsiback-spawn", 0, 0, 0);
		spawner_loop(o, sv[1]);
	}
	close(sv[1]);
	return sv[0];
}

pid_t spawner_spawn(int spawner, uint32_t domid, int sock, int chan)
{
	struct spawner_req req = { domid };
	struct spawner_rsp rsp;
	int fds[2] = { sock, chan };
	char ctl[CMSG_SPACE(sizeof(fds))];
	struct iovec iov = { &req, sizeof(req) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c;
	ssize_t n;

	memset(ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	if (sendmsg(spawner, &mh, MSG_NOSIGNAL) < 0)
		return -errno;
	/* The spawner answers at once (a fork); the socket is blocking. */
	do
		n = recv(spawner, &rsp, sizeof(rsp), 0);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(rsp))
		return n < 0 ? -errno : -EPIPE;
	return rsp.pid;
}
