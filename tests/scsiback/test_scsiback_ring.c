/* scsiback end to end in the simulator, driven by a raw frontend: the
 * handshake, data through direct and indirect segments, emulation, the
 * CDB policy, every malformed request, ring corruption, hotplug, a guest
 * destroyed, and the daemon killed and restarted — with a second guest
 * served throughout. LUNs are null LUNs here; real devices are in
 * test_scsiback_iscsi. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "be_fields.h"
#include <json-c/json.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "daemon.h"
#include "rawfront.h"
#include "simenv.h"
#include "toolstack.h"
#include "xsutil.h"

#define HOST_ERROR 0x00070000
#define HOST_NO_CONNECT 0x00010000

static struct simenv env;
static int dom1, dom2;
static pid_t backend;
static struct rawfront f1, f2;
static struct xs_handle *xs0;
static char logfile[512], statedir[512], config[512];

static const struct ts_opts topts = { .be_domid = 0, .timeout_ms = 10000 };

static pid_t start_backend(void)
{
	char *argv[] = { (char *)simenv_prog("scsiback/scsiback"), "--state-dir", statedir, "--config",
			 config, "--log-level", "debug", NULL };
	pid_t pid = daemon_start(&env, 0, logfile, argv);

	/* Ready once it has written InitWait/Connected to a vhost; give it a
	 * moment to open its watches. */
	usleep(200000);
	return pid;
}

static void attach(int domid, const char *pdev, const char *vdev)
{
	char err[512];
	int r = ts_attach(xs0, (unsigned)domid, pdev, vdev, &topts, err, sizeof(err));

	if (r)
		fail_msg("attach %s %s to %d: %s", pdev, vdev, domid, err);
}

static void check_good(const vscsiif_response_t *rsp)
{
	if (rsp->rslt != 0)
		fail_msg("rslt 0x%x, sense_len %u, sense key %x asc %02x", rsp->rslt, rsp->sense_len,
			 rsp->sense_buffer[2] & 0xf, rsp->sense_buffer[12]);
}

static void inquiry(struct rawfront *f, uint16_t tgt, uint16_t lun, vscsiif_response_t *rsp)
{
	static const uint8_t cdb[6] = { 0x12, 0, 0, 0, 96, 0 };

	memset(f->pool, 0xee, 4096);
	assert_int_equal(rawfront_exec(f, tgt, lun, cdb, 6, 2, 96, rsp), 0);
}

static void test_inquiry(void **state)
{
	vscsiif_response_t rsp;
	unsigned n;

	(void)state;
	inquiry(&f1, 0, 0, &rsp);
	check_good(&rsp);
	assert_int_equal(f1.pool[0] & 0x1f, 0);                    /* a disk */
	assert_memory_equal(f1.pool + 8, "VSCSI   ", 8);
	n = 5u + f1.pool[4];                                       /* what the LUN returned */
	assert_true(n <= 96);
	assert_int_equal(rsp.residual_len, 96 - n);                /* residual exact */
	assert_int_equal(f1.pool[n], 0xee);                        /* nothing copied beyond */
}

/* A READ of len zeros from the null LUN. A length beyond the pool goes
 * round it (rawfront_cdb): all of the pool is then zeros. */
static void read_zeros(struct rawfront *f, uint32_t len)
{
	const uint32_t pool = RAWFRONT_POOL_PAGES * 4096;
	uint8_t cdb[10] = { 0x28, 0, 0, 0, 0x10, 0, 0, 0, 0, 0 };
	vscsiif_response_t rsp;
	uint32_t blocks = len / 512, seen = len < pool ? len : pool;

	sg_put_unaligned_be16((uint16_t)blocks, cdb + 7);
	memset(f->pool, 0xaa, len + 4096 < pool ? len + 4096 : pool);
	assert_int_equal(rawfront_exec(f, 0, 0, cdb, 10, 2, len, &rsp), 0);
	check_good(&rsp);
	assert_int_equal(rsp.residual_len, 0);
	for (uint32_t i = 0; i < seen; i++)
		if (f->pool[i] != 0)
			fail_msg("byte %u of a %u-byte read is 0x%02x, not 0", i, len, f->pool[i]);
	if (len < pool)
		assert_int_equal(f->pool[len], 0xaa);
}

/* Resident memory of a process, in KiB. */
static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fp = fopen(path, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(fp);
	return kib;
}

static void test_reads_direct_and_indirect(void **state)
{
	long before, after;

	(void)state;
	read_zeros(&f1, 512);
	read_zeros(&f1, 26 * 4096);         /* the most direct segments */
	read_zeros(&f1, 27 * 4096);         /* the first indirect size */
	read_zeros(&f1, 512 * 4096);        /* one full segment-table page */
	read_zeros(&f1, 513 * 4096);        /* the first size with two */
	before = rss_kib(backend);
	/* 16 MiB, 8 table pages: our limit, what the largest tape block needs. */
	read_zeros(&f1, VSCSI_BACK_MAX_SEGMENTS * 4096);
	read_zeros(&f1, VSCSI_BACK_MAX_SEGMENTS * 4096);
	/* The bounce buffer beyond its first MiB went back after each
	 * (16 MiB each if kept). */
	after = rss_kib(backend);
	if (after - before > 4 * 1024)
		fail_msg("scsiback grew from %ld to %ld KiB over two 16 MiB reads", before, after);
}

static void test_too_long_indirect(void **state)
{
	vscsiif_request_t req;
	vscsiif_response_t rsp;
	uint8_t cdb[10] = { 0x28 };

	(void)state;
	/* One segment past feature-sg-grant, in 9 table pages. */
	rawfront_cdb(&f1, &req, 1, 0, 0, cdb, 10, 2, 0, (VSCSI_BACK_MAX_SEGMENTS + 1) * 4096, true);
	assert_int_equal(req.nr_segments, VSCSIIF_SG_GRANT | 9);
	rawfront_push(&f1, &req);
	assert_int_equal(rawfront_wait(&f1, &rsp, 5000), 0);
	assert_int_equal(rsp.rslt, HOST_ERROR);
}

