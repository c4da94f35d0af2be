/* End-to-end tests of the simulated xenstored: a private xensimd, spoken
 * to through the system's libxenstore, through the unmodified
 * xenstore-utils programs (run inside domains with `xensim exec`), and
 * through raw sockets sending malformed xs_wire messages. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <xenstore.h>

#include "tests/support/simenv.h"

static struct simenv env;
static int g1, g2; /* two guests living through the whole run */

/* ---- helpers ---- */

static struct xs_handle *xs_as(int domid)
{
	struct xs_handle *h = simenv_xs_open(&env, domid);

	assert_non_null(h);
	return h;
}

/* A round trip: once it returns, every event caused by requests that
 * completed before sits in the handle's queue (the daemon queues events
 * on a connection before later replies). */
static void xs_sync(struct xs_handle *h)
{
	free(xs_get_domain_path(h, 0));
}

/* Drains the queued events; returns how many match path and token
 * (NULL matches anything). */
static unsigned events(struct xs_handle *h, const char *path, const char *token)
{
	unsigned n = 0;
	char **ev;

	xs_sync(h);
	while ((ev = xs_check_watch(h))) {
		if ((!path || !strcmp(ev[XS_WATCH_PATH], path)) &&
		    (!token || !strcmp(ev[XS_WATCH_TOKEN], token)))
			n++;
		free(ev);
	}
	return n;
}

static char *xread(struct xs_handle *h, const char *path)
{
	unsigned len;

	return xs_read(h, XBT_NULL, path, &len);
}

static void xwrite(struct xs_handle *h, const char *path, const char *val)
{
	if (!xs_write(h, XBT_NULL, path, val, (unsigned)strlen(val)))
		fail_msg("write %s: %s", path, strerror(errno));
}

static void expect_node(struct xs_handle *h, const char *path, const char *want)
{
	char *v = xread(h, path);

	if (!v)
		fail_msg("read %s: %s", path, strerror(errno));
	assert_string_equal(v, want);
	free(v);
}

static void expect_read_errno(struct xs_handle *h, const char *path, int err)
{
	char *v = xread(h, path);

	assert_null(v);
	assert_int_equal(errno, err);
}

static int run(int domid, char *out, size_t len, const char *cmd, ...)
{
	char *argv[32];
	va_list ap;
	int n = 0, rc;

	argv[n++] = (char *)cmd;
	va_start(ap, cmd);
	while (n < 31 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	rc = simenv_runv(&env, domid, out, len, NULL, argv);
	assert_true(rc >= 0);
	return rc;
}

static bool daemon_alive(void)
{
	return env.pid > 0 && waitpid(env.pid, NULL, WNOHANG) == 0;
}

/* ---- raw sockets ---- */

static int raw_connect(int domid)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	simenv_xs_path(&env, domid, addr.sun_path, sizeof(addr.sun_path));
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void raw_write(int fd, const void *buf, size_t len)
{
	assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void raw_send(int fd, uint32_t type, uint32_t req_id, const void *body,
		     uint32_t len)
{
	struct xsd_sockmsg h = { .type = type, .req_id = req_id, .len = len };

	raw_write(fd, &h, sizeof(h));
	if (len)
		raw_write(fd, body, len);
}

static bool raw_read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, (char *)buf + got, len - got, 0);

		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* Receives one message; false on EOF (or a 5 s timeout). */
static bool raw_recv(int fd, struct xsd_sockmsg *h, char *body)
{
	if (!raw_read_all(fd, h, sizeof(*h)))
		return false;
	assert_true(h->len <= XENSTORE_PAYLOAD_MAX);
	if (!raw_read_all(fd, body, h->len))
		return false;
	body[h->len] = '\0';
	return true;
}

static void raw_expect(int fd, uint32_t type, uint32_t req_id, const char *body)
{
	struct xsd_sockmsg h;
	char buf[XENSTORE_PAYLOAD_MAX + 1];

	assert_true(raw_recv(fd, &h, buf));
	assert_int_equal(h.type, type);
	assert_int_equal(h.req_id, req_id);
	assert_string_equal(buf, body);
}

/* The peer closed: recv sees EOF (or a reset), not a timeout. */
static void raw_expect_closed(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, 0);

	assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
}

/* ---- group setup ---- */

