/* The frontend against real devices: tgtd's disk, tape and changer LUNs
 * through scsiback (iscsi:// p-devs), used by libvscsifront directly, by
 * the vscsi CLI, and by unmodified sg3_utils / mtx / tapeinfo /
 * iscsi-test-cu through ld_vscsi.so. Answers are compared with libiscsi's
 * own tools run directly against the same tgtd LUNs, and data with the
 * disk LUN's backing file. Skipped when tgtd cannot be started. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <scsi/sg_unaligned.h>

#include "jsonkeys.h"
#include "sfenv.h"
#include "vscsifront.h"

#define OUT_MAX (1024 * 1024)

static struct sfenv env;
static struct sftgt tgt;
static bool have_tgt;
static char *out;
static char maparg[512];
static const struct vscsi_addr disk = { 0, 0, 0 };

#define SKIP_WITHOUT_TGT() do { if (!have_tgt) skip(); } while (0)

/* A tool through the shim: vscsi run --map ... -- TOOL ARGS. */
#define SHIM(o, len, ...) \
	sfenv_runl(&env, o, len, simenv_prog("scsifront/vscsi"), "run", "--map", maparg, "--", \
		   __VA_ARGS__, NULL)
#define VSCSI(o, len, ...) \
	sfenv_runl(&env, o, len, simenv_prog("scsifront/vscsi"), __VA_ARGS__, NULL)
#define DIRECT(o, len, ...) sfenv_runl(&env, o, len, __VA_ARGS__, NULL)

/* The text after label on its line, without quotes and blanks around. */
static void field(const char *text, const char *label, char *val, size_t len)
{
	const char *p = strstr(text, label);
	size_t n;

	val[0] = 0;
	if (!p)
		return;
	p += strlen(label);
	while (*p == ' ' || *p == '\'' || *p == '[')
		p++;
	n = strcspn(p, "\n");
	if (n >= len)
		n = len - 1;
	memcpy(val, p, n);
	val[n] = 0;
	while (n && (val[n - 1] == ' ' || val[n - 1] == '\'' || val[n - 1] == ']'))
		val[--n] = 0;
}

static void expect_field(const char *text, const char *label, const char *want)
{
	char v[256];

	field(text, label, v, sizeof(v));
	if (strcmp(v, want))
		fail_msg("\"%s\" is \"%s\", expected \"%s\" in:\n%s", label, v, want, text);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		p[i] = (uint8_t)rng;
	}
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* What the disk LUN's backing file holds at byte offset off. */
static uint64_t backing_hash(off_t off, size_t n)
{
	uint8_t *b = malloc(n);
	int fd = open(tgt.disk_img, O_RDONLY);
	uint64_t h;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, n, off), (ssize_t)n);
	close(fd);
	h = fnv1a(b, n);
	free(b);
	return h;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

static uint8_t *read_whole(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long len;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)len + 1);
	assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*n = (size_t)len;
	return b;
}

/* ---- the library ---- */

struct wdone {
	int done, bad;
};

static void wcb(struct vscsi_host *h, struct vscsi_task *t, void *priv)
{
	struct wdone *w = priv;

	(void)h;
	w->done++;
	if (!vscsi_task_good(t))
		w->bad++;
	vscsi_task_free(t);
}

static void test_library_disk_data(void **state)
{
	const size_t total = 8u << 20, chunk = 1u << 20;
	const uint64_t first_lba = 20000;
	uint8_t *src = malloc(total), *back = malloc(total);
	struct wdone w = { 0 };
	struct vscsi_lun_info li;
	char err[256];
	struct vscsi_host *h;

	(void)state;
	SKIP_WITHOUT_TGT();
	h = vscsi_open(0, NULL, err, sizeof(err));
	if (!h)
		fail_msg("open: %s", err);
	assert_int_equal(vscsi_find_lun(h, &disk, &li), 0);
	assert_string_equal(li.vendor, "IET");
	assert_string_equal(li.product, "VIRTUAL-DISK");
	fill_random(src, total);
	/* Eight 1 MiB writes in flight at once (256 indirect segments each). */
	for (size_t off = 0; off < total; off += chunk)
		assert_non_null(vscsi_write16_task(h, &disk, first_lba + off / 512, chunk / 512, 512,
						   src + off, wcb, &w));
	while (w.done < (int)(total / chunk))
		vscsi_run_once(h, 1000);
	assert_int_equal(w.bad, 0);
	/* Read back in odd sizes: direct, indirect, one block. */
	for (size_t off = 0, n; off < total; off += n) {
		struct vscsi_task *t;

		n = off % 3 == 0 ? 100 * 1024 : off % 3 == 1 ? 512 : 700 * 1024;
		if (off + n > total)
			n = total - off;
		t = vscsi_read16_sync(h, &disk, first_lba + off / 512, (uint32_t)(n / 512), 512,
				      back + off);
		if (!vscsi_task_good(t))
			fail_msg("read at %zu: %d %s", off, t->error, t->errmsg);
		vscsi_task_free(t);
	}
	vscsi_close(h);
	assert_true(fnv1a(src, total) == fnv1a(back, total));
	assert_true(fnv1a(src, total) == backing_hash((off_t)first_lba * 512, total));
	free(src);
	free(back);
}

