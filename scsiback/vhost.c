/* A vhost's ring: connect, the pump, drain, disconnect; and the vhost's
 * own allocation. */
#include "vhost.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inflight.h"
#include "log.h"
#include "portal.h"
#include "pgrant.h"
#include "wlink.h"

/* Takes every request the frontend has published and starts its
 * command. Returns how many it took (refusals included). */
static unsigned vhost_take_all(struct vhost *vh)
{
	struct vscsi_req req;
	enum ring_take_result res;
	unsigned n = 0;
	uint32_t idx;

	while ((res = ring_take(&vh->ring, &req, &idx)) != RING_EMPTY) {
		n++;
		if (res == RING_TAKEN)
			cmd_start(&vh->cmds, &req, idx);
	}
	return n;
}

static bool vhost_taking(const struct vhost *vh)
{
	return !vh->link && (vh->rs == VHOST_RUNNING || vh->rs == VHOST_DRAINING) &&
	       !vh->ring.halted && !vh->sb->stopping;
}

bool vhost_poll(struct vhost *vh)
{
	unsigned n;

	if (!vhost_taking(vh))
		return false;
	n = vhost_take_all(vh);
	if (n)
		ring_push(&vh->ring);
	return n > 0;
}

bool vhost_kick(struct vhost *vh)
{
	bool any = false;

	if (!vhost_taking(vh))
		return false;
	do {
		any |= vhost_take_all(vh) > 0;
		ring_push(&vh->ring);
		/* Ask for an event on the next request, then look once more:
		 * one may have come in before the frontend saw the request. */
	} while (ring_arm(&vh->ring) && !vh->ring.halted);
	return any;
}

static void vhost_event_cb(struct evloop_handler *h, uint32_t events)
{
	struct vhost *vh = h->arg;

	(void)events;
	if (!ring_ack_event(&vh->ring))
		return;
	/* A polling loop re-arms the event index itself before it sleeps. */
	if (vh->sb->polling)
		vhost_poll(vh);
	else
		vhost_kick(vh);
}

void vhost_shared_event(struct scsiback *sb)
{
	/* One port per call: pending blocks when none is (the handle's fd
	 * is blocking); the loop calls again while another is readable. */
	int port = xenevtchn_pending(sb->evtchn);

	if (port < 0)
		return;
	xenevtchn_unmask(sb->evtchn, (evtchn_port_t)port);
	for (struct vhost *vh = sb->vhosts; vh; vh = vh->next)
		if (vhost_connected(vh) && vh->ring.port == port) {
			if (sb->polling)
				vhost_poll(vh);
			else
				vhost_kick(vh);
			break;
		}
}

/* ------------------------------------------------------------------ */
/* A vhost served by its guest's worker (docs/privsep.md): the broker's  */
/* side. The calls below send what the worker is to do; its answers come */
/* back through vhost_worker_msg.                                        */

static void vhost_remote_op(struct vhost *vh, enum wmsg_kind kind, bool flag)
{
	union wmsg m;

	wmsg_init(&m, kind, vh->devid);
	m.op.flag = flag;
	wlink_send(vh->link, &m, -1);
}

/* The worker learns of the vhost before anything else about it. */
static void vhost_remote_known(struct vhost *vh)
{
	union wmsg m;

	if (vh->link_known)
		return;
	wmsg_init(&m, WMSG_VHOST_NEW, vh->devid);
	m.vhost_new.feature_host = vh->cmds.feature_host;
	snprintf(m.vhost_new.guest, sizeof(m.vhost_new.guest), "%s", vh->guest);
	wlink_send(vh->link, &m, -1);
	vh->link_known = true;
}

static void vhost_remote_forget_records(struct vhost *vh)
{
	if (vh->record_path[0])
		unlink(vh->record_path);
	vh->record_path[0] = 0;
}

static int vhost_remote_connect(struct vhost *vh, uint32_t ring_ref, uint32_t fe_port,
				bool persistent)
{
	union wmsg m;
	int fd = inflight_create(vh->sb->statedir, vh->fe_domid, vh->devid, vh->record_path,
				 sizeof(vh->record_path));

	if (fd < 0) {
		log_err("%s: cannot keep in-flight records in %s: %s", vh->name, vh->sb->statedir,
			strerror(-fd));
		vh->record_path[0] = 0;
		return fd;
	}
	vhost_remote_known(vh);
	wmsg_init(&m, WMSG_VHOST_CONNECT, vh->devid);
	m.connect.ring_ref = ring_ref;
	m.connect.fe_port = fe_port;
	m.connect.persistent = persistent;
	wlink_send(vh->link, &m, fd);
	close(fd);
	vh->ring.fe_domid = vh->fe_domid;
	vh->ring.ref = ring_ref;
	vh->ring.fe_port = fe_port;
	vh->rs = VHOST_HELD;
	return 0;
}

