/* libvscsifront against scsiback with null LUNs in the simulator: connect,
 * enumerate, commands sync / async / from threads / from an event loop,
 * direct and indirect transfers, queueing beyond the ring, hotplug seen by
 * the application, a second opener refused, a dead owner taken over, the
 * backend killed (errors, not hangs; it comes back), and the backend
 * closing mid-I/O followed by a reopen. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "be_fields.h"

#include "daemon.h"
#include "sfenv.h"
#include "toolstack.h"
#include "vscsifront.h"
#include "scsifront/vf_internal.h"   /* the ring's rsp_event */

static struct sfenv env;
static struct vscsi_host *host;
static const struct vscsi_addr lun0 = { 0, 0, 0 }, lun1 = { 0, 0, 1 };

/* Events seen by the application. */
static struct {
	int added, removed, disconnected, failed;
	struct vscsi_lun_info last;
	char msg[256];
} seen;

static void on_event(struct vscsi_host *h, const struct vscsi_event *ev, void *priv)
{
	(void)h;
	(void)priv;
	switch (ev->type) {
	case VSCSI_EVENT_LUN_ADDED: seen.added++; break;
	case VSCSI_EVENT_LUN_REMOVED: seen.removed++; break;
	case VSCSI_EVENT_DISCONNECTED: seen.disconnected++; break;
	case VSCSI_EVENT_FAILED: seen.failed++; break;
	}
	seen.last = ev->lun;
	snprintf(seen.msg, sizeof(seen.msg), "%s", ev->message);
}

static struct vscsi_host *open_host(unsigned devid, unsigned cmd_timeout_ms)
{
	struct vscsi_opts o = { .event_cb = on_event, .cmd_timeout_ms = cmd_timeout_ms,
				.poll_us = -1 };
	char err[256];
	struct vscsi_host *h = vscsi_open(devid, &o, err, sizeof(err));

	if (!h)
		fail_msg("vscsi_open(%u): %s", devid, err);
	return h;
}

static void check_good(const struct vscsi_task *t)
{
	assert_non_null(t);
	if (!vscsi_task_good(t))
		fail_msg("task 0x%02x: error %d (%s), status 0x%x, host 0x%x", t->cdb[0], t->error,
			 t->errmsg, t->status, t->host_status);
}

/* Whether scsiback's last "connected" line for vhost devid of our domain
 * says it maps the pool (its log, not our own view: what it does). */
static bool backend_maps_pool(unsigned devid)
{
	char want[96], line[1024];
	bool found = false, mapped = false;
	FILE *f;

	snprintf(want, sizeof(want), "vhost %d/%u: connected to domain %d (", env.guest, devid, env.guest);
	for (int waited = 0; !found && waited < 5000; waited += 100) {
		f = fopen(env.logfile, "r");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f))
			if (strstr(line, want)) {
				found = true;
				mapped = strstr(line, ", persistent grants)") != NULL;
			}
		fclose(f);
		if (!found)
			usleep(100000);
	}
	if (!found)
		fail_msg("no \"%s\" in %s", want, env.logfile);
	return mapped;
}

static void test_connect_and_enumerate(void **state)
{
	struct vscsi_lun_info luns[8];
	struct vscsi_host_info info;
	size_t n;

	(void)state;
	assert_int_equal(vscsi_get_state(host), VSCSI_HOST_CONNECTED);
	n = vscsi_get_luns(host, luns, 8);
	assert_int_equal(n, 2);
	assert_int_equal(luns[0].addr.lun, 0);
	assert_int_equal(luns[1].addr.lun, 1);
	for (size_t i = 0; i < n; i++) {
		assert_true(luns[i].inquiry_ok);
		assert_int_equal(luns[i].dev_type, 0);
		assert_string_equal(luns[i].vendor, "VSCSI");
		assert_string_equal(luns[i].pdev, "null:disk");
		assert_int_equal(luns[i].vhost, 0);
	}
	assert_int_equal(seen.added, 2);
	vscsi_get_info(host, &info);
	assert_int_equal(info.devid, 0);
	assert_int_equal(info.domid, env.guest);
	assert_int_equal(info.backend_domid, 0);
	assert_int_equal(info.feature_sg_grant, 4096);
	/* The default pool (512 pages) bounds a command below the backend. */
	assert_int_equal(info.pool_pages, 512);
	assert_int_equal(info.max_segments, 512);
	assert_int_equal(info.max_transfer, 2 * 1024 * 1024);
	assert_int_equal(info.ring_slots, 16);
	assert_true(vscsi_host_persistent(host));   /* both sides offer it */
	assert_true(backend_maps_pool(0));
	assert_int_equal(vscsi_find_lun(host, &lun1, NULL), 0);
	{
		struct vscsi_addr none = { 0, 5, 0 };

		assert_int_equal(vscsi_find_lun(host, &none, NULL), -ENOENT);
	}
}

