/* ld_vscsi.so in detail, on scsiback null LUNs: shim_probe (a plain sg
 * client) checks stat/fstat, each sg ioctl, SG_IO variants and the async
 * interface, dup; vscsi run's automatic mapping; a second process refused while
 * one owns the vhost; and a tool killed with the vhost open, after which
 * the next tool takes the vhost over. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sfenv.h"
#include "vscsifront.h"

#define OUT_MAX (256 * 1024)

static struct sfenv env;
static char *out;

#define VSCSI(...) sfenv_runl(&env, out, OUT_MAX, simenv_prog("scsifront/vscsi"), __VA_ARGS__, NULL)

static void test_probe(void **state)
{
	int rc;

	(void)state;
	rc = VSCSI("run", "--map", "/dev/sg100=0:0:0:0,/dev/sg109=0:0:0:9", "--",
		   simenv_prog("tests/scsifront/shim_probe"), "/dev/sg100", "/dev/sg109");
	printf("%s", out);
	assert_int_equal(rc, 0);
	assert_null(strstr(out, "FAIL"));
}

static void test_trace_shows_calls(void **state)
{
	(void)state;
	setenv("VSCSI_SHIM_TRACE", "1", 1);
	assert_int_equal(VSCSI("run", "--", "sg_turs", "/dev/sg100"), 0);
	unsetenv("VSCSI_SHIM_TRACE");
	assert_non_null(strstr(out, "ld_vscsi: open /dev/sg100"));
	assert_non_null(strstr(out, "SG_IO cdb 0x00"));
}

static void test_auto_map(void **state)
{
	(void)state;
	/* Without --map every LUN gets a node, /dev/sg100 upwards, in order. */
	assert_int_equal(VSCSI("run", "-v", "--", "sg_inq", "/dev/sg102"), 0);
	assert_non_null(strstr(out, "VSCSI_SG_MAP=/dev/sg100=0:0:0:0,/dev/sg101=0:0:0:1,/dev/sg102=0:0:1:0"));
	assert_non_null(strstr(out, "Product identification: NULL-LUN"));
	assert_int_equal(VSCSI("run", "--first-sg", "7", "-v", "--", "sg_turs", "/dev/sg8"), 0);
	assert_non_null(strstr(out, "/dev/sg8=0:0:0:1"));
	/* Bad usage. */
	assert_int_equal(VSCSI("run", "--map", "nonsense", "--", "true"), 1);
	assert_int_equal(VSCSI("run"), 1);
}

static void test_busy_while_owned(void **state)
{
	struct vscsi_host *h;
	char err[256];

	(void)state;
	h = vscsi_open(0, NULL, err, sizeof(err));
	if (!h)
		fail_msg("open: %s", err);
	/* Another process cannot share the ring: sg_inq sees EBUSY. */
	assert_int_not_equal(VSCSI("run", "--map", "/dev/sg100=0:0:0:0", "--", "sg_inq", "/dev/sg100"), 0);
	assert_non_null(strstr(out, "in use"));
	vscsi_close(h);
	assert_int_equal(VSCSI("run", "--map", "/dev/sg100=0:0:0:0", "--", "sg_inq", "/dev/sg100"), 0);
}

static void test_killed_tool_taken_over(void **state)
{
	(void)state;
	/* A shell opens the node (through the shim) and dies by SIGKILL with
	 * it open: the vhost stays "connected" to a dead owner. */
	VSCSI("run", "--map", "/dev/sg100=0:0:0:0", "--", "sh", "-c", "exec 3<>/dev/sg100; kill -9 $$");
	setenv("VSCSI_LOG_LEVEL", "warn", 1);
	assert_int_equal(VSCSI("run", "--map", "/dev/sg100=0:0:0:0", "--", "sg_turs", "/dev/sg100"), 0);
	unsetenv("VSCSI_LOG_LEVEL");
	assert_non_null(strstr(out, "taking over from an owner that exited without closing"));
}

/* The CLI's exit codes, sg3_utils style. */
static void test_cli_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(VSCSI("--help"), 0);
	assert_non_null(strstr(out, "Usage: vscsi"));
	assert_int_equal(VSCSI("frobnicate"), 1);
	assert_int_equal(VSCSI("-H", "7", "tur"), 15);          /* no such vhost */
	assert_non_null(strstr(out, "no such vhost"));
	assert_int_equal(VSCSI("-d", "0:0:0:9", "tur"), 5);     /* no such LUN: illegal request */
	assert_non_null(strstr(out, "Logical unit not supported"));
	assert_int_equal(VSCSI("-d", "0:0:5:0", "tur"), 15);    /* no such target: vscsi(1)'s 15 */
	assert_non_null(strstr(out, "NO_CONNECT"));
	assert_int_equal(VSCSI("raw", "12", "00"), 1);          /* CDB too short */
	assert_int_equal(VSCSI("-d", "0:0:0:1", "inq", "-p", "sn"), 0);
	assert_non_null(strstr(out, "Unit serial number: NULL0001"));
	/* Every page name --help documents is taken (sp was refused): the
	 * null LUN answers or refuses the page, never the command line. */
	{
		char names[128], *p, *save = NULL;

		assert_int_equal(VSCSI("--help"), 0);
		p = strstr(out, "0x.., or ");
		assert_non_null(p);
		snprintf(names, sizeof(names), "%.*s", (int)strcspn(p + 9, ")"), p + 9);
		assert_non_null(strstr(names, "sp"));
		for (char *n = strtok_r(names, ", ", &save); n; n = strtok_r(NULL, ", ", &save)) {
			int rc = VSCSI("-d", "0:0:0:1", "inq", "-p", n);

			if (rc != 0 && rc != 5)
				fail_msg("inq -p %s: exit %d:\n%s", n, rc, out);
		}
	}
}

/* vscsi raw names the SCSI status as sg_raw does (libsgutils2's names)
 * and shows the sense; its exit status is the sense's category. */
static void test_cli_raw_status(void **state)
{
	(void)state;
	assert_int_equal(VSCSI("-d", "0:0:0:0", "raw", "00", "00", "00", "00", "00", "00"), 0);
	assert_non_null(strstr(out, "SCSI Status: Good \n"));
	/* The null LUN knows no opcode 0xff: CHECK CONDITION, INVALID
	 * COMMAND OPERATION CODE, exit 9 as sg_raw's. */
	assert_int_equal(VSCSI("-d", "0:0:0:0", "raw", "ff", "00", "00", "00", "00", "00"), 9);
	assert_non_null(strstr(out, "SCSI Status: Check Condition \n"));
	assert_non_null(strstr(out, "Sense Information:"));
	assert_non_null(strstr(out, "Illegal Request"));
	assert_non_null(strstr(out, "Invalid command operation code"));
}

static int setup(void **state)
{
	(void)state;
	out = malloc(OUT_MAX);
	if (sfenv_start(&env, true) < 0)
		return -1;
	if (sfenv_attach(&env, "null:disk", "0:0:0:0") || sfenv_attach(&env, "null:disk", "0:0:0:1") ||
	    sfenv_attach(&env, "null:disk", "0:0:1:0"))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sfenv_stop(&env);
	free(out);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_trace_shows_calls),
		cmocka_unit_test(test_auto_map),
		cmocka_unit_test(test_busy_while_owned),
		cmocka_unit_test(test_killed_tool_taken_over),
		cmocka_unit_test(test_cli_exit_codes),
		cmocka_unit_test(test_cli_raw_status),
	};

	simenv_use_sim_libs(argc, argv);
	sfenv_test_filter();
	return cmocka_run_group_tests(tests, setup, teardown);
}
