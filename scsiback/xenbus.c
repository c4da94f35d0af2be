#include "xenbus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "config.h"
#include "decimal.h"
#include "iport.h"
#include "log.h"
#include "vdev.h"
#include "vhost.h"
#include "xsutil.h"

static struct evloop_handler xs_handler;
static struct evloop_handler probe_handler;

/* How often the xenstore connection is tried: libxenstore's watch fd
 * stays silent when xenstored goes away (its reader thread just ends). */
#define XENBUS_PROBE_S 5

/* Linux's xen-scsiback serves the same backend/vscsi directory: with it
 * loaded, the kernel and we would both answer the frontend and map the
 * ring. Nothing in xenstore tells who serves a vhost; sysfs does. */
static bool kernel_backend_loaded(const struct scsiback *sb)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/module/xen_scsiback", sb->cfg->sysfs_root);
	return access(path, F_OK) == 0;
}

static bool kernel_backend_bound(const struct scsiback *sb, uint32_t domid, uint32_t devid)
{
	char path[340];

	snprintf(path, sizeof(path), "%s/bus/xen-backend/devices/vscsi-%u-%u/driver",
		 sb->cfg->sysfs_root, domid, devid);
	return access(path, F_OK) == 0;
}

static void set_state(struct vhost *vh, int state)
{
	char path[256];

	int r;

	/* A vhost that connects has no failure left to tell: an error of an
	 * earlier attempt goes first (whoever sees 4 must not read it). */
	if (state == XenbusStateConnected) {
		snprintf(path, sizeof(path), "%s/error", vh->be_path);
		if (!xs_rm(vh->sb->xs, XBT_NULL, path) && errno != ENOENT)
			log_warn("%s: cannot remove %s: %s", vh->name, path, strerror(errno));
	}
	/* Only while the vhost's directory exists: after the toolstack
	 * removed it, a write would create it again, left for good. */
	snprintf(path, sizeof(path), "%s/state", vh->be_path);
	r = xsu_printf_existing(vh->sb->xs, path, "%d", state);
	if (r == -ENOENT)
		log_debug("%s: %s is gone; state %d not written", vh->name, vh->be_path, state);
	else if (r < 0)
		log_err("%s: cannot write %s: %s", vh->name, path, strerror(-r));
	vh->state = state;
}

/* Like xenbus_dev_fatal: say why in backend/error, and close. */
static void xenbus_fatal(struct vhost *vh, const char *msg)
{
	char path[256];

	log_err("%s: %s", vh->name, msg);
	snprintf(path, sizeof(path), "%s/error", vh->be_path);
	xsu_printf_existing(vh->sb->xs, path, "%s", msg);
	set_state(vh, XenbusStateClosing);
}

static void dev_set_state(struct vhost *vh, const char *dev, int state, const char *error)
{
	char path[256];

	/* The reason first: whoever sees state 6 can read why. */
	snprintf(path, sizeof(path), "%s/vscsi-devs/%s/error", vh->be_path, dev);
	if (error)
		xsu_printf_existing(vh->sb->xs, path, "%s", error);
	else
		xs_rm(vh->sb->xs, XBT_NULL, path);
	snprintf(path, sizeof(path), "%s/vscsi-devs/%s/state", vh->be_path, dev);
	xsu_printf_existing(vh->sb->xs, path, "%d", state);
}

/* SCAN_ADD_DEL: the guest connects or reconfigures: open what is new,
 * close what goes. SCAN_EARLY: the same for a vhost no frontend is
 * connected to, so that the toolstack learns whether a new LUN opens when
 * it attaches it, not when the guest first connects (feature-early-open).
 * SCAN_UPDATE: the guest took the LUNs it was offered. */
enum scan_mode { SCAN_ADD_DEL, SCAN_EARLY, SCAN_UPDATE };

/* LUNs whose dev-N entry the toolstack removed without the Closing step
 * (on a vhost no guest is connected to it may): closed, or the guest's
 * next connect would find a LUN that is no longer attached. */