static void test_sync_helpers(void **state)
{
	struct vscsi_task *t;
	uint8_t *d;

	(void)state;
	t = vscsi_testunitready_sync(host, &lun0);
	check_good(t);
	vscsi_task_free(t);

	/* 96 bytes asked, fewer sent: SPC says how many (ADDITIONAL LENGTH
	 * + 5, 36 for the null LUN); the rest is residual and the
	 * application's buffer past the data is left alone. */
	{
		static const uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 };
		uint8_t b[96];
		size_t sent;

		memset(b, 0xee, sizeof(b));
		t = vscsi_command_sync(host, &lun0, inq, 6, VSCSI_XFER_READ, b, sizeof(b));
		check_good(t);
		assert_int_equal(b[0] & 0x1f, 0);
		assert_memory_equal(b + 8, "VSCSI   ", 8);
		sent = (size_t)b[4] + 5;
		assert_int_equal(sent, 36);
		assert_int_equal(t->xfer_done, sent);
		assert_int_equal(t->residual, 96 - sent);
		for (size_t i = sent; i < sizeof(b); i++)
			if (b[i] != 0xee)
				fail_msg("byte %zu, past the %zu sent, is 0x%02x", i, sent, b[i]);
		vscsi_task_free(t);
	}

	/* Supported VPD pages: its own code, then PAGE LENGTH entries, which
	 * list 0x00 itself and the serial number page. */
	t = vscsi_inquiry_sync(host, &lun0, true, 0x00, 255);
	check_good(t);
	d = t->buf;
	assert_int_equal(d[1], 0x00);
	assert_int_equal(t->xfer_done, 4 + d[3]);
	assert_int_equal(t->residual, 255 - (4 + d[3]));
	assert_non_null(memchr(d + 4, 0x00, d[3]));
	assert_non_null(memchr(d + 4, 0x80, d[3]));
	vscsi_task_free(t);

	/* The null LUN is a 1 TiB disk of 512-byte blocks (scsiback(8));
	 * READ CAPACITY(16) parameter data is 32 bytes (SBC). */
	t = vscsi_readcapacity16_sync(host, &lun1);
	check_good(t);
	d = t->buf;
	assert_int_equal(t->xfer_done, 32);
	/* RETURNED LOGICAL BLOCK ADDRESS: the last */
	assert_int_equal(sg_get_unaligned_be64(d), (1ull << 40) / 512 - 1);
	assert_int_equal(sg_get_unaligned_be32(d + 8), 512);
	vscsi_task_free(t);

	/* REPORT LUNS lists the two mapped LUNs, 8 bytes each after the
	 * 8-byte header (SPC), in single-level LUN format. */
	t = vscsi_reportluns_sync(host, &lun0, 0, 256);
	check_good(t);
	d = t->buf;
	assert_int_equal(d[3], 16); /* two LUNs */
	assert_int_equal(t->xfer_done, 8 + 16);
	assert_memory_equal(d + 8, ((const uint8_t[16]){ 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }), 16);
	vscsi_task_free(t);

	/* An unmapped LUN: CHECK CONDITION, LOGICAL UNIT NOT SUPPORTED. */
	{
		struct vscsi_addr none = { 0, 0, 9 };
		uint8_t key, asc;

		t = vscsi_testunitready_sync(host, &none);
		assert_non_null(t);
		assert_int_equal(t->error, 0);
		assert_int_equal(t->status, VSCSI_STATUS_CHECK_CONDITION);
		assert_true(vscsi_task_sense(t, &key, &asc, NULL));
		assert_int_equal(key, 5);
		assert_int_equal(asc, 0x25);
		vscsi_task_free(t);
	}
}

