/* common/iport.h: the iSCSI names an entry may give (RFC 7143 forms,
 * lower case), ISIDs (random-qualifier format only), and the default port
 * of a guest: the same for the same UUID (whatever its case) and v-dev,
 * another for another guest or LUN. The expected ISID was computed apart
 * from this code (FNV-1a 64 over the lower-case UUID, then the v-dev, in
 * Python). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "iport.h"

static void test_names(void **state)
{
	static const char *const good[] = {
		"iqn.2026-11.org.example:node1", "iqn.2026-11.org.example", "iqn.1992-01.com.x:a:b-c.d",
		"eui.02004567a425678d", "naa.52004567ba64678d", "naa.52004567ba64678d52004567ba64678d",
	};
	static const struct {
		const char *name, *says;
	} bad[] = {
		{ "", "empty" },
		{ "iqn.2026-11.org.Example:n", "character 'E'" },
		{ "iqn.2026-11.org.example:n 1", "character ' '" },
		{ "iqn.26-11.org.example", "not iqn.YYYY-MM" },
		{ "iqn.2026-11:x", "not iqn.YYYY-MM" },
		{ "eui.0200", "not an iSCSI name" },
		{ "naa.52004567ba64678", "not an iSCSI name" },
		{ "node1", "not an iSCSI name" },
	};
	char err[512], longname[300];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (iport_check_name(good[i], err, sizeof(err)))
			fail_msg("\"%s\" refused: %s", good[i], err);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(iport_check_name(bad[i].name, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].says))
			fail_msg("\"%s\": \"%s\" does not say \"%s\"", bad[i].name, err, bad[i].says);
	}
	/* 223 bytes is the most (RFC 7143 6.1) */
	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "iqn.2026-11.org.example:", 24);
	longname[223] = 0;
	assert_int_equal(iport_check_name(longname, err, sizeof(err)), 0);
	longname[223] = 'a';
	longname[224] = 0;
	assert_int_equal(iport_check_name(longname, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "too long"));
}

static void test_isid(void **state)
{
	uint8_t isid[IPORT_ISID_LEN];
	static const uint8_t want[IPORT_ISID_LEN] = { 0x80, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5 };
	char err[256];

	(void)state;
	assert_int_equal(iport_parse_isid("80a1b2c3d4e5", isid, err, sizeof(err)), 0);
	assert_memory_equal(isid, want, sizeof(want));
	assert_int_equal(iport_parse_isid("0x80A1B2C3D4E5", isid, err, sizeof(err)), 0);
	assert_memory_equal(isid, want, sizeof(want));
	assert_int_equal(iport_parse_isid("023d00000001", isid, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "must begin with 80"));
	assert_int_equal(iport_parse_isid("80a1b2c3d4", isid, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not 12 hex digits"));
	assert_int_equal(iport_parse_isid("80a1b2c3d4eg", isid, err, sizeof(err)), -EINVAL);
	assert_int_equal(iport_parse_isid("80a1b2c3d4e5f", NULL, err, sizeof(err)), -EINVAL);
}

static void test_default_port(void **state)
{
	struct iport a, b, c, d;
	char err[512], text[IPORT_TEXT_LEN];

	(void)state;
	assert_int_equal(iport_default(&a, IPORT_PREFIX_DEFAULT, "4E0C2F4A-6B8E-4A4E-9F1C-0D6E5D7F3A21",
				       "0:0:1:2", err, sizeof(err)), 0);
	assert_string_equal(iport_format(&a, text, sizeof(text)),
			    "iqn.2026-11.org.vscsi:guest.4e0c2f4a-6b8e-4a4e-9f1c-0d6e5d7f3a21,i,0x800f8bd9a120");
	/* the UUID's case does not matter; another LUN, another guest do */
	assert_int_equal(iport_default(&b, IPORT_PREFIX_DEFAULT, "4e0c2f4a-6b8e-4a4e-9f1c-0d6e5d7f3a21",
				       "0:0:1:2", err, sizeof(err)), 0);
	assert_true(iport_equal(&a, &b));
	assert_int_equal(iport_default(&c, IPORT_PREFIX_DEFAULT, "4e0c2f4a-6b8e-4a4e-9f1c-0d6e5d7f3a21",
				       "0:0:1:3", err, sizeof(err)), 0);
	assert_string_equal(c.name, a.name);
	assert_false(iport_equal(&a, &c));
	assert_int_equal(iport_default(&d, IPORT_PREFIX_DEFAULT, "5e0c2f4a-6b8e-4a4e-9f1c-0d6e5d7f3a21",
				       "0:0:1:2", err, sizeof(err)), 0);
	assert_string_not_equal(d.name, a.name);
	assert_true(a.isid[0] == 0x80 && c.isid[0] == 0x80 && d.isid[0] == 0x80);
	/* a bad UUID, a prefix that makes no name */
	assert_int_equal(iport_default(&d, IPORT_PREFIX_DEFAULT, "4e0c2f4a6b8e4a4e9f1c0d6e5d7f3a21",
				       "0:0:1:2", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "UUID"));
	assert_int_equal(iport_default(&d, "IQN.2026-11.x", "4e0c2f4a-6b8e-4a4e-9f1c-0d6e5d7f3a21",
				       "0:0:1:2", err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_isid),
		cmocka_unit_test(test_default_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
