/* The vscsi commands that talk to a LUN: list, inq, readcap, tur, luns,
 * raw (read and write are in cli_io.c). Sense decoding comes from libsgutils2. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include <scsi/sg_lib.h>
#include "be_fields.h"

#include "cli.h"
#include "vscsi_host.h"

/* names[code], or dflt for a code the table has no name for. */
static const char *name_of(const char *const *names, size_t n, unsigned code, const char *dflt)
{
	return code < n && names[code] ? names[code] : dflt;
}
#define NAME_OF(names, code, dflt) name_of(names, sizeof(names) / sizeof(names[0]), code, dflt)

static unsigned open_timeout(void)
{
	return 10000;
}

static struct vscsi_host *open_vhost(struct cli *c, unsigned devid, char *err, size_t errlen)
{
	struct vscsi_opts o = { .cmd_timeout_ms = c->timeout_ms, .connect_timeout_ms = open_timeout(),
				.poll_us = -1 };

	return vscsi_open(devid, &o, err, errlen);
}

int cli_open(struct cli *c)
{
	char err[512];

	if (c->host)
		return EX_OK;
	if (c->vhost < 0) {
		unsigned ids[1];
		int n = vscsi_list_vhosts(ids, 1);

		if (n < 0) {
			fprintf(stderr, "vscsi: cannot read this domain's vhosts from xenstore: %s\n",
				strerror(-n));
			return EX_FILE;
		}
		if (n == 0) {
			fprintf(stderr, "vscsi: this domain has no PV SCSI vhost (device/vscsi/* is empty)\n");
			return EX_FILE;
		}
		c->vhost = (int)ids[0];
	}
	c->devid = (unsigned)c->vhost;
	c->host = open_vhost(c, c->devid, err, sizeof(err));
	if (!c->host) {
		fprintf(stderr, "vscsi: %s\n", err);
		return EX_FILE;
	}
	if (!c->have_addr) {
		struct vscsi_lun_info li;

		if (vscsi_get_luns(c->host, &li, 1) == 0) {
			fprintf(stderr, "vscsi: vhost %u has no LUNs\n", c->devid);
			return EX_FILE;
		}
		c->addr = li.addr;
		c->have_addr = true;
	} else if (c->verbose && vscsi_find_lun(c->host, &c->addr, NULL) < 0) {
		fprintf(stderr, "vscsi: note: %u:%u:%u:%u is not a LUN the backend announced\n",
			c->devid, c->addr.channel, c->addr.target, c->addr.lun);
	}
	return EX_OK;
}

void cli_close(struct cli *c)
{
	if (c->host)
		vscsi_close(c->host);
	c->host = NULL;
}

int cli_task_result(struct cli *c, const struct vscsi_task *t, const char *what)
{
	/* The statuses that carry no sense, each with sg3_utils' category
	 * (the exit status); libsgutils2 names them. */
	static const struct {
		uint8_t status;
		int cat;
	} plain[] = {
		{ 0x08, SG_LIB_CAT_BUSY },
		{ 0x18, SG_LIB_CAT_RES_CONFLICT },
		{ 0x28, SG_LIB_CAT_TS_FULL },
		{ 0x40, SG_LIB_CAT_TASK_ABORTED },
	};
	char buf[1024];
	int cat;

	if (!t) {
		fprintf(stderr, "vscsi: %s: %s\n", what, strerror(errno));
		return EX_OTHER;
	}
	if (t->error) {
		fprintf(stderr, "vscsi: %s: %s\n", what, t->errmsg[0] ? t->errmsg : strerror(-t->error));
		return t->error == -ETIMEDOUT ? EX_TIMEOUT : EX_OTHER;
	}
	if (t->host_status) {
		fprintf(stderr, "vscsi: %s: host status 0x%02x (%s)\n", what, t->host_status,
			vscsi_host_name(t->host_status));
		/* NO_CONNECT: nothing answers at that target (selection timeout):
		 * no such LUN, vscsi(1)'s 15 as for a vhost that is not there. */
		if (t->host_status == VSCSI_HOST_NO_CONNECT)
			return EX_FILE;
		return t->host_status == VSCSI_HOST_TIME_OUT ? EX_TIMEOUT : EX_OTHER;
	}
	switch (t->status) {
	case 0x00:
		return EX_OK;
	case 0x02:
		if (!t->sense_len) {
			fprintf(stderr, "vscsi: %s: CHECK CONDITION without sense data\n", what);
			return SG_LIB_CAT_SENSE;
		}
		cat = sg_err_category_sense(t->sense, t->sense_len);
		if ((cat == SG_LIB_CAT_RECOVERED || cat == SG_LIB_CAT_NO_SENSE) && !c->verbose)
			return EX_OK;
		sg_get_sense_str(NULL, t->sense, t->sense_len, c->verbose, (int)sizeof(buf), buf);
		fprintf(stderr, "%s: %s", what, buf);
		if (cat == SG_LIB_CAT_RECOVERED || cat == SG_LIB_CAT_NO_SENSE)
			return EX_OK;
		return cat;
	default:
		for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
			if (plain[i].status == t->status) {
				sg_get_scsi_status_str(t->status, (int)sizeof(buf), buf);
				fprintf(stderr, "vscsi: %s: %s\n", what, buf);
				return plain[i].cat;
			}
		fprintf(stderr, "vscsi: %s: SCSI status 0x%02x\n", what, t->status);
		return EX_OTHER;
	}
}

