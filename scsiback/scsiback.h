/* The daemon-wide context: what every vhost shares, and the hooks by
 * which the ring side tells the xenstore side (xenbus.c) what happened,
 * so that calls go one way, from xenbus.c down. */
#ifndef SCSIBACK_SCSIBACK_H
#define SCSIBACK_SCSIBACK_H

#include <stdbool.h>
#include <stdint.h>
#include <xengnttab.h>

#include "evloop.h"

struct vhost;
struct scsiback_config;

struct scsiback {
	struct evloop *loop;
	struct xs_handle *xs;
	xengnttab_handle *gnt;
	uint32_t self_domid;
	char be_root[64];             /* /local/domain/<self>/backend/vscsi */
	char statedir[256];           /* where in-flight records live */
	const struct scsiback_config *cfg;
	struct vhost *vhosts;
	bool stopping;                /* SIGTERM: take no new requests */
	int exit_status;              /* when stopping: 0, or 1 if xenstore was lost */
	bool polling;                 /* the loop polls rings; events need not re-arm */
	/* Called when a drained ring has been released. */
	void (*on_disconnected)(struct vhost *vh);
	/* Called when a LUN that vlun_add left opening has its outcome:
	 * rc 0, it serves; otherwise err says why, and it has been removed. */
	void (*on_lun_opened)(struct vhost *vh, unsigned devnum, const char *pdev, int rc,
			      const char *err);
};

#endif
