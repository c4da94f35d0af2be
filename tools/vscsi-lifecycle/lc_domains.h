/* The domains the service follows: new ones (after @introduceDomain) get
 * a job (lc_job.h); for each it remembers how it ended — the shutdown
 * reason while a shut-down domain still exists, or a destroy while it
 * ran — and when it is gone removes what the toolstack wrote for it
 * (libxl never removes backend/vscsi/<domid>) and decides whether its
 * record is kept: kept for a reboot, a save (restore may come much later)
 * and a migration; forgotten after a power-off or a destroy. */
#ifndef LC_DOMAINS_H
#define LC_DOMAINS_H

#include <stdbool.h>

#include "lc_job.h"

struct xs_handle;
struct lc_domains;

struct lc_domains *lc_domains_new(const struct lc_opts *o, struct xs_handle *xs);
/* Looks at the domains now: starts jobs for new ones (held paused unless
 * at_start: a domain that already ran is not paused again), notes
 * shutdowns, cleans up after the ones that are gone and reaps finished
 * jobs. */
void lc_domains_scan(struct lc_domains *d, bool at_start);
/* Whether a job is still running. */
bool lc_domains_busy(struct lc_domains *d);
/* Stops every job (each lets its domain run) and frees. */
void lc_domains_free(struct lc_domains *d);

#endif
