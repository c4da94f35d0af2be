/* libvscsifront against a hostile or dead backend (fakeback): every bad
 * response disables the vhost with a clear error and a FAILED event, no
 * crash, no memory touched that should not be (run under ASan too); a
 * backend that swallows commands gets ABORT, then RESET, and the command
 * completes with -ETIMEDOUT within its budget. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "be_fields.h"

#include "fakeback.h"
#include "sfenv.h"
#include "vscsifront.h"
#include "xsutil.h"

static struct sfenv env;
static unsigned next_devid = 10;
static const struct vscsi_addr lun0 = { 0, 0, 0 };

static int failed_events;
static char failed_msg[256];

static void on_event(struct vscsi_host *h, const struct vscsi_event *ev, void *priv)
{
	(void)h;
	(void)priv;
	if (ev->type == VSCSI_EVENT_FAILED) {
		failed_events++;
		snprintf(failed_msg, sizeof(failed_msg), "%s", ev->message);
	}
}

struct outcome {
	int done;
	int error;
	char msg[128];
	uint64_t ms;
	/* what the application was told */
	uint8_t status;
	uint8_t sense_len;
	uint8_t sense[VSCSI_SENSE_MAX];
	uint32_t residual;
	size_t xfer_done;
	uint8_t data[4096];     /* the READ's buffer afterwards */
};

static void done_cb(struct vscsi_host *h, struct vscsi_task *t, void *priv)
{
	struct outcome *o = priv;

	(void)h;
	o->done++;
	o->error = t->error;
	snprintf(o->msg, sizeof(o->msg), "%s", t->errmsg);
	o->status = t->status;
	o->sense_len = t->sense_len;
	memcpy(o->sense, t->sense, sizeof(o->sense));
	o->residual = t->residual;
	o->xfer_done = t->xfer_done;
	vscsi_task_free(t);
}

#define STALE 0xa5      /* what a WRITE leaves in the pool pages */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Fills every page of the host's data pool with STALE: one WRITE as
 * large as the pool, whatever the fake answers it. */
static void stale_pool(struct vscsi_host *h)
{
	struct vscsi_host_info info;
	struct vscsi_task *t;
	uint8_t *w;
	size_t len;

	vscsi_get_info(h, &info);
	assert_true(info.pool_pages > 0 && info.pool_pages <= info.max_segments);
	len = (size_t)info.pool_pages * 4096;
	w = malloc(len);
	memset(w, STALE, len);
	t = vscsi_write16_sync(h, &lun0, 100, (uint32_t)(len / 512), 512, w);
	assert_non_null(t);
	assert_int_equal(t->error, 0);
	vscsi_task_free(t);
	free(w);
}

/* Opens a fresh vhost served by a fake backend in mode m, runs one READ
 * of 4 KiB (into a buffer of 0x5a) and returns what happened to it. With
 * stale, the data pool is filled with STALE first. */
static struct outcome one_command_ex(enum fakeback_mode m, unsigned cmd_ms, unsigned tmf_ms,
				     enum vscsi_host_state *st, char *err_out, bool stale)
{
	struct vscsi_opts o = { .flags = VSCSI_OPEN_NO_PROBE, .cmd_timeout_ms = cmd_ms,
				.tmf_timeout_ms = tmf_ms, .event_cb = on_event, .poll_us = -1,
				.pool_pages = stale ? 32 : 0 };
	unsigned devid = next_devid++;
	pid_t fb = fakeback_start(&env, devid, m);
	struct outcome out = { 0 };
	char err[256];
	struct vscsi_host *h;
	uint64_t t0;
	uint8_t *buf = malloc(4096);

	assert_true(fb > 0);
	h = vscsi_open(devid, &o, err, sizeof(err));
	if (!h)
		fail_msg("open vhost %u: %s", devid, err);
	if (stale)
		stale_pool(h);
	failed_events = 0;
	t0 = now_ms();
	memset(buf, 0x5a, 4096);
	assert_non_null(vscsi_read16_task(h, &lun0, 0, 8, 512, buf, done_cb, &out));
	while (!out.done && now_ms() - t0 < 20000)
		vscsi_run_once(h, 100);
	out.ms = now_ms() - t0;
	memcpy(out.data, buf, sizeof(out.data));
	/* Whatever else the backend sends right after. */
	for (int i = 0; i < 5; i++)
		vscsi_run_once(h, 20);
	*st = vscsi_get_state(h);
	if (err_out)
		snprintf(err_out, 256, "%s", vscsi_get_error(h));
	/* A disabled host refuses new work. */
	if (*st == VSCSI_HOST_FAILED) {
		struct vscsi_task *t = vscsi_testunitready_task(h, &lun0, NULL, NULL);

		assert_null(t);
		assert_int_equal(errno, EIO);
	}
	vscsi_close(h);
	fakeback_stop(&env, devid, fb);
	free(buf);
	return out;
}

