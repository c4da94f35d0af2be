#include "data.h"

#include <errno.h>

#define COPY_BATCH 64

int data_copy(xengnttab_handle *gnt, uint32_t domid, const struct scsiif_request_segment *segs,
	      unsigned nsegs, uint8_t *buf, size_t len, int to_guest, unsigned *bad, int *status)
{
	xengnttab_grant_copy_segment_t ops[COPY_BATCH];
	size_t done = 0;
	unsigned i = 0;

	while (i < nsegs && done < len) {
		unsigned n = 0, first = i;

		for (; i < nsegs && done < len && n < COPY_BATCH; i++, n++) {
			xengnttab_grant_copy_segment_t *op = &ops[n];
			size_t piece = segs[i].length;

			if (piece > len - done)
				piece = len - done;
			op->len = (uint16_t)piece;
			if (to_guest) {
				op->flags = GNTCOPY_dest_gref;
				op->source.virt = buf + done;
				op->dest.foreign.ref = segs[i].gref;
				op->dest.foreign.offset = segs[i].offset;
				op->dest.foreign.domid = (uint16_t)domid;
			} else {
				op->flags = GNTCOPY_source_gref;
				op->dest.virt = buf + done;
				op->source.foreign.ref = segs[i].gref;
				op->source.foreign.offset = segs[i].offset;
				op->source.foreign.domid = (uint16_t)domid;
			}
			done += piece;
		}
		if (xengnttab_grant_copy(gnt, n, ops) < 0) {
			*bad = first;
			*status = -errno;
			return -EIO;
		}
		for (unsigned k = 0; k < n; k++) {
			if (ops[k].status != GNTST_okay) {
				*bad = first + k;
				*status = ops[k].status;
				return -EIO;
			}
		}
	}
	return 0;
}
