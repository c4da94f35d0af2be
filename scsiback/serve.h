/* scsiback's main loop, shared by the daemon and a guest's worker: poll
 * the rings while work comes, sleep when it stops (serve.c), and the
 * drain at the end. */
#ifndef SCSIBACK_SERVE_H
#define SCSIBACK_SERVE_H

#include <stdint.h>

#include "scsiback.h"

/* Serves until sb->stopping or the loop fails; poll_max_ns bounds the
 * busy-poll window (0: always sleep at once). */
void serve_run(struct scsiback *sb, uint64_t poll_max_ns);
/* Waits for the commands still running, at most timeout_ms, then
 * answers what is left host RESET. */
void serve_drain(struct scsiback *sb, unsigned timeout_ms);
/* Commands on the devices, over all vhosts. */
unsigned serve_busy(const struct scsiback *sb);

#endif