static void read_zeros(size_t len)
{
	uint8_t *buf = malloc(len + 16);
	struct vscsi_task *t;

	memset(buf, 0xaa, len + 16);
	t = vscsi_read16_sync(host, &lun0, 0, (uint32_t)(len / 512), 512, buf);
	check_good(t);
	assert_int_equal(t->xfer_done, len);
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			fail_msg("byte %zu of %zu is 0x%02x", i, len, buf[i]);
	assert_int_equal(buf[len], 0xaa);
	vscsi_task_free(t);
	free(buf);
}

static void test_direct_and_indirect(void **state)
{
	uint8_t *buf;
	struct vscsi_task *t;

	(void)state;
	read_zeros(512);
	read_zeros(26 * 4096);     /* the most direct segments */
	read_zeros(27 * 4096);     /* the first indirect size */
	read_zeros(1024 * 1024);
	read_zeros(2 * 1024 * 1024);   /* 512 segments: the pool's limit, one table page */
	buf = calloc(1, 2 * 1024 * 1024 + 4096);
	t = vscsi_write16_sync(host, &lun0, 0, 4096, 512, buf);
	check_good(t);
	assert_int_equal(t->residual, 0);           /* the disk took all of it */
	assert_int_equal(t->xfer_done, 2 * 1024 * 1024);
	vscsi_task_free(t);
	/* One page past the limit is refused before it reaches the ring. */
	t = vscsi_task_new(&lun0, (const uint8_t[16]){ 0x88 }, 16, VSCSI_XFER_READ, buf,
			   2 * 1024 * 1024 + 4096);
	assert_int_equal(vscsi_task_submit(host, t, NULL, NULL), -E2BIG);
	vscsi_task_free(t);
	free(buf);
}

/* A frontend that does not offer feature-persistent (VSCSI_OPEN_NO_PERSISTENT,
 * as Linux's does not) is served by grant copy: data still lands. */
static void test_without_persistent_grants(void **state)
{
	struct vscsi_opts o = { .event_cb = on_event, .poll_us = -1, .flags = VSCSI_OPEN_NO_PERSISTENT };
	struct vscsi_task *t;
	struct vscsi_host *h;
	uint8_t b[128 * 1024];
	char err[256];

	(void)state;
	assert_int_equal(sfenv_attach(&env, "null:disk", "6:0:0:0"), 0);
	h = vscsi_open(6, &o, err, sizeof(err));
	if (!h)
		fail_msg("vscsi_open(6): %s", err);
	assert_false(vscsi_host_persistent(h));
	assert_false(backend_maps_pool(6));
	memset(b, 0xaa, sizeof(b));
	t = vscsi_read16_sync(h, &lun0, 0, sizeof(b) / 512, 512, b);
	check_good(t);
	for (size_t i = 0; i < sizeof(b); i++)
		if (b[i])
			fail_msg("byte %zu is 0x%02x, not 0", i, b[i]);
	vscsi_task_free(t);
	vscsi_close(h);
}

/* Zero-copy buffers (vscsi_buf_alloc): pool pages the application fills
 * and reads in place; a task using one from a page boundary moves its
 * data there. They leave the pool for other commands until freed. */
