#include "lc_domains.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenctrl.h>
#include <xenstore.h>

#include "domains.h"
#include "log.h"

struct lc_dom {
	unsigned domid;
	char name[128], uuid[40];
	int shutdown_reason;       /* seen while shut down, -1 never */
	bool gone;
	struct lc_job *job;
	struct lc_dom *next;
};

struct lc_domains {
	const struct lc_opts *o;
	struct xs_handle *xs;
	xc_interface *xch;
	unsigned self;
	struct lc_dom *list;
};

struct lc_domains *lc_domains_new(const struct lc_opts *o, struct xs_handle *xs)
{
	struct lc_domains *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->o = o;
	d->xs = xs;
	d->self = dom_self(xs);
	d->xch = xc_interface_open(NULL, NULL, 0);
	if (!d->xch)
		log_warn("no hypervisor interface (%s): shutdown reasons unknown, records of "
			 "destroyed domains are kept", strerror(errno));
	return d;
}

static struct lc_dom *find(struct lc_domains *d, unsigned domid)
{
	for (struct lc_dom *x = d->list; x; x = x->next)
		if (x->domid == domid)
			return x;
	return NULL;
}

/* Paused at once, before anything else: xl's own unpause is racing us.
 * Returns whether we hold a pause reference. */
static bool hold(struct lc_domains *d, unsigned domid)
{
	if (!d->xch)
		return false;
	if (xc_domain_pause(d->xch, domid) == 0)
		return true;
	log_warn("domain %u: cannot hold it paused while its vhosts are written: %s", domid,
		 strerror(errno));
	return false;
}

static void track(struct lc_domains *d, unsigned domid, bool at_start)
{
	bool held = !at_start && hold(d, domid);
	struct lc_dom *x = calloc(1, sizeof(*x));
	char *name = dom_name(d->xs, domid), *uuid = dom_uuid(d->xs, domid);

	if (x) {
		x->domid = domid;
		x->shutdown_reason = -1;
		snprintf(x->name, sizeof(x->name), "%s", name ? name : "?");
		snprintf(x->uuid, sizeof(x->uuid), "%s", uuid ? uuid : "");
		x->next = d->list;
		d->list = x;
		log_debug("domain %s (domid %u, uuid %s) %s", x->name, domid, x->uuid[0] ? x->uuid : "none",
			  at_start ? "found at start" : "introduced");
		/* A domain without name or uuid was not built by a toolstack. */
		if (name || uuid)
			x->job = calloc(1, sizeof(*x->job));
	}
	free(name);
	free(uuid);
	if (x && x->job) {
		x->job->opts = d->o;
		x->job->domid = domid;
		x->job->held = held;
		snprintf(x->job->name, sizeof(x->job->name), "%s", x->name);
		snprintf(x->job->uuid, sizeof(x->job->uuid), "%s", x->uuid);
		if (lc_job_start(x->job) == 0)
			return;
		log_err("domain %s (domid %u): cannot start its job", x->name, domid);
		free(x->job);
		x->job = NULL;
	}
	if (held && xc_domain_unpause(d->xch, domid))
		log_err("domain %u: unpause: %s", domid, strerror(errno));
}

/* How a tracked domain is doing, by the hypervisor's word; and its name,
 * which xl changes (a migration's receiver is renamed when it is done). */
static void observe(struct lc_domains *d, struct lc_dom *x)
{
	xc_dominfo_t info;
	char *name = dom_name(d->xs, x->domid);

	if (name)
		snprintf(x->name, sizeof(x->name), "%s", name);
	free(name);
	if (!d->xch || xc_domain_getinfo(d->xch, x->domid, 1, &info) != 1 || info.domid != x->domid)
		return;
	if (info.shutdown && x->shutdown_reason < 0) {
		x->shutdown_reason = (int)info.shutdown_reason;
		log_debug("domain %s (domid %u) shut down, reason %d", x->name, x->domid,
			  x->shutdown_reason);
	}
}

static void rm_if_empty(struct xs_handle *xs, const char *path)
{
	unsigned n;
	char **d = xs_directory(xs, XBT_NULL, path, &n);

	if (d && n == 0)
		xs_rm(xs, XBT_NULL, path);
	free(d);
}

/* What the toolstack wrote for a domain that is gone: its vhosts in the
 * backend directory of every domain (dom0 or a driver domain; libxl has
 * removed /libxl/<domid> with the record of which by now), and its
 * records. */
