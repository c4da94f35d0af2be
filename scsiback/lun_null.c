/* The null LUN: a disk that does no I/O, to measure what the ring and the
 * daemon cost. INQUIRY and READ CAPACITY answer a 1 TiB disk of 512-byte
 * blocks, reads return zeros, writes are dropped, anything else is an
 * invalid opcode.
 *
 * Commands complete asynchronously but cheaply: submit() appends to a
 * FIFO threaded through cmd->drv (no allocation) and kicks the LUN's
 * wake-up (lun.c), whose run() emulates the whole batch in the loop's
 * turn, with no syscall. A batch submitted from inside a completion is
 * run in the core's next round of the same wake-up.
 */
#include "lun.h"
#include "log.h"
#include "pdev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <scsi/sg_lib.h>
#include "be_fields.h"
#include <xen/io/vscsiif.h>

#define NULL_BLOCK_SIZE 512u
#define NULL_BLOCKS (1ull << 31)          /* 1 TiB */
#define HOST_PENDING 0xff                  /* cmd->host while queued */

struct null_lun {
	struct lun_core *core;
	struct lun_cmd *head, *tail;       /* queued, linked through cmd->drv */
	struct lun_cmd *batch;             /* the batch being run */
};

static void set_sense(struct lun_cmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq)
{
	cmd->status = SAM_STAT_CHECK_CONDITION;
	memset(cmd->sense, 0, 18);
	sg_build_sense_buffer(false, cmd->sense, key, asc, ascq);  /* fixed format, 18 bytes */
	cmd->sense_len = 18;
	cmd->resid = (uint32_t)cmd->xfer_len;
}

/* Copies len bytes of src (or zeros if src is NULL) into the data buffer;
 * returns the bytes stored. */
static size_t fill_iov(struct lun_cmd *cmd, const uint8_t *src, size_t len)
{
	size_t done = 0;

	for (int i = 0; i < cmd->iovcnt && done < len; i++) {
		size_t n = cmd->iov[i].iov_len;

		if (n > len - done)
			n = len - done;
		if (src)
			memcpy(cmd->iov[i].iov_base, src + done, n);
		else
			memset(cmd->iov[i].iov_base, 0, n);
		done += n;
	}
	return done;
}

/* Data-in reply of at most alloc bytes. */
static void reply(struct lun_cmd *cmd, const uint8_t *data, size_t len, size_t alloc)
{
	if (len > alloc)
		len = alloc;
	if (len > cmd->xfer_len)
		len = cmd->xfer_len;
	cmd->resid = (uint32_t)(cmd->xfer_len - fill_iov(cmd, data, len));
}

static void do_inquiry(struct lun_cmd *cmd)
{
	uint8_t d[64];
	size_t len;
	size_t alloc = sg_get_unaligned_be16(&cmd->cdb[3]);

	memset(d, 0, sizeof(d));
	if (cmd->cdb[1] & 0x01) {  /* EVPD */
		switch (cmd->cdb[2]) {
		case 0x00:             /* supported pages */
			d[1] = 0x00;
			d[3] = 2;
			d[4] = 0x00;
			d[5] = 0x80;
			len = 6;
			break;
		case 0x80:             /* unit serial number */
			d[1] = 0x80;
			d[3] = 8;
			memcpy(&d[4], "NULL0001", 8);
			len = 12;
			break;
		default:
			set_sense(cmd, SPC_SK_ILLEGAL_REQUEST, 0x24, 0x00);  /* INVALID FIELD IN CDB */
			return;
		}
	} else {
		if (cmd->cdb[2]) {
			set_sense(cmd, SPC_SK_ILLEGAL_REQUEST, 0x24, 0x00);
			return;
		}
		d[0] = 0x00;           /* connected, direct access */
		d[2] = 0x06;           /* SPC-4 */
		d[3] = 0x02;           /* response data format 2 */
		d[4] = 36 - 5;
		d[7] = 0x02;           /* CMDQUE */
		memcpy(&d[8], "VSCSI   ", 8);
		memcpy(&d[16], "NULL-LUN        ", 16);
		memcpy(&d[32], "0001", 4);
		len = 36;
	}
	reply(cmd, d, len, alloc);
}

