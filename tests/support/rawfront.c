#include "rawfront.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "simenv.h"
#include "xsutil.h"

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_be_state(struct rawfront *f, int want, int want2, unsigned timeout_ms)
{
	long end = ms_now() + timeout_ms;
	int s;

	do {
		s = xsu_read_intf(f->xs, XBT_NULL, -1, "%s/state", f->be_path);
		if (s == want || s == want2)
			return s;
		poll(NULL, 0, 5);
	} while (ms_now() < end);
	return -ETIMEDOUT;
}

/* Add pass / delete pass over the backend's dev-N entries. */
static void dev_pass(struct rawfront *f, int be_dev_state, int fe_dev_state)
{
	unsigned n;
	char **devs = xsu_directoryf(f->xs, XBT_NULL, &n, "%s/vscsi-devs", f->be_path);

	for (unsigned i = 0; devs && i < n; i++) {
		if (xsu_read_intf(f->xs, XBT_NULL, -1, "%s/vscsi-devs/%s/state", f->be_path, devs[i]) !=
		    be_dev_state)
			continue;
		xsu_write_uintf(f->xs, XBT_NULL, (unsigned)fe_dev_state, "%s/vscsi-devs/%s/state",
				f->fe_path, devs[i]);
	}
	free(devs);
}

int rawfront_open(struct rawfront *f, struct simenv *env, int domid, int devid, unsigned timeout_ms)
{
	return rawfront_open_persistent(f, env, domid, devid, timeout_ms, false);
}

int rawfront_open_persistent(struct rawfront *f, struct simenv *env, int domid, int devid,
			     unsigned timeout_ms, bool persistent)
{
	xs_transaction_t t;
	char *be;

	memset(f, 0, sizeof(*f));
	f->persistent = persistent;
	f->domid = domid;
	f->devid = devid;
	simenv_be_domain(env, domid);
	f->xs = simenv_xs_open(env, domid);
	if (!f->xs)
		return -errno;
	snprintf(f->fe_path, sizeof(f->fe_path), "/local/domain/%d/device/vscsi/%d", domid, devid);
	be = xsu_readf(f->xs, XBT_NULL, "%s/backend", f->fe_path);
	if (!be)
		return -ENOENT;
	snprintf(f->be_path, sizeof(f->be_path), "%s", be);
	free(be);
	f->be_domid = xsu_read_intf(f->xs, XBT_NULL, -1, "%s/backend-id", f->fe_path);
	f->shr = xengntshr_open(NULL, 0);
	f->evt = xenevtchn_open(NULL, 0);
	if (!f->shr || !f->evt)
		return -errno;
	f->ring_page = xengntshr_share_pages(f->shr, (uint32_t)f->be_domid, 1, &f->ring_ref, 1);
	f->pool = xengntshr_share_pages(f->shr, (uint32_t)f->be_domid, RAWFRONT_POOL_PAGES,
					f->pool_refs, 1);
	f->table = xengntshr_share_pages(f->shr, (uint32_t)f->be_domid, RAWFRONT_TABLE_PAGES,
					 f->table_refs, 0);
	if (!f->ring_page || !f->pool || !f->table)
		return -errno;
	SHARED_RING_INIT((vscsiif_sring_t *)f->ring_page);
	FRONT_RING_INIT(&f->ring, (vscsiif_sring_t *)f->ring_page, XC_PAGE_SIZE_VSCSI);
	f->port = xenevtchn_bind_unbound_port(f->evt, (uint32_t)f->be_domid);
	if (f->port < 0)
		return -errno;
	do {
		t = xs_transaction_start(f->xs);
		xsu_write_uintf(f->xs, t, f->ring_ref, "%s/ring-ref", f->fe_path);
		xsu_write_uintf(f->xs, t, (unsigned)f->port, "%s/event-channel", f->fe_path);
		if (f->persistent)
			xsu_write_uintf(f->xs, t, 1, "%s/feature-persistent", f->fe_path);
		xsu_write_uintf(f->xs, t, XenbusStateInitialised, "%s/state", f->fe_path);
	} while (!xs_transaction_end(f->xs, t, false) && errno == EAGAIN);
	if (wait_be_state(f, XenbusStateConnected, -2, timeout_ms) < 0)
		return -ETIMEDOUT;
	dev_pass(f, XenbusStateInitialised, XenbusStateConnected);
	xsu_write_uintf(f->xs, XBT_NULL, XenbusStateConnected, "%s/state", f->fe_path);
	return 0;
}

int rawfront_service(struct rawfront *f, unsigned timeout_ms)
{
	int s = wait_be_state(f, XenbusStateReconfiguring, XenbusStateReconfigured, timeout_ms);

	if (s == XenbusStateReconfiguring) {
		dev_pass(f, XenbusStateClosing, XenbusStateClosed);
		xsu_write_uintf(f->xs, XBT_NULL, XenbusStateReconfiguring, "%s/state", f->fe_path);
		s = wait_be_state(f, XenbusStateReconfigured, -2, timeout_ms);
	}
	if (s == XenbusStateReconfigured) {
		dev_pass(f, XenbusStateInitialised, XenbusStateConnected);
		xsu_write_uintf(f->xs, XBT_NULL, XenbusStateConnected, "%s/state", f->fe_path);
		s = wait_be_state(f, XenbusStateConnected, -2, timeout_ms);
	}
	return s;
}

