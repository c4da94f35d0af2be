/* ld_vscsi.so: an LD_PRELOAD shim that makes PV SCSI LUNs look like Linux
 * sg devices to programs we did not build (sg3_utils, mtx, tapeinfo,
 * iscsi-test-cu), the way libiscsi's ld_iscsi.so does for iSCSI.
 *
 *   VSCSI_SG_MAP="/dev/sg100=0:0:0:0,/dev/sg101=0:0:1:0"
 *
 * maps virtual paths to H:C:T:L, H being the vhost (devid). Opening such a
 * path connects the vhost (once per process, shared by every fd on it) and
 * returns an eventfd standing for the sg node: it polls readable when an
 * sg v3 async command (write()) has completed, so poll/select/epoll work
 * natively. fstat/stat say "character device, major 21" (sg), as
 * sg3_utils checks. ioctl implements SG_IO and the sg ioctls the tools use;
 * read/write the sg v3 async interface. A path named like a SCSI disk's
 * block node ("/dev/sdX") is a block device (major 8) instead, for the
 * programs that insist on one (fence_scsi): SG_IO only, no read or write
 * of data (EOPNOTSUPP, said on stderr). Every other fd and path goes to
 * libc untouched. VSCSI_SHIM_TRACE=1 logs each call on a virtual node
 * (and each ioctl we do not know) to stderr.
 *
 * One process owns a vhost's ring at a time: a second process opening the
 * same vhost gets EBUSY until the first closes it (or exits).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <scsi/scsi.h>
#include <scsi/sg.h>

#include "vscsifront.h"

#define EXPORT __attribute__((visibility("default")))

#define SG_MAJOR 21
#define SG_VERSION 30536                 /* what mainline Linux's sg reports */
#define SG_GET_ACCESS_COUNT_IOCTL 0x2289
#define USER_HZ 100
#define VFD_MAX 65536
#define MAX_HOSTS 64

/* ---- the real libc functions ---- */

#define REAL(name) ((__typeof__(&name))real_sym(#name, &real_##name))
static void *real_open, *real_open64, *real___open_2, *real___open64_2, *real_openat,
	*real_openat64, *real___openat_2, *real___openat64_2, *real_close, *real_read, *real_write,
	*real_ioctl, *real_fstat, *real_fstat64, *real_stat, *real_stat64, *real_lstat,
	*real_lstat64, *real_fstatat, *real_fstatat64, *real___fxstat, *real___fxstat64,
	*real___xstat, *real___xstat64, *real___lxstat, *real___lxstat64, *real___fxstatat,
	*real___fxstatat64, *real_access, *real_faccessat, *real_euidaccess, *real_eaccess,
	*real_fcntl, *real_fcntl64, *real_dup, *real_dup2, *real_dup3;

static void *real_sym(const char *name, void **slot)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (!p) {
		p = dlsym(RTLD_NEXT, name);
		__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	}
	return p;
}

/* ---- configuration ---- */

struct vmap {
	char path[PATH_MAX];
	unsigned devid;
	struct vscsi_addr addr;
	unsigned minor;
	bool block;                  /* a "/dev/sdX" name: a block node, SG_IO only */
};

static struct vmap *maps;
static int nmaps;
static bool trace;

static void tracef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void tracef(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (!trace)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	((ssize_t(*)(int, const void *, size_t))real_sym("write", &real_write))(2, buf, (size_t)n);
}

static unsigned minor_of(const char *path, int index)
{
	const char *b = strrchr(path, '/');
	char *end;
	unsigned long v;

	b = b ? b + 1 : path;
	while (*b && (*b < '0' || *b > '9'))
		b++;
	v = strtoul(b, &end, 10);
	if (*b && !*end && v < (1u << 20))
		return (unsigned)v;
	return 200u + (unsigned)index;
}

/* "/dev/sda" ... "/dev/sdzz": how Linux names a SCSI disk's block node. */
static bool is_disk_name(const char *path)
{
	const char *p;

	if (strncmp(path, "/dev/sd", 7) || !path[7])
		return false;
	for (p = path + 7; *p; p++)
		if (*p < 'a' || *p > 'z')
			return false;
	return true;
}

__attribute__((constructor)) static void shim_init(void)
{
	const char *m = getenv("VSCSI_SG_MAP");
	const char *t = getenv("VSCSI_SHIM_TRACE");
	char *copy, *save, *item;

	trace = t && *t && strcmp(t, "0");
	if (!m || !*m)
		return;
	copy = strdup(m);
	if (!copy)
		return;
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strrchr(item, '=');
		struct vscsi_addr a;
		struct vmap *nm;
		int hst;

		if (!eq || vscsi_parse_addr(eq + 1, &hst, &a) < 0 || hst < 0 || eq == item ||
		    (size_t)(eq - item) >= PATH_MAX) {
			fprintf(stderr, "ld_vscsi: VSCSI_SG_MAP entry \"%s\" is not PATH=H:C:T:L; ignored\n",
				item);
			continue;
		}
		nm = realloc(maps, (size_t)(nmaps + 1) * sizeof(*maps));
		if (!nm)
			break;
		maps = nm;
		memset(&maps[nmaps], 0, sizeof(*maps));
		memcpy(maps[nmaps].path, item, (size_t)(eq - item));
		maps[nmaps].devid = (unsigned)hst;
		maps[nmaps].addr = a;
		maps[nmaps].minor = minor_of(maps[nmaps].path, nmaps);
		maps[nmaps].block = is_disk_name(maps[nmaps].path);
		if (maps[nmaps].block)
			maps[nmaps].minor = 16u * (unsigned)(nmaps + 10);  /* sd's minors step by 16 */
		tracef("ld_vscsi: %s -> %u:%u:%u:%u (%s minor %u)", maps[nmaps].path, hst, a.channel,
		       a.target, a.lun, maps[nmaps].block ? "block" : "sg", maps[nmaps].minor);
		nmaps++;
	}
	free(copy);
}

