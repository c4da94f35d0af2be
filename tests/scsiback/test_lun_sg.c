/* The sg LUN driver without a /dev/sg: its pure parts (status mapping,
 * the sg_io_hdr it builds, how it reads a completion: lun_sg.h),
 * then its async engine through lun.h against a fake sg device, a thread on a SOCK_SEQPACKET pair that
 * reads sg_io_hdr packets, moves data like the kernel would (same
 * process, so the pointers are valid) and writes the header back.
 * Then the same driver with SG_IO threads (sgio.h, as in a guest's
 * worker), the fake standing in for the SG_IO ioctl: it blocks like the
 * kernel's, and a signal ends its wait with EINTR like the kernel's. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <xen/io/vscsiif.h>

#include "evloop.h"
#include "log.h"
#include "lun.h"
#include "lun_open.h"
#include "lun_sg.h"

/* ------------------------------------------------------------------ */
/* pure parts                                                          */

static void test_host_mapping(void **state)
{
	static const struct { unsigned did; uint8_t xen; } map[] = {
		{ DID_OK, XEN_VSCSIIF_RSLT_HOST_OK },
		{ DID_NO_CONNECT, XEN_VSCSIIF_RSLT_HOST_NO_CONNECT },
		{ DID_BUS_BUSY, XEN_VSCSIIF_RSLT_HOST_BUS_BUSY },
		{ DID_TIME_OUT, XEN_VSCSIIF_RSLT_HOST_TIME_OUT },
		{ DID_BAD_TARGET, XEN_VSCSIIF_RSLT_HOST_BAD_TARGET },
		{ DID_ABORT, XEN_VSCSIIF_RSLT_HOST_ABORT },
		{ DID_PARITY, XEN_VSCSIIF_RSLT_HOST_PARITY },
		{ DID_ERROR, XEN_VSCSIIF_RSLT_HOST_ERROR },
		{ DID_RESET, XEN_VSCSIIF_RSLT_HOST_RESET },
		{ DID_BAD_INTR, XEN_VSCSIIF_RSLT_HOST_BAD_INTR },
		{ DID_PASSTHROUGH, XEN_VSCSIIF_RSLT_HOST_PASSTHROUGH },
		{ DID_SOFT_ERROR, XEN_VSCSIIF_RSLT_HOST_SOFT_ERROR },
		{ DID_IMM_RETRY, XEN_VSCSIIF_RSLT_HOST_IMM_RETRY },
		{ DID_REQUEUE, XEN_VSCSIIF_RSLT_HOST_REQUEUE },
		{ DID_TRANSPORT_DISRUPTED, XEN_VSCSIIF_RSLT_HOST_TRANSPORT_DISRUPTED },
		{ DID_TRANSPORT_FAILFAST, XEN_VSCSIIF_RSLT_HOST_TRANSPORT_FAILFAST },
		{ DID_TARGET_FAILURE, XEN_VSCSIIF_RSLT_HOST_TARGET_FAILURE },
		{ DID_NEXUS_FAILURE, XEN_VSCSIIF_RSLT_HOST_NEXUS_FAILURE },
		{ DID_ALLOC_FAILURE, XEN_VSCSIIF_RSLT_HOST_ALLOC_FAILURE },
		{ DID_MEDIUM_ERROR, XEN_VSCSIIF_RSLT_HOST_MEDIUM_ERROR },
		{ DID_TRANSPORT_MARGINAL, XEN_VSCSIIF_RSLT_HOST_TRANSPORT_MARGINAL },
		{ 0x55, XEN_VSCSIIF_RSLT_HOST_ERROR },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		assert_int_equal(lun_sg_host_code(map[i].did, 0), map[i].xen);
	/* the driver byte matters only when the host byte is clean; its
	 * upper nibble (the old "suggest" bits) is ignored */
	assert_int_equal(lun_sg_host_code(0, DRIVER_SENSE), XEN_VSCSIIF_RSLT_HOST_OK);
	assert_int_equal(lun_sg_host_code(0, 0x20 | DRIVER_SENSE), XEN_VSCSIIF_RSLT_HOST_OK);
	assert_int_equal(lun_sg_host_code(0, DRIVER_SOFT), XEN_VSCSIIF_RSLT_HOST_OK);
	assert_int_equal(lun_sg_host_code(0, DRIVER_TIMEOUT), XEN_VSCSIIF_RSLT_HOST_TIME_OUT);
	assert_int_equal(lun_sg_host_code(0, DRIVER_BUSY), XEN_VSCSIIF_RSLT_HOST_BUS_BUSY);
	assert_int_equal(lun_sg_host_code(0, DRIVER_ERROR), XEN_VSCSIIF_RSLT_HOST_ERROR);
	assert_int_equal(lun_sg_host_code(0, DRIVER_INVALID), XEN_VSCSIIF_RSLT_HOST_ERROR);
	assert_int_equal(lun_sg_host_code(0, DRIVER_HARD), XEN_VSCSIIF_RSLT_HOST_ERROR);
	assert_int_equal(lun_sg_host_code(0, DRIVER_MEDIA), XEN_VSCSIIF_RSLT_HOST_ERROR);
	assert_int_equal(lun_sg_host_code(DID_RESET, DRIVER_TIMEOUT), XEN_VSCSIIF_RSLT_HOST_RESET);
}

static void test_fill_hdr(void **state)
{
	uint8_t buf[3000];
	struct iovec iov[3] = { { buf, 1000 }, { buf + 1000, 1000 }, { buf + 2000, 1000 } };
	struct lun_cmd cmd = { .cdb = { 0x28, 0, 0, 0, 0, 1, 0, 0, 6, 0 }, .cdb_len = 10,
			       .dir = LUN_DIR_FROM_DEV, .iov = iov, .iovcnt = 3, .xfer_len = 3000 };
	struct lun_sg_req req = { .cmd = &cmd };
	struct sg_io_hdr h;

	(void)state;
	lun_sg_fill_hdr(&h, &req, 4242, 7);
	assert_int_equal(h.interface_id, 'S');
	assert_int_equal(h.dxfer_direction, SG_DXFER_FROM_DEV);
	assert_int_equal(h.cmd_len, 10);
	assert_ptr_equal(h.cmdp, cmd.cdb);
	assert_int_equal(h.iovec_count, 3);
	assert_ptr_equal(h.dxferp, iov);
	assert_int_equal(h.dxfer_len, 3000);
	assert_int_equal(h.mx_sb_len, LUN_SENSE_MAX);
	assert_ptr_equal(h.sbp, req.sense);
	assert_int_equal(h.timeout, 4242);       /* the device type's default */
	assert_true(h.flags & SG_FLAG_Q_AT_TAIL); /* never sg's head default */
	assert_int_equal(h.pack_id, 7);
	assert_ptr_equal(h.usr_ptr, &req);

	cmd.timeout_ms = 30000;
	cmd.iovcnt = 1;
	cmd.xfer_len = 1000;
	cmd.dir = LUN_DIR_TO_DEV;
	lun_sg_fill_hdr(&h, &req, 4242, 8);
	assert_int_equal(h.timeout, 30000);
	assert_int_equal(h.dxfer_direction, SG_DXFER_TO_DEV);
	assert_int_equal(h.iovec_count, 0);      /* one piece: plain buffer */
	assert_ptr_equal(h.dxferp, buf);

	cmd.xfer_len = 0;
	cmd.iovcnt = 0;
	lun_sg_fill_hdr(&h, &req, 4242, 9);
	assert_int_equal(h.dxfer_direction, SG_DXFER_NONE);
	assert_int_equal(h.dxfer_len, 0);
	assert_null(h.dxferp);

	cmd.xfer_len = 3000;
	cmd.iovcnt = 3;
	req.bounce = buf;
	lun_sg_fill_hdr(&h, &req, 4242, 10);
	assert_int_equal(h.iovec_count, 0);
	assert_ptr_equal(h.dxferp, buf);
	cmd.dir = LUN_DIR_BIDI;
	assert_int_equal(lun_sg_dxfer_dir(&cmd), 0);
}

static void test_fill_result(void **state)
{
	struct lun_cmd cmd = { .dir = LUN_DIR_FROM_DEV, .xfer_len = 4096 };
	struct lun_sg_req req = { .cmd = &cmd };
	struct sg_io_hdr h = { .dxfer_direction = SG_DXFER_FROM_DEV, .status = 0x02,
			       .sb_len_wr = 18, .host_status = 0, .driver_status = DRIVER_SENSE,
			       .resid = 1000 };

	(void)state;
	memset(req.sense, 0, sizeof(req.sense));
	req.sense[0] = 0xf0;
	req.sense[2] = 0x20;   /* ILI */
	req.sense[6] = 0x10;
	lun_sg_fill_result(&req, &h);
	assert_int_equal(cmd.status, 2);
	assert_int_equal(cmd.host, XEN_VSCSIIF_RSLT_HOST_OK);
	assert_int_equal(cmd.sense_len, 18);
	assert_memory_equal(cmd.sense, req.sense, 18);
	assert_int_equal(cmd.resid, 1000);

	h.resid = -5;          /* nonsense from a driver: no residual */
	lun_sg_fill_result(&req, &h);
	assert_int_equal(cmd.resid, 0);
	h.resid = 99999;       /* more missing than asked: the LLD's overflow */
	h.status = 0;
	lun_sg_fill_result(&req, &h);
	assert_int_equal(cmd.host, XEN_VSCSIIF_RSLT_HOST_ERROR);   /* an overrun */
	assert_int_equal(cmd.status, 0);
	assert_int_equal(cmd.resid, 4096);
	h.host_status = DID_SOFT_ERROR;  /* the LLD said what went wrong: kept */
	lun_sg_fill_result(&req, &h);
	assert_int_equal(cmd.host, XEN_VSCSIIF_RSLT_HOST_SOFT_ERROR);
	assert_int_equal(cmd.resid, 4096);
	h.host_status = 0;
	h.status = 0x02;
	h.sb_len_wr = 200;     /* never more than the protocol's 96 */
	h.host_status = DID_TIME_OUT;
	lun_sg_fill_result(&req, &h);
	assert_int_equal(cmd.sense_len, 96);
	assert_int_equal(cmd.host, XEN_VSCSIIF_RSLT_HOST_TIME_OUT);
}

/* ------------------------------------------------------------------ */
/* the async engine against a fake sg device                           */

enum fake_mode { FAKE_ANSWER, FAKE_HOLD };

struct fake {
	int fd;                 /* the device's end */
	pthread_t thread;
	pthread_mutex_t lock;
	enum fake_mode mode;
	int seen;               /* commands received */
	int first_lba[64];      /* READ(10) LBA of each, in arrival order */
	unsigned timeout[64];   /* sg_io_hdr.timeout (ms) of each */
	struct sg_io_hdr held[64];
	int nheld;
	uint8_t inq0;           /* INQUIRY byte 0: qualifier and device type */
	/* with SG_IO threads */
	int drv_fd;             /* the driver's end: which fake an SG_IO is for */
	bool gone;              /* SG_IO answers ENODEV */
	int running, max_running, interrupted;
};

static struct fake *fakes[8];   /* by drv_fd, for fake_sgio */

static void fake_register(struct fake *fk, int drv_fd)
{
	fk->drv_fd = drv_fd;
	for (size_t i = 0; i < sizeof(fakes) / sizeof(*fakes); i++)
		if (!fakes[i]) {
			fakes[i] = fk;
			return;
		}
	fail_msg("too many fake devices");
}

static void fake_unregister(struct fake *fk)
{
	for (size_t i = 0; i < sizeof(fakes) / sizeof(*fakes); i++)
		if (fakes[i] == fk)
			fakes[i] = NULL;
}

/* Answers one command like a disk: READ fills each byte with the LBA,
 * WRITE is taken, INQUIRY says "FAKE DISK" (byte 0 from inq0), anything
 * else gets CHECK CONDITION. */
static void fake_fill(struct fake *f, struct sg_io_hdr *h)
{
	uint8_t *cdb = h->cmdp;

	h->status = 0;
	h->host_status = 0;
	h->driver_status = 0;
	h->sb_len_wr = 0;
	h->resid = 0;
	if (cdb[0] == 0x28 && h->dxfer_direction == SG_DXFER_FROM_DEV) {
		if (h->iovec_count) {
			sg_iovec_t *v = h->dxferp;

			for (int i = 0; i < h->iovec_count; i++)
				memset(v[i].iov_base, cdb[5], v[i].iov_len);
		} else {
			memset(h->dxferp, cdb[5], h->dxfer_len);
		}
		h->resid = 0;
	} else if (cdb[0] == 0x2a || cdb[0] == 0x00) {
		h->resid = 0;
	} else if (cdb[0] == 0x12 && h->dxfer_direction == SG_DXFER_FROM_DEV && !h->iovec_count &&
		   h->dxfer_len >= 36) {
		uint8_t *d = h->dxferp;

		memset(d, 0, h->dxfer_len);
		d[0] = f->inq0;
		d[4] = 31;
		memcpy(d + 8, "FAKE    DISK            0001", 28);
		h->resid = (int)h->dxfer_len - 36;
	} else {
		h->status = 2;
		h->driver_status = DRIVER_SENSE;
		memset(h->sbp, 0, 18);
		h->sbp[0] = 0x70;
		h->sbp[2] = 5;
		h->sbp[7] = 10;
		h->sbp[12] = 0x20;
		h->sb_len_wr = 18;
		h->resid = (int)h->dxfer_len;
	}
}

static void fake_answer(struct fake *f, struct sg_io_hdr *h)
{
	fake_fill(f, h);
	if (write(f->fd, h, sizeof(*h)) != sizeof(*h))
		fprintf(stderr, "fake: write: %s\n", strerror(errno));
}

/* SG_IO on a fake: holds while the fake holds (a signal ends the wait
 * with EINTR, as the kernel's wait_event_interruptible does), ENODEV once
 * gone. */
static int fake_sgio(int fd, struct sg_io_hdr *h)
{
	struct fake *fk = NULL;

	for (size_t i = 0; i < sizeof(fakes) / sizeof(*fakes); i++)
		if (fakes[i] && fakes[i]->drv_fd == fd)
			fk = fakes[i];
	if (!fk) {
		errno = EBADF;
		return -1;
	}
	pthread_mutex_lock(&fk->lock);
	if (fk->seen < 64) {
		fk->first_lba[fk->seen] = ((uint8_t *)h->cmdp)[5];
		fk->timeout[fk->seen] = h->timeout;
	}
	fk->seen++;
	if (++fk->running > fk->max_running)
		fk->max_running = fk->running;
	while (fk->mode == FAKE_HOLD && !fk->gone) {
		pthread_mutex_unlock(&fk->lock);
		if (poll(NULL, 0, 2) < 0 && errno == EINTR) {
			pthread_mutex_lock(&fk->lock);
			fk->interrupted++;
			fk->running--;
			pthread_mutex_unlock(&fk->lock);
			errno = EINTR;
			return -1;
		}
		pthread_mutex_lock(&fk->lock);
	}
	fk->running--;
	if (fk->gone) {
		pthread_mutex_unlock(&fk->lock);
		errno = ENODEV;
		return -1;
	}
	pthread_mutex_unlock(&fk->lock);
	fake_fill(fk, h);
	return 0;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	struct sg_io_hdr h;

	while (read(f->fd, &h, sizeof(h)) == sizeof(h)) {
		pthread_mutex_lock(&f->lock);
		if (f->seen < 64) {
			f->first_lba[f->seen] = ((uint8_t *)h.cmdp)[5];
			f->timeout[f->seen] = h.timeout;
		}
		f->seen++;
		if (f->mode == FAKE_HOLD && f->nheld < 64) {
			f->held[f->nheld++] = h;
			pthread_mutex_unlock(&f->lock);
			continue;
		}
		pthread_mutex_unlock(&f->lock);
		fake_answer(f, &h);
	}
	return NULL;
}

/* Answers everything held, in order. */
static void fake_release(struct fake *f)
{
	pthread_mutex_lock(&f->lock);
	f->mode = FAKE_ANSWER;
	for (int i = 0; i < f->nheld; i++)
		fake_answer(f, &f->held[i]);
	f->nheld = 0;
	pthread_mutex_unlock(&f->lock);
}

/* The device goes away: SG_IO answers ENODEV from now on. */
static void fake_set_gone(struct fake *f)
{
	pthread_mutex_lock(&f->lock);
	f->gone = true;
	pthread_mutex_unlock(&f->lock);
}

/* Drops what is held without answering: the commands' buffers are gone. */
static void fake_forget(struct fake *f)
{
	pthread_mutex_lock(&f->lock);
	f->nheld = 0;
	pthread_mutex_unlock(&f->lock);
}

struct fixture {
	struct evloop *loop;
	struct lun lun;
	struct fake fake;
	bool open;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -1;
	/* the driver's end is non-blocking, like the sg node it opens */
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	f->loop = evloop_new();
	f->lun.loop = f->loop;
	f->fake.fd = sv[1];
	fake_register(&f->fake, sv[0]);
	pthread_mutex_init(&f->fake.lock, NULL);
	if (lun_sg_test_open(&f->lun, sv[0], "/dev/sgFAKE (9:0:0:0)", NULL, 0, "FAKE DISK", NULL))
		return -1;
	f->open = true;
	pthread_create(&f->fake.thread, NULL, fake_main, &f->fake);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fake_release(&f->fake);
	if (f->open)
		lun_close(&f->lun);
	shutdown(f->fake.fd, SHUT_RDWR);
	pthread_join(f->fake.thread, NULL);
	close(f->fake.fd);
	fake_unregister(&f->fake);
	evloop_free(f->loop);
	free(f);
	return 0;
}

struct tcmd {
	struct lun_cmd c;
	int done;
	uint8_t buf[4096];
	struct iovec iov[4];
};

static int tmf_calls, tmf_rslt;

static void on_done(struct lun_cmd *c) { ((struct tcmd *)c)->done++; }
static void on_tmf(void *arg, int rslt) { (void)arg; tmf_calls++; tmf_rslt = rslt; }

static void read10(struct tcmd *t, uint8_t lba, int pieces)
{
	memset(t, 0, sizeof(*t));
	uint8_t cdb[10] = { 0x28, 0, 0, 0, 0, lba, 0, 0, 8, 0 };
	memcpy(t->c.cdb, cdb, 10);
	t->c.cdb_len = 10;
	t->c.dir = LUN_DIR_FROM_DEV;
	t->c.done = on_done;
	for (int i = 0; i < pieces; i++) {
		t->iov[i].iov_base = t->buf + i * (4096 / pieces);
		t->iov[i].iov_len = i == pieces - 1 ? 4096 - (size_t)i * (4096 / (size_t)pieces)
						    : 4096 / (size_t)pieces;
	}
	t->c.iov = t->iov;
	t->c.iovcnt = pieces;
	t->c.xfer_len = 4096;
}

static void wait_for(struct fixture *f, int *flag, int want)
{
	for (int i = 0; i < 200 && *flag < want; i++)
		evloop_run_once(f->loop, 10);
}

static void test_async_read(void **state)
{
	struct fixture *f = *state;
	struct tcmd t;

	assert_int_equal(f->lun.dev_type, 0);
	assert_non_null(strstr(f->lun.desc, "FAKE DISK"));
	read10(&t, 0x5a, 3);
	assert_int_equal(lun_submit(&f->lun, &t.c), 0);
	assert_int_equal(t.done, 0);
	wait_for(f, &t.done, 1);
	assert_int_equal(t.done, 1);
	assert_int_equal(t.c.status, 0);
	assert_int_equal(t.c.host, 0);
	assert_int_equal(t.c.resid, 0);
	for (int i = 0; i < 4096; i++)
		if (t.buf[i] != 0x5a)
			fail_msg("byte %d is 0x%02x", i, t.buf[i]);

	/* a CHECK CONDITION with its sense */
	memset(&t, 0, sizeof(t));
	t.c.cdb[0] = 0x04;
	t.c.cdb_len = 6;
	t.c.dir = LUN_DIR_NONE;
	t.c.done = on_done;
	assert_int_equal(lun_submit(&f->lun, &t.c), 0);
	wait_for(f, &t.done, 1);
	assert_int_equal(t.c.status, 2);
	assert_int_equal(t.c.sense_len, 18);
	assert_int_equal(t.c.sense[12], 0x20);

	/* bidirectional is not in sg v3 */
	read10(&t, 1, 1);
	t.c.dir = LUN_DIR_BIDI;
	assert_int_equal(lun_submit(&f->lun, &t.c), -EOPNOTSUPP);
}

/* Beyond sg's queue the surplus waits here and goes out in order. */
static void test_local_queue_keeps_order(void **state)
{
	struct fixture *f = *state;
	static struct tcmd t[12];
	int done = 0;

	lun_sg_test_set_queue_max(&f->lun, 4);
	f->fake.mode = FAKE_HOLD;
	for (int i = 0; i < 12; i++) {
		read10(&t[i], (uint8_t)(i + 1), 2);
		assert_int_equal(lun_submit(&f->lun, &t[i].c), 0);
	}
	assert_int_equal(lun_sg_test_submitted(&f->lun), 4);
	for (int i = 0; i < 20; i++)
		evloop_run_once(f->loop, 5);
	pthread_mutex_lock(&f->fake.lock);
	assert_int_equal(f->fake.seen, 4);
	pthread_mutex_unlock(&f->fake.lock);
	fake_release(&f->fake);
	for (int k = 0; k < 400 && done < 12; k++) {
		evloop_run_once(f->loop, 10);
		done = 0;
		for (int i = 0; i < 12; i++)
			done += t[i].done;
	}
	assert_int_equal(done, 12);
	for (int i = 0; i < 12; i++) {
		assert_int_equal(f->fake.first_lba[i], i + 1);
		assert_int_equal(t[i].buf[100], i + 1);
	}
}

/* The device holds what it gets, one at a time: a (LBA la) goes to it,
 * b (LBA lb) waits behind it. */
static void submit_two_held(struct fixture *f, struct tcmd *a, uint8_t la, struct tcmd *b, uint8_t lb)
{
	lun_sg_test_set_queue_max(&f->lun, 1);
	f->fake.mode = FAKE_HOLD;
	read10(a, la, 1);
	read10(b, lb, 1);
	assert_int_equal(lun_submit(&f->lun, &a->c), 0);
	assert_int_equal(lun_submit(&f->lun, &b->c), 0);
}

static void test_abort_and_reset(void **state)
{
	struct fixture *f = *state;
	struct tcmd a, b;

	submit_two_held(f, &a, 1, &b, 2);

	/* b never reached the device: dropped, SUCCESS */
	tmf_calls = 0;
	assert_int_equal(lun_abort(&f->lun, &b.c, on_tmf, NULL), 0);
	assert_int_equal(tmf_calls, 0);
	assert_int_equal(b.done, 0);
	wait_for(f, &tmf_calls, 1);
	assert_int_equal(b.done, 1);
	assert_int_equal(b.c.host, XEN_VSCSIIF_RSLT_HOST_ABORT);
	assert_int_equal(tmf_rslt, XEN_VSCSIIF_RSLT_RESET_SUCCESS);

	/* a is in the kernel's hands: sg cannot abort it, says so */
	tmf_calls = 0;
	assert_int_equal(lun_abort(&f->lun, &a.c, on_tmf, NULL), 0);
	wait_for(f, &tmf_calls, 1);
	assert_int_equal(tmf_rslt, XEN_VSCSIIF_RSLT_RESET_FAILED);
	assert_int_equal(a.done, 0);

	/* SG_SCSI_RESET fails on the fake: answered FAILED, honestly */
	tmf_calls = 0;
	assert_int_equal(lun_reset(&f->lun, on_tmf, NULL), 0);
	wait_for(f, &tmf_calls, 1);
	assert_int_equal(tmf_rslt, XEN_VSCSIIF_RSLT_RESET_FAILED);

	fake_release(&f->fake);
	wait_for(f, &a.done, 1);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.c.host, XEN_VSCSIIF_RSLT_HOST_OK);
	assert_int_equal(lun_abort(&f->lun, &a.c, on_tmf, NULL), -ENOENT);
}