/* ---- list ---- */

static void list_text(const struct vscsi_lun_info *l, unsigned devid)
{
	char hctl[32];

	snprintf(hctl, sizeof(hctl), "[%u:%u:%u:%u]", devid, l->addr.channel, l->addr.target,
		 l->addr.lun);
	printf("%-13s%-8s%-9s%-17s%-6s%s\n", hctl, vscsi_dev_type_name(l->dev_type),
	       l->vendor, l->product, l->revision, l->pdev[0] ? l->pdev : "-");
}

static json_object *lun_json(const struct vscsi_lun_info *l, unsigned devid)
{
	json_object *o = json_object_new_object();
	char hctl[32];

	snprintf(hctl, sizeof(hctl), "%u:%u:%u:%u", devid, l->addr.channel, l->addr.target,
		 l->addr.lun);
	json_object_object_add(o, "hctl", json_object_new_string(hctl));
	json_object_object_add(o, "channel", json_object_new_int(l->addr.channel));
	json_object_object_add(o, "target", json_object_new_int(l->addr.target));
	json_object_object_add(o, "lun", json_object_new_int(l->addr.lun));
	json_object_object_add(o, "devnum", json_object_new_int((int)l->devnum));
	json_object_object_add(o, "type", json_object_new_string(vscsi_dev_type_name(l->dev_type)));
	json_object_object_add(o, "peripheral_type", json_object_new_int(l->dev_type));
	json_object_object_add(o, "inquiry_ok", json_object_new_boolean(l->inquiry_ok));
	json_object_object_add(o, "vendor", json_object_new_string(l->vendor));
	json_object_object_add(o, "product", json_object_new_string(l->product));
	json_object_object_add(o, "revision", json_object_new_string(l->revision));
	json_object_object_add(o, "removable", json_object_new_boolean(l->removable));
	json_object_object_add(o, "p_dev", json_object_new_string(l->pdev));
	return o;
}

