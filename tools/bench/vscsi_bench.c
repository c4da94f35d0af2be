/* vscsi-bench — one load generator for both paths of `make bench`:
 * straight to an iSCSI LUN with libiscsi's async API ("direct"), or
 * through libvscsifront's async API, the ring and scsiback ("stack").
 * Same workload, same accounting, so the two are comparable.
 *
 * Prints one JSON object: IOPS, MB/s, mean and p99 latency, CPU seconds of
 * this process and (with --backend-pid) of the backend, per command. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <json-c/json.h>
#include <poll.h>
#include "be_fields.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "vscsifront.h"

struct slot;

struct bench {
	/* workload */
	bool write, random, tur;
	uint32_t bs;              /* bytes per command */
	unsigned qd;              /* per host */
	double seconds, warmup;
	uint64_t nblocks;         /* LUN size in 512-byte blocks */
	uint32_t block;           /* LUN block size */
	uint64_t next_lba;
	uint64_t rng;
	/* accounting */
	bool measuring, stopping;
	uint64_t done, bytes, errors;
	float *lat_us;
	size_t nlat, cap_lat;
	unsigned inflight;
	/* engines */
	struct iscsi_context *iscsi;
	int iscsi_lun;
	struct vscsi_host **hosts;
	unsigned nhosts;
	struct vscsi_addr addr;
	int poll_us;              /* stack: spin this long after progress */
	/* CPU at the start of the measured window */
	int backend_pid;
	double cpu0, bcpu0;
	long rss0;
	/* the rest of the stack's processes (tgtd, xensimd): not "other" */
	int watch_pid[8];
	unsigned nwatch;
	double wcpu0, busy0;
};

static double proc_cpu_s(int pid, long *rss_kb);
static double backend_cpu_s(int pid, long *pss_kb);
static double self_cpu_s(void);
static double machine_busy_s(void);
static double watched_cpu_s(const struct bench *b);

static void start_measure(struct bench *b)
{
	b->measuring = true;
	b->cpu0 = self_cpu_s();
	if (b->backend_pid)
		b->bcpu0 = backend_cpu_s(b->backend_pid, &b->rss0);
	b->wcpu0 = watched_cpu_s(b);
	b->busy0 = machine_busy_s();
}

struct slot {
	struct bench *b;
	unsigned host;
	struct timespec t0;
	uint8_t *buf;
	struct scsi_iovec iov;    /* iscsi engine: libiscsi keeps a pointer to it */
	struct vscsi_task *task;  /* vscsi engine: reused */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double us_since(const struct timespec *t0)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec - t0->tv_sec) * 1e6 + (ts.tv_nsec - t0->tv_nsec) / 1e3;
}

static uint64_t next_lba(struct bench *b)
{
	uint64_t span = b->nblocks - b->bs / b->block, lba;

	if (b->random) {
		b->rng ^= b->rng << 13;
		b->rng ^= b->rng >> 7;
		b->rng ^= b->rng << 17;
		lba = (b->rng % (span / (b->bs / b->block))) * (b->bs / b->block);
	} else {
		lba = b->next_lba;
		b->next_lba += b->bs / b->block;
		if (b->next_lba > span)
			b->next_lba = 0;
	}
	return lba;
}

static void account(struct bench *b, struct slot *s, bool ok)
{
	b->inflight--;
	if (!b->measuring)
		return;
	if (!ok) {
		b->errors++;
		return;
	}
	b->done++;
	b->bytes += b->tur ? 0 : b->bs;
	if (b->nlat == b->cap_lat) {
		size_t cap = b->cap_lat ? b->cap_lat * 2 : 1 << 20;
		float *p = realloc(b->lat_us, cap * sizeof(float));

		if (!p)
			return;
		b->lat_us = p;
		b->cap_lat = cap;
	}
	b->lat_us[b->nlat++] = (float)us_since(&s->t0);
}

/* ---- direct: libiscsi ---- */

static void iscsi_submit(struct slot *s);

static void iscsi_done(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct slot *s = priv;
	struct scsi_task *task = data;

	(void)iscsi;
	account(s->b, s, status == SCSI_STATUS_GOOD);
	scsi_free_scsi_task(task);
	if (!s->b->stopping)
		iscsi_submit(s);
}

