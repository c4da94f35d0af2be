/* The iscsi LUN driver's command timeouts, against the private tgtd
 * (tests/support/tgtd-lab.sh). The deadline a command gets, read from the
 * driver (lun_iscsi.h), must be the guest's timeout
 * when it gives one, else the LUN's timeout from the configuration file,
 * else the default scsiback(8) documents for the device type the target
 * reports: disks 60 s, changers 1 h, tapes 4 h. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <inttypes.h>
#include <time.h>
#include <xen/io/vscsiif.h>

#include "evloop.h"
#include "log.h"
#include "lun.h"
#include "lun_iscsi.h"
#include "lun_open.h"

#include "config.h"
#include "tgtlab.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);   /* the driver's clock */
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct tgtlab lab;
static char labdir[256];

static int opened_calls, opened_rc;

static void on_opened(struct lun *lun, int rc)
{
	(void)lun;
	opened_calls++;
	opened_rc = rc;
}

static void on_done(struct lun_cmd *c)
{
	(*(int *)c->priv)++;
}

/* Opens url as scsiback would, with cfg from the configuration. */
static void open_url(struct evloop *loop, struct lun *lun, const char *url,
		     const struct lun_config *cfg)
{
	uint64_t end;
	int rc;

	memset(lun, 0, sizeof(*lun));
	lun->loop = loop;
	lun->opened = on_opened;
	opened_calls = 0;
	rc = lun_open_str(lun, url, cfg);
	if (rc == -EINPROGRESS) {
		end = now_ms() + 20000;
		while (!opened_calls && now_ms() < end)
			evloop_run_once(loop, 50);
		assert_int_equal(opened_calls, 1);
		rc = opened_rc;
	}
	if (rc)
		fail_msg("open %s: %s", url, lun->error);
}

/* Runs a TEST UNIT READY with the guest's timeout ms (0: none) and checks
 * the deadline the driver gave it: want ms from the submission. */
static void expect_timeout(struct evloop *loop, struct lun *lun, unsigned ms, unsigned want,
			   const char *what)
{
	struct lun_cmd cmd = { .cdb_len = 6, .dir = LUN_DIR_NONE, .timeout_ms = ms, .done = on_done };
	uint64_t t0, t1, end, deadline;
	int done = 0;

	cmd.priv = &done;
	t0 = now_ms();
	assert_int_equal(lun_submit(lun, &cmd), 0);
	t1 = now_ms();
	assert_int_equal(done, 0);            /* completions come from the loop */
	assert_non_null(cmd.drv);
	deadline = lun_iscsi_test_deadline(&cmd);
	if (deadline < t0 + want || deadline > t1 + want)
		fail_msg("%s, guest timeout %u ms: deadline %" PRIu64 " ms after the submission, "
			 "want %u ms", what, ms, deadline - t0, want);
	end = now_ms() + 20000;
	while (!done && now_ms() < end)
		evloop_run_once(loop, 50);
	assert_int_equal(done, 1);
	assert_int_equal(cmd.host, XEN_VSCSIIF_RSLT_HOST_OK);
}

/* No timeout from the guest, no configuration: the documented numbers,
 * written out here rather than asked of the product. */
static void test_default_timeouts(void **state)
{
	struct evloop *loop = evloop_new();
	struct {
		const char *url;
		uint8_t type;
		unsigned ms;
		const char *what;
	} cases[] = {
		{ lab.disk_url, 0x00, 60 * 1000, "disk" },
		{ lab.tape_url, 0x01, 4 * 3600 * 1000, "tape" },
		{ lab.vtl_drive1_url, 0x01, 4 * 3600 * 1000, "library tape drive" },
		{ lab.changer_url, 0x08, 3600 * 1000, "changer" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lun lun;

		open_url(loop, &lun, cases[i].url, NULL);
		assert_int_equal(lun.dev_type, cases[i].type);
		expect_timeout(loop, &lun, 0, cases[i].ms, cases[i].what);
		expect_timeout(loop, &lun, 30000, 30000, cases[i].what);
		lun_close(&lun);
	}
	evloop_free(loop);
}

/* A [lun] timeout in the configuration file replaces the type's default
 * for that LUN only; the guest's own timeout still wins. */
static void test_config_file_timeout(void **state)
{
	struct evloop *loop = evloop_new();
	struct scsiback_config cfg;
	const struct policy *pol;
	struct lun_config lc;
	char path[320], err[256];
	struct lun lun;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/scsiback.conf", labdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "[lun %s]\ntimeout = 7\n", lab.tape_url);
	fclose(f);
	if (config_load(path, &cfg, err, sizeof(err)))
		fail_msg("config: %s", err);

	config_lun_settings(&cfg, lab.tape_url, &lc, &pol);
	open_url(loop, &lun, lab.tape_url, &lc);
	expect_timeout(loop, &lun, 0, 7000, "configured tape");
	expect_timeout(loop, &lun, 2000, 2000, "configured tape");
	lun_close(&lun);

	config_lun_settings(&cfg, lab.disk_url, &lc, &pol);
	open_url(loop, &lun, lab.disk_url, &lc);
	expect_timeout(loop, &lun, 0, 60 * 1000, "disk without a [lun] entry");
	lun_close(&lun);

	config_free(&cfg);
	unlink(path);
	evloop_free(loop);
}

static int group_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(labdir, sizeof(labdir), "%s/vscsi-tmo.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(labdir))
		return -1;
	if (tgtlab_start(&lab, labdir)) {
		fprintf(stderr, "cannot start the tgtd lab (see %s/lab.out)\n", labdir);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[400];

	(void)state;
	tgtlab_stop(&lab);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", labdir);
	if (system(cmd)) {}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_timeouts),
		cmocka_unit_test(test_config_file_timeout),
	};

	log_init("test_lun_iscsi_timeouts", getenv("VSCSI_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARN,
		 false);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
