/* One domain's PV SCSI devices brought up by the service, in a thread of
 * its own so that a slow backend or a dead iSCSI target holds up only
 * that domain: hold the new domain paused (pause is reference counted,
 * so xl's own unpause does not start it), find its entries
 * (lc_source.h), check them (vplan.h), write the vhosts and wait for the
 * backend to take them up, record what failed where vscsictl list shows
 * it, then let the domain run. A Linux guest resumed after restore or
 * migration must find its device/vscsi/N nodes at resume, or it never
 * reconnects them (docs/protocol.md, "Save, restore and migration");
 * the hold guarantees that. Afterwards it waits for the backend's verdict
 * on each LUN once the guest connects, so a LUN the backend refuses is
 * named in the log and moved to the failed list too. */
#ifndef LC_JOB_H
#define LC_JOB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "lc_source.h"

/* Where /libxl/<domid>/ keeps the entries that could not be attached. */
#define LC_FAILED_DIR "vscsi-failed"

struct lc_opts {
	struct lc_source_opts src;
	unsigned timeout_ms;   /* the longest hold, all vhosts together */
	unsigned verdict_ms;   /* wait for the guest to connect and the LUN verdicts */
	bool strict;           /* for domains without vscsi_strict */
};

struct lc_job {
	const struct lc_opts *opts;
	unsigned domid;
	char name[128];
	char uuid[40];         /* "" when the domain has none */
	bool held;             /* the caller paused the domain: the job unpauses it */
	atomic_bool stop;      /* the domain went away, or the service stops */
	atomic_bool finished;
	pthread_t thread;
};

/* Starts the job's thread. 0 or -errno. */
int lc_job_start(struct lc_job *job);
/* Waits for the thread to end. */
void lc_job_join(struct lc_job *job);

#endif
