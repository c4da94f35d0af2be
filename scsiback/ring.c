/* The shared ring: take requests (each copied once, then validated),
 * write responses, publish them with event suppression. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "inflight.h"
#include "log.h"
#include "vhost.h"

static void vhost_halt(struct vhost *vh, const char *why)
{
	log_err("%s: %s; halting ring processing for this vhost only", vh->name, why);
	vh->halted = true;
}

void vhost_respond(struct vhost *vh, uint16_t rqid, int32_t rslt, const uint8_t *sense,
		   uint8_t sense_len, uint32_t resid)
{
	vscsiif_response_t *rsp = RING_GET_RESPONSE(&vh->ring, vh->ring.rsp_prod_pvt);
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
	log_debug("%s: rqid %u answered: rslt 0x%x sense_len %u residual %u (slot %u)", vh->name,
		  rqid, (unsigned)rslt, sense_len, resid, vh->ring.rsp_prod_pvt);
	vh->ring.rsp_prod_pvt++;
}

void vhost_push(struct vhost *vh)
{
	int notify;
	struct inflight_file *f;

	if (!vh->connected)
		return;
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&vh->ring, notify);
	/* Published: records of answered requests can go. */
	f = inflight_data(vh->inflight);
	for (int i = 0; i < INFLIGHT_SLOTS; i++)
		if (f->rec[i].state == REC_ANSWERING &&
		    (int32_t)(vh->ring.sring->rsp_prod - f->rec[i].rsp_idx) > 0)
			inflight_done(vh->inflight, i);
	if (notify)
		xenevtchn_notify(vh->evtchn, (evtchn_port_t)vh->port);
}

/* Takes every request the frontend has published. Returns how many. */
static unsigned ring_take(struct vhost *vh)
{
	RING_IDX rp = vh->ring.sring->req_prod;
	unsigned n = 0;

	xen_rmb(); /* see the requests before the index that covers them */
	if (RING_REQUEST_PROD_OVERFLOW(&vh->ring, rp)) {
		char why[96];

		snprintf(why, sizeof(why), "frontend req_prod %u is more than a ring ahead of %u",
			 rp, vh->ring.rsp_prod_pvt);
		vhost_halt(vh, why);
		return 0;
	}
	while (vh->ring.req_cons != rp && !RING_REQUEST_CONS_OVERFLOW(&vh->ring, vh->ring.req_cons)) {
		vscsiif_request_t raw;
		struct vscsi_req req;
		RING_IDX idx = vh->ring.req_cons;
		enum req_error e;

		RING_COPY_REQUEST(&vh->ring, idx, &raw);
		vh->ring.req_cons++;
		n++;
		e = request_parse(&raw, VSCSI_BACK_MAX_SEGMENTS, &req);
		if (e != REQ_OK) {
			int rec = inflight_add(vh->inflight, idx, raw.rqid, raw.act);

			log_warn("%s: request rqid %u refused: %s", vh->name, raw.rqid,
				 req_error_str(e));
			inflight_answering(vh->inflight, rec, vh->ring.rsp_prod_pvt);
			vhost_respond(vh, raw.rqid, vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_ERROR, 0),
				      NULL, 0, 0);
			continue;
		}
		cmd_start(vh, &req, idx);
	}
	return n;
}

bool vhost_ring_poll(struct vhost *vh)
{
	unsigned n;

	if (!vh->connected || vh->held || vh->halted || vh->sb->stopping)
		return false;
	n = ring_take(vh);
	if (n)
		vhost_push(vh);
	return n > 0;
}

bool vhost_ring_kick(struct vhost *vh)
{
	bool any = false;
	int more;

	if (!vh->connected || vh->held || vh->halted || vh->sb->stopping)
		return false;
	do {
		any |= ring_take(vh) > 0;
		vhost_push(vh);
		/* Ask for an event on the next request, then look once more:
		 * one may have come in before the frontend saw the request. */
		RING_FINAL_CHECK_FOR_REQUESTS(&vh->ring, more);
	} while (more && !vh->halted);
	return any;
}
