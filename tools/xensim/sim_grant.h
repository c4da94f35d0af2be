/* Grant sharing (the gntalloc side) and teardown notifications. Mapping
 * and copying happen in the client library, which reads the grant table
 * directly as Xen does; the daemon only hands out and revokes entries. */
#ifndef XENSIM_SIM_GRANT_H
#define XENSIM_SIM_GRANT_H

#include <stdint.h>

#include "sim_conn.h"
#include "sim_domain.h"

/* Allocates count contiguous frames of d's RAM and count grant refs for
 * grantee. Returns 0 or -errno; *frame and refs[] are filled. */
int sim_grant_share(struct sim_conn *c, struct sim_domain *d, uint32_t grantee,
		    uint32_t count, bool writable, uint64_t *frame, uint32_t *refs);
/* Ends access and frees the frames of the share starting at frame. */
int sim_grant_unshare(struct sim_conn *c, struct sim_domain *d, uint64_t frame, uint32_t count);

/* Registers what happens when a share or mapping of conn c goes away:
 * clear the byte at (mem domain, frame, offset) and/or notify port of c's
 * domain. Returns an id (>0) or -errno. */
int sim_notify_add(struct sim_conn *c, uint32_t mem_domid, uint64_t frame,
		   uint32_t offset, uint32_t port, uint32_t flags);
/* Runs and forgets notification id. */
int sim_notify_run(struct sim_conn *c, uint32_t id);

/* Everything c shared or registered: notifications run, grants revoked. */
void sim_grant_conn_closed(struct sim_conn *c);
/* Domain d is dying: all its grants are revoked. */
void sim_grant_domain_destroyed(struct sim_domain *d);

#endif
