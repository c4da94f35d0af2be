/* The set of domains the store knows (introduced and not yet released),
 * with their XS_SET_TARGET relations. */
#include "xs_store.h"

#include <errno.h>
#include <stdlib.h>

struct xs_domain_entry {
	unsigned domid;
	bool has_target;
	unsigned target;
};

struct xs_domains {
	struct xs_domain_entry *v;
	unsigned n, cap;
};

struct xs_domains *xs_domains_new(void)
{
	return calloc(1, sizeof(struct xs_domains));
}

void xs_domains_free(struct xs_domains *d)
{
	if (!d)
		return;
	free(d->v);
	free(d);
}

static struct xs_domain_entry *domains_find(const struct xs_domains *d,
					     unsigned domid)
{
	for (unsigned i = 0; i < d->n; i++)
		if (d->v[i].domid == domid)
			return &d->v[i];
	return NULL;
}

int xs_domains_add(struct xs_domains *d, unsigned domid)
{
	if (domains_find(d, domid))
		return -EEXIST;
	if (d->n == d->cap) {
		unsigned cap = d->cap ? d->cap * 2 : 8;
		struct xs_domain_entry *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = (struct xs_domain_entry){ .domid = domid };
	return 0;
}

int xs_domains_remove(struct xs_domains *d, unsigned domid)
{
	struct xs_domain_entry *e = domains_find(d, domid);

	if (!e)
		return -ENOENT;
	*e = d->v[--d->n];
	for (unsigned i = 0; i < d->n; i++)
		if (d->v[i].has_target && d->v[i].target == domid)
			d->v[i].has_target = false;
	return 0;
}

bool xs_domains_known(const struct xs_domains *d, unsigned domid)
{
	return domains_find(d, domid) != NULL;
}

int xs_domains_set_target(struct xs_domains *d, unsigned domid, unsigned target)
{
	struct xs_domain_entry *e = domains_find(d, domid);

	if (!e || !domains_find(d, target))
		return -ENOENT;
	e->has_target = true;
	e->target = target;
	return 0;
}

bool xs_domains_get_target(const struct xs_domains *d, unsigned domid,
			   unsigned *target)
{
	const struct xs_domain_entry *e = domains_find(d, domid);

	if (!e || !e->has_target)
		return false;
	*target = e->target;
	return true;
}
