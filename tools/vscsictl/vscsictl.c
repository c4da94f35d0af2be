/* vscsictl: attach, detach and list Xen PV SCSI devices, the way xl
 * would if it had PV SCSI support (scsi-attach / scsi-detach /
 * scsi-list), plus "apply" for the vscsi = [...] list of an xl domain
 * configuration. It only writes xenstore: the backend (scsiback, or the
 * Linux kernel's xen-scsiback) and the guest's frontend do the rest. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include <xenstore.h>

#include "decimal.h"
#include "domains.h"
#include "health.h"
#include "inventory.h"
#include "pdevspec.h"
#include "domrecord.h"
#include "toolstack.h"
#include "vplan.h"
#include "xlcfg.h"

/* Exit codes (documented in --help and vscsictl(8)). */
enum {
	EX_OK = 0,
	EX_FAIL = 1,         /* the backend refused, xenstore failed, busy */
	EX_USAGE = 2,        /* bad command line */
	EX_INVALID = 3,      /* bad p-dev / v-dev / config file, v-dev taken */
	EX_NODOMAIN = 4,     /* no such domain (guest or backend) */
	EX_TIMEOUT = 5,      /* a backend or guest did not answer in time */
	EX_NOTATTACHED = 6,  /* detach: no such v-dev */
};

#define DEFAULT_TIMEOUT_S 30

struct ctl {
	struct xs_handle *xs;
	struct ts_opts ts;
	const char *be_spec;
	const char *configfs, *sysfs, *state_dir;
	const char *scsiback_state;   /* scsiback's state directory (its status file) */
	bool kernel_backend, json, quiet, all;
	unsigned self;
};

static const char *prog = "vscsictl";

__attribute__((format(printf, 1, 2)))
static void errorf(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vscsictl [OPTION]... COMMAND [ARG]...\n"
		"Attaches host SCSI devices to Xen guests through PV SCSI (vscsiif) by writing\n"
		"the xenstore nodes the backend and the guest's frontend expect.\n"
		"\n"
		"Commands:\n"
		"  attach DOMAIN PDEV VDEV [feature-host] [shared] [initiator=IQN] [isid=HEX]\n"
		"                        attach PDEV as VDEV (HOST:CHANNEL:TARGET:LUN; HOST\n"
		"                        selects the guest's virtual HBA, the vhost); a device\n"
		"                        goes to one guest unless every entry says shared\n"
		"  detach DOMAIN VDEV    detach a LUN (the vhost goes with its last LUN)\n"
		"  detach --all DOMAIN   detach every LUN of the domain\n"
		"  list [DOMAIN]...      list the LUNs of the domains (default: all)\n"
		"  apply DOMAIN FILE     attach every entry of vscsi = [ \"pdev,vdev[,option]...\",\n"
		"                        ... ] in the xl domain configuration FILE (all or nothing)\n"
		"\n"
		"DOMAIN is a domain id or name. PDEV forms: H:C:T:L, /dev/sgN, /dev/sdX, /dev/stN,\n"
		"/dev/schN, /dev/disk/by-*/..., iscsi://host[:port]/target/lun, null:disk for\n"
		"scsiback; naa.<16 hex digits>:<lun> for the Linux kernel backend.\n"
		"\n"
		"Options:\n"
		"  -b, --backend-domain DOM  domain running the backend (default 0)\n"
		"  -t, --timeout SECONDS     how long to wait for each step (default %d)\n"
		"  -w, --wait                also wait until the guest has connected the LUNs\n"
		"  -k, --kernel-backend      the backend is Linux's xen-scsiback: a device path\n"
		"                            or H:C:T:L PDEV is looked up in LIO's configfs and\n"
		"                            written as naa.<wwn>:<lun>\n"
		"      --configfs DIR        configfs root (default /sys/kernel/config)\n"
		"      --sysfs DIR           sysfs root for resolving devices (default /sys)\n"
		"      --state-dir DIR       vscsi-lifecycle's records of domains (default\n"
		"                            $VSCSI_STATE_DIR or " DOMREC_DEFAULT_DIR "): attach,\n"
		"                            detach and apply update the domain's record there,\n"
		"                            so the change follows it through reboot, save/restore\n"
		"                            and migration; nothing is kept if DIR does not exist\n"
		"      --scsiback-state DIR  list: scsiback's state directory, whose status.json\n"
		"                            gives scsiback's view of each LUN it serves\n"
		"                            (default /run/scsiback)\n"
		"  -a, --all                 detach: every LUN of the domain\n"
		"  -j, --json                list: print JSON\n"
		"  -q, --quiet               apply: no progress lines\n"
		"  -V, --version             show the version\n"
		"  -h, --help                show this help\n"
		"\n"
		"Exit status: 0 ok, 1 failed (the backend refused a LUN, xenstore error), 2 usage,\n"
		"3 invalid PDEV/VDEV/config or VDEV already in use (nothing written), 4 no such\n"
		"domain, 5 timed out (what was written is removed again), 6 VDEV not attached.\n",
		DEFAULT_TIMEOUT_S);
}

