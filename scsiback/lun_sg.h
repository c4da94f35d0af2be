/* What test_lun_sg reaches past lun.h, on purpose: the sg v3 header the
 * driver builds and reads back, and an open on a descriptor that stands
 * in for /dev/sgN (a socket pair cannot answer sg's ioctls). Only
 * lun_sg.c and its test include this. */
#ifndef SCSIBACK_LUN_SG_H
#define SCSIBACK_LUN_SG_H

#include <scsi/sg.h>

#include "list.h"
#include "lun.h"
#include "sgio.h"

#ifndef SG_FLAG_Q_AT_TAIL
#define SG_FLAG_Q_AT_TAIL 0x10
#endif

/* Linux host bytes (DID_*) and driver bytes, as sg reports them. */
enum {
	DID_OK = 0x00, DID_NO_CONNECT = 0x01, DID_BUS_BUSY = 0x02, DID_TIME_OUT = 0x03,
	DID_BAD_TARGET = 0x04, DID_ABORT = 0x05, DID_PARITY = 0x06, DID_ERROR = 0x07,
	DID_RESET = 0x08, DID_BAD_INTR = 0x09, DID_PASSTHROUGH = 0x0a, DID_SOFT_ERROR = 0x0b,
	DID_IMM_RETRY = 0x0c, DID_REQUEUE = 0x0d, DID_TRANSPORT_DISRUPTED = 0x0e,
	DID_TRANSPORT_FAILFAST = 0x0f, DID_TARGET_FAILURE = 0x10, DID_NEXUS_FAILURE = 0x11,
	DID_ALLOC_FAILURE = 0x12, DID_MEDIUM_ERROR = 0x13, DID_TRANSPORT_MARGINAL = 0x14,
};
enum {
	DRIVER_OK = 0, DRIVER_BUSY = 1, DRIVER_SOFT = 2, DRIVER_MEDIA = 3, DRIVER_ERROR = 4,
	DRIVER_INVALID = 5, DRIVER_TIMEOUT = 6, DRIVER_HARD = 7, DRIVER_SENSE = 8,
};

enum lun_sg_req_state { LUN_SG_QUEUED, LUN_SG_SUBMITTED };

/* One command on its way through sg. */
struct lun_sg_req {
	struct list_link link;     /* in queued or submitted */
	struct lun_cmd *cmd;
	void *bounce;              /* contiguous copy of the data, or NULL */
	enum lun_sg_req_state state;
	uint8_t sense[LUN_SENSE_MAX];
	struct sgio_job job;       /* with SG_IO threads (sgio.h) */
};

/* sg's host and driver status as the vscsiif host code. */
uint8_t lun_sg_host_code(unsigned host_status, unsigned driver_status);
/* SG_DXFER_* for cmd; 0 for bidirectional (not in sg v3). */
int lun_sg_dxfer_dir(const struct lun_cmd *cmd);
/* The sg v3 header for req; default_timeout_ms when the command has none. */
void lun_sg_fill_hdr(struct sg_io_hdr *h, struct lun_sg_req *req, unsigned default_timeout_ms,
		     int pack_id);
/* Stores a completion from sg into req's command. */
void lun_sg_fill_result(struct lun_sg_req *req, const struct sg_io_hdr *h);

/* lun_open on fd (owned from here on), named name ("/dev/sg3 (1:0:0:2)").
 * path NULL: open at once as a device of type dev_type described by
 * ident; else the INQUIRY lun_open sends (-EINPROGRESS), path naming the
 * p-dev in errors. */
int lun_sg_test_open(struct lun *lun, int fd, const char *name, const char *path,
		     uint8_t dev_type, const char *ident, const struct lun_config *cfg);
/* sg's queue depth as the driver believes it, and how much it holds. */
void lun_sg_test_set_queue_max(struct lun *lun, int max);
int lun_sg_test_submitted(const struct lun *lun);
/* What a command without a timeout gets. */
unsigned lun_sg_test_default_timeout(const struct lun *lun);

#endif
