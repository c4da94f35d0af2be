/* scsiback's own lifecycle, as scsiback(8) describes it: the exit
 * statuses (2 for a bad command line, 1 for a bad configuration naming
 * file:line, 3 when another daemon holds the lock), one daemon per state
 * directory and per pidfile (a second one refused while the first goes on
 * serving), --daemon, SIGHUP with a broken file, and SIGTERM's drain:
 * commands in flight finish, at most 30 s, and those still running then
 * are answered host RESET; the seccomp filter. The device is tgtd's disk over iSCSI (frozen
 * with SIGSTOP to keep commands in flight) beside a null LUN. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "be_fields.h"
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "daemon.h"
#include "inflight.h"
#include "rawfront.h"
#include "simenv.h"
#include "tgtlab.h"
#include "toolstack.h"

#define DISK 0            /* target 0: tgtd's disk */
#define NUL 1             /* target 1: null:disk, with a CDB policy */
#define CHUNK 65536       /* bytes per command in the drain tests */
#define DRAIN_LIMIT_MS 30000   /* scsiback(8), SIGNALS */

static struct simenv env;
static struct tgtlab lab;
static int dom1;
static pid_t backend;     /* the daemon serving the guest between tests */
static bool stopping;     /* it has had SIGTERM */
static pid_t stray[8];    /* others a failed test may leave running */
static struct rawfront f;
static struct xs_handle *xs0;
static char logfile[512], statedir[512], config[512], scratch[512];
static unsigned nlogs;
static const struct ts_opts topts = { .be_domid = 0, .timeout_ms = 15000 };

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 }, NULL);
}

static void remember(pid_t pid)
{
	for (unsigned i = 0; i < sizeof(stray) / sizeof(stray[0]); i++)
		if (stray[i] <= 0) {
			stray[i] = pid;
			return;
		}
}

static void forget(pid_t pid)
{
	for (unsigned i = 0; i < sizeof(stray) / sizeof(stray[0]); i++)
		if (stray[i] == pid)
			stray[i] = 0;
}

/* Ends what a failed test left running (our children only: daemon_alive
 * asks waitpid, so a pid used again by someone else is never hit). */
static void kill_strays(void)
{
	for (unsigned i = 0; i < sizeof(stray) / sizeof(stray[0]); i++) {
		if (stray[i] > 0 && stray[i] != backend && daemon_alive(stray[i]))
			daemon_stop(stray[i], SIGKILL, 5000);
		stray[i] = 0;
	}
}

/* Each daemon logs into a file of its own: what a test looks for is
 * that daemon's. */
static const char *new_log(void)
{
	snprintf(logfile, sizeof(logfile), "%s/scsiback-%u.log", env.rundir, ++nlogs);
	return logfile;
}

/* Starts scsiback in domain 0 on our state directory and configuration,
 * extra options after; logs into a fresh logfile. */
static pid_t start_daemon(const char *extra1, const char *extra2, const char *extra3)
{
	char *argv[] = { (char *)simenv_prog("scsiback/scsiback"), "--state-dir", statedir,
			 "--config", config, "--log-level", "debug", (char *)extra1, (char *)extra2,
			 (char *)extra3, NULL };

	return daemon_start(&env, 0, new_log(), argv);
}

/* Runs scsiback in domain 0 with argv[1..], its output into out; the exit
 * status, or -1 if it still ran after timeout_ms (then it is killed). */
static int run_capture(char *const args[], char *out, size_t outlen, unsigned timeout_ms)
{
	char *argv[32];
	int p[2], status, n = 0;
	size_t used = 0;
	long end = ms_now() + timeout_ms;
	pid_t pid;

	argv[n++] = (char *)simenv_prog("scsiback/scsiback");
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		simenv_exec_in(0, argv);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	out[0] = 0;
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		ssize_t r;

		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (ms_now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(p[0]);
			fprintf(stderr, "scsiback %s still ran after %u ms; output: %s\n", args[0],
				timeout_ms, out);
			return -1;
		}
		poll(&pfd, 1, 50);
		while (used + 1 < outlen && (r = read(p[0], out + used, outlen - used - 1)) > 0)
			used += (size_t)r;
		out[used] = 0;
	}
	for (ssize_t r; used + 1 < outlen && (r = read(p[0], out + used, outlen - used - 1)) > 0;)
		used += (size_t)r;
	out[used] = 0;
	close(p[0]);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Waits for a process (our child) to end; its wait status, or -1 if it
 * still runs after timeout_ms. */
static int wait_exit(pid_t pid, unsigned timeout_ms)
{
	long end = ms_now() + timeout_ms;
	int status;

	do {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		sleep_ms(20);
	} while (ms_now() < end);
	return -1;
}

/* 0 once logfile has n lines containing text, -1 after timeout_ms. The
 * last such line into last. */
