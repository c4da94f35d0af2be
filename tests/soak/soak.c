/* The soak: several guests run disk, tape and changer I/O through scsiback
 * against tgtd's LUNs, checking every byte, while faults come at random:
 * scsiback SIGKILLed and started again, tgtd killed and started again, a
 * LUN hot-removed and added back, a guest destroyed mid-I/O and created
 * again, and all along a hostile guest flooding its ring with nonsense.
 * It ends with a summary and fails on any acknowledged write lost or
 * corrupted, a daemon that died or reported a sanitizer error, a guest
 * that made no progress, or file descriptors that grew.
 *
 * SOAK_SECONDS sets the duration (default 120: what `make check` runs);
 * `make soak DURATION=3600` runs an hour. SOAK_SEED makes a run repeatable
 * as far as timing allows. SOAK_PRIVSEP=1 or 0 runs scsiback with
 * --privsep or --no-privsep instead of its default. RSS and descriptors
 * are scsiback's with its workers'. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <xenstore.h>

#include "daemon.h"
#include "log.h"
#include "rawfront.h"
#include "simenv.h"
#include "tgtlab.h"
#include "toolstack.h"
#include "vscsifront.h"

#define NDISK 3                    /* disk guests, a region of the shared disk each */
#define BLK 4096
#define REGION_BLOCKS 1024         /* 4 MiB per guest */
#define TAPE_BLOCKS 16

enum role { R_DISK0, R_DISK1, R_DISK2, R_TAPE, R_CHANGER, R_HOSTILE, NROLES };
static const char *const role_name[NROLES] = { "disk0", "disk1", "disk2", "tape", "changer",
					       "hostile" };
enum fault { F_BACKEND, F_TARGET, F_HOTPLUG, F_GUEST, NFAULTS };
/* SOAK_FAULTS=backend,target,hotplug,guest picks the kinds (default all) */
static const char *const fault_key[NFAULTS] = { "backend", "target", "hotplug", "guest" };
static const char *const fault_name[NFAULTS] = {
	"scsiback SIGKILLed and restarted", "tgtd killed and restarted",
	"LUN hot-removed and added back", "guest destroyed mid-I/O and re-created",
};

/* What the guests did, and what the disk must hold: in memory shared with
 * the guest processes, so it outlives a guest that is killed. */
struct shared {
	volatile int stop;
	struct {
		uint64_t cmds, bytes, errors, corrupt, checked;
	} r[NROLES];
	/* per disk block: the last version acknowledged, and the versions
	 * written since whose writes ended without an answer (each may or may
	 * not have landed): pending..newest, 0 when none */
	struct {
		uint32_t acked, pending, newest;
	} blk[NDISK][REGION_BLOCKS];
};

static struct shared *sh;
static struct simenv env;
static struct tgtlab lab;
static struct xs_handle *xs0;
static char logfile[600], statedir[600], config[600];
static pid_t backend;
static int domid[NROLES];
static pid_t worker[NROLES];
static unsigned faults[NFAULTS];
static unsigned tgt_deaths;
static uint64_t t0;
static uint64_t seed;

static uint64_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the data a disk block holds: a stamp and bytes derived from it ---- */

struct stamp {
	char magic[8];
	uint32_t guest, block, version, pad;
};

static void block_fill(uint8_t *b, unsigned g, unsigned blk, uint32_t v)
{
	struct stamp s = { "VSCSOAK", g, blk, v, 0 };
	uint64_t x = ((uint64_t)g << 48) ^ ((uint64_t)blk << 20) ^ v ^ 0x9e3779b97f4a7c15ull;

	memcpy(b, &s, sizeof(s));
	for (size_t i = sizeof(s); i < BLK; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(b + i, &x, 8);
	}
}

static uint32_t stamp_version(const uint8_t *b)
{
	struct stamp s;

	memcpy(&s, b, sizeof(s));
	return memcmp(s.magic, "VSCSOAK", 8) ? 0 : s.version;
}

