/* The host object: open and close, the lock, the pollable fd (an epoll
 * set of the event channel, the xenstore watch pipe and a timerfd), the
 * processing pass, and blocking waits shared between threads (whoever
 * waits drives the events for everybody; callbacks run with no lock held).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <xenstore.h>

#include "decimal.h"
#include "vdev.h"
#include "vf_internal.h"
#include "xsutil.h"

#define EV_EVTCHN 1u
#define EV_XS 2u
#define EV_TIMER 3u
#define EV_KICK 4u

static unsigned env_uint(const char *name, unsigned dflt)
{
	const char *v = getenv(name);
	char *end;
	unsigned long x;

	if (!v || !*v)
		return dflt;
	x = strtoul(v, &end, 10);
	return *end || x > 1000000 ? dflt : (unsigned)x;
}

void vf_event(struct vscsi_host *h, struct vf_deliver *dl, enum vscsi_event_type type,
	      const struct vscsi_lun_info *lun, const char *fmt, ...)
{
	struct vf_event_item *e;
	va_list ap;

	(void)h;
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->ev.type = type;
	if (lun)
		e->ev.lun = *lun;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	e->ev.message = e->msg;
	if (dl->ev_tail)
		dl->ev_tail->next = e;
	else
		dl->ev_head = e;
	dl->ev_tail = e;
}

/* Runs the callbacks collected during a pass. No lock held. */
void vf_deliver(struct vscsi_host *h, struct vf_deliver *dl)
{
	vscsi_event_cb ecb;
	void *epriv;

	pthread_mutex_lock(&h->lock);
	ecb = h->event_cb;
	epriv = h->event_priv;
	pthread_mutex_unlock(&h->lock);
	while (dl->ev_head) {
		struct vf_event_item *e = dl->ev_head;

		dl->ev_head = e->next;
		if (ecb)
			ecb(h, &e->ev, epriv);
		free(e);
	}
	dl->ev_tail = NULL;
	while (dl->done_head) {
		struct vf_task *t = dl->done_head;

		dl->done_head = t->done_next;
		t->done_next = NULL;
		if (t->cb)
			t->cb(h, &t->pub, t->cb_priv);
	}
	dl->done_tail = NULL;
}

static void fail_common(struct vscsi_host *h, enum vscsi_host_state st, int error, const char *msg,
			struct vf_deliver *dl)
{
	h->state = st;
	h->ring_dead = true;
	snprintf(h->error, sizeof(h->error), "%s", msg);
	vf_task_fail_all(h, error, msg, dl);
}

/* The deliver list of the pass running under the lock (one at a time). */
static struct vf_deliver *cur_dl_of(struct vscsi_host *h)
{
	static __thread struct vf_deliver orphan;

	return h->cur_dl ? h->cur_dl : &orphan; /* every caller is inside a pass */
}

/* A protocol violation: disable the vhost. Called from inside a pass; the
 * failure event is delivered by that pass. */
void vf_fail(struct vscsi_host *h, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	struct vf_deliver *dl = cur_dl_of(h);

	if (h->state == VSCSI_HOST_FAILED)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vf_err("%s: %s; vhost disabled", h->name, msg);
	fail_common(h, VSCSI_HOST_FAILED, -EIO, msg, dl);
	vf_event(h, dl, VSCSI_EVENT_FAILED, NULL, "%s: %s; vhost disabled", h->name, msg);
}

void vf_disconnected(struct vscsi_host *h, const char *why)
{
	struct vf_deliver *dl = cur_dl_of(h);

	if (h->state == VSCSI_HOST_DISCONNECTED || h->state == VSCSI_HOST_FAILED)
		return;
	vf_info("%s: %s", h->name, why);
	fail_common(h, VSCSI_HOST_DISCONNECTED, -ENOTCONN, why, dl);
	vf_lun_drop_all(h);
	vf_event(h, dl, VSCSI_EVENT_DISCONNECTED, NULL, "%s: %s", h->name, why);
}