static int wait_log_count(const char *log, const char *text, int n, unsigned timeout_ms,
			  char *last, size_t lastlen)
{
	long end = ms_now() + timeout_ms;

	for (;;) {
		FILE *lf = fopen(log, "r");
		char line[2048];
		int seen = 0;

		while (lf && fgets(line, sizeof(line), lf))
			if (strstr(line, text)) {
				seen++;
				if (last)
					snprintf(last, lastlen, "%s", line);
			}
		if (lf)
			fclose(lf);
		if (seen >= n)
			return 0;
		if (ms_now() > end)
			return -1;
		sleep_ms(20);
	}
}

static int log_has(const char *log, const char *text)
{
	return wait_log_count(log, text, 1, 0, NULL, 0) == 0;
}

static int read_pidfile(const char *path)
{
	FILE *pf = fopen(path, "r");
	int pid = -1;

	if (pf) {
		if (fscanf(pf, "%d", &pid) != 1)
			pid = -1;
		fclose(pf);
	}
	return pid;
}

static void check_good(const vscsiif_response_t *rsp)
{
	if (rsp->rslt != 0)
		fail_msg("rqid %u: rslt 0x%x, sense_len %u, key %x asc %02x ascq %02x", rsp->rqid,
			 rsp->rslt, rsp->sense_len, rsp->sense_buffer[2] & 0xf, rsp->sense_buffer[12],
			 rsp->sense_buffer[13]);
}

static void rw10(uint8_t op, uint32_t lba, uint32_t bytes, uint8_t *cdb)
{
	memset(cdb, 0, 10);
	cdb[0] = op;
	sg_put_unaligned_be32(lba, cdb + 2);
	sg_put_unaligned_be16((uint16_t)(bytes / 512), cdb + 7);
}

static void fill(uint8_t *p, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 2654435761u + seed) >> 13);
}

/* One command on pool page 0 and on; its response must be its own. */
static void exec_cmd(uint16_t tgt, const uint8_t *cdb, uint8_t cdb_len, uint8_t dir, uint32_t len,
		     vscsiif_response_t *rsp)
{
	static uint16_t next;
	vscsiif_request_t req;
	uint16_t rqid = next++ % 8;   /* 8..15 are the tests' own */

	rawfront_cdb(&f, &req, rqid, tgt, 0, cdb, cdb_len, dir, 0, len, len > 26 * 4096);
	rawfront_push(&f, &req);
	assert_int_equal(rawfront_wait(&f, rsp, 30000), 0);
	if (rsp->rqid != rqid)
		fail_msg("waited for rqid %u, got an answer for rqid %u (rslt 0x%x)", rqid, rsp->rqid,
			 rsp->rslt);
}

/* The vhost is served: a command on the null LUN comes back GOOD (a
 * daemon just started takes the ring up first), then the disk's unit
 * attentions of a new iSCSI session are consumed. */
static void wait_serving(void)
{
	static const uint8_t tur[6] = { 0 };
	vscsiif_response_t rsp;

	exec_cmd(NUL, tur, 6, 3, 0, &rsp);
	check_good(&rsp);
	for (int i = 0; i < 5; i++) {
		exec_cmd(DISK, tur, 6, 3, 0, &rsp);
		if (rsp.rslt != 2 || (rsp.sense_buffer[2] & 0xf) != 6)
			break;
	}
	check_good(&rsp);
}

/* A daemon stopped with SIGTERM exits 0 (scsiback(8), EXIT STATUS). */
static void stop_backend(void)
{
	int status = daemon_stop(backend, SIGTERM, 45000);

	backend = 0;
	stopping = false;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("scsiback stopped with SIGTERM: wait status 0x%x, not exit 0", status);
	assert_int_equal(daemon_log_clean(logfile), 0);
}

static void restart_backend(void)
{
	if (backend > 0)
		stop_backend();
	backend = start_daemon(NULL, NULL, NULL);
	assert_true(backend > 0);
	wait_serving();
}

static void write_file(const char *path, const char *text)
{
	FILE *cf = fopen(path, "w");

	assert_non_null(cf);
	fputs(text, cf);
	fclose(cf);
}

/* The configuration of the daemons: null:disk under a deny-list. */
static void write_config(const char *opcodes)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "[scsiback]\nsysfs-root = %s/sys\n\n"
		 "[policy no-firmware]\nmode = deny-list\nopcodes = %s\n\n"
		 "[lun null:disk]\npolicy = no-firmware\n", env.rundir, opcodes);
	write_file(config, text);
}

/* Each test starts with a daemon serving the guest, whatever an earlier
 * failed test left: the target running, no stray daemon, no answer
 * pending on the ring. */
