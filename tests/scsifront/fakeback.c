#include "fakeback.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "daemon.h"
#include "sfenv.h"
#include "vscsi_ring.h"

struct fb {
	struct xs_handle *xs;
	xengnttab_handle *gt;
	xenevtchn_handle *evt;
	int port;
	vscsiif_back_ring_t ring;
	char be[128], fe[128];
	enum fakeback_mode mode;
	int answered;
};

static void put(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *node,
		const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	xs_write(xs, t, path, val, (unsigned)strlen(val));
}

static int get_int(struct xs_handle *xs, const char *dir, const char *node)
{
	char path[256], *v;
	unsigned len;
	int x;

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	v = xs_read(xs, XBT_NULL, path, &len);
	if (!v)
		return -1;
	x = atoi(v);
	free(v);
	return x;
}

/* info >= 0: sense INFORMATION (bytes 3-6) with VALID set. */
static void respond_info(struct fb *b, uint16_t rqid, int32_t rslt, uint8_t sense_len,
			 uint32_t resid, long info)
{
	vscsiif_response_t *r = RING_GET_RESPONSE(&b->ring, b->ring.rsp_prod_pvt);
	int notify;

	memset(r, 0, sizeof(*r));
	r->rqid = rqid;
	r->rslt = rslt;
	r->sense_len = sense_len;
	if (sense_len == 96) {
		fakeback_sense96(r->sense_buffer);
	} else if (sense_len) {
		r->sense_buffer[0] = 0x70;
		r->sense_buffer[2] = 5;
		r->sense_buffer[7] = 10;
		r->sense_buffer[12] = 0x24;
	}
	if (info >= 0 && sense_len >= 7) {
		r->sense_buffer[0] |= 0x80;
		for (int i = 0; i < 4; i++)
			r->sense_buffer[3 + i] = (uint8_t)(info >> (24 - 8 * i));
	}
	r->residual_len = resid;
	b->ring.rsp_prod_pvt++;
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b->ring, notify);
	if (notify)
		xenevtchn_notify(b->evt, (evtchn_port_t)b->port);
	b->answered++;
}

static void respond(struct fb *b, uint16_t rqid, int32_t rslt, uint8_t sense_len, uint32_t resid)
{
	respond_info(b, rqid, rslt, sense_len, resid, -1);
}

void fakeback_sense96(uint8_t out[96])
{
	for (int i = 0; i < 96; i++)
		out[i] = (uint8_t)(0x80 + i);
	out[0] = 0x70;   /* current error, fixed format */
	out[2] = 5;      /* ILLEGAL REQUEST */
	out[7] = 96 - 8; /* additional sense length: the rest of the 96 */
}

static uint32_t req_len(const vscsiif_request_t *q)
{
	uint32_t len = 0;

	if (q->nr_segments & VSCSIIF_SG_GRANT)
		return 0;
	for (unsigned i = 0; i < q->nr_segments && i < VSCSIIF_SG_TABLESIZE; i++)
		len += q->seg[i].length;
	return len;
}

static void handle(struct fb *b, const vscsiif_request_t *q)
{
	static int pending_cdb = -1;
	uint32_t len = req_len(q);

	if (q->act == VSCSIIF_ACT_SCSI_CDB) {
		switch (b->mode) {
		case FB_GOOD:
			respond(b, q->rqid, 0, 0, len);
			return;
		case FB_UNKNOWN_RQID:
			respond(b, (uint16_t)((q->rqid + 5) % 16), 0, 0, len);
			return;
		case FB_RQID_OUT_OF_RANGE:
			respond(b, 40, 0, 0, len);
			return;
		case FB_RQID_16:
			respond(b, 16, 0, 0, len);
			return;
		case FB_DUPLICATE:
			respond(b, q->rqid, 0, 0, len);
			respond(b, q->rqid, 0, 0, len);
			return;
		case FB_SENSE_LEN_200:
			respond(b, q->rqid, 2, 200, len);
			return;
		case FB_SENSE_LEN_97:
			respond(b, q->rqid, 2, 97, len);
			return;
		case FB_SENSE_LEN_96:
			respond(b, q->rqid, 2, 96, len);
			return;
		case FB_PROD_AHEAD:
			respond(b, q->rqid, 0, 0, len);
			xen_wmb();
			b->ring.sring->rsp_prod = b->ring.rsp_prod_pvt + 100;
			xenevtchn_notify(b->evt, (evtchn_port_t)b->port);
			return;
		case FB_RESIDUAL_HUGE:
			respond(b, q->rqid, 0, 0, len + 100000);
			return;
		case FB_ABORT_THEN_ANSWER:
			pending_cdb = q->rqid;
			return;
		case FB_ECHO_TIMEOUT:
			respond_info(b, q->rqid, 2, 18, len, q->timeout_per_command);
			return;
		default:
			return; /* swallowed */
		}
	}
	switch (b->mode) {
	case FB_SWALLOW_ALL:
		return;
	case FB_SWALLOW_RESET_OK:
		respond(b, q->rqid, q->act == VSCSIIF_ACT_SCSI_RESET ? XEN_VSCSIIF_RSLT_RESET_SUCCESS
								      : XEN_VSCSIIF_RSLT_RESET_FAILED, 0, 0);
		return;
	case FB_ABORT_THEN_ANSWER:
		if (pending_cdb >= 0 && q->act == VSCSIIF_ACT_SCSI_ABORT && q->ref_rqid == pending_cdb) {
			respond(b, (uint16_t)pending_cdb, vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_ABORT, 0), 0, 0);
			pending_cdb = -1;
		}
		respond(b, q->rqid, XEN_VSCSIIF_RSLT_RESET_SUCCESS, 0, 0);
		return;
	default:
		respond(b, q->rqid, XEN_VSCSIIF_RSLT_RESET_SUCCESS, 0, 0);
		return;
	}
}

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void run(struct fb *b, int guest)
{
	long deadline = ms_now() + 20000, last_check = 0;
	void *page;
	int ref, port, fe;

	while ((fe = get_int(b->xs, b->fe, "state")) != XenbusStateInitialised) {
		if (ms_now() > deadline)
			_exit(3);
		poll(NULL, 0, 5);
	}
	ref = get_int(b->xs, b->fe, "ring-ref");
	port = get_int(b->xs, b->fe, "event-channel");
	page = xengnttab_map_grant_ref(b->gt, (uint32_t)guest, (uint32_t)ref, PROT_READ | PROT_WRITE);
	b->port = xenevtchn_bind_interdomain(b->evt, (uint32_t)guest, (evtchn_port_t)port);
	if (!page || b->port < 0)
		_exit(4);
	BACK_RING_INIT(&b->ring, (vscsiif_sring_t *)page, 4096);
	{
		char dev[160];

		snprintf(dev, sizeof(dev), "%s/vscsi-devs/dev-0", b->be);
		put(b->xs, XBT_NULL, dev, "state", "3");
	}
	put(b->xs, XBT_NULL, b->be, "state", "4");
	for (;;) {
		struct pollfd p = { .fd = xenevtchn_fd(b->evt), .events = POLLIN };
		int more;

		if (ms_now() - last_check > 20) {
			last_check = ms_now();
			fe = get_int(b->xs, b->fe, "state");
			if (fe == XenbusStateClosing || fe == XenbusStateClosed || fe < 0) {
				put(b->xs, XBT_NULL, b->be, "state", "5");
				put(b->xs, XBT_NULL, b->be, "state", "6");
				_exit(0);
			}
		}
		if (poll(&p, 1, 20) == 1) {
			int pp = xenevtchn_pending(b->evt);

			if (pp >= 0)
				xenevtchn_unmask(b->evt, (evtchn_port_t)pp);
		}
		do {
			RING_IDX prod = b->ring.sring->req_prod;

			xen_rmb();
			while (b->ring.req_cons != prod) {
				vscsiif_request_t q;

				memcpy(&q, RING_GET_REQUEST(&b->ring, b->ring.req_cons), sizeof(q));
				b->ring.req_cons++;
				handle(b, &q);
			}
			RING_FINAL_CHECK_FOR_REQUESTS(&b->ring, more);
		} while (more);
	}
}

