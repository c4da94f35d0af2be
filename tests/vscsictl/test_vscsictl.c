/* vscsictl end to end in the simulator: xensimd, scsiback serving null
 * LUNs, raw test frontends as guests, and the vscsictl binary run as
 * domain 0 (through `xensim exec 0`) — attach, list (table and JSON),
 * hot-add and hot-remove while the guest has I/O in flight, detach of the
 * last LUN, apply of an xl config, every bad input with its message and
 * exit code and nothing written to xenstore, the permissions a guest ends
 * up with, --wait and timeouts, and the kernel backend's configfs lookup
 * against a fake configfs tree. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "be_fields.h"
#include <json-c/json.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "daemon.h"
#include "jsonkeys.h"
#include "lio.h"
#include "rawfront.h"
#include "simenv.h"
#include "xsutil.h"

static struct simenv env;
static int dom1, dom2, dom3;
static pid_t backend;
static struct rawfront f1, f2;
static struct xs_handle *xs0;
static char logfile[512], statedir[512];
static char be1[128], fe1[128];

#define OUT_MAX 65536
static char out[OUT_MAX];

/* ---- running vscsictl ---- */

static int vscsictlv(char *o, size_t olen, char *const args[])
{
	char *argv[48];
	int n = 0;

	argv[n++] = (char *)simenv_prog("tools/vscsictl/vscsictl");
	for (int i = 0; args[i] && n < 47; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return simenv_runv(&env, 0, o, olen, NULL, argv);
}

/* args[] = a0 and the rest of a NULL-terminated list (at most 39). */
static void gather_args(char *args[40], const char *a0, va_list ap)
{
	int n = 0;

	if (a0) {
		args[n++] = (char *)a0;
		while (n < 39 && (args[n] = va_arg(ap, char *)))
			n++;
	}
	args[n] = NULL;
}

/* Runs vscsictl ARGS... NULL as domain 0; output (stdout+stderr) in out. */
__attribute__((sentinel))
static int vscsictl(const char *a0, ...)
{
	char *args[40];
	va_list ap;

	va_start(ap, a0);
	gather_args(args, a0, ap);
	va_end(ap);
	return vscsictlv(out, sizeof(out), args);
}

/* vscsictl in the background while the test plays the guest. */
struct bg {
	pid_t pid;
	char outfile[600];
};

__attribute__((sentinel))
static void vscsictl_bg(struct bg *b, const char *a0, ...)
{
	char *args[40];
	va_list ap;
	static unsigned seq;

	va_start(ap, a0);
	gather_args(args, a0, ap);
	va_end(ap);
	snprintf(b->outfile, sizeof(b->outfile), "%s/bg-%u.out", env.rundir, seq++);
	b->pid = fork();
	if (b->pid == 0) {
		static char buf[OUT_MAX];
		int rc = vscsictlv(buf, sizeof(buf), args);
		FILE *f = fopen(b->outfile, "w");

		if (f) {
			fputs(buf, f);
			fclose(f);
		}
		_exit(rc < 0 ? 127 : rc);
	}
	assert_true(b->pid > 0);
}

/* Its exit status; its output in out. */
static int vscsictl_wait(struct bg *b)
{
	int status;
	FILE *f;
	size_t n = 0;

	assert_int_equal(waitpid(b->pid, &status, 0), b->pid);
	f = fopen(b->outfile, "r");
	if (f) {
		n = fread(out, 1, sizeof(out) - 1, f);
		fclose(f);
	}
	out[n] = 0;
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void expect(int rc, int want, const char *needle)
{
	if (rc != want)
		fail_msg("vscsictl exited %d, not %d; output:\n%s", rc, want, out);
	if (needle && !strstr(out, needle))
		fail_msg("vscsictl output lacks \"%s\":\n%s", needle, out);
}

/* ---- xenstore helpers ---- */

static char *xs_get(struct xs_handle *xs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *xs_get(struct xs_handle *xs, const char *fmt, ...)
{
	char path[512];
	unsigned len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return xs_read(xs, XBT_NULL, path, &len);
}

static void assert_node(const char *want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void assert_node(const char *want, const char *fmt, ...)
{
	char path[512], *v;
	unsigned len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	v = xs_read(xs0, XBT_NULL, path, &len);
	if (!want) {
		if (v)
			fail_msg("%s exists (\"%s\"), should not", path, v);
		return;
	}
	if (!v)
		fail_msg("%s is missing, want \"%s\"", path, want);
	if (strcmp(v, want))
		fail_msg("%s is \"%s\", want \"%s\"", path, v, want);
	free(v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void dump(FILE *f, const char *path)
{
	unsigned len, n = 0, np = 0;
	char *v = xs_read(xs0, XBT_NULL, path, &len), **d;
	struct xs_permissions *p = xs_get_permissions(xs0, XBT_NULL, path, &np);

	fprintf(f, "%s=%s", path, v ? v : "<none>");
	for (unsigned i = 0; p && i < np; i++)
		fprintf(f, " %u:%d", p[i].id, (int)p[i].perms);
	fputc('\n', f);
	free(v);
	free(p);
	d = xs_directory(xs0, XBT_NULL, path, &n);
	if (d)
		qsort(d, n, sizeof(*d), cmp_str);
	for (unsigned i = 0; d && i < n; i++) {
		char sub[1024];

		snprintf(sub, sizeof(sub), "%s%s%s", path, strcmp(path, "/") ? "/" : "", d[i]);
		dump(f, sub);
	}
	free(d);
}

/* The whole store as text, to prove that nothing was written. */
static char *snapshot(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	dump(f, "/local");
	dump(f, "/libxl");
	fclose(f);
	return buf;
}

static void assert_same_store(const char *before)
{
	char *after = snapshot();

	if (strcmp(before, after)) {
		const char *a = before, *b = after;

		while (*a && *a == *b)
			a++, b++;
		while (a > before && a[-1] != '\n')
			a--, b--;
		fail_msg("xenstore changed; first difference:\n  before: %.200s\n  after:  %.200s", a, b);
	}
	free(after);
}

static int be_state(const char *be)
{
	char *v = xs_get(xs0, "%s/state", be);
	int s = v ? atoi(v) : -1;

	free(v);
	return s;
}

static void wait_node_value(const char *path, const char *want, unsigned ms)
{
	for (unsigned i = 0; i < ms / 10; i++) {
		char *v = xs_get(xs0, "%s", path);
		bool ok = v && !strcmp(v, want);

		free(v);
		if (ok)
			return;
		usleep(10000);
	}
	fail_msg("%s did not become \"%s\" within %u ms", path, want, ms);
}

/* Waits until scsiback's log holds text. */
static void wait_log(const char *text, unsigned ms)
{
	if (daemon_wait_log(logfile, text, ms) < 0)
		fail_msg("scsiback's log has no \"%s\" after %u ms", text, ms);
}

/* ---- the guest's side ---- */

static void check_good(const vscsiif_response_t *rsp)
{
	if (rsp->rslt != 0)
		fail_msg("rslt 0x%x, sense key %x asc %02x", rsp->rslt, rsp->sense_buffer[2] & 0xf,
			 rsp->sense_buffer[12]);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static uint8_t inquiry_pdt(struct rawfront *f, uint16_t tgt, uint16_t lun)
{
	static const uint8_t cdb[6] = { 0x12, 0, 0, 0, 96, 0 };
	vscsiif_response_t rsp;

	memset(f->pool, 0xee, 4096);
	assert_int_equal(rawfront_exec(f, tgt, lun, cdb, 6, 2, 96, &rsp), 0);
	check_good(&rsp);
	return f->pool[0];
}

/* Number of LUNs REPORT LUNS lists for target 0. */
static unsigned report_luns(struct rawfront *f)
{
	static const uint8_t cdb[12] = { 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	vscsiif_response_t rsp;

	assert_int_equal(rawfront_exec(f, 0, 0, cdb, 12, 2, 256, &rsp), 0);
	check_good(&rsp);
	return sg_get_unaligned_be32(f->pool) / 8;   /* LUN LIST LENGTH */
}

/* detach --all: every LUN of the domain, over its vhosts; then nothing
 * of it is left in the backend's directory. */
static void test_detach_all(void **state)
{
	char path[128];
	unsigned len;
	void *v;
	int dom = simenv_create_domain(&env, "many");

	(void)state;
	assert_true(dom > 0);
	expect(vscsictl("attach", "many", "null:disk", "0:0:0:0", NULL), 0, NULL);
	expect(vscsictl("attach", "many", "null:disk", "0:0:0:1", NULL), 0, NULL);
	expect(vscsictl("attach", "many", "null:disk", "1:0:2:0", NULL), 0, NULL);
	expect(vscsictl("detach", "--all", "many", "0:0:0:0", NULL), 2, "detach --all takes DOMAIN");
	expect(vscsictl("detach", "--all", "many", NULL), 0, "detached 0:0:0:1 (null:disk)\n");
	assert_non_null(strstr(out, "detached 0:0:0:0 (null:disk)\n"));
	assert_non_null(strstr(out, "detached 1:0:2:0 (null:disk)\n"));
	expect(vscsictl("list", "many", NULL), 0, NULL);
	assert_string_equal(out, "Idx BE  state ctrl phy-hctl vir-hctl devstate\n");
	snprintf(path, sizeof(path), "/local/domain/0/backend/vscsi/%d", dom);
	v = xs_read(xs0, XBT_NULL, path, &len);
	free(v);
	assert_null(v);
	expect(vscsictl("detach", "--all", "many", NULL), 0, NULL);   /* nothing left: nothing to do */
	assert_string_equal(out, "");
	assert_int_equal(simenv_destroy_domain(&env, dom), 0);
}

/* A vhost the guest let go of (Closed: the vscsi CLI closes it after each
 * command) takes a new LUN, which the guest finds at its next connect
 * (it was refused: "detach its LUNs first"). */
static void test_attach_to_closed_vhost(void **state)
{
	char be[128], path[200];
	struct rawfront g;
	int dom = simenv_create_domain(&env, "reuser");

	(void)state;
	assert_true(dom > 0);
	expect(vscsictl("attach", "reuser", "null:disk", "0:0:0:0", NULL), 0, NULL);
	assert_int_equal(rawfront_open(&g, &env, dom, 0, 10000), 0);
	snprintf(be, sizeof(be), "%s", g.be_path);
	assert_int_equal(inquiry_pdt(&g, 0, 0), 0);
	rawfront_close(&g);
	snprintf(path, sizeof(path), "%s/state", be);
	for (int i = 0; i < 100 && xsu_read_intf(xs0, XBT_NULL, -1, "%s", path) != XenbusStateClosed; i++)
		usleep(50000);
	assert_int_equal(xsu_read_intf(xs0, XBT_NULL, -1, "%s", path), XenbusStateClosed);
	expect(vscsictl("attach", "reuser", "null:disk", "0:0:0:1", NULL), 0, NULL);
	assert_node("3", "%s/vscsi-devs/dev-1/state", be);   /* opened at attach */
	assert_int_equal(rawfront_open(&g, &env, dom, 0, 10000), 0);
	assert_int_equal(inquiry_pdt(&g, 0, 1), 0);    /* the new LUN, a disk */
	assert_int_equal(inquiry_pdt(&g, 0, 0), 0);
	rawfront_close(&g);
	assert_int_equal(simenv_destroy_domain(&env, dom), 0);
}

/* Bug: a LUN whose device cannot be opened (an iSCSI portal nobody
 * listens at) attached with exit 0 while the guest was not connected; it
 * showed only later, as a LUN missing in the guest. scsiback opens a LUN
 * when its entry appears (feature-early-open): attach and apply refuse at
 * once with the backend's reason, and leave nothing behind. */
static void test_attach_refused_before_connect(void **state)
{
	char cfg[600], *before;
	int dom = simenv_create_domain(&env, "unreach");

	(void)state;
	assert_true(dom > 0);
	before = snapshot();
	expect(vscsictl("attach", "unreach", "iscsi://127.0.0.1:1/iqn.2026-01.none:x/1", "0:0:0:0",
			NULL), 1, "dev-0 (p-dev \"iscsi://127.0.0.1:1/iqn.2026-01.none:x/1\") failed "
			"in the backend: ");
	assert_non_null(strstr(out, "Connection refused"));
	assert_same_store(before);
	/* apply, as the guide's `xl create -p` recipe runs it. */
	snprintf(cfg, sizeof(cfg), "%s/unreach.cfg", env.rundir);
	write_file(cfg, "vscsi = [ \"null:disk,0:0:0:0\",\n"
			"          \"iscsi://127.0.0.1:1/iqn.2026-01.none:x/1,0:0:0:1\" ]\n");
	expect(vscsictl("apply", "unreach", cfg, NULL), 1, "Connection refused");
	assert_same_store(before);
	free(before);
	/* What opens is attached and reported opened (3) before any guest. */
	expect(vscsictl("attach", "unreach", "null:disk", "0:0:0:0", NULL), 0, NULL);
	expect(vscsictl("list", "unreach", NULL), 0, "null:disk 0:0:0:0  3\n");
	assert_int_equal(simenv_destroy_domain(&env, dom), 0);
}

/* Bug: a LUN detached while no guest was connected to its vhost (between
 * two runs of the userspace frontend) stayed open in scsiback and was
 * served again at the next connect. */
static void test_detach_between_connects(void **state)
{
	struct rawfront g;
	int dom = simenv_create_domain(&env, "between");

	(void)state;
	assert_true(dom > 0);
	expect(vscsictl("attach", "between", "null:disk", "0:0:0:0", NULL), 0, NULL);
	expect(vscsictl("attach", "between", "null:disk", "0:0:0:1", NULL), 0, NULL);
	assert_int_equal(rawfront_open(&g, &env, dom, 0, 10000), 0);
	assert_int_equal(report_luns(&g), 2);
	rawfront_close(&g);
	expect(vscsictl("detach", "between", "0:0:0:1", NULL), 0, NULL);
	assert_int_equal(rawfront_open(&g, &env, dom, 0, 10000), 0);
	assert_int_equal(report_luns(&g), 1);
	rawfront_close(&g);
	assert_int_equal(simenv_destroy_domain(&env, dom), 0);
}

/* `vscsictl list` shows scsiback's own view of each LUN (its status
 * file): open, the commands the device ended, the errors among them, the
 * bytes, the latest error; in the table and in the JSON. The figures are
 * those of the guest's own commands. */
static void test_list_shows_backend_view(void **state)
{
	static const uint8_t bogus[6] = { 0xe7 }, inq[6] = { 0x12, 0, 0, 0, 96, 0 };
	struct json_object *all, *d, *x, *vh, *l, *bv;
	unsigned bytes = 0;
	char want[128];
	vscsiif_response_t rsp;
	struct rawfront g;
	int dom = simenv_create_domain(&env, "watched");

	(void)state;
	assert_true(dom > 0);
	expect(vscsictl("attach", "watched", "null:disk", "0:0:0:4", NULL), 0, NULL);
	assert_int_equal(rawfront_open(&g, &env, dom, 0, 10000), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(rawfront_exec(&g, 0, 4, inq, 6, 2, 96, &rsp), 0);
		check_good(&rsp);
		bytes += 96 - rsp.residual_len;
	}
	assert_int_equal(rawfront_exec(&g, 0, 4, bogus, 6, 3, 0, &rsp), 0);
	assert_int_equal(rsp.rslt, 2);                     /* CHECK CONDITION */
	snprintf(want, sizeof(want), "backend: open, 3 commands, 1 errors, %u B read, 0 B written\n",
		 bytes);
	for (int waited = 0;; waited += 200) {
		expect(vscsictl("--scsiback-state", statedir, "list", "watched", NULL), 0, NULL);
		if (strstr(out, want))
			break;
		if (waited > 5000)
			fail_msg("no \"%s\" after 5 s:\n%s", want, out);
		usleep(200000);
	}
	if (!strstr(out, "    last error: ") || !strstr(out, "Illegal Request"))
		fail_msg("no last error:\n%s", out);
	/* a null LUN has no link to its device: no line for it */
	assert_null(strstr(out, "    link: "));
	expect(vscsictl("--scsiback-state", statedir, "list", "--json", "watched", NULL), 0, NULL);
	all = json_tokener_parse(out);
	assert_non_null(all);
	d = json_object_array_get_idx(all, 0);
	assert_true(json_object_object_get_ex(d, "vhosts", &x));
	vh = json_object_array_get_idx(x, 0);
	assert_true(json_object_object_get_ex(vh, "ring", &x));
	assert_string_equal(json_object_get_string(x), "running");
	assert_true(json_object_object_get_ex(vh, "luns", &x));
	l = json_object_array_get_idx(x, 0);
	assert_true(json_object_object_get_ex(l, "backend_view", &bv));
	assert_non_null(bv);
	assert_true(json_object_object_get_ex(bv, "state", &x));
	assert_string_equal(json_object_get_string(x), "open");
	assert_true(json_object_object_get_ex(bv, "commands", &x));
	assert_int_equal(json_object_get_int64(x), 3);
	assert_true(json_object_object_get_ex(bv, "errors", &x));
	assert_int_equal(json_object_get_int64(x), 1);
	assert_true(json_object_object_get_ex(bv, "bytes_read", &x));
	assert_int_equal(json_object_get_int64(x), bytes);
	json_object_put(all);
	/* Another daemon's state directory, no status file: no view, no word. */
	expect(vscsictl("--scsiback-state", env.rundir, "list", "watched", NULL), 0, NULL);
	assert_null(strstr(out, "backend:"));
	assert_null(strstr(out, "no backend view"));
	rawfront_close(&g);
	expect(vscsictl("detach", "watched", "0:0:0:4", NULL), 0, NULL);
	assert_int_equal(simenv_destroy_domain(&env, dom), 0);
}

/* Whether every key of the JSON document text (what names it) is
 * snake_case and it has at least min_keys keys; if not, says which key
 * and prints the document. */
static bool snake_case(const char *what, const char *text, unsigned min_keys)
{
	char bad[1200];
	unsigned keys;

	if (jsonkeys_snake_case_text(text, bad, sizeof(bad), &keys)) {
		print_error("%s: key %s is not snake_case in:\n%s\n", what, bad, text);
		return false;
	}
	if (keys < min_keys) {
		print_error("%s: %u keys, expected at least %u, in:\n%s\n", what, keys, min_keys, text);
		return false;
	}
	return true;
}

/* The JSON vscsictl prints and scsiback writes uses one style: snake_case
 * keys (docs/user-guide.md, "JSON output"), in every object down to the
 * backend's view of a LUN and the entries vscsi-lifecycle failed. */
static void test_json_keys_snake_case(void **state)
{
	static const uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 };
	char path[600], failed[128], *text, *libxl, wrong[128] = "";
	vscsiif_response_t rsp;
	struct rawfront g;
	struct json_object *st;
	int dom = simenv_create_domain(&env, "styled");

	(void)state;
	assert_true(dom > 0);
	expect(vscsictl("attach", "styled", "null:disk", "0:0:0:0", NULL), 0, NULL);
	assert_int_equal(rawfront_open(&g, &env, dom, 0, 10000), 0);
	assert_int_equal(rawfront_exec(&g, 0, 0, inq, 6, 2, 96, &rsp), 0);
	check_good(&rsp);
	/* An entry the lifecycle service could not attach (inventory.c). */
	libxl = xs_get(xs0, "/libxl/%d", dom);
	snprintf(failed, sizeof(failed), "/libxl/%d/vscsi-failed/1", dom);
	snprintf(path, sizeof(path), "%s/entry", failed);
	assert_true(xs_write(xs0, XBT_NULL, path, "nowhere,0:0:0:7", 15));
	snprintf(path, sizeof(path), "%s/error", failed);
	assert_true(xs_write(xs0, XBT_NULL, path, "no such device", 14));
	for (int waited = 0;; waited += 200) {
		expect(vscsictl("--scsiback-state", statedir, "list", "styled", NULL), 0, NULL);
		if (strstr(out, "backend: open, 1 commands"))
			break;
		if (waited > 5000)
			fail_msg("scsiback's view did not show within 5 s:\n%s", out);
		usleep(200000);
	}
	/* Each document is checked, then the test fails naming those that
	 * are not snake_case. */
	expect(vscsictl("--scsiback-state", statedir, "list", "--json", "styled", NULL), 0, NULL);
	/* a domain 5, its vhost 10, a LUN 9, the backend's view 6, a failure 3 */
	if (!snake_case("vscsictl list --json styled", out, 33))
		strcat(wrong, " 'vscsictl list --json styled'");
	expect(vscsictl("--scsiback-state", statedir, "list", "--json", NULL), 0, NULL);
	if (!snake_case("vscsictl list --json", out, 33))
		strcat(wrong, " 'vscsictl list --json'");
	snprintf(path, sizeof(path), "%s/status.json", statedir);
	st = json_object_from_file(path);
	if (!st)
		fail_msg("%s: %s", path, json_util_get_last_err());
	text = strdup(json_object_to_json_string(st));
	json_object_put(st);
	/* the daemon 4, a vhost 6, a LUN 10 */
	if (!snake_case(path, text, 20))
		strcat(wrong, " status.json");
	free(text);
	if (wrong[0])
		fail_msg("keys not snake_case in:%s", wrong);
	if (libxl)
		snprintf(path, sizeof(path), "/libxl/%d/vscsi-failed", dom);
	else
		snprintf(path, sizeof(path), "/libxl/%d", dom);
	free(libxl);
	assert_true(xs_rm(xs0, XBT_NULL, path));
	rawfront_close(&g);
	expect(vscsictl("detach", "styled", "0:0:0:0", NULL), 0, NULL);
	assert_int_equal(simenv_destroy_domain(&env, dom), 0);
}

/* During an upgrade a new vscsictl may read the status file of an older
 * scsiback, whose keys were kebab-case (bytes-read, last-error...):
 * list still shows that backend's view, in the table and in the JSON. */
static void test_list_reads_old_status_file(void **state)
{
	char dir[600], path[700], text[2048];
	struct json_object *all, *x;
	int dom = simenv_create_domain(&env, "upgraded");

	(void)state;
	assert_true(dom > 0);
	expect(vscsictl("attach", "upgraded", "null:disk", "0:0:0:2", NULL), 0, NULL);
	snprintf(dir, sizeof(dir), "%s/old-scsiback-state", env.rundir);
	assert_true(mkdir(dir, 0755) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/status.json", dir);
	/* This test's pid: a scsiback that runs. */
	snprintf(text, sizeof(text),
		 "{ \"pid\": %d, \"updated\": \"2024-01-01 00:00:00\",\n"
		 "  \"serving\": \"/local/domain/0/backend/vscsi\",\n"
		 "  \"vhosts\": [ { \"domid\": %d, \"devid\": 0, \"guest\": \"upgraded\",\n"
		 "    \"ring\": \"running\", \"in-flight\": 0,\n"
		 "    \"luns\": [ { \"dev\": 0, \"v-dev\": \"0:0:0:2\", \"p-dev\": \"null:disk\",\n"
		 "      \"device\": \"null disk\", \"state\": \"open\", \"commands\": 7,\n"
		 "      \"errors\": 2, \"bytes-read\": 1000, \"bytes-written\": 512,\n"
		 "      \"last-error\": \"READ(10): Medium Error 11/00\" } ] } ] }\n",
		 (int)getpid(), dom);
	write_file(path, text);
	expect(vscsictl("--scsiback-state", dir, "list", "upgraded", NULL), 0,
	       "backend: open, 7 commands, 2 errors, 1000 B read, 512 B written\n");
	if (!strstr(out, "    last error: READ(10): Medium Error 11/00"))
		fail_msg("no last error:\n%s", out);
	expect(vscsictl("--scsiback-state", dir, "list", "--json", "upgraded", NULL), 0, NULL);
	assert_true(snake_case("vscsictl list --json upgraded", out, 30));
	all = json_tokener_parse(out);
	assert_non_null(all);
	assert_true(json_object_object_get_ex(json_object_array_get_idx(all, 0), "vhosts", &x));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(x, 0), "ring", &x));
	assert_string_equal(json_object_get_string(x), "running");
	assert_true(json_object_object_get_ex(json_object_array_get_idx(all, 0), "vhosts", &x));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(x, 0), "luns", &x));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(x, 0), "backend_view", &x));
	assert_non_null(x);
	{
		struct json_object *v;

		assert_true(json_object_object_get_ex(x, "bytes_read", &v));
		assert_int_equal(json_object_get_int64(v), 1000);
		assert_true(json_object_object_get_ex(x, "bytes_written", &v));
		assert_int_equal(json_object_get_int64(v), 512);
		assert_true(json_object_object_get_ex(x, "last_error", &v));
		assert_string_equal(json_object_get_string(v), "READ(10): Medium Error 11/00");
	}
	json_object_put(all);
	unlink(path);
	rmdir(dir);
	expect(vscsictl("detach", "upgraded", "0:0:0:2", NULL), 0, NULL);
	assert_int_equal(simenv_destroy_domain(&env, dom), 0);
}

/* An iSCSI LUN whose session is down: list says so under the LUN, and
 * --json has it in backend_view (scsiback's status.json "link"). */
static void test_list_shows_link_state(void **state)
{
	static const char link[] = "reconnecting, commands wait (connect to 127.0.0.1:3260: "
				   "Connection refused)";
	char dir[600], path[700], text[2048], want[256];
	struct json_object *all, *x, *v;
	int dom = simenv_create_domain(&env, "linked");

	(void)state;
	assert_true(dom > 0);
	expect(vscsictl("attach", "linked", "null:disk", "0:0:0:3", NULL), 0, NULL);
	snprintf(dir, sizeof(dir), "%s/link-scsiback-state", env.rundir);
	assert_true(mkdir(dir, 0755) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/status.json", dir);
	snprintf(text, sizeof(text),
		 "{ \"pid\": %d, \"updated\": \"2026-12-05 12:00:00\",\n"
		 "  \"serving\": \"/local/domain/0/backend/vscsi\",\n"
		 "  \"vhosts\": [ { \"domid\": %d, \"devid\": 0, \"guest\": \"linked\",\n"
		 "    \"ring\": \"running\", \"in_flight\": 2,\n"
		 "    \"luns\": [ { \"dev\": 0, \"v_dev\": \"0:0:0:3\", \"p_dev\": \"null:disk\",\n"
		 "      \"device\": \"iscsi 127.0.0.1:3260\", \"state\": \"open\", \"commands\": 5,\n"
		 "      \"errors\": 1, \"bytes_read\": 4096, \"bytes_written\": 0,\n"
		 "      \"last_error\": \"\", \"link\": \"%s\" } ] } ] }\n",
		 (int)getpid(), dom, link);
	write_file(path, text);
	snprintf(want, sizeof(want), "    backend: open, 5 commands, 1 errors, 4.0 KiB read, 0 B written\n"
		 "    link: %s\n", link);
	expect(vscsictl("--scsiback-state", dir, "list", "linked", NULL), 0, want);
	expect(vscsictl("--scsiback-state", dir, "list", "--json", "linked", NULL), 0, NULL);
	all = json_tokener_parse(out);
	assert_non_null(all);
	assert_true(json_object_object_get_ex(json_object_array_get_idx(all, 0), "vhosts", &x));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(x, 0), "luns", &x));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(x, 0), "backend_view", &x));
	assert_true(json_object_object_get_ex(x, "link", &v));
	assert_string_equal(json_object_get_string(v), link);
	json_object_put(all);
	unlink(path);
	rmdir(dir);
	expect(vscsictl("detach", "linked", "0:0:0:3", NULL), 0, NULL);
	assert_int_equal(simenv_destroy_domain(&env, dom), 0);
}