static void test_report_luns(void **state)
{
	static const uint8_t cdb[12] = { 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	vscsiif_response_t rsp;

	(void)state;
	memset(f1.pool, 0xee, 512);
	assert_int_equal(rawfront_exec(&f1, 0, 0, cdb, 12, 2, 256, &rsp), 0);
	check_good(&rsp);
	/* Two LUNs on target 0: list length 16, LUN 0 then LUN 3. */
	assert_int_equal(f1.pool[3], 16);
	assert_int_equal(f1.pool[8 + 1], 0);
	assert_int_equal(f1.pool[16 + 1], 3);
	assert_int_equal(rsp.residual_len, 256 - 24);
	/* SELECT REPORT 0xff is invalid: ILLEGAL REQUEST, INVALID FIELD IN CDB. */
	{
		uint8_t bad[12];

		memcpy(bad, cdb, 12);
		bad[2] = 0xff;
		assert_int_equal(rawfront_exec(&f1, 0, 0, bad, 12, 2, 256, &rsp), 0);
		assert_int_equal(rsp.rslt, 2);
		assert_int_equal(rsp.sense_buffer[2] & 0xf, 5);
		assert_int_equal(rsp.sense_buffer[12], 0x24);
	}
}

static void test_unmapped_lun_and_target(void **state)
{
	static const uint8_t tur[6] = { 0 };
	vscsiif_response_t rsp;

	(void)state;
	inquiry(&f1, 0, 5, &rsp);
	check_good(&rsp);
	assert_int_equal(f1.pool[0], 0x7f);           /* qualifier 3: no LUN here */
	assert_int_equal(rawfront_exec(&f1, 0, 5, tur, 6, 3, 0, &rsp), 0);
	assert_int_equal(rsp.rslt, 2);                /* CHECK CONDITION */
	assert_true(rsp.sense_len >= 14);
	assert_int_equal(rsp.sense_buffer[2] & 0xf, 5);
	assert_int_equal(rsp.sense_buffer[12], 0x25); /* LOGICAL UNIT NOT SUPPORTED */
	/* A target with no LUNs at all: the selection fails. */
	assert_int_equal(rawfront_exec(&f1, 9, 0, tur, 6, 3, 0, &rsp), 0);
	assert_int_equal(rsp.rslt, HOST_NO_CONNECT);
	assert_int_equal(rsp.sense_len, 0);
}

static void test_policy_denies(void **state)
{
	static const uint8_t write_buffer[10] = { 0x3b, 0x05 };
	vscsiif_response_t rsp;

	(void)state;
	assert_int_equal(rawfront_exec(&f1, 0, 0, write_buffer, 10, 1, 512, &rsp), 0);
	assert_int_equal(rsp.rslt, 2);
	assert_int_equal(rsp.sense_buffer[2] & 0xf, 5);
	assert_int_equal(rsp.sense_buffer[12], 0x20);  /* INVALID COMMAND OPERATION CODE */
	/* The log says it in the admin's terms: the guest's name and the
	 * v-dev as attached (H:C:T:L), not only domain and channel numbers. */
	{
		char text[160];

		snprintf(text, sizeof(text),
			 "guest1 vhost %d/0: LUN 0:0:0:0: opcode 0x3b denied by policy \"no-firmware\"", dom1);
		assert_int_equal(daemon_wait_log(logfile, text, 2000), 0);
	}
}

static const char *config_extra = "";   /* more [scsiback] settings */

static void write_config(const char *opcodes)
{
	FILE *cf = fopen(config, "w");

	assert_non_null(cf);
	fprintf(cf, "[scsiback]\nsysfs-root = %s/sys\n%s\n"
		    "[policy no-firmware]\nmode = deny-list\nopcodes = %s\n\n"
		    "[lun null:disk]\npolicy = no-firmware\n", env.rundir, config_extra, opcodes);
	fclose(cf);
}

/* SIGHUP reloads the policies of LUNs already attached. */
static void test_sighup_reloads_policy(void **state)
{
	static const uint8_t readcap[10] = { 0x25 };
	vscsiif_response_t rsp;

	(void)state;
	assert_int_equal(rawfront_exec(&f1, 0, 0, readcap, 10, 2, 8, &rsp), 0);
	check_good(&rsp);
	write_config("0x3b 0x04 0x25");
	kill(backend, SIGHUP);
	for (int i = 0; i < 50; i++) {
		usleep(20000);
		assert_int_equal(rawfront_exec(&f1, 0, 0, readcap, 10, 2, 8, &rsp), 0);
		if (rsp.rslt == 2)
			break;
	}
	assert_int_equal(rsp.rslt, 2);
	assert_int_equal(rsp.sense_buffer[12], 0x20);
	/* A broken file keeps the policies in force. */
	{
		FILE *cf = fopen(config, "w");

		assert_non_null(cf);
		fputs("[policy no-firmware]\nmode = maybe\n", cf);
		fclose(cf);
	}
	kill(backend, SIGHUP);
	{
		char text[600];

		/* The rejection names file:line; wait for it, not for a time. */
		snprintf(text, sizeof(text), "SIGHUP: keeping the old configuration: %s:2: ", config);
		assert_int_equal(daemon_wait_log(logfile, text, 20000), 0);
	}
	assert_true(daemon_alive(backend));
	assert_int_equal(rawfront_exec(&f1, 0, 0, readcap, 10, 2, 8, &rsp), 0);
	assert_int_equal(rsp.rslt, 2);
	write_config("0x3b 0x04");
	kill(backend, SIGHUP);
	for (int i = 0; i < 50; i++) {
		usleep(20000);
		assert_int_equal(rawfront_exec(&f1, 0, 0, readcap, 10, 2, 8, &rsp), 0);
		if (rsp.rslt == 0)
			break;
	}
	check_good(&rsp);
}

/* Each malformed request gets host ERROR, and the vhost keeps serving. */
static void test_malformed_requests(void **state)
{
	static const uint8_t tur[6] = { 0 };
	vscsiif_request_t base, req;
	vscsiif_response_t rsp;

	(void)state;
	rawfront_cdb(&f1, &base, 7, 0, 0, (const uint8_t[]){ 0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0 }, 10, 2,
		     0, 4096, false);
	for (int c = 0; c < 9; c++) {
		req = base;
		switch (c) {
		case 0: req.act = 9; break;                                  /* unknown act */
		case 1: req.act = VSCSIIF_ACT_SCSI_SG_PRESET; break;          /* deprecated */
		case 2: req.cmd_len = 0; break;
		case 3: req.cmd_len = 17; break;
		case 4: req.sc_data_direction = 4; break;
		case 5: req.nr_segments = 27; break;                          /* > 26 direct */
		case 6: req.seg[0].offset = 4000; req.seg[0].length = 200; break; /* crosses the page */
		case 7: req.sc_data_direction = 3; break;                     /* data with DMA_NONE */
		case 8: req.seg[0].gref = 30000; break;                       /* never granted */
		}
		rawfront_push(&f1, &req);
		assert_int_equal(rawfront_wait(&f1, &rsp, 5000), 0);
		assert_int_equal(rsp.rqid, 7);
		if (rsp.rslt != HOST_ERROR)
			fail_msg("malformed case %d answered 0x%x, not host ERROR", c, rsp.rslt);
	}
	/* An indirect chunk whose length is not a multiple of 8. */
	rawfront_cdb(&f1, &req, 8, 0, 0, (const uint8_t[10]){ 0x28 }, 10, 2, 0, 30 * 4096, true);
	req.seg[0].length = 7;
	rawfront_push(&f1, &req);
	assert_int_equal(rawfront_wait(&f1, &rsp, 5000), 0);
	assert_int_equal(rsp.rslt, HOST_ERROR);
	/* An indirect table entry that crosses its page. */
	rawfront_cdb(&f1, &req, 9, 0, 0, (const uint8_t[10]){ 0x28 }, 10, 2, 0, 30 * 4096, true);
	((struct scsiif_request_segment *)f1.table)[3].offset = 4095;
	rawfront_push(&f1, &req);
	assert_int_equal(rawfront_wait(&f1, &rsp, 5000), 0);
	assert_int_equal(rsp.rslt, HOST_ERROR);
	/* Still serving. */
	assert_int_equal(rawfront_exec(&f1, 0, 0, tur, 6, 3, 0, &rsp), 0);
	check_good(&rsp);
}

static void test_abort_and_reset(void **state)
{
	vscsiif_request_t req;
	vscsiif_response_t rsp;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.act = VSCSIIF_ACT_SCSI_ABORT;
	req.rqid = 3;
	req.ref_rqid = 11; /* nothing in flight under that tag */
	rawfront_push(&f1, &req);
	assert_int_equal(rawfront_wait(&f1, &rsp, 5000), 0);
	assert_int_equal(rsp.rslt, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
	req.act = VSCSIIF_ACT_SCSI_RESET;
	rawfront_push(&f1, &req);
	assert_int_equal(rawfront_wait(&f1, &rsp, 5000), 0);
	assert_int_equal(rsp.rslt, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
	req.lun = 6; /* not mapped: nothing to reset */
	rawfront_push(&f1, &req);
	assert_int_equal(rawfront_wait(&f1, &rsp, 5000), 0);
	assert_int_equal(rsp.rslt, XEN_VSCSIIF_RSLT_RESET_FAILED);
}

/* A frontend that breaks the ring loses its vhost, nobody else's. */
static void test_corrupt_ring_is_isolated(void **state)
{
	vscsiif_response_t rsp;
	struct rawfront bad;
	int d3 = simenv_create_domain(&env, "hostile");

	(void)state;
	assert_true(d3 > 0);
	attach(d3, "null:disk", "0:0:0:0");
	assert_int_equal(rawfront_open(&bad, &env, d3, 0, 10000), 0);
	inquiry(&bad, 0, 0, &rsp);
	check_good(&rsp);
	rawfront_set_req_prod(&bad, bad.ring.req_prod_pvt + 100);
	assert_int_equal(rawfront_wait(&bad, &rsp, 500), -ETIMEDOUT);
	assert_true(daemon_alive(backend));
	inquiry(&f2, 1, 0, &rsp);
	check_good(&rsp);
	inquiry(&f1, 0, 0, &rsp);
	check_good(&rsp);
	rawfront_abandon(&bad);
	assert_int_equal(simenv_destroy_domain(&env, d3), 0);
}

static void run_ts_in_child(int attach_it, unsigned domid, const char *pdev, const char *vdev,
			    pid_t *pid)
{
	*pid = fork();
	if (*pid == 0) {
		char err[512];
		struct xs_handle *xs = simenv_xs_open(&env, 0);
		int r = attach_it ? ts_attach(xs, domid, pdev, vdev, &topts, err, sizeof(err))
				  : ts_detach(xs, domid, vdev, &topts, err, sizeof(err));

		if (r) {
			char path[600];
			FILE *out;

			fprintf(stderr, "toolstack: %s\n", err);
			snprintf(path, sizeof(path), "%s/toolstack.err", env.rundir);
			out = fopen(path, "w");
			if (out) {
				fputs(err, out);
				fclose(out);
			}
		}
		_exit(r ? 1 : 0);
	}
}

static void test_hotplug(void **state)
{
	static const uint8_t rl[12] = { 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	vscsiif_response_t rsp;
	pid_t pid;
	int status;

	(void)state;
	run_ts_in_child(1, (unsigned)dom1, "null:disk", "0:0:0:7", &pid);
	assert_int_equal(rawfront_service(&f1, 10000), XenbusStateConnected);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(rawfront_exec(&f1, 0, 0, rl, 12, 2, 256, &rsp), 0);
	check_good(&rsp);
	assert_int_equal(f1.pool[3], 24);          /* LUNs 0, 3, 7 */
	inquiry(&f1, 0, 7, &rsp);
	check_good(&rsp);
	assert_int_equal(f1.pool[0], 0);

	run_ts_in_child(0, (unsigned)dom1, NULL, "0:0:0:7", &pid);
	assert_int_equal(rawfront_service(&f1, 10000), XenbusStateConnected);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(rawfront_exec(&f1, 0, 0, rl, 12, 2, 256, &rsp), 0);
	assert_int_equal(f1.pool[3], 16);          /* LUNs 0, 3 */
	inquiry(&f1, 0, 7, &rsp);
	assert_int_equal(f1.pool[0], 0x7f);
}

/* A vscsi-devs entry whose name is not dev-<number> as printed ("dev-07"
 * is number 7 too, and would be taken for "dev-7"): ignored, with a
 * warning that names it; the vhost goes on. */
static void test_noncanonical_dev_name(void **state)
{
	static const struct { const char *node, *value; } nodes[] = {
		{ "p-dev", "null:disk" }, { "v-dev", "0:0:0:5" }, { "state", "1" },
	};
	char path[300];
	vscsiif_response_t rsp;

	(void)state;
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(path, sizeof(path), "%s/vscsi-devs/dev-07/%s", f1.be_path, nodes[i].node);
		assert_true(xs_write(xs0, XBT_NULL, path, nodes[i].value, strlen(nodes[i].value)));
	}
	snprintf(path, sizeof(path), "%s/state", f1.be_path);
	assert_true(xs_write(xs0, XBT_NULL, path, "7", 1));
	assert_int_equal(rawfront_service(&f1, 10000), XenbusStateConnected);
	snprintf(path, sizeof(path), "ignoring %s/vscsi-devs/dev-07: not a dev-N entry", f1.be_path);
	assert_int_equal(daemon_wait_log(logfile, path, 5000), 0);
	inquiry(&f1, 0, 5, &rsp);
	assert_int_equal(f1.pool[0], 0x7f);        /* no LUN 5 */
	snprintf(path, sizeof(path), "%s/vscsi-devs/dev-07/state", f1.be_path);
	{
		unsigned len;
		char *v = xs_read(xs0, XBT_NULL, path, &len);

		assert_non_null(v);
		assert_string_equal(v, "1");    /* left alone */
		free(v);
	}
	snprintf(path, sizeof(path), "%s/vscsi-devs/dev-07", f1.be_path);
	assert_true(xs_rm(xs0, XBT_NULL, path));
	inquiry(&f1, 0, 0, &rsp);
	check_good(&rsp);
}

/* A v-dev spelt otherwise than printf's %u ("0:0:00:5", "65536:0:0:5",
 * signs, blanks): refused with dev state 6 and the reason, as every part
 * of the stack refuses it (common/vdev.h); no LUN appears. */
static void test_noncanonical_vdev(void **state)
{
	static const char *const vdevs[] = { "0:0:00:5", "65536:0:0:5", "0:0:+0:5", "0:0:0:5 " };
	char path[300];
	vscsiif_response_t rsp;

	(void)state;
	for (size_t k = 0; k < sizeof(vdevs) / sizeof(vdevs[0]); k++) {
		const struct { const char *node, *value; } nodes[] = {
			{ "p-dev", "null:disk" }, { "v-dev", vdevs[k] }, { "state", "1" },
		};
		char *v, want[64];
		unsigned len;

		for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
			snprintf(path, sizeof(path), "%s/vscsi-devs/dev-8/%s", f1.be_path, nodes[i].node);
			assert_true(xs_write(xs0, XBT_NULL, path, nodes[i].value, strlen(nodes[i].value)));
		}
		snprintf(path, sizeof(path), "%s/state", f1.be_path);
		assert_true(xs_write(xs0, XBT_NULL, path, "7", 1));
		assert_int_equal(rawfront_service(&f1, 10000), XenbusStateConnected);
		assert_int_equal(rawfront_dev_state(&f1, 8), XenbusStateClosed);
		snprintf(path, sizeof(path), "%s/vscsi-devs/dev-8/error", f1.be_path);
		v = xs_read(xs0, XBT_NULL, path, &len);
		assert_non_null(v);
		snprintf(want, sizeof(want), "v-dev \"%s\" is not h:c:t:l", vdevs[k]);
		if (strcmp(v, want))
			fail_msg("dev-8/error \"%s\", want \"%s\"", v, want);
		free(v);
		inquiry(&f1, 0, 5, &rsp);
		assert_int_equal(f1.pool[0], 0x7f);        /* no LUN 5 */
		snprintf(path, sizeof(path), "%s/vscsi-devs/dev-8", f1.be_path);
		assert_true(xs_rm(xs0, XBT_NULL, path));
	}
	inquiry(&f1, 0, 0, &rsp);
	check_good(&rsp);
}

/* A p-dev that does not exist: dev state 6, the reason in xenstore and
 * in the toolstack's error. */
static void test_bad_pdev(void **state)
{
	char err[512];
	pid_t pid;
	int status;

	(void)state;
	snprintf(err, sizeof(err), "%s/toolstack.err", env.rundir);
	unlink(err);
	run_ts_in_child(1, (unsigned)dom1, "iscsi://127.0.0.1:1/iqn.2026-11.none:x/1", "0:0:0:9", &pid);
	rawfront_service(&f1, 10000);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 1);
	/* The refusal is the backend's, with its cause (nothing listens on
	 * port 1), not the toolstack giving up on a silent backend. */
	{
		FILE *in = fopen(err, "r");
		char why[512] = "";

		assert_non_null(in);
		assert_non_null(fgets(why, sizeof(why), in));
		fclose(in);
		if (!strstr(why, "failed in the backend: ") || strstr(why, "no reason given") ||
		    !strstr(why, "127.0.0.1:1") || !strcasestr(why, "refused"))
			fail_msg("attach error: %s", why);
	}
	/* Nothing half-written is left. */
	snprintf(err, sizeof(err), "%s/vscsi-devs", f1.be_path);
	{
		unsigned n = 0;
		char **d = xs_directory(xs0, XBT_NULL, err, &n);

		assert_int_equal(n, 2);
		free(d);
	}
}

static void test_guest_destroyed_mid_io(void **state)
{
	vscsiif_request_t req;
	vscsiif_response_t rsp;
	struct rawfront g;
	int d = simenv_create_domain(&env, "doomed");

	(void)state;
	attach(d, "null:disk", "0:0:0:0");
	assert_int_equal(rawfront_open(&g, &env, d, 0, 10000), 0);
	for (uint16_t i = 0; i < 16; i++) {
		rawfront_cdb(&g, &req, i, 0, 0, (const uint8_t[]){ 0x28, 0, 0, 0, 0, 0, 0, 0, 64, 0 }, 10,
			     2, (unsigned)i * 8, 32768, false);
		rawfront_push(&g, &req);
	}
	assert_int_equal(simenv_destroy_domain(&env, d), 0);
	rawfront_abandon(&g);
	/* Its backend directory goes too: xl does not know vscsi devices. */
	{
		char path[128], *v = NULL;
		unsigned len;

		snprintf(path, sizeof(path), "/local/domain/0/backend/vscsi/%d", d);
		for (int i = 0; i < 100; i++) {
			free(v);
			if (!(v = xs_read(xs0, XBT_NULL, path, &len)))
				break;
			usleep(50000);
		}
		if (v)
			fail_msg("%s is still in xenstore after the guest was destroyed", path);
	}
	assert_true(daemon_alive(backend));
	inquiry(&f1, 0, 0, &rsp);
	check_good(&rsp);
	inquiry(&f2, 1, 0, &rsp);
	check_good(&rsp);
}

/* The toolstack removes the directory of a vhost whose guest is still
 * connected (vscsi-lifecycle does so for a suspended domain): scsiback
 * lets the vhost go and writes nothing there afterwards, or its last
 * state write would make the directory again, left behind for good (seen
 * on real Xen in check-xen s6, after a migration). */
static void test_backend_dir_removed_by_toolstack(void **state)
{
	char path[128], msg[64];
	struct rawfront g;
	vscsiif_response_t rsp;
	int d = simenv_create_domain(&env, "suspended");

	(void)state;
	attach(d, "null:disk", "0:0:0:0");
	assert_int_equal(rawfront_open(&g, &env, d, 0, 10000), 0);
	inquiry(&g, 0, 0, &rsp);
	check_good(&rsp);
	/* As on real Xen: xl destroy takes the frontend's directory, then
	 * the toolstack the backend's, both before scsiback (busy, here
	 * stopped) has looked. It sees the frontend vanish (state Unknown)
	 * first, when its vhost's directory is already gone. */
	snprintf(path, sizeof(path), "/local/domain/0/backend/vscsi/%d", d);
	assert_int_equal(kill(backend, SIGSTOP), 0);
	assert_true(xs_rm(xs0, XBT_NULL, g.fe_path));
	assert_true(xs_rm(xs0, XBT_NULL, path));
	assert_int_equal(kill(backend, SIGCONT), 0);
	snprintf(msg, sizeof(msg), "vhost %d/0: removed", d);
	assert_int_equal(daemon_wait_log(logfile, msg, 10000), 0);
	usleep(500000);
	{
		unsigned len;
		char *v = xs_read(xs0, XBT_NULL, path, &len);

		if (v) {
			free(v);
			fail_msg("%s is back after the toolstack removed it", path);
		}
	}
	rawfront_abandon(&g);
	assert_int_equal(simenv_destroy_domain(&env, d), 0);
	assert_true(daemon_alive(backend));
	inquiry(&f1, 0, 0, &rsp);
	check_good(&rsp);
}

/* Polls a xenstore node until it reads want (a number); 0 or -ETIMEDOUT. */
static int wait_node(struct xs_handle *xs, const char *path, int want, unsigned ms)
{
	for (unsigned t = 0; t < ms; t += 20) {
		if (xsu_read_intf(xs, XBT_NULL, -1, "%s", path) == want)
			return 0;
		usleep(20000);
	}
	return -ETIMEDOUT;
}

/* A vhost whose connection failed says why in its error node; once the
 * guest connects it fine, the node goes (`vscsictl list` would show the
 * old failure forever). */
static void test_error_cleared_after_reconnect(void **state)
{
	char fe[128], be[128], path[300], *err;
	struct xs_handle *gx;
	struct rawfront g;
	vscsiif_response_t rsp;
	unsigned len;
	int d = simenv_create_domain(&env, "flaky");

	(void)state;
	assert_true(d > 0);
	attach(d, "null:disk", "0:0:0:0");
	gx = simenv_xs_open(&env, d);
	assert_non_null(gx);
	snprintf(fe, sizeof(fe), "/local/domain/%d/device/vscsi/0", d);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vscsi/%d/0", d);
	/* A frontend that publishes a ring-ref that is no number. */
	snprintf(path, sizeof(path), "%s/ring-ref", fe);
	assert_int_equal(xsu_printf(gx, XBT_NULL, path, "bogus"), 0);
	snprintf(path, sizeof(path), "%s/event-channel", fe);
	assert_int_equal(xsu_printf(gx, XBT_NULL, path, "7"), 0);
	snprintf(path, sizeof(path), "%s/state", fe);
	assert_int_equal(xsu_printf(gx, XBT_NULL, path, "%d", XenbusStateInitialised), 0);
	snprintf(path, sizeof(path), "%s/state", be);
	assert_int_equal(wait_node(xs0, path, XenbusStateClosing, 10000), 0);
	err = xsu_readf(xs0, XBT_NULL, "%s/error", be);
	assert_non_null(err);
	if (!strstr(err, "ring-ref"))
		fail_msg("error node: %s", err);
	free(err);
	/* The guest's driver starts over: Closed, Initialising, a good ring. */
	snprintf(path, sizeof(path), "%s/state", fe);
	assert_int_equal(xsu_printf(gx, XBT_NULL, path, "%d", XenbusStateClosed), 0);
	snprintf(path, sizeof(path), "%s/state", be);
	assert_int_equal(wait_node(xs0, path, XenbusStateClosed, 10000), 0);
	snprintf(path, sizeof(path), "%s/state", fe);
	assert_int_equal(xsu_printf(gx, XBT_NULL, path, "%d", XenbusStateInitialising), 0);
	snprintf(path, sizeof(path), "%s/state", be);
	assert_int_equal(wait_node(xs0, path, XenbusStateInitWait, 10000), 0);
	assert_int_equal(rawfront_open(&g, &env, d, 0, 10000), 0);
	inquiry(&g, 0, 0, &rsp);
	check_good(&rsp);
	snprintf(path, sizeof(path), "%s/error", be);
	err = xs_read(xs0, XBT_NULL, path, &len);
	if (err)
		fail_msg("%s still says \"%s\" with the vhost connected", path, err);
	rawfront_close(&g);
	xs_close(gx);
	assert_int_equal(simenv_destroy_domain(&env, d), 0);
}

/* STATEDIR/status.json (scsiback(8), FILES). */
static struct json_object *status_lun(struct json_object *st, int domid, const char *vdev,
				      struct json_object **vhost)
{
	struct json_object *vhosts, *luns, *v;

	if (!json_object_object_get_ex(st, "vhosts", &vhosts))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(vhosts); i++) {
		struct json_object *vh = json_object_array_get_idx(vhosts, i);

		if (!json_object_object_get_ex(vh, "domid", &v) || json_object_get_int(v) != domid ||
		    !json_object_object_get_ex(vh, "luns", &luns))
			continue;
		*vhost = vh;
		for (size_t k = 0; k < json_object_array_length(luns); k++) {
			struct json_object *l = json_object_array_get_idx(luns, k);

			if (json_object_object_get_ex(l, "v_dev", &v) &&
			    !strcmp(json_object_get_string(v), vdev))
				return l;
		}
	}
	return NULL;
}