static void cleanup(struct lc_domains *d, const struct lc_dom *x)
{
	char path[256];
	unsigned *ids = NULL;
	int n = dom_list(d->xs, &ids);
	bool self_seen = false;

	for (int i = 0; i <= n; i++) {
		unsigned be = i < n ? ids[i] : d->self;

		if (i == n && self_seen)
			break;
		self_seen |= be == d->self;
		snprintf(path, sizeof(path), "/local/domain/%u/backend/vscsi/%u", be, x->domid);
		if (xs_rm(d->xs, XBT_NULL, path))
			log_debug("domain %s (domid %u): removed %s", x->name, x->domid, path);
	}
	free(ids);
	snprintf(path, sizeof(path), "/libxl/%u/vscsi", x->domid);
	xs_rm(d->xs, XBT_NULL, path);
	snprintf(path, sizeof(path), "/libxl/%u/" LC_FAILED_DIR, x->domid);
	xs_rm(d->xs, XBT_NULL, path);
	snprintf(path, sizeof(path), "/libxl/%u", x->domid);
	rm_if_empty(d->xs, path);
}

static bool uuid_alive(struct lc_domains *d, const struct lc_dom *x)
{
	for (struct lc_dom *y = d->list; y; y = y->next)
		if (y != x && !y->gone && x->uuid[0] && !strcmp(y->uuid, x->uuid))
			return true;
	return false;
}

static void ended(struct lc_domains *d, struct lc_dom *x)
{
	static const char *const reasons[] = { "power-off", "reboot", "suspend", "crash", "watchdog",
					       "soft reset" };
	/* A shut-down domain stays so until its toolstack acts (xl's monitor
	 * destroys or restarts it, xl save writes it out first), so its
	 * reason is seen; one that went without a shutdown was destroyed
	 * while it ran (xl destroy). */
	const char *how = x->shutdown_reason < 0 ? "destroyed" :
			  x->shutdown_reason < 6 ? reasons[x->shutdown_reason] : "shut down";

	cleanup(d, x);
	log_info("domain %s (domid %u) %s: its vscsi devices are removed", x->name, x->domid, how);
	if (uuid_alive(d, x))
		return; /* a migration's other side, or a reboot already here */
	if (x->shutdown_reason == 0 || (x->shutdown_reason < 0 && d->xch))
		lc_source_forget(&d->o->src, x->uuid[0] ? x->uuid : NULL);
}

void lc_domains_scan(struct lc_domains *d, bool at_start)
{
	unsigned *ids = NULL;
	int n = dom_list(d->xs, &ids);

	if (n < 0) {
		log_warn("cannot list domains: %s", strerror(-n));
		return;
	}
	for (struct lc_dom *x = d->list; x; x = x->next) {
		bool listed = false;

		for (int i = 0; i < n; i++)
			listed |= ids[i] == x->domid;
		observe(d, x);
		if (!listed || !xs_is_domain_introduced(d->xs, x->domid)) {
			if (!x->gone && x->job)
				atomic_store(&x->job->stop, true);
			x->gone = true;
		}
	}
	for (int i = 0; i < n; i++)
		if (ids[i] != 0 && ids[i] != d->self && !find(d, ids[i]) &&
		    xs_is_domain_introduced(d->xs, ids[i]))
			track(d, ids[i], at_start);
	free(ids);
	/* The gone ones, once their job has ended. */
	for (struct lc_dom **pp = &d->list; *pp;) {
		struct lc_dom *x = *pp;

		if (x->job && atomic_load(&x->job->finished)) {
			lc_job_join(x->job);
			free(x->job);
			x->job = NULL;
		}
		if (!x->gone || x->job) {
			pp = &x->next;
			continue;
		}
		ended(d, x);
		*pp = x->next;
		free(x);
	}
}

bool lc_domains_busy(struct lc_domains *d)
{
	for (struct lc_dom *x = d->list; x; x = x->next)
		if (x->job)
			return true;
	return false;
}

void lc_domains_free(struct lc_domains *d)
{
	if (!d)
		return;
	for (struct lc_dom *x = d->list; x; x = x->next)
		if (x->job)
			atomic_store(&x->job->stop, true);
	while (d->list) {
		struct lc_dom *x = d->list;

		d->list = x->next;
		if (x->job) {
			lc_job_join(x->job);
			free(x->job);
		}
		free(x);
	}
	if (d->xch)
		xc_interface_close(d->xch);
	free(d);
}
