/* CDB helpers in libiscsi's shape: *_task submits with a callback, *_sync
 * runs to completion and returns the task. Plus small utilities. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "be_fields.h"

#include "vdev.h"
#include "vf_internal.h"

/* Submits a new task; NULL with errno on failure. */
static struct vscsi_task *start(struct vscsi_host *h, const struct vscsi_addr *a, const uint8_t *cdb,
				size_t cdb_len, enum vscsi_xfer xfer, void *buf, size_t len,
				vscsi_task_cb cb, void *priv)
{
	struct vscsi_task *t = vscsi_task_new(a, cdb, cdb_len, xfer, buf, len);
	int r;

	if (!t)
		return NULL;
	r = vscsi_task_submit(h, t, cb, priv);
	if (r < 0) {
		vscsi_task_free(t);
		errno = -r;
		return NULL;
	}
	return t;
}

/* Runs a new task; NULL only when out of memory or arguments are bad. */
static struct vscsi_task *run(struct vscsi_host *h, const struct vscsi_addr *a, const uint8_t *cdb,
			      size_t cdb_len, enum vscsi_xfer xfer, void *buf, size_t len)
{
	struct vscsi_task *t = vscsi_task_new(a, cdb, cdb_len, xfer, buf, len);

	if (!t)
		return NULL;
	vscsi_task_run(h, t);
	return t;
}

struct vscsi_task *vscsi_command_task(struct vscsi_host *h, const struct vscsi_addr *a,
				      const uint8_t *cdb, size_t cdb_len, enum vscsi_xfer xfer,
				      void *buf, size_t len, vscsi_task_cb cb, void *priv)
{
	return start(h, a, cdb, cdb_len, xfer, buf, len, cb, priv);
}

struct vscsi_task *vscsi_command_sync(struct vscsi_host *h, const struct vscsi_addr *a,
				      const uint8_t *cdb, size_t cdb_len, enum vscsi_xfer xfer,
				      void *buf, size_t len)
{
	return run(h, a, cdb, cdb_len, xfer, buf, len);
}

static const uint8_t cdb_tur[6];

struct vscsi_task *vscsi_testunitready_task(struct vscsi_host *h, const struct vscsi_addr *a,
					    vscsi_task_cb cb, void *priv)
{
	return start(h, a, cdb_tur, 6, VSCSI_XFER_NONE, NULL, 0, cb, priv);
}

struct vscsi_task *vscsi_testunitready_sync(struct vscsi_host *h, const struct vscsi_addr *a)
{
	return run(h, a, cdb_tur, 6, VSCSI_XFER_NONE, NULL, 0);
}

static void inquiry_cdb(uint8_t *c, bool evpd, uint8_t page, uint16_t alloc)
{
	memset(c, 0, 6);
	c[0] = 0x12;
	c[1] = evpd ? 1 : 0;
	c[2] = evpd ? page : 0;
	sg_put_unaligned_be16(alloc, c + 3);
}

struct vscsi_task *vscsi_inquiry_task(struct vscsi_host *h, const struct vscsi_addr *a, bool evpd,
				      uint8_t page, uint16_t alloc, vscsi_task_cb cb, void *priv)
{
	uint8_t c[6];

	inquiry_cdb(c, evpd, page, alloc);
	return start(h, a, c, 6, VSCSI_XFER_READ, NULL, alloc, cb, priv);
}

struct vscsi_task *vscsi_inquiry_sync(struct vscsi_host *h, const struct vscsi_addr *a, bool evpd,
				      uint8_t page, uint16_t alloc)
{
	uint8_t c[6];

	inquiry_cdb(c, evpd, page, alloc);
	return run(h, a, c, 6, VSCSI_XFER_READ, NULL, alloc);
}

static const uint8_t cdb_rc10[10] = { 0x25 };

struct vscsi_task *vscsi_readcapacity10_task(struct vscsi_host *h, const struct vscsi_addr *a,
					     vscsi_task_cb cb, void *priv)
{
	return start(h, a, cdb_rc10, 10, VSCSI_XFER_READ, NULL, 8, cb, priv);
}

struct vscsi_task *vscsi_readcapacity10_sync(struct vscsi_host *h, const struct vscsi_addr *a)
{
	return run(h, a, cdb_rc10, 10, VSCSI_XFER_READ, NULL, 8);
}

static void rc16_cdb(uint8_t *c)
{
	memset(c, 0, 16);
	c[0] = 0x9e;
	c[1] = 0x10;
	sg_put_unaligned_be32(32, c + 10);
}

struct vscsi_task *vscsi_readcapacity16_task(struct vscsi_host *h, const struct vscsi_addr *a,
					     vscsi_task_cb cb, void *priv)
{
	uint8_t c[16];

	rc16_cdb(c);
	return start(h, a, c, 16, VSCSI_XFER_READ, NULL, 32, cb, priv);
}

struct vscsi_task *vscsi_readcapacity16_sync(struct vscsi_host *h, const struct vscsi_addr *a)
{
	uint8_t c[16];

	rc16_cdb(c);
	return run(h, a, c, 16, VSCSI_XFER_READ, NULL, 32);
}