static void drop_removed_luns(struct vhost *vh, char **devs, unsigned n)
{
	for (unsigned i = vh->luns.n; i-- > 0;) {
		unsigned devnum = vh->luns.v[i]->devnum, num;
		bool listed = false;

		for (unsigned k = 0; k < n && !listed; k++)
			listed = vdev_parse_devname(devs[k], &num) == 0 && num == devnum;
		if (!listed) {
			log_info("%s: dev-%u: its entry is gone; closing it", vh->name, devnum);
			vlun_remove(&vh->luns, devnum);
		}
	}
}

/* A LUN of another vhost that logs in to the same target with port p:
 * the same guest (same UUID) as another domain, the sender of a
 * migration or a domain not yet gone. A target keeps one session per
 * initiator port (a second login reinstates it, dropping the first), so
 * only one of them may hold it. */
static struct vlun *port_holder(const struct vhost *vh, const char *pdev, const struct iport *p)
{
	const char *slash = strrchr(pdev, '/');
	size_t tlen = slash ? (size_t)(slash - pdev) : strlen(pdev);

	for (struct vhost *o = vh->sb->vhosts; o; o = o->next) {
		if (o == vh)
			continue;
		for (unsigned i = 0; i < o->luns.n; i++) {
			struct vlun *vl = o->luns.v[i];

			if (vl->has_port && iport_equal(&vl->port, p) && strlen(vl->pdev) > tlen &&
			    vl->pdev[tlen] == '/' && !strncasecmp(vl->pdev, pdev, tlen))
				return vl;
		}
	}
	return NULL;
}

/* Whether a LUN about to open must first take its initiator port from
 * the same guest's other domain (see port_holder), and whether it may:
 * 1: open it later, at the guest's connect (an early open would drop the
 * session of a sender that still runs); 0: go on (the holder's LUN, if
 * any, is closed now: its domain is suspended or on its way out). */
static int port_take_over(struct vhost *vh, enum scan_mode mode, unsigned devnum, const char *pdev,
			  const struct vdev *v, const struct vlun_entry *e)
{
	struct iport p;
	struct vlun *holder;
	char err[300], ps[IPORT_TEXT_LEN], name[VLUN_VDEV_LEN];
	size_t gl = strlen(vh->guest);
	bool incoming = gl > 10 && !strcmp(vh->guest + gl - 10, "--incoming");

	if (vlun_port(&vh->luns, pdev, (uint16_t)v->channel, (uint16_t)v->target, (uint16_t)v->lun, e,
		      &p, err, sizeof(err)) != 1)
		return 0;  /* vlun_add says what is wrong, if anything */
	holder = port_holder(vh, pdev, &p);
	if (mode == SCAN_EARLY && (holder || incoming)) {
		/* (debug: every watch event on the vhost comes here) */
		log_debug("%s: dev-%u: %s opens when the guest connects: %s holds its initiator port "
			  "%s until then", vh->name, devnum, pdev,
			 holder ? holder->table->name : "the sender of this incoming migration",
			 iport_format(&p, ps, sizeof(ps)));
		return 1;
	}
	if (holder) {
		log_warn("%s: dev-%u: takes the initiator port %s over from %s dev-%u (v-dev %s, the "
			 "same guest: a migration or restore); closing that LUN", vh->name, devnum,
			 iport_format(&p, ps, sizeof(ps)), holder->table->name, holder->devnum,
			 vlun_vdev(holder, name));
		vlun_remove(holder->table, holder->devnum);
	}
	return 0;
}