int cmd_list(struct cli *c)
{
	unsigned ids[256];
	int n = 0, rc = EX_OK;
	json_object *root = c->json ? json_object_new_object() : NULL;
	json_object *vhosts = c->json ? json_object_new_array() : NULL;

	if (c->nargs) {
		fprintf(stderr, "vscsi list: unexpected argument \"%s\"\n", c->args[0]);
		return EX_SYNTAX;
	}
	if (c->vhost >= 0) {
		ids[0] = (unsigned)c->vhost;
		n = 1;
	} else {
		n = vscsi_list_vhosts(ids, 256);
		if (n < 0) {
			fprintf(stderr, "vscsi: cannot read this domain's vhosts: %s\n", strerror(-n));
			return EX_FILE;
		}
		if (n > 256)
			n = 256;
	}
	for (int i = 0; i < n; i++) {
		struct vscsi_lun_info luns[256];
		struct vscsi_host_info info;
		struct vscsi_host *h;
		char err[512];
		size_t nl;

		h = open_vhost(c, ids[i], err, sizeof(err));
		if (!h) {
			fprintf(stderr, "vscsi: %s\n", err);
			rc = EX_FILE;
			if (vhosts) {
				json_object *v = json_object_new_object();

				json_object_object_add(v, "vhost", json_object_new_int((int)ids[i]));
				json_object_object_add(v, "error", json_object_new_string(err));
				json_object_array_add(vhosts, v);
			}
			continue;
		}
		vscsi_get_info(h, &info);
		nl = vscsi_get_luns(h, luns, 256);
		if (nl > 256)
			nl = 256;
		if (vhosts) {
			json_object *v = json_object_new_object(), *arr = json_object_new_array();

			json_object_object_add(v, "vhost", json_object_new_int((int)ids[i]));
			json_object_object_add(v, "backend", json_object_new_string(info.backend));
			json_object_object_add(v, "backend_domid", json_object_new_int(info.backend_domid));
			json_object_object_add(v, "feature_sg_grant",
					       json_object_new_int((int)info.feature_sg_grant));
			json_object_object_add(v, "max_transfer",
					       json_object_new_int64((int64_t)info.max_transfer));
			for (size_t k = 0; k < nl; k++)
				json_object_array_add(arr, lun_json(&luns[k], ids[i]));
			json_object_object_add(v, "luns", arr);
			json_object_array_add(vhosts, v);
		} else {
			for (size_t k = 0; k < nl; k++)
				list_text(&luns[k], ids[i]);
		}
		vscsi_close(h);
	}
	if (root) {
		json_object_object_add(root, "vhosts", vhosts);
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(root);
	}
	return rc;
}

/* ---- inq ---- */

static const char *version_name(uint8_t v)
{
	static const char *const names[] = {
		[0] = "[no conformance claimed]", [3] = "[SPC]", [4] = "[SPC-2]", [5] = "[SPC-3]",
		[6] = "[SPC-4]", [7] = "[SPC-5]",
	};

	return NAME_OF(names, v, "");
}

static void print_field(const char *label, const uint8_t *p, size_t n)
{
	char s[64];

	memcpy(s, p, n);
	s[n] = 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			s[i] = ' ';
	while (n && s[n - 1] == ' ')
		s[--n] = 0;
	printf(" %s: %s\n", label, s);
}

static void print_standard_inquiry(const uint8_t *d, size_t len)
{
	char pdt[64];

	printf("standard INQUIRY:\n");
	printf("  PQual=%d  PDT=%d  RMB=%d  LU_CONG=%d  hot_pluggable=%d  version=0x%02x  %s\n",
	       d[0] >> 5, d[0] & 0x1f, !!(d[1] & 0x80), !!(d[1] & 0x40), (d[1] >> 4) & 3, d[2],
	       version_name(d[2]));
	printf("  [AERC=%d]  [TrmTsk=%d]  NormACA=%d  HiSUP=%d  Resp_data_format=%d\n",
	       !!(d[3] & 0x80), !!(d[3] & 0x40), !!(d[3] & 0x20), !!(d[3] & 0x10), d[3] & 0xf);
	if (len > 7) {
		printf("  SCCS=%d  ACC=%d  TPGS=%d  3PC=%d  Protect=%d  [BQue=%d]\n", !!(d[5] & 0x80),
		       !!(d[5] & 0x40), (d[5] >> 4) & 3, !!(d[5] & 0x08), !!(d[5] & 0x01),
		       !!(d[6] & 0x80));
		printf("  EncServ=%d  MultiP=%d  [MChngr=%d]  [ACKREQQ=%d]  Addr16=%d\n",
		       !!(d[6] & 0x40), !!(d[6] & 0x10), !!(d[6] & 0x08), !!(d[6] & 0x04),
		       !!(d[6] & 0x01));
		printf("  [RelAdr=%d]  WBus16=%d  Sync=%d  [Linked=%d]  [TranDis=%d]  CmdQue=%d\n",
		       !!(d[7] & 0x80), !!(d[7] & 0x20), !!(d[7] & 0x10), !!(d[7] & 0x08),
		       !!(d[7] & 0x04), !!(d[7] & 0x02));
	}
	printf("    length=%d (0x%x)   Peripheral device type: %s\n", d[4] + 5, d[4] + 5,
	       sg_get_pdt_str(d[0] & 0x1f, (int)sizeof(pdt), pdt));
	if (len >= 16)
		print_field("Vendor identification", d + 8, 8);
	if (len >= 32)
		print_field("Product identification", d + 16, 16);
	if (len >= 36)
		print_field("Product revision level", d + 32, 4);
}