/* READ/WRITE of count blocks at lba. */
static void do_rw(struct lun_cmd *cmd, uint64_t lba, uint64_t count, bool write)
{
	uint64_t bytes;

	if (lba > NULL_BLOCKS || count > NULL_BLOCKS - lba) {
		set_sense(cmd, SPC_SK_ILLEGAL_REQUEST, 0x21, 0x00);  /* LBA OUT OF RANGE */
		return;
	}
	bytes = count * NULL_BLOCK_SIZE;
	if (bytes > cmd->xfer_len) {
		lun_answer_overrun(cmd);   /* as the device drivers answer it */
		return;
	}
	if (write) {
		cmd->resid = cmd->xfer_len > bytes ? (uint32_t)(cmd->xfer_len - bytes) : 0;
		return;
	}
	reply(cmd, NULL, cmd->xfer_len < bytes ? cmd->xfer_len : (size_t)bytes, SIZE_MAX);
}

static void execute(struct lun_cmd *cmd)
{
	const uint8_t *c = cmd->cdb;
	uint8_t d[32];

	cmd->status = 0;
	cmd->host = XEN_VSCSIIF_RSLT_HOST_OK;
	cmd->sense_len = 0;
	cmd->resid = 0;
	switch (c[0]) {
	case 0x00:  /* TEST UNIT READY */
	case 0x35:  /* SYNCHRONIZE CACHE(10) */
	case 0x91:  /* SYNCHRONIZE CACHE(16) */
		cmd->resid = (uint32_t)cmd->xfer_len;
		break;
	case 0x03:  /* REQUEST SENSE: nothing to report */
		memset(d, 0, 18);
		sg_build_sense_buffer(false, d, SPC_SK_NO_SENSE, 0, 0);
		reply(cmd, d, 18, c[4]);
		break;
	case 0x12:
		do_inquiry(cmd);
		break;
	case 0x25:  /* READ CAPACITY(10) */
		sg_put_unaligned_be32((uint32_t)(NULL_BLOCKS - 1), &d[0]);
		sg_put_unaligned_be32(NULL_BLOCK_SIZE, &d[4]);
		reply(cmd, d, 8, 8);
		break;
	case 0x9e:  /* SERVICE ACTION IN(16) */
		if ((c[1] & 0x1f) != 0x10) {
			set_sense(cmd, SPC_SK_ILLEGAL_REQUEST, 0x24, 0x00);
			break;
		}
		memset(d, 0, 32);
		sg_put_unaligned_be64(NULL_BLOCKS - 1, &d[0]);
		sg_put_unaligned_be32(NULL_BLOCK_SIZE, &d[8]);
		reply(cmd, d, 32, sg_get_unaligned_be32(&c[10]));
		break;
	case 0x08:  /* READ(6) */
	case 0x0a:  /* WRITE(6) */
		do_rw(cmd, sg_get_unaligned_be24(&c[1]) & 0x1fffff, c[4] ? c[4] : 256, c[0] == 0x0a);
		break;
	case 0x28:  /* READ(10) */
	case 0x2a:
		do_rw(cmd, sg_get_unaligned_be32(&c[2]), sg_get_unaligned_be16(&c[7]), c[0] == 0x2a);
		break;
	case 0xa8:  /* READ(12) */
	case 0xaa:
		do_rw(cmd, sg_get_unaligned_be32(&c[2]), sg_get_unaligned_be32(&c[6]), c[0] == 0xaa);
		break;
	case 0x88:  /* READ(16) */
	case 0x8a:
		do_rw(cmd, sg_get_unaligned_be64(&c[2]), sg_get_unaligned_be32(&c[10]), c[0] == 0x8a);
		break;
	default:
		set_sense(cmd, SPC_SK_ILLEGAL_REQUEST, 0x20, 0x00);  /* INVALID COMMAND OPERATION CODE */
		break;
	}
}

