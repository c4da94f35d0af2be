/* The names a LUN has in xenstore, the same for scsiback, libvscsifront,
 * vscsictl and vscsi-lifecycle:
 *
 *   v-dev  "H:C:T:L"  the address the guest sees: H the vhost (the devid
 *                     of device/vscsi/H), C channel, T target, L lun
 *   dev-N             a LUN's entry under vscsi-devs/ (backend and
 *                     frontend directories alike)
 *
 * Each number is canonical decimal (decimal.h: no sign, blank or
 * leading zero), so an address or entry has one spelling and is found
 * again by it ("dev-01" is not "dev-1"; "0:0:00:1" is not a v-dev).
 * v-dev parts are at most 65535: C, T and L travel in the ring's 16-bit
 * fields (xen/io/vscsiif.h), H is a vhost's devid; N is at most
 * 4294967295. */
#ifndef VSCSI_COMMON_VDEV_H
#define VSCSI_COMMON_VDEV_H

#include <stdbool.h>

#define VDEV_PART_MAX 65535u
#define VDEV_DEVNUM_MAX 4294967295u
#define VDEV_STR_LEN 24         /* "65535:65535:65535:65535" */
#define VDEV_DEVNAME_LEN 15     /* "dev-4294967295" */

/* How a message names the form, e.g. "v-dev \"%s\" is not " VDEV_FORM. */
#define VDEV_FORM "HOST:CHANNEL:TARGET:LUN (four decimal numbers, each below 65536, " \
	"without sign, blank or leading zero)"

struct vdev {
	unsigned host, channel, target, lun;
};

/* "H:C:T:L" into out. 0, or -EINVAL (out untouched) for anything else. */
int vdev_parse(const char *s, struct vdev *out);

/* "C:T:L" (a LUN of a vhost already chosen) into out's channel, target
 * and lun; host is left as it is. 0 or -EINVAL. */
int vdev_parse_ctl(const char *s, struct vdev *out);

/* The canonical "H:C:T:L" of v, in buf (returned). */
char *vdev_format(const struct vdev *v, char buf[VDEV_STR_LEN]);

/* Whether a and b name the same LUN of a vhost (channel, target, lun). */
bool vdev_same_lun(const struct vdev *a, const struct vdev *b);

/* "dev-N" into *n. 0, or -EINVAL for anything else. */
int vdev_parse_devname(const char *name, unsigned *n);

/* "dev-N" for n, in buf (returned). */
char *vdev_devname(unsigned n, char buf[VDEV_DEVNAME_LEN]);

#endif
