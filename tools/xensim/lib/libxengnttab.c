/* The simulated libxengnttab.so.1: xengnttab (map, unmap, copy) and
 * xengntshr (share) over xensimd, ABI-compatible with Debian's library
 * (same soname, same symbol versions). Grant checks follow Xen: a grant
 * maps only for the domain it names, a read-only grant refuses a writable
 * mapping or a copy into it, an ended or unknown ref fails. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xengnttab.h>

#include "sim_client.h"
#include "sim_peer.h"

#define EXPORT __attribute__((visibility("default")))

struct sim_mapping {
	struct sim_mapping *next;
	uint8_t *addr;
	uint32_t count;
	bool own_region;      /* pages were mmapped one by one: munmap on unmap */
	uint64_t frame;       /* xengntshr: first frame of the share */
	uint32_t notify_id;   /* teardown notification registered, or 0 */
};

struct xengntdev_handle {
	pthread_mutex_t lock;
	int sock;
	uint32_t self;
	bool sharer;
	uint32_t max_grants;  /* 0: no limit set */
	uint32_t mapped;
	struct sim_peer *peers;
	struct sim_mapping *maps;
	struct sim_msg req, rep;
};

static int gnt_errno(int st)
{
	switch (st) {
	case GNTST_bad_domain: return ESRCH;
	case GNTST_permission_denied: return EACCES;
	case GNTST_bad_gntref: return EINVAL;
	default: return EIO;
	}
}

static struct xengntdev_handle *handle_open(unsigned flags, bool sharer)
{
	struct xengntdev_handle *h;
	uint32_t self;

	(void)flags;
	h = sim_handle_alloc(sizeof(*h), &self);
	if (!h)
		return NULL;
	h->sock = sim_connect(self, 1);
	if (h->sock < 0) {
		errno = -h->sock;
		free(h);
		return NULL;
	}
	h->self = self;
	h->sharer = sharer;
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

static int handle_close(struct xengntdev_handle *h)
{
	if (!h)
		return 0;
	while (h->maps) {
		struct sim_mapping *m = h->maps;

		h->maps = m->next;
		if (m->own_region)
			munmap(m->addr, (size_t)m->count * SIM_PAGE_SIZE);
		free(m);
	}
	/* Closing the socket makes the daemon run pending notifications and
	 * end this handle's shares, as closing /dev/xen/gntalloc does. */
	close(h->sock);
	sim_peer_free_all(&h->peers);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return 0;
}

/* One request/response with the daemon; caller holds the lock and has
 * filled h->req. Returns 0 or -errno. */
static int handle_call(struct xengntdev_handle *h, size_t len)
{
	int err = sim_call(h->sock, &h->req, len, &h->rep, NULL, NULL);

	return err ? err : -h->rep.err;
}

static int notify_add(struct xengntdev_handle *h, uint32_t mem_domid, uint64_t frame,
		      uint32_t offset, evtchn_port_t port, uint32_t *id)
{
	uint32_t flags = 0;
	int err;

	*id = 0;
	if (offset != (uint32_t)-1)
		flags |= SIM_F_NOTIFY_BYTE;
	if (port != (evtchn_port_t)-1)
		flags |= SIM_F_NOTIFY_PORT;
	if (!flags)
		return 0;
	if (offset != (uint32_t)-1 && offset >= SIM_PAGE_SIZE)
		return -EINVAL;
	memset(&h->req, 0, SIM_MSG_HDR_LEN);
	h->req.op = SIM_OP_NOTIFY_ADD;
	h->req.domid = mem_domid;
	h->req.frame = frame;
	h->req.notify_offset = offset == (uint32_t)-1 ? 0 : offset;
	h->req.port = port;
	h->req.flags = flags;
	err = handle_call(h, SIM_MSG_HDR_LEN);
	if (!err)
		*id = h->rep.count;
	return err;
}

static void notify_run(struct xengntdev_handle *h, uint32_t id)
{
	if (!id)
		return;
	memset(&h->req, 0, SIM_MSG_HDR_LEN);
	h->req.op = SIM_OP_NOTIFY_RUN;
	h->req.count = id;
	handle_call(h, SIM_MSG_HDR_LEN);
}

/* ---- xengnttab ---- */

EXPORT xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger, unsigned open_flags)
{
	(void)logger;
	return handle_open(open_flags, false);
}

