/* The xenstore side of attaching PV SCSI devices: what xl would do if it
 * had PV SCSI support (docs/protocol.md, "vscsictl and vscsi-lifecycle").
 * Used by vscsictl, vscsi-lifecycle and the tests.
 *
 * Layout written (D = guest, B = backend domain, H = v-dev host = devid):
 *   /local/domain/B/backend/vscsi/D/H/   owner B, D may read
 *       frontend frontend-id online state feature-host libxl_ctrl_index
 *       vscsi-devs/dev-N/{p-dev,p-devname,v-dev,state}
 *   /local/domain/D/device/vscsi/H/      owner D, B may read
 *       backend backend-id state
 *   /libxl/D/vscsi/H/                    dom0 only
 *       backend (the backend directory) next_vscsidev_id (dev-N counter)
 */
#ifndef VSCSICTL_TOOLSTACK_H
#define VSCSICTL_TOOLSTACK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenstore.h>

#include "vdev.h"

struct ts_opts {
	unsigned be_domid;       /* backend domain (0, or a driver domain) */
	bool feature_host;
	unsigned timeout_ms;     /* how long to wait for each step */
	bool wait_connected;     /* also wait for the guest to connect */
	const char *sharing_sysfs; /* where the backend's devices are seen, to
				    * tell two names of one device apart
				    * (sharing.h); NULL: compare p-devs */
};

/* One LUN to attach. pdevname is what the user named (NULL: pdev). */
struct ts_lun {
	const char *pdev;
	const char *pdevname;
	const char *vdev;
	bool shared;             /* other guests may have the device too */
	const char *initiator;   /* iSCSI: the name it logs in as (NULL or "": the
				  * guest's default, common/iport.h) */
	const char *isid;        /* iSCSI: its ISID (NULL or "": the default) */
};

/* Attaches LUNs that share one v-dev host to domain domid, in one
 * transaction: creates the vhost (devid = v-dev host) if needed, or
 * hot-adds to it (backend state 7). Waits for the backend; on failure
 * err names the dev-N and what the backend wrote in xenstore, and what
 * this call added is withdrawn again (all or nothing). Returns 0 or
 * -errno: -EINVAL bad input or mismatch with the vhost, -EEXIST v-dev
 * taken, -ENOENT no such domain, -EBUSY vhost busy, -ETIMEDOUT, -EIO the
 * backend refused a LUN. */
int ts_attach_luns(struct xs_handle *xs, unsigned domid, const struct ts_lun *luns, unsigned n,
		   const struct ts_opts *o, char *err, size_t errlen);
/* One LUN, p-devname = pdev. */
int ts_attach(struct xs_handle *xs, unsigned domid, const char *pdev, const char *vdev,
	      const struct ts_opts *o, char *err, size_t errlen);
/* Detaches vdev from domid (hot-remove: dev state 5 -> 6, then node
 * removal; the whole vhost, closed with the guest first, when it was the
 * last LUN). The backend is found from the toolstack's record, so
 * o->be_domid only matters for vhosts written by other tools. For a
 * domain that is gone the nodes are just removed. -ENOENT if vdev is not
 * attached. */
int ts_detach(struct xs_handle *xs, unsigned domid, const char *vdev, const struct ts_opts *o,
	      char *err, size_t errlen);

/* The backend directory of vhost devid of domid: the toolstack's record
 * if there is one, else /local/domain/<be_domid>/backend/vscsi/... Sets
 * *recorded when it came from the record. */
/* Whether the domain exists (has /local/domain/<id>/domid). */
bool ts_domain_exists(struct xs_handle *xs, unsigned domid);

void ts_backend_path(struct xs_handle *xs, unsigned domid, unsigned devid, unsigned be_domid,
		     char *be, size_t belen, bool *recorded);

/* The domains with vhosts: records in /libxl or backend directories of
 * be_domid, including domains that are gone (ascending, malloc'd).
 * Returns the count. */
int ts_recorded_domains(struct xs_handle *xs, unsigned be_domid, unsigned **ids);

/* Waits until the node reads one of the wanted decimal values (want2 may
 * be -1). Returns the value seen, or -ETIMEDOUT. */
int ts_wait_value(struct xs_handle *xs, const char *path, int want, int want2, unsigned timeout_ms);
/* Waits of this thread end early with -ECANCELED once *flag is set (NULL:
 * never); an attach cut short that way leaves what it wrote and does not
 * roll it back (vscsi-lifecycle's jobs when the service stops). */
void ts_set_cancel(const atomic_bool *flag);
/* The same for any of the n values of set. */
int ts_wait_in(struct xs_handle *xs, const char *path, const int *set, unsigned n,
	       unsigned timeout_ms);

/* The dev-N of the vhost whose backend directory is be that has v's
 * (channel, target, lun), in *devnum. 0, or -ENOENT. */
int ts_find_dev(struct xs_handle *xs, xs_transaction_t t, const char *be, const struct vdev *v,
		unsigned *devnum);

#endif