static int group_setup(void **state)
{
	(void)state;
	if (simenv_start(&env)) {
		fprintf(stderr, "cannot start xensimd\n");
		return -1;
	}
	g1 = simenv_create_domain(&env, "e2e-g1");
	g2 = simenv_create_domain(&env, "e2e-g2");
	return g1 > 0 && g2 > 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	simenv_stop(&env);
	return 0;
}

/* ---- libxenstore ---- */

static void test_libxs_nodes(void **state)
{
	struct xs_handle *h = xs_as(0);
	char **list;
	unsigned n;

	(void)state;
	xwrite(h, "/e2e/nodes/a/b", "deep");
	expect_node(h, "/e2e/nodes/a/b", "deep");
	expect_node(h, "/e2e/nodes/a", "");
	assert_true(xs_mkdir(h, XBT_NULL, "/e2e/nodes/m"));
	assert_true(xs_mkdir(h, XBT_NULL, "/e2e/nodes/m")); /* exists: fine */
	xwrite(h, "/e2e/nodes/z", "1");
	list = xs_directory(h, XBT_NULL, "/e2e/nodes", &n);
	assert_non_null(list);
	assert_int_equal(n, 3);
	assert_string_equal(list[0], "a");
	assert_string_equal(list[1], "m");
	assert_string_equal(list[2], "z");
	free(list);
	assert_true(xs_rm(h, XBT_NULL, "/e2e/nodes/a"));
	expect_read_errno(h, "/e2e/nodes/a/b", ENOENT);
	assert_true(xs_rm(h, XBT_NULL, "/e2e/nodes/a")); /* gone: fine */
	assert_false(xs_rm(h, XBT_NULL, "/e2e/nodes/a/b"));
	assert_int_equal(errno, ENOENT);
	assert_false(xs_write(h, XBT_NULL, "/e2e/bad//path", "x", 1));
	assert_int_equal(errno, EINVAL);
	/* Domain bookkeeping. */
	{
		char *p = xs_get_domain_path(h, (unsigned)g1);
		char want[32];

		snprintf(want, sizeof(want), "/local/domain/%d", g1);
		assert_string_equal(p, want);
		free(p);
	}
	assert_true(xs_is_domain_introduced(h, (unsigned)g1));
	assert_false(xs_is_domain_introduced(h, 4000));
	xs_close(h);
}

static void test_libxs_guest_home(void **state)
{
	struct xs_handle *h = xs_as(g1), *d0 = xs_as(0);
	char path[64], name[16];
	struct xs_permissions *p;
	unsigned n;

	(void)state;
	snprintf(name, sizeof(name), "e2e-g1");
	expect_node(h, "name", name);
	xwrite(h, "data/k", "v");
	snprintf(path, sizeof(path), "/local/domain/%d/data/k", g1);
	expect_node(d0, path, "v");
	/* The guest owns what it creates. */
	p = xs_get_permissions(d0, XBT_NULL, path, &n);
	assert_non_null(p);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].id, (unsigned)g1);
	assert_int_equal(p[0].perms, XS_PERM_NONE);
	free(p);
	xs_close(h);
	xs_close(d0);
}

static void test_libxs_directory_part(void **state)
{
	struct xs_handle *h = xs_as(0);
	char path[96];
	char **list;
	unsigned n;

	(void)state;
	/* 600 names of 23 bytes: more than one payload, so libxenstore's
	 * XS_DIRECTORY gets E2BIG and it pages with XS_DIRECTORY_PART. */
	for (int i = 0; i < 600; i++) {
		snprintf(path, sizeof(path), "/e2e/many/child-number-%06d", i);
		assert_true(xs_mkdir(h, XBT_NULL, path));
	}
	list = xs_directory(h, XBT_NULL, "/e2e/many", &n);
	assert_non_null(list);
	assert_int_equal(n, 600);
	for (int i = 0; i < 600; i++) {
		snprintf(path, sizeof(path), "child-number-%06d", i);
		assert_string_equal(list[i], path);
	}
	free(list);
	assert_true(xs_rm(h, XBT_NULL, "/e2e/many"));
	xs_close(h);
}