EXPORT int xengnttab_close(xengnttab_handle *xgt) { return handle_close(xgt); }
EXPORT int xengnttab_fd(xengnttab_handle *xgt) { return xgt->sock; }

EXPORT int xengnttab_set_max_grants(xengnttab_handle *xgt, uint32_t nr_grants)
{
	pthread_mutex_lock(&xgt->lock);
	xgt->max_grants = nr_grants;
	pthread_mutex_unlock(&xgt->lock);
	return 0;
}

static void *map_locked(struct xengntdev_handle *h, uint32_t count, const uint32_t *domids,
			uint32_t domid, const uint32_t *refs, int prot, struct sim_mapping **out)
{
	bool write = prot & PROT_WRITE;
	struct sim_peer *first = NULL;
	uint32_t first_frame = 0;
	bool contiguous = true;
	struct sim_mapping *m;
	uint8_t *addr;

	if (count == 0 || count > SIM_NR_GRANTS) {
		errno = EINVAL;
		return NULL;
	}
	if (h->max_grants && h->mapped + count > h->max_grants) {
		errno = ENOMEM; /* gntdev's answer past its limit */
		return NULL;
	}
	/* Validate every ref before mapping anything. */
	for (uint32_t i = 0; i < count; i++) {
		uint32_t dom = domids ? domids[i] : domid, frame;
		struct sim_peer *p = sim_peer_get(&h->peers, h->sock, dom);
		int st;

		if (!p)
			return NULL;
		st = sim_grant_check(p, h->self, refs[i], write, &frame);
		if (st != GNTST_okay) {
			errno = gnt_errno(st);
			return NULL;
		}
		if (i == 0) {
			first = p;
			first_frame = frame;
		} else if (p != first || frame != first_frame + i) {
			contiguous = false;
		}
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	if (contiguous) {
		/* Inside the persistent view: no syscall per mapping. */
		addr = (uint8_t *)(write ? first->rw : first->ro) + (size_t)first_frame * SIM_PAGE_SIZE;
	} else {
		addr = mmap(NULL, (size_t)count * SIM_PAGE_SIZE, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (addr == MAP_FAILED) {
			free(m);
			return NULL;
		}
		for (uint32_t i = 0; i < count; i++) {
			struct sim_peer *p = sim_peer_get(&h->peers, h->sock, domids ? domids[i] : domid);
			uint32_t frame = 0;

			sim_grant_check(p, h->self, refs[i], write, &frame);
			if (mmap(addr + (size_t)i * SIM_PAGE_SIZE, SIM_PAGE_SIZE,
				 write ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED | MAP_FIXED,
				 p->mem_fd, (off_t)frame * SIM_PAGE_SIZE) == MAP_FAILED) {
				int err = errno;

				munmap(addr, (size_t)count * SIM_PAGE_SIZE);
				free(m);
				errno = err;
				return NULL;
			}
		}
		m->own_region = true;
	}
	m->addr = addr;
	m->count = count;
	m->frame = first_frame;
	m->next = h->maps;
	h->maps = m;
	h->mapped += count;
	if (out)
		*out = m;
	return addr;
}

EXPORT void *xengnttab_map_grant_refs(xengnttab_handle *xgt, uint32_t count, uint32_t *domids,
				      uint32_t *refs, int prot)
{
	void *r;

	pthread_mutex_lock(&xgt->lock);
	r = map_locked(xgt, count, domids, 0, refs, prot, NULL);
	pthread_mutex_unlock(&xgt->lock);
	return r;
}

EXPORT void *xengnttab_map_domain_grant_refs(xengnttab_handle *xgt, uint32_t count,
					     uint32_t domid, uint32_t *refs, int prot)
{
	void *r;

	pthread_mutex_lock(&xgt->lock);
	r = map_locked(xgt, count, NULL, domid, refs, prot, NULL);
	pthread_mutex_unlock(&xgt->lock);
	return r;
}

EXPORT void *xengnttab_map_grant_ref(xengnttab_handle *xgt, uint32_t domid, uint32_t ref, int prot)
{
	return xengnttab_map_domain_grant_refs(xgt, 1, domid, &ref, prot);
}

EXPORT void *xengnttab_map_grant_ref_notify(xengnttab_handle *xgt, uint32_t domid, uint32_t ref,
					    int prot, uint32_t notify_offset,
					    evtchn_port_t notify_port)
{
	struct sim_mapping *m = NULL;
	void *r;
	int err;

	pthread_mutex_lock(&xgt->lock);
	r = map_locked(xgt, 1, NULL, domid, &ref, prot, &m);
	if (r) {
		err = notify_add(xgt, domid, m->frame, notify_offset, notify_port, &m->notify_id);
		if (err) {
			/* Undo: the caller gets nothing half-made. */
			xgt->maps = m->next;
			xgt->mapped--;
			free(m);
			r = NULL;
			errno = -err;
		}
	}
	pthread_mutex_unlock(&xgt->lock);
	return r;
}

EXPORT int xengnttab_unmap(xengnttab_handle *xgt, void *start_address, uint32_t count)
{
	int ret = -1;

	pthread_mutex_lock(&xgt->lock);
	for (struct sim_mapping **pp = &xgt->maps; *pp; pp = &(*pp)->next) {
		struct sim_mapping *m = *pp;

		if (m->addr != start_address)
			continue;
		if (m->count != count)
			break;
		*pp = m->next;
		notify_run(xgt, m->notify_id);
		if (m->own_region)
			munmap(m->addr, (size_t)m->count * SIM_PAGE_SIZE);
		xgt->mapped -= m->count;
		free(m);
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&xgt->lock);
	if (ret)
		errno = EINVAL;
	return ret;
}

EXPORT int xengnttab_grant_copy(xengnttab_handle *xgt, uint32_t count,
				xengnttab_grant_copy_segment_t *segs)
{
	/* One lock for the whole batch: a 1 MiB command is 256 segments, and
	 * taking the lock per segment showed up as a quarter of scsiback's
	 * CPU time in a profile. */
	pthread_mutex_lock(&xgt->lock);
	for (uint32_t i = 0; i < count; i++) {
		xengnttab_grant_copy_segment_t *s = &segs[i];
		uint8_t *dst = s->dest.virt;
		const uint8_t *src = s->source.virt;
		int st = GNTST_okay;

		if (s->flags & GNTCOPY_source_gref) {
			struct sim_peer *p = sim_peer_get(&xgt->peers, xgt->sock, s->source.foreign.domid);
			uint32_t frame;

			if (!p)
				st = GNTST_bad_domain;
			else if (s->source.foreign.offset + (uint32_t)s->len > SIM_PAGE_SIZE)
				st = GNTST_bad_copy_arg;
			else if ((st = sim_grant_check(p, xgt->self, s->source.foreign.ref, false,
						       &frame)) == GNTST_okay)
				src = p->ro + (size_t)frame * SIM_PAGE_SIZE + s->source.foreign.offset;
		}
		if (st == GNTST_okay && (s->flags & GNTCOPY_dest_gref)) {
			struct sim_peer *p = sim_peer_get(&xgt->peers, xgt->sock, s->dest.foreign.domid);
			uint32_t frame;

			if (!p)
				st = GNTST_bad_domain;
			else if (s->dest.foreign.offset + (uint32_t)s->len > SIM_PAGE_SIZE)
				st = GNTST_bad_copy_arg;
			else if ((st = sim_grant_check(p, xgt->self, s->dest.foreign.ref, true,
						       &frame)) == GNTST_okay)
				dst = p->rw + (size_t)frame * SIM_PAGE_SIZE + s->dest.foreign.offset;
		}
		if (st == GNTST_okay)
			memcpy(dst, src, s->len);
		s->status = (int16_t)st;
	}
	pthread_mutex_unlock(&xgt->lock);
	return 0;
}

EXPORT int xengnttab_dmabuf_exp_from_refs(xengnttab_handle *xgt, uint32_t domid, uint32_t flags,
					  uint32_t count, const uint32_t *refs, uint32_t *fd)
{
	(void)xgt; (void)domid; (void)flags; (void)count; (void)refs; (void)fd;
	errno = ENOSYS;
	return -1;
}

EXPORT int xengnttab_dmabuf_exp_wait_released(xengnttab_handle *xgt, uint32_t fd,
					      uint32_t wait_to_ms)
{
	(void)xgt; (void)fd; (void)wait_to_ms;
	errno = ENOSYS;
	return -1;
}

EXPORT int xengnttab_dmabuf_imp_to_refs(xengnttab_handle *xgt, uint32_t domid, uint32_t fd,
					uint32_t count, uint32_t *refs)
{
	(void)xgt; (void)domid; (void)fd; (void)count; (void)refs;
	errno = ENOSYS;
	return -1;
}

EXPORT int xengnttab_dmabuf_imp_release(xengnttab_handle *xgt, uint32_t fd)
{
	(void)xgt; (void)fd;
	errno = ENOSYS;
	return -1;
}

/* ---- xengntshr ---- */

EXPORT xengntshr_handle *xengntshr_open(struct xentoollog_logger *logger, unsigned open_flags)
{
	(void)logger;
	return handle_open(open_flags, true);
}

EXPORT int xengntshr_close(xengntshr_handle *xgs) { return handle_close(xgs); }
EXPORT int xengntshr_fd(xengntshr_handle *xgs) { return xgs->sock; }

static void *share_locked(struct xengntdev_handle *h, uint32_t domid, int count,
			  uint32_t *refs, int writable, struct sim_mapping **out)
{
	struct sim_peer *own;
	struct sim_mapping *m;
	int err;

	if (count <= 0 || (uint32_t)count > SIM_MAX_REFS) {
		errno = EINVAL;
		return NULL;
	}
	own = sim_peer_get(&h->peers, h->sock, h->self);
	if (!own)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	memset(&h->req, 0, SIM_MSG_HDR_LEN);
	h->req.op = SIM_OP_SHARE;
	h->req.domid = domid;
	h->req.count = (uint32_t)count;
	h->req.flags = writable ? SIM_F_WRITABLE : 0;
	err = handle_call(h, SIM_MSG_HDR_LEN);
	if (err) {
		free(m);
		errno = -err;
		return NULL;
	}
	memcpy(refs, h->rep.u.refs, (size_t)count * sizeof(uint32_t));
	m->frame = h->rep.frame;
	m->count = (uint32_t)count;
	m->addr = own->rw + (size_t)m->frame * SIM_PAGE_SIZE;
	m->next = h->maps;
	h->maps = m;
	if (out)
		*out = m;
	return m->addr;
}

EXPORT void *xengntshr_share_pages(xengntshr_handle *xgs, uint32_t domid, int count,
				   uint32_t *refs, int writable)
{
	void *r;

	pthread_mutex_lock(&xgs->lock);
	r = share_locked(xgs, domid, count, refs, writable, NULL);
	pthread_mutex_unlock(&xgs->lock);
	return r;
}

static int unshare_locked(struct xengntdev_handle *h, struct sim_mapping *m)
{
	notify_run(h, m->notify_id);
	memset(&h->req, 0, SIM_MSG_HDR_LEN);
	h->req.op = SIM_OP_UNSHARE;
	h->req.frame = m->frame;
	h->req.count = m->count;
	return handle_call(h, SIM_MSG_HDR_LEN);
}

EXPORT void *xengntshr_share_page_notify(xengntshr_handle *xgs, uint32_t domid, uint32_t *ref,
					 int writable, uint32_t notify_offset,
					 evtchn_port_t notify_port)
{
	struct sim_mapping *m = NULL;
	void *r;

	pthread_mutex_lock(&xgs->lock);
	r = share_locked(xgs, domid, 1, ref, writable, &m);
	if (r) {
		int err = notify_add(xgs, xgs->self, m->frame, notify_offset, notify_port,
				     &m->notify_id);

		if (err) {
			xgs->maps = m->next;
			unshare_locked(xgs, m);
			free(m);
			r = NULL;
			errno = -err;
		}
	}
	pthread_mutex_unlock(&xgs->lock);
	return r;
}

EXPORT int xengntshr_unshare(xengntshr_handle *xgs, void *start_address, uint32_t count)
{
	int err = -EINVAL;

	pthread_mutex_lock(&xgs->lock);
	for (struct sim_mapping **pp = &xgs->maps; *pp; pp = &(*pp)->next) {
		struct sim_mapping *m = *pp;

		if (m->addr != start_address)
			continue;
		if (m->count == count) {
			*pp = m->next;
			err = unshare_locked(xgs, m);
			free(m);
		}
		break;
	}
	pthread_mutex_unlock(&xgs->lock);
	if (err) {
		errno = -err;
		return -1;
	}
	return 0;
}
