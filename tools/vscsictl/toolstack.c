/* xenstore sequences of a PV SCSI toolstack; see toolstack.h, and
 * docs/protocol.md ("Hotplug (Reconfiguring)", "vscsictl and
 * vscsi-lifecycle") for the protocol they follow. */
#include "toolstack.h"

#include <errno.h>
#include <stdatomic.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "decimal.h"
#include "iport.h"
#include "sharing.h"
#include "xsutil.h"

#define TS_PATH 384

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* This thread's stop flag (ts_set_cancel). */
static _Thread_local const atomic_bool *ts_cancel_flag;

void ts_set_cancel(const atomic_bool *flag)
{
	ts_cancel_flag = flag;
}

static bool ts_cancelled(void)
{
	return ts_cancel_flag && atomic_load(ts_cancel_flag);
}

/* A wait cut short by the thread's stop flag: what was written stays (the
 * backend goes on with it; whoever stopped us picks it up again). */
static int ts_cancelled_attach(char *err, size_t errlen)
{
	snprintf(err, errlen, "stopped while waiting for the backend; what was written stays");
	return -ECANCELED;
}

int ts_wait_value(struct xs_handle *xs, const char *path, int want, int want2, unsigned timeout_ms)
{
	int set[2] = { want, want2 };

	return ts_wait_in(xs, path, set, want2 >= 0 ? 2 : 1, timeout_ms);
}

int ts_wait_in(struct xs_handle *xs, const char *path, const int *set, unsigned n,
	       unsigned timeout_ms)
{
	static unsigned seq;
	long deadline = now_ms() + timeout_ms;
	char token[48];
	bool watching;
	int v;

	snprintf(token, sizeof(token), "ts-wait-%d-%u", (int)getpid(), ++seq);
	/* Without a watch (e.g. no permission) we still poll the node. */
	watching = xs_watch(xs, path, token);
	for (;;) {
		struct pollfd p = { .fd = xs_fileno(xs), .events = POLLIN };
		long left;
		char **ev;

		bool in = false;

		v = xsu_read_intf(xs, XBT_NULL, -1, "%s", path);
		for (unsigned i = 0; i < n; i++)
			in |= v == set[i];
		if (in)
			break;
		left = deadline - now_ms();
		if (left <= 0) {
			v = -ETIMEDOUT;
			break;
		}
		if (ts_cancelled()) {
			v = -ECANCELED;
			break;
		}
		if (poll(&p, 1, (int)(left > 100 ? 100 : left)) > 0)
			while ((ev = xs_check_watch(xs)))
				free(ev);
	}
	if (watching)
		xs_unwatch(xs, path, token);
	return v;
}

static unsigned be_domid_of(const char *be)
{
	unsigned d = 0;

	sscanf(be, "/local/domain/%u/", &d);
	return d;
}

bool ts_domain_exists(struct xs_handle *xs, unsigned domid)
{
	char *v = xsu_readf(xs, XBT_NULL, "/local/domain/%u/domid", domid);

	free(v);
	return v != NULL;
}

void ts_backend_path(struct xs_handle *xs, unsigned domid, unsigned devid, unsigned be_domid,
		     char *be, size_t belen, bool *recorded)
{
	char *v = xsu_readf(xs, XBT_NULL, "/libxl/%u/vscsi/%u/backend", domid, devid);
	unsigned d;

	if (v && sscanf(v, "/local/domain/%u/backend/vscsi/", &d) == 1 && strlen(v) < belen) {
		snprintf(be, belen, "%s", v);
		if (recorded)
			*recorded = true;
	} else {
		snprintf(be, belen, "/local/domain/%u/backend/vscsi/%u/%u", be_domid, domid, devid);
		if (recorded)
			*recorded = false;
	}
	free(v);
}

int ts_find_dev(struct xs_handle *xs, xs_transaction_t t, const char *be, const struct vdev *v,
		unsigned *devnum)
{
	char **devs;
	unsigned n;
	int found = -ENOENT;

	devs = xsu_directoryf(xs, t, &n, "%s/vscsi-devs", be);
	for (unsigned i = 0; devs && i < n && found; i++) {
		struct vdev o;
		unsigned num;
		char *s;

		if (vdev_parse_devname(devs[i], &num) < 0)
			continue;
		s = xsu_readf(xs, t, "%s/vscsi-devs/%s/v-dev", be, devs[i]);
		if (s && vdev_parse(s, &o) == 0 && vdev_same_lun(&o, v)) {
			*devnum = num;
			found = 0;
		}
		free(s);
	}
	free(devs);
	return found;
}