static void iscsi_submit(struct slot *s)
{
	struct bench *b = s->b;
	uint64_t lba = next_lba(b);
	struct scsi_task *t;

	clock_gettime(CLOCK_MONOTONIC, &s->t0);
	if (b->write)
		t = iscsi_write16_task(b->iscsi, b->iscsi_lun, lba, s->buf, b->bs, b->block, 0, 0, 0, 0, 0,
				       iscsi_done, s);
	else
		t = iscsi_read16_task(b->iscsi, b->iscsi_lun, lba, b->bs, b->block, 0, 0, 0, 0, 0,
				      iscsi_done, s);
	if (!t) {
		fprintf(stderr, "vscsi-bench: iscsi submit: %s\n", iscsi_get_error(b->iscsi));
		b->stopping = true;
		return;
	}
	if (!b->write) {
		s->iov.iov_base = s->buf;
		s->iov.iov_len = b->bs;
		scsi_task_set_iov_in(t, &s->iov, 1);
	}
	b->inflight++;
}

static int run_iscsi(struct bench *b, struct slot *slots, double t_end_warm, double t_end)
{
	for (unsigned i = 0; i < b->qd; i++)
		iscsi_submit(&slots[i]);
	for (;;) {
		struct pollfd p = { .fd = iscsi_get_fd(b->iscsi), .events = (short)iscsi_which_events(b->iscsi) };
		double t = now_s();

		if (!b->measuring && t >= t_end_warm)
			start_measure(b);
		if (t >= t_end)
			b->stopping = true;
		if (b->stopping && !b->inflight)
			return 0;
		if (t >= t_end + 30) {
			fprintf(stderr, "vscsi-bench: %u command(s) unanswered 30 s after the end\n", b->inflight);
			return -ETIMEDOUT;
		}
		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			return -errno;
		if (iscsi_service(b->iscsi, p.revents) < 0) {
			fprintf(stderr, "vscsi-bench: iscsi: %s\n", iscsi_get_error(b->iscsi));
			return -EIO;
		}
	}
}

/* ---- stack: libvscsifront ---- */

static void vscsi_submit(struct slot *s);

static void vscsi_done(struct vscsi_host *h, struct vscsi_task *task, void *priv)
{
	struct slot *s = priv;

	(void)h;
	account(s->b, s, vscsi_task_good(task));
	if (!s->b->stopping)
		vscsi_submit(s);
}

static void vscsi_submit(struct slot *s)
{
	struct bench *b = s->b;
	uint64_t lba = b->tur ? 0 : next_lba(b);
	uint32_t n = b->bs / b->block;
	uint8_t *c = s->task->cdb;
	int r;

	memset(c, 0, 16);
	if (b->tur) {
		/* TEST UNIT READY: the ring's cost with no data at all. */
		s->task->cdb_len = 6;
	} else {
		c[0] = b->write ? 0x8a : 0x88;
		sg_put_unaligned_be64(lba, c + 2);
		sg_put_unaligned_be32(n, c + 10);
	}
	clock_gettime(CLOCK_MONOTONIC, &s->t0);
	r = vscsi_task_submit(b->hosts[s->host], s->task, vscsi_done, s);
	if (r) {
		fprintf(stderr, "vscsi-bench: submit: %s\n", strerror(-r));
		b->stopping = true;
		return;
	}
	b->inflight++;
}

static int run_vscsi(struct bench *b, struct slot *slots, double t_end_warm, double t_end)
{
	int ep = epoll_create1(0);

	for (unsigned h = 0; h < b->nhosts; h++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = h };

		epoll_ctl(ep, EPOLL_CTL_ADD, vscsi_get_fd(b->hosts[h]), &ev);
	}
	for (unsigned i = 0; i < b->qd * b->nhosts; i++)
		vscsi_submit(&slots[i]);
	for (;;) {
		struct epoll_event evs[64];
		double t = now_s();
		int n;

		if (!b->measuring && t >= t_end_warm)
			start_measure(b);
		if (t >= t_end)
			b->stopping = true;
		if (b->stopping && !b->inflight)
			break;
		if (t >= t_end + 30) {
			fprintf(stderr, "vscsi-bench: %u command(s) unanswered 30 s after the end\n", b->inflight);
			close(ep);
			return -ETIMEDOUT;
		}
		/* Adaptive polling, as an application loop would do it: after
		 * progress keep polling (vscsi_poll: no syscall, no notification
		 * asked for) for poll_us, then service once (it asks for one) and
		 * block on the fds. */
		if (b->poll_us > 0) {
			double spin_end = now_s() + b->poll_us / 1e6;
			bool progress = false;

			do {
				int got = 0;

				for (unsigned h = 0; h < b->nhosts; h++)
					got += vscsi_poll(b->hosts[h]) > 0;
				if (got) {
					progress = true;
					spin_end = now_s() + b->poll_us / 1e6;
				}
			} while (now_s() < spin_end && !(b->stopping && !b->inflight));
			if (b->stopping && !b->inflight)
				continue;
			progress = false;
			for (unsigned h = 0; h < b->nhosts; h++)
				progress |= vscsi_service(b->hosts[h]) > 0;
			if (progress)
				continue;
		}
		n = epoll_wait(ep, evs, 64, 100);
		for (int i = 0; i < n; i++)
			vscsi_service(b->hosts[evs[i].data.u32]);
	}
	close(ep);
	return 0;
}

