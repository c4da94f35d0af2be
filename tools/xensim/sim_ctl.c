#include "sim_ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "sim_conn.h"
#include "sim_domain.h"
#include "sim_evtchn.h"
#include "sim_grant.h"
#include "sim_proto.h"

struct sim_ctl {
	struct evloop_handler listen;
	struct evloop *loop;
	struct xs_daemon *xsd;
	char rundir[256];
	struct sim_conn *conns;
};

static struct sim_msg req_buf, rep_buf;

static void conn_close(struct sim_ctl *ctl, struct sim_conn *c)
{
	if (c->hello) {
		sim_grant_conn_closed(c);
		sim_evtchn_conn_closed(c);
	}
	evloop_del(ctl->loop, &c->h);
	close(c->h.fd);
	for (struct sim_conn **pp = &ctl->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	free(c);
}

static int send_reply(int fd, const struct sim_msg *rep, size_t len, const int *fds, int nfds)
{
	struct iovec iov = { .iov_base = (void *)rep, .iov_len = len };
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int sim_ctl_create_domain(struct sim_ctl *ctl, int want_domid, const char *name, uint32_t memory_mib)
{
	struct sim_domain *d;
	char path[512];
	int err;

	if (!name[0] || strlen(name) >= sizeof(d->name))
		return -EINVAL;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return -EINVAL;
	/* xl refuses a second domain with the same name. */
	if (sim_domain_find_name(name))
		return -EEXIST;
	d = sim_domain_create(want_domid, name, memory_mib);
	if (!d)
		return -errno;
	snprintf(path, sizeof(path), "%s/%s/dom%u", ctl->rundir, SIM_XS_DIR, d->domid);
	err = xsd_listen(ctl->xsd, d->domid, path);
	if (!err)
		err = xsd_domain_introduce(ctl->xsd, d->domid, name);
	if (err) {
		log_err("domain %u (%s): cannot set up its xenstore: %s", d->domid, name, strerror(-err));
		xsd_domain_release(ctl->xsd, d->domid);
		sim_domain_free(d);
		return err;
	}
	log_info("domain %u (%s) created with %u MiB", d->domid, name, memory_mib);
	return (int)d->domid;
}

static int destroy_domain(struct sim_ctl *ctl, uint32_t domid)
{
	struct sim_domain *d = sim_domain_find(domid);

	if (!d)
		return -ESRCH;
	if (domid == 0)
		return -EPERM;
	/* The order a dying Xen domain follows: channels close, grants go,
	 * then the toolstack releases it and @releaseDomain fires. */
	sim_evtchn_domain_destroyed(d);
	sim_grant_domain_destroyed(d);
	xsd_domain_release(ctl->xsd, domid);
	log_info("domain %u (%s) destroyed", domid, d->name);
	sim_domain_free(d);
	return 0;
}

/* Handles one request; returns the reply length. */
static size_t dispatch(struct sim_ctl *ctl, struct sim_conn *c, const struct sim_msg *req,
		       size_t len, struct sim_msg *rep, int *fds, int *nfds)
{
	struct sim_domain *self;
	int r = 0;

	memset(rep, 0, SIM_MSG_HDR_LEN);
	rep->op = req->op;
	*nfds = 0;
	if (len < SIM_MSG_HDR_LEN) {
		rep->err = EINVAL;
		return SIM_MSG_HDR_LEN;
	}
	if (req->op == SIM_OP_HELLO) {
		if (c->hello || !sim_domain_find(req->domid)) {
			rep->err = c->hello ? EISCONN : ESRCH;
		} else {
			c->hello = true;
			c->domid = req->domid;
		}
		return SIM_MSG_HDR_LEN;
	}
	self = c->hello ? sim_domain_find(c->domid) : NULL;
	if (!self) {
		rep->err = c->hello ? ESRCH : ENOTCONN; /* our domain was destroyed */
		return SIM_MSG_HDR_LEN;
	}

	switch (req->op) {
	case SIM_OP_DOMAIN_MEM: {
		struct sim_domain *d = sim_domain_find(req->domid);

		if (!d) {
			r = -ESRCH;
			break;
		}
		fds[0] = d->mem_fd;
		fds[1] = d->gnt_fd;
		*nfds = 2;
		rep->count = d->nr_frames;
		break;
	}
	case SIM_OP_SHARE:
		if (req->count == 0 || req->count > SIM_MAX_REFS ||
		    len < SIM_MSG_HDR_LEN) {
			r = -EINVAL;
			break;
		}
		r = sim_grant_share(c, self, req->domid, req->count,
				    req->flags & SIM_F_WRITABLE, &rep->frame, rep->u.refs);
		if (!r) {
			rep->count = req->count;
			return SIM_MSG_HDR_LEN + req->count * sizeof(uint32_t);
		}
		break;
	case SIM_OP_UNSHARE:
		r = sim_grant_unshare(c, self, req->frame, req->count);
		break;
	case SIM_OP_NOTIFY_ADD:
		r = sim_notify_add(c, req->domid, req->frame, req->notify_offset,
				   req->port, req->flags);
		if (r > 0) {
			rep->count = (uint32_t)r;
			r = 0;
		}
		break;
	case SIM_OP_NOTIFY_RUN:
		r = sim_notify_run(c, req->count);
		break;
	case SIM_OP_EVT_BIND_UNBOUND:
	case SIM_OP_EVT_BIND_INTERDOMAIN:
		r = req->op == SIM_OP_EVT_BIND_UNBOUND
			? sim_evtchn_bind_unbound(c, self, req->domid, fds)
			: sim_evtchn_bind_interdomain(c, self, req->domid, req->port, fds);
		if (r > 0) {
			rep->port = (uint32_t)r;
			*nfds = 2;
			r = 0;
		}
		break;
	case SIM_OP_EVT_UNBIND:
		r = sim_evtchn_unbind(c, self, req->port);
		break;
	case SIM_OP_CREATE_DOMAIN:
	case SIM_OP_DESTROY_DOMAIN:
	case SIM_OP_SHUTDOWN:
		/* Toolstack operations: dom0 only, as on Xen. */
		if (c->domid != 0) {
			r = -EPERM;
			break;
		}
		if (req->op == SIM_OP_CREATE_DOMAIN) {
			char name[sizeof(req->name) + 1];

			memcpy(name, req->name, sizeof(req->name));
			name[sizeof(req->name)] = 0;
			if (!name[0]) /* unnamed: guest<domid>, as the next domid will be */
				snprintf(name, sizeof(name), "guest%u", sim_domain_next_domid());
			r = sim_ctl_create_domain(ctl, -1, name,
						  req->count ? req->count : SIM_DEFAULT_MEMORY_MIB);
			if (r >= 0) {
				rep->domid = (uint32_t)r;
				r = 0;
			}
		} else if (req->op == SIM_OP_DESTROY_DOMAIN) {
			r = destroy_domain(ctl, req->domid);
		} else {
			log_info("shutdown requested");
			evloop_stop(ctl->loop);
		}
		break;
	case SIM_OP_LIST_DOMAINS:
		rep->count = sim_domain_list(rep->u.doms, SIM_MAX_DOMAINS);
		return SIM_MSG_HDR_LEN + rep->count * sizeof(struct sim_domain_info);
	default:
		r = -ENOSYS;
		break;
	}
	rep->err = -r;
	return SIM_MSG_HDR_LEN;
}

static void conn_cb(struct evloop_handler *h, uint32_t events)
{
	struct sim_conn *c = (struct sim_conn *)h;
	struct sim_ctl *ctl = h->arg;
	ssize_t n;
	int fds[2], nfds;
	size_t rlen;

	if (!(events & EPOLLIN)) {
		conn_close(ctl, c);
		return;
	}
	n = recv(h->fd, &req_buf, sizeof(req_buf), MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(ctl, c);
		return;
	}
	if (n < 0)
		return;
	rlen = dispatch(ctl, c, &req_buf, (size_t)n, &rep_buf, fds, &nfds);
	if (send_reply(h->fd, &rep_buf, rlen, fds, nfds) < 0)
		conn_close(ctl, c);
}

static void listen_cb(struct evloop_handler *h, uint32_t events)
{
	struct sim_ctl *ctl = h->arg;
	struct sim_conn *c;
	int fd;

	(void)events;
	fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->h.fd = fd;
	c->h.cb = conn_cb;
	c->h.arg = ctl;
	if (evloop_add(ctl->loop, &c->h, EPOLLIN) < 0) {
		close(fd);
		free(c);
		return;
	}
	c->next = ctl->conns;
	ctl->conns = c;
}

struct sim_ctl *sim_ctl_new(struct evloop *loop, struct xs_daemon *xsd, const char *rundir)
{
	struct sim_ctl *ctl = calloc(1, sizeof(*ctl));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (!ctl)
		return NULL;
	ctl->loop = loop;
	ctl->xsd = xsd;
	snprintf(ctl->rundir, sizeof(ctl->rundir), "%s", rundir);
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", rundir, SIM_CTL_SOCKET) >=
	    sizeof(sa.sun_path)) {
		log_err("run directory %s: path too long for a socket", rundir);
		free(ctl);
		return NULL;
	}
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		log_err("control socket %s: %s", sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(ctl);
		return NULL;
	}
	chmod(sa.sun_path, 0666);
	ctl->listen.fd = fd;
	ctl->listen.cb = listen_cb;
	ctl->listen.arg = ctl;
	evloop_add(loop, &ctl->listen, EPOLLIN);
	return ctl;
}

void sim_ctl_free(struct sim_ctl *ctl)
{
	if (!ctl)
		return;
	while (ctl->conns)
		conn_close(ctl, ctl->conns);
	evloop_del(ctl->loop, &ctl->listen);
	close(ctl->listen.fd);
	free(ctl);
}