static void scan_luns(struct vhost *vh, enum scan_mode mode)
{
	char path[256], **devs;
	unsigned n = 0;

	snprintf(path, sizeof(path), "%s/vscsi-devs", vh->be_path);
	devs = xs_directory(vh->sb->xs, XBT_NULL, path, &n);
	if (mode != SCAN_UPDATE && (devs || errno == ENOENT))
		drop_removed_luns(vh, devs, devs ? n : 0);
	for (unsigned i = 0; devs && i < n; i++) {
		const char *dev = devs[i];
		int state = xsu_read_intf(vh->sb->xs, XBT_NULL, -1, "%s/vscsi-devs/%s/state", vh->be_path, dev);
		unsigned devnum;
		struct vdev v;
		struct vlun_entry e;
		char *pdev, *vdev, *ini, *isid, err[300];

		/* One name per number ("dev-01" is not "dev-1"): the LUN's
		 * node is found again from its number. */
		if (vdev_parse_devname(dev, &devnum) < 0) {
			log_warn("%s: ignoring %s/%s: not a dev-N entry", vh->name, path, dev);
			continue;
		}
		if (mode == SCAN_UPDATE) {
			if (state == XenbusStateInitialised)
				dev_set_state(vh, dev, XenbusStateConnected, NULL);
			continue;
		}
		if (state != XenbusStateInitialising && state != XenbusStateInitialised &&
		    state != XenbusStateConnected && state != XenbusStateClosing)
			continue;
		if (state == XenbusStateClosing) {
			/* (none: its open failed or was never tried) */
			vlun_remove(&vh->luns, devnum);
			dev_set_state(vh, dev, XenbusStateClosed, NULL);
			continue;
		}
		pdev = xsu_readf(vh->sb->xs, XBT_NULL, "%s/vscsi-devs/%s/p-dev", vh->be_path, dev);
		vdev = xsu_readf(vh->sb->xs, XBT_NULL, "%s/vscsi-devs/%s/v-dev", vh->be_path, dev);
		e.initiator = ini = xsu_readf(vh->sb->xs, XBT_NULL, "%s/vscsi-devs/%s/" IPORT_INITIATOR_NODE,
					      vh->be_path, dev);
		e.isid = isid = xsu_readf(vh->sb->xs, XBT_NULL, "%s/vscsi-devs/%s/" IPORT_ISID_NODE,
					  vh->be_path, dev);
		if (!pdev || !vdev) {
			snprintf(err, sizeof(err), "%s missing", !pdev ? "p-dev" : "v-dev");
		} else if (vdev_parse(vdev, &v) < 0) {
			snprintf(err, sizeof(err), "v-dev \"%s\" is not h:c:t:l", vdev);
		} else if (state == XenbusStateConnected || state == XenbusStateInitialised) {
			/* After a restart or resume: re-add what the guest uses or
			 * is about to (3: we had added it, the guest not yet). */
			struct vlun *vl = vlun_find(&vh->luns, (uint16_t)v.channel, (uint16_t)v.target,
						    (uint16_t)v.lun);
			int r;

			err[0] = 0;
			if (!vl && !port_take_over(vh, mode, devnum, pdev, &v, &e)) {
				r = vlun_add(&vh->luns, devnum, pdev, (uint16_t)v.channel, (uint16_t)v.target,
					     (uint16_t)v.lun, &e, err, sizeof(err));
				if (r == 0 || r == -EINPROGRESS)
					err[0] = 0;
			}
		} else if (port_take_over(vh, mode, devnum, pdev, &v, &e)) {
			/* Opened at the guest's connect (3 now: attached, nothing
			 * known against it). */
			dev_set_state(vh, dev, XenbusStateInitialised, NULL);
			err[0] = 0;
		} else {
			int r = vlun_add(&vh->luns, devnum, pdev, (uint16_t)v.channel, (uint16_t)v.target,
					 (uint16_t)v.lun, &e, err, sizeof(err));

			/* Opening: xenbus_lun_opened() moves it on. */
			if (r == 0 || r == -EINPROGRESS)
				err[0] = 0;
			if (r == 0)
				dev_set_state(vh, dev, XenbusStateInitialised, NULL);
		}
		if (err[0]) {
			log_err("%s: %s: p-dev \"%s\": %s", vh->name, dev, pdev ? pdev : "", err);
			dev_set_state(vh, dev, XenbusStateClosed, err);
		}
		free(pdev);
		free(vdev);
		free(ini);
		free(isid);
	}
	free(devs);
}

/* Any change under a vhost no frontend is connected to (a LUN attached
 * or detached while the guest is not running or between two uses of the
 * userspace frontend): its LUNs opened or closed now. */