static void test_zero_copy_buffers(void **state)
{
	const size_t len = 256 * 1024;
	struct vscsi_host_info info;
	struct vscsi_task *t;
	uint8_t *b, *rest, *other;

	(void)state;
	vscsi_get_info(host, &info);
	b = vscsi_buf_alloc(host, len);
	assert_non_null(b);
	assert_int_equal((uintptr_t)b % 4096, 0);
	memset(b, 0xaa, len);
	t = vscsi_read16_sync(host, &lun0, 0, len / 512, 512, b);
	check_good(t);
	assert_int_equal(t->xfer_done, len);
	vscsi_task_free(t);
	for (size_t i = 0; i < len; i++)
		if (b[i])
			fail_msg("byte %zu of the buffer is 0x%02x, not 0", i, b[i]);
	/* From inside it, page-aligned, and not: the data lands all the same. */
	memset(b, 0xaa, len);
	t = vscsi_read16_sync(host, &lun0, 0, 8, 512, b + 8192);
	check_good(t);
	vscsi_task_free(t);
	t = vscsi_read16_sync(host, &lun0, 0, 8, 512, b + 100);
	check_good(t);
	vscsi_task_free(t);
	assert_int_equal(b[99], 0xaa);
	assert_int_equal(b[100], 0);
	assert_int_equal(b[100 + 4095], 0);
	assert_int_equal(b[8192 + 4095], 0);
	assert_int_equal(b[100 + 4096], 0xaa);
	t = vscsi_write16_sync(host, &lun0, 0, len / 512, 512, b);
	check_good(t);
	vscsi_task_free(t);
	/* Larger than a command: refused. */
	errno = 0;
	assert_null(vscsi_buf_alloc(host, info.max_transfer + 4096));
	assert_int_equal(errno, E2BIG);
	/* The rest of the pool: then there is no run left, and a copying
	 * command waits for pages (it times out here) until one is freed. */
	rest = vscsi_buf_alloc(host, (size_t)info.pool_pages * 4096 - len);
	assert_non_null(rest);
	errno = 0;
	assert_null(vscsi_buf_alloc(host, 4096));
	assert_int_equal(errno, EAGAIN);
	/* A task on a buffer needs no free page: it runs in place. */
	memset(b, 0xaa, len);
	t = vscsi_read16_sync(host, &lun0, 0, len / 512, 512, b);
	check_good(t);
	vscsi_task_free(t);
	assert_int_equal(b[len - 1], 0);
	{
		uint8_t small[512];

		t = vscsi_task_new(&lun0, (const uint8_t[16]){ 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
				   16, VSCSI_XFER_READ, small, sizeof(small));
		t->timeout_ms = 300;
		assert_int_equal(vscsi_task_run(host, t), -ETIMEDOUT);
		vscsi_task_free(t);
	}
	vscsi_buf_free(host, rest);
	other = vscsi_buf_alloc(host, 4096);
	assert_non_null(other);
	vscsi_buf_free(host, other);
	vscsi_buf_free(host, b);
	/* Every page is back: the whole pool in one buffer. */
	b = vscsi_buf_alloc(host, info.max_transfer);
	assert_non_null(b);
	vscsi_buf_free(host, b);
}

/* A pool as large as the backend's limit: single commands of 16 MiB (the
 * largest tape block), their segment lists over 8 table pages. */
static void test_largest_commands(void **state)
{
	struct vscsi_opts o = { .event_cb = on_event, .poll_us = -1, .pool_pages = 4096 };
	const size_t big = 16u << 20;
	struct vscsi_host_info info;
	struct vscsi_task *t;
	struct vscsi_host *h;
	uint8_t *buf = malloc(big + 4096);
	char err[256];

	(void)state;
	assert_int_equal(sfenv_attach(&env, "null:disk", "5:0:0:0"), 0);
	h = vscsi_open(5, &o, err, sizeof(err));
	if (!h)
		fail_msg("vscsi_open(5): %s", err);
	vscsi_get_info(h, &info);
	assert_int_equal(info.pool_pages, 4096);
	assert_int_equal(info.max_segments, 4096);
	assert_int_equal(info.max_transfer, big);
	for (size_t len = 4u << 20; len <= big; len *= 2) {
		memset(buf, 0xaa, big + 4096);
		t = vscsi_read16_sync(h, &lun0, 0, (uint32_t)(len / 512), 512, buf);
		check_good(t);
		assert_int_equal(t->xfer_done, len);
		for (size_t i = 0; i < len; i += 4096)
			if (buf[i] || buf[i + 4095])
				fail_msg("page %zu of a %zu-byte read is not zeros", i / 4096, len);
		assert_int_equal(buf[len], 0xaa);
		vscsi_task_free(t);
		t = vscsi_write16_sync(h, &lun0, 0, (uint32_t)(len / 512), 512, buf);
		check_good(t);
		assert_int_equal(t->xfer_done, len);
		vscsi_task_free(t);
	}
	t = vscsi_task_new(&lun0, (const uint8_t[16]){ 0x88 }, 16, VSCSI_XFER_READ, buf, big + 4096);
	assert_int_equal(vscsi_task_submit(h, t, NULL, NULL), -E2BIG);
	vscsi_task_free(t);
	vscsi_close(h);
	free(buf);
}

struct counter {
	int done, good, err;
	int first_error;
};

static void count_cb(struct vscsi_host *h, struct vscsi_task *t, void *priv)
{
	struct counter *c = priv;

	(void)h;
	c->done++;
	if (vscsi_task_good(t))
		c->good++;
	else {
		c->err++;
		if (!c->first_error)
			c->first_error = t->error ? t->error : 1;
	}
	vscsi_task_free(t);
}

static void test_queue_beyond_ring(void **state)
{
	struct counter c = { 0 };
	const int n = 200;
	uint8_t *bufs = malloc((size_t)n * 65536);

	(void)state;
	for (int i = 0; i < n; i++)
		assert_non_null(vscsi_read16_task(host, &lun0, (uint64_t)i * 128, 128, 512,
						  bufs + (size_t)i * 65536, count_cb, &c));
	/* Drive it from our own loop, through the pollable fd. */
	for (int spins = 0; c.done < n && spins < 10000; spins++) {
		struct pollfd p = { .fd = vscsi_get_fd(host), .events = POLLIN };

		poll(&p, 1, 100);
		assert_true(vscsi_service(host) >= 0);
	}
	assert_int_equal(c.done, n);
	assert_int_equal(c.good, n);
	free(bufs);
}

/* vscsi_poll, for a loop that spins: the answers come from the ring
 * alone (nothing polls the fd), and it never asks the backend for a
 * notification: rsp_event stays where the last vscsi_service put it, so
 * the backend sends none while we spin. The vscsi_service before sleeping
 * asks again, and the fd then wakes for the next answer. */
static void test_poll_asks_no_notification(void **state)
{
	struct counter c = { 0 };
	const int n = 200;
	uint8_t *bufs = malloc((size_t)n * 65536);
	RING_IDX ev0;
	struct pollfd p = { .fd = vscsi_get_fd(host), .events = POLLIN };

	(void)state;
	vscsi_service(host);
	ev0 = host->ring.sring->rsp_event;
	for (int i = 0; i < n; i++)
		assert_non_null(vscsi_read16_task(host, &lun0, (uint64_t)i * 128, 128, 512,
						  bufs + (size_t)i * 65536, count_cb, &c));
	for (time_t end = time(NULL) + 20; c.done < n && time(NULL) < end;)
		assert_true(vscsi_poll(host) >= 0);
	assert_int_equal(c.done, n);
	assert_int_equal(c.good, n);
	assert_int_equal(host->ring.sring->rsp_event, ev0);
	free(bufs);

	memset(&c, 0, sizeof(c));
	vscsi_service(host);
	assert_int_not_equal(host->ring.sring->rsp_event, ev0);
	assert_non_null(vscsi_testunitready_task(host, &lun0, count_cb, &c));
	while (!c.done) {
		if (poll(&p, 1, 5000) != 1)
			fail_msg("the fd did not wake up for the answer after vscsi_service");
		vscsi_service(host);
	}
	assert_int_equal(c.good, 1);
}

/* Mixing blocking calls with the application's own loop: after a blocking
 * call returns, the fd must still wake the application for the next
 * answer (the library must not leave notifications switched off). */
static void test_fd_wakes_after_blocking_call(void **state)
{
	(void)state;
	for (int i = 0; i < 300; i++) {
		struct counter c = { 0 };
		struct vscsi_task *t = vscsi_testunitready_sync(host, &lun0);
		struct pollfd p = { .fd = vscsi_get_fd(host), .events = POLLIN };

		check_good(t);
		vscsi_task_free(t);
		assert_non_null(vscsi_testunitready_task(host, &lun0, count_cb, &c));
		while (!c.done) {
			if (poll(&p, 1, 5000) != 1)
				fail_msg("round %d: the fd did not wake up for the answer", i);
			vscsi_service(host);
		}
		assert_int_equal(c.good, 1);
	}
}

static void *reader_thread(void *arg)
{
	int *fails = arg;
	uint8_t buf[8192];

	for (int i = 0; i < 300; i++) {
		struct vscsi_task *t = vscsi_read16_sync(host, i & 1 ? &lun1 : &lun0, (uint64_t)i, 16,
							 512, buf);

		if (!vscsi_task_good(t))
			(*fails)++;
		vscsi_task_free(t);
	}
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t th[6];
	int fails[6] = { 0 };

	(void)state;
	for (int i = 0; i < 6; i++)
		pthread_create(&th[i], NULL, reader_thread, &fails[i]);
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(fails[i], 0);
	}
}

