/* What test_lun_iscsi_timeouts reaches past lun.h, on purpose: the
 * deadline the iscsi driver gave a command. Only lun_iscsi.c and its
 * test include this. */
#ifndef SCSIBACK_LUN_ISCSI_H
#define SCSIBACK_LUN_ISCSI_H

#include <stdint.h>

#include "lun.h"

/* The deadline of cmd, in flight on an iscsi LUN: ms on CLOCK_MONOTONIC. */
uint64_t lun_iscsi_test_deadline(const struct lun_cmd *cmd);

#endif
