/* The life of one guest command: checks that need the LUN table, data in,
 * the LUN driver, data out, the response. */
#include "cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "data.h"
#include "emulate.h"
#include "log.h"
#include "pgrant.h"

#define OP_REPORT_LUNS 0xa0
/* The part of a bounce buffer that stays resident between commands:
 * tape blocks of 1 MiB and smaller reuse their pages, a rarer larger
 * command gives the rest back when it ends. */
#define CMD_BUF_KEEP (1u << 20)

static struct cmd *cmd_alloc(struct cmd_table *t)
{
	for (unsigned i = 0; i < VSCSI_RING_SIZE; i++)
		if (t->slot[i].kind == CMD_FREE) {
			t->slot[i].t = t;
			t->slot[i].ring_gen = t->ring->gen;
			return &t->slot[i];
		}
	return NULL;
}

/* Whether the command's ring is still the one connected. A command of an
 * earlier ring (the frontend reconnected while it ran on the device) is
 * answered to nobody: its rqid and grants mean nothing on the new ring. */
static bool cmd_live(const struct cmd *c)
{
	return ring_mapped(c->t->ring) && c->ring_gen == c->t->ring->gen;
}

static struct cmd *cmd_find_rqid(struct cmd_table *t, uint16_t rqid)
{
	for (unsigned i = 0; i < VSCSI_RING_SIZE; i++)
		if (t->slot[i].kind != CMD_FREE && cmd_live(&t->slot[i]) && t->slot[i].req.rqid == rqid)
			return &t->slot[i];
	return NULL;
}

/* Answers a request taken at ring_idx right away. */
static void cmd_answer_now(struct cmd_table *t, const struct vscsi_req *req, uint32_t ring_idx,
			   int32_t rslt, const uint8_t *sense, uint8_t sense_len, uint32_t resid)
{
	int rec = ring_record(t->ring, ring_idx, req->rqid, req->act);

	ring_answer(t->ring, rec, req->rqid, rslt, sense, sense_len, resid);
}

/* Gives back the pages a large command touched beyond CMD_BUF_KEEP, so
 * that a vhost's memory follows what its guest does now, not the largest
 * command it ever sent (16 slots of 16 MiB). */
static void cmd_trim_buffer(struct cmd *c)
{
	if (c->buf_touched <= CMD_BUF_KEEP)
		return;
	madvise(c->buf + CMD_BUF_KEEP, c->buf_touched - CMD_BUF_KEEP, MADV_DONTNEED);
	c->buf_touched = CMD_BUF_KEEP;
}

static void cmd_finish(struct cmd *c, int32_t rslt, const uint8_t *sense, uint8_t sense_len,
		       uint32_t resid)
{
	if (cmd_live(c))
		ring_answer(c->t->ring, c->rec, c->req.rqid, rslt, sense, sense_len, resid);
	cmd_trim_buffer(c);
	if (c->mapped) {
		pgrant_cache_drop(c->pg);
		c->pg = NULL;
		c->mapped = false;
	}
	c->kind = CMD_FREE;
	c->t->busy--;
}

static void cmd_publish(void *arg)
{
	struct cmd_table *t = arg;

	ring_push(t->ring);
}

/* A completion from a LUN driver's callback: published at the end of the
 * loop's turn with the turn's other answers (one notification for all),
 * and the vhost hears when nothing is left outstanding (a drain waits for
 * that; it publishes what is written before it lets the ring go). */
static void cmd_finish_async(struct cmd *c, int32_t rslt, const uint8_t *sense,
			     uint8_t sense_len, uint32_t resid)
{
	struct cmd_table *t = c->t;

	cmd_finish(c, rslt, sense, sense_len, resid);
	evloop_flush_fire(&t->publish);
	if (t->busy == 0 && t->idle)
		t->idle(t->arg);
}

/* Gathers the data segments: straight from the request, or from the
 * granted segment-table pages of an indirect request. */