/* close() waits a moment for running commands, then answers ABORT. */
static void test_close(void **state)
{
	struct fixture *f = *state;
	struct tcmd a;

	f->fake.mode = FAKE_HOLD;
	read10(&a, 3, 2);
	assert_int_equal(lun_submit(&f->lun, &a.c), 0);
	lun_close(&f->lun);
	f->open = false;
	fake_forget(&f->fake);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.c.host, XEN_VSCSIIF_RSLT_HOST_ABORT);
}

/* The device disappears: running commands end NO_CONNECT, new ones are
 * refused. */
static void test_device_gone(void **state)
{
	struct fixture *f = *state;
	struct tcmd a;

	f->fake.mode = FAKE_HOLD;
	read10(&a, 4, 1);
	assert_int_equal(lun_submit(&f->lun, &a.c), 0);
	for (int i = 0; i < 5; i++)
		evloop_run_once(f->loop, 5);
	shutdown(f->fake.fd, SHUT_RDWR);
	fake_forget(&f->fake);
	wait_for(f, &a.done, 1);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.c.host, XEN_VSCSIIF_RSLT_HOST_NO_CONNECT);
	read10(&a, 5, 1);
	assert_int_equal(lun_submit(&f->lun, &a.c), -ENODEV);
}

/* A second fake device for an open: its driver end, the thread started. */
static int fake_start(struct fake *fk, enum fake_mode mode, uint8_t inq0)
{
	int sv[2];

	memset(fk, 0, sizeof(*fk));
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	fk->fd = sv[1];
	fake_register(fk, sv[0]);
	fk->mode = mode;
	fk->inq0 = inq0;
	pthread_mutex_init(&fk->lock, NULL);
	pthread_create(&fk->thread, NULL, fake_main, fk);
	return sv[0];
}