static void scan_early(struct vhost *vh)
{
	if (vhost_connected(vh) ||
	    (vh->state != XenbusStateInitWait && vh->state != XenbusStateClosed))
		return;
	scan_luns(vh, SCAN_EARLY);
}

static int read_ring_nodes(struct vhost *vh, uint32_t *ref, uint32_t *port)
{
	int r = xsu_read_intf(vh->sb->xs, XBT_NULL, -1, "%s/ring-ref", vh->fe_path);
	int p = xsu_read_intf(vh->sb->xs, XBT_NULL, -1, "%s/event-channel", vh->fe_path);

	if (r < 0 || p <= 0) {
		char msg[300];

		snprintf(msg, sizeof(msg), "reading %s/ring-ref and event-channel: missing or invalid",
			 vh->fe_path);
		xenbus_fatal(vh, msg);
		return -EINVAL;
	}
	*ref = (uint32_t)r;
	*port = (uint32_t)p;
	return 0;
}

/* Both sides wrote feature-persistent 1: the frontend keeps every page it
 * grants us granted while the ring is connected (docs/protocol.md). */
static bool persistent_agreed(struct vhost *vh)
{
	return vh->sb->cfg->persistent_grants &&
	       xsu_read_intf(vh->sb->xs, XBT_NULL, 0, "%s/feature-persistent", vh->fe_path) == 1;
}

static int xenbus_connect_ring(struct vhost *vh)
{
	uint32_t ref, port;
	char msg[128];

	if (read_ring_nodes(vh, &ref, &port) < 0)
		return -EINVAL;
	if (vhost_connected(vh) && (ref != vh->ring.ref || port != vh->ring.fe_port))
		vhost_disconnect(vh, false); /* a brand-new ring: the guest resumed */
	if (vhost_connected(vh))
		return 0;
	if (vhost_connect(vh, ref, port, persistent_agreed(vh)) < 0) {
		snprintf(msg, sizeof(msg), "cannot connect ring-ref %u / event channel %u", ref, port);
		xenbus_fatal(vh, msg);
		return -EIO;
	}
	return 0;
}

/* The vhost's directory is gone (or made anew): stop following it. */
static void xenbus_destroy(struct scsiback *sb, struct vhost *vh)
{
	char path[256], token[64];

	snprintf(path, sizeof(path), "%s/state", vh->fe_path);
	snprintf(token, sizeof(token), "fe/%u/%u", vh->fe_domid, vh->devid);
	xs_unwatch(sb->xs, path, token);
	vhost_free(vh, false);
}

static void frontend_changed(struct vhost *vh)
{
	char *raw = xsu_readf(vh->sb->xs, XBT_NULL, "%s/state", vh->fe_path);
	int fe = XenbusStateUnknown;

	/* Gone: Unknown. Not a number: a state no frontend may be in. */
	if (raw && !xsu_parse_int(raw, &fe))
		fe = -1;
	log_debug("%s: frontend state %d, ours %d", vh->name, fe, vh->state);
	switch (fe) {
	case XenbusStateInitialising:
		if (vhost_connected(vh))
			vhost_disconnect(vh, false);
		if (vh->state == XenbusStateClosed)
			set_state(vh, XenbusStateInitWait);
		break;
	case XenbusStateInitialised:
		if (vh->state != XenbusStateInitWait && vh->state != XenbusStateConnected &&
		    vh->state != XenbusStateClosed)
			break;
		if (xenbus_connect_ring(vh) == 0) {
			scan_luns(vh, SCAN_ADD_DEL);
			if (vlun_opening(&vh->luns))
				break;   /* lun_opened() calls us again */
			set_state(vh, XenbusStateConnected);
			vhost_start(vh);
		}
		break;
	case XenbusStateConnected:
		if (!vhost_connected(vh)) {
			/* We restarted under a running guest: pick the ring up. */
			if (xenbus_connect_ring(vh) < 0)
				break;
			scan_luns(vh, SCAN_ADD_DEL);
		}
		if (vlun_opening(&vh->luns))
			break;
		scan_luns(vh, SCAN_UPDATE);
		vhost_start(vh);
		if (vh->state != XenbusStateConnected)
			set_state(vh, XenbusStateConnected);
		break;
	case XenbusStateReconfiguring:
		scan_luns(vh, SCAN_ADD_DEL);
		if (vlun_opening(&vh->luns))
			break;
		set_state(vh, XenbusStateReconfigured);
		break;
	case XenbusStateClosing:
		if (vh->state == XenbusStateClosing || vh->state == XenbusStateClosed)
			break;
		vh->state = XenbusStateClosing; /* written once the ring is drained */
		vhost_disconnect(vh, true);
		if (!vhost_connected(vh))
			set_state(vh, XenbusStateClosing);
		break;
	case XenbusStateClosed:
	case XenbusStateUnknown:
		vhost_disconnect(vh, false);
		if (vh->state != XenbusStateClosed && vh->state != XenbusStateInitWait)
			set_state(vh, XenbusStateClosed);
		break;
	default:
		if (vh->state != XenbusStateClosing) {
			char msg[64];

			snprintf(msg, sizeof(msg), "saw state \"%.32s\" at frontend", raw);
			xenbus_fatal(vh, msg);
		}
		break;
	}
	free(raw);
}

