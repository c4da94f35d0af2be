/* The life of one guest command: checks that need the LUN table, data in,
 * the LUN driver, data out, the response. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "data.h"
#include "emulate.h"
#include "inflight.h"
#include "log.h"
#include "vhost.h"

#define OP_REPORT_LUNS 0xa0

static struct vhost_cmd *cmd_alloc(struct vhost *vh)
{
	for (unsigned i = 0; i < VSCSI_RING_SIZE; i++)
		if (vh->cmds[i].kind == CMD_FREE) {
			vh->cmds[i].vh = vh;
			vh->cmds[i].ring_gen = vh->ring_gen;
			return &vh->cmds[i];
		}
	return NULL;
}

/* Whether the command's ring is still the one connected. A command of an
 * earlier ring (the frontend reconnected while it ran on the device) is
 * answered to nobody: its rqid and grants mean nothing on the new ring. */
static bool cmd_live(const struct vhost_cmd *c)
{
	return c->vh->connected && c->ring_gen == c->vh->ring_gen;
}

static struct vhost_cmd *cmd_find_rqid(struct vhost *vh, uint16_t rqid)
{
	for (unsigned i = 0; i < VSCSI_RING_SIZE; i++)
		if (vh->cmds[i].kind != CMD_FREE && cmd_live(&vh->cmds[i]) &&
		    vh->cmds[i].req.rqid == rqid)
			return &vh->cmds[i];
	return NULL;
}

/* Answers a request taken at ring_idx right away. */
static void answer_now(struct vhost *vh, uint16_t rqid, uint8_t act, uint32_t ring_idx,
		       int32_t rslt, const uint8_t *sense, uint8_t sense_len, uint32_t resid)
{
	int rec = inflight_add(vh->inflight, ring_idx, rqid, act);

	inflight_answering(vh->inflight, rec, vh->ring.rsp_prod_pvt);
	vhost_respond(vh, rqid, rslt, sense, sense_len, resid);
}

static void cmd_finish(struct vhost_cmd *c, int32_t rslt, const uint8_t *sense,
		       uint8_t sense_len, uint32_t resid)
{
	struct vhost *vh = c->vh;

	if (cmd_live(c)) {
		inflight_answering(vh->inflight, c->rec, vh->ring.rsp_prod_pvt);
		vhost_respond(vh, c->req.rqid, rslt, sense, sense_len, resid);
	}
	c->kind = CMD_FREE;
	vh->busy--;
}

/* Gathers the data segments: straight from the request, or from the
 * granted segment-table pages of an indirect request. */
static int cmd_gather_segments(struct vhost_cmd *c)
{
	struct vhost *vh = c->vh;
	const struct vscsi_req *r = &c->req;
	unsigned bad;
	int st;

	if (!r->indirect) {
		for (unsigned i = 0; i < r->nr_seg; i++) {
			c->segs[i].gref = r->seg[i].gref;
			c->segs[i].offset = r->seg[i].offset;
			c->segs[i].length = r->seg[i].length;
		}
		c->nsegs = r->nr_seg;
		c->data_len = r->data_len;
		return 0;
	}
	c->nsegs = 0;
	for (unsigned i = 0; i < r->nr_seg; i++) {
		struct scsiif_request_segment chunk = {
			.gref = r->seg[i].gref, .offset = r->seg[i].offset, .length = r->seg[i].length };
		unsigned n = r->seg[i].length / sizeof(struct scsiif_request_segment);

		if (data_copy(vh->sb->gnt, vh->fe_domid, &chunk, 1, (uint8_t *)(c->segs + c->nsegs),
			      chunk.length, 0, &bad, &st) < 0) {
			log_warn("%s: rqid %u: cannot read segment table page (gref %u): grant status %d",
				 vh->name, r->rqid, chunk.gref, st);
			return -EIO;
		}
		c->nsegs += n;
	}
	if (request_check_table(c->segs, c->nsegs, VSCSI_BACK_MAX_SEGMENTS, &c->data_len) != REQ_OK) {
		log_warn("%s: rqid %u: indirect segment outside its page", vh->name, r->rqid);
		return -EINVAL;
	}
	return 0;
}

static int cmd_ensure_buffer(struct vhost_cmd *c, size_t len)
{
	size_t cap = VSCSI_BACK_MAX_SEGMENTS * VSCSIIF_PAGE_SIZE;

	if (c->buf)
		return 0;
	(void)len;
	/* Reserved once at the largest size; pages are touched only as
	 * commands use them, so small I/O keeps the vhost small. */
	c->buf = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->buf == MAP_FAILED) {
		c->buf = NULL;
		return -ENOMEM;
	}
	c->buf_cap = cap;
	return 0;
}