#define INFLIGHT 8

/* Puts INFLIGHT 32 KiB reads of LUN 0 on the ring without waiting. */
static void start_io(struct rawfront *f)
{
	static const uint8_t rd[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 64, 0 };

	for (uint16_t i = 0; i < INFLIGHT; i++) {
		vscsiif_request_t req;

		rawfront_cdb(f, &req, i, 0, 0, rd, 10, 2, 8u * i, 32768, false);
		rawfront_push(f, &req);
	}
}

static void finish_io(struct rawfront *f)
{
	unsigned seen = 0;

	for (int i = 0; i < INFLIGHT; i++) {
		vscsiif_response_t rsp;

		assert_int_equal(rawfront_wait(f, &rsp, 10000), 0);
		check_good(&rsp);
		assert_true(rsp.rqid < INFLIGHT);
		seen |= 1u << rsp.rqid;
	}
	assert_int_equal(seen, (1u << INFLIGHT) - 1);
}

static int node_int(const char *dir, const char *node)
{
	char *v = xs_get(xs0, "%s/%s", dir, node);
	int x = v ? atoi(v) : -1;

	free(v);
	return x;
}

/* The frontend's passes over the backend's dev-N entries
 * (docs/protocol.md, "Handshake"): those in state be_dev get front state
 * fe_dev. */