/* Waits until the fake has taken n commands (and read their CDBs, which
 * the kernel copies at write(): the fake reads them from our memory). */
static void fake_wait_seen(struct fake *fk, int n)
{
	for (int i = 0; i < 400; i++) {
		pthread_mutex_lock(&fk->lock);
		int seen = fk->seen;
		pthread_mutex_unlock(&fk->lock);
		if (seen >= n)
			return;
		usleep(5000);
	}
	fail_msg("the fake device never got command %d", n);
}

static void fake_stop(struct fake *fk)
{
	fake_unregister(fk);
	shutdown(fk->fd, SHUT_RDWR);
	pthread_join(fk->thread, NULL);
	close(fk->fd);
}

static int opened_calls, opened_rc;

static void on_opened(struct lun *lun, int rc)
{
	(void)lun;
	opened_calls++;
	opened_rc = rc;
}

/* lun_open minus the ioctls a socket cannot answer: the fd, then the
 * INQUIRY; cfg as config_lun_settings() gives it (NULL: no [lun] entry). */
static int start_open_cfg(struct fixture *f, struct lun *lun, int fd, const struct lun_config *cfg)
{
	int rc;

	memset(lun, 0, sizeof(*lun));
	lun->loop = f->loop;
	lun->opened = on_opened;
	opened_calls = 0;
	rc = lun_sg_test_open(lun, fd, "/dev/sgFAKE2 (9:0:0:1)", "/dev/sgFAKE2", 0x1f, "", cfg);
	assert_int_equal(opened_calls, 0);   /* never from inside open() */
	return rc;
}

