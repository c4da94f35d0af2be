#include "sim_grant.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim_evtchn.h"

struct sim_share {
	struct sim_share *next;
	struct sim_conn *owner;
	uint32_t domid;
	uint64_t frame;
	uint32_t count;
	uint32_t *refs;
};

struct sim_notify {
	struct sim_notify *next;
	struct sim_conn *owner;
	uint32_t id;
	uint32_t mem_domid;
	uint64_t frame;
	uint32_t offset;
	uint32_t port;
	uint32_t flags;
};

static struct sim_share *shares;
static struct sim_notify *notifies;
static uint32_t next_notify_id = 1;

/* The lowest free ref, as a Linux guest hands them out: a ref ended is
 * the next one granted, so a frontend that reconnects shares its new ring
 * under the number of the old one (seen under real Xen; a backend must not
 * take the number for the ring). */
static int ref_alloc(struct sim_domain *d)
{
	for (uint32_t ref = SIM_FIRST_GRANT; ref < SIM_NR_GRANTS; ref++)
		if (!d->gnt[ref].flags)
			return (int)ref;
	return -ENOSPC;
}

static void ref_end(struct sim_domain *d, uint32_t ref)
{
	/* Clear flags first: a concurrent mapper sees the entry go invalid. */
	__atomic_store_n(&d->gnt[ref].flags, 0, __ATOMIC_RELEASE);
	d->gnt[ref].domid = 0;
	d->gnt[ref].frame = 0;
	d->grants_in_use--;
}

int sim_grant_share(struct sim_conn *c, struct sim_domain *d, uint32_t grantee,
		    uint32_t count, bool writable, uint64_t *frame, uint32_t *refs)
{
	struct sim_share *s;
	int64_t first;
	uint32_t i;

	if (count == 0 || count > SIM_MAX_REFS)
		return -EINVAL;
	if (!sim_domain_find(grantee))
		return -ESRCH;
	if (d->grants_in_use + count > SIM_NR_GRANTS - SIM_FIRST_GRANT)
		return -ENOSPC;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->refs = calloc(count, sizeof(uint32_t)))) {
		free(s);
		return -ENOMEM;
	}
	first = sim_frames_alloc(d, count);
	if (first < 0) {
		free(s->refs);
		free(s);
		return (int)first;
	}
	for (i = 0; i < count; i++) {
		int ref = ref_alloc(d);

		/* Cannot fail: free entries were counted above. */
		s->refs[i] = (uint32_t)ref;
		d->gnt[ref].domid = (domid_t)grantee;
		d->gnt[ref].frame = (uint32_t)(first + i);
		__atomic_store_n(&d->gnt[ref].flags,
				 (uint16_t)(GTF_permit_access | (writable ? 0 : GTF_readonly)),
				 __ATOMIC_RELEASE);
		d->grants_in_use++;
	}
	s->owner = c;
	s->domid = d->domid;
	s->frame = (uint64_t)first;
	s->count = count;
	s->next = shares;
	shares = s;
	*frame = s->frame;
	memcpy(refs, s->refs, count * sizeof(uint32_t));
	return 0;
}

static void share_destroy(struct sim_domain *d, struct sim_share *s)
{
	if (d) {
		for (uint32_t i = 0; i < s->count; i++)
			ref_end(d, s->refs[i]);
		sim_frames_free(d, s->frame, s->count);
	}
	free(s->refs);
	free(s);
}

int sim_grant_unshare(struct sim_conn *c, struct sim_domain *d, uint64_t frame, uint32_t count)
{
	for (struct sim_share **pp = &shares; *pp; pp = &(*pp)->next) {
		struct sim_share *s = *pp;

		if (s->owner == c && s->domid == d->domid && s->frame == frame) {
			if (s->count != count)
				return -EINVAL;
			*pp = s->next;
			share_destroy(d, s);
			return 0;
		}
	}
	return -ENOENT;
}

int sim_notify_add(struct sim_conn *c, uint32_t mem_domid, uint64_t frame,
		   uint32_t offset, uint32_t port, uint32_t flags)
{
	struct sim_domain *md = sim_domain_find(mem_domid);
	struct sim_notify *n;

	if (!md)
		return -ESRCH;
	if (frame >= md->nr_frames || offset >= SIM_PAGE_SIZE)
		return -EINVAL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->owner = c;
	n->id = next_notify_id++;
	if (!next_notify_id)
		next_notify_id = 1;
	n->mem_domid = mem_domid;
	n->frame = frame;
	n->offset = offset;
	n->port = port;
	n->flags = flags;
	n->next = notifies;
	notifies = n;
	return (int)n->id;
}

static void notify_fire(struct sim_notify *n)
{
	struct sim_domain *md = sim_domain_find(n->mem_domid);
	struct sim_domain *own = sim_domain_find(n->owner->domid);

	if ((n->flags & SIM_F_NOTIFY_BYTE) && md)
		md->mem[n->frame * SIM_PAGE_SIZE + n->offset] = 0;
	if ((n->flags & SIM_F_NOTIFY_PORT) && own)
		sim_evtchn_send(own, n->port);
}

int sim_notify_run(struct sim_conn *c, uint32_t id)
{
	for (struct sim_notify **pp = &notifies; *pp; pp = &(*pp)->next) {
		struct sim_notify *n = *pp;

		if (n->owner == c && n->id == id) {
			*pp = n->next;
			notify_fire(n);
			free(n);
			return 0;
		}
	}
	return -ENOENT;
}

void sim_grant_conn_closed(struct sim_conn *c)
{
	for (struct sim_notify **pp = &notifies; *pp;) {
		struct sim_notify *n = *pp;

		if (n->owner == c) {
			*pp = n->next;
			notify_fire(n);
			free(n);
		} else {
			pp = &n->next;
		}
	}
	for (struct sim_share **pp = &shares; *pp;) {
		struct sim_share *s = *pp;

		if (s->owner == c) {
			*pp = s->next;
			share_destroy(sim_domain_find(s->domid), s);
		} else {
			pp = &s->next;
		}
	}
}

void sim_grant_domain_destroyed(struct sim_domain *d)
{
	for (struct sim_notify **pp = &notifies; *pp;) {
		struct sim_notify *n = *pp;

		if (n->owner->domid == d->domid || n->mem_domid == d->domid) {
			*pp = n->next;
			free(n);
		} else {
			pp = &n->next;
		}
	}
	for (struct sim_share **pp = &shares; *pp;) {
		struct sim_share *s = *pp;

		if (s->domid == d->domid) {
			*pp = s->next;
			share_destroy(d, s);
		} else {
			pp = &s->next;
		}
	}
}
