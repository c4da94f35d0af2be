/* A guest's worker taken over (docs/privsep.md, scsiback(8) SECURITY):
 * the running daemon's worker for guest "taken" is made to attempt what
 * its guest would then want (worker.c's test probe, on SIGUSR2: files,
 * devices, xenstore's socket, a program, a debugger on init,
 * a kernel module, root back, every other worker killed, a non-TCP
 * socket, TCP to what is no portal of its LUNs, a thread more). Each is refused: a call that names a file gets EACCES (and
 * there is no file to reach: without the filter the empty root answers
 * ENOENT), anything else kills the worker with a line naming the call.
 * The broker starts a new worker, which serves the guest's ring again;
 * guest "bystander", served by its own worker, notices nothing. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <xenstore.h>

#include "daemon.h"
#include "rawfront.h"
#include "simenv.h"
#include "toolstack.h"

static struct simenv env;
static int taken, bystander;
static pid_t backend;
static struct rawfront ft, fb;
static struct xs_handle *xs0;
static char logfile[512], statedir[512];

static const struct ts_opts topts = { .be_domid = 0, .timeout_ms = 10000 };

/* The daemon with what its unit leaves root (scsiback.service.in:
 * CapabilityBoundingSet, NoNewPrivileges), as check-xen runs it. */
static pid_t start_backend(const char *probe, const char *extra)
{
	char *argv[] = { "setpriv", "--no-new-privs", "--inh-caps=-all",
			 "--bounding-set=-all,+sys_admin,+sys_rawio,+setuid,+setgid,+sys_chroot,+kill",
			 (char *)simenv_prog("scsiback/scsiback"), "--privsep", "--state-dir",
			 statedir, "--log-level", "debug", (char *)extra, NULL };
	pid_t pid;

	if (probe)
		setenv("VSCSI_TEST_WORKER_PROBE", probe, 1);
	pid = daemon_start(&env, 0, logfile, argv);
	unsetenv("VSCSI_TEST_WORKER_PROBE");
	return pid;
}

/* Lines of the log holding text. */
static int log_count(const char *text)
{
	return daemon_log_count(logfile, text);
}

/* The pid of domid's worker as the broker last logged its start, once
 * there are at least `starts` such lines; fails after 10 s. */
