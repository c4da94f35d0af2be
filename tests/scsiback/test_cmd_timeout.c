/* The timeout of a guest's command, from the ring to the device: scsiback
 * with tgtd's disk and tape over iSCSI, a raw frontend, and the target
 * frozen (SIGSTOP) so that commands sit on the device until their
 * timeout. The iscsi driver then logs "<opcode> timed out after <ms> ms"
 * with the timeout the command got, and sends ABORT TASK.
 *
 * scsiback(8): the guest's timeout_per_command (seconds) when it sets one,
 * else the LUN's timeout from the configuration file, else the default
 * of the device type (disks 60 s, tapes 4 h: longer than a test waits). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <xenstore.h>

#include "daemon.h"
#include "rawfront.h"
#include "simenv.h"
#include "tgtlab.h"
#include "toolstack.h"

#define DISK 0
#define TAPE 1            /* has a [lun] timeout of 3 s in the config file */
#define TAPE_CONFIG_S 3

static struct simenv env;
static struct tgtlab lab;
static int dom1;
static pid_t backend;
static struct rawfront f;
static struct xs_handle *xs0;
static char logfile[512], statedir[512], config[512];
static const struct ts_opts topts = { .be_domid = 0, .timeout_ms = 15000 };

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* TEST UNIT READY until GOOD: the target's power-on UNIT ATTENTION (and
 * a tape's) out of the way before anything is timed. */
static void ready(uint16_t tgt)
{
	static const uint8_t tur[6];
	vscsiif_response_t rsp;

	for (int i = 0; i < 5; i++) {
		assert_int_equal(rawfront_exec(&f, tgt, 0, tur, 6, 3, 0, &rsp), 0);
		if (rsp.rslt == 0)
			return;
	}
	fail_msg("target %u: TEST UNIT READY answers 0x%x", tgt, rsp.rslt);
}

/* Waits for the driver's timeout line for opcode with want_ms; checks it
 * came want_ms after t0 at the earliest (the submission followed t0), and
 * not much later. */
static void expect_timed_out(const char *opcode, unsigned want_ms, uint64_t t0)
{
	char text[128];
	uint64_t ms;

	snprintf(text, sizeof(text), "%s timed out after %u ms; aborting it", opcode, want_ms);
	if (daemon_wait_log(logfile, text, want_ms + 10000))
		fail_msg("no \"%s\" in %s within %u ms", text, logfile, want_ms + 10000);
	ms = now_ms() - t0;
	if (ms < want_ms)
		fail_msg("\"%s\" after only %llu ms", text, (unsigned long long)ms);
}

/* Three commands on the frozen target: a READ on the disk with the guest's
 * 2 s, a TEST UNIT READY on the tape with none (the config file's 3 s) and
 * one with the guest's 1 s (which beats the file's). */
static void test_timeouts_reach_the_device(void **state)
{
	static const uint8_t tur[6];
	static const uint8_t read8[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0 };
	vscsiif_request_t q[3];
	bool answered[3] = { false, false, false };
	uint64_t t0;

	(void)state;
	ready(DISK);
	ready(TAPE);
	assert_int_equal(kill(lab.pid, SIGSTOP), 0);
	rawfront_cdb(&f, &q[0], 1, DISK, 0, read8, 10, 2, 0, 4096, false);
	q[0].timeout_per_command = 2;
	rawfront_cdb(&f, &q[1], 2, TAPE, 0, tur, 6, 3, 0, 0, false);
	q[1].timeout_per_command = 0;
	rawfront_cdb(&f, &q[2], 3, TAPE, 0, tur, 6, 3, 0, 0, false);
	q[2].timeout_per_command = 1;
	t0 = now_ms();
	for (int i = 0; i < 3; i++)
		rawfront_push(&f, &q[i]);
	expect_timed_out("Test Unit Ready", 1000, t0);
	expect_timed_out("Read(10)", 2000, t0);
	expect_timed_out("Test Unit Ready", TAPE_CONFIG_S * 1000, t0);

	/* Thawed, the target answers the ABORTs (or the commands): each
	 * request gets its one answer. */
	kill(lab.pid, SIGCONT);
	for (int n = 0; n < 3; n++) {
		vscsiif_response_t rsp;

		assert_int_equal(rawfront_wait(&f, &rsp, 30000), 0);
		assert_true(rsp.rqid >= 1 && rsp.rqid <= 3);
		assert_false(answered[rsp.rqid - 1]);
		answered[rsp.rqid - 1] = true;
	}
	ready(DISK);
	ready(TAPE);
}

static int setup(void **state)
{
	char err[512];
	FILE *c;

	(void)state;
	if (simenv_start(&env) != 0)
		return -1;
	if (tgtlab_start_in(&lab, env.rundir) != 0)
		return -1;
	dom1 = simenv_create_domain(&env, "guest1");
	snprintf(logfile, sizeof(logfile), "%s/scsiback.log", env.rundir);
	snprintf(statedir, sizeof(statedir), "%s/scsiback-state", env.rundir);
	snprintf(config, sizeof(config), "%s/scsiback.conf", env.rundir);
	c = fopen(config, "w");
	if (!c)
		return -1;
	fprintf(c, "[lun %s]\ntimeout = %d\n", lab.tape_url, TAPE_CONFIG_S);
	fclose(c);
	{
		char *argv[] = { (char *)simenv_prog("scsiback/scsiback"), "--state-dir", statedir,
				 "--config", config, "--log-level", "info", NULL };

		backend = daemon_start(&env, 0, logfile, argv);
	}
	if (backend <= 0)
		return -1;
	xs0 = simenv_xs_open(&env, 0);
	/* attach waits for the backend to take the LUN */
	if (ts_attach(xs0, (unsigned)dom1, lab.disk_url, "0:0:0:0", &topts, err, sizeof(err)) ||
	    ts_attach(xs0, (unsigned)dom1, lab.tape_url, "0:0:1:0", &topts, err, sizeof(err))) {
		fprintf(stderr, "setup: attach: %s\n", err);
		return -1;
	}
	if (rawfront_open(&f, &env, dom1, 0, 15000)) {
		fprintf(stderr, "setup: frontend did not connect\n");
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (lab.pid > 0)
		kill(lab.pid, SIGCONT);
	daemon_finish(backend, logfile);
	assert_int_equal(daemon_log_clean(logfile), 0);
	tgtlab_stop(&lab);
	simenv_stop(&env);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeouts_reach_the_device),
	};

	simenv_use_sim_libs(argc, argv);
	return cmocka_run_group_tests(tests, setup, teardown);
}
