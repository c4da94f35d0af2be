/* A vhost's ring connection and its LUN table. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "inflight.h"
#include "log.h"
#include "pdev.h"
#include "vhost.h"

static void vhost_event_cb(struct evloop_handler *h, uint32_t events)
{
	struct vhost *vh = h->arg;
	int port;

	(void)events;
	port = xenevtchn_pending(vh->evtchn);
	if (port < 0)
		return;
	xenevtchn_unmask(vh->evtchn, (evtchn_port_t)port);
	/* A polling loop re-arms the event index itself before it sleeps. */
	if (vh->sb->polling)
		vhost_ring_poll(vh);
	else
		vhost_ring_kick(vh);
}

/* After a crash of a previous daemon: answer what it had taken but not
 * answered with host RESET (never run it again), and carry on from its
 * request index. Returns the req_cons to use. */
static RING_IDX vhost_recover(struct vhost *vh)
{
	struct inflight_file *f = inflight_data(vh->inflight);
	RING_IDX rsp_prod = vh->ring.sring->rsp_prod, req_prod = vh->ring.sring->req_prod;
	RING_IDX cons = f->req_cons;
	unsigned answered = 0;

	for (int i = 0; i < INFLIGHT_SLOTS; i++)
		if (f->rec[i].state != REC_FREE && (int32_t)(f->rec[i].req_idx + 1 - cons) > 0)
			cons = f->rec[i].req_idx + 1;
	if ((RING_IDX)(cons - rsp_prod) > VSCSI_RING_SIZE || (RING_IDX)(req_prod - cons) > VSCSI_RING_SIZE) {
		log_warn("%s: saved ring state does not fit the ring (cons %u, rsp_prod %u, req_prod %u); "
			 "taking up at the producer", vh->name, cons, rsp_prod, req_prod);
		cons = req_prod;
	}
	for (int i = 0; i < INFLIGHT_SLOTS; i++) {
		struct inflight_rec *r = &f->rec[i];

		if (r->state == REC_FREE)
			continue;
		if (r->state == REC_ANSWERING && (int32_t)(rsp_prod - r->rsp_idx) > 0) {
			inflight_done(vh->inflight, i); /* its answer was published */
			continue;
		}
		vhost_respond(vh, r->rqid,
			      r->act == VSCSIIF_ACT_SCSI_CDB ? vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_RESET, 0)
							     : XEN_VSCSIIF_RSLT_RESET_FAILED,
			      NULL, 0, 0);
		inflight_answering(vh->inflight, i, vh->ring.rsp_prod_pvt - 1);
		answered++;
	}
	if (answered)
		log_info("%s: answered %u request(s) in flight at the previous daemon's end with "
			 "host RESET", vh->name, answered);
	return cons;
}

int vhost_connect(struct vhost *vh)
{
	struct scsiback *sb = vh->sb;
	bool resumed;

	vh->ring_page = xengnttab_map_grant_ref(sb->gnt, vh->fe_domid, vh->ring_ref,
						 PROT_READ | PROT_WRITE);
	if (!vh->ring_page) {
		int err = -errno;

		log_err("%s: cannot map ring-ref %u of domain %u: %s", vh->name, vh->ring_ref,
			vh->fe_domid, strerror(errno));
		return err;
	}
	vh->evtchn = xenevtchn_open(NULL, 0);
	vh->port = vh->evtchn ? xenevtchn_bind_interdomain(vh->evtchn, vh->fe_domid, vh->fe_port) : -1;
	if (vh->port < 0) {
		int err = -errno;

		log_err("%s: cannot bind event channel %u of domain %u: %s", vh->name, vh->fe_port,
			vh->fe_domid, strerror(errno));
		if (vh->evtchn)
			xenevtchn_close(vh->evtchn);
		vh->evtchn = NULL;
		xengnttab_unmap(sb->gnt, vh->ring_page, 1);
		vh->ring_page = NULL;
		return err;
	}
	if (!vh->inflight)
		vh->inflight = inflight_open(sb->statedir, vh->fe_domid, vh->devid);
	if (!vh->inflight) {
		int err = -errno;

		log_err("%s: cannot keep in-flight records in %s: %s", vh->name, sb->statedir,
			strerror(errno));
		xenevtchn_close(vh->evtchn);
		vh->evtchn = NULL;
		xengnttab_unmap(sb->gnt, vh->ring_page, 1);
		vh->ring_page = NULL;
		return err;
	}
	/* Attach without resetting the shared indexes: after a daemon crash
	 * the ring is live and the frontend keeps using it. */
	resumed = inflight_matches(vh->inflight, vh->ring_ref, vh->fe_port, vh->fe_domid);
	BACK_RING_ATTACH(&vh->ring, (vscsiif_sring_t *)vh->ring_page,
			 ((vscsiif_sring_t *)vh->ring_page)->rsp_prod, XC_PAGE_SIZE_VSCSI);
	if (resumed) {
		vh->ring.req_cons = vhost_recover(vh);
	} else {
		RING_IDX rsp_prod = vh->ring.sring->rsp_prod, req_prod = vh->ring.sring->req_prod;

		/* A ring we know nothing of: requests already queued were
		 * taken by someone else (or by a daemon whose records are
		 * gone); answer them rather than run them. */
		vh->ring.req_cons = rsp_prod;
		if ((RING_IDX)(req_prod - rsp_prod) <= VSCSI_RING_SIZE && req_prod != rsp_prod) {
			log_warn("%s: %u request(s) already on a ring we did not serve; answering host RESET",
				 vh->name, req_prod - rsp_prod);
			while (vh->ring.req_cons != req_prod) {
				vscsiif_request_t raw;

				RING_COPY_REQUEST(&vh->ring, vh->ring.req_cons, &raw);
				vh->ring.req_cons++;
				vhost_respond(vh, raw.rqid, vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_RESET, 0),
					      NULL, 0, 0);
			}
		}
		inflight_reset(vh->inflight, vh->ring_ref, vh->fe_port, vh->fe_domid, vh->ring.req_cons);
	}
	vh->evh.fd = xenevtchn_fd(vh->evtchn);
	vh->evh.cb = vhost_event_cb;
	vh->evh.arg = vh;
	evloop_add(sb->loop, &vh->evh, EPOLLIN);
	vh->connected = true;
	vh->ring_gen++;
	vh->halted = false;
	vh->held = true;
	vh->draining = false;
	log_info("%s: connected to domain %u (ring-ref %u, event channel %u)%s", vh->name,
		 vh->fe_domid, vh->ring_ref, vh->fe_port, resumed ? ", resumed after restart" : "");
	vhost_push(vh);
	return 0;
}