static void test_libxs_watches(void **state)
{
	struct xs_handle *h = xs_as(0), *w = xs_as(0), *g = xs_as(g1);
	char path[64];

	(void)state;
	xwrite(h, "/e2e/watch/x", "0");
	assert_true(xs_watch(w, "/e2e/watch", "anc"));
	/* The initial event. */
	assert_int_equal(events(w, "/e2e/watch", "anc"), 1);
	assert_false(xs_watch(w, "/e2e/watch", "anc"));
	assert_int_equal(errno, EEXIST);
	/* Changes below fire the ancestor's watch with their own path. */
	xwrite(h, "/e2e/watch/x/y/z", "1");
	assert_int_equal(events(w, "/e2e/watch/x/y/z", "anc"), 1);
	xwrite(h, "/e2e/watchdog", "not below");
	assert_int_equal(events(w, NULL, NULL), 0);
	assert_true(xs_rm(h, XBT_NULL, "/e2e/watch/x"));
	assert_int_equal(events(w, "/e2e/watch/x", "anc"), 1);
	assert_true(xs_unwatch(w, "/e2e/watch", "anc"));
	xwrite(h, "/e2e/watch/again", "1");
	assert_int_equal(events(w, NULL, NULL), 0);

	/* A relative watch reports relative paths. */
	assert_true(xs_watch(g, "data/rel", "r"));
	assert_int_equal(events(g, "data/rel", "r"), 1);
	snprintf(path, sizeof(path), "/local/domain/%d/data/rel/leaf", g1);
	xwrite(h, path, "from dom0");
	assert_int_equal(events(g, "data/rel/leaf", "r"), 1);

	/* Events on nodes the guest may not read do not reach it. */
	assert_true(xs_watch(g, "/e2e/hidden", "h"));
	assert_int_equal(events(g, "/e2e/hidden", "h"), 1);
	xwrite(h, "/e2e/hidden/secret", "s");
	assert_int_equal(events(g, NULL, NULL), 0);
	xs_close(h);
	xs_close(w);
	xs_close(g);
}

static void test_special_watches(void **state)
{
	struct xs_handle *d0 = xs_as(0), *g = xs_as(g1);
	char path[64];
	int dom;

	(void)state;
	assert_true(xs_watch(d0, "@introduceDomain", "in"));
	assert_true(xs_watch(d0, "@releaseDomain", "out"));
	assert_true(xs_watch(g, "@releaseDomain", "gout"));
	assert_int_equal(events(d0, NULL, NULL), 2); /* the initial ones */
	assert_int_equal(events(g, "@releaseDomain", "gout"), 1);

	dom = simenv_create_domain(&env, "e2e-short");
	assert_true(dom > 0);
	assert_int_equal(events(d0, "@introduceDomain", "in"), 1);
	assert_int_equal(events(g, NULL, NULL), 0);
	snprintf(path, sizeof(path), "/local/domain/%d/name", dom);
	expect_node(d0, path, "e2e-short");
	assert_true(xs_is_domain_introduced(d0, (unsigned)dom));

	assert_int_equal(simenv_destroy_domain(&env, dom), 0);
	assert_int_equal(events(d0, "@releaseDomain", "out"), 1);
	assert_int_equal(events(d0, "@introduceDomain", NULL), 0);
	assert_int_equal(events(g, "@releaseDomain", "gout"), 1);
	expect_read_errno(d0, path, ENOENT);
	assert_false(xs_is_domain_introduced(d0, (unsigned)dom));
	xs_close(d0);
	xs_close(g);
}

static void test_destroy_closes_connections(void **state)
{
	struct xs_handle *h;
	char sock[256], out[4096];
	int dom;

	(void)state;
	dom = simenv_create_domain(&env, "e2e-doomed");
	assert_true(dom > 0);
	h = xs_as(dom);
	expect_node(h, "name", "e2e-doomed");
	assert_int_equal(simenv_destroy_domain(&env, dom), 0);
	/* Its connection and its socket are gone. */
	assert_null(xread(h, "name"));
	simenv_xs_path(&env, dom, sock, sizeof(sock));
	assert_int_not_equal(access(sock, F_OK), 0);
	xs_close(h);
	assert_int_equal(run(0, out, sizeof(out), "xenstore-ls", "/local/domain", NULL), 0);
	assert_null(strstr(out, "e2e-doomed"));
}

