/* The simulated xenstored's sockets: one listener per domain, one
 * connection per client, non-blocking, driven by the daemon's evloop.
 * Requests go to xs_proto; replies and watch events come back through
 * xsd_conn_send and wait in a per-connection queue of whole messages. */
#include "xenstored.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "xs_proto.h"

/* Stop reading a client's requests while this much output waits... */
#define XSD_OUT_THROTTLE (256 * 1024)
/* ...and drop watch events beyond this (C xenstored drops them too). */
#define XSD_OUT_EVENT_MAX (4 * 1024 * 1024)

struct xsd_out {
	struct xsd_out *next;
	size_t len, off;
	char data[];
};

struct xsd_conn {
	struct evloop_handler h;
	struct xs_daemon *xsd;
	struct xsd_conn *next, *prev;
	struct xs_client client;
	char in[8192]; /* bytes received, not yet fed */
	size_t in_len, in_off;
	struct xsd_out *out_head, *out_tail;
	size_t out_bytes;
	uint32_t events; /* registered epoll mask */
	unsigned dropped_events;
	bool eof;
};

struct xsd_listener {
	struct evloop_handler h;
	struct xs_daemon *xsd;
	struct xsd_listener *next;
	unsigned domid;
	char *path;
};

struct xs_daemon {
	struct evloop *loop;
	struct xs_proto *proto;
	struct xsd_listener *listeners;
	struct xsd_conn *conns;
};

/* ---- connections ---- */

static void conn_close(struct xsd_conn *c)
{
	struct xs_daemon *xsd = c->xsd;

	log_debug("xenstored: domain %u: connection %d closed", c->client.domid,
		  c->h.fd);
	evloop_del(xsd->loop, &c->h);
	close(c->h.fd);
	xs_client_fini(&c->client);
	if (c->prev)
		c->prev->next = c->next;
	else
		xsd->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	while (c->out_head) {
		struct xsd_out *o = c->out_head;

		c->out_head = o->next;
		free(o);
	}
	free(c);
}

static bool conn_throttled(const struct xsd_conn *c)
{
	return c->out_bytes >= XSD_OUT_THROTTLE;
}

/* Registers what the connection waits for now. */
static void conn_update_events(struct xsd_conn *c)
{
	uint32_t ev = 0;

	if (!c->eof && !conn_throttled(c))
		ev |= EPOLLIN;
	if (c->out_head)
		ev |= EPOLLOUT;
	if (ev != c->events) {
		c->events = ev;
		evloop_mod(c->xsd->loop, &c->h, ev);
	}
}

static void xsd_conn_send(struct xs_client *client,
			  const struct xsd_sockmsg *hdr, const void *body)
{
	struct xsd_conn *c = client->opaque;
	size_t len = sizeof(*hdr) + hdr->len;
	struct xsd_out *o;

	if (hdr->type == XS_WATCH_EVENT && c->out_bytes >= XSD_OUT_EVENT_MAX) {
		if (!c->dropped_events++)
			log_warn("xenstored: domain %u: client does not read, "
				 "dropping watch events", client->domid);
		return;
	}
	o = malloc(sizeof(*o) + len);
	if (!o) {
		log_err("xenstored: domain %u: out of memory for a reply",
			client->domid);
		return;
	}
	o->next = NULL;
	o->len = len;
	o->off = 0;
	memcpy(o->data, hdr, sizeof(*hdr));
	if (hdr->len)
		memcpy(o->data + sizeof(*hdr), body, hdr->len);
	if (c->out_tail)
		c->out_tail->next = o;
	else
		c->out_head = o;
	c->out_tail = o;
	c->out_bytes += len;
	/* Another connection's request may be running: only ask for
	 * EPOLLOUT here, the writing happens in our own callback. */
	if (!(c->events & EPOLLOUT))
		conn_update_events(c);
}

/* Writes what the socket takes. Returns 0 or -errno (connection lost). */
static int conn_flush(struct xsd_conn *c)
{
	while (c->out_head) {
		struct xsd_out *o = c->out_head;
		ssize_t n = send(c->h.fd, o->data + o->off, o->len - o->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		}
		o->off += (size_t)n;
		c->out_bytes -= (size_t)n;
		if (o->off < o->len)
			return 0;
		c->out_head = o->next;
		if (!c->out_head)
			c->out_tail = NULL;
		free(o);
	}
	c->dropped_events = 0;
	return 0;
}

