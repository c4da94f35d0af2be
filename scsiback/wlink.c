/* The broker's links to the guests' workers; see wlink.h. */
#include "wlink.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "portal.h"
#include "spawner.h"

/* More restarts than this within a minute: the worker dies of what it
 * is given (a guest that crashes it at once); its vhosts fail instead. */
#define WLINK_RESTARTS_PER_MIN 5

static uint64_t wlink_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void wlink_cb(struct evloop_handler *h, uint32_t events);

/* The worker's connect requests (portal.h): made here, to its own LUNs'
 * portals only (sb->portal_allowed). */
static void wlink_portal_cb(struct evloop_handler *h, uint32_t events)
{
	struct wlink *l = h->arg;
	struct sockaddr_storage sa;
	socklen_t len;
	char where[80];
	int fd, r, fl;

	(void)events;
	for (;;) {
		r = portal_recv(h->fd, &sa, &len, &fd);
		if (r == -EAGAIN || r == 0)
			return;   /* (a worker gone is seen on its message socket) */
		if (r < 0) {
			log_err("worker for domain %u (pid %d) sent a malformed connect request", l->domid,
				(int)l->pid);
			portal_reply(h->fd, -EPROTO);
			continue;
		}
		portal_format((struct sockaddr *)&sa, len, where, sizeof(where));
		if (!l->sb->portal_allowed(l->sb, l->domid, (struct sockaddr *)&sa, len)) {
			log_err("worker for domain %u (pid %d) asked to connect to %s, not a portal "
				"of its guest's LUNs: refused", l->domid, (int)l->pid, where);
			portal_reply(h->fd, -EACCES);
			close(fd);
			continue;
		}
		/* Never blocking here: the socket's flags are the worker's too,
		 * so they are put back (portal.c waits for a blocking one). */
		fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && !(fl & O_NONBLOCK))
			fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		r = connect(fd, (struct sockaddr *)&sa, len) < 0 ? -errno : 0;
		if (fl >= 0 && !(fl & O_NONBLOCK))
			fcntl(fd, F_SETFL, fl);
		log_debug("worker for domain %u: connect to %s: %s", l->domid, where,
			  r ? strerror(-r) : "connected");
		portal_reply(h->fd, r);
		close(fd);
	}
}

/* Starts a worker on fresh socketpairs (its messages, its portal
 * channel); 0 or -errno (logged). */
