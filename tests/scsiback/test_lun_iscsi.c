/* The iscsi LUN driver against a private tgtd (tests/support/tgtd-lab.sh):
 * disk, tape and changer pass-through, sense and residuals as the target
 * returns them, connect errors, LUN reset, command timeout, and a target
 * that dies and comes back. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/common_interface_defs.h>
#endif
#include "be_fields.h"

#include <xen/io/vscsiif.h>

#include "evloop.h"
#include "log.h"
#include "lun.h"
#include "lun_iscsi.h"
#include "lun_open.h"

static char rundir[256];
static char script[512];
static char disk_url[256], tape_url[256], drive1_url[256], changer_url[256];
static char chap_url[256], chap_user[64], chap_password[64];
static int tgtd_pid, tgtd_port;

/* ------------------------------------------------------------------ */
/* lab                                                                 */

static int lab(const char *verb)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "bash '%s' %s '%s' 1>&2", script, verb, rundir);
	return system(cmd);
}

static void env_value(const char *line, const char *key, char *out, size_t len)
{
	size_t k = strlen(key);

	if (!strncmp(line, key, k) && line[k] == '=') {
		snprintf(out, len, "%s", line + k + 1);
		out[strcspn(out, "\n")] = 0;
	}
}

static int load_env(void)
{
	char path[300], line[512], v[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/tgtd.env", rundir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		env_value(line, "DISK_URL", disk_url, sizeof(disk_url));
		env_value(line, "TAPE_URL", tape_url, sizeof(tape_url));
		env_value(line, "VTL_DRIVE1_URL", drive1_url, sizeof(drive1_url));
		env_value(line, "CHANGER_URL", changer_url, sizeof(changer_url));
		env_value(line, "CHAP_URL", chap_url, sizeof(chap_url));
		env_value(line, "CHAP_USER", chap_user, sizeof(chap_user));
		env_value(line, "CHAP_PASSWORD", chap_password, sizeof(chap_password));
		if (!strncmp(line, "TGTD_PID=", 9))
			tgtd_pid = atoi(line + 9);
		env_value(line, "TGTD_PORT", v, sizeof(v));
	}
	fclose(f);
	tgtd_port = atoi(v);
	return disk_url[0] && tgtd_pid > 0 ? 0 : -1;
}

static int group_setup(void **state)
{
	const char *src = getenv("VSCSI_SRC");

	(void)state;
	snprintf(script, sizeof(script), "%s/tests/support/tgtd-lab.sh", src ? src : ".");
	snprintf(rundir, sizeof(rundir), "/tmp/vscsi-tgtd.XXXXXX");
	if (!mkdtemp(rundir))
		return -1;
	if (lab("start") != 0 || load_env() != 0) {
		fprintf(stderr, "cannot start the tgtd lab with %s\n", script);
		lab("stop");
		rmdir(rundir);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (tgtd_pid > 0)
		kill(tgtd_pid, SIGCONT);
	lab("stop");
	rmdir(rundir);
	return 0;
}

/* ------------------------------------------------------------------ */
/* running commands                                                    */

struct fixture {
	struct evloop *loop;
	struct lun lun;
	bool open;
};

struct tcmd {
	struct lun_cmd c;
	int done;
	struct iovec iov[16];
};

static int tmf_calls, tmf_rslt;

static void on_done(struct lun_cmd *c)
{
	((struct tcmd *)c)->done++;
}

static void on_tmf(void *arg, int rslt)
{
	(void)arg;
	tmf_calls++;
	tmf_rslt = rslt;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->loop = evloop_new();
	f->lun.loop = f->loop;
	*state = f;
	return 0;
}

static char *log_capture_end(void);

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(log_capture_end());   /* a test that failed while capturing */
	if (f->open)
		lun_close(&f->lun);
	evloop_free(f->loop);
	free(f);
	return 0;
}

static int opened_calls, opened_rc;

static void on_opened(struct lun *lun, int rc)
{
	(void)lun;
	opened_calls++;
	opened_rc = rc;
}

/* The driver's open as a caller sees it: -EINPROGRESS at once, never an
 * answer from inside open(), then one call of lun->opened from the loop. */
static int open_wait(struct evloop *loop, struct lun *lun, const char *url,
		     const struct lun_config *cfg)
{
	double end;
	int rc;

	lun->loop = loop;
	lun->opened = on_opened;
	opened_calls = 0;
	rc = lun_open_str(lun, url, cfg);
	if (rc != -EINPROGRESS)
		return rc;
	assert_int_equal(opened_calls, 0);
	end = now_s() + 20;
	while (opened_calls == 0 && now_s() < end)
		evloop_run_once(loop, 50);
	assert_int_equal(opened_calls, 1);
	return opened_rc;
}

static void open_lun(struct fixture *f, const char *url)
{
	if (open_wait(f->loop, &f->lun, url, NULL))
		fail_msg("open %s: %s", url, f->lun.error);
	assert_ptr_equal(f->lun.ops, &lun_iscsi_ops);
	f->open = true;
}

/* Splits len bytes of buf into n uneven pieces. */
static void split_iov(struct tcmd *t, uint8_t *buf, size_t len, int n)
{
	size_t off = 0;

	if (len < (size_t)n * 16)
		n = 1;
	for (int i = 0; i < n; i++) {
		/* uneven, and not sector aligned */
		size_t piece = (i == n - 1) ? len - off : (len / (size_t)n) + (size_t)(i % 3) * 7 - 7;

		if (piece > len - off)
			piece = len - off;
		t->iov[i].iov_base = buf + off;
		t->iov[i].iov_len = piece;
		off += piece;
	}
	t->c.iov = t->iov;
	t->c.iovcnt = n;
	t->c.xfer_len = len;
}

static void cmd_init(struct tcmd *t, const uint8_t *cdb, int cdb_len, enum lun_dir dir,
		     uint8_t *buf, size_t len, int pieces)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->c.cdb, cdb, (size_t)cdb_len);
	t->c.cdb_len = (uint8_t)cdb_len;
	t->c.dir = dir;
	t->c.done = on_done;
	if (len)
		split_iov(t, buf, len, pieces);
}