static unsigned count_devs(struct xs_handle *xs, const char *be)
{
	unsigned n;
	char **devs = xsu_directoryf(xs, XBT_NULL, &n, "%s/vscsi-devs", be);

	free(devs);
	return n;
}

static int dev_state(struct xs_handle *xs, const char *be, unsigned devnum)
{
	char path[TS_PATH];

	xsu_pathf(path, sizeof(path), "%s/vscsi-devs/dev-%u/state", be, devnum);
	return xsu_read_intf(xs, XBT_NULL, -1, "%s", path);
}

/* Both sides' dev-N entries (the frontend keeps its own state there). */
static void rm_dev_nodes(struct xs_handle *xs, const char *be, const char *fe, unsigned devnum)
{
	char path[TS_PATH];

	xsu_pathf(path, sizeof(path), "%s/vscsi-devs/dev-%u", be, devnum);
	xs_rm(xs, XBT_NULL, path);
	xsu_pathf(path, sizeof(path), "%s/vscsi-devs/dev-%u", fe, devnum);
	xs_rm(xs, XBT_NULL, path);
}

/* Removes dir if it has no children (in a transaction, so a concurrent
 * attach that fills it wins). */
static void rm_if_empty(struct xs_handle *xs, const char *dir)
{
	for (;;) {
		xs_transaction_t t = xs_transaction_start(xs);
		unsigned n = 0;
		char **d;

		if (t == XBT_NULL)
			return;
		d = xs_directory(xs, t, dir, &n);
		free(d);
		if (d && n == 0)
			xs_rm(xs, t, dir);
		if (xs_transaction_end(xs, t, false) || errno != EAGAIN)
			return;
	}
}

/* Removes the empty directories from path up to (not including) stop. */
static void rm_empty_up(struct xs_handle *xs, const char *path, const char *stop)
{
	char p[TS_PATH], *slash;

	xsu_pathf(p, sizeof(p), "%s", path);
	while (strlen(p) > strlen(stop) && !strncmp(p, stop, strlen(stop))) {
		rm_if_empty(xs, p);
		slash = strrchr(p, '/');
		if (!slash)
			break;
		*slash = 0;
	}
}

/* The vhost's directories, and the parents they leave empty, as libxl
 * cleans up a device path. */
static void rm_vhost_nodes(struct xs_handle *xs, const char *be, const char *fe, unsigned domid,
			   unsigned devid)
{
	char path[TS_PATH], stop[64], *slash;

	xs_rm(xs, XBT_NULL, be);
	xs_rm(xs, XBT_NULL, fe);
	xsu_pathf(path, sizeof(path), "/libxl/%u/vscsi/%u", domid, devid);
	xs_rm(xs, XBT_NULL, path);
	xsu_pathf(path, sizeof(path), "%s", be);
	xsu_pathf(stop, sizeof(stop), "/local/domain/%u", be_domid_of(be));
	if ((slash = strrchr(path, '/'))) {
		*slash = 0;
		rm_empty_up(xs, path, stop);    /* backend/vscsi/<domid>, ... */
	}
	xsu_pathf(path, sizeof(path), "/local/domain/%u/device/vscsi", domid);
	xsu_pathf(stop, sizeof(stop), "/local/domain/%u", domid);
	rm_empty_up(xs, path, stop);
	xsu_pathf(path, sizeof(path), "/libxl/%u/vscsi", domid);
	rm_empty_up(xs, path, "/libxl");
}

/* Why the backend refused dev-N, in the words it left in xenstore: our
 * scsiback writes dev-N/error; a Linux backend only reports vhost-level
 * failures, under its domain's error/ tree. */
static void dev_failure(struct xs_handle *xs, const char *be, unsigned devnum, const char *pdev,
			char *err, size_t errlen)
{
	char *why = NULL;
	unsigned b = be_domid_of(be);
	const char *rel = strstr(be, "/backend/");

	/* The backend writes the state, then the reason: give it a moment. */
	for (int i = 0; i < 10 && !why; i++) {
		why = xsu_readf(xs, XBT_NULL, "%s/vscsi-devs/dev-%u/error", be, devnum);
		if (!why)
			why = xsu_readf(xs, XBT_NULL, "%s/error", be);
		if (!why && rel)
			why = xsu_readf(xs, XBT_NULL, "/local/domain/%u/error%s/error", b, rel);
		if (!why)
			poll(NULL, 0, 20);
	}
	snprintf(err, errlen, "dev-%u (p-dev \"%s\") failed in the backend: %s", devnum, pdev,
		 why ? why : "no reason given in xenstore (see the backend's log)");
	free(why);
}