static struct outcome one_command(enum fakeback_mode m, unsigned cmd_ms, unsigned tmf_ms,
				  enum vscsi_host_state *st, char *err_out)
{
	return one_command_ex(m, cmd_ms, tmf_ms, st, err_out, false);
}

static void expect_disabled(enum fakeback_mode m, const char *words)
{
	enum vscsi_host_state st;
	char err[256];
	struct outcome o = one_command(m, 5000, 1000, &st, err);

	assert_int_equal(o.done, 1);
	assert_int_equal(o.error, -EIO);
	assert_int_equal(st, VSCSI_HOST_FAILED);
	assert_int_equal(failed_events, 1);
	if (!strstr(err, words) || !strstr(failed_msg, words))
		fail_msg("error \"%s\" / event \"%s\" do not mention \"%s\"", err, failed_msg, words);
	assert_true(o.ms < 3000);
}

static void test_good_backend(void **state)
{
	enum vscsi_host_state st;
	struct outcome o;

	(void)state;
	o = one_command(FB_GOOD, 5000, 1000, &st, NULL);
	assert_int_equal(o.done, 1);
	assert_int_equal(o.error, 0);
	assert_int_equal(st, VSCSI_HOST_CONNECTED);
	/* GOOD with residual = the whole length: nothing transferred */
	assert_int_equal(o.status, VSCSI_STATUS_GOOD);
	assert_int_equal(o.residual, 4096);
	assert_int_equal(o.xfer_done, 0);
	assert_int_equal(o.data[0], 0x5a);
}

static void test_unknown_rqid(void **state)
{
	(void)state;
	expect_disabled(FB_UNKNOWN_RQID, "not in flight");
}

static void test_rqid_out_of_range(void **state)
{
	(void)state;
	expect_disabled(FB_RQID_OUT_OF_RANGE, "unknown rqid 40");
}

/* The ring has 16 slots (vscsiif.h, 4 KiB ring page): rqid 16 is the
 * first that names none. */
static void test_rqid_16(void **state)
{
	(void)state;
	expect_disabled(FB_RQID_16, "unknown rqid 16");
}

static void test_duplicate_rqid(void **state)
{
	enum vscsi_host_state st;
	char err[256];
	struct outcome o;

	(void)state;
	/* Seen in one batch, two answers for one request are a bogus
	 * producer index; seen apart, the second is an rqid not in flight
	 * (then the first completed the command). Either way: disabled. */
	o = one_command(FB_DUPLICATE, 5000, 1000, &st, err);
	assert_int_equal(o.done, 1);
	assert_true(o.error == 0 || o.error == -EIO);
	assert_int_equal(st, VSCSI_HOST_FAILED);
	assert_true(strstr(err, "not in flight") || strstr(err, "producer index"));
}

static void test_sense_len_200(void **state)
{
	(void)state;
	expect_disabled(FB_SENSE_LEN_200, "sense_len 200");
}

/* VSCSIIF_SENSE_BUFFERSIZE is 96: 97 is the first length too long... */
static void test_sense_len_97(void **state)
{
	(void)state;
	expect_disabled(FB_SENSE_LEN_97, "sense_len 97");
}