/* 1 if b holds version acked (or pending, or never-written zeros while
 * nothing was acknowledged), else 0. */
static int block_ok(const uint8_t *b, unsigned g, unsigned blk)
{
	static uint8_t want[BLK];
	uint32_t acked = sh->blk[g][blk].acked, pending = sh->blk[g][blk].pending;
	uint32_t newest = sh->blk[g][blk].newest;
	struct stamp s;

	memcpy(&s, b, sizeof(s));
	if (memcmp(s.magic, "VSCSOAK", 8)) {
		for (size_t i = 0; i < BLK; i++)
			if (b[i])
				return 0;
		return acked == 0;
	}
	if (s.guest != g || s.block != blk ||
	    (s.version != acked && (!pending || s.version < pending || s.version > newest)))
		return 0;
	block_fill(want, g, blk, s.version);
	return !memcmp(b, want, BLK);
}

/* ---- guests (forked children acting as their domain) ---- */

static struct vscsi_host *guest_open(int role)
{
	struct vscsi_opts o = { .cmd_timeout_ms = 20000, .connect_timeout_ms = 10000, .poll_us = -1 };
	char err[256], path[300];

	simenv_be_domain(&env, domid[role]);
	simenv_xs_path(&env, domid[role], path, sizeof(path));
	setenv("XENSTORED_PATH", path, 1);
	while (!sh->stop) {
		struct vscsi_host *h = vscsi_open(0, &o, err, sizeof(err));

		if (h)
			return h;
		usleep(200000);
	}
	return NULL;
}

/* A vhost the backend closed (its last LUN was detached, and a new
 * vhost came with the next attach) is gone for good: connect again, as
 * a guest's frontend would to the new device. */
static struct vscsi_host *guest_reopen_if_gone(struct vscsi_host *h, int role)
{
	enum vscsi_host_state st = vscsi_get_state(h);

	if (st != VSCSI_HOST_DISCONNECTED && st != VSCSI_HOST_FAILED)
		return h;
	vscsi_close(h);
	return guest_open(role);
}

static bool task_ok(int role, struct vscsi_task *t, size_t bytes)
{
	bool ok = t && vscsi_task_good(t);

	sh->r[role].cmds++;
	if (ok) {
		sh->r[role].bytes += bytes;
		return true;
	}
	/* the first error of every hundred, for the log */
	if (sh->r[role].errors++ % 100 == 0)
		fprintf(stderr, "soak: %s: error %" PRIu64 ": %s (status 0x%02x, host %u, sense %02x/%02x/%02x)\n",
			role_name[role], sh->r[role].errors, !t ? strerror(errno) : t->error ? t->errmsg : "answered",
			t ? t->status : 0, t ? t->host_status : 0, t && t->sense_len > 2 ? t->sense[2] & 0xf : 0,
			t && t->sense_len > 13 ? t->sense[12] : 0, t && t->sense_len > 13 ? t->sense[13] : 0);
	return false;
}

static void disk_guest(int role)
{
	static uint8_t buf[BLK];
	struct vscsi_host *h = guest_open(role);
	const struct vscsi_addr a = { 0, 0, 0 };
	unsigned g = (unsigned)role;

	while (h && !sh->stop && (h = guest_reopen_if_gone(h, role))) {
		unsigned blk = (unsigned)(rnd() % REGION_BLOCKS);
		uint64_t lba = ((uint64_t)g * REGION_BLOCKS + blk) * (BLK / 512);
		struct vscsi_task *t;

		if (rnd() % 10 < 6) {
			uint32_t v = (sh->blk[g][blk].newest > sh->blk[g][blk].acked ?
				      sh->blk[g][blk].newest : sh->blk[g][blk].acked) + 1;

			block_fill(buf, g, blk, v);
			if (!sh->blk[g][blk].pending)
				sh->blk[g][blk].pending = v;
			sh->blk[g][blk].newest = v;
			t = vscsi_write16_sync(h, &a, lba, BLK / 512, 512, buf);
			if (task_ok(role, t, BLK)) {
				sh->blk[g][blk].acked = v;
				sh->blk[g][blk].pending = 0;
				sh->blk[g][blk].newest = 0;
			}
		} else {
			t = vscsi_read16_sync(h, &a, lba, BLK / 512, 512, buf);
			if (task_ok(role, t, BLK) && t->xfer_done == BLK) {
				sh->r[role].checked++;
				if (!block_ok(buf, g, blk)) {
					sh->r[role].corrupt++;
					fprintf(stderr, "soak: %s: block %u reads wrong (acked v%u, pending v%u..v%u)\n",
						role_name[role], blk, sh->blk[g][blk].acked,
						sh->blk[g][blk].pending, sh->blk[g][blk].newest);
				}
			}
		}
		if (t && !vscsi_task_good(t))
			usleep(50000);
		vscsi_task_free(t);
	}
	vscsi_close(h);
}

