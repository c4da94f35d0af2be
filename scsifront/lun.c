/* LUN discovery: the backend's vscsi-devs/dev-N entries become LUNs
 * (docs/protocol.md, "Handshake" and "Where vscsi differs"). A dev-N the
 * backend has Initialised (3), or already Connected (4) when we
 * reconnect, is added: our own dev-N state becomes 4 and an INQUIRY
 * learns its identity; the application hears about it once that answer
 * is in. A dev-N the backend is Closing (5) is removed (our dev-N state
 * 6). v-dev's host number is ignored, as in Linux. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "vdev.h"
#include "vf_internal.h"
#include "xsutil.h"

#define PROBE_TIMEOUT_MS 10000

struct vf_lun *vf_lun_by_devnum(struct vscsi_host *h, unsigned devnum)
{
	for (size_t i = 0; i < h->nluns; i++)
		if (h->luns[i].info.devnum == devnum)
			return &h->luns[i];
	return NULL;
}

static struct vf_lun *lun_by_addr(struct vscsi_host *h, const struct vscsi_addr *a)
{
	for (size_t i = 0; i < h->nluns; i++) {
		const struct vscsi_addr *b = &h->luns[i].info.addr;

		if (b->channel == a->channel && b->target == a->target && b->lun == a->lun)
			return &h->luns[i];
	}
	return NULL;
}

static void fe_dev_state(struct vscsi_host *h, const char *dev, int state)
{
	int r = xsu_write_uintf(h->xs, XBT_NULL, (unsigned)state, "%s/vscsi-devs/%s/state", h->fe_path, dev);

	if (r < 0)
		vf_warn("%s: writing %s/vscsi-devs/%s/state: %s", h->name, h->fe_path, dev, strerror(-r));
}

static void lun_remove(struct vscsi_host *h, struct vf_lun *l, struct vf_deliver *dl,
		       bool announce)
{
	size_t i = (size_t)(l - h->luns);

	if (l->state == VF_LUN_PROBING)
		h->probing--;
	else if (announce)
		vf_event(h, dl, VSCSI_EVENT_LUN_REMOVED, &l->info, "%s: LUN %u:%u:%u (dev-%u) removed",
			 h->name, l->info.addr.channel, l->info.addr.target, l->info.addr.lun,
			 l->info.devnum);
	memmove(&h->luns[i], &h->luns[i + 1], (h->nluns - i - 1) * sizeof(*l));
	h->nluns--;
}

static void lun_ready(struct vscsi_host *h, struct vf_lun *l, struct vf_deliver *dl)
{
	struct vscsi_lun_info *li = &l->info;

	l->state = VF_LUN_READY;
	vf_info("%s: LUN %u:%u:%u (dev-%u) %s %.8s %.16s", h->name, li->addr.channel,
		li->addr.target, li->addr.lun, li->devnum, vscsi_dev_type_name(li->dev_type),
		li->vendor, li->product);
	vf_event(h, dl, VSCSI_EVENT_LUN_ADDED, li, "%s: LUN %u:%u:%u (dev-%u) added", h->name,
		 li->addr.channel, li->addr.target, li->addr.lun, li->devnum);
}

static void trim_copy(char *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)dst[i] < 0x20 || (unsigned char)dst[i] > 0x7e)
			dst[i] = ' ';
	while (n && dst[n - 1] == ' ')
		dst[--n] = 0;
}

static int submit_probe(struct vscsi_host *h, struct vf_lun *l, unsigned step);

/* True for a UNIT ATTENTION the LUN reports once after power on, a reset
 * or a new I_T nexus (ASC 29h): the guest kernel's midlayer and upper
 * drivers consume it at attach time, so tools never see it there. */
static bool power_on_ua(const struct vscsi_task *p)
{
	uint8_t key, asc;

	return !p->error && p->status == VSCSI_STATUS_CHECK_CONDITION &&
	       vscsi_task_sense(p, &key, &asc, NULL) && key == 6 && asc == 0x29;
}

/* Any other UNIT ATTENTION the probe's TEST UNIT READY took belongs to
 * whoever uses the LUN: RESERVATIONS or REGISTRATIONS PREEMPTED (2Ah) is
 * how a cluster node learns it was fenced. Kept for the LUN's next
 * command. */
static void keep_ua(struct vscsi_host *h, struct vf_lun *l, const struct vscsi_task *p)
{
	uint8_t key, asc, ascq;

	if (p->error || p->status != VSCSI_STATUS_CHECK_CONDITION ||
	    !vscsi_task_sense(p, &key, &asc, &ascq) || key != 6 || !p->sense_len)
		return;
	memcpy(l->ua_sense, p->sense, p->sense_len);
	l->ua_len = p->sense_len;
	vf_info("%s: LUN %u:%u:%u: UNIT ATTENTION %02xh/%02xh kept for its next command", h->name,
		l->info.addr.channel, l->info.addr.target, l->info.addr.lun, asc, ascq);
}