static void ensure_backend(void)
{
	vscsiif_response_t rsp;

	kill(lab.pid, SIGCONT);
	write_config("0x3b 0x04");
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	kill_strays();
	while (rawfront_wait(&f, &rsp, 0) == 0)
		;
	if (backend > 0 && stopping)
		daemon_stop(backend, SIGKILL, 5000);   /* a failed test left it draining */
	else if (backend > 0 && daemon_alive(backend))
		return;
	stopping = false;
	backend = start_daemon(NULL, NULL, NULL);
	assert_true(backend > 0);
	wait_serving();
}

/* Signals the serving daemon (never pid 0: that is our process group). */
static void signal_backend(int sig)
{
	assert_true(backend > 0);
	assert_int_equal(kill(backend, sig), 0);
	stopping |= sig == SIGTERM;
}

static int xs_int(const char *dir, const char *node)
{
	char path[300], *v;
	unsigned len;
	int r = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	v = xs_read(xs0, XBT_NULL, path, &len);
	if (v)
		r = atoi(v);
	free(v);
	return r;
}

/* The first daemon goes on as before: both ends Connected, commands on
 * both LUNs GOOD, nothing disconnected. */
static void check_first_still_serves(pid_t first, const char *first_log)
{
	static const uint8_t tur[6] = { 0 };
	uint8_t cdb[10];
	vscsiif_response_t rsp;

	assert_true(daemon_alive(first));
	assert_int_equal(xs_int(f.be_path, "state"), XenbusStateConnected);
	assert_int_equal(xs_int(f.fe_path, "state"), XenbusStateConnected);
	exec_cmd(NUL, tur, 6, 3, 0, &rsp);
	check_good(&rsp);
	rw10(0x28, 0, 4096, cdb);
	exec_cmd(DISK, cdb, 10, 2, 4096, &rsp);
	check_good(&rsp);
	assert_false(log_has(first_log, "disconnected"));
}

/* --- exit statuses --------------------------------------------------- */

static void test_bad_command_line_exits_2(void **state)
{
	static const struct {
		const char *args[4];
		const char *says;
	} cases[] = {
		{ { "--no-such-option" }, "no-such-option" },
		{ { "--log-level", "loud" }, "loud" },
		{ { "--poll-us", "-5" }, "-5" },
		{ { "stray" }, "stray" },
		{ { "--state-dir" }, "state-dir" },        /* its argument missing */
	};
	char out[4096];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *args[8];
		int n = 0, rc;

		args[n++] = "--config";
		args[n++] = config;
		for (int k = 0; k < 4 && cases[i].args[k]; k++)
			args[n++] = (char *)cases[i].args[k];
		args[n] = NULL;
		/* the option last: getopt would take it as --config's value */
		rc = run_capture(args, out, sizeof(out), 20000);
		if (rc != 2)
			fail_msg("scsiback %s: exit %d, not 2; said: %s", cases[i].args[0], rc, out);
		if (!strstr(out, cases[i].says))
			fail_msg("scsiback %s: the message does not name \"%s\": %s", cases[i].args[0],
				 cases[i].says, out);
	}
}

/* 1 for a configuration it cannot use, the message naming file:line of
 * the first bad line (scsiback(8), CONFIGURATION). */
static void test_bad_config_exits_1_naming_line(void **state)
{
	static const struct {
		const char *text;
		int line;
		const char *says;
	} cases[] = {
		{ "[scsiback]\nlog-level = info\ncolour = blue\n[policy p]\nmode = deny-list\n", 3,
		  "colour" },
		{ "; comment\n\n[policy p]\nmode = deny-list\nmode = maybe\nopcodes = 0x3b\n", 5, "maybe" },
		{ "[scsiback]\n\n[vhost 1]\nring = 2\n", 4, "[vhost 1]" },
	};
	char bad[600], out[4096], want[700];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *args[] = { "--config", bad, "--state-dir", scratch, NULL };
		int rc;

		snprintf(bad, sizeof(bad), "%s/bad-%zu.conf", env.rundir, i);
		write_file(bad, cases[i].text);
		rc = run_capture(args, out, sizeof(out), 20000);
		if (rc != 1)
			fail_msg("config %s: exit %d, not 1; said: %s", bad, rc, out);
		snprintf(want, sizeof(want), "%s:%d: ", bad, cases[i].line);
		if (!strstr(out, want) || !strstr(out, cases[i].says))
			fail_msg("config %s: the message does not say \"%s\" and \"%s\": %s", bad, want,
				 cases[i].says, out);
	}
	/* A file that is not there: 1 too, naming it. */
	{
		char *args[] = { "--config", bad, "--state-dir", scratch, NULL };

		snprintf(bad, sizeof(bad), "%s/missing.conf", env.rundir);
		assert_int_equal(run_capture(args, out, sizeof(out), 20000), 1);
		assert_non_null(strstr(out, bad));
	}
}

/* --- one daemon at a time -------------------------------------------- */

