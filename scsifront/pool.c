/* The persistent page pool. A userspace frontend can only grant pages it
 * shares up front (gntalloc), so the ring page, read-only indirect segment
 * tables for each ring slot and a pool of data pages are shared once at
 * connect and reused for every command: data is copied in and out, no
 * grant is made or ended per I/O. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vf_internal.h"

#define VF_POOL_MIN 32u

/* A request's seg[] holds at most VSCSIIF_SG_TABLESIZE table pages. */
#define VF_MAX_TABLES VSCSIIF_SG_TABLESIZE

/* Shares the pool and enough table pages for a command to use all of it
 * (up to what one request can describe). 0, or -errno with nothing left
 * shared. */
static int pool_share_with_tables(struct vscsi_host *h, unsigned n)
{
	unsigned tps = (unsigned)((n + VF_SEGS_PER_TABLE - 1) / VF_SEGS_PER_TABLE);

	if (tps > VF_MAX_TABLES)
		tps = VF_MAX_TABLES;
	h->pool = xengntshr_share_pages(h->shr, (uint32_t)h->be_domid, (int)n, h->pool_refs, 1);
	if (!h->pool)
		return -errno;
	h->table_refs = calloc((size_t)VF_SLOTS * tps, sizeof(*h->table_refs));
	if (!h->table_refs) {
		xengntshr_unshare(h->shr, h->pool, n);
		h->pool = NULL;
		return -ENOMEM;
	}
	h->tables = xengntshr_share_pages(h->shr, (uint32_t)h->be_domid, VF_SLOTS * (int)tps,
					  h->table_refs, 0);
	if (!h->tables) {
		int e = -errno;

		xengntshr_unshare(h->shr, h->pool, n);
		h->pool = NULL;
		free(h->table_refs);
		h->table_refs = NULL;
		return e;
	}
	h->pool_pages = n;
	h->tables_per_slot = tps;
	return 0;
}

unsigned vf_pool_max_segments(const struct vscsi_host *h)
{
	size_t cap = (size_t)h->tables_per_slot * VF_SEGS_PER_TABLE;

	return h->pool_pages < cap ? h->pool_pages : (unsigned)cap;
}

int vf_pool_share(struct vscsi_host *h, unsigned want, char *err, size_t errlen)
{
	unsigned per_slot;
	int r = -ENOMEM;

	h->ring_page = xengntshr_share_pages(h->shr, (uint32_t)h->be_domid, 1, &h->ring_ref, 1);
	if (!h->ring_page) {
		snprintf(err, errlen, "%s: cannot share the ring page with domain %d: %s", h->name,
			 h->be_domid, strerror(errno));
		return -errno;
	}
	if (want < VF_POOL_MIN)
		want = VF_POOL_MIN;
	h->pool_refs = calloc(want, sizeof(*h->pool_refs));
	if (!h->pool_refs)
		return -ENOMEM;
	/* A system's grant limit (gntalloc's is 1024 pages by default) may be
	 * lower than asked: settle for less rather than fail. */
	for (unsigned n = want; n >= VF_POOL_MIN; n /= 2) {
		r = pool_share_with_tables(h, n);
		if (!r)
			break;
		vf_debug("%s: sharing %u pool pages and their tables failed (%s), trying fewer",
			 h->name, n, strerror(-r));
	}
	if (r) {
		snprintf(err, errlen, "%s: cannot share a data page pool with domain %d: %s", h->name,
			 h->be_domid, strerror(-r));
		return -ENOMEM;
	}
	if (h->pool_pages < want)
		vf_warn("%s: pool limited to %u pages (asked %u)", h->name, h->pool_pages, want);
	h->free_pages = calloc(h->pool_pages, sizeof(*h->free_pages));
	if (!h->free_pages)
		return -ENOMEM;
	for (unsigned i = 0; i < h->pool_pages; i++)
		h->free_pages[i] = h->pool_pages - 1 - i;
	h->nfree = h->pool_pages;
	per_slot = vf_pool_max_segments(h);
	for (int i = 0; i < VF_SLOTS; i++) {
		h->slots[i].pages = calloc(per_slot, sizeof(uint32_t));
		if (!h->slots[i].pages)
			return -ENOMEM;
	}
	return 0;
}

void vf_pool_unshare(struct vscsi_host *h)
{
	if (h->pool)
		xengntshr_unshare(h->shr, h->pool, h->pool_pages);
	if (h->tables)
		xengntshr_unshare(h->shr, h->tables, VF_SLOTS * h->tables_per_slot);
	if (h->ring_page)
		xengntshr_unshare(h->shr, h->ring_page, 1);
	h->pool = h->tables = NULL;
	h->ring_page = NULL;
	free(h->pool_refs);
	free(h->table_refs);
	h->table_refs = NULL;
	h->tables_per_slot = 0;
	free(h->free_pages);
	h->pool_refs = h->free_pages = NULL;
	for (int i = 0; i < VF_SLOTS; i++) {
		free(h->slots[i].pages);
		h->slots[i].pages = NULL;
		h->slots[i].zbuf = NULL;
	}
	while (h->zbufs) {   /* what the application did not free */
		struct vf_zbuf *z = h->zbufs;

		h->zbufs = z->next;
		free(z);
	}
}