static void test_transaction_race(void **state)
{
	struct xs_handle *a = xs_as(g1), *b = xs_as(g1);
	xs_transaction_t ta, tb;
	unsigned len;
	char *v;
	int eagain = 0, ok = 0;

	(void)state;
	xwrite(a, "data/counter", "0");
	ta = xs_transaction_start(a);
	tb = xs_transaction_start(b);
	assert_int_not_equal(ta, XBT_NULL);
	assert_int_not_equal(tb, XBT_NULL);
	assert_int_not_equal(ta, tb);
	v = xs_read(a, ta, "data/counter", &len);
	assert_string_equal(v, "0");
	free(v);
	v = xs_read(b, tb, "data/counter", &len);
	assert_string_equal(v, "0");
	free(v);
	assert_true(xs_write(a, ta, "data/counter", "1", 1));
	assert_true(xs_write(b, tb, "data/counter", "1", 1));
	/* Inside, each sees its own write; outside, nobody sees either. */
	v = xs_read(a, ta, "data/counter", &len);
	assert_string_equal(v, "1");
	free(v);
	expect_node(a, "data/counter", "0");
	if (xs_transaction_end(a, ta, false))
		ok++;
	else if (errno == EAGAIN)
		eagain++;
	if (xs_transaction_end(b, tb, false))
		ok++;
	else if (errno == EAGAIN)
		eagain++;
	assert_int_equal(ok, 1);
	assert_int_equal(eagain, 1);
	expect_node(a, "data/counter", "1");
	/* The loser retries and wins. */
	do {
		tb = xs_transaction_start(b);
		assert_int_not_equal(tb, XBT_NULL);
		v = xs_read(b, tb, "data/counter", &len);
		assert_string_equal(v, "1");
		free(v);
		assert_true(xs_write(b, tb, "data/counter", "2", 1));
	} while (!xs_transaction_end(b, tb, false) && errno == EAGAIN);
	expect_node(a, "data/counter", "2");
	/* An aborted transaction leaves nothing behind. */
	ta = xs_transaction_start(a);
	assert_true(xs_write(a, ta, "data/counter", "aborted", 7));
	assert_true(xs_transaction_end(a, ta, true));
	expect_node(a, "data/counter", "2");
	xs_close(a);
	xs_close(b);
}

static void test_transaction_watch_at_commit(void **state)
{
	struct xs_handle *h = xs_as(0), *w = xs_as(0);
	xs_transaction_t t;

	(void)state;
	assert_true(xs_watch(w, "/e2e/txw", "t"));
	assert_int_equal(events(w, NULL, NULL), 1);
	t = xs_transaction_start(h);
	assert_true(xs_write(h, t, "/e2e/txw/a", "1", 1));
	assert_int_equal(events(w, NULL, NULL), 0);
	assert_true(xs_transaction_end(h, t, false));
	assert_int_equal(events(w, "/e2e/txw/a", "t"), 1);
	xs_close(h);
	xs_close(w);
}

static void test_guest_denials(void **state)
{
	struct xs_handle *g = xs_as(g1), *d0 = xs_as(0);
	struct xs_permissions mine = { .id = (unsigned)g1, .perms = XS_PERM_NONE };
	char path[64];

	(void)state;
	assert_false(xs_write(g, XBT_NULL, "/local/domain/0/x", "x", 1));
	assert_int_equal(errno, EACCES);
	xwrite(d0, "/e2e/secret", "s"); /* "n0" like everything of dom0 */
	expect_read_errno(g, "/e2e/secret", EACCES);
	expect_read_errno(g, "/e2e/does-not-exist", EACCES);
	assert_null(xs_directory(g, XBT_NULL, "/local/domain/0", &(unsigned){ 0 }));
	assert_int_equal(errno, EACCES);
	/* Another guest's home is closed too. */
	snprintf(path, sizeof(path), "/local/domain/%d/name", g2);
	expect_read_errno(g, path, EACCES);
	/* The guest's own name is readable but belongs to dom0. */
	assert_false(xs_set_permissions(g, XBT_NULL, "name", &mine, 1));
	assert_int_equal(errno, EACCES);
	assert_false(xs_write(g, XBT_NULL, "name", "renamed", 7));
	assert_int_equal(errno, EACCES);
	assert_false(xs_rm(g, XBT_NULL, "name"));
	assert_int_equal(errno, EACCES);
	/* A node it owns: it may change the permissions, not the owner. */
	xwrite(g, "data/own", "o");
	assert_true(xs_set_permissions(g, XBT_NULL, "data/own", &mine, 1));
	mine.id = 0;
	assert_false(xs_set_permissions(g, XBT_NULL, "data/own", &mine, 1));
	assert_int_equal(errno, EPERM);
	/* Privileged operations. */
	assert_false(xs_release_domain(g, (unsigned)g2));
	assert_int_equal(errno, EACCES);
	expect_node(d0, "/e2e/secret", "s");
	xs_close(g);
	xs_close(d0);
}