static void check_good_task(const struct vscsi_task *t, const char *what)
{
	if (!t || !vscsi_task_good(t))
		fail_msg("%s: error %d (%s), status 0x%x, host 0x%x", what, t ? t->error : -1,
			 t ? t->errmsg : "no task", t ? t->status : 0, t ? t->host_status : 0);
}

/* Single commands of 2 and 4 MiB on the disk, written and read back, each
 * one WRITE(16) and one READ(16) through the indirect form (two table
 * pages for 4 MiB) and one iSCSI command, checked against the backing
 * file. A pool of 1024 pages lets one command use 4 MiB. Once with
 * persistent grants (libiscsi reads into and writes from the guest's
 * pages), once without (grant copy through scsiback's buffer). */
static void large_disk_commands(unsigned flags, uint64_t lba)
{
	struct vscsi_opts o = { .pool_pages = 1024, .flags = flags };
	struct vscsi_host_info info;
	struct vscsi_host *h;
	char err[256];

	h = vscsi_open(0, &o, err, sizeof(err));
	if (!h)
		fail_msg("open: %s", err);
	vscsi_get_info(h, &info);
	assert_int_equal(info.max_transfer, 4u << 20);
	assert_int_equal(vscsi_host_persistent(h), !(flags & VSCSI_OPEN_NO_PERSISTENT));
	for (size_t len = 2u << 20; len <= 4u << 20; len *= 2) {
		uint8_t *src = malloc(len), *back = malloc(len);
		struct vscsi_task *t;

		fill_random(src, len);
		t = vscsi_write16_sync(h, &disk, lba, (uint32_t)(len / 512), 512, src);
		check_good_task(t, "write");
		assert_int_equal(t->xfer_done, len);
		vscsi_task_free(t);
		t = vscsi_read16_sync(h, &disk, lba, (uint32_t)(len / 512), 512, back);
		check_good_task(t, "read");
		assert_int_equal(t->xfer_done, len);
		vscsi_task_free(t);
		assert_memory_equal(src, back, len);
		assert_true(backing_hash((off_t)lba * 512, len) == fnv1a(src, len));
		free(src);
		free(back);
	}
	vscsi_close(h);
}

static void test_library_large_disk_commands(void **state)
{
	(void)state;
	SKIP_WITHOUT_TGT();
	large_disk_commands(0, 60000);
	large_disk_commands(VSCSI_OPEN_NO_PERSISTENT, 70000);
}

/* Zero copy end to end: a buffer in the pool (vscsi_buf_alloc) filled and
 * written, and read into in place, while scsiback maps the pool
 * (persistent grants): libiscsi sends from and receives into the very
 * pages the application touches. Checked against the backing file and a
 * read through the copying API. */
static void test_library_zero_copy(void **state)
{
	const size_t len = 1u << 20;
	const uint64_t lba = 90000;
	struct vscsi_task *t;
	struct vscsi_host *h;
	uint8_t *zb, *src = malloc(len), *back = malloc(len);
	char err[256];

	(void)state;
	SKIP_WITHOUT_TGT();
	h = vscsi_open(0, NULL, err, sizeof(err));
	if (!h)
		fail_msg("open: %s", err);
	assert_true(vscsi_host_persistent(h));
	zb = vscsi_buf_alloc(h, len);
	assert_non_null(zb);
	fill_random(src, len);
	memcpy(zb, src, len);
	t = vscsi_write16_sync(h, &disk, lba, len / 512, 512, zb);
	check_good_task(t, "write from the buffer");
	vscsi_task_free(t);
	assert_true(backing_hash((off_t)lba * 512, len) == fnv1a(src, len));
	t = vscsi_read16_sync(h, &disk, lba, len / 512, 512, back);
	check_good_task(t, "read by copy");
	vscsi_task_free(t);
	assert_memory_equal(back, src, len);
	memset(zb, 0, len);
	t = vscsi_read16_sync(h, &disk, lba, len / 512, 512, zb);
	check_good_task(t, "read into the buffer");
	assert_int_equal(t->xfer_done, len);
	vscsi_task_free(t);
	assert_memory_equal(zb, src, len);
	vscsi_buf_free(h, zb);
	vscsi_close(h);
	free(src);
	free(back);
}

/* A tape block is one command and cannot be split: the stand-alone drive
 * takes a block of the largest size its READ BLOCK LIMITS reports (tgtd's
 * says 1 MiB, as tapeinfo shows below), written and read back as one
 * WRITE(6) and one READ(6), through the library and through sg_raw. */
static void tape_cmd(struct vscsi_host *h, const uint8_t cdb[6], enum vscsi_xfer x, void *buf,
		     size_t len, const char *what)
{
	static const struct vscsi_addr tape = { 0, 1, 0 };
	struct vscsi_task *t = vscsi_command_sync(h, &tape, cdb, 6, x, buf, len);

	check_good_task(t, what);
	assert_int_equal(t->xfer_done, len);
	vscsi_task_free(t);
}

