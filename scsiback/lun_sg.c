/* The sg LUN driver: a host SCSI device through the Linux sg v3 interface,
 * asynchronously. submit() write()s an sg_io_hdr (data described by the
 * caller's iovec), the loop polls the fd and read()s completions, which
 * carry our request in usr_ptr.
 *
 * sg queues at most SG_MAX_QUEUE (16) commands per fd and answers EDOM
 * beyond; the surplus waits here and goes out as completions free slots.
 * Commands are queued at the tail (SG_FLAG_Q_AT_TAIL): sg's v3 default is
 * the head, which would reorder a tape's commands. Data goes through sg's
 * kernel buffers (indirect I/O, no SG_FLAG_DIRECT_IO): a read's data lands
 * in the caller's iovecs during our read() of its completion.
 *
 * open() asks INQUIRY the same way (the device type), so a device that
 * takes its time to answer never stops the loop: it returns -EINPROGRESS
 * and lun->opened hears the outcome from the loop (lun_open_done).
 * Answers found inside abort/reset, TMF answers and closing from inside
 * a completion are the core's (lun.c).
 *
 * In a process that may not use sg's queued interface (a guest's worker:
 * sg refuses write() and read() once the credentials changed since the
 * open) commands go to SG_IO threads instead (sgio.h), and their answers
 * come back through the queue's eventfd; a tape or changer gives them one
 * command at a time, so that they reach it in order.
 *
 * sg cannot abort one command: abort() of a command the kernel already has
 * answers RESET_FAILED and the command completes when the device says so;
 * the guest escalates to a LUN reset, which is SG_SCSI_RESET (device,
 * without escalation to bus or host: other LUNs may belong to other
 * guests).
 */
#include "list.h"
#include "lun.h"
#include "lun_sg.h"
#include "log.h"
#include "pdev.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <scsi/sg.h>
#include <scsi/sg_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <xen/io/vscsiif.h>

#ifndef SG_SCSI_RESET_NO_ESCALATE
#define SG_SCSI_RESET_NO_ESCALATE 0x100
#endif

#define SG_IOV_MAX 1024            /* UIO_MAXIOV: more pieces go through a bounce buffer */
#define SG_XFER_MAX (256u << 20)   /* sg refuses 256 MiB and more */
#define SG_QUEUE_DEFAULT 16        /* SG_MAX_QUEUE */
#define SG_CLOSE_WAIT_MS 1000      /* close() waits this long for running commands */
#define SG_OPEN_TIMEOUT_MS 20000   /* the INQUIRY at open */

struct sg_lun {
	struct lun *lun;                /* while not closed */
	struct lun_core *core;
	int fd;                         /* the sg node */
	struct sgio_queue *q;           /* with SG_IO threads, else NULL */
	struct lun_watch h;             /* the sg fd, or q's eventfd */
	struct list_link queued;        /* not yet given to sg (FIFO) */
	struct list_link submitted;     /* sg has them */
	int nsubmitted;
	int max_submitted;
	int pack_id;
	unsigned default_timeout_ms;
	bool gone;                      /* the device went away */
	char name[160];                 /* "/dev/sg3 (1:0:0:2)" */

	/* open: an INQUIRY through the fd like any command */
	unsigned cfg_timeout_ms;
	char path[128];                 /* the p-dev, for open errors */
	struct lun_cmd open_cmd;
	struct iovec open_iov;
	uint8_t open_inq[96];
};

