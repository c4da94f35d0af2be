#include "emulate.h"

#include <string.h>
#include <scsi/sg_lib.h>
#include "be_fields.h"

#define ASC_INVALID_OPCODE 0x20
#define ASC_INVALID_FIELD_IN_CDB 0x24
#define ASC_LUN_NOT_SUPPORTED 0x25

size_t sense_fixed(uint8_t *sense, uint8_t key, uint8_t asc, uint8_t ascq)
{
	memset(sense, 0, 18);
	sense[0] = 0x70;         /* current error, fixed format */
	sense[2] = key & 0x0f;
	sense[7] = 10;           /* additional sense length */
	sense[12] = asc;
	sense[13] = ascq;
	return 18;
}

static void check_condition(struct emu_result *r, uint8_t key, uint8_t asc)
{
	r->status = SCSI_STATUS_CHECK_CONDITION;
	r->sense_len = (uint8_t)sense_fixed(r->sense, key, asc, 0);
	r->data_len = 0;
}

void emulate_report_luns(const uint8_t *cdb, const uint16_t *luns, unsigned n,
			 struct emu_result *r)
{
	uint32_t alloc = sg_get_unaligned_be32(cdb + 6), list_len = n * 8, total;
	uint8_t *d = r->data;

	memset(r, 0, sizeof(*r));
	/* SELECT REPORT 0/1/2 all mean "the LUNs here" for a virtual target;
	 * other values and an allocation length under 16 are invalid (SPC). */
	if (cdb[2] > 2 || alloc < 16) {
		check_condition(r, SPC_SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	if (n > (sizeof(r->data) - 8) / 8)
		n = (sizeof(r->data) - 8) / 8;
	sg_put_unaligned_be32(list_len, d);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = d + 8 + i * 8;

		/* SAM's addressing methods: peripheral device for LUN < 256,
		 * flat space (14 bits) below 16384, and above that extended
		 * flat space (0xd2: four bytes, a 24-bit LUN). */
		if (luns[i] < 256) {
			e[1] = (uint8_t)luns[i];
		} else if (luns[i] < 16384) {
			e[0] = (uint8_t)(0x40 | (luns[i] >> 8));
			e[1] = (uint8_t)luns[i];
		} else {
			e[0] = 0xd2;
			sg_put_unaligned_be24(luns[i], e + 1);
		}
	}
	total = 8 + n * 8;
	r->data_len = total < alloc ? total : alloc;
	r->status = SCSI_STATUS_GOOD;
}

void emulate_unmapped_lun(const uint8_t *cdb, struct emu_result *r)
{
	memset(r, 0, sizeof(*r));
	if (cdb[0] == 0x12 && !(cdb[1] & 1)) { /* standard INQUIRY */
		uint32_t alloc = sg_get_unaligned_be16(cdb + 3);

		r->data[0] = 0x7f;  /* qualifier 011b, type 1Fh: no LUN here */
		r->data[2] = 0x06;  /* SPC-4 */
		r->data[3] = 0x02;
		r->data[4] = 31;
		memcpy(r->data + 8, "VSCSI   ", 8);
		memcpy(r->data + 16, "NO LUN          ", 16);
		memcpy(r->data + 32, "0001", 4);
		r->data_len = alloc < 36 ? alloc : 36;
		r->status = SCSI_STATUS_GOOD;
		return;
	}
	if (cdb[0] == 0x03) { /* REQUEST SENSE returns the sense as data */
		uint32_t alloc = cdb[4];

		sense_fixed(r->data, SPC_SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED, 0);
		r->data_len = alloc < 18 ? alloc : 18;
		r->status = SCSI_STATUS_GOOD;
		return;
	}
	check_condition(r, SPC_SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
}

void emulate_denied(struct emu_result *r)
{
	memset(r, 0, sizeof(*r));
	check_condition(r, SPC_SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
}