static void wait_done(struct fixture *f, int *flag, int want, double secs)
{
	double end = now_s() + secs;

	while (*flag < want && now_s() < end)
		evloop_run_once(f->loop, 50);
}

/* Runs the loop until all n commands of t are done or secs pass; how
 * many are done. */
static int wait_all(struct fixture *f, const struct tcmd *t, int n, double secs)
{
	double end = now_s() + secs;
	int done = 0;

	do {
		evloop_run_once(f->loop, 50);
		done = 0;
		for (int i = 0; i < n; i++)
			done += t[i].done;
	} while (done < n && now_s() < end);
	return done;
}

static void run(struct fixture *f, struct tcmd *t)
{
	assert_int_equal(lun_submit(&f->lun, &t->c), 0);
	assert_int_equal(t->done, 0);
	wait_done(f, &t->done, 1, 30);
	if (t->done != 1)
		fail_msg("command 0x%02x did not complete", t->c.cdb[0]);
}

static bool is_ua(const struct tcmd *t)
{
	return t->c.status == 2 && t->c.sense_len > 2 && (t->c.sense[2] & 0x0f) == 6;
}

/* Runs cdb, retrying over UNIT ATTENTIONs as a guest would. */
static void run_ua(struct fixture *f, struct tcmd *t)
{
	struct tcmd copy = *t;

	for (int i = 0; i < 5; i++) {
		*t = copy;
		if (t->c.iov == copy.iov)
			t->c.iov = t->iov;
		run(f, t);
		if (!is_ua(t))
			return;
	}
}

static void tur_ready(struct fixture *f)
{
	uint8_t cdb[6] = { 0 };
	struct tcmd t;

	cmd_init(&t, cdb, 6, LUN_DIR_NONE, NULL, 0, 0);
	run_ua(f, &t);
	assert_int_equal(t.c.host, XEN_VSCSIIF_RSLT_HOST_OK);
	assert_int_equal(t.c.status, 0);
}

static void fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)((i * 131u + seed * 7u + (i >> 9)) & 0xff);
}

static void rw10(uint8_t *cdb, bool write, uint32_t lba, unsigned blocks)
{
	memset(cdb, 0, 10);
	cdb[0] = write ? 0x2a : 0x28;
	sg_put_unaligned_be32(lba, &cdb[2]);
	sg_put_unaligned_be16(blocks, &cdb[7]);
}

/* ------------------------------------------------------------------ */
/* the log                                                             */

/* The driver logs to stderr: between log_capture_begin and
 * log_capture_end it goes to a file, then on to stderr as well. */
static int saved_stderr = -1;
static FILE *capture;

static void log_capture_begin(void)
{
	fflush(stderr);
	capture = tmpfile();
	assert_non_null(capture);
	saved_stderr = dup(2);
	assert_true(saved_stderr >= 0);
	assert_int_equal(dup2(fileno(capture), 2), 2);
#ifdef __SANITIZE_ADDRESS__
	/* a sanitizer's report must outlive the capture file */
	__sanitizer_set_report_fd((void *)(intptr_t)saved_stderr);
#endif
}

/* What was logged since log_capture_begin (malloc'd); NULL if nothing
 * was being captured. */
static char *log_capture_end(void)
{
	off_t len;
	char *text;

	if (saved_stderr < 0)
		return NULL;
	fflush(stderr);
	dup2(saved_stderr, 2);
#ifdef __SANITIZE_ADDRESS__
	__sanitizer_set_report_fd((void *)(intptr_t)2);
#endif
	close(saved_stderr);
	saved_stderr = -1;
	len = lseek(fileno(capture), 0, SEEK_END);
	text = calloc(1, (size_t)(len > 0 ? len : 0) + 1);
	if (text && len > 0 && pread(fileno(capture), text, (size_t)len, 0) != len)
		text[0] = 0;
	fclose(capture);
	capture = NULL;
	if (text)
		fputs(text, stderr);
	return text;
}

