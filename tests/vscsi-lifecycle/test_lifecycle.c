/* vscsi-lifecycle end to end in the simulator: xensimd playing xl's part
 * of a domain's life (xensim create / reboot / save / restore / migrate /
 * shutdown, with xl's order: create paused, introduce, devices, unpause),
 * tgtd's disk and tape drive over iSCSI, scsiback and the service in dom0,
 * and guests whose init is the vscsi CLI run the moment the domain first
 * runs. What is checked comes from outside the service: what the guest's
 * init found, data read back through a new domain, tgtd's INQUIRY answers,
 * the xenstore tree, and the record files. */
#include <ctype.h>
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
#include <json-c/json.h>
#include <xenstore.h>

#include "daemon.h"
#include "simenv.h"
#include "tgtlab.h"

static struct simenv env;
static struct tgtlab lab;
static pid_t backend = -1, service = -1;
static struct xs_handle *xs0;
static char sblog[512], lclog[512], cfgdir[512], recdir[512], sbstate[512], initsh[512];

#define OUT_MAX 65536
static char out[OUT_MAX];

/* ---- programs ---- */

/* Runs a built program on the host (not inside a domain) with ARGS...
 * NULL; output in o. Returns the exit status or -1. */
__attribute__((sentinel))
static int run_prog(char *o, size_t olen, const char *prog, ...)
{
	char *argv[32];
	int n = 0;
	va_list ap;

	argv[n++] = (char *)simenv_prog(prog);
	va_start(ap, prog);
	while (n < 31 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return simenv_runv(&env, SIMENV_HOST, o, olen, NULL, argv);
}

/* xensim's lifecycle commands print the new domid. */
static int domid_of(int rc, const char *what)
{
	char *end;
	long d;

	if (rc != 0)
		fail_msg("%s: exit %d: %s", what, rc, out);
	d = strtol(out, &end, 10);
	if (end == out || d <= 0)
		fail_msg("%s: no domid in \"%s\"", what, out);
	return (int)d;
}

static int xl_create(const char *cfg)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s.cfg", cfgdir, cfg);
	return domid_of(run_prog(out, sizeof(out), "tools/xensim/xensim", "create", path, "--",
				 "/bin/sh", initsh, simenv_prog("scsifront/vscsi"), NULL), "xensim create");
}