/* A second daemon on the same state directory is refused: status 3, the
 * lock and the holder's pid named, xenstore untouched; the first goes on
 * serving the guest. */
static void test_second_daemon_refused(void **state)
{
	char *args[] = { "--state-dir", statedir, "--config", config, NULL };
	char out[4096], want[700], first_log[512];
	int rc;

	(void)state;
	ensure_backend();
	snprintf(first_log, sizeof(first_log), "%s", logfile);
	rc = run_capture(args, out, sizeof(out), 20000);
	if (rc != 3)
		fail_msg("second scsiback: exit %d, not 3; said: %s", rc, out);
	snprintf(want, sizeof(want), "%s/scsiback.lock", statedir);
	if (!strstr(out, want))
		fail_msg("the refusal does not name the lock %s: %s", want, out);
	snprintf(want, sizeof(want), "pid %d", (int)backend);
	if (!strstr(out, want))
		fail_msg("the refusal does not name the holder (%s): %s", want, out);
	assert_null(strstr(out, "serving"));
	snprintf(want, sizeof(want), "%s/scsiback.lock", statedir);
	assert_int_equal(read_pidfile(want), backend);
	check_first_still_serves(backend, first_log);
}

/* --pidfile: a second daemon is refused the same way with the pidfile
 * too, and by the pidfile alone (another state directory); the pidfile
 * keeps naming the first. */
static void test_pidfile_refuses_second_daemon(void **state)
{
	char pidfile[600], other[600], out[4096], want[700], first_log[512];
	char *same[] = { "--state-dir", statedir, "--config", config, "--pidfile", pidfile, NULL };
	char *alone[] = { "--state-dir", other, "--config", config, "--pidfile", pidfile, NULL };
	int rc;

	(void)state;
	ensure_backend();
	snprintf(pidfile, sizeof(pidfile), "%s/scsiback.pid", env.rundir);
	snprintf(other, sizeof(other), "%s/other-state", env.rundir);
	stop_backend();
	backend = start_daemon("--pidfile", pidfile, NULL);
	assert_true(backend > 0);
	wait_serving();
	snprintf(first_log, sizeof(first_log), "%s", logfile);
	assert_int_equal(read_pidfile(pidfile), backend);

	rc = run_capture(same, out, sizeof(out), 20000);
	if (rc != 3)
		fail_msg("second scsiback, same pidfile and state directory: exit %d, not 3; said: %s",
			 rc, out);
	snprintf(want, sizeof(want), "pid %d", (int)backend);
	if (!strstr(out, want))
		fail_msg("the refusal does not name the holder (%s): %s", want, out);
	assert_int_equal(read_pidfile(pidfile), backend);

	rc = run_capture(alone, out, sizeof(out), 20000);
	if (rc != 3)
		fail_msg("second scsiback, same pidfile, other state directory: exit %d, not 3; said: %s",
			 rc, out);
	if (!strstr(out, pidfile) || !strstr(out, want))
		fail_msg("the refusal does not name the pidfile %s and the holder (%s): %s", pidfile,
			 want, out);
	assert_null(strstr(out, "serving"));
	assert_int_equal(read_pidfile(pidfile), backend);
	check_first_still_serves(backend, first_log);

	/* A clean stop takes the pidfile away. */
	stop_backend();
	assert_int_equal(access(pidfile, F_OK), -1);
	restart_backend();
}

/* --daemon: the started process exits 0 once the daemon serves; the
 * daemon is another process, in a session of its own with its standard
 * streams on /dev/null and its log in syslog, named by the pidfile, and
 * stops with exit 0. */
