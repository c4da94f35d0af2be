/* libFuzzer target: scsiback's request validator (request.c), fed as the
 * backend feeds it.
 *
 * Input: 252 bytes taken as a ring request (vscsiif_request_t, copied
 * once, as ring.c does), then the bytes of its indirect segment table:
 * each chunk the request names is filled, in order, from what follows,
 * into a table of exactly VSCSI_BACK_MAX_SEGMENTS entries, as
 * cmd_gather_segments fills struct cmd's (missing bytes read as zero).
 *
 * Beyond "no crash, no sanitizer report":
 *   - an accepted request names only segments inside their page, at most
 *     VSCSIIF_SG_TABLESIZE of them, with data only when it has a direction;
 *     its CDB length is 1..16; direct data_len is the sum of its segments;
 *   - the chunks of an accepted indirect request fit the backend's table
 *     (the copy into the exact-size table would overflow otherwise);
 *   - an accepted table names only segments inside their page, and its
 *     total fits the backend's data buffer (VSCSI_BACK_MAX_SEGMENTS pages);
 *   - ABORT and RESET are accepted whatever else the request holds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken property is a crash, with its line, for libFuzzer to keep. */
#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_request: property broken at line %d: %s\n", __LINE__, #cond); \
		abort(); \
	} \
} while (0)

static bool in_page(uint16_t offset, uint16_t length)
{
	return (unsigned)offset + length <= VSCSIIF_PAGE_SIZE;
}

static void check_table(const struct vscsi_req *q, const uint8_t *data, size_t size)
{
	/* Exactly the size of struct cmd's segs: ASan sees any overflow. */
	struct scsiif_request_segment *table = malloc(VSCSI_BACK_MAX_SEGMENTS * sizeof(*table));
	unsigned nsegs = 0;
	uint32_t len = 0;
	size_t off = 0;

	if (!table)
		return;
	for (unsigned i = 0; i < q->nr_seg; i++) {
		size_t n = q->seg[i].length, take = size - off < n ? size - off : n;

		memcpy((uint8_t *)(table + nsegs), data + off, take);
		memset((uint8_t *)(table + nsegs) + take, 0, n - take);
		off += take;
		nsegs += q->seg[i].length / sizeof(*table);
	}
	CHECK(nsegs <= VSCSI_BACK_MAX_SEGMENTS);
	if (request_check_table(table, nsegs, VSCSI_BACK_MAX_SEGMENTS, &len) == REQ_OK) {
		uint64_t sum = 0;

		for (unsigned i = 0; i < nsegs; i++) {
			CHECK(in_page(table[i].offset, table[i].length));
			sum += table[i].length;
		}
		CHECK(sum == len);
		CHECK(len <= (uint64_t)VSCSI_BACK_MAX_SEGMENTS * VSCSIIF_PAGE_SIZE);
	}
	free(table);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vscsiif_request_t raw;
	struct vscsi_req q;
	enum req_error e;
	uint32_t sum = 0;

	if (size < sizeof(raw))
		return 0;
	memcpy(&raw, data, sizeof(raw));
	e = request_parse(&raw, VSCSI_BACK_MAX_SEGMENTS, &q);
	CHECK(req_error_str(e)[0] != '?');
	if (raw.act == VSCSIIF_ACT_SCSI_ABORT || raw.act == VSCSIIF_ACT_SCSI_RESET)
		CHECK(e == REQ_OK);
	if (e != REQ_OK)
		return 0;
	CHECK(q.rqid == raw.rqid && q.act == raw.act);
	if (q.act != VSCSIIF_ACT_SCSI_CDB)
		return 0;
	CHECK(q.cdb_len >= 1 && q.cdb_len <= VSCSIIF_MAX_COMMAND_SIZE);
	CHECK(!memcmp(q.cdb, raw.cmnd, q.cdb_len));
	CHECK(q.dir <= 3);
	CHECK(q.nr_seg <= VSCSIIF_SG_TABLESIZE);
	CHECK(q.dir != 3 || q.nr_seg == 0);
	for (unsigned i = 0; i < q.nr_seg; i++) {
		CHECK(in_page(q.seg[i].offset, q.seg[i].length));
		sum += q.seg[i].length;
		if (q.indirect)
			CHECK(q.seg[i].length % sizeof(struct scsiif_request_segment) == 0);
	}
	if (q.indirect)
		check_table(&q, data + sizeof(raw), size - sizeof(raw));
	else
		CHECK(q.data_len == sum);
	return 0;
}
