#include "sim_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

const char *sim_rundir(void)
{
	const char *r = getenv("XENSIM_RUNDIR");

	return r && *r ? r : SIM_DEFAULT_RUNDIR;
}

int sim_self_domid(void)
{
	const char *s = getenv("XENSIM_DOMID");
	char *end;
	unsigned long v;

	if (!s || !*s)
		return 0;
	v = strtoul(s, &end, 10);
	if (*end || v > 0x7fef)
		return -1;
	return (int)v;
}

void *sim_handle_alloc(size_t size, uint32_t *self)
{
	int d = sim_self_domid();
	void *h;

	if (d < 0) {
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, size);
	if (h)
		*self = (uint32_t)d;
	return h;
}

int sim_connect(uint32_t domid, int cloexec)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sim_msg *req, *rep;
	int fd, err;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", sim_rundir(),
			     SIM_CTL_SOCKET) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | (cloexec ? SOCK_CLOEXEC : 0), 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	req = calloc(1, sizeof(*req));
	rep = malloc(sizeof(*rep));
	if (!req || !rep) {
		err = -ENOMEM;
	} else {
		req->op = SIM_OP_HELLO;
		req->domid = domid;
		err = sim_call(fd, req, SIM_MSG_HDR_LEN, rep, NULL, NULL);
		if (!err && rep->err)
			err = -rep->err;
	}
	free(req);
	free(rep);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int sim_call(int sock, const struct sim_msg *req, size_t req_len,
	     struct sim_msg *rep, int *fds, int *nfds)
{
	struct iovec iov = { .iov_base = rep, .iov_len = sizeof(*rep) };
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf) };
	ssize_t n;

	if (nfds)
		*nfds = 0;
	do {
		n = send(sock, req, req_len, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET; /* the daemon went away */
	if ((size_t)n < SIM_MSG_HDR_LEN || rep->op != req->op)
		return -EPROTO;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));

		for (int i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (fds && nfds && *nfds < 2)
				fds[(*nfds)++] = fd;
			else
				close(fd);
		}
	}
	return 0;
}