static void dev_pass(struct rawfront *f, int be_dev, int fe_dev)
{
	char path[256], **d;
	unsigned n = 0;

	snprintf(path, sizeof(path), "%s/vscsi-devs", f->be_path);
	d = xs_directory(f->xs, XBT_NULL, path, &n);
	for (unsigned i = 0; d && i < n; i++) {
		char dir[300], fp[350];

		snprintf(dir, sizeof(dir), "%s/vscsi-devs/%s", f->be_path, d[i]);
		if (node_int(dir, "state") != be_dev)
			continue;
		snprintf(fp, sizeof(fp), "%s/vscsi-devs/%s/state", f->fe_path, d[i]);
		assert_true(xs_write(f->xs, XBT_NULL, fp, fe_dev == 6 ? "6" : "4", 1));
	}
	free(d);
}

static bool still_running(struct bg *b)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)b->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0;
}

/* Plays the guest's side of every reconfiguration, however many, while
 * vscsictl b runs, from the states as they are (like a frontend's watch
 * handler). Returns the number of cycles. */
static int guest_follows(struct rawfront *f, struct bg *b)
{
	char fe_state[200];
	int cycles = 0;

	snprintf(fe_state, sizeof(fe_state), "%s/state", f->fe_path);
	for (int i = 0; i < 6000 && still_running(b); i++) {
		int be = node_int(f->be_path, "state"), fe = node_int(f->fe_path, "state");

		if (be == XenbusStateReconfiguring && fe == XenbusStateConnected) {
			dev_pass(f, XenbusStateClosing, XenbusStateClosed);
			assert_true(xs_write(f->xs, XBT_NULL, fe_state, "7", 1));
		} else if (be == XenbusStateReconfigured && fe == XenbusStateReconfiguring) {
			dev_pass(f, XenbusStateInitialised, XenbusStateConnected);
			assert_true(xs_write(f->xs, XBT_NULL, fe_state, "4", 1));
			cycles++;
		} else {
			usleep(5000);
		}
	}
	return cycles;
}

/* What Linux's frontend does when the backend closes: go to Closed. */
static void guest_closes(int domid, unsigned devid, const char *be)
{
	struct xs_handle *g = simenv_xs_open(&env, domid);
	char path[128];

	assert_non_null(g);
	for (int i = 0; i < 1000 && be_state(be) != XenbusStateClosing; i++)
		usleep(10000);
	assert_int_equal(be_state(be), XenbusStateClosing);
	snprintf(path, sizeof(path), "/local/domain/%d/device/vscsi/%u/state", domid, devid);
	assert_true(xs_write(g, XBT_NULL, path, "6", 1));
	xs_close(g);
}

/* ---- tests ---- */

