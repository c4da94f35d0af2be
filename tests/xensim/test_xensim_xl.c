/* xl's domain lifecycle in the simulator, as a toolstack service sees it:
 * through @introduceDomain/@releaseDomain watches, xenstore, and the
 * drop-in libxenctrl (this program links the system's -lxenctrl and runs
 * with the simulator's library directory first, as a service would under
 * `xensim exec`). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xenctrl.h>
#include <xenstore.h>
#include <xen/sched.h>
#include <cmocka.h>

#include "simenv.h"

static struct simenv env;
static struct xs_handle *xs0;
static xc_interface *xch;
static char cfg[512], init_sh[512];

#define OUT_MAX 16384

/* ---- running xensim ---- */

/* Starts xensim with args... NULL; its stdout goes to *fd_out (a pipe). */
static pid_t xensim_start(int *fd_out, const char *a0, va_list ap)
{
	char *argv[24];
	int n = 0, p[2];
	pid_t pid;

	argv[n++] = (char *)simenv_prog("tools/xensim/xensim");
	argv[n++] = (char *)a0;
	while (n < 23 && (argv[n] = va_arg(ap, char *)))
		n++;
	argv[n] = NULL;
	if (pipe(p) < 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	*fd_out = p[0];
	return pid;
}

/* Waits for a started xensim; returns its exit status, output in out. */
static int xensim_wait(pid_t pid, int fd, char *out, size_t len)
{
	size_t used = 0;
	ssize_t r;
	int st;

	while (used + 1 < len && (r = read(fd, out + used, len - used - 1)) > 0)
		used += (size_t)r;
	out[used] = 0;
	close(fd);
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

__attribute__((sentinel)) static pid_t xensim_bg(int *fd, const char *a0, ...)
{
	va_list ap;
	pid_t pid;

	va_start(ap, a0);
	pid = xensim_start(fd, a0, ap);
	va_end(ap);
	return pid;
}

__attribute__((sentinel)) static int xensim(char *out, size_t len, const char *a0, ...)
{
	va_list ap;
	int fd;
	pid_t pid;

	va_start(ap, a0);
	pid = xensim_start(&fd, a0, ap);
	va_end(ap);
	return pid < 0 ? -1 : xensim_wait(pid, fd, out, len);
}

static int domid_of(const char *out)
{
	char *end;
	long d = strtol(out, &end, 10);

	if (end == out || d <= 0)
		fail_msg("no domid in \"%s\"", out);
	return (int)d;
}

/* xensim create CFG -- /bin/sh INIT_SH, with extra options first. */
static int create(const char *opt)
{
	char out[OUT_MAX];
	int rc = opt ? xensim(out, sizeof(out), "create", opt, cfg, "--", "/bin/sh", init_sh, NULL)
		     : xensim(out, sizeof(out), "create", cfg, "--", "/bin/sh", init_sh, NULL);

	assert_int_equal(rc, 0);
	return domid_of(out);
}

/* ---- what the domain looks like ---- */

static bool info_of(int domid, xc_dominfo_t *info)
{
	return xc_domain_getinfo(xch, (uint32_t)domid, 1, info) == 1 && (int)info->domid == domid;
}

static void uuid_str(const xen_domain_handle_t h, char *out)
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12],
		 h[13], h[14], h[15]);
}

static char *xs_get(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xs_get(const char *fmt, ...)
{
	static char val[8][256];
	static unsigned next;
	char path[256], *v, *slot = val[next++ % 8];
	unsigned len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	v = xs_read(xs0, XBT_NULL, path, &len);
	if (!v)
		return NULL;
	snprintf(slot, 256, "%s", v);
	free(v);
	return slot;
}

static char *console(int domid)
{
	static char buf[OUT_MAX];

	return simenv_console(&env, domid, buf, sizeof(buf));
}

static bool console_has(int domid, const char *what, unsigned timeout_ms)
{
	for (unsigned t = 0; t <= timeout_ms; t += 20) {
		if (strstr(console(domid), what))
			return true;
		usleep(20000);
	}
	return false;
}

/* The "init" object of domid in xensim list --json, as a string. */
static const char *init_state(int domid)
{
	static char state[32];
	char out[65536];
	json_object *arr, *o, *init, *v;

	state[0] = 0;
	assert_int_equal(xensim(out, sizeof(out), "list", "--json", NULL), 0);
	arr = json_tokener_parse(out);
	assert_non_null(arr);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		o = json_object_array_get_idx(arr, i);
		if (json_object_object_get_ex(o, "domid", &v) && json_object_get_int(v) == domid &&
		    json_object_object_get_ex(o, "init", &init) &&
		    json_object_object_get_ex(init, "state", &v))
			snprintf(state, sizeof(state), "%s", json_object_get_string(v));
	}
	json_object_put(arr);
	return state;
}

