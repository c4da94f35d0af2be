/* Event-channel ports. Delivery bypasses the daemon: each end of a channel
 * is an eventfd, and both ends hold both fds, so a notify is one write()
 * from the notifier straight to the waiter. */
#ifndef XENSIM_SIM_EVTCHN_H
#define XENSIM_SIM_EVTCHN_H

#include <stdint.h>

#include "sim_conn.h"
#include "sim_domain.h"

/* Each returns the new local port or -errno; fds[0] is the local inbox,
 * fds[1] the peer's inbox (the caller sends both, the daemon keeps its own
 * copies). */
int sim_evtchn_bind_unbound(struct sim_conn *c, struct sim_domain *d, uint32_t remote, int fds[2]);
int sim_evtchn_bind_interdomain(struct sim_conn *c, struct sim_domain *d, uint32_t remote,
				uint32_t remote_port, int fds[2]);
int sim_evtchn_unbind(struct sim_conn *c, struct sim_domain *d, uint32_t port);
/* Sends an event on a local port, as the domain itself would. */
int sim_evtchn_send(struct sim_domain *d, uint32_t port);

void sim_evtchn_conn_closed(struct sim_conn *c);
void sim_evtchn_domain_destroyed(struct sim_domain *d);

#endif