/* ...and 96 is taken, every byte of it handed to the application. */
static void test_sense_len_96(void **state)
{
	enum vscsi_host_state st;
	uint8_t want[96];
	struct outcome o;

	(void)state;
	o = one_command(FB_SENSE_LEN_96, 5000, 1000, &st, NULL);
	assert_int_equal(o.done, 1);
	assert_int_equal(o.error, 0);
	assert_int_equal(st, VSCSI_HOST_CONNECTED);
	assert_int_equal(o.status, VSCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(o.sense_len, 96);
	fakeback_sense96(want);
	assert_memory_equal(o.sense, want, 96);
}

static void test_rsp_prod_far_ahead(void **state)
{
	enum vscsi_host_state st;
	char err[256];
	struct outcome o;

	(void)state;
	/* The honest answer may be taken before the producer index jumps
	 * (then the command completed); the jump disables the vhost. */
	o = one_command(FB_PROD_AHEAD, 5000, 1000, &st, err);
	assert_int_equal(o.done, 1);
	assert_true(o.error == 0 || o.error == -EIO);
	assert_int_equal(st, VSCSI_HOST_FAILED);
	assert_non_null(strstr(err, "producer index"));
}

/* A residual of 4096 + 100000 for a 4096-byte READ: nothing was
 * transferred. The application must not be told otherwise, nor get the
 * pool's stale pages (here: an earlier WRITE's bytes) as data. */
static void test_residual_clamped(void **state)
{
	enum vscsi_host_state st;
	struct outcome o;

	(void)state;
	o = one_command_ex(FB_RESIDUAL_HUGE, 5000, 1000, &st, NULL, true);
	assert_int_equal(o.done, 1);
	assert_int_equal(o.error, 0);
	assert_int_equal(st, VSCSI_HOST_CONNECTED);
	assert_int_equal(o.xfer_done, 0);
	assert_int_equal(o.residual, 4096 + 100000);   /* as the backend sent it */
	for (size_t i = 0; i < sizeof(o.data); i++)
		if (o.data[i] != 0x5a)
			fail_msg("byte %zu of the READ's buffer is 0x%02x%s", i, o.data[i],
				 o.data[i] == STALE ? " (a stale pool page)" : "");
}

/* Timeout budget: 300 ms command + ABORT 200 + RESET 200. */
static void test_swallowed_everything(void **state)
{
	enum vscsi_host_state st;
	struct outcome o;

	(void)state;
	o = one_command(FB_SWALLOW_ALL, 300, 200, &st, NULL);
	assert_int_equal(o.done, 1);
	assert_int_equal(o.error, -ETIMEDOUT);
	assert_non_null(strstr(o.msg, "ABORT and LUN RESET got no answer"));
	assert_true(o.ms >= 650 && o.ms < 2500);
	assert_int_equal(st, VSCSI_HOST_CONNECTED);
}

static void test_swallowed_abort_succeeds(void **state)
{
	enum vscsi_host_state st;
	struct outcome o;

	(void)state;
	o = one_command(FB_SWALLOW_ABORT_OK, 300, 200, &st, NULL);
	assert_int_equal(o.error, -ETIMEDOUT);
	assert_non_null(strstr(o.msg, "aborted"));
	assert_true(o.ms >= 280 && o.ms < 1500);
}

static void test_swallowed_reset_succeeds(void **state)
{
	enum vscsi_host_state st;
	struct outcome o;

	(void)state;
	o = one_command(FB_SWALLOW_RESET_OK, 300, 200, &st, NULL);
	assert_int_equal(o.error, -ETIMEDOUT);
	assert_non_null(strstr(o.msg, "LUN reset"));
	assert_true(o.ms >= 280 && o.ms < 1500);
}

static void test_answered_during_abort(void **state)
{
	enum vscsi_host_state st;
	struct outcome o;

	(void)state;
	o = one_command(FB_ABORT_THEN_ANSWER, 300, 200, &st, NULL);
	assert_int_equal(o.error, -ETIMEDOUT);
	assert_int_equal(st, VSCSI_HOST_CONNECTED);
}

/* What a task's timeout becomes on the wire: timeout_per_command, in
 * seconds (vscsiif.h), rounded up so that the backend never gives up
 * before the application's own timer; the host's default when the task
 * has none. The fake sends the value back in the sense INFORMATION. */
static void test_timeout_on_the_wire(void **state)
{
	static const struct { unsigned task_ms, wire_s; } cases[] = {
		{ 0, 7 },          /* the host's cmd_timeout_ms, 7000 */
		{ 2000, 2 },
		{ 2500, 3 },
		{ 1, 1 },
		{ 90 * 1000, 90 },
	};
	struct vscsi_opts o = { .flags = VSCSI_OPEN_NO_PROBE, .cmd_timeout_ms = 7000,
				.event_cb = on_event, .poll_us = -1 };
	unsigned devid = next_devid++;
	pid_t fb = fakeback_start(&env, devid, FB_ECHO_TIMEOUT);
	char err[256];
	struct vscsi_host *h;

	(void)state;
	assert_true(fb > 0);
	h = vscsi_open(devid, &o, err, sizeof(err));
	if (!h)
		fail_msg("open vhost %u: %s", devid, err);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vscsi_task *t = vscsi_task_new(&lun0, (const uint8_t[6]){ 0 }, 6,
						      VSCSI_XFER_NONE, NULL, 0);
		uint32_t info;

		assert_non_null(t);
		t->timeout_ms = cases[i].task_ms;
		vscsi_task_run(h, t);
		assert_int_equal(t->error, 0);
		assert_int_equal(t->status, VSCSI_STATUS_CHECK_CONDITION);
		assert_true(t->sense_len >= 7 && (t->sense[0] & 0x80));
		info = sg_get_unaligned_be32(&t->sense[3]);
		if (info != cases[i].wire_s)
			fail_msg("a task of %u ms went out with timeout_per_command %u, want %u",
				 cases[i].task_ms, info, cases[i].wire_s);
		vscsi_task_free(t);
	}
	assert_int_equal(vscsi_get_state(h), VSCSI_HOST_CONNECTED);
	vscsi_close(h);
	fakeback_stop(&env, devid, fb);
}

