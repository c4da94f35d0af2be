/* xensimd's control socket: accepts clients and dispatches their requests
 * to the domain, grant and event-channel code. */
#ifndef XENSIM_SIM_CTL_H
#define XENSIM_SIM_CTL_H

#include "evloop.h"
#include "xenstored.h"

struct sim_ctl;

struct sim_ctl *sim_ctl_new(struct evloop *loop, struct xs_daemon *xsd, const char *rundir);
void sim_ctl_free(struct sim_ctl *ctl);

/* Creates a domain end to end: memory, grant table, xenstore socket and
 * /local/domain nodes. Returns the domid or -errno. */
int sim_ctl_create_domain(struct sim_ctl *ctl, int want_domid, const char *name, uint32_t memory_mib);

/* Collects exited guest inits (on SIGCHLD) and records their status. */
void sim_ctl_reap(struct sim_ctl *ctl);

#endif
