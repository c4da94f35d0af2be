/* The null LUN driver: answers, zeros, sense, and asynchronous batched
 * completion through the event loop. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xen/io/vscsiif.h>

#include "evloop.h"
#include "log.h"
#include "lun.h"
#include "lun_open.h"

struct fixture {
	struct evloop *loop;
	struct lun lun;
};

struct tcmd {
	struct lun_cmd c;
	int done;
	uint8_t buf[8192];
	struct iovec iov[4];
};

static int tmf_rslt;
static int tmf_calls;

static void on_done(struct lun_cmd *c)
{
	struct tcmd *t = (struct tcmd *)c;

	t->done++;
}

static void on_tmf(void *arg, int rslt)
{
	(void)arg;
	tmf_rslt = rslt;
	tmf_calls++;
}

static void cmd_init(struct tcmd *t, const uint8_t *cdb, int cdb_len, enum lun_dir dir, size_t len)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->c.cdb, cdb, (size_t)cdb_len);
	t->c.cdb_len = (uint8_t)cdb_len;
	t->c.dir = dir;
	t->c.done = on_done;
	if (len) {
		memset(t->buf, 0xaa, sizeof(t->buf));
		/* three uneven pieces, to check the copy across iovecs */
		size_t a = len / 3 + 1, b = len / 3;
		t->iov[0] = (struct iovec){ t->buf, a };
		t->iov[1] = (struct iovec){ t->buf + a, b };
		t->iov[2] = (struct iovec){ t->buf + a + b, len - a - b };
		t->c.iov = t->iov;
		t->c.iovcnt = 3;
		t->c.xfer_len = len;
	}
}

static void run_until(struct fixture *f, int *flag, int want)
{
	for (int i = 0; i < 100 && *flag < want; i++)
		evloop_run_once(f->loop, 100);
}