static int64_t json_int(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

static const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

/* The health an admin reads: each vhost with its guest's name and ring
 * state; each LUN with what the device ended — commands, errors, bytes —
 * and the latest error by opcode and sense. Counted from the responses
 * the guest got; rewritten within a second of a change. */
static void test_status_file(void **state)
{
	static const uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 }, bogus[6] = { 0xe7 };
	struct json_object *st, *lun, *vh = NULL;
	vscsiif_response_t rsp;
	struct rawfront g;
	int64_t bytes = 0;
	char path[600];
	int d = simenv_create_domain(&env, "watched");

	(void)state;
	assert_true(d > 0);
	attach(d, "null:disk", "0:0:2:0");
	assert_int_equal(rawfront_open(&g, &env, d, 0, 10000), 0);
	snprintf(path, sizeof(path), "%s/status.json", statedir);
	for (int waited = 0;; waited += 200) {
		st = json_object_from_file(path);
		if (!st)
			fail_msg("%s: %s", path, json_util_get_last_err());
		lun = status_lun(st, d, "0:0:2:0", &vh);
		if (lun && !strcmp(json_str(vh, "ring"), "running"))
			break;
		if (waited > 5000)
			fail_msg("no running LUN 0:0:2:0 of domain %d in %s after 5 s:\n%s", d, path,
				 json_object_to_json_string(st));
		json_object_put(st);
		usleep(200000);
	}
	assert_int_equal(json_int(st, "pid"), backend);
	assert_string_equal(json_str(vh, "guest"), "watched");
	assert_string_equal(json_str(lun, "p_dev"), "null:disk");
	assert_string_equal(json_str(lun, "state"), "open");
	assert_int_equal(json_int(lun, "commands"), 0);
	assert_int_equal(json_int(lun, "errors"), 0);
	json_object_put(st);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rawfront_exec(&g, 2, 0, inq, 6, 2, 96, &rsp), 0);
		check_good(&rsp);
		bytes += 96 - (int64_t)rsp.residual_len;
	}
	assert_int_equal(rawfront_exec(&g, 2, 0, bogus, 6, 3, 0, &rsp), 0);
	assert_int_equal(rsp.rslt, 2);
	assert_int_equal(rsp.sense_buffer[2] & 0xf, 5);   /* ILLEGAL REQUEST */
	for (int waited = 0;; waited += 200) {
		st = json_object_from_file(path);
		lun = st ? status_lun(st, d, "0:0:2:0", &vh) : NULL;
		if (lun && json_int(lun, "commands") >= 4)
			break;
		json_object_put(st);
		if (waited > 5000)
			fail_msg("status.json did not count the commands within 5 s");
		usleep(200000);
	}
	assert_int_equal(json_int(lun, "commands"), 4);
	assert_int_equal(json_int(lun, "errors"), 1);
	assert_int_equal(json_int(lun, "bytes_read"), bytes);
	assert_int_equal(json_int(lun, "bytes_written"), 0);
	if (!strstr(json_str(lun, "last_error"), "Illegal Request") ||
	    !strstr(json_str(lun, "last_error"), "20/00"))
		fail_msg("last_error: %s", json_str(lun, "last_error"));
	json_object_put(st);
	rawfront_close(&g);
	assert_int_equal(simenv_destroy_domain(&env, d), 0);
}