/* Maps sg's host and driver status to the vscsiif host code. */
uint8_t lun_sg_host_code(unsigned host_status, unsigned driver_status)
{
	switch (host_status) {
	case DID_OK: break;
	case DID_NO_CONNECT: return XEN_VSCSIIF_RSLT_HOST_NO_CONNECT;
	case DID_BUS_BUSY: return XEN_VSCSIIF_RSLT_HOST_BUS_BUSY;
	case DID_TIME_OUT: return XEN_VSCSIIF_RSLT_HOST_TIME_OUT;
	case DID_BAD_TARGET: return XEN_VSCSIIF_RSLT_HOST_BAD_TARGET;
	case DID_ABORT: return XEN_VSCSIIF_RSLT_HOST_ABORT;
	case DID_PARITY: return XEN_VSCSIIF_RSLT_HOST_PARITY;
	case DID_ERROR: return XEN_VSCSIIF_RSLT_HOST_ERROR;
	case DID_RESET: return XEN_VSCSIIF_RSLT_HOST_RESET;
	case DID_BAD_INTR: return XEN_VSCSIIF_RSLT_HOST_BAD_INTR;
	case DID_PASSTHROUGH: return XEN_VSCSIIF_RSLT_HOST_PASSTHROUGH;
	case DID_SOFT_ERROR: return XEN_VSCSIIF_RSLT_HOST_SOFT_ERROR;
	case DID_IMM_RETRY: return XEN_VSCSIIF_RSLT_HOST_IMM_RETRY;
	case DID_REQUEUE: return XEN_VSCSIIF_RSLT_HOST_REQUEUE;
	case DID_TRANSPORT_DISRUPTED: return XEN_VSCSIIF_RSLT_HOST_TRANSPORT_DISRUPTED;
	case DID_TRANSPORT_FAILFAST: return XEN_VSCSIIF_RSLT_HOST_TRANSPORT_FAILFAST;
	case DID_TARGET_FAILURE: return XEN_VSCSIIF_RSLT_HOST_TARGET_FAILURE;
	case DID_NEXUS_FAILURE: return XEN_VSCSIIF_RSLT_HOST_NEXUS_FAILURE;
	case DID_ALLOC_FAILURE: return XEN_VSCSIIF_RSLT_HOST_ALLOC_FAILURE;
	case DID_MEDIUM_ERROR: return XEN_VSCSIIF_RSLT_HOST_MEDIUM_ERROR;
	case DID_TRANSPORT_MARGINAL: return XEN_VSCSIIF_RSLT_HOST_TRANSPORT_MARGINAL;
	default: return XEN_VSCSIIF_RSLT_HOST_ERROR;
	}
	switch (driver_status & 0x0f) {
	case DRIVER_OK:
	case DRIVER_SOFT:
	case DRIVER_SENSE:
		return XEN_VSCSIIF_RSLT_HOST_OK;
	case DRIVER_BUSY:
		return XEN_VSCSIIF_RSLT_HOST_BUS_BUSY;
	case DRIVER_TIMEOUT:
		return XEN_VSCSIIF_RSLT_HOST_TIME_OUT;
	default:
		return XEN_VSCSIIF_RSLT_HOST_ERROR;
	}
}

int lun_sg_dxfer_dir(const struct lun_cmd *cmd)
{
	if (cmd->xfer_len == 0)
		return SG_DXFER_NONE;
	switch (cmd->dir) {
	case LUN_DIR_TO_DEV: return SG_DXFER_TO_DEV;
	case LUN_DIR_FROM_DEV: return SG_DXFER_FROM_DEV;
	case LUN_DIR_NONE: return SG_DXFER_NONE;
	default: return 0;   /* bidirectional: not in sg v3 */
	}
}

static unsigned cmd_timeout(unsigned default_timeout_ms, const struct lun_cmd *cmd)
{
	return cmd->timeout_ms ? cmd->timeout_ms : default_timeout_ms;
}

void lun_sg_fill_hdr(struct sg_io_hdr *h, struct lun_sg_req *req, unsigned default_timeout_ms,
		     int pack_id)
{
	struct lun_cmd *cmd = req->cmd;

	memset(h, 0, sizeof(*h));
	h->interface_id = 'S';
	h->dxfer_direction = lun_sg_dxfer_dir(cmd);
	h->cmd_len = cmd->cdb_len;
	h->cmdp = cmd->cdb;
	h->mx_sb_len = sizeof(req->sense);
	h->sbp = req->sense;
	h->timeout = cmd_timeout(default_timeout_ms, cmd);
	h->flags = SG_FLAG_Q_AT_TAIL;
	h->pack_id = pack_id;
	h->usr_ptr = req;
	if (h->dxfer_direction == SG_DXFER_NONE)
		return;
	h->dxfer_len = (unsigned)cmd->xfer_len;
	if (req->bounce) {
		h->dxferp = req->bounce;
	} else if (cmd->iovcnt == 1) {
		h->dxferp = cmd->iov[0].iov_base;
	} else {
		/* struct iovec and sg_iovec_t have the same layout; the kernel
		 * copies the array during write(). */
		h->iovec_count = (unsigned short)cmd->iovcnt;
		h->dxferp = cmd->iov;
	}
}