static struct vscsi_task *tape_cmd(struct vscsi_host *h, int role, const uint8_t *cdb, size_t n,
				   enum vscsi_xfer x, void *buf, size_t len, bool *clean)
{
	const struct vscsi_addr a = { 0, 0, 0 };
	struct vscsi_task *t = vscsi_command_sync(h, &a, cdb, n, x, buf, len);

	if (!task_ok(role, t, len))
		*clean = false;
	return t;
}

/* Rounds of: rewind, write TAPE_BLOCKS stamped blocks and a filemark,
 * rewind, read them back. A round without any error must read back what
 * it wrote. */
static void tape_guest(int role)
{
	static uint8_t buf[BLK], want[BLK];
	struct vscsi_host *h = guest_open(role);
	uint32_t round = 0;

	while (h && !sh->stop && (h = guest_reopen_if_gone(h, role))) {
		uint8_t rew[6] = { 0x01 }, wfm[6] = { 0x10, 0, 0, 0, 1, 0 };
		uint8_t wr[6] = { 0x0a, 0, 0, BLK >> 8, BLK & 0xff, 0 }, rd[6] = { 0x08, 0, 0, BLK >> 8,
									  BLK & 0xff, 0 };
		bool clean = true;

		round++;
		vscsi_task_free(tape_cmd(h, role, rew, 6, VSCSI_XFER_NONE, NULL, 0, &clean));
		for (unsigned i = 0; i < TAPE_BLOCKS && clean && !sh->stop; i++) {
			block_fill(buf, 100, i, round);
			vscsi_task_free(tape_cmd(h, role, wr, 6, VSCSI_XFER_WRITE, buf, BLK, &clean));
		}
		if (clean)
			vscsi_task_free(tape_cmd(h, role, wfm, 6, VSCSI_XFER_NONE, NULL, 0, &clean));
		if (clean)
			vscsi_task_free(tape_cmd(h, role, rew, 6, VSCSI_XFER_NONE, NULL, 0, &clean));
		for (unsigned i = 0; i < TAPE_BLOCKS && clean && !sh->stop; i++) {
			struct vscsi_task *t = tape_cmd(h, role, rd, 6, VSCSI_XFER_READ, buf, BLK, &clean);

			if (clean) {
				block_fill(want, 100, i, round);
				sh->r[role].checked++;
				if (t->xfer_done != BLK || memcmp(buf, want, BLK)) {
					sh->r[role].corrupt++;
					fprintf(stderr, "soak: tape: round %u block %u reads wrong\n", round, i);
				}
			}
			vscsi_task_free(t);
		}
		if (!clean)
			usleep(100000);
	}
	vscsi_close(h);
}