/* A transaction, or XBT_NULL with errno and err saying why. */
static xs_transaction_t txn_start(struct xs_handle *xs, char *err, size_t errlen)
{
	xs_transaction_t t = xs_transaction_start(xs);
	int e = errno;

	if (t == XBT_NULL) {
		snprintf(err, errlen, "xenstore transaction: %s", strerror(e));
		errno = e;
	}
	return t;
}

/* Ends t: 1 committed, 0 to try again (a conflict), or -errno with err
 * saying why. */
static int txn_commit(struct xs_handle *xs, xs_transaction_t t, char *err, size_t errlen)
{
	int e;

	if (xs_transaction_end(xs, t, false))
		return 1;
	e = errno;
	if (e == EAGAIN)
		return 0;
	snprintf(err, errlen, "xenstore transaction: %s", strerror(e));
	return -e;
}

static bool busy_state(int s)
{
	return s == XenbusStateInitialised || s == XenbusStateReconfiguring ||
	       s == XenbusStateReconfigured;
}

/* Takes dev-N entries out of a vhost. Entries the backend serves (dev
 * state 3 or 4 in a connected vhost) go through a reconfigure cycle
 * (vhost 7, dev 5 -> 6, vhost back to 4); the others are removed
 * directly. After a timeout everything is removed anyway. */
static int hot_remove(struct xs_handle *xs, const char *be, const char *fe, const unsigned *devs,
		      unsigned n, unsigned timeout_ms, char *err, size_t errlen)
{
	long deadline = now_ms() + timeout_ms;
	char path[TS_PATH];
	bool cycle[64] = { false };
	unsigned ncycle;
	int rc = 0, be_state, c;

	if (n > 64)
		return -EINVAL;
	for (;;) {
		xs_transaction_t t = txn_start(xs, err, errlen);

		if (t == XBT_NULL)
			return -errno;
		be_state = xsu_read_intf(xs, t, -1, "%s/state", be);
		if (busy_state(be_state)) {
			xs_transaction_end(xs, t, true);
			if (now_ms() > deadline) {
				snprintf(err, errlen, "%s stays busy in state %d", be, be_state);
				return -EBUSY;
			}
			poll(NULL, 0, 50);
			continue;
		}
		ncycle = 0;
		for (unsigned i = 0; i < n; i++) {
			int s;

			xsu_pathf(path, sizeof(path), "%s/vscsi-devs/dev-%u/state", be, devs[i]);
			s = xsu_read_intf(xs, t, -1, "%s", path);
			cycle[i] = be_state == XenbusStateConnected &&
				   (s == XenbusStateInitialised || s == XenbusStateConnected ||
				    s == XenbusStateClosing);
			if (cycle[i]) {
				xsu_printf(xs, t, path, "%d", XenbusStateClosing);
				ncycle++;
			}
		}
		if (ncycle)
			xsu_write_uintf(xs, t, XenbusStateReconfiguring, "%s/state", be);
		c = txn_commit(xs, t, err, errlen);
		if (c < 0)
			return c;
		if (c)
			break;
	}
	for (unsigned i = 0; i < n; i++) {
		long left = deadline - now_ms();

		if (!cycle[i])
			continue;
		xsu_pathf(path, sizeof(path), "%s/vscsi-devs/dev-%u/state", be, devs[i]);
		if (ts_wait_value(xs, path, XenbusStateClosed, -1, left > 0 ? (unsigned)left : 0) < 0 &&
		    !rc) {
			snprintf(err, errlen, "dev-%u of %s did not close within %u ms (the guest did "
				 "not answer the reconfiguration); removed anyway", devs[i], be,
				 timeout_ms);
			rc = -ETIMEDOUT;
		}
	}
	if (ncycle) {
		long left = deadline - now_ms();

		xsu_pathf(path, sizeof(path), "%s/state", be);
		if (ts_wait_value(xs, path, XenbusStateConnected, -1, left > 0 ? (unsigned)left : 0) < 0) {
			/* Nobody finished the cycle: put the vhost back as it was. */
			xs_transaction_t t;

			do {
				t = xs_transaction_start(xs);
				if (xsu_read_intf(xs, t, -1, "%s", path) == XenbusStateReconfiguring)
					xsu_printf(xs, t, path, "%d", XenbusStateConnected);
			} while (!xs_transaction_end(xs, t, false) && errno == EAGAIN);
			if (!rc) {
				snprintf(err, errlen, "%s did not return to Connected within %u ms; "
					 "removed anyway", be, timeout_ms);
				rc = -ETIMEDOUT;
			}
		}
	}
	for (unsigned i = 0; i < n; i++)
		rm_dev_nodes(xs, be, fe, devs[i]);
	return rc;
}