static pid_t worker_pid(int domid, int starts)
{
	char want[64], line[1024];
	pid_t pid = 0;

	snprintf(want, sizeof(want), "worker for domain %d: started, pid ", domid);
	for (int waited = 0; log_count(want) < starts; waited += 50) {
		if (waited > 10000)
			fail_msg("no %d \"%s\" lines in %s", starts, want, logfile);
		usleep(50000);
	}
	FILE *f = fopen(logfile, "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, want))
			pid = (pid_t)atoi(strstr(line, want) + strlen(want));
	fclose(f);
	assert_true(pid > 0);
	return pid;
}

static void inquiry_good(struct rawfront *f)
{
	static const uint8_t cdb[6] = { 0x12, 0, 0, 0, 96, 0 };
	vscsiif_response_t rsp;
	int r = -1;

	/* (a ring taken up again by a new worker: its first answer may take
	 * the restart's time) */
	for (int i = 0; i < 100; i++) {
		r = rawfront_exec(f, 0, 0, cdb, 6, 2, 96, &rsp);
		if (r == 0)
			break;
		usleep(100000);
	}
	assert_int_equal(r, 0);
	if (rsp.rslt != 0)
		fail_msg("INQUIRY: rslt 0x%x", rsp.rslt);
	assert_int_equal(f->pool[0] & 0x1f, 0);   /* a disk */
}

/* The daemon started with the probe; both guests served by workers. */
static void restart_with(const char *probe, const char *extra)
{
	if (geteuid() != 0)
		skip();
	if (backend > 0) {
		int st = daemon_stop(backend, SIGTERM, 40000);

		backend = 0;
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	backend = start_backend(probe, extra);
	assert_true(backend > 0);
	inquiry_good(&ft);
	inquiry_good(&fb);
}

/* Makes the worker of "taken" attempt what; returns how its attempt
 * ended: the worker killed (true) or the call refused (false, the
 * errno's text in got). */
static bool probe(const char *what, const char *extra, char *got, size_t gotlen)
{
	char ret[128], start[128];
	int starts_t, starts_b, killed_before, sigsys_before;
	pid_t wt, wb;

	restart_with(what, extra);
	snprintf(start, sizeof(start), "worker for domain %d: started, pid ", taken);
	starts_t = log_count(start);
	snprintf(start, sizeof(start), "worker for domain %d: started, pid ", bystander);
	starts_b = log_count(start);
	wt = worker_pid(taken, starts_t);
	wb = worker_pid(bystander, starts_b);
	killed_before = log_count("killed by its seccomp filter");
	sigsys_before = log_count("ended by signal 31 ");
	snprintf(ret, sizeof(ret), "worker for domain %d: test probe: %s returned ", taken, what);
	assert_int_equal(kill(wt, SIGUSR2), 0);
	for (int waited = 0;; waited += 50) {
		if (log_count("killed by its seccomp filter") > killed_before ||
		    log_count("ended by signal 31 ") > sigsys_before)
			break;
		if (log_count(ret) > 0)
			break;
		if (waited > 10000)
			fail_msg("probe %s: neither refused nor killed after 10 s", what);
		usleep(50000);
	}
	/* Both guests are served: "taken" by a new worker if its own died,
	 * "bystander" by the same worker all along. */
	inquiry_good(&ft);
	inquiry_good(&fb);
	assert_int_equal(worker_pid(bystander, starts_b), wb);
	assert_int_equal(kill(wb, 0), 0);
	assert_true(daemon_alive(backend));
	if (log_count(ret) == 0) {
		assert_int_equal(worker_pid(taken, starts_t + 1) != wt, 1);
		return true;
	}
	{
		char line[1024];
		FILE *f = fopen(logfile, "r");

		assert_non_null(f);
		got[0] = 0;
		while (fgets(line, sizeof(line), f))
			if (strstr(line, ret)) {
				const char *p = strchr(strstr(line, ret) + strlen(ret), '(');

				snprintf(got, gotlen, "%s", p ? p + 1 : "");
				got[strcspn(got, ")")] = 0;
			}
		fclose(f);
	}
	assert_int_equal(kill(wt, 0), 0);   /* refused: the worker goes on */
	return false;
}

static void refused(const char *what, const char *want)
{
	char got[128];

	if (probe(what, NULL, got, sizeof(got)))
		fail_msg("probe %s: the worker was killed; expected %s", what, want);
	if (strcmp(got, want))
		fail_msg("probe %s: got \"%s\", expected \"%s\"", what, got, want);
}

static void killed_naming(const char *what, const char *call)
{
	char got[128], line[128];
	int before;

	snprintf(line, sizeof(line), "killed by its seccomp filter: system call %s (", call);
	before = log_count(line);
	if (!probe(what, NULL, got, sizeof(got)))
		fail_msg("probe %s: returned (%s); expected the worker killed", what, got);
	if (log_count(line) <= before)
		fail_msg("probe %s: no \"%s\" line in %s", what, line, logfile);
}

static void test_no_file_no_device_no_xenstore(void **state)
{
	char got[128];

	(void)state;
	refused("open-file", strerror(EACCES));
	refused("open-device", strerror(EACCES));
	refused("xenstore", strerror(EACCES));
	/* The filter answers before any lookup; without it, the worker's
	 * empty root has nothing to open either. */
	assert_false(probe("open-file", "--no-seccomp", got, sizeof(got)));
	assert_string_equal(got, strerror(ENOENT));
}

static void test_no_program_no_debugger_no_module_no_root(void **state)
{
	(void)state;
	killed_naming("execve", "execve");
	killed_naming("ptrace", "ptrace");
	killed_naming("init_module", "init_module");
	killed_naming("setuid", "setuid");
}

/* A worker that sends the broker nonsense is killed (SIGKILL: it is
 * another user's process, which takes the unit's CAP_KILL), not left to
 * notice its socket's end while a new one serves its guest. */
static void test_protocol_breaker_killed(void **state)
{
	char line[128];
	int killed_before = log_count("sent a malformed message: kind 0 unknown");
	pid_t wt;

	(void)state;
	restart_with("protocol", NULL);
	snprintf(line, sizeof(line), "worker for domain %d: started, pid ", taken);
	wt = worker_pid(taken, log_count(line));
	assert_int_equal(kill(wt, SIGUSR2), 0);
	for (int waited = 0; log_count("sent a malformed message: kind 0 unknown") <= killed_before;
	     waited += 50) {
		if (waited > 10000)
			fail_msg("the broker never refused the worker's message");
		usleep(50000);
	}
	snprintf(line, sizeof(line), "worker pid %d ended by signal 9 (Killed)", (int)wt);
	for (int waited = 0; log_count(line) == 0; waited += 50) {
		if (waited > 10000)
			fail_msg("no \"%s\" in %s", line, logfile);
		usleep(50000);
	}
	snprintf(line, sizeof(line), "worker for domain %d (pid %d): cannot kill it", taken, (int)wt);
	assert_int_equal(log_count(line), 0);
	inquiry_good(&ft);
	inquiry_good(&fb);
}

/* Its SG_IO threads were started before the drop: no more. glibc blocks
 * every signal around clone3, so the kernel kills without our handler's
 * line; the spawner's says how it ended. */
static void test_no_thread(void **state)
{
	char got[128];
	int before = log_count("ended by signal 31 (Bad system call)");

	(void)state;
	if (!probe("thread", NULL, got, sizeof(got)))
		fail_msg("probe thread: returned (%s); expected the worker killed", got);
	assert_true(log_count("ended by signal 31 (Bad system call)") > before);
}

/* One line of /proc/PID/task/TID/status with the fields that make the
 * sandbox, as "Uid:... CapPrm:... CapEff:... NoNewPrivs:... Seccomp:...". */
static void task_sandbox(pid_t pid, const char *tid, char *out, size_t outlen)
{
	static const char *const fields[] = { "Uid:", "CapPrm:", "CapEff:", "NoNewPrivs:", "Seccomp:" };
	char path[320], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, tid);
	f = fopen(path, "r");
	assert_non_null(f);
	out[0] = 0;
	while (fgets(line, sizeof(line), f))
		for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++)
			if (!strncmp(line, fields[i], strlen(fields[i]))) {
				line[strcspn(line, "\n")] = 0;
				for (char *c = line; *c; c++)
					if (*c == '\t')
						*c = ' ';
				snprintf(out + strlen(out), outlen - strlen(out), "%s%s", out[0] ? " | " : "", line);
			}
	fclose(f);
}