/* From the LUN's wake-up: emulates what was queued and completes it. */
static void null_run(struct lun *lun)
{
	struct null_lun *n = lun->priv;

	n->batch = n->head;
	n->head = n->tail = NULL;
	while (n->batch) {
		struct lun_cmd *cmd = n->batch;

		n->batch = cmd->drv;
		cmd->drv = NULL;
		if (cmd->host == HOST_PENDING)
			execute(cmd);
		lun_complete(n->core, cmd);
		if (lun_closed(n->core))
			return;   /* close() completed the rest */
	}
}

static int null_open(struct lun *lun, const struct pdev_info *pdev, const struct lun_config *cfg)
{
	struct null_lun *n;

	(void)cfg;
	n = calloc(1, sizeof(*n));
	if (!n) {
		fmt_into(lun->error, sizeof(lun->error), "lun %s: out of memory", pdev->path);
		return -ENOMEM;
	}
	n->core = lun->core;
	lun->priv = n;
	lun->dev_type = 0x00;
	fmt_into(lun->desc, sizeof(lun->desc), "null %s (1 TiB of zeros, writes dropped)",
		 pdev->null_kind);
	return 0;
}

static int null_submit(struct lun *lun, struct lun_cmd *cmd)
{
	struct null_lun *n = lun->priv;

	if (cmd->cdb_len == 0 || cmd->cdb_len > sizeof(cmd->cdb))
		return -EINVAL;
	cmd->host = HOST_PENDING;
	cmd->drv = NULL;
	if (n->tail)
		n->tail->drv = cmd;
	else
		n->head = cmd;
	n->tail = cmd;
	lun_kick(n->core);
	return 0;
}

static bool queued(struct lun_cmd *list, struct lun_cmd *cmd)
{
	for (struct lun_cmd *c = list; c; c = c->drv)
		if (c == cmd)
			return true;
	return false;
}

/* A queued command has not "run" yet: it completes with host ABORT. */
static int null_abort(struct lun *lun, struct lun_cmd *cmd, struct lun_tmf *tmf)
{
	struct null_lun *n = lun->priv;

	if (!queued(n->head, cmd) && !queued(n->batch, cmd))
		return -ENOENT;
	cmd->status = 0;
	cmd->sense_len = 0;
	cmd->resid = (uint32_t)cmd->xfer_len;
	cmd->host = XEN_VSCSIIF_RSLT_HOST_ABORT;
	lun_tmf_done(tmf, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
	return 0;
}

static int null_reset(struct lun *lun, struct lun_tmf *tmf)
{
	struct null_lun *n = lun->priv;

	for (struct lun_cmd *c = n->batch; c; c = c->drv)
		if (c->host == HOST_PENDING) {
			c->host = XEN_VSCSIIF_RSLT_HOST_RESET;
			c->resid = (uint32_t)c->xfer_len;
		}
	for (struct lun_cmd *c = n->head; c; c = c->drv)
		if (c->host == HOST_PENDING) {
			c->host = XEN_VSCSIIF_RSLT_HOST_RESET;
			c->resid = (uint32_t)c->xfer_len;
			c->status = 0;
			c->sense_len = 0;
		}
	lun_tmf_done(tmf, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
	return 0;
}

static void complete_list(struct null_lun *n, struct lun_cmd *c)
{
	while (c) {
		struct lun_cmd *next = c->drv;

		c->drv = NULL;
		if (c->host == HOST_PENDING) {
			c->host = XEN_VSCSIIF_RSLT_HOST_ABORT;
			c->status = 0;
			c->sense_len = 0;
			c->resid = (uint32_t)c->xfer_len;
		}
		lun_complete(n->core, c);
		c = next;
	}
}

static void null_close(struct lun *lun)
{
	struct null_lun *n = lun->priv;
	struct lun_cmd *batch = n->batch, *head = n->head;

	n->batch = n->head = n->tail = NULL;
	complete_list(n, batch);
	complete_list(n, head);
}

const struct lun_ops lun_null_ops = {
	.name = "null",
	.open = null_open,
	.submit = null_submit,
	.abort = null_abort,
	.reset = null_reset,
	.run = null_run,
	.close = null_close,
	.release = free,
};