void lun_sg_fill_result(struct lun_sg_req *req, const struct sg_io_hdr *h)
{
	struct lun_cmd *cmd = req->cmd;
	unsigned sb = h->sb_len_wr;

	cmd->status = h->status;
	cmd->host = lun_sg_host_code(h->host_status, h->driver_status);
	if (sb > LUN_SENSE_MAX)
		sb = LUN_SENSE_MAX;
	cmd->sense_len = (uint8_t)sb;
	memcpy(cmd->sense, req->sense, sb);
	if (h->dxfer_direction == SG_DXFER_NONE || h->resid < 0)
		cmd->resid = h->dxfer_direction == SG_DXFER_NONE ? (uint32_t)cmd->xfer_len : 0;
	else if ((size_t)h->resid > cmd->xfer_len && cmd->host == XEN_VSCSIIF_RSLT_HOST_OK)
		/* More missing than was asked: the LLD's overflow residual (the
		 * kernel's iSCSI initiator reports the target's this way; an
		 * HBA answers an overrun with DID_ERROR itself). */
		lun_answer_overrun(cmd);
	else if ((size_t)h->resid > cmd->xfer_len)
		cmd->resid = (uint32_t)cmd->xfer_len;
	else
		cmd->resid = (uint32_t)h->resid;
}

static void copy_from_iov(const struct lun_cmd *cmd, uint8_t *dst)
{
	for (int i = 0; i < cmd->iovcnt; i++) {
		memcpy(dst, cmd->iov[i].iov_base, cmd->iov[i].iov_len);
		dst += cmd->iov[i].iov_len;
	}
}

static void copy_to_iov(const struct lun_cmd *cmd, const uint8_t *src, size_t len)
{
	for (int i = 0; i < cmd->iovcnt && len; i++) {
		size_t n = cmd->iov[i].iov_len < len ? cmd->iov[i].iov_len : len;

		memcpy(cmd->iov[i].iov_base, src, n);
		src += n;
		len -= n;
	}
}

static void req_free(struct lun_sg_req *req)
{
	free(req->bounce);
	free(req);
}

/* Completes req, whose results are set, and frees it. */
static void req_complete(struct sg_lun *s, struct lun_sg_req *req)
{
	struct lun_cmd *cmd = req->cmd;

	if (req->bounce && cmd->dir == LUN_DIR_FROM_DEV && cmd->host == XEN_VSCSIIF_RSLT_HOST_OK)
		copy_to_iov(cmd, req->bounce, cmd->xfer_len - cmd->resid);
	cmd->drv = NULL;
	req_free(req);
	lun_complete(s->core, cmd);
}

static void set_host_only(struct lun_cmd *cmd, uint8_t host)
{
	cmd->status = 0;
	cmd->host = host;
	cmd->sense_len = 0;
	cmd->resid = (uint32_t)cmd->xfer_len;
}

/* Ends req with host only. */
static void req_fail(struct sg_lun *s, struct lun_sg_req *req, uint8_t host)
{
	list_del(&req->link);
	set_host_only(req->cmd, host);
	req_complete(s, req);
}

/* How many commands sg may have at once. With threads: a tape's or a
 * changer's one at a time (threads could swap two on their way in), at
 * most one per thread. */
static int sg_queue_max(const struct sg_lun *s)
{
	int threads = (int)sgio_threads();

	if (!s->q)
		return s->max_submitted;
	if (s->lun && (s->lun->dev_type == 0x01 || s->lun->dev_type == 0x08))
		return 1;
	return s->max_submitted < threads ? s->max_submitted : threads;
}

