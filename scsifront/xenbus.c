/* The xenbus side of the frontend (docs/protocol.md, "Handshake"):
 * ring-ref and event-channel in one transaction, Initialised, then
 * follow the backend:
 * Connected → add pass; Reconfiguring → delete pass; Reconfigured → add
 * pass; Closing / Closed / gone → every command fails, we go Closed.
 *
 * A process owns the vhost while it is open; its pid is recorded next to
 * the frontend state so that a later process can tell a live owner (busy)
 * from one that died without closing (stale: taken over after a clean
 * Closing/Closed cycle). A vhost in use by someone that left no record
 * (e.g. the guest kernel's xen-scsifront) is never taken over.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "vf_internal.h"
#include "xsutil.h"

#define OWNER_NODE "vscsifront-owner"

static void set_fe_state(struct vscsi_host *h, int state)
{
	int r = xsu_write_uintf(h->xs, XBT_NULL, (unsigned)state, "%s/state", h->fe_path);

	if (r < 0)
		vf_warn("%s: writing %s/state = %d: %s", h->name, h->fe_path, state, strerror(-r));
	h->fe_state = state;
}

static void sleep_ms(unsigned ms)
{
	nanosleep(&(struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 },
		  NULL);
}

/* Waits (polling) until the backend state is one of a, b, or gone. */
static int wait_be(struct vscsi_host *h, int a, int b, unsigned timeout_ms)
{
	for (unsigned waited = 0;; waited += 10) {
		int s = xsu_read_intf(h->xs, XBT_NULL, -1, "%s/state", h->be_path);

		if (s == a || s == b || s < 0 || waited >= timeout_ms)
			return s;
		sleep_ms(10);
	}
}

/* "pid starttime" of this process, starttime from /proc (clock ticks
 * since boot), so that a recycled pid is not taken for the owner. */
static unsigned long long proc_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* p is at the blank before field 3 (state); starttime is field 22. */
	p++;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		st = strtoull(p + 1, NULL, 10);
	return st;
}

static bool owner_alive(const char *rec)
{
	int pid;
	unsigned long long st;

	if (!rec || sscanf(rec, "%d %llu", &pid, &st) != 2 || pid <= 0)
		return false;
	if (kill(pid, 0) < 0 && errno != EPERM)
		return false;
	return proc_starttime(pid) == st;
}

/* Brings a frontend left behind by a dead owner back to Closed. */
static void close_cycle(struct vscsi_host *h)
{
	int be = xsu_read_intf(h->xs, XBT_NULL, -1, "%s/state", h->be_path);

	if (be >= 0 && be != XenbusStateClosed) {
		set_fe_state(h, XenbusStateClosing);
		wait_be(h, XenbusStateClosing, XenbusStateClosed, 5000);
	}
	set_fe_state(h, XenbusStateClosed);
	wait_be(h, XenbusStateClosed, XenbusStateInitWait, 1000);
}

