/* Picking a LUN driver, and the per-device-type default timeouts. */
#include "lun.h"

#include <stdarg.h>
#include <stdio.h>
#include <scsi/sg_lib.h>

#include "log.h"


const struct lun_ops *lun_driver_for(enum pdev_kind kind)
{
	switch (kind) {
	case PDEV_ISCSI: return &lun_iscsi_ops;
	case PDEV_NULL: return &lun_null_ops;
	default: return &lun_sg_ops;
	}
}

/* Used when the guest sends timeout_per_command 0. The guest's own timer
 * normally fires first; these are a backstop and must not cut a slow but
 * healthy operation short:
 *  - disks: a minute covers a slow spin-up or a controller's retries;
 *  - CD/DVD, optical, WORM: spin-up and slow media, two minutes;
 *  - tapes: a full-length ERASE or a LOCATE end-to-end on a large
 *    cartridge takes hours (Linux st's long timeout is 14000 s);
 *  - changers: INITIALIZE ELEMENT STATUS on a large library scans every
 *    slot, an hour;
 *  - anything else: 900 s, the classic xenlinux backend's default. */
unsigned lun_default_timeout_ms(uint8_t dev_type)
{
	switch (dev_type & 0x1f) {
	case 0x00: /* direct access */
	case 0x0e: /* simplified direct access (RBC) */
	case 0x0c: /* storage array controller */
	case 0x0d: /* enclosure services */
		return 60u * 1000;
	case 0x04: /* write once */
	case 0x05: /* CD/DVD */
	case 0x07: /* optical memory */
		return 120u * 1000;
	case 0x01: /* sequential access (tape) */
		return 14400u * 1000;
	case 0x08: /* medium changer */
		return 3600u * 1000;
	default:
		return 900u * 1000;
	}
}

void lun_sense_summary(const uint8_t *sb, int len, char *out, size_t outlen)
{
	struct sg_scsi_sense_hdr h;
	char key[48], asc[128];

	if (len <= 0 || !sg_scsi_normalize_sense(sb, len, &h)) {
		snprintf(out, outlen, "%s", len > 0 ? "unparsable sense" : "no sense");
		return;
	}
	sg_get_sense_key_str(h.sense_key, sizeof(key), key);
	sg_get_asc_ascq_str(h.asc, h.ascq, sizeof(asc), asc);
	snprintf(out, outlen, "%.47s: %.127s (%02x/%02x)", key, asc, h.asc, h.ascq);
}

void lun_log_result(const char *name, const struct lun_cmd *cmd)
{
	char op[64], sense[256];

	if (log_get_level() < LOG_LVL_DEBUG || (cmd->status == 0 && cmd->host == 0))
		return;
	sg_get_opcode_name(cmd->cdb[0], 0, sizeof(op), op);
	lun_sense_summary(cmd->sense, cmd->sense_len, sense, sizeof(sense));
	log_debug("lun %s: %s: status 0x%02x host %u resid %u %s", name, op, cmd->status, cmd->host,
		  cmd->resid, sense);
}

void fmt_into(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}