bool vf_lun_take_ua(struct vscsi_host *h, struct vf_task *t)
{
	struct vscsi_task *p = &t->pub;
	struct vf_lun *l = lun_by_addr(h, &p->addr);
	uint8_t op = p->cdb[0];

	if (!l || !l->ua_len || op == 0x12 || op == 0xa0 || op == 0x03)
		return false;
	p->status = VSCSI_STATUS_CHECK_CONDITION;
	memcpy(p->sense, l->ua_sense, l->ua_len);
	p->sense_len = l->ua_len;
	p->rslt = VSCSI_STATUS_CHECK_CONDITION;
	p->xfer_done = 0;
	p->residual = (uint32_t)p->buf_len;
	l->ua_len = 0;
	return true;
}

void vf_lun_probe_done(struct vscsi_host *h, struct vf_task *t, struct vf_deliver *dl)
{
	struct vf_lun *l = vf_lun_by_devnum(h, t->probe_devnum);
	struct vscsi_task *p = &t->pub;

	if (l && l->state == VF_LUN_PROBING && t->probe_step > 0) {
		/* A TEST UNIT READY to clear the attach-time UNIT ATTENTION. */
		if (power_on_ua(p) && t->probe_step < 4 && h->state == VSCSI_HOST_CONNECTED &&
		    submit_probe(h, l, t->probe_step + 1) == 0)
			goto out;
		if (!power_on_ua(p))
			keep_ua(h, l, p);
		h->probing--;
		if (h->state == VSCSI_HOST_CONNECTED)
			lun_ready(h, l, dl);
		goto out;
	}
	if (l && l->state == VF_LUN_PROBING) {
		struct vscsi_lun_info *li = &l->info;
		const uint8_t *d = p->buf;

		if (vscsi_task_good(p) && p->xfer_done >= 36) {
			li->inquiry_ok = true;
			li->qualifier = d[0] >> 5;
			li->dev_type = d[0] & 0x1f;
			li->removable = d[1] & 0x80;
			li->version = d[2];
			trim_copy(li->vendor, d + 8, 8);
			trim_copy(li->product, d + 16, 16);
			trim_copy(li->revision, d + 32, 4);
			li->inquiry_len = (uint8_t)(p->xfer_done < sizeof(li->inquiry) ? p->xfer_done
										: sizeof(li->inquiry));
			memcpy(li->inquiry, d, li->inquiry_len);
		} else {
			vf_warn("%s: LUN %u:%u:%u: INQUIRY failed (%s, status 0x%x, host 0x%x)", h->name,
				li->addr.channel, li->addr.target, li->addr.lun,
				p->error ? p->errmsg : "answered", p->status, p->host_status);
			li->dev_type = 0x1f;
		}
		if (li->inquiry_ok && h->state == VSCSI_HOST_CONNECTED &&
		    submit_probe(h, l, 1) == 0)
			goto out;
		h->probing--;
		if (h->state == VSCSI_HOST_CONNECTED)
			lun_ready(h, l, dl);
	}
out:
	t->host = NULL;
	free(t->own_buf);
	free(t);
}

/* Step 0 is the INQUIRY, the next ones TEST UNIT READY. */
static int submit_probe(struct vscsi_host *h, struct vf_lun *l, unsigned step)
{
	static const uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 };
	static const uint8_t tur[6] = { 0 };
	struct vscsi_task *p;
	struct vf_task *t;

	p = step ? vscsi_task_new(&l->info.addr, tur, 6, VSCSI_XFER_NONE, NULL, 0)
		 : vscsi_task_new(&l->info.addr, inq, 6, VSCSI_XFER_READ, NULL, 96);
	if (!p)
		return -ENOMEM;
	t = vf_task(p);
	t->internal = true;
	t->probe_devnum = l->info.devnum;
	t->probe_step = step;
	p->timeout_ms = PROBE_TIMEOUT_MS;
	if (vf_task_submit_locked(h, t, NULL, NULL) < 0) {
		vscsi_task_free(p);
		return -EIO;
	}
	return 0;
}

static void start_probe(struct vscsi_host *h, struct vf_lun *l, struct vf_deliver *dl)
{
	if (h->opts.flags & VSCSI_OPEN_NO_PROBE) {
		l->info.dev_type = 0x1f;
		lun_ready(h, l, dl);
		return;
	}
	l->state = VF_LUN_PROBING;
	h->probing++;
	if (submit_probe(h, l, 0) < 0) {
		h->probing--;
		l->info.dev_type = 0x1f;
		lun_ready(h, l, dl);
	}
}

