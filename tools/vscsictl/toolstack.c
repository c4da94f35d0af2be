#include "toolstack.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

int ts_parse_vdev(const char *s, struct ts_vdev *out)
{
	char extra;

	if (!s || sscanf(s, "%u:%u:%u:%u%c", &out->host, &out->channel, &out->target, &out->lun,
			 &extra) != 4)
		return -EINVAL;
	for (const char *p = s; *p; p++)
		if ((*p < '0' || *p > '9') && *p != ':')
			return -EINVAL;
	if (out->channel > 0xffff || out->target > 0xffff || out->lun > 0xffff || out->host > 0xffff)
		return -EINVAL;
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int read_int_t(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
	unsigned len;
	char *v = xs_read(xs, t, path, &len), *end;
	long x;

	if (!v)
		return -1;
	x = strtol(v, &end, 10);
	if (end == v || *end)
		x = -1;
	free(v);
	return (int)x;
}

static bool write_t(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool write_t(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *fmt, ...)
{
	char val[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return xs_write(xs, t, path, val, (unsigned)n);
}

int ts_wait_value(struct xs_handle *xs, const char *path, int want, int want2, unsigned timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	char token[32];
	int v;

	snprintf(token, sizeof(token), "ts-wait-%ld", now_ms());
	if (!xs_watch(xs, path, token))
		return -errno;
	for (;;) {
		struct pollfd p = { .fd = xs_fileno(xs), .events = POLLIN };
		long left;
		char **ev;

		while ((ev = xs_check_watch(xs)))
			free(ev);
		v = read_int_t(xs, XBT_NULL, path);
		if (v == want || (want2 >= 0 && v == want2))
			break;
		left = deadline - now_ms();
		if (left <= 0) {
			v = -ETIMEDOUT;
			break;
		}
		poll(&p, 1, (int)(left > 200 ? 200 : left));
	}
	xs_unwatch(xs, path, token);
	return v;
}

static bool domain_exists(struct xs_handle *xs, unsigned domid)
{
	char path[64];
	unsigned len;
	char *v;

	snprintf(path, sizeof(path), "/local/domain/%u/domid", domid);
	v = xs_read(xs, XBT_NULL, path, &len);
	free(v);
	return v != NULL;
}

/* Finds the dev-N of a vhost whose v-dev has the same (c,t,l). */
static int find_dev(struct xs_handle *xs, xs_transaction_t t, const char *be,
		    const struct ts_vdev *v, unsigned *devnum)
{
	char path[256], **devs;
	unsigned n = 0;
	int found = -ENOENT;

	snprintf(path, sizeof(path), "%s/vscsi-devs", be);
	devs = xs_directory(xs, t, path, &n);
	for (unsigned i = 0; devs && i < n && found; i++) {
		struct ts_vdev o;
		unsigned len, num;
		char *s;

		if (sscanf(devs[i], "dev-%u", &num) != 1)
			continue;
		snprintf(path, sizeof(path), "%s/vscsi-devs/%s/v-dev", be, devs[i]);
		s = xs_read(xs, t, path, &len);
		if (s && ts_parse_vdev(s, &o) == 0 && o.channel == v->channel &&
		    o.target == v->target && o.lun == v->lun) {
			*devnum = num;
			found = 0;
		}
		free(s);
	}
	free(devs);
	return found;
}

static void rm_dev(struct xs_handle *xs, const char *be, unsigned devnum)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/vscsi-devs/dev-%u", be, devnum);
	xs_rm(xs, XBT_NULL, path);
}

static void rm_vhost(struct xs_handle *xs, const char *be, const char *fe, unsigned domid,
		     unsigned devid)
{
	char path[128];

	xs_rm(xs, XBT_NULL, be);
	xs_rm(xs, XBT_NULL, fe);
	snprintf(path, sizeof(path), "/libxl/%u/vscsi/%u", domid, devid);
	xs_rm(xs, XBT_NULL, path);
}

/* The dev-N failure the backend reported, for the user. */
static void dev_failure(struct xs_handle *xs, const char *be, unsigned devnum, const char *pdev,
			char *err, size_t errlen)
{
	char path[256], *why;
	unsigned len;

	snprintf(path, sizeof(path), "%s/vscsi-devs/dev-%u/error", be, devnum);
	why = xs_read(xs, XBT_NULL, path, &len);
	snprintf(err, errlen, "dev-%u (p-dev \"%s\") failed in the backend: %s", devnum, pdev,
		 why ? why : "no reason given");
	free(why);
}

int ts_attach(struct xs_handle *xs, unsigned domid, const char *pdev, const char *vdev,
	      const struct ts_opts *o, char *err, size_t errlen)
{
	char be[128], fe[128], path[256], ctr[128];
	struct ts_vdev v;
	bool created = false;
	unsigned devnum = 0;
	int be_state = -1;
	long deadline = now_ms() + o->timeout_ms;

	if (ts_parse_vdev(vdev, &v) < 0) {
		snprintf(err, errlen, "v-dev \"%s\" is not HOST:CHANNEL:TARGET:LUN (decimal)", vdev);
		return -EINVAL;
	}
	if (!pdev || !*pdev || strlen(pdev) > 255) {
		snprintf(err, errlen, "p-dev is empty or too long");
		return -EINVAL;
	}
	if (!domain_exists(xs, domid)) {
		snprintf(err, errlen, "domain %u does not exist", domid);
		return -ENOENT;
	}
	snprintf(be, sizeof(be), "/local/domain/%u/backend/vscsi/%u/%u", o->be_domid, domid, v.host);
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vscsi/%u", domid, v.host);
	snprintf(ctr, sizeof(ctr), "/libxl/%u/vscsi/%u/next_vscsidev_id", domid, v.host);

	for (;;) {
		xs_transaction_t t = xs_transaction_start(xs);
		unsigned dup;

		if (t == XBT_NULL) {
			snprintf(err, errlen, "xenstore transaction: %s", strerror(errno));
			return -errno;
		}
		snprintf(path, sizeof(path), "%s/state", be);
		be_state = read_int_t(xs, t, path);
		if (be_state < 0) {
			/* A new vhost: backend and frontend directories, owned by
			 * their domains and readable by the other side. */
			struct xs_permissions be_perms[2] = { { o->be_domid, XS_PERM_NONE },
							      { domid, XS_PERM_READ } };
			struct xs_permissions fe_perms[2] = { { domid, XS_PERM_NONE },
							      { o->be_domid, XS_PERM_READ } };

			created = true;
			devnum = 0;
			xs_mkdir(xs, t, be);
			xs_set_permissions(xs, t, be, be_perms, 2);
			xs_mkdir(xs, t, fe);
			xs_set_permissions(xs, t, fe, fe_perms, 2);
			snprintf(path, sizeof(path), "%s/frontend", be);
			write_t(xs, t, path, "%s", fe);
			snprintf(path, sizeof(path), "%s/frontend-id", be);
			write_t(xs, t, path, "%u", domid);
			snprintf(path, sizeof(path), "%s/online", be);
			write_t(xs, t, path, "1");
			snprintf(path, sizeof(path), "%s/feature-host", be);
			write_t(xs, t, path, "%d", o->feature_host ? 1 : 0);
			snprintf(path, sizeof(path), "%s/libxl_ctrl_index", be);
			write_t(xs, t, path, "%u", v.host);
			snprintf(path, sizeof(path), "%s/backend", fe);
			write_t(xs, t, path, "%s", be);
			snprintf(path, sizeof(path), "%s/backend-id", fe);
			write_t(xs, t, path, "%u", o->be_domid);
			snprintf(path, sizeof(path), "%s/state", fe);
			write_t(xs, t, path, "%d", XenbusStateInitialising);
		} else {
			snprintf(path, sizeof(path), "%s/feature-host", be);
			if ((read_int_t(xs, t, path) == 1) != o->feature_host) {
				xs_transaction_end(xs, t, true);
				snprintf(err, errlen, "vhost %u of domain %u is %sin feature-host mode; all its "
					 "LUNs must be", v.host, domid, o->feature_host ? "not " : "");
				return -EINVAL;
			}
			if (find_dev(xs, t, be, &v, &dup) == 0) {
				xs_transaction_end(xs, t, true);
				snprintf(err, errlen, "v-dev %u:%u:%u is already attached to vhost %u of domain "
					 "%u (dev-%u)", v.channel, v.target, v.lun, v.host, domid, dup);
				return -EEXIST;
			}
			if (be_state == XenbusStateInitialised || be_state == XenbusStateReconfiguring ||
			    be_state == XenbusStateReconfigured) {
				/* Busy with another change: try again shortly. */
				xs_transaction_end(xs, t, true);
				if (now_ms() > deadline) {
					snprintf(err, errlen, "vhost %u of domain %u stays busy (state %d)",
						 v.host, domid, be_state);
					return -EBUSY;
				}
				poll(NULL, 0, 50);
				continue;
			}
			if (be_state != XenbusStateInitialising && be_state != XenbusStateInitWait &&
			    be_state != XenbusStateConnected) {
				xs_transaction_end(xs, t, true);
				snprintf(err, errlen, "vhost %u of domain %u is in state %d (closing?)", v.host,
					 domid, be_state);
				return -EIO;
			}
			devnum = (unsigned)read_int_t(xs, t, ctr);
			if ((int)devnum < 0)
				devnum = 0;
		}
		/* dev-N numbers are never reused while the vhost lives. */
		write_t(xs, t, ctr, "%u", devnum + 1);
		snprintf(path, sizeof(path), "%s/vscsi-devs/dev-%u/p-dev", be, devnum);
		write_t(xs, t, path, "%s", pdev);
		snprintf(path, sizeof(path), "%s/vscsi-devs/dev-%u/p-devname", be, devnum);
		write_t(xs, t, path, "%s", pdev);
		snprintf(path, sizeof(path), "%s/vscsi-devs/dev-%u/v-dev", be, devnum);
		write_t(xs, t, path, "%u:%u:%u:%u", v.host, v.channel, v.target, v.lun);
		snprintf(path, sizeof(path), "%s/vscsi-devs/dev-%u/state", be, devnum);
		write_t(xs, t, path, "%d", XenbusStateInitialising);
		if (created) {
			snprintf(path, sizeof(path), "%s/state", be);
			write_t(xs, t, path, "%d", XenbusStateInitialising);
		} else if (be_state == XenbusStateConnected) {
			snprintf(path, sizeof(path), "%s/state", be);
			write_t(xs, t, path, "%d", XenbusStateReconfiguring);
		}
		if (xs_transaction_end(xs, t, false))
			break;
		if (errno != EAGAIN) {
			snprintf(err, errlen, "xenstore transaction: %s", strerror(errno));
			return -errno;
		}
	}

	if (created) {
		int s;

		snprintf(path, sizeof(path), "%s/state", be);
		s = ts_wait_value(xs, path, XenbusStateInitWait, XenbusStateConnected, o->timeout_ms);
		if (s < 0) {
			rm_vhost(xs, be, fe, domid, v.host);
			snprintf(err, errlen, "backend domain %u did not take vhost %u of domain %u up within "
				 "%u ms (is scsiback running there?)", o->be_domid, v.host, domid, o->timeout_ms);
			return -ETIMEDOUT;
		}
		if (!o->wait_connected)
			return 0;
		s = ts_wait_value(xs, path, XenbusStateConnected, -1, o->timeout_ms);
		if (s < 0) {
			snprintf(err, errlen, "domain %u did not connect vhost %u within %u ms", domid, v.host,
				 o->timeout_ms);
			return -ETIMEDOUT;
		}
	} else if (be_state != XenbusStateConnected) {
		return 0; /* taken up when the guest connects */
	} else {
		int s;

		snprintf(path, sizeof(path), "%s/state", be);
		s = ts_wait_value(xs, path, XenbusStateConnected, -1, o->timeout_ms);
		if (s < 0) {
			rm_dev(xs, be, devnum);
			snprintf(err, errlen, "vhost %u of domain %u did not finish the hot-add within %u ms",
				 v.host, domid, o->timeout_ms);
			return -ETIMEDOUT;
		}
	}
	/* The LUN's own verdict: 4 (or 3 while the guest adds it) or 6. */
	snprintf(path, sizeof(path), "%s/vscsi-devs/dev-%u/state", be, devnum);
	{
		int s = ts_wait_value(xs, path, XenbusStateConnected, XenbusStateClosed, o->timeout_ms);

		if (s == XenbusStateClosed || s < 0) {
			if (s == XenbusStateClosed)
				dev_failure(xs, be, devnum, pdev, err, errlen);
			else
				snprintf(err, errlen, "dev-%u (p-dev \"%s\") did not come up within %u ms", devnum,
					 pdev, o->timeout_ms);
			if (created)
				rm_vhost(xs, be, fe, domid, v.host);
			else
				rm_dev(xs, be, devnum);
			return s < 0 ? -ETIMEDOUT : -EIO;
		}
	}
	return 0;
}

int ts_detach(struct xs_handle *xs, unsigned domid, const char *vdev, const struct ts_opts *o,
	      char *err, size_t errlen)
{
	char be[128], fe[128], path[256], **devs;
	struct ts_vdev v;
	unsigned devnum, ndev = 0;
	int be_state;

	if (ts_parse_vdev(vdev, &v) < 0) {
		snprintf(err, errlen, "v-dev \"%s\" is not HOST:CHANNEL:TARGET:LUN (decimal)", vdev);
		return -EINVAL;
	}
	snprintf(be, sizeof(be), "/local/domain/%u/backend/vscsi/%u/%u", o->be_domid, domid, v.host);
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vscsi/%u", domid, v.host);
	if (find_dev(xs, XBT_NULL, be, &v, &devnum) < 0) {
		snprintf(err, errlen, "v-dev %s is not attached to domain %u", vdev, domid);
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/vscsi-devs", be);
	devs = xs_directory(xs, XBT_NULL, path, &ndev);
	free(devs);
	snprintf(path, sizeof(path), "%s/state", be);
	be_state = read_int_t(xs, XBT_NULL, path);

	if (ndev <= 1) {
		/* The last LUN: the whole vhost goes, as xl removes a device. */
		if (be_state == XenbusStateConnected) {
			snprintf(path, sizeof(path), "%s/online", be);
			write_t(xs, XBT_NULL, path, "0");
			snprintf(path, sizeof(path), "%s/state", be);
			write_t(xs, XBT_NULL, path, "%d", XenbusStateClosing);
			snprintf(path, sizeof(path), "%s/state", fe);
			ts_wait_value(xs, path, XenbusStateClosed, -1, o->timeout_ms);
		}
		rm_vhost(xs, be, fe, domid, v.host);
		return 0;
	}
	if (be_state == XenbusStateConnected) {
		xs_transaction_t t;

		for (;;) {
			t = xs_transaction_start(xs);
			snprintf(path, sizeof(path), "%s/state", be);
			write_t(xs, t, path, "%d", XenbusStateReconfiguring);
			snprintf(path, sizeof(path), "%s/vscsi-devs/dev-%u/state", be, devnum);
			write_t(xs, t, path, "%d", XenbusStateClosing);
			if (xs_transaction_end(xs, t, false))
				break;
			if (errno != EAGAIN) {
				snprintf(err, errlen, "xenstore transaction: %s", strerror(errno));
				return -errno;
			}
		}
		snprintf(path, sizeof(path), "%s/vscsi-devs/dev-%u/state", be, devnum);
		if (ts_wait_value(xs, path, XenbusStateClosed, -1, o->timeout_ms) < 0) {
			snprintf(err, errlen, "dev-%u of vhost %u did not close within %u ms; removed anyway",
				 devnum, v.host, o->timeout_ms);
			rm_dev(xs, be, devnum);
			return -ETIMEDOUT;
		}
		snprintf(path, sizeof(path), "%s/state", be);
		ts_wait_value(xs, path, XenbusStateConnected, -1, o->timeout_ms);
	}
	rm_dev(xs, be, devnum);
	return 0;
}