static void cmd_scsi_done(struct lun_cmd *lc)
{
	struct vhost_cmd *c = lc->priv;
	struct vhost *vh = c->vh;
	int32_t rslt = vscsi_rslt(lc->host, lc->status);
	uint32_t resid = lc->resid;

	if (resid > c->data_len)
		resid = c->data_len;
	if (cmd_live(c) && lc->host == XEN_VSCSIIF_RSLT_HOST_OK &&
	    (c->req.dir == LUN_DIR_FROM_DEV || c->req.dir == LUN_DIR_BIDI)) {
		unsigned bad;
		int st;

		if (data_copy(vh->sb->gnt, vh->fe_domid, c->segs, c->nsegs, c->buf,
			      c->data_len - resid, 1, &bad, &st) < 0) {
			log_warn("%s: rqid %u: cannot write data to guest segment %u: grant status %d",
				 vh->name, c->req.rqid, bad, st);
			rslt = vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_ERROR, 0);
			resid = 0;
		}
	}
	cmd_finish(c, rslt, lc->sense, lc->sense_len, resid);
	vhost_push(vh);
	if (vh->draining && vh->busy == 0)
		vhost_disconnect(vh, false);
}

static void cmd_tmf_done(void *arg, int rslt)
{
	struct vhost_cmd *c = arg;
	struct vhost *vh = c->vh;

	log_info("%s: %s for rqid %u: %s", vh->name,
		 c->req.act == VSCSIIF_ACT_SCSI_ABORT ? "abort" : "LUN reset", c->req.ref_rqid,
		 rslt == XEN_VSCSIIF_RSLT_RESET_SUCCESS ? "done" : "failed");
	cmd_finish(c, rslt, NULL, 0, 0);
	vhost_push(vh);
	if (vh->draining && vh->busy == 0)
		vhost_disconnect(vh, false);
}

/* Answers with an emulated result, copying its data to the guest. */
static void answer_emulated(struct vhost *vh, const struct vscsi_req *req, uint32_t ring_idx,
			    struct emu_result *er)
{
	struct vhost_cmd *c = cmd_alloc(vh);
	uint32_t resid = 0;

	if (!c) { /* cannot happen: the ring bounds outstanding requests */
		answer_now(vh, req->rqid, req->act, ring_idx, vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_BUS_BUSY, 0),
			   NULL, 0, 0);
		return;
	}
	c->vh = vh;
	c->req = *req;
	if (cmd_gather_segments(c) < 0) {
		answer_now(vh, req->rqid, req->act, ring_idx, vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_ERROR, 0),
			   NULL, 0, 0);
		return;
	}
	if (er->data_len > c->data_len)
		er->data_len = c->data_len;
	if (er->data_len && req->dir == LUN_DIR_FROM_DEV) {
		unsigned bad;
		int st;

		if (data_copy(vh->sb->gnt, vh->fe_domid, c->segs, c->nsegs, er->data, er->data_len, 1,
			      &bad, &st) < 0) {
			answer_now(vh, req->rqid, req->act, ring_idx,
				   vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_ERROR, 0), NULL, 0, 0);
			return;
		}
		resid = c->data_len - er->data_len;
	} else {
		resid = c->data_len;
	}
	answer_now(vh, req->rqid, req->act, ring_idx, vscsi_rslt(0, er->status), er->sense,
		   er->sense_len, resid);
}

static void start_tmf(struct vhost *vh, const struct vscsi_req *req, uint32_t ring_idx)
{
	struct vhost_lun *vl = vhost_find_lun(vh, req->channel, req->id, req->lun);
	struct vhost_cmd *c, *victim = NULL;
	int err = -ENOTSUP;

	if (req->act == VSCSIIF_ACT_SCSI_ABORT) {
		victim = cmd_find_rqid(vh, req->ref_rqid);
		if (!victim || victim->kind != CMD_SCSI) {
			/* Nothing outstanding under that tag: it has completed,
			 * which is what the abort wanted. */
			answer_now(vh, req->rqid, req->act, ring_idx, XEN_VSCSIIF_RSLT_RESET_SUCCESS,
				   NULL, 0, 0);
			return;
		}
		vl = victim->vl;
	}
	if (!vl || vl->opening) {
		answer_now(vh, req->rqid, req->act, ring_idx, XEN_VSCSIIF_RSLT_RESET_FAILED, NULL, 0, 0);
		return;
	}
	c = cmd_alloc(vh);
	if (!c) {
		answer_now(vh, req->rqid, req->act, ring_idx, XEN_VSCSIIF_RSLT_RESET_FAILED, NULL, 0, 0);
		return;
	}
	c->kind = CMD_TMF;
	c->vh = vh;
	c->vl = vl;
	c->req = *req;
	c->ring_idx = ring_idx;
	c->rec = inflight_add(vh->inflight, ring_idx, req->rqid, req->act);
	vh->busy++;
	/* Asynchronous: the ring keeps moving while the TMF runs. */
	if (req->act == VSCSIIF_ACT_SCSI_ABORT && vl->dev.ops->abort)
		err = vl->dev.ops->abort(&vl->dev, &victim->lc, cmd_tmf_done, c);
	else if (req->act == VSCSIIF_ACT_SCSI_RESET && vl->dev.ops->reset)
		err = vl->dev.ops->reset(&vl->dev, cmd_tmf_done, c);
	if (err)
		cmd_tmf_done(c, XEN_VSCSIIF_RSLT_RESET_FAILED);
}