/* The map entry for a path (absolute, or relative to the cwd). */
static struct vmap *map_find_at(int dirfd, const char *path)
{
	char full[PATH_MAX];

	if (!nmaps || !path)
		return NULL;
	for (int i = 0; i < nmaps; i++)
		if (!strcmp(maps[i].path, path))
			return &maps[i];
	if (path[0] != '/' && dirfd == AT_FDCWD && getcwd(full, sizeof(full))) {
		size_t n = strlen(full);

		if (n + 1 + strlen(path) < sizeof(full)) {
			full[n] = '/';
			strcpy(full + n + 1, path);
			for (int i = 0; i < nmaps; i++)
				if (!strcmp(maps[i].path, full))
					return &maps[i];
		}
	}
	return NULL;
}

static struct vmap *map_find(const char *path)
{
	return map_find_at(AT_FDCWD, path);
}

/* ---- hosts (one per vhost, shared by the fds on it) ---- */

struct vhost_ref {
	unsigned devid;
	struct vscsi_host *h;
	int refs;
	pid_t pid;
	pthread_t thread;            /* services async commands for poll() users */
	bool thread_running;
	atomic_bool stop;
};

static pthread_mutex_t shim_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vhost_ref hosts[MAX_HOSTS];

static struct vhost_ref *host_get(unsigned devid, int *err)
{
	struct vhost_ref *free_slot = NULL;
	struct vscsi_opts o = { .poll_us = -1, .connect_timeout_ms = 10000 };
	char msg[512];

	for (int i = 0; i < MAX_HOSTS; i++) {
		struct vhost_ref *r = &hosts[i];

		if (r->h && r->devid == devid && r->pid == getpid()) {
			r->refs++;
			return r;
		}
		if (!r->h && !free_slot)
			free_slot = r;
	}
	if (!free_slot) {
		*err = EMFILE;
		return NULL;
	}
	free_slot->h = vscsi_open(devid, &o, msg, sizeof(msg));
	if (!free_slot->h) {
		*err = errno;
		fprintf(stderr, "ld_vscsi: %s\n", msg);
		return NULL;
	}
	free_slot->devid = devid;
	free_slot->refs = 1;
	free_slot->pid = getpid();
	free_slot->thread_running = false;
	atomic_store(&free_slot->stop, false);
	return free_slot;
}

static void *service_thread(void *arg)
{
	struct vhost_ref *r = arg;

	while (!atomic_load(&r->stop))
		vscsi_run_once(r->h, 50);
	return NULL;
}

static void host_start_thread(struct vhost_ref *r)
{
	pthread_mutex_lock(&shim_lock);
	if (!r->thread_running && pthread_create(&r->thread, NULL, service_thread, r) == 0)
		r->thread_running = true;
	pthread_mutex_unlock(&shim_lock);
}

/* Called with shim_lock held. */
static void host_put(struct vhost_ref *r)
{
	if (--r->refs > 0)
		return;
	if (r->thread_running) {
		atomic_store(&r->stop, true);
		pthread_mutex_unlock(&shim_lock);
		pthread_join(r->thread, NULL);
		pthread_mutex_lock(&shim_lock);
		r->thread_running = false;
	}
	if (r->pid == getpid())
		vscsi_close(r->h);
	r->h = NULL;
}

/* ---- virtual fds ---- */

struct vreq {
	sg_io_hdr_t hdr;             /* as written, outputs filled on completion */
	struct vscsi_task *task;
	void *bounce;                /* for iovec requests */
	bool done;
	uint64_t start_ns;
	struct vfd *owner;
	struct vreq *next;
};

struct vfd {
	int fd;
	struct vmap *map;
	struct vhost_ref *host;
	struct vscsi_lun_info lun;
	bool have_lun;
	unsigned timeout_ms;         /* SG_SET_TIMEOUT, for hdr.timeout == 0 */
	int reserved;
	bool force_pack_id, keep_orphan, cmd_q;
	pthread_mutex_t lock;
	struct vreq *done_head, *done_tail;
	int pending;                 /* written, not completed */
	int ndone;                   /* completed, not read */
	int refs;                    /* program fds naming this node (dup) */
};

static _Atomic(struct vfd *) vfds[VFD_MAX];

static struct vfd *vfd_get(int fd)
{
	if (fd < 0 || fd >= VFD_MAX || !nmaps)
		return NULL;
	return atomic_load_explicit(&vfds[fd], memory_order_acquire);
}