/* Sets the timer only when the next deadline comes before the one it is
 * set to (or it is not set): every command moves the next deadline, and a
 * timerfd_settime per command was a tenth of a polling loop's syscalls. A
 * timer left set for a task that has ended fires once for nothing and is
 * set again then. */
void vf_rearm_timer(struct vscsi_host *h)
{
	uint64_t d = vf_task_next_deadline(h);
	struct itimerspec its = { 0 };

	if (!d || (h->timer_armed_ns && d >= h->timer_armed_ns))
		return;
	its.it_value.tv_sec = (time_t)(d / 1000000000ull);
	its.it_value.tv_nsec = (long)(d % 1000000000ull);
	if (timerfd_settime(h->timerfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		h->timer_armed_ns = d;
}

static void drain_evtchn(struct vscsi_host *h)
{
	struct pollfd p = { .fd = xenevtchn_fd(h->evt), .events = POLLIN };

	while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
		xenevtchn_port_or_error_t port = xenevtchn_pending(h->evt);

		if (port < 0)
			break;
		xenevtchn_unmask(h->evt, (evtchn_port_t)port);
	}
}

/* One processing pass. evs/nev: what epoll reported (nev < 0: ask it). */
int vf_process_locked(struct vscsi_host *h, struct vf_deliver *dl, bool arm,
		      const struct epoll_event *evs, int nev)
{
	struct epoll_event mine[4];
	bool evt = false, xs = false, timer = false, kick = false;
	struct vf_deliver *saved_dl = h->cur_dl;
	int taken = 0;

	h->cur_dl = dl;
	if (nev < 0) {
		nev = epoll_wait(h->epfd, mine, 4, 0);
		evs = mine;
	}
	for (int i = 0; i < nev; i++) {
		evt |= evs[i].data.u32 == EV_EVTCHN;
		xs |= evs[i].data.u32 == EV_XS;
		timer |= evs[i].data.u32 == EV_TIMER;
		kick |= evs[i].data.u32 == EV_KICK;
	}
	if (kick) {
		uint64_t x;

		if (read(h->kickfd, &x, sizeof(x)) < 0)
			(void)0;
	}
	vf_task_answer_local(h, dl);
	if (evt)
		drain_evtchn(h);
	if (timer) {
		uint64_t x;

		if (read(h->timerfd, &x, sizeof(x)) < 0)
			(void)0;
		h->timer_armed_ns = 0;
	}
	/* Answers already on the ring first: they completed before whatever
	 * xenstore says now (e.g. the backend closing). */
	if (!h->ring_dead && h->ring_page) {
		int n = vf_ring_take(h, dl);

		if (n > 0)
			taken += n;
	}
	if (xs)
		vf_xb_watch(h, dl);
	for (;;) {
		if (!h->ring_dead && h->ring_page) {
			int n = vf_ring_take(h, dl);

			if (n > 0)
				taken += n;
		}
		vf_task_timeouts(h, dl, vf_now_ns());
		if (h->ring_dead || !h->ring_page || !arm || !vf_ring_arm(h))
			break;
	}
	vf_rearm_timer(h);
	h->passes++;
	h->cur_dl = saved_dl;
	return taken;
}

/* Sleeps on the fd (after a short busy-poll of the ring) and processes.
 * Called with the lock held and h->driving set by the caller; drops the
 * lock while sleeping. */
static void drive_once(struct vscsi_host *h, struct vf_deliver *dl, int timeout_ms)
{
	struct epoll_event evs[4];
	int nev = -1;

	if (!h->ring_dead && h->ring_page && h->poll_us && h->slots_busy) {
		uint64_t until = vf_now_ns() + (uint64_t)h->poll_us * 1000u;
		bool seen;

		pthread_mutex_unlock(&h->lock);
		do {
			seen = vf_ring_peek(h);
			if (!seen)
				__builtin_ia32_pause();
		} while (!seen && vf_now_ns() < until);
		pthread_mutex_lock(&h->lock);
		if (seen) {
			vf_process_locked(h, dl, false, NULL, 0);
			return;
		}
	}
	/* About to sleep: ask for a notification, and look once more. */
	if (!h->ring_dead && h->ring_page && vf_ring_arm(h)) {
		vf_process_locked(h, dl, true, NULL, -1);
		return;
	}
	pthread_mutex_unlock(&h->lock);
	nev = epoll_wait(h->epfd, evs, 4, timeout_ms);
	pthread_mutex_lock(&h->lock);
	vf_process_locked(h, dl, true, evs, nev < 0 ? 0 : nev);
}

/* Before returning to the application: ask the backend for a
 * notification, and if answers slipped in before that, make the fd
 * readable so that whoever polls it processes them. */
static void leave_armed(struct vscsi_host *h)
{
	if (!h->ring_dead && h->ring_page && vf_ring_arm(h)) {
		uint64_t one = 1;

		if (write(h->kickfd, &one, sizeof(one)) < 0)
			(void)0;
	}
}

int vf_wait_locked(struct vscsi_host *h, volatile bool *flag, uint64_t deadline_ns)
{
	while (!*flag) {
		uint64_t now = vf_now_ns();
		int tmo = -1;

		if (deadline_ns) {
			if (now >= deadline_ns) {
				leave_armed(h);
				return -ETIMEDOUT;
			}
			tmo = (int)((deadline_ns - now + 999999) / 1000000);
		}
		if (h->driving) {
			if (deadline_ns) {
				struct timespec ts;

				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += tmo / 1000;
				ts.tv_nsec += (long)(tmo % 1000) * 1000000;
				if (ts.tv_nsec >= 1000000000) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000;
				}
				pthread_cond_timedwait(&h->cond, &h->lock, &ts);
			} else {
				pthread_cond_wait(&h->cond, &h->lock);
			}
			continue;
		}
		{
			struct vf_deliver dl = { 0 };

			h->driving = true;
			drive_once(h, &dl, tmo);
			h->driving = false;
			pthread_cond_broadcast(&h->cond);
			if (dl.done_head || dl.ev_head) {
				pthread_mutex_unlock(&h->lock);
				vf_deliver(h, &dl);
				pthread_mutex_lock(&h->lock);
				/* A callback may have completed someone's wait. */
				pthread_cond_broadcast(&h->cond);
			}
		}
	}
	leave_armed(h);
	return 0;
}