static int cmd_gather_segments(struct cmd *c)
{
	struct cmd_table *t = c->t;
	const struct vscsi_req *r = &c->req;
	unsigned bad;
	int st;

	unsigned need = r->nr_seg;

	if (r->indirect) {
		need = 0;
		for (unsigned i = 0; i < r->nr_seg; i++)
			need += r->seg[i].length / sizeof(struct scsiif_request_segment);
	}
	if (need > c->segs_cap) {
		/* As many as the largest command so far (request_parse bounds
		 * it): a vhost of small commands stays small. */
		unsigned cap = need < VSCSIIF_SG_TABLESIZE ? VSCSIIF_SG_TABLESIZE : need;
		struct scsiif_request_segment *v = realloc(c->segs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->segs = v;
		c->segs_cap = cap;
	}
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

		if (data_copy(t->gnt, t->ring->fe_domid, &chunk, 1, (uint8_t *)(c->segs + c->nsegs),
			      chunk.length, 0, &bad, &st) < 0) {
			log_warn_limited(&t->limit, t->name, "%s: rqid %u: cannot read segment table page (gref %u): grant status %d",
				 t->name, r->rqid, chunk.gref, st);
			return -EIO;
		}
		c->nsegs += n;
	}
	if (request_check_table(c->segs, c->nsegs, VSCSI_BACK_MAX_SEGMENTS, &c->data_len) != REQ_OK) {
		log_warn_limited(&t->limit, t->name, "%s: rqid %u: indirect segment outside its page", t->name, r->rqid);
		return -EINVAL;
	}
	return 0;
}

/* With persistent grants: the LUN driver gets the guest's own pages, one
 * iovec per segment. 0 (c->mapped); -ENOSPC: the cache is full, copy
 * instead; -EIO: a segment's grant cannot be mapped (logged). */
static int cmd_map_segments(struct cmd *c)
{
	struct cmd_table *t = c->t;
	bool write = c->req.dir == LUN_DIR_FROM_DEV || c->req.dir == LUN_DIR_BIDI;

	if (c->nsegs > c->iovs_cap) {
		/* As large as the largest command so far: most use a few. */
		unsigned cap = c->nsegs < 16 ? 16 : c->nsegs;
		struct iovec *v = realloc(c->iovs, cap * sizeof(*v));

		if (!v)
			return -ENOSPC;
		c->iovs = v;
		c->iovs_cap = cap;
	}
	for (unsigned i = 0; i < c->nsegs; i++) {
		uint8_t *page = pgrant_page(t->pg, c->segs[i].gref, write);

		if (!page) {
			if (errno == ENOSPC)
				return -ENOSPC;
			log_warn_limited(&t->limit, t->name, "%s: rqid %u: cannot map guest segment %u (gref %u%s): %s",
					 t->name, c->req.rqid, i, c->segs[i].gref,
					 write ? ", for data in" : "", strerror(errno));
			return -EIO;
		}
		c->iovs[i].iov_base = page + c->segs[i].offset;
		c->iovs[i].iov_len = c->segs[i].length;
	}
	c->pg = t->pg;
	pgrant_cache_hold(c->pg);
	c->mapped = true;
	return 0;
}