/* ---- accounting ---- */

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

static double proc_cpu_s(int pid, long *rss_kb)
{
	char path[64], buf[1024];
	unsigned long ut = 0, st = 0;
	FILE *f;

	*rss_kb = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f)) {
		char *p = strrchr(buf, ')');

		/* fields after ") ": state(3) ... utime(14) stime(15) */
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
			ut = st = 0;
	}
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (f) {
		while (fgets(buf, sizeof(buf), f))
			if (sscanf(buf, "VmRSS: %ld", rss_kb) == 1)
				break;
		fclose(f);
	}
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* A process's parent, from /proc/PID/stat; -1 if gone. */
static int proc_ppid(int pid)
{
	char path[64], buf[1024], *p;
	int ppid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && sscanf(p + 2, "%*c %d", &ppid) != 1)
		ppid = -1;
	fclose(f);
	return ppid;
}

/* Its proportional set size (shared pages split among their users), from
 * smaps_rollup; its RSS where that is missing. */
static long proc_pss_kb(int pid, long rss_kb)
{
	char path[64], buf[256];
	long pss = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	f = fopen(path, "r");
	if (f) {
		while (fgets(buf, sizeof(buf), f))
			if (sscanf(buf, "Pss: %ld", &pss) == 1)
				break;
		fclose(f);
	}
	return pss >= 0 ? pss : rss_kb;
}

/* What the backend costs: scsiback and every process under it (its
 * worker spawner and the guests' workers, docs/privsep.md), CPU seconds
 * summed, memory as the sum of their PSS in pss_kb. */
static double backend_cpu_s(int pid, long *pss_kb)
{
	int tree[256], n = 0;
	double cpu = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;

	tree[n++] = pid;
	/* (descendants in two levels: broker -> spawner -> workers) */
	for (int level = 0; level < 3 && d; level++) {
		rewinddir(d);
		while ((e = readdir(d)) && n < (int)(sizeof(tree) / sizeof(*tree))) {
			int p = atoi(e->d_name), pp, known = 0;

			if (p <= 0)
				continue;
			pp = proc_ppid(p);
			for (int i = 0; i < n; i++)
				known |= tree[i] == p;
			for (int i = 0; i < n && !known; i++)
				if (tree[i] == pp) {
					tree[n++] = p;
					break;
				}
		}
	}
	if (d)
		closedir(d);
	*pss_kb = 0;
	for (int i = 0; i < n; i++) {
		long rss;

		cpu += proc_cpu_s(tree[i], &rss);
		*pss_kb += proc_pss_kb(tree[i], rss);
	}
	return cpu;
}

/* CPU seconds the whole machine spent not idle (all cores, from
 * /proc/stat), counting time other virtual machines stole from us. */
static double machine_busy_s(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int n = 0;

	if (f) {
		n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
			   &v[4], &v[5], &v[6], &v[7]);
		fclose(f);
	}
	if (n < 8)
		return 0;
	/* user nice system [idle iowait] irq softirq steal */
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static double watched_cpu_s(const struct bench *b)
{
	double sum = 0;
	long rss;

	for (unsigned i = 0; i < b->nwatch; i++)
		sum += proc_cpu_s(b->watch_pid[i], &rss);
	return sum;
}