/* Gives req to sg. Returns 0, -EAGAIN when sg's queue is full, or -errno. */
static int sg_write_req(struct sg_lun *s, struct lun_sg_req *req)
{
	struct sg_io_hdr h;

	if (s->q) {
		lun_sg_fill_hdr(&req->job.hdr, req, s->default_timeout_ms, ++s->pack_id);
		req->job.fd = s->fd;
		req->state = LUN_SG_SUBMITTED;
		list_add_tail(&s->submitted, &req->link);
		s->nsubmitted++;
		sgio_submit(s->q, &req->job);
		return 0;
	}
	lun_sg_fill_hdr(&h, req, s->default_timeout_ms, ++s->pack_id);
	if (write(s->fd, &h, sizeof(h)) == (ssize_t)sizeof(h)) {
		req->state = LUN_SG_SUBMITTED;
		list_add_tail(&s->submitted, &req->link);
		s->nsubmitted++;
		return 0;
	}
	if (errno == EDOM || errno == EAGAIN) {
		/* sg's per-fd queue is full: remember its size */
		if (s->nsubmitted > 0)
			s->max_submitted = s->nsubmitted;
		return -EAGAIN;
	}
	return -errno;
}

/* Moves locally queued commands into free sg slots. Only from the loop. */
static void sg_drain_queue(struct sg_lun *s)
{
	while (!list_empty(&s->queued) && s->nsubmitted < sg_queue_max(s)) {
		struct lun_sg_req *req = list_first(&s->queued, struct lun_sg_req, link);
		int rc;

		list_del(&req->link);
		rc = sg_write_req(s, req);
		if (rc == -EAGAIN) {
			/* put it back at the head: order matters on tapes */
			list_add_head(&s->queued, &req->link);
			break;
		}
		if (rc) {
			char op[64];

			sg_get_opcode_name(req->cmd->cdb[0], 0, sizeof(op), op);
			log_warn("lun %s: %s: write to sg: %s", s->name, op, strerror(-rc));
			set_host_only(req->cmd, rc == -ENODEV ? XEN_VSCSIIF_RSLT_HOST_NO_CONNECT
							      : XEN_VSCSIIF_RSLT_HOST_ERROR);
			req_complete(s, req);
		}
	}
}

/* Ends every command of list with host (a close from one of their
 * callbacks empties the lists itself). */
static void fail_all(struct sg_lun *s, struct list_link *list, uint8_t host)
{
	while (!list_empty(list)) {
		struct lun_sg_req *req = list_first(list, struct lun_sg_req, link);

		if (req->state == LUN_SG_SUBMITTED)
			s->nsubmitted--;
		req_fail(s, req, host);
	}
}

/* The device is gone: every command it had will never come back. */
static void sg_device_gone(struct sg_lun *s, int err)
{
	if (!s->gone)
		log_err("lun %s: %s; failing its commands", s->name, strerror(err));
	s->gone = true;
	if (s->q) {
		/* the threads' commands come back on their own, failed too */
		fail_all(s, &s->queued, XEN_VSCSIIF_RSLT_HOST_NO_CONNECT);
		return;
	}
	lun_watch_del(&s->h);
	fail_all(s, &s->submitted, XEN_VSCSIIF_RSLT_HOST_NO_CONNECT);
	fail_all(s, &s->queued, XEN_VSCSIIF_RSLT_HOST_NO_CONNECT);
}

/* A job back from the SG_IO threads. */
static void sg_job_done(struct sg_lun *s, struct lun_sg_req *req)
{
	int err = req->job.err;

	list_del(&req->link);
	s->nsubmitted--;
	if (err == 0) {
		lun_sg_fill_result(req, &req->job.hdr);
		lun_log_result(s->name, req->cmd);
		req_complete(s, req);
		return;
	}
	if (err == EINTR || err == ECANCELED) {
		set_host_only(req->cmd, XEN_VSCSIIF_RSLT_HOST_ABORT);   /* close() */
	} else {
		char op[64];

		sg_get_opcode_name(req->cmd->cdb[0], 0, sizeof(op), op);
		if (err != ENODEV && err != ENXIO)
			log_warn("lun %s: %s: SG_IO: %s", s->name, op, strerror(err));
		set_host_only(req->cmd, err == ENODEV || err == ENXIO ? XEN_VSCSIIF_RSLT_HOST_NO_CONNECT
								     : XEN_VSCSIIF_RSLT_HOST_ERROR);
	}
	req_complete(s, req);
	if (err == ENODEV && !lun_closed(s->core))
		sg_device_gone(s, err);
}