static int start_open(struct fixture *f, struct lun *lun, int fd)
{
	return start_open_cfg(f, lun, fd, NULL);
}

/* The open's INQUIRY goes through the fd and the loop: a device that holds
 * it back holds up only its own LUN, the answer sets the device type. */
static void test_open_inquiry(void **state)
{
	struct fixture *f = *state;
	struct fake fk;
	struct lun lun;
	struct tcmd t;

	assert_int_equal(start_open(f, &lun, fake_start(&fk, FAKE_HOLD, 0x01)), -EINPROGRESS);
	read10(&t, 6, 1);
	assert_int_equal(lun_submit(&lun, &t.c), -ENODEV);   /* not open yet */
	assert_int_equal(lun_submit(&f->lun, &t.c), 0);
	wait_for(f, &t.done, 1);
	assert_int_equal(t.done, 1);       /* the other LUN is served... */
	assert_int_equal(opened_calls, 0); /* ...while this one waits */
	fake_release(&fk);
	wait_for(f, &opened_calls, 1);
	assert_int_equal(opened_calls, 1);
	assert_int_equal(opened_rc, 0);
	assert_int_equal(lun.dev_type, 1);
	assert_string_equal(lun.desc, "sg /dev/sgFAKE2 (9:0:0:1) FAKE     DISK            ");
	/* the type's default follows the INQUIRY: a tape's 4 h (scsiback(8)) */
	assert_int_equal(lun_sg_test_default_timeout(&lun), 4 * 3600 * 1000);
	read10(&t, 7, 1);
	assert_int_equal(lun_submit(&lun, &t.c), 0);
	wait_for(f, &t.done, 1);
	assert_int_equal(t.done, 1);
	assert_int_equal(t.buf[0], 7);
	lun_close(&lun);
	fake_stop(&fk);
}