/* Linux's xen-scsiback loaded beside us: scsiback says so at start and
 * for each new vhost, and leaves alone a vhost the kernel has bound. */
static void test_kernel_backend_present(void **state)
{
	static const struct ts_opts quick = { .be_domid = 0, .timeout_ms = 1500 };
	char dir[700], text[200], err[512];

	(void)state;
	snprintf(dir, sizeof(dir), "mkdir -p %s/sys/module/xen_scsiback", env.rundir);
	assert_int_equal(system(dir), 0);
	attach(dom2, "null:disk", "4:0:0:0");
	snprintf(text, sizeof(text), "vhost %d/4: the kernel's xen-scsiback module is loaded", dom2);
	assert_int_equal(daemon_wait_log(logfile, text, 5000), 0);

	snprintf(dir, sizeof(dir), "mkdir -p %s/sys/bus/xen-backend/devices/vscsi-%d-5/driver",
		 env.rundir, dom2);
	assert_int_equal(system(dir), 0);
	assert_int_not_equal(ts_attach(xs0, (unsigned)dom2, "null:disk", "5:0:0:0", &quick, err,
				       sizeof(err)), 0);
	snprintf(text, sizeof(text), "vhost %d/5: the kernel's xen-scsiback serves it", dom2);
	assert_int_equal(daemon_wait_log(logfile, text, 5000), 0);

	assert_int_equal(daemon_stop(backend, SIGTERM, 10000), 0);
	backend = start_backend();
	assert_int_equal(daemon_wait_log(logfile, "the kernel's xen-scsiback module is loaded (", 5000), 0);

	snprintf(dir, sizeof(dir), "rm -rf %s/sys/module %s/sys/bus", env.rundir, env.rundir);
	assert_int_equal(system(dir), 0);
	assert_int_equal(ts_detach(xs0, (unsigned)dom2, "4:0:0:0", &topts, err, sizeof(err)), 0);
	/* The other guests were not disturbed. */
	{
		vscsiif_response_t rsp;

		inquiry(&f2, 1, 0, &rsp);
		check_good(&rsp);
	}
}

