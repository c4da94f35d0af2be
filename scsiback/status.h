/* The daemon's health for admins and tools: STATEDIR/status.json, each
 * vhost with its guest, ring state and LUNs — open, opening or gone,
 * commands, errors, bytes and the latest error. Looked at every
 * STATUS_PERIOD_S and rewritten when something changed (a new file
 * renamed over the old: a reader never sees half of one); removed at a
 * clean stop; one left by a crashed daemon names a pid that no longer
 * runs. `vscsictl list` reads it. */
#ifndef SCSIBACK_STATUS_H
#define SCSIBACK_STATUS_H

#include "scsiback.h"

#define STATUS_PERIOD_S 1
#define STATUS_FILE "status.json"

/* Writes the file now and then when it changes; 0 or -errno. */
int status_start(struct scsiback *sb);
/* Stops the timer and removes the file. */
void status_stop(struct scsiback *sb);
/* Writes the file now; 0 or -errno (logged once per kind of failure). */
int status_write(struct scsiback *sb);

#endif