static void test_cancel_queued(void **state)
{
	struct counter c = { 0 };
	struct vscsi_task *ts[40];

	(void)state;
	for (int i = 0; i < 40; i++)
		ts[i] = vscsi_testunitready_task(host, &lun0, count_cb, &c);
	/* The ring takes 16 at once; cancel the last one, still queued. */
	assert_int_equal(vscsi_task_cancel(host, ts[39]), 0);
	while (c.done < 40)
		vscsi_run_once(host, 100);
	assert_int_equal(c.good, 39);
	assert_int_equal(c.first_error, -ECANCELED);
}

static void service_host(void *arg)
{
	vscsi_run_once(arg, 20);
}

/* The toolstack's end and the application's event are not ordered: the
 * event may come a pass later. Serves the host until it came (1 s). */
static void wait_event(const int *count, int want)
{
	for (int i = 0; i < 50 && *count < want; i++)
		vscsi_run_once(host, 20);
}

static void test_hotplug(void **state)
{
	struct vscsi_lun_info li;
	pid_t ts;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	ts = sfenv_ts_async(&env, true, "null:disk", "0:0:3:2");
	assert_int_equal(sfenv_ts_wait_serviced(ts, service_host, host), 0);
	wait_event(&seen.added, 1);
	assert_int_equal(seen.added, 1);
	assert_int_equal(seen.last.addr.target, 3);
	assert_int_equal(seen.last.addr.lun, 2);
	assert_true(seen.last.inquiry_ok);
	assert_int_equal(vscsi_find_lun(host, &(struct vscsi_addr){ 0, 3, 2 }, &li), 0);
	assert_int_equal(vscsi_get_luns(host, NULL, 0), 3);
	{
		struct vscsi_task *t = vscsi_inquiry_sync(host, &li.addr, false, 0, 36);

		check_good(t);
		vscsi_task_free(t);
	}

	ts = sfenv_ts_async(&env, false, NULL, "0:0:3:2");
	assert_int_equal(sfenv_ts_wait_serviced(ts, service_host, host), 0);
	wait_event(&seen.removed, 1);
	assert_int_equal(seen.removed, 1);
	assert_int_equal(seen.last.addr.target, 3);
	assert_int_equal(vscsi_find_lun(host, &li.addr, NULL), -ENOENT);
	assert_int_equal(vscsi_get_luns(host, NULL, 0), 2);
	assert_int_equal(vscsi_get_state(host), VSCSI_HOST_CONNECTED);
}