static void test_usage(void **state)
{
	char *before = snapshot();

	(void)state;
	expect(vscsictl("--help", NULL), 0, "attach DOMAIN PDEV VDEV [feature-host]");
	assert_non_null(strstr(out, "Exit status:"));
	assert_non_null(strstr(out, "--kernel-backend"));
	expect(vscsictlv(out, sizeof(out), (char *[]){ NULL }), 2, "missing command");
	expect(vscsictl("frobnicate", NULL), 2, "unknown command \"frobnicate\"");
	expect(vscsictl("--bogus", "list", NULL), 2, "Try 'vscsictl --help'");
	expect(vscsictl("attach", "guest1", "null:disk", NULL), 2, "attach takes DOMAIN PDEV VDEV");
	expect(vscsictl("attach", "guest1", "null:disk", "0:0:0:5", "bogus", NULL), 2,
	       "unknown option \"bogus\"");
	expect(vscsictl("detach", "guest1", NULL), 2, "detach takes DOMAIN VDEV");
	expect(vscsictl("apply", "guest1", NULL), 2, "apply takes DOMAIN FILE");
	expect(vscsictl("--timeout", "0", "list", NULL), 2, "--timeout wants seconds");
	expect(vscsictl("--timeout", "abc", "list", NULL), 2, "--timeout wants seconds");
	assert_same_store(before);
	free(before);
}

static void test_attach_list_connect(void **state)
{
	char id[16];
	json_object *all, *d, *vh, *luns, *l, *x;

	(void)state;
	snprintf(id, sizeof(id), "%d", dom1);
	/* By name and by id. */
	expect(vscsictl("attach", "guest1", "null:disk", "0:0:0:0", NULL), 0, NULL);
	expect(vscsictl("attach", id, "null:disk", "0:0:0:3", NULL), 0, NULL);
	assert_node("null:disk", "%s/vscsi-devs/dev-0/p-dev", be1);
	assert_node("0:0:0:3", "%s/vscsi-devs/dev-1/v-dev", be1);
	/* scsiback opened both at attach (feature-early-open): 3. */
	assert_node("1", "%s/feature-early-open", be1);
	assert_node("3", "%s/vscsi-devs/dev-1/state", be1);
	assert_node(fe1, "%s/frontend", be1);
	assert_node(be1, "%s/backend", fe1);
	assert_node("2", "/libxl/%d/vscsi/0/next_vscsidev_id", dom1);

	/* Before the guest connects: backend InitWait, LUNs Initialised. */
	expect(vscsictl("list", "guest1", NULL), 0, "Idx BE  state ctrl phy-hctl");
	assert_null(strstr(out, "Domain "));           /* one domain: no label */
	assert_non_null(strstr(out, "0   0   2     0    null:disk 0:0:0:0  3\n"));
	assert_non_null(strstr(out, "1   0   2     0    null:disk 0:0:0:3  3\n"));

	assert_int_equal(rawfront_open(&f1, &env, dom1, 0, 10000), 0);
	assert_int_equal(inquiry_pdt(&f1, 0, 3), 0);   /* a disk */

	expect(vscsictl("list", "--json", "guest1", NULL), 0, NULL);
	all = json_tokener_parse(out);
	assert_non_null(all);
	assert_int_equal(json_object_array_length(all), 1);
	d = json_object_array_get_idx(all, 0);
	assert_true(json_object_object_get_ex(d, "domid", &x));
	assert_int_equal(json_object_get_int(x), dom1);
	assert_true(json_object_object_get_ex(d, "name", &x));
	assert_string_equal(json_object_get_string(x), "guest1");
	assert_true(json_object_object_get_ex(d, "vhosts", &x));
	assert_int_equal(json_object_array_length(x), 1);
	vh = json_object_array_get_idx(x, 0);
	assert_true(json_object_object_get_ex(vh, "devid", &x));
	assert_int_equal(json_object_get_int(x), 0);
	assert_true(json_object_object_get_ex(vh, "state", &x));
	assert_int_equal(json_object_get_int(x), XenbusStateConnected);
	assert_true(json_object_object_get_ex(vh, "frontend_state", &x));
	assert_int_equal(json_object_get_int(x), XenbusStateConnected);
	assert_true(json_object_object_get_ex(vh, "feature_host", &x));
	assert_false(json_object_get_boolean(x));
	assert_true(json_object_object_get_ex(vh, "backend", &x));
	assert_string_equal(json_object_get_string(x), be1);
	assert_true(json_object_object_get_ex(vh, "luns", &luns));
	assert_int_equal(json_object_array_length(luns), 2);
	l = json_object_array_get_idx(luns, 1);
	assert_true(json_object_object_get_ex(l, "idx", &x));
	assert_int_equal(json_object_get_int(x), 1);
	assert_true(json_object_object_get_ex(l, "v_dev", &x));
	assert_string_equal(json_object_get_string(x), "0:0:0:3");
	assert_true(json_object_object_get_ex(l, "p_dev", &x));
	assert_string_equal(json_object_get_string(x), "null:disk");
	assert_true(json_object_object_get_ex(l, "state", &x));
	assert_int_equal(json_object_get_int(x), XenbusStateConnected);
	assert_true(json_object_object_get_ex(l, "state_name", &x));
	assert_string_equal(json_object_get_string(x), "Connected");
	assert_true(json_object_object_get_ex(l, "frontend_state", &x));
	assert_int_equal(json_object_get_int(x), XenbusStateConnected);
	assert_true(json_object_object_get_ex(l, "error", &x));
	assert_null(x);
	json_object_put(all);

	/* Everything: only domains with PV SCSI, each labelled. */
	expect(vscsictl("list", NULL), 0, NULL);
	{
		char label[64];

		snprintf(label, sizeof(label), "Domain %d (guest1)\n", dom1);
		assert_non_null(strstr(out, label));
		assert_null(strstr(out, "(guest2)"));
		assert_non_null(strstr(out, "0   0   4     0    null:disk 0:0:0:0  4\n"));
	}
	/* A domain without PV SCSI: the header alone. */
	expect(vscsictl("list", "guest2", NULL), 0, NULL);
	assert_string_equal(out, "Idx BE  state ctrl phy-hctl vir-hctl devstate\n");
}

/* The guest can read its backend directory but not write it, owns its
 * frontend directory, and cannot see another guest's backend nodes or
 * the toolstack's records. */
static void test_guest_permissions(void **state)
{
	struct xs_handle *g1, *g2;
	struct xs_permissions *p;
	unsigned n, len;
	char path[256], *v;

	(void)state;
	g1 = simenv_xs_open(&env, dom1);
	g2 = simenv_xs_open(&env, dom2);
	assert_non_null(g1);
	assert_non_null(g2);

	snprintf(path, sizeof(path), "%s/vscsi-devs/dev-0/p-dev", be1);
	v = xs_read(g1, XBT_NULL, path, &len);
	assert_non_null(v);
	assert_string_equal(v, "null:disk");
	free(v);
	assert_false(xs_write(g1, XBT_NULL, path, "/dev/sg0", 8));
	assert_int_equal(errno, EACCES);
	snprintf(path, sizeof(path), "%s/state", be1);
	assert_false(xs_write(g1, XBT_NULL, path, "7", 1));
	assert_int_equal(errno, EACCES);
	snprintf(path, sizeof(path), "%s/feature-host", be1);
	assert_false(xs_write(g1, XBT_NULL, path, "1", 1));
	snprintf(path, sizeof(path), "%s/vscsi-devs/dev-9/p-dev", be1);
	assert_false(xs_write(g1, XBT_NULL, path, "/dev/sg0", 8));    /* no new LUNs either */
	snprintf(path, sizeof(path), "%s/vscsi-devs/dev-0", be1);
	assert_false(xs_rm(g1, XBT_NULL, path));
	snprintf(path, sizeof(path), "/libxl/%d/vscsi/0/next_vscsidev_id", dom1);
	assert_false(xs_write(g1, XBT_NULL, path, "0", 1));
	assert_null(xs_read(g1, XBT_NULL, path, &len));
	/* Another guest sees nothing of it. */
	snprintf(path, sizeof(path), "%s/vscsi-devs/dev-0/p-dev", be1);
	assert_null(xs_read(g2, XBT_NULL, path, &len));
	assert_int_equal(errno, EACCES);
	/* Its own frontend nodes it writes. */
	snprintf(path, sizeof(path), "%s/state", fe1);
	assert_true(xs_write(g1, XBT_NULL, path, "4", 1));
	snprintf(path, sizeof(path), "%s/vscsi-devs/dev-0/state", fe1);
	assert_true(xs_write(g1, XBT_NULL, path, "4", 1));
	assert_false(xs_write(g2, XBT_NULL, path, "4", 1));
	/* Owners as xl sets them. */
	p = xs_get_permissions(xs0, XBT_NULL, be1, &n);
	assert_non_null(p);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].id, 0);
	assert_int_equal(p[0].perms, XS_PERM_NONE);
	assert_int_equal(p[1].id, (unsigned)dom1);
	assert_int_equal(p[1].perms, XS_PERM_READ);
	free(p);
	p = xs_get_permissions(xs0, XBT_NULL, fe1, &n);
	assert_non_null(p);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].id, (unsigned)dom1);
	assert_int_equal(p[0].perms, XS_PERM_NONE);
	assert_int_equal(p[1].id, 0);
	assert_int_equal(p[1].perms, XS_PERM_READ);
	free(p);
	xs_close(g1);
	xs_close(g2);
	/* The vhost still works. */
	assert_int_equal(inquiry_pdt(&f1, 0, 0), 0);
}

struct bad_case {
	const char *args[12];
	int rc;
	const char *msg;
};