static int cmd_ensure_buffer(struct cmd *c, size_t len)
{
	size_t cap = (size_t)VSCSI_BACK_MAX_SEGMENTS * VSCSIIF_PAGE_SIZE;

	if (!c->buf) {
		/* Reserved once at the largest size, without committing
		 * memory; pages are touched only as commands use them. */
		c->buf = mmap(NULL, cap, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (c->buf == MAP_FAILED) {
			c->buf = NULL;
			return -ENOMEM;
		}
		c->buf_cap = cap;
		c->buf_touched = 0;
	}
	len = (len + VSCSIIF_PAGE_SIZE - 1) & ~(size_t)(VSCSIIF_PAGE_SIZE - 1);
	if (len > c->buf_touched)
		c->buf_touched = len;
	return 0;
}

static void cmd_scsi_done(struct lun_cmd *lc)
{
	struct cmd *c = lc->priv;
	struct cmd_table *t = c->t;
	int32_t rslt = vscsi_rslt(lc->host, lc->status);
	uint32_t resid = lc->resid;

	if (resid > c->data_len)
		resid = c->data_len;
	vlun_count(c->vl, lc, c->data_len - resid);
	if (cmd_live(c) && !c->mapped && lc->host == XEN_VSCSIIF_RSLT_HOST_OK &&
	    (c->req.dir == LUN_DIR_FROM_DEV || c->req.dir == LUN_DIR_BIDI)) {
		unsigned bad;
		int st;

		if (data_copy(t->gnt, t->ring->fe_domid, c->segs, c->nsegs, c->buf,
			      c->data_len - resid, 1, &bad, &st) < 0) {
			log_warn_limited(&t->limit, t->name, "%s: rqid %u: cannot write data to guest segment %u: grant status %d",
				 t->name, c->req.rqid, bad, st);
			rslt = vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_ERROR, 0);
			resid = 0;
		}
	}
	cmd_finish_async(c, rslt, lc->sense, lc->sense_len, resid);
}

static void cmd_tmf_log(const struct cmd *c, int rslt)
{
	if (log_limit_pass(&c->t->limit, c->t->name))
		log_info("%s: %s for rqid %u: %s", c->t->name,
			 c->req.act == VSCSIIF_ACT_SCSI_ABORT ? "abort" : "LUN reset", c->req.ref_rqid,
			 rslt == XEN_VSCSIIF_RSLT_RESET_SUCCESS ? "done" : "failed");
}

static void cmd_tmf_done(void *arg, int rslt)
{
	struct cmd *c = arg;

	cmd_tmf_log(c, rslt);
	cmd_finish_async(c, rslt, NULL, 0, 0);
}

/* Answers with an emulated result, copying its data to the guest. */
static void cmd_answer_emulated(struct cmd_table *t, const struct vscsi_req *req,
				uint32_t ring_idx, struct emu_result *er)
{
	struct cmd *c = cmd_alloc(t);   /* borrowed for its segment list only */
	int32_t error = vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_ERROR, 0);
	uint32_t resid = 0;

	if (!c) { /* cannot happen: the ring bounds outstanding requests */
		cmd_answer_now(t, req, ring_idx, vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_BUS_BUSY, 0), NULL, 0, 0);
		return;
	}
	c->req = *req;
	if (cmd_gather_segments(c) < 0) {
		cmd_answer_now(t, req, ring_idx, error, NULL, 0, 0);
		return;
	}
	if (er->data_len > c->data_len)
		er->data_len = c->data_len;
	if (er->data_len && req->dir == LUN_DIR_FROM_DEV) {
		unsigned bad;
		int st;

		if (data_copy(t->gnt, t->ring->fe_domid, c->segs, c->nsegs, er->data, er->data_len, 1,
			      &bad, &st) < 0) {
			cmd_answer_now(t, req, ring_idx, error, NULL, 0, 0);
			return;
		}
		resid = c->data_len - er->data_len;
	} else {
		resid = c->data_len;
	}
	cmd_answer_now(t, req, ring_idx, vscsi_rslt(0, er->status), er->sense, er->sense_len, resid);
}