/* READ ELEMENT STATUS of the storage slots: addresses and full flags. */
static int changer_slots(struct vscsi_host *h, int role, uint16_t *addr, bool *full, int max)
{
	static uint8_t d[8192];
	const struct vscsi_addr a = { 0, 0, 0 };
	/* storage elements only (type 2): tgtd's medium transport page
	 * counts a descriptor it does not send */
	uint8_t res[12] = { 0xb8, 0x02, 0, 0, 0xff, 0xff, 0, 0, 0x20, 0, 0, 0 };
	struct vscsi_task *t = vscsi_command_sync(h, &a, res, 12, VSCSI_XFER_READ, d, sizeof(d));
	size_t n, p = 8;
	int k = 0;

	if (!task_ok(role, t, sizeof(d))) {
		vscsi_task_free(t);
		return -1;
	}
	n = t->xfer_done;
	vscsi_task_free(t);

	while (p + 8 <= n) {
		uint8_t type = d[p];
		size_t dlen = (size_t)(d[p + 2] << 8 | d[p + 3]);
		size_t bytes = (size_t)(d[p + 5] << 16 | d[p + 6] << 8 | d[p + 7]);
		size_t q = p + 8;

		if (!dlen)
			break;
		for (; q + dlen <= p + 8 + bytes && q + dlen <= n; q += dlen) {
			uint16_t ea = (uint16_t)(d[q] << 8 | d[q + 1]);

			if (type == 2 && k < max) {
				addr[k] = ea;
				full[k++] = d[q + 2] & 1;
			}
		}
		p += 8 + bytes;
	}
	return k;
}

/* Moves a cartridge from a full slot to an empty one and checks the
 * changer's own account of where it is; then on to the next pair. */
static void changer_guest(int role)
{
	struct vscsi_host *h = guest_open(role);
	const struct vscsi_addr a = { 0, 0, 0 };

	while (h && !sh->stop && (h = guest_reopen_if_gone(h, role))) {
		uint16_t addr[64], arm = 0;   /* 0: the default medium transport */
		bool full[64], after[64];
		int n = changer_slots(h, role, addr, full, 64), src = -1, dst = -1;
		struct vscsi_task *t;
		uint8_t mv[12] = { 0xa5 };

		for (int i = 0; i < n; i++) {
			if (full[i] && (src < 0 || rnd() % 2))
				src = i;
			if (!full[i] && (dst < 0 || rnd() % 2))
				dst = i;
		}
		if (src < 0 || dst < 0) {
			usleep(100000);
			continue;
		}
		mv[2] = (uint8_t)(arm >> 8);
		mv[3] = (uint8_t)arm;
		mv[4] = (uint8_t)(addr[src] >> 8);
		mv[5] = (uint8_t)addr[src];
		mv[6] = (uint8_t)(addr[dst] >> 8);
		mv[7] = (uint8_t)addr[dst];
		t = vscsi_command_sync(h, &a, mv, 12, VSCSI_XFER_NONE, NULL, 0);
		if (task_ok(role, t, 0) && changer_slots(h, role, addr, after, 64) == n) {
			sh->r[role].checked++;
			if (after[src] || !after[dst]) {
				sh->r[role].corrupt++;
				fprintf(stderr, "soak: changer: moved %u -> %u, but the slots say %d -> %d\n",
					addr[src], addr[dst], after[src], after[dst]);
			}
		} else {
			usleep(100000);
		}
		vscsi_task_free(t);
	}
	vscsi_close(h);
}

/* Anything on the ring that is not a valid command: random CDBs, random
 * lengths and segment tables, grant refs that are not ours, unknown LUNs,
 * as fast as the ring takes them. Reconnects when the backend drops it. */