static int exit_for(int rc)
{
	switch (rc) {
	case 0:
		return EX_OK;
	case -EINVAL:
	case -EEXIST:
	case -EADDRINUSE:
		return EX_INVALID;
	case -ENOENT:
		return EX_NODOMAIN;
	case -ETIMEDOUT:
		return EX_TIMEOUT;
	default:
		return EX_FAIL;
	}
}

static int open_xs(struct ctl *c)
{
	c->xs = xs_open(0);
	if (!c->xs) {
		errorf("cannot reach xenstore: %s (is this dom0 with xenstored running, or are "
		       "XENSTORED_PATH and the simulator set up?)", strerror(errno));
		return EX_FAIL;
	}
	c->self = dom_self(c->xs);
	return EX_OK;
}

static int resolve_domain(struct ctl *c, const char *spec, unsigned *domid, const char *what)
{
	char err[256];
	int rc = dom_lookup(c->xs, spec, domid, err, sizeof(err));

	if (rc == 0)
		return EX_OK;
	errorf("%s: %s", what, err);
	return rc == -ENOENT ? EX_NODOMAIN : EX_INVALID;
}

/* Like resolve_domain, but a numeric id of a domain that is gone is
 * accepted when the toolstack still has vhosts recorded for it, so that
 * its leftovers can be listed and detached. */
static int resolve_domain_or_gone(struct ctl *c, const char *spec, unsigned *domid)
{
	char err[256];
	int rc = dom_lookup(c->xs, spec, domid, err, sizeof(err));
	uint64_t id;

	/* A domain that is gone, by the number its records still carry. */
	if (rc == -ENOENT && dec_parse_str(spec, UINT32_MAX, &id)) {
		unsigned *ids;
		int n = ts_recorded_domains(c->xs, c->ts.be_domid, &ids);

		for (int i = 0; i < n && rc; i++)
			if (ids[i] == id) {
				*domid = ids[i];
				rc = 0;
			}
		free(ids);
	}
	if (rc == 0)
		return EX_OK;
	errorf("domain: %s", err);
	return rc == -ENOENT ? EX_NODOMAIN : EX_INVALID;
}

/* Where the sharing check resolves p-devs: here when the backend runs
 * here, otherwise its devices are not ours to look up. */
static void sharing_where(struct ctl *c)
{
	c->ts.sharing_sysfs = c->ts.be_domid == c->self ? (c->sysfs ? c->sysfs : "/sys") : NULL;
}

static int resolve_backend(struct ctl *c)
{
	int rc = EX_OK;

	if (!c->be_spec)
		c->ts.be_domid = 0;
	else
		rc = resolve_domain(c, c->be_spec, &c->ts.be_domid, "backend domain");
	sharing_where(c);
	return rc;
}

static void pdev_opts(const struct ctl *c, struct pdevspec_opts *po)
{
	po->kernel_backend = c->kernel_backend;
	po->local = c->ts.be_domid == c->self;
	po->sysfs = c->sysfs;
	po->configfs = c->configfs;
}

/* ---- the domain's record (domrecord.h) ---- */

/* Loads (or starts) the record of domid for a hand change. Returns false
 * when there is nothing to keep: no state directory (vscsi-lifecycle is
 * not in use) or a domain without a uuid. */
