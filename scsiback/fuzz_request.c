/* libFuzzer target: any 252 bytes as a ring request, then any bytes as its
 * indirect segment table. Validation must never crash and never accept a
 * segment outside its page. */
#include <stdint.h>
#include <string.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vscsiif_request_t raw;
	struct vscsi_req q;
	struct scsiif_request_segment table[VSCSI_BACK_MAX_SEGMENTS];
	uint32_t len;

	if (size < sizeof(raw))
		return 0;
	memcpy(&raw, data, sizeof(raw));
	if (request_parse(&raw, VSCSI_BACK_MAX_SEGMENTS, &q) != REQ_OK)
		return 0;
	for (unsigned i = 0; i < q.nr_seg; i++)
		if (q.seg[i].offset + q.seg[i].length > VSCSIIF_PAGE_SIZE)
			__builtin_trap();
	if (q.indirect) {
		size_t n = (size - sizeof(raw)) / sizeof(table[0]);

		if (n > VSCSI_BACK_MAX_SEGMENTS)
			n = VSCSI_BACK_MAX_SEGMENTS;
		memcpy(table, data + sizeof(raw), n * sizeof(table[0]));
		if (request_check_table(table, (unsigned)n, VSCSI_BACK_MAX_SEGMENTS, &len) == REQ_OK)
			for (size_t i = 0; i < n; i++)
				if (table[i].offset + table[i].length > VSCSIIF_PAGE_SIZE)
					__builtin_trap();
	}
	return 0;
}