static void test_quotas(void **state)
{
	struct xs_handle *g = xs_as(g1), *g2h = xs_as(g2), *d0 = xs_as(0);
	xs_transaction_t t[11];
	char big[2100], name[32];
	int i;

	(void)state;
	memset(big, 'v', sizeof(big));
	assert_false(xs_write(g, XBT_NULL, "data/big", big, 2049));
	assert_int_equal(errno, ENOSPC);
	expect_read_errno(g, "data/big", ENOENT);
	assert_true(xs_write(g, XBT_NULL, "data/fine", big, 1000));
	/* Domain 0 is not limited. */
	assert_true(xs_write(d0, XBT_NULL, "/e2e/big", big, sizeof(big)));

	/* 128 watches, then E2BIG. */
	for (i = 0; i < 128; i++) {
		snprintf(name, sizeof(name), "w%d", i);
		if (!xs_watch(g, "data", name))
			fail_msg("watch %d: %s", i, strerror(errno));
	}
	assert_false(xs_watch(g, "data", "one-too-many"));
	assert_int_equal(errno, E2BIG);

	/* 10 transactions, then ENOSPC. */
	for (i = 0; i < 10; i++) {
		t[i] = xs_transaction_start(g);
		assert_int_not_equal(t[i], XBT_NULL);
	}
	t[10] = xs_transaction_start(g);
	assert_int_equal(t[10], XBT_NULL);
	assert_int_equal(errno, ENOSPC);

	/* More than five permission entries on a node. */
	{
		struct xs_permissions p[6] = { { (unsigned)g1, XS_PERM_NONE } };

		for (i = 1; i < 6; i++)
			p[i] = (struct xs_permissions){ 0, XS_PERM_READ };
		assert_false(xs_set_permissions(g, XBT_NULL, "data/fine", p, 6));
		assert_int_equal(errno, ENOSPC);
	}

	/* Everyone else is served; the guest is too once it gives back. */
	xwrite(g2h, "data/still", "works");
	{
		char *v = xread(d0, "/e2e/big");

		assert_non_null(v);
		assert_int_equal(strlen(v), sizeof(big));
		free(v);
	}
	for (i = 0; i < 10; i++)
		assert_true(xs_transaction_end(g, t[i], true));
	t[0] = xs_transaction_start(g);
	assert_int_not_equal(t[0], XBT_NULL);
	assert_true(xs_transaction_end(g, t[0], true));
	xs_close(g); /* its watches go with the connection */
	g = xs_as(g1);
	/* The daemon notices the close asynchronously. */
	for (i = 0; i < 300 && !xs_watch(g, "data", "after-close"); i++) {
		assert_int_equal(errno, E2BIG);
		usleep(10000);
	}
	assert_true(i < 300);
	assert_true(daemon_alive());
	xs_close(g);
	xs_close(g2h);
	xs_close(d0);
}

static void test_node_quota(void **state)
{
	struct xs_handle *g = xs_as(g2);
	char path[64];
	int i, err = 0;

	(void)state;
	/* A guest owns at most 1000 nodes; its home already holds some. */
	for (i = 0; i < 1100 && !err; i++) {
		snprintf(path, sizeof(path), "data/q%d/n%d", i / 20, i % 20);
		if (!xs_write(g, XBT_NULL, path, "x", 1))
			err = errno;
	}
	assert_int_equal(err, ENOSPC);
	assert_true(i > 900);
	/* The last failure may have wanted two nodes where one was left. */
	xs_write(g, XBT_NULL, "data/q0/more", "x", 1);
	assert_false(xs_write(g, XBT_NULL, "data/q0/more2", "x", 1));
	assert_int_equal(errno, ENOSPC);
	/* Freed: writing works again. */
	assert_true(xs_rm(g, XBT_NULL, "data/q0"));
	xwrite(g, "data/q0/more", "x");
	for (i = 0; i < 60; i++) {
		snprintf(path, sizeof(path), "data/q%d", i);
		assert_true(xs_rm(g, XBT_NULL, path));
	}
	xs_close(g);
}