void rawfront_abandon(struct rawfront *f)
{
	if (f->evt)
		xenevtchn_close(f->evt);
	if (f->shr)
		xengntshr_close(f->shr);
	if (f->xs)
		xs_close(f->xs);
	memset(f, 0, sizeof(*f));
}

void rawfront_close(struct rawfront *f)
{
	if (f->xs) {
		xsu_write_uintf(f->xs, XBT_NULL, XenbusStateClosing, "%s/state", f->fe_path);
		wait_be_state(f, XenbusStateClosing, XenbusStateClosed, 5000);
		xsu_write_uintf(f->xs, XBT_NULL, XenbusStateClosed, "%s/state", f->fe_path);
		wait_be_state(f, XenbusStateClosed, -2, 5000);
	}
	rawfront_abandon(f);
}

void rawfront_push(struct rawfront *f, const vscsiif_request_t *req)
{
	int notify;

	memcpy(RING_GET_REQUEST(&f->ring, f->ring.req_prod_pvt), req, sizeof(*req));
	f->ring.req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->ring, notify);
	if (notify)
		xenevtchn_notify(f->evt, (evtchn_port_t)f->port);
}

void rawfront_set_req_prod(struct rawfront *f, RING_IDX prod)
{
	xen_wmb();
	f->ring.sring->req_prod = prod;
	xenevtchn_notify(f->evt, (evtchn_port_t)f->port);
}

int rawfront_wait(struct rawfront *f, vscsiif_response_t *rsp, unsigned timeout_ms)
{
	long end = ms_now() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = xenevtchn_fd(f->evt), .events = POLLIN };
		long left;

		if (f->ring.rsp_cons != f->ring.sring->rsp_prod) {
			xen_rmb();
			memcpy(rsp, RING_GET_RESPONSE(&f->ring, f->ring.rsp_cons), sizeof(*rsp));
			f->ring.rsp_cons++;
			f->ring.sring->rsp_event = f->ring.rsp_cons + 1;
			xen_mb();
			return 0;
		}
		f->ring.sring->rsp_event = f->ring.rsp_cons + 1;
		xen_mb();
		if (f->ring.rsp_cons != f->ring.sring->rsp_prod)
			continue;
		left = end - ms_now();
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) == 1) {
			int port = xenevtchn_pending(f->evt);

			if (port >= 0)
				xenevtchn_unmask(f->evt, (evtchn_port_t)port);
		}
	}
}

void rawfront_cdb(struct rawfront *f, vscsiif_request_t *req, uint16_t rqid, uint16_t target,
		  uint16_t lun, const uint8_t *cdb, uint8_t cdb_len, uint8_t dir,
		  unsigned first_page, uint32_t len, bool indirect)
{
	unsigned npages = (len + 4095) / 4096;

	memset(req, 0, sizeof(*req));
	req->rqid = rqid;
	req->act = VSCSIIF_ACT_SCSI_CDB;
	req->cmd_len = cdb_len;
	memcpy(req->cmnd, cdb, cdb_len);
	req->id = target;
	req->lun = lun;
	req->sc_data_direction = dir;
	if (!len)
		return;
	if (!indirect) {
		for (unsigned i = 0; i < npages; i++) {
			req->seg[i].gref = f->pool_refs[first_page + i];
			req->seg[i].offset = 0;
			req->seg[i].length = (uint16_t)(i + 1 < npages ? 4096 : len - i * 4096);
		}
		req->nr_segments = (uint8_t)npages;
		return;
	}
	{
		struct scsiif_request_segment *t = (void *)f->table;

		const unsigned per_page = 4096 / sizeof(*t);
		unsigned ntab = 0;

		for (unsigned i = 0; i < npages; i++) {
			t[i].gref = f->pool_refs[(first_page + i) % RAWFRONT_POOL_PAGES];
			t[i].offset = 0;
			t[i].length = (uint16_t)(i + 1 < npages ? 4096 : len - i * 4096);
		}
		for (unsigned i = 0; i < npages; i += per_page, ntab++) {
			req->seg[ntab].gref = f->table_refs[ntab];
			req->seg[ntab].offset = 0;
			req->seg[ntab].length =
				(uint16_t)((npages - i < per_page ? npages - i : per_page) * sizeof(*t));
		}
		req->nr_segments = (uint8_t)(VSCSIIF_SG_GRANT | ntab);
	}
}

int rawfront_exec(struct rawfront *f, uint16_t target, uint16_t lun, const uint8_t *cdb,
		  uint8_t cdb_len, uint8_t dir, uint32_t len, vscsiif_response_t *rsp)
{
	vscsiif_request_t req;
	static uint16_t rqid;

	rawfront_cdb(f, &req, rqid++ % 16, target, lun, cdb, cdb_len, dir, 0, len,
		     len > VSCSIIF_SG_TABLESIZE * 4096);
	rawfront_push(f, &req);
	return rawfront_wait(f, rsp, 30000);
}

int rawfront_dev_state(struct rawfront *f, unsigned devnum)
{
	return xsu_read_intf(f->xs, XBT_NULL, -1, "%s/vscsi-devs/dev-%u/state", f->be_path, devnum);
}
