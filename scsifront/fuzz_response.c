/* libFuzzer target: what libvscsifront does with the backend's responses
 * (ring.c vf_ring_take, and task.c and pool.c behind it: completion,
 * ABORT / LUN RESET answers, late answers, copying data out), against a
 * set of outstanding tasks. The backend is the attacker here.
 *
 * A host is built in memory, connected, with its real ring, slots, page
 * pool (32 pages) and indirect tables; the three Xen calls it makes are
 * answered below (pages from malloc, notifications dropped). The input is
 * a script, one operation per step, its first byte its kind (low 3 bits):
 *   0 submit    dir:u8 len:u16le addr:u8 tmo:u8   a task: READ, WRITE or
 *               no data, len bytes (dir bit 2: times 4, past the limit)
 *   1 respond   rqid:u8 rslt:u32le resid:u32le sense_len:u8   one
 *               response written at the producer's next slot; rqid: bit 7
 *               set = as is, else its low 4 bits; sense_len:
 *               bit 7 set = as is, else modulo 97
 *   2 publish   skew:u8   the data pages of each response's rqid filled
 *               (as a backend writes them), rsp_prod = what was written
 *               (bit 7: plus the low 7 bits, a bogus index), then a pass
 *               as vf_process_locked makes one: the responses, timeouts,
 *               and what waited goes on the ring
 *   3 time      d:u8      a timeout pass d * 250 ms ahead (ABORT, LUN
 *               RESET, giving up, zombies released)
 *   4 cancel    i:u8      vscsi_task_cancel of the i-th task still open
 *   5..7 (as 0)
 * The first byte of the input picks the segments per command: 26 (no
 * feature-sg-grant) or 32 (indirect tables).
 *
 * Beyond "no crash, no sanitizer report" (a task's buffer is exactly its
 * length, poisoned memory after it, and poisoned again once the task
 * completed: a copy past its end or after its completion is a report):
 *   - a pass fails the vhost exactly when a response names an rqid out of
 *     range, a sense_len over 96, an rqid not in flight (other than one
 *     late answer tolerated for an rqid given up on), or the producer is
 *     further ahead than the requests in flight; otherwise it takes every
 *     response;
 *   - a task completes once, with xfer_done no more than its buffer,
 *     buf_len less the residual (clamped), sense_len at most 96, and for a
 *     READ answered its buffer holds the data of its own pages;
 *   - a failed vhost leaves no task outstanding;
 *   - after every step the pool adds up: free pages and the pages of the
 *     slots in use are the pool, each once; slots_busy counts the slots in
 *     use; outstanding counts the tasks not completed. */
#include <errno.h>
#include <sanitizer/asan_interface.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vf_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_response: property broken at line %d: %s\n", __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* ---- the Xen calls the host makes ---- */

/* Shared pages are kept from one input to the next (as the grant device
 * keeps them): fresh large allocations each time would cost more than
 * the run itself. */
static struct {
	void *p;
	int count;
	bool used;
} shared[4];
static uint32_t next_ref = 8;

void *xengntshr_share_pages(xengntshr_handle *xgs, uint32_t domid, int count, uint32_t *refs,
			    int writable)
{
	void *p = NULL;

	(void)xgs;
	(void)domid;
	(void)writable;
	for (unsigned i = 0; i < 4 && !p; i++) {
		if (!shared[i].used && shared[i].count == count) {
			p = shared[i].p;
			shared[i].used = true;
		} else if (!shared[i].p) {
			p = shared[i].p = aligned_alloc(VF_PAGE, (size_t)count * VF_PAGE);
			shared[i].count = count;
			shared[i].used = p != NULL;
		}
	}
	if (p) {
		/* The ring starts zeroed; tables and data pages are written
		 * before they are read. */
		if (count == 1)
			memset(p, 0, VF_PAGE);
		for (int i = 0; i < count; i++)
			refs[i] = next_ref++;
	}
	return p;
}

int xengntshr_unshare(xengntshr_handle *xgs, void *start_address, uint32_t count)
{
	(void)xgs;
	(void)count;
	for (unsigned i = 0; i < 4; i++)
		if (shared[i].p == start_address)
			shared[i].used = false;
	return 0;
}

int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
	(void)xce;
	(void)port;
	return 0;
}

/* ---- the application's side: tasks ---- */

#define MAX_TASKS 48

struct app_task {
	struct vscsi_task *t;
	bool open;          /* submitted, not completed */
	uint8_t marker;     /* what the backend last wrote into its pages */
};

static struct app_task tasks[MAX_TASKS];
static unsigned ntasks, nopen;

/* Task i's buffer ends at the end of arena i less a guard; the rest of
 * the arena is poisoned for ASan. Buffers of up to 128 KiB from malloc
 * would be mapped and unmapped for each input, at twice the cost. */