/* Every thread of a worker (its loop and its SG_IO threads, scsiback/
 * sgio.h) runs as the workers' user, with no capability, no_new_privs
 * and the filter: a thread that kept root would undo the rest. */
static void test_every_thread_sandboxed(void **state)
{
	char path[64], first[1024] = "", got[1024], want_uid[64];
	struct dirent *e;
	struct passwd *pw;
	int n = 0;
	pid_t w;
	DIR *d;

	(void)state;
	restart_with(NULL, NULL);
	w = worker_pid(taken, 1);
	pw = getpwnam("_scsiback");
	if (!pw)
		pw = getpwnam("nobody");
	assert_non_null(pw);
	snprintf(want_uid, sizeof(want_uid), "Uid: %u %u %u %u", pw->pw_uid, pw->pw_uid, pw->pw_uid,
		 pw->pw_uid);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)w);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		task_sandbox(w, e->d_name, got, sizeof(got));
		if (!strstr(got, want_uid) || !strstr(got, "CapPrm: 0000000000000000") ||
		    !strstr(got, "CapEff: 0000000000000000") || !strstr(got, "NoNewPrivs: 1") ||
		    !strstr(got, "Seccomp: 2"))
			fail_msg("worker %d thread %s: %s", (int)w, e->d_name, got);
		if (!first[0])
			snprintf(first, sizeof(first), "%s", got);
		else
			assert_string_equal(got, first);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1 + 4);   /* the loop and worker.c's WORKER_SG_THREADS */
}

static void test_no_other_worker_no_other_network(void **state)
{
	(void)state;
	killed_naming("kill-all", "kill");
	killed_naming("udp", "socket");
	/* TCP only to its guest's LUNs' portals: the broker makes every
	 * connect, and a worker's own connect(2) is fatal */
	refused("connect-other", strerror(EACCES));
	assert_true(log_count("asked to connect to 127.0.0.1:9, not a portal of its guest's LUNs: "
			      "refused") > 0);
	killed_naming("connect-raw", "connect");
}

static void attach(int domid)
{
	char err[512];

	if (ts_attach(xs0, (unsigned)domid, "null:disk", "0:0:0:0", &topts, err, sizeof(err)))
		fail_msg("attach to %d: %s", domid, err);
}

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	if (simenv_start(&env) != 0)
		return -1;
	taken = simenv_create_domain(&env, "taken");
	bystander = simenv_create_domain(&env, "bystander");
	snprintf(logfile, sizeof(logfile), "%s/scsiback.log", env.rundir);
	snprintf(statedir, sizeof(statedir), "%s/scsiback-state", env.rundir);
	backend = start_backend(NULL, NULL);
	xs0 = simenv_xs_open(&env, 0);
	if (backend <= 0 || !xs0 || taken <= 0 || bystander <= 0)
		return -1;
	attach(taken);
	attach(bystander);
	{
		int r = rawfront_open(&ft, &env, taken, 0, 10000);

		if (!r)
			r = rawfront_open(&fb, &env, bystander, 0, 10000);
		if (r) {
			fprintf(stderr, "setup: frontend connect failed: %s\n", strerror(-r));
			return -1;
		}
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	daemon_finish(backend, logfile);
	simenv_stop(&env);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_thread_sandboxed),
		cmocka_unit_test(test_no_file_no_device_no_xenstore),
		cmocka_unit_test(test_no_program_no_debugger_no_module_no_root),
		cmocka_unit_test(test_no_thread),
		cmocka_unit_test(test_protocol_breaker_killed),
		cmocka_unit_test(test_no_other_worker_no_other_network),
	};

	simenv_use_sim_libs(argc, argv);   /* the simulator's libxen* */
	return cmocka_run_group_tests(tests, setup, teardown);
}
