/* Views of another simulated domain's RAM and grant table, kept by a
 * library handle for its whole life (mapping memory per I/O costs ~19 µs
 * here; a persistent view costs nothing). Internal to the simulated libs. */
#ifndef XENSIM_SIM_PEER_H
#define XENSIM_SIM_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <xen/grant_table.h>

struct sim_peer {
	struct sim_peer *next;
	uint32_t domid;
	uint32_t nr_frames;
	int mem_fd;
	uint8_t *rw;                    /* whole RAM, writable view */
	const uint8_t *ro;              /* whole RAM, read-only view */
	const grant_entry_v1_t *gnt;    /* the domain's grant table */
};

/* Looks up or creates the view of domid through the daemon socket.
 * Returns NULL with errno set (ESRCH: no such domain). Not thread safe:
 * callers hold their handle's lock. */
struct sim_peer *sim_peer_get(struct sim_peer **list, int sock, uint32_t domid);
void sim_peer_free_all(struct sim_peer **list);

/* Validates that ref of peer p may be accessed by domain self (for
 * writing when write is set), as Xen checks a grant entry. Returns
 * GNTST_okay and the frame, or a GNTST_* error. */
int sim_grant_check(const struct sim_peer *p, uint32_t self, uint32_t ref, bool write,
		    uint32_t *frame);

#endif