void vhost_start(struct vhost *vh)
{
	if (!vh->connected || !vh->held)
		return;
	vh->held = false;
	vhost_ring_kick(vh);
}

static void vhost_unhook(struct vhost *vh)
{
	vh->connected = false;
	evloop_del(vh->sb->loop, &vh->evh);
	xenevtchn_close(vh->evtchn);
	vh->evtchn = NULL;
	xengnttab_unmap(vh->sb->gnt, vh->ring_page, 1);
	vh->ring_page = NULL;
}

void vhost_release_for_restart(struct vhost *vh)
{
	if (!vh->connected)
		return;
	vhost_push(vh);
	vhost_unhook(vh);
	inflight_close(vh->inflight, false);
	vh->inflight = NULL;
}

void vhost_disconnect(struct vhost *vh, bool drain)
{
	bool was_draining = vh->draining;

	if (!vh->connected)
		return;
	if (drain && vh->busy) {
		/* The last completion calls us again. */
		vh->draining = true;
		return;
	}
	vhost_push(vh);
	vh->draining = false;
	vhost_unhook(vh);
	/* The frontend let this ring go: nothing on it is to be recovered,
	 * also not what still runs on a device (it will be answered to
	 * nobody). Kept, the records could be taken for those of a next ring
	 * that happens to get the same grant ref and port. */
	if (vh->inflight) {
		inflight_close(vh->inflight, true);
		vh->inflight = NULL;
	}
	log_info("%s: disconnected from domain %u", vh->name, vh->fe_domid);
	if (was_draining && vh->sb->on_disconnected)
		vh->sb->on_disconnected(vh);
}

void vhost_cut_off(struct vhost *vh)
{
	if (!vh->connected)
		return;
	for (unsigned i = 0; i < VSCSI_RING_SIZE; i++) {
		struct vhost_cmd *c = &vh->cmds[i];

		if (c->kind == CMD_FREE || c->ring_gen != vh->ring_gen)
			continue;
		inflight_answering(vh->inflight, c->rec, vh->ring.rsp_prod_pvt);
		vhost_respond(vh, c->req.rqid,
			      c->kind == CMD_SCSI ? vscsi_rslt(XEN_VSCSIIF_RSLT_HOST_RESET, 0)
						  : XEN_VSCSIIF_RSLT_RESET_FAILED,
			      NULL, 0, 0);
		c->ring_gen = vh->ring_gen - 1;   /* of no ring now */
	}
	vhost_push(vh);
}

struct vhost_lun *vhost_find_lun(struct vhost *vh, uint16_t chn, uint16_t tgt, uint16_t lun)
{
	for (unsigned i = 0; i < vh->nluns; i++) {
		struct vhost_lun *vl = vh->luns[i];

		if (vl->chn == chn && vl->tgt == tgt && vl->lun == lun)
			return vl;
	}
	return NULL;
}

bool vhost_opening(const struct vhost *vh)
{
	for (unsigned i = 0; i < vh->nluns; i++)
		if (vh->luns[i]->opening)
			return true;
	return false;
}