static void test_tape_largest_block(void **state)
{
	static const uint8_t rbl[6] = { 0x05 }, rewind[6] = { 0x01 }, wfm[6] = { 0x10, 0, 0, 0, 1, 0 };
	uint8_t lim[6], wr[6] = { 0x0a }, rd[6] = { 0x08 };
	char file_in[600], file_out[600], len_arg[32], hex[3][8];
	struct vscsi_host *h;
	uint8_t *src, *back;
	size_t max, n;
	char err[256];

	(void)state;
	SKIP_WITHOUT_TGT();
	h = vscsi_open(0, NULL, err, sizeof(err));
	if (!h)
		fail_msg("open: %s", err);
	tape_cmd(h, rbl, VSCSI_XFER_READ, lim, sizeof(lim), "READ BLOCK LIMITS");
	max = sg_get_unaligned_be24(lim + 1);
	assert_int_equal(max, 1u << 20);
	src = malloc(max);
	back = malloc(max);
	fill_random(src, max);
	sg_put_unaligned_be24((uint32_t)max, wr + 2);
	sg_put_unaligned_be24((uint32_t)max, rd + 2);
	tape_cmd(h, rewind, VSCSI_XFER_NONE, NULL, 0, "REWIND");
	tape_cmd(h, wr, VSCSI_XFER_WRITE, src, max, "WRITE(6)");
	tape_cmd(h, wfm, VSCSI_XFER_NONE, NULL, 0, "WRITE FILEMARKS");
	tape_cmd(h, rewind, VSCSI_XFER_NONE, NULL, 0, "REWIND");
	memset(back, 0, max);
	tape_cmd(h, rd, VSCSI_XFER_READ, back, max, "READ(6)");
	assert_memory_equal(src, back, max);
	tape_cmd(h, rewind, VSCSI_XFER_NONE, NULL, 0, "REWIND");
	vscsi_close(h);

	/* The same through the shim, with another block. */
	fill_random(src, max);
	snprintf(file_in, sizeof(file_in), "%s/tape-in.bin", env.sim.rundir);
	snprintf(file_out, sizeof(file_out), "%s/tape-out.bin", env.sim.rundir);
	write_file(file_in, src, max);
	snprintf(len_arg, sizeof(len_arg), "%zu", max);
	for (int i = 0; i < 3; i++)
		snprintf(hex[i], sizeof(hex[i]), "%02x", wr[2 + i]);
	if (SHIM(out, OUT_MAX, "sg_raw", "-s", len_arg, "-i", file_in, "/dev/sg101", "0a", "00",
		 hex[0], hex[1], hex[2], "00"))
		fail_msg("sg_raw WRITE(6):\n%s", out);
	assert_int_equal(SHIM(out, OUT_MAX, "sg_raw", "/dev/sg101", "01", "00", "00", "00", "00", "00"), 0);
	if (SHIM(out, OUT_MAX, "sg_raw", "-r", len_arg, "-o", file_out, "/dev/sg101", "08", "00",
		 hex[0], hex[1], hex[2], "00"))
		fail_msg("sg_raw READ(6):\n%s", out);
	assert_int_equal(SHIM(out, OUT_MAX, "sg_raw", "/dev/sg101", "01", "00", "00", "00", "00", "00"), 0);
	free(back);
	back = read_whole(file_out, &n);
	assert_int_equal(n, max);
	assert_memory_equal(src, back, max);
	free(src);
	free(back);
}

/* ---- the CLI ---- */

/* The JSON of the vscsi CLI uses the style of every tool's JSON:
 * snake_case keys (docs/user-guide.md, "JSON output"), in the vhosts and
 * in each LUN. */
static void test_cli_json_keys_snake_case(void **state)
{
	char bad[1200];
	unsigned keys;
	int rc;

	(void)state;
	SKIP_WITHOUT_TGT();
	rc = VSCSI(out, OUT_MAX, "list", "--json");
	assert_int_equal(rc, 0);
	if (jsonkeys_snake_case_text(out, bad, sizeof(bad), &keys))
		fail_msg("vscsi list --json: key %s is not snake_case:\n%s", bad, out);
	/* the document 1, the vhost 6, five LUNs of 13 */
	if (keys < 72)
		fail_msg("vscsi list --json: %u keys, expected at least 72:\n%s", keys, out);
}

static void test_cli_list_json(void **state)
{
	json_object *root, *vhosts, *luns;
	int rc;

	(void)state;
	SKIP_WITHOUT_TGT();
	rc = VSCSI(out, OUT_MAX, "list", "--json");
	assert_int_equal(rc, 0);
	root = json_tokener_parse(out);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "vhosts", &vhosts));
	assert_int_equal(json_object_array_length(vhosts), 1);
	assert_true(json_object_object_get_ex(json_object_array_get_idx(vhosts, 0), "luns", &luns));
	assert_int_equal(json_object_array_length(luns), 5);
	{
		static const char *const types[] = { "disk", "tape", "mediumx", "tape", "tape" };
		static const char *const products[] = { "VIRTUAL-DISK", "VIRTUAL-TAPE", "VIRTUAL-CHANGER",
							"VIRTUAL-TAPE", "VIRTUAL-TAPE" };

		for (size_t i = 0; i < 5; i++) {
			json_object *l = json_object_array_get_idx(luns, i), *v;

			json_object_object_get_ex(l, "type", &v);
			assert_string_equal(json_object_get_string(v), types[i]);
			json_object_object_get_ex(l, "product", &v);
			assert_string_equal(json_object_get_string(v), products[i]);
			json_object_object_get_ex(l, "vendor", &v);
			assert_string_equal(json_object_get_string(v), "IET");
		}
	}
	json_object_put(root);
	rc = VSCSI(out, OUT_MAX, "list");
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "[0:0:2:0]    mediumx IET      VIRTUAL-CHANGER  0001"));
}