static void hostile_guest(int role)
{
	struct rawfront f;
	uint16_t rqid = 0;

	simenv_be_domain(&env, domid[role]);
	while (!sh->stop) {
		if (rawfront_open(&f, &env, domid[role], 0, 5000) != 0) {
			usleep(200000);
			continue;
		}
		while (!sh->stop) {
			vscsiif_response_t rsp;
			vscsiif_request_t req;
			uint8_t cdb[16];
			int sent = 0, got = 0;

			for (int i = 0; i < 16; i++) {
				for (int k = 0; k < 16; k++)
					cdb[k] = (uint8_t)rnd();
				bool ind = rnd() % 2;
				/* (direct: the request's 26 segments at most) */
				uint32_t len = (uint32_t)(rnd() % ((ind ? 64u : 26u) * 4096));

				rawfront_cdb(&f, &req, rqid++, (uint16_t)(rnd() % 3), (uint16_t)(rnd() % 3), cdb,
					     (uint8_t)(1 + rnd() % 16), (uint8_t)(rnd() % 4),
					     (unsigned)(rnd() % 64), len, ind);
				if (rnd() % 4 == 0 && req.nr_segments)
					req.seg[0].gref = (grant_ref_t)rnd();
				if (rnd() % 8 == 0)
					req.act = (uint8_t)rnd();
				rawfront_push(&f, &req);
				sent++;
			}
			while (got < sent && rawfront_wait(&f, &rsp, 2000) == 0)
				got++;
			sh->r[role].cmds += (uint64_t)sent;
			sh->r[role].errors += (uint64_t)(sent - got);
			if (got < sent)
				break;   /* the backend stopped answering this ring: start over */
		}
		rawfront_close(&f);
	}
}

static pid_t start_guest(int role)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		seed ^= (uint64_t)getpid() << 17;
		if (role <= R_DISK2)
			disk_guest(role);
		else if (role == R_TAPE)
			tape_guest(role);
		else if (role == R_CHANGER)
			changer_guest(role);
		else
			hostile_guest(role);
		_exit(0);
	}
	return pid;
}

/* ---- the host side ---- */

static const char *role_pdev(int role)
{
	switch (role) {
	case R_TAPE: return lab.tape_url;
	case R_CHANGER: return lab.changer_url;
	case R_HOSTILE: return "null:disk";
	default: return lab.disk_url;
	}
}

static int attach(int role)
{
	struct ts_opts o = { .be_domid = 0, .timeout_ms = 20000 };
	struct ts_lun l = { .pdev = role_pdev(role), .vdev = "0:0:0:0", .shared = role <= R_DISK2 };
	char err[512];
	int r = ts_attach_luns(xs0, (unsigned)domid[role], &l, 1, &o, err, sizeof(err));

	if (r)
		fprintf(stderr, "soak: attach %s to %s: %s\n", l.pdev, role_name[role], err);
	return r;
}

static void detach(int role)
{
	struct ts_opts o = { .be_domid = 0, .timeout_ms = 20000 };
	char err[512];

	if (ts_detach(xs0, (unsigned)domid[role], "0:0:0:0", &o, err, sizeof(err)))
		fprintf(stderr, "soak: detach %s: %s\n", role_name[role], err);
}

static void create_guest(int role)
{
	char name[32];

	snprintf(name, sizeof(name), "soak-%s", role_name[role]);
	domid[role] = simenv_create_domain(&env, name);
	assert_true(domid[role] > 0);
	/* The backend may be down (a fault): try until it is back. */
	for (int i = 0; i < 10 && attach(role) != 0; i++)
		sleep(1);
	worker[role] = start_guest(role);
}

static pid_t start_backend(void)
{
	const char *mode = getenv("SOAK_PRIVSEP");
	char *argv[] = { (char *)simenv_prog("scsiback/scsiback"), "--state-dir", statedir,
			 "--config", config, "--log-level", "info",
			 !mode || !*mode ? NULL : strcmp(mode, "0") ? "--privsep" : "--no-privsep", NULL };
	pid_t pid = daemon_start(&env, 0, logfile, argv);

	usleep(300000);
	return pid;
}

struct usage {
	long rss_kb;
	int fds;
};

/* RSS and descriptors of one process (adds to u). */
static void usage_add(pid_t pid, struct usage *u)
{
	char path[64], line[256];
	struct dirent *e;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			u->rss_kb += strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char link[400], target[300];
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = 0;
		/* The simulated hypervisor's RAM of each domain it has seen,
		 * kept by xensim's grant library in the process: not
		 * scsiback's, and nothing of it exists under real Xen. */
		if (!strncmp(target, "/memfd:xensim-dom", 17))
			continue;
		u->fds++;
	}
	if (d)
		closedir(d);
}

