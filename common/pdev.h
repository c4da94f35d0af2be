/* p-dev strings: what the administrator wrote in xenstore's p-dev node,
 * classified, validated and resolved to the node a LUN driver opens.
 *
 *   iscsi://host[:port]/target-name/lun   iSCSI LUN (libiscsi)
 *   null:disk                             a LUN that does no I/O (benchmarks)
 *   H:C:T:L                               a host SCSI device by address
 *   /dev/sgN                              a SCSI generic node
 *   /dev/sdX /dev/stN /dev/nstN /dev/schN /dev/srN /dev/disk/by-*...
 *                                         any block or char node of a SCSI
 *                                         device (resolved through sysfs)
 *
 * Every host device form resolves to its /dev/sgN node, through sysfs
 * (a parameter, so tests can build a fake tree).
 *
 * scsiback resolves what it opens with these; vscsictl checks a p-dev
 * with them before it writes it into xenstore.
 */
#ifndef VSCSI_COMMON_PDEV_H
#define VSCSI_COMMON_PDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pdev_kind { PDEV_SG, PDEV_ISCSI, PDEV_NULL };

#define PDEV_ISCSI_PORT_DEFAULT 3260
#define PDEV_ISCSI_LUN_MAX 16383      /* flat (single-level) LUN addressing */

struct pdev_hctl {
	uint32_t host, channel, target;
	uint64_t lun;
};

struct pdev_info {
	enum pdev_kind kind;
	/* SG: "/dev/sgN"; ISCSI: the normalized URL; NULL: "null:KIND". */
	char path[512];
	/* SG: the device's address in the host's SCSI midlayer. */
	struct pdev_hctl hctl;
	/* ISCSI: the URL's parts. host is without IPv6 brackets; portal is
	 * what libiscsi connects to ("host:port", "[v6]:port"). */
	char host[256];
	uint16_t port;
	char target[224];
	uint16_t lun;
	char portal[272];
	/* NULL: the kind of LUN emulated ("disk"). */
	char null_kind[16];
};

/* Classifies pdev, validates it and, for host devices, resolves it to the
 * sg node under sysfs_root (NULL: "/sys"). Returns 0 or -errno (-EINVAL
 * for a malformed string, -ENOENT/-ENODEV when nothing matches) with a
 * one-line cause in err, e.g.
 *   p-dev "iscsi://h:99999/iqn.x/1": port 99999 out of range 1-65535 */
int pdev_resolve(const char *pdev, const char *sysfs_root, struct pdev_info *out,
		 char *err, size_t errlen);

/* Only the iscsi:// form, no sysfs: for the iscsi driver. */
int pdev_parse_iscsi(const char *url, struct pdev_info *out, char *err, size_t errlen);

/* Only the null: form. */
int pdev_parse_null(const char *pdev, struct pdev_info *out, char *err, size_t errlen);

/* Parses "H:C:T:L" (four decimal numbers); false if it is not that form. */
bool pdev_parse_hctl(const char *s, struct pdev_hctl *out);

#endif