/* Every bad input: its message, its exit code, and not one node written. */
static void test_bad_inputs(void **state)
{
	char cfg[10][600], sys[600], cfs[600];
	static const char *const cfg_text[10] = {
		"name = \"guest1\"\nvscsi = [ \"null:disk,0:0:0:9\", \n",               /* syntax */
		"vscsi = [ \"null:disk,0:0:0:9\", \"null:disk,0:0:0:9\" ]\n",           /* dup */
		"vscsi = [ \"null:disk,5:0:0:0\", \"null:disk,5:0:0:1,feature-host\" ]\n", /* mixed */
		"vscsi = [ \"null:disk,5:0:0:0\", \"/dev/null,5:0:0:1\" ]\n",          /* bad p-dev */
		"name = \"guest1\"\nmemory = 256\n",                                   /* no vscsi */
		"vscsi = [ \"/dev/sg0,host\" ]\n",                                     /* xm host mode */
		"vscsi = [ \"iscsi://127.0.0.1/iqn.2026-01.x:y/0,0:0:0:0\" ]\n",     /* v-dev taken */
		"vscsi = [ \"null:disk\" ]\n",                                         /* no v-dev */
		"vscsi = \"null:disk,0:0:0:9\"\n",                                     /* no list */
		"name = \"guest1\"\nvscsi = [ \"null:disk",  /* and a NUL byte (below) */
	};
	char missing[600];
	char *before;
	FILE *f;

	(void)state;
	for (int i = 0; i < 10; i++) {
		snprintf(cfg[i], sizeof(cfg[i]), "%s/bad%d.cfg", env.rundir, i);
		write_file(cfg[i], cfg_text[i]);
	}
	/* libxlutil aborted on a NUL byte in a string (found by fuzz_xlcfg) */
	f = fopen(cfg[9], "a");
	assert_non_null(f);
	fwrite("\0,0:0:0:9\" ]\n", 1, 13, f);
	fclose(f);
	snprintf(missing, sizeof(missing), "%s/missing.cfg", env.rundir);
	snprintf(sys, sizeof(sys), "%s/empty-sysfs", env.rundir);
	mkdir(sys, 0755);
	snprintf(cfs, sizeof(cfs), "%s/empty-configfs", env.rundir);
	mkdir(cfs, 0755);

	const struct bad_case cases[] = {
		{ { "attach", "guest1", "null:disk", "0:0:0" }, 3, "v-dev \"0:0:0\" is not HOST:CHANNEL:TARGET:LUN" },
		{ { "attach", "guest1", "null:disk", "0:0:x:1" }, 3, "is not HOST:CHANNEL:TARGET:LUN" },
		{ { "attach", "guest1", "null:disk", "0:0:0:70000" }, 3, "each below 65536" },
		{ { "attach", "guest1", "null:disk", "0:0:0:1:2" }, 3, "is not HOST:CHANNEL:TARGET:LUN" },
		/* one spelling per address, as scsiback and libvscsifront read it */
		{ { "attach", "guest1", "null:disk", "0:0:01:1" }, 3, "without sign, blank or leading zero" },
		{ { "attach", "guest1", "null:disk", "00:0:0:1" }, 3, "v-dev \"00:0:0:1\" is not HOST:" },
		{ { "attach", "guest1", "null:disk", "-1:0:0:0" }, 2, NULL },  /* looks like an option */
		{ { "attach", "guest1", "1:2:3", "0:0:0:9" }, 3, "bad SCSI address" },
		{ { "attach", "guest1", "1:2:3:x", "0:0:0:9" }, 3, "bad SCSI address" },
		{ { "attach", "guest1", "/dev/vscsi-no-such-device", "0:0:0:9" }, 3,
		  "p-dev \"/dev/vscsi-no-such-device\": No such file or directory" },
		{ { "attach", "guest1", "/dev/null", "0:0:0:9" }, 3, "not a SCSI device" },
		{ { "--sysfs", sys, "attach", "guest1", "250:0:0:0", "0:0:0:9" }, 3,
		  "no SCSI device 250:0:0:0 on this host" },
		{ { "attach", "guest1", "null:tape", "0:0:0:9" }, 3, "unknown null kind" },
		/* an initiator port only for iSCSI, only a valid one (issue 18) */
		{ { "attach", "guest1", "null:disk", "0:0:0:9", "isid=80aabbccddee" }, 2,
		  "isid= is for iscsi:// p-devs" },
		{ { "attach", "guest1", "iscsi://127.0.0.1/iqn.2026-01.x:y/0", "0:0:0:9",
		    "initiator=IQN.2026-01.x:y" }, 2, "character 'I' at 1 is not allowed" },
		{ { "attach", "guest1", "iscsi://127.0.0.1/iqn.2026-01.x:y/0", "0:0:0:9", "isid=8011" }, 2,
		  "ISID \"8011\" is not 12 hex digits" },
		{ { "attach", "guest1", "iscsi://127.0.0.1:99999/iqn.2026-01.x:y/0", "0:0:0:9" }, 3,
		  "port 99999 out of range" },
		{ { "attach", "guest1", "iscsi://u:secret@127.0.0.1/iqn.2026-01.x:y/0", "0:0:0:9" }, 3,
		  "credentials do not belong in a p-dev" },
		{ { "attach", "guest1", "naa.12345:0", "0:0:0:9" }, 3, "is not naa.<16 hex digits>:<lun>" },
		{ { "--configfs", cfs, "attach", "guest1", "naa.6001405aabbccdd0:0", "0:0:0:9" }, 3,
		  "no xen-pvscsi target" },
		{ { "--kernel-backend", "--configfs", cfs, "attach", "guest1", "null:disk", "0:0:0:9" }, 3,
		  "the kernel backend takes naa.<wwn>:<lun>" },
		{ { "attach", "guest1", "null:disk", "0:0:0:0" }, 3,
		  "v-dev 0:0:0:0 is already attached to domain" },
		{ { "attach", "guest1", "null:disk", "0:0:0:9", "feature-host" }, 3,
		  "is not in feature-host mode" },
		{ { "attach", "no-such-guest", "null:disk", "0:0:0:9" }, 4, "no domain named \"no-such-guest\"" },
		{ { "attach", "4000", "null:disk", "0:0:0:9" }, 4, "no domain 4000" },
		{ { "--backend-domain", "ghost", "attach", "guest1", "null:disk", "0:0:0:9" }, 4,
		  "backend domain: no domain named \"ghost\"" },
		{ { "--backend-domain", "guest2", "attach", "guest1", "null:disk", "0:0:0:9" }, 3,
		  "is served by backend domain 0" },
		{ { "detach", "guest1", "0:0:0:42" }, 6, "v-dev 0:0:0:42 is not attached to domain" },
		{ { "detach", "guest1", "0:0:0" }, 3, "is not HOST:CHANNEL:TARGET:LUN" },
		{ { "detach", "guest1", "0:0:0:00" }, 3, "is not HOST:CHANNEL:TARGET:LUN" },
		{ { "detach", "ghost", "0:0:0:0" }, 4, "no domain named \"ghost\"" },
		{ { "list", "guest1", "ghost" }, 4, "no domain named \"ghost\"" },
		{ { "apply", "guest1", missing }, 3, "missing.cfg: No such file or directory" },
		{ { "apply", "guest1", cfg[0] }, 3, "syntax error" },
		{ { "apply", "guest1", cfg[1] }, 3, "entries 1 and 2 both use v-dev 0:0:0:9" },
		{ { "apply", "guest1", cfg[2] }, 3, "only one has feature-host" },
		{ { "apply", "guest1", cfg[3] }, 3, "entry 2: p-dev \"/dev/null\": not a SCSI device" },
		{ { "apply", "guest1", cfg[4] }, 3, "no vscsi = [" },
		{ { "apply", "guest1", cfg[5] }, 3, "whole-host mode" },
		{ { "apply", "guest1", cfg[6] }, 3, "v-dev 0:0:0:0 of domain" },
		{ { "apply", "guest1", cfg[7] }, 3, "is not \"pdev,vdev[,option]...\"" },
		/* libxlutil's word, naming the line (it was lost) */
		{ { "apply", "guest1", cfg[8] }, 3, "bad8.cfg:1: warning: parameter `vscsi' is a single "
		  "value but should be a list" },
		{ { "apply", "guest1", cfg[9] }, 3, "bad9.cfg:2: a NUL byte" },
		{ { "apply", "ghost", cfg[6] }, 4, "no domain named \"ghost\"" },
	};

	before = snapshot();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = vscsictlv(out, sizeof(out), (char *const *)cases[i].args);

		if (rc != cases[i].rc || (cases[i].msg && !strstr(out, cases[i].msg)))
			fail_msg("case %zu (%s %s %s %s): exit %d (want %d), output:\n%s\nwant: %s", i,
				 cases[i].args[0], cases[i].args[1], cases[i].args[2] ? cases[i].args[2] : "",
				 cases[i].args[3] ? cases[i].args[3] : "", rc, cases[i].rc, out,
				 cases[i].msg ? cases[i].msg : "");
		if (cases[i].rc != 2 && strncmp(out, "vscsictl: ", 10))
			fail_msg("case %zu: message does not start with \"vscsictl: \": %s", i, out);
		assert_same_store(before);
	}
	free(before);
}

/* Hot-add and hot-remove while the guest has reads in flight on another
 * LUN of the same vhost; dev-N numbers are never reused. */
static void test_hotplug_during_io(void **state)
{
	struct bg b;

	(void)state;
	start_io(&f1);
	vscsictl_bg(&b, "attach", "guest1", "null:disk", "0:0:0:5", NULL);
	assert_int_equal(rawfront_service(&f1, 10000), XenbusStateConnected);
	finish_io(&f1);
	expect(vscsictl_wait(&b), 0, NULL);
	assert_node("0:0:0:5", "%s/vscsi-devs/dev-2/v-dev", be1);
	assert_node("4", "%s/vscsi-devs/dev-2/state", be1);
	assert_node("4", "%s/vscsi-devs/dev-2/state", fe1);
	assert_int_equal(inquiry_pdt(&f1, 0, 5), 0);
	assert_int_equal(report_luns(&f1), 3);

	start_io(&f1);
	vscsictl_bg(&b, "detach", "guest1", "0:0:0:5", NULL);
	assert_int_equal(rawfront_service(&f1, 10000), XenbusStateConnected);
	finish_io(&f1);
	expect(vscsictl_wait(&b), 0, NULL);
	assert_node(NULL, "%s/vscsi-devs/dev-2", be1);
	assert_node(NULL, "%s/vscsi-devs/dev-2", fe1);
	assert_int_equal(inquiry_pdt(&f1, 0, 5), 0x7f);  /* no LUN there any more */
	assert_int_equal(report_luns(&f1), 2);
	assert_int_equal(be_state(be1), XenbusStateConnected);

	/* Again: the next number, not dev-2. */
	vscsictl_bg(&b, "attach", "guest1", "null:disk", "0:0:0:5", NULL);
	assert_int_equal(rawfront_service(&f1, 10000), XenbusStateConnected);
	expect(vscsictl_wait(&b), 0, NULL);
	assert_node(NULL, "%s/vscsi-devs/dev-2", be1);
	assert_node("0:0:0:5", "%s/vscsi-devs/dev-3/v-dev", be1);
	assert_int_equal(inquiry_pdt(&f1, 0, 5), 0);
	vscsictl_bg(&b, "detach", "guest1", "0:0:0:5", NULL);
	assert_int_equal(rawfront_service(&f1, 10000), XenbusStateConnected);
	expect(vscsictl_wait(&b), 0, NULL);
	assert_node(NULL, "%s/vscsi-devs/dev-3", be1);
}

static unsigned dev_count(const char *be)
{
	char path[256], **d;
	unsigned n = 0;

	snprintf(path, sizeof(path), "%s/vscsi-devs", be);
	d = xs_directory(xs0, XBT_NULL, path, &n);
	free(d);
	return d ? n : 0;
}

/* A LUN the backend cannot open: the dev-N and the backend's reason in
 * the message, exit 1, the entry gone again. */