/* Removes a whole vhost. A guest that is attached is asked to let go
 * first (online 0, state 5; the frontend closes, the backend reaches
 * 6), as xl removes a device. */
static int remove_vhost(struct xs_handle *xs, unsigned domid, unsigned devid, const char *be,
			const char *fe, unsigned timeout_ms, char *err, size_t errlen)
{
	char path[TS_PATH];
	int be_state, rc = 0;

	xsu_pathf(path, sizeof(path), "%s/state", be);
	be_state = xsu_read_intf(xs, XBT_NULL, -1, "%s", path);
	if (be_state == XenbusStateConnected || busy_state(be_state) || be_state == XenbusStateClosing) {
		xs_transaction_t t;

		do {
			t = xs_transaction_start(xs);
			xsu_pathf(path, sizeof(path), "%s/online", be);
			xsu_printf(xs, t, path, "0");
			xsu_pathf(path, sizeof(path), "%s/state", be);
			xsu_printf(xs, t, path, "%d", XenbusStateClosing);
		} while (!xs_transaction_end(xs, t, false) && errno == EAGAIN);
		if (ts_wait_value(xs, path, XenbusStateClosed, -1, timeout_ms) < 0) {
			snprintf(err, errlen, "domain %u did not release vhost %u within %u ms; removed "
				 "it anyway", domid, devid, timeout_ms);
			rc = -ETIMEDOUT;
		}
	}
	rm_vhost_nodes(xs, be, fe, domid, devid);
	return rc;
}

/* A hot-add the guest did not answer: the vhost back to Connected and
 * the new entries gone (what the backend may have taken of them stays
 * unused until the vhost goes). */
static void withdraw_hot_add(struct xs_handle *xs, const char *be, const char *fe,
			     const unsigned *devs, unsigned n)
{
	char path[TS_PATH];
	xs_transaction_t t;
	int s;

	do {
		t = xs_transaction_start(xs);
		xsu_pathf(path, sizeof(path), "%s/state", be);
		s = xsu_read_intf(xs, t, -1, "%s", path);
		if (s == XenbusStateReconfiguring || s == XenbusStateReconfigured)
			xsu_printf(xs, t, path, "%d", XenbusStateConnected);
		for (unsigned i = 0; i < n; i++) {
			xsu_pathf(path, sizeof(path), "%s/vscsi-devs/dev-%u", be, devs[i]);
			xs_rm(xs, t, path);
			xsu_pathf(path, sizeof(path), "%s/vscsi-devs/dev-%u", fe, devs[i]);
			xs_rm(xs, t, path);
		}
	} while (!xs_transaction_end(xs, t, false) && errno == EAGAIN);
}

int ts_attach(struct xs_handle *xs, unsigned domid, const char *pdev, const char *vdev,
	      const struct ts_opts *o, char *err, size_t errlen)
{
	struct ts_lun l = { .pdev = pdev, .pdevname = pdev, .vdev = vdev };

	return ts_attach_luns(xs, domid, &l, 1, o, err, errlen);
}

/* The backend opens a LUN when its entry appears, also before a guest
 * connects, and says so in dev-N/state (our scsiback; the Linux backend
 * opens LUNs only when the guest connects). */
static bool early_open(struct xs_handle *xs, const char *be)
{
	return xsu_read_intf(xs, XBT_NULL, 0, "%s/feature-early-open", be) == 1;
}