/* The SG_IO threads' eventfd: answers are back. */
static void sg_on_jobs(void *arg, uint32_t events)
{
	struct sg_lun *s = arg;
	struct sgio_job *job;

	(void)events;
	while (!lun_closed(s->core) && (job = sgio_reap(s->q)))
		sg_job_done(s, list_entry(job, struct lun_sg_req, job));
	if (!lun_closed(s->core))
		sg_drain_queue(s);
}

static void sg_on_readable(void *arg, uint32_t events)
{
	struct sg_lun *s = arg;

	(void)events;
	while (!lun_closed(s->core)) {
		struct sg_io_hdr hdr;
		ssize_t n;

		memset(&hdr, 0, sizeof(hdr));
		hdr.interface_id = 'S';
		hdr.pack_id = -1;   /* any completed request */
		n = read(s->fd, &hdr, sizeof(hdr));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				sg_device_gone(s, errno);
			break;
		}
		if (n == 0) {
			sg_device_gone(s, ENODEV);
			break;
		}
		if (n != (ssize_t)sizeof(hdr) || !hdr.usr_ptr) {
			log_err("lun %s: short or foreign sg completion (%zd bytes)", s->name, n);
			break;
		}
		struct lun_sg_req *req = hdr.usr_ptr;

		list_del(&req->link);
		s->nsubmitted--;
		lun_sg_fill_result(req, &hdr);
		lun_log_result(s->name, req->cmd);
		req_complete(s, req);
	}
	if (!lun_closed(s->core))
		sg_drain_queue(s);
}

/* From the LUN's wake-up. */
static void sg_run(struct lun *lun)
{
	sg_drain_queue(lun->priv);
}

struct sg_fd_open {
	int fd;
	const char *name;       /* "/dev/sg3 (1:0:0:2)" */
	const char *path;       /* the p-dev */
	uint8_t dev_type;
	const char *ident;
	const struct lun_config *cfg;
};

/* Sets up the driver state for an open sg fd (owned from here on). */
static int sg_attach(struct lun *lun, const struct sg_fd_open *o)
{
	struct sg_lun *s = calloc(1, sizeof(*s));
	int rc;

	if (!s) {
		close(o->fd);
		fmt_into(lun->error, sizeof(lun->error), "lun %s: out of memory", o->name);
		return -ENOMEM;
	}
	fmt_into(s->name, sizeof(s->name), "%s", o->name);
	list_init(&s->queued);
	list_init(&s->submitted);
	s->lun = lun;
	s->core = lun->core;
	s->fd = o->fd;
	s->max_submitted = SG_QUEUE_DEFAULT;
	lun->dev_type = o->dev_type;
	s->default_timeout_ms = (o->cfg && o->cfg->default_timeout_ms)
					? o->cfg->default_timeout_ms
					: lun_default_timeout_ms(o->dev_type);
	if (sgio_threads()) {
		s->q = sgio_queue_new();
		rc = s->q ? lun_watch_add(lun->core, &s->h, sgio_queue_fd(s->q), EPOLLIN, sg_on_jobs, s)
			  : -errno;
	} else {
		rc = lun_watch_add(lun->core, &s->h, o->fd, EPOLLIN, sg_on_readable, s);
	}
	if (rc) {
		fmt_into(lun->error, sizeof(lun->error), "lun %s: event loop: %s", o->name,
			 strerror(-rc));
		sgio_queue_free(s->q);
		close(o->fd);
		free(s);
		return rc;
	}
	lun->priv = s;
	fmt_into(lun->desc, sizeof(lun->desc), "sg %.90s %s", s->name, o->ident);
	return 0;
}