static void vhost_remote_disconnect(struct vhost *vh, bool drain)
{
	if (drain && vh->rs == VHOST_RUNNING) {
		vh->rs = VHOST_DRAINING;   /* the worker says when it is drained */
		vhost_remote_op(vh, WMSG_VHOST_DISCONNECT, true);
		return;
	}
	if (drain && vh->rs == VHOST_DRAINING)
		return;
	vhost_remote_op(vh, WMSG_VHOST_DISCONNECT, false);
	vh->rs = VHOST_DISCONNECTED;
	vhost_remote_forget_records(vh);
}

void vhost_remote_reset(struct vhost *vh)
{
	const struct vlun_remote_ops *ops = vh->luns.remote;

	vh->rs = VHOST_DISCONNECTED;
	vh->link_known = false;
	/* The LUNs went with the worker: out of the table, nothing to send. */
	vh->luns.remote = NULL;
	vlun_remove_all(&vh->luns);
	vh->luns.remote = ops;
}

/* An iSCSI p-dev's portal as an address: a worker has no resolver in its
 * empty root. The URL the worker gets names the address, the only one
 * its connects may reach (vhost_portal_allowed). */
static int vhost_remote_portal(const struct pdev_info *info, struct vlun *vl, char *url,
			       size_t len, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	char port[8], addr[NI_MAXHOST];
	int r;

	snprintf(port, sizeof(port), "%u", info->port);
	r = getaddrinfo(info->host, port, &hints, &res);
	if (r) {
		snprintf(err, errlen, "lun %s: portal %s: %s", info->path, info->host, gai_strerror(r));
		return -EHOSTUNREACH;
	}
	r = getnameinfo(res->ai_addr, res->ai_addrlen, addr, sizeof(addr), NULL, 0, NI_NUMERICHOST);
	if (!r && res->ai_addrlen <= sizeof(vl->portal)) {
		memcpy(&vl->portal, res->ai_addr, res->ai_addrlen);
		vl->portal_len = res->ai_addrlen;
	}
	freeaddrinfo(res);
	if (r) {
		snprintf(err, errlen, "lun %s: portal %s: %s", info->path, info->host, gai_strerror(r));
		return -EHOSTUNREACH;
	}
	snprintf(url, len, strchr(addr, ':') ? "iscsi://[%s]:%u/%s/%u" : "iscsi://%s:%u/%s/%u", addr,
		 info->port, info->target, info->lun);
	return 0;
}

static void vhost_remote_settings_into(const struct vlun *vl, unsigned timeout_ms,
				       struct wmsg_lun_settings *set)
{
	set->timeout_ms = timeout_ms;
	if (vl->policy) {
		set->has_policy = 1;
		set->policy_mode = (uint8_t)vl->policy->mode;
		snprintf(set->policy_name, sizeof(set->policy_name), "%s", vl->policy->name);
		memcpy(set->policy_listed, vl->policy->listed, sizeof(set->policy_listed));
	}
}

static int vhost_remote_lun_open(void *arg, struct vlun *vl, const struct pdev_info *info,
				 const struct lun_config *lcfg, char *err, size_t errlen)
{
	struct vhost *vh = arg;
	union wmsg m;
	struct wmsg_lun_add *a = &m.lun_add;
	int fd = -1, r;

	wmsg_init(&m, WMSG_LUN_ADD, vh->devid);
	a->devnum = vl->devnum;
	a->chn = vl->chn;
	a->tgt = vl->tgt;
	a->lun = vl->lun;
	a->kind = (uint8_t)info->kind;
	snprintf(a->pdev, sizeof(a->pdev), "%s", vl->pdev);
	if (info->kind == PDEV_SG) {
		/* Opened here, for this guest's v-dev as dom0's mapping says;
		 * the worker drives it with SG_IO (sgio.h). */
		fd = open(info->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			snprintf(err, errlen, "lun %s: open: %s", info->path, strerror(errno));
			return r;
		}
		snprintf(a->path, sizeof(a->path), "%s", info->path);
	} else if (info->kind == PDEV_ISCSI) {
		r = vhost_remote_portal(info, vl, a->path, sizeof(a->path), err, errlen);
		if (r < 0)
			return r;
	} else {
		snprintf(a->path, sizeof(a->path), "%s", info->path);
	}
	if (lcfg->initiator_iqn)
		snprintf(a->initiator, sizeof(a->initiator), "%s", lcfg->initiator_iqn);
	if (lcfg->isid) {
		a->has_isid = 1;
		memcpy(a->isid, lcfg->isid, sizeof(a->isid));
	}
	if (lcfg->chap_user) {
		snprintf(a->chap_user, sizeof(a->chap_user), "%s", lcfg->chap_user);
		snprintf(a->chap_password, sizeof(a->chap_password), "%s",
			 lcfg->chap_password ? lcfg->chap_password : "");
	}
	vhost_remote_settings_into(vl, lcfg->default_timeout_ms, &a->set);
	vhost_remote_known(vh);
	wlink_send(vh->link, &m, fd);
	if (fd >= 0)
		close(fd);
	return -EINPROGRESS;
}

