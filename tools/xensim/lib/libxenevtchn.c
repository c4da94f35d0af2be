/* The simulated libxenevtchn.so.1 over xensimd, ABI-compatible with
 * Debian's. Binding goes through the daemon; delivery does not: each port
 * is an eventfd pair, a notify is one write() to the peer's eventfd, and
 * the handle's fd is an epoll set of this handle's ports. A port that
 * fired stays masked (EPOLLONESHOT) until xenevtchn_unmask, as on Xen. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <xenevtchn.h>

#include "sim_client.h"

#define EXPORT __attribute__((visibility("default")))

struct sim_lport {
	int inbox;   /* -1 when the port is not bound through this handle */
	int peer;
};

struct xenevtchn_handle {
	pthread_mutex_t lock;
	int sock;
	int epfd;
	uint32_t self;
	int restrict_dom;    /* -1: none */
	bool cloexec;
	struct sim_lport ports[SIM_NR_PORTS];
	struct sim_msg req, rep;
};

EXPORT xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned int flags)
{
	struct xenevtchn_handle *h;
	uint32_t self;
	bool cloexec = !(flags & XENEVTCHN_NO_CLOEXEC);

	(void)logger;
	h = sim_handle_alloc(sizeof(*h), &self);
	if (!h)
		return NULL;
	for (unsigned i = 0; i < SIM_NR_PORTS; i++)
		h->ports[i].inbox = h->ports[i].peer = -1;
	h->self = self;
	h->restrict_dom = -1;
	h->cloexec = cloexec;
	h->epfd = epoll_create1(cloexec ? EPOLL_CLOEXEC : 0);
	if (h->epfd < 0) {
		free(h);
		return NULL;
	}
	h->sock = sim_connect(h->self, cloexec);
	if (h->sock < 0) {
		errno = -h->sock;
		close(h->epfd);
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

EXPORT xenevtchn_handle *xenevtchn_fdopen(struct xentoollog_logger *logger, int fd,
					  unsigned open_flags)
{
	(void)logger; (void)fd; (void)open_flags;
	errno = ENOSYS;
	return NULL;
}

EXPORT int xenevtchn_close(xenevtchn_handle *xce)
{
	if (!xce)
		return 0;
	for (unsigned i = 0; i < SIM_NR_PORTS; i++) {
		if (xce->ports[i].inbox >= 0) {
			close(xce->ports[i].inbox);
			close(xce->ports[i].peer);
		}
	}
	/* The daemon closes every port this handle bound. */
	close(xce->sock);
	close(xce->epfd);
	pthread_mutex_destroy(&xce->lock);
	free(xce);
	return 0;
}

EXPORT int xenevtchn_fd(xenevtchn_handle *xce) { return xce->epfd; }

EXPORT int xenevtchn_restrict(xenevtchn_handle *xce, domid_t domid)
{
	pthread_mutex_lock(&xce->lock);
	xce->restrict_dom = domid;
	pthread_mutex_unlock(&xce->lock);
	return 0;
}

static xenevtchn_port_or_error_t bind_locked(struct xenevtchn_handle *h, uint32_t op,
					     uint32_t domid, uint32_t remote_port)
{
	int fds[2], nfds = 0, err;
	uint32_t port;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT };

	if (h->restrict_dom >= 0 && domid != (uint32_t)h->restrict_dom) {
		errno = EPERM;
		return -1;
	}
	memset(&h->req, 0, SIM_MSG_HDR_LEN);
	h->req.op = op;
	h->req.domid = domid;
	h->req.port = remote_port;
	err = sim_call(h->sock, &h->req, SIM_MSG_HDR_LEN, &h->rep, fds, &nfds);
	if (!err && h->rep.err)
		err = -h->rep.err;
	if (!err && (nfds != 2 || h->rep.port == 0 || h->rep.port >= SIM_NR_PORTS))
		err = -EPROTO;
	if (err) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		errno = -err;
		return -1;
	}
	port = h->rep.port;
	ev.data.u32 = port;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fds[0], &ev) < 0) {
		err = errno;
		close(fds[0]);
		close(fds[1]);
		errno = err;
		return -1;
	}
	h->ports[port].inbox = fds[0];
	h->ports[port].peer = fds[1];
	return (xenevtchn_port_or_error_t)port;
}

EXPORT xenevtchn_port_or_error_t xenevtchn_bind_unbound_port(xenevtchn_handle *xce, uint32_t domid)
{
	xenevtchn_port_or_error_t r;

	pthread_mutex_lock(&xce->lock);
	r = bind_locked(xce, SIM_OP_EVT_BIND_UNBOUND, domid, 0);
	pthread_mutex_unlock(&xce->lock);
	return r;
}

EXPORT xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce, uint32_t domid,
							    evtchn_port_t remote_port)
{
	xenevtchn_port_or_error_t r;

	pthread_mutex_lock(&xce->lock);
	r = bind_locked(xce, SIM_OP_EVT_BIND_INTERDOMAIN, domid, remote_port);
	pthread_mutex_unlock(&xce->lock);
	return r;
}

EXPORT xenevtchn_port_or_error_t xenevtchn_bind_virq(xenevtchn_handle *xce, unsigned int virq)
{
	(void)xce; (void)virq;
	errno = ENOSYS;
	return -1;
}

static bool port_bound(struct xenevtchn_handle *h, evtchn_port_t port)
{
	return port > 0 && port < SIM_NR_PORTS && h->ports[port].inbox >= 0;
}

EXPORT int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
	int err;

	pthread_mutex_lock(&xce->lock);
	if (!port_bound(xce, port)) {
		pthread_mutex_unlock(&xce->lock);
		errno = EINVAL;
		return -1;
	}
	epoll_ctl(xce->epfd, EPOLL_CTL_DEL, xce->ports[port].inbox, NULL);
	close(xce->ports[port].inbox);
	close(xce->ports[port].peer);
	xce->ports[port].inbox = xce->ports[port].peer = -1;
	memset(&xce->req, 0, SIM_MSG_HDR_LEN);
	xce->req.op = SIM_OP_EVT_UNBIND;
	xce->req.port = port;
	err = sim_call(xce->sock, &xce->req, SIM_MSG_HDR_LEN, &xce->rep, NULL, NULL);
	if (!err && xce->rep.err)
		err = -xce->rep.err;
	pthread_mutex_unlock(&xce->lock);
	if (err) {
		errno = -err;
		return -1;
	}
	return 0;
}

EXPORT int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
	static const uint64_t one = 1;
	int fd;

	/* Hot path: no lock; a port's fds change only on bind/unbind, which
	 * the application does not race with its own notifies. */
	if (port == 0 || port >= SIM_NR_PORTS || (fd = xce->ports[port].peer) < 0) {
		errno = EINVAL;
		return -1;
	}
	/* A full counter means an event is already pending: nothing lost. */
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -1;
	return 0;
}

EXPORT xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
	for (;;) {
		struct epoll_event ev;
		uint64_t v;
		int n = epoll_wait(xce->epfd, &ev, 1, -1);
		int fd;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			continue;
		if (ev.data.u32 == 0 || ev.data.u32 >= SIM_NR_PORTS ||
		    (fd = xce->ports[ev.data.u32].inbox) < 0)
			continue; /* unbound meanwhile */
		if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			return -1;
		return (xenevtchn_port_or_error_t)ev.data.u32;
	}
}

EXPORT int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u32 = port };

	if (!port_bound(xce, port)) {
		errno = EINVAL;
		return -1;
	}
	return epoll_ctl(xce->epfd, EPOLL_CTL_MOD, xce->ports[port].inbox, &ev) ? -1 : 0;
}
