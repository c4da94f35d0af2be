/* scsiback's own view of the LUNs it serves, from its status file
 * (STATEDIR/status.json, scsiback(8) FILES): whether each is open, what
 * its device ended, the latest error. Read by `vscsictl list` for a
 * backend in this domain. */
#ifndef VSCSICTL_HEALTH_H
#define VSCSICTL_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct health;

struct health_lun {
	const char *state;            /* "open", "opening", "removing" */
	int64_t commands, errors, bytes_read, bytes_written;
	const char *last_error;       /* "" when none */
	const char *link;             /* the device link (iSCSI): "up", "reconnecting
	                               * ..."; "" when scsiback shows none */
	const char *initiator_port;   /* iSCSI: "NAME,i,0xISID" it logs in as; "" */
};

/* Loads the status file of the scsiback whose state directory is dir.
 * NULL when there is none to show, with the reason in why ("" when there
 * is simply no file: no scsiback, or the kernel's backend). */
struct health *health_load(const char *dir, char *why, size_t whylen);
void health_free(struct health *h);
/* The view of LUN channel:target:lun of vhost devid of domid; false if
 * scsiback does not serve it. Strings live as long as h. */
bool health_find(const struct health *h, unsigned domid, unsigned devid, unsigned channel,
		 unsigned target, unsigned lun, struct health_lun *out);
/* The vhost's ring as scsiback sees it ("running", ...), or NULL. */
const char *health_ring(const struct health *h, unsigned domid, unsigned devid);

#endif