#define ARENA (32 * VF_PAGE + 64)
static uint8_t arenas[MAX_TASKS][ARENA] __attribute__((aligned(4096)));

static void *buf_get(unsigned i, size_t len)
{
	uint8_t *end = arenas[i] + ARENA - 64;

	ASAN_POISON_MEMORY_REGION(arenas[i], ARENA);
	ASAN_UNPOISON_MEMORY_REGION(end - len, len);
	return end - len;
}

static void buf_put(unsigned i)
{
	ASAN_POISON_MEMORY_REGION(arenas[i], ARENA);
}

/* FUZZ_TRACE=1 in the environment: each step on stderr, to read a crash. */
static bool tracing;
#define TRACE(...) do { if (tracing) fprintf(stderr, __VA_ARGS__); } while (0)

static void on_done(struct vscsi_host *h, struct vscsi_task *t, void *priv)
{
	struct app_task *a = priv;
	uint32_t resid;

	(void)h;
	TRACE("task %ld done: error %d, xfer_done %zu\n", (long)(a - tasks), t->error, t->xfer_done);
	CHECK(a->t == t && a->open);
	a->open = false;
	nopen--;
	CHECK(t->xfer_done <= t->buf_len);
	CHECK(t->sense_len <= VSCSI_SENSE_MAX);
	if (t->error == 0) {
		resid = t->residual < t->buf_len ? t->residual : (uint32_t)t->buf_len;
		CHECK(t->xfer_done == t->buf_len - resid);
		if (t->xfer == VSCSI_XFER_READ) {
			const uint8_t *b = t->buf;

			for (size_t i = 0; i < t->xfer_done; i++)
				CHECK(b[i] == a->marker);
		}
	} else {
		CHECK(t->errmsg[0]);
	}
	buf_put((unsigned)(a - tasks));
	vscsi_task_free(t);
	a->t = NULL;
}

static void quiet(int level, const char *msg, void *priv)
{
	(void)level;
	(void)priv;
	CHECK(strlen(msg) < 512);
}

/* ---- the host ---- */

static struct vscsi_host *host_new(unsigned max_segments)
{
	struct vscsi_host *h = calloc(1, sizeof(*h));
	char err[256];

	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->devid = 0;
	h->domid = 1;
	h->be_domid = 0;
	snprintf(h->name, sizeof(h->name), "vhost 1/0");
	h->opts.cmd_timeout_ms = 1000;
	h->opts.tmf_timeout_ms = 1000;
	h->opts.pool_pages = 32;
	h->epfd = h->timerfd = h->kickfd = -1;
	if (vf_pool_share(h, h->opts.pool_pages, err, sizeof(err)) < 0) {
		vf_pool_unshare(h);
		free(h);
		return NULL;
	}
	SHARED_RING_INIT((vscsiif_sring_t *)h->ring_page);
	FRONT_RING_INIT(&h->ring, (vscsiif_sring_t *)h->ring_page, VF_PAGE);
	h->feature_sg_grant = max_segments > VSCSIIF_SG_TABLESIZE ? VSCSI_BACK_MAX_SEGMENTS : 0;
	h->max_segments = max_segments;
	h->state = VSCSI_HOST_CONNECTED;
	return h;
}

static void host_free(struct vscsi_host *h)
{
	struct vf_deliver dl = { 0 };

	pthread_mutex_lock(&h->lock);
	h->cur_dl = &dl;
	vf_task_fail_all(h, -ESHUTDOWN, "closed", &dl);
	h->cur_dl = NULL;
	pthread_mutex_unlock(&h->lock);
	vf_deliver(h, &dl);
	CHECK(nopen == 0);
	vf_pool_unshare(h);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h);
}

static void check_host(struct vscsi_host *h)
{
	uint8_t seen[32] = { 0 };
	unsigned busy = 0, pages = h->nfree;

	CHECK(h->nfree <= h->pool_pages);
	for (unsigned i = 0; i < h->nfree; i++) {
		CHECK(h->free_pages[i] < h->pool_pages && !seen[h->free_pages[i]]);
		seen[h->free_pages[i]] = 1;
	}
	for (int i = 0; i < VF_SLOTS; i++) {
		const struct vf_slot *s = &h->slots[i];

		if (s->state == VF_SLOT_FREE) {
			CHECK(s->npages == 0 && !s->task);
			continue;
		}
		busy++;
		pages += s->npages;
		for (unsigned k = 0; k < s->npages; k++) {
			CHECK(s->pages[k] < h->pool_pages && !seen[s->pages[k]]);
			seen[s->pages[k]] = 1;
		}
	}
	CHECK(pages == h->pool_pages);
	CHECK(busy == h->slots_busy);
	CHECK(h->outstanding == nopen);
	CHECK(h->ring.req_prod_pvt - h->ring.rsp_cons <= VF_SLOTS);
}

