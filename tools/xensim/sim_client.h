/* The client side of xensimd's control protocol, shared by the simulated
 * libxengnttab/libxenevtchn and the xensim CLI. */
#ifndef XENSIM_SIM_CLIENT_H
#define XENSIM_SIM_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "sim_proto.h"

/* $XENSIM_RUNDIR or the default. */
const char *sim_rundir(void);
/* The domain this process runs in: $XENSIM_DOMID, default 0. Returns -1
 * when the variable is set but not a number. */
int sim_self_domid(void);

/* A handle of size bytes, zeroed, for the domain this process runs in
 * (its id in *self): what each simulated library's open starts with. NULL
 * with errno EINVAL ($XENSIM_DOMID is no number) or ENOMEM. */
void *sim_handle_alloc(size_t size, uint32_t *self);

/* Connects to xensimd and introduces the process as domid. Returns the
 * socket or -errno (-ENOENT/-ECONNREFUSED: the daemon is not running). */
int sim_connect(uint32_t domid, int flags_cloexec);
/* Sends req (req_len bytes), waits for the reply. Received descriptors go
 * to fds (up to 2, *nfds set). Returns 0 and the reply's own error in
 * -rep->err, or -errno when the transport failed. */
int sim_call(int sock, const struct sim_msg *req, size_t req_len,
	     struct sim_msg *rep, int *fds, int *nfds);

#endif
