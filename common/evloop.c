#include "evloop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define EVLOOP_BATCH 64

struct evloop {
	int epfd;
	bool stop;
	/* The batch being dispatched, so evloop_del can void stale entries. */
	struct epoll_event batch[EVLOOP_BATCH];
	int batch_len;
};

struct evloop *evloop_new(void)
{
	struct evloop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
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

int evloop_run_once(struct evloop *loop, int timeout_ms)
{
	int n = epoll_wait(loop->epfd, loop->batch, EVLOOP_BATCH, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	loop->batch_len = n;
	for (int i = 0; i < n; i++) {
		struct evloop_handler *h = loop->batch[i].data.ptr;

		if (h)
			h->cb(h, loop->batch[i].events);
	}
	loop->batch_len = 0;
	return n;
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

int evloop_wake_init(struct evloop_wake *w, evloop_cb cb, void *arg)
{
	w->h = (struct evloop_handler){ .fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), .cb = cb,
					.arg = arg };
	w->fired = false;
	return w->h.fd < 0 ? -errno : 0;
}

int evloop_wake_fire(struct evloop_wake *w)
{
	uint64_t one = 1;

	if (w->fired)
		return 0;
	if (write(w->h.fd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	w->fired = true;
	return 0;
}

int evloop_wake_clear(struct evloop_wake *w)
{
	uint64_t v;

	w->fired = false;
	return read(w->h.fd, &v, sizeof(v)) < 0 && errno != EAGAIN ? -errno : 0;
}

void evloop_wake_close(struct evloop_wake *w)
{
	if (w->h.fd >= 0)
		close(w->h.fd);
	w->h.fd = -1;
}
