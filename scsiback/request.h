/* One guest request, copied off the shared ring and validated. Nothing
 * here reads shared memory twice: ring.c copies the request once, and
 * request_parse checks the private copy. */
#ifndef SCSIBACK_REQUEST_H
#define SCSIBACK_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "vscsi_ring.h"

/* A data segment: a piece of one granted guest page. */
struct req_seg {
	uint32_t gref;
	uint16_t offset;
	uint16_t length;
};

/* The request as validated. */
struct vscsi_req {
	uint16_t rqid;
	uint8_t act;              /* VSCSIIF_ACT_SCSI_* */
	uint8_t cdb_len;
	uint8_t cdb[VSCSIIF_MAX_COMMAND_SIZE];
	uint16_t timeout_s;
	uint16_t channel, id, lun;
	uint16_t ref_rqid;
	uint8_t dir;              /* 0 bidi, 1 to device, 2 from device, 3 none */
	bool indirect;
	/* Direct: the data segments. Indirect: the chunks of the segment
	 * table, each a piece of a granted page holding req_seg-shaped
	 * entries, which request_parse_indirect then checks. */
	uint8_t nr_seg;
	struct req_seg seg[VSCSIIF_SG_TABLESIZE];
	uint32_t data_len;        /* direct only: sum of segment lengths */
};

/* Why a request is refused; each becomes host ERROR (or NO_CONNECT for
 * unmapped LUNs, decided elsewhere) and a log line naming it. */
enum req_error {
	REQ_OK = 0,
	REQ_BAD_ACT,
	REQ_BAD_CDB_LEN,
	REQ_BAD_DIRECTION,
	REQ_TOO_MANY_SEGMENTS,
	REQ_BAD_SEGMENT,          /* offset/length outside the page */
	REQ_BAD_INDIRECT_CHUNK,   /* chunk not a multiple of 8 or outside the page */
	REQ_DATA_WITHOUT_DIRECTION, /* segments with DMA_NONE */
	REQ_TOO_LONG,             /* more data than the limit */
};

const char *req_error_str(enum req_error e);

/* Validates a private copy of a ring request. max_segments is the limit
 * we advertise in feature-sg-grant. */
enum req_error request_parse(const vscsiif_request_t *raw, unsigned max_segments,
			     struct vscsi_req *out);

/* Validates the segment table of an indirect request once its chunks have
 * been copied from the guest (table: the entries, n of them). Returns the
 * total data length through *len. */
enum req_error request_check_table(const struct scsiif_request_segment *table, unsigned n,
				   unsigned max_segments, uint32_t *len);

#endif