static int vopen(struct vmap *m, int flags)
{
	int err = 0, efd, priv = -1;
	struct vfd *v;
	struct vhost_ref *r;

	pthread_mutex_lock(&shim_lock);
	r = host_get(m->devid, &err);
	if (!r) {
		pthread_mutex_unlock(&shim_lock);
		tracef("ld_vscsi: open %s: vhost %u: %s", m->path, m->devid, strerror(err));
		errno = err == ENOENT ? ENXIO : err ? err : EIO;
		return -1;
	}
	v = calloc(1, sizeof(*v));
	efd = eventfd(0, EFD_SEMAPHORE | ((flags & O_NONBLOCK) ? EFD_NONBLOCK : 0) |
			     ((flags & O_CLOEXEC) ? EFD_CLOEXEC : 0));
	/* Our own descriptor of the same eventfd: it keeps the completion
	 * count whatever the program does with its fds (dup2, close). */
	if (efd >= 0)
		priv = REAL(fcntl)(efd, F_DUPFD_CLOEXEC, 0);
	if (!v || efd < 0 || efd >= VFD_MAX || priv < 0) {
		if (efd >= 0)
			REAL(close)(efd);
		if (priv >= 0)
			REAL(close)(priv);
		free(v);
		host_put(r);
		pthread_mutex_unlock(&shim_lock);
		errno = efd >= VFD_MAX ? EMFILE : ENOMEM;
		return -1;
	}
	v->fd = priv;
	v->refs = 1;
	v->map = m;
	v->host = r;
	v->timeout_ms = 60000;
	v->reserved = 32768;
	v->cmd_q = true;
	pthread_mutex_init(&v->lock, NULL);
	v->have_lun = vscsi_find_lun(r->h, &m->addr, &v->lun) == 0;
	if (!v->have_lun) {
		/* No such LUN on the vhost: like a missing sg node. */
		REAL(close)(efd);
		REAL(close)(priv);
		free(v);
		host_put(r);
		pthread_mutex_unlock(&shim_lock);
		tracef("ld_vscsi: open %s: vhost %u has no LUN %u:%u:%u", m->path, m->devid,
		       m->addr.channel, m->addr.target, m->addr.lun);
		errno = ENXIO;
		return -1;
	}
	atomic_store_explicit(&vfds[efd], v, memory_order_release);
	pthread_mutex_unlock(&shim_lock);
	tracef("ld_vscsi: open %s flags 0x%x -> fd %d (%s %s %s)", m->path, flags, efd,
	       vscsi_dev_type_name(v->lun.dev_type), v->lun.vendor, v->lun.product);
	return efd;
}

static void vreq_free(struct vreq *q)
{
	if (!q)
		return;
	vscsi_task_free(q->task);
	free(q->bounce);
	free(q);
}

