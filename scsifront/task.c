/* Tasks: the queue in front of the ring, dispatch in FIFO order (a tape
 * needs its commands in order), completion, and what happens when a
 * command does not come back in time:
 *
 *   deadline → ABORT (its own rqid) → answered SUCCESS: done, -ETIMEDOUT
 *                                  → FAILED or no answer in tmf_timeout:
 *              LUN RESET          → SUCCESS: done, -ETIMEDOUT
 *                                  → FAILED or no answer: done, -ETIMEDOUT
 *                                    ("backend unresponsive")
 *
 * A command given up on keeps its rqid and pages as a zombie until the
 * backend's late answer arrives (the backend may still write the pages),
 * or for a grace period after that. A task waiting in the queue past its
 * deadline simply completes with -ETIMEDOUT. Nothing waits forever.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vf_internal.h"

#define VF_ZOMBIE_GRACE_NS (10ull * 1000000000ull)

static void list_append(struct vf_task **head, struct vf_task **tail, struct vf_task *t)
{
	t->next = NULL;
	t->prev = *tail;
	if (*tail)
		(*tail)->next = t;
	else
		*head = t;
	*tail = t;
}

static void list_remove(struct vf_task **head, struct vf_task **tail, struct vf_task *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		*head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		*tail = t->prev;
	t->next = t->prev = NULL;
}

static void tmf_unqueue(struct vscsi_host *h, struct vf_task *t)
{
	if (t->tmf_queued) {
		list_remove(&h->tmf_head, &h->tmf_tail, t);
		t->tmf_queued = false;
	}
}

/* Detaches t from wherever it is (queue, slot, TMF) and finishes it. */
void vf_task_complete(struct vscsi_host *h, struct vf_task *t, int error, struct vf_deliver *dl,
		      const char *fmt, ...)
{
	struct vscsi_task *p = &t->pub;

	if (t->state == VF_TASK_QUEUED)
		list_remove(&h->q_head, &h->q_tail, t);
	if (t->state == VF_TASK_LOCAL)
		list_remove(&h->local_head, &h->local_tail, t);
	tmf_unqueue(h, t);
	if (t->tmf_slot >= 0 && h->slots[t->tmf_slot].task == t)
		h->slots[t->tmf_slot].task = NULL; /* its answer will be ignored */
	t->tmf_slot = -1;
	if (t->slot >= 0 && h->slots[t->slot].task == t) {
		struct vf_slot *s = &h->slots[t->slot];

		/* Still on the ring without an answer: keep the rqid and the
		 * pages until the backend lets go of them. */
		s->task = NULL;
		s->state = VF_SLOT_ZOMBIE;
		s->zombie_until_ns = vf_now_ns() + VF_ZOMBIE_GRACE_NS;
	}
	t->slot = -1;
	t->state = VF_TASK_IDLE;
	p->error = error;
	if (fmt) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(p->errmsg, sizeof(p->errmsg), fmt, ap);
		va_end(ap);
	}
	p->duration_ms = (unsigned)((vf_now_ns() - t->submit_ns) / 1000000u);
	h->outstanding--;
	t->host = NULL;
	if (t->internal) {
		vf_lun_probe_done(h, t, dl);
		return;
	}
	t->done_next = NULL;
	if (dl->done_tail)
		dl->done_tail->done_next = t;
	else
		dl->done_head = t;
	dl->done_tail = t;
}

void vf_task_answer_local(struct vscsi_host *h, struct vf_deliver *dl)
{
	while (h->local_head)
		vf_task_complete(h, h->local_head, 0, dl, NULL);
}

static void slot_free(struct vscsi_host *h, int rqid)
{
	struct vf_slot *s = &h->slots[rqid];

	vf_pool_put(h, s);
	s->state = VF_SLOT_FREE;
	s->task = NULL;
	s->stale_ok = false;
	h->slots_busy--;
}

static uint64_t ms_ns(unsigned ms)
{
	return (uint64_t)ms * 1000000ull;
}

