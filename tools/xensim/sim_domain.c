#include "sim_domain.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct sim_domain *domains[SIM_MAX_DOMAINS];
/* Like Xen, domids are not reused while the daemon runs: a stale handle of
 * a destroyed domain can never act for a new one. */
static uint32_t next_domid = 1;

struct sim_domain *sim_domain_find(uint32_t domid)
{
	for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++)
		if (domains[i] && domains[i]->domid == domid)
			return domains[i];
	return NULL;
}

static int memfd_sized(const char *name, size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

uint32_t sim_domain_next_domid(void) { return next_domid; }

struct sim_domain *sim_domain_find_name(const char *name)
{
	for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++)
		if (domains[i] && !strcmp(domains[i]->name, name))
			return domains[i];
	return NULL;
}

struct sim_domain *sim_domain_create(int want_domid, const char *name, uint32_t memory_mib)
{
	unsigned slot;
	struct sim_domain *d;
	char label[96];
	size_t gnt_size = SIM_NR_GRANTS * sizeof(grant_entry_v1_t);

	for (slot = 0; slot < SIM_MAX_DOMAINS && domains[slot]; slot++)
		;
	if (slot == SIM_MAX_DOMAINS) {
		errno = ENOSPC;
		return NULL;
	}
	if (memory_mib == 0 || memory_mib > 65536) {
		errno = EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->mem_fd = d->gnt_fd = -1;
	d->domid = want_domid >= 0 ? (uint32_t)want_domid : next_domid++;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->memory_mib = memory_mib;
	d->nr_frames = memory_mib * (1024 * 1024 / SIM_PAGE_SIZE);

	snprintf(label, sizeof(label), "xensim-dom%u-ram", d->domid);
	d->mem_fd = memfd_sized(label, (size_t)d->nr_frames * SIM_PAGE_SIZE);
	snprintf(label, sizeof(label), "xensim-dom%u-gnttab", d->domid);
	d->gnt_fd = memfd_sized(label, gnt_size);
	if (d->mem_fd < 0 || d->gnt_fd < 0) {
		errno = -(d->mem_fd < 0 ? d->mem_fd : d->gnt_fd);
		goto fail;
	}
	d->mem = mmap(NULL, (size_t)d->nr_frames * SIM_PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, d->mem_fd, 0);
	d->gnt = mmap(NULL, gnt_size, PROT_READ | PROT_WRITE, MAP_SHARED, d->gnt_fd, 0);
	d->frame_used = calloc(d->nr_frames, 1);
	d->ports = calloc(SIM_NR_PORTS, sizeof(*d->ports));
	if (d->mem == MAP_FAILED || d->gnt == MAP_FAILED || !d->frame_used || !d->ports) {
		errno = ENOMEM;
		goto fail;
	}
	domains[slot] = d;
	return d;
fail:
	if (d->mem && d->mem != MAP_FAILED)
		munmap(d->mem, (size_t)d->nr_frames * SIM_PAGE_SIZE);
	if (d->gnt && d->gnt != MAP_FAILED)
		munmap(d->gnt, gnt_size);
	if (d->mem_fd >= 0)
		close(d->mem_fd);
	if (d->gnt_fd >= 0)
		close(d->gnt_fd);
	free(d->frame_used);
	free(d->ports);
	free(d);
	return NULL;
}

void sim_domain_free(struct sim_domain *d)
{
	for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++)
		if (domains[i] == d)
			domains[i] = NULL;
	munmap(d->mem, (size_t)d->nr_frames * SIM_PAGE_SIZE);
	munmap(d->gnt, SIM_NR_GRANTS * sizeof(grant_entry_v1_t));
	close(d->mem_fd);
	close(d->gnt_fd);
	free(d->frame_used);
	free(d->ports);
	for (char **a = d->init_argv; a && *a; a++)
		free(*a);
	free(d->init_argv);
	free(d);
}

struct sim_domain *sim_domain_find_init(pid_t pid)
{
	for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++)
		if (domains[i] && domains[i]->init_state == SIM_INIT_RUNNING &&
		    domains[i]->init_pid == pid)
			return domains[i];
	return NULL;
}

static int by_domid(const void *a, const void *b)
{
	const struct sim_domain_info *x = a, *y = b;

	return x->domid < y->domid ? -1 : x->domid > y->domid;
}

unsigned sim_domain_list(uint32_t first, struct sim_domain_info *out, unsigned max)
{
	struct sim_domain_info all[SIM_MAX_DOMAINS];
	unsigned n = 0;

	for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++) {
		struct sim_domain *d = domains[i];
		struct sim_domain_info *o = &all[n];

		if (!d || d->domid < first)
			continue;
		memset(o, 0, sizeof(*o));
		o->domid = d->domid;
		o->memory_mib = d->memory_mib;
		o->grants = d->grants_in_use;
		o->ports = d->ports_in_use;
		snprintf(o->name, sizeof(o->name), "%s", d->name);
		memcpy(o->uuid, d->uuid, sizeof(o->uuid));
		o->pause_count = d->pause_count;
		o->shutdown = d->shutdown;
		o->shutdown_reason = d->shutdown_reason;
		o->introduced = d->introduced;
		o->resumed = d->resumed;
		o->init_state = (uint8_t)d->init_state;
		o->init_pid = d->init_pid;
		o->init_status = d->init_status;
		n++;
	}
	qsort(all, n, sizeof(all[0]), by_domid);
	if (n > max)
		n = max;
	memcpy(out, all, n * sizeof(all[0]));
	return n;
}

void sim_domain_foreach(void (*fn)(struct sim_domain *d, void *arg), void *arg)
{
	for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++)
		if (domains[i])
			fn(domains[i], arg);
}

/* Next-fit from a rotating cursor, so a freed frame is reused as late as
 * possible (a peer may still map it). */
static int64_t frames_find(struct sim_domain *d, uint32_t from, uint32_t to, uint32_t count)
{
	uint32_t run = 0;

	for (uint32_t f = from; f < to; f++) {
		run = d->frame_used[f] ? 0 : run + 1;
		if (run == count)
			return f + 1 - count;
	}
	return -ENOMEM;
}

int64_t sim_frames_alloc(struct sim_domain *d, uint32_t count)
{
	int64_t first;

	if (count == 0 || count > d->nr_frames)
		return -EINVAL;
	first = frames_find(d, d->next_frame, d->nr_frames, count);
	if (first < 0)
		first = frames_find(d, 0, d->nr_frames, count);
	if (first < 0)
		return first;
	memset(d->frame_used + first, 1, count);
	d->next_frame = (uint32_t)(first + count) % d->nr_frames;
	/* Fresh pages read as zero. Zeroing here rather than at free keeps a
	 * page's contents for a peer that still maps it after the sharer
	 * died, as Xen keeps a mapped page alive. */
	fallocate(d->mem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		  (off_t)first * SIM_PAGE_SIZE, (off_t)count * SIM_PAGE_SIZE);
	return first;
}

void sim_frames_free(struct sim_domain *d, uint64_t frame, uint32_t count)
{
	if (frame + count > d->nr_frames)
		return;
	memset(d->frame_used + frame, 0, count);
}
