/* The xenstore side of attaching PV SCSI devices: what xl would do if it
 * had PV SCSI support (research §1.4). Used by vscsictl and the tests. */
#ifndef VSCSICTL_TOOLSTACK_H
#define VSCSICTL_TOOLSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xs_handle;

struct ts_vdev {
	unsigned host, channel, target, lun;
};

/* Parses "h:c:t:l" (decimal, channel/target/lun < 65536). 0 or -EINVAL. */
int ts_parse_vdev(const char *s, struct ts_vdev *out);

struct ts_opts {
	unsigned be_domid;       /* backend domain (0, or a driver domain) */
	bool feature_host;
	unsigned timeout_ms;     /* how long to wait for the backend */
	bool wait_connected;     /* new vhost: also wait for the guest to connect */
};

/* Attaches pdev as vdev to domain domid: creates the vhost (devid = v-dev
 * host) if needed, or hot-adds to it. Waits for the backend; on failure
 * err names the dev-N and what the backend wrote in xenstore, and nothing
 * half-written is left. Returns 0 or -errno. */
int ts_attach(struct xs_handle *xs, unsigned domid, const char *pdev, const char *vdev,
	      const struct ts_opts *o, char *err, size_t errlen);
/* Detaches vdev from domid (hot-remove, then node removal; the whole
 * vhost when it was the last LUN). */
int ts_detach(struct xs_handle *xs, unsigned domid, const char *vdev, const struct ts_opts *o,
	      char *err, size_t errlen);

/* Waits until the node reads one of the wanted decimal values (want2 may
 * be -1). Returns the value seen, or -ETIMEDOUT. */
int ts_wait_value(struct xs_handle *xs, const char *path, int want, int want2, unsigned timeout_ms);

#endif