int vf_task_submit_locked(struct vscsi_host *h, struct vf_task *t, vscsi_task_cb cb, void *priv)
{
	struct vscsi_task *p = &t->pub;

	if (t->state != VF_TASK_IDLE || t->host)
		return -EBUSY;
	if (!p->cdb_len || p->cdb_len > VSCSI_CDB_MAX)
		return -EINVAL;
	if (p->buf_len && !p->buf)
		return -EINVAL;
	if (p->xfer != VSCSI_XFER_NONE && p->xfer != VSCSI_XFER_READ && p->xfer != VSCSI_XFER_WRITE)
		return -EINVAL;
	if (p->xfer == VSCSI_XFER_NONE && p->buf_len)
		return -EINVAL;
	if (h->state == VSCSI_HOST_FAILED)
		return -EIO;
	if (h->state == VSCSI_HOST_DISCONNECTED)
		return -ENOTCONN;
	if (p->buf_len > (size_t)h->max_segments * VF_PAGE)
		return -E2BIG;
	p->error = 0;
	p->status = 0;
	p->host_status = 0;
	p->sense_len = 0;
	p->residual = 0;
	p->xfer_done = 0;
	p->rslt = 0;
	p->errmsg[0] = 0;
	if (!p->timeout_ms)
		p->timeout_ms = h->opts.cmd_timeout_ms;
	t->cb = cb;
	t->cb_priv = priv;
	t->host = h;
	t->slot = -1;
	t->tmf_slot = -1;
	t->tmf = VF_TMF_NONE;
	t->tmf_queued = false;
	t->cancelled = false;
	t->submit_ns = vf_now_ns();
	t->deadline_ns = t->submit_ns + ms_ns(p->timeout_ms);
	if (!t->internal && vf_lun_take_ua(h, t)) {
		uint64_t one = 1;

		/* Completed by the next pass (vf_task_answer_local), with the
		 * callback outside the lock like any answer. */
		t->state = VF_TASK_LOCAL;
		list_append(&h->local_head, &h->local_tail, t);
		h->outstanding++;
		if (h->kickfd >= 0 && write(h->kickfd, &one, sizeof(one)) < 0)
			(void)0;
		return 0;
	}
	t->state = VF_TASK_QUEUED;
	list_append(&h->q_head, &h->q_tail, t);
	h->outstanding++;
	vf_task_dispatch(h);
	if (h->timer_armed_ns == 0 || t->deadline_ns < h->timer_armed_ns)
		vf_rearm_timer(h);
	return 0;
}

static void send_tmf(struct vscsi_host *h, struct vf_task *t, int rqid)
{
	struct vf_slot *s = &h->slots[rqid];
	uint8_t act = t->tmf == VF_TMF_ABORT ? VSCSIIF_ACT_SCSI_ABORT : VSCSIIF_ACT_SCSI_RESET;

	s->state = VF_SLOT_TMF;
	s->act = act;
	s->task = t;
	s->addr = t->pub.addr;
	s->npages = 0;
	h->slots_busy++;
	t->tmf_slot = rqid;
	vf_ring_put_tmf(h, rqid, act, &t->pub.addr, t->slot);
	vf_debug("%s: %s for rqid %d (%u:%u:%u) sent as rqid %d", h->name,
		 act == VSCSIIF_ACT_SCSI_ABORT ? "ABORT" : "RESET", t->slot, t->pub.addr.channel,
		 t->pub.addr.target, t->pub.addr.lun, rqid);
}

void vf_task_dispatch(struct vscsi_host *h)
{
	bool pushed = false;

	if (h->ring_dead || h->state != VSCSI_HOST_CONNECTED)
		goto out;
	/* Task management first: it is what frees the ring. */
	while (h->tmf_head) {
		int rqid = vf_ring_free_slot(h);
		struct vf_task *t = h->tmf_head;

		if (rqid < 0)
			break;
		tmf_unqueue(h, t);
		send_tmf(h, t, rqid);
		pushed = true;
	}
	while (h->q_head) {
		struct vf_task *t = h->q_head;
		int rqid = vf_ring_free_slot(h);
		struct vf_slot *s;

		if (rqid < 0)
			break;
		s = &h->slots[rqid];
		if (t->pub.buf_len && vf_pool_lend(h, s, t->pub.buf, t->pub.buf_len)) {
			/* zero copy: the data is in the pool already */
		} else if (vf_pool_get(h, s, t->pub.buf_len) < 0) {
			break; /* in order: wait for pages rather than overtake */
		} else if (t->pub.xfer == VSCSI_XFER_WRITE && t->pub.buf_len) {
			vf_pool_copy_in(h, s, t->pub.buf, t->pub.buf_len);
		}
		list_remove(&h->q_head, &h->q_tail, t);
		s->state = VF_SLOT_CDB;
		s->act = VSCSIIF_ACT_SCSI_CDB;
		s->task = t;
		s->addr = t->pub.addr;
		s->stale_ok = false;
		h->slots_busy++;
		t->slot = rqid;
		t->state = VF_TASK_RING;
		vf_ring_put_cdb(h, rqid, t);
		pushed = true;
	}
out:
	if (pushed)
		vf_ring_push(h);
}

