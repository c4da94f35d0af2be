/* A small epoll event loop: every daemon in vscsi is one of these. */
#ifndef VSCSI_EVLOOP_H
#define VSCSI_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct evloop;
struct evloop_handler;

/* Called with the epoll events that fired (EPOLLIN, EPOLLOUT, EPOLLHUP...). */
typedef void (*evloop_cb)(struct evloop_handler *h, uint32_t events);

/* Embed this in the object that owns the fd; the loop never allocates it. */
struct evloop_handler {
	int fd;
	evloop_cb cb;
	void *arg;
};

struct evloop *evloop_new(void);
void evloop_free(struct evloop *loop);

/* Returns 0 or -errno. */
int evloop_add(struct evloop *loop, struct evloop_handler *h, uint32_t events);
int evloop_mod(struct evloop *loop, struct evloop_handler *h, uint32_t events);
/* Safe to call from inside any callback, also for handlers not yet run in
 * the current batch: their pending events are dropped. */
void evloop_del(struct evloop *loop, struct evloop_handler *h);

/* Runs one batch: waits up to timeout_ms (-1 forever) and dispatches.
 * Returns the number of events dispatched or -errno (EINTR is 0). */
int evloop_run_once(struct evloop *loop, int timeout_ms);
/* Runs until evloop_stop() is called. */
void evloop_run(struct evloop *loop);
void evloop_stop(struct evloop *loop);
bool evloop_stopped(const struct evloop *loop);

/* A wake-up the loop delivers later, from its own stack: for work queued
 * inside a call that must not run it there (a driver answering from
 * within submit). Firing again before the callback ran costs nothing. The
 * owner adds and removes &w->h with evloop_add (EPOLLIN) / evloop_del. */
struct evloop_wake {
	struct evloop_handler h;
	bool fired;
};

/* An eventfd for cb(arg); 0 or -errno (then h.fd is -1). */
int evloop_wake_init(struct evloop_wake *w, evloop_cb cb, void *arg);
/* 0 or -errno. */
int evloop_wake_fire(struct evloop_wake *w);
/* Call from the callback before doing the work; 0 or -errno. */
int evloop_wake_clear(struct evloop_wake *w);
/* Closes the eventfd (after evloop_del); safe on a failed init. */
void evloop_wake_close(struct evloop_wake *w);

#endif
