/* Moving data between guest pages and scsiback's bounce buffers with
 * grant copy: no mapping per I/O, and a read-only grant can never be
 * written (Xen refuses the copy). Chosen over mapping, which Linux's
 * backend does, because the LUN drivers want plain iovecs and because a
 * per-request map/unmap costs far more than copying a page (see
 * docs/protocol.md, "Where vscsi differs"). */
#ifndef SCSIBACK_DATA_H
#define SCSIBACK_DATA_H

#include <stddef.h>
#include <stdint.h>
#include <xengnttab.h>

#include "vscsi_ring.h"

/* Copies len bytes between buf and the guest segments (to_guest: into
 * them). Returns 0, or -EIO naming the first failing segment in *bad. */
int data_copy(xengnttab_handle *gnt, uint32_t domid, const struct scsiif_request_segment *segs,
	      unsigned nsegs, uint8_t *buf, size_t len, int to_guest, unsigned *bad, int *status);

#endif