static int print_vpd(struct cli *c, const uint8_t *d, size_t len)
{
	size_t plen;

	if (len < 4) {
		fprintf(stderr, "vscsi inq: VPD page 0x%02x: only %zu bytes\n", c->vpd_page, len);
		return SG_LIB_CAT_MALFORMED;
	}
	plen = (size_t)sg_get_unaligned_be16(d + 2) + 4;
	if (plen > len)
		plen = len;
	if (d[1] != (uint8_t)c->vpd_page) {
		fprintf(stderr, "vscsi inq: asked for VPD page 0x%02x, got 0x%02x\n", c->vpd_page, d[1]);
		return SG_LIB_CAT_MALFORMED;
	}
	switch (c->vpd_page) {
	case 0x00:
		printf("Supported VPD pages:\n");
		for (size_t i = 4; i < plen; i++)
			printf("  0x%02x\n", d[i]);
		break;
	case 0x80: {
		char s[256];
		size_t n = plen - 4 < sizeof(s) - 1 ? plen - 4 : sizeof(s) - 1;

		memcpy(s, d + 4, n);
		s[n] = 0;
		printf("VPD INQUIRY: Unit serial number page\n");
		printf("  Unit serial number: %s\n", s);
		break;
	}
	default:
		printf("VPD INQUIRY, page code=0x%02x:\n", c->vpd_page);
		hex2stdout(d, (int)plen, 0);
		break;
	}
	return EX_OK;
}

int cmd_inq(struct cli *c)
{
	struct vscsi_task *t;
	int rc = cli_open(c);
	bool vpd = c->vpd_page >= 0;

	if (rc)
		return rc;
	t = vscsi_inquiry_sync(c->host, &c->addr, vpd, vpd ? (uint8_t)c->vpd_page : 0,
			       vpd ? 0xfffc : 252);
	rc = cli_task_result(c, t, vpd ? "inquiry VPD" : "inquiry");
	if (rc == EX_OK) {
		if (c->hex)
			hex2stdout(t->buf, (int)t->xfer_done, 0);
		else if (vpd)
			rc = print_vpd(c, t->buf, t->xfer_done);
		else if (t->xfer_done < 5) {
			fprintf(stderr, "vscsi inq: short response (%zu bytes)\n", t->xfer_done);
			rc = SG_LIB_CAT_MALFORMED;
		} else
			print_standard_inquiry(t->buf, t->xfer_done);
	}
	vscsi_task_free(t);
	return rc;
}

/* ---- readcap ---- */

static void print_size(uint64_t blocks, uint32_t bs)
{
	double bytes = (double)blocks * bs;

	printf("Hence:\n");
	printf("   Device size: %" PRIu64 " bytes, %.1f MiB, %.2f GB", blocks * bs,
	       bytes / (1024 * 1024), bytes / 1e9);
	if (bytes >= 1e12)
		printf(", %.2f TB", bytes / 1e12);
	printf("\n");
}