static void test_backend_restart(void **state)
{
	vscsiif_response_t rsp;
	int status;

	(void)state;
	status = daemon_stop(backend, SIGKILL, 5000);
	assert_true(WIFSIGNALED(status) || WEXITSTATUS(status) == 137);
	/* A guest keeps queueing while no daemon runs, as a kernel frontend
	 * does: the new daemon must have the LUNs back before it takes
	 * those, or they would fail with NO_CONNECT. */
	{
		static const uint8_t cdb[6] = { 0x12, 0, 0, 0, 96, 0 };
		vscsiif_request_t req;

		memset(f1.pool, 0xee, 4096);
		rawfront_cdb(&f1, &req, 5, 0, 3, cdb, 6, 2, 0, 96, false);
		rawfront_push(&f1, &req);
	}
	backend = start_backend();
	assert_int_equal(rawfront_wait(&f1, &rsp, 10000), 0);
	assert_int_equal(rsp.rqid, 5);
	check_good(&rsp);
	assert_int_equal(f1.pool[0] & 0x1f, 0); /* the LUN's own answer */
	assert_int_equal(rsp.residual_len, 96 - (5u + f1.pool[4]));
	/* The new daemon finds the vhosts connected and takes the rings up;
	 * the guests keep their LUNs without reconnecting. */
	for (int i = 0; i < 50; i++) {
		usleep(100000);
		if (!daemon_alive(backend))
			break;
	}
	assert_true(daemon_alive(backend));
	inquiry(&f1, 0, 3, &rsp);
	check_good(&rsp);
	inquiry(&f2, 1, 0, &rsp);
	check_good(&rsp);
}