/* Open failures from the INQUIRY: no logical unit, a device that goes
 * away; and close() while opening, which reports nothing. */
static void test_open_inquiry_failures(void **state)
{
	struct fixture *f = *state;
	struct fake fk;
	struct lun lun;

	assert_int_equal(start_open(f, &lun, fake_start(&fk, FAKE_ANSWER, 0x7f)), -EINPROGRESS);
	wait_for(f, &opened_calls, 1);
	assert_int_equal(opened_calls, 1);
	assert_int_equal(opened_rc, -ENODEV);
	assert_string_equal(lun.error, "lun /dev/sgFAKE2: no logical unit behind it (peripheral qualifier 3)");
	assert_null(lun.priv);             /* the driver let it go */
	lun_close(&lun);            /* a no-op */
	fake_stop(&fk);

	assert_int_equal(start_open(f, &lun, fake_start(&fk, FAKE_HOLD, 0)), -EINPROGRESS);
	fake_wait_seen(&fk, 1);
	/* gone: its socket ends (sg's read), SG_IO answers ENODEV */
	shutdown(fk.fd, SHUT_RDWR);
	fake_set_gone(&fk);
	fake_forget(&fk);
	wait_for(f, &opened_calls, 1);
	assert_int_equal(opened_calls, 1);
	assert_int_equal(opened_rc, -EIO);
	assert_non_null(strstr(lun.error, "lun /dev/sgFAKE2: INQUIRY failed: status 0x00 host 0x01"));
	fake_stop(&fk);

	assert_int_equal(start_open(f, &lun, fake_start(&fk, FAKE_HOLD, 0)), -EINPROGRESS);
	fake_wait_seen(&fk, 1);
	lun_close(&lun);
	fake_forget(&fk);
	for (int i = 0; i < 20; i++)
		evloop_run_once(f->loop, 5);
	assert_int_equal(opened_calls, 0);
	fake_stop(&fk);
}