static void test_cli_write_read(void **state)
{
	const size_t n = 300 * 1024;
	uint8_t *src = malloc(n), *got;
	char in[600], back[600];
	size_t len;
	int rc;

	(void)state;
	SKIP_WITHOUT_TGT();
	snprintf(in, sizeof(in), "%s/cli-in.bin", env.sim.rundir);
	snprintf(back, sizeof(back), "%s/cli-back.bin", env.sim.rundir);
	fill_random(src, n);
	write_file(in, src, n);
	rc = VSCSI(out, OUT_MAX, "write", "-d", "0:0:0:0", "--lba", "4096", "-i", in);
	if (rc)
		fail_msg("vscsi write: %d: %s", rc, out);
	rc = VSCSI(out, OUT_MAX, "read", "-d", "0:0:0:0", "--lba", "4096", "-n", "600", "-o", back);
	if (rc)
		fail_msg("vscsi read: %d: %s", rc, out);
	got = read_whole(back, &len);
	assert_int_equal(len, n);
	assert_memory_equal(got, src, n);
	assert_true(backing_hash(4096 * 512, n) == fnv1a(src, n));
	/* And the CLI's other answers, same as the device's. */
	rc = VSCSI(out, OUT_MAX, "readcap", "-d", "0:0:0:0");
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "Last LBA=131071 (0x1ffff), Number of logical blocks=131072"));
	rc = VSCSI(out, OUT_MAX, "tur", "-d", "0:0:2:1");   /* empty drive */
	assert_int_equal(rc, 2);                             /* NOT READY */
	assert_non_null(strstr(out, "Medium not present"));
	free(src);
	free(got);
}

/* ---- unmodified tools through the shim, against libiscsi direct ---- */

static void test_sg_inq(void **state)
{
	char *direct = malloc(OUT_MAX), v[128];
	int rc;

	(void)state;
	SKIP_WITHOUT_TGT();
	rc = SHIM(out, OUT_MAX, "sg_inq", "/dev/sg100");
	if (rc)
		fail_msg("sg_inq: %d\n%s", rc, out);
	assert_int_equal(DIRECT(direct, OUT_MAX, "iscsi-inq", tgt.disk_url), 0);
	field(direct, "Vendor:", v, sizeof(v));
	expect_field(out, "Vendor identification:", v);
	field(direct, "Product:", v, sizeof(v));
	expect_field(out, "Product identification:", v);
	field(direct, "Revision:", v, sizeof(v));
	expect_field(out, "Product revision level:", v);
	assert_non_null(strstr(out, "Peripheral device type: disk"));
	/* The tape and the changer too. */
	assert_int_equal(SHIM(out, OUT_MAX, "sg_inq", "/dev/sg101"), 0);
	assert_non_null(strstr(out, "Peripheral device type: tape"));
	assert_int_equal(SHIM(out, OUT_MAX, "sg_inq", "/dev/sg102"), 0);
	assert_non_null(strstr(out, "Peripheral device type: medium changer"));
	assert_int_equal(DIRECT(direct, OUT_MAX, "iscsi-inq", tgt.changer_url), 0);
	field(direct, "Product:", v, sizeof(v));
	expect_field(out, "Product identification:", v);
	free(direct);
}

static void test_sg_vpd_sn(void **state)
{
	char *direct = malloc(OUT_MAX), want[128];
	int rc;

	(void)state;
	SKIP_WITHOUT_TGT();
	rc = SHIM(out, OUT_MAX, "sg_vpd", "-p", "sn", "/dev/sg100");
	if (rc)
		fail_msg("sg_vpd: %d\n%s", rc, out);
	assert_int_equal(DIRECT(direct, OUT_MAX, "iscsi-inq", "-e", "1", "-c", "128", tgt.disk_url), 0);
	field(direct, "Unit Serial Number:", want, sizeof(want));
	{
		/* iscsi-inq brackets it, sg_vpd does not: compare the words. */
		char got[128], *g = got, *w = want;

		field(out, "Unit serial number:", got, sizeof(got));
		while (*g == ' ')
			g++;
		while (*w == ' ')
			w++;
		assert_true(*w);
		assert_string_equal(g, w);
	}
	free(direct);
}

static void test_sg_readcap(void **state)
{
	char *direct = malloc(OUT_MAX), lba[64], bs[64], want[128];
	int rc;

	(void)state;
	SKIP_WITHOUT_TGT();
	rc = SHIM(out, OUT_MAX, "sg_readcap", "-l", "/dev/sg100");
	if (rc)
		fail_msg("sg_readcap: %d\n%s", rc, out);
	assert_int_equal(DIRECT(direct, OUT_MAX, "iscsi-readcapacity16", tgt.disk_url), 0);
	field(direct, "RETURNED LOGICAL BLOCK ADDRESS:", lba, sizeof(lba));
	field(direct, "LOGICAL BLOCK LENGTH IN BYTES:", bs, sizeof(bs));
	snprintf(want, sizeof(want), "Last LBA=%s (", lba);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "Logical block length=%s bytes", bs);
	assert_non_null(strstr(out, want));
	free(direct);
}