static bool record_open(struct ctl *c, unsigned domid, struct domrec *r, const char **dir)
{
	struct stat st;
	char err[512], *uuid;
	int rc;

	*dir = domrec_dir(c->state_dir);
	if (stat(*dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return false;
	uuid = dom_uuid(c->xs, domid);
	if (!uuid)
		return false;
	rc = domrec_load(*dir, uuid, r, err, sizeof(err));
	if (rc == -ENOENT) {
		snprintf(r->uuid, sizeof(r->uuid), "%s", uuid);
		r->source = strdup("vscsictl");
		rc = 0;
	} else if (rc) {
		errorf("warning: the change is not kept for the domain's next start: %s", err);
	}
	if (!rc) {
		free(r->name);
		r->name = dom_name(c->xs, domid);
	}
	free(uuid);
	return rc == 0;
}

static void record_close(struct domrec *r, const char *dir)
{
	char err[512];

	if (domrec_save(dir, r, err, sizeof(err)))
		errorf("warning: the change is not kept for the domain's next start: %s", err);
	domrec_free(r);
}

static void record_entries(struct ctl *c, unsigned domid, const struct vplan_entry *e, int n)
{
	struct domrec r;
	const char *dir;

	if (!record_open(c, domid, &r, &dir))
		return;
	for (int i = 0; i < n; i++) {
		char text[512], be[16];

		if (e[i].text) {
			domrec_put_entry(&r, e[i].text, e[i].spec.vdev);
			continue;
		}
		snprintf(be, sizeof(be), "%u", e[i].be_domid);
		vspec_format(&e[i].spec, e[i].spec.pdev, e[i].be_domid ? be : NULL, text, sizeof(text));
		domrec_put_entry(&r, text, e[i].spec.vdev);
	}
	record_close(&r, dir);
}

static int cmd_attach(struct ctl *c, int argc, char **argv)
{
	struct pdevspec_opts po;
	struct pdevspec ps;
	struct vscsi_spec spec;
	struct vdev v;
	struct ts_lun lun;
	unsigned domid;
	char err[1024];
	int rc;

	memset(&lun, 0, sizeof(lun));
	memset(&spec, 0, sizeof(spec));
	if (argc < 3) {
		errorf("attach takes DOMAIN PDEV VDEV [OPTION]... (feature-host, shared, "
		       "initiator=IQN, isid=HEX)");
		return EX_USAGE;
	}
	/* The options of an xl config entry, but backend= (--backend). */
	for (int i = 3; i < argc; i++) {
		if (!strncmp(argv[i], "backend=", 8)) {
			errorf("attach: the backend is chosen with --backend DOMAIN, not \"%s\"", argv[i]);
			return EX_USAGE;
		}
		if (vspec_option(argv[1], argv[i], &spec, err, sizeof(err))) {
			errorf("attach: %s", err);
			return EX_USAGE;
		}
	}
	if (vspec_check_pdev(&spec, argv[1], err, sizeof(err))) {
		errorf("attach: %s", err);
		return EX_USAGE;
	}
	if (spec.feature_host)
		c->ts.feature_host = true;
	if ((rc = open_xs(c)) || (rc = resolve_domain(c, argv[0], &domid, "domain")) ||
	    (rc = resolve_backend(c)))
		return rc;
	if (vdev_parse(argv[2], &v) < 0) {
		errorf("v-dev \"%s\" is not " VDEV_FORM, argv[2]);
		return EX_INVALID;
	}
	pdev_opts(c, &po);
	if (pdevspec_check(argv[1], &po, &ps, err, sizeof(err))) {
		errorf("%s", err);
		return EX_INVALID;
	}
	lun.pdev = ps.pdev;
	lun.pdevname = ps.pdevname;
	lun.vdev = argv[2];
	lun.shared = spec.shared;
	lun.initiator = spec.initiator;
	lun.isid = spec.isid;
	rc = ts_attach_luns(c->xs, domid, &lun, 1, &c->ts, err, sizeof(err));
	if (rc) {
		errorf("attach %s %s to domain %u: %s", argv[1], argv[2], domid, err);
		return exit_for(rc);
	}
	{
		struct domrec r;
		const char *dir;
		char text[512];

		if (record_open(c, domid, &r, &dir)) {
			snprintf(spec.vdev, sizeof(spec.vdev), "%s", argv[2]);
			spec.feature_host = c->ts.feature_host;
			vspec_format(&spec, argv[1], c->ts.be_domid != 0 ? c->be_spec : NULL, text,
				     sizeof(text));
			domrec_put_entry(&r, text, argv[2]);
			record_close(&r, dir);
		}
	}
	return EX_OK;
}

/* Detaches one LUN of domid and drops it from the domain's record. */
static int detach_one(struct ctl *c, unsigned domid, const char *vdev)
{
	char err[1024];
	int rc = ts_detach(c->xs, domid, vdev, &c->ts, err, sizeof(err));

	if (rc) {
		errorf("detach %s from domain %u: %s", vdev, domid, err);
		return rc == -ENOENT ? EX_NOTATTACHED : exit_for(rc);
	}
	{
		struct domrec r;
		const char *dir;

		if (ts_domain_exists(c->xs, domid) && record_open(c, domid, &r, &dir)) {
			domrec_drop_vdev(&r, vdev);
			record_close(&r, dir);
		}
	}
	return EX_OK;
}

/* --all: every LUN the domain has, each on its own; the first failure's
 * status, the others still tried. */
static int detach_all(struct ctl *c, unsigned domid)
{
	struct inv_vhost *v;
	int n = inv_read(c->xs, domid, c->ts.be_domid, &v), rc = EX_OK;

	if (n < 0) {
		errorf("domain %u: %s", domid, strerror(-n));
		return EX_FAIL;
	}
	for (int i = 0; i < n; i++)
		for (unsigned k = 0; k < v[i].nluns; k++) {
			int r;

			if (!v[i].luns[k].vdev)
				continue;
			r = detach_one(c, domid, v[i].luns[k].vdev);
			if (r == EX_OK && !c->quiet)
				printf("detached %s (%s)\n", v[i].luns[k].vdev,
				       v[i].luns[k].pdev ? v[i].luns[k].pdev : "-");
			if (r != EX_OK && rc == EX_OK)
				rc = r;
		}
	inv_free(v, n);
	return rc;
}

static int cmd_detach(struct ctl *c, int argc, char **argv)
{
	struct vdev v;
	unsigned domid;
	int rc;

	if (argc != (c->all ? 1 : 2)) {
		errorf(c->all ? "detach --all takes DOMAIN" : "detach takes DOMAIN VDEV (or --all DOMAIN)");
		return EX_USAGE;
	}
	if ((rc = open_xs(c)) || (rc = resolve_backend(c)) ||
	    (rc = resolve_domain_or_gone(c, argv[0], &domid)))
		return rc;
	if (c->all)
		return detach_all(c, domid);
	if (vdev_parse(argv[1], &v) < 0) {
		errorf("v-dev \"%s\" is not " VDEV_FORM, argv[1]);
		return EX_INVALID;
	}
	return detach_one(c, domid, argv[1]);
}

/* ---- list ---- */

static json_object *json_str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *json_state(int s)
{
	return s < 0 ? NULL : json_object_new_int(s);
}

/* scsiback's view of a LUN (health.h), or NULL when it has none. */
static json_object *backend_view_json(const struct health *h, unsigned domid,
				      const struct inv_vhost *v, const struct inv_lun *l)
{
	struct health_lun hl;
	struct vdev vd;
	json_object *o;

	if (!l->vdev || vdev_parse(l->vdev, &vd) < 0 ||
	    !health_find(h, domid, v->devid, vd.channel, vd.target, vd.lun, &hl))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "state", json_object_new_string(hl.state));
	json_object_object_add(o, "commands", json_object_new_int64(hl.commands));
	json_object_object_add(o, "errors", json_object_new_int64(hl.errors));
	json_object_object_add(o, "bytes_read", json_object_new_int64(hl.bytes_read));
	json_object_object_add(o, "bytes_written", json_object_new_int64(hl.bytes_written));
	json_object_object_add(o, "last_error", json_object_new_string(hl.last_error));
	if (hl.link[0])
		json_object_object_add(o, "link", json_object_new_string(hl.link));
	if (hl.initiator_port[0])
		json_object_object_add(o, "initiator_port", json_object_new_string(hl.initiator_port));
	return o;
}

static json_object *domain_json(unsigned domid, const char *name, bool exists,
			       const struct inv_vhost *v, int n, const struct health *hv)
{
	json_object *d = json_object_new_object(), *vhosts = json_object_new_array();

	json_object_object_add(d, "domid", json_object_new_int((int)domid));
	json_object_object_add(d, "name", json_str_or_null(name));
	json_object_object_add(d, "exists", json_object_new_boolean(exists));
	for (int i = 0; i < n; i++) {
		json_object *h = json_object_new_object(), *luns = json_object_new_array();

		json_object_object_add(h, "devid", json_object_new_int((int)v[i].devid));
		json_object_object_add(h, "backend_id", json_object_new_int((int)v[i].be_domid));
		json_object_object_add(h, "backend", json_object_new_string(v[i].be));
		json_object_object_add(h, "state", json_state(v[i].state));
		json_object_object_add(h, "state_name", json_object_new_string(inv_state_name(v[i].state)));
		json_object_object_add(h, "frontend_state", json_state(v[i].fe_state));
		json_object_object_add(h, "feature_host", json_object_new_boolean(v[i].feature_host));
		json_object_object_add(h, "error", json_str_or_null(v[i].error));
		json_object_object_add(h, "ring", json_str_or_null(health_ring(hv, domid, v[i].devid)));
		for (unsigned k = 0; k < v[i].nluns; k++) {
			const struct inv_lun *l = &v[i].luns[k];
			json_object *o = json_object_new_object();

			json_object_object_add(o, "idx", json_object_new_int((int)l->idx));
			json_object_object_add(o, "p_dev", json_str_or_null(l->pdev));
			json_object_object_add(o, "p_devname", json_str_or_null(l->pdevname));
			json_object_object_add(o, "v_dev", json_str_or_null(l->vdev));
			json_object_object_add(o, "state", json_state(l->state));
			json_object_object_add(o, "state_name", json_object_new_string(inv_state_name(l->state)));
			json_object_object_add(o, "frontend_state", json_state(l->fe_state));
			json_object_object_add(o, "error", json_str_or_null(l->error));
			json_object_object_add(o, "backend_view", backend_view_json(hv, domid, &v[i], l));
			json_object_array_add(luns, o);
		}
		json_object_object_add(h, "luns", luns);
		json_object_array_add(vhosts, h);
	}
	json_object_object_add(d, "vhosts", vhosts);
	return d;
}

static void print_state(int s, int width)
{
	if (s < 0)
		printf("%-*s", width, "-");
	else
		printf("%-*d", width, s);
}

/* "1.5 MiB" */
static void human_bytes(int64_t b, char *out, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)b;
	unsigned u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(out, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* scsiback's view of a LUN under its table line. */
static void backend_view_line(const struct health *h, unsigned domid, const struct inv_vhost *v,
			      const struct inv_lun *l)
{
	struct health_lun hl;
	struct vdev vd;
	char rd[32], wr[32];

	if (!l->vdev || vdev_parse(l->vdev, &vd) < 0 ||
	    !health_find(h, domid, v->devid, vd.channel, vd.target, vd.lun, &hl))
		return;
	human_bytes(hl.bytes_read, rd, sizeof(rd));
	human_bytes(hl.bytes_written, wr, sizeof(wr));
	printf("    backend: %s, %lld commands, %lld errors, %s read, %s written\n", hl.state,
	       (long long)hl.commands, (long long)hl.errors, rd, wr);
	if (hl.link[0])
		printf("    link: %s\n", hl.link);
	if (hl.initiator_port[0])
		printf("    initiator port: %s\n", hl.initiator_port);
	if (hl.last_error[0])
		printf("    last error: %s\n", hl.last_error);
}

static void domain_table(unsigned domid, const char *name, bool exists,
			 const struct inv_vhost *v, int n, bool label, const struct health *h)
{
	int pw = 8, vw = 8;

	for (int i = 0; i < n; i++)
		for (unsigned k = 0; k < v[i].nluns; k++) {
			const struct inv_lun *l = &v[i].luns[k];
			int a = l->pdev ? (int)strlen(l->pdev) : 1, b = l->vdev ? (int)strlen(l->vdev) : 1;

			pw = a > pw ? a : pw;
			vw = b > vw ? b : vw;
		}
	if (label)
		printf("Domain %u (%s)\n", domid, !exists ? "gone" : name ? name : "?");
	printf("%-3s %-3s %-5s %-4s %-*s %-*s %s\n", "Idx", "BE", "state", "ctrl", pw, "phy-hctl", vw,
	       "vir-hctl", "devstate");
	for (int i = 0; i < n; i++) {
		for (unsigned k = 0; k < v[i].nluns; k++) {
			const struct inv_lun *l = &v[i].luns[k];

			printf("%-3u %-3u ", l->idx, v[i].be_domid);
			print_state(v[i].state, 5);
			printf(" %-4u %-*s %-*s ", v[i].devid, pw, l->pdev ? l->pdev : "-", vw,
			       l->vdev ? l->vdev : "-");
			print_state(l->state, 0);
			putchar('\n');
			if (l->error)
				printf("    dev-%u error: %s\n", l->idx, l->error);
			backend_view_line(h, domid, &v[i], l);
		}
		if (v[i].error)
			printf("    vhost %u error: %s\n", v[i].devid, v[i].error);
	}
}

/* The entries vscsi-lifecycle could not attach, with its reason. */
static json_object *failed_json(const struct inv_failed *f, int n)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "entry", json_object_new_string(f[i].entry));
		json_object_object_add(o, "text", json_str_or_null(f[i].text));
		json_object_object_add(o, "error", json_str_or_null(f[i].error));
		json_object_array_add(a, o);
	}
	return a;
}