static void test_hot_add_refused(void **state)
{
	struct bg b;

	(void)state;
	vscsictl_bg(&b, "attach", "guest1", "iscsi://127.0.0.1:1/iqn.2026-01.none:x/1", "0:0:0:6", NULL);
	assert_int_equal(rawfront_service(&f1, 10000), XenbusStateConnected);
	expect(vscsictl_wait(&b), 1, "dev-4 (p-dev \"iscsi://127.0.0.1:1/iqn.2026-01.none:x/1\") "
				     "failed in the backend: ");
	assert_non_null(strstr(out, "Connection refused"));
	assert_int_equal(dev_count(be1), 2);
	assert_node(NULL, "%s/vscsi-devs/dev-4", be1);
	assert_int_equal(be_state(be1), XenbusStateConnected);
	assert_int_equal(report_luns(&f1), 2);
}

/* apply is all or nothing: a refused LUN takes back the LUN added with
 * it (through a hot-remove the guest sees) and the vhost created before. */
static void test_apply_rolls_back(void **state)
{
	char cfg[600], be4[128];
	struct bg b;

	(void)state;
	snprintf(cfg, sizeof(cfg), "%s/rollback.cfg", env.rundir);
	write_file(cfg, "vscsi = [ \"null:disk,4:0:0:0\",\n"
			"          \"null:disk,0:0:0:7\",\n"
			"          \"iscsi://127.0.0.1:1/iqn.2026-01.none:x/1,0:0:0:8\" ]\n");
	snprintf(be4, sizeof(be4), "/local/domain/0/backend/vscsi/%d/4", dom1);
	vscsictl_bg(&b, "apply", "guest1", cfg, NULL);
	/* One cycle adds 0:0:0:7 and 0:0:0:8; 8 fails; one takes 7 away. */
	assert_int_equal(guest_follows(&f1, &b), 2);
	expect(vscsictl_wait(&b), 1, "failed in the backend");
	assert_non_null(strstr(out, "attached null:disk as 4:0:0:0"));
	assert_non_null(strstr(out, "none of the 2 LUNs was attached"));
	assert_non_null(strstr(out, "detached 4:0:0:0 again"));
	assert_int_equal(dev_count(be1), 2);
	assert_node(NULL, "%s/frontend", be4);
	assert_node(NULL, "/libxl/%d/vscsi/4", dom1);
	assert_int_equal(inquiry_pdt(&f1, 0, 7), 0x7f);
	assert_int_equal(report_luns(&f1), 2);
}

static char *guest2_before;

static void test_apply_config(void **state)
{
	char cfg[600], cfg2[600], be_1[128], be_2[128], *before;

	(void)state;
	guest2_before = snapshot();
	snprintf(cfg, sizeof(cfg), "%s/guest2.cfg", env.rundir);
	write_file(cfg, "# an xl domain configuration\n"
			"name = \"guest2\"\nmemory = 512\nvcpus = 2\n"
			"disk = [ 'phy:/dev/vg/guest2,xvda,w' ]\n"
			"vscsi = [ \"null:disk,1:0:0:0\",\n"
			"          \" null:disk , 1:0:0:2 \",\n"
			"          'null:disk,2:0:1:0,feature-host' ]\n");
	expect(vscsictl("apply", "guest2", cfg, NULL), 0, "attached null:disk as 1:0:0:0\n"
							   "attached null:disk as 1:0:0:2\n"
							   "attached null:disk as 2:0:1:0\n");
	snprintf(be_1, sizeof(be_1), "/local/domain/0/backend/vscsi/%d/1", dom2);
	snprintf(be_2, sizeof(be_2), "/local/domain/0/backend/vscsi/%d/2", dom2);
	assert_node("1:0:0:0", "%s/vscsi-devs/dev-0/v-dev", be_1);
	assert_node("1:0:0:2", "%s/vscsi-devs/dev-1/v-dev", be_1);
	assert_node("0", "%s/feature-host", be_1);
	assert_node("2:0:1:0", "%s/vscsi-devs/dev-0/v-dev", be_2);
	assert_node("1", "%s/feature-host", be_2);
	assert_node("2", "/libxl/%d/vscsi/1/next_vscsidev_id", dom2);
	assert_node("2", "%s/state", be_2);

	/* Applying again changes nothing. */
	before = snapshot();
	expect(vscsictl("apply", "guest2", cfg, NULL), 0, "1:0:0:0: already attached (null:disk)");
	assert_non_null(strstr(out, "2:0:1:0: already attached"));
	assert_null(strstr(out, "attached null:disk as"));
	/* -q: silent. */
	expect(vscsictl("-q", "apply", "guest2", cfg, NULL), 0, NULL);
	assert_string_equal(out, "");
	/* A config adding one LUN to a vhost and keeping the rest. */
	snprintf(cfg2, sizeof(cfg2), "%s/guest2-more.cfg", env.rundir);
	write_file(cfg2, "vscsi = [ \"null:disk,1:0:0:0\", \"null:disk,1:0:0:4\" ]\n");
	assert_same_store(before);
	free(before);
	expect(vscsictl("apply", "guest2", cfg2, NULL), 0, "attached null:disk as 1:0:0:4\n");
	assert_node("1:0:0:4", "%s/vscsi-devs/dev-2/v-dev", be_1);

	/* The guest connects and finds the three LUNs of vhost 1. */
	assert_int_equal(rawfront_open(&f2, &env, dom2, 1, 10000), 0);
	assert_int_equal(inquiry_pdt(&f2, 0, 0), 0);
	assert_int_equal(inquiry_pdt(&f2, 0, 2), 0);
	assert_int_equal(report_luns(&f2), 3);
}

/* Detaching the last LUN takes the vhost away, the guest closing first. */
static void test_detach_last_lun(void **state)
{
	char be_1[128], fe_1[128];
	struct bg b;

	(void)state;
	snprintf(be_1, sizeof(be_1), "/local/domain/0/backend/vscsi/%d/1", dom2);
	snprintf(fe_1, sizeof(fe_1), "/local/domain/%d/device/vscsi/1", dom2);
	assert_int_equal(report_luns(&f2), 3);

	vscsictl_bg(&b, "detach", "guest2", "1:0:0:2", NULL);
	assert_int_equal(rawfront_service(&f2, 10000), XenbusStateConnected);
	expect(vscsictl_wait(&b), 0, NULL);
	vscsictl_bg(&b, "detach", "guest2", "1:0:0:4", NULL);
	assert_int_equal(rawfront_service(&f2, 10000), XenbusStateConnected);
	expect(vscsictl_wait(&b), 0, NULL);
	assert_int_equal(report_luns(&f2), 1);
	assert_int_equal(dev_count(be_1), 1);

	vscsictl_bg(&b, "detach", "guest2", "1:0:0:0", NULL);
	guest_closes(dom2, 1, be_1);
	expect(vscsictl_wait(&b), 0, NULL);
	rawfront_abandon(&f2);
	assert_node(NULL, "%s/frontend", be_1);
	assert_node(NULL, "%s/backend", fe_1);
	assert_node(NULL, "/libxl/%d/vscsi/1", dom2);
	assert_true(daemon_alive(backend));

	/* The other vhost (never connected) goes without a handshake, and
	 * with it every trace of guest2's PV SCSI. */
	expect(vscsictl("list", "guest2", NULL), 0, "2:0:1:0");
	expect(vscsictl("detach", "guest2", "2:0:1:0", NULL), 0, NULL);
	assert_same_store(guest2_before);
	free(guest2_before);
	guest2_before = NULL;
}

static void test_wait_and_timeouts(void **state)
{
	char be0[128], fe0[128], *before;
	struct rawfront f3;
	struct bg b;

	(void)state;
	snprintf(be0, sizeof(be0), "/local/domain/0/backend/vscsi/%d/0", dom3);
	snprintf(fe0, sizeof(fe0), "/local/domain/%d/device/vscsi/0", dom3);
	before = snapshot();
	/* No frontend in guest3: --wait times out and removes the vhost. */
	expect(vscsictl("--wait", "--timeout", "0.5", "attach", "guest3", "null:disk", "0:0:0:0", NULL), 5,
	       "did not connect vhost 0 within 500 ms; removed it again");
	assert_same_store(before);
	/* No backend in guest3's domain: nobody takes the vhost up. */
	expect(vscsictl("--backend-domain", "guest3", "-t", "0.5", "attach", "guest2", "null:disk",
			"6:0:0:0", NULL), 5, "(is scsiback running there?)");
	assert_same_store(before);

	/* --wait returns once the guest has connected the LUN. */
	vscsictl_bg(&b, "--wait", "attach", "guest3", "null:disk", "0:0:0:0", NULL);
	{
		char path[160];

		snprintf(path, sizeof(path), "%s/state", be0);
		wait_node_value(path, "2", 10000);
	}
	assert_true(waitpid(b.pid, NULL, WNOHANG) == 0); /* still waiting for the guest */
	assert_int_equal(rawfront_open(&f3, &env, dom3, 0, 10000), 0);
	expect(vscsictl_wait(&b), 0, NULL);
	assert_node("4", "%s/vscsi-devs/dev-0/state", be0);
	assert_int_equal(inquiry_pdt(&f3, 0, 0), 0);

	/* Hot-add to a connected guest that never answers: timeout, and the
	 * vhost is as it was. */
	{
		char *mid = snapshot();

		expect(vscsictl("-t", "0.5", "attach", "guest3", "null:disk", "0:0:0:1", NULL), 5,
		       "did not finish the hot-add within 500 ms");
		assert_int_equal(be_state(be0), XenbusStateConnected);
		assert_int_equal(dev_count(be0), 1);
		assert_int_equal(inquiry_pdt(&f3, 0, 0), 0);
		(void)mid;
		free(mid);
	}
	/* The guest ignores the close request: removed anyway, exit 5. */
	expect(vscsictl("-t", "0.5", "detach", "guest3", "0:0:0:0", NULL), 5,
	       "did not release vhost 0 within 500 ms; removed it anyway");
	assert_node(NULL, "%s/frontend", be0);
	rawfront_abandon(&f3);
	/* The backend dropped the vhost with its directory: attach again. */
	{
		char msg[64];

		snprintf(msg, sizeof(msg), "vhost %d/0: removed", dom3);
		wait_log(msg, 5000);
	}
	vscsictl_bg(&b, "attach", "guest3", "null:disk", "0:0:0:0", NULL);
	expect(vscsictl_wait(&b), 0, NULL);
	assert_int_equal(rawfront_open(&f3, &env, dom3, 0, 10000), 0);
	assert_int_equal(inquiry_pdt(&f3, 0, 0), 0);
	vscsictl_bg(&b, "detach", "guest3", "0:0:0:0", NULL);
	guest_closes(dom3, 0, be0);
	expect(vscsictl_wait(&b), 0, NULL);
	rawfront_abandon(&f3);
	assert_same_store(before);
	free(before);
}

/* ---- the kernel backend's configfs ---- */

static char cfs[600], lio[600];

