/* scsiback's xenstore side: finds vhosts under backend/vscsi, follows the
 * frontends' states (docs/protocol.md, "Handshake") and maintains the LUN tables. The
 * ring side (vhost.c, ring.c, cmd.c) knows nothing of xenstore. */
#ifndef SCSIBACK_XENBUS_H
#define SCSIBACK_XENBUS_H

#include "vhost.h"

/* Watches backend/vscsi of our domain and @releaseDomain; picks up the
 * vhosts that already exist (a restarted daemon). 0 or -errno. */
int xenbus_start(struct scsiback *sb);
/* Closes every vhost (drained when drain is set) and writes Closed. */
void xenbus_stop(struct scsiback *sb);
/* Points every LUN at its policy in sb->cfg (after SIGHUP). */
void xenbus_apply_config(struct scsiback *sb);
/* Runs when a vhost's ring has been released (after a drain). */
void xenbus_vhost_disconnected(struct vhost *vh);
/* sb->on_connect_failed: the vhost fails as a ring we could not map. */
void xenbus_connect_failed(struct vhost *vh, int rc);
/* sb->worker_restarted: the domain's vhosts are handed to its new worker
 * as to a daemon just started (ok), or fail (its worker keeps dying). */
void xenbus_worker_restarted(struct scsiback *sb, uint32_t domid, bool ok);
void xenbus_lun_opened(struct vhost *vh, unsigned devnum, const char *pdev, int rc,
		       const char *err);

#endif