static void test_clean_shutdown(void **state)
{
	int status;

	(void)state;
	status = daemon_stop(backend, SIGTERM, 10000);
	backend = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* In the sanitizer build, scsiback reported nothing on the way. */
	assert_int_equal(daemon_log_clean(logfile), 0);
	/* The guests stay connected in xenstore for the next daemon. */
	{
		char path[256], *v;
		unsigned len;

		snprintf(path, sizeof(path), "%s/state", f1.be_path);
		v = xs_read(xs0, XBT_NULL, path, &len);
		assert_non_null(v);
		assert_string_equal(v, "4");
		free(v);
	}
	/* No status of a daemon that no longer runs. */
	{
		char path[600];

		snprintf(path, sizeof(path), "%s/status.json", statedir);
		assert_int_equal(access(path, F_OK), -1);
	}
}

static int setup(void **state)
{
	FILE *cf;

	(void)state;
	if (simenv_start(&env) != 0)
		return -1;
	dom1 = simenv_create_domain(&env, "guest1");
	dom2 = simenv_create_domain(&env, "guest2");
	snprintf(logfile, sizeof(logfile), "%s/scsiback.log", env.rundir);
	snprintf(statedir, sizeof(statedir), "%s/scsiback-state", env.rundir);
	snprintf(config, sizeof(config), "%s/scsiback.conf", env.rundir);
	cf = fopen(config, "w");
	if (!cf)
		return -1;
	fclose(cf);
	write_config("0x3b 0x04");
	backend = start_backend();
	xs0 = simenv_xs_open(&env, 0);
	if (!xs0 || dom1 <= 0 || dom2 <= 0)
		return -1;
	attach(dom1, "null:disk", "0:0:0:0");
	attach(dom1, "null:disk", "0:0:0:3");
	attach(dom2, "null:disk", "0:0:1:0");
	{
		int r1 = rawfront_open(&f1, &env, dom1, 0, 10000);
		int r2 = r1 ? 0 : rawfront_open(&f2, &env, dom2, 0, 10000);

		if (r1 || r2) {
			fprintf(stderr, "setup: frontend connect failed: %s\n", strerror(-(r1 ? r1 : r2)));
			return -1;
		}
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	daemon_finish(backend, logfile);
	simenv_stop(&env);
	return 0;
}

/* How many lines of the daemon's log hold text. */
static int log_count(const char *text)
{
	return daemon_log_count(logfile, text);
}

/* The vhost of domid in status.json once it says persistent_grants
 * `want` with mapped_pages pages mapped (-1: any); fails after 15 s (a
 * worker reports its rings every second, the broker writes the file after
 * that: a loaded machine stretches both). */
static void wait_mapped(int domid, bool want, int64_t pages)
{
	struct json_object *st = NULL, *vh = NULL, *v;
	char path[600];

	snprintf(path, sizeof(path), "%s/status.json", statedir);
	for (int waited = 0;; waited += 100) {
		st = json_object_from_file(path);
		vh = NULL;
		if (st)
			status_lun(st, domid, "0:0:0:0", &vh);
		if (vh && json_object_object_get_ex(vh, "persistent_grants", &v) &&
		    json_object_get_boolean(v) == want && (pages < 0 || json_int(vh, "mapped_pages") == pages))
			break;
		if (waited > 15000)
			fail_msg("domain %d: no persistent_grants %d, mapped_pages %lld in %s after 15 s:\n%s",
				 domid, want, (long long)pages, path, st ? json_object_to_json_string(st) : "");
		if (st)
			json_object_put(st);
		usleep(100000);
	}
	json_object_put(st);
}

/* feature-persistent (docs/protocol.md): a frontend that offers it gets
 * its pages mapped once, for the life of its ring. Data lands straight in
 * them (the null LUN's zeros), status.json says so and counts the pages;
 * a segment whose grant cannot be mapped (never granted, or ended) is
 * answered host ERROR with a log line naming it, and the ring serves on.
 * A frontend that does not offer it (f1) is copied to, as before. */
static void test_persistent_grants(void **state)
{
	uint8_t cdb[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	vscsiif_request_t req;
	vscsiif_response_t rsp;
	struct rawfront g;
	char text[200];
	int d = simenv_create_domain(&env, "mapped");

	(void)state;
	assert_true(d > 0);
	attach(d, "null:disk", "0:0:0:0");
	assert_int_equal(rawfront_open_persistent(&g, &env, d, 0, 10000, true), 0);
	assert_int_equal(xsu_read_intf(g.xs, XBT_NULL, -1, "%s/feature-persistent", g.be_path), 1);
	read_zeros(&g, 64 * 1024);
	wait_mapped(d, true, 16);
	read_zeros(&g, RAWFRONT_POOL_PAGES * 4096);
	read_zeros(&g, 2 * RAWFRONT_POOL_PAGES * 4096);   /* the same pages twice in one command */
	wait_mapped(d, true, RAWFRONT_POOL_PAGES);
	wait_mapped(dom1, false, -1);

	rawfront_cdb(&g, &req, 3, 0, 0, cdb, 10, 2, 0, 512, false);
	req.seg[0].gref = 30000;   /* granted to nobody */
	rawfront_push(&g, &req);
	assert_int_equal(rawfront_wait(&g, &rsp, 5000), 0);
	assert_int_equal(rsp.rslt, HOST_ERROR);
	snprintf(text, sizeof(text), "mapped vhost %d/0: rqid 3: cannot map guest segment 0 (gref 30000, for data in)", d);
	assert_int_equal(daemon_wait_log(logfile, text, 2000), 0);
	read_zeros(&g, 4096);
	/* A page granted read-only (the last segment-table page): a WRITE may
	 * take its data from it, a READ into it is refused, never written. */
	{
		static const uint8_t wcdb[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
		uint32_t ro = g.table_refs[RAWFRONT_TABLE_PAGES - 1];

		rawfront_cdb(&g, &req, 4, 0, 0, wcdb, 10, 1, 0, 512, false);
		req.seg[0].gref = ro;
		rawfront_push(&g, &req);
		assert_int_equal(rawfront_wait(&g, &rsp, 5000), 0);
		check_good(&rsp);
		rawfront_cdb(&g, &req, 5, 0, 0, cdb, 10, 2, 0, 512, false);
		req.seg[0].gref = ro;
		rawfront_push(&g, &req);
		assert_int_equal(rawfront_wait(&g, &rsp, 5000), 0);
		assert_int_equal(rsp.rslt, HOST_ERROR);
		snprintf(text, sizeof(text), "rqid 5: cannot map guest segment 0 (gref %u, for data in)", ro);
		assert_int_equal(daemon_wait_log(logfile, text, 2000), 0);
	}
	rawfront_close(&g);
	/* A new ring (the frontend restarted) starts with nothing mapped:
	 * the old pages went with the old ring. */
	assert_int_equal(rawfront_open_persistent(&g, &env, d, 0, 10000, true), 0);
	wait_mapped(d, true, 0);
	read_zeros(&g, 8192);
	wait_mapped(d, true, 2);
	rawfront_close(&g);
	assert_true(daemon_alive(backend));

	/* A backend told not to offer it (persistent-grants = no) copies,
	 * whatever the frontend offers. */
	{
		int reloads = log_count("SIGHUP: configuration reloaded"), d2;

		config_extra = "persistent-grants = no\n";
		write_config("0x3b 0x04");
		kill(backend, SIGHUP);
		for (int i = 0; i < 100 && log_count("SIGHUP: configuration reloaded") == reloads; i++)
			usleep(50000);
		assert_int_equal(log_count("SIGHUP: configuration reloaded"), reloads + 1);
		d2 = simenv_create_domain(&env, "copied");
		assert_true(d2 > 0);
		attach(d2, "null:disk", "0:0:0:0");
		assert_int_equal(rawfront_open_persistent(&g, &env, d2, 0, 10000, true), 0);
		assert_int_equal(xsu_read_intf(g.xs, XBT_NULL, -1, "%s/feature-persistent", g.be_path), 0);
		read_zeros(&g, 64 * 1024);
		wait_mapped(d2, false, -1);
		rawfront_close(&g);
		config_extra = "";
		write_config("0x3b 0x04");
		kill(backend, SIGHUP);
		for (int i = 0; i < 100 && log_count("SIGHUP: configuration reloaded") == reloads + 1; i++)
			usleep(50000);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inquiry),
		cmocka_unit_test(test_reads_direct_and_indirect),
		cmocka_unit_test(test_too_long_indirect),
		cmocka_unit_test(test_report_luns),
		cmocka_unit_test(test_unmapped_lun_and_target),
		cmocka_unit_test(test_policy_denies),
		cmocka_unit_test(test_sighup_reloads_policy),
		cmocka_unit_test(test_malformed_requests),
		cmocka_unit_test(test_abort_and_reset),
		cmocka_unit_test(test_corrupt_ring_is_isolated),
		cmocka_unit_test(test_hotplug),
		cmocka_unit_test(test_noncanonical_dev_name),
		cmocka_unit_test(test_noncanonical_vdev),
		cmocka_unit_test(test_bad_pdev),
		cmocka_unit_test(test_guest_destroyed_mid_io),
		cmocka_unit_test(test_backend_dir_removed_by_toolstack),
		cmocka_unit_test(test_error_cleared_after_reconnect),
		cmocka_unit_test(test_status_file),
		cmocka_unit_test(test_persistent_grants),
		cmocka_unit_test(test_kernel_backend_present),
		cmocka_unit_test(test_backend_restart),
		cmocka_unit_test(test_clean_shutdown),
	};

	simenv_use_sim_libs(argc, argv);
	return cmocka_run_group_tests(tests, setup, teardown);
}
