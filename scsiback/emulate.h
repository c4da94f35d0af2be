/* The few answers scsiback makes itself, where the virtual mapping forces
 * it: REPORT LUNS of a virtual target, commands to an unmapped LUN of an
 * existing target, and CDBs the LUN's policy denies. */
#ifndef SCSIBACK_EMULATE_H
#define SCSIBACK_EMULATE_H

#include <stddef.h>
#include <stdint.h>

#define SCSI_STATUS_GOOD 0x00
#define SCSI_STATUS_CHECK_CONDITION 0x02

/* Fixed-format sense (0x70), 18 bytes; returns its length. */
size_t sense_fixed(uint8_t *sense, uint8_t key, uint8_t asc, uint8_t ascq);

struct emu_result {
	uint8_t status;
	uint8_t sense[18];
	uint8_t sense_len;
	uint8_t data[4096];
	uint32_t data_len;       /* bytes produced for the guest */
};

/* REPORT LUNS over the given LUN numbers (single-level addressing).
 * alloc_len from the CDB bounds what is returned. */
void emulate_report_luns(const uint8_t *cdb, const uint16_t *luns, unsigned n,
			 struct emu_result *r);
/* A command to a LUN that is not mapped on an existing target: INQUIRY
 * answers "no device here" (peripheral qualifier 3), REQUEST SENSE and
 * everything else LOGICAL UNIT NOT SUPPORTED, as a real target does. */
void emulate_unmapped_lun(const uint8_t *cdb, struct emu_result *r);
/* CHECK CONDITION, ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE. */
void emulate_denied(struct emu_result *r);

#endif
