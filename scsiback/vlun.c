/* A vhost's LUN table. */
#include "vlun.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <scsi/sg_lib.h>

#include "config.h"
#include "log.h"
#include "pdev.h"
#include "vscsi_host.h"

const char *vlun_vdev(const struct vlun *vl, char buf[VLUN_VDEV_LEN])
{
	snprintf(buf, VLUN_VDEV_LEN, "%u:%u:%u:%u", vl->table->host, vl->chn, vl->tgt, vl->lun);
	return buf;
}

struct vlun *vlun_find(const struct vlun_table *t, uint16_t chn, uint16_t tgt, uint16_t lun)
{
	for (unsigned i = 0; i < t->n; i++) {
		struct vlun *vl = t->v[i];

		if (vl->chn == chn && vl->tgt == tgt && vl->lun == lun)
			return vl;
	}
	return NULL;
}

struct vlun *vlun_find_devnum(const struct vlun_table *t, unsigned devnum)
{
	for (unsigned i = 0; i < t->n; i++)
		if (t->v[i]->devnum == devnum)
			return t->v[i];
	return NULL;
}

bool vlun_has_target(const struct vlun_table *t, uint16_t chn, uint16_t tgt)
{
	for (unsigned i = 0; i < t->n; i++)
		if (t->v[i]->chn == chn && t->v[i]->tgt == tgt && vlun_ready(t->v[i]))
			return true;
	return false;
}

unsigned vlun_target_luns(const struct vlun_table *t, uint16_t chn, uint16_t tgt, uint16_t *luns,
			  unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < t->n && n < max; i++)
		if (t->v[i]->chn == chn && t->v[i]->tgt == tgt && vlun_ready(t->v[i]))
			luns[n++] = t->v[i]->lun;
	return n;
}

bool vlun_opening(const struct vlun_table *t)
{
	for (unsigned i = 0; i < t->n; i++)
		if (t->v[i]->opening)
			return true;
	return false;
}

void vlun_count(struct vlun *vl, const struct lun_cmd *lc, uint32_t bytes)
{
	char op[48], sense[200];

	vl->stats.cmds++;
	if (lc->dir == LUN_DIR_FROM_DEV || lc->dir == LUN_DIR_BIDI)
		vl->stats.bytes_in += bytes;
	else if (lc->dir == LUN_DIR_TO_DEV)
		vl->stats.bytes_out += bytes;
	if (lc->host == 0 && lc->status == 0)
		return;
	vl->stats.errors++;
	sg_get_opcode_name(lc->cdb[0], 0, sizeof(op), op);
	if (lc->host)
		snprintf(vl->stats.last_error, sizeof(vl->stats.last_error), "%.47s: host %s", op,
			 vscsi_host_name(lc->host));
	else if (lc->sense_len) {
		lun_sense_summary(lc->sense, lc->sense_len, sense, sizeof(sense));
		snprintf(vl->stats.last_error, sizeof(vl->stats.last_error), "%.47s: %.110s", op, sense);
	} else
		snprintf(vl->stats.last_error, sizeof(vl->stats.last_error), "%.47s: status 0x%02x",
			 op, lc->status);
}

/* Takes vl out of the table and frees it. Commands still running on it
 * complete through close; an open still under way is cancelled. */
static void vlun_free(struct vlun_table *t, struct vlun *vl, bool was_up)
{
	char vdev[VLUN_VDEV_LEN];

	for (unsigned i = 0; i < t->n; i++) {
		if (t->v[i] != vl)
			continue;
		vl->removing = true;
		vl->opening = false;
		if (t->remote)
			t->remote->close(t->remote_arg, vl);
		else
			lun_close(&vl->dev);
		t->v[i] = t->v[--t->n];
		if (was_up)
			log_info("%s: dev-%u: v-dev %s removed", t->name, vl->devnum,
				 vlun_vdev(vl, vdev));
		free(vl);
		return;
	}
}

/* The end of an open that vlun_add left under way. A LUN that failed is
 * out of the table before the callback runs: that may start the ring. */