/* The parent of pid, from /proc/PID/stat (0 when gone). */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	int ppid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && sscanf(p + 1, " %*c %d", &ppid) != 1)
		ppid = 0;
	fclose(f);
	return (pid_t)ppid;
}

/* Whether pid descends from root. */
static bool descends_from(pid_t pid, pid_t root)
{
	for (int depth = 0; depth < 8 && pid > 1; depth++) {
		pid = parent_of(pid);
		if (pid == root)
			return true;
	}
	return false;
}

/* The backend's RSS and descriptors: scsiback and, with --privsep, its
 * spawner and workers. */
static struct usage usage_of(pid_t pid)
{
	struct usage u = { 0, 0 };
	struct dirent *e;
	DIR *d;

	usage_add(pid, &u);
	d = opendir("/proc");
	while (d && (e = readdir(d))) {
		pid_t p = (pid_t)strtol(e->d_name, NULL, 10);

		if (p > 0 && p != pid && descends_from(p, pid))
			usage_add(p, &u);
	}
	if (d)
		closedir(d);
	return u;
}

static void inject(enum fault k)
{
	int role = (int)(rnd() % NDISK);

	faults[k]++;
	printf("soak: %6.1f s: %s%s%s\n", (double)(now_ms() - t0) / 1000, fault_name[k],
	       k == F_HOTPLUG || k == F_GUEST ? ": " : "",
	       k == F_HOTPLUG || k == F_GUEST ? role_name[role] : "");
	fflush(stdout);
	switch (k) {
	case F_BACKEND:
		daemon_stop(backend, SIGKILL, 5000);
		backend = start_backend();
		break;
	case F_TARGET:
		tgtlab_cmd(&lab, "kill");
		usleep((useconds_t)(500000 + rnd() % 2000000));
		if (tgtlab_cmd(&lab, "restart") != 0)
			fprintf(stderr, "soak: tgtd did not restart\n");
		break;
	case F_HOTPLUG:
		detach(role);
		usleep((useconds_t)(rnd() % 1000000));
		attach(role);
		break;
	case F_GUEST:
		kill(worker[role], SIGKILL);
		waitpid(worker[role], NULL, 0);
		simenv_destroy_domain(&env, domid[role]);
		create_guest(role);
		break;
	default:
		break;
	}
}

static unsigned count_lines(const char *path, const char *needle)
{
	char line[1024];
	unsigned n = 0;
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return n;
}

/* After the run: every block of every region as the target's backing file
 * holds it, against what was acknowledged. */
static unsigned verify_backing(void)
{
	char path[600];
	static uint8_t b[BLK];
	unsigned lost = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/disk.img", lab.rundir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	for (unsigned g = 0; g < NDISK; g++)
		for (unsigned blk = 0; blk < REGION_BLOCKS; blk++) {
			off_t off = ((off_t)g * REGION_BLOCKS + blk) * BLK;

			assert_int_equal(pread(fd, b, BLK, off), BLK);
			if (!block_ok(b, g, blk)) {
				if (lost < 10)
					fprintf(stderr, "soak: disk%u block %u holds v%u, not acknowledged "
						"v%u (nor pending v%u..v%u)\n", g, blk, stamp_version(b),
						sh->blk[g][blk].acked, sh->blk[g][blk].pending,
						sh->blk[g][blk].newest);
				lost++;
			}
		}
	close(fd);
	return lost;
}

