/* A client connection of xensimd's control socket: one per library handle
 * (or CLI call). Grants shared and ports bound through it belong to it and
 * are released when it closes, like Xen releasing a dead process's
 * gntalloc pages and event channels. */
#ifndef XENSIM_SIM_CONN_H
#define XENSIM_SIM_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "evloop.h"

struct sim_conn {
	struct evloop_handler h;
	uint32_t domid;
	bool hello;
	struct sim_conn *next;
};

#endif