static void vlun_opened(struct lun *dev, int rc)
{
	struct vlun *vl = (struct vlun *)((char *)dev - offsetof(struct vlun, dev));
	struct vlun_table *t = vl->table;
	unsigned devnum = vl->devnum;
	char pdev[sizeof(vl->pdev)], err[sizeof(dev->error)], vdev[VLUN_VDEV_LEN];

	if (!vl->opening)
		return;
	vl->opening = false;
	snprintf(pdev, sizeof(pdev), "%s", vl->pdev);
	snprintf(err, sizeof(err), "%s", dev->error[0] ? dev->error : strerror(-rc));
	if (rc)
		vlun_free(t, vl, false);   /* it never served */
	else
		log_info("%s: dev-%u: v-dev %s -> %s (%s)", t->name, devnum, vlun_vdev(vl, vdev),
			 pdev, dev->desc);
	if (t->opened)
		t->opened(t->arg, devnum, pdev, rc, err);
}

int vlun_port(const struct vlun_table *t, const char *pdev, uint16_t chn, uint16_t tgt, uint16_t lun,
	      const struct vlun_entry *e, struct iport *port, char *err, size_t errlen)
{
	static const struct vlun_entry none;
	char vdev[VLUN_VDEV_LEN];
	const char *prefix = t->cfg->guest_initiator_prefix;

	if (!e)
		e = &none;
	if (strncmp(pdev, "iscsi://", 8)) {
		if (e->initiator || e->isid) {
			snprintf(err, errlen, "iscsi-%s is for iscsi:// p-devs (this one logs in as nothing)",
				 e->initiator ? "initiator" : "isid");
			return -EINVAL;
		}
		return 0;
	}
	if (!t->uuid[0] || !prefix[0]) {
		/* Without the guest's identity an entry needs both to have one. */
		if (!e->initiator || !e->isid)
			return 0;
		memset(port, 0, sizeof(*port));
	} else {
		snprintf(vdev, sizeof(vdev), "%u:%u:%u:%u", t->host, chn, tgt, lun);
		if (iport_default(port, prefix, t->uuid, vdev, err, errlen))
			return -EINVAL;
	}
	if (e->initiator) {
		if (iport_check_name(e->initiator, err, errlen))
			return -EINVAL;
		snprintf(port->name, sizeof(port->name), "%s", e->initiator);
	}
	if (e->isid && iport_parse_isid(e->isid, port->isid, err, errlen))
		return -EINVAL;
	return 1;
}

void vlun_set_policy(struct vlun *vl, const struct policy *p)
{
	if (p)
		vl->own_policy = *p;
	vl->policy = p ? &vl->own_policy : NULL;
}

int vlun_add(struct vlun_table *t, unsigned devnum, const char *pdev, uint16_t chn, uint16_t tgt,
	     uint16_t lun, const struct vlun_entry *e, char *err, size_t errlen)
{
	struct vlun *vl;
	struct lun_config lcfg;
	const struct policy *policy;
	struct pdev_info info;
	struct iport port;
	int has_port;

	vl = vlun_find(t, chn, tgt, lun);
	if (vl && vl->opening && vl->devnum == devnum)
		return -EINPROGRESS;
	if (vl) {
		snprintf(err, errlen, "v-dev %u:%u:%u:%u is already mapped on this vhost", t->host, chn,
			 tgt, lun);
		return -EEXIST;
	}
	/* Classified, validated and resolved here once; the driver opens
	 * what this found. */
	if (pdev_resolve(pdev, t->cfg->sysfs_root, &info, err, errlen) < 0)
		return -EINVAL;
	has_port = vlun_port(t, pdev, chn, tgt, lun, e, &port, err, errlen);
	if (has_port < 0)
		return has_port;
	config_lun_settings(t->cfg, pdev, &lcfg, &policy);
	if (!has_port && info.kind == PDEV_ISCSI)
		log_warn("%s: dev-%u: %s logs in as the backend (%s), its ISID at random: %s; the "
			 "guest's SCSI reservations on it end with its session", t->name, devnum, pdev,
			 lcfg.initiator_iqn ? lcfg.initiator_iqn : "scsiback's default name",
			 t->cfg->guest_initiator_prefix[0] ? "the guest's UUID is unknown"
							   : "guest-initiator-prefix = off");
	return vlun_attach(t, devnum, pdev, chn, tgt, lun, &info, &lcfg, policy,
			   has_port ? &port : NULL, err, errlen);
}