static void failed_table(const struct inv_failed *f, int n)
{
	for (int i = 0; i < n; i++) {
		if (f[i].text)
			printf("    failed: vscsi entry %s \"%s\": %s\n", f[i].entry, f[i].text,
			       f[i].error ? f[i].error : "?");
		else
			printf("    failed: vscsi entries: %s\n", f[i].error ? f[i].error : "?");
	}
}

static int cmp_domid(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

static int cmd_list(struct ctl *c, int argc, char **argv)
{
	unsigned *ids = NULL;
	int n, rc;
	json_object *all = NULL;
	struct health *health = NULL;
	char why[512] = "";
	unsigned luns = 0;
	bool label;

	if ((rc = open_xs(c)) || (rc = resolve_backend(c)))
		return rc;
	if (argc > 0) {
		ids = calloc((size_t)argc, sizeof(*ids));
		if (!ids)
			return EX_FAIL;
		for (int i = 0; i < argc; i++)
			if ((rc = resolve_domain_or_gone(c, argv[i], &ids[i]))) {
				free(ids);
				return rc;
			}
		n = argc;
	} else {
		unsigned *gone;
		int ng;

		n = dom_list(c->xs, &ids);
		if (n < 0) {
			errorf("cannot list domains: %s", strerror(-n));
			return EX_FAIL;
		}
		/* And the leftovers of domains that are gone. */
		ng = ts_recorded_domains(c->xs, c->ts.be_domid, &gone);
		for (int i = 0; i < ng; i++) {
			bool have = false;
			unsigned *grown;

			for (int k = 0; k < n; k++)
				have |= ids[k] == gone[i];
			if (have || !(grown = realloc(ids, (size_t)(n + 1) * sizeof(*ids))))
				continue;
			ids = grown;
			ids[n++] = gone[i];
		}
		free(gone);
		qsort(ids, (size_t)n, sizeof(*ids), cmp_domid);
	}
	label = n > 1 || argc == 0;
	/* scsiback's own view, when it runs here. */
	if (!c->kernel_backend && c->ts.be_domid == c->self) {
		health = health_load(c->scsiback_state ? c->scsiback_state : "/run/scsiback", why,
				     sizeof(why));
	}
	if (c->json)
		all = json_object_new_array();
	for (int i = 0; i < n; i++) {
		struct inv_vhost *v;
		struct inv_failed *f;
		int nv = inv_read(c->xs, ids[i], c->ts.be_domid, &v), nf;
		char *name;

		if (nv < 0) {
			errorf("domain %u: %s", ids[i], strerror(-nv));
			rc = EX_FAIL;
			continue;
		}
		nf = inv_read_failed(c->xs, ids[i], &f);
		if (nv == 0 && nf == 0 && argc == 0) {
			inv_free(v, nv);
			inv_free_failed(f, nf);
			continue; /* listing everything: only domains with PV SCSI */
		}
		name = dom_name(c->xs, ids[i]);
		if (all) {
			json_object *d = domain_json(ids[i], name, ts_domain_exists(c->xs, ids[i]), v, nv, health);

			json_object_object_add(d, "failed", failed_json(f, nf));
			json_object_array_add(all, d);
		} else {
			domain_table(ids[i], name, ts_domain_exists(c->xs, ids[i]), v, nv, label, health);
			failed_table(f, nf);
			for (int k = 0; k < nv; k++)
				luns += v[k].nluns;
		}
		free(name);
		inv_free(v, nv);
		inv_free_failed(f, nf);
	}
	if (all) {
		puts(json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(all);
	}
	if (luns && why[0])
		printf("(no backend view: %s)\n", why);
	health_free(health);
	free(ids);
	return rc;
}

/* ---- apply ---- */

static void rollback(struct ctl *c, unsigned domid, struct vplan_entry *e, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		char err[1024];

		if (!e[i].done)
			continue;
		if (ts_detach(c->xs, domid, e[i].spec.vdev, &c->ts, err, sizeof(err)))
			errorf("rollback: detach %s: %s", e[i].spec.vdev, err);
		else if (!c->quiet)
			printf("detached %s again\n", e[i].spec.vdev);
	}
}

static void plan_opts(const struct ctl *c, struct vplan_opts *vo)
{
	vo->be_domid = c->ts.be_domid;
	vo->self = c->self;
	vo->kernel_backend = c->kernel_backend;
	vo->sysfs = c->sysfs;
	vo->configfs = c->configfs;
}

static int cmd_apply(struct ctl *c, int argc, char **argv)
{
	struct vplan_entry *e = NULL;
	struct vplan_opts vo;
	char **items = NULL, err[1024];
	unsigned domid;
	int n, rc;

	if (argc != 2) {
		errorf("apply takes DOMAIN FILE");
		return EX_USAGE;
	}
	/* The file first: a broken file is reported without xenstore. */
	n = xlcfg_read_vscsi(argv[1], &items, err, sizeof(err));
	if (n < 0) {
		errorf("%s", err);
		return n == -ENOMEM ? EX_FAIL : EX_INVALID;
	}
	if (n == 0) {
		errorf("%s: no vscsi = [ \"pdev,vdev[,feature-host]\", ... ] setting", argv[1]);
		return EX_INVALID;
	}
	e = calloc((size_t)n, sizeof(*e));
	if (!e) {
		xlcfg_free(items, n);
		return EX_FAIL;
	}
	rc = EX_OK;
	for (int i = 0; i < n && !rc; i++) {
		e[i].text = items[i];
		if (vspec_parse(items[i], &e[i].spec, err, sizeof(err))) {
			errorf("%s: entry %d: %s", argv[1], i + 1, err);
			rc = EX_INVALID;
		}
	}
	if (!rc && !(rc = open_xs(c)) && !(rc = resolve_domain(c, argv[0], &domid, "domain")) &&
	    !(rc = resolve_backend(c))) {
		int bad;

		plan_opts(c, &vo);
		bad = vplan_check(c->xs, domid, &vo, e, n, err, sizeof(err));
		if (bad < 0) {
			errorf("%s", err);
			rc = EX_FAIL;
		}
		for (int i = 0; bad > 0 && i < n; i++)
			if (e[i].error[0]) {
				errorf("%s: %s", argv[1], e[i].error);
				rc = EX_INVALID;
				break;
			}
	}
	/* One transaction per vhost, in the order the file names them. */
	for (int i = 0; i < n && !rc; i++) {
		struct ts_lun luns[64];
		int idx[64];
		unsigned k = vplan_group(e, n, i, idx, 64);
		int r;

		if (k == 0)
			continue;
		for (unsigned j = 0; j < k; j++) {
			luns[j].pdev = e[idx[j]].ps.pdev;
			luns[j].pdevname = e[idx[j]].ps.pdevname;
			luns[j].vdev = e[idx[j]].spec.vdev;
			luns[j].shared = e[idx[j]].spec.shared;
			luns[j].initiator = e[idx[j]].spec.initiator;
			luns[j].isid = e[idx[j]].spec.isid;
		}
		c->ts.feature_host = e[i].spec.feature_host;
		c->ts.be_domid = e[i].be_domid;
		sharing_where(c);
		r = ts_attach_luns(c->xs, domid, luns, k, &c->ts, err, sizeof(err));
		if (r) {
			errorf("apply %s to domain %u: vhost %u: %s", argv[1], domid, e[i].v.host, err);
			rollback(c, domid, e, n);
			rc = exit_for(r);
			break;
		}
		for (unsigned j = 0; j < k; j++) {
			e[idx[j]].done = true;
			if (!c->quiet)
				printf("attached %s as %s\n", e[idx[j]].ps.pdevname, e[idx[j]].spec.vdev);
		}
	}
	if (!rc)
		record_entries(c, domid, e, n);
	if (!rc && !c->quiet)
		for (int i = 0; i < n; i++)
			if (e[i].skip)
				printf("%s: already attached (%s)\n", e[i].spec.vdev, e[i].ps.pdev);
	xlcfg_free(items, n);
	free(e);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "backend-domain", required_argument, NULL, 'b' },
		{ "state-dir", required_argument, NULL, 'D' },
		{ "all", no_argument, NULL, 'a' },
		{ "scsiback-state", required_argument, NULL, 'B' },
		{ "timeout", required_argument, NULL, 't' },
		{ "wait", no_argument, NULL, 'w' },
		{ "kernel-backend", no_argument, NULL, 'k' },
		{ "configfs", required_argument, NULL, 'C' },
		{ "sysfs", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { .ts = { .timeout_ms = DEFAULT_TIMEOUT_S * 1000 } };
	const char *cmd;
	int o, rc;

	while ((o = getopt_long(argc, argv, "b:t:wkjqhVa", opts, NULL)) != -1) {
		switch (o) {
		case 'b':
			c.be_spec = optarg;
			break;
		case 't': {
			char *end;
			double s = strtod(optarg, &end);

			if (end == optarg || *end || !(s > 0) || s > 86400) {
				errorf("--timeout wants seconds between 0 and 86400, not \"%s\"", optarg);
				return EX_USAGE;
			}
			c.ts.timeout_ms = (unsigned)(s * 1000 + 0.5);
			if (!c.ts.timeout_ms)
				c.ts.timeout_ms = 1;
			break;
		}
		case 'w':
			c.ts.wait_connected = true;
			break;
		case 'k':
			c.kernel_backend = true;
			break;
		case 'C':
			c.configfs = optarg;
			break;
		case 'S':
			c.sysfs = optarg;
			break;
		case 'D':
			c.state_dir = optarg;
			break;
		case 'B':
			c.scsiback_state = optarg;
			break;
		case 'a':
			c.all = true;
			break;
		case 'j':
			c.json = true;
			break;
		case 'q':
			c.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'V':
			printf("vscsictl %s\n", VSCSI_VERSION);
			return EX_OK;
		default:
			fprintf(stderr, "Try 'vscsictl --help'.\n");
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		errorf("missing command");
		usage(stderr);
		return EX_USAGE;
	}
	cmd = argv[optind++];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "attach") || !strcmp(cmd, "scsi-attach"))
		rc = cmd_attach(&c, argc, argv);
	else if (!strcmp(cmd, "detach") || !strcmp(cmd, "scsi-detach"))
		rc = cmd_detach(&c, argc, argv);
	else if (!strcmp(cmd, "list") || !strcmp(cmd, "scsi-list"))
		rc = cmd_list(&c, argc, argv);
	else if (!strcmp(cmd, "apply"))
		rc = cmd_apply(&c, argc, argv);
	else if (!strcmp(cmd, "help"))
		usage(stdout), rc = EX_OK;
	else {
		errorf("unknown command \"%s\"", cmd);
		fprintf(stderr, "Try 'vscsictl --help'.\n");
		rc = EX_USAGE;
	}
	if (c.xs)
		xs_close(c.xs);
	return rc;
}
