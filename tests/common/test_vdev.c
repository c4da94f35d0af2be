/* The names of common/decimal.h and common/vdev.h: the canonical forms
 * accepted, every other spelling refused (leading zeros, signs, blanks,
 * overflow, trailing junk, empty parts), and formatting that parses back
 * to the same value. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "decimal.h"
#include "vdev.h"

static void test_decimal(void **state)
{
	static const char *const refused[] = {
		"", "-1", "+1", " 1", "1 ", "01", "00", "0x1", "1e3", "1.0", "١", "\t7", "7\n",
	};
	uint64_t v = 42;

	(void)state;
	assert_true(dec_parse_str("0", 9, &v));
	assert_int_equal(v, 0);
	assert_true(dec_parse_str("7", 9, &v));
	assert_int_equal(v, 7);
	assert_true(dec_parse_str("10", 10, &v));
	assert_int_equal(v, 10);
	assert_true(dec_parse_str("65535", 65535, &v));
	assert_int_equal(v, 65535);
	assert_true(dec_parse_str("18446744073709551615", UINT64_MAX, &v));
	assert_true(v == UINT64_MAX);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		v = 42;
		if (dec_parse_str(refused[i], UINT64_MAX, &v))
			fail_msg("\"%s\" taken for a number", refused[i]);
		assert_int_equal(v, 42); /* untouched */
	}
	/* Over the limit, by one and by overflowing 64 bits. */
	assert_false(dec_parse_str("65536", 65535, &v));
	assert_false(dec_parse_str("11", 10, &v));
	assert_false(dec_parse_str("1", 0, &v));
	assert_true(dec_parse_str("0", 0, &v));
	assert_false(dec_parse_str("18446744073709551616", UINT64_MAX, &v));
	assert_false(dec_parse_str("99999999999999999999999", UINT64_MAX, &v));
	assert_false(dec_parse_str(NULL, 9, &v));
	/* A length cuts the string: "12" of "123". */
	assert_true(dec_parse("123", 2, 99, &v));
	assert_int_equal(v, 12);
	assert_false(dec_parse("123", 0, 99, &v));
}

static void test_vdev_canonical(void **state)
{
	static const char *const good[] = {
		"0:0:0:0", "1:0:0:0", "0:1:2:3", "65535:65535:65535:65535", "10:200:3000:40000",
	};
	struct vdev v;
	char buf[VDEV_STR_LEN];

	(void)state;
	assert_int_equal(vdev_parse("3:1:2:7", &v), 0);
	assert_int_equal(v.host, 3);
	assert_int_equal(v.channel, 1);
	assert_int_equal(v.target, 2);
	assert_int_equal(v.lun, 7);
	/* Every canonical form formats back to itself. */
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (vdev_parse(good[i], &v))
			fail_msg("v-dev \"%s\" refused", good[i]);
		assert_string_equal(vdev_format(&v, buf), good[i]);
	}
	assert_int_equal(strlen("65535:65535:65535:65535") + 1, VDEV_STR_LEN);
}

static void test_vdev_refused(void **state)
{
	static const char *const bad[] = {
		/* leading zeros */
		"0:0:00:1", "01:0:0:0", "0:00:0:0", "0:0:0:01", "00:0:0:0",
		/* signs and blanks */
		"-1:0:0:0", "+1:0:0:0", "0:0:0:-1", " 0:0:0:0", "0:0:0:0 ", "0: 0:0:0", "0 :0:0:0",
		"0:0:0:0\n",
		/* overflow */
		"65536:0:0:0", "0:65536:0:0", "0:0:65536:0", "0:0:0:65536", "0:0:0:4294967296",
		"0:0:0:18446744073709551617",
		/* parts missing, empty or extra, trailing junk */
		"", ":", ":::", "0:0:0", "0:0:0:", ":0:0:0", "0::0:0", "0:0:0:0:0", "0:0:0:0x",
		"0:0:0:1a", "0x1:0:0:0", "a:b:c:d", "0;0;0;0", "0.0.0.0", "0:0:0:0/1",
	};
	struct vdev v = { 9, 9, 9, 9 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (vdev_parse(bad[i], &v) != -EINVAL)
			fail_msg("v-dev \"%s\" accepted", bad[i]);
	assert_int_equal(vdev_parse(NULL, &v), -EINVAL);
	/* A refusal leaves the output alone. */
	assert_int_equal(v.host, 9);
	assert_int_equal(v.lun, 9);
}

static void test_vdev_ctl(void **state)
{
	static const char *const bad[] = {
		"0:0", "0:0:0:0", "0:00:1", "-0:0:1", "0:0:65536", "0:0:1 ", "", "::", "0:0:",
	};
	struct vdev v = { .host = 5 };
	struct vdev w = { .host = 6, .channel = 1, .target = 2, .lun = 3 };

	(void)state;
	assert_int_equal(vdev_parse_ctl("1:2:3", &v), 0);
	assert_int_equal(v.host, 5); /* left as it was */
	assert_int_equal(v.channel, 1);
	assert_int_equal(v.target, 2);
	assert_int_equal(v.lun, 3);
	assert_true(vdev_same_lun(&v, &w));
	w.lun = 4;
	assert_false(vdev_same_lun(&v, &w));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (vdev_parse_ctl(bad[i], &v) != -EINVAL)
			fail_msg("C:T:L \"%s\" accepted", bad[i]);
	assert_int_equal(vdev_parse_ctl(NULL, &v), -EINVAL);
}

static void test_devname(void **state)
{
	static const char *const bad[] = {
		"dev-01", "dev-00", "dev-", "dev--1", "dev-+1", "dev- 1", "dev-1 ", "dev-1x", "dev-0x1",
		"dev-4294967296", "dev-99999999999999999999", "Dev-1", "dev1", "dev_1", "1", "",
		"dev-1/state", "vdev-1",
	};
	char buf[VDEV_DEVNAME_LEN];
	unsigned n = 77;

	(void)state;
	assert_int_equal(vdev_parse_devname("dev-0", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(vdev_parse_devname("dev-12", &n), 0);
	assert_int_equal(n, 12);
	assert_int_equal(vdev_parse_devname("dev-4294967295", &n), 0);
	assert_true(n == 4294967295u);
	assert_string_equal(vdev_devname(4294967295u, buf), "dev-4294967295");
	assert_int_equal(strlen(buf) + 1, VDEV_DEVNAME_LEN);
	assert_string_equal(vdev_devname(0, buf), "dev-0");
	assert_string_equal(vdev_devname(31, buf), "dev-31");
	n = 77;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (vdev_parse_devname(bad[i], &n) != -EINVAL)
			fail_msg("\"%s\" taken for a dev-N", bad[i]);
	assert_int_equal(vdev_parse_devname(NULL, &n), -EINVAL);
	assert_int_equal(n, 77);
	/* Each number's name parses back to it. */
	for (unsigned k = 0; k < 2000; k += 7) {
		assert_int_equal(vdev_parse_devname(vdev_devname(k, buf), &n), 0);
		assert_int_equal(n, k);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_vdev_canonical),
		cmocka_unit_test(test_vdev_refused),
		cmocka_unit_test(test_vdev_ctl),
		cmocka_unit_test(test_devname),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