/* now: the time of the pass that escalates (its timeouts are measured
 * against it). */
static void escalate(struct vscsi_host *h, struct vf_task *t, struct vf_deliver *dl, const char *why,
		     uint64_t now)
{
	if (t->tmf == VF_TMF_ABORT) {
		vf_warn("%s: %u:%u:%u rqid %d: ABORT %s; trying LUN RESET", h->name,
			t->pub.addr.channel, t->pub.addr.target, t->pub.addr.lun, t->slot, why);
		t->tmf = VF_TMF_RESET;
		t->tmf_slot = -1;
		t->tmf_deadline_ns = now + ms_ns(h->opts.tmf_timeout_ms);
		t->tmf_queued = true;
		list_append(&h->tmf_head, &h->tmf_tail, t);
		return;
	}
	vf_warn("%s: %u:%u:%u: command 0x%02x timed out, ABORT and LUN RESET %s: backend unresponsive",
		h->name, t->pub.addr.channel, t->pub.addr.target, t->pub.addr.lun, t->pub.cdb[0], why);
	vf_task_complete(h, t, t->cancelled ? -ECANCELED : -ETIMEDOUT, dl,
			 "%s after %u ms; ABORT and LUN RESET %s (backend unresponsive)",
			 t->cancelled ? "cancelled" : "timed out", t->pub.timeout_ms, why);
}

/* A CDB's own answer. */
static void cdb_response(struct vscsi_host *h, int rqid, const vscsiif_response_t *rsp,
			 struct vf_deliver *dl)
{
	struct vf_slot *s = &h->slots[rqid];
	struct vf_task *t = s->task;
	struct vscsi_task *p;
	uint32_t resid = rsp->residual_len;

	if (!t) { /* a zombie's late answer */
		slot_free(h, rqid);
		return;
	}
	p = &t->pub;
	if (resid > p->buf_len) {
		vf_warn("%s: rqid %d: residual %u exceeds the transfer length %zu; clamped", h->name,
			rqid, resid, p->buf_len);
		resid = (uint32_t)p->buf_len;
	}
	p->rslt = rsp->rslt;
	p->status = (uint8_t)(rsp->rslt & 0xff);
	p->host_status = (uint8_t)((rsp->rslt >> 16) & 0xff);
	p->residual = rsp->residual_len;
	p->xfer_done = p->buf_len - resid;
	p->sense_len = rsp->sense_len;
	memcpy(p->sense, rsp->sense_buffer, rsp->sense_len);
	if (p->xfer == VSCSI_XFER_READ && p->xfer_done && !s->zbuf)
		vf_pool_copy_out(h, s, p->buf, p->xfer_done);
	s->task = NULL;
	t->slot = -1;
	slot_free(h, rqid);
	if (t->state == VF_TASK_TIMED_OUT) {
		/* It came back while we were aborting it: report the timeout
		 * (the app may already have given up), with what was sent. */
		vf_task_complete(h, t, t->cancelled ? -ECANCELED : -ETIMEDOUT, dl,
				 "%s after %u ms (answered during %s)",
				 t->cancelled ? "cancelled" : "timed out", p->timeout_ms,
				 t->tmf == VF_TMF_ABORT ? "ABORT" : "LUN RESET");
		return;
	}
	vf_task_complete(h, t, 0, dl, NULL);
}

static void tmf_response(struct vscsi_host *h, int rqid, const vscsiif_response_t *rsp,
			 struct vf_deliver *dl)
{
	struct vf_slot *s = &h->slots[rqid];
	struct vf_task *t = s->task;
	bool ok = rsp->rslt == XEN_VSCSIIF_RSLT_RESET_SUCCESS;
	uint8_t act = s->act;

	slot_free(h, rqid);
	if (!t || t->tmf_slot != rqid)
		return; /* its victim is gone already */
	t->tmf_slot = -1;
	if (!ok) {
		escalate(h, t, dl, "failed", vf_now_ns());
		return;
	}
	vf_info("%s: %u:%u:%u: command 0x%02x %s, %s succeeded", h->name, t->pub.addr.channel,
		t->pub.addr.target, t->pub.addr.lun, t->pub.cdb[0],
		t->cancelled ? "cancelled" : "timed out",
		act == VSCSIIF_ACT_SCSI_ABORT ? "ABORT" : "LUN RESET");
	vf_task_complete(h, t, t->cancelled ? -ECANCELED : -ETIMEDOUT, dl, "%s after %u ms; %s",
			 t->cancelled ? "cancelled" : "timed out", t->pub.timeout_ms,
			 act == VSCSIIF_ACT_SCSI_ABORT ? "aborted" : "LUN reset");
}