/* Opens a LUN on a fake device whose INQUIRY says device type type. */
static void open_typed(struct fixture *f, struct lun *lun, struct fake *fk, uint8_t type,
		       const struct lun_config *cfg)
{
	assert_int_equal(start_open_cfg(f, lun, fake_start(fk, FAKE_ANSWER, type), cfg), -EINPROGRESS);
	wait_for(f, &opened_calls, 1);
	assert_int_equal(opened_calls, 1);
	assert_int_equal(opened_rc, 0);
	assert_int_equal(lun->dev_type, type);
}

/* Runs a READ(10) with the given timeout on lun; returns the timeout the
 * device got with it (sg_io_hdr.timeout). */
static unsigned timeout_sent(struct fixture *f, struct lun *lun, struct fake *fk, unsigned ms)
{
	struct tcmd t;
	unsigned got;
	int n;

	read10(&t, 9, 1);
	t.c.timeout_ms = ms;
	assert_int_equal(lun_submit(lun, &t.c), 0);
	wait_for(f, &t.done, 1);
	assert_int_equal(t.done, 1);
	assert_int_equal(t.c.status, 0);
	pthread_mutex_lock(&fk->lock);
	n = fk->seen;
	got = fk->timeout[n - 1];
	pthread_mutex_unlock(&fk->lock);
	assert_int_equal(fk->first_lba[n - 1], 9);   /* that command's */
	return got;
}

/* What a command the guest gives no timeout gets: the default of the
 * device type the INQUIRY reported, the numbers scsiback(8) documents
 * (disks 60 s, optical 120 s, changers 1 h, tapes 4 h, others 15 min),
 * written out here, not asked of the product. */