int vlun_attach(struct vlun_table *t, unsigned devnum, const char *pdev, uint16_t chn, uint16_t tgt,
		uint16_t lun, const struct pdev_info *info, const struct lun_config *lcfg_in,
		const struct policy *policy, const struct iport *port, char *err, size_t errlen)
{
	struct vlun *vl, **grown;
	struct lun_config lcfg = *lcfg_in;
	char vdev[VLUN_VDEV_LEN], ports[IPORT_TEXT_LEN];
	int r;

	vl = calloc(1, sizeof(*vl));
	grown = realloc(t->v, (t->n + 1) * sizeof(*grown));
	if (!vl || !grown) {
		free(vl);
		if (lcfg.has_sg_fd)
			close(lcfg.sg_fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->v = grown;
	vl->devnum = devnum;
	vl->table = t;
	vl->chn = chn;
	vl->tgt = tgt;
	vl->lun = lun;
	snprintf(vl->pdev, sizeof(vl->pdev), "%s", pdev);
	vl->dev.loop = t->loop;
	vl->dev.opened = vlun_opened;
	vlun_set_policy(vl, policy);
	if (port) {
		vl->has_port = true;
		vl->port = *port;
		lcfg.initiator_iqn = vl->port.name;
		lcfg.isid = vl->port.isid;
		log_info("%s: dev-%u: %s logs in as %s", t->name, devnum, pdev,
			 iport_format(&vl->port, ports, sizeof(ports)));
	}
	if (t->remote) {
		r = t->remote->open(t->remote_arg, vl, info, &lcfg, err, errlen);
		if (r < 0 && r != -EINPROGRESS) {
			free(vl);
			return r;
		}
	} else {
		r = lun_open(&vl->dev, info, &lcfg);
		if (r < 0 && r != -EINPROGRESS) {
			snprintf(err, errlen, "%s", vl->dev.error[0] ? vl->dev.error : strerror(-r));
			free(vl);
			return r;
		}
	}
	t->v[t->n++] = vl;
	if (r == -EINPROGRESS) {
		vl->opening = true;
		log_info("%s: dev-%u: v-dev %s -> %s: opening", t->name, devnum, vlun_vdev(vl, vdev),
			 pdev);
		return r;
	}
	log_info("%s: dev-%u: v-dev %s -> %s (%s)", t->name, devnum, vlun_vdev(vl, vdev), pdev,
		 vl->dev.desc);
	return 0;
}

void vlun_remote_opened(struct vlun_table *t, unsigned devnum, int rc, const char *err,
			uint8_t dev_type, const char *desc)
{
	struct vlun *vl = vlun_find_devnum(t, devnum);

	if (!vl || !vl->opening)
		return;
	vl->dev.dev_type = dev_type;
	snprintf(vl->dev.desc, sizeof(vl->dev.desc), "%s", desc);
	snprintf(vl->dev.error, sizeof(vl->dev.error), "%s", err);
	vlun_opened(&vl->dev, rc);
}

void vlun_remove(struct vlun_table *t, unsigned devnum)
{
	struct vlun *vl = vlun_find_devnum(t, devnum);

	if (vl)
		vlun_free(t, vl, true);
}

void vlun_remove_all(struct vlun_table *t)
{
	while (t->n)
		vlun_free(t, t->v[0], true);
	free(t->v);
	t->v = NULL;
}

void vlun_apply_config(struct vlun_table *t, const struct scsiback_config *cfg)
{
	t->cfg = cfg;
	for (unsigned i = 0; i < t->n; i++) {
		struct lun_config unused;
		const struct policy *p;

		config_lun_settings(cfg, t->v[i]->pdev, &unused, &p);
		vlun_set_policy(t->v[i], p);
		if (t->remote)
			t->remote->settings(t->remote_arg, t->v[i]);
	}
}