/* Whether a pass over the responses now on the ring must fail the vhost
 * (and how many it delivers if not), from the slots as they are. */
static bool predict_failure(struct vscsi_host *h, unsigned *delivered)
{
	RING_IDX cons = h->ring.rsp_cons, prod = h->ring.sring->rsp_prod;
	bool inflight[VF_SLOTS], stale[VF_SLOTS];

	*delivered = 0;
	if (prod == cons)
		return false;
	if ((RING_IDX)(prod - cons) > (RING_IDX)(h->ring.req_prod_pvt - cons))
		return true;
	for (int i = 0; i < VF_SLOTS; i++) {
		inflight[i] = h->slots[i].state != VF_SLOT_FREE;
		stale[i] = h->slots[i].stale_ok;
	}
	for (; cons != prod; cons++) {
		const vscsiif_response_t *r = RING_GET_RESPONSE(&h->ring, cons);

		if (r->rqid >= VF_SLOTS || r->sense_len > VSCSIIF_SENSE_BUFFERSIZE)
			return true;
		if (!inflight[r->rqid]) {
			if (!stale[r->rqid])
				return true;
			stale[r->rqid] = false;
			continue;
		}
		inflight[r->rqid] = false;   /* the slot is freed, */
		stale[r->rqid] = false;      /* no late answer owed */
		(*delivered)++;
	}
	return false;
}

static size_t take(const uint8_t *data, size_t size, size_t off, size_t n, uint8_t *out)
{
	memset(out, 0, n);
	if (off < size)
		memcpy(out, data + off, size - off < n ? size - off : n);
	return off + n;
}

static void op_submit(struct vscsi_host *h, const uint8_t *a)
{
	static const enum vscsi_xfer dirs[] = { VSCSI_XFER_NONE, VSCSI_XFER_READ, VSCSI_XFER_WRITE };
	enum vscsi_xfer dir = dirs[(a[0] & 3) % 3];
	size_t len = (size_t)a[1] | (size_t)a[2] << 8;
	struct vscsi_addr addr = { .channel = 0, .target = a[3] & 3, .lun = a[3] >> 2 };
	uint8_t cdb[10] = { dir == VSCSI_XFER_WRITE ? 0x2a : dir == VSCSI_XFER_READ ? 0x28 : 0x00 };
	static uint8_t too_big;     /* never touched: such a task is refused */
	struct app_task *t;
	void *buf = NULL;
	int r;

	if (ntasks == MAX_TASKS)
		return;
	if (a[0] & 4)
		len *= 4;
	if (dir == VSCSI_XFER_NONE)
		len = 0;
	if (len > (size_t)h->max_segments * VF_PAGE)
		buf = &too_big;
	else if (len)
		buf = buf_get(ntasks, len);
	t = &tasks[ntasks];
	t->t = vscsi_task_new(&addr, cdb, sizeof(cdb), dir, buf, len);
	if (!t->t)
		return;
	t->t->timeout_ms = 1000u * (1 + a[4] % 4);
	t->open = true;
	t->marker = 0;
	ntasks++;
	nopen++;
	r = vscsi_task_submit(h, t->t, on_done, t);
	TRACE("submit task %u: dir %d len %zu: %d, slot %d\n", ntasks - 1, dir, len, r,
	      r ? -1 : vf_task(t->t)->slot);
	if (r) {
		/* refused before it was queued: not outstanding, no callback */
		CHECK(r == -E2BIG || r == -EIO);
		CHECK(r != -E2BIG || len > (size_t)h->max_segments * VF_PAGE);
		t->open = false;
		nopen--;
		buf_put(ntasks - 1);
		vscsi_task_free(t->t);
		t->t = NULL;
	}
}

/* Writes one response at the producer's next slot, as the backend does. */
static void op_respond(struct vscsi_host *h, RING_IDX *produced, const uint8_t *a)
{
	vscsiif_response_t rsp;
	uint32_t rslt, resid;

	memset(&rsp, 0, sizeof(rsp));
	memcpy(&rslt, a + 1, 4);
	memcpy(&resid, a + 5, 4);
	rsp.rqid = a[0] & 0x80 ? a[0] : a[0] & 15;
	rsp.rslt = (int32_t)rslt;
	rsp.residual_len = resid;
	rsp.sense_len = a[9] & 0x80 ? a[9] : a[9] % 97;
	memset(rsp.sense_buffer, 0x70, sizeof(rsp.sense_buffer));
	TRACE("respond at %u: rqid %u rslt 0x%x resid %u sense_len %u\n", *produced, rsp.rqid,
	      rsp.rslt, rsp.residual_len, rsp.sense_len);
	memcpy(RING_GET_RESPONSE(&h->ring, *produced), &rsp, sizeof(rsp));
	(*produced)++;
}