/* READ CAPACITY: 16 if asked or if 10 says the LBA does not fit. */
int cli_read_capacity(struct cli *c, bool quiet, uint64_t *blocks, uint32_t *bs)
{
	struct vscsi_task *t = NULL;
	int rc;

	if (!c->rc16) {
		t = vscsi_readcapacity10_sync(c->host, &c->addr);
		rc = cli_task_result(c, t, "read capacity(10)");
		if (rc) {
			vscsi_task_free(t);
			return rc;
		}
		if (t->xfer_done < 8) {
			fprintf(stderr, "vscsi: read capacity(10): short response\n");
			vscsi_task_free(t);
			return SG_LIB_CAT_MALFORMED;
		}
		if (sg_get_unaligned_be32(t->buf) != 0xffffffffu) {
			const uint8_t *d = t->buf;
			uint32_t last = sg_get_unaligned_be32(d);

			*blocks = (uint64_t)last + 1;
			*bs = sg_get_unaligned_be32(d + 4);
			if (!quiet) {
				printf("Read Capacity results:\n");
				printf("   Last LBA=%u (0x%x), Number of logical blocks=%" PRIu64 "\n",
				       last, last, *blocks);
				printf("   Logical block length=%u bytes\n", *bs);
				if (c->hex)
					hex2stdout(d, 8, 0);
				print_size(*blocks, *bs);
			}
			vscsi_task_free(t);
			return EX_OK;
		}
		vscsi_task_free(t);
	}
	t = vscsi_readcapacity16_sync(c->host, &c->addr);
	rc = cli_task_result(c, t, "read capacity(16)");
	if (!rc && t->xfer_done < 12) {
		fprintf(stderr, "vscsi: read capacity(16): short response\n");
		rc = SG_LIB_CAT_MALFORMED;
	}
	if (!rc) {
		const uint8_t *d = t->buf;
		uint64_t last = sg_get_unaligned_be64(d);

		*blocks = last + 1;
		*bs = sg_get_unaligned_be32(d + 8);
		if (!quiet) {
			printf("Read Capacity results:\n");
			if (t->xfer_done >= 16)
				printf("   Protection: prot_en=%d, p_type=%d, p_i_exponent=%d\n",
				       d[12] & 1, (d[12] >> 1) & 7, d[13] >> 4);
			if (t->xfer_done >= 16) {
				printf("   Logical block provisioning: lbpme=%d, lbprz=%d\n",
				       !!(d[14] & 0x80), !!(d[14] & 0x40));
			}
			printf("   Last LBA=%" PRIu64 " (0x%" PRIx64 "), Number of logical blocks=%" PRIu64
			       "\n", last, last, *blocks);
			printf("   Logical block length=%u bytes\n", *bs);
			if (t->xfer_done >= 16) {
				printf("   Logical blocks per physical block exponent=%d\n", d[13] & 0xf);
				printf("   Lowest aligned LBA=%d\n", sg_get_unaligned_be16(d + 14) & 0x3fff);
			}
			if (c->hex)
				hex2stdout(d, (int)t->xfer_done, 0);
			print_size(*blocks, *bs);
		}
	}
	vscsi_task_free(t);
	return rc;
}

int cmd_readcap(struct cli *c)
{
	uint64_t blocks;
	uint32_t bs;
	int rc = cli_open(c);

	if (rc)
		return rc;
	return cli_read_capacity(c, false, &blocks, &bs);
}

/* ---- tur ---- */

int cmd_tur(struct cli *c)
{
	struct vscsi_task *t;
	int rc = cli_open(c);

	if (rc)
		return rc;
	t = vscsi_testunitready_sync(c->host, &c->addr);
	rc = cli_task_result(c, t, "test unit ready");
	if (rc == EX_OK && c->verbose)
		printf("Completed 1 Test Unit Ready command with 0 errors\n");
	vscsi_task_free(t);
	return rc;
}

/* ---- luns ---- */

int cmd_luns(struct cli *c)
{
	struct vscsi_task *t;
	int rc = cli_open(c);

	if (rc)
		return rc;
	t = vscsi_reportluns_sync(c->host, &c->addr, (uint8_t)c->select_report, 8192);
	rc = cli_task_result(c, t, "report luns");
	if (rc == EX_OK) {
		const uint8_t *d = t->buf;
		size_t got = t->xfer_done, listlen, n;

		if (got < 8) {
			fprintf(stderr, "vscsi luns: short response (%zu bytes)\n", got);
			vscsi_task_free(t);
			return SG_LIB_CAT_MALFORMED;
		}
		listlen = sg_get_unaligned_be32(d);
		n = listlen / 8;
		printf("Lun list length = %zu which implies %zu lun entr%s\n", listlen, n,
		       n == 1 ? "y" : "ies");
		printf("Report luns [select_report=0x%x]:\n", c->select_report);
		for (size_t i = 0; i < n && 8 + (i + 1) * 8 <= got; i++) {
			printf("    ");
			for (int k = 0; k < 8; k++)
				printf("%02x", d[8 + i * 8 + k]);
			printf("\n");
		}
		if (c->hex)
			hex2stdout(d, (int)got, 0);
	}
	vscsi_task_free(t);
	return rc;
}

