/* The iSCSI initiator port a guest's LUN logs in with. A SCSI target
 * keeps persistent reservations and registrations per I_T nexus, and an
 * iSCSI initiator port is the initiator name together with the session's
 * ISID (RFC 7143 4.2.7.2; SPC-4 TransportID "name,i,0xISID"). So a guest
 * keeps its reservations only when both stay the same wherever and
 * whenever its LUN logs in again: a backend restart, a reboot,
 * save/restore, migration.
 *
 * The default derives both from the guest's UUID, which those keep (never
 * from its domid, which they change): the name "PREFIX.UUID", one per
 * guest, and per LUN the ISID 0x80 followed by 40 bits of a hash of the
 * UUID and the v-dev (the random-qualifier format, the only one libiscsi
 * sets whole). One ISID per LUN rather than one session per guest and
 * target: each LUN keeps its own session as before (a reset, reconnect or
 * full queue of one LUN touches no other), and a guest reaches a LUN only
 * through that port, so its registration is always found again. An xl
 * config entry or vscsictl attach may name either ("initiator=", "isid="). */
#ifndef VSCSI_COMMON_IPORT_H
#define VSCSI_COMMON_IPORT_H

#include <stddef.h>
#include <stdint.h>

#define IPORT_NAME_MAX 223         /* bytes of an iSCSI name (RFC 7143 6.1) */
#define IPORT_ISID_LEN 6
#define IPORT_ISID_HEX_LEN 12      /* "80a1b2c3d4e5" */
#define IPORT_UUID_LEN 36
#define IPORT_TEXT_LEN (IPORT_NAME_MAX + 24)  /* "NAME,i,0x80a1b2c3d4e5" */
/* The default prefix of guests' initiator names (scsiback.conf
 * guest-initiator-prefix). */
#define IPORT_PREFIX_DEFAULT "iqn.2026-11.org.vscsi:guest"

/* A LUN entry's own choice, written by vscsictl under vscsi-devs/dev-N/
 * from an xl config entry's or vscsictl attach's "initiator=" / "isid=". */
#define IPORT_INITIATOR_NODE "iscsi-initiator"
#define IPORT_ISID_NODE "iscsi-isid"

struct iport {
	char name[IPORT_NAME_MAX + 1];
	uint8_t isid[IPORT_ISID_LEN];
};

/* An iSCSI name as RFC 7143 4.2.7.2 writes it: "iqn.YYYY-MM.reversed.domain
 * [:anything]", "eui." and 16 hex digits, or "naa." and 16 or 32; lower
 * case letters, digits, '.', '-' and ':' only (RFC 3722 folds case, so an
 * upper case name would log in as another). 0, or -EINVAL with a message. */
int iport_check_name(const char *name, char *err, size_t errlen);

/* "80xxxxxxxxxx" (an optional "0x" before): 12 hex digits, the first byte
 * 0x80 (random-qualifier format). isid may be NULL (a check only). 0 or
 * -EINVAL with a message. */
int iport_parse_isid(const char *s, uint8_t *isid, char *err, size_t errlen);

/* 0 when uuid is a domain's UUID as xenstore's /vm/UUID names it (36
 * characters: hex digits 8-4-4-4-12 with dashes, either case). */
int iport_check_uuid(const char *uuid);

/* The defaults: name "PREFIX.uuid" (lower case), ISID from uuid and vdev
 * ("H:C:T:L"). 0, or -EINVAL with a message (a prefix that makes no valid
 * name, a bad UUID). */
int iport_default(struct iport *p, const char *prefix, const char *uuid, const char *vdev,
		  char *err, size_t errlen);

/* "NAME,i,0x80a1b2c3d4e5" in buf (returned). */
const char *iport_format(const struct iport *p, char *buf, size_t len);

/* 1 for the same port. */
int iport_equal(const struct iport *a, const struct iport *b);

#endif