void vf_lun_add_pass(struct vscsi_host *h, struct vf_deliver *dl)
{
	char path[256], **devs;
	unsigned n = 0;

	snprintf(path, sizeof(path), "%s/vscsi-devs", h->be_path);
	devs = xs_directory(h->xs, XBT_NULL, path, &n);
	/* LUNs the backend no longer offers (a delete we did not see). */
	for (size_t i = 0; i < h->nluns;) {
		char dev[VDEV_DEVNAME_LEN];
		int st;

		vdev_devname(h->luns[i].info.devnum, dev);
		st = xsu_read_intf(h->xs, XBT_NULL, -1, "%s/%s/state", path, dev);
		if (st == XenbusStateInitialised || st == XenbusStateConnected) {
			i++;
			continue;
		}
		if (st == XenbusStateClosing)
			fe_dev_state(h, dev, XenbusStateClosed);
		lun_remove(h, &h->luns[i], dl, true);
	}
	for (unsigned i = 0; devs && i < n; i++) {
		char dir[300], *vdev, *pdev;
		unsigned devnum;
		struct vdev v;
		struct vf_lun *lun;
		int st;

		if (vdev_parse_devname(devs[i], &devnum) < 0)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", path, devs[i]);
		st = xsu_read_intf(h->xs, XBT_NULL, -1, "%s/state", dir);
		if (st != XenbusStateInitialised && st != XenbusStateConnected)
			continue;
		if (vf_lun_by_devnum(h, devnum))
			continue;
		vdev = xsu_readf(h->xs, XBT_NULL, "%s/v-dev", dir);
		if (!vdev || vdev_parse(vdev, &v) < 0) {
			vf_warn("%s: %s: v-dev \"%s\" is not h:c:t:l; ignored", h->name, devs[i],
				vdev ? vdev : "(missing)");
			free(vdev);
			fe_dev_state(h, devs[i], XenbusStateClosed);
			continue;
		}
		free(vdev);
		{
			struct vscsi_addr a = { (uint16_t)v.channel, (uint16_t)v.target, (uint16_t)v.lun };

			if (lun_by_addr(h, &a)) {
				vf_warn("%s: %s: %u:%u:%u is already in use by another dev-N; ignored",
					h->name, devs[i], v.channel, v.target, v.lun);
				fe_dev_state(h, devs[i], XenbusStateClosed);
				continue;
			}
		}
		if (h->nluns == h->cap_luns) {
			size_t cap = h->cap_luns ? h->cap_luns * 2 : 8;
			struct vf_lun *nl = realloc(h->luns, cap * sizeof(*nl));

			if (!nl)
				break;
			h->luns = nl;
			h->cap_luns = cap;
		}
		lun = &h->luns[h->nluns++];
		memset(lun, 0, sizeof(*lun));
		lun->info.addr.channel = (uint16_t)v.channel;
		lun->info.addr.target = (uint16_t)v.target;
		lun->info.addr.lun = (uint16_t)v.lun;
		lun->info.vhost = v.host;
		lun->info.devnum = devnum;
		lun->info.dev_type = 0x1f;
		pdev = xsu_readf(h->xs, XBT_NULL, "%s/p-dev", dir);
		if (pdev) {
			snprintf(lun->info.pdev, sizeof(lun->info.pdev), "%s", pdev);
			free(pdev);
		}
		fe_dev_state(h, devs[i], XenbusStateConnected);
		vf_debug("%s: %s is %u:%u:%u:%u; probing", h->name, devs[i], v.host, v.channel, v.target,
			 v.lun);
		start_probe(h, lun, dl);
	}
	free(devs);
}

void vf_lun_delete_pass(struct vscsi_host *h, struct vf_deliver *dl)
{
	char path[256], **devs;
	unsigned n = 0;

	snprintf(path, sizeof(path), "%s/vscsi-devs", h->be_path);
	devs = xs_directory(h->xs, XBT_NULL, path, &n);
	for (unsigned i = 0; devs && i < n; i++) {
		char dir[300];
		unsigned devnum;
		struct vf_lun *l;

		if (vdev_parse_devname(devs[i], &devnum) < 0)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", path, devs[i]);
		if (xsu_read_intf(h->xs, XBT_NULL, -1, "%s/state", dir) != XenbusStateClosing)
			continue;
		l = vf_lun_by_devnum(h, devnum);
		if (!l)
			continue;
		lun_remove(h, l, dl, true);
		fe_dev_state(h, devs[i], XenbusStateClosed);
	}
	free(devs);
}

void vf_lun_drop_all(struct vscsi_host *h)
{
	h->nluns = 0;
	h->probing = 0;
}