/* ---- open / close ---- */

static void host_free(struct vscsi_host *h)
{
	vf_lun_drop_all(h);
	free(h->luns);
	if (h->shr)
		vf_pool_unshare(h);
	if (h->evt) {
		if (h->port > 0)
			xenevtchn_unbind(h->evt, (evtchn_port_t)h->port);
		xenevtchn_close(h->evt);
	}
	if (h->shr)
		xengntshr_close(h->shr);
	if (h->xs)
		xs_close(h->xs);
	if (h->epfd >= 0)
		close(h->epfd);
	if (h->timerfd >= 0)
		close(h->timerfd);
	if (h->kickfd >= 0)
		close(h->kickfd);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static int add_fd(struct vscsi_host *h, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

struct vscsi_host *vscsi_open(unsigned devid, const struct vscsi_opts *opts, char *err,
			      size_t errlen)
{
	struct vscsi_host *h = calloc(1, sizeof(*h));
	char dummy[8];
	int r;

	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = 0;
	if (!h) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->epfd = h->timerfd = h->kickfd = -1;
	h->devid = devid;
	h->owner_pid = getpid();
	h->state = VSCSI_HOST_CONNECTING;
	if (opts)
		h->opts = *opts;
	if (!h->opts.connect_timeout_ms)
		h->opts.connect_timeout_ms = 10000;
	if (!h->opts.cmd_timeout_ms)
		h->opts.cmd_timeout_ms = 30000;
	if (!h->opts.tmf_timeout_ms)
		h->opts.tmf_timeout_ms = 5000;
	if (!h->opts.pool_pages)
		h->opts.pool_pages = env_uint("VSCSI_POOL_PAGES", 512);
	h->offer_persistent = !(h->opts.flags & VSCSI_OPEN_NO_PERSISTENT) &&
			      env_uint("VSCSI_PERSISTENT", 1) != 0;
	h->poll_us = opts && opts->poll_us >= 0 ? (unsigned)opts->poll_us
						 : env_uint("VSCSI_POLL_US", 20);
	h->event_cb = h->opts.event_cb;
	h->event_priv = h->opts.event_priv;
	snprintf(h->name, sizeof(h->name), "vhost %u", devid);
	snprintf(h->fe_path, sizeof(h->fe_path), "device/vscsi/%u", devid);

	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	h->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->epfd < 0 || h->timerfd < 0 || h->kickfd < 0) {
		r = -errno;
		snprintf(err, errlen, "epoll/timerfd: %s", strerror(-r));
		goto fail;
	}
	h->xs = xs_open(0);
	if (!h->xs) {
		r = -errno;
		snprintf(err, errlen, "cannot connect to xenstore: %s", strerror(-r));
		goto fail;
	}
	h->shr = xengntshr_open(NULL, 0);
	h->evt = xenevtchn_open(NULL, 0);
	if (!h->shr || !h->evt) {
		r = -errno;
		snprintf(err, errlen, "cannot open the %s device: %s",
			 !h->shr ? "grant-share (gntalloc)" : "event channel", strerror(-r));
		goto fail;
	}
	pthread_mutex_lock(&h->lock);
	r = vf_xb_start(h, err, errlen);
	pthread_mutex_unlock(&h->lock);
	if (r < 0)
		goto fail;
	if ((r = add_fd(h, xenevtchn_fd(h->evt), EV_EVTCHN)) < 0 ||
	    (r = add_fd(h, xs_fileno(h->xs), EV_XS)) < 0 || (r = add_fd(h, h->timerfd, EV_TIMER)) < 0 ||
	    (r = add_fd(h, h->kickfd, EV_KICK)) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(-r));
		goto fail_close;
	}

	/* Follow the backend to Connected and wait for the LUN probes. */
	{
		uint64_t deadline = vf_now_ns() + (uint64_t)h->opts.connect_timeout_ms * 1000000ull;
		struct vf_deliver dl = { 0 };

		pthread_mutex_lock(&h->lock);
		vf_process_locked(h, &dl, true, NULL, -1);
		pthread_mutex_unlock(&h->lock);
		vf_deliver(h, &dl);
		pthread_mutex_lock(&h->lock);
		for (;;) {
			uint64_t now = vf_now_ns();

			if (h->state == VSCSI_HOST_CONNECTED && !h->probing)
				break;
			if (h->state == VSCSI_HOST_FAILED || h->state == VSCSI_HOST_DISCONNECTED) {
				snprintf(err, errlen, "%s", h->error);
				r = h->state == VSCSI_HOST_FAILED ? -EIO : -ENOTCONN;
				pthread_mutex_unlock(&h->lock);
				goto fail_close;
			}
			if (now >= deadline) {
				int be = xsu_read_intf(h->xs, XBT_NULL, -1, "%s/state", h->be_path);

				snprintf(err, errlen,
					 "%s: the backend did not connect within %u ms (backend state %d%s)",
					 h->name, h->opts.connect_timeout_ms, be,
					 h->probing ? ", LUN probes pending" : "");
				r = -ETIMEDOUT;
				pthread_mutex_unlock(&h->lock);
				goto fail_close;
			}
			memset(&dl, 0, sizeof(dl));
			h->driving = true;
			drive_once(h, &dl, (int)((deadline - now) / 1000000u) + 1);
			h->driving = false;
			pthread_mutex_unlock(&h->lock);
			vf_deliver(h, &dl);
			pthread_mutex_lock(&h->lock);
		}
		leave_armed(h);
		pthread_mutex_unlock(&h->lock);
	}
	return h;

fail_close:
	{
		struct vf_deliver dl = { 0 };

		pthread_mutex_lock(&h->lock);
		h->cur_dl = &dl;
		vf_task_fail_all(h, -ESHUTDOWN, "the open failed", &dl);
		h->cur_dl = NULL;
		vf_xb_close(h, 2000);
		pthread_mutex_unlock(&h->lock);
		vf_deliver(h, &dl);
	}
fail:
	host_free(h);
	errno = -r;
	return NULL;
}