/* The last fd on a node went away. */
static void vfd_destroy(struct vfd *v)
{
	/* Outstanding async commands finish first (bounded by their timeouts). */
	for (;;) {
		int pending;

		pthread_mutex_lock(&v->lock);
		pending = v->pending;
		pthread_mutex_unlock(&v->lock);
		if (!pending)
			break;
		vscsi_run_once(v->host->h, 50);
	}
	while (v->done_head) {
		struct vreq *q = v->done_head;

		v->done_head = q->next;
		vreq_free(q);
	}
	pthread_mutex_lock(&shim_lock);
	host_put(v->host);
	pthread_mutex_unlock(&shim_lock);
	REAL(close)(v->fd);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

/* fd no longer names v (closed, or replaced by dup2). */
static void vfd_forget(int fd, struct vfd *v)
{
	bool last;

	pthread_mutex_lock(&shim_lock);
	atomic_store_explicit(&vfds[fd], NULL, memory_order_release);
	last = --v->refs == 0;
	pthread_mutex_unlock(&shim_lock);
	tracef("ld_vscsi: fd %d closed (%s)%s", fd, v->map->path, last ? ", last" : "");
	if (last)
		vfd_destroy(v);
}

/* newfd is a duplicate of a descriptor of v. */
static void vfd_dup(int newfd, struct vfd *v)
{
	if (newfd < 0)
		return;
	if (newfd >= VFD_MAX) {
		tracef("ld_vscsi: dup to fd %d is beyond the shim's table; it is not an sg node", newfd);
		return;
	}
	pthread_mutex_lock(&shim_lock);
	v->refs++;
	atomic_store_explicit(&vfds[newfd], v, memory_order_release);
	pthread_mutex_unlock(&shim_lock);
	tracef("ld_vscsi: fd %d is a duplicate (%s)", newfd, v->map->path);
}

static int vclose(int fd, struct vfd *v)
{
	int r = REAL(close)(fd);

	if (v->host->pid != getpid()) {
		/* A forked child's copy: drop it, leave the parent's vhost be. */
		atomic_store_explicit(&vfds[fd], NULL, memory_order_release);
		return r;
	}
	vfd_forget(fd, v);
	return r;
}

__attribute__((destructor)) static void shim_fini(void)
{
	/* A program that exits without closing still hands the vhost back. */
	for (int fd = 0; fd < VFD_MAX && nmaps; fd++) {
		struct vfd *v = vfd_get(fd);

		if (v && v->host->pid == getpid())
			vclose(fd, v);
	}
}

/* ---- SG_IO ---- */

static void fill_outputs(struct vfd *v, sg_io_hdr_t *hdr, const struct vscsi_task *t, uint64_t start_ns)
{
	struct timespec ts;
	uint64_t now;

	(void)v;
	hdr->status = t->status;
	hdr->masked_status = (uint8_t)((t->status >> 1) & 0x7f);
	hdr->msg_status = 0;
	hdr->host_status = t->host_status;  /* XEN_VSCSIIF_RSLT_HOST_* = Linux DID_* */
	hdr->driver_status = 0;
	hdr->sb_len_wr = 0;
	if (t->error) {
		switch (t->error) {
		case -ETIMEDOUT: hdr->host_status = 0x03; break;  /* DID_TIME_OUT */
		case -ECANCELED: hdr->host_status = 0x05; break;  /* DID_ABORT */
		case -ENOTCONN:
		case -ESHUTDOWN: hdr->host_status = 0x01; break;  /* DID_NO_CONNECT */
		default: hdr->host_status = 0x07; break;          /* DID_ERROR */
		}
		hdr->driver_status = t->error == -ETIMEDOUT ? 0x06 /* DRIVER_TIMEOUT */ : 0;
	} else if (t->sense_len && hdr->sbp && hdr->mx_sb_len) {
		hdr->sb_len_wr = (uint8_t)(t->sense_len < hdr->mx_sb_len ? t->sense_len : hdr->mx_sb_len);
		memcpy(hdr->sbp, t->sense, hdr->sb_len_wr);
		hdr->driver_status = 0x08;                        /* DRIVER_SENSE */
	}
	hdr->resid = t->error ? (int)hdr->dxfer_len : (int)(hdr->dxfer_len - t->xfer_done);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	hdr->duration = (unsigned)((now - start_ns) / 1000000u);
	hdr->info = (hdr->status || hdr->host_status || hdr->driver_status) ? SG_INFO_CHECK : SG_INFO_OK;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Builds the task of an sg v3 header; for iovec requests the data goes
 * through a bounce buffer. 0 or an errno. */
static int build_task(struct vfd *v, const sg_io_hdr_t *hdr, struct vscsi_task **out, void **bounce)
{
	enum vscsi_xfer x = VSCSI_XFER_NONE;
	void *buf = hdr->dxferp;
	size_t len = hdr->dxfer_len;
	struct vscsi_task *t;
	uint8_t cdb[16];

	*bounce = NULL;
	if (hdr->interface_id != 'S')
		return ENOSYS;
	if (!hdr->cmdp || hdr->cmd_len < 1 || hdr->cmd_len > 16)
		return EINVAL;
	memcpy(cdb, hdr->cmdp, hdr->cmd_len);
	switch (hdr->dxfer_direction) {
	case SG_DXFER_NONE: len = 0; break;
	case SG_DXFER_TO_DEV: x = VSCSI_XFER_WRITE; break;
	case SG_DXFER_FROM_DEV:
	case SG_DXFER_TO_FROM_DEV: x = VSCSI_XFER_READ; break;
	default:
		if (len)
			return EINVAL;
		break;
	}
	if (!len)
		x = VSCSI_XFER_NONE;
	if (len && !buf)
		return EFAULT;
	if (len && hdr->iovec_count) {
		const struct sg_iovec *iov = hdr->dxferp;
		size_t off = 0;

		*bounce = calloc(1, len);
		if (!*bounce)
			return ENOMEM;
		if (x == VSCSI_XFER_WRITE)
			for (unsigned i = 0; i < hdr->iovec_count && off < len; i++) {
				size_t n = iov[i].iov_len < len - off ? iov[i].iov_len : len - off;

				memcpy((uint8_t *)*bounce + off, iov[i].iov_base, n);
				off += n;
			}
		buf = *bounce;
	}
	t = vscsi_task_new(&v->map->addr, cdb, hdr->cmd_len, x, len ? buf : NULL, len);
	if (!t) {
		free(*bounce);
		*bounce = NULL;
		return errno ? errno : ENOMEM;
	}
	t->timeout_ms = hdr->timeout ? hdr->timeout : v->timeout_ms;
	*out = t;
	return 0;
}

static void scatter(const sg_io_hdr_t *hdr, const void *bounce, size_t len)
{
	const struct sg_iovec *iov = hdr->dxferp;
	size_t off = 0;

	for (unsigned i = 0; i < hdr->iovec_count && off < len; i++) {
		size_t n = iov[i].iov_len < len - off ? iov[i].iov_len : len - off;

		memcpy(iov[i].iov_base, (const uint8_t *)bounce + off, n);
		off += n;
	}
}

static int do_sg_io(struct vfd *v, sg_io_hdr_t *hdr)
{
	struct vscsi_task *t;
	void *bounce;
	uint64_t start = mono_ns();
	int err = build_task(v, hdr, &t, &bounce);

	if (err) {
		tracef("ld_vscsi: fd %d SG_IO refused: %s", v->fd, strerror(err));
		errno = err;
		return -1;
	}
	if (vscsi_task_run(v->host->h, t) < 0 && !strncmp(t->errmsg, "not submitted", 13)) {
		/* Never reached the ring: too big or malformed (EINVAL, as sg
		 * says), or the vhost is gone or disabled (ENODEV, as for a
		 * removed device). */
		err = t->error == -E2BIG || t->error == -EINVAL ? EINVAL
		      : t->error == -EIO || t->error == -ENOTCONN ? ENODEV : EIO;
		tracef("ld_vscsi: fd %d SG_IO 0x%02x: %s", v->fd, hdr->cmdp[0], t->errmsg);
		vscsi_task_free(t);
		free(bounce);
		errno = err;
		return -1;
	}
	if (bounce && t->xfer == VSCSI_XFER_READ)
		scatter(hdr, bounce, t->xfer_done);
	fill_outputs(v, hdr, t, start);
	tracef("ld_vscsi: fd %d SG_IO cdb 0x%02x len %u dir %d -> status 0x%x host 0x%x driver 0x%x "
	       "resid %d sense %u%s%s", v->fd, hdr->cmdp[0], hdr->dxfer_len, hdr->dxfer_direction,
	       hdr->status, hdr->host_status, hdr->driver_status, hdr->resid, hdr->sb_len_wr,
	       t->error ? " " : "", t->error ? t->errmsg : "");
	vscsi_task_free(t);
	free(bounce);
	return 0;
}

/* ---- sg v3 async interface ---- */

static void async_done(struct vscsi_host *h, struct vscsi_task *t, void *priv)
{
	struct vreq *q = priv;
	struct vfd *v = q->owner;
	uint64_t one = 1;

	(void)h;
	(void)t;
	fill_outputs(v, &q->hdr, q->task, q->start_ns);
	if (q->bounce && q->task->xfer == VSCSI_XFER_READ)
		scatter(&q->hdr, q->bounce, q->task->xfer_done);
	pthread_mutex_lock(&v->lock);
	q->done = true;
	v->pending--;
	if (v->done_tail)
		v->done_tail->next = q;
	else
		v->done_head = q;
	v->done_tail = q;
	v->ndone++;
	pthread_mutex_unlock(&v->lock);
	if (((ssize_t(*)(int, const void *, size_t))real_sym("write", &real_write))(v->fd, &one,
										     sizeof(one)) < 0)
		(void)0;
}

/* A block node has SG_IO only: its read and write would be data. */
static ssize_t block_rw(struct vfd *v, const char *what)
{
	fprintf(stderr, "ld_vscsi: %s of data on %s is not supported (a block node stands for "
		"SG_IO only; map an sg name such as /dev/sg100 for the sg interface)\n", what,
		v->map->path);
	errno = EOPNOTSUPP;
	return -1;
}

static ssize_t vwrite(struct vfd *v, const void *buf, size_t count)
{
	const sg_io_hdr_t *in = buf;
	struct vreq *q;
	int err, r;

	if (v->map->block)
		return block_rw(v, "write");
	if (count < sizeof(sg_io_hdr_t)) {
		tracef("ld_vscsi: fd %d write of %zu bytes: not an sg v3 header", v->fd, count);
		errno = EINVAL;
		return -1;
	}
	if (in->interface_id != 'S') {
		tracef("ld_vscsi: fd %d write: interface '%c' unsupported (sg v3 only)", v->fd,
		       in->interface_id);
		errno = ENOSYS;
		return -1;
	}
	q = calloc(1, sizeof(*q));
	if (!q) {
		errno = ENOMEM;
		return -1;
	}
	q->hdr = *in;
	q->start_ns = mono_ns();
	err = build_task(v, &q->hdr, &q->task, &q->bounce);
	if (err) {
		free(q);
		errno = err;
		return -1;
	}
	host_start_thread(v->host);
	pthread_mutex_lock(&v->lock);
	v->pending++;
	pthread_mutex_unlock(&v->lock);
	q->owner = v;
	r = vscsi_task_submit(v->host->h, q->task, async_done, q);
	if (r < 0) {
		pthread_mutex_lock(&v->lock);
		v->pending--;
		pthread_mutex_unlock(&v->lock);
		vreq_free(q);
		errno = r == -E2BIG ? EINVAL : r == -ENOTCONN || r == -EIO ? ENODEV : -r;
		return -1;
	}
	tracef("ld_vscsi: fd %d write: cdb 0x%02x len %u pack_id %d queued", v->fd, in->cmdp[0],
	       in->dxfer_len, in->pack_id);
	return (ssize_t)count;
}

static struct vreq *take_done(struct vfd *v, int pack_id)
{
	struct vreq *q, *prev = NULL;

	pthread_mutex_lock(&v->lock);
	for (q = v->done_head; q; prev = q, q = q->next)
		if (!v->force_pack_id || pack_id == -1 || q->hdr.pack_id == pack_id)
			break;
	if (q) {
		if (prev)
			prev->next = q->next;
		else
			v->done_head = q->next;
		if (v->done_tail == q)
			v->done_tail = prev;
		q->next = NULL;
		v->ndone--;
	}
	pthread_mutex_unlock(&v->lock);
	return q;
}

static ssize_t vread(struct vfd *v, void *buf, size_t count)
{
	sg_io_hdr_t *out = buf;
	int pack_id = -1;
	bool nonblock;
	struct vreq *q;
	uint64_t x;

	if (v->map->block)
		return block_rw(v, "read");
	nonblock = REAL(fcntl)(v->fd, F_GETFL) & O_NONBLOCK;
	if (count < sizeof(sg_io_hdr_t)) {
		errno = EINVAL;
		return -1;
	}
	if (v->force_pack_id)
		pack_id = out->pack_id;
	for (;;) {
		q = take_done(v, pack_id);
		if (q)
			break;
		if (nonblock) {
			vscsi_service(v->host->h);
			q = take_done(v, pack_id);
			if (q)
				break;
			errno = EAGAIN;
			return -1;
		}
		vscsi_run_once(v->host->h, 50);
	}
	/* One completion consumed: take it off the eventfd's count. */
	if (((ssize_t(*)(int, void *, size_t))real_sym("read", &real_read))(v->fd, &x, sizeof(x)) < 0)
		(void)0;
	*out = q->hdr;
	tracef("ld_vscsi: fd %d read: pack_id %d status 0x%x host 0x%x resid %d", v->fd,
	       q->hdr.pack_id, q->hdr.status, q->hdr.host_status, q->hdr.resid);
	vreq_free(q);
	return (ssize_t)sizeof(sg_io_hdr_t);
}

/* ---- ioctl ---- */

/* A pointer argument the program left out. */
static int efault(void)
{
	errno = EFAULT;
	return -1;
}

static int put_int(void *arg, int v)
{
	if (!arg)
		return efault();
	*(int *)arg = v;
	return 0;
}

/* The int a "set" ioctl passes: EFAULT without one, bad_errno if negative. */
static int get_count(const void *arg, int bad_errno)
{
	if (!arg)
		return efault();
	if (*(const int *)arg < 0) {
		errno = bad_errno;
		return -1;
	}
	return *(const int *)arg;
}

/* The sg "set" ioctls that switch a flag on (any non-zero int) or off. */
static int set_flag(const void *arg, bool *flag)
{
	if (!arg)
		return efault();
	*flag = *(const int *)arg != 0;
	return 0;
}

/* The completion queue, under its lock: its first pack_id or its length. */
static int put_done(struct vfd *v, void *arg, bool count)
{
	int n;

	pthread_mutex_lock(&v->lock);
	n = count ? v->ndone : v->done_head ? v->done_head->hdr.pack_id : -1;
	pthread_mutex_unlock(&v->lock);
	return put_int(arg, n);
}

static int vioctl(struct vfd *v, unsigned long req, void *arg)
{
	struct vscsi_host_info info;
	int n;

	switch (req) {
	case SG_IO:
		return arg ? do_sg_io(v, arg) : efault();
	case SG_GET_VERSION_NUM:
		return put_int(arg, SG_VERSION);
	case SG_GET_TIMEOUT:
		return (int)(v->timeout_ms / (1000 / USER_HZ));
	case SG_SET_TIMEOUT:
		n = get_count(arg, EIO);
		if (n < 0)
			return -1;
		v->timeout_ms = (unsigned)n * (1000 / USER_HZ);
		return 0;
	case SG_GET_RESERVED_SIZE:
		return put_int(arg, v->reserved);
	case SG_SET_RESERVED_SIZE:
		n = get_count(arg, EINVAL);
		if (n < 0)
			return -1;
		vscsi_get_info(v->host->h, &info);
		v->reserved = n < (int)info.max_transfer ? n : (int)info.max_transfer;
		return 0;
	case SG_GET_SG_TABLESIZE:
		vscsi_get_info(v->host->h, &info);
		return put_int(arg, (int)info.max_segments);
	case SG_EMULATED_HOST:
	case SG_GET_LOW_DMA:
	case SG_GET_TRANSFORM:
		return put_int(arg, 0);
	case SG_GET_SCSI_ID: {
		struct sg_scsi_id *id = arg;

		if (!id)
			return efault();
		memset(id, 0, sizeof(*id));
		id->host_no = (int)v->map->devid;
		id->channel = v->map->addr.channel;
		id->scsi_id = v->map->addr.target;
		id->lun = v->map->addr.lun;
		id->scsi_type = v->lun.dev_type;
		id->h_cmd_per_lun = 16;
		id->d_queue_depth = 16;
		return 0;
	}
	case SCSI_IOCTL_GET_IDLUN: {
		int *idlun = arg;

		if (!idlun)
			return efault();
		idlun[0] = (v->map->addr.target & 0xff) | (v->map->addr.lun & 0xff) << 8 |
			   (v->map->addr.channel & 0xff) << 16 | (int)(v->map->devid & 0xff) << 24;
		idlun[1] = (int)v->map->devid;
		return 0;
	}
	case SCSI_IOCTL_GET_BUS_NUMBER:
		return put_int(arg, (int)v->map->devid);
	case SCSI_IOCTL_PROBE_HOST: {
		static const char name[] = "Xen PV SCSI frontend (libvscsifront)";
		int len;

		if (!arg)
			return efault();
		len = *(int *)arg;
		if (len > 0) {
			size_t n = (size_t)len - 1 < sizeof(name) ? (size_t)len - 1 : sizeof(name) - 1;

			memcpy(arg, name, n);
			((char *)arg)[n] = 0;
		}
		return 1;
	}
	case SG_SET_FORCE_PACK_ID:
		return set_flag(arg, &v->force_pack_id);
	case SG_GET_PACK_ID:
		return put_done(v, arg, false);
	case SG_GET_NUM_WAITING:
		vscsi_service(v->host->h);
		return put_done(v, arg, true);
	case SG_SET_COMMAND_Q:
		return set_flag(arg, &v->cmd_q);
	case SG_GET_COMMAND_Q:
		return put_int(arg, v->cmd_q);
	case SG_SET_KEEP_ORPHAN:
		return set_flag(arg, &v->keep_orphan);
	case SG_GET_KEEP_ORPHAN:
		return put_int(arg, v->keep_orphan);
	case SG_GET_ACCESS_COUNT_IOCTL:
		return put_int(arg, 1);
	case SG_SET_DEBUG:
	case SG_SET_FORCE_LOW_DMA:
	case SG_SET_TRANSFORM:
	case SG_NEXT_CMD_LEN:
		return 0;
	case SG_GET_REQUEST_TABLE:
		if (!arg)
			return efault();
		memset(arg, 0, sizeof(sg_req_info_t) * SG_MAX_QUEUE);
		return 0;
	case SG_SCSI_RESET:
		if (!arg)
			return efault();
		if (*(int *)arg == SG_SCSI_RESET_NOTHING)
			return 0;
		errno = EIO;  /* the library resets LUNs itself, on timeouts */
		return -1;
	default:
		tracef("ld_vscsi: fd %d ioctl 0x%lx not supported (ENOTTY)", v->fd, req);
		errno = ENOTTY;
		return -1;
	}
}

/* ---- stat ---- */

static void fill_stat(const struct vmap *m, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(0, 5);
	st->st_ino = 0x5c5100u + m->minor;
	st->st_mode = (m->block ? S_IFBLK : S_IFCHR) | 0660;
	st->st_nlink = 1;
	st->st_uid = 0;
	st->st_gid = 6;  /* "disk" on Debian */
	st->st_rdev = makedev(m->block ? 8 /* SCSI_DISK0_MAJOR */ : SG_MAJOR, m->minor);
	st->st_blksize = 4096;
	clock_gettime(CLOCK_REALTIME, &st->st_atim);
	st->st_mtim = st->st_ctim = st->st_atim;
}

static void fill_stat64(const struct vmap *m, struct stat64 *st)
{
	struct stat s;

	fill_stat(m, &s);
	memset(st, 0, sizeof(*st));
	st->st_dev = s.st_dev;
	st->st_ino = s.st_ino;
	st->st_mode = s.st_mode;
	st->st_nlink = s.st_nlink;
	st->st_uid = s.st_uid;
	st->st_gid = s.st_gid;
	st->st_rdev = s.st_rdev;
	st->st_blksize = s.st_blksize;
	st->st_atim = s.st_atim;
	st->st_mtim = s.st_mtim;
	st->st_ctim = s.st_ctim;
}

/* ---- the interposed libc entry points ---- */

/* An open of a virtual node opens the sg node; any other goes to libc's
 * own `name` called with `args`. The variadic ones pass on their mode,
 * which is there only with flags that create a file. */
#define OPEN_SHIM(name, params, find, args)				\
	EXPORT int name params						\
	{								\
		struct vmap *m = find;					\
									\
		return m ? vopen(m, flags) : REAL(name) args;		\
	}

#define OPEN_SHIM_MODE(name, params, find, args)			\
	EXPORT int name params						\
	{								\
		struct vmap *m = find;					\
		mode_t mode = 0;					\
									\
		if (m)							\
			return vopen(m, flags);				\
		if (flags & (O_CREAT | __O_TMPFILE)) {			\
			va_list ap;					\
									\
			va_start(ap, flags);				\
			mode = (mode_t)va_arg(ap, int);			\
			va_end(ap);					\
		}							\
		return REAL(name) args;					\
	}

OPEN_SHIM_MODE(open, (const char *path, int flags, ...), map_find(path), (path, flags, mode))
OPEN_SHIM_MODE(open64, (const char *path, int flags, ...), map_find(path), (path, flags, mode))
OPEN_SHIM_MODE(openat, (int dirfd, const char *path, int flags, ...), map_find_at(dirfd, path),
	       (dirfd, path, flags, mode))
OPEN_SHIM_MODE(openat64, (int dirfd, const char *path, int flags, ...), map_find_at(dirfd, path),
	       (dirfd, path, flags, mode))
OPEN_SHIM(__open_2, (const char *path, int flags), map_find(path), (path, flags))
OPEN_SHIM(__open64_2, (const char *path, int flags), map_find(path), (path, flags))
OPEN_SHIM(__openat_2, (int dirfd, const char *path, int flags), map_find_at(dirfd, path),
	  (dirfd, path, flags))
OPEN_SHIM(__openat64_2, (int dirfd, const char *path, int flags), map_find_at(dirfd, path),
	  (dirfd, path, flags))

EXPORT int close(int fd)
{
	struct vfd *v = vfd_get(fd);

	return v ? vclose(fd, v) : REAL(close)(fd);
}

/* A forked child inherits the fds but not the ring: the vhost belongs to
 * the process that opened it. */
static bool foreign(const struct vfd *v)
{
	if (v->host->pid == getpid())
		return false;
	errno = ENODEV;
	return true;
}

EXPORT ssize_t read(int fd, void *buf, size_t count)
{
	struct vfd *v = vfd_get(fd);

	if (!v)
		return REAL(read)(fd, buf, count);
	return foreign(v) ? -1 : vread(v, buf, count);
}

EXPORT ssize_t write(int fd, const void *buf, size_t count)
{
	struct vfd *v = vfd_get(fd);

	if (!v)
		return REAL(write)(fd, buf, count);
	return foreign(v) ? -1 : vwrite(v, buf, count);
}

EXPORT int ioctl(int fd, unsigned long req, ...)
{
	struct vfd *v = vfd_get(fd);
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!v)
		return REAL(ioctl)(fd, req, arg);
	if (foreign(v))
		return -1;
	{
		int r = vioctl(v, req, arg);

		if (req != SG_IO)
			tracef("ld_vscsi: fd %d ioctl 0x%lx -> %d%s%s", fd, req, r, r < 0 ? " " : "",
			       r < 0 ? strerror(errno) : "");
		return r;
	}
}

/* The node a stat-family call names: a virtual fd, a virtual path, or
 * (fstatat with AT_EMPTY_PATH and "") a virtual dirfd. NULL: libc's. */
static struct vmap *fd_map(int fd)
{
	struct vfd *v = vfd_get(fd);

	return v ? v->map : NULL;
}

static struct vmap *at_map(int dirfd, const char *path, int flags)
{
	return (flags & AT_EMPTY_PATH) && !path[0] ? fd_map(dirfd) : map_find_at(dirfd, path);
}

/* fill_stat or fill_stat64, by the caller's buffer. */
#define FILL_STAT(m, st) \
	_Generic((st), struct stat *: fill_stat, struct stat64 *: fill_stat64)(m, st)

/* Sixteen entry points of one shape: an sg node for a virtual one (found
 * by `find`), else libc's own `name` called with `args`. */
#define STAT_SHIM(name, params, find, args)				\
	EXPORT int name params						\
	{								\
		struct vmap *m = find;					\
									\
		if (!m)							\
			return REAL(name) args;				\
		FILL_STAT(m, st);					\
		return 0;						\
	}

STAT_SHIM(fstat, (int fd, struct stat *st), fd_map(fd), (fd, st))
STAT_SHIM(fstat64, (int fd, struct stat64 *st), fd_map(fd), (fd, st))
STAT_SHIM(stat, (const char *path, struct stat *st), map_find(path), (path, st))
STAT_SHIM(stat64, (const char *path, struct stat64 *st), map_find(path), (path, st))
STAT_SHIM(lstat, (const char *path, struct stat *st), map_find(path), (path, st))
STAT_SHIM(lstat64, (const char *path, struct stat64 *st), map_find(path), (path, st))
STAT_SHIM(fstatat, (int dirfd, const char *path, struct stat *st, int flags),
	  at_map(dirfd, path, flags), (dirfd, path, st, flags))
STAT_SHIM(fstatat64, (int dirfd, const char *path, struct stat64 *st, int flags),
	  at_map(dirfd, path, flags), (dirfd, path, st, flags))

/* The glibc < 2.33 names, for binaries built against older libcs. */
extern int __fxstat(int ver, int fd, struct stat *st);
extern int __fxstat64(int ver, int fd, struct stat64 *st);
extern int __xstat(int ver, const char *path, struct stat *st);
extern int __xstat64(int ver, const char *path, struct stat64 *st);
extern int __lxstat(int ver, const char *path, struct stat *st);
extern int __lxstat64(int ver, const char *path, struct stat64 *st);
extern int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
extern int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags);