/* Runs vscsictl as domain 0 with the test's state directory. */
__attribute__((sentinel))
static int vscsictl(const char *a0, ...)
{
	char *argv[24];
	int n = 0;
	va_list ap;

	argv[n++] = (char *)simenv_prog("tools/vscsictl/vscsictl");
	argv[n++] = "--state-dir";
	argv[n++] = recdir;
	argv[n++] = (char *)a0;
	va_start(ap, a0);
	while (n < 23 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return simenv_runv(&env, 0, out, sizeof(out), NULL, argv);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A domain config in the service's directory; vscsi is the list's body. */
static void write_cfg(const char *name, const char *vscsi, const char *extra)
{
	char path[600], text[4096];

	snprintf(path, sizeof(path), "%s/%s.cfg", cfgdir, name);
	snprintf(text, sizeof(text), "name = \"%s\"\nmemory = 64\n%s%s%s\n%s\n", name,
		 vscsi ? "vscsi = [ " : "", vscsi ? vscsi : "", vscsi ? " ]" : "", extra ? extra : "");
	write_file(path, text);
}

/* ---- what the simulated guest saw ---- */

static char *console(int domid)
{
	static char buf[OUT_MAX];

	return simenv_console(&env, domid, buf, sizeof(buf));
}

/* Waits until the guest's init has ended; returns its console. */
static char *init_output(int domid, unsigned timeout_ms)
{
	for (unsigned t = 0; t < timeout_ms; t += 50) {
		char *c = console(domid);

		if (strstr(c, "init: done"))
			return c;
		usleep(50000);
	}
	fail_msg("domain %d: init did not finish within %u ms; console:\n%s", domid, timeout_ms,
		 console(domid));
	return NULL;
}

/* The guest found both LUNs at once: tgtd's disk and tape drive. */
static void assert_saw_luns(int domid, const char *c)
{
	if (!strstr(c, "nodes=0 ") || !strstr(c, "0:0:0:0") || !strstr(c, "0:0:1:0") ||
	    !strstr(c, "tape"))
		fail_msg("domain %d's init did not find its LUNs at once:\n%s", domid, c);
}

/* ---- xenstore ---- */

static bool xs_exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool xs_exists(const char *fmt, ...)
{
	char path[512], *v;
	unsigned len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	v = xs_read(xs0, XBT_NULL, path, &len);
	free(v);
	return v != NULL;
}

/* Nothing of domid is left in the toolstack's or the backend's tree. */
static void assert_nothing_left(int domid)
{
	for (int t = 0; t < 100; t++) {
		if (!xs_exists("/local/domain/0/backend/vscsi/%d", domid) &&
		    !xs_exists("/libxl/%d/vscsi", domid) && !xs_exists("/libxl/%d/vscsi-failed", domid))
			return;
		usleep(50000);
	}
	fail_msg("domain %d: leftovers in xenstore: backend %d, /libxl vscsi %d, failed %d", domid,
		 xs_exists("/local/domain/0/backend/vscsi/%d", domid),
		 xs_exists("/libxl/%d/vscsi", domid), xs_exists("/libxl/%d/vscsi-failed", domid));
}

static char *uuid_of(int domid)
{
	char path[64], *vm;
	unsigned len;
	static char uuid[64];

	snprintf(path, sizeof(path), "/local/domain/%d/vm", domid);
	vm = xs_read(xs0, XBT_NULL, path, &len);
	assert_non_null(vm);
	assert_true(strncmp(vm, "/vm/", 4) == 0);
	snprintf(uuid, sizeof(uuid), "%s", vm + 4);
	free(vm);
	return uuid;
}

static bool record_exists(const char *uuid)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/%s.json", recdir, uuid);
	return access(path, F_OK) == 0;
}

/* ---- data through the guest ---- */

/* Writes 8 blocks of a pattern seeded by seed at lba from inside domid. */
static void guest_write(int domid, unsigned lba, unsigned seed)
{
	char in[600], lbas[16];
	static uint8_t buf[4096];
	FILE *f;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
	snprintf(in, sizeof(in), "%s/pattern-%u", env.rundir, seed);
	f = fopen(in, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, sizeof(buf), f), sizeof(buf));
	fclose(f);
	snprintf(lbas, sizeof(lbas), "%u", lba);
	if (simenv_run(&env, domid, out, sizeof(out), simenv_prog("scsifront/vscsi"), "write", "-d",
		       "0:0:0:0", "--lba", lbas, "-i", in, NULL))
		fail_msg("domain %d: vscsi write: %s", domid, out);
}

/* Reads them back in domid and compares with the pattern file. */
static void guest_check(int domid, unsigned lba, unsigned seed)
{
	char in[600], o[600], lbas[16], cmd[1400];

	snprintf(in, sizeof(in), "%s/pattern-%u", env.rundir, seed);
	snprintf(o, sizeof(o), "%s/readback-%d", env.rundir, domid);
	snprintf(lbas, sizeof(lbas), "%u", lba);
	if (simenv_run(&env, domid, out, sizeof(out), simenv_prog("scsifront/vscsi"), "read", "-d",
		       "0:0:0:0", "--lba", lbas, "-n", "8", "-o", o, NULL))
		fail_msg("domain %d: vscsi read: %s", domid, out);
	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", in, o);
	if (system(cmd) != 0)
		fail_msg("domain %d: data at LBA %u does not read back as written", domid, lba);
}

/* ---- the lifecycle ---- */

static const char *disk_and_tape(void)
{
	static char v[1024];

	snprintf(v, sizeof(v), "\"%s,0:0:0:0\", \"%s,0:0:1:0\"", lab.disk_url, lab.tape_url);
	return v;
}

static void test_create_holds_until_ready(void **state)
{
	char uuid[64];
	int d;
	char *c;

	(void)state;
	write_cfg("hold1", disk_and_tape(), NULL);
	/* scsiback stopped: the vhost cannot be taken up, so only the
	 * service's hold keeps the guest from running without its LUNs. */
	kill(backend, SIGSTOP);
	d = xl_create("hold1");
	usleep(700000);
	c = console(d);
	kill(backend, SIGCONT);
	if (strstr(c, "init:"))
		fail_msg("domain %d ran before its vhosts were ready:\n%s", d, c);
	c = init_output(d, 20000);
	assert_saw_luns(d, c);
	assert_true(strstr(c, "resumed=0") != NULL);
	assert_int_equal(daemon_wait_log(lclog, "domain hold1 (domid", 1000), 0);
	snprintf(uuid, sizeof(uuid), "%s", uuid_of(d));
	assert_true(record_exists(uuid));
	assert_int_equal(run_prog(out, sizeof(out), "tools/xensim/xensim", "destroy-domain", "hold1", NULL), 0);
	assert_nothing_left(d);
	/* Destroyed while it ran: the record goes too. */
	for (int t = 0; t < 40 && record_exists(uuid); t++)
		usleep(50000);
	assert_false(record_exists(uuid));
}