/* Feeds received bytes to the protocol, one request at a time, until they
 * run out or replies pile up. Returns 0 or -EPROTO. */
static int conn_process(struct xsd_conn *c)
{
	while (c->in_off < c->in_len && !conn_throttled(c)) {
		ssize_t n = xs_client_feed(&c->client, c->in + c->in_off,
					   c->in_len - c->in_off);

		if (n < 0) {
			log_warn("xenstored: domain %u: message longer than "
				 "%d bytes, dropping the connection",
				 c->client.domid, XENSTORE_PAYLOAD_MAX);
			return (int)n;
		}
		c->in_off += (size_t)n;
	}
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	return 0;
}

static int conn_receive(struct xsd_conn *c)
{
	ssize_t n;

	if (c->in_len)
		return 0; /* still feeding the last batch */
	do
		n = recv(c->h.fd, c->in, sizeof(c->in), MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	if (n == 0) {
		c->eof = true;
		return 0;
	}
	c->in_len = (size_t)n;
	c->in_off = 0;
	return 0;
}

static void conn_cb(struct evloop_handler *h, uint32_t events)
{
	struct xsd_conn *c = h->arg;

	if (events & EPOLLERR)
		goto close;
	if ((events & (EPOLLIN | EPOLLHUP)) && !conn_throttled(c) &&
	    conn_receive(c))
		goto close;
	if (conn_process(c))
		goto close;
	if (conn_flush(c))
		goto close;
	/* Replies drained below the mark: take the bytes left waiting. */
	if (c->in_len && conn_process(c))
		goto close;
	if (conn_flush(c))
		goto close;
	/* A client that hung up is gone once its input is handled; what it
	 * did not read is lost like on a real ring. */
	if (c->eof && !c->in_len)
		goto close;
	conn_update_events(c);
	return;
close:
	conn_close(c);
}

/* ---- listeners ---- */

static void listener_free(struct xsd_listener *l)
{
	evloop_del(l->xsd->loop, &l->h);
	close(l->h.fd);
	unlink(l->path);
	free(l->path);
	free(l);
}

static void listener_cb(struct evloop_handler *h, uint32_t events)
{
	struct xsd_listener *l = h->arg;
	struct xs_daemon *xsd = l->xsd;
	struct xsd_conn *c;
	int fd, err;

	(void)events;
	fd = accept4(l->h.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("xenstored: domain %u: accept on %s: %s",
				 l->domid, l->path, strerror(errno));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		log_err("xenstored: domain %u: out of memory for a connection",
			l->domid);
		close(fd);
		return;
	}
	c->xsd = xsd;
	c->h.fd = fd;
	c->h.cb = conn_cb;
	c->h.arg = c;
	c->events = EPOLLIN;
	xs_client_init(&c->client, xsd->proto, l->domid, xsd_conn_send, c);
	err = evloop_add(xsd->loop, &c->h, c->events);

	if (err) {
		log_err("xenstored: domain %u: cannot watch connection: %s",
			l->domid, strerror(-err));
		xs_client_fini(&c->client);
		close(fd);
		free(c);
		return;
	}
	c->next = xsd->conns;
	if (xsd->conns)
		xsd->conns->prev = c;
	xsd->conns = c;
	log_debug("xenstored: domain %u: connection %d on %s", l->domid, fd,
		  l->path);
}

int xsd_listen(struct xs_daemon *xsd, unsigned domid, const char *sock_path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct xsd_listener *l;
	int fd, err;

	if (strlen(sock_path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, sock_path);
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->path = strdup(sock_path);
	if (!l->path) {
		free(l);
		return -ENOMEM;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	unlink(sock_path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    chmod(sock_path, 0666) || listen(fd, 64)) {
		err = -errno;
		close(fd);
		unlink(sock_path);
		goto fail;
	}
	l->xsd = xsd;
	l->domid = domid;
	l->h.fd = fd;
	l->h.cb = listener_cb;
	l->h.arg = l;
	err = evloop_add(xsd->loop, &l->h, EPOLLIN);
	if (err) {
		close(fd);
		unlink(sock_path);
		goto fail;
	}
	l->next = xsd->listeners;
	xsd->listeners = l;
	log_info("xenstored: domain %u listens on %s", domid, sock_path);
	return 0;
fail:
	log_err("xenstored: domain %u: cannot listen on %s: %s", domid,
		sock_path, strerror(-err));
	free(l->path);
	free(l);
	return err;
}

/* ---- domains ---- */

/* Closes domid's listeners and connections. */
static void xsd_disconnect_domain(struct xs_daemon *xsd, unsigned domid)
{
	struct xsd_listener **lp = &xsd->listeners;
	struct xsd_conn *c, *next;

	while (*lp) {
		struct xsd_listener *l = *lp;

		if (l->domid == domid) {
			*lp = l->next;
			listener_free(l);
		} else {
			lp = &l->next;
		}
	}
	for (c = xsd->conns; c; c = next) {
		next = c->next;
		if (c->client.domid == domid)
			conn_close(c);
	}
}

static int xsd_release_op(void *arg, unsigned domid)
{
	return xsd_domain_release(arg, domid);
}

int xsd_domain_introduce(struct xs_daemon *xsd, unsigned domid,
			 const char *name)
{
	int err = xs_proto_domain_introduce(xsd->proto, domid, name);

	if (err)
		log_err("xenstored: cannot introduce domain %u (%s): %s", domid,
			name ? name : "?", strerror(-err));
	else
		log_info("xenstored: domain %u (%s) introduced", domid, name);
	return err;
}

int xsd_domain_release(struct xs_daemon *xsd, unsigned domid)
{
	int err;

	if (domid == 0)
		return -EINVAL;
	xsd_disconnect_domain(xsd, domid);
	if (!xs_proto_domain_known(xsd->proto, domid)) {
		/* Never introduced: its home goes, nobody is told. */
		xs_proto_domain_unprepare(xsd->proto, domid);
		return 0;
	}
	err = xs_proto_domain_release(xsd->proto, domid);
	if (err)
		log_warn("xenstored: cannot release domain %u: %s", domid,
			 strerror(-err));
	else
		log_info("xenstored: domain %u released", domid);
	return err;
}

int xsd_domain_prepare(struct xs_daemon *xsd, unsigned domid, const char *name,
		       const char *uuid)
{
	int err = xs_proto_domain_prepare(xsd->proto, domid, name, uuid);

	if (err)
		log_err("xenstored: cannot write the home of domain %u (%s): %s", domid,
			name, strerror(-err));
	return err;
}

int xsd_domain_introduce_prepared(struct xs_daemon *xsd, unsigned domid)
{
	int err = xs_proto_domain_introduce_prepared(xsd->proto, domid);

	if (err)
		log_err("xenstored: cannot introduce domain %u: %s", domid, strerror(-err));
	else
		log_info("xenstored: domain %u introduced", domid);
	return err;
}

void xsd_fire_release(struct xs_daemon *xsd)
{
	xs_proto_fire_release(xsd->proto);
}

int xsd_write(struct xs_daemon *xsd, const char *path, const char *value)
{
	return xs_store_write(xs_proto_store(xsd->proto), 0, XS_OP_NOCHECK, path, value,
			      (unsigned)strlen(value));
}

int xsd_rm(struct xs_daemon *xsd, const char *path)
{
	return xs_store_rm(xs_proto_store(xsd->proto), 0, XS_OP_NOCHECK, path);
}

/* ---- the daemon ---- */

struct xs_daemon *xsd_new(struct evloop *loop)
{
	struct xs_daemon *xsd = calloc(1, sizeof(*xsd));
	struct xs_proto_ops ops = { .release = xsd_release_op };

	if (!xsd)
		return NULL;
	xsd->loop = loop;
	xsd->proto = xs_proto_new();
	if (!xsd->proto) {
		free(xsd);
		return NULL;
	}
	ops.arg = xsd;
	xs_proto_set_ops(xsd->proto, &ops);
	return xsd;
}

void xsd_free(struct xs_daemon *xsd)
{
	if (!xsd)
		return;
	while (xsd->conns)
		conn_close(xsd->conns);
	while (xsd->listeners) {
		struct xsd_listener *l = xsd->listeners;

		xsd->listeners = l->next;
		listener_free(l);
	}
	xs_proto_free(xsd->proto);
	free(xsd);
}