static void test_daemon_detaches(void **state)
{
	char pidfile[600], path[64], link[PATH_MAX];
	pid_t parent, child;
	ssize_t n;
	int status;

	(void)state;
	ensure_backend();
	snprintf(pidfile, sizeof(pidfile), "%s/detached.pid", env.rundir);
	stop_backend();
	/* The daemon's parent ends: it becomes ours, so we can wait for it. */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	parent = start_daemon("--daemon", "--pidfile", pidfile);
	assert_true(parent > 0);
	remember(parent);
	status = wait_exit(parent, 30000);
	if (status == -1)
		fail_msg("scsiback --daemon: the process started did not exit within 30 s");
	forget(parent);
	child = read_pidfile(pidfile);
	if (child > 0 && child != parent)
		remember(child);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("scsiback --daemon: the process started ended with wait status 0x%x, not exit 0",
			 status);
	assert_true(child > 0);
	assert_int_not_equal(child, parent);
	assert_true(daemon_alive(child));
	assert_int_equal(getsid(child), child);
	/* Its stderr goes: the last line there says where the log went (it
	 * went nowhere without --syslog). */
	assert_int_equal(daemon_wait_log(logfile, "in the background; logging to syslog", 1000), 0);
	snprintf(path, sizeof(path), "/proc/%d/fd/0", (int)child);
	n = readlink(path, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = 0;
	assert_string_equal(link, "/dev/null");
	snprintf(link, sizeof(link), "%s/scsiback.lock", statedir);
	assert_int_equal(read_pidfile(link), child);
	wait_serving();
	backend = child;
	forget(child);
	stop_backend();
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
	assert_int_equal(access(pidfile, F_OK), -1);
	restart_backend();
}

/* --- SIGHUP ------------------------------------------------------------ */

static void read_capacity(vscsiif_response_t *rsp)
{
	static const uint8_t cdb[10] = { 0x25 };

	exec_cmd(NUL, cdb, 10, 2, 8, rsp);
}

static void check_denied(const vscsiif_response_t *rsp)
{
	/* CHECK CONDITION, ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE */
	if (rsp->rslt != 2 || (rsp->sense_buffer[2] & 0xf) != 5 || rsp->sense_buffer[12] != 0x20)
		fail_msg("READ CAPACITY not denied: rslt 0x%x, key %x asc %02x", rsp->rslt,
			 rsp->sense_buffer[2] & 0xf, rsp->sense_buffer[12]);
}

/* SIGHUP reloads the policies; a broken file is rejected, naming
 * file:line, and the policies in force stay. */
static void test_sighup_broken_config_keeps_policy(void **state)
{
	char line[2048], want[600];
	vscsiif_response_t rsp;

	(void)state;
	ensure_backend();
	read_capacity(&rsp);
	check_good(&rsp);
	write_config("0x3b 0x04 0x25");
	signal_backend(SIGHUP);
	assert_int_equal(wait_log_count(logfile, "SIGHUP: ", 1, 20000, line, sizeof(line)), 0);
	read_capacity(&rsp);
	check_denied(&rsp);

	/* Line 4 is bad; the lines around it are fine, and alone would
	 * allow READ CAPACITY. */
	write_file(config, "[policy no-firmware]\nmode = deny-list\nopcodes = 0x3b\ncolour = blue\n"
			   "[lun null:disk]\npolicy = no-firmware\n");
	signal_backend(SIGHUP);
	assert_int_equal(wait_log_count(logfile, "SIGHUP: ", 2, 20000, line, sizeof(line)), 0);
	assert_true(daemon_alive(backend));
	read_capacity(&rsp);
	check_denied(&rsp);
	snprintf(want, sizeof(want), "%s:4: ", config);
	if (!strstr(line, "keeping the old configuration") || !strstr(line, want))
		fail_msg("the reload's log line does not reject %s: %s", want, line);

	/* A good file is taken again. */
	write_config("0x3b 0x04");
	signal_backend(SIGHUP);
	assert_int_equal(wait_log_count(logfile, "SIGHUP: ", 3, 20000, line, sizeof(line)), 0);
	read_capacity(&rsp);
	check_good(&rsp);
}

/* --- SIGTERM's drain ----------------------------------------------------- */

/* How many requests of the guest's vhost the daemon has taken and not
 * answered, from its in-flight records (scsiback(8), CRASH SAFETY). */
static int records_running(void)
{
	char path[700];
	struct inflight_file rec;
	int fd, n = 0;

	snprintf(path, sizeof(path), "%s/vhost-%d-0.inflight", statedir, dom1);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (pread(fd, &rec, sizeof(rec), 0) != (ssize_t)sizeof(rec))
		n = -1;
	close(fd);
	for (int i = 0; n >= 0 && i < INFLIGHT_SLOTS; i++)
		n += rec.rec[i].state == REC_RUNNING;
	return n;
}

static void wait_records_running(int want)
{
	long end = ms_now() + 20000;
	int n;

	while ((n = records_running()) != want && ms_now() < end)
		sleep_ms(20);
	if (n != want)
		fail_msg("%d request(s) in flight at the daemon, not %d", n, want);
}

/* Commands on the frozen target: rqid 8+i, pages 32+16*i. Reads of LBA
 * 1000+256*i get their pages filled with 0xee first; writes carry the
 * pattern of seed 100+i. */
static void push_commands(int n, const bool *is_write)
{
	for (int i = 0; i < n; i++) {
		uint8_t cdb[10], *data = f.pool + (32 + 16 * i) * 4096;
		vscsiif_request_t req;

		if (is_write[i])
			fill(data, CHUNK, 100 + (uint32_t)i);
		else
			memset(data, 0xee, CHUNK);
		rw10(is_write[i] ? 0x2a : 0x28, 1000 + 256 * (uint32_t)i, CHUNK, cdb);
		rawfront_cdb(&f, &req, (uint16_t)(8 + i), DISK, 0, cdb, 10, is_write[i] ? 1 : 2,
			     32 + 16 * (unsigned)i, CHUNK, false);
		rawfront_push(&f, &req);
	}
}

/* What reads of LBA 1000+256*i return: written now, before the freeze. */
static void seed_read_areas(int n, const bool *is_write)
{
	vscsiif_response_t rsp;
	uint8_t cdb[10];

	for (int i = 0; i < n; i++) {
		if (is_write[i])
			continue;
		fill(f.pool, CHUNK, 200 + (uint32_t)i);
		rw10(0x2a, 1000 + 256 * (uint32_t)i, CHUNK, cdb);
		exec_cmd(DISK, cdb, 10, 1, CHUNK, &rsp);
		check_good(&rsp);
	}
}

/* SIGTERM with commands in flight on a frozen target: the daemon stays
 * while they run; once the target answers, every command is answered
 * GOOD with its data, and only then the daemon exits 0. What was written
 * is on the disk for the next daemon to read. */
static void test_sigterm_drains_in_flight_commands(void **state)
{
	static const bool is_write[4] = { false, true, false, true };
	uint8_t want[CHUNK], cdb[10];
	vscsiif_response_t rsp;
	int seen[4] = { 0 }, status;
	pid_t old;

	(void)state;
	ensure_backend();
	seed_read_areas(4, is_write);
	assert_int_equal(kill(lab.pid, SIGSTOP), 0);
	push_commands(4, is_write);
	wait_records_running(4);
	signal_backend(SIGTERM);
	assert_int_equal(daemon_wait_log(logfile, "finishing in-flight commands", 20000), 0);
	/* A second of the target frozen: nothing answered, the daemon waits. */
	assert_int_equal(rawfront_wait(&f, &rsp, 1000), -ETIMEDOUT);
	assert_true(daemon_alive(backend));
	assert_int_equal(kill(lab.pid, SIGCONT), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(rawfront_wait(&f, &rsp, 30000), 0);
		assert_true(rsp.rqid >= 8 && rsp.rqid < 12);
		seen[rsp.rqid - 8]++;
		check_good(&rsp);
		assert_int_equal(rsp.residual_len, 0);
	}
	assert_int_equal(seen[0] * seen[1] * seen[2] * seen[3], 1);
	for (int i = 0; i < 4; i++) {
		if (is_write[i])
			continue;
		fill(want, CHUNK, 200 + (uint32_t)i);
		if (memcmp(f.pool + (32 + 16 * i) * 4096, want, CHUNK))
			fail_msg("READ rqid %d, finished in the drain, returned other data", 8 + i);
	}
	old = backend;
	status = wait_exit(old, 30000);
	backend = status == -1 ? old : 0;
	stopping = backend > 0;
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("after the drain: wait status 0x%x, not exit 0", status);
	assert_int_equal(daemon_log_clean(logfile), 0);
	assert_false(log_has(logfile, "still running after"));

	/* The writes reached the device. */
	restart_backend();
	for (int i = 0; i < 4; i++) {
		if (!is_write[i])
			continue;
		memset(f.pool, 0, CHUNK);
		rw10(0x28, 1000 + 256 * (uint32_t)i, CHUNK, cdb);
		exec_cmd(DISK, cdb, 10, 2, CHUNK, &rsp);
		check_good(&rsp);
		fill(want, CHUNK, 100 + (uint32_t)i);
		if (memcmp(f.pool, want, CHUNK))
			fail_msg("WRITE rqid %d, finished in the drain, is not on the disk", 8 + i);
	}
}

/* The drain's limit: with the target frozen for good, the daemon waits
 * 30 s, then answers what still runs host RESET (as a daemon after a
 * crash would: the guest retries where that is safe), copies no data
 * into the guest, and exits 0. The next daemon has nothing left to
 * answer. */
static void test_sigterm_drain_limit(void **state)
{
	static const bool is_write[3] = { false, true, false };
	vscsiif_response_t rsp;
	int seen[3] = { 0 }, status;
	long t_kill, t_answer;
	pid_t old;

	(void)state;
	ensure_backend();
	assert_int_equal(kill(lab.pid, SIGSTOP), 0);
	push_commands(3, is_write);
	wait_records_running(3);
	t_kill = ms_now();
	signal_backend(SIGTERM);
	assert_int_equal(daemon_wait_log(logfile, "finishing in-flight commands", 20000), 0);
	/* Most of the 30 s: nothing answered, the daemon still there. */
	assert_int_equal(rawfront_wait(&f, &rsp, (unsigned)(DRAIN_LIMIT_MS - 5000 - (ms_now() - t_kill))),
			 -ETIMEDOUT);
	assert_true(daemon_alive(backend));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rawfront_wait(&f, &rsp, 30000), 0);
		t_answer = ms_now();
		assert_true(rsp.rqid >= 8 && rsp.rqid < 11);
		seen[rsp.rqid - 8]++;
		if (rsp.rslt != XEN_VSCSIIF_RSLT_HOST_RESET << 16)
			fail_msg("rqid %u cut off by the drain's limit: rslt 0x%x, not host RESET", rsp.rqid,
				 rsp.rslt);
		if (t_answer - t_kill < DRAIN_LIMIT_MS - 100)
			fail_msg("rqid %u answered %ld ms after SIGTERM, before the 30 s limit", rsp.rqid,
				 t_answer - t_kill);
	}
	assert_int_equal(seen[0] * seen[1] * seen[2], 1);
	for (int i = 0; i < 3; i++)
		for (unsigned k = 0; !is_write[i] && k < CHUNK; k++)
			if (f.pool[(32 + 16 * i) * 4096 + k] != 0xee)
				fail_msg("READ rqid %d, cut off, had byte %u of its buffer written", 8 + i, k);
	old = backend;
	status = wait_exit(old, 20000);
	backend = status == -1 ? old : 0;
	stopping = backend > 0;
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("after the drain's limit: wait status 0x%x, not exit 0", status);
	assert_int_equal(daemon_log_clean(logfile), 0);
	assert_int_equal(kill(lab.pid, SIGCONT), 0);
	/* The target's late answers reach nobody; the next daemon answers
	 * nothing a second time (wait_serving checks each rqid). */
	assert_int_equal(rawfront_wait(&f, &rsp, 2000), -ETIMEDOUT);
	restart_backend();
	assert_int_equal(rawfront_wait(&f, &rsp, 1000), -ETIMEDOUT);
}