static void test_sg_luns(void **state)
{
	(void)state;
	SKIP_WITHOUT_TGT();
	/* REPORT LUNS answers for the vhost's target 2: the three LUNs the
	 * toolstack mapped there (scsiback emulates it from its table). */
	assert_int_equal(SHIM(out, OUT_MAX, "sg_luns", "/dev/sg102"), 0);
	assert_non_null(strstr(out, "Lun list length = 24"));
	assert_non_null(strstr(out, "    0000000000000000\n    0001000000000000\n    0002000000000000"));
	assert_int_equal(SHIM(out, OUT_MAX, "sg_luns", "/dev/sg100"), 0);
	assert_non_null(strstr(out, "Lun list length = 8"));
}

static void test_sg_turs(void **state)
{
	(void)state;
	SKIP_WITHOUT_TGT();
	assert_int_equal(SHIM(out, OUT_MAX, "sg_turs", "/dev/sg100"), 0);
	assert_int_equal(SHIM(out, OUT_MAX, "sg_turs", "/dev/sg101"), 0);
	/* An empty drive of the library: NOT READY, exit status 2. */
	assert_int_equal(SHIM(out, OUT_MAX, "sg_turs", "/dev/sg104"), 2);
	assert_non_null(strstr(out, "evice not ready"));
}

static void test_sg_raw(void **state)
{
	char *direct = malloc(OUT_MAX), v[128];
	int rc;

	(void)state;
	SKIP_WITHOUT_TGT();
	rc = SHIM(out, OUT_MAX, "sg_raw", "-r", "36", "/dev/sg101", "12", "00", "00", "00", "24", "00");
	if (rc)
		fail_msg("sg_raw: %d\n%s", rc, out);
	assert_non_null(strstr(out, "SCSI Status: Good"));
	assert_non_null(strstr(out, "Received 36 bytes of data"));
	assert_non_null(strstr(out, " 00     01 80 05 12"));   /* tape, removable, SPC-3 */
	assert_int_equal(DIRECT(direct, OUT_MAX, "iscsi-inq", tgt.tape_url), 0);
	field(direct, "Vendor:", v, sizeof(v));
	assert_non_null(strstr(out, v));
	/* An unsupported opcode: CHECK CONDITION, sense shown, exit 5/9. */
	rc = SHIM(out, OUT_MAX, "sg_raw", "/dev/sg100", "ff", "00", "00", "00", "00", "00");
	assert_true(rc == 5 || rc == 9);
	assert_non_null(strstr(out, "Illegal Request"));
	free(direct);
}

static void test_sg_dd(void **state)
{
	const size_t n = 1u << 20;
	uint8_t *src = malloc(n), *got;
	char in[600], back[600], back2[600], arg_if[700], arg_of[700];
	size_t len;
	int rc;

	(void)state;
	SKIP_WITHOUT_TGT();
	snprintf(in, sizeof(in), "%s/dd-in.bin", env.sim.rundir);
	snprintf(back, sizeof(back), "%s/dd-back.bin", env.sim.rundir);
	snprintf(back2, sizeof(back2), "%s/sgp-back.bin", env.sim.rundir);
	fill_random(src, n);
	write_file(in, src, n);
	snprintf(arg_if, sizeof(arg_if), "if=%s", in);
	rc = SHIM(out, OUT_MAX, "sg_dd", arg_if, "of=/dev/sg100", "bs=512", "seek=40000", "count=2048");
	if (rc)
		fail_msg("sg_dd write: %d\n%s", rc, out);
	snprintf(arg_of, sizeof(arg_of), "of=%s", back);
	rc = SHIM(out, OUT_MAX, "sg_dd", "if=/dev/sg100", arg_of, "bs=512", "skip=40000", "count=2048");
	if (rc)
		fail_msg("sg_dd read: %d\n%s", rc, out);
	assert_non_null(strstr(out, "2048+0 records in"));
	got = read_whole(back, &len);
	assert_int_equal(len, n);
	assert_true(fnv1a(got, n) == fnv1a(src, n));
	free(got);
	assert_true(backing_hash(40000 * 512, n) == fnv1a(src, n));
	/* sgp_dd: the sg v3 async interface (write/read), four threads. */
	snprintf(arg_of, sizeof(arg_of), "of=%s", back2);
	rc = SHIM(out, OUT_MAX, "sgp_dd", "if=/dev/sg100", arg_of, "bs=512", "skip=40000", "count=2048",
		  "thr=4");
	if (rc)
		fail_msg("sgp_dd read: %d\n%s", rc, out);
	got = read_whole(back2, &len);
	assert_int_equal(len, n);
	assert_true(fnv1a(got, n) == fnv1a(src, n));
	free(got);
	free(src);
}

/* sg_dd moving 4 MiB per SG_IO (bpt=8192): the shim sends each as one
 * command (it never splits one; past the limit it answers EINVAL as sg
 * does), with a pool of 1024 pages from VSCSI_POOL_PAGES. */