/* The open's INQUIRY has its answer (or close() ended it). */
static void sg_open_done(struct lun_cmd *cmd)
{
	struct sg_lun *s = cmd->priv;
	struct lun *lun = s->lun;
	const uint8_t *inq = s->open_inq;
	char why[300];
	int rc = 0;

	if (lun_closed(s->core))
		return;   /* close() cancelled the open: nothing to report */
	if (cmd->host != XEN_VSCSIIF_RSLT_HOST_OK || cmd->status) {
		char sense[200] = "";

		if (cmd->sense_len)
			lun_sense_summary(cmd->sense, cmd->sense_len, sense, sizeof(sense));
		fmt_into(why, sizeof(why), "INQUIRY failed: status 0x%02x host 0x%02x %s", cmd->status,
			 cmd->host, sense);
		rc = -EIO;
	} else if (inq[0] >> 5) {
		fmt_into(why, sizeof(why), "no logical unit behind it (peripheral qualifier %u)",
			 inq[0] >> 5);
		rc = -ENODEV;
	} else {
		lun->dev_type = inq[0] & 0x1f;
		s->default_timeout_ms = s->cfg_timeout_ms ? s->cfg_timeout_ms
							  : lun_default_timeout_ms(lun->dev_type);
		fmt_into(lun->desc, sizeof(lun->desc), "sg %.90s %.8s %.16s", s->name,
			 (const char *)inq + 8, (const char *)inq + 16);
	}
	if (rc)
		fmt_into(lun->error, sizeof(lun->error), "lun %s: %s", s->path, why);
	lun_open_done(s->core, rc);
}

/* Sends the open's INQUIRY on an attached LUN, through the fd and the
 * loop like any command: a device that takes its time (an iSCSI disk in
 * session recovery) never stops the loop. No deadline of our own: the
 * kernel's (the command's timeout once the device has it; a blocked queue
 * until the transport gives up). -EINPROGRESS, or -errno with lun->error
 * set (the core closes). */
static int sg_start_open(struct lun *lun, const char *path, const struct lun_config *cfg)
{
	struct sg_lun *s = lun->priv;
	struct lun_cmd *cmd = &s->open_cmd;
	struct lun_sg_req *req = calloc(1, sizeof(*req));
	int rc;

	fmt_into(s->path, sizeof(s->path), "%s", path);
	s->cfg_timeout_ms = cfg ? cfg->default_timeout_ms : 0;
	if (!req) {
		fmt_into(lun->error, sizeof(lun->error), "lun %s: out of memory", path);
		return -ENOMEM;
	}
	memset(cmd, 0, sizeof(*cmd));
	cmd->cdb[0] = 0x12;
	cmd->cdb[4] = (uint8_t)sizeof(s->open_inq);
	cmd->cdb_len = 6;
	cmd->dir = LUN_DIR_FROM_DEV;
	s->open_iov = (struct iovec){ s->open_inq, sizeof(s->open_inq) };
	cmd->iov = &s->open_iov;
	cmd->iovcnt = 1;
	cmd->xfer_len = sizeof(s->open_inq);
	cmd->timeout_ms = SG_OPEN_TIMEOUT_MS;
	cmd->done = sg_open_done;
	cmd->priv = s;
	cmd->drv = req;
	req->cmd = cmd;
	rc = sg_write_req(s, req);
	if (rc == -EAGAIN)
		rc = -EBUSY;   /* a fresh fd's queue is never full; be clear if it is */
	if (rc) {
		fmt_into(lun->error, sizeof(lun->error), "lun %s: INQUIRY: %s", path, strerror(-rc));
		req_free(req);
		return rc;
	}
	return -EINPROGRESS;
}

/* Attach, then INQUIRY unless the caller knows the device already. */
static int sg_open_fd(struct lun *lun, void *arg)
{
	const struct sg_fd_open *o = arg;
	int rc = sg_attach(lun, o);

	if (rc || !o->path)
		return rc;
	return sg_start_open(lun, o->path, o->cfg);
}