/* A backend offering entries spelt otherwise than the one rule for names
 * (common/vdev.h): "dev-01" is no entry at all and gets no answer, a
 * v-dev "0:0:01:0" or "0:0:3:0 " is refused (our dev-N state 6); the
 * LUNs spelt canonically come, the same as scsiback and vscsictl read
 * them. */
static void test_noncanonical_names(void **state)
{
	static const struct { const char *dev, *vdev; } offered[] = {
		{ "dev-1", "0:0:01:0" }, { "dev-01", "0:0:2:0" }, { "dev-2", "0:0:3:0 " },
		{ "dev-3", "0:0:4:0" },
	};
	struct vscsi_opts o = { .flags = VSCSI_OPEN_NO_PROBE, .poll_us = -1 };
	struct vscsi_lun_info luns[8];
	unsigned devid = next_devid++;
	pid_t fb = fakeback_start(&env, devid, FB_GOOD);
	char be[128], fe[128], err[256];
	struct vscsi_host *h;
	size_t n;

	(void)state;
	assert_true(fb > 0);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vscsi/%d/%u/vscsi-devs", env.guest, devid);
	snprintf(fe, sizeof(fe), "/local/domain/%d/device/vscsi/%u/vscsi-devs", env.guest, devid);
	for (size_t i = 0; i < sizeof(offered) / sizeof(offered[0]); i++) {
		char path[200];

		snprintf(path, sizeof(path), "%s/%s/p-dev", be, offered[i].dev);
		assert_int_equal(xsu_printf(env.xs0, XBT_NULL, path, "fake"), 0);
		snprintf(path, sizeof(path), "%s/%s/v-dev", be, offered[i].dev);
		assert_int_equal(xsu_printf(env.xs0, XBT_NULL, path, "%s", offered[i].vdev), 0);
		assert_int_equal(xsu_write_uintf(env.xs0, XBT_NULL, 3, "%s/%s/state", be, offered[i].dev), 0);
	}
	h = vscsi_open(devid, &o, err, sizeof(err));
	if (!h)
		fail_msg("open vhost %u: %s", devid, err);
	n = vscsi_get_luns(h, luns, 8);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		assert_true(luns[i].addr.lun == 0 && (luns[i].addr.target == 0 || luns[i].addr.target == 4));
	assert_int_equal(xsu_read_intf(env.xs0, XBT_NULL, -1, "%s/dev-1/state", fe), 6);
	assert_int_equal(xsu_read_intf(env.xs0, XBT_NULL, -1, "%s/dev-2/state", fe), 6);
	assert_int_equal(xsu_read_intf(env.xs0, XBT_NULL, -1, "%s/dev-3/state", fe), 4);
	errno = 0;
	assert_null(xsu_readf(env.xs0, XBT_NULL, "%s/dev-01", fe));
	assert_int_equal(errno, ENOENT);
	vscsi_close(h);
	fakeback_stop(&env, devid, fb);
}

static int setup(void **state)
{
	(void)state;
	return sfenv_start(&env, false);
}

static int teardown(void **state)
{
	(void)state;
	sfenv_stop(&env);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_backend),
		cmocka_unit_test(test_unknown_rqid),
		cmocka_unit_test(test_rqid_out_of_range),
		cmocka_unit_test(test_rqid_16),
		cmocka_unit_test(test_duplicate_rqid),
		cmocka_unit_test(test_sense_len_200),
		cmocka_unit_test(test_sense_len_97),
		cmocka_unit_test(test_sense_len_96),
		cmocka_unit_test(test_rsp_prod_far_ahead),
		cmocka_unit_test(test_residual_clamped),
		cmocka_unit_test(test_swallowed_everything),
		cmocka_unit_test(test_swallowed_abort_succeeds),
		cmocka_unit_test(test_swallowed_reset_succeeds),
		cmocka_unit_test(test_answered_during_abort),
		cmocka_unit_test(test_timeout_on_the_wire),
		cmocka_unit_test(test_noncanonical_names),
	};

	simenv_use_sim_libs(argc, argv);
	sfenv_test_filter();
	return cmocka_run_group_tests(tests, setup, teardown);
}