/* How many lines of log, debug lines aside (libiscsi's own), hold text. */
static int log_lines(const char *log, const char *text)
{
	int n = 0;

	for (const char *l = log; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		char line[2048];

		snprintf(line, sizeof(line), "%.*s", (int)len, l);
		if (!strstr(line, "[debug]") && strstr(line, text))
			n++;
		l += len + (end ? 1 : 0);
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* disk                                                                */

static void test_inquiry_types(void **state)
{
	struct fixture *f = *state;
	struct { const char *url; int type; } cases[] = {
		{ disk_url, 0 }, { tape_url, 1 }, { drive1_url, 1 }, { changer_url, 8 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lun lun = { .loop = f->loop };

		if (open_wait(f->loop, &lun, cases[i].url, NULL))
			fail_msg("open %s: %s", cases[i].url, lun.error);
		assert_int_equal(lun.dev_type, cases[i].type);
		assert_non_null(strstr(lun.desc, "IET"));
		lun_close(&lun);
	}

	/* and INQUIRY passed through */
	open_lun(f, disk_url);
	uint8_t cdb[6] = { 0x12, 0, 0, 0, 96, 0 }, buf[96];
	struct tcmd t;
	memset(buf, 0xee, sizeof(buf));
	cmd_init(&t, cdb, 6, LUN_DIR_FROM_DEV, buf, sizeof(buf), 3);
	run(f, &t);
	assert_int_equal(t.c.host, XEN_VSCSIIF_RSLT_HOST_OK);
	assert_int_equal(t.c.status, 0);
	assert_int_equal(buf[0] & 0x1f, 0);
	assert_memory_equal(buf + 8, "IET     ", 8);
	/* tgt answers 66 bytes: the rest is residual */
	assert_int_equal(t.c.resid, 96 - (buf[4] + 5));
}

static void test_read_capacity(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[10] = { 0x25 }, buf[8];
	struct tcmd t;

	open_lun(f, disk_url);
	cmd_init(&t, cdb, 10, LUN_DIR_FROM_DEV, buf, sizeof(buf), 2);
	run_ua(f, &t);
	assert_int_equal(t.c.status, 0);
	assert_int_equal(sg_get_unaligned_be32(buf), 64 * 2048 - 1);   /* 64 MiB of 512-byte blocks */
	assert_int_equal(sg_get_unaligned_be32(buf + 4), 512);
	assert_int_equal(t.c.resid, 0);
}

static void test_write_read_sizes(void **state)
{
	struct fixture *f = *state;
	size_t sizes[] = { 512, 4096, 65536, 1 << 20 };
	uint8_t *wbuf = malloc(1 << 20), *rbuf = malloc(1 << 20);
	uint8_t cdb[10];
	struct tcmd t;

	open_lun(f, disk_url);
	tur_ready(f);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i];
		uint32_t lba = 4096 + (uint32_t)i * 4096;

		fill_pattern(wbuf, len, (unsigned)i + 1);
		rw10(cdb, true, lba, (unsigned)(len / 512));
		cmd_init(&t, cdb, 10, LUN_DIR_TO_DEV, wbuf, len, len >= 4096 ? 7 : 2);
		run(f, &t);
		assert_int_equal(t.c.host, XEN_VSCSIIF_RSLT_HOST_OK);
		assert_int_equal(t.c.status, 0);
		assert_int_equal(t.c.resid, 0);

		memset(rbuf, 0, len);
		rw10(cdb, false, lba, (unsigned)(len / 512));
		cmd_init(&t, cdb, 10, LUN_DIR_FROM_DEV, rbuf, len, len >= 4096 ? 5 : 3);
		run(f, &t);
		assert_int_equal(t.c.status, 0);
		assert_int_equal(t.c.resid, 0);
		assert_memory_equal(rbuf, wbuf, len);
	}
	free(wbuf);
	free(rbuf);
}

static void test_many_in_flight(void **state)
{
	struct fixture *f = *state;
	enum { N = 32 };
	static struct tcmd t[N];
	static uint8_t bufs[N][8192];
	uint8_t cdb[10];
	int done = 0;

	open_lun(f, disk_url);
	tur_ready(f);
	for (int i = 0; i < N; i++) {
		fill_pattern(bufs[i], sizeof(bufs[i]), 100u + (unsigned)i);
		rw10(cdb, true, 20000 + (uint32_t)i * 16, 16);
		cmd_init(&t[i], cdb, 10, LUN_DIR_TO_DEV, bufs[i], sizeof(bufs[i]), 4);
		assert_int_equal(lun_submit(&f->lun, &t[i].c), 0);
	}
	done = wait_all(f, t, N, 30);
	assert_int_equal(done, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(t[i].c.status, 0);
		assert_int_equal(t[i].c.host, 0);
	}
	for (int i = 0; i < N; i++) {
		uint8_t back[8192];

		rw10(cdb, false, 20000 + (uint32_t)i * 16, 16);
		cmd_init(&t[i], cdb, 10, LUN_DIR_FROM_DEV, back, sizeof(back), 1);
		run(f, &t[i]);
		assert_memory_equal(back, bufs[i], sizeof(back));
	}
}

static void test_read_past_end(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[10], buf[4096];
	struct tcmd t;

	open_lun(f, disk_url);
	tur_ready(f);
	rw10(cdb, false, 64 * 2048 - 2, 8);
	cmd_init(&t, cdb, 10, LUN_DIR_FROM_DEV, buf, sizeof(buf), 2);
	run(f, &t);
	assert_int_equal(t.c.host, XEN_VSCSIIF_RSLT_HOST_OK);
	assert_int_equal(t.c.status, 2);
	assert_int_equal(t.c.sense_len, 18);
	assert_int_equal(t.c.sense[0] & 0x7f, 0x70);
	assert_int_equal(t.c.sense[2] & 0x0f, 0x05);   /* ILLEGAL REQUEST */
	assert_int_equal(t.c.sense[7], 10);
	assert_int_equal(t.c.sense[12], 0x21);         /* LBA OUT OF RANGE */
	assert_int_equal(t.c.sense[13], 0x00);
	assert_int_equal(t.c.resid, 4096);             /* tgt: underflow, nothing moved */

	/* an opcode tgt does not know: INVALID COMMAND OPERATION CODE */
	uint8_t bad[6] = { 0xc7 };
	cmd_init(&t, bad, 6, LUN_DIR_NONE, NULL, 0, 0);
	run(f, &t);
	assert_int_equal(t.c.status, 2);
	assert_int_equal(t.c.sense[12], 0x20);
}

static void test_bad_submit(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[10], buf[512];
	struct tcmd t;

	open_lun(f, disk_url);
	rw10(cdb, false, 0, 1);
	cmd_init(&t, cdb, 10, LUN_DIR_BIDI, buf, sizeof(buf), 1);
	assert_int_equal(lun_submit(&f->lun, &t.c), -EOPNOTSUPP);
	cmd_init(&t, cdb, 0, LUN_DIR_NONE, NULL, 0, 0);
	assert_int_equal(lun_submit(&f->lun, &t.c), -EINVAL);
	/* buffers shorter than the transfer length */
	cmd_init(&t, cdb, 10, LUN_DIR_FROM_DEV, buf, sizeof(buf), 1);
	t.c.xfer_len = 1024;
	assert_int_equal(lun_submit(&f->lun, &t.c), -EINVAL);
	evloop_run_once(f->loop, 10);
	assert_int_equal(t.done, 0);
}

/* ------------------------------------------------------------------ */
/* tape                                                                */

static void tape_cmd(struct fixture *f, struct tcmd *t, uint8_t op, uint8_t byte1, uint32_t len,
		     enum lun_dir dir, uint8_t *buf, size_t buflen)
{
	uint8_t cdb[6] = { op, byte1, (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, 0 };

	cmd_init(t, cdb, 6, dir, buf, buflen, buflen > 1 ? 2 : 1);
	run(f, t);
	assert_int_equal(t->c.host, XEN_VSCSIIF_RSLT_HOST_OK);
}

static uint32_t sense_info(const struct tcmd *t)
{
	return sg_get_unaligned_be32(&t->c.sense[3]);
}

static void test_tape_variable_blocks(void **state)
{
	struct fixture *f = *state;
	uint8_t a[512], b[4096], r[4096];
	struct tcmd t;

	open_lun(f, tape_url);
	assert_int_equal(f->lun.dev_type, 1);
	tur_ready(f);
	memset(a, 0x11, sizeof(a));
	fill_pattern(b, sizeof(b), 9);

	tape_cmd(f, &t, 0x01, 0, 0, LUN_DIR_NONE, NULL, 0);                  /* REWIND */
	assert_int_equal(t.c.status, 0);
	tape_cmd(f, &t, 0x0a, 0, sizeof(a), LUN_DIR_TO_DEV, a, sizeof(a));    /* WRITE(6) */
	assert_int_equal(t.c.status, 0);
	tape_cmd(f, &t, 0x0a, 0, sizeof(b), LUN_DIR_TO_DEV, b, sizeof(b));
	assert_int_equal(t.c.status, 0);
	tape_cmd(f, &t, 0x10, 0, 1, LUN_DIR_NONE, NULL, 0);                  /* WRITE FILEMARKS */
	assert_int_equal(t.c.status, 0);
	tape_cmd(f, &t, 0x01, 0, 0, LUN_DIR_NONE, NULL, 0);
	assert_int_equal(t.c.status, 0);

	memset(r, 0, sizeof(r));
	tape_cmd(f, &t, 0x08, 0, 512, LUN_DIR_FROM_DEV, r, 512);              /* READ(6) */
	assert_int_equal(t.c.status, 0);
	assert_int_equal(t.c.resid, 0);
	assert_memory_equal(r, a, 512);
	tape_cmd(f, &t, 0x08, 0, 4096, LUN_DIR_FROM_DEV, r, 4096);
	assert_int_equal(t.c.status, 0);
	assert_memory_equal(r, b, 4096);

	/* into the filemark: CHECK CONDITION, NO SENSE with FILEMARK, ASC/ASCQ
	 * 00/01, VALID with INFORMATION = the whole request (nothing read).
	 * tgt sets no iSCSI residual on this one: passed through as 0. */
	tape_cmd(f, &t, 0x08, 0, 512, LUN_DIR_FROM_DEV, r, 512);
	assert_int_equal(t.c.status, 2);
	assert_int_equal(t.c.sense_len, 18);
	assert_int_equal(t.c.sense[0], 0xf0);
	assert_int_equal(t.c.sense[2], 0x80);
	assert_int_equal(sense_info(&t), 512);
	assert_int_equal(t.c.sense[12], 0x00);
	assert_int_equal(t.c.sense[13], 0x01);
	assert_int_equal(t.c.resid, 0);

	/* past the data: BLANK CHECK with EOM, ASC/ASCQ 00/00 (tgt quirk 4) */
	tape_cmd(f, &t, 0x08, 0, 512, LUN_DIR_FROM_DEV, r, 512);
	assert_int_equal(t.c.status, 2);
	assert_int_equal(t.c.sense[2], 0x48);

	/* a 1024-byte read of the 512-byte block: ILI, INFORMATION 512, and
	 * the iSCSI residual 512 with the block's data in front */
	tape_cmd(f, &t, 0x01, 0, 0, LUN_DIR_NONE, NULL, 0);
	memset(r, 0, sizeof(r));
	tape_cmd(f, &t, 0x08, 0, 1024, LUN_DIR_FROM_DEV, r, 1024);
	assert_int_equal(t.c.status, 2);
	assert_int_equal(t.c.sense[0], 0xf0);
	assert_int_equal(t.c.sense[2], 0x20);
	assert_int_equal(sense_info(&t), 512);
	assert_int_equal(t.c.resid, 512);
	assert_memory_equal(r, a, 512);
}

/* ------------------------------------------------------------------ */
/* changer                                                             */

struct element {
	unsigned addr;
	bool full;
	char tag[33];
};

/* READ ELEMENT STATUS for one element type (tgt mangles type 0), with
 * volume tags; parses defensively (tgt's byte counts run 8 short). */
static int read_elements(struct fixture *f, unsigned type, unsigned start, unsigned count,
			 struct element *out, int max)
{
	uint8_t buf[1024], cdb[12] = { 0xb8, (uint8_t)(0x10 | type) };
	struct tcmd t;
	int n = 0;

	sg_put_unaligned_be16(start, &cdb[2]);
	sg_put_unaligned_be16(count, &cdb[4]);
	sg_put_unaligned_be24(sizeof(buf), &cdb[7]);
	memset(buf, 0, sizeof(buf));
	cmd_init(&t, cdb, 12, LUN_DIR_FROM_DEV, buf, sizeof(buf), 3);
	run_ua(f, &t);
	assert_int_equal(t.c.host, XEN_VSCSIIF_RSLT_HOST_OK);
	if (t.c.status != 0)
		fail_msg("READ ELEMENT STATUS type %u: status 0x%x sense %02x/%02x/%02x", type,
			 t.c.status, t.c.sense[2], t.c.sense[12], t.c.sense[13]);
	size_t got = sizeof(buf) - t.c.resid;
	assert_true(got >= 16);
	unsigned dlen = sg_get_unaligned_be16(&buf[8 + 2]);
	assert_int_equal(buf[8] & 0x0f, type);
	assert_true(buf[8 + 1] & 0x80);   /* PVolTag */
	assert_true(dlen >= 12);
	for (size_t off = 16; off + 12 <= got && n < max; off += dlen, n++) {
		out[n].addr = sg_get_unaligned_be16(&buf[off]);
		out[n].full = buf[off + 2] & 0x01;
		size_t tl = got - off > 12 ? got - off - 12 : 0;
		if (tl > 32)
			tl = 32;
		memcpy(out[n].tag, &buf[off + 12], tl);
		out[n].tag[tl] = 0;
		for (int k = (int)tl - 1; k >= 0 && (out[n].tag[k] == ' ' || !out[n].tag[k]); k--)
			out[n].tag[k] = 0;
	}
	return n;
}

static void move_medium(struct fixture *f, struct tcmd *t, unsigned from, unsigned to)
{
	uint8_t cdb[12] = { 0xa5 };

	sg_put_unaligned_be16(16, &cdb[2]);
	sg_put_unaligned_be16(from, &cdb[4]);
	sg_put_unaligned_be16(to, &cdb[6]);
	cmd_init(t, cdb, 12, LUN_DIR_NONE, NULL, 0, 0);
	run_ua(f, t);
	assert_int_equal(t->c.host, XEN_VSCSIIF_RSLT_HOST_OK);
}

static void test_changer(void **state)
{
	struct fixture *f = *state;
	struct element e[8];
	struct tcmd t;
	int n;

	open_lun(f, changer_url);
	assert_int_equal(f->lun.dev_type, 8);
	tur_ready(f);

	n = read_elements(f, 2, 1024, 8, e, 8);
	assert_true(n >= 5);   /* the last descriptor may be cut short */
	for (int i = 0; i < 4; i++) {
		char want[16];

		snprintf(want, sizeof(want), "TAPE%04d", i + 1);
		assert_int_equal(e[i].addr, 1024 + (unsigned)i);
		assert_true(e[i].full);
		assert_string_equal(e[i].tag, want);
	}
	assert_int_equal(e[4].addr, 1028);
	assert_false(e[4].full);

	n = read_elements(f, 4, 1, 2, e, 8);
	assert_true(n >= 1);
	assert_int_equal(e[0].addr, 1);
	assert_false(e[0].full);

	move_medium(f, &t, 1024, 1);
	assert_int_equal(t.c.status, 0);
	n = read_elements(f, 4, 1, 2, e, 8);
	assert_true(n >= 1);
	assert_true(e[0].full);
	assert_string_equal(e[0].tag, "TAPE0001");
	n = read_elements(f, 2, 1024, 1, e, 8);
	assert_true(n >= 1);
	assert_false(e[0].full);

	/* destination full: ILLEGAL REQUEST, 3B/0D */
	move_medium(f, &t, 1025, 1);
	assert_int_equal(t.c.status, 2);
	assert_int_equal(t.c.sense[2] & 0x0f, 5);
	assert_int_equal(t.c.sense[12], 0x3b);
	assert_int_equal(t.c.sense[13], 0x0d);

	/* the drive that got the cartridge is ready now */
	struct fixture d = { .loop = f->loop, .lun = { .loop = f->loop } };
	open_lun(&d, drive1_url);
	tur_ready(&d);
	lun_close(&d.lun);

	move_medium(f, &t, 1, 1024);
	assert_int_equal(t.c.status, 0);
}

/* ------------------------------------------------------------------ */
/* errors, reset, timeout                                              */

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(s);
	return port;
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct lun lun = { .loop = f->loop };
	char url[300];
	int port = free_port();

	snprintf(url, sizeof(url), "iscsi://127.0.0.1:%d/iqn.2026-11.vscsi.test:disk/1", port);
	assert_int_equal(open_wait(f->loop, &lun, url, NULL), -ECONNREFUSED);
	char want[200];
	snprintf(want, sizeof(want), "lun iscsi://127.0.0.1:%d/iqn.2026-11.vscsi.test:disk/1: "
		 "connect to 127.0.0.1:%d: Connection refused", port, port);
	assert_string_equal(lun.error, want);

	snprintf(url, sizeof(url), "iscsi://127.0.0.1:%d/iqn.2026-11.vscsi.test:nosuch/1", tgtd_port);
	assert_true(open_wait(f->loop, &lun, url, NULL) < 0);
	assert_non_null(strstr(lun.error, "login:"));

	snprintf(url, sizeof(url), "iscsi://127.0.0.1:%d/iqn.2026-11.vscsi.test:disk/7", tgtd_port);
	assert_int_equal(open_wait(f->loop, &lun, url, NULL), -ENODEV);
	assert_non_null(strstr(lun.error, "has no LUN 7"));

	assert_int_equal(open_wait(f->loop, &lun, "iscsi://127.0.0.1:0/iqn.a:b/1", NULL), -EINVAL);
	assert_non_null(strstr(lun.error, "port 0 out of range"));
}

static int silent_calls, silent_rc;

static void on_silent_opened(struct lun *lun, int rc)
{
	(void)lun;
	silent_calls++;
	silent_rc = rc;
}

/* A portal that takes the connection and never answers the login: the
 * open waits for it in the loop, so another LUN on the same loop opens
 * and serves meanwhile; the open then fails with a clear cause, and a
 * close while opening cancels it without a call. */
static void test_open_silent_target(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	struct lun silent = { .loop = f->loop, .opened = on_silent_opened };
	int s = socket(AF_INET, SOCK_STREAM, 0);
	char url[200];
	double end;

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 8), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	snprintf(url, sizeof(url), "iscsi://127.0.0.1:%d/iqn.2026-11.vscsi.test:silent/1",
		 ntohs(a.sin_port));

	silent_calls = 0;
	assert_int_equal(lun_open_str(&silent, url, NULL), -EINPROGRESS);
	open_lun(f, disk_url);
	tur_ready(f);
	assert_int_equal(silent_calls, 0);   /* served while the other waits */

	end = now_s() + 20;
	while (silent_calls == 0 && now_s() < end)
		evloop_run_once(f->loop, 50);
	assert_int_equal(silent_calls, 1);
	assert_int_equal(silent_rc, -ETIMEDOUT);
	assert_non_null(strstr(silent.error, "no login within 10 s"));
	assert_non_null(strstr(silent.error, url));
	lun_close(&silent);        /* a no-op after a failed open */

	struct lun cancelled = { .loop = f->loop, .opened = on_silent_opened };
	silent_calls = 0;
	assert_int_equal(lun_open_str(&cancelled, url, NULL), -EINPROGRESS);
	for (int i = 0; i < 4; i++)
		evloop_run_once(f->loop, 50);
	lun_close(&cancelled);
	end = now_s() + 0.5;
	while (now_s() < end)
		evloop_run_once(f->loop, 50);
	assert_int_equal(silent_calls, 0);
	tur_ready(f);
	close(s);
}