/* false, after printing the end of its log, if scsiback died on its own. */
static bool backend_alive(void)
{
	static bool told;
	char cmd[700];

	int st = 0;
	pid_t r = waitpid(backend, &st, WNOHANG);

	if (r == 0)
		return true;
	if (!told) {
		told = true;
		printf("soak: %6.1f s: scsiback (pid %d) ended on its own (%s %d); its log ends:\n",
		       (double)(now_ms() - t0) / 1000, (int)backend,
		       r != backend ? "already reaped" : WIFSIGNALED(st) ? "signal" : "exit status",
		       r != backend ? 0 : WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		fflush(stdout);
		snprintf(cmd, sizeof(cmd), "grep -v soak-hostile '%s' | tail -n 40", logfile);
		if (system(cmd) != 0)
			printf("(no log)\n");
		fflush(stdout);
	}
	return false;
}

static void test_soak(void **state)
{
	const char *s = getenv("SOAK_SECONDS");
	unsigned seconds = s && *s ? (unsigned)strtoul(s, NULL, 10) : 120;
	uint64_t end, next, acked = 0, seed0 = seed;
	const char *only = getenv("SOAK_FAULTS");
	struct usage u0, u1;
	unsigned lost, corrupt = 0, total_faults = 0, hostile_lines, line_cap;
	bool progress = true;

	(void)state;
	if (tgtlab_start_in(&lab, env.rundir) != 0)
		skip();
	backend = start_backend();
	assert_true(backend > 0);
	for (int r = 0; r < R_HOSTILE; r++)
		create_guest(r);
	sleep(3);
	u0 = usage_of(backend);
	{
		char name[32];

		snprintf(name, sizeof(name), "soak-%s", role_name[R_HOSTILE]);
		domid[R_HOSTILE] = simenv_create_domain(&env, name);
		assert_int_equal(attach(R_HOSTILE), 0);
		worker[R_HOSTILE] = start_guest(R_HOSTILE);
	}
	printf("soak: %u s, SOAK_SEED=%" PRIu64 ", scsiback pid %d: RSS %ld KiB, %d fds\n", seconds, seed0,
	       (int)backend, u0.rss_kb, u0.fds);
	t0 = now_ms();
	end = now_ms() + (uint64_t)seconds * 1000;
	next = now_ms() + 3000 + rnd() % 5000;
	while (now_ms() < end) {
		if (!backend_alive())
			break;
		if (lab.pid > 0 && kill(lab.pid, 0) != 0) {
			/* Not a fault we injected: tgtd itself died. */
			char cmd[700];

			tgt_deaths++;
			printf("soak: %6.1f s: tgtd (pid %d) died on its own; its log ends:\n",
			       (double)(now_ms() - t0) / 1000, lab.pid);
			fflush(stdout);
			snprintf(cmd, sizeof(cmd), "tail -n 15 '%s/tgtd.log'", lab.rundir);
			if (system(cmd) != 0)
				printf("(no tgtd.log)\n");
			tgtlab_cmd(&lab, "restart");
		}
		if (now_ms() >= next && now_ms() + 10000 < end) {
			enum fault k;

			do
				k = (enum fault)(rnd() % NFAULTS);
			while (only && !strstr(only, fault_key[k]));
			inject(k);
			next = now_ms() + 3000 + rnd() % 5000;
		}
		usleep(200000);
	}
	/* The flood stops, then a quiet spell for the measurement. */
	kill(worker[R_HOSTILE], SIGKILL);
	waitpid(worker[R_HOSTILE], NULL, 0);
	simenv_destroy_domain(&env, domid[R_HOSTILE]);   /* scsiback lets its vhost go */
	sleep(3);
	u1 = usage_of(backend);
	sh->stop = 1;
	for (int r = 0; r < R_HOSTILE; r++)
		waitpid(worker[r], NULL, 0);
	lost = verify_backing();
	hostile_lines = count_lines(logfile, "soak-hostile");

	printf("soak: summary after %u s (SOAK_SEED=%" PRIu64 ")\n", seconds, seed0);
	printf("  %-8s %10s %12s %8s %9s %8s\n", "guest", "commands", "bytes", "errors", "checked",
	       "corrupt");
	for (int r = 0; r < NROLES; r++) {
		printf("  %-8s %10" PRIu64 " %12" PRIu64 " %8" PRIu64 " %9" PRIu64 " %8" PRIu64 "\n",
		       role_name[r], sh->r[r].cmds, sh->r[r].bytes, sh->r[r].errors, sh->r[r].checked,
		       sh->r[r].corrupt);
		corrupt += (unsigned)sh->r[r].corrupt;
		if (r != R_HOSTILE && sh->r[r].cmds == sh->r[r].errors)
			progress = false;
	}
	for (int k = 0; k < NFAULTS; k++) {
		printf("  fault: %-45s %u\n", fault_name[k], faults[k]);
		total_faults += faults[k];
	}
	for (unsigned g = 0; g < NDISK; g++)
		for (unsigned b = 0; b < REGION_BLOCKS; b++)
			acked += sh->blk[g][b].acked ? 1 : 0;
	printf("  disk blocks with an acknowledged write: %" PRIu64 "; lost or corrupted: %u\n", acked,
	       lost);
	printf("  reads that returned wrong data: %u\n", corrupt);
	printf("  scsiback%s: RSS %ld -> %ld KiB, fds %d -> %d (pid %d at the end)\n",
	       daemon_log_count(logfile, "guests are served by workers") > 0 ? " and its workers (--privsep)" : " (one process)",
	       u0.rss_kb, u1.rss_kb, u0.fds, u1.fds, (int)backend);
	/* Each of the vhost's line sources (ring, commands) writes at most
	 * LOG_LIMIT_BURST lines and one account per window, again after each
	 * restart of scsiback, plus a few about its coming and going. */
	line_cap = 2 * (LOG_LIMIT_BURST + 1) * (seconds / (LOG_LIMIT_WINDOW_MS / 1000) + 2) *
		   (faults[F_BACKEND] + 1) + 20 * (faults[F_BACKEND] + 1);
	printf("  scsiback log lines about the hostile guest: %u (at most %u)\n", hostile_lines,
	       line_cap);
	if (tgt_deaths)
		printf("  tgtd died on its own %u times (restarted)\n", tgt_deaths);
	fflush(stdout);

	assert_true(backend_alive());
	assert_int_equal(lost, 0);
	assert_int_equal(corrupt, 0);
	assert_true(progress);
	assert_true(total_faults > 0 || seconds < 20);
	assert_true(u1.fds <= u0.fds);
	assert_true(hostile_lines <= line_cap);
	assert_int_equal(daemon_log_clean(logfile), 0);
	tgtlab_stop(&lab);
}

static int setup(void **state)
{
	const char *s = getenv("SOAK_SEED");
	FILE *cf;

	(void)state;
	seed = s && *s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL) * 2654435761u;
	if (!seed)
		seed = 1;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || simenv_start(&env) != 0)
		return -1;
	memset(sh, 0, sizeof(*sh));
	snprintf(logfile, sizeof(logfile), "%s/scsiback.log", env.rundir);
	snprintf(statedir, sizeof(statedir), "%s/scsiback-state", env.rundir);
	snprintf(config, sizeof(config), "%s/scsiback.conf", env.rundir);
	cf = fopen(config, "w");
	if (!cf)
		return -1;
	fprintf(cf, "# defaults\n");
	fclose(cf);
	xs0 = simenv_xs_open(&env, 0);
	return xs0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	if (sh)
		sh->stop = 1;
	for (int r = 0; r < NROLES; r++)
		if (worker[r] > 0) {
			kill(worker[r], SIGKILL);
			waitpid(worker[r], NULL, 0);
		}
	if (backend > 0)
		daemon_stop(backend, SIGTERM, 40000);
	tgtlab_stop(&lab);
	if (xs0)
		xs_close(xs0);
	simenv_stop(&env);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_soak),
	};

	simenv_use_sim_libs(argc, argv);
	return cmocka_run_group_tests(tests, setup, teardown);
}