static int sg_open(struct lun *lun, const struct pdev_info *pdev, const struct lun_config *cfg)
{
	const char *path = pdev->path;
	struct sg_scsi_id id;
	char name[160];
	int fd, ver = 0, rc;

	if (path[0] != '/') {
		fmt_into(lun->error, sizeof(lun->error), "lun %s: not resolved to a /dev/sg node", path);
		if (cfg && cfg->has_sg_fd)
			close(cfg->sg_fd);
		return -EINVAL;
	}
	fd = cfg && cfg->has_sg_fd ? cfg->sg_fd : open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		fmt_into(lun->error, sizeof(lun->error), "lun %s: open: %s", path, strerror(-rc));
		return rc;
	}
	if (ioctl(fd, SG_GET_VERSION_NUM, &ver) < 0 || ver < 30000) {
		fmt_into(lun->error, sizeof(lun->error), "lun %s: not an sg v3 device", path);
		close(fd);
		return -ENODEV;
	}
	memset(&id, 0, sizeof(id));
	if (ioctl(fd, SG_GET_SCSI_ID, &id) == 0)
		fmt_into(name, sizeof(name), "%s (%d:%d:%d:%d)", path, id.host_no, id.channel,
			 id.scsi_id, id.lun);
	else
		fmt_into(name, sizeof(name), "%s", path);
	return sg_open_fd(lun, &(struct sg_fd_open){ .fd = fd, .name = name, .path = path,
						     .dev_type = 0x1f, .ident = "", .cfg = cfg });
}

static int sg_submit(struct lun *lun, struct lun_cmd *cmd)
{
	struct sg_lun *s = lun->priv;
	struct lun_sg_req *req;
	int rc;

	if (s->gone)
		return -ENODEV;
	if (cmd->cdb_len == 0 || cmd->cdb_len > sizeof(cmd->cdb))
		return -EINVAL;
	if (cmd->xfer_len && lun_sg_dxfer_dir(cmd) == 0)
		return -EOPNOTSUPP;     /* bidirectional */
	if (cmd->xfer_len >= SG_XFER_MAX)
		return -EINVAL;
	req = calloc(1, sizeof(*req));
	if (!req)
		return -ENOMEM;
	req->cmd = cmd;
	list_init(&req->link);
	if (cmd->xfer_len && cmd->dir != LUN_DIR_NONE && cmd->iovcnt > SG_IOV_MAX) {
		req->bounce = malloc(cmd->xfer_len);
		if (!req->bounce) {
			free(req);
			return -ENOMEM;
		}
		if (cmd->dir == LUN_DIR_TO_DEV)
			copy_from_iov(cmd, req->bounce);
	}
	cmd->drv = req;
	if (list_empty(&s->queued) && s->nsubmitted < sg_queue_max(s)) {
		rc = sg_write_req(s, req);
		if (rc == 0)
			return 0;
		if (rc != -EAGAIN) {
			cmd->drv = NULL;
			req_free(req);
			return rc;
		}
	}
	req->state = LUN_SG_QUEUED;
	list_add_tail(&s->queued, &req->link);
	return 0;
}