/* CHAP comes from the backend's configuration, never from the p-dev. */
static void test_chap(void **state)
{
	struct fixture *f = *state;
	struct lun lun = { .loop = f->loop };
	struct lun_config cfg = { .chap_user = chap_user, .chap_password = "not-the-secret" };

	assert_true(chap_url[0] && chap_user[0] && chap_password[0]);
	assert_true(open_wait(f->loop, &lun, chap_url, NULL) < 0);
	assert_non_null(strstr(lun.error, "login:"));
	assert_non_null(strstr(lun.error, "Authentication failure"));
	assert_true(open_wait(f->loop, &lun, chap_url, &cfg) < 0);
	assert_non_null(strstr(lun.error, "Authentication failure"));

	cfg.chap_password = chap_password;
	cfg.initiator_iqn = "iqn.2026-11.vscsi.test:initiator";
	if (open_wait(f->loop, &f->lun, chap_url, &cfg))
		fail_msg("open %s with CHAP: %s", chap_url, f->lun.error);
	f->open = true;
	assert_int_equal(f->lun.dev_type, 0);
	tur_ready(f);
}

static void test_lun_reset(void **state)
{
	struct fixture *f = *state;
	enum { N = 8 };
	static struct tcmd t[N];
	static uint8_t bufs[N][65536];
	uint8_t cdb[10];
	int done = 0;

	open_lun(f, disk_url);
	tur_ready(f);
	/* frozen, so that the target has all of them when the reset comes */
	assert_int_equal(kill(tgtd_pid, SIGSTOP), 0);
	for (int i = 0; i < N; i++) {
		rw10(cdb, false, (uint32_t)i * 128, 128);
		cmd_init(&t[i], cdb, 10, LUN_DIR_FROM_DEV, bufs[i], sizeof(bufs[i]), 4);
		assert_int_equal(lun_submit(&f->lun, &t[i].c), 0);
	}
	evloop_run_once(f->loop, 10);
	tmf_calls = 0;
	assert_int_equal(lun_reset(&f->lun, on_tmf, NULL), 0);
	assert_int_equal(tmf_calls, 0);   /* never inside reset() */
	evloop_run_once(f->loop, 10);
	kill(tgtd_pid, SIGCONT);
	wait_done(f, &tmf_calls, 1, 20);
	assert_int_equal(tmf_calls, 1);
	assert_int_equal(tmf_rslt, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
	/* every command is answered, before the reset's own answer */
	for (int i = 0; i < N; i++) {
		done += t[i].done;
		assert_true(t[i].c.host == XEN_VSCSIIF_RSLT_HOST_OK ||
			    t[i].c.host == XEN_VSCSIIF_RSLT_HOST_RESET);
	}
	assert_int_equal(done, N);
	/* the target reports the reset to us once, then all is well */
	tur_ready(f);
}

static void test_abort(void **state)
{
	struct fixture *f = *state;
	static uint8_t buf[1 << 20];
	uint8_t cdb[10];
	struct tcmd t;

	open_lun(f, disk_url);
	tur_ready(f);
	rw10(cdb, false, 0, 2048);
	cmd_init(&t, cdb, 10, LUN_DIR_FROM_DEV, buf, sizeof(buf), 8);
	assert_int_equal(lun_submit(&f->lun, &t.c), 0);
	tmf_calls = 0;
	assert_int_equal(lun_abort(&f->lun, &t.c, on_tmf, NULL), 0);
	wait_done(f, &tmf_calls, 1, 20);
	assert_int_equal(tmf_calls, 1);
	/* the command is answered first: aborted, or done before the abort */
	assert_int_equal(t.done, 1);
	assert_int_equal(tmf_rslt, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
	assert_true(t.c.host == XEN_VSCSIIF_RSLT_HOST_ABORT ||
		    (t.c.host == XEN_VSCSIIF_RSLT_HOST_OK && t.c.status == 0));
	/* not in flight any more */
	assert_int_equal(lun_abort(&f->lun, &t.c, on_tmf, NULL), -ENOENT);
	tur_ready(f);

	/* the target sees the command and the abort together */
	assert_int_equal(kill(tgtd_pid, SIGSTOP), 0);
	cmd_init(&t, cdb, 10, LUN_DIR_FROM_DEV, buf, sizeof(buf), 8);
	assert_int_equal(lun_submit(&f->lun, &t.c), 0);
	evloop_run_once(f->loop, 10);
	tmf_calls = 0;
	assert_int_equal(lun_abort(&f->lun, &t.c, on_tmf, NULL), 0);
	evloop_run_once(f->loop, 10);
	kill(tgtd_pid, SIGCONT);
	wait_done(f, &tmf_calls, 1, 20);
	assert_int_equal(tmf_calls, 1);
	assert_int_equal(t.done, 1);
	assert_int_equal(tmf_rslt, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
	assert_true(t.c.host == XEN_VSCSIIF_RSLT_HOST_ABORT ||
		    (t.c.host == XEN_VSCSIIF_RSLT_HOST_OK && t.c.status == 0));
	tur_ready(f);
}

/* A frozen target: the command's timeout ends in an ABORT TASK that no
 * one answers, then the session is dropped; the command ends TIME_OUT,
 * the other one TRANSPORT_DISRUPTED, and all works once it thaws. */
static void test_timeout(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[10], a[4096], b[4096];
	struct tcmd t1, t2;

	open_lun(f, disk_url);
	tur_ready(f);
	assert_int_equal(kill(tgtd_pid, SIGSTOP), 0);
	rw10(cdb, false, 0, 8);
	cmd_init(&t1, cdb, 10, LUN_DIR_FROM_DEV, a, sizeof(a), 2);
	t1.c.timeout_ms = 300;
	cmd_init(&t2, cdb, 10, LUN_DIR_FROM_DEV, b, sizeof(b), 2);
	t2.c.timeout_ms = 60000;
	assert_int_equal(lun_submit(&f->lun, &t1.c), 0);
	assert_int_equal(lun_submit(&f->lun, &t2.c), 0);
	double start = now_s();
	wait_done(f, &t1.done, 1, 20);
	double took = now_s() - start;
	kill(tgtd_pid, SIGCONT);
	assert_int_equal(t1.done, 1);
	assert_int_equal(t1.c.host, XEN_VSCSIIF_RSLT_HOST_TIME_OUT);
	assert_true(took > 0.3 && took < 15);
	wait_done(f, &t2.done, 1, 5);
	assert_int_equal(t2.done, 1);
	assert_int_equal(t2.c.host, XEN_VSCSIIF_RSLT_HOST_TRANSPORT_DISRUPTED);
	tur_ready(f);
}

static void test_close_completes(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[10], a[4096];
	struct tcmd t;

	open_lun(f, disk_url);
	tur_ready(f);
	assert_int_equal(kill(tgtd_pid, SIGSTOP), 0);
	rw10(cdb, false, 0, 8);
	cmd_init(&t, cdb, 10, LUN_DIR_FROM_DEV, a, sizeof(a), 2);
	assert_int_equal(lun_submit(&f->lun, &t.c), 0);
	evloop_run_once(f->loop, 20);
	lun_close(&f->lun);
	f->open = false;
	kill(tgtd_pid, SIGCONT);
	assert_int_equal(t.done, 1);
	assert_int_equal(t.c.host, XEN_VSCSIIF_RSLT_HOST_ABORT);
	/* nothing of it is left in the loop */
	assert_true(evloop_run_once(f->loop, 50) == 0);
}

/* ------------------------------------------------------------------ */
/* target crash and restart                                            */

static void test_target_killed_and_restarted(void **state)
{
	struct fixture *f = *state;
	enum { N = 6 };
	static struct tcmd t[N];
	static uint8_t bufs[N][65536], pattern[65536], back[65536];
	uint8_t cdb[10];
	struct tcmd w;

	open_lun(f, disk_url);
	tur_ready(f);
	/* data written before the crash */
	fill_pattern(pattern, sizeof(pattern), 77);
	rw10(cdb, true, 50000, 128);
	cmd_init(&w, cdb, 10, LUN_DIR_TO_DEV, pattern, sizeof(pattern), 5);
	run(f, &w);
	assert_int_equal(w.c.status, 0);

	/* frozen, so that these are surely in flight when it dies */
	assert_int_equal(kill(tgtd_pid, SIGSTOP), 0);
	for (int i = 0; i < N; i++) {
		rw10(cdb, i % 2, 60000 + (uint32_t)i * 128, 128);
		cmd_init(&t[i], cdb, 10, i % 2 ? LUN_DIR_TO_DEV : LUN_DIR_FROM_DEV, bufs[i],
			 sizeof(bufs[i]), 3);
		assert_int_equal(lun_submit(&f->lun, &t[i].c), 0);
	}
	for (int i = 0; i < 5; i++)
		evloop_run_once(f->loop, 10);
	log_capture_begin();
	assert_int_equal(lab("kill"), 0);
	int done = wait_all(f, t, N, 10);
	char *log = log_capture_end();
	assert_int_equal(done, N);
	/* it died with our commands unread: the connection was reset, and
	 * the log says so in our words */
	assert_int_equal(log_lines(log, "iscsi_service"), 0);
	assert_int_equal(log_lines(log, "lost (Connection reset by peer)"), 1);
	free(log);
	for (int i = 0; i < N; i++)
		assert_int_equal(t[i].c.host, XEN_VSCSIIF_RSLT_HOST_TRANSPORT_DISRUPTED);

	/* while it is down, new commands wait for it */
	rw10(cdb, false, 50000, 128);
	memset(back, 0, sizeof(back));
	cmd_init(&w, cdb, 10, LUN_DIR_FROM_DEV, back, sizeof(back), 4);
	assert_int_equal(lun_submit(&f->lun, &w.c), 0);
	for (int i = 0; i < 10; i++)
		evloop_run_once(f->loop, 50);
	assert_int_equal(w.done, 0);

	assert_int_equal(lab("restart"), 0);
	assert_int_equal(load_env(), 0);
	wait_done(f, &w.done, 1, 20);
	assert_int_equal(w.done, 1);
	assert_int_equal(w.c.host, XEN_VSCSIIF_RSLT_HOST_OK);
	/* a fresh session: the target's power-on UNIT ATTENTION, passed on */
	if (is_ua(&w)) {
		assert_int_equal(w.c.sense[12], 0x29);
		memset(back, 0, sizeof(back));
		cmd_init(&w, cdb, 10, LUN_DIR_FROM_DEV, back, sizeof(back), 4);
		run_ua(f, &w);
	}
	assert_int_equal(w.c.status, 0);
	assert_memory_equal(back, pattern, sizeof(back));

	/* and it keeps working */
	rw10(cdb, true, 50000, 128);
	cmd_init(&w, cdb, 10, LUN_DIR_TO_DEV, pattern, sizeof(pattern), 2);
	run_ua(f, &w);
	assert_int_equal(w.c.status, 0);
}

/* Commands submitted to a connection the target has already reset: the
 * write fails inside lun_submit, the session drops and each command is
 * answered from within submit (the soak found the driver reading such a
 * command after it was freed; ASan in make check's second build). */
static void test_submit_into_a_reset_connection(void **state)
{
	struct fixture *f = *state;
	enum { N = 8 };
	static struct tcmd t[N];
	static uint8_t bufs[N][65536];
	uint8_t cdb[10];
	int done = 0, disrupted = 0;

	open_lun(f, disk_url);
	tur_ready(f);
	log_capture_begin();
	assert_int_equal(lab("kill"), 0);
	/* its FIN arrives; our first write draws its RST */
	usleep(200 * 1000);
	for (int i = 0; i < N; i++) {
		rw10(cdb, i % 2, 60000 + (uint32_t)i * 128, 128);
		cmd_init(&t[i], cdb, 10, i % 2 ? LUN_DIR_TO_DEV : LUN_DIR_FROM_DEV, bufs[i],
			 sizeof(bufs[i]), 3);
		t[i].c.timeout_ms = 20000;
		assert_int_equal(lun_submit(&f->lun, &t[i].c), 0);
		usleep(20 * 1000);
	}
	for (int i = 0; i < 10; i++)
		evloop_run_once(f->loop, 50);
	char *log = log_capture_end();
	assert_int_equal(log_lines(log, "lost ("), 1);
	free(log);
	/* Those the dropped session held end with the transport's word; the
	 * later ones wait for the target, as with any loss. */
	for (int i = 0; i < N; i++) {
		if (!t[i].done)
			continue;
		assert_int_equal(t[i].c.host, XEN_VSCSIIF_RSLT_HOST_TRANSPORT_DISRUPTED);
		disrupted++;
	}
	assert_true(disrupted >= 1 && disrupted < N);
	assert_int_equal(lab("restart"), 0);
	assert_int_equal(load_env(), 0);
	done = wait_all(f, t, N, 15);
	assert_int_equal(done, N);
	for (int i = 0; i < N; i++) {
		if (t[i].c.host == XEN_VSCSIIF_RSLT_HOST_TRANSPORT_DISRUPTED)
			continue;
		assert_int_equal(t[i].c.host, XEN_VSCSIIF_RSLT_HOST_OK);
		assert_true(t[i].c.status == 0 || is_ua(&t[i]));
	}
}

/* What the driver keeps of libiscsi's error texts when it has nothing
 * better (libiscsi 1.19's words): the meaningful part, without its
 * function names, errno numbers or reconnect bookkeeping. */
static void test_libiscsi_texts(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "iscsi_service_reconnect_if_loggedin. Can not reconnect right now.\n", "" },
		{ "iscsi_service: socket error Connection reset by peer(104).",
		  "Connection reset by peer" },
		{ "iscsi_service: socket error Connection refused(111) while connecting.",
		  "Connection refused" },
		{ "Couldn't connect transport: Connect failed with errno : Network is unreachable(101)",
		  "Network is unreachable" },
		{ "Invalid target:nosuch.invalid:3260  Can not resolv into IPv4/v6.",
		  "cannot resolve the host name" },
		{ "iscsi_service: POLLHUP, socket error.", "connection closed" },
		{ "Failed to log in to target. Status: Authentication failure(513)",
		  "Failed to log in to target. Status: Authentication failure" },
		{ "Invalid data size received from target (70000)",
		  "Invalid data size received from target (70000)" },
		{ "", "" },
	};
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lun_iscsi_test_lib_text(cases[i].in, out, sizeof(out));
		assert_string_equal(out, cases[i].out);
	}
	lun_iscsi_test_lib_text(NULL, out, sizeof(out));
	assert_string_equal(out, "");
}