static void vhost_remote_lun_close(void *arg, struct vlun *vl)
{
	struct vhost *vh = arg;
	union wmsg m;

	wmsg_init(&m, WMSG_LUN_REMOVE, vh->devid);
	m.lun_ref.devnum = vl->devnum;
	wlink_send(vh->link, &m, -1);
}

static void vhost_remote_lun_settings(void *arg, struct vlun *vl)
{
	struct vhost *vh = arg;
	union wmsg m;

	wmsg_init(&m, WMSG_LUN_SETTINGS, vh->devid);
	m.lun_set.devnum = vl->devnum;
	vhost_remote_settings_into(vl, 0, &m.lun_set.set);
	wlink_send(vh->link, &m, -1);
}

static const struct vlun_remote_ops vhost_remote_luns = {
	.open = vhost_remote_lun_open,
	.close = vhost_remote_lun_close,
	.settings = vhost_remote_lun_settings,
};

bool vhost_portal_allowed(struct scsiback *sb, uint32_t domid, const struct sockaddr *sa,
			  socklen_t len)
{
	for (const struct vhost *vh = sb->vhosts; vh; vh = vh->next) {
		if (!vh->link || vh->fe_domid != domid)
			continue;
		for (unsigned i = 0; i < vh->luns.n; i++) {
			const struct vlun *vl = vh->luns.v[i];

			if (vl->portal_len &&
			    portal_same((const struct sockaddr *)&vl->portal, vl->portal_len, sa, len))
				return true;
		}
	}
	return false;
}

bool vhost_worker_msg(struct scsiback *sb, uint32_t domid, const union wmsg *m)
{
	struct vhost *vh;
	struct vlun *vl;

	for (vh = sb->vhosts; vh; vh = vh->next)
		if (vh->link && vh->fe_domid == domid && vh->devid == m->h.devid)
			break;
	/* (One the broker let go meanwhile: its last words are moot.) */
	if (!vh || !vh->link_known)
		return true;
	switch (m->h.kind) {
	case WMSG_CONNECTED:
		if (m->connected.rc < 0 && vh->rs != VHOST_DISCONNECTED) {
			vh->rs = VHOST_DISCONNECTED;
			vhost_remote_forget_records(vh);
			if (sb->on_connect_failed)
				sb->on_connect_failed(vh, m->connected.rc);
		}
		return true;
	case WMSG_LUN_OPENED:
		vlun_remote_opened(&vh->luns, m->lun_opened.devnum, m->lun_opened.rc,
				   m->lun_opened.err, m->lun_opened.dev_type, m->lun_opened.desc);
		return true;
	case WMSG_DISCONNECTED:
		if (vh->rs == VHOST_DISCONNECTED)
			return true;
		{
			bool was_draining = vh->rs == VHOST_DRAINING;

			vh->rs = VHOST_DISCONNECTED;
			vhost_remote_forget_records(vh);
			if (was_draining && sb->on_disconnected)
				sb->on_disconnected(vh);
		}
		return true;
	case WMSG_LUN_STATS:
		vl = vlun_find_devnum(&vh->luns, m->lun_stats.devnum);
		if (!vl)
			return true;
		vl->stats.cmds = m->lun_stats.cmds;
		vl->stats.errors = m->lun_stats.errors;
		vl->stats.bytes_in = m->lun_stats.bytes_in;
		vl->stats.bytes_out = m->lun_stats.bytes_out;
		snprintf(vl->stats.last_error, sizeof(vl->stats.last_error), "%s",
			 m->lun_stats.last_error);
		snprintf(vl->link, sizeof(vl->link), "%s", m->lun_stats.link);
		return true;
	case WMSG_VHOST_STATS:
		vh->remote.in_flight = m->vhost_stats.in_flight;
		vh->remote.persistent = m->vhost_stats.persistent;
		vh->remote.mapped_pages = m->vhost_stats.mapped_pages;
		return true;
	default:
		log_err("worker for domain %u sent %s, which only a broker sends", domid,
			wmsg_kind_name(m->h.kind));
		return false;
	}
}