void cmd_start(struct vhost *vh, const struct vscsi_req *req, uint32_t ring_idx)
{
	struct vhost_lun *vl;
	struct vhost_cmd *c;
	struct emu_result er;
	int err;

	if (req->act != VSCSIIF_ACT_SCSI_CDB) {
		start_tmf(vh, req, ring_idx);
		return;
	}
	if (cmd_find_rqid(vh, req->rqid)) {
		log_warn("%s: rqid %u is already in flight; refused", vh->name, req->rqid);
		answer_now(vh, req->rqid, req->act, ring_idx, vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_ERROR, 0),
			   NULL, 0, 0);
		return;
	}
	vl = vhost_find_lun(vh, req->channel, req->id, req->lun);
	if (!vh->feature_host && req->cdb[0] == OP_REPORT_LUNS && req->dir == LUN_DIR_FROM_DEV &&
	    vhost_has_target(vh, req->channel, req->id)) {
		uint16_t luns[512];
		unsigned n = 0;

		for (unsigned i = 0; i < vh->nluns && n < 512; i++)
			if (vh->luns[i]->chn == req->channel && vh->luns[i]->tgt == req->id &&
			    vhost_lun_ready(vh->luns[i]))
				luns[n++] = vh->luns[i]->lun;
		emulate_report_luns(req->cdb, luns, n, &er);
		answer_emulated(vh, req, ring_idx, &er);
		return;
	}
	if (!vl || !vhost_lun_ready(vl)) {
		if (!vhost_has_target(vh, req->channel, req->id)) {
			/* No such target: the selection times out on a real HBA. */
			answer_now(vh, req->rqid, req->act, ring_idx,
				   vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_NO_CONNECT, 0), NULL, 0, 0);
			return;
		}
		emulate_unmapped_lun(req->cdb, &er);
		answer_emulated(vh, req, ring_idx, &er);
		return;
	}
	if (!policy_allows(vl->policy, req->cdb[0])) {
		log_warn("%s: LUN %u:%u:%u: opcode 0x%02x denied by policy \"%s\"", vh->name,
			 vl->chn, vl->tgt, vl->lun, req->cdb[0], vl->policy->name);
		emulate_denied(&er);
		answer_emulated(vh, req, ring_idx, &er);
		return;
	}

	c = cmd_alloc(vh);
	if (!c) {
		answer_now(vh, req->rqid, req->act, ring_idx, vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_BUS_BUSY, 0),
			   NULL, 0, 0);
		return;
	}
	c->kind = CMD_SCSI;
	c->vh = vh;
	c->vl = vl;
	c->req = *req;
	c->ring_idx = ring_idx;
	vh->busy++;
	c->rec = inflight_add(vh->inflight, ring_idx, req->rqid, req->act);
	if (cmd_gather_segments(c) < 0 || cmd_ensure_buffer(c, c->data_len) < 0) {
		cmd_finish(c, vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_ERROR, 0), NULL, 0, 0);
		return;
	}
	if (c->data_len && (req->dir == LUN_DIR_TO_DEV || req->dir == LUN_DIR_BIDI)) {
		unsigned bad;
		int st;

		if (data_copy(vh->sb->gnt, vh->fe_domid, c->segs, c->nsegs, c->buf, c->data_len, 0,
			      &bad, &st) < 0) {
			log_warn("%s: rqid %u: cannot read guest segment %u (gref %u): grant status %d",
				 vh->name, req->rqid, bad, c->segs[bad].gref, st);
			cmd_finish(c, vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_ERROR, 0), NULL, 0, 0);
			return;
		}
	}
	memset(&c->lc, 0, sizeof(c->lc));
	memcpy(c->lc.cdb, req->cdb, req->cdb_len);
	c->lc.cdb_len = req->cdb_len;
	c->lc.dir = (enum lun_dir)req->dir;
	c->iov.iov_base = c->buf;
	c->iov.iov_len = c->data_len;
	c->lc.iov = c->data_len ? &c->iov : NULL;
	c->lc.iovcnt = c->data_len ? 1 : 0;
	c->lc.xfer_len = c->data_len;
	c->lc.timeout_ms = req->timeout_s ? (unsigned)req->timeout_s * 1000u : 0;
	c->lc.done = cmd_scsi_done;
	c->lc.priv = c;
	err = vl->dev.ops->submit(&vl->dev, &c->lc);
	if (err) {
		log_warn("%s: LUN %s: submit failed: %s", vh->name, vl->dev.desc, strerror(-err));
		cmd_finish(c, vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_BUS_BUSY, 0), NULL, 0, 0);
	}
}