static void test_sg_dd_4mib_commands(void **state)
{
	const size_t n = 8u << 20;
	uint8_t *src = malloc(n), *got;
	char in[600], back[600], arg_if[700], arg_of[700];
	size_t len;
	int rc;

	(void)state;
	SKIP_WITHOUT_TGT();
	snprintf(in, sizeof(in), "%s/dd4-in.bin", env.sim.rundir);
	snprintf(back, sizeof(back), "%s/dd4-back.bin", env.sim.rundir);
	fill_random(src, n);
	write_file(in, src, n);
	snprintf(arg_if, sizeof(arg_if), "if=%s", in);
	snprintf(arg_of, sizeof(arg_of), "of=%s", back);
	setenv("VSCSI_POOL_PAGES", "1024", 1);
	rc = SHIM(out, OUT_MAX, "sg_dd", arg_if, "of=/dev/sg100", "bs=512", "bpt=8192", "seek=80000",
		  "count=16384");
	if (rc)
		fail_msg("sg_dd write: %d\n%s", rc, out);
	rc = SHIM(out, OUT_MAX, "sg_dd", "if=/dev/sg100", arg_of, "bs=512", "bpt=8192", "skip=80000",
		  "count=16384");
	unsetenv("VSCSI_POOL_PAGES");
	if (rc)
		fail_msg("sg_dd read: %d\n%s", rc, out);
	got = read_whole(back, &len);
	assert_int_equal(len, n);
	assert_true(fnv1a(got, n) == fnv1a(src, n));
	assert_true(backing_hash(80000 * 512, n) == fnv1a(src, n));
	free(got);
	/* The default pool (512 pages) holds 2 MiB: a 4 MiB SG_IO is refused. */
	rc = SHIM(out, OUT_MAX, "sg_dd", "if=/dev/sg100", arg_of, "bs=512", "bpt=8192", "skip=80000",
		  "count=8192");
	assert_int_not_equal(rc, 0);
	free(src);
}

static void test_mtx_and_tapeinfo(void **state)
{
	int rc;

	(void)state;
	SKIP_WITHOUT_TGT();
	rc = SHIM(out, OUT_MAX, "mtx", "-f", "/dev/sg102", "status");
	if (rc)
		fail_msg("mtx status: %d\n%s", rc, out);
	assert_non_null(strstr(out, "Storage Changer /dev/sg102:2 Drives, 9 Slots ( 1 Import/Export )"));
	assert_non_null(strstr(out, "Data Transfer Element 0:Empty"));
	assert_non_null(strstr(out, "Storage Element 1:Full :VolumeTag=TAPE0001"));
	assert_non_null(strstr(out, "Storage Element 9 IMPORT/EXPORT:Empty"));

	rc = SHIM(out, OUT_MAX, "mtx", "-f", "/dev/sg102", "load", "1", "0");
	if (rc)
		fail_msg("mtx load: %d\n%s", rc, out);
	assert_int_equal(SHIM(out, OUT_MAX, "mtx", "-f", "/dev/sg102", "status"), 0);
	assert_non_null(strstr(out, "Data Transfer Element 0:Full (Storage Element 1 Loaded):VolumeTag = TAPE0001"));
	assert_non_null(strstr(out, "Storage Element 1:Empty"));
	/* The drive now has media. */
	assert_int_equal(SHIM(out, OUT_MAX, "sg_turs", "/dev/sg103"), 0);
	rc = SHIM(out, OUT_MAX, "tapeinfo", "-f", "/dev/sg103");
	if (rc)
		fail_msg("tapeinfo: %d\n%s", rc, out);
	expect_field(out, "Ready:", "yes");
	expect_field(out, "SCSI ID:", "2");
	expect_field(out, "SCSI LUN:", "1");

	rc = SHIM(out, OUT_MAX, "mtx", "-f", "/dev/sg102", "unload", "1", "0");
	if (rc)
		fail_msg("mtx unload: %d\n%s", rc, out);
	assert_int_equal(SHIM(out, OUT_MAX, "mtx", "-f", "/dev/sg102", "status"), 0);
	assert_non_null(strstr(out, "Data Transfer Element 0:Empty"));
	assert_non_null(strstr(out, "Storage Element 1:Full :VolumeTag=TAPE0001"));

	/* The stand-alone drive, against its INQUIRY over iSCSI. */
	rc = SHIM(out, OUT_MAX, "tapeinfo", "-f", "/dev/sg101");
	if (rc)
		fail_msg("tapeinfo: %d\n%s", rc, out);
	expect_field(out, "Product Type:", "Tape Drive");
	expect_field(out, "Vendor ID:", "IET");
	expect_field(out, "Product ID:", "VIRTUAL-TAPE");
	expect_field(out, "MinBlock:", "4");
	expect_field(out, "MaxBlock:", "1048576");
	expect_field(out, "SCSI ID:", "1");
}

/* libiscsi's conformance suite on the disk, through the shim and direct.
 * Through sg, the suites that need iSCSI itself (a second session,
 * logout, nexus loss) are skipped; nothing else may differ. */