int vhost_connect(struct vhost *vh, uint32_t ring_ref, uint32_t fe_port, bool persistent)
{
	struct scsiback *sb = vh->sb;
	bool resumed;
	int err;

	if (vh->link)
		return vhost_remote_connect(vh, ring_ref, fe_port, persistent);
	err = ring_map(&vh->ring, sb->gnt, sb->evtchn, vh->fe_domid, ring_ref, fe_port);
	if (err)
		return err;
	if (!vh->inflight)
		vh->inflight = inflight_open(sb->statedir, vh->fe_domid, vh->devid);
	if (!vh->inflight) {
		err = -errno;
		log_err("%s: cannot keep in-flight records in %s: %s", vh->name, sb->statedir,
			strerror(errno));
		ring_unmap(&vh->ring, sb->gnt);
		return err;
	}
	if (persistent) {
		vh->cmds.pg = pgrant_cache_new(sb->gnt, vh->fe_domid, PGRANT_MAX_PAGES);
		if (!vh->cmds.pg)
			log_warn("%s: no memory for persistent grants; copying data", vh->name);
	}
	resumed = ring_attach(&vh->ring, vh->inflight);
	if (!sb->evtchn) {
		vh->evh.fd = ring_fd(&vh->ring);
		vh->evh.cb = vhost_event_cb;
		vh->evh.arg = vh;
		evloop_add(sb->loop, &vh->evh, EPOLLIN);
	}
	vh->rs = VHOST_HELD;
	log_info("%s: connected to domain %u (ring-ref %u, event channel %u%s)%s", vh->name,
		 vh->fe_domid, ring_ref, fe_port, vh->cmds.pg ? ", persistent grants" : "",
		 resumed ? ", resumed after restart" : "");
	ring_push(&vh->ring);
	return 0;
}

void vhost_start(struct vhost *vh)
{
	if (vh->rs != VHOST_HELD)
		return;
	vh->rs = VHOST_RUNNING;
	if (vh->link)
		vhost_remote_op(vh, WMSG_VHOST_START, false);
	else
		vhost_kick(vh);
}

static void vhost_unhook(struct vhost *vh)
{
	vh->rs = VHOST_DISCONNECTED;
	if (!vh->sb->evtchn)
		evloop_del(vh->sb->loop, &vh->evh);
	ring_unmap(&vh->ring, vh->sb->gnt);
	/* Unmapped now, or when the last command still on a device ends; a
	 * next ring (a restarted frontend) starts with no pages mapped. */
	if (vh->cmds.pg) {
		pgrant_cache_drop(vh->cmds.pg);
		vh->cmds.pg = NULL;
	}
}

void vhost_disconnect(struct vhost *vh, bool drain)
{
	bool was_draining = vh->rs == VHOST_DRAINING;

	if (!vhost_connected(vh))
		return;
	if (vh->link) {
		vhost_remote_disconnect(vh, drain);
		return;
	}
	/* (A held ring took nothing: what is outstanding is of earlier
	 * rings, answered to nobody.) */
	if (drain && vh->cmds.busy && vh->rs == VHOST_RUNNING) {
		/* The last completion calls us again (vhost_cmds_idle). */
		vh->rs = VHOST_DRAINING;
		return;
	}
	if (drain && vh->rs == VHOST_DRAINING && vh->cmds.busy)
		return;
	ring_push(&vh->ring);
	vhost_unhook(vh);
	/* The frontend let this ring go: nothing on it is to be recovered,
	 * also not what still runs on a device (it will be answered to
	 * nobody). Kept, the records could be taken for those of a next ring
	 * that happens to get the same grant ref and port. */
	inflight_close(vh->inflight, true);
	vh->inflight = NULL;
	log_info("%s: disconnected from domain %u", vh->name, vh->fe_domid);
	if (was_draining && vh->sb->on_disconnected)
		vh->sb->on_disconnected(vh);
}