static void mkdirs(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mkdirs(const char *fmt, ...)
{
	char path[1024], cmd[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
	assert_int_equal(system(cmd), 0);
}

static void put(const char *text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(const char *text, const char *fmt, ...)
{
	char path[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	write_file(path, text);
}

/* A configfs tree as LIO builds it: storage objects under target/core,
 * LUNs of the xen-pvscsi TPGs linking to them. */
static void build_fake_configfs(void)
{
	char text[1024], link[1024];
	const char *t1 = "target/xen-pvscsi/naa.6001405AABBCCDD0/tpgt_1";
	const char *t2 = "target/xen-pvscsi/naa.60014050000000B2/tpgt_2";

	snprintf(cfs, sizeof(cfs), "%s/configfs", env.rundir);
	snprintf(lio, sizeof(lio), "%s/lio", env.rundir);
	mkdirs("%s/by-id", lio);
	put("disk\n", "%s/disk1.img", lio);
	put("tape\n", "%s/tape.img", lio);
	put("other\n", "%s/other.img", lio);
	put("none\n", "%s/unexported.img", lio);
	snprintf(link, sizeof(link), "%s/by-id/tape-link", lio);
	assert_int_equal(symlink("../tape.img", link), 0);

	mkdirs("%s/target/xen-pvscsi", cfs);
	mkdirs("%s/target/core/fileio_0/disk1", cfs);
	mkdirs("%s/target/core/fileio_0/tape", cfs);
	mkdirs("%s/target/core/fileio_1/other", cfs);
	snprintf(text, sizeof(text), "%s/disk1.img\n", lio);
	put(text, "%s/target/core/fileio_0/disk1/udev_path", cfs);
	snprintf(text, sizeof(text), "%s/tape.img\n", lio);
	put(text, "%s/target/core/fileio_0/tape/udev_path", cfs);
	snprintf(text, sizeof(text), "%s/other.img\n", lio);
	put(text, "%s/target/core/fileio_1/other/udev_path", cfs);
	put("Xen-pvscsi fabric module v0.1\n", "%s/target/xen-pvscsi/version", cfs);
	/* Backstores made without targetcli: udev_path empty, the kernel's
	 * info attribute (fileio, pscsi) names what they serve. */
	put("none\n", "%s/plain.img", lio);
	mkdirs("%s/target/core/fileio_2/plain", cfs);
	mkdirs("%s/target/core/pscsi_0/changer", cfs);
	put("\n", "%s/target/core/fileio_2/plain/udev_path", cfs);
	put("\n", "%s/target/core/pscsi_0/changer/udev_path", cfs);
	snprintf(text, sizeof(text), "Status: ACTIVATED  Max Queue Depth: 128  SectorSize: 512  "
		 "HwMaxSectors: 16384\n        TCM FILEIO ID: 0        File: %s/plain.img  Size: "
		 "33554432  Mode: O_DSYNC\n", lio);
	put(text, "%s/target/core/fileio_2/plain/info", cfs);
	put("Status: ACTIVATED  Max Queue Depth: 0  SectorSize: 0  HwMaxSectors: 1024\n"
	    "SCSI Device Bus Location: Channel ID: 0 Target ID: 1 LUN: 2 Host ID: 3\n"
	    "        Vendor: STK      Model: L700             Rev: 0107\n",
	    "%s/target/core/pscsi_0/changer/info", cfs);

	mkdirs("%s/%s/lun/lun_0", cfs, t1);
	mkdirs("%s/%s/lun/lun_3/statistics", cfs, t1);
	mkdirs("%s/%s/param", cfs, t1);
	put("naa.6001405AABBCCDD1\n", "%s/%s/nexus", cfs, t1);
	snprintf(link, sizeof(link), "%s/%s/lun/lun_0/a1b2c3d4e5", cfs, t1);
	assert_int_equal(symlink("../../../../../core/fileio_0/disk1", link), 0);
	snprintf(link, sizeof(link), "%s/%s/lun/lun_3/f6a7b8c9d0", cfs, t1);
	assert_int_equal(symlink("../../../../../core/fileio_0/tape", link), 0);
	mkdirs("%s/%s/lun/lun_5", cfs, t1);
	snprintf(link, sizeof(link), "%s/%s/lun/lun_5/0a0b0c0d0e", cfs, t1);
	assert_int_equal(symlink("../../../../../core/fileio_2/plain", link), 0);
	mkdirs("%s/%s/lun/lun_6", cfs, t1);
	snprintf(link, sizeof(link), "%s/%s/lun/lun_6/1a1b1c1d1e", cfs, t1);
	assert_int_equal(symlink("../../../../../core/pscsi_0/changer", link), 0);
	/* A TPG without a nexus. */
	mkdirs("%s/%s/lun/lun_1", cfs, t2);
	put("", "%s/%s/nexus", cfs, t2);
	snprintf(link, sizeof(link), "%s/%s/lun/lun_1/0011223344", cfs, t2);
	assert_int_equal(symlink("../../../../../core/fileio_1/other", link), 0);
}

static void test_configfs_lookup(void **state)
{
	struct lio_lun l;
	char err[1024], path[700], tport[LIO_TPORT_MAX];
	unsigned lun;

	(void)state;
	build_fake_configfs();
	assert_true(lio_parse_naa("naa.6001405aabbccdd0:3", tport, &lun));
	assert_string_equal(tport, "naa.6001405aabbccdd0");
	assert_int_equal(lun, 3);
	assert_false(lio_parse_naa("naa.6001405aabbccdd:3", tport, &lun));    /* 15 digits */
	assert_false(lio_parse_naa("naa.6001405aabbccdg0:3", tport, &lun));   /* not hex */
	assert_false(lio_parse_naa("naa.6001405aabbccdd0:", tport, &lun));
	assert_false(lio_parse_naa("naa.6001405aabbccdd0:65536", tport, &lun));
	assert_false(lio_parse_naa("naa.6001405aabbccdd0", tport, &lun));

	/* Through a by-id style symlink to the backing file. */
	snprintf(path, sizeof(path), "%s/by-id/tape-link", lio);
	assert_int_equal(lio_find_device(cfs, NULL, path, &l, err, sizeof(err)), 0);
	assert_string_equal(l.pdev, "naa.6001405AABBCCDD0:3");
	assert_int_equal(l.tpgt, 1);
	assert_true(l.nexus);
	snprintf(path, sizeof(path), "%s/disk1.img", lio);
	assert_int_equal(lio_find_device(cfs, NULL, path, &l, err, sizeof(err)), 0);
	assert_string_equal(l.pdev, "naa.6001405AABBCCDD0:0");
	snprintf(path, sizeof(path), "%s/plain.img", lio);
	assert_int_equal(lio_find_device(cfs, NULL, path, &l, err, sizeof(err)), 0);
	assert_string_equal(l.pdev, "naa.6001405AABBCCDD0:5");
	assert_int_equal(lio_find_device(cfs, NULL, "3:0:1:2", &l, err, sizeof(err)), 0);
	assert_string_equal(l.pdev, "naa.6001405AABBCCDD0:6");
	assert_int_equal(lio_find_device(cfs, NULL, "3:0:1:3", &l, err, sizeof(err)), -ENOENT);
	snprintf(path, sizeof(path), "%s/unexported.img", lio);
	assert_int_equal(lio_find_device(cfs, NULL, path, &l, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "is not a LUN of any xen-pvscsi TPG"));
	snprintf(path, sizeof(path), "%s/other.img", lio);
	assert_int_equal(lio_find_device(cfs, NULL, path, &l, err, sizeof(err)), -ENOTCONN);
	assert_non_null(strstr(err, "has no I_T nexus"));
	assert_non_null(strstr(err, "tpgt_2/nexus"));
	snprintf(path, sizeof(path), "%s/nothing-here.img", lio);
	assert_int_equal(lio_find_device(cfs, NULL, path, &l, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "No such file or directory"));
	assert_int_equal(lio_find_device(env.rundir, NULL, "/dev/null", &l, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no xen-pvscsi target"));

	/* A given naa p-dev is checked, and spelled as configfs spells it. */
	assert_int_equal(lio_check_pdev(cfs, "naa.6001405aabbccdd0:0", &l, err, sizeof(err)), 0);
	assert_string_equal(l.pdev, "naa.6001405AABBCCDD0:0");
	assert_int_equal(lio_check_pdev(cfs, "naa.6001405aabbccdd0:9", &l, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "has no LUN 9"));
	assert_int_equal(lio_check_pdev(cfs, "naa.6001405aabbccdd9:0", &l, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no xen-pvscsi target naa.6001405aabbccdd9"));
	assert_int_equal(lio_check_pdev(cfs, "naa.60014050000000b2:1", &l, err, sizeof(err)), -ENOTCONN);
	assert_int_equal(lio_check_pdev(cfs, "naa.x:1", &l, err, sizeof(err)), -EINVAL);
}

/* The backend's sysfs: where test_kernel_backend_attach shows it which
 * vhost the kernel's xen-scsiback is bound to (scsiback leaves those). */
static char be_sysfs[600];

/* What the kernel's xen-scsiback does with a new vhost it is bound to:
 * InitWait (it opens LUNs only when the guest connects). A child, while
 * the parent runs vscsictl. */
static pid_t play_kernel_backend(const char *be)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct xs_handle *xs = simenv_xs_open(&env, 0);
		char path[200];

		snprintf(path, sizeof(path), "%s/state", be);
		for (int i = 0; xs && i < 2000; i++) {
			if (xsu_read_intf(xs, XBT_NULL, -1, "%s", path) == XenbusStateInitialising) {
				xsu_printf(xs, XBT_NULL, path, "%d", XenbusStateInitWait);
				_exit(0);
			}
			usleep(5000);
		}
		_exit(1);
	}
	return pid;
}

static void test_kernel_backend_attach(void **state)
{
	char path[700], be7[128], *before;
	pid_t kernel;
	int st;

	(void)state;
	snprintf(be7, sizeof(be7), "/local/domain/0/backend/vscsi/%d/7", dom2);
	/* The kernel serves vhost 7 (xenbus binds it as the toolstack writes
	 * it; here it is bound beforehand): scsiback stays away from it. */
	snprintf(path, sizeof(path), "mkdir -p '%s/bus/xen-backend/devices/vscsi-%d-7/driver'",
		 be_sysfs, dom2);
	assert_int_equal(system(path), 0);
	snprintf(path, sizeof(path), "%s/by-id/tape-link", lio);
	kernel = play_kernel_backend(be7);
	expect(vscsictl("--kernel-backend", "--configfs", cfs, "attach", "guest2", path, "7:0:0:0", NULL),
	       0, NULL);
	assert_int_equal(waitpid(kernel, &st, 0), kernel);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_node("naa.6001405AABBCCDD0:3", "%s/vscsi-devs/dev-0/p-dev", be7);
	assert_node(path, "%s/vscsi-devs/dev-0/p-devname", be7);
	/* The naa form as such (no -k needed), checked in configfs. */
	expect(vscsictl("--configfs", cfs, "attach", "guest2", "naa.6001405aabbccdd0:0", "7:0:0:1", NULL),
	       0, NULL);
	assert_node("naa.6001405AABBCCDD0:0", "%s/vscsi-devs/dev-1/p-dev", be7);
	expect(vscsictl("list", "guest2", NULL), 0, "naa.6001405AABBCCDD0:3 7:0:0:0");

	before = snapshot();
	snprintf(path, sizeof(path), "%s/unexported.img", lio);
	expect(vscsictl("-k", "--configfs", cfs, "attach", "guest2", path, "7:0:0:2", NULL), 3,
	       "is not a LUN of any xen-pvscsi TPG");
	snprintf(path, sizeof(path), "%s/other.img", lio);
	expect(vscsictl("-k", "--configfs", cfs, "attach", "guest2", path, "7:0:0:2", NULL), 3,
	       "has no I_T nexus");
	/* A driver domain's configfs is not ours to read. */
	expect(vscsictl("-k", "--configfs", cfs, "--backend-domain", "guest3", "attach", "guest2", path,
			"8:0:0:0", NULL), 3, "give its naa.<wwn>:<lun>");
	assert_same_store(before);
	free(before);

	expect(vscsictl("detach", "guest2", "7:0:0:1", NULL), 0, NULL);
	expect(vscsictl("detach", "guest2", "7:0:0:0", NULL), 0, NULL);
	assert_node(NULL, "%s/frontend", be7);
	assert_node(NULL, "/libxl/%d", dom2);
}

static pid_t start_backend(void)
{
	char conf[700], conftext[800];
	char *argv[] = { (char *)simenv_prog("scsiback/scsiback"), "--state-dir", statedir,
			 "--config", conf, "--log-level", "debug", NULL };
	pid_t pid;

	snprintf(be_sysfs, sizeof(be_sysfs), "%s/backend-sysfs", env.rundir);
	mkdir(be_sysfs, 0755);
	snprintf(conf, sizeof(conf), "%s/scsiback.conf", env.rundir);
	snprintf(conftext, sizeof(conftext), "[scsiback]\nsysfs-root = %s\n", be_sysfs);
	write_file(conf, conftext);
	pid = daemon_start(&env, 0, logfile, argv);

	usleep(200000);
	return pid;
}

/* Fails unless path leaves xenstore within ms. */
static void wait_gone(const char *path, unsigned ms)
{
	for (unsigned waited = 0;; waited += 50) {
		unsigned len;
		char *v = xs_read(xs0, XBT_NULL, path, &len);

		free(v);
		if (!v)
			return;
		if (waited >= ms)
			fail_msg("%s is still in xenstore after %u ms", path, ms);
		usleep(50000);
	}
}

/* A guest destroyed with LUNs attached while scsiback is stopped: its
 * leftovers are listed (the domain shown as gone) and detached by domain
 * id, and a daemon that starts removes the rest. With scsiback running,
 * they go at once. */
static void test_destroyed_guest_leftovers(void **state)
{
	char *before = snapshot(), id[16], label[64], be[64];
	struct rawfront f4;
	json_object *all, *x;
	int d4;

	(void)state;
	d4 = simenv_create_domain(&env, "guest4");
	assert_true(d4 > 0);
	snprintf(id, sizeof(id), "%d", d4);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vscsi/%d", d4);
	expect(vscsictl("attach", "guest4", "null:disk", "0:0:0:0", NULL), 0, NULL);
	expect(vscsictl("attach", "guest4", "null:disk", "0:0:0:1", NULL), 0, NULL);
	expect(vscsictl("attach", "guest4", "null:disk", "1:0:0:0", NULL), 0, NULL);
	assert_int_equal(rawfront_open(&f4, &env, d4, 0, 10000), 0);
	assert_int_equal(inquiry_pdt(&f4, 0, 1), 0);
	assert_int_equal(daemon_stop(backend, SIGTERM, 10000), 0);
	assert_int_equal(simenv_destroy_domain(&env, d4), 0);
	rawfront_abandon(&f4);

	expect(vscsictl("list", NULL), 0, NULL);
	snprintf(label, sizeof(label), "Domain %d (gone)\n", d4);
	assert_non_null(strstr(out, label));
	expect(vscsictl("list", "--json", id, NULL), 0, NULL);
	all = json_tokener_parse(out);
	assert_non_null(all);
	assert_true(json_object_object_get_ex(json_object_array_get_idx(all, 0), "exists", &x));
	assert_false(json_object_get_boolean(x));
	json_object_put(all);
	expect(vscsictl("detach", "guest4", "0:0:0:0", NULL), 4, "no domain named \"guest4\"");
	expect(vscsictl("detach", id, "0:0:0:1", NULL), 0, NULL);
	expect(vscsictl("detach", id, "0:0:0:0", NULL), 0, NULL);
	expect(vscsictl("list", id, NULL), 0, "1:0:0:0");
	assert_node(NULL, "%s/0", be);

	backend = start_backend();
	assert_true(daemon_alive(backend));
	wait_gone(be, 5000);
	expect(vscsictl("list", id, NULL), 4, "no domain");
	assert_same_store(before);

	d4 = simenv_create_domain(&env, "guest5");
	assert_true(d4 > 0);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vscsi/%d", d4);
	expect(vscsictl("attach", "guest5", "null:disk", "0:0:0:0", NULL), 0, NULL);
	assert_int_equal(rawfront_open(&f4, &env, d4, 0, 10000), 0);
	assert_int_equal(inquiry_pdt(&f4, 0, 0), 0);
	assert_int_equal(simenv_destroy_domain(&env, d4), 0);
	rawfront_abandon(&f4);
	wait_gone(be, 5000);
	assert_same_store(before);
	free(before);
	assert_true(daemon_alive(backend));
}
static void test_backend_survived(void **state)
{
	(void)state;
	assert_true(daemon_alive(backend));
	assert_int_equal(inquiry_pdt(&f1, 0, 0), 0);
}

static void put_node(const char *dir, const char *node, const char *value)
{
	char p[900];

	snprintf(p, sizeof(p), "%s/%s", dir, node);
	assert_int_equal(xsu_printf(xs0, XBT_NULL, p, "%s", value), 0);
}

/* A host device shared on purpose by two guests of this host: both reach
 * it through the host's own initiator, one I_T nexus, so reservations
 * cannot tell them apart: attach says so (user guide, "Shared LUNs and
 * clusters"). The holder's entry is written by hand; the host device is
 * a fake sysfs's 3:0:1:2 (scsiback, on the real /sys, then refuses it). */
static void test_shared_host_device_warns(void **state)
{
	char sys[600], path[700];

	(void)state;
	snprintf(sys, sizeof(sys), "%s/sysfs-shared", env.rundir);
	snprintf(path, sizeof(path), "%s/bus/scsi/devices/3:0:1:2/scsi_generic/sg7", sys);
	{
		char cmd[800];

		snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
		assert_int_equal(system(cmd), 0);
	}
	snprintf(path, sizeof(path), "/local/domain/0/backend/vscsi/%d/5/vscsi-devs/dev-0", dom2);
	put_node(path, "p-dev", "3:0:1:2");
	put_node(path, "v-dev", "5:0:0:0");
	put_node(path, "state", "4");
	put_node(path, "shared", "1");
	vscsictl("--sysfs", sys, "attach", "guest3", "3:0:1:2", "6:0:0:0", "shared", NULL);
	if (!strstr(out, "warning: p-dev \"3:0:1:2\" is shared with domain guest2") ||
	    !strstr(out, "SCSI reservations cannot tell them apart"))
		fail_msg("no warning for a host device shared by two guests:\n%s", out);
	/* An iSCSI LUN shared the same way: each guest its own initiator. */
	put_node(path, "p-dev", "iscsi://127.0.0.1:1/iqn.2026-01.x:y/0");
	vscsictl("attach", "guest3", "iscsi://127.0.0.1:1/iqn.2026-01.x:y/0", "6:0:0:0", "shared", NULL);
	if (strstr(out, "warning:"))
		fail_msg("a warning for an iSCSI LUN shared by two guests:\n%s", out);
	snprintf(path, sizeof(path), "/local/domain/0/backend/vscsi/%d/5", dom2);
	xs_rm(xs0, XBT_NULL, path);
}

static int setup(void **state)
{
	(void)state;
	if (simenv_start(&env) != 0)
		return -1;
	dom1 = simenv_create_domain(&env, "guest1");
	dom2 = simenv_create_domain(&env, "guest2");
	dom3 = simenv_create_domain(&env, "guest3");
	snprintf(logfile, sizeof(logfile), "%s/scsiback.log", env.rundir);
	snprintf(statedir, sizeof(statedir), "%s/scsiback-state", env.rundir);
	backend = start_backend();
	xs0 = simenv_xs_open(&env, 0);
	if (!xs0 || dom1 <= 0 || dom2 <= 0 || dom3 <= 0 || backend <= 0)
		return -1;
	snprintf(be1, sizeof(be1), "/local/domain/0/backend/vscsi/%d/0", dom1);
	snprintf(fe1, sizeof(fe1), "/local/domain/%d/device/vscsi/0", dom1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	daemon_finish(backend, logfile);
	if (xs0)
		xs_close(xs0);
	free(guest2_before);
	simenv_stop(&env);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_attach_list_connect),
		cmocka_unit_test(test_guest_permissions),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_hotplug_during_io),
		cmocka_unit_test(test_hot_add_refused),
		cmocka_unit_test(test_apply_rolls_back),
		cmocka_unit_test(test_apply_config),
		cmocka_unit_test(test_detach_last_lun),
		cmocka_unit_test(test_wait_and_timeouts),
		cmocka_unit_test(test_configfs_lookup),
		cmocka_unit_test(test_kernel_backend_attach),
		cmocka_unit_test(test_destroyed_guest_leftovers),
		cmocka_unit_test(test_backend_survived),
		cmocka_unit_test(test_list_shows_backend_view),
		cmocka_unit_test(test_json_keys_snake_case),
		cmocka_unit_test(test_list_reads_old_status_file),

		cmocka_unit_test(test_list_shows_link_state),
		cmocka_unit_test(test_attach_to_closed_vhost),
		cmocka_unit_test(test_attach_refused_before_connect),
		cmocka_unit_test(test_detach_between_connects),
		cmocka_unit_test(test_detach_all),
		cmocka_unit_test(test_shared_host_device_warns),
	};

	simenv_use_sim_libs(argc, argv);
	return cmocka_run_group_tests(tests, setup, teardown);
}