/* A LUN's open has ended (scan_luns left it opening). The vhost's own
 * step (Connected, Reconfigured) waited for the last one: it is taken
 * now, from the frontend's state as it is now. */
void xenbus_lun_opened(struct vhost *vh, unsigned devnum, const char *pdev, int rc,
		       const char *err)
{
	char dev[VDEV_DEVNAME_LEN];
	int st;

	vdev_devname(devnum, dev);
	st = xsu_read_intf(vh->sb->xs, XBT_NULL, -1, "%s/vscsi-devs/%s/state", vh->be_path, dev);
	if (st != XenbusStateInitialising && st != XenbusStateInitialised &&
	    st != XenbusStateConnected && st != XenbusStateClosing) {
		/* The toolstack withdrew the entry meanwhile. (Closing: the
		 * next scan removes it, as any LUN.) */
		log_info("%s: %s: p-dev \"%s\": %s, but the entry is gone (state %d)", vh->name, dev,
			 pdev, rc ? err : "opened", st);
		if (!rc)
			vlun_remove(&vh->luns, devnum);
	} else if (rc) {
		log_err("%s: %s: p-dev \"%s\": %s", vh->name, dev, pdev, err);
		dev_set_state(vh, dev, XenbusStateClosed, err);
	} else if (st == XenbusStateInitialising) {
		dev_set_state(vh, dev, XenbusStateInitialised, NULL);
	}
	if (!vlun_opening(&vh->luns))
		frontend_changed(vh);
}

void xenbus_connect_failed(struct vhost *vh, int rc)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "cannot connect ring-ref %u / event channel %u: %s", vh->ring.ref,
		 vh->ring.fe_port, strerror(-rc));
	xenbus_fatal(vh, msg);
}

void xenbus_worker_restarted(struct scsiback *sb, uint32_t domid, bool ok)
{
	for (struct vhost *vh = sb->vhosts; vh; vh = vh->next) {
		if (vh->fe_domid != domid || !vh->link)
			continue;
		vhost_remote_reset(vh);
		if (ok)
			frontend_changed(vh);
		else
			xenbus_fatal(vh, "its worker keeps dying");
	}
}

void xenbus_vhost_disconnected(struct vhost *vh)
{
	if (vh->state == XenbusStateClosing)
		set_state(vh, XenbusStateClosing);
}

static struct vhost *xenbus_find(struct scsiback *sb, uint32_t domid, uint32_t devid)
{
	for (struct vhost *vh = sb->vhosts; vh; vh = vh->next)
		if (vh->fe_domid == domid && vh->devid == devid)
			return vh;
	return NULL;
}

/* A destroyed guest's backend directories: xl removes those of the device
 * kinds it knows, never vscsi's, and no guest can use them any more. */