void vhost_cut_off(struct vhost *vh)
{
	if (vhost_connected(vh) && vh->link)
		vhost_remote_op(vh, WMSG_VHOST_CUT_OFF, false);
	else if (vhost_connected(vh))
		cmd_cut_off(&vh->cmds);
}

/* The last outstanding command has ended. */
static void vhost_cmds_idle(void *arg)
{
	struct vhost *vh = arg;

	if (vh->rs == VHOST_DRAINING)
		vhost_disconnect(vh, false);
}

static void vhost_lun_opened(void *arg, unsigned devnum, const char *pdev, int rc,
			     const char *err)
{
	struct vhost *vh = arg;

	if (vh->sb->on_lun_opened)
		vh->sb->on_lun_opened(vh, devnum, pdev, rc, err);
}

struct vhost *vhost_new(struct scsiback *sb, uint32_t fe_domid, uint32_t devid,
			const char *be_path, const char *fe_path, bool feature_host)
{
	struct vhost *vh = calloc(1, sizeof(*vh));

	if (!vh)
		return NULL;
	vh->sb = sb;
	vh->fe_domid = fe_domid;
	vh->devid = devid;
	snprintf(vh->be_path, sizeof(vh->be_path), "%s", be_path);
	snprintf(vh->fe_path, sizeof(vh->fe_path), "%s", fe_path);
	snprintf(vh->name, sizeof(vh->name), "vhost %u/%u", fe_domid, devid);
	vh->rs = VHOST_DISCONNECTED;
	vh->ring.name = vh->name;
	vh->luns.name = vh->name;
	vh->luns.host = devid;
	vh->luns.loop = sb->loop;
	vh->luns.cfg = sb->cfg;
	vh->luns.opened = vhost_lun_opened;
	vh->luns.arg = vh;
	vh->cmds.name = vh->name;
	vh->cmds.ring = &vh->ring;
	vh->cmds.luns = &vh->luns;
	vh->cmds.gnt = sb->gnt;
	vh->cmds.feature_host = feature_host;
	vh->cmds.idle = vhost_cmds_idle;
	vh->cmds.arg = vh;
	cmd_table_init(&vh->cmds, sb->loop);
	if (sb->privsep) {
		vh->link = wlink_get(sb, fe_domid);
		if (!vh->link) {
			cmd_table_release(&vh->cmds);
			free(vh);
			return NULL;
		}
		vh->luns.remote = &vhost_remote_luns;
		vh->luns.remote_arg = vh;
	}
	vh->next = sb->vhosts;
	sb->vhosts = vh;
	return vh;
}

void vhost_set_guest(struct vhost *vh, const char *guest)
{
	snprintf(vh->guest, sizeof(vh->guest), "%s", guest);
	snprintf(vh->name, sizeof(vh->name), "%s%svhost %u/%u", vh->guest, vh->guest[0] ? " " : "",
		 vh->fe_domid, vh->devid);
}

void vhost_free(struct vhost *vh, bool for_restart)
{
	struct scsiback *sb = vh->sb;

	if (vh->link) {
		if (vh->link_known)
			vhost_remote_op(vh, WMSG_VHOST_FREE, for_restart);
		vh->luns.remote = NULL;   /* the worker closes them all */
		vlun_remove_all(&vh->luns);
		if (!for_restart)
			vhost_remote_forget_records(vh);
		wlink_put(vh->link);
		log_info("%s: %s", vh->name, for_restart ? "let go for the next daemon" : "removed");
	} else if (for_restart) {
		/* Commands still running after the drain are completed by
		 * closing their LUNs, answered on the ring still mapped. */
		vlun_remove_all(&vh->luns);
		if (vhost_connected(vh)) {
			ring_push(&vh->ring);
			vhost_unhook(vh);
		}
		inflight_close(vh->inflight, false);
	} else {
		vhost_disconnect(vh, false);
		vlun_remove_all(&vh->luns);
		/* Cannot happen once LUNs are closed: drivers complete all. */
		if (vh->cmds.busy)
			log_warn("%s: %u command(s) still outstanding at removal", vh->name,
				 vh->cmds.busy);
		inflight_close(vh->inflight, true);
		log_info("%s: removed", vh->name);
	}
	cmd_table_release(&vh->cmds);
	for (struct vhost **pp = &sb->vhosts; *pp; pp = &(*pp)->next)
		if (*pp == vh) {
			*pp = vh->next;
			break;
		}
	free(vh);
}