static void test_iscsi_test_cu(void **state)
{
	char *direct = malloc(OUT_MAX), f1[600], f2[600], cmd[4096];
	char counts_shim[128] = "", counts_direct[128] = "";
	FILE *p;
	int rc;

	(void)state;
	SKIP_WITHOUT_TGT();
	if (getenv("VSCSI_SKIP_TESTCU"))
		skip();
	rc = SHIM(out, OUT_MAX, "iscsi-test-cu", "-d", "--test=SCSI", "/dev/sg100");
	snprintf(f1, sizeof(f1), "%s/testcu-shim.log", env.sim.rundir);
	write_file(f1, (const uint8_t *)out, strlen(out));
	assert_int_equal(DIRECT(direct, OUT_MAX, "iscsi-test-cu", "-d", "--test=SCSI", tgt.disk_url), rc);
	snprintf(f2, sizeof(f2), "%s/testcu-direct.log", env.sim.rundir);
	write_file(f2, (const uint8_t *)direct, strlen(direct));
	{
		const char *src = getenv("VSCSI_SRC");
		const char *s = src && *src ? src : ".";

		snprintf(cmd, sizeof(cmd), "bash %s/tests/scsifront/testcu-outcomes.sh --counts %s", s, f1);
		p = popen(cmd, "r");
		if (p && fgets(counts_shim, sizeof(counts_shim), p)) {}
		if (p)
			pclose(p);
		snprintf(cmd, sizeof(cmd), "bash %s/tests/scsifront/testcu-outcomes.sh --counts %s", s, f2);
		p = popen(cmd, "r");
		if (p && fgets(counts_direct, sizeof(counts_direct), p)) {}
		if (p)
			pclose(p);
		printf("iscsi-test-cu -d --test=SCSI: through the stack: %s", counts_shim);
		printf("iscsi-test-cu -d --test=SCSI: direct over iSCSI: %s", counts_direct);
		/* Tests that differ must be ones sg cannot run (skipped). */
		snprintf(cmd, sizeof(cmd),
			 "bash %s/tests/scsifront/testcu-outcomes.sh %s > %s.out && "
			 "bash %s/tests/scsifront/testcu-outcomes.sh %s > %s.out && "
			 "diff %s.out %s.out | grep '^>' | grep -v ' skip$'",
			 s, f2, f2, s, f1, f1, f2, f1);
		p = popen(cmd, "r");
		assert_non_null(p);
		{
			char line[256];
			int bad = 0;

			while (fgets(line, sizeof(line), p)) {
				printf("differs through the stack: %s", line);
				bad++;
			}
			pclose(p);
			assert_int_equal(bad, 0);
		}
	}
	{
		int pass = 0;

		assert_int_equal(sscanf(counts_shim, "pass %d", &pass), 1);
		assert_true(pass >= 100);
	}
	free(direct);
}

/* ---- the target goes away under vscsi read ---- */

#define DISK_BLOCKS 131072  /* tgtd-lab.sh's 64 MiB disk */

/* Fills the disk LUN's backing file with random bytes (tgtd reads it
 * through the page cache), so a hole in what is read back shows. */
static void randomize_disk(void)
{
	size_t n = (size_t)DISK_BLOCKS * 512;
	uint8_t *b = malloc(n);
	int fd = open(tgt.disk_img, O_WRONLY);

	assert_true(fd >= 0);
	fill_random(b, n);
	assert_int_equal(pwrite(fd, b, n, 0), (ssize_t)n);
	close(fd);
	free(b);
}

/* A child that waits for path to appear (vscsi read creates its output
 * once the LUN answered), then freezes the target so commands pile up in
 * flight, kills it (the iSCSI connection drops under them), and brings
 * it back after restart_ms (never if negative). */
static pid_t take_target_away(const char *path, int restart_ms)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct stat st;
		pid_t tgtd = sftgt_pid(&tgt);

		for (int i = 0; i < 60000 && stat(path, &st) != 0; i++)
			usleep(1000);
		kill(tgtd, SIGSTOP);
		usleep(300000);
		sftgt_cmd(&tgt, "kill");
		if (restart_ms >= 0) {
			usleep((useconds_t)restart_ms * 1000);
			_exit(sftgt_cmd(&tgt, "restart") == 0 ? 0 : 1);
		}
		_exit(0);
	}
	return pid;
}

