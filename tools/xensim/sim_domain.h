/* Simulated domains: guest RAM (a memfd), a grant table in shared memory
 * (the v1 entries of xen/grant_table.h, read directly by mapping clients,
 * as Xen reads a guest's table) and event-channel ports. */
#ifndef XENSIM_SIM_DOMAIN_H
#define XENSIM_SIM_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <xen/grant_table.h>

#include "sim_proto.h"

struct sim_conn;

enum sim_port_state { PORT_FREE, PORT_UNBOUND, PORT_INTERDOMAIN };

struct sim_port {
	enum sim_port_state state;
	uint32_t remote_dom;
	uint32_t remote_port;     /* valid when INTERDOMAIN */
	struct sim_conn *owner;   /* the client handle bound to it */
	int inbox_fd;             /* eventfd this end waits on */
	int peer_fd;              /* eventfd the other end waits on */
};

struct sim_domain {
	uint32_t domid;
	char name[64];
	uint32_t memory_mib;
	int mem_fd;               /* guest RAM */
	uint32_t nr_frames;
	uint8_t *frame_used;      /* one byte per frame: allocator map */
	uint32_t next_frame;      /* next-fit cursor */
	uint8_t *mem;             /* daemon's own view of guest RAM */
	int gnt_fd;
	grant_entry_v1_t *gnt;    /* SIM_NR_GRANTS entries, shared */
	uint32_t grants_in_use;
	struct sim_port *ports;   /* SIM_NR_PORTS entries; 0 is never used */
	uint32_t ports_in_use;
	/* Run state, as Xen keeps it. */
	uint8_t uuid[SIM_UUID_LEN];
	uint32_t pause_count;     /* the controller's references (max 255) */
	bool shutdown;
	uint32_t shutdown_reason; /* SHUTDOWN_* */
	bool introduced;
	bool has_vm;              /* /vm/<uuid> written (the xl path) */
	/* The guest's init (see enum sim_init_state). */
	char **init_argv;         /* NULL: none */
	bool resumed;
	enum sim_init_state init_state;
	pid_t init_pid;           /* also its process group */
	int init_status;
};

/* Returns the domain or NULL (ESRCH). */
struct sim_domain *sim_domain_find(uint32_t domid);
struct sim_domain *sim_domain_find_name(const char *name);
/* The domid the next created domain will get. */
uint32_t sim_domain_next_domid(void);
/* Creates a domain with a fresh domid (or the given one when want_domid
 * >= 0, used for dom0). Returns it, or NULL with errno set. */
struct sim_domain *sim_domain_create(int want_domid, const char *name, uint32_t memory_mib);
/* Frees RAM and table; ports and grants must already be torn down. */
void sim_domain_free(struct sim_domain *d);
/* Fills up to max entries for the domains with domid >= first, in
 * ascending order; returns the count. */
unsigned sim_domain_list(uint32_t first, struct sim_domain_info *out, unsigned max);
/* The domain whose init has this pid, or NULL. */
struct sim_domain *sim_domain_find_init(pid_t pid);
/* Calls fn for each live domain. */
void sim_domain_foreach(void (*fn)(struct sim_domain *d, void *arg), void *arg);

/* Frame allocator over guest RAM: a contiguous run of count frames.
 * Returns the first frame or -ENOMEM. */
int64_t sim_frames_alloc(struct sim_domain *d, uint32_t count);
void sim_frames_free(struct sim_domain *d, uint64_t frame, uint32_t count);

#endif