bool vhost_has_target(struct vhost *vh, uint16_t chn, uint16_t tgt)
{
	for (unsigned i = 0; i < vh->nluns; i++)
		if (vh->luns[i]->chn == chn && vh->luns[i]->tgt == tgt && vhost_lun_ready(vh->luns[i]))
			return true;
	return false;
}

static void remove_vl(struct vhost *vh, struct vhost_lun *vl, bool was_up);

/* The end of an open that vhost_add_lun left under way. A LUN that failed
 * is out of the table before the callback runs: that may start the ring. */
static void lun_opened(struct lun *dev, int rc)
{
	struct vhost_lun *vl = (struct vhost_lun *)((char *)dev - offsetof(struct vhost_lun, dev));
	struct vhost *vh = vl->vh;
	unsigned devnum = vl->devnum;
	char pdev[sizeof(vl->pdev)], err[sizeof(dev->error)];

	if (!vl->opening)
		return;
	vl->opening = false;
	snprintf(pdev, sizeof(pdev), "%s", vl->pdev);
	snprintf(err, sizeof(err), "%s", dev->error[0] ? dev->error : strerror(-rc));
	if (rc)
		remove_vl(vh, vl, false);   /* it never served */
	else
		log_info("%s: dev-%u: v-dev %u:%u:%u -> %s (%s)", vh->name, devnum, vl->chn, vl->tgt,
			 vl->lun, pdev, dev->desc);
	if (vh->sb->on_lun_opened)
		vh->sb->on_lun_opened(vh, devnum, pdev, rc, err);
}

int vhost_add_lun(struct vhost *vh, unsigned devnum, const char *pdev, uint16_t chn,
		  uint16_t tgt, uint16_t lun, char *err, size_t errlen)
{
	struct vhost_lun *vl, **grown;
	struct lun_config lcfg;
	const char *open_as = pdev;
	struct pdev_info info;
	int r;

	vl = vhost_find_lun(vh, chn, tgt, lun);
	if (vl && vl->opening && vl->devnum == devnum)
		return -EINPROGRESS;
	if (vl) {
		snprintf(err, errlen, "v-dev %u:%u:%u is already mapped on this vhost", chn, tgt, lun);
		return -EEXIST;
	}
	if (pdev_resolve(pdev, vh->sb->cfg->sysfs_root, &info, err, errlen) < 0)
		return -EINVAL;
	if (info.kind == PDEV_SG)
		open_as = info.path;
	vl = calloc(1, sizeof(*vl));
	grown = realloc(vh->luns, (vh->nluns + 1) * sizeof(*grown));
	if (!vl || !grown) {
		free(vl);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	vh->luns = grown;
	vl->devnum = devnum;
	vl->vh = vh;
	vl->chn = chn;
	vl->tgt = tgt;
	vl->lun = lun;
	snprintf(vl->pdev, sizeof(vl->pdev), "%s", pdev);
	vl->dev.ops = lun_driver_for(open_as);
	vl->dev.loop = vh->sb->loop;
	vl->dev.opened = lun_opened;
	config_lun_settings(vh->sb->cfg, pdev, &lcfg, &vl->policy);
	r = vl->dev.ops->open(&vl->dev, open_as, &lcfg);
	if (r < 0 && r != -EINPROGRESS) {
		snprintf(err, errlen, "%s", vl->dev.error[0] ? vl->dev.error : strerror(-r));
		free(vl);
		return r;
	}
	vh->luns[vh->nluns++] = vl;
	if (r == -EINPROGRESS) {
		vl->opening = true;
		log_info("%s: dev-%u: v-dev %u:%u:%u -> %s: opening", vh->name, devnum, chn, tgt, lun,
			 pdev);
		return r;
	}
	log_info("%s: dev-%u: v-dev %u:%u:%u -> %s (%s)", vh->name, devnum, chn, tgt, lun, pdev,
		 vl->dev.desc);
	return 0;
}

/* Takes vl out of the table and frees it. Commands still running on it
 * complete through close; an open still under way is cancelled. */
static void remove_vl(struct vhost *vh, struct vhost_lun *vl, bool was_up)
{
	for (unsigned i = 0; i < vh->nluns; i++) {
		if (vh->luns[i] != vl)
			continue;
		vl->removing = true;
		vl->opening = false;
		vl->dev.ops->close(&vl->dev);
		vh->luns[i] = vh->luns[--vh->nluns];
		if (was_up)
			log_info("%s: dev-%u: v-dev %u:%u:%u removed", vh->name, vl->devnum, vl->chn,
				 vl->tgt, vl->lun);
		free(vl);
		return;
	}
}

void vhost_remove_lun(struct vhost *vh, unsigned devnum)
{
	for (unsigned i = 0; i < vh->nluns; i++)
		if (vh->luns[i]->devnum == devnum) {
			remove_vl(vh, vh->luns[i], true);
			return;
		}
}