static int wait_child(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The target is back: a READ through the CLI works again (the backend
 * reconnects with a back-off of up to 4 s). */
static void wait_disk_back(void)
{
	int rc = -1;

	for (int i = 0; i < 60 && rc != 0; i++) {
		rc = VSCSI(out, OUT_MAX, "read", "-d", "0:0:0:0", "-n", "1", "--retries", "0",
			   "-o", "/dev/null");
		if (rc)
			sleep(1);
	}
	if (rc)
		fail_msg("the disk LUN did not come back: %d: %s", rc, out);
}

/* Bug: after the first command failed with TRANSPORT_DISRUPTED, vscsi read
 * gave up (never retried a READ) and left a partial file. Now the failed
 * commands go again and the whole disk arrives, byte for byte. */
static void test_cli_read_rides_out_a_target_restart(void **state)
{
	char path[600], count[32];
	uint8_t *got, *want;
	size_t len;
	pid_t killer;
	int rc;

	(void)state;
	SKIP_WITHOUT_TGT();
	randomize_disk();
	snprintf(path, sizeof(path), "%s/blip.bin", env.sim.rundir);
	unlink(path);
	snprintf(count, sizeof(count), "%d", DISK_BLOCKS);
	killer = take_target_away(path, 1000);
	rc = VSCSI(out, OUT_MAX, "read", "-d", "0:0:0:0", "-n", count, "-q", "8", "-o", path);
	assert_int_equal(wait_child(killer), 0);
	if (rc)
		fail_msg("vscsi read over a target restart: %d: %s", rc, out);
	if (!strstr(out, "trying again (1 of 5)"))
		fail_msg("no command was tried again (did the target go away mid-read?): %s", out);
	got = read_whole(path, &len);
	assert_int_equal(len, (size_t)DISK_BLOCKS * 512);
	want = read_whole(tgt.disk_img, &len);
	assert_memory_equal(got, want, len);
	free(got);
	free(want);
}

/* A target that stays away: vscsi read stops within its timeout (not
 * waiting out every queued command), says how far it got, and the
 * output holds exactly that many good blocks. */
static void test_cli_read_says_how_far_it_got(void **state)
{
	char path[600], count[32];
	const char *p;
	uint8_t *got, *want;
	unsigned long long stop, done, total, bytes;
	size_t len, wlen;
	pid_t killer;
	int rc;

	(void)state;
	SKIP_WITHOUT_TGT();
	snprintf(path, sizeof(path), "%s/cut.bin", env.sim.rundir);
	unlink(path);
	snprintf(count, sizeof(count), "%d", DISK_BLOCKS);
	killer = take_target_away(path, -1);
	rc = VSCSI(out, OUT_MAX, "read", "-d", "0:0:0:0", "-n", count, "-q", "8", "-t", "5",
		   "--retries", "1", "-o", path);
	assert_int_equal(wait_child(killer), 0);
	assert_int_not_equal(rc, 0);
	p = strstr(out, "vscsi read: stopped at block ");
	if (!p || sscanf(p, "vscsi read: stopped at block %llu: %llu of %llu blocks read; ", &stop,
			 &done, &total) != 3)
		fail_msg("no account of how far the read got: %s", out);
	assert_int_equal(stop, done);
	assert_int_equal(total, DISK_BLOCKS);
	assert_true(done < DISK_BLOCKS);
	p = strstr(p, " holds the first ");
	assert_non_null(p);
	assert_int_equal(sscanf(p, " holds the first %*u (%llu bytes)", &bytes), 1);
	assert_int_equal(bytes, done * 512);
	got = read_whole(path, &len);
	assert_int_equal(len, bytes);
	want = read_whole(tgt.disk_img, &wlen);
	assert_memory_equal(got, want, len);
	free(got);
	free(want);
	assert_int_equal(sftgt_cmd(&tgt, "restart"), 0);
	wait_disk_back();
}

static int setup(void **state)
{
	char dir[600];
	static const char *const luns[][2] = {
		{ NULL, "0:0:0:0" }, { NULL, "0:0:1:0" }, { NULL, "0:0:2:0" }, { NULL, "0:0:2:1" },
		{ NULL, "0:0:2:2" },
	};

	(void)state;
	out = malloc(OUT_MAX);
	if (sfenv_start(&env, true) < 0)
		return -1;
	/* Outside the simulator's run directory: tgtd-lab.sh stop needs its
	 * state after the simulator has gone. */
	snprintf(dir, sizeof(dir), "%s/vscsi-tgt-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	have_tgt = mkdtemp(dir) && sftgt_start(&tgt, dir) == 0;
	if (!have_tgt) {
		fprintf(stderr, "tgtd could not be started: tests skipped\n");
		return 0;
	}
	{
		const char *urls[] = { tgt.disk_url, tgt.tape_url, tgt.changer_url, tgt.drive1_url,
				       tgt.drive2_url };

		for (int i = 0; i < 5; i++)
			if (sfenv_attach(&env, urls[i], luns[i][1]))
				return -1;
	}
	snprintf(maparg, sizeof(maparg),
		 "/dev/sg100=0:0:0:0,/dev/sg101=0:0:1:0,/dev/sg102=0:0:2:0,/dev/sg103=0:0:2:1,"
		 "/dev/sg104=0:0:2:2");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sfenv_stop(&env);
	if (have_tgt)
		sftgt_stop(&tgt);
	free(out);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_library_disk_data),
		cmocka_unit_test(test_library_large_disk_commands),
		cmocka_unit_test(test_library_zero_copy),
		cmocka_unit_test(test_tape_largest_block),
		cmocka_unit_test(test_cli_list_json),
		cmocka_unit_test(test_cli_json_keys_snake_case),
		cmocka_unit_test(test_cli_write_read),
		cmocka_unit_test(test_sg_inq),
		cmocka_unit_test(test_sg_vpd_sn),
		cmocka_unit_test(test_sg_readcap),
		cmocka_unit_test(test_sg_luns),
		cmocka_unit_test(test_sg_turs),
		cmocka_unit_test(test_sg_raw),
		cmocka_unit_test(test_sg_dd),
		cmocka_unit_test(test_sg_dd_4mib_commands),
		cmocka_unit_test(test_mtx_and_tapeinfo),
		cmocka_unit_test(test_iscsi_test_cu),
		cmocka_unit_test(test_cli_read_rides_out_a_target_restart),
		cmocka_unit_test(test_cli_read_says_how_far_it_got),
	};

	simenv_use_sim_libs(argc, argv);
	sfenv_test_filter();
	return cmocka_run_group_tests(tests, setup, teardown);
}