static double self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vscsi-bench --url iscsi://HOST:PORT/IQN/LUN [OPTIONS]     (direct)\n"
		"       vscsi-bench --vhosts N [--lun C:T:L] [OPTIONS]              (stack, in a domain)\n\n"
		"  --rw randread|randwrite|read|write|tur   workload (default randread;\n"
		"                    tur: TEST UNIT READY, no data, stack only)\n"
		"  --idle S          stay connected S seconds without I/O; report the backend's CPU\n"
		"  --bs BYTES        bytes per command (default 4096)\n"
		"  --qd N            commands in flight per vhost/session (default 16)\n"
		"  --time S          measured seconds (default 5), after --warmup S (default 1)\n"
		"  --backend-pid P   also account CPU time of process P (scsiback)\n"
		"  --watch-pid P     a process of the path measured (tgtd, xensimd; up to 8):\n"
		"                    its CPU does not count as the machine being busy\n"
		"                    with something else (other_cpu_pct)\n"
		"  --copy            stack: buffers of our own, copied to and from the pool\n"
		"                    (default: zero-copy buffers inside it, vscsi_buf_alloc)\n"
		"  --no-persistent   stack: do not offer persistent grants (scsiback copies\n"
		"                    each command's data, as for Linux's frontend)\n"
		"  --poll-us US      stack: after progress, keep servicing the hosts this\n"
		"                    long before sleeping (default 20; 0: never spin)\n"
		"Output: one JSON object on stdout.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' }, { "vhosts", required_argument, NULL, 'n' },
		{ "lun", required_argument, NULL, 'l' }, { "rw", required_argument, NULL, 'w' },
		{ "bs", required_argument, NULL, 'b' }, { "qd", required_argument, NULL, 'q' },
		{ "time", required_argument, NULL, 't' }, { "warmup", required_argument, NULL, 'W' },
		{ "backend-pid", required_argument, NULL, 'p' }, { "poll-us", required_argument, NULL, 'P' },
		{ "idle", required_argument, NULL, 'I' }, { "watch-pid", required_argument, NULL, 'X' },
		{ "copy", no_argument, NULL, 'C' }, { "no-persistent", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' }, { 0 } };
	struct bench b = { .bs = 4096, .qd = 16, .seconds = 5, .warmup = 1, .random = true, .rng = 88172645463325252ull };
	const char *url = NULL, *rw = "randread";
	double idle = 0;
	int poll_us = -1, c;
	unsigned nvhosts = 0;
	bool copy = false, no_persistent = false;
	struct slot *slots;
	double t0, bcpu1 = 0, elapsed, cpu1, wcpu1, busy1, other;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	long rss1 = 0;
	json_object *o;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'u': url = optarg; break;
		case 'n': nvhosts = (unsigned)atoi(optarg); break;
		case 'l': {
			unsigned ch, t, l;

			if (sscanf(optarg, "%u:%u:%u", &ch, &t, &l) != 3) {
				fprintf(stderr, "vscsi-bench: --lun wants C:T:L\n");
				return 2;
			}
			b.addr = (struct vscsi_addr){ (uint16_t)ch, (uint16_t)t, (uint16_t)l };
			break;
		}
		case 'w': rw = optarg; break;
		case 'b': b.bs = (uint32_t)atoi(optarg); break;
		case 'q': b.qd = (unsigned)atoi(optarg); break;
		case 't': b.seconds = atof(optarg); break;
		case 'W': b.warmup = atof(optarg); break;
		case 'p': b.backend_pid = atoi(optarg); break;
		case 'P': poll_us = atoi(optarg); break;
		case 'I': idle = atof(optarg); break;
		case 'C': copy = true; break;
		case 'N': no_persistent = true; break;
		case 'X':
			if (b.nwatch < sizeof(b.watch_pid) / sizeof(b.watch_pid[0]))
				b.watch_pid[b.nwatch++] = atoi(optarg);
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!strcmp(rw, "randread")) {
	} else if (!strcmp(rw, "randwrite")) {
		b.write = true;
	} else if (!strcmp(rw, "read")) {
		b.random = false;
	} else if (!strcmp(rw, "write")) {
		b.write = true;
		b.random = false;
	} else if (!strcmp(rw, "tur")) {
		b.tur = true;
	} else {
		fprintf(stderr, "vscsi-bench: unknown --rw %s\n", rw);
		return 2;
	}
	if ((!url) == (!nvhosts) || !b.qd || !b.bs || b.bs % 512) {
		usage(stderr);
		return 2;
	}

	if (url && b.tur) {
		fprintf(stderr, "vscsi-bench: --rw tur is for the stack only\n");
		return 2;
	}
	if (url) {
		struct iscsi_url *iu;
		struct scsi_task *t;

		b.iscsi = iscsi_create_context("iqn.2026-11.vscsi.bench:direct");
		iu = b.iscsi ? iscsi_parse_full_url(b.iscsi, url) : NULL;
		if (!iu) {
			fprintf(stderr, "vscsi-bench: %s: %s\n", url, b.iscsi ? iscsi_get_error(b.iscsi) : "no memory");
			return 1;
		}
		iscsi_set_session_type(b.iscsi, ISCSI_SESSION_NORMAL);
		iscsi_set_header_digest(b.iscsi, ISCSI_HEADER_DIGEST_NONE);
		iscsi_set_targetname(b.iscsi, iu->target);
		if (iscsi_full_connect_sync(b.iscsi, iu->portal, iu->lun) != 0) {
			fprintf(stderr, "vscsi-bench: connect %s: %s\n", url, iscsi_get_error(b.iscsi));
			return 1;
		}
		b.iscsi_lun = iu->lun;
		iscsi_destroy_url(iu);
		for (int i = 0; i < 5; i++) { /* past the login's UNIT ATTENTION */
			t = iscsi_readcapacity16_sync(b.iscsi, b.iscsi_lun);
			if (t && t->status == SCSI_STATUS_GOOD) {
				struct scsi_readcapacity16 *rc = scsi_datain_unmarshall(t);

				b.nblocks = rc->returned_lba + 1;
				b.block = rc->block_length;
				scsi_free_scsi_task(t);
				break;
			}
			if (t)
				scsi_free_scsi_task(t);
		}
		b.nhosts = 1;
	} else {
		/* Pool pages for every command in flight (libvscsifront's
		 * default, 512, holds two 1 MiB commands): the queue depth asked
		 * is the one measured. */
		size_t need = (size_t)b.qd * (b.bs / 4096 + 1);
		struct vscsi_opts vo = { .poll_us = poll_us, .pool_pages = need > 512 ? (unsigned)need : 0,
					 .flags = no_persistent ? VSCSI_OPEN_NO_PERSISTENT : 0 };

		b.poll_us = poll_us < 0 ? 20 : poll_us;
		char err[256];

		b.nhosts = nvhosts;
		b.hosts = calloc(nvhosts, sizeof(*b.hosts));
		for (unsigned h = 0; h < nvhosts; h++) {
			b.hosts[h] = vscsi_open(h, &vo, err, sizeof(err));
			if (!b.hosts[h]) {
				fprintf(stderr, "vscsi-bench: vhost %u: %s\n", h, err);
				return 1;
			}
		}
		for (int i = 0; i < 5; i++) {
			struct vscsi_task *t = vscsi_readcapacity16_sync(b.hosts[0], &b.addr);

			if (t && vscsi_task_good(t)) {
				const uint8_t *d = t->buf;

				b.nblocks = sg_get_unaligned_be64(d) + 1;
				b.block = sg_get_unaligned_be32(d + 8);
				vscsi_task_free(t);
				break;
			}
			if (t)
				vscsi_task_free(t);
		}
	}
	if (idle > 0) {
		/* Connected and idle: what does the backend burn meanwhile? */
		long rss;
		double c0 = b.backend_pid ? backend_cpu_s(b.backend_pid, &rss) : 0, c1;
		double t_end = now_s() + idle;

		while (now_s() < t_end)
			for (unsigned h = 0; h < b.nhosts; h++)
				vscsi_run_once(b.hosts[h], 10);
		c1 = b.backend_pid ? backend_cpu_s(b.backend_pid, &rss) : 0;
		printf("{\"engine\": \"idle\", \"vhosts\": %u, \"seconds\": %.1f, \"backend_cpu_pct\": %.3f, "
		       "\"backend_rss_kb\": %ld}\n", b.nhosts, idle, (c1 - c0) * 100 / idle, rss);
		return 0;
	}
	if (b.tur) {
		b.nblocks = 1;
		b.block = 512;
	}
	if (!b.nblocks || !b.block || b.bs % b.block) {
		fprintf(stderr, "vscsi-bench: cannot read the LUN's capacity\n");
		return 1;
	}
	if (b.nblocks > (1ull << 30) / b.block)   /* keep within 1 GiB: tgtd's file */
		b.nblocks = (1ull << 30) / b.block;

	slots = calloc(b.qd * b.nhosts, sizeof(*slots));
	for (unsigned i = 0; i < b.qd * b.nhosts; i++) {
		slots[i].b = &b;
		slots[i].host = i / b.qd;
		/* Zero copy unless --copy: the task's buffer is in the pool. */
		slots[i].buf = !url && !b.tur && !copy ? vscsi_buf_alloc(b.hosts[i / b.qd], b.bs) : NULL;
		if (!url && !b.tur && !copy && !slots[i].buf) {
			fprintf(stderr, "vscsi-bench: no zero-copy buffer of %u bytes: %s\n", b.bs,
				strerror(errno));
			return 1;
		}
		if (!slots[i].buf)
			slots[i].buf = aligned_alloc(4096, b.bs);
		memset(slots[i].buf, 0x5a, b.bs);
		if (!url && b.tur)
			slots[i].task = vscsi_task_new(&b.addr, (const uint8_t[6]){ 0 }, 6, VSCSI_XFER_NONE,
						       NULL, 0);
		else if (!url)
			slots[i].task = vscsi_task_new(&b.addr, (const uint8_t[16]){ 0x88 }, 16,
						       b.write ? VSCSI_XFER_WRITE : VSCSI_XFER_READ,
						       slots[i].buf, b.bs);
	}

	t0 = now_s();
	/* CPU is sampled around the measured window only. */
	{
		double t_warm = t0 + b.warmup, t_end = t_warm + b.seconds;
		int r;

		if (url) {
			r = run_iscsi(&b, slots, t_warm, t_end);
		} else {
			r = run_vscsi(&b, slots, t_warm, t_end);
		}
		if (r < 0)
			return 1;
	}
	elapsed = b.seconds;
	cpu1 = self_cpu_s() - b.cpu0;
	if (b.backend_pid)
		bcpu1 = backend_cpu_s(b.backend_pid, &rss1) - b.bcpu0;
	wcpu1 = watched_cpu_s(&b) - b.wcpu0;
	busy1 = machine_busy_s() - b.busy0;
	/* What the machine did besides this path, as a share of all its
	 * cores: a point measured while it was high is not comparable. */
	other = busy1 - cpu1 - bcpu1 - wcpu1;
	if (other < 0)
		other = 0;

	qsort(b.lat_us, b.nlat, sizeof(float), cmp_float);
	o = json_object_new_object();
	{
		double sum = 0;

		for (size_t i = 0; i < b.nlat; i++)
			sum += b.lat_us[i];
		json_object_object_add(o, "engine", json_object_new_string(url ? "direct" : "stack"));
		json_object_object_add(o, "rw", json_object_new_string(rw));
		json_object_object_add(o, "bs", json_object_new_int(b.tur ? 0 : (int)b.bs));
		json_object_object_add(o, "qd", json_object_new_int((int)b.qd));
		json_object_object_add(o, "vhosts", json_object_new_int((int)b.nhosts));
		if (!url) {
			json_object_object_add(o, "persistent_grants",
					       json_object_new_boolean(vscsi_host_persistent(b.hosts[0])));
			json_object_object_add(o, "zero_copy", json_object_new_boolean(!copy && !b.tur));
		}
		json_object_object_add(o, "commands", json_object_new_int64((int64_t)b.done));
		json_object_object_add(o, "errors", json_object_new_int64((int64_t)b.errors));
		json_object_object_add(o, "iops", json_object_new_double(b.done / elapsed));
		json_object_object_add(o, "mbps", json_object_new_double(b.bytes / elapsed / 1e6));
		json_object_object_add(o, "lat_mean_us", json_object_new_double(b.nlat ? sum / b.nlat : 0));
		json_object_object_add(o, "lat_p99_us",
				       json_object_new_double(b.nlat ? b.lat_us[(size_t)(b.nlat * 0.99)] : 0));
		json_object_object_add(o, "self_cpu_s", json_object_new_double(cpu1));
		json_object_object_add(o, "self_cpu_us_per_cmd",
				       json_object_new_double(b.done ? cpu1 * 1e6 / b.done : 0));
		json_object_object_add(o, "backend_cpu_us_per_cmd",
				       json_object_new_double(b.done ? bcpu1 * 1e6 / b.done : 0));
		json_object_object_add(o, "backend_cpu_s", json_object_new_double(bcpu1));
		json_object_object_add(o, "backend_rss_kb", json_object_new_int64(rss1));
		json_object_object_add(o, "watched_cpu_s", json_object_new_double(wcpu1));
		json_object_object_add(o, "other_cpu_pct",
				       json_object_new_double(other * 100 / (elapsed * (ncpu > 0 ? ncpu : 1))));
	}
	printf("%s\n", json_object_to_json_string(o));
	json_object_put(o);
	return b.errors && !b.done ? 1 : 0;
}
