/* The Linux kernel backend (xen-scsiback) serves LUNs of a LIO target of
 * the "xen-pvscsi" fabric, configured in configfs (docs/protocol.md, "p-dev"):
 *
 *   <configfs>/target/xen-pvscsi/<tport>/tpgt_<T>/nexus
 *   <configfs>/target/xen-pvscsi/<tport>/tpgt_<T>/lun/lun_<L>/<link>
 *       -> <configfs>/target/core/<hba>/<storage object>/udev_path
 *          (empty unless targetcli set it; then its info attribute)
 *
 * Its p-dev is "<tport>:<L>", e.g. "naa.6001405c3a5b1d27:0". This file
 * finds that p-dev for a dom0 device and checks a given one. */
#ifndef VSCSICTL_LIO_H
#define VSCSICTL_LIO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define LIO_CONFIGFS_DEFAULT "/sys/kernel/config"
#define LIO_TPORT_MAX 32        /* xen-scsiback's VSCSI_NAMELEN */

struct lio_lun {
	char tport[LIO_TPORT_MAX];   /* "naa.<16 hex>" */
	unsigned tpgt;
	unsigned lun;
	bool nexus;                  /* the TPG has an I_T nexus */
	char udev_path[PATH_MAX];    /* the backstore's device or file */
	char pdev[LIO_TPORT_MAX + 8];/* "<tport>:<lun>" */
};

/* Parses "naa.<16 hex digits>:<lun>" (lun decimal, < 65536). */
bool lio_parse_naa(const char *pdev, char tport[LIO_TPORT_MAX], unsigned *lun);

/* Finds the xen-pvscsi LUN whose backstore is dev: a path (device node,
 * symlink such as /dev/disk/by-id/..., or a fileio backing file) or
 * "H:C:T:L". Devices match by path, by inode, by device number or by
 * their SCSI address through sysfs_root (NULL: /sys). configfs NULL:
 * LIO_CONFIGFS_DEFAULT. Returns 0, -ENOENT (not exported, or no
 * xen-pvscsi target at all), -ENOTCONN (exported by a TPG without a
 * nexus) or another -errno, with a message. */
int lio_find_device(const char *configfs, const char *sysfs_root, const char *dev,
		    struct lio_lun *out, char *err, size_t errlen);

/* Checks that "naa.<wwn>:<lun>" names a LUN of a xen-pvscsi TPG with a
 * nexus. Same returns. */
int lio_check_pdev(const char *configfs, const char *pdev, struct lio_lun *out, char *err,
		   size_t errlen);

#endif