static void remove_gone_domain(struct scsiback *sb, uint32_t domid)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%u", sb->be_root, domid);
	if (xs_rm(sb->xs, XBT_NULL, path))
		log_info("domain %u is gone; removed %s", domid, path);
	else if (errno != ENOENT)
		log_warn("domain %u is gone; cannot remove %s: %s", domid, path, strerror(errno));
}

/* Whether guest domid still exists. Only a privileged domain may ask
 * xenstored; a driver domain, refused, looks for the guest's frontend
 * directory fe_path instead, which it may read and which the toolstack
 * removes with the domain. */
static bool domain_alive(struct scsiback *sb, uint32_t domid, const char *fe_path)
{
	char *v;
	unsigned len;

	errno = 0;
	if (xs_is_domain_introduced(sb->xs, domid))
		return true;
	if (errno != EACCES && errno != EPERM)
		return false;
	v = xs_read(sb->xs, XBT_NULL, fe_path, &len);
	free(v);
	return v != NULL || errno != ENOENT;
}

/* The vhost's backend directory appeared, changed or went away. */
static void xenbus_reconcile(struct scsiback *sb, uint32_t domid, uint32_t devid)
{
	struct vhost *vh = xenbus_find(sb, domid, devid);
	char be[128], *fe_path;
	int fe_id, prev_state;

	snprintf(be, sizeof(be), "%s/%u/%u", sb->be_root, domid, devid);
	fe_path = xsu_readf(sb->xs, XBT_NULL, "%s/frontend", be);
	if (!fe_path) {
		if (vh)
			xenbus_destroy(sb, vh);
		return;
	}
	if (vh) {
		/* Removed and created again before we saw the removal: a fresh
		 * vhost says Initialising, which we never leave it in. */
		int st = xsu_read_intf(sb->xs, XBT_NULL, -1, "%s/state", be);

		free(fe_path);
		if (st != XenbusStateInitialising || vh->state == XenbusStateInitialising) {
			scan_early(vh);
			return;
		}
		log_info("%s: re-created by the toolstack; starting over", vh->name);
		xenbus_destroy(sb, vh);
		fe_path = xsu_readf(sb->xs, XBT_NULL, "%s/frontend", be);
		if (!fe_path)
			return;
	}
	if (!domain_alive(sb, domid, fe_path)) {
		/* Left by a guest destroyed while no daemon ran. */
		free(fe_path);
		remove_gone_domain(sb, domid);
		return;
	}
	if (kernel_backend_bound(sb, domid, devid)) {
		/* Logged once per vhost: watch events come for every write. */
		static uint32_t last_domid = ~0u, last_devid = ~0u;

		if (last_domid != domid || last_devid != devid)
			log_err("vhost %u/%u: the kernel's xen-scsiback serves it (%s/bus/xen-backend/devices/"
				"vscsi-%u-%u/driver exists); not serving it. Unload xen-scsiback to let "
				"scsiback serve PV SCSI", domid, devid, sb->cfg->sysfs_root, domid, devid);
		last_domid = domid;
		last_devid = devid;
		free(fe_path);
		return;
	}
	if (kernel_backend_loaded(sb))
		log_warn("vhost %u/%u: the kernel's xen-scsiback module is loaded and may claim this "
			 "vhost too (both would serve the ring): unload and blacklist it", domid, devid);
	fe_id = xsu_read_intf(sb->xs, XBT_NULL, -1, "%s/frontend-id", be);
	if (fe_id != (int)domid) {
		log_err("vhost %u/%u: frontend-id %d does not match the directory; ignored", domid, devid, fe_id);
		free(fe_path);
		return;
	}
	vh = vhost_new(sb, domid, devid, be, fe_path,
		       xsu_read_intf(sb->xs, XBT_NULL, 0, "%s/feature-host", be) == 1);
	free(fe_path);
	if (!vh)
		return;
	{
		/* (a driver domain may not read it: then no name) */
		char *name = xsu_readf(sb->xs, XBT_NULL, "/local/domain/%u/name", domid);

		vhost_set_guest(vh, name ? name : "");
		free(name);
	}
	{
		/* The guest's UUID names its iSCSI initiator ports (iport.h):
		 * "/vm/UUID", kept by reboot, save/restore and migration. */
		char *vm = xsu_readf(sb->xs, XBT_NULL, "/local/domain/%u/vm", domid);
		const char *u = vm ? strrchr(vm, '/') : NULL;

		if (u && !iport_check_uuid(u + 1))
			snprintf(vh->luns.uuid, sizeof(vh->luns.uuid), "%s", u + 1);
		else
			log_warn("%s: the guest's UUID is unknown (/local/domain/%u/vm: %s)", vh->name,
				 domid, vm ? vm : strerror(errno));
		free(vm);
	}

	prev_state = xsu_read_intf(sb->xs, XBT_NULL, XenbusStateUnknown, "%s/state", be);
	{
		char path[256];

		snprintf(path, sizeof(path), "%s/feature-sg-grant", be);
		xsu_printf_existing(sb->xs, path, "%u", VSCSI_BACK_MAX_SEGMENTS);
		/* Ours, not the protocol's (docs/protocol.md): what scan_early
		 * promises the toolstack. */
		snprintf(path, sizeof(path), "%s/feature-early-open", be);
		xsu_printf_existing(sb->xs, path, "1");
		snprintf(path, sizeof(path), "%s/feature-persistent", be);
		xsu_printf_existing(sb->xs, path, sb->cfg->persistent_grants ? "1" : "0");
	}
	if (prev_state == XenbusStateConnected || prev_state == XenbusStateReconfigured) {
		/* A previous daemon served it: keep the guest's view. */
		vh->state = prev_state;
		log_info("%s: found connected (daemon restart)", vh->name);
	} else {
		set_state(vh, XenbusStateInitWait);
		scan_early(vh);
	}
	{
		char path[256], token[64];

		snprintf(path, sizeof(path), "%s/state", vh->fe_path);
		snprintf(token, sizeof(token), "fe/%u/%u", domid, devid);
		if (!xs_watch(sb->xs, path, token))
			log_err("%s: cannot watch %s: %s", vh->name, path, strerror(errno));
	}
	/* The watch's first event runs frontend_changed. */
}