static int wlink_start(struct wlink *l)
{
	int sv[2], pc[2];
	pid_t pid;

	/* (the channel blocking at the worker's end: it waits for each answer) */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0) {
		log_err("worker for domain %u: socketpair: %s", l->domid, strerror(errno));
		return -errno;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pc) < 0) {
		log_err("worker for domain %u: socketpair: %s", l->domid, strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	pid = spawner_spawn(l->sb->spawner, l->domid, sv[1], pc[1]);
	close(sv[1]);
	close(pc[1]);
	if (pid < 0) {
		log_err("worker for domain %u: cannot start it: %s", l->domid, strerror((int)-pid));
		close(sv[0]);
		close(pc[0]);
		return (int)pid;
	}
	l->pid = pid;
	l->ready = false;
	l->h.fd = sv[0];
	l->h.cb = wlink_cb;
	l->h.arg = l;
	evloop_add(l->sb->loop, &l->h, EPOLLIN);
	l->ph.fd = pc[0];
	l->ph.cb = wlink_portal_cb;
	l->ph.arg = l;
	evloop_add(l->sb->loop, &l->ph, EPOLLIN);
	log_info("worker for domain %u: started, pid %d", l->domid, (int)pid);
	return 0;
}

static void wlink_close(struct wlink *l)
{
	if (l->ph.fd >= 0) {
		evloop_del(l->sb->loop, &l->ph);
		close(l->ph.fd);
		l->ph.fd = -1;
	}
	if (l->h.fd < 0)
		return;
	evloop_del(l->sb->loop, &l->h);
	close(l->h.fd);
	l->h.fd = -1;
}

/* The worker is gone (or cut off): a new one, and the xenstore side
 * hands it the domain's vhosts again. */
static void wlink_restart(struct wlink *l, const char *why)
{
	uint64_t now = wlink_now_ns();

	wlink_close(l);
	if (now - l->restart_window > 60ull * 1000000000u) {
		l->restart_window = now;
		l->restarts = 0;
	}
	if (++l->restarts > WLINK_RESTARTS_PER_MIN) {
		log_err("worker for domain %u (pid %d) %s; restarted %u times within a minute: "
			"giving up on the domain's vhosts", l->domid, (int)l->pid, why,
			WLINK_RESTARTS_PER_MIN);
		l->sb->worker_restarted(l->sb, l->domid, false);
		return;
	}
	log_err("worker for domain %u (pid %d) %s; starting another, its vhosts follow", l->domid,
		(int)l->pid, why);
	if (wlink_start(l) < 0) {
		l->sb->worker_restarted(l->sb, l->domid, false);
		return;
	}
	l->sb->worker_restarted(l->sb, l->domid, true);
}

static void wlink_cb(struct evloop_handler *h, uint32_t events)
{
	struct wlink *l = h->arg;
	union wmsg m;
	char err[200];
	int fd, r;

	(void)events;
	for (;;) {
		r = wmsg_recv(l->h.fd, &m, &fd, err, sizeof(err));
		if (r == -EAGAIN)
			return;
		if (r == 0) {
			wlink_restart(l, "ended");
			return;
		}
		if (r == -EPROTO) {
			log_err("worker for domain %u (pid %d) sent a malformed message: %s", l->domid,
				(int)l->pid, err);
			wlink_kill(l);
			return;
		}
		if (r < 0) {
			wlink_restart(l, strerror(-r));
			return;
		}
		if (fd >= 0)
			close(fd);   /* (wmsg_check lets none through from a worker's kinds) */
		if (m.h.kind == WMSG_READY) {
			l->ready = true;
			log_debug("worker for domain %u: ready", l->domid);
			continue;
		}
		if (m.h.kind < WMSG_READY) {
			log_err("worker for domain %u (pid %d) sent a broker's message (%s)", l->domid,
				(int)l->pid, wmsg_kind_name(m.h.kind));
			wlink_kill(l);
			return;
		}
		l->in_cb = true;
		if (!l->sb->worker_msg(l->sb, l->domid, &m) && !l->zombie) {
			l->in_cb = false;
			wlink_kill(l);
			return;
		}
		l->in_cb = false;
		if (l->zombie) {   /* its last vhost went while handling */
			free(l);
			return;
		}
	}
}

struct wlink *wlink_get(struct scsiback *sb, uint32_t domid)
{
	struct wlink *l;

	for (l = sb->links; l; l = l->next)
		if (l->domid == domid) {
			l->users++;
			return l;
		}
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->sb = sb;
	l->domid = domid;
	l->h.fd = -1;
	l->ph.fd = -1;
	if (wlink_start(l) < 0) {
		free(l);
		return NULL;
	}
	l->users = 1;
	l->next = sb->links;
	sb->links = l;
	return l;
}

void wlink_put(struct wlink *l)
{
	union wmsg m;

	if (--l->users)
		return;
	/* (told, so that it ends as told and not as after a broker's crash) */
	wmsg_init(&m, WMSG_STOP, 0);
	wlink_send(l, &m, -1);
	wlink_close(l);
	for (struct wlink **pp = &l->sb->links; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	log_info("worker for domain %u (pid %d): no vhost left, let go", l->domid, (int)l->pid);
	if (l->in_cb)
		l->zombie = true;   /* freed when wlink_cb returns */
	else
		free(l);
}

void wlink_send(struct wlink *l, const union wmsg *m, int fd)
{
	int r;

	if (l->h.fd < 0)
		return;
	r = wmsg_send(l->h.fd, m, fd);
	if (r < 0)
		log_warn("worker for domain %u (pid %d): cannot send %s: %s", l->domid, (int)l->pid,
			 wmsg_kind_name(m->h.kind), strerror(-r));
	/* (a worker gone is seen on its socket, and restarted there) */
}

void wlink_kill(struct wlink *l)
{
	/* (another user's process: this takes CAP_KILL, which the unit
	 * keeps for it) */
	if (l->pid > 0 && kill(l->pid, SIGKILL) < 0)
		log_err("worker for domain %u (pid %d): cannot kill it: %s", l->domid, (int)l->pid,
			strerror(errno));
	wlink_restart(l, "was killed for breaking the protocol");
}

void wlink_stop_all(struct scsiback *sb, unsigned timeout_ms)
{
	struct pollfd p[64];
	unsigned n = 0;
	uint64_t t0 = wlink_now_ns();

	for (struct wlink *l = sb->links; l; l = l->next) {
		int pfd = l->h.fd >= 0 ? (int)syscall(SYS_pidfd_open, l->pid, 0) : -1;
		union wmsg m;

		wmsg_init(&m, WMSG_STOP, 0);
		wlink_send(l, &m, -1);

		if (pfd >= 0 && n < sizeof(p) / sizeof(p[0]))
			p[n++] = (struct pollfd){ pfd, POLLIN, 0 };
		else if (pfd >= 0)
			close(pfd);
		wlink_close(l);
	}
	/* Each drains what runs and keeps its records, then ends. */
	for (unsigned i = 0; i < n; i++) {
		uint64_t spent = (wlink_now_ns() - t0) / 1000000u;
		int left = spent >= timeout_ms ? 0 : (int)(timeout_ms - spent);

		if (poll(&p[i], 1, left) == 0)
			log_warn("a worker still runs after %u s", timeout_ms / 1000);
		close(p[i].fd);
	}
}