/* ---- raw ---- */

static int parse_cdb(struct cli *c, uint8_t *cdb, size_t *len)
{
	*len = 0;
	for (int i = 0; i < c->nargs; i++) {
		const char *p = c->args[i];

		while (*p) {
			char *end;
			unsigned long v;

			while (*p == ' ' || *p == ',')
				p++;
			if (!*p)
				break;
			v = strtoul(p, &end, 16);
			if (end == p || end - p > 2 || v > 0xff || (*end && *end != ' ' && *end != ',')) {
				fprintf(stderr, "vscsi raw: \"%s\" is not a hex byte\n", c->args[i]);
				return EX_SYNTAX;
			}
			if (*len >= VSCSI_CDB_MAX) {
				fprintf(stderr, "vscsi raw: a CDB has at most %d bytes\n", VSCSI_CDB_MAX);
				return EX_SYNTAX;
			}
			cdb[(*len)++] = (uint8_t)v;
			p = end;
		}
	}
	if (*len < 6) {
		fprintf(stderr, "vscsi raw: a CDB has at least 6 bytes\n");
		return EX_SYNTAX;
	}
	return EX_OK;
}

uint8_t *cli_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t r;

		if (n == cap) {
			uint8_t *nb;

			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	*len = n;
	return buf;
}

int cmd_raw(struct cli *c)
{
	uint8_t cdb[VSCSI_CDB_MAX], *data = NULL;
	size_t cdb_len, len = 0;
	enum vscsi_xfer x = VSCSI_XFER_NONE;
	struct vscsi_task *t;
	int rc;

	rc = parse_cdb(c, cdb, &cdb_len);
	if (rc)
		return rc;
	if (c->in_len >= 0 && c->out_file) {
		fprintf(stderr, "vscsi raw: --in and --out exclude each other\n");
		return EX_SYNTAX;
	}
	if (c->out_file) {
		data = cli_read_file(c->out_file, &len);
		if (!data) {
			fprintf(stderr, "vscsi raw: cannot read %s: %s\n", c->out_file, strerror(errno));
			return EX_FILE;
		}
		x = VSCSI_XFER_WRITE;
	} else if (c->in_len > 0) {
		len = (size_t)c->in_len;
		data = calloc(1, len);
		if (!data)
			return EX_OTHER;
		x = VSCSI_XFER_READ;
	}
	rc = cli_open(c);
	if (rc) {
		free(data);
		return rc;
	}
	t = vscsi_command_sync(c->host, &c->addr, cdb, cdb_len, x, data, len);
	if (!t) {
		fprintf(stderr, "vscsi raw: %s\n", strerror(errno));
		free(data);
		return EX_OTHER;
	}
	if (t->error) {
		rc = cli_task_result(c, t, "raw");
	} else {
		char status[64];

		sg_get_scsi_status_str(t->status, (int)sizeof(status), status);
		printf("    SCSI Status: %s \n\n", status);
		if (t->host_status)
			printf(" host status 0x%02x (%s)\n\n", t->host_status,
			       vscsi_host_name(t->host_status));
		if (t->sense_len) {
			char buf[1024];

			sg_get_sense_str(NULL, t->sense, t->sense_len, c->verbose, (int)sizeof(buf), buf);
			printf(" Sense Information:\n%s\n", buf);
		}
		if (x == VSCSI_XFER_READ) {
			if (c->outfile) {
				FILE *f = fopen(c->outfile, "wb");

				if (!f || fwrite(data, 1, t->xfer_done, f) != t->xfer_done) {
					fprintf(stderr, "vscsi raw: writing %s: %s\n", c->outfile,
						strerror(errno));
					rc = EX_FILE;
				} else {
					printf("Writing %zu bytes of data to %s\n", t->xfer_done, c->outfile);
				}
				if (f)
					fclose(f);
			} else if (t->xfer_done) {
				printf("Received %zu bytes of data:\n", t->xfer_done);
				hex2stdout(data, (int)t->xfer_done, 0);
			} else {
				printf("No data received\n");
			}
		}
		if (!rc)
			rc = cli_task_result(c, t, "raw");
	}
	vscsi_task_free(t);
	free(data);
	return rc;
}
