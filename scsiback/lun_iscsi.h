/* What the iscsi driver's tests reach past lun.h, on purpose: the
 * deadline the driver gave a command (test_lun_iscsi_timeouts), and what
 * it keeps of a libiscsi error text (test_lun_iscsi). Only lun_iscsi.c
 * and its tests include this. */
#ifndef SCSIBACK_LUN_ISCSI_H
#define SCSIBACK_LUN_ISCSI_H

#include <stddef.h>
#include <stdint.h>

#include "lun.h"

/* The deadline of cmd, in flight on an iscsi LUN: ms on CLOCK_MONOTONIC. */
uint64_t lun_iscsi_test_deadline(const struct lun_cmd *cmd);

/* The meaningful part of a libiscsi error text as the driver quotes it
 * (its function names, errno numbers and reconnect bookkeeping left
 * out): "" when nothing is left. */
void lun_iscsi_test_lib_text(const char *text, char *out, size_t len);

#endif