static void rl_cdb(uint8_t *c, uint8_t sel, uint32_t alloc)
{
	memset(c, 0, 12);
	c[0] = 0xa0;
	c[2] = sel;
	sg_put_unaligned_be32(alloc, c + 6);
}

struct vscsi_task *vscsi_reportluns_task(struct vscsi_host *h, const struct vscsi_addr *a,
					 uint8_t sel, uint32_t alloc, vscsi_task_cb cb, void *priv)
{
	uint8_t c[12];

	rl_cdb(c, sel, alloc);
	return start(h, a, c, 12, VSCSI_XFER_READ, NULL, alloc, cb, priv);
}

struct vscsi_task *vscsi_reportluns_sync(struct vscsi_host *h, const struct vscsi_addr *a,
					 uint8_t sel, uint32_t alloc)
{
	uint8_t c[12];

	rl_cdb(c, sel, alloc);
	return run(h, a, c, 12, VSCSI_XFER_READ, NULL, alloc);
}

struct vscsi_task *vscsi_requestsense_task(struct vscsi_host *h, const struct vscsi_addr *a,
					   uint8_t alloc, vscsi_task_cb cb, void *priv)
{
	uint8_t c[6] = { 0x03, 0, 0, 0, alloc, 0 };

	return start(h, a, c, 6, VSCSI_XFER_READ, NULL, alloc, cb, priv);
}

struct vscsi_task *vscsi_requestsense_sync(struct vscsi_host *h, const struct vscsi_addr *a,
					   uint8_t alloc)
{
	uint8_t c[6] = { 0x03, 0, 0, 0, alloc, 0 };

	return run(h, a, c, 6, VSCSI_XFER_READ, NULL, alloc);
}

static void rw16_cdb(uint8_t *c, uint8_t op, uint64_t lba, uint32_t n)
{
	memset(c, 0, 16);
	c[0] = op;
	sg_put_unaligned_be64(lba, c + 2);
	sg_put_unaligned_be32(n, c + 10);
}

struct vscsi_task *vscsi_read16_task(struct vscsi_host *h, const struct vscsi_addr *a, uint64_t lba,
				     uint32_t n, uint32_t bs, void *buf, vscsi_task_cb cb, void *priv)
{
	uint8_t c[16];

	rw16_cdb(c, 0x88, lba, n);
	return start(h, a, c, 16, VSCSI_XFER_READ, buf, (size_t)n * bs, cb, priv);
}

struct vscsi_task *vscsi_read16_sync(struct vscsi_host *h, const struct vscsi_addr *a, uint64_t lba,
				     uint32_t n, uint32_t bs, void *buf)
{
	uint8_t c[16];

	rw16_cdb(c, 0x88, lba, n);
	return run(h, a, c, 16, VSCSI_XFER_READ, buf, (size_t)n * bs);
}

struct vscsi_task *vscsi_write16_task(struct vscsi_host *h, const struct vscsi_addr *a,
				      uint64_t lba, uint32_t n, uint32_t bs, const void *buf,
				      vscsi_task_cb cb, void *priv)
{
	uint8_t c[16];

	if (!buf && n) {
		errno = EINVAL;
		return NULL;
	}
	rw16_cdb(c, 0x8a, lba, n);
	return start(h, a, c, 16, VSCSI_XFER_WRITE, (void *)buf, (size_t)n * bs, cb, priv);
}

struct vscsi_task *vscsi_write16_sync(struct vscsi_host *h, const struct vscsi_addr *a,
				      uint64_t lba, uint32_t n, uint32_t bs, const void *buf)
{
	uint8_t c[16];

	if (!buf && n) {
		errno = EINVAL;
		return NULL;
	}
	rw16_cdb(c, 0x8a, lba, n);
	return run(h, a, c, 16, VSCSI_XFER_WRITE, (void *)buf, (size_t)n * bs);
}

const char *vscsi_dev_type_name(uint8_t t)
{
	static const char *const names[] = {
		[0x00] = "disk",    [0x01] = "tape",    [0x02] = "printer", [0x03] = "process",
		[0x04] = "worm",    [0x05] = "cd/dvd",  [0x06] = "scanner", [0x07] = "optical",
		[0x08] = "mediumx", [0x09] = "comms",   [0x0c] = "storage", [0x0d] = "enclosu",
		[0x0e] = "sim dsk", [0x0f] = "opti rd", [0x10] = "bridge",  [0x11] = "osd",
		[0x12] = "adi",     [0x13] = "sec man", [0x14] = "zbc",     [0x1e] = "wlun",
		[0x1f] = "no dev",
	};

	if (t < sizeof(names) / sizeof(names[0]) && names[t])
		return names[t];
	return "unknown";
}

/* The names of common/vdev.h, which the backend and the toolstack read
 * too: "0:0:00" or a part above 65535 is no address. */
int vscsi_parse_addr(const char *s, int *host, struct vscsi_addr *out)
{
	struct vdev v = { .host = 0 };

	if (vdev_parse(s, &v) == 0) {
		if (host)
			*host = (int)v.host;
	} else if (vdev_parse_ctl(s, &v) == 0) {
		if (host)
			*host = -1;
	} else {
		return -EINVAL;
	}
	out->channel = (uint16_t)v.channel;
	out->target = (uint16_t)v.target;
	out->lun = (uint16_t)v.lun;
	return 0;
}
