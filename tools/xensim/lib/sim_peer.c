#include "sim_peer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim_client.h"

struct sim_peer *sim_peer_get(struct sim_peer **list, int sock, uint32_t domid)
{
	struct sim_peer *p;
	struct sim_msg *req, *rep;
	int fds[2], nfds = 0, err;
	size_t ram;

	for (p = *list; p; p = p->next)
		if (p->domid == domid)
			return p;
	req = calloc(1, sizeof(*req));
	rep = malloc(sizeof(*rep));
	if (!req || !rep) {
		free(req);
		free(rep);
		errno = ENOMEM;
		return NULL;
	}
	req->op = SIM_OP_DOMAIN_MEM;
	req->domid = domid;
	err = sim_call(sock, req, SIM_MSG_HDR_LEN, rep, fds, &nfds);
	if (!err && rep->err)
		err = -rep->err;
	if (!err && nfds != 2)
		err = -EPROTO;
	ram = (size_t)rep->count * SIM_PAGE_SIZE;
	free(req);
	free(rep);
	if (err) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		errno = -err;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		goto fail;
	p->domid = domid;
	p->nr_frames = (uint32_t)(ram / SIM_PAGE_SIZE);
	p->mem_fd = fds[0];
	p->rw = mmap(NULL, ram, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	p->ro = mmap(NULL, ram, PROT_READ, MAP_SHARED, fds[0], 0);
	p->gnt = mmap(NULL, SIM_NR_GRANTS * sizeof(grant_entry_v1_t), PROT_READ, MAP_SHARED,
		      fds[1], 0);
	close(fds[1]);
	if (p->rw == MAP_FAILED || p->ro == MAP_FAILED || p->gnt == MAP_FAILED) {
		err = errno;
		if (p->rw != MAP_FAILED)
			munmap(p->rw, ram);
		if (p->ro != MAP_FAILED)
			munmap((void *)p->ro, ram);
		if (p->gnt != MAP_FAILED)
			munmap((void *)p->gnt, SIM_NR_GRANTS * sizeof(grant_entry_v1_t));
		close(fds[0]);
		free(p);
		errno = err;
		return NULL;
	}
	p->next = *list;
	*list = p;
	return p;
fail:
	close(fds[0]);
	close(fds[1]);
	errno = ENOMEM;
	return NULL;
}

void sim_peer_free_all(struct sim_peer **list)
{
	while (*list) {
		struct sim_peer *p = *list;
		size_t ram = (size_t)p->nr_frames * SIM_PAGE_SIZE;

		*list = p->next;
		munmap(p->rw, ram);
		munmap((void *)p->ro, ram);
		munmap((void *)p->gnt, SIM_NR_GRANTS * sizeof(grant_entry_v1_t));
		close(p->mem_fd);
		free(p);
	}
}

int sim_grant_check(const struct sim_peer *p, uint32_t self, uint32_t ref, bool write,
		    uint32_t *frame)
{
	uint16_t flags;
	uint32_t f;

	if (ref >= SIM_NR_GRANTS)
		return GNTST_bad_gntref;
	flags = __atomic_load_n(&p->gnt[ref].flags, __ATOMIC_ACQUIRE);
	if (!(flags & GTF_permit_access))
		return GNTST_bad_gntref;
	if (p->gnt[ref].domid != self)
		return GNTST_permission_denied;
	if (write && (flags & GTF_readonly))
		return GNTST_permission_denied;
	f = p->gnt[ref].frame;
	if (f >= p->nr_frames)
		return GNTST_bad_gntref;
	*frame = f;
	return GNTST_okay;
}