/* ---- watches ---- */

/* Drops every pending event; returns how many carried token. */
static int drain(const char *token, unsigned wait_ms)
{
	struct pollfd p = { .fd = xs_fileno(xs0), .events = POLLIN };
	int n = 0;

	while (poll(&p, 1, (int)wait_ms) > 0) {
		unsigned num;
		char **ev = xs_read_watch(xs0, &num);

		if (ev && !strcmp(ev[XS_WATCH_TOKEN], token))
			n++;
		free(ev);
		wait_ms = 50;
	}
	return n;
}

/* ---- tests ---- */

/* xl create's order: when @introduceDomain fires the domain is paused and
 * its name and vm are written; a third party's pause holds it after xl's
 * own unpause, and the init starts only at the last unpause. */
static void test_create_order_and_hold(void **state)
{
	char out[OUT_MAX], us[40], *vm;
	struct pollfd p = { .fd = xs_fileno(xs0), .events = POLLIN };
	xc_dominfo_t info[8];
	int fd, n, d = -1;
	pid_t pid;

	(void)state;
	assert_true(xs_watch(xs0, "@introduceDomain", "intro"));
	drain("intro", 200); /* the event every new watch gets */
	pid = xensim_bg(&fd, "create", "--device-delay", "1500", cfg, "--", "/bin/sh", init_sh, NULL);
	assert_true(pid > 0);
	assert_true(poll(&p, 1, 5000) == 1);
	{
		unsigned num;
		char **ev = xs_read_watch(xs0, &num);

		assert_non_null(ev);
		assert_string_equal(ev[XS_WATCH_PATH], "@introduceDomain");
		free(ev);
	}
	/* The new domain, as the service finds it. */
	n = xc_domain_getinfo(xch, 1, 8, info);
	assert_int_equal(n, 1);
	d = (int)info[0].domid;
	assert_true(info[0].paused);
	assert_false(info[0].running);
	assert_false(info[0].shutdown);
	assert_string_equal(xs_get("/local/domain/%d/name", d), "life1");
	uuid_str(info[0].handle, us);
	vm = xs_get("/local/domain/%d/vm", d);
	assert_non_null(vm);
	assert_true(!strncmp(vm, "/vm/", 4) && !strcmp(vm + 4, us));
	assert_string_equal(xs_get("/vm/%s/name", us), "life1");
	assert_string_equal(xs_get("/vm/%s/uuid", us), us);
	assert_string_equal(init_state(d), "waiting");

	/* The service holds it (count 1 -> 2); xl's unpause leaves 1. */
	assert_int_equal(xc_domain_pause(xch, (uint32_t)d), 0);
	assert_int_equal(xensim_wait(pid, fd, out, sizeof(out)), 0);
	assert_int_equal(domid_of(out), d);
	assert_true(info_of(d, info));
	assert_true(info[0].paused);
	assert_false(info[0].running);
	usleep(300000);
	assert_string_equal(init_state(d), "waiting");
	assert_null(strstr(console(d), "init:"));

	/* The service's unpause is the last: the guest starts. */
	assert_int_equal(xc_domain_unpause(xch, (uint32_t)d), 0);
	assert_true(info_of(d, info));
	assert_true(info[0].running);
	assert_true(console_has(d, "init: resumed=0", 3000));
	assert_string_equal(init_state(d), "running");

	/* Below zero, the caller's own domain, unknown domains. */
	assert_int_equal(xc_domain_unpause(xch, (uint32_t)d), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(xc_domain_pause(xch, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(xc_domain_unpause(xch, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(xc_domain_pause(xch, 4242), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(xc_domain_unpause(xch, 4242), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(xc_domain_destroy(xch, 4242), -1);
	assert_int_equal(errno, ESRCH);

	assert_int_equal(xc_domain_destroy(xch, (uint32_t)d), 0);
	assert_false(info_of(d, info));
	assert_null(xs_get("/local/domain/%d", d));
	assert_null(xs_get("/vm/%s", us));
	assert_true(xs_unwatch(xs0, "@introduceDomain", "intro"));
	drain("intro", 100);
}

/* xl create -p: it stays paused (the init waits) until someone unpauses;
 * the pause count stops at 255. */
static void test_create_paused(void **state)
{
	char out[OUT_MAX], ds[16];
	xc_dominfo_t info;
	int d, i;

	(void)state;
	d = create("-p");
	usleep(200000);
	assert_true(info_of(d, &info));
	assert_true(info.paused);
	assert_string_equal(init_state(d), "waiting");
	for (i = 1; i < 255; i++)
		assert_int_equal(xc_domain_pause(xch, (uint32_t)d), 0);
	assert_int_equal(xc_domain_pause(xch, (uint32_t)d), -1);
	assert_int_equal(errno, EOVERFLOW);
	for (i = 1; i < 255; i++)
		assert_int_equal(xc_domain_unpause(xch, (uint32_t)d), 0);
	assert_string_equal(init_state(d), "waiting");
	snprintf(ds, sizeof(ds), "%d", d);
	assert_int_equal(xensim(out, sizeof(out), "unpause", ds, NULL), 0);
	assert_true(console_has(d, "init: resumed=0", 3000));
	assert_int_equal(xensim(out, sizeof(out), "unpause", ds, NULL), 1);
	assert_int_equal(xensim(out, sizeof(out), "destroy-domain", ds, NULL), 0);
}

/* xl reboot: @releaseDomain, a new domid, the same name and uuid, the
 * init again. */
static void test_reboot(void **state)
{
	char out[OUT_MAX], ds[16], uuid[64];
	xc_dominfo_t info;
	int d, d2;

	(void)state;
	d = create(NULL);
	assert_true(console_has(d, "init: resumed=0", 3000));
	snprintf(uuid, sizeof(uuid), "%s", xs_get("/local/domain/%d/vm", d));
	assert_true(xs_watch(xs0, "@releaseDomain", "rel"));
	drain("rel", 200);
	snprintf(ds, sizeof(ds), "%d", d);
	assert_int_equal(xensim(out, sizeof(out), "reboot", ds, "--restart-delay", "50", NULL), 0);
	d2 = domid_of(out);
	assert_true(d2 > d);
	/* Fired at the shutdown and at the destroy. */
	assert_int_equal(drain("rel", 300), 2);
	assert_false(info_of(d, &info));
	assert_true(info_of(d2, &info));
	assert_true(info.running);
	assert_string_equal(xs_get("/local/domain/%d/name", d2), "life1");
	assert_string_equal(xs_get("/local/domain/%d/vm", d2), uuid);
	assert_true(console_has(d2, "init: resumed=0", 3000));
	assert_true(xs_unwatch(xs0, "@releaseDomain", "rel"));
	snprintf(ds, sizeof(ds), "%d", d2);
	assert_int_equal(xensim(out, sizeof(out), "destroy-domain", ds, NULL), 0);
	drain("rel", 100);
}

/* xl save + xl restore: the same uuid, the init told it resumed. */
static void test_save_restore(void **state)
{
	char out[OUT_MAX], ds[16], uuid[64], save[600];
	xc_dominfo_t info;
	int d, d2;

	(void)state;
	d = create(NULL);
	snprintf(uuid, sizeof(uuid), "%s", xs_get("/local/domain/%d/vm", d));
	snprintf(ds, sizeof(ds), "%d", d);
	snprintf(save, sizeof(save), "%s/life1.save", env.rundir);
	assert_int_equal(xensim(out, sizeof(out), "save", ds, save, NULL), 0);
	assert_false(info_of(d, &info));
	assert_int_equal(access(save, R_OK), 0);
	assert_int_equal(xensim(out, sizeof(out), "restore", save, NULL), 0);
	d2 = domid_of(out);
	assert_true(d2 > d);
	assert_string_equal(xs_get("/local/domain/%d/vm", d2), uuid);
	assert_string_equal(xs_get("/local/domain/%d/name", d2), "life1");
	assert_true(console_has(d2, "init: resumed=1", 3000));
	snprintf(ds, sizeof(ds), "%d", d2);
	assert_int_equal(xensim(out, sizeof(out), "destroy-domain", ds, NULL), 0);
}

/* xl migrate localhost: during the device phase "life1--incoming" exists,
 * paused, with the sender's uuid, while the sender runs; after it only
 * "life1" is left, with the new domid. */
static void test_migrate(void **state)
{
	char out[OUT_MAX], ds[16], us[40], sender_uuid[40];
	xc_dominfo_t info[8];
	int d, d2 = -1, fd, n;
	pid_t pid;

	(void)state;
	d = create(NULL);
	assert_true(info_of(d, info));
	uuid_str(info[0].handle, sender_uuid);
	snprintf(ds, sizeof(ds), "%d", d);
	pid = xensim_bg(&fd, "migrate", ds, "--device-delay", "1500", NULL);
	for (int t = 0; t < 100 && d2 < 0; t++) {
		n = xc_domain_getinfo(xch, (uint32_t)d + 1, 8, info);
		for (int i = 0; i < n; i++) {
			const char *name = xs_get("/local/domain/%u/name", info[i].domid);

			if (name && !strcmp(name, "life1--incoming")) {
				d2 = (int)info[i].domid;
				assert_true(info[i].paused);
				uuid_str(info[i].handle, us);
				assert_string_equal(us, sender_uuid);
			}
		}
		if (d2 < 0)
			usleep(20000);
	}
	assert_true(d2 > d);
	assert_true(info_of(d, info));
	assert_true(info[0].running);
	assert_string_equal(xs_get("/local/domain/%d/name", d), "life1");
	assert_int_equal(xensim_wait(pid, fd, out, sizeof(out)), 0);
	assert_int_equal(domid_of(out), d2);
	assert_false(info_of(d, info));
	assert_true(info_of(d2, info));
	assert_true(info[0].running);
	assert_string_equal(xs_get("/local/domain/%d/name", d2), "life1");
	assert_string_equal(xs_get("/vm/%s/name", sender_uuid), "life1");
	assert_true(console_has(d2, "init: resumed=1", 3000));
	assert_int_equal(xensim(out, sizeof(out), "destroy-domain", "life1", NULL), 0);
}

/* A guest that shut itself down stays, with its reason, until destroyed
 * (--keep: no xl monitor); @releaseDomain fires at both steps. */
static void test_shutdown_reason(void **state)
{
	char out[OUT_MAX], ds[16];
	xc_dominfo_t info;
	int d;

	(void)state;
	d = create(NULL);
	assert_true(console_has(d, "init: resumed=0", 3000));
	snprintf(ds, sizeof(ds), "%d", d);
	assert_true(xs_watch(xs0, "@releaseDomain", "rel"));
	drain("rel", 200);
	assert_int_equal(xensim(out, sizeof(out), "shutdown", ds, "--reason", "crash", "--keep", NULL), 0);
	assert_int_equal(drain("rel", 300), 1);
	assert_true(info_of(d, &info));
	assert_true(info.shutdown);
	assert_int_equal(info.shutdown_reason, SHUTDOWN_crash);
	assert_true(info.crashed);
	assert_false(info.running);
	assert_string_equal(xs_get("/local/domain/%d/name", d), "life1");
	for (int t = 0; t < 50 && strcmp(init_state(d), "exited"); t++)
		usleep(20000);
	assert_string_equal(init_state(d), "exited"); /* killed with the guest */
	assert_int_equal(xc_domain_destroy(xch, (uint32_t)d), 0);
	assert_int_equal(drain("rel", 300), 1);
	assert_false(info_of(d, &info));

	/* Without --keep, xl's monitor destroys a powered-off guest. */
	d = create(NULL);
	snprintf(ds, sizeof(ds), "%d", d);
	assert_int_equal(xensim(out, sizeof(out), "shutdown", ds, NULL), 0);
	assert_false(info_of(d, &info));
	assert_int_equal(drain("rel", 300), 2);
	assert_true(xs_unwatch(xs0, "@releaseDomain", "rel"));
}

/* The drop-in's xc_domain_getinfo: ascending from first_domid, at most
 * max_doms, with the uuid and memory; the rest of libxenctrl aborts. */
static void test_getinfo_and_stubs(void **state)
{
	char out[OUT_MAX], buf[512];
	xc_dominfo_t info[8];
	int a, b, p[2], st;
	size_t n;
	pid_t pid;

	(void)state;
	assert_int_equal(xensim(out, sizeof(out), "create-domain", "--name", "ga", NULL), 0);
	a = domid_of(out);
	assert_int_equal(xensim(out, sizeof(out), "create-domain", "--name", "gb", NULL), 0);
	b = domid_of(out);
	assert_int_equal(xc_domain_getinfo(xch, 0, 8, info), 3);
	assert_int_equal(info[0].domid, 0);
	assert_int_equal(info[1].domid, a);
	assert_int_equal(info[2].domid, b);
	for (int i = 0; i < 16; i++)
		assert_int_equal(info[0].handle[i], 0); /* domain 0: the nil uuid */
	assert_int_equal(info[1].max_memkb, 256 * 1024);
	assert_int_equal(info[1].nr_pages, 256 * 256);
	assert_true(info[1].running);
	assert_memory_not_equal(info[1].handle, info[2].handle, 16);
	assert_int_equal(xc_domain_getinfo(xch, (uint32_t)a + 1, 8, info), 1);
	assert_int_equal(info[0].domid, b);
	assert_int_equal(xc_domain_getinfo(xch, 0, 2, info), 2);
	assert_int_equal(xc_domain_getinfo(xch, (uint32_t)b + 1, 8, info), 0);
	assert_int_equal(xc_domain_destroy(xch, (uint32_t)a), 0);
	assert_int_equal(xc_domain_destroy(xch, (uint32_t)b), 0);

	/* Not simulated: says so and aborts. */
	assert_int_equal(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 2);
		xc_domain_max_vcpus(xch, 0, 1);
		_exit(0);
	}
	close(p[1]);
	n = (size_t)read(p[0], buf, sizeof(buf) - 1);
	buf[n < sizeof(buf) ? n : 0] = 0;
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	assert_non_null(strstr(buf, "xensim: xc_domain_max_vcpus is not simulated"));

	/* No xensimd: no handle, as without /dev/xen/privcmd. */
	setenv("XENSIM_RUNDIR", "/nonexistent/xensim", 1);
	assert_null(xc_interface_open(NULL, NULL, 0));
	assert_int_equal(errno, ENOENT);
	setenv("XENSIM_RUNDIR", env.rundir, 1);
}

/* ---- setup ---- */

static int setup(void **state)
{
	FILE *f;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	if (simenv_start(&env) != 0)
		return -1;
	setenv("XENSIM_DOMID", "0", 1);
	snprintf(cfg, sizeof(cfg), "%s/life1.cfg", env.rundir);
	snprintf(init_sh, sizeof(init_sh), "%s/init.sh", env.rundir);
	f = fopen(cfg, "w");
	if (!f)
		return -1;
	/* An xl config: keys xensim does not use (vscsi) are ignored, as by xl. */
	fputs("name = \"life1\"\nmemory = 64\nvscsi = [ \"/dev/sg0,0:0:0:0\" ]\n", f);
	fclose(f);
	f = fopen(init_sh, "w");
	if (!f)
		return -1;
	fputs("echo \"init: resumed=${XENSIM_RESUMED:-0} name=$(xenstore-read name)\"\nexec sleep 60\n", f);
	fclose(f);
	xs0 = simenv_xs_open(&env, 0);
	xch = xc_interface_open(NULL, NULL, 0);
	if (!xs0 || !xch)
		fprintf(stderr, "setup: %s failed: %s\n", xs0 ? "xc_interface_open" : "xenstore",
			strerror(errno));
	return xs0 && xch ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	if (xch)
		xc_interface_close(xch);
	if (xs0)
		xs_close(xs0);
	simenv_stop(&env);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_order_and_hold),
		cmocka_unit_test(test_create_paused),
		cmocka_unit_test(test_reboot),
		cmocka_unit_test(test_save_restore),
		cmocka_unit_test(test_migrate),
		cmocka_unit_test(test_shutdown_reason),
		cmocka_unit_test(test_getinfo_and_stubs),
	};

	simenv_use_sim_libs(argc, argv);
	return cmocka_run_group_tests(tests, setup, teardown);
}
