/* Shared LUNs for guest clusters (docs/user-guide.md "Shared LUNs and
 * clusters"): two simulated guests reach one iSCSI LUN through scsiback,
 * each as its own initiator port (common/iport.h), and use SCSI-3
 * persistent reservations on it with unmodified sg3_utils through the
 * shim. Every step's outcome is compared with the same step sent straight
 * to a twin LUN of the same target over two libiscsi sessions, and the
 * reservation state with what the target itself reports.
 *
 * Two targets: tgtd (tests/support/tgtd-lab.sh) and istgt
 * (tests/support/istgt-lab.sh). tgtd keeps a registration only as long as
 * the session that made it, so what must outlive a re-login (a backend
 * restart, save/restore, migration) is tested against istgt, which keeps
 * it per initiator port as SPC says. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <scsi/sg_lib.h>
#include <xenstore.h>

#include "daemon.h"
#include "simenv.h"
#include "tgtlab.h"

static struct simenv env;
static struct tgtlab lab;
static pid_t backend = -1, service = -1;
static struct xs_handle *xs0;
static char sblog[512], lclog[512], cfgdir[512], recdir[512], sbstate[512], initsh[512];
static char zeros[512], istgt_dir[512], pr_url[512], pr2_url[512];

#define OUT_MAX 65536
static char out[OUT_MAX];

/* ---- programs and domains ---- */