static void scan_all(struct scsiback *sb)
{
	char **doms, **devs, path[256];
	unsigned nd = 0, nv;

	doms = xs_directory(sb->xs, XBT_NULL, sb->be_root, &nd);
	for (unsigned i = 0; doms && i < nd; i++) {
		snprintf(path, sizeof(path), "%s/%s", sb->be_root, doms[i]);
		nv = 0;
		devs = xs_directory(sb->xs, XBT_NULL, path, &nv);
		for (unsigned k = 0; devs && k < nv; k++) {
			uint64_t domid, devid;

			/* (other names are no vhost of ours) */
			if (dec_parse_str(doms[i], UINT32_MAX, &domid) &&
			    dec_parse_str(devs[k], UINT32_MAX, &devid))
				xenbus_reconcile(sb, (uint32_t)domid, (uint32_t)devid);
		}
		free(devs);
	}
	free(doms);
	/* Vhosts whose directory is gone. */
	for (struct vhost *vh = sb->vhosts, *next; vh; vh = next) {
		next = vh->next;
		xenbus_reconcile(sb, vh->fe_domid, vh->devid);
	}
}

static void domains_released(struct scsiback *sb)
{
	for (struct vhost *vh = sb->vhosts, *next; vh; vh = next) {
		uint32_t domid = vh->fe_domid;

		next = vh->next;
		if (!domain_alive(sb, domid, vh->fe_path)) {
			log_info("%s: domain %u is gone; releasing its vhost", vh->name, domid);
			xenbus_destroy(sb, vh);
			remove_gone_domain(sb, domid);
		}
	}
}

static void on_watch(struct scsiback *sb, const char *path, const char *token)
{
	unsigned domid, devid;

	if (!strcmp(token, "be")) {
		size_t n = strlen(sb->be_root);

		if (strncmp(path, sb->be_root, n) || path[n] != '/' ||
		    sscanf(path + n, "/%u/%u", &domid, &devid) != 2) {
			scan_all(sb);
			return;
		}
		xenbus_reconcile(sb, domid, devid);
	} else if (!strcmp(token, "rel")) {
		domains_released(sb);
	} else if (sscanf(token, "fe/%u/%u", &domid, &devid) == 2) {
		struct vhost *vh = xenbus_find(sb, domid, devid);

		if (vh)
			frontend_changed(vh);
	}
}