int vf_xb_start(struct vscsi_host *h, char *err, size_t errlen)
{
	char *be, owner[64], owner_path[sizeof(h->fe_path) + sizeof(OWNER_NODE) + 1];
	int fe, bestate, r;
	xs_transaction_t t;

	h->domid = xsu_read_intf(h->xs, XBT_NULL, -1, "domid");
	if (h->domid >= 0)
		snprintf(h->name, sizeof(h->name), "vhost %d/%u", h->domid, h->devid);
	be = xsu_readf(h->xs, XBT_NULL, "%s/backend", h->fe_path);
	if (!be) {
		snprintf(err, errlen, "%s: no such vhost in this domain (%s/backend: %s)", h->name,
			 h->fe_path, strerror(errno));
		return -ENOENT;
	}
	snprintf(h->be_path, sizeof(h->be_path), "%s", be);
	free(be);
	h->be_domid = xsu_read_intf(h->xs, XBT_NULL, -1, "%s/backend-id", h->fe_path);
	if (h->be_domid < 0) {
		snprintf(err, errlen, "%s: %s/backend-id missing or invalid", h->name, h->fe_path);
		return -EINVAL;
	}
	bestate = xsu_read_intf(h->xs, XBT_NULL, -1, "%s/state", h->be_path);
	if (bestate < 0) {
		snprintf(err, errlen, "%s: the backend %s has no state", h->name, h->be_path);
		return -ENOENT;
	}

	/* Is someone else using it? */
	fe = xsu_read_intf(h->xs, XBT_NULL, XenbusStateUnknown, "%s/state", h->fe_path);
	if (fe == XenbusStateInitialised || fe == XenbusStateConnected ||
	    fe == XenbusStateReconfiguring || fe == XenbusStateReconfigured ||
	    fe == XenbusStateClosing) {
		char *rec = xsu_readf(h->xs, XBT_NULL, "%s/" OWNER_NODE, h->fe_path);
		bool alive = owner_alive(rec);

		if (!(h->opts.flags & VSCSI_OPEN_FORCE) && (alive || !rec)) {
			snprintf(err, errlen,
				 "%s is in use (frontend state %d, %s); VSCSI_OPEN_FORCE takes it over",
				 h->name, fe,
				 rec ? "owner process running" : "by a frontend outside libvscsifront");
			free(rec);
			return -EBUSY;
		}
		vf_warn("%s: taking over from %s (frontend state %d)", h->name,
			rec ? "an owner that exited without closing" : "another frontend", fe);
		free(rec);
		close_cycle(h);
		bestate = xsu_read_intf(h->xs, XBT_NULL, -1, "%s/state", h->be_path);
	}
	if (bestate == XenbusStateClosing || bestate < 0) {
		snprintf(err, errlen, "%s: the backend is %s", h->name,
			 bestate < 0 ? "gone" : "closing");
		return -ENOTCONN;
	}

	r = vf_pool_share(h, h->opts.pool_pages, err, errlen);
	if (r < 0)
		return r;
	SHARED_RING_INIT((vscsiif_sring_t *)h->ring_page);
	FRONT_RING_INIT(&h->ring, (vscsiif_sring_t *)h->ring_page, VF_PAGE);
	h->port = xenevtchn_bind_unbound_port(h->evt, (uint32_t)h->be_domid);
	if (h->port < 0) {
		r = -errno;
		h->port = 0;
		snprintf(err, errlen, "%s: cannot allocate an event channel for domain %d: %s", h->name,
			 h->be_domid, strerror(-r));
		return r;
	}
	/* Before the state change, so that no transition is missed. */
	{
		char path[256];

		snprintf(path, sizeof(path), "%s/state", h->be_path);
		if (!xs_watch(h->xs, path, "be") || !xs_watch(h->xs, "@releaseDomain", "rel")) {
			r = -errno;
			snprintf(err, errlen, "%s: cannot watch %s: %s", h->name, path, strerror(-r));
			return r;
		}
	}
	snprintf(owner, sizeof(owner), "%d %llu", (int)getpid(), proc_starttime(getpid()));
	snprintf(owner_path, sizeof(owner_path), "%s/" OWNER_NODE, h->fe_path);
	for (int tries = 0;; tries++) {
		t = xs_transaction_start(h->xs);
		if (t == XBT_NULL) {
			r = -errno;
			snprintf(err, errlen, "%s: xenstore transaction: %s", h->name, strerror(-r));
			return r;
		}
		r = xsu_write_uintf(h->xs, t, h->ring_ref, "%s/ring-ref", h->fe_path);
		if (!r)
			r = xsu_write_uintf(h->xs, t, (unsigned)h->port, "%s/event-channel", h->fe_path);
		/* Our pool stays granted for as long as we are connected, so a
		 * backend may map its pages once (docs/protocol.md). */
		if (!r)
			r = xsu_write_uintf(h->xs, t, h->offer_persistent ? 1u : 0u,
					    "%s/feature-persistent", h->fe_path);
		if (!r)
			r = xsu_printf(h->xs, t, owner_path, "%s", owner);
		if (!r)
			r = xsu_write_uintf(h->xs, t, XenbusStateInitialised, "%s/state", h->fe_path);
		if (r) {
			xs_transaction_end(h->xs, t, true);
			snprintf(err, errlen, "%s: writing %s: %s", h->name, h->fe_path, strerror(-r));
			return r;
		}
		if (xs_transaction_end(h->xs, t, false))
			break;
		if (errno != EAGAIN || tries > 100) {
			r = -errno;
			snprintf(err, errlen, "%s: committing %s: %s", h->name, h->fe_path,
				 strerror(-r));
			return r;
		}
	}
	h->fe_state = XenbusStateInitialised;
	vf_debug("%s: ring-ref %u, event channel %d, %u pool pages; Initialised", h->name,
		 h->ring_ref, h->port, h->pool_pages);
	return 0;
}

