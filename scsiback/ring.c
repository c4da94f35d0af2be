/* The shared ring: map it, take requests (each copied once, then
 * validated), write responses, publish them with event suppression. */
#include "ring.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "inflight.h"
#include "log.h"

int ring_map(struct ring *r, xengnttab_handle *gnt, xenevtchn_handle *shared, uint32_t fe_domid,
	     uint32_t ref, uint32_t fe_port)
{
	int err;

	r->fe_domid = fe_domid;
	r->ref = ref;
	r->fe_port = fe_port;
	r->page = xengnttab_map_grant_ref(gnt, fe_domid, ref, PROT_READ | PROT_WRITE);
	if (!r->page) {
		err = -errno;
		log_err("%s: cannot map ring-ref %u of domain %u: %s", r->name, ref, fe_domid,
			strerror(errno));
		return err;
	}
	r->shared = shared != NULL;
	r->evtchn = shared ? shared : xenevtchn_open(NULL, 0);
	r->port = r->evtchn ? xenevtchn_bind_interdomain(r->evtchn, fe_domid, fe_port) : -1;
	if (r->port < 0) {
		err = -errno;
		log_err("%s: cannot bind event channel %u of domain %u: %s", r->name, fe_port,
			fe_domid, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (r->evtchn && !r->shared)
		xenevtchn_close(r->evtchn);
	r->evtchn = NULL;
	xengnttab_unmap(gnt, r->page, 1);
	r->page = NULL;
	return err;
}

void ring_unmap(struct ring *r, xengnttab_handle *gnt)
{
	if (!r->page)
		return;
	if (r->shared)
		xenevtchn_unbind(r->evtchn, (evtchn_port_t)r->port);
	else
		xenevtchn_close(r->evtchn);
	r->evtchn = NULL;
	xengnttab_unmap(gnt, r->page, 1);
	r->page = NULL;
	r->inflight = NULL;
}

int ring_fd(const struct ring *r)
{
	return xenevtchn_fd(r->evtchn);
}

bool ring_ack_event(struct ring *r)
{
	int port = xenevtchn_pending(r->evtchn);

	if (port < 0)
		return false;
	xenevtchn_unmask(r->evtchn, (evtchn_port_t)port);
	return true;
}

/* Writes a response into the next private slot. */
static void ring_write(struct ring *r, uint16_t rqid, int32_t rslt, const uint8_t *sense,
		       uint8_t sense_len, uint32_t resid)
{
	vscsiif_response_t *rsp = RING_GET_RESPONSE(&r->br, r->br.rsp_prod_pvt);
	vscsiif_response_t local;

	/* Build privately, then one copy into the shared slot. */
	memset(&local, 0, sizeof(local));
	local.rqid = rqid;
	if (sense_len > VSCSIIF_SENSE_BUFFERSIZE)
		sense_len = VSCSIIF_SENSE_BUFFERSIZE;
	local.sense_len = sense_len;
	if (sense_len)
		memcpy(local.sense_buffer, sense, sense_len);
	local.rslt = rslt;
	local.residual_len = resid;
	memcpy(rsp, &local, sizeof(local));
	log_debug("%s: rqid %u answered: rslt 0x%x sense_len %u residual %u (slot %u)", r->name,
		  rqid, (unsigned)rslt, sense_len, resid, r->br.rsp_prod_pvt);
	r->br.rsp_prod_pvt++;
}

int ring_record(struct ring *r, uint32_t idx, uint16_t rqid, uint8_t act)
{
	return inflight_add(r->inflight, idx, rqid, act);
}

void ring_answer(struct ring *r, int rec, uint16_t rqid, int32_t rslt, const uint8_t *sense,
		 uint8_t sense_len, uint32_t resid)
{
	inflight_answering(r->inflight, rec, r->br.rsp_prod_pvt);
	ring_write(r, rqid, rslt, sense, sense_len, resid);
}

void ring_push(struct ring *r)
{
	struct inflight_file *f;
	int notify;

	if (!r->page)
		return;
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&r->br, notify);
	/* Published: records of answered requests can go. */
	f = inflight_data(r->inflight);
	for (int i = 0; i < INFLIGHT_SLOTS; i++)
		if (f->rec[i].state == REC_ANSWERING &&
		    (int32_t)(r->br.sring->rsp_prod - f->rec[i].rsp_idx) > 0)
			inflight_done(r->inflight, i);
	if (notify)
		xenevtchn_notify(r->evtchn, (evtchn_port_t)r->port);
}

bool ring_arm(struct ring *r)
{
	int more;

	RING_FINAL_CHECK_FOR_REQUESTS(&r->br, more);
	return more;
}

/* After a crash of a previous daemon: answer what it had taken but not
 * answered with host RESET (never run it again), and carry on from its
 * request index. Returns the req_cons to use. */
static RING_IDX ring_recover(struct ring *r)
{
	struct inflight_file *f = inflight_data(r->inflight);
	RING_IDX rsp_prod = r->br.sring->rsp_prod, req_prod = r->br.sring->req_prod;
	RING_IDX cons = f->req_cons;
	unsigned answered = 0;

	for (int i = 0; i < INFLIGHT_SLOTS; i++)
		if (f->rec[i].state != REC_FREE && (int32_t)(f->rec[i].req_idx + 1 - cons) > 0)
			cons = f->rec[i].req_idx + 1;
	if ((RING_IDX)(cons - rsp_prod) > VSCSI_RING_SIZE || (RING_IDX)(req_prod - cons) > VSCSI_RING_SIZE) {
		log_warn("%s: saved ring state does not fit the ring (cons %u, rsp_prod %u, req_prod %u); "
			 "taking up at the producer", r->name, cons, rsp_prod, req_prod);
		cons = req_prod;
	}
	for (int i = 0; i < INFLIGHT_SLOTS; i++) {
		struct inflight_rec *rec = &f->rec[i];

		if (rec->state == REC_FREE)
			continue;
		if (rec->state == REC_ANSWERING && (int32_t)(rsp_prod - rec->rsp_idx) > 0) {
			inflight_done(r->inflight, i); /* its answer was published */
			continue;
		}
		ring_answer(r, i, rec->rqid,
			    rec->act == VSCSIIF_ACT_SCSI_CDB ? vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_RESET, 0)
							     : XEN_VSCSIIF_RSLT_RESET_FAILED,
			    NULL, 0, 0);
		answered++;
	}
	if (answered)
		log_info("%s: answered %u request(s) in flight at the previous daemon's end with "
			 "host RESET", r->name, answered);
	return cons;
}

