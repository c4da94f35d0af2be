#include "evloop.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define EVLOOP_BATCH 64

struct evloop {
	int epfd;
	bool stop;
	/* The batch being dispatched, so evloop_del can void stale entries. */
	struct epoll_event batch[EVLOOP_BATCH];
	int batch_len;
	struct list_link wakes;      /* fired wake-ups */
	struct list_link running;    /* the wake-ups of this turn, being run */
	struct list_link flushes;    /* fired flushes */
};

struct evloop *evloop_new(void)
{
	struct evloop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	list_init(&loop->wakes);
	list_init(&loop->running);
	list_init(&loop->flushes);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	return loop;
}

void evloop_free(struct evloop *loop)
{
	if (!loop)
		return;
	close(loop->epfd);
	free(loop);
}

static int evloop_ctl(struct evloop *loop, int op, struct evloop_handler *h,
		      uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	return epoll_ctl(loop->epfd, op, h->fd, &ev) ? -errno : 0;
}

int evloop_add(struct evloop *loop, struct evloop_handler *h, uint32_t events)
{
	return evloop_ctl(loop, EPOLL_CTL_ADD, h, events);
}

int evloop_mod(struct evloop *loop, struct evloop_handler *h, uint32_t events)
{
	return evloop_ctl(loop, EPOLL_CTL_MOD, h, events);
}

void evloop_del(struct evloop *loop, struct evloop_handler *h)
{
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	for (int i = 0; i < loop->batch_len; i++)
		if (loop->batch[i].data.ptr == h)
			loop->batch[i].data.ptr = NULL;
}

/* Runs each wake-up of list, unlinked first so that its callback may
 * fire it again (for a later turn) or cancel any other. */
static int evloop_run_list(struct list_link *list)
{
	int n = 0;

	while (!list_empty(list)) {
		struct evloop_wake *w = list_first(list, struct evloop_wake, link);

		list_del(&w->link);
		w->fired = false;
		w->cb(w->arg);
		n++;
	}
	return n;
}

int evloop_run_once(struct evloop *loop, int timeout_ms)
{
	int n = epoll_wait(loop->epfd, loop->batch, EVLOOP_BATCH,
			   list_empty(&loop->wakes) && list_empty(&loop->flushes) ? timeout_ms : 0);

	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	loop->batch_len = n;
	for (int i = 0; i < n; i++) {
		struct evloop_handler *h = loop->batch[i].data.ptr;

		if (h)
			h->cb(h, loop->batch[i].events);
	}
	loop->batch_len = 0;
	return n + evloop_run_fired(loop);
}

int evloop_run_fired(struct evloop *loop)
{
	int n;

	/* This turn's wake-ups; those they fire wait for the next turn. */
	list_move_all(&loop->wakes, &loop->running);
	n = evloop_run_list(&loop->running);
	return n + evloop_run_list(&loop->flushes);
}

void evloop_run(struct evloop *loop)
{
	loop->stop = false;
	while (!loop->stop)
		if (evloop_run_once(loop, -1) < 0)
			break;
}

void evloop_stop(struct evloop *loop) { loop->stop = true; }
bool evloop_stopped(const struct evloop *loop) { return loop->stop; }

void evloop_wake_init(struct evloop_wake *w, struct evloop *loop, void (*cb)(void *arg), void *arg)
{
	list_init(&w->link);
	w->loop = loop;
	w->cb = cb;
	w->arg = arg;
	w->fired = false;
}

static void evloop_fire(struct evloop_wake *w, struct list_link *list)
{
	if (w->fired)
		return;
	w->fired = true;
	list_add_tail(list, &w->link);
}

void evloop_wake_fire(struct evloop_wake *w) { evloop_fire(w, &w->loop->wakes); }
void evloop_flush_fire(struct evloop_wake *w) { evloop_fire(w, &w->loop->flushes); }

void evloop_wake_cancel(struct evloop_wake *w)
{
	list_del(&w->link);
	w->fired = false;
}