static void test_default_timeouts_by_type(void **state)
{
	static const struct { uint8_t type; unsigned ms; const char *what; } docs[] = {
		{ 0x00, 60 * 1000, "disk" },
		{ 0x0e, 60 * 1000, "disk (RBC)" },
		{ 0x0c, 60 * 1000, "storage array controller" },
		{ 0x0d, 60 * 1000, "enclosure" },
		{ 0x04, 120 * 1000, "write-once" },
		{ 0x05, 120 * 1000, "CD/DVD" },
		{ 0x07, 120 * 1000, "optical memory" },
		{ 0x08, 3600 * 1000, "changer" },
		{ 0x01, 4 * 3600 * 1000, "tape" },
		{ 0x03, 15 * 60 * 1000, "processor (others)" },
		{ 0x11, 15 * 60 * 1000, "object storage (others)" },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct fake fk;
		struct lun lun;
		unsigned got;

		open_typed(f, &lun, &fk, docs[i].type, NULL);
		got = timeout_sent(f, &lun, &fk, 0);
		if (got != docs[i].ms)
			fail_msg("%s (type 0x%02x): the device got timeout %u ms, documented %u ms",
				 docs[i].what, docs[i].type, got, docs[i].ms);
		lun_close(&lun);
		fake_stop(&fk);
	}
}

/* The guest's timeout goes to the device as is; without one, the LUN's
 * configured timeout replaces the type's default. */
static void test_timeout_guest_and_config(void **state)
{
	struct fixture *f = *state;
	struct lun_config cfg = { .default_timeout_ms = 7000 };
	struct fake fk;
	struct lun lun;

	open_typed(f, &lun, &fk, 0x00, NULL);
	assert_int_equal(timeout_sent(f, &lun, &fk, 45000), 45000);
	assert_int_equal(timeout_sent(f, &lun, &fk, 1000), 1000);
	lun_close(&lun);
	fake_stop(&fk);

	open_typed(f, &lun, &fk, 0x01, &cfg);       /* a tape, 4 h by default */
	assert_int_equal(timeout_sent(f, &lun, &fk, 0), 7000);
	assert_int_equal(timeout_sent(f, &lun, &fk, 2000), 2000);
	lun_close(&lun);
	fake_stop(&fk);
}

static void test_open_errors(void **state)
{
	struct lun lun = { .loop = ((struct fixture *)*state)->loop };

	assert_int_equal(lun_open_str(&lun, "/dev/sg-does-not-exist", NULL), -ENOENT);
	assert_string_equal(lun.error, "lun /dev/sg-does-not-exist: open: No such file or directory");
	assert_int_equal(lun_open_str(&lun, "/dev/null", NULL), -ENODEV);
	assert_non_null(strstr(lun.error, "not an sg v3 device"));
	assert_int_equal(lun_open_str(&lun, "3:0:0:0", NULL), -EINVAL);
}

/* ------------------------------------------------------------------ */
/* with SG_IO threads                                                  */

#define TEST_SG_THREADS 4

static int threads_up(void **state)
{
	char err[200];

	(void)state;
	sgio_test_set_ioctl(fake_sgio);
	return sgio_start(TEST_SG_THREADS, err, sizeof(err)) == 0 && sgio_threads() == TEST_SG_THREADS ? 0 : -1;
}

static int threads_down(void **state)
{
	(void)state;
	sgio_stop();
	sgio_test_set_ioctl(NULL);
	return sgio_threads() ? -1 : 0;
}

static int fake_get(struct fake *fk, const int *field)
{
	int v;

	pthread_mutex_lock(&fk->lock);
	v = *field;
	pthread_mutex_unlock(&fk->lock);
	return v;
}

static void wait_fake(struct fixture *f, struct fake *fk, const int *field, int want)
{
	for (int i = 0; i < 400 && fake_get(fk, field) < want; i++)
		evloop_run_once(f->loop, 5);
	assert_int_equal(fake_get(fk, field), want);
}

static int count_done(struct tcmd *t, int n)
{
	int done = 0;

	for (int i = 0; i < n; i++)
		done += t[i].done;
	return done;
}

/* A disk: as many commands at once as there are threads, the rest wait;
 * each answer lands in its own command's buffers. */
static void test_threads_disk_at_once(void **state)
{
	struct fixture *f = *state;
	static struct tcmd t[12];

	f->fake.mode = FAKE_HOLD;
	for (int i = 0; i < 12; i++) {
		read10(&t[i], (uint8_t)(i + 1), 3);
		assert_int_equal(lun_submit(&f->lun, &t[i].c), 0);
	}
	wait_fake(f, &f->fake, &f->fake.running, TEST_SG_THREADS);
	for (int i = 0; i < 20; i++)
		evloop_run_once(f->loop, 5);
	assert_int_equal(fake_get(&f->fake, &f->fake.seen), TEST_SG_THREADS);
	assert_int_equal(count_done(t, 12), 0);
	fake_release(&f->fake);
	for (int k = 0; k < 400 && count_done(t, 12) < 12; k++)
		evloop_run_once(f->loop, 10);
	assert_int_equal(count_done(t, 12), 12);
	assert_int_equal(f->fake.max_running, TEST_SG_THREADS);
	for (int i = 0; i < 12; i++) {
		assert_int_equal(t[i].c.host, XEN_VSCSIIF_RSLT_HOST_OK);
		for (int b = 0; b < 4096; b += 511)
			if (t[i].buf[b] != i + 1)
				fail_msg("command %d byte %d is %d", i, b, t[i].buf[b]);
	}
}

/* A tape gets its commands one at a time, in the guest's order, though
 * four threads are free (two at once could swap on their way in). */