/* The data of each response about to be published, as the backend writes
 * it before the index: the pages of its rqid filled with a marker the
 * task then must find in its buffer. */
static void fill_data(struct vscsi_host *h, RING_IDX prod)
{
	for (RING_IDX i = h->ring.rsp_cons; i != prod; i++) {
		const vscsiif_response_t *r = RING_GET_RESPONSE(&h->ring, i);
		uint8_t marker = (uint8_t)(0x40 + i * 7);
		struct vf_slot *s;

		if (r->rqid >= VF_SLOTS)
			continue;
		s = &h->slots[r->rqid];
		if (s->state != VF_SLOT_CDB || !s->task)
			continue;
		for (unsigned k = 0; k < s->npages; k++)
			memset(h->pool + (size_t)s->pages[k] * VF_PAGE, marker, VF_PAGE);
		((struct app_task *)s->task->cb_priv)->marker = marker;
	}
}

/* rsp_prod published (maybe bogus), then a pass over the responses. */
static bool op_publish(struct vscsi_host *h, RING_IDX *produced, uint8_t skew)
{
	struct vf_deliver dl = { 0 };
	unsigned want;
	bool fail;
	int n;

	RING_IDX prod = *produced + (skew & 0x80 ? skew & 0x7f : 0);

	if ((RING_IDX)(prod - h->ring.rsp_cons) <= VF_SLOTS)
		fill_data(h, prod);
	__atomic_store_n(&h->ring.sring->rsp_prod, prod, __ATOMIC_RELEASE);
	fail = predict_failure(h, &want);
	TRACE("publish %u (cons %u, req_prod_pvt %u): expect %s, %u delivered\n", prod,
	      h->ring.rsp_cons, h->ring.req_prod_pvt, fail ? "failure" : "no failure", want);
	pthread_mutex_lock(&h->lock);
	h->cur_dl = &dl;
	n = vf_ring_take(h, &dl);
	CHECK(fail == (h->state == VSCSI_HOST_FAILED));
	CHECK(fail ? n == -1 : n == (int)want);
	/* then what a processing pass does next: timeouts, and what waits
	 * for a slot or pages goes on the ring */
	vf_task_timeouts(h, &dl, vf_now_ns());
	h->cur_dl = NULL;
	pthread_mutex_unlock(&h->lock);
	vf_deliver(h, &dl);
	*produced = prod;
	return !fail;
}

/* A timeout pass d * 250 ms from now. Not a clock moving on: the library
 * also reads the clock itself (vf_now_ns) to set some deadlines, so each
 * such pass looks ahead of the real time, and the next step is back at
 * it; every deadline is still met in order. */
static void op_time(struct vscsi_host *h, uint8_t d)
{
	struct vf_deliver dl = { 0 };

	TRACE("timeouts %u ms ahead\n", d * 250u);
	pthread_mutex_lock(&h->lock);
	h->cur_dl = &dl;
	vf_task_timeouts(h, &dl, vf_now_ns() + (uint64_t)d * 250000000ull);
	h->cur_dl = NULL;
	pthread_mutex_unlock(&h->lock);
	vf_deliver(h, &dl);
}

static void op_cancel(struct vscsi_host *h, uint8_t i)
{
	unsigned k = 0;

	for (unsigned n = 0; n < ntasks; n++) {
		if (!tasks[n].open)
			continue;
		if (k++ == i % (nopen ? nopen : 1)) {
			TRACE("cancel task %u\n", n);
			CHECK(vscsi_task_cancel(h, tasks[n].t) == 0);
			return;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct vscsi_host *h;
	RING_IDX produced = 0;
	size_t off = 1;
	bool alive = true;

	if (!init) {
		tracing = getenv("FUZZ_TRACE") != NULL;
		vscsi_set_log(tracing ? NULL : quiet, VSCSI_LOG_DEBUG, NULL);
		init = true;
	}
	if (!size)
		return 0;
	h = host_new(data[0] & 1 ? 32 : VSCSIIF_SG_TABLESIZE);
	if (!h)
		return 0;
	ntasks = nopen = 0;
	while (off < size && alive) {
		uint8_t op = data[off++] & 7, a[10];

		switch (op) {
		case 1:
			off = take(data, size, off, 10, a);
			op_respond(h, &produced, a);
			break;
		case 2:
			off = take(data, size, off, 1, a);
			alive = op_publish(h, &produced, a[0]);
			break;
		case 3:
			off = take(data, size, off, 1, a);
			op_time(h, a[0]);
			break;
		case 4:
			off = take(data, size, off, 1, a);
			op_cancel(h, a[0]);
			break;
		default:
			off = take(data, size, off, 5, a);
			op_submit(h, a);
			break;
		}
		if (!alive)
			CHECK(nopen == 0 && h->outstanding == 0);
		check_host(h);
	}
	host_free(h);
	return 0;
}
