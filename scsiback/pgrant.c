#include "pgrant.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

struct pgrant {
	uint32_t key;        /* gref + 1; 0: empty */
	bool writable;
	uint8_t *page;
};

struct pgrant_cache {
	xengnttab_handle *gnt;
	uint32_t domid;
	unsigned refs;
	unsigned max, n;
	unsigned mask;       /* table size - 1 (a power of two, >= 2 * n) */
	struct pgrant *table;
};

static unsigned pgrant_daemon_mapped;   /* over every cache */

/* The table starts small and doubles as pages are mapped, so a guest
 * that uses a few pages costs a few entries (a vhost's memory matters
 * with hundreds of them). */
#define PGRANT_TABLE_MIN 64u

struct pgrant_cache *pgrant_cache_new(xengnttab_handle *gnt, uint32_t domid, unsigned max_pages)
{
	struct pgrant_cache *c = calloc(1, sizeof(*c));
	unsigned size = PGRANT_TABLE_MIN;

	if (!c)
		return NULL;
	c->table = calloc(size, sizeof(*c->table));
	if (!c->table) {
		free(c);
		return NULL;
	}
	c->gnt = gnt;
	c->domid = domid;
	c->refs = 1;
	c->max = max_pages;
	c->mask = size - 1;
	return c;
}

void pgrant_cache_hold(struct pgrant_cache *c)
{
	c->refs++;
}

void pgrant_cache_drop(struct pgrant_cache *c)
{
	if (--c->refs)
		return;
	for (unsigned i = 0; i <= c->mask; i++)
		if (c->table[i].key)
			xengnttab_unmap(c->gnt, c->table[i].page, 1);
	pgrant_daemon_mapped -= c->n;
	free(c->table);
	free(c);
}

static struct pgrant *slot_of(struct pgrant_cache *c, uint32_t gref)
{
	uint32_t key = gref + 1;
	unsigned i = (key * 2654435761u) & c->mask;

	while (c->table[i].key && c->table[i].key != key)
		i = (i + 1) & c->mask;
	return &c->table[i];
}

/* Keeps the table at most half full. 0, or -ENOMEM. */
static int pgrant_grow(struct pgrant_cache *c)
{
	unsigned size = (c->mask + 1) * 2;
	struct pgrant *old = c->table, *t;

	if (2 * (c->n + 1) <= c->mask + 1)
		return 0;
	t = calloc(size, sizeof(*t));
	if (!t)
		return -ENOMEM;
	c->table = t;
	c->mask = size - 1;
	for (unsigned i = 0; i < size / 2; i++)
		if (old[i].key)
			*slot_of(c, old[i].key - 1) = old[i];
	free(old);
	return 0;
}

uint8_t *pgrant_page(struct pgrant_cache *c, uint32_t gref, bool write)
{
	struct pgrant *e;
	uint8_t *p;

	if (gref == UINT32_MAX) {   /* no such grant; its key would be 0 */
		errno = EINVAL;
		return NULL;
	}
	e = slot_of(c, gref);
	if (e->key && (e->writable || !write))
		return e->page;
	if (e->key) {
		/* Mapped read-only, and commands may be using that mapping:
		 * it stays as it is for the ring's life (a guest that rewrote
		 * its grant to writable gets no second mapping). */
		errno = EACCES;
		return NULL;
	}
	if (c->n >= c->max || pgrant_daemon_mapped >= PGRANT_DAEMON_MAX_PAGES || pgrant_grow(c) < 0) {
		errno = ENOSPC;
		return NULL;
	}
	e = slot_of(c, gref);   /* the table may have grown */
	/* Writable when the grant allows it (ours always do); a read-only
	 * grant is mapped read-only and stays useless for data-in. */
	p = xengnttab_map_grant_ref(c->gnt, c->domid, gref, PROT_READ | PROT_WRITE);
	if (!p) {
		int err = errno;

		if (err == ENOMEM)   /* no room for another mapping: copy */
			return errno = ENOSPC, NULL;
		if (write)
			return errno = err, NULL;
		p = xengnttab_map_grant_ref(c->gnt, c->domid, gref, PROT_READ);
		if (!p)
			return errno == ENOMEM ? (errno = ENOSPC, NULL) : NULL;
		e->writable = false;
	} else {
		e->writable = true;
	}
	c->n++;
	pgrant_daemon_mapped++;
	e->key = gref + 1;
	e->page = p;
	return p;
}

unsigned pgrant_mapped(const struct pgrant_cache *c)
{
	return c->n;
}