static bool pdev_ok(const char *p)
{
	if (!p || !*p || strlen(p) > 255)
		return false;
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

#define TS_MAX_LUNS 64

int ts_attach_luns(struct xs_handle *xs, unsigned domid, const struct ts_lun *luns, unsigned n,
		   const struct ts_opts *o, char *err, size_t errlen)
{
	char be[TS_PATH], fe[TS_PATH], path[TS_PATH], ctr[TS_PATH], rec[TS_PATH];
	struct vdev v[TS_MAX_LUNS];
	char vdev[VDEV_STR_LEN];
	unsigned devnum[TS_MAX_LUNS], first = 0, host;
	bool created = false, recorded;
	int be_state = -1, s, c, verdict = XenbusStateConnected;
	long deadline = now_ms() + o->timeout_ms;

	if (n == 0 || n > TS_MAX_LUNS) {
		snprintf(err, errlen, "between 1 and %d LUNs per vhost and call", TS_MAX_LUNS);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		if (vdev_parse(luns[i].vdev, &v[i]) < 0) {
			snprintf(err, errlen, "v-dev \"%s\" is not " VDEV_FORM,
				 luns[i].vdev ? luns[i].vdev : "");
			return -EINVAL;
		}
		if (!pdev_ok(luns[i].pdev) || (luns[i].pdevname && !pdev_ok(luns[i].pdevname))) {
			snprintf(err, errlen, "p-dev of v-dev %s is empty, too long or has control "
				 "characters", luns[i].vdev);
			return -EINVAL;
		}
		if (v[i].host != v[0].host) {
			snprintf(err, errlen, "v-devs %s and %s are on different vhosts", luns[0].vdev,
				 luns[i].vdev);
			return -EINVAL;
		}
		for (unsigned k = 0; k < i; k++)
			if (v[k].channel == v[i].channel && v[k].target == v[i].target &&
			    v[k].lun == v[i].lun) {
				snprintf(err, errlen, "v-devs %s and %s both name channel %u target %u "
					 "LUN %u of vhost %u", luns[k].vdev, luns[i].vdev, v[i].channel,
					 v[i].target, v[i].lun, v[i].host);
				return -EINVAL;
			}
	}
	host = v[0].host;
	if (!ts_domain_exists(xs, domid)) {
		snprintf(err, errlen, "domain %u does not exist", domid);
		return -ENOENT;
	}
	if (!ts_domain_exists(xs, o->be_domid)) {
		snprintf(err, errlen, "backend domain %u does not exist", o->be_domid);
		return -ENOENT;
	}
	for (unsigned i = 0; i < n; i++) {
		int r;

		for (unsigned k = 0; k < i; k++)
			if (sharing_same_device(luns[k].pdev, luns[i].pdev, o->sharing_sysfs) &&
			    !(luns[k].shared && luns[i].shared)) {
				snprintf(err, errlen, "v-devs %s and %s both name p-dev \"%s\": a device "
					 "goes to one v-dev unless both entries say \"shared\"",
					 luns[k].vdev, luns[i].vdev, luns[i].pdev);
				return -EADDRINUSE;
			}
		r = sharing_check(xs, o->be_domid, domid, luns[i].pdev, luns[i].vdev, luns[i].shared,
				  o->sharing_sysfs, err, errlen);
		if (r)
			return r;
	}
	ts_backend_path(xs, domid, host, o->be_domid, be, sizeof(be), &recorded);
	if (recorded && be_domid_of(be) != o->be_domid) {
		snprintf(err, errlen, "vhost %u of domain %u is served by backend domain %u, not %u",
			 host, domid, be_domid_of(be), o->be_domid);
		return -EINVAL;
	}
	xsu_pathf(fe, sizeof(fe), "/local/domain/%u/device/vscsi/%u", domid, host);
	xsu_pathf(rec, sizeof(rec), "/libxl/%u/vscsi/%u", domid, host);
	xsu_pathf(ctr, sizeof(ctr), "%s/next_vscsidev_id", rec);

	for (;;) {
		xs_transaction_t t = txn_start(xs, err, errlen);

		if (t == XBT_NULL)
			return -errno;
		be_state = xsu_read_intf(xs, t, -1, "%s/state", be);
		created = be_state < 0;
		if (created) {
			/* A new vhost: backend and frontend directories, owned by
			 * their domains and readable by the other side. Nodes
			 * created below inherit these permissions. */
			struct xs_permissions be_perms[2] = { { o->be_domid, XS_PERM_NONE },
							      { domid, XS_PERM_READ } };
			struct xs_permissions fe_perms[2] = { { domid, XS_PERM_NONE },
							      { o->be_domid, XS_PERM_READ } };

			first = 0;
			xs_rm(xs, t, be); /* leftovers without a state */
			xs_rm(xs, t, fe);
			xs_rm(xs, t, rec);
			xs_mkdir(xs, t, be);
			xs_set_permissions(xs, t, be, be_perms, 2);
			xs_mkdir(xs, t, fe);
			xs_set_permissions(xs, t, fe, fe_perms, 2);
			xsu_pathf(path, sizeof(path), "%s/frontend", be);
			xsu_printf(xs, t, path, "%s", fe);
			xsu_pathf(path, sizeof(path), "%s/frontend-id", be);
			xsu_printf(xs, t, path, "%u", domid);
			xsu_pathf(path, sizeof(path), "%s/online", be);
			xsu_printf(xs, t, path, "1");
			xsu_pathf(path, sizeof(path), "%s/feature-host", be);
			xsu_printf(xs, t, path, "%d", o->feature_host ? 1 : 0);
			xsu_pathf(path, sizeof(path), "%s/libxl_ctrl_index", be);
			xsu_printf(xs, t, path, "%u", host);
			xsu_pathf(path, sizeof(path), "%s/backend", fe);
			xsu_printf(xs, t, path, "%s", be);
			xsu_pathf(path, sizeof(path), "%s/backend-id", fe);
			xsu_printf(xs, t, path, "%u", o->be_domid);
			xsu_pathf(path, sizeof(path), "%s/state", fe);
			xsu_printf(xs, t, path, "%d", XenbusStateInitialising);
			xsu_pathf(path, sizeof(path), "%s/backend", rec);
			xsu_printf(xs, t, path, "%s", be);
		} else {
			xsu_pathf(path, sizeof(path), "%s/feature-host", be);
			if ((xsu_read_intf(xs, t, -1, "%s", path) == 1) != o->feature_host) {
				xs_transaction_end(xs, t, true);
				snprintf(err, errlen, "vhost %u of domain %u is %sin feature-host mode; all "
					 "its LUNs must be", host, domid, o->feature_host ? "not " : "");
				return -EINVAL;
			}
			for (unsigned i = 0; i < n; i++) {
				unsigned dup;

				if (ts_find_dev(xs, t, be, &v[i], &dup) == 0) {
					xs_transaction_end(xs, t, true);
					snprintf(err, errlen, "v-dev %u:%u:%u:%u is already attached to "
						 "domain %u (dev-%u of vhost %u)", host, v[i].channel,
						 v[i].target, v[i].lun, domid, dup, host);
					return -EEXIST;
				}
			}
			if (busy_state(be_state)) {
				/* Busy with another change: try again shortly. */
				xs_transaction_end(xs, t, true);
				if (now_ms() > deadline) {
					snprintf(err, errlen, "vhost %u of domain %u stays busy (state %d)",
						 host, domid, be_state);
					return -EBUSY;
				}
				poll(NULL, 0, 50);
				continue;
			}
			/* Closed: the guest let go of the ring (the vscsi CLI does
			 * after each command; a driver unloaded); a LUN added now is
			 * opened at its next connect, like one added at InitWait.
			 * Closing is a guest on its way out. */
			if (be_state != XenbusStateInitialising && be_state != XenbusStateInitWait &&
			    be_state != XenbusStateConnected && be_state != XenbusStateClosed) {
				xs_transaction_end(xs, t, true);
				snprintf(err, errlen, "vhost %u of domain %u is closing (state %d): the guest "
					 "is letting go of it; try again once it is closed", host, domid,
					 be_state);
				return -EIO;
			}
			s = xsu_read_intf(xs, t, -1, "%s", ctr);
			first = s < 0 ? 0 : (unsigned)s;
		}
		/* dev-N numbers are never reused while the vhost lives. */
		xsu_printf(xs, t, ctr, "%u", first + n);
		for (unsigned i = 0; i < n; i++) {
			devnum[i] = first + i;
			xsu_pathf(path, sizeof(path), "%s/vscsi-devs/dev-%u/p-dev", be, devnum[i]);
			xsu_printf(xs, t, path, "%s", luns[i].pdev);
			xsu_pathf(path, sizeof(path), "%s/vscsi-devs/dev-%u/p-devname", be, devnum[i]);
			xsu_printf(xs, t, path, "%s", luns[i].pdevname ? luns[i].pdevname : luns[i].pdev);
			xsu_pathf(path, sizeof(path), "%s/vscsi-devs/dev-%u/v-dev", be, devnum[i]);
			xsu_printf(xs, t, path, "%s", vdev_format(&v[i], vdev));
			if (luns[i].shared) {
				xsu_pathf(path, sizeof(path), "%s/vscsi-devs/dev-%u/" SHARING_NODE, be,
					  devnum[i]);
				xsu_printf(xs, t, path, "1");
			}
			if (luns[i].initiator && luns[i].initiator[0]) {
				xsu_pathf(path, sizeof(path), "%s/vscsi-devs/dev-%u/" IPORT_INITIATOR_NODE,
					  be, devnum[i]);
				xsu_printf(xs, t, path, "%s", luns[i].initiator);
			}
			if (luns[i].isid && luns[i].isid[0]) {
				xsu_pathf(path, sizeof(path), "%s/vscsi-devs/dev-%u/" IPORT_ISID_NODE, be,
					  devnum[i]);
				xsu_printf(xs, t, path, "%s", luns[i].isid);
			}
			xsu_pathf(path, sizeof(path), "%s/vscsi-devs/dev-%u/state", be, devnum[i]);
			xsu_printf(xs, t, path, "%d", XenbusStateInitialising);
		}
		if (created)
			xsu_write_uintf(xs, t, XenbusStateInitialising, "%s/state", be);
		else if (be_state == XenbusStateConnected)
			xsu_write_uintf(xs, t, XenbusStateReconfiguring, "%s/state", be);
		c = txn_commit(xs, t, err, errlen);
		if (c < 0)
			return c;
		if (c)
			break;
	}

	xsu_pathf(path, sizeof(path), "%s/state", be);
	if (created) {
		s = ts_wait_value(xs, path, XenbusStateInitWait, XenbusStateConnected, o->timeout_ms);
		if (s == -ECANCELED)
			return ts_cancelled_attach(err, errlen);
		if (s < 0) {
			rm_vhost_nodes(xs, be, fe, domid, host);
			snprintf(err, errlen, "backend domain %u did not take vhost %u of domain %u up "
				 "within %u ms (is scsiback running there?); removed it again", o->be_domid,
				 host, domid, o->timeout_ms);
			return -ETIMEDOUT;
		}
		if (s != XenbusStateConnected && !o->wait_connected) {
			if (!early_open(xs, be))
				return 0; /* the LUNs are opened when the guest connects */
			verdict = XenbusStateInitialised;
		} else if (s != XenbusStateConnected) {
			if ((s = ts_wait_value(xs, path, XenbusStateConnected, -1, o->timeout_ms)) < 0) {
				char why[256];

				if (s == -ECANCELED)
					return ts_cancelled_attach(err, errlen);

				remove_vhost(xs, domid, host, be, fe, 1000, why, sizeof(why));
				snprintf(err, errlen, "domain %u did not connect vhost %u within %u ms; "
					 "removed it again", domid, host, o->timeout_ms);
				return -ETIMEDOUT;
			}
		}
	} else if (be_state != XenbusStateConnected && !o->wait_connected) {
		if (!early_open(xs, be))
			return 0; /* taken up when the guest connects */
		verdict = XenbusStateInitialised;
	} else if (be_state != XenbusStateConnected) {
		if ((s = ts_wait_value(xs, path, XenbusStateConnected, -1, o->timeout_ms)) < 0) {
			if (s == -ECANCELED)
				return ts_cancelled_attach(err, errlen);
			for (unsigned i = 0; i < n; i++)
				rm_dev_nodes(xs, be, fe, devnum[i]);
			snprintf(err, errlen, "domain %u did not connect vhost %u within %u ms; the new "
				 "LUN%s removed again", domid, host, o->timeout_ms, n > 1 ? "s were" : " was");
			return -ETIMEDOUT;
		}
	} else if ((s = ts_wait_value(xs, path, XenbusStateConnected, -1, o->timeout_ms)) < 0) {
		if (s == -ECANCELED)
			return ts_cancelled_attach(err, errlen);
		withdraw_hot_add(xs, be, fe, devnum, n);
		snprintf(err, errlen, "vhost %u of domain %u did not finish the hot-add within %u ms "
			 "(the guest did not answer the reconfiguration); the new LUN%s removed again",
			 host, domid, o->timeout_ms, n > 1 ? "s were" : " was");
		return -ETIMEDOUT;
	}

	/* Each LUN's own verdict: 6 refused; 4 in a connected vhost, and in
	 * one no guest is connected to 3 (opened early) or 4 (a guest
	 * connected meanwhile and took it). */
	{
		unsigned good[TS_MAX_LUNS], ngood = 0, nbad = 0;
		const int ends[3] = { XenbusStateConnected, XenbusStateClosed, verdict };
		int rc = 0;

		for (unsigned i = 0; i < n; i++) {
			long left = deadline - now_ms();

			xsu_pathf(path, sizeof(path), "%s/vscsi-devs/dev-%u/state", be, devnum[i]);
			s = ts_wait_in(xs, path, ends, 3, left > 1000 ? (unsigned)left : 1000);
			if (s == -ECANCELED)
				return ts_cancelled_attach(err, errlen);
			if (s == XenbusStateConnected || s == verdict) {
				good[ngood++] = devnum[i];
				continue;
			}
			if (!rc) {
				if (s == XenbusStateClosed)
					dev_failure(xs, be, devnum[i], luns[i].pdev, err, errlen);
				else
					snprintf(err, errlen, "dev-%u (p-dev \"%s\") did not come up within "
						 "%u ms (state %d)", devnum[i], luns[i].pdev, o->timeout_ms,
						 dev_state(xs, be, devnum[i]));
				rc = s < 0 ? -ETIMEDOUT : -EIO;
			}
			nbad++;
		}
		if (!rc)
			return 0;
		/* All or nothing: withdraw what this call added. */
		if (created) {
			char why[256];

			remove_vhost(xs, domid, host, be, fe, o->timeout_ms, why, sizeof(why));
		} else {
			char why[256];
			unsigned bad[TS_MAX_LUNS], k = 0;

			for (unsigned i = 0; i < n; i++) {
				bool ok = false;

				for (unsigned g = 0; g < ngood; g++)
					ok |= good[g] == devnum[i];
				if (!ok)
					bad[k++] = devnum[i];
			}
			for (unsigned i = 0; i < k; i++)
				rm_dev_nodes(xs, be, fe, bad[i]);
			if (ngood)
				hot_remove(xs, be, fe, good, ngood, o->timeout_ms, why, sizeof(why));
		}
		if (n > 1) {
			size_t used = strlen(err);

			snprintf(err + used, errlen - used, "; none of the %u LUNs was attached", n);
		}
		return rc;
	}
}

int ts_detach(struct xs_handle *xs, unsigned domid, const char *vdev, const struct ts_opts *o,
	      char *err, size_t errlen)
{
	char be[TS_PATH], fe[TS_PATH];
	struct vdev v;
	unsigned devnum;

	if (vdev_parse(vdev, &v) < 0) {
		snprintf(err, errlen, "v-dev \"%s\" is not " VDEV_FORM, vdev ? vdev : "");
		return -EINVAL;
	}
	ts_backend_path(xs, domid, v.host, o->be_domid, be, sizeof(be), NULL);
	xsu_pathf(fe, sizeof(fe), "/local/domain/%u/device/vscsi/%u", domid, v.host);
	if (ts_find_dev(xs, XBT_NULL, be, &v, &devnum) < 0) {
		snprintf(err, errlen, "v-dev %s is not attached to domain %u", vdev, domid);
		return -ENOENT;
	}
	if (!ts_domain_exists(xs, domid)) {
		/* Leftovers of a destroyed guest: nobody to ask. */
		if (count_devs(xs, be) <= 1)
			rm_vhost_nodes(xs, be, fe, domid, v.host);
		else
			rm_dev_nodes(xs, be, fe, devnum);
		return 0;
	}
	if (count_devs(xs, be) <= 1)
		/* The last LUN: the whole vhost goes, as xl removes a device. */
		return remove_vhost(xs, domid, v.host, be, fe, o->timeout_ms, err, errlen);
	return hot_remove(xs, be, fe, &devnum, 1, o->timeout_ms, err, errlen);
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* Adds the numeric names in dir whose sub-directory sub (NULL: the entry
 * itself) is not empty, once each. */
static unsigned add_ids(struct xs_handle *xs, const char *dir, const char *sub, unsigned **ids,
			unsigned k)
{
	unsigned n = 0;
	char **d = xs_directory(xs, XBT_NULL, dir, &n);

	for (unsigned i = 0; d && i < n; i++) {
		unsigned nv, *grown;
		bool have = false;
		uint64_t id;
		char **v;

		/* a domid (DOMID_FIRST_RESERVED is 0x7ff0) */
		if (!dec_parse_str(d[i], 0x7fef, &id))
			continue;
		for (unsigned j = 0; j < k; j++)
			have |= (*ids)[j] == id;
		if (have)
			continue;
		v = xsu_directoryf(xs, XBT_NULL, &nv, "%s/%s%s%s", dir, d[i], sub ? "/" : "", sub ? sub : "");
		free(v);
		if (!v || !nv || !(grown = realloc(*ids, (k + 1) * sizeof(**ids))))
			continue;
		*ids = grown;
		(*ids)[k++] = (unsigned)id;
	}
	free(d);
	return k;
}

int ts_recorded_domains(struct xs_handle *xs, unsigned be_domid, unsigned **ids)
{
	char dir[TS_PATH];
	unsigned k;

	*ids = NULL;
	k = add_ids(xs, "/libxl", "vscsi", ids, 0);
	/* libxl deletes /libxl/<domid> when it destroys a guest but leaves
	 * backend directories of device kinds it does not know (vscsi). */
	xsu_pathf(dir, sizeof(dir), "/local/domain/%u/backend/vscsi", be_domid);
	k = add_ids(xs, dir, NULL, ids, k);
	if (!*ids)
		*ids = calloc(1, sizeof(**ids));
	if (*ids)
		qsort(*ids, k, sizeof(**ids), cmp_unsigned);
	return *ids ? (int)k : 0;
}