void vf_task_on_response(struct vscsi_host *h, int rqid, const vscsiif_response_t *rsp,
			 struct vf_deliver *dl)
{
	switch (h->slots[rqid].state) {
	case VF_SLOT_CDB:
		cdb_response(h, rqid, rsp, dl);
		break;
	case VF_SLOT_TMF:
		tmf_response(h, rqid, rsp, dl);
		break;
	case VF_SLOT_ZOMBIE:
		vf_debug("%s: late answer for rqid %d (given up) released it", h->name, rqid);
		slot_free(h, rqid);
		break;
	case VF_SLOT_FREE:
		break;
	}
}

static void start_abort(struct vscsi_host *h, struct vf_task *t, uint64_t now)
{
	t->state = VF_TASK_TIMED_OUT;
	t->tmf = VF_TMF_ABORT;
	t->tmf_deadline_ns = now + ms_ns(h->opts.tmf_timeout_ms);
	t->tmf_queued = true;
	list_append(&h->tmf_head, &h->tmf_tail, t);
}

void vf_task_timeouts(struct vscsi_host *h, struct vf_deliver *dl, uint64_t now)
{
	/* Queued too long: never reached the ring. */
	for (struct vf_task *t = h->q_head, *n; t; t = n) {
		n = t->next;
		if (t->deadline_ns <= now)
			vf_task_complete(h, t, -ETIMEDOUT, dl,
					 "timed out after %u ms waiting for a ring slot",
					 t->pub.timeout_ms);
	}
	for (int i = 0; i < VF_SLOTS; i++) {
		struct vf_slot *s = &h->slots[i];
		struct vf_task *t = s->task;

		if (s->state == VF_SLOT_ZOMBIE && s->zombie_until_ns <= now) {
			vf_debug("%s: rqid %d never answered; released", h->name, i);
			slot_free(h, i);
			s->stale_ok = true;
			continue;
		}
		if (s->state == VF_SLOT_TMF && t && t->tmf_slot == i && t->tmf_deadline_ns <= now) {
			/* The TMF itself got no answer: keep its rqid as a zombie. */
			s->state = VF_SLOT_ZOMBIE;
			s->task = NULL;
			s->zombie_until_ns = now + VF_ZOMBIE_GRACE_NS;
			t->tmf_slot = -1;
			escalate(h, t, dl, "got no answer", now);
			continue;
		}
		if (s->state == VF_SLOT_CDB && t && t->state == VF_TASK_RING && t->deadline_ns <= now) {
			vf_warn("%s: %u:%u:%u rqid %d: command 0x%02x got no answer in %u ms; ABORT",
				h->name, t->pub.addr.channel, t->pub.addr.target, t->pub.addr.lun, i,
				t->pub.cdb[0], t->pub.timeout_ms);
			start_abort(h, t, now);
		}
	}
	/* TMFs that could not even get a slot in time. */
	for (struct vf_task *t = h->tmf_head, *n; t; t = n) {
		n = t->next;
		if (t->tmf_deadline_ns <= now) {
			tmf_unqueue(h, t);
			escalate(h, t, dl, "could not be sent (ring full)", now);
			/* escalate may have re-queued t at the tail: n is still valid */
		}
	}
	vf_task_dispatch(h);
}

uint64_t vf_task_next_deadline(struct vscsi_host *h)
{
	uint64_t d = 0;

#define TAKE(x) do { uint64_t v_ = (x); if (v_ && (!d || v_ < d)) d = v_; } while (0)
	for (struct vf_task *t = h->q_head; t; t = t->next)
		TAKE(t->deadline_ns);
	for (struct vf_task *t = h->tmf_head; t; t = t->next)
		TAKE(t->tmf_deadline_ns);
	for (int i = 0; i < VF_SLOTS; i++) {
		struct vf_slot *s = &h->slots[i];

		if (s->state == VF_SLOT_ZOMBIE)
			TAKE(s->zombie_until_ns);
		else if (s->state == VF_SLOT_TMF && s->task && s->task->tmf_slot == i)
			TAKE(s->task->tmf_deadline_ns);
		else if (s->state == VF_SLOT_CDB && s->task && s->task->state == VF_TASK_RING)
			TAKE(s->task->deadline_ns);
	}
#undef TAKE
	return d;
}