static int sg_abort(struct lun *lun, struct lun_cmd *cmd, struct lun_tmf *tmf)
{
	struct sg_lun *s = lun->priv;
	struct lun_sg_req *req = cmd->drv;

	if (!req)
		return -ENOENT;
	if (req->state == LUN_SG_QUEUED) {
		/* never reached the device: it is simply dropped */
		req_fail(s, req, XEN_VSCSIIF_RSLT_HOST_ABORT);
		lun_tmf_done(tmf, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
		return 0;
	}
	log_info("lun %s: cannot abort a command sg already has; it completes on its own",
		 s->name);
	lun_tmf_done(tmf, XEN_VSCSIIF_RSLT_RESET_FAILED);
	return 0;
}

static int sg_reset(struct lun *lun, struct lun_tmf *tmf)
{
	struct sg_lun *s = lun->priv;
	int rc, how = SG_SCSI_RESET_DEVICE | SG_SCSI_RESET_NO_ESCALATE;

	/* What the device has not seen yet is dropped by the reset too. */
	while (!list_empty(&s->queued))
		req_fail(s, list_first(&s->queued, struct lun_sg_req, link),
			 XEN_VSCSIIF_RSLT_HOST_RESET);
	if (s->gone) {
		lun_tmf_done(tmf, XEN_VSCSIIF_RSLT_RESET_FAILED);
		return 0;
	}
	rc = ioctl(s->fd, SG_SCSI_RESET, &how);
	if (rc < 0 && errno == EINVAL) {
		/* kernels before 3.19 know no NO_ESCALATE and never escalated */
		how = SG_SCSI_RESET_DEVICE;
		rc = ioctl(s->fd, SG_SCSI_RESET, &how);
	}
	if (rc < 0) {
		log_warn("lun %s: device reset: %s", s->name, strerror(errno));
		lun_tmf_done(tmf, XEN_VSCSIIF_RSLT_RESET_FAILED);
		return 0;
	}
	log_info("lun %s: device reset", s->name);
	lun_tmf_done(tmf, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Running commands may still move data: give them a moment to finish
 * and answer them truthfully. */
static void sg_drain(struct lun *lun)
{
	struct sg_lun *s = lun->priv;
	long deadline = now_ms() + SG_CLOSE_WAIT_MS;

	while ((s->q || !s->gone) && !list_empty(&s->submitted)) {
		long left = deadline - now_ms();
		struct pollfd p = { .fd = s->h.h.fd, .events = POLLIN };

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if (s->q)
			sg_on_jobs(s, EPOLLIN);
		else
			sg_on_readable(s, EPOLLIN);
	}
	if (!list_empty(&s->submitted))
		log_warn("lun %s: closing with commands still running on the device", s->name);
}

static void sg_close(struct lun *lun)
{
	struct sg_lun *s = lun->priv;

	/* sg moves data through its own buffers (indirect I/O) and copies
	 * into ours only in read(): once the fd is closed it drops the
	 * orphaned requests without touching them. SG_IO copies when it
	 * returns: its threads are interrupted first, which orphans them
	 * the same way (sgio.h). */
	if (s->q) {
		struct sgio_job *job;

		sgio_cancel(s->q);
		while ((job = sgio_reap(s->q)))
			sg_job_done(s, list_entry(job, struct lun_sg_req, job));
	}
	fail_all(s, &s->submitted, XEN_VSCSIIF_RSLT_HOST_ABORT);
	fail_all(s, &s->queued, XEN_VSCSIIF_RSLT_HOST_ABORT);
	lun_watch_del(&s->h);
	sgio_queue_free(s->q);
	s->q = NULL;
	close(s->fd);
}

/* ------------------------------------------------------------------ */
/* lun_sg.h: for test_lun_sg                                          */

int lun_sg_test_open(struct lun *lun, int fd, const char *name, const char *path,
		     uint8_t dev_type, const char *ident, const struct lun_config *cfg)
{
	struct sg_fd_open o = { .fd = fd, .name = name, .path = path, .dev_type = dev_type,
				.ident = ident, .cfg = cfg };

	return lun_open_with(lun, &lun_sg_ops, sg_open_fd, &o);
}

void lun_sg_test_set_queue_max(struct lun *lun, int max)
{
	((struct sg_lun *)lun->priv)->max_submitted = max;
}

int lun_sg_test_submitted(const struct lun *lun)
{
	return ((const struct sg_lun *)lun->priv)->nsubmitted;
}

unsigned lun_sg_test_default_timeout(const struct lun *lun)
{
	return ((const struct sg_lun *)lun->priv)->default_timeout_ms;
}

const struct lun_ops lun_sg_ops = {
	.name = "sg",
	.open = sg_open,
	.submit = sg_submit,
	.abort = sg_abort,
	.reset = sg_reset,
	.run = sg_run,
	.drain = sg_drain,
	.close = sg_close,
	.release = free,
};