pid_t fakeback_start(struct sfenv *e, unsigned devid, enum fakeback_mode mode)
{
	struct xs_permissions be_perms[2] = { { 0, XS_PERM_NONE }, { (unsigned)e->guest, XS_PERM_READ } };
	struct xs_permissions fe_perms[2] = { { (unsigned)e->guest, XS_PERM_NONE }, { 0, XS_PERM_READ } };
	char be[128], fe[128], dev[200], v[32];
	xs_transaction_t t;
	pid_t pid;

	snprintf(be, sizeof(be), "/local/domain/0/backend/vscsi/%d/%u", e->guest, devid);
	snprintf(fe, sizeof(fe), "/local/domain/%d/device/vscsi/%u", e->guest, devid);
	snprintf(dev, sizeof(dev), "%s/vscsi-devs/dev-0", be);
	do {
		t = xs_transaction_start(e->xs0);
		xs_mkdir(e->xs0, t, be);
		xs_set_permissions(e->xs0, t, be, be_perms, 2);
		xs_mkdir(e->xs0, t, fe);
		xs_set_permissions(e->xs0, t, fe, fe_perms, 2);
		put(e->xs0, t, be, "frontend", fe);
		snprintf(v, sizeof(v), "%d", e->guest);
		put(e->xs0, t, be, "frontend-id", v);
		put(e->xs0, t, be, "online", "1");
		put(e->xs0, t, be, "feature-sg-grant", "64");
		put(e->xs0, t, be, "state", "2");
		put(e->xs0, t, dev, "p-dev", "fake");
		put(e->xs0, t, dev, "v-dev", "0:0:0:0");
		put(e->xs0, t, dev, "state", "1");
		put(e->xs0, t, fe, "backend", be);
		put(e->xs0, t, fe, "backend-id", "0");
		put(e->xs0, t, fe, "state", "1");
	} while (!xs_transaction_end(e->xs0, t, false) && errno == EAGAIN);

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct fb b = { .mode = mode };

		simenv_be_domain(&e->sim, 0);
		b.xs = simenv_xs_open(&e->sim, 0);
		b.gt = xengnttab_open(NULL, 0);
		b.evt = xenevtchn_open(NULL, 0);
		if (!b.xs || !b.gt || !b.evt)
			_exit(2);
		snprintf(b.be, sizeof(b.be), "%s", be);
		snprintf(b.fe, sizeof(b.fe), "%s", fe);
		run(&b, e->guest);
		_exit(0);
	}
	return pid;
}

void fakeback_stop(struct sfenv *e, unsigned devid, pid_t pid)
{
	char path[128];

	daemon_stop(pid, SIGKILL, 1000);
	snprintf(path, sizeof(path), "/local/domain/0/backend/vscsi/%d/%u", e->guest, devid);
	xs_rm(e->xs0, XBT_NULL, path);
	snprintf(path, sizeof(path), "/local/domain/%d/device/vscsi/%u", e->guest, devid);
	xs_rm(e->xs0, XBT_NULL, path);
}
