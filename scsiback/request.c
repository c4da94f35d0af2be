#include "request.h"

#include <string.h>

const char *req_error_str(enum req_error e)
{
	switch (e) {
	case REQ_OK: return "ok";
	case REQ_BAD_ACT: return "unknown act";
	case REQ_BAD_CDB_LEN: return "cmd_len outside 1..16";
	case REQ_BAD_DIRECTION: return "sc_data_direction outside 0..3";
	case REQ_TOO_MANY_SEGMENTS: return "too many segments";
	case REQ_BAD_SEGMENT: return "segment offset+length outside its page";
	case REQ_BAD_INDIRECT_CHUNK: return "bad indirect segment-table chunk";
	case REQ_DATA_WITHOUT_DIRECTION: return "data segments with direction NONE";
	case REQ_TOO_LONG: return "transfer longer than the limit";
	}
	return "?";
}

static bool seg_in_page(uint16_t offset, uint16_t length)
{
	return offset < VSCSIIF_PAGE_SIZE && length <= VSCSIIF_PAGE_SIZE - offset;
}

enum req_error request_parse(const vscsiif_request_t *raw, unsigned max_segments,
			     struct vscsi_req *out)
{
	unsigned n;

	/* Everything but the segment array, which is filled as far as used. */
	memset(out, 0, offsetof(struct vscsi_req, seg));
	out->data_len = 0;
	out->rqid = raw->rqid;
	out->act = raw->act;
	out->channel = raw->channel;
	out->id = raw->id;
	out->lun = raw->lun;
	out->ref_rqid = raw->ref_rqid;
	out->timeout_s = raw->timeout_per_command;

	if (raw->act == VSCSIIF_ACT_SCSI_ABORT || raw->act == VSCSIIF_ACT_SCSI_RESET)
		return REQ_OK;
	if (raw->act != VSCSIIF_ACT_SCSI_CDB)
		return REQ_BAD_ACT;
	if (raw->cmd_len == 0 || raw->cmd_len > VSCSIIF_MAX_COMMAND_SIZE)
		return REQ_BAD_CDB_LEN;
	if (raw->sc_data_direction > 3)
		return REQ_BAD_DIRECTION;
	out->cdb_len = raw->cmd_len;
	memcpy(out->cdb, raw->cmnd, raw->cmd_len);
	out->dir = raw->sc_data_direction;

	out->indirect = raw->nr_segments & VSCSIIF_SG_GRANT;
	n = raw->nr_segments & ~VSCSIIF_SG_GRANT;
	if (n > VSCSIIF_SG_TABLESIZE)
		return REQ_TOO_MANY_SEGMENTS;
	if (n && out->dir == 3)
		return REQ_DATA_WITHOUT_DIRECTION;
	out->nr_seg = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		const vscsiif_segment_t *s = &raw->seg[i];

		out->seg[i] = (struct req_seg){ s->gref, s->offset, s->length };
		if (!seg_in_page(s->offset, s->length))
			return out->indirect ? REQ_BAD_INDIRECT_CHUNK : REQ_BAD_SEGMENT;
		if (out->indirect) {
			if (s->length % sizeof(vscsiif_segment_t))
				return REQ_BAD_INDIRECT_CHUNK;
		} else {
			out->data_len += s->length;
		}
	}
	if (out->indirect) {
		unsigned entries = 0;

		for (unsigned i = 0; i < n; i++)
			entries += out->seg[i].length / sizeof(vscsiif_segment_t);
		if (entries > max_segments)
			return REQ_TOO_MANY_SEGMENTS;
	} else if (n > max_segments) {
		return REQ_TOO_MANY_SEGMENTS;
	}
	return REQ_OK;
}

enum req_error request_check_table(const struct scsiif_request_segment *table, unsigned n,
				   unsigned max_segments, uint32_t *len)
{
	uint32_t total = 0;

	if (n > max_segments)
		return REQ_TOO_MANY_SEGMENTS;
	for (unsigned i = 0; i < n; i++) {
		if (!seg_in_page(table[i].offset, table[i].length))
			return REQ_BAD_SEGMENT;
		total += table[i].length;
	}
	*len = total;
	return REQ_OK;
}