void vscsi_close(struct vscsi_host *h)
{
	struct vf_deliver dl = { 0 };

	if (!h)
		return;
	if (getpid() != h->owner_pid) {
		/* A forked child: the ring belongs to the parent. Free nothing
		 * shared, touch no xenstore node. */
		return;
	}
	pthread_mutex_lock(&h->lock);
	h->cur_dl = &dl;
	vf_task_fail_all(h, -ESHUTDOWN, "the host was closed", &dl);
	h->cur_dl = NULL;
	pthread_mutex_unlock(&h->lock);
	vf_deliver(h, &dl);
	pthread_mutex_lock(&h->lock);
	while (h->driving)
		pthread_cond_wait(&h->cond, &h->lock);
	vf_xb_close(h, 5000);
	pthread_mutex_unlock(&h->lock);
	host_free(h);
}

int vscsi_get_fd(struct vscsi_host *h)
{
	return h->epfd;
}

/* Runs what a pass gathered (outside the lock); how many callbacks. */
static int deliver_counted(struct vscsi_host *h, struct vf_deliver *dl)
{
	int n = 0;

	for (struct vf_task *t = dl->done_head; t; t = t->done_next)
		n++;
	for (struct vf_event_item *e = dl->ev_head; e; e = e->next)
		n++;
	vf_deliver(h, dl);
	return n;
}