static void cmd_start_tmf(struct cmd_table *t, const struct vscsi_req *req, uint32_t ring_idx)
{
	struct vlun *vl = vlun_find(t->luns, req->channel, req->id, req->lun);
	struct cmd *c, *victim = NULL;
	int err = -ENOTSUP;

	if (req->act == VSCSIIF_ACT_SCSI_ABORT) {
		victim = cmd_find_rqid(t, req->ref_rqid);
		if (!victim || victim->kind != CMD_SCSI) {
			/* Nothing outstanding under that tag: it has completed,
			 * which is what the abort wanted. */
			cmd_answer_now(t, req, ring_idx, XEN_VSCSIIF_RSLT_RESET_SUCCESS, NULL, 0, 0);
			return;
		}
		vl = victim->vl;
	}
	if (!vl || vl->opening) {
		cmd_answer_now(t, req, ring_idx, XEN_VSCSIIF_RSLT_RESET_FAILED, NULL, 0, 0);
		return;
	}
	c = cmd_alloc(t);
	if (!c) {
		cmd_answer_now(t, req, ring_idx, XEN_VSCSIIF_RSLT_RESET_FAILED, NULL, 0, 0);
		return;
	}
	c->kind = CMD_TMF;
	c->vl = vl;
	c->req = *req;
	c->ring_idx = ring_idx;
	c->rec = ring_record(t->ring, ring_idx, req->rqid, req->act);
	t->busy++;
	/* Asynchronous: the ring keeps moving while the TMF runs. */
	if (req->act == VSCSIIF_ACT_SCSI_ABORT)
		err = lun_abort(&vl->dev, &victim->lc, cmd_tmf_done, c);
	else if (req->act == VSCSIIF_ACT_SCSI_RESET)
		err = lun_reset(&vl->dev, cmd_tmf_done, c);
	if (err) {
		/* Answered from inside the pump, which publishes it. */
		cmd_tmf_log(c, XEN_VSCSIIF_RSLT_RESET_FAILED);
		cmd_finish(c, XEN_VSCSIIF_RSLT_RESET_FAILED, NULL, 0, 0);
	}
}

/* Commands the backend answers itself: REPORT LUNS (the LUN table is the
 * guest's view, unless feature-host hands it to the device), unmapped
 * LUNs and opcodes the LUN's policy denies. Returns whether it answered. */
static bool cmd_emulated(struct cmd_table *t, const struct vscsi_req *req, uint32_t ring_idx,
			 const struct vlun *vl)
{
	struct emu_result er;

	if (!t->feature_host && req->cdb[0] == OP_REPORT_LUNS && req->dir == LUN_DIR_FROM_DEV &&
	    vlun_has_target(t->luns, req->channel, req->id)) {
		uint16_t luns[512];
		unsigned n = vlun_target_luns(t->luns, req->channel, req->id, luns, 512);

		emulate_report_luns(req->cdb, luns, n, &er);
	} else if (!vl || !vlun_ready(vl)) {
		if (!vlun_has_target(t->luns, req->channel, req->id)) {
			/* No such target: the selection times out on a real HBA. */
			cmd_answer_now(t, req, ring_idx, vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_NO_CONNECT, 0),
				       NULL, 0, 0);
			return true;
		}
		emulate_unmapped_lun(req->cdb, &er);
	} else if (!policy_allows(vl->policy, req->cdb[0])) {
		char vdev[VLUN_VDEV_LEN];

		log_warn_limited(&t->limit, t->name, "%s: LUN %s: opcode 0x%02x denied by policy \"%s\"", t->name,
			 vlun_vdev(vl, vdev), req->cdb[0], vl->policy->name);
		emulate_denied(&er);
	} else {
		return false;
	}
	cmd_answer_emulated(t, req, ring_idx, &er);
	return true;
}

