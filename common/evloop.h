/* A small epoll event loop: every daemon in vscsi is one of these. */
#ifndef VSCSI_EVLOOP_H
#define VSCSI_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "list.h"

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

/* Runs one turn: waits up to timeout_ms (-1 forever; never while a
 * wake-up is fired) and dispatches, then runs the wake-ups and flushes.
 * Returns the number of events, wake-ups and flushes run, or -errno
 * (EINTR is 0). */
int evloop_run_once(struct evloop *loop, int timeout_ms);
/* A turn without looking at the fds: runs the wake-ups and flushes fired
 * (a busy loop that checks its fds less often than every turn). */
int evloop_run_fired(struct evloop *loop);
/* Runs until evloop_stop() is called. */
void evloop_run(struct evloop *loop);
void evloop_stop(struct evloop *loop);
bool evloop_stopped(const struct evloop *loop);

/* A wake-up the loop delivers later, from its own stack: for work queued
 * inside a call that must not run it there (a driver answering from
 * within submit). No fd and no syscall: a fired wake-up waits in a list of
 * the loop's, which runs it after the batch of fd events of its turn (one
 * fired while those run waits for the next turn; the loop then does not
 * block). Firing again before the callback ran costs nothing. */
struct evloop_wake {
	struct list_link link;
	struct evloop *loop;
	void (*cb)(void *arg);
	void *arg;
	bool fired;
};

void evloop_wake_init(struct evloop_wake *w, struct evloop *loop, void (*cb)(void *arg), void *arg);
void evloop_wake_fire(struct evloop_wake *w);
/* Unfires it: call before the memory goes. */
void evloop_wake_cancel(struct evloop_wake *w);

/* A flush: like a wake-up, but run at the end of the turn it was fired
 * in, after every fd event and wake-up of that turn: what many events of
 * one turn want done once (a ring's answers published, one notification). */
void evloop_flush_fire(struct evloop_wake *w);

#endif
