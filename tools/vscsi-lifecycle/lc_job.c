#include "lc_job.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xenctrl.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "domains.h"
#include "log.h"
#include "toolstack.h"
#include "vplan.h"
#include "xsutil.h"

struct job_ctx {
	struct lc_job *j;
	struct xs_handle *xs;
	xc_interface *xch;
	struct lc_spec spec;
	struct vplan_entry *e;
	bool *settled;         /* per entry: attached and judged, or failed */
	int n;
	unsigned nfailed;
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* What an admin reads: the domain, the entry and the cause, in the log
 * and in /libxl/<domid>/vscsi-failed/<entry>/ for vscsictl list. */
static void fail_entry(struct job_ctx *c, int i, const char *text, const char *cause)
{
	char path[128], prefix[32];
	int len = snprintf(prefix, sizeof(prefix), "entry %d: ", i + 1);

	c->nfailed++;
	if (i < 0) {
		/* The entries themselves could not be read. */
		log_err("domain %s (domid %u): vscsi entries not read: %s", c->j->name, c->j->domid,
			cause);
		snprintf(path, sizeof(path), "/libxl/%u/" LC_FAILED_DIR "/config/error", c->j->domid);
		xs_write(c->xs, XBT_NULL, path, cause, (unsigned)strlen(cause));
		return;
	}
	if (!strncmp(cause, prefix, (size_t)len))
		cause += len;
	log_err("domain %s (domid %u): vscsi entry %d \"%s\" not attached: %s", c->j->name,
		c->j->domid, i + 1, text ? text : "", cause);
	snprintf(path, sizeof(path), "/libxl/%u/" LC_FAILED_DIR "/%d/entry", c->j->domid, i + 1);
	xs_write(c->xs, XBT_NULL, path, text ? text : "", text ? (unsigned)strlen(text) : 0);
	snprintf(path, sizeof(path), "/libxl/%u/" LC_FAILED_DIR "/%d/error", c->j->domid, i + 1);
	xs_write(c->xs, XBT_NULL, path, cause, (unsigned)strlen(cause));
}

static xc_interface *xch_of(struct job_ctx *c)
{
	if (!c->xch && !(c->xch = xc_interface_open(NULL, NULL, 0)))
		log_err("domain %s (domid %u): cannot open the hypervisor interface: %s", c->j->name,
			c->j->domid, strerror(errno));
	return c->xch;
}

/* Every vhost of the plan, in the order the entries name them; a vhost
 * whose write or backend fails takes all its entries with it. */
static void attach_all(struct job_ctx *c)
{
	const struct lc_opts *o = c->j->opts;
	struct vplan_opts vo = { .be_domid = 0, .self = dom_self(c->xs) };
	char err[1024];
	int bad;

	c->e = calloc((size_t)c->n, sizeof(*c->e));
	c->settled = calloc((size_t)c->n, sizeof(*c->settled));
	if (!c->e || !c->settled) {
		log_err("domain %s (domid %u): out of memory", c->j->name, c->j->domid);
		return;
	}
	for (int i = 0; i < c->n; i++)
		c->e[i].text = c->spec.entries[i];
	bad = vplan_check(c->xs, c->j->domid, &vo, c->e, c->n, err, sizeof(err));
	if (bad < 0) {
		for (int i = 0; i < c->n; i++)
			fail_entry(c, i, c->e[i].text, err);
		return;
	}
	for (int i = 0; i < c->n; i++)
		if (c->e[i].error[0]) {
			fail_entry(c, i, c->e[i].text, c->e[i].error);
			c->settled[i] = true;
		}
	/* One deadline for the whole hold, however many vhosts. */
	long deadline = now_ms() + (long)o->timeout_ms;

	for (int i = 0; i < c->n && !atomic_load(&c->j->stop); i++) {
		/* (devices of a driver domain are not seen here: p-devs compared) */
		struct ts_opts ts = { .be_domid = c->e[i].be_domid, .feature_host = c->e[i].spec.feature_host,
				      .sharing_sysfs = c->e[i].be_domid == 0 ? "/sys" : NULL };
		struct ts_lun luns[64];
		int idx[64];
		unsigned k = vplan_group(c->e, c->n, i, idx, 64);
		long left = deadline - now_ms();

		if (k == 0)
			continue;
		if (left <= 0) {
			snprintf(err, sizeof(err), "the domain was held %u ms, the longest allowed "
				 "(--timeout); not attempted", o->timeout_ms);
			for (unsigned m = 0; m < k; m++) {
				c->e[idx[m]].done = true;
				fail_entry(c, idx[m], c->e[idx[m]].text, err);
				c->settled[idx[m]] = true;
			}
			continue;
		}
		ts.timeout_ms = (unsigned)left;
		for (unsigned m = 0; m < k; m++) {
			luns[m].pdev = c->e[idx[m]].ps.pdev;
			luns[m].pdevname = c->e[idx[m]].ps.pdevname;
			luns[m].vdev = c->e[idx[m]].spec.vdev;
			luns[m].shared = c->e[idx[m]].spec.shared;
			luns[m].initiator = c->e[idx[m]].spec.initiator;
			luns[m].isid = c->e[idx[m]].spec.isid;
		}
		if (ts_attach_luns(c->xs, c->j->domid, luns, k, &ts, err, sizeof(err))) {
			if (atomic_load(&c->j->stop))
				break;   /* stopping: not a verdict on the entries */
			for (unsigned m = 0; m < k; m++) {
				c->e[idx[m]].done = true; /* tried */
				fail_entry(c, idx[m], c->e[idx[m]].text, err);
				c->settled[idx[m]] = true;
			}
			continue;
		}
		for (unsigned m = 0; m < k; m++) {
			c->e[idx[m]].done = true;
			log_info("domain %s (domid %u): %s attached as %s (backend domain %u, from %s)",
				 c->j->name, c->j->domid, c->e[idx[m]].ps.pdevname, c->e[idx[m]].spec.vdev,
				 c->e[idx[m]].be_domid, c->spec.origin);
		}
	}
}

/* After the domain runs: each attached LUN's verdict, once the guest has
 * connected its vhost (scsiback opens LUNs then). A refused LUN is named
 * with the backend's reason and detached, so nothing half-made stays. */
static void await_verdicts(struct job_ctx *c)
{
	long deadline = now_ms() + (long)c->j->opts->verdict_ms;
	int pending = 0;

	for (int i = 0; i < c->n; i++) {
		c->settled[i] |= !c->e[i].done; /* only what this job attached */
		pending += !c->settled[i];
	}
	while (pending && now_ms() < deadline && !atomic_load(&c->j->stop)) {
		poll(NULL, 0, 200);
		for (int i = 0; i < c->n; i++) {
			struct vplan_entry *e = &c->e[i];
			char be[512], *why, err[1024];
			struct ts_opts ts = { .be_domid = e->be_domid, .timeout_ms = c->j->opts->timeout_ms };
			bool recorded, found;
			unsigned dev;
			int s;

			if (c->settled[i])
				continue;
			ts_backend_path(c->xs, c->j->domid, e->v.host, e->be_domid, be, sizeof(be), &recorded);
			found = ts_find_dev(c->xs, XBT_NULL, be, &e->v, &dev) == 0;
			s = !found ? -1 : xsu_read_intf(c->xs, XBT_NULL, -1, "%s/vscsi-devs/dev-%u/state", be, dev);
			if (s == XenbusStateConnected) {
				log_debug("domain %s (domid %u): %s is connected", c->j->name, c->j->domid,
					  e->spec.vdev);
			} else if (s == XenbusStateClosed) {
				why = xsu_readf(c->xs, XBT_NULL, "%s/vscsi-devs/dev-%u/error", be, dev);
				fail_entry(c, i, e->text, why ? why : "the backend refused it (no reason given)");
				free(why);
				if (ts_detach(c->xs, c->j->domid, e->spec.vdev, &ts, err, sizeof(err)))
					log_warn("domain %s (domid %u): detach %s: %s", c->j->name, c->j->domid,
						 e->spec.vdev, err);
			} else if (found) {
				continue;
			}
			c->settled[i] = true;
			pending--;
		}
	}
}

static void run(struct job_ctx *c)
{
	struct lc_job *j = c->j;
	bool strict;
	char err[1024];
	int rc;
	rc = lc_source_find(&j->opts->src, j->name, j->uuid[0] ? j->uuid : NULL, &c->spec, err,
			    sizeof(err));
	if (rc < 0)
		fail_entry(c, -1, NULL, err);
	else if (rc == 0)
		log_debug("domain %s (domid %u): no vscsi entries", j->name, j->domid);
	if (rc > 0) {
		c->n = c->spec.nentries;
		log_info("domain %s (domid %u): %d vscsi entr%s from %s", j->name, j->domid, c->n,
			 c->n == 1 ? "y" : "ies", c->spec.origin);
		attach_all(c);
	}
	strict = c->spec.strict >= 0 ? c->spec.strict : j->opts->strict;
	if (c->nfailed && strict && !atomic_load(&j->stop)) {
		log_err("domain %s (domid %u): destroyed: %u vscsi entr%s failed and vscsi_strict is set",
			j->name, j->domid, c->nfailed, c->nfailed == 1 ? "y" : "ies");
		if (xch_of(c) && xc_domain_destroy(c->xch, j->domid))
			log_err("domain %s (domid %u): destroy: %s", j->name, j->domid, strerror(errno));
		return;
	}
	if (j->held && xch_of(c) && xc_domain_unpause(c->xch, j->domid) && errno != ESRCH)
		log_err("domain %s (domid %u): unpause: %s", j->name, j->domid, strerror(errno));
	if (c->e)
		await_verdicts(c);
}

static void *job_thread(void *arg)
{
	struct job_ctx c = { .j = arg };

	c.spec.strict = -1;
	ts_set_cancel(&c.j->stop);   /* SIGTERM ends a wait for the backend */
	c.xs = xs_open(0);
	if (!c.xs)
		log_err("domain %s (domid %u): cannot reach xenstore: %s", c.j->name, c.j->domid,
			strerror(errno));
	else
		run(&c);
	free(c.e);
	free(c.settled);
	lc_spec_free(&c.spec);
	if (c.xch)
		xc_interface_close(c.xch);
	if (c.xs)
		xs_close(c.xs);
	atomic_store(&c.j->finished, true);
	return NULL;
}

int lc_job_start(struct lc_job *job)
{
	int rc;

	atomic_store(&job->stop, false);
	atomic_store(&job->finished, false);
	rc = pthread_create(&job->thread, NULL, job_thread, job);
	return -rc;
}

void lc_job_join(struct lc_job *job)
{
	pthread_join(job->thread, NULL);
}