static void test_threads_tape_in_order(void **state)
{
	struct fixture *f = *state;
	static struct tcmd t[6];
	struct fake fk;
	struct lun lun;

	open_typed(f, &lun, &fk, 0x01, NULL);
	assert_int_equal(fake_get(&fk, &fk.seen), 1);     /* the INQUIRY */
	pthread_mutex_lock(&fk.lock);
	fk.mode = FAKE_HOLD;
	pthread_mutex_unlock(&fk.lock);
	for (int i = 0; i < 6; i++) {
		read10(&t[i], (uint8_t)(i + 1), 1);
		assert_int_equal(lun_submit(&lun, &t[i].c), 0);
	}
	wait_fake(f, &fk, &fk.seen, 2);
	for (int i = 0; i < 20; i++)
		evloop_run_once(f->loop, 5);
	assert_int_equal(fake_get(&fk, &fk.seen), 2);
	fake_release(&fk);
	for (int k = 0; k < 400 && count_done(t, 6) < 6; k++)
		evloop_run_once(f->loop, 10);
	assert_int_equal(count_done(t, 6), 6);
	assert_int_equal(fk.max_running, 1);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(fk.first_lba[i + 1], i + 1);
		assert_int_equal(t[i].buf[0], i + 1);
	}
	lun_close(&lun);
	fake_stop(&fk);
}

/* close() interrupts the LUN's commands in the threads (ABORT, nothing
 * copied back), takes back those still waiting for a thread, and leaves
 * another LUN's commands alone; no signal is left over to end a later
 * command. */
static void test_threads_close(void **state)
{
	struct fixture *f = *state;
	static struct tcmd a[TEST_SG_THREADS], b, c;
	struct fake fk;
	struct lun lun;

	open_typed(f, &lun, &fk, 0x00, NULL);
	/* the fixture's LUN holds every thread... */
	f->fake.mode = FAKE_HOLD;
	for (int i = 0; i < TEST_SG_THREADS; i++) {
		read10(&a[i], (uint8_t)(0x40 + i), 2);
		assert_int_equal(lun_submit(&f->lun, &a[i].c), 0);
	}
	wait_fake(f, &f->fake, &f->fake.running, TEST_SG_THREADS);
	/* ...so this one waits for a thread: closing takes it back */
	read10(&b, 0x11, 1);
	assert_int_equal(lun_submit(&lun, &b.c), 0);
	lun_close(&lun);
	assert_int_equal(b.done, 1);
	assert_int_equal(b.c.host, XEN_VSCSIIF_RSLT_HOST_ABORT);
	assert_int_equal(fake_get(&fk, &fk.interrupted), 0);
	assert_int_equal(fake_get(&f->fake, &f->fake.interrupted), 0);
	assert_int_equal(count_done(a, TEST_SG_THREADS), 0);
	fake_stop(&fk);

	/* the running ones: interrupted, answered ABORT, buffers untouched */
	memset(a[0].buf, 0xee, sizeof(a[0].buf));
	lun_close(&f->lun);
	f->open = false;
	assert_int_equal(count_done(a, TEST_SG_THREADS), TEST_SG_THREADS);
	for (int i = 0; i < TEST_SG_THREADS; i++)
		assert_int_equal(a[i].c.host, XEN_VSCSIIF_RSLT_HOST_ABORT);
	assert_int_equal(fake_get(&f->fake, &f->fake.interrupted), TEST_SG_THREADS);
	assert_int_equal(a[0].buf[0], 0xee);

	/* the threads serve the next LUN, every command to its end */
	open_typed(f, &lun, &fk, 0x00, NULL);
	for (int i = 0; i < 50; i++) {
		read10(&c, (uint8_t)i, 1);
		assert_int_equal(lun_submit(&lun, &c.c), 0);
		wait_for(f, &c.done, 1);
		assert_int_equal(c.done, 1);
		assert_int_equal(c.c.host, XEN_VSCSIIF_RSLT_HOST_OK);
		assert_int_equal(c.buf[4095], i);
	}
	assert_int_equal(fake_get(&fk, &fk.interrupted), 0);
	lun_close(&lun);
	fake_stop(&fk);
}

/* SG_IO answers ENODEV: the command ends NO_CONNECT, so does what waited
 * behind it, and new ones are refused. */
static void test_threads_device_gone(void **state)
{
	struct fixture *f = *state;
	struct tcmd a, b;

	submit_two_held(f, &a, 4, &b, 5);
	wait_fake(f, &f->fake, &f->fake.running, 1);
	fake_set_gone(&f->fake);
	wait_for(f, &b.done, 1);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.c.host, XEN_VSCSIIF_RSLT_HOST_NO_CONNECT);
	assert_int_equal(b.done, 1);
	assert_int_equal(b.c.host, XEN_VSCSIIF_RSLT_HOST_NO_CONNECT);
	assert_int_equal(fake_get(&f->fake, &f->fake.seen), 1);
	read10(&a, 6, 1);
	assert_int_equal(lun_submit(&f->lun, &a.c), -ENODEV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_mapping),
		cmocka_unit_test(test_fill_hdr),
		cmocka_unit_test(test_fill_result),
		cmocka_unit_test_setup_teardown(test_async_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_queue_keeps_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_inquiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_inquiry_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_timeouts_by_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_guest_and_config, setup, teardown),
	};
	const struct CMUnitTest threaded[] = {
		cmocka_unit_test_setup_teardown(test_async_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_disk_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_tape_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_device_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_inquiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_inquiry_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_guest_and_config, setup, teardown),
	};
	int failed;

	log_init("test_lun_sg", LOG_LVL_WARN, false);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	return failed + cmocka_run_group_tests_name("with SG_IO threads", threaded, threads_up, threads_down);
}