STAT_SHIM(__fxstat, (int ver, int fd, struct stat *st), fd_map(fd), (ver, fd, st))
STAT_SHIM(__fxstat64, (int ver, int fd, struct stat64 *st), fd_map(fd), (ver, fd, st))
STAT_SHIM(__xstat, (int ver, const char *path, struct stat *st), map_find(path), (ver, path, st))
STAT_SHIM(__xstat64, (int ver, const char *path, struct stat64 *st), map_find(path),
	  (ver, path, st))
STAT_SHIM(__lxstat, (int ver, const char *path, struct stat *st), map_find(path), (ver, path, st))
STAT_SHIM(__lxstat64, (int ver, const char *path, struct stat64 *st), map_find(path),
	  (ver, path, st))
STAT_SHIM(__fxstatat, (int ver, int dirfd, const char *path, struct stat *st, int flags),
	  map_find_at(dirfd, path), (ver, dirfd, path, st, flags))
STAT_SHIM(__fxstatat64, (int ver, int dirfd, const char *path, struct stat64 *st, int flags),
	  map_find_at(dirfd, path), (ver, dirfd, path, st, flags))

EXPORT int access(const char *path, int mode)
{
	return map_find(path) ? 0 : REAL(access)(path, mode);
}

EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	return map_find_at(dirfd, path) ? 0 : REAL(faccessat)(dirfd, path, mode, flags);
}

