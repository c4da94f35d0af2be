/* The daemon-wide context: what every vhost shares, and the hooks by
 * which the ring side tells the xenstore side (xenbus.c) what happened,
 * so that calls go one way, from xenbus.c down. */
#ifndef SCSIBACK_SCSIBACK_H
#define SCSIBACK_SCSIBACK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#include "evloop.h"

struct vhost;
struct scsiback_config;
struct wlink;
union wmsg;

struct scsiback {
	struct evloop *loop;
	struct xs_handle *xs;
	xengnttab_handle *gnt;
	/* NULL: each ring opens its own event-channel handle. A worker's rings
	 * share this one, restricted to its guest (docs/privsep.md). */
	xenevtchn_handle *evtchn;
	uint32_t self_domid;
	char be_root[64];             /* /local/domain/<self>/backend/vscsi */
	char statedir[256];           /* where in-flight records live */
	const struct scsiback_config *cfg;
	struct vhost *vhosts;
	bool stopping;                /* SIGTERM: take no new requests */
	int exit_status;              /* when stopping: 0, or 1 if xenstore was lost */
	bool polling;                 /* the loop polls rings; events need not re-arm */
	/* Privilege separation (docs/privsep.md): the broker serves no ring
	 * itself; each guest domain's vhosts go to its worker. */
	bool privsep;
	int spawner;                  /* the spawner's socket (spawner.h) */
	struct wlink *links;          /* one per guest domain (wlink.h) */
	/* A worker's message for the vhosts (vhost.c); false: a message the
	 * worker had no business sending (logged): it is killed. */
	bool (*worker_msg)(struct scsiback *sb, uint32_t domid, const union wmsg *m);
	/* Whether domid's worker may connect to sa: a portal of one of the
	 * iSCSI LUNs mapped to that guest (vhost.c). */
	bool (*portal_allowed)(struct scsiback *sb, uint32_t domid, const struct sockaddr *sa,
			       socklen_t len);
	/* domid's worker was replaced (ok) or could not be (the xenstore
	 * side hands it the domain's vhosts again, or fails them). */
	void (*worker_restarted)(struct scsiback *sb, uint32_t domid, bool ok);
	/* Called when a drained ring has been released. */
	void (*on_disconnected)(struct vhost *vh);
	/* Called when a LUN that vlun_add left opening has its outcome:
	 * rc 0, it serves; otherwise err says why, and it has been removed. */
	void (*on_lun_opened)(struct vhost *vh, unsigned devnum, const char *pdev, int rc,
			      const char *err);
	/* A worker could not connect the ring that vhost_connect handed it. */
	void (*on_connect_failed)(struct vhost *vh, int rc);
};

#endif