/* Takes the pages for len bytes into slot s. 0, or -EAGAIN if the pool
 * has not enough free pages now. */
int vf_pool_get(struct vscsi_host *h, struct vf_slot *s, size_t len)
{
	unsigned n = (unsigned)((len + VF_PAGE - 1) / VF_PAGE);

	if (n > h->nfree)
		return -EAGAIN;
	for (unsigned i = 0; i < n; i++)
		s->pages[i] = h->free_pages[--h->nfree];
	s->npages = n;
	return 0;
}

static void zbuf_release(struct vscsi_host *h, struct vf_zbuf *z)
{
	struct vf_zbuf **pp = &h->zbufs;

	for (unsigned i = 0; i < z->n; i++)
		h->free_pages[h->nfree++] = z->first + i;
	while (*pp != z)
		pp = &(*pp)->next;
	*pp = z->next;
	free(z);
}

void vf_pool_put(struct vscsi_host *h, struct vf_slot *s)
{
	if (s->zbuf) {
		if (!--s->zbuf->users && s->zbuf->freed)
			zbuf_release(h, s->zbuf);
		s->zbuf = NULL;
	} else {
		for (unsigned i = 0; i < s->npages; i++)
			h->free_pages[h->nfree++] = s->pages[i];
	}
	s->npages = 0;
}

bool vf_pool_lend(struct vscsi_host *h, struct vf_slot *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t off;

	if (!h->zbufs || p < h->pool || p >= h->pool + (size_t)h->pool_pages * VF_PAGE)
		return false;
	off = (size_t)(p - h->pool);
	if (off % VF_PAGE)
		return false;
	for (struct vf_zbuf *z = h->zbufs; z; z = z->next) {
		unsigned first = (unsigned)(off / VF_PAGE), n = (unsigned)((len + VF_PAGE - 1) / VF_PAGE);

		if (z->freed || first < z->first || first + n > z->first + z->n)
			continue;
		for (unsigned i = 0; i < n; i++)
			s->pages[i] = first + i;
		s->npages = n;
		s->zbuf = z;
		z->users++;
		return true;
	}
	return false;
}

/* A run of n free pages, taken out of the free stack: its first page, or
 * -1. A linear search: buffers are allocated rarely, commands often. */
static int pool_take_run(struct vscsi_host *h, unsigned n)
{
	uint8_t *is_free = calloc(h->pool_pages, 1);
	unsigned run = 0, k = 0;
	int first = -1;

	if (!is_free)
		return -1;
	for (unsigned i = 0; i < h->nfree; i++)
		is_free[h->free_pages[i]] = 1;
	for (unsigned i = 0; i < h->pool_pages && first < 0; i++) {
		run = is_free[i] ? run + 1 : 0;
		if (run == n)
			first = (int)(i + 1 - n);
	}
	if (first >= 0) {
		for (unsigned i = 0; i < h->nfree; i++)
			if (h->free_pages[i] < (unsigned)first || h->free_pages[i] >= (unsigned)first + n)
				h->free_pages[k++] = h->free_pages[i];
		h->nfree = k;
	}
	free(is_free);
	return first;
}

void *vscsi_buf_alloc(struct vscsi_host *h, size_t len)
{
	unsigned n = (unsigned)((len + VF_PAGE - 1) / VF_PAGE);
	struct vf_zbuf *z;
	void *p = NULL;
	int first;

	if (!len || len > (size_t)h->max_segments * VF_PAGE) {
		errno = E2BIG;
		return NULL;
	}
	z = calloc(1, sizeof(*z));
	if (!z)
		return NULL;
	pthread_mutex_lock(&h->lock);
	first = h->pool ? pool_take_run(h, n) : -1;
	if (first >= 0) {
		z->first = (unsigned)first;
		z->n = n;
		z->next = h->zbufs;
		h->zbufs = z;
		p = h->pool + (size_t)first * VF_PAGE;
	}
	pthread_mutex_unlock(&h->lock);
	if (!p) {
		free(z);
		errno = EAGAIN;
	}
	return p;
}

void vscsi_buf_free(struct vscsi_host *h, void *buf)
{
	pthread_mutex_lock(&h->lock);
	for (struct vf_zbuf *z = h->zbufs; z; z = z->next) {
		if (h->pool + (size_t)z->first * VF_PAGE != buf || z->freed)
			continue;
		z->freed = true;
		if (!z->users)
			zbuf_release(h, z);
		break;
	}
	pthread_mutex_unlock(&h->lock);
}

void vf_pool_copy_in(struct vscsi_host *h, const struct vf_slot *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (unsigned i = 0; i < s->npages && len; i++) {
		size_t n = len < VF_PAGE ? len : VF_PAGE;

		memcpy(h->pool + (size_t)s->pages[i] * VF_PAGE, p, n);
		p += n;
		len -= n;
	}
}

void vf_pool_copy_out(struct vscsi_host *h, const struct vf_slot *s, void *buf, size_t len)
{
	uint8_t *p = buf;

	for (unsigned i = 0; i < s->npages && len; i++) {
		size_t n = len < VF_PAGE ? len : VF_PAGE;

		memcpy(p, h->pool + (size_t)s->pages[i] * VF_PAGE, n);
		p += n;
		len -= n;
	}
}