static void xs_cb(struct evloop_handler *h, uint32_t events)
{
	struct scsiback *sb = h->arg;
	char **ev;

	(void)events;
	while ((ev = xs_check_watch(sb->xs))) {
		on_watch(sb, ev[XS_WATCH_PATH], ev[XS_WATCH_TOKEN]);
		free(ev);
	}
}

/* Without xenstore no vhost can come, go or change: the daemon stops
 * (drained, rings kept for the next one, as after SIGTERM) with exit
 * status 1, so that its service manager starts it again. */
static void xenbus_probe_cb(struct evloop_handler *h, uint32_t events)
{
	struct scsiback *sb = h->arg;
	uint64_t ticks;
	unsigned len;
	char *v;

	(void)events;
	if (read(h->fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	errno = 0;
	v = xs_read(sb->xs, XBT_NULL, "domid", &len);
	free(v);
	if (v || errno == ENOENT || errno == EACCES || errno == EPERM)
		return;
	log_err("lost the connection to xenstore (libxenstore: %s): stopping with exit status 1 "
		"to be started again; guests keep their rings", strerror(errno ? errno : EIO));
	evloop_del(sb->loop, h);
	sb->stopping = true;
	sb->exit_status = 1;
}

static int xenbus_probe_start(struct scsiback *sb)
{
	struct itimerspec its = { .it_interval = { XENBUS_PROBE_S, 0 }, .it_value = { XENBUS_PROBE_S, 0 } };

	probe_handler.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (probe_handler.fd < 0 || timerfd_settime(probe_handler.fd, 0, &its, NULL) < 0)
		return -errno;
	probe_handler.cb = xenbus_probe_cb;
	probe_handler.arg = sb;
	return evloop_add(sb->loop, &probe_handler, EPOLLIN);
}

int xenbus_start(struct scsiback *sb)
{
	/* The backend domain is read, not assumed: dom0 or a driver domain. */
	sb->self_domid = (uint32_t)xsu_read_intf(sb->xs, XBT_NULL, 0, "domid");
	snprintf(sb->be_root, sizeof(sb->be_root), "/local/domain/%u/backend/vscsi", sb->self_domid);
	if (!xs_watch(sb->xs, sb->be_root, "be") || !xs_watch(sb->xs, "@releaseDomain", "rel")) {
		log_err("cannot watch %s: %s", sb->be_root, strerror(errno));
		return -errno;
	}
	xs_handler.fd = xs_fileno(sb->xs);
	xs_handler.cb = xs_cb;
	xs_handler.arg = sb;
	evloop_add(sb->loop, &xs_handler, EPOLLIN);
	if (xenbus_probe_start(sb) < 0) {
		log_err("cannot start the xenstore probe timer: %s", strerror(errno));
		return -errno;
	}
	log_info("serving %s", sb->be_root);
	if (kernel_backend_loaded(sb))
		log_warn("the kernel's xen-scsiback module is loaded (%s/module/xen_scsiback): it serves "
			 "%s too and claims every vhost it sees first; unload it (modprobe -r "
			 "xen-scsiback) and blacklist it", sb->cfg->sysfs_root, sb->be_root);
	return 0;
}

void xenbus_stop(struct scsiback *sb)
{
	evloop_del(sb->loop, &xs_handler);
	evloop_del(sb->loop, &probe_handler);
	close(probe_handler.fd);
	/* The guests stay connected in xenstore: a new daemon takes their
	 * rings up where we left them. */
	while (sb->vhosts)
		vhost_free(sb->vhosts, true);
}

/* Re-reads the policies of every LUN after a config reload. */
void xenbus_apply_config(struct scsiback *sb)
{
	for (struct vhost *vh = sb->vhosts; vh; vh = vh->next)
		vlun_apply_config(&vh->luns, sb->cfg);
}