static void run_cmd(struct fixture *f, struct tcmd *t)
{
	assert_int_equal(lun_submit(&f->lun, &t->c), 0);
	assert_int_equal(t->done, 0);   /* never inside submit */
	run_until(f, &t->done, 1);
	assert_int_equal(t->done, 1);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->loop = evloop_new();
	f->lun.loop = f->loop;
	if (lun_open_str(&f->lun, "null:disk", NULL) || f->lun.ops != &lun_null_ops) {
		fprintf(stderr, "open: %s\n", f->lun.error);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	lun_close(&f->lun);
	evloop_free(f->loop);
	free(f);
	return 0;
}

static void test_open_bad(void **state)
{
	struct lun lun = { .loop = ((struct fixture *)*state)->loop };

	assert_int_equal(lun_open_str(&lun, "null:tape", NULL), -EINVAL);
	assert_non_null(strstr(lun.error, "unknown null kind"));
	assert_int_equal(lun_open_str(&lun, "null:", NULL), -EINVAL);
	assert_non_null(strstr(lun.error, "missing kind"));
}

static void test_inquiry(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[6] = { 0x12, 0, 0, 0, 96, 0 };
	struct tcmd t;

	assert_int_equal(f->lun.dev_type, 0);
	cmd_init(&t, cdb, 6, LUN_DIR_FROM_DEV, 96);
	run_cmd(f, &t);
	assert_int_equal(t.c.host, XEN_VSCSIIF_RSLT_HOST_OK);
	assert_int_equal(t.c.status, 0);
	assert_int_equal(t.c.resid, 96 - 36);
	assert_int_equal(t.buf[0], 0x00);
	assert_int_equal(t.buf[4], 31);
	assert_memory_equal(t.buf + 8, "VSCSI   ", 8);
	assert_memory_equal(t.buf + 16, "NULL-LUN        ", 16);
	assert_int_equal(t.buf[36], 0xaa);   /* nothing past the answer */

	/* allocation length shorter than the answer */
	cdb[4] = 10;
	cmd_init(&t, cdb, 6, LUN_DIR_FROM_DEV, 96);
	run_cmd(f, &t);
	assert_int_equal(t.c.resid, 86);
	assert_int_equal(t.buf[10], 0xaa);

	/* VPD page 0x80 is there, 0xb9 is not */
	uint8_t vpd[6] = { 0x12, 1, 0x80, 0, 64, 0 };
	cmd_init(&t, vpd, 6, LUN_DIR_FROM_DEV, 64);
	run_cmd(f, &t);
	assert_int_equal(t.c.status, 0);
	assert_int_equal(t.buf[1], 0x80);
	vpd[2] = 0xb9;
	cmd_init(&t, vpd, 6, LUN_DIR_FROM_DEV, 64);
	run_cmd(f, &t);
	assert_int_equal(t.c.status, 2);
	assert_int_equal(t.c.sense[12], 0x24);
}

static void test_read_capacity(void **state)
{
	struct fixture *f = *state;
	uint8_t rc10[10] = { 0x25 };
	uint8_t rc16[16] = { 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0 };
	struct tcmd t;

	cmd_init(&t, rc10, 10, LUN_DIR_FROM_DEV, 8);
	run_cmd(f, &t);
	assert_int_equal(t.c.status, 0);
	assert_int_equal(t.c.resid, 0);
	uint8_t want10[8] = { 0x7f, 0xff, 0xff, 0xff, 0, 0, 2, 0 };
	assert_memory_equal(t.buf, want10, 8);

	cmd_init(&t, rc16, 16, LUN_DIR_FROM_DEV, 32);
	run_cmd(f, &t);
	assert_int_equal(t.c.status, 0);
	uint8_t want16[12] = { 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 2, 0 };
	assert_memory_equal(t.buf, want16, 12);
}

static void test_read_zeros_write_dropped(void **state)
{
	struct fixture *f = *state;
	uint8_t rd[10] = { 0x28, 0, 0, 0, 0, 100, 0, 0, 8, 0 };
	uint8_t wr[10] = { 0x2a, 0, 0, 0, 0, 100, 0, 0, 8, 0 };
	uint8_t zero[4096] = { 0 };
	struct tcmd t;

	cmd_init(&t, rd, 10, LUN_DIR_FROM_DEV, 4096);
	run_cmd(f, &t);
	assert_int_equal(t.c.status, 0);
	assert_int_equal(t.c.resid, 0);
	assert_memory_equal(t.buf, zero, 4096);
	assert_int_equal(t.buf[4096], 0xaa);

	/* buffer larger than the blocks asked for: residual */
	rd[8] = 2;
	cmd_init(&t, rd, 10, LUN_DIR_FROM_DEV, 4096);
	run_cmd(f, &t);
	assert_int_equal(t.c.resid, 4096 - 1024);
	assert_memory_equal(t.buf, zero, 1024);
	assert_int_equal(t.buf[1024], 0xaa);

	cmd_init(&t, wr, 10, LUN_DIR_TO_DEV, 4096);
	run_cmd(f, &t);
	assert_int_equal(t.c.status, 0);
	assert_int_equal(t.c.resid, 0);

	/* more blocks asked than the buffer holds: a data overrun */
	rd[8] = 16;
	cmd_init(&t, rd, 10, LUN_DIR_FROM_DEV, 4096);
	run_cmd(f, &t);
	assert_int_equal(t.c.host, XEN_VSCSIIF_RSLT_HOST_ERROR);
	assert_int_equal(t.c.resid, 4096);
	assert_int_equal(t.buf[0], 0xaa);
	wr[8] = 16;
	cmd_init(&t, wr, 10, LUN_DIR_TO_DEV, 4096);
	run_cmd(f, &t);
	assert_int_equal(t.c.host, XEN_VSCSIIF_RSLT_HOST_ERROR);

	/* past the end: LOGICAL BLOCK ADDRESS OUT OF RANGE */
	uint8_t rd16[16] = { 0x88, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0 };
	cmd_init(&t, rd16, 16, LUN_DIR_FROM_DEV, 512);
	run_cmd(f, &t);
	assert_int_equal(t.c.status, 2);
	assert_int_equal(t.c.sense[2] & 0x0f, 5);
	assert_int_equal(t.c.sense[12], 0x21);
}

static void test_unsupported_opcode(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[6] = { 0x04 /* FORMAT UNIT */ };
	struct tcmd t;

	cmd_init(&t, cdb, 6, LUN_DIR_NONE, 0);
	run_cmd(f, &t);
	assert_int_equal(t.c.host, XEN_VSCSIIF_RSLT_HOST_OK);
	assert_int_equal(t.c.status, 2);
	assert_int_equal(t.c.sense_len, 18);
	assert_int_equal(t.c.sense[0], 0x70);
	assert_int_equal(t.c.sense[2], 0x05);   /* ILLEGAL REQUEST */
	assert_int_equal(t.c.sense[7], 10);
	assert_int_equal(t.c.sense[12], 0x20);  /* INVALID COMMAND OPERATION CODE */
	assert_int_equal(t.c.sense[13], 0x00);

	uint8_t tur[6] = { 0 };
	cmd_init(&t, tur, 6, LUN_DIR_NONE, 0);
	run_cmd(f, &t);
	assert_int_equal(t.c.status, 0);
	assert_int_equal(t.c.sense_len, 0);
}

/* Many commands, including ones submitted from completions, finish in a
 * handful of loop rounds: completions are batched. */
static struct fixture *chain_f;
static int chain_left, chain_done;
static struct lun_cmd chain_cmds[64];

static void chain_done_cb(struct lun_cmd *c)
{
	chain_done++;
	if (chain_left > 0) {
		chain_left--;
		assert_int_equal(lun_submit(&chain_f->lun, c), 0);
	}
}

static void test_batched_completion(void **state)
{
	struct fixture *f = *state;
	int rounds = 0;

	chain_f = f;
	chain_left = 64 * 99;
	chain_done = 0;
	for (int i = 0; i < 64; i++) {
		memset(&chain_cmds[i], 0, sizeof(chain_cmds[i]));
		chain_cmds[i].cdb_len = 6;
		chain_cmds[i].dir = LUN_DIR_NONE;
		chain_cmds[i].done = chain_done_cb;
		assert_int_equal(lun_submit(&f->lun, &chain_cmds[i]), 0);
	}
	assert_int_equal(chain_done, 0);
	while (chain_done < 6400 && rounds < 1000) {
		evloop_run_once(f->loop, 100);
		rounds++;
	}
	assert_int_equal(chain_done, 6400);
	/* 8 batches per eventfd read: 100 generations need ~13 rounds */
	assert_true(rounds <= 20);
}

static void test_abort_reset_close(void **state)
{
	struct fixture *f = *state;
	uint8_t tur[6] = { 0 };
	struct tcmd a, b;

	cmd_init(&a, tur, 6, LUN_DIR_NONE, 0);
	cmd_init(&b, tur, 6, LUN_DIR_NONE, 0);
	assert_int_equal(lun_submit(&f->lun, &a.c), 0);
	assert_int_equal(lun_submit(&f->lun, &b.c), 0);
	tmf_calls = 0;
	assert_int_equal(lun_abort(&f->lun, &a.c, on_tmf, NULL), 0);
	assert_int_equal(tmf_calls, 0);
	run_until(f, &tmf_calls, 1);
	assert_int_equal(tmf_rslt, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.c.host, XEN_VSCSIIF_RSLT_HOST_ABORT);
	assert_int_equal(b.done, 1);
	assert_int_equal(b.c.host, XEN_VSCSIIF_RSLT_HOST_OK);
	/* not in flight any more */
	assert_int_equal(lun_abort(&f->lun, &a.c, on_tmf, NULL), -ENOENT);

	cmd_init(&a, tur, 6, LUN_DIR_NONE, 0);
	assert_int_equal(lun_submit(&f->lun, &a.c), 0);
	tmf_calls = 0;
	assert_int_equal(lun_reset(&f->lun, on_tmf, NULL), 0);
	run_until(f, &tmf_calls, 1);
	assert_int_equal(tmf_rslt, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
	assert_int_equal(a.c.host, XEN_VSCSIIF_RSLT_HOST_RESET);

	/* close completes what is queued, synchronously */
	struct lun lun = { .loop = f->loop };
	assert_int_equal(lun_open_str(&lun, "null:disk", NULL), 0);
	cmd_init(&a, tur, 6, LUN_DIR_NONE, 0);
	assert_int_equal(lun_submit(&lun, &a.c), 0);
	lun_close(&lun);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.c.host, XEN_VSCSIIF_RSLT_HOST_ABORT);
	evloop_run_once(f->loop, 0);   /* nothing left registered for it */
}

/* Which driver serves each p-dev form: pdev_resolve classifies it once
 * (tests/common/test_pdev checks the forms themselves, "3:0:1:2" and
 * "/dev/sg7" included), lun_open picks by the kind. */
static void test_driver_for(void **state)
{
	struct pdev_info info;
	char err[256];

	(void)state;
	assert_int_equal(pdev_resolve("iscsi://h/iqn.a:b/1", NULL, &info, err, sizeof(err)), 0);
	assert_ptr_equal(lun_driver_for(info.kind), &lun_iscsi_ops);
	assert_int_equal(pdev_resolve("null:disk", NULL, &info, err, sizeof(err)), 0);
	assert_ptr_equal(lun_driver_for(info.kind), &lun_null_ops);
	assert_ptr_equal(lun_driver_for(PDEV_SG), &lun_sg_ops);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_driver_for),
		cmocka_unit_test(test_open_bad),
		cmocka_unit_test(test_inquiry),
		cmocka_unit_test(test_read_capacity),
		cmocka_unit_test(test_read_zeros_write_dropped),
		cmocka_unit_test(test_unsupported_opcode),
		cmocka_unit_test(test_batched_completion),
		cmocka_unit_test(test_abort_reset_close),
	};

	log_init("test_lun_null", LOG_LVL_WARN, false);
	return cmocka_run_group_tests(tests, setup, teardown);
}
