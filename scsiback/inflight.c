#include "inflight.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define INFLIGHT_MAGIC 0x76736331u /* "vsc1" */

struct inflight {
	char path[PATH_MAX];
	struct inflight_file *data;
};

int inflight_create(const char *dir, uint32_t domid, uint32_t devid, char *path, size_t pathlen)
{
	int fd;

	snprintf(path, pathlen, "%s/vhost-%u-%u.inflight", dir, domid, devid);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, sizeof(struct inflight_file)) < 0) {
		int err = errno;

		if (fd >= 0)
			close(fd);
		return -err;
	}
	return fd;
}

struct inflight *inflight_open_fd(int fd)
{
	struct inflight *f = calloc(1, sizeof(*f));
	struct stat st;

	int err = !f ? ENOMEM : fstat(fd, &st) < 0 ? errno
		  : st.st_size != (off_t)sizeof(struct inflight_file) ? EINVAL : 0;

	if (err) {
		free(f);
		close(fd);
		errno = err;
		return NULL;
	}
	f->data = mmap(NULL, sizeof(struct inflight_file), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (f->data == MAP_FAILED) {
		free(f);
		return NULL;
	}
	return f;
}

struct inflight *inflight_open(const char *dir, uint32_t domid, uint32_t devid)
{
	char path[PATH_MAX];
	int fd = inflight_create(dir, domid, devid, path, sizeof(path));
	struct inflight *f;

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	f = inflight_open_fd(fd);
	if (f)
		snprintf(f->path, sizeof(f->path), "%s", path);
	return f;
}

void inflight_close(struct inflight *f, bool remove)
{
	if (!f)
		return;
	munmap(f->data, sizeof(struct inflight_file));
	if (remove && f->path[0])
		unlink(f->path);
	free(f);
}

struct inflight_file *inflight_data(struct inflight *f) { return f->data; }

bool inflight_matches(struct inflight *f, uint32_t ring_ref, uint32_t fe_port, uint32_t fe_domid)
{
	return f->data->magic == INFLIGHT_MAGIC && f->data->ring_ref == ring_ref &&
	       f->data->fe_port == fe_port && f->data->fe_domid == fe_domid;
}

void inflight_reset(struct inflight *f, uint32_t ring_ref, uint32_t fe_port, uint32_t fe_domid,
		    uint32_t req_cons)
{
	memset(f->data, 0, sizeof(*f->data));
	f->data->ring_ref = ring_ref;
	f->data->fe_port = fe_port;
	f->data->fe_domid = fe_domid;
	f->data->req_cons = req_cons;
	__atomic_store_n(&f->data->magic, INFLIGHT_MAGIC, __ATOMIC_RELEASE);
}

int inflight_add(struct inflight *f, uint32_t req_idx, uint16_t rqid, uint8_t act)
{
	for (int i = 0; i < INFLIGHT_SLOTS; i++) {
		struct inflight_rec *r = &f->data->rec[i];

		if (r->state != REC_FREE)
			continue;
		r->req_idx = req_idx;
		r->rqid = rqid;
		r->act = act;
		/* The record first, then the index: a crash between the two
		 * leaves a record whose req_idx says it was taken. */
		__atomic_store_n(&r->state, REC_RUNNING, __ATOMIC_RELEASE);
		__atomic_store_n(&f->data->req_cons, req_idx + 1, __ATOMIC_RELEASE);
		return i;
	}
	return -1;
}

void inflight_answering(struct inflight *f, int rec, uint32_t rsp_idx)
{
	if (rec < 0)
		return;
	f->data->rec[rec].rsp_idx = rsp_idx;
	__atomic_store_n(&f->data->rec[rec].state, REC_ANSWERING, __ATOMIC_RELEASE);
}

void inflight_done(struct inflight *f, int rec)
{
	if (rec >= 0)
		__atomic_store_n(&f->data->rec[rec].state, REC_FREE, __ATOMIC_RELEASE);
}