__attribute__((sentinel))
static int run_prog(const char *prog, ...)
{
	char *argv[32];
	int n = 0;
	va_list ap;

	argv[n++] = (char *)simenv_prog(prog);
	va_start(ap, prog);
	while (n < 31 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return simenv_runv(&env, SIMENV_HOST, out, sizeof(out), NULL, argv);
}

static int domid_of(int rc, const char *what)
{
	long d = strtol(out, NULL, 10);

	if (rc != 0 || d <= 0)
		fail_msg("%s: exit %d: %s", what, rc, out);
	return (int)d;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A guest whose config gives it url at 0:0:0:0, shared, plus opts. */
static int guest_create(const char *name, const char *url, const char *opts)
{
	char path[600], text[1024];

	snprintf(path, sizeof(path), "%s/%s.cfg", cfgdir, name);
	snprintf(text, sizeof(text), "name = \"%s\"\nmemory = 64\nvscsi = [ \"%s,0:0:0:0,shared%s%s\" ]\n",
		 name, url, opts ? "," : "", opts ? opts : "");
	write_file(path, text);
	return domid_of(run_prog("tools/xensim/xensim", "create", path, "--", "/bin/sh", initsh, NULL),
			"xensim create");
}

static void guest_destroy(const char *name)
{
	assert_int_equal(run_prog("tools/xensim/xensim", "destroy-domain", name, NULL), 0);
}

static const char *uuid_of(int domid)
{
	static char uuid[64];
	char path[64], *vm;
	unsigned len;

	snprintf(path, sizeof(path), "/local/domain/%d/vm", domid);
	vm = xs_read(xs0, XBT_NULL, path, &len);
	assert_non_null(vm);
	snprintf(uuid, sizeof(uuid), "%s", strrchr(vm, '/') + 1);
	free(vm);
	return uuid;
}

/* The LUN at 0:0:0:0 of domid is served (state 4) within 10 s. */
static void wait_served(int domid)
{
	char path[128], *v = NULL;
	unsigned len;

	snprintf(path, sizeof(path), "/local/domain/0/backend/vscsi/%d/0/vscsi-devs/dev-0/state", domid);
	for (int t = 0; t < 200; t++) {
		v = xs_read(xs0, XBT_NULL, path, &len);
		if (v && (!strcmp(v, "3") || !strcmp(v, "4"))) {
			free(v);
			return;
		}
		free(v);
		usleep(50000);
	}
	fail_msg("domain %d: its LUN was not attached (%s); lifecycle log %s", domid, path, lclog);
}

/* An sg3_utils command inside domid, on the LUN at 0:0:0:0 through the
 * shim as /dev/sg100: in place of an argument "DEV", else appended last.
 * Returns its exit status. */
__attribute__((sentinel))
static int guest_sg(int domid, const char *tool, ...)
{
	char *argv[40];
	bool dev = false;
	int n = 0;
	va_list ap;

	argv[n++] = (char *)simenv_prog("scsifront/vscsi");
	argv[n++] = "run";
	argv[n++] = "--map";
	argv[n++] = "/dev/sg100=0:0:0:0";
	argv[n++] = "--";
	argv[n++] = (char *)tool;
	va_start(ap, tool);
	while (n < 38 && (argv[n] = va_arg(ap, char *))) {
		if (!strcmp(argv[n], "DEV")) {
			argv[n] = "/dev/sg100";
			dev = true;
		}
		n++;
	}
	va_end(ap);
	if (!dev)
		argv[n++] = "/dev/sg100";
	argv[n] = NULL;
	return simenv_runv(&env, domid, out, sizeof(out), NULL, argv);
}

/* vscsictl as domain 0. */
__attribute__((sentinel))
static int vscsictl(const char *a0, ...)
{
	char *argv[24];
	int n = 0;
	va_list ap;

	argv[n++] = (char *)simenv_prog("tools/vscsictl/vscsictl");
	argv[n++] = "--state-dir";
	argv[n++] = recdir;
	argv[n++] = "--scsiback-state";
	argv[n++] = sbstate;
	argv[n++] = (char *)a0;
	va_start(ap, a0);
	while (n < 23 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return simenv_runv(&env, 0, out, sizeof(out), NULL, argv);
}

static void restart_backend(int sig)
{
	char *argv[] = { (char *)simenv_prog("scsiback/scsiback"), "--state-dir", sbstate, NULL };

	daemon_stop(backend, sig, 10000);
	backend = daemon_start(&env, 0, sblog, argv);
	assert_true(backend > 0);
}

/* WRITE(10) or READ(10) of block 0 with sg_raw, inside domid. */
static int guest_rw(int domid, bool write)
{
	static char in[600];

	snprintf(in, sizeof(in), "%s/zeros", env.rundir);
	if (write)
		return guest_sg(domid, "sg_raw", "-s", "512", "-i", in, "DEV", "2a", "0", "0", "0", "0",
				"0", "0", "0", "1", "0", NULL);
	return guest_sg(domid, "sg_raw", "-r", "512", "DEV", "28", "0", "0", "0", "0", "0", "0", "0",
			"1", "0", NULL);
}

/* ---- the same commands, straight to the target ---- */

struct direct {
	struct iscsi_context *ctx;
	int lun;
};

static void direct_open(struct direct *d, const char *url, const char *initiator)
{
	struct iscsi_url *u;

	d->ctx = iscsi_create_context(initiator);
	assert_non_null(d->ctx);
	u = iscsi_parse_full_url(d->ctx, url);
	if (!u)
		fail_msg("%s: %s", url, iscsi_get_error(d->ctx));
	d->lun = u->lun;
	iscsi_set_targetname(d->ctx, u->target);
	iscsi_set_session_type(d->ctx, ISCSI_SESSION_NORMAL);
	if (iscsi_full_connect_sync(d->ctx, u->portal, u->lun))
		fail_msg("direct login to %s as %s: %s", url, initiator, iscsi_get_error(d->ctx));
	iscsi_destroy_url(u);
}

static void direct_close(struct direct *d)
{
	if (d->ctx) {
		iscsi_logout_sync(d->ctx);
		iscsi_destroy_context(d->ctx);
	}
	d->ctx = NULL;
}

/* What sg3_utils makes of a command's end (its exit status): 0, 24 for
 * RESERVATION CONFLICT, the sense category for CHECK CONDITION. */
static int category(const struct scsi_task *t)
{
	if (!t)
		return -1;
	if (t->status == SCSI_STATUS_GOOD)
		return 0;
	if (t->status == SCSI_STATUS_RESERVATION_CONFLICT)
		return SG_LIB_CAT_RES_CONFLICT;
	if (t->status == SCSI_STATUS_CHECK_CONDITION)
		return sg_err_category_sense(t->datain.data + 2, t->datain.size - 2);
	return 1000 + t->status;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* PERSISTENT RESERVE OUT: service action sa, type, keys rk and sark. */
static int direct_prout(struct direct *d, int sa, int type, uint64_t rk, uint64_t sark)
{
	uint8_t param[24] = { 0 };
	struct iscsi_data data = { sizeof(param), param };
	struct scsi_task *t = calloc(1, sizeof(*t));
	int cat;

	assert_non_null(t);
	t->cdb[0] = 0x5f;
	t->cdb[1] = (uint8_t)sa;
	t->cdb[2] = (uint8_t)type;
	t->cdb[8] = sizeof(param);
	t->cdb_size = 10;
	t->xfer_dir = SCSI_XFER_WRITE;
	t->expxferlen = sizeof(param);
	put_be64(param, rk);
	put_be64(param + 8, sark);
	t = iscsi_scsi_command_sync(d->ctx, d->lun, t, &data);
	cat = category(t);
	scsi_free_scsi_task(t);
	return cat;
}

/* WRITE(10) of one zero block at lba, or READ(10) of it. */
static int direct_rw(struct direct *d, bool write, uint32_t lba)
{
	struct scsi_task *t;
	int cat;

	if (write)
		t = iscsi_write10_sync(d->ctx, d->lun, lba, (unsigned char *)zeros, 512, 512, 0, 0, 0,
				       0, 0);
	else
		t = iscsi_read10_sync(d->ctx, d->lun, lba, 512, 512, 0, 0, 0, 0, 0);
	cat = category(t);
	scsi_free_scsi_task(t);
	return cat;
}

/* What the target holds: the generation and keys (READ KEYS), and the
 * reservation's key and type (READ RESERVATION; type -1: none). */
struct pr_state {
	uint32_t generation;
	unsigned nkeys;
	uint64_t keys[8];
	uint64_t holder;
	int type;
};

static void direct_pr_state(struct direct *d, struct pr_state *s)
{
	for (int sa = 0; sa < 2; sa++) {
		struct scsi_task *t = iscsi_persistent_reserve_in_sync(d->ctx, d->lun, sa, 256);
		const uint8_t *p;
		uint32_t len;

		if (!t || t->status != SCSI_STATUS_GOOD)
			fail_msg("PERSISTENT RESERVE IN (%d): %s", sa, iscsi_get_error(d->ctx));
		p = t->datain.data;
		len = (uint32_t)p[4] << 24 | p[5] << 16 | p[6] << 8 | p[7];
		s->generation = (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
		if (sa == 0) {
			s->nkeys = 0;
			for (uint32_t o = 0; o + 8 <= len && s->nkeys < 8; o += 8)
				s->keys[s->nkeys++] = get_be64(p + 8 + o);
		} else if (len >= 16) {
			s->holder = get_be64(p + 8);
			s->type = p[21] & 0xf;
		} else {
			s->holder = 0;
			s->type = -1;
		}
		scsi_free_scsi_task(t);
	}
}

/* Drops every registration and reservation of the LUN (PR OUT CLEAR by a
 * registrant of its own). */
static void pr_clear(const char *url)
{
	struct direct d;

	direct_open(&d, url, "iqn.2026-11.vscsi.test:cleaner");
	assert_int_equal(direct_prout(&d, 0, 0, 0, 0xc1ea), 0);
	assert_int_equal(direct_prout(&d, 3, 0, 0xc1ea, 0), 0);
	direct_close(&d);
}

/* ---- one reservation sequence, through the stack and straight ---- */

enum op { REGISTER, RESERVE, RELEASE, PREEMPT, WRITE, READ };

struct step {
	int who;                 /* 0: guest/session A, 1: B */
	enum op op;
	uint64_t rk, sark;
	int want;                /* the exit status sg3_utils must give */
};
#define WANT_TARGETS (-1)        /* what the target answers straight */

/* Type 1, Write Exclusive: everybody reads, only the holder writes. B
 * takes the reservation over by PREEMPT (tgtd; istgt 0.4 does not make
 * the preemptor the holder) or after A's RELEASE. */
#define STEPS_COMMON \
	{ 0, REGISTER, 0, 0xa, 0 }, \
	{ 0, RESERVE, 0xa, 0, 0 }, \
	{ 0, WRITE, 0, 0, 0 }, \
	{ 1, WRITE, 0, 0, SG_LIB_CAT_RES_CONFLICT }, \
	{ 1, READ, 0, 0, 0 }, \
	{ 1, REGISTER, 0, 0xb, 0 }, \
	{ 1, WRITE, 0, 0, SG_LIB_CAT_RES_CONFLICT },    /* registered, not the holder */ \
	{ 1, RESERVE, 0xb, 0, SG_LIB_CAT_RES_CONFLICT } /* A holds it */

static const struct step by_preempt[] = {
	STEPS_COMMON,
	{ 1, PREEMPT, 0xb, 0xa, 0 },                /* A's key gone, B holds it */
	/* A learns it where the target says so (tgtd: UNIT ATTENTION,
	 * REGISTRATIONS PREEMPTED, once) */
	{ 0, WRITE, 0, 0, WANT_TARGETS },
	{ 0, WRITE, 0, 0, SG_LIB_CAT_RES_CONFLICT },
	{ 0, RELEASE, 0xa, 0, SG_LIB_CAT_RES_CONFLICT }, /* A is no registrant now */
	{ 1, WRITE, 0, 0, 0 },
	{ 0, READ, 0, 0, 0 },
	{ -1, 0, 0, 0, 0 },
};

static const struct step by_release[] = {
	STEPS_COMMON,
	{ 0, RELEASE, 0xa, 0, 0 },
	{ 1, RESERVE, 0xb, 0, 0 },
	/* tgtd: UNIT ATTENTION, RESERVATIONS RELEASED, once; istgt none */
	{ 0, WRITE, 0, 0, WANT_TARGETS },
	{ 0, WRITE, 0, 0, SG_LIB_CAT_RES_CONFLICT },   /* registered, not the holder */
	{ 1, WRITE, 0, 0, 0 },
	{ 0, READ, 0, 0, 0 },
	{ -1, 0, 0, 0, 0 },
};

static const char *op_name[] = { "register", "reserve", "release", "preempt", "write", "read" };

static int stack_step(int domid, const struct step *s)
{
	char rk[32], sark[32];

	snprintf(rk, sizeof(rk), "--param-rk=0x%llx", (unsigned long long)s->rk);
	snprintf(sark, sizeof(sark), "--param-sark=0x%llx", (unsigned long long)s->sark);
	switch (s->op) {
	case REGISTER:
		return guest_sg(domid, "sg_persist", "--out", "--no-inquiry", "--register", sark, NULL);
	case RESERVE:
		return guest_sg(domid, "sg_persist", "--out", "--no-inquiry", "--reserve", rk,
				"--prout-type=1", NULL);
	case RELEASE:
		return guest_sg(domid, "sg_persist", "--out", "--no-inquiry", "--release", rk,
				"--prout-type=1", NULL);
	case PREEMPT:
		return guest_sg(domid, "sg_persist", "--out", "--no-inquiry", "--preempt", rk, sark,
				"--prout-type=1", NULL);
	case WRITE:
		return guest_rw(domid, true);
	case READ:
		return guest_rw(domid, false);
	}
	return -1;
}

static int direct_step(struct direct *d, const struct step *s)
{
	switch (s->op) {
	case REGISTER:
		return direct_prout(d, 0, 0, s->rk, s->sark);
	case RESERVE:
		return direct_prout(d, 1, 1, s->rk, 0);
	case RELEASE:
		return direct_prout(d, 2, 1, s->rk, 0);
	case PREEMPT:
		return direct_prout(d, 4, 1, s->rk, s->sark);
	case WRITE:
		return direct_rw(d, true, 0);
	case READ:
		return direct_rw(d, false, 0);
	}
	return -1;
}

/* What sg_persist shows through the shim equals what the target says. */
static void assert_sg_persist_shows(int domid, const struct pr_state *want)
{
	char line[64];

	assert_int_equal(guest_sg(domid, "sg_persist", "--in", "--no-inquiry", "--read-keys", NULL), 0);
	snprintf(line, sizeof(line), "PR generation=0x%x", want->generation);
	if (!strstr(out, line))
		fail_msg("sg_persist --read-keys does not show \"%s\":\n%s", line, out);
	for (unsigned i = 0; i < want->nkeys; i++) {
		snprintf(line, sizeof(line), "    0x%llx\n", (unsigned long long)want->keys[i]);
		if (!strstr(out, line))
			fail_msg("sg_persist --read-keys does not list key 0x%llx:\n%s",
				 (unsigned long long)want->keys[i], out);
	}
	assert_int_equal(guest_sg(domid, "sg_persist", "--in", "--no-inquiry", "--read-reservation",
				  NULL), 0);
	if (want->type < 0) {
		if (!strstr(out, "there is NO reservation held"))
			fail_msg("sg_persist --read-reservation shows a reservation:\n%s", out);
		return;
	}
	snprintf(line, sizeof(line), "Key=0x%llx", (unsigned long long)want->holder);
	if (!strstr(out, line) || (want->type == 1 && !strstr(out, "type: Write Exclusive\n")))
		fail_msg("sg_persist --read-reservation does not show %s, type %d:\n%s", line,
			 want->type, out);
}

/* steps (ending with who -1) through scsiback on url and straight on
 * url2; at the end B (key 0xb) holds the reservation, nkeys registered. */
static void run_sequence(const char *url, const char *url2, const char *na, const char *nb,
			 const struct step *steps, unsigned nkeys)
{
	struct direct d[2];
	struct pr_state through, straight, stack_lun;
	int dom[2];

	pr_clear(url);
	pr_clear(url2);
	dom[0] = guest_create(na, url, NULL);
	dom[1] = guest_create(nb, url, NULL);
	wait_served(dom[0]);
	wait_served(dom[1]);
	/* A unit attention the target holds for a guest's nexus (its login,
	 * a reset) goes to the first command that is not INQUIRY or REPORT
	 * LUNS, unchanged; a guest's kernel takes it with a TEST UNIT READY
	 * and retries, sg_persist would report it as the step's result. The
	 * straight sessions' come to libiscsi's login, which does the same. */
	for (int g = 0; g < 2; g++)
		for (int i = 0; i < 5 && guest_sg(dom[g], "sg_turs", NULL) != 0; i++)
			;
	direct_open(&d[0], url2, "iqn.2026-11.vscsi.test:direct-a");
	direct_open(&d[1], url2, "iqn.2026-11.vscsi.test:direct-b");
	for (size_t i = 0; steps[i].who >= 0; i++) {
		const struct step *s = &steps[i];
		int got = stack_step(dom[s->who], s), ref = direct_step(&d[s->who], s);

		if (got != ref || (s->want != WANT_TARGETS && got != s->want))
			fail_msg("step %zu, guest %c %s: through scsiback exit %d, straight to the target "
				 "%d, expected %d; output:\n%s", i + 1, 'A' + s->who, op_name[s->op], got,
				 ref, s->want, out);
	}
	/* Both LUNs hold the same state, and sg_persist in either guest
	 * shows what the target holds. */
	direct_pr_state(&d[0], &straight);
	direct_close(&d[0]);
	direct_open(&d[0], url, "iqn.2026-11.vscsi.test:observer");
	direct_pr_state(&d[0], &stack_lun);
	assert_int_equal(stack_lun.generation, straight.generation);
	assert_int_equal(stack_lun.nkeys, nkeys);
	assert_int_equal(straight.nkeys, nkeys);
	assert_true(!memcmp(stack_lun.keys, straight.keys, nkeys * sizeof(straight.keys[0])));
	assert_true(stack_lun.holder == 0xb && stack_lun.type == 1 && straight.type == 1);
	through = stack_lun;
	assert_sg_persist_shows(dom[0], &through);
	assert_sg_persist_shows(dom[1], &through);
	direct_close(&d[0]);
	direct_close(&d[1]);
	guest_destroy(na);
	guest_destroy(nb);
	pr_clear(url);
	pr_clear(url2);
}

static void test_reservations_between_guests_tgtd(void **state)
{
	(void)state;
	run_sequence(lab.shared_url, lab.shared2_url, "tgta", "tgtb", by_preempt, 1);
	run_sequence(lab.shared_url, lab.shared2_url, "tgtc", "tgtd", by_release, 2);
}

static void test_reservations_between_guests_istgt(void **state)
{
	(void)state;
	run_sequence(pr_url, pr2_url, "ista", "istb", by_release, 2);
}

/* ---- identity ---- */

/* vscsictl list DOMAIN shows text within 10 s (scsiback's status file is
 * rewritten about once a second). */
static void wait_list_shows(const char *domain, const char *text)
{
	for (int t = 0; t < 100; t++) {
		if (vscsictl("list", domain, NULL) == 0 && strstr(out, text))
			return;
		usleep(100000);
	}
	fail_msg("vscsictl list %s does not show \"%s\":\n%s", domain, text, out);
}

/* tgtd's list of the initiators logged in to the shared target. */
static const char *tgtd_nexuses(void)
{
	static char buf[OUT_MAX];
	char cmd[1024];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "tgtadm -C %d --lld iscsi --op show --mode target",
		 lab.control_port);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = 0;
	pclose(p);
	return buf;
}

static void test_each_guest_its_own_port(void **state)
{
	char name[2][128], port[300], *first;
	int a, b, c;

	(void)state;
	a = guest_create("ida", lab.shared_url, NULL);
	b = guest_create("idb", lab.shared_url, NULL);
	wait_served(a);
	wait_served(b);
	snprintf(name[0], sizeof(name[0]), "Initiator: iqn.2026-11.org.vscsi:guest.%s ", uuid_of(a));
	snprintf(name[1], sizeof(name[1]), "Initiator: iqn.2026-11.org.vscsi:guest.%s ", uuid_of(b));
	for (int i = 0; i < 2; i++)
		if (!strstr(tgtd_nexuses(), name[i]))
			fail_msg("tgtd has no session of \"%s\":\n%s", name[i], tgtd_nexuses());
	/* vscsictl list names the port; it stays across a backend restart. */
	wait_list_shows("ida", "initiator port: iqn.2026-11.org.vscsi:guest.");
	first = strstr(out, "initiator port: iqn.2026-11.org.vscsi:guest.");
	if (!first || !strstr(first, ",i,0x80"))
		fail_msg("vscsictl list shows no initiator port:\n%s", out);
	snprintf(port, sizeof(port), "%.*s", (int)strcspn(first, "\n"), first);
	restart_backend(SIGKILL);
	wait_list_shows("ida", port);
	/* An entry that names its own port logs in with it. */
	c = guest_create("idc", lab.shared_url, "initiator=iqn.2026-11.org.example:node9,isid=80aabbccddee");
	wait_served(c);
	if (!strstr(tgtd_nexuses(), "Initiator: iqn.2026-11.org.example:node9 "))
		fail_msg("tgtd has no session of iqn.2026-11.org.example:node9:\n%s", tgtd_nexuses());
	wait_list_shows("idc", "initiator port: iqn.2026-11.org.example:node9,i,0x80aabbccddee");
	/* A bad one is refused with the reason. */
	assert_int_equal(vscsictl("attach", "idc", lab.shared2_url, "0:0:0:1", "shared",
				  "isid=12aabbccddee", NULL), 2);
	if (!strstr(out, "must begin with 80"))
		fail_msg("a bad isid= was not refused with its reason:\n%s", out);
	guest_destroy("ida");
	guest_destroy("idb");
	guest_destroy("idc");
}

/* ---- what a guest's reservation outlives ---- */

/* Domain domid (key 0xa) can still release its reservation: its port
 * is the one that made it. */
static void assert_holder_can_release(int domid, const char *after)
{
	struct direct d;
	struct pr_state s;

	direct_open(&d, pr_url, "iqn.2026-11.vscsi.test:observer");
	direct_pr_state(&d, &s);
	if (s.holder != 0xa || s.type != 1)
		fail_msg("after %s the target shows holder 0x%llx type %d, not 0xa", after,
			 (unsigned long long)s.holder, s.type);
	if (guest_sg(domid, "sg_persist", "--out", "--no-inquiry", "--release", "--param-rk=0xa",
		     "--prout-type=1", NULL) != 0)
		fail_msg("after %s the holder cannot release its reservation:\n%s", after, out);
	direct_pr_state(&d, &s);
	assert_int_equal(s.type, -1);
	/* reserve again for the next step */
	assert_int_equal(guest_sg(domid, "sg_persist", "--out", "--no-inquiry", "--reserve",
				  "--param-rk=0xa", "--prout-type=1", NULL), 0);
	direct_close(&d);
}

static int reserve_as_a(void)
{
	int a;

	pr_clear(pr_url);
	a = guest_create("hold", pr_url, NULL);
	wait_served(a);
	assert_int_equal(guest_sg(a, "sg_persist", "--out", "--no-inquiry", "--register",
				  "--param-sark=0xa", NULL), 0);
	assert_int_equal(guest_sg(a, "sg_persist", "--out", "--no-inquiry", "--reserve",
				  "--param-rk=0xa", "--prout-type=1", NULL), 0);
	return a;
}

static void test_reservation_survives_backend_restart(void **state)
{
	int a;

	(void)state;
	a = reserve_as_a();
	restart_backend(SIGTERM);
	wait_served(a);
	assert_holder_can_release(a, "a scsiback restart");
	restart_backend(SIGKILL);  /* a crash */
	wait_served(a);
	assert_holder_can_release(a, "a scsiback crash");
	guest_destroy("hold");
	pr_clear(pr_url);
}

static void test_reservation_survives_save_restore_migrate(void **state)
{
	char save[600], ds[16];
	int a;

	(void)state;
	a = reserve_as_a();
	snprintf(save, sizeof(save), "%s/hold.save", env.rundir);
	snprintf(ds, sizeof(ds), "%d", a);
	assert_int_equal(run_prog("tools/xensim/xensim", "save", ds, save, NULL), 0);
	a = domid_of(run_prog("tools/xensim/xensim", "restore", save, NULL), "restore");
	wait_served(a);
	assert_holder_can_release(a, "save and restore");
	/* A migration: the receiver (same UUID) logs in once the sender is
	 * suspended, taking the port over. */
	snprintf(ds, sizeof(ds), "%d", a);
	a = domid_of(run_prog("tools/xensim/xensim", "migrate", ds, NULL), "migrate");
	wait_served(a);
	assert_holder_can_release(a, "a migration");
	guest_destroy("hold");
	pr_clear(pr_url);
}

/* A reconnect of one guest's session leaves the other's reservation,
 * which the target keeps, alone. */
static void test_other_guests_reconnect_keeps_reservation(void **state)
{
	struct direct d;
	struct pr_state s;
	char cmd[1024], *sid;
	int a, b;

	(void)state;
	pr_clear(lab.shared_url);
	a = guest_create("rca", lab.shared_url, NULL);
	b = guest_create("rcb", lab.shared_url, NULL);
	wait_served(a);
	wait_served(b);
	assert_int_equal(guest_sg(a, "sg_persist", "--out", "--no-inquiry", "--register",
				  "--param-sark=0xa", NULL), 0);
	assert_int_equal(guest_sg(a, "sg_persist", "--out", "--no-inquiry", "--reserve",
				  "--param-rk=0xa", "--prout-type=1", NULL), 0);
	/* tgtd drops B's connection: B's LUN logs in again. */
	{
		char who[160];
		const char *n = tgtd_nexuses(), *p;

		snprintf(who, sizeof(who), "Initiator: iqn.2026-11.org.vscsi:guest.%s ", uuid_of(b));
		p = strstr(n, who);
		assert_non_null(p);
		/* "I_T nexus: SID" precedes its "Initiator:" line */
		sid = NULL;
		for (const char *q = n; (q = strstr(q, "I_T nexus: ")) && q < p; q++)
			sid = (char *)q + 11;
		assert_non_null(sid);
		snprintf(cmd, sizeof(cmd), "tgtadm -C %d --lld iscsi --op delete --mode conn --tid 5 "
			 "--sid %d --cid 0", lab.control_port, atoi(sid));
		assert_int_equal(system(cmd), 0);
	}
	/* B's commands work again (after its reconnect), A's reservation
	 * stands: B cannot write, A can. */
	for (int t = 0; t < 50 && guest_rw(b, false) != 0; t++)
		usleep(200000);
	direct_open(&d, lab.shared_url, "iqn.2026-11.vscsi.test:observer");
	direct_pr_state(&d, &s);
	assert_true(s.holder == 0xa && s.type == 1);
	direct_close(&d);
	assert_int_equal(guest_rw(b, true), SG_LIB_CAT_RES_CONFLICT);
	assert_int_equal(guest_rw(a, true), 0);
	guest_destroy("rca");
	guest_destroy("rcb");
	pr_clear(lab.shared_url);
}

/* ---- a cluster agent nobody here wrote ---- */

/* fence_scsi (Debian's fence-agents) with ARGS inside domid, on the LUN at
 * 0:0:0:0 as the block node /dev/sdz the shim makes (fence_scsi wants a
 * block device), keeping its key store under node_dir (a private mount
 * on /run, where it writes /var/run/cluster/). Its exit status. */
static int guest_fence(int domid, const char *node_dir, const char *args)
{
	char script[1024];
	char *argv[] = { (char *)simenv_prog("scsifront/vscsi"), "run", "--map", "/dev/sdz=0:0:0:0",
			 "--", "unshare", "-m", "sh", "-c", script, NULL };

	snprintf(script, sizeof(script), "mount --bind '%s' /run && exec fence_scsi --devices=/dev/sdz %s",
		 node_dir, args);
	return simenv_runv(&env, domid, out, sizeof(out), NULL, argv);
}

/* Unfencing (on), status and fencing (off) as fence_scsi does them, each
 * node in its own guest. tgtd, the lab target whose reservations follow
 * SPC this far, does not implement PREEMPT AND ABORT, fence_scsi's way to
 * fence: "off" must end as the target answers that command straight
 * (istgt 0.4 answers it by dropping the preempting node's own key). */
static void test_fence_scsi(void **state)
{
	char dir[2][600];
	struct direct d;
	struct pr_state s;
	int a, b;

	(void)state;
	if (access("/usr/sbin/fence_scsi", X_OK))
		fail_msg("fence_scsi is not installed (Debian package fence-agents; tools/deps.sh)");
	pr_clear(lab.shared_url);
	pr_clear(lab.shared2_url);
	a = guest_create("fna", lab.shared_url, NULL);
	b = guest_create("fnb", lab.shared_url, NULL);
	wait_served(a);
	wait_served(b);
	for (int i = 0; i < 2; i++) {
		snprintf(dir[i], sizeof(dir[i]), "%s/fence-node%d", env.rundir, i + 1);
		mkdir(dir[i], 0755);
	}
	/* Both nodes unfence themselves: each registers, the first reserves
	 * Write Exclusive, Registrants Only (type 5). */
	if (guest_fence(a, dir[0], "--action=on --key=a1") != 0)
		fail_msg("fence_scsi on, node 1: %s", out);
	if (guest_fence(b, dir[1], "--action=on --key=b2") != 0)
		fail_msg("fence_scsi on, node 2: %s", out);
	assert_int_equal(guest_fence(a, dir[0], "--action=status --key=a1"), 0);
	assert_int_equal(guest_fence(b, dir[1], "--action=status --key=b2"), 0);
	/* a key nobody registered is "off" (exit 2) */
	assert_int_equal(guest_fence(b, dir[1], "--action=status --key=c3"), 2);
	direct_open(&d, lab.shared_url, "iqn.2026-11.vscsi.test:observer");
	direct_pr_state(&d, &s);
	assert_int_equal(s.nkeys, 2);
	assert_true(s.keys[0] == 0xa1 && s.keys[1] == 0xb2);
	assert_true(s.holder == 0xa1 && s.type == 5);
	assert_int_equal(guest_rw(a, true), 0);
	assert_int_equal(guest_rw(b, true), 0);  /* a registrant: may write */
	direct_close(&d);
	/* Node 2 fences node 1: PREEMPT AND ABORT, which the target refuses
	 * the same way straight. */
	assert_int_equal(guest_fence(b, dir[1], "--action=off --key=a1 --verbose"), 1);
	if (!strstr(out, "sg_persist -n -o -A -T 5 -K b2 -S a1") || !strstr(out, "Preempt and abort"))
		fail_msg("fence_scsi off did not send PREEMPT AND ABORT as expected:\n%s", out);
	direct_open(&d, lab.shared2_url, "iqn.2026-11.vscsi.test:direct-b");
	assert_int_equal(direct_prout(&d, 0, 0, 0, 0xb2), 0);
	assert_int_equal(direct_prout(&d, 5, 5, 0xb2, 0xa1), SG_LIB_CAT_ILLEGAL_REQ);
	direct_close(&d);
	assert_int_equal(guest_fence(a, dir[0], "--action=status --key=a1"), 0);
	guest_destroy("fna");
	guest_destroy("fnb");
	pr_clear(lab.shared_url);
	pr_clear(lab.shared2_url);
}

/* ---- setup ---- */

static int istgt(const char *cmd)
{
	char line[2048];
	const char *src = getenv("VSCSI_SRC");

	snprintf(line, sizeof(line), "bash '%s/tests/support/istgt-lab.sh' %s '%s' >>'%s/lab.out' 2>&1",
		 src && *src ? src : ".", cmd, istgt_dir, istgt_dir);
	return system(line) == 0 ? 0 : -1;
}

static int istgt_env(void)
{
	char path[600], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/istgt.env", istgt_dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "PR_URL=", 7))
			snprintf(pr_url, sizeof(pr_url), "%s", line + 7);
		if (!strncmp(line, "PR2_URL=", 8))
			snprintf(pr2_url, sizeof(pr2_url), "%s", line + 8);
	}
	fclose(f);
	return pr_url[0] && pr2_url[0] ? 0 : -1;
}

static int setup(void **state)
{
	char *argv[16], path[600];
	int n = 0;

	(void)state;
	if (simenv_start(&env) != 0 || tgtlab_start_in(&lab, env.rundir) != 0)
		return -1;
	snprintf(istgt_dir, sizeof(istgt_dir), "%s/istgt", env.rundir);
	if (mkdir(istgt_dir, 0755) || istgt("start") || istgt_env()) {
		fprintf(stderr, "setup: istgt did not start (see %s/lab.out)\n", istgt_dir);
		return -1;
	}
	snprintf(cfgdir, sizeof(cfgdir), "%s/xen", env.rundir);
	snprintf(recdir, sizeof(recdir), "%s/records", env.rundir);
	snprintf(sbstate, sizeof(sbstate), "%s/scsiback-state", env.rundir);
	snprintf(sblog, sizeof(sblog), "%s/scsiback.log", env.rundir);
	snprintf(lclog, sizeof(lclog), "%s/lifecycle.log", env.rundir);
	snprintf(initsh, sizeof(initsh), "%s/init.sh", env.rundir);
	if (mkdir(cfgdir, 0755) || mkdir(recdir, 0755) || mkdir(sbstate, 0755))
		return -1;
	write_file(initsh, "echo init: done\n");
	snprintf(path, sizeof(path), "%s/zeros", env.rundir);
	{
		FILE *f = fopen(path, "w");

		if (!f || fwrite(zeros, 1, sizeof(zeros), f) != sizeof(zeros))
			return -1;
		fclose(f);
	}
	argv[n++] = (char *)simenv_prog("scsiback/scsiback");
	argv[n++] = "--state-dir";
	argv[n++] = sbstate;
	argv[n] = NULL;
	backend = daemon_start(&env, 0, sblog, argv);
	n = 0;
	argv[n++] = (char *)simenv_prog("tools/vscsi-lifecycle/vscsi-lifecycle");
	argv[n++] = "-c";
	argv[n++] = cfgdir;
	argv[n++] = "-s";
	argv[n++] = recdir;
	argv[n] = NULL;
	service = daemon_start(&env, 0, lclog, argv);
	xs0 = simenv_xs_open(&env, 0);
	usleep(300000);
	return backend > 0 && service > 0 && xs0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	if (service > 0)
		daemon_finish(service, lclog);
	daemon_finish(backend, sblog);
	if (xs0)
		xs_close(xs0);
	istgt("stop");
	tgtlab_stop(&lab);
	simenv_stop(&env);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reservations_between_guests_tgtd),
		cmocka_unit_test(test_reservations_between_guests_istgt),
		cmocka_unit_test(test_each_guest_its_own_port),
		cmocka_unit_test(test_reservation_survives_backend_restart),
		cmocka_unit_test(test_reservation_survives_save_restore_migrate),
		cmocka_unit_test(test_other_guests_reconnect_keeps_reservation),
		cmocka_unit_test(test_fence_scsi),
	};

	simenv_use_sim_libs(argc, argv);
	if (getenv("VSCSI_TEST_ONLY"))
		cmocka_set_test_filter(getenv("VSCSI_TEST_ONLY"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
