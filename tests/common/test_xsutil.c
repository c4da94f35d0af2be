/* common/xsutil.h against the simulated xenstore (a private xensimd):
 * printf-formed paths, numbers read by decimal.h's rule, whole values
 * written, and writes that never re-create a removed directory. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <xenstore.h>

#include "tests/support/simenv.h"
#include "xsutil.h"

static struct simenv env;
static struct xs_handle *xs;   /* dom0 */
static int guest;

static int group_setup(void **state)
{
	(void)state;
	if (simenv_start(&env)) {
		fprintf(stderr, "cannot start xensimd\n");
		return -1;
	}
	guest = simenv_create_domain(&env, "xsu-guest");
	xs = simenv_xs_open(&env, 0);
	return guest > 0 && xs ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	if (xs)
		xs_close(xs);
	simenv_stop(&env);
	return 0;
}

static void put(const char *path, const char *val)
{
	if (!xs_write(xs, XBT_NULL, path, val, (unsigned)strlen(val)))
		fail_msg("write %s: %s", path, strerror(errno));
}

static bool exists(const char *path)
{
	unsigned len;
	char *v = xs_read(xs, XBT_NULL, path, &len);

	free(v);
	return v != NULL;
}

static void test_pathf(void **state)
{
	char buf[8], big[XSU_PATH_MAX + 10];

	(void)state;
	assert_int_equal(xsu_pathf(buf, sizeof(buf), "/a/%d", 123), 0);
	assert_string_equal(buf, "/a/123");
	assert_int_equal(xsu_pathf(buf, sizeof(buf), "/a/%d", 1234), 0);
	/* One more and it is cut: refused, never used cut. */
	assert_int_equal(xsu_pathf(buf, sizeof(buf), "/a/%d", 12345), -ENAMETOOLONG);
	memset(big, 'p', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = 0;
	errno = 0;
	assert_null(xsu_readf(xs, XBT_NULL, "%s", big));
	assert_int_equal(errno, ENAMETOOLONG);
}

static void test_readf(void **state)
{
	char path[64], *v;
	unsigned n;
	char **d;

	(void)state;
	put("/xsu/r/dev-3/p-dev", "/dev/sg7");
	v = xsu_readf(xs, XBT_NULL, "/xsu/r/%s/%s", "dev-3", "p-dev");
	assert_non_null(v);
	assert_string_equal(v, "/dev/sg7");
	free(v);
	errno = 0;
	assert_null(xsu_readf(xs, XBT_NULL, "/xsu/r/dev-%u/p-dev", 4u));
	assert_int_equal(errno, ENOENT);

	/* A guest may not read dom0's nodes: the cause comes back. */
	{
		struct xs_handle *g = simenv_xs_open(&env, guest);

		assert_non_null(g);
		errno = 0;
		assert_null(xsu_readf(g, XBT_NULL, "/xsu/r/%s", "dev-3/p-dev"));
		assert_int_equal(errno, EACCES);
		xs_close(g);
	}

	/* Directories, in and out of a transaction. */
	put("/xsu/r/dev-5/state", "1");
	d = xsu_directoryf(xs, XBT_NULL, &n, "/xsu/%c", 'r');
	assert_non_null(d);
	assert_int_equal(n, 2);
	free(d);
	n = 99;
	assert_null(xsu_directoryf(xs, XBT_NULL, &n, "/xsu/%s", "none"));
	assert_int_equal(n, 0);
	{
		xs_transaction_t t = xs_transaction_start(xs);

		assert_true(t != XBT_NULL);
		snprintf(path, sizeof(path), "/xsu/r/dev-5/state");
		assert_int_equal(xsu_read_intf(xs, t, -1, "%s", path), 1);
		d = xsu_directoryf(xs, t, &n, "/xsu/r");
		assert_int_equal(n, 2);
		free(d);
		xs_transaction_end(xs, t, true);
	}
}

static void test_read_int(void **state)
{
	static const struct { const char *val; int want; } cases[] = {
		{ "0", 0 }, { "4", 4 }, { "65536", 65536 }, { "2147483647", 2147483647 },
		/* refused: the default */
		{ "", -7 }, { "-1", -7 }, { "+4", -7 }, { " 4", -7 }, { "4 ", -7 }, { "04", -7 },
		{ "00", -7 }, { "4x", -7 }, { "0x4", -7 }, { "2147483648", -7 },
		{ "99999999999999999999", -7 }, { "four", -7 }, { "4\n", -7 },
	};
	int x;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put("/xsu/int", cases[i].val);
		x = xsu_read_intf(xs, XBT_NULL, -7, "/xsu/%s", "int");
		if (x != cases[i].want)
			fail_msg("\"%s\" read as %d, want %d", cases[i].val, x, cases[i].want);
	}
	assert_int_equal(xsu_read_intf(xs, XBT_NULL, 42, "/xsu/missing/%d", 1), 42);
	assert_true(xsu_parse_int("17", &x));
	assert_int_equal(x, 17);
	assert_false(xsu_parse_int("017", &x));
	assert_false(xsu_parse_int(NULL, &x));
}

