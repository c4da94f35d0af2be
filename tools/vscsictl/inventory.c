#include "inventory.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "decimal.h"
#include "toolstack.h"
#include "xsutil.h"

const char *inv_state_name(int s)
{
	static const char *const names[] = { "Unknown", "Initialising", "InitWait", "Initialised",
					     "Connected", "Closing", "Closed", "Reconfiguring",
					     "Reconfigured" };

	if (s < 0)
		return "-";
	return s < (int)(sizeof(names) / sizeof(names[0])) ? names[s] : "?";
}

/* Adds the numeric entries of dir to the set ids (no duplicates). */
static void add_ids(struct xs_handle *xs, const char *dir, unsigned **ids, unsigned *n)
{
	unsigned cnt = 0;
	char **d = xs_directory(xs, XBT_NULL, dir, &cnt);

	for (unsigned i = 0; d && i < cnt; i++) {
		bool have = false;
		unsigned *grown;
		uint64_t v;

		/* a vhost's devid, the host of its v-devs (vdev.h) */
		if (!dec_parse_str(d[i], VDEV_PART_MAX, &v))
			continue;
		for (unsigned k = 0; k < *n; k++)
			have |= (*ids)[k] == v;
		if (have)
			continue;
		grown = realloc(*ids, (*n + 1) * sizeof(**ids));
		if (!grown)
			break;
		*ids = grown;
		(*ids)[(*n)++] = (unsigned)v;
	}
	free(d);
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

static int cmp_lun(const void *a, const void *b)
{
	return cmp_unsigned(&((const struct inv_lun *)a)->idx, &((const struct inv_lun *)b)->idx);
}

static void read_luns(struct xs_handle *xs, struct inv_vhost *v, const char *fe)
{
	char dir[512], **d;
	unsigned cnt = 0;

	snprintf(dir, sizeof(dir), "%s/vscsi-devs", v->be);
	d = xs_directory(xs, XBT_NULL, dir, &cnt);
	v->luns = calloc(cnt ? cnt : 1, sizeof(*v->luns));
	for (unsigned i = 0; d && v->luns && i < cnt; i++) {
		struct inv_lun *l = &v->luns[v->nluns];
		char sub[600];

		if (vdev_parse_devname(d[i], &l->idx) < 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, d[i]);
		l->pdev = xsu_readf(xs, XBT_NULL, "%s/p-dev", sub);
		l->pdevname = xsu_readf(xs, XBT_NULL, "%s/p-devname", sub);
		l->vdev = xsu_readf(xs, XBT_NULL, "%s/v-dev", sub);
		l->error = xsu_readf(xs, XBT_NULL, "%s/error", sub);
		l->state = xsu_read_intf(xs, XBT_NULL, -1, "%s/state", sub);
		snprintf(sub, sizeof(sub), "%s/vscsi-devs/%s", fe, d[i]);
		l->fe_state = xsu_read_intf(xs, XBT_NULL, -1, "%s/state", sub);
		v->nluns++;
	}
	free(d);
	if (v->luns)
		qsort(v->luns, v->nluns, sizeof(*v->luns), cmp_lun);
}

int inv_read(struct xs_handle *xs, unsigned domid, unsigned be_domid, struct inv_vhost **out)
{
	char dir[256];
	unsigned *ids = NULL, n = 0, k = 0;

	*out = NULL;
	snprintf(dir, sizeof(dir), "/libxl/%u/vscsi", domid);
	add_ids(xs, dir, &ids, &n);
	snprintf(dir, sizeof(dir), "/local/domain/%u/backend/vscsi/%u", be_domid, domid);
	add_ids(xs, dir, &ids, &n);
	if (n == 0)
		return 0;
	qsort(ids, n, sizeof(*ids), cmp_unsigned);
	*out = calloc(n, sizeof(**out));
	if (!*out) {
		free(ids);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		struct inv_vhost *v = &(*out)[k];
		char fe[128], *front;
		unsigned b;

		ts_backend_path(xs, domid, ids[i], be_domid, v->be, sizeof(v->be), NULL);
		front = xsu_readf(xs, XBT_NULL, "%s/frontend", v->be);
		if (!front)
			continue; /* no backend directory (any more) */
		free(front);
		v->devid = ids[i];
		v->be_domid = sscanf(v->be, "/local/domain/%u/", &b) == 1 ? b : be_domid;
		v->state = xsu_read_intf(xs, XBT_NULL, -1, "%s/state", v->be);
		v->feature_host = xsu_read_intf(xs, XBT_NULL, -1, "%s/feature-host", v->be) == 1;
		v->error = xsu_readf(xs, XBT_NULL, "%s/error", v->be);
		/* The frontend path as we wrote it, not as the guest may say. */
		snprintf(fe, sizeof(fe), "/local/domain/%u/device/vscsi/%u", domid, ids[i]);
		v->fe_state = xsu_read_intf(xs, XBT_NULL, -1, "%s/state", fe);
		read_luns(xs, v, fe);
		k++;
	}
	free(ids);
	if (k == 0) {
		free(*out);
		*out = NULL;
	}
	return (int)k;
}

void inv_free(struct inv_vhost *v, int n)
{
	for (int i = 0; v && i < n; i++) {
		for (unsigned k = 0; k < v[i].nluns; k++) {
			free(v[i].luns[k].pdev);
			free(v[i].luns[k].pdevname);
			free(v[i].luns[k].vdev);
			free(v[i].luns[k].error);
		}
		free(v[i].luns);
		free(v[i].error);
	}
	free(v);
}

const struct inv_lun *inv_find(const struct inv_vhost *v, unsigned channel, unsigned target,
			       unsigned lun)
{
	for (unsigned i = 0; i < v->nluns; i++) {
		struct vdev d, want = { .channel = channel, .target = target, .lun = lun };

		if (v->luns[i].vdev && vdev_parse(v->luns[i].vdev, &d) == 0 && vdev_same_lun(&d, &want))
			return &v->luns[i];
	}
	return NULL;
}

static int cmp_failed(const void *a, const void *b)
{
	const struct inv_failed *x = a, *y = b;

	return (int)strtoul(x->entry, NULL, 10) - (int)strtoul(y->entry, NULL, 10);
}

int inv_read_failed(struct xs_handle *xs, unsigned domid, struct inv_failed **out)
{
	char dir[64];
	unsigned cnt = 0, k = 0;
	char **d;

	snprintf(dir, sizeof(dir), "/libxl/%u/vscsi-failed", domid);
	d = xs_directory(xs, XBT_NULL, dir, &cnt);
	*out = calloc(cnt ? cnt : 1, sizeof(**out));
	for (unsigned i = 0; d && *out && i < cnt; i++) {
		char sub[128];

		snprintf(sub, sizeof(sub), "%s/%s", dir, d[i]);
		(*out)[k].entry = strdup(d[i]);
		(*out)[k].text = xsu_readf(xs, XBT_NULL, "%s/entry", sub);
		(*out)[k].error = xsu_readf(xs, XBT_NULL, "%s/error", sub);
		k++;
	}
	free(d);
	if (*out)
		qsort(*out, k, sizeof(**out), cmp_failed);
	return (int)k;
}

void inv_free_failed(struct inv_failed *f, int n)
{
	for (int i = 0; f && i < n; i++) {
		free(f[i].entry);
		free(f[i].text);
		free(f[i].error);
	}
	free(f);
}