/* A backend that never answers: the hold ends at --timeout (5 s here),
 * the domain runs without the LUNs, and the log says why. */
static void test_hold_is_bounded(void **state)
{
	struct timespec t0, t1;
	long ms;
	int d;
	char *c;

	(void)state;
	write_cfg("bounded1", disk_and_tape(), NULL);
	kill(backend, SIGSTOP);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	d = xl_create("bounded1");
	c = init_output(d, 20000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kill(backend, SIGCONT);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (ms < 4500)
		fail_msg("domain %d ran after %ld ms, before the 5 s hold ended", d, ms);
	assert_non_null(strstr(c, "nodes= "));
	assert_int_equal(daemon_wait_log(lclog, "domain bounded1 (domid", 1000), 0);
	assert_int_equal(daemon_wait_log(lclog, "did not take vhost 0", 1000), 0);
	assert_int_equal(vscsictl("list", "bounded1", NULL), 0);
	if (!strstr(out, "failed: vscsi entry 1") || !strstr(out, "failed: vscsi entry 2"))
		fail_msg("vscsictl list bounded1:\n%s", out);
	assert_false(xs_exists("/local/domain/0/backend/vscsi/%d/0", d));
	assert_int_equal(run_prog(out, sizeof(out), "tools/xensim/xensim", "destroy-domain", "bounded1", NULL), 0);
	assert_nothing_left(d);
}

static void test_reboot_save_restore_migrate(void **state)
{
	char save[600], uuid[64], ds[16];
	int d, d2;

	(void)state;
	write_cfg("life1", disk_and_tape(), NULL);
	d = xl_create("life1");
	assert_saw_luns(d, init_output(d, 20000));
	snprintf(uuid, sizeof(uuid), "%s", uuid_of(d));
	guest_write(d, 64, 1);

	/* xl reboot: a new domid, the same name and uuid. */
	snprintf(ds, sizeof(ds), "%d", d);
	d2 = domid_of(run_prog(out, sizeof(out), "tools/xensim/xensim", "reboot", ds, NULL), "reboot");
	assert_int_not_equal(d2, d);
	assert_string_equal(uuid_of(d2), uuid);
	assert_saw_luns(d2, init_output(d2, 20000));
	assert_nothing_left(d);
	guest_check(d2, 64, 1);
	guest_write(d2, 128, 2);
	d = d2;

	/* xl save + xl restore: the nodes are there when the guest resumes. */
	snprintf(save, sizeof(save), "%s/life1.save", env.rundir);
	snprintf(ds, sizeof(ds), "%d", d);
	assert_int_equal(run_prog(out, sizeof(out), "tools/xensim/xensim", "save", ds, save, NULL), 0);
	assert_nothing_left(d);
	assert_true(record_exists(uuid)); /* a restore may come much later */
	d2 = domid_of(run_prog(out, sizeof(out), "tools/xensim/xensim", "restore", save, NULL), "restore");
	{
		char *c = init_output(d2, 20000);

		assert_saw_luns(d2, c);
		assert_true(strstr(c, "resumed=1") != NULL);
	}
	guest_check(d2, 64, 1);
	guest_check(d2, 128, 2);
	guest_write(d2, 192, 3);
	d = d2;

	/* xl migrate localhost: the receiver, "life1--incoming" with the same
	 * uuid, gets the vhosts while paused; the sender's go away. */
	snprintf(ds, sizeof(ds), "%d", d);
	d2 = domid_of(run_prog(out, sizeof(out), "tools/xensim/xensim", "migrate", ds, NULL), "migrate");
	assert_saw_luns(d2, init_output(d2, 20000));
	assert_int_equal(daemon_wait_log(lclog, "domain life1--incoming (domid", 1000), 0);
	{
		char line[128];

		/* The sender, seen suspended before it went. */
		snprintf(line, sizeof(line), "domain life1 (domid %d) suspend", d);
		assert_int_equal(daemon_wait_log(lclog, line, 2000), 0);
	}
	assert_nothing_left(d);
	assert_true(record_exists(uuid));
	guest_check(d2, 64, 1);
	guest_check(d2, 192, 3);

	/* xl shutdown (power-off): everything goes, the record too. */
	snprintf(ds, sizeof(ds), "%d", d2);
	assert_int_equal(run_prog(out, sizeof(out), "tools/xensim/xensim", "shutdown", ds, NULL), 0);
	assert_nothing_left(d2);
	for (int t = 0; t < 40 && record_exists(uuid); t++)
		usleep(50000);
	assert_false(record_exists(uuid));
	assert_true(daemon_alive(service));
	assert_true(daemon_alive(backend));
}

static void test_bad_entries(void **state)
{
	char v[2048];
	int d;
	char *c;

	(void)state;
	snprintf(v, sizeof(v), "\"%s,0:0:0:0\", \"/dev/vscsi-test-nonexistent,0:0:2:0\", "
		 "\"%s,0:0:0:0\", \"no-comma-here\", \"null:disk,0:0:3:0,frobnicate\"",
		 lab.disk_url, lab.tape_url);
	write_cfg("bad1", v, NULL);
	d = xl_create("bad1");
	c = init_output(d, 20000);
	/* The guest runs, with the one good LUN. */
	if (!strstr(c, "0:0:0:0") || strstr(c, "0:0:2:0") || strstr(c, "tape"))
		fail_msg("domain %d: expected only the disk:\n%s", d, c);
	assert_int_equal(daemon_wait_log(lclog, "domain bad1 (domid", 1000), 0);
	assert_int_equal(daemon_wait_log(lclog, "vscsi entry 2 \"/dev/vscsi-test-nonexistent,0:0:2:0\" "
					 "not attached: p-dev \"/dev/vscsi-test-nonexistent\": No such file",
					 1000), 0);
	assert_int_equal(daemon_wait_log(lclog, "vscsi entry 3", 1000), 0);
	assert_int_equal(daemon_wait_log(lclog, "entries 1 and 3 both use v-dev 0:0:0:0", 1000), 0);
	assert_int_equal(daemon_wait_log(lclog, "\"no-comma-here\" is not \"pdev,vdev", 1000), 0);
	assert_int_equal(daemon_wait_log(lclog, "unknown option \"frobnicate\"", 1000), 0);
	/* vscsictl list shows each with its reason. */
	assert_int_equal(vscsictl("list", "bad1", NULL), 0);
	if (!strstr(out, "failed: vscsi entry 2 \"/dev/vscsi-test-nonexistent,0:0:2:0\": p-dev") ||
	    !strstr(out, "failed: vscsi entry 3") || !strstr(out, "failed: vscsi entry 4") ||
	    !strstr(out, "failed: vscsi entry 5") || !strstr(out, lab.disk_url))
		fail_msg("vscsictl list bad1:\n%s", out);
	/* Nothing of a failed entry in the backend's tree: one LUN, dev-0. */
	assert_true(xs_exists("/local/domain/0/backend/vscsi/%d/0/vscsi-devs/dev-0", d));
	assert_false(xs_exists("/local/domain/0/backend/vscsi/%d/0/vscsi-devs/dev-1", d));
	assert_false(xs_exists("/local/domain/%d/device/vscsi/3", d));
	assert_int_equal(run_prog(out, sizeof(out), "tools/xensim/xensim", "destroy-domain", "bad1", NULL), 0);
	assert_nothing_left(d);

	/* vscsi that is not a list: xl does not read it, so the domain starts;
	 * the service says whose config is wrong. */
	write_cfg("bad2", NULL, "vscsi = \"null:disk,0:0:0:0\"");
	d = xl_create("bad2");
	c = init_output(d, 20000);
	assert_non_null(strstr(c, "nodes= "));
	assert_int_equal(daemon_wait_log(lclog, "domain bad2 (domid", 1000), 0);
	assert_int_equal(daemon_wait_log(lclog, "vscsi entries not read", 1000), 0);
	assert_int_equal(vscsictl("list", "bad2", NULL), 0);
	if (!strstr(out, "failed: vscsi entries:") || !strstr(out, "bad2.cfg"))
		fail_msg("vscsictl list bad2:\n%s", out);
	assert_int_equal(run_prog(out, sizeof(out), "tools/xensim/xensim", "destroy-domain", "bad2", NULL), 0);
	assert_nothing_left(d);
}

/* A LUN the backend refuses only when the guest connects (a LUN number
 * the target does not have): named with scsiback's reason, then moved to
 * the failed list. */
static void test_backend_refuses(void **state)
{
	char v[1024], url[300];
	int d;

	(void)state;
	snprintf(url, sizeof(url), "%.*s/7", (int)(strrchr(lab.disk_url, '/') - lab.disk_url), lab.disk_url);
	snprintf(v, sizeof(v), "\"%s,0:0:0:0\", \"%s,0:0:0:1\"", lab.disk_url, url);
	write_cfg("refused1", v, NULL);
	d = xl_create("refused1");
	init_output(d, 20000);
	assert_int_equal(daemon_wait_log(lclog, "domain refused1 (domid", 1000), 0);
	if (daemon_wait_log(lclog, "vscsi entry 2", 15000) != 0)
		fail_msg("the refused LUN was not reported:\n(see %s)", lclog);
	for (int t = 0; t < 100 && xs_exists("/local/domain/0/backend/vscsi/%d/0/vscsi-devs/dev-1", d); t++)
		usleep(50000);
	assert_false(xs_exists("/local/domain/0/backend/vscsi/%d/0/vscsi-devs/dev-1", d));
	assert_int_equal(vscsictl("list", "refused1", NULL), 0);
	if (!strstr(out, "failed: vscsi entry 2") || !strstr(out, "LUN 7"))
		fail_msg("vscsictl list refused1:\n%s", out);
	assert_int_equal(run_prog(out, sizeof(out), "tools/xensim/xensim", "destroy-domain", "refused1", NULL), 0);
	assert_nothing_left(d);
}

static void test_strict(void **state)
{
	char v[1024];
	int d;

	(void)state;
	snprintf(v, sizeof(v), "\"%s,0:0:0:0\", \"/dev/vscsi-test-nonexistent,0:0:2:0\"", lab.disk_url);
	write_cfg("strict1", v, "vscsi_strict = 1");
	d = xl_create("strict1");
	assert_int_equal(daemon_wait_log(lclog, "domain strict1 (domid", 2000), 0);
	assert_int_equal(daemon_wait_log(lclog, "destroyed: 1 vscsi entry failed and vscsi_strict is set",
					 5000), 0);
	for (int t = 0; t < 100 && xs_exists("/local/domain/%d/domid", d); t++)
		usleep(50000);
	assert_false(xs_exists("/local/domain/%d/domid", d));
	/* It never ran: its init never started. */
	assert_null(strstr(console(d), "init:"));
	assert_nothing_left(d);
}

/* One host device, one guest: the disk given to a second guest, or a
 * second time to the same guest, is refused by vscsictl and by the
 * service at create, naming who has it; every entry saying "shared" lets
 * a guest cluster share it; the domain a reboot leaves or a migration
 * creates is the same guest (its UUID), not a second one. */
static void test_one_device_one_guest(void **state)
{
	char v[1024], upper[300], *p;
	int a, b, c;

	(void)state;
	write_cfg("owner1", NULL, NULL);
	write_cfg("other1", NULL, NULL);
	a = xl_create("owner1");
	b = xl_create("other1");
	init_output(a, 20000);
	init_output(b, 20000);
	assert_int_equal(vscsictl("attach", "owner1", lab.disk_url, "0:0:0:0", NULL), 0);
	/* Another guest: refused, the holder named; nothing written. */
	assert_int_equal(vscsictl("attach", "other1", lab.disk_url, "0:0:0:0", NULL), 3);
	if (!strstr(out, "is in use: it is attached to domain owner1") || !strstr(out, "shared"))
		fail_msg("vscsictl attach of a taken disk:\n%s", out);
	assert_false(xs_exists("/local/domain/0/backend/vscsi/%d/0", b));
	/* The same LUN spelt otherwise (the target's name in capitals: IQNs
	 * are not case-sensitive) is the same device. */
	snprintf(upper, sizeof(upper), "%s", lab.disk_url);
	p = strstr(upper, "iqn.");
	assert_non_null(p);
	for (; *p && *p != '/'; p++)
		*p = (char)toupper((unsigned char)*p);
	assert_int_equal(vscsictl("attach", "other1", upper, "0:0:0:0", NULL), 3);
	/* The same guest at a second v-dev. */
	assert_int_equal(vscsictl("attach", "owner1", lab.disk_url, "0:0:0:1", NULL), 3);
	if (!strstr(out, "attached to this domain already, as 0:0:0:0"))
		fail_msg("vscsictl attach of the disk twice:\n%s", out);
	/* "shared" on one side only is not enough. */
	assert_int_equal(vscsictl("attach", "other1", lab.disk_url, "0:0:0:0", "shared", NULL), 3);
	/* The service at create: the entry fails with the reason. */
	snprintf(v, sizeof(v), "\"%s,0:0:0:0\"", lab.disk_url);
	write_cfg("other2", v, NULL);
	c = xl_create("other2");
	if (daemon_wait_log(lclog, "is in use: it is attached to domain owner1", 15000) != 0)
		fail_msg("the service attached a taken disk (see %s)", lclog);
	assert_false(xs_exists("/local/domain/0/backend/vscsi/%d/0/vscsi-devs/dev-0", c));
	assert_int_equal(run_prog(out, sizeof(out), "tools/xensim/xensim", "destroy-domain", "other2", NULL), 0);
	/* Shared everywhere: a cluster's disk. */
	assert_int_equal(vscsictl("detach", "owner1", "0:0:0:0", NULL), 0);
	assert_int_equal(vscsictl("attach", "owner1", lab.disk_url, "0:0:0:0", "shared", NULL), 0);
	assert_int_equal(vscsictl("attach", "other1", lab.disk_url, "0:0:0:0", "shared", NULL), 0);
	assert_true(xs_exists("/local/domain/0/backend/vscsi/%d/0/vscsi-devs/dev-0/shared", b));
	assert_int_equal(run_prog(out, sizeof(out), "tools/xensim/xensim", "destroy-domain", "other1", NULL), 0);
	assert_int_equal(run_prog(out, sizeof(out), "tools/xensim/xensim", "destroy-domain", "owner1", NULL), 0);
	assert_nothing_left(a);
	assert_nothing_left(b);
}

/* A LUN attached by hand follows the domain through a reboot, like xl
 * block-attach; one detached by hand stays away. */
static void test_hand_changes_survive_reboot(void **state)
{
	char ds[16];
	int d, d2;
	char *c;

	(void)state;
	write_cfg("hand1", NULL, NULL);  /* no vscsi line at all */
	d = xl_create("hand1");
	c = init_output(d, 20000);
	assert_true(strstr(c, "nodes= ") != NULL);
	assert_int_equal(vscsictl("attach", "hand1", lab.disk_url, "0:0:0:0", NULL), 0);
	assert_int_equal(vscsictl("attach", "hand1", lab.tape_url, "0:0:1:0", NULL), 0);
	assert_true(record_exists(uuid_of(d)));
	snprintf(ds, sizeof(ds), "%d", d);
	d2 = domid_of(run_prog(out, sizeof(out), "tools/xensim/xensim", "reboot", ds, NULL), "reboot");
	assert_saw_luns(d2, init_output(d2, 20000));
	assert_int_equal(vscsictl("detach", "hand1", "0:0:1:0", NULL), 0);
	snprintf(ds, sizeof(ds), "%d", d2);
	d = domid_of(run_prog(out, sizeof(out), "tools/xensim/xensim", "reboot", ds, NULL), "reboot");
	c = init_output(d, 20000);
	if (!strstr(c, "0:0:0:0") || strstr(c, "0:0:1:0"))
		fail_msg("after detach and reboot, expected only the disk:\n%s", c);
	assert_int_equal(run_prog(out, sizeof(out), "tools/xensim/xensim", "destroy-domain", "hand1", NULL), 0);
	assert_nothing_left(d);
}

/* An edited config file is newer than the record: taken at the next start. */
static void test_config_edit_taken_at_reboot(void **state)
{
	char v[1024], ds[16];
	int d, d2;
	char *c;

	(void)state;
	snprintf(v, sizeof(v), "\"%s,0:0:0:0\"", lab.disk_url);
	write_cfg("edit1", v, NULL);
	d = xl_create("edit1");
	c = init_output(d, 20000);
	assert_null(strstr(c, "tape"));
	sleep(1); /* a newer mtime than the record's */
	write_cfg("edit1", disk_and_tape(), NULL);
	snprintf(ds, sizeof(ds), "%d", d);
	d2 = domid_of(run_prog(out, sizeof(out), "tools/xensim/xensim", "reboot", ds, NULL), "reboot");
	assert_saw_luns(d2, init_output(d2, 20000));
	assert_int_equal(run_prog(out, sizeof(out), "tools/xensim/xensim", "destroy-domain", "edit1", NULL), 0);
	assert_nothing_left(d2);
}

/* A service started after the domain: the LUNs come as hot-adds. */
static void test_service_started_late(void **state)
{
	char *argv[16];
	int d, n = 0;
	pid_t late;

	(void)state;
	daemon_stop(service, SIGTERM, 10000);
	write_cfg("late1", disk_and_tape(), NULL);
	d = xl_create("late1");
	init_output(d, 20000);
	assert_false(xs_exists("/local/domain/0/backend/vscsi/%d/0", d));
	argv[n++] = (char *)simenv_prog("tools/vscsi-lifecycle/vscsi-lifecycle");
	argv[n++] = "-v";
	argv[n++] = "-c";
	argv[n++] = cfgdir;
	argv[n++] = "-s";
	argv[n++] = recdir;
	argv[n] = NULL;
	late = daemon_start(&env, 0, lclog, argv);
	assert_true(late > 0);
	service = late;
	for (int t = 0; t < 200 && !xs_exists("/local/domain/0/backend/vscsi/%d/0/vscsi-devs/dev-1/v-dev", d); t++)
		usleep(50000);
	assert_true(xs_exists("/local/domain/0/backend/vscsi/%d/0/vscsi-devs/dev-1/v-dev", d));
	assert_int_equal(run_prog(out, sizeof(out), "tools/xensim/xensim", "destroy-domain", "late1", NULL), 0);
	assert_nothing_left(d);
}

/* An entry served by a driver domain: the service stays in dom0 and
 * writes the vhost into the driver domain's backend directory. */
static void test_driver_domain(void **state)
{
	char sb2log[600], sb2state[600], *argv[8], v[256];
	int drv, d;
	pid_t sb2;
	char *c;

	(void)state;
	drv = simenv_create_domain(&env, "storage1");
	assert_true(drv > 0);
	snprintf(sb2log, sizeof(sb2log), "%s/scsiback-storage1.log", env.rundir);
	snprintf(sb2state, sizeof(sb2state), "%s/scsiback-storage1", env.rundir);
	assert_int_equal(mkdir(sb2state, 0755), 0);
	argv[0] = (char *)simenv_prog("scsiback/scsiback");
	argv[1] = "--state-dir";
	argv[2] = sb2state;
	argv[3] = NULL;
	sb2 = daemon_start(&env, drv, sb2log, argv);
	assert_true(sb2 > 0);
	usleep(300000);
	snprintf(v, sizeof(v), "\"null:disk,0:0:0:0,backend=storage1\"");
	write_cfg("drv1", v, NULL);
	d = xl_create("drv1");
	c = init_output(d, 20000);
	if (!strstr(c, "nodes=0 ") || !strstr(c, "0:0:0:0"))
		fail_msg("domain %d's init did not find the driver domain's LUN:\n%s", d, c);
	assert_true(xs_exists("/local/domain/%d/backend/vscsi/%d/0/vscsi-devs/dev-0/p-dev", drv, d));
	assert_false(xs_exists("/local/domain/0/backend/vscsi/%d", d));
	assert_int_equal(run_prog(out, sizeof(out), "tools/xensim/xensim", "destroy-domain", "drv1", NULL), 0);
	for (int t = 0; t < 100 && xs_exists("/local/domain/%d/backend/vscsi/%d", drv, d); t++)
		usleep(50000);
	assert_false(xs_exists("/local/domain/%d/backend/vscsi/%d", drv, d));
	assert_nothing_left(d);
	daemon_finish(sb2, sb2log);
	simenv_destroy_domain(&env, drv);
}

/* ---- the service's own interface ---- */

static void test_usage_and_pidfile(void **state)
{
	char pidfile[600], plog[600], *argv[8];
	int st;
	pid_t p;

	(void)state;
	assert_int_equal(run_prog(out, sizeof(out), "tools/vscsi-lifecycle/vscsi-lifecycle", "--bogus", NULL), 2);
	assert_int_equal(run_prog(out, sizeof(out), "tools/vscsi-lifecycle/vscsi-lifecycle", "-t", "-1", NULL), 2);
	assert_non_null(strstr(out, "--timeout wants seconds"));
	assert_int_equal(run_prog(out, sizeof(out), "tools/vscsi-lifecycle/vscsi-lifecycle", "extra", NULL), 2);
	/* A second instance on the same pidfile exits 3 and leaves the first. */
	snprintf(pidfile, sizeof(pidfile), "%s/lc.pid", env.rundir);
	argv[0] = (char *)simenv_prog("tools/vscsi-lifecycle/vscsi-lifecycle");
	argv[1] = "-p";
	argv[2] = pidfile;
	argv[3] = "-s";
	argv[4] = recdir;
	argv[5] = NULL;
	snprintf(plog, sizeof(plog), "%s/lifecycle-pidfile.log", env.rundir);
	p = daemon_start(&env, 0, plog, argv);
	assert_true(p > 0);
	usleep(300000);
	assert_int_equal(simenv_runv(&env, 0, out, sizeof(out), NULL, argv), 3);
	assert_non_null(strstr(out, "another vscsi-lifecycle runs"));
	assert_true(daemon_alive(p));
	st = daemon_stop(p, SIGTERM, 10000);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Last: SIGTERM ends the service with status 0, and the sanitizer build
 * found no leak or error in it over all the lifecycles above. */
static void test_stop_clean(void **state)
{
	int st;

	(void)state;
	assert_true(daemon_alive(service));
	st = daemon_stop(service, SIGTERM, 20000);
	service = -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("vscsi-lifecycle ended with status 0x%x on SIGTERM", st);
	assert_int_equal(daemon_wait_log(lclog, "stopping (signal 15)", 1000), 0);
	assert_int_equal(daemon_log_clean(lclog), 0);
}

/* ---- setup ---- */

static int setup(void **state)
{
	char *argv[16];
	int n = 0;

	(void)state;
	if (simenv_start(&env) != 0)
		return -1;
	if (tgtlab_start_in(&lab, env.rundir) != 0)
		return -1;
	snprintf(cfgdir, sizeof(cfgdir), "%s/xen", env.rundir);
	snprintf(recdir, sizeof(recdir), "%s/records", env.rundir);
	snprintf(sbstate, sizeof(sbstate), "%s/scsiback-state", env.rundir);
	snprintf(sblog, sizeof(sblog), "%s/scsiback.log", env.rundir);
	snprintf(lclog, sizeof(lclog), "%s/lifecycle.log", env.rundir);
	snprintf(initsh, sizeof(initsh), "%s/init.sh", env.rundir);
	if (mkdir(cfgdir, 0755) || mkdir(recdir, 0755) || mkdir(sbstate, 0755))
		return -1;
	/* The guest's init: what it finds the moment it first runs. */
	write_file(initsh,
		   "echo \"init: resumed=${XENSIM_RESUMED:-0}\"\n"
		   "echo \"init: nodes=$(xenstore-list device/vscsi 2>/dev/null | tr '\\n' ' ') \"\n"
		   "\"$1\" list\n"
		   "echo \"init: done rc=$?\"\n");
	argv[n++] = (char *)simenv_prog("scsiback/scsiback");
	argv[n++] = "--state-dir";
	argv[n++] = sbstate;
	argv[n] = NULL;
	backend = daemon_start(&env, 0, sblog, argv);
	n = 0;
	argv[n++] = (char *)simenv_prog("tools/vscsi-lifecycle/vscsi-lifecycle");
	argv[n++] = "-v";
	argv[n++] = "-c";
	argv[n++] = cfgdir;
	argv[n++] = "-s";
	argv[n++] = recdir;
	argv[n++] = "-t";
	argv[n++] = "5";
	argv[n] = NULL;
	service = daemon_start(&env, 0, lclog, argv);
	xs0 = simenv_xs_open(&env, 0);
	usleep(300000);
	return backend > 0 && service > 0 && xs0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	if (backend > 0)
		kill(backend, SIGCONT);
	if (service > 0)
		daemon_finish(service, lclog);
	daemon_finish(backend, sblog);
	if (xs0)
		xs_close(xs0);
	tgtlab_stop(&lab);
	simenv_stop(&env);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_and_pidfile),
		cmocka_unit_test(test_create_holds_until_ready),
		cmocka_unit_test(test_hold_is_bounded),
		cmocka_unit_test(test_reboot_save_restore_migrate),
		cmocka_unit_test(test_bad_entries),
		cmocka_unit_test(test_backend_refuses),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_one_device_one_guest),
		cmocka_unit_test(test_hand_changes_survive_reboot),
		cmocka_unit_test(test_config_edit_taken_at_reboot),
		cmocka_unit_test(test_driver_domain),
		cmocka_unit_test(test_service_started_late),
		cmocka_unit_test(test_stop_clean),
	};

	simenv_use_sim_libs(argc, argv);
	return cmocka_run_group_tests(tests, setup, teardown);
}
