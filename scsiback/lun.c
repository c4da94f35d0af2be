/* Picking a LUN driver, and the per-device-type default timeouts. */
#include "lun.h"

#include <strings.h>
#include <string.h>

const struct lun_ops *lun_driver_for(const char *pdev)
{
	if (!pdev)
		return &lun_sg_ops;
	if (!strncasecmp(pdev, "iscsi://", 8))
		return &lun_iscsi_ops;
	if (!strncmp(pdev, "null:", 5))
		return &lun_null_ops;
	return &lun_sg_ops;
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
