/* Test support for the LUN driver tests: opens a p-dev string with
 * lun_open the way scsiback does after pdev_resolve (common/pdev.h), where
 * iscsi:// and null: are parsed; any other string is taken as the sg
 * node's path as it is, since the tests open nodes (/dev/null, a node
 * that does not exist) that sysfs would not resolve. A p-dev that does
 * not parse gives -EINVAL with the cause in lun->error, as scsiback
 * refuses it before any driver. */
#ifndef VSCSI_TEST_LUN_OPEN_H
#define VSCSI_TEST_LUN_OPEN_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lun.h"
#include "pdev.h"

static inline int lun_open_str(struct lun *lun, const char *pdev, const struct lun_config *cfg)
{
	struct pdev_info info;

	memset(&info, 0, sizeof(info));
	if (!strncmp(pdev, "iscsi://", 8) || !strncmp(pdev, "null:", 5)) {
		if (pdev_resolve(pdev, NULL, &info, lun->error, sizeof(lun->error)) < 0)
			return -EINVAL;
	} else {
		info.kind = PDEV_SG;
		snprintf(info.path, sizeof(info.path), "%s", pdev);
	}
	return lun_open(lun, &info, cfg);
}

#endif