/* ---- xenstore-utils ---- */

static void test_utils_read_write_ls_rm(void **state)
{
	char out[16384], g1s[16], path[64];

	(void)state;
	assert_int_equal(run(0, out, sizeof(out), "xenstore-write", "/e2e/u/a", "1",
			     "/e2e/u/b/c", "two", NULL), 0);
	assert_int_equal(run(0, out, sizeof(out), "xenstore-read", "/e2e/u/a", NULL), 0);
	assert_string_equal(out, "1\n");
	assert_int_equal(run(0, out, sizeof(out), "xenstore-ls", "/e2e/u", NULL), 0);
	assert_non_null(strstr(out, "a = \"1\""));
	assert_non_null(strstr(out, "c = \"two\""));
	assert_int_equal(run(0, out, sizeof(out), "xenstore-list", "/e2e/u", NULL), 0);
	assert_string_equal(out, "a\nb\n");
	assert_int_equal(run(0, out, sizeof(out), "xenstore-rm", "/e2e/u/b", NULL), 0);
	assert_int_not_equal(run(0, out, sizeof(out), "xenstore-read", "/e2e/u/b/c", NULL), 0);
	/* Inside a guest: relative paths land in its home. */
	assert_int_equal(run(g1, out, sizeof(out), "xenstore-write", "data/util", "guest", NULL), 0);
	snprintf(path, sizeof(path), "/local/domain/%d/data/util", g1);
	assert_int_equal(run(0, out, sizeof(out), "xenstore-read", path, NULL), 0);
	assert_string_equal(out, "guest\n");
	snprintf(g1s, sizeof(g1s), "(n%d)", g1);
	snprintf(path, sizeof(path), "/local/domain/%d/data", g1);
	assert_int_equal(run(0, out, sizeof(out), "xenstore-ls", "-p", path, NULL), 0);
	assert_non_null(strstr(out, "util = \"guest\""));
	assert_non_null(strstr(out, g1s));
}

static void test_utils_chmod_and_denials(void **state)
{
	char out[16384], perm[16], path[64];

	(void)state;
	assert_int_equal(run(0, out, sizeof(out), "xenstore-write", "/e2e/ch/node", "v", NULL), 0);
	/* The guest may not read it yet... */
	assert_int_not_equal(run(g1, out, sizeof(out), "xenstore-read", "/e2e/ch/node", NULL), 0);
	assert_non_null(strstr(out, "couldn't read path"));
	/* ...dom0 opens it (recursively)... */
	snprintf(perm, sizeof(perm), "r%d", g1);
	assert_int_equal(run(0, out, sizeof(out), "xenstore-chmod", "-r", "/e2e/ch", "n0", perm, NULL), 0);
	assert_int_equal(run(0, out, sizeof(out), "xenstore-ls", "-p", "/e2e/ch", NULL), 0);
	snprintf(path, sizeof(path), "(n0,r%d)", g1);
	assert_non_null(strstr(out, path));
	assert_int_equal(run(g1, out, sizeof(out), "xenstore-read", "/e2e/ch/node", NULL), 0);
	assert_string_equal(out, "v\n");
	/* ...but the guest cannot write, nor chmod what it does not own. */
	assert_int_not_equal(run(g1, out, sizeof(out), "xenstore-write", "/e2e/ch/node", "x", NULL), 0);
	snprintf(perm, sizeof(perm), "b%d", g1);
	assert_int_not_equal(run(g1, out, sizeof(out), "xenstore-chmod", "/e2e/ch/node", perm, NULL), 0);
	assert_int_not_equal(run(g1, out, sizeof(out), "xenstore-write", "/local/domain/0/x", "x", NULL), 0);
	assert_int_not_equal(run(g1, out, sizeof(out), "xenstore-rm", "/e2e/ch/node", NULL), 0);
	assert_int_equal(run(0, out, sizeof(out), "xenstore-read", "/e2e/ch/node", NULL), 0);
	assert_string_equal(out, "v\n");
	/* Its own node: fine. */
	assert_int_equal(run(g1, out, sizeof(out), "xenstore-write", "data/c", "x", NULL), 0);
	snprintf(perm, sizeof(perm), "n%d", g1);
	assert_int_equal(run(g1, out, sizeof(out), "xenstore-chmod", "data/c", perm, "r0", NULL), 0);
}