void vf_task_fail_all(struct vscsi_host *h, int error, const char *why, struct vf_deliver *dl)
{
	vf_task_answer_local(h, dl);  /* answered already */
	while (h->q_head)
		vf_task_complete(h, h->q_head, error, dl, "%s", why);
	while (h->tmf_head)
		vf_task_complete(h, h->tmf_head, error, dl, "%s", why);
	for (int i = 0; i < VF_SLOTS; i++) {
		struct vf_task *t = h->slots[i].task;

		if (h->slots[i].state == VF_SLOT_CDB && t)
			vf_task_complete(h, t, error, dl, "%s", why);
	}
}

/* ---- public task API ---- */

struct vscsi_task *vscsi_task_new(const struct vscsi_addr *addr, const uint8_t *cdb,
				  size_t cdb_len, enum vscsi_xfer xfer, void *buf, size_t buf_len)
{
	struct vf_task *t;

	if (!addr || !cdb || !cdb_len || cdb_len > VSCSI_CDB_MAX) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (!buf && buf_len) {
		if (xfer != VSCSI_XFER_READ) {
			free(t);
			errno = EINVAL;
			return NULL;
		}
		t->own_buf = calloc(1, buf_len);
		if (!t->own_buf) {
			free(t);
			return NULL;
		}
		buf = t->own_buf;
	}
	t->pub.addr = *addr;
	memcpy(t->pub.cdb, cdb, cdb_len);
	t->pub.cdb_len = (uint8_t)cdb_len;
	t->pub.xfer = buf_len ? xfer : VSCSI_XFER_NONE;
	t->pub.buf = buf;
	t->pub.buf_len = buf_len;
	t->slot = t->tmf_slot = -1;
	return &t->pub;
}

void vscsi_task_free(struct vscsi_task *task)
{
	struct vf_task *t = vf_task(task);

	if (!task)
		return;
	if (t->host) {
		/* Still outstanding: a bug in the caller. Leak rather than let
		 * the library touch freed memory. */
		vf_err("vscsi_task_free: task for CDB 0x%02x is still outstanding; not freed",
		       task->cdb[0]);
		return;
	}
	free(t->own_buf);
	free(t);
}

int vscsi_task_submit(struct vscsi_host *h, struct vscsi_task *task, vscsi_task_cb cb, void *priv)
{
	struct vf_deliver dl = { 0 };
	int r;

	if (!h || !task)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	r = vf_task_submit_locked(h, vf_task(task), cb, priv);
	pthread_mutex_unlock(&h->lock);
	vf_deliver(h, &dl);
	return r;
}

int vscsi_task_cancel(struct vscsi_host *h, struct vscsi_task *task)
{
	struct vf_task *t = vf_task(task);
	struct vf_deliver dl = { 0 };
	int r = 0;

	pthread_mutex_lock(&h->lock);
	if (t->host != h) {
		r = -ENOENT;
	} else if (t->state == VF_TASK_QUEUED) {
		vf_task_complete(h, t, -ECANCELED, &dl, "cancelled before it was sent");
	} else if (t->state == VF_TASK_RING) {
		t->cancelled = true;
		start_abort(h, t, vf_now_ns());
		vf_task_dispatch(h);
		vf_rearm_timer(h);
	} else {
		t->cancelled = true; /* already being aborted */
	}
	pthread_mutex_unlock(&h->lock);
	vf_deliver(h, &dl);
	return r;
}

bool vscsi_task_good(const struct vscsi_task *t)
{
	return t && t->error == 0 && t->host_status == VSCSI_HOST_OK && t->status == VSCSI_STATUS_GOOD;
}

bool vscsi_task_sense(const struct vscsi_task *t, uint8_t *key, uint8_t *asc, uint8_t *ascq)
{
	uint8_t k = 0, a = 0, q = 0, code;

	if (!t || t->sense_len < 2)
		return false;
	code = t->sense[0] & 0x7f;
	if (code == 0x70 || code == 0x71) {
		if (t->sense_len < 3)
			return false;
		k = t->sense[2] & 0xf;
		if (t->sense_len > 12)
			a = t->sense[12];
		if (t->sense_len > 13)
			q = t->sense[13];
	} else if (code == 0x72 || code == 0x73) {
		k = t->sense[1] & 0xf;
		if (t->sense_len > 2)
			a = t->sense[2];
		if (t->sense_len > 3)
			q = t->sense[3];
	} else {
		return false;
	}
	if (key)
		*key = k;
	if (asc)
		*asc = a;
	if (ascq)
		*ascq = q;
	return true;
}
