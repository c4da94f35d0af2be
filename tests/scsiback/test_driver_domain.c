/* scsiback in a driver domain (scsiback(8), "Driver domains"): the daemon
 * runs as a domU of its own ("storage") and serves a guest's vhost under
 * /local/domain/<storage>/backend/vscsi, set up from dom0 by
 * `vscsictl --backend-domain storage`. The LUNs are tgtd's, over iSCSI.
 * Also feature-host: REPORT LUNS reaches the device, whose answer (the
 * target's LUNs as iscsi-ls sees them) differs from the backend's own. */
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
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "daemon.h"
#include "rawfront.h"
#include "simenv.h"
#include "tgtlab.h"

static struct simenv env;
static struct tgtlab lab;
static int drv, dom1;
static pid_t backend;
static struct xs_handle *xs0;
static char logfile[512], statedir[512], out[8192];

/* vscsictl ARGS... NULL, as dom0's toolstack; output in out. */
__attribute__((sentinel))
static int vscsictl(const char *a0, ...)
{
	char *argv[24];
	int n = 0;
	va_list ap;

	argv[n++] = (char *)simenv_prog("tools/vscsictl/vscsictl");
	argv[n++] = (char *)a0;
	va_start(ap, a0);
	while (n < 23 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return simenv_runv(&env, 0, out, sizeof(out), NULL, argv);
}

static char *xs_get(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xs_get(const char *fmt, ...)
{
	char path[512];
	unsigned len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return xs_read(xs0, XBT_NULL, path, &len);
}

static void check_good(const vscsiif_response_t *rsp)
{
	if (rsp->rslt != 0)
		fail_msg("rslt 0x%x, sense_len %u, key %x asc %02x ascq %02x", rsp->rslt, rsp->sense_len,
			 rsp->sense_buffer[2] & 0xf, rsp->sense_buffer[12], rsp->sense_buffer[13]);
}

/* Commands until the unit attentions of the login are consumed. */
static void exec_past_ua(struct rawfront *f, uint16_t tgt, uint16_t lun, const uint8_t *cdb,
			 uint8_t cdb_len, uint8_t dir, uint32_t len, vscsiif_response_t *rsp)
{
	for (int i = 0; i < 5; i++) {
		assert_int_equal(rawfront_exec(f, tgt, lun, cdb, cdb_len, dir, len, rsp), 0);
		if (rsp->rslt != 2 || (rsp->sense_buffer[2] & 0xf) != 6)
			return;
	}
}

/* The LUNs of the target named in url, as libiscsi's iscsi-ls (a peer,
 * not our code) reports them, into luns; the count back. iscsi-ls walks
 * every target of the portal, the lab's CHAP one too: it gets the lab's
 * credentials (tgtd.env), which the targets without CHAP let pass. */
static int peer_luns(const char *url, unsigned *luns, int max)
{
	char iqn[256], line[512], cmd[900];
	const char *slash = strchr(url + strlen("iscsi://"), '/');
	int n = 0, in_target = 0;
	FILE *ls;

	assert_non_null(slash);
	snprintf(iqn, sizeof(iqn), "%s", slash + 1);
	*strrchr(iqn, '/') = 0;
	snprintf(cmd, sizeof(cmd),
		 ". '%s/tgtd.env' && iscsi-ls -s \"iscsi://$CHAP_USER%%$CHAP_PASSWORD@127.0.0.1:$TGTD_PORT\" 2>&1",
		 lab.rundir);
	ls = popen(cmd, "r");
	assert_non_null(ls);
	/* "Target:IQN Portal:..." then "Lun:N    Type:..." lines */
	while (fgets(line, sizeof(line), ls)) {
		unsigned l;

		if (!strncmp(line, "Target:", 7))
			in_target = !strncmp(line + 7, iqn, strlen(iqn)) && line[7 + strlen(iqn)] == ' ';
		else if (in_target && sscanf(line, "Lun:%u", &l) == 1 && n < max)
			luns[n++] = l;
	}
	pclose(ls);
	return n;
}

/* The vhost lives in the driver domain's tree, and its daemon serves it:
 * identity and data through the ring. */
static void test_served_from_driver_domain(void **state)
{
	static const uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 };
	static const uint8_t cap[10] = { 0x25 };
	uint8_t wr[10] = { 0x2a, 0, 0, 0, 0x20, 0, 0, 0, 8, 0 };
	uint8_t rd[10] = { 0x28, 0, 0, 0, 0x20, 0, 0, 0, 8, 0 };
	uint8_t want[4096];
	struct rawfront f;
	vscsiif_response_t rsp;
	char *v;

	(void)state;
	assert_int_equal(vscsictl("--backend-domain", "storage", "attach", "guest1", lab.disk_url,
				  "0:0:0:0", NULL), 0);
	v = xs_get("/local/domain/%d/device/vscsi/0/backend", dom1);
	assert_non_null(v);
	{
		char want_be[128];

		snprintf(want_be, sizeof(want_be), "/local/domain/%d/backend/vscsi/%d/0", drv, dom1);
		assert_string_equal(v, want_be);
	}
	free(v);
	v = xs_get("/local/domain/%d/backend/vscsi/%d/0/state", drv, dom1);
	assert_non_null(v);
	assert_string_equal(v, "2");    /* InitWait: the daemon in storage took it up */
	free(v);
	v = xs_get("/local/domain/0/backend/vscsi/%d", dom1);
	assert_null(v);                  /* nothing in dom0's own backend tree */

	assert_int_equal(rawfront_open(&f, &env, dom1, 0, 15000), 0);
	assert_int_equal(f.be_domid, drv);
	exec_past_ua(&f, 0, 0, inq, 6, 2, 96, &rsp);
	check_good(&rsp);
	assert_int_equal(f.pool[0] & 0x1f, 0);                       /* disk */
	exec_past_ua(&f, 0, 0, cap, 10, 2, 8, &rsp);
	check_good(&rsp);
	assert_int_equal(sg_get_unaligned_be32(f.pool), 64u * 1024 * 1024 / 512 - 1);   /* tgtd-lab.sh: 64 MiB */
	for (int i = 0; i < 4096; i++)
		want[i] = (uint8_t)(i * 7 + 3);
	memcpy(f.pool, want, sizeof(want));
	assert_int_equal(rawfront_exec(&f, 0, 0, wr, 10, 1, 4096, &rsp), 0);
	check_good(&rsp);
	memset(f.pool, 0, sizeof(want));
	assert_int_equal(rawfront_exec(&f, 0, 0, rd, 10, 2, 4096, &rsp), 0);
	check_good(&rsp);
	assert_memory_equal(f.pool, want, sizeof(want));

	/* vscsictl shows the LUN with its backend domain. */
	assert_int_equal(vscsictl("list", "guest1", NULL), 0);
	if (!strstr(out, lab.disk_url) || !strstr(out, "0:0:0:0"))
		fail_msg("vscsictl list:\n%s", out);

	/* Detach from dom0 while the guest is connected: the guest is asked
	 * to close, the daemon in storage lets the vhost go. */
	{
		pid_t child = fork();
		int status;

		if (child == 0)
			_exit(vscsictl("--backend-domain", "storage", "detach", "guest1", "0:0:0:0", NULL));
		rawfront_service(&f, 15000);
		rawfront_close(&f);
		assert_int_equal(waitpid(child, &status, 0), child);
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	v = xs_get("/local/domain/%d/backend/vscsi/%d/0", drv, dom1);
	assert_null(v);
	assert_true(daemon_alive(backend));
}

/* feature-host: REPORT LUNS goes to the device, which lists the target's
 * LUNs (iscsi-ls's view); without it the backend answers with the vhost's
 * own LUNs. The VTL target (tgtd-lab.sh) has a controller at LUN 0, two
 * drives and a changer. */
static void test_feature_host_report_luns(void **state)
{
	static const uint8_t rl[12] = { 0xa0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0 };
	unsigned want[16], got[16];
	struct rawfront f;
	vscsiif_response_t rsp;
	int nwant, ngot;

	(void)state;
	nwant = peer_luns(lab.changer_url, want, 16);
	if (nwant < 2)
		fail_msg("iscsi-ls lists %d LUNs for %s", nwant, lab.changer_url);
	assert_int_equal(vscsictl("--backend-domain", "storage", "attach", "guest1", lab.changer_url,
				  "1:0:2:1", "feature-host", NULL), 0);
	assert_int_equal(rawfront_open(&f, &env, dom1, 1, 15000), 0);
	exec_past_ua(&f, 2, 1, rl, 12, 2, 4096, &rsp);
	check_good(&rsp);
	ngot = (int)(sg_get_unaligned_be32(f.pool) / 8);
	assert_true(ngot <= 16);
	for (int i = 0; i < ngot; i++)
		got[i] = sg_get_unaligned_be16(&f.pool[8 + 8 * i]);
	if (ngot != nwant)
		fail_msg("REPORT LUNS lists %d LUNs, iscsi-ls %d", ngot, nwant);
	for (int i = 0; i < ngot; i++) {
		int found = 0;

		for (int j = 0; j < nwant; j++)
			found |= (got[i] & 0x3fff) == want[j];
		if (!found)
			fail_msg("REPORT LUNS lists LUN %u, which iscsi-ls does not", got[i]);
	}
	rawfront_close(&f);
	assert_int_equal(vscsictl("--backend-domain", "storage", "detach", "guest1", "1:0:2:1", NULL), 0);
}

static int setup(void **state)
{
	char *argv[] = { (char *)simenv_prog("scsiback/scsiback"), "--state-dir", statedir,
			 "--log-level", "debug", NULL };

	(void)state;
	if (simenv_start(&env) != 0)
		return -1;
	if (tgtlab_start_in(&lab, env.rundir) != 0)
		return -1;
	drv = simenv_create_domain(&env, "storage");
	dom1 = simenv_create_domain(&env, "guest1");
	snprintf(logfile, sizeof(logfile), "%s/scsiback.log", env.rundir);
	snprintf(statedir, sizeof(statedir), "%s/scsiback-state", env.rundir);
	backend = daemon_start(&env, drv, logfile, argv);
	xs0 = simenv_xs_open(&env, 0);
	return backend > 0 && xs0 ? 0 : -1;
}

static int teardown(void **state)
{
	int status;

	(void)state;
	/* A clean stop, as in dom0: exit 0, nothing in the log worse than
	 * expected. */
	status = daemon_stop(backend, SIGTERM, 10000);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || daemon_log_clean(logfile) != 0)
		fprintf(stderr, "teardown: scsiback in the driver domain did not stop cleanly (status "
				"0x%x; see %s)\n", status, logfile);
	tgtlab_stop(&lab);
	simenv_stop(&env);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_served_from_driver_domain),
		cmocka_unit_test(test_feature_host_report_luns),
	};

	simenv_use_sim_libs(argc, argv);
	return cmocka_run_group_tests(tests, setup, teardown);
}
