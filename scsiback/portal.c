/* A worker's connects made by the broker; see portal.h. */
/* (Not GNU: with _GNU_SOURCE, glibc declares connect() with a transparent
 * union for its address, which a definition cannot match.) */
#undef _GNU_SOURCE
#define _DEFAULT_SOURCE
#include "portal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct portal_req {
	uint32_t len;
	uint8_t addr[sizeof(struct sockaddr_storage)];
};

struct portal_rsp {
	int32_t rc;
};

/* How long a worker waits for the broker's answer: it answers at once
 * (a non-blocking connect); beyond this the broker is stuck or gone. */
#define PORTAL_ANSWER_MS 10000

static int portal_channel = -1;

void portal_use_channel(int fd)
{
	portal_channel = fd;
}

/* The worker's side: the broker connects sock to sa. 0 or -errno. */
static int portal_ask(int sock, const struct sockaddr *sa, socklen_t len)
{
	struct portal_req req;
	struct portal_rsp rsp;
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &req, sizeof(req) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c;
	struct pollfd p = { portal_channel, POLLIN, 0 };
	ssize_t n;

	if (!sa || len == 0 || len > sizeof(req.addr))
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	req.len = len;
	memcpy(req.addr, sa, len);
	memset(ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sock, sizeof(int));
	if (sendmsg(portal_channel, &mh, MSG_NOSIGNAL) < 0)
		return -errno;
	do
		n = poll(&p, 1, PORTAL_ANSWER_MS);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? -ETIMEDOUT : -errno;
	n = recv(portal_channel, &rsp, sizeof(rsp), 0);
	if (n != (ssize_t)sizeof(rsp))
		return n < 0 ? -errno : -EPIPE;
	if (rsp.rc > 0 || rsp.rc < -4095)
		return -EPROTO;
	return rsp.rc;
}

/* A blocking socket's connect, which the broker started without
 * blocking: waits for its end, as connect(2) would. */
static int portal_finish(int sock)
{
	struct pollfd p = { sock, POLLOUT, 0 };
	int err = 0, r;
	socklen_t el = sizeof(err);

	do
		r = poll(&p, 1, -1);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		return -errno;
	return -err;
}

/* Stands in for libc's connect() in this binary (portal.h); libiscsi's
 * and libxenstore's calls come here. */
int connect(int sock, const struct sockaddr *sa, socklen_t len)
{
	int r, fl;

	/* (a worker's syslog socket is connected before its filter) */
	if (portal_channel < 0 || !sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return (int)syscall(SYS_connect, sock, sa, len);
	r = portal_ask(sock, sa, len);
	fl = fcntl(sock, F_GETFL);
	if (r == -EINPROGRESS && fl >= 0 && !(fl & O_NONBLOCK))
		r = portal_finish(sock);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}

int portal_recv(int chan, struct sockaddr_storage *sa, socklen_t *len, int *fd)
{
	struct portal_req req;
	char ctl[CMSG_SPACE(sizeof(int)) * 2];
	struct iovec iov = { &req, sizeof(req) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	int got = -1, nfds = 0, v;
	socklen_t vl = sizeof(v);
	ssize_t n;

	*fd = -1;
	n = recvmsg(chan, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0)
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (nfds++ == 0)
				got = f;
			else
				close(f);
		}
	}
	/* One TCP socket and an IPv4 or IPv6 address of the right size. */
	if (n != (ssize_t)sizeof(req) || nfds != 1 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    req.len < sizeof(sa_family_t) || req.len > sizeof(req.addr))
		goto refuse;
	memset(sa, 0, sizeof(*sa));
	memcpy(sa, req.addr, req.len);
	if (!((sa->ss_family == AF_INET && req.len == sizeof(struct sockaddr_in)) ||
	      (sa->ss_family == AF_INET6 && req.len == sizeof(struct sockaddr_in6))))
		goto refuse;
	if (getsockopt(got, SOL_SOCKET, SO_DOMAIN, &v, &vl) < 0 || v != sa->ss_family)
		goto refuse;
	vl = sizeof(v);
	if (getsockopt(got, SOL_SOCKET, SO_TYPE, &v, &vl) < 0 || v != SOCK_STREAM)
		goto refuse;
	vl = sizeof(v);
	if (getsockopt(got, SOL_SOCKET, SO_PROTOCOL, &v, &vl) < 0 || v != IPPROTO_TCP)
		goto refuse;
	*len = req.len;
	*fd = got;
	return 1;
refuse:
	if (got >= 0)
		close(got);
	return -EPROTO;
}

int portal_reply(int chan, int rc)
{
	struct portal_rsp rsp = { rc };

	return send(chan, &rsp, sizeof(rsp), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ? -errno : 0;
}

bool portal_same(const struct sockaddr *a, socklen_t alen, const struct sockaddr *b,
		 socklen_t blen)
{
	if (alen != blen || a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET && alen == sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6 && alen == sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
	}
	return false;
}

const char *portal_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET && len == sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *x = (const void *)sa;

		inet_ntop(AF_INET, &x->sin_addr, a, sizeof(a));
		snprintf(buf, buflen, "%s:%u", a, ntohs(x->sin_port));
	} else if (sa->sa_family == AF_INET6 && len == sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *x = (const void *)sa;

		inet_ntop(AF_INET6, &x->sin6_addr, a, sizeof(a));
		snprintf(buf, buflen, "[%s]:%u", a, ntohs(x->sin6_port));
	} else {
		snprintf(buf, buflen, "(address family %u)", sa->sa_family);
	}
	return buf;
}