/* --- setup ----------------------------------------------------------------- */

/* xenstored goes away (here: the whole simulator): scsiback says so and
 * stops with exit status 1 for its service manager to start it again; it
 * stayed up and silent, serving nothing new. Last: the simulator is gone
 * after it. */
static void test_xenstore_lost_exits_1(void **state)
{
	int status;

	(void)state;
	ensure_backend();
	wait_serving();
	assert_int_equal(kill(env.pid, SIGKILL), 0);
	status = wait_exit(backend, 30000);
	if (status == -1)
		fail_msg("scsiback still runs 30 s after xenstore went away");
	backend = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
		fail_msg("scsiback after losing xenstore: wait status 0x%x, not exit 1", status);
	assert_true(log_has(logfile, "lost the connection to xenstore"));
	assert_true(log_has(logfile, "stopped (xenstore lost)"));
}

/* --- the seccomp filter (scsiback(8), SECURITY) ----------------------- */

/* The field of /proc/PID/status, e.g. "Seccomp" -> "2". */
static void proc_status_field(pid_t pid, const char *field, char *out, size_t len)
{
	char path[64], line[256];
	size_t n = strlen(field);
	FILE *sf;

	out[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	sf = fopen(path, "r");
	assert_non_null(sf);
	while (fgets(line, sizeof(line), sf))
		if (!strncmp(line, field, n) && line[n] == ':') {
			snprintf(out, len, "%s", line + n + 1 + strspn(line + n + 1, " \t"));
			out[strcspn(out, "\n")] = 0;
		}
	fclose(sf);
}

/* The serving daemon runs under its filter, with no_new_privs; a daemon
 * made to attempt what a guest that took it over would want (a program,
 * a debugger, a kernel module, a mount, another uid) dies of SIGSYS at
 * that call, with a line naming it; the next daemon serves the guest as
 * after any crash. With --no-seccomp the same call goes through: the
 * filter is what stops it. */
static void test_seccomp_kills_forbidden_calls(void **state)
{
	const char *calls[] = { "execve", "ptrace", "init_module", "mount", "setuid" };
	bool san = strstr(getenv("VSCSI_BUILD") ? getenv("VSCSI_BUILD") : "", "build-san") != NULL;
	char v[64], want[128];
	pid_t pid;
	int status;

	(void)state;
	ensure_backend();
	proc_status_field(backend, "Seccomp", v, sizeof(v));
	assert_string_equal(v, "2");
	proc_status_field(backend, "NoNewPrivs", v, sizeof(v));
	assert_string_equal(v, "1");
	stop_backend();
	for (size_t i = 0; i < sizeof(calls) / sizeof(*calls); i++) {
		/* LeakSanitizer needs ptrace: the sanitizer build allows it */
		if (san && !strcmp(calls[i], "ptrace"))
			continue;
		setenv("VSCSI_TEST_SECCOMP_PROBE", calls[i], 1);
		pid = start_daemon(NULL, NULL, NULL);
		unsetenv("VSCSI_TEST_SECCOMP_PROBE");
		assert_true(pid > 0);
		remember(pid);
		status = wait_exit(pid, 30000);
		forget(pid);
		if (status == -1)
			fail_msg("scsiback still runs 30 s after its probe of %s", calls[i]);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
			fail_msg("scsiback after calling %s: wait status 0x%x, not killed by SIGSYS",
				 calls[i], status);
		snprintf(want, sizeof(want), "killed by its seccomp filter: system call %s (", calls[i]);
		if (!log_has(logfile, want))
			fail_msg("no \"%s\" in %s", want, logfile);
		assert_false(log_has(logfile, "returned"));
	}
	/* without the filter the probe's call is made and returns */
	setenv("VSCSI_TEST_SECCOMP_PROBE", "setuid", 1);
	backend = start_daemon("--no-seccomp", NULL, NULL);
	unsetenv("VSCSI_TEST_SECCOMP_PROBE");
	assert_true(backend > 0);
	assert_int_equal(daemon_wait_log(logfile, "test probe: setuid returned 0", 30000), 0);
	proc_status_field(backend, "Seccomp", v, sizeof(v));
	assert_string_equal(v, "0");
	wait_serving();
	stop_backend();
	/* and the guest is served again, as after any crash */
	ensure_backend();
	wait_serving();
}

/* --poll-us 0: the daemon never polls, it sleeps on its fds between
 * events; every answer must still be published in the turn it came in
 * (nothing else would: no next request comes at queue depth 1). Written
 * data comes back from the disk. */
static void test_without_polling(void **state)
{
	static const uint8_t tur[6] = { 0 };
	uint8_t cdb[10], *data = f.pool, want[8192];
	vscsiif_response_t rsp;

	(void)state;
	ensure_backend();
	stop_backend();
	backend = start_daemon("--poll-us", "0", NULL);
	assert_true(backend > 0);
	wait_serving();
	for (uint32_t i = 0; i < 40; i++) {
		exec_cmd(NUL, tur, 6, 3, 0, &rsp);
		check_good(&rsp);
		fill(want, sizeof(want), i);
		memcpy(data, want, sizeof(want));
		rw10(0x2a, 64 + i * 16, sizeof(want), cdb);
		exec_cmd(DISK, cdb, 10, 1, sizeof(want), &rsp);
		check_good(&rsp);
		memset(data, 0, sizeof(want));
		rw10(0x28, 64 + i * 16, sizeof(want), cdb);
		exec_cmd(DISK, cdb, 10, 2, sizeof(want), &rsp);
		check_good(&rsp);
		if (memcmp(data, want, sizeof(want)))
			fail_msg("round %u: the disk gave back other data than written", i);
	}
	stop_backend();
}

static void attach(const char *pdev, const char *vdev)
{
	char err[512];

	if (ts_attach(xs0, (unsigned)dom1, pdev, vdev, &topts, err, sizeof(err)))
		fail_msg("attach %s %s: %s", pdev, vdev, err);
}

static int setup(void **state)
{

	(void)state;
	if (simenv_start(&env) != 0)
		return -1;
	if (tgtlab_start_in(&lab, env.rundir) != 0)
		return -1;
	dom1 = simenv_create_domain(&env, "guest1");
	snprintf(statedir, sizeof(statedir), "%s/scsiback-state", env.rundir);
	snprintf(scratch, sizeof(scratch), "%s/scratch-state", env.rundir);
	snprintf(config, sizeof(config), "%s/scsiback.conf", env.rundir);
	write_config("0x3b 0x04");
	backend = start_daemon(NULL, NULL, NULL);
	xs0 = simenv_xs_open(&env, 0);
	if (backend <= 0 || !xs0 || dom1 <= 0)
		return -1;
	attach(lab.disk_url, "0:0:0:0");
	attach("null:disk", "0:0:1:0");
	if (rawfront_open(&f, &env, dom1, 0, 15000)) {
		fprintf(stderr, "setup: frontend did not connect\n");
		return -1;
	}
	wait_serving();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	kill(lab.pid, SIGCONT);
	daemon_finish(backend, logfile);
	kill_strays();
	tgtlab_stop(&lab);
	simenv_stop(&env);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_command_line_exits_2),
		cmocka_unit_test(test_bad_config_exits_1_naming_line),
		cmocka_unit_test(test_second_daemon_refused),
		cmocka_unit_test(test_pidfile_refuses_second_daemon),
		cmocka_unit_test(test_daemon_detaches),
		cmocka_unit_test(test_sighup_broken_config_keeps_policy),
		cmocka_unit_test(test_without_polling),
		cmocka_unit_test(test_sigterm_drains_in_flight_commands),
		cmocka_unit_test(test_sigterm_drain_limit),
		cmocka_unit_test(test_seccomp_kills_forbidden_calls),
		cmocka_unit_test(test_xenstore_lost_exits_1),
	};

	simenv_use_sim_libs(argc, argv);
	return cmocka_run_group_tests(tests, setup, teardown);
}
