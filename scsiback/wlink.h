/* The broker's link to a guest's worker (docs/privsep.md): one per guest
 * domain with vhosts here, started through the spawner, its socket in the
 * broker's loop. What the worker sends goes up through sb->worker_msg; a
 * worker that ends (or breaks the protocol) is started again and
 * sb->worker_restarted tells the xenstore side to hand it the domain's
 * vhosts anew. */
#ifndef SCSIBACK_WLINK_H
#define SCSIBACK_WLINK_H

#include <stdint.h>
#include <sys/types.h>

#include "evloop.h"
#include "scsiback.h"
#include "wmsg.h"

struct wlink {
	struct wlink *next;
	struct scsiback *sb;
	uint32_t domid;
	pid_t pid;
	struct evloop_handler h;      /* its socket */
	struct evloop_handler ph;     /* its portal channel (portal.h) */
	unsigned users;               /* vhosts served through it */
	unsigned restarts;            /* within the current minute */
	uint64_t restart_window;      /* when that minute began (ns) */
	bool ready;
	bool in_cb, zombie;           /* let go while its message was handled */
};

/* The link of domid's worker, started if need be, counted as used once
 * more; NULL (logged) when no worker can be started. */
struct wlink *wlink_get(struct scsiback *sb, uint32_t domid);
/* One user fewer; the last one's going ends the worker (its socket
 * closes: it drains and exits). */
void wlink_put(struct wlink *l);
/* Sends m (with fd, -1 for none). A worker that cannot be reached is
 * being restarted: the message is dropped, the restart resends state. */
void wlink_send(struct wlink *l, const union wmsg *m, int fd);
/* A worker broke the protocol (what it sent is logged by the caller):
 * killed and started again. */
void wlink_kill(struct wlink *l);
/* At the broker's end, before its vhosts go: closes every link (each
 * worker drains what runs, keeps its records and ends) and waits for
 * them at most timeout_ms. The links stay until their vhosts let go. */
void wlink_stop_all(struct scsiback *sb, unsigned timeout_ms);

#endif