static void read_limits(struct vscsi_host *h)
{
	int f = xsu_read_intf(h->xs, XBT_NULL, 0, "%s/feature-sg-grant", h->be_path);
	unsigned cap = vf_pool_max_segments(h);
	unsigned m;

	h->feature_sg_grant = f > 0 ? (unsigned)f : 0;
	h->persistent = h->offer_persistent &&
			xsu_read_intf(h->xs, XBT_NULL, 0, "%s/feature-persistent", h->be_path) == 1;
	m = h->feature_sg_grant > VSCSIIF_SG_TABLESIZE ? h->feature_sg_grant : VSCSIIF_SG_TABLESIZE;
	if (m > cap)
		m = cap;
	if (h->max_segments && m < h->max_segments)
		vf_warn("%s: the backend now allows %u segments per command (was %u)", h->name, m,
			h->max_segments);
	h->max_segments = m;
}

void vf_xb_backend_changed(struct vscsi_host *h, struct vf_deliver *dl)
{
	int be;

	if (h->state == VSCSI_HOST_DISCONNECTED || h->state == VSCSI_HOST_FAILED)
		return;
	be = xsu_read_intf(h->xs, XBT_NULL, -1, "%s/state", h->be_path);
	vf_debug("%s: backend state %d, ours %d", h->name, be, h->fe_state);
	switch (be) {
	case -1:
		vf_disconnected(h, "the backend vanished");
		return;
	case XenbusStateClosing:
	case XenbusStateClosed:
		/* A backend still Closed from a previous session answers our
		 * Initialised; only a change after that means it is leaving. */
		if (h->fe_state == XenbusStateInitialised && be == XenbusStateClosed)
			return;
		vf_disconnected(h, be == XenbusStateClosing ? "the backend is closing"
							    : "the backend closed");
		set_fe_state(h, XenbusStateClosed);
		return;
	case XenbusStateConnected:
		if (h->fe_state == XenbusStateConnected)
			return;
		read_limits(h);
		if (h->state == VSCSI_HOST_CONNECTING)
			h->state = VSCSI_HOST_CONNECTED;
		vf_lun_add_pass(h, dl);
		set_fe_state(h, XenbusStateConnected);
		vf_task_dispatch(h);
		return;
	case XenbusStateReconfiguring:
		if (h->fe_state != XenbusStateConnected)
			return;
		vf_lun_delete_pass(h, dl);
		set_fe_state(h, XenbusStateReconfiguring);
		return;
	case XenbusStateReconfigured:
		if (h->fe_state != XenbusStateReconfiguring && h->fe_state != XenbusStateConnected)
			return;
		read_limits(h);
		vf_lun_add_pass(h, dl);
		set_fe_state(h, XenbusStateConnected);
		return;
	default:
		return;
	}
}

void vf_xb_watch(struct vscsi_host *h, struct vf_deliver *dl)
{
	char **vec;
	bool fired = false;

	while ((vec = xs_check_watch(h->xs)) != NULL) {
		fired = true;
		free(vec);
	}
	if (fired)
		vf_xb_backend_changed(h, dl);
}

void vf_xb_close(struct vscsi_host *h, unsigned timeout_ms)
{
	char path[512];
	int be;

	if (!h->xs)
		return;
	be = xsu_read_intf(h->xs, XBT_NULL, -1, "%s/state", h->be_path);
	if (h->fe_state == XenbusStateInitialised || h->fe_state == XenbusStateConnected ||
	    h->fe_state == XenbusStateReconfiguring || h->fe_state == XenbusStateReconfigured) {
		if (be >= 0 && be != XenbusStateClosed) {
			/* The backend answers what is outstanding before it says
			 * Closing: the pages stay shared until then. */
			set_fe_state(h, XenbusStateClosing);
			/* A backend that broke the protocol gets less patience. */
			wait_be(h, XenbusStateClosing, XenbusStateClosed,
				h->state == VSCSI_HOST_FAILED && timeout_ms > 1000 ? 1000 : timeout_ms);
		}
		set_fe_state(h, XenbusStateClosed);
		if (xsu_read_intf(h->xs, XBT_NULL, -1, "%s/state", h->be_path) >= 0)
			wait_be(h, XenbusStateClosed, -2, 1000);
	} else if (h->fe_state != XenbusStateClosed && h->fe_state != 0 && be >= 0) {
		set_fe_state(h, XenbusStateClosed);
	}
	snprintf(path, sizeof(path), "%s/%s", h->fe_path, OWNER_NODE);
	xs_rm(h->xs, XBT_NULL, path);
	snprintf(path, sizeof(path), "%s/state", h->be_path);
	xs_unwatch(h->xs, path, "be");
	xs_unwatch(h->xs, "@releaseDomain", "rel");
}