static void test_second_opener_refused(void **state)
{
	char err[256];
	struct vscsi_host *h2;

	(void)state;
	h2 = vscsi_open(0, NULL, err, sizeof(err));
	assert_null(h2);
	assert_int_equal(errno, EBUSY);
	assert_non_null(strstr(err, "in use"));
}

/* A process that dies with the vhost open leaves it "in use" by nobody:
 * the next opener takes it over. */
static void test_dead_owner_taken_over(void **state)
{
	struct vscsi_host *h;
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(sfenv_attach(&env, "null:disk", "1:0:0:0"), 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		char err[256];
		struct vscsi_host *c = vscsi_open(1, NULL, err, sizeof(err));
		struct vscsi_task *t;
		uint8_t b[64 * 1024];

		if (!c || !vscsi_host_persistent(c))
			_exit(1);
		/* The backend maps these pool pages... */
		t = vscsi_read16_sync(c, &lun0, 0, sizeof(b) / 512, 512, b);
		_exit(t && vscsi_task_good(t) ? 0 : 2);  /* exits without closing */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	h = open_host(1, 0);
	{
		struct vscsi_task *t = vscsi_testunitready_sync(h, &lun0);
		uint8_t b[64 * 1024];

		check_good(t);
		vscsi_task_free(t);
		/* ...and must not use them for the new owner's pool (the dead
		 * one's grants may come back under the same refs). */
		memset(b, 0xaa, sizeof(b));
		t = vscsi_read16_sync(h, &lun0, 0, sizeof(b) / 512, 512, b);
		check_good(t);
		for (size_t i = 0; i < sizeof(b); i++)
			if (b[i])
				fail_msg("byte %zu read after the takeover is 0x%02x, not 0", i, b[i]);
		vscsi_task_free(t);
	}
	vscsi_close(h);
	/* Closed cleanly: opens again at once. */
	h = open_host(1, 0);
	vscsi_close(h);
}

/* The backend dies with commands in flight: they fail after their timeout
 * (ABORT, RESET, unanswered) instead of hanging; a new backend picks the
 * ring up again and commands work. */
static void test_backend_killed(void **state)
{
	struct counter c = { 0 };
	struct vscsi_host *h;
	uint64_t t0, ms;
	struct vscsi_opts o = { .cmd_timeout_ms = 400, .tmf_timeout_ms = 300, .poll_us = -1 };
	char err[256];

	(void)state;
	assert_int_equal(sfenv_attach(&env, "null:disk", "2:0:0:0"), 0);
	h = vscsi_open(2, &o, err, sizeof(err));
	if (!h)
		fail_msg("open: %s", err);
	/* Once the backend has seen us connected (dev-0 state 4), as the
	 * toolstack would wait: a backend killed before that forgets the LUN
	 * on restart (it re-adds only dev states 1 and 4). */
	{
		char path[128];

		snprintf(path, sizeof(path), "/local/domain/0/backend/vscsi/%d/2/vscsi-devs/dev-0/state",
			 env.guest);
		assert_int_equal(ts_wait_value(env.xs0, path, 4, -1, 5000), 4);
	}
	daemon_stop(env.backend, SIGKILL, 5000);
	env.backend = 0;
	t0 = (uint64_t)time(NULL);
	for (int i = 0; i < 40; i++)
		assert_non_null(vscsi_testunitready_task(h, &lun0, count_cb, &c));
	while (c.done < 40 && (uint64_t)time(NULL) - t0 < 20)
		vscsi_run_once(h, 100);
	ms = ((uint64_t)time(NULL) - t0) * 1000;
	assert_int_equal(c.done, 40);
	assert_int_equal(c.err, 40);
	assert_int_equal(c.first_error, -ETIMEDOUT);
	assert_true(ms <= 5000);
	assert_int_equal(vscsi_get_state(h), VSCSI_HOST_CONNECTED);

	/* A new daemon takes the connected vhosts over. */
	assert_true(sfenv_start_backend(&env) > 0);
	{
		struct vscsi_task *t = NULL;

		for (int i = 0; i < 50; i++) {
			vscsi_task_free(t);
			t = vscsi_testunitready_sync(h, &lun0);
			if (vscsi_task_good(t))
				break;
			usleep(100000);
		}
		check_good(t);
		vscsi_task_free(t);
	}
	vscsi_close(h);
	/* The main host served by the dead daemon works again too. */
	{
		struct vscsi_task *t = NULL;

		for (int i = 0; i < 50; i++) {
			vscsi_task_free(t);
			t = vscsi_testunitready_sync(host, &lun0);
			if (vscsi_task_good(t))
				break;
		}
		check_good(t);
		vscsi_task_free(t);
	}
}

/* The toolstack removes the vhost while commands are queued: everything
 * completes (the rest with -ENOTCONN), the app is told, the handle closes,
 * and the re-created vhost opens again. The app keeps 64 commands
 * outstanding the whole time, so some are always caught by the close. */
struct churn {
	struct counter c;
	int submitted;
};

static void churn_cb(struct vscsi_host *h, struct vscsi_task *t, void *priv)
{
	struct churn *ch = priv;

	count_cb(h, t, &ch->c);
	if (vscsi_get_state(h) == VSCSI_HOST_CONNECTED && ch->submitted < 5000000 &&
	    vscsi_read16_task(h, &lun0, 0, 64, 512, NULL, churn_cb, ch))
		ch->submitted++;
}

static void test_backend_closing_mid_io(void **state)
{
	struct churn ch = { { 0 }, 0 };
	struct vscsi_host *h;
	pid_t ts;

	(void)state;
	assert_int_equal(sfenv_attach(&env, "null:disk", "3:0:0:0"), 0);
	memset(&seen, 0, sizeof(seen));
	h = open_host(3, 0);
	for (int i = 0; i < 64; i++) {
		assert_non_null(vscsi_read16_task(h, &lun0, 0, 64, 512, NULL, churn_cb, &ch));
		ch.submitted++;
	}
	ts = sfenv_ts_async(&env, false, NULL, "3:0:0:0");
	assert_int_equal(sfenv_ts_wait_serviced(ts, service_host, h), 0);
	for (int i = 0; i < 100 && ch.c.done < ch.submitted; i++)
		vscsi_run_once(h, 20);
	assert_int_equal(ch.c.done, ch.submitted);
	assert_int_equal(seen.disconnected, 1);
	assert_int_equal(vscsi_get_state(h), VSCSI_HOST_DISCONNECTED);
	assert_true(ch.c.good > 0);
	assert_true(ch.c.err > 0);
	assert_int_equal(ch.c.first_error, -ENOTCONN);
	{
		struct vscsi_task *t = vscsi_testunitready_task(h, &lun0, NULL, NULL);

		assert_null(t);
		assert_int_equal(errno, ENOTCONN);
	}
	vscsi_close(h);
	/* Re-created by the toolstack: a fresh open works. */
	assert_int_equal(sfenv_attach(&env, "null:disk", "3:0:0:0"), 0);
	h = open_host(3, 0);
	{
		struct vscsi_task *t = vscsi_testunitready_sync(h, &lun0);

		check_good(t);
		vscsi_task_free(t);
	}
	vscsi_close(h);
}

static int setup(void **state)
{
	(void)state;
	if (sfenv_start(&env, true) < 0)
		return -1;
	if (sfenv_attach(&env, "null:disk", "0:0:0:0") || sfenv_attach(&env, "null:disk", "0:0:0:1"))
		return -1;
	host = open_host(0, 0);
	return host ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	vscsi_close(host);
	sfenv_stop(&env);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_and_enumerate),
		cmocka_unit_test(test_sync_helpers),
		cmocka_unit_test(test_direct_and_indirect),
		cmocka_unit_test(test_largest_commands),
		cmocka_unit_test(test_without_persistent_grants),
		cmocka_unit_test(test_zero_copy_buffers),
		cmocka_unit_test(test_queue_beyond_ring),
		cmocka_unit_test(test_poll_asks_no_notification),
		cmocka_unit_test(test_fd_wakes_after_blocking_call),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_cancel_queued),
		cmocka_unit_test(test_hotplug),
		cmocka_unit_test(test_second_opener_refused),
		cmocka_unit_test(test_dead_owner_taken_over),
		cmocka_unit_test(test_backend_killed),
		cmocka_unit_test(test_backend_closing_mid_io),
	};

	simenv_use_sim_libs(argc, argv);
	sfenv_test_filter();
	return cmocka_run_group_tests(tests, setup, teardown);
}