int vscsi_service(struct vscsi_host *h)
{
	struct vf_deliver dl = { 0 };

	pthread_mutex_lock(&h->lock);
	vf_process_locked(h, &dl, true, NULL, -1);
	pthread_mutex_unlock(&h->lock);
	return deliver_counted(h, &dl);
}

/* How often vscsi_poll() also looks at the fds (xenstore, the timer). */
#define VF_POLL_FDS_NS 1000000ull

int vscsi_poll(struct vscsi_host *h)
{
	struct vf_deliver dl = { 0 };
	uint64_t now = vf_now_ns();

	pthread_mutex_lock(&h->lock);
	if (now - h->polled_fds_ns >= VF_POLL_FDS_NS) {
		h->polled_fds_ns = now;
		vf_process_locked(h, &dl, false, NULL, -1);
	} else {
		/* Memory only: no syscall, no notification asked for. */
		vf_task_answer_local(h, &dl);
		if (!h->ring_dead && h->ring_page)
			vf_ring_take(h, &dl);
		vf_task_timeouts(h, &dl, now);
	}
	pthread_mutex_unlock(&h->lock);
	return deliver_counted(h, &dl);
}

int vscsi_run_once(struct vscsi_host *h, int timeout_ms)
{
	struct pollfd p = { .fd = h->epfd, .events = POLLIN };

	if (poll(&p, 1, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	return vscsi_service(h);
}

void vscsi_set_poll_us(struct vscsi_host *h, unsigned us)
{
	pthread_mutex_lock(&h->lock);
	h->poll_us = us;
	pthread_mutex_unlock(&h->lock);
}

struct sync_wait {
	bool done;
};

static void sync_done(struct vscsi_host *h, struct vscsi_task *t, void *priv)
{
	struct sync_wait *w = priv;

	(void)t;
	pthread_mutex_lock(&h->lock);
	w->done = true;
	pthread_cond_broadcast(&h->cond);
	/* The waiter may be the thread asleep on the fd (another thread
	 * processed its completion): wake it. */
	if (h->driving) {
		uint64_t one = 1;

		if (write(h->kickfd, &one, sizeof(one)) < 0)
			(void)0;
	}
	pthread_mutex_unlock(&h->lock);
}

int vscsi_task_run(struct vscsi_host *h, struct vscsi_task *task)
{
	struct sync_wait w = { false };
	int r;

	if (!h || !task)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	r = vf_task_submit_locked(h, vf_task(task), sync_done, &w);
	if (r == 0)
		vf_wait_locked(h, &w.done, 0);
	pthread_mutex_unlock(&h->lock);
	if (r < 0) {
		task->error = r;
		snprintf(task->errmsg, sizeof(task->errmsg), "not submitted: %s", strerror(-r));
		return r;
	}
	return task->error;
}

enum vscsi_host_state vscsi_get_state(struct vscsi_host *h)
{
	enum vscsi_host_state s;

	pthread_mutex_lock(&h->lock);
	s = h->state;
	pthread_mutex_unlock(&h->lock);
	return s;
}

const char *vscsi_get_error(struct vscsi_host *h)
{
	return h->error;
}

bool vscsi_host_persistent(struct vscsi_host *h)
{
	bool p;

	pthread_mutex_lock(&h->lock);
	p = h->persistent;
	pthread_mutex_unlock(&h->lock);
	return p;
}

void vscsi_get_info(struct vscsi_host *h, struct vscsi_host_info *out)
{
	pthread_mutex_lock(&h->lock);
	memset(out, 0, sizeof(*out));
	out->devid = h->devid;
	out->domid = h->domid;
	out->backend_domid = h->be_domid;
	snprintf(out->backend, sizeof(out->backend), "%s", h->be_path);
	out->feature_sg_grant = h->feature_sg_grant;
	out->max_segments = h->max_segments;
	out->max_transfer = (size_t)h->max_segments * VF_PAGE;
	out->pool_pages = h->pool_pages;
	out->ring_slots = VF_SLOTS;
	pthread_mutex_unlock(&h->lock);
}

void vscsi_set_event_cb(struct vscsi_host *h, vscsi_event_cb cb, void *priv)
{
	pthread_mutex_lock(&h->lock);
	h->event_cb = cb;
	h->event_priv = priv;
	pthread_mutex_unlock(&h->lock);
}

static int cmp_lun(const void *a, const void *b)
{
	const struct vscsi_lun_info *x = a, *y = b;

	if (x->addr.channel != y->addr.channel)
		return x->addr.channel - y->addr.channel;
	if (x->addr.target != y->addr.target)
		return x->addr.target - y->addr.target;
	return x->addr.lun - y->addr.lun;
}

size_t vscsi_get_luns(struct vscsi_host *h, struct vscsi_lun_info *out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->nluns; i++) {
		if (h->luns[i].state != VF_LUN_READY)
			continue;
		if (n < max)
			out[n] = h->luns[i].info;
		n++;
	}
	pthread_mutex_unlock(&h->lock);
	if (out)
		qsort(out, n < max ? n : max, sizeof(*out), cmp_lun);
	return n;
}

int vscsi_find_lun(struct vscsi_host *h, const struct vscsi_addr *a, struct vscsi_lun_info *out)
{
	int r = -ENOENT;

	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->nluns; i++) {
		const struct vscsi_addr *b = &h->luns[i].info.addr;

		if (h->luns[i].state == VF_LUN_READY && b->channel == a->channel &&
		    b->target == a->target && b->lun == a->lun) {
			if (out)
				*out = h->luns[i].info;
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return r;
}

int vscsi_list_vhosts(unsigned *out, size_t max)
{
	struct xs_handle *xs = xs_open(0);
	char **d;
	unsigned n = 0;
	size_t k = 0;

	if (!xs)
		return -errno;
	d = xs_directory(xs, XBT_NULL, "device/vscsi", &n);
	for (unsigned i = 0; d && i < n; i++) {
		uint64_t v;

		/* A vhost's devid is the host of its v-devs (vdev.h). */
		if (!dec_parse_str(d[i], VDEV_PART_MAX, &v))
			continue;
		if (k < max)
			out[k] = (unsigned)v;
		k++;
	}
	free(d);
	xs_close(xs);
	/* Sorted, for stable listings. */
	for (size_t i = 1; i < (k < max ? k : max); i++)
		for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
			unsigned x = out[j];

			out[j] = out[j - 1];
			out[j - 1] = x;
		}
	return (int)k;
}