EXPORT int euidaccess(const char *path, int mode)
{
	return map_find(path) ? 0 : REAL(euidaccess)(path, mode);
}

EXPORT int eaccess(const char *path, int mode)
{
	return map_find(path) ? 0 : REAL(eaccess)(path, mode);
}

EXPORT int dup(int fd)
{
	struct vfd *v = vfd_get(fd);
	int r = REAL(dup)(fd);

	if (v && r >= 0)
		vfd_dup(r, v);
	return r;
}

static int dup2_common(int oldfd, int newfd, int flags, bool three)
{
	struct vfd *v = vfd_get(oldfd), *was = vfd_get(newfd);
	int r;

	if (oldfd == newfd && !three)
		return REAL(dup2)(oldfd, newfd);
	r = three ? REAL(dup3)(oldfd, newfd, flags) : REAL(dup2)(oldfd, newfd);
	if (r < 0)
		return r;
	if (was)
		vfd_forget(newfd, was);  /* dup2 closed it */
	if (v)
		vfd_dup(newfd, v);
	return r;
}

EXPORT int dup2(int oldfd, int newfd)
{
	return dup2_common(oldfd, newfd, 0, false);
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	return dup2_common(oldfd, newfd, flags, true);
}

static int fcntl_common(int fd, int cmd, void *arg, bool is64)
{
	struct vfd *v = vfd_get(fd);
	int r = is64 ? REAL(fcntl64)(fd, cmd, arg) : REAL(fcntl)(fd, cmd, arg);

	if (v && r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		vfd_dup(r, v);
	return r;
}

/* fcntl and fcntl64: the optional third argument, read as a pointer, goes
 * on whatever it is. */
#define FCNTL_SHIM(name, is64)						\
	EXPORT int name(int fd, int cmd, ...)				\
	{								\
		va_list ap;						\
		void *arg;						\
									\
		va_start(ap, cmd);					\
		arg = va_arg(ap, void *);				\
		va_end(ap);						\
		return fcntl_common(fd, cmd, arg, is64);		\
	}

FCNTL_SHIM(fcntl, false)
FCNTL_SHIM(fcntl64, true)