static void test_utils_watch(void **state)
{
	struct xs_handle *h = xs_as(0);
	char out[8192] = "";
	int pipefd[2], status;
	pid_t pid;
	ssize_t got = 0, n;

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[8192];
		int rc;

		close(pipefd[0]);
		/* The initial event and two changes, or give up after 20 s. */
		rc = run(0, buf, sizeof(buf), "timeout", "20", "xenstore-watch", "-n", "3",
			 "/e2e/uw", NULL);
		if (write(pipefd[1], buf, strlen(buf)) < 0)
			_exit(2);
		_exit(rc == 0 ? 0 : 1);
	}
	close(pipefd[1]);
	/* Keep changing a node below until the watcher has seen enough. */
	for (int i = 0; i < 400; i++) {
		char val[16];

		snprintf(val, sizeof(val), "%d", i);
		xwrite(h, "/e2e/uw/leaf", val);
		if (waitpid(pid, &status, WNOHANG) == pid)
			goto done;
		usleep(50000);
	}
	waitpid(pid, &status, 0);
done:
	while ((n = read(pipefd[0], out + got, sizeof(out) - 1 - (size_t)got)) > 0)
		got += n;
	out[got] = '\0';
	close(pipefd[0]);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* xenstore-watch prints "path" for its initial event, then the
	 * changed paths (the token is the path itself). */
	assert_non_null(strstr(out, "/e2e/uw\n"));
	assert_non_null(strstr(out, "/e2e/uw/leaf\n"));
	xs_close(h);
}

/* ---- malformed wire traffic ---- */

static void test_raw_malformed(void **state)
{
	struct xs_handle *other = xs_as(0);
	struct xsd_sockmsg h;
	char buf[XENSTORE_PAYLOAD_MAX + 64];
	int fd;

	(void)state;
	xwrite(other, "/e2e/raw", "alive");
	fd = raw_connect(g1);
	/* Well-formed first, pipelined: replies in order. */
	raw_send(fd, XS_READ, 1, "name", 5);
	raw_send(fd, XS_GET_DOMAIN_PATH, 2, "0", 2);
	raw_expect(fd, XS_READ, 1, "e2e-g1");
	raw_expect(fd, XS_GET_DOMAIN_PATH, 2, "/local/domain/0");
	/* Unknown types. */
	raw_send(fd, 99, 3, "x", 2);
	raw_expect(fd, XS_ERROR, 3, "ENOSYS");
	raw_send(fd, XS_WATCH_EVENT, 4, "x\0y", 4);
	raw_expect(fd, XS_ERROR, 4, "ENOSYS");
	/* Missing NUL, wrong argument counts, bad paths. */
	raw_send(fd, XS_READ, 5, "name", 4);
	raw_expect(fd, XS_ERROR, 5, "EINVAL");
	raw_send(fd, XS_WRITE, 6, "data/no-nul", 11);
	raw_expect(fd, XS_ERROR, 6, "EINVAL");
	raw_send(fd, XS_WATCH, 7, "data", 5);
	raw_expect(fd, XS_ERROR, 7, "EINVAL");
	raw_send(fd, XS_READ, 8, "name\0extra", 11);
	raw_expect(fd, XS_ERROR, 8, "EINVAL");
	raw_send(fd, XS_READ, 9, "/a//b", 6);
	raw_expect(fd, XS_ERROR, 9, "EINVAL");
	raw_send(fd, XS_READ, 10, NULL, 0);
	raw_expect(fd, XS_ERROR, 10, "EINVAL");
	raw_send(fd, XS_READ, 11, "dat\x01", 5);
	raw_expect(fd, XS_ERROR, 11, "EINVAL");
	/* A request split in pieces, sent slowly. */
	h = (struct xsd_sockmsg){ .type = XS_READ, .req_id = 12, .len = 5 };
	raw_write(fd, &h, 7);
	usleep(20000);
	raw_write(fd, (char *)&h + 7, sizeof(h) - 7);
	raw_write(fd, "na", 2);
	usleep(20000);
	raw_write(fd, "me", 3);
	raw_expect(fd, XS_READ, 12, "e2e-g1");
	/* Binary junk as a payload. */
	for (unsigned i = 0; i < XENSTORE_PAYLOAD_MAX; i++)
		buf[i] = (char)(i * 13 + 1);
	raw_send(fd, XS_WRITE, 13, buf, XENSTORE_PAYLOAD_MAX);
	raw_expect(fd, XS_ERROR, 13, "EINVAL");
	/* An announced payload beyond the limit drops the connection. */
	h = (struct xsd_sockmsg){ .type = XS_WRITE, .req_id = 14,
				  .len = XENSTORE_PAYLOAD_MAX + 1 };
	raw_write(fd, &h, sizeof(h));
	raw_expect_closed(fd);
	close(fd);
	expect_node(other, "/e2e/raw", "alive");

	/* Garbage bytes that make an absurd header. */
	fd = raw_connect(g1);
	memset(buf, 0xff, 64);
	raw_write(fd, buf, 64);
	raw_expect_closed(fd);
	close(fd);
	/* Garbage that happens to announce a small payload: ENOSYS. */
	fd = raw_connect(g2);
	memcpy(buf, "GARBAGE-GARBAGE!", 16);
	memcpy(buf + 12, &(uint32_t){ 3 }, 4);
	memcpy(buf + 16, "abc", 3);
	raw_write(fd, buf, 19);
	{
		uint32_t req_id;

		memcpy(&req_id, buf + 4, 4); /* "AGE-" */
		raw_expect(fd, XS_ERROR, req_id, "ENOSYS");
	}
	close(fd);
	/* A client vanishing mid-message. */
	fd = raw_connect(g2);
	h = (struct xsd_sockmsg){ .type = XS_WRITE, .req_id = 15, .len = 100 };
	raw_write(fd, &h, sizeof(h));
	raw_write(fd, "data/x", 6);
	close(fd);

	assert_true(daemon_alive());
	expect_node(other, "/e2e/raw", "alive");
	xwrite(other, "/e2e/raw", "still");
	expect_node(other, "/e2e/raw", "still");
	xs_close(other);
}