/* The target dies with nothing in flight and stays down. The log names
 * the causes in our words, once each: the session to the portal and
 * target lost because the target closed the connection, and the portal
 * refusing the reconnects (one line, not one per attempt); never the
 * bookkeeping text libiscsi puts in place of its error while it handles
 * a lost connection ("iscsi_service_reconnect_if_loggedin. Can not
 * reconnect right now."). A LUN opened meanwhile fails with the connect
 * error. Once the target is back, the LUN serves again. */
static void test_target_down_names_the_cause(void **state)
{
	struct fixture *f = *state;
	struct lun other = { .loop = f->loop };
	char want[400], *log;
	double end;

	if (lab("status") != 0) {   /* a test before failed with it down */
		assert_int_equal(lab("restart"), 0);
		assert_int_equal(load_env(), 0);
	}
	open_lun(f, disk_url);
	tur_ready(f);
	log_capture_begin();
	assert_int_equal(lab("kill"), 0);
	/* the loss, then attempts at 0, 250, 750 and 1750 ms */
	end = now_s() + 2;
	while (now_s() < end)
		evloop_run_once(f->loop, 50);
	int rc = open_wait(f->loop, &other, disk_url, NULL);
	log = log_capture_end();

	assert_int_equal(log_lines(log, "Can not reconnect"), 0);
	assert_int_equal(log_lines(log, "iscsi_service"), 0);
	snprintf(want, sizeof(want),
		 "session to 127.0.0.1:%d/iqn.2026-11.vscsi.test:disk lost (the target closed "
		 "the connection)", tgtd_port);
	assert_int_equal(log_lines(log, want), 1);
	snprintf(want, sizeof(want), "reconnect: connect to 127.0.0.1:%d: Connection refused; retrying",
		 tgtd_port);
	assert_int_equal(log_lines(log, want), 1);
	/* not a line per attempt: one, or two if the first attempt raced the
	 * target's last moments (then it failed another way) */
	assert_in_range(log_lines(log, "reconnect: "), 1, 2);
	free(log);
	assert_int_equal(rc, -ECONNREFUSED);
	snprintf(want, sizeof(want), "lun %s: connect to 127.0.0.1:%d: Connection refused", disk_url,
		 tgtd_port);
	assert_string_equal(other.error, want);

	assert_int_equal(lab("restart"), 0);
	assert_int_equal(load_env(), 0);
	tur_ready(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inquiry_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_capacity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_read_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_past_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_submit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tape_variable_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_silent_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lun_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_completes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_killed_and_restarted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_down_names_the_cause, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit_into_a_reset_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_libiscsi_texts, setup, teardown),
	};

	log_init("test_lun_iscsi", getenv("VSCSI_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_INFO, false);
	/* only the tests whose names match (a glob), as make mutants does */
	if (getenv("VSCSI_TEST_ONLY"))
		cmocka_set_test_filter(getenv("VSCSI_TEST_ONLY"));
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