static void test_printf(void **state)
{
	char big[3000], *v;
	xs_transaction_t t;

	(void)state;
	assert_int_equal(xsu_printf(xs, XBT_NULL, "/xsu/w/state", "%d", 4), 0);
	v = xsu_readf(xs, XBT_NULL, "/xsu/w/state");
	assert_string_equal(v, "4");
	free(v);
	/* A long value goes whole (xenstore takes up to 4096 bytes). */
	memset(big, 'e', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(xsu_printf(xs, XBT_NULL, "/xsu/w/error", "cause: %s.", big), 0);
	v = xsu_readf(xs, XBT_NULL, "/xsu/w/error");
	assert_non_null(v);
	assert_int_equal(strlen(v), strlen(big) + 8);
	assert_int_equal(strncmp(v, "cause: ee", 9), 0);
	free(v);
	/* The empty value. */
	assert_int_equal(xsu_printf(xs, XBT_NULL, "/xsu/w/empty", "%s", ""), 0);
	v = xsu_readf(xs, XBT_NULL, "/xsu/w/empty");
	assert_string_equal(v, "");
	free(v);
	/* In a transaction: nothing lands when it is aborted. */
	t = xs_transaction_start(xs);
	assert_int_equal(xsu_printf(xs, t, "/xsu/w/txn", "%u", 9u), 0);
	xs_transaction_end(xs, t, true);
	assert_false(exists("/xsu/w/txn"));
	/* A number at a printf-formed path. */
	assert_int_equal(xsu_write_uintf(xs, XBT_NULL, 6, "/xsu/w/%s/%s", "dev-1", "state"), 0);
	assert_int_equal(xsu_read_intf(xs, XBT_NULL, -1, "/xsu/w/dev-1/state"), 6);
	assert_int_equal(xsu_write_uintf(xs, XBT_NULL, 4294967295u, "/xsu/w/big"), 0);
	v = xsu_readf(xs, XBT_NULL, "/xsu/w/big");
	assert_string_equal(v, "4294967295");
	free(v);
	assert_int_equal(xsu_read_intf(xs, XBT_NULL, -1, "/xsu/w/big"), -1); /* > INT_MAX */
	memset(big, 'p', sizeof(big) - 1);
	assert_int_equal(xsu_write_uintf(xs, XBT_NULL, 1, "/%s/%s", big, big), -ENAMETOOLONG);
	/* Refusals come back as -errno: a guest writing into dom0's tree. */
	{
		struct xs_handle *g = simenv_xs_open(&env, guest);

		assert_int_equal(xsu_printf(g, XBT_NULL, "/xsu/w/state", "%d", 5), -EACCES);
		assert_int_equal(xsu_write_uintf(g, XBT_NULL, 5, "/xsu/w/%s", "state"), -EACCES);
		xs_close(g);
	}
}

static void test_printf_existing(void **state)
{
	char *v;

	(void)state;
	put("/xsu/vh/frontend", "/local/domain/1/device/vscsi/0");
	assert_int_equal(xsu_printf_existing(xs, "/xsu/vh/state", "%d", 2), 0);
	v = xsu_readf(xs, XBT_NULL, "/xsu/vh/state");
	assert_string_equal(v, "2");
	free(v);
	/* The directory removed: the write is refused, nothing re-made. */
	assert_true(xs_rm(xs, XBT_NULL, "/xsu/vh"));
	errno = 0;
	assert_int_equal(xsu_printf_existing(xs, "/xsu/vh/state", "%d", 6), -ENOENT);
	assert_int_equal(errno, ENOENT);
	assert_false(exists("/xsu/vh"));
	/* Only the parent must exist: deeper paths are not made either. */
	assert_int_equal(xsu_printf_existing(xs, "/xsu/vh/vscsi-devs/dev-0/state", "%d", 6), -ENOENT);
	assert_false(exists("/xsu/vh"));
}

/* The directory removed while writes keep coming (as the toolstack
 * removes a vhost while scsiback answers its frontend): once it is gone
 * it stays gone. */
static volatile int removed;

static void *remover(void *arg)
{
	struct xs_handle *h = arg;

	/* Let the writer get going first. */
	for (int i = 0; i < 30; i++)
		free(xsu_readf(h, XBT_NULL, "/xsu/race/state"));
	xs_rm(h, XBT_NULL, "/xsu/race");
	removed = 1;
	return NULL;
}

static void test_printf_existing_race(void **state)
{
	struct xs_handle *other = simenv_xs_open(&env, 0);
	pthread_t th;
	int r = 0, after = 0;

	(void)state;
	assert_non_null(other);
	put("/xsu/race/frontend", "x");
	removed = 0;
	assert_int_equal(pthread_create(&th, NULL, remover, other), 0);
	for (int i = 0; i < 100000 && after < 50; i++) {
		r = xsu_printf_existing(xs, "/xsu/race/state", "%d", i);
		if (removed)
			after++;
		if (r == -ENOENT)
			break;
		assert_int_equal(r, 0);
	}
	pthread_join(th, NULL);
	assert_int_equal(r, -ENOENT);
	assert_false(exists("/xsu/race"));
	xs_close(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pathf),
		cmocka_unit_test(test_readf),
		cmocka_unit_test(test_read_int),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_printf_existing),
		cmocka_unit_test(test_printf_existing_race),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
