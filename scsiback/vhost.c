/* A vhost's ring: connect, the pump, drain, disconnect; and the vhost's
 * own allocation. */
#include "vhost.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inflight.h"
#include "log.h"
#include "pgrant.h"

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
	return (vh->rs == VHOST_RUNNING || vh->rs == VHOST_DRAINING) && !vh->ring.halted &&
	       !vh->sb->stopping;
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

int vhost_connect(struct vhost *vh, uint32_t ring_ref, uint32_t fe_port, bool persistent)
{
	struct scsiback *sb = vh->sb;
	bool resumed;
	int err;

	err = ring_map(&vh->ring, sb->gnt, vh->fe_domid, ring_ref, fe_port);
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
	vh->evh.fd = ring_fd(&vh->ring);
	vh->evh.cb = vhost_event_cb;
	vh->evh.arg = vh;
	evloop_add(sb->loop, &vh->evh, EPOLLIN);
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
	vhost_kick(vh);
}

static void vhost_unhook(struct vhost *vh)
{
	vh->rs = VHOST_DISCONNECTED;
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
	if (vhost_connected(vh))
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

	if (for_restart) {
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