void cmd_start(struct cmd_table *t, const struct vscsi_req *req, uint32_t ring_idx)
{
	int32_t error = vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_ERROR, 0);
	struct vlun *vl;
	struct cmd *c;
	int err;

	if (req->act != VSCSIIF_ACT_SCSI_CDB) {
		cmd_start_tmf(t, req, ring_idx);
		return;
	}
	if (cmd_find_rqid(t, req->rqid)) {
		log_warn_limited(&t->limit, t->name, "%s: rqid %u is already in flight; refused", t->name, req->rqid);
		cmd_answer_now(t, req, ring_idx, error, NULL, 0, 0);
		return;
	}
	vl = vlun_find(t->luns, req->channel, req->id, req->lun);
	if (cmd_emulated(t, req, ring_idx, vl))
		return;

	c = cmd_alloc(t);
	if (!c) {
		cmd_answer_now(t, req, ring_idx, vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_BUS_BUSY, 0), NULL, 0, 0);
		return;
	}
	c->kind = CMD_SCSI;
	c->vl = vl;
	c->req = *req;
	c->ring_idx = ring_idx;
	t->busy++;
	c->rec = ring_record(t->ring, ring_idx, req->rqid, req->act);
	if (cmd_gather_segments(c) < 0) {
		cmd_finish(c, error, NULL, 0, 0);
		return;
	}
	err = c->data_len && t->pg ? cmd_map_segments(c) : -ENOSPC;
	if (err == -EIO || (err && cmd_ensure_buffer(c, c->data_len) < 0)) {
		cmd_finish(c, error, NULL, 0, 0);
		return;
	}
	if (!c->mapped && c->data_len && (req->dir == LUN_DIR_TO_DEV || req->dir == LUN_DIR_BIDI)) {
		unsigned bad;
		int st;

		if (data_copy(t->gnt, t->ring->fe_domid, c->segs, c->nsegs, c->buf, c->data_len, 0,
			      &bad, &st) < 0) {
			log_warn_limited(&t->limit, t->name, "%s: rqid %u: cannot read guest segment %u (gref %u): grant status %d",
				 t->name, req->rqid, bad, c->segs[bad].gref, st);
			cmd_finish(c, error, NULL, 0, 0);
			return;
		}
	}
	memset(&c->lc, 0, sizeof(c->lc));
	memcpy(c->lc.cdb, req->cdb, req->cdb_len);
	c->lc.cdb_len = req->cdb_len;
	c->lc.dir = (enum lun_dir)req->dir;
	if (c->mapped) {
		c->lc.iov = c->iovs;
		c->lc.iovcnt = (int)c->nsegs;
	} else {
		c->iov.iov_base = c->buf;
		c->iov.iov_len = c->data_len;
		c->lc.iov = c->data_len ? &c->iov : NULL;
		c->lc.iovcnt = c->data_len ? 1 : 0;
	}
	c->lc.xfer_len = c->data_len;
	c->lc.timeout_ms = req->timeout_s ? (unsigned)req->timeout_s * 1000u : 0;
	c->lc.done = cmd_scsi_done;
	c->lc.priv = c;
	err = lun_submit(&vl->dev, &c->lc);
	if (err) {
		log_warn("%s: LUN %s: submit failed: %s", t->name, vl->dev.desc, strerror(-err));
		cmd_finish(c, vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_BUS_BUSY, 0), NULL, 0, 0);
	}
}

void cmd_cut_off(struct cmd_table *t)
{
	for (unsigned i = 0; i < VSCSI_RING_SIZE; i++) {
		struct cmd *c = &t->slot[i];

		if (c->kind == CMD_FREE || !cmd_live(c))
			continue;
		ring_answer(t->ring, c->rec, c->req.rqid,
			    c->kind == CMD_SCSI ? vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_RESET, 0)
						: XEN_VSCSIIF_RSLT_RESET_FAILED,
			    NULL, 0, 0);
		c->ring_gen = t->ring->gen - 1;   /* of no ring now */
	}
	ring_push(t->ring);
}

void cmd_table_init(struct cmd_table *t, struct evloop *loop)
{
	evloop_wake_init(&t->publish, loop, cmd_publish, t);
}

void cmd_table_release(struct cmd_table *t)
{
	evloop_wake_cancel(&t->publish);
	for (unsigned i = 0; i < VSCSI_RING_SIZE; i++) {
		if (t->slot[i].buf) {
			munmap(t->slot[i].buf, t->slot[i].buf_cap);
			t->slot[i].buf = NULL;
		}
		free(t->slot[i].iovs);
		t->slot[i].iovs = NULL;
		t->slot[i].iovs_cap = 0;
		free(t->slot[i].segs);
		t->slot[i].segs = NULL;
		t->slot[i].segs_cap = 0;
	}
}