static void test_raw_flood_without_reading(void **state)
{
	struct xs_handle *other = xs_as(0);
	char body[64];
	int fd, len;

	(void)state;
	/* A client that writes requests (and sets watches that fire) but
	 * never reads must not stall the daemon for others. */
	fd = raw_connect(g1);
	len = snprintf(body, sizeof(body), "data%cflood", '\0');
	raw_send(fd, XS_WATCH, 1, body, (uint32_t)len + 1);
	for (int i = 0; i < 20000; i++) {
		struct xsd_sockmsg h = { .type = XS_READ, .req_id = (uint32_t)i, .len = 5 };
		char msg[sizeof(h) + 5];

		memcpy(msg, &h, sizeof(h));
		memcpy(msg + sizeof(h), "name", 5);
		if (send(fd, msg, sizeof(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			break; /* the daemon stopped reading us: fine */
	}
	for (int i = 0; i < 50; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/local/domain/%d/data/flood", g1);
		xwrite(other, path, "x");
	}
	expect_node(other, "/e2e/raw", "still");
	close(fd);
	assert_true(daemon_alive());
	xs_close(other);
}

static void test_daemon_survived(void **state)
{
	char log[512], cmd[600];

	(void)state;
	assert_true(daemon_alive());
	/* No sanitizer report in its log. */
	snprintf(log, sizeof(log), "%s/xensimd.log", env.rundir);
	snprintf(cmd, sizeof(cmd), "grep -q 'ERROR: AddressSanitizer\\|runtime error' '%s'", log);
	assert_int_not_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libxs_nodes),
		cmocka_unit_test(test_libxs_guest_home),
		cmocka_unit_test(test_libxs_directory_part),
		cmocka_unit_test(test_libxs_watches),
		cmocka_unit_test(test_special_watches),
		cmocka_unit_test(test_destroy_closes_connections),
		cmocka_unit_test(test_transaction_race),
		cmocka_unit_test(test_transaction_watch_at_commit),
		cmocka_unit_test(test_guest_denials),
		cmocka_unit_test(test_quotas),
		cmocka_unit_test(test_node_quota),
		cmocka_unit_test(test_utils_read_write_ls_rm),
		cmocka_unit_test(test_utils_chmod_and_denials),
		cmocka_unit_test(test_utils_watch),
		cmocka_unit_test(test_raw_malformed),
		cmocka_unit_test(test_raw_flood_without_reading),
		cmocka_unit_test(test_daemon_survived),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
