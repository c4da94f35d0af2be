/* The shared ring: requests out, responses in. The backend is not
 * trusted: each response is copied out of shared memory once and checked
 * (producer index, rqid, sense length) before anything uses it; a
 * violation disables the vhost instead of corrupting memory. */
#include <string.h>

#include "vf_internal.h"

int vf_ring_free_slot(struct vscsi_host *h)
{
	if (RING_FULL(&h->ring))
		return -1;
	for (int i = 0; i < VF_SLOTS; i++)
		if (h->slots[i].state == VF_SLOT_FREE)
			return i;
	return -1;
}

static uint8_t wire_dir(enum vscsi_xfer x, size_t len)
{
	if (!len)
		return 3;                   /* DMA_NONE */
	return x == VSCSI_XFER_WRITE ? 1 /* DMA_TO_DEVICE */ : 2 /* DMA_FROM_DEVICE */;
}

static void put_request(struct vscsi_host *h, const vscsiif_request_t *req)
{
	memcpy(RING_GET_REQUEST(&h->ring, h->ring.req_prod_pvt), req, sizeof(*req));
	h->ring.req_prod_pvt++;
}

/* Fills and queues the request of task t in slot rqid (pages taken). */
void vf_ring_put_cdb(struct vscsi_host *h, int rqid, struct vf_task *t)
{
	struct vf_slot *s = &h->slots[rqid];
	struct vscsi_task *p = &t->pub;
	vscsiif_request_t req;
	unsigned tmo = (p->timeout_ms + 999) / 1000;

	memset(&req, 0, sizeof(req));
	req.rqid = (uint16_t)rqid;
	req.act = VSCSIIF_ACT_SCSI_CDB;
	req.cmd_len = p->cdb_len;
	memcpy(req.cmnd, p->cdb, p->cdb_len);
	req.timeout_per_command = (uint16_t)(tmo > 0xffff ? 0xffff : tmo);
	req.channel = p->addr.channel;
	req.id = p->addr.target;
	req.lun = p->addr.lun;
	req.sc_data_direction = wire_dir(p->xfer, p->buf_len);
	if (p->buf_len) {
		size_t left = p->buf_len;
		struct scsiif_request_segment *seg = req.seg;

		if (s->npages > VSCSIIF_SG_TABLESIZE) {
			/* The slot's table pages are one mapping: the list runs on
			 * from one page into the next; seg[] names each page. */
			unsigned first = (unsigned)rqid * h->tables_per_slot, ntab = 0;

			seg = (struct scsiif_request_segment *)(h->tables + (size_t)first * VF_PAGE);
			for (unsigned i = 0; i < s->npages; i += VF_SEGS_PER_TABLE, ntab++) {
				unsigned k = s->npages - i < VF_SEGS_PER_TABLE ? s->npages - i
									 : (unsigned)VF_SEGS_PER_TABLE;

				req.seg[ntab].gref = h->table_refs[first + ntab];
				req.seg[ntab].offset = 0;
				req.seg[ntab].length = (uint16_t)(k * sizeof(*seg));
			}
			req.nr_segments = (uint8_t)(VSCSIIF_SG_GRANT | ntab);
		} else {
			req.nr_segments = (uint8_t)s->npages;
		}
		for (unsigned i = 0; i < s->npages; i++) {
			seg[i].gref = h->pool_refs[s->pages[i]];
			seg[i].offset = 0;
			seg[i].length = (uint16_t)(left < VF_PAGE ? left : VF_PAGE);
			left -= seg[i].length;
		}
	}
	put_request(h, &req);
}

void vf_ring_put_tmf(struct vscsi_host *h, int rqid, uint8_t act, const struct vscsi_addr *a,
		     int ref_rqid)
{
	vscsiif_request_t req;

	memset(&req, 0, sizeof(req));
	req.rqid = (uint16_t)rqid;
	req.act = act;
	req.channel = a->channel;
	req.id = a->target;
	req.lun = a->lun;
	req.ref_rqid = (uint16_t)(ref_rqid < 0 ? 0 : ref_rqid);
	req.sc_data_direction = 3;
	put_request(h, &req);
}

void vf_ring_push(struct vscsi_host *h)
{
	int notify;

	if (h->ring.req_prod_pvt == h->ring.sring->req_prod)
		return;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&h->ring, notify);
	if (notify && xenevtchn_notify(h->evt, (evtchn_port_t)h->port) < 0)
		vf_debug("%s: notify failed", h->name);
}

bool vf_ring_peek(struct vscsi_host *h)
{
	RING_IDX prod = __atomic_load_n(&h->ring.sring->rsp_prod, __ATOMIC_ACQUIRE);

	return prod != h->ring.rsp_cons;
}

int vf_ring_take(struct vscsi_host *h, struct vf_deliver *dl)
{
	RING_IDX cons = h->ring.rsp_cons;
	RING_IDX prod = __atomic_load_n(&h->ring.sring->rsp_prod, __ATOMIC_ACQUIRE);
	RING_IDX outstanding = h->ring.req_prod_pvt - cons;
	int n = 0;

	if (prod == cons)
		return 0;
	xen_rmb();
	/* More answers than requests in flight: a bogus producer index. */
	if ((RING_IDX)(prod - cons) > outstanding) {
		vf_fail(h, "backend's response producer index %u is bogus (consumer %u, %u request(s) "
			"outstanding)", prod, cons, outstanding);
		return -1;
	}
	for (; cons != prod; cons++) {
		vscsiif_response_t rsp;

		memcpy(&rsp, RING_GET_RESPONSE(&h->ring, cons), sizeof(rsp));
		h->ring.rsp_cons = cons + 1;
		if (rsp.rqid >= VF_SLOTS) {
			vf_fail(h, "backend answered unknown rqid %u", rsp.rqid);
			return -1;
		}
		if (rsp.sense_len > VSCSIIF_SENSE_BUFFERSIZE) {
			vf_fail(h, "backend sent sense_len %u for rqid %u (at most %u)", rsp.sense_len,
				rsp.rqid, VSCSIIF_SENSE_BUFFERSIZE);
			return -1;
		}
		if (h->slots[rsp.rqid].state == VF_SLOT_FREE) {
			if (h->slots[rsp.rqid].stale_ok) {
				vf_debug("%s: late answer for given-up rqid %u ignored", h->name, rsp.rqid);
				h->slots[rsp.rqid].stale_ok = false;
				continue;
			}
			vf_fail(h, "backend answered rqid %u, which is not in flight (duplicate or "
				"unknown)", rsp.rqid);
			return -1;
		}
		vf_task_on_response(h, rsp.rqid, &rsp, dl);
		n++;
		if (h->ring_dead)
			return -1;
	}
	return n;
}

bool vf_ring_arm(struct vscsi_host *h)
{
	h->ring.sring->rsp_event = h->ring.rsp_cons + 1;
	xen_mb();
	return vf_ring_peek(h);
}