/* A ring we know nothing of: requests already queued were taken by
 * someone else (or by a daemon whose records are gone); answer them
 * rather than run them. Returns the req_cons to use. */
static RING_IDX ring_answer_unknown(struct ring *r)
{
	RING_IDX rsp_prod = r->br.sring->rsp_prod, req_prod = r->br.sring->req_prod;

	r->br.req_cons = rsp_prod;
	if ((RING_IDX)(req_prod - rsp_prod) > VSCSI_RING_SIZE || req_prod == rsp_prod)
		return rsp_prod;
	log_warn("%s: %u request(s) already on a ring we did not serve; answering host RESET",
		 r->name, req_prod - rsp_prod);
	while (r->br.req_cons != req_prod) {
		vscsiif_request_t raw;

		RING_COPY_REQUEST(&r->br, r->br.req_cons, &raw);
		r->br.req_cons++;
		ring_write(r, raw.rqid, vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_RESET, 0), NULL, 0, 0);
	}
	return req_prod;
}

bool ring_attach(struct ring *r, struct inflight *records)
{
	vscsiif_sring_t *s = r->page;
	bool resumed = inflight_matches(records, r->ref, r->fe_port, r->fe_domid);

	r->inflight = records;
	BACK_RING_ATTACH(&r->br, s, s->rsp_prod, XC_PAGE_SIZE_VSCSI);
	if (resumed) {
		r->br.req_cons = ring_recover(r);
	} else {
		r->br.req_cons = ring_answer_unknown(r);
		inflight_reset(records, r->ref, r->fe_port, r->fe_domid, r->br.req_cons);
	}
	r->gen++;
	r->halted = false;
	return resumed;
}

static void ring_halt(struct ring *r, const char *why)
{
	log_err("%s: %s; halting ring processing for this vhost only", r->name, why);
	r->halted = true;
}

enum ring_take_result ring_take(struct ring *r, struct vscsi_req *req, uint32_t *idx)
{
	RING_IDX rp = r->br.sring->req_prod;
	vscsiif_request_t raw;
	enum req_error e;
	int rec;

	if (r->halted)
		return RING_EMPTY;
	xen_rmb(); /* see the requests before the index that covers them */
	if (RING_REQUEST_PROD_OVERFLOW(&r->br, rp)) {
		char why[96];

		snprintf(why, sizeof(why), "frontend req_prod %u is more than a ring ahead of %u",
			 rp, r->br.rsp_prod_pvt);
		ring_halt(r, why);
		return RING_EMPTY;
	}
	if (r->br.req_cons == rp || RING_REQUEST_CONS_OVERFLOW(&r->br, r->br.req_cons))
		return RING_EMPTY;
	*idx = r->br.req_cons;
	RING_COPY_REQUEST(&r->br, *idx, &raw);
	r->br.req_cons++;
	e = request_parse(&raw, VSCSI_BACK_MAX_SEGMENTS, req);
	if (e == REQ_OK)
		return RING_TAKEN;
	log_warn_limited(&r->limit, r->name, "%s: request rqid %u refused: %s", r->name, raw.rqid,
			 req_error_str(e));
	rec = ring_record(r, *idx, raw.rqid, raw.act);
	ring_answer(r, rec, raw.rqid, vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_ERROR, 0), NULL, 0, 0);
	return RING_REFUSED;
}
