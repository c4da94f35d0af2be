#include "vplan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domains.h"
#include "inventory.h"

static bool usable(const struct vplan_entry *e)
{
	return !e->error[0];
}

/* Parsing, backend, v-dev and p-dev of one entry. */
static void check_one(struct xs_handle *xs, const struct vplan_opts *o, struct vplan_entry *e, int i)
{
	struct pdevspec_opts po = { o->kernel_backend, false, o->sysfs, o->configfs };
	char err[512];

	if (e->text && vspec_parse(e->text, &e->spec, err, sizeof(err))) {
		snprintf(e->error, sizeof(e->error), "entry %d: %s", i + 1, err);
		return;
	}
	e->be_domid = o->be_domid;
	if (e->spec.backend[0] && dom_lookup(xs, e->spec.backend, &e->be_domid, err, sizeof(err))) {
		snprintf(e->error, sizeof(e->error), "entry %d: backend domain: %s", i + 1, err);
		return;
	}
	if (vdev_parse(e->spec.vdev, &e->v) < 0) {
		snprintf(e->error, sizeof(e->error), "entry %d: v-dev \"%s\" is not " VDEV_FORM, i + 1,
			 e->spec.vdev);
		return;
	}
	po.local = e->be_domid == o->self;
	if (pdevspec_check(e->spec.pdev, &po, &e->ps, err, sizeof(err)))
		snprintf(e->error, sizeof(e->error), "entry %d: %s", i + 1, err);
}

/* Entry i against the usable entries before it. */
static void check_pair(struct vplan_entry *e, int i)
{
	for (int k = 0; k < i && usable(&e[i]); k++) {
		if (!usable(&e[k]) || e[k].v.host != e[i].v.host)
			continue;
		if (e[k].v.channel == e[i].v.channel && e[k].v.target == e[i].v.target &&
		    e[k].v.lun == e[i].v.lun)
			snprintf(e[i].error, sizeof(e[i].error), "entries %d and %d both use v-dev "
				 "%u:%u:%u:%u", k + 1, i + 1, e[i].v.host, e[i].v.channel, e[i].v.target,
				 e[i].v.lun);
		else if (e[k].spec.feature_host != e[i].spec.feature_host)
			snprintf(e[i].error, sizeof(e[i].error), "entries %d and %d are on vhost %u but "
				 "only one has feature-host; all LUNs of a vhost must agree", k + 1, i + 1,
				 e[i].v.host);
		else if (e[k].be_domid != e[i].be_domid)
			snprintf(e[i].error, sizeof(e[i].error), "entries %d and %d are on vhost %u but "
				 "name different backend domains (%u, %u)", k + 1, i + 1, e[i].v.host,
				 e[k].be_domid, e[i].be_domid);
	}
}

/* Entry i against the vhosts the domain has (inv, read for its backend). */
static void check_attached(unsigned domid, struct vplan_entry *e, int i, const struct inv_vhost *inv,
			   int ninv)
{
	for (int h = 0; h < ninv && usable(e); h++) {
		const struct inv_lun *l;

		if (inv[h].devid != e->v.host)
			continue;
		if (inv[h].feature_host != e->spec.feature_host) {
			snprintf(e->error, sizeof(e->error), "entry %d: vhost %u of domain %u is %sin "
				 "feature-host mode", i + 1, e->v.host, domid, inv[h].feature_host ? "" : "not ");
			break;
		}
		l = inv_find(&inv[h], e->v.channel, e->v.target, e->v.lun);
		if (!l)
			continue;
		if (l->pdev && !strcmp(l->pdev, e->ps.pdev) && l->state != 6)
			e->skip = true;
		else
			snprintf(e->error, sizeof(e->error), "entry %d: v-dev %s of domain %u is already "
				 "attached to p-dev \"%s\" (dev-%u, state %d)", i + 1, e->spec.vdev, domid,
				 l->pdev ? l->pdev : "", l->idx, l->state);
	}
}

int vplan_check(struct xs_handle *xs, unsigned domid, const struct vplan_opts *o,
		struct vplan_entry *e, int n, char *err, size_t errlen)
{
	int bad = 0;

	for (int i = 0; i < n; i++) {
		e[i].error[0] = 0;
		e[i].skip = e[i].done = false;
		check_one(xs, o, &e[i], i);
		check_pair(e, i);
	}
	for (int i = 0; i < n; i++) {
		struct inv_vhost *inv;
		int ninv;

		if (!usable(&e[i]))
			continue;
		ninv = inv_read(xs, domid, e[i].be_domid, &inv);
		if (ninv < 0) {
			snprintf(err, errlen, "domain %u: %s", domid, strerror(-ninv));
			return ninv;
		}
		check_attached(domid, &e[i], i, inv, ninv);
		inv_free(inv, ninv);
	}
	for (int i = 0; i < n; i++)
		bad += !usable(&e[i]);
	return bad;
}

unsigned vplan_group(const struct vplan_entry *e, int n, int i, int *idx, unsigned max)
{
	unsigned k = 0;

	for (int j = i; j < n && k < max; j++) {
		if (!usable(&e[j]) || e[j].skip || e[j].done || e[j].v.host != e[i].v.host ||
		    e[j].be_domid != e[i].be_domid)
			continue;
		idx[k++] = j;
	}
	return k;
}
