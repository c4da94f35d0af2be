/* libvscsifront: a userspace virtual SCSI HBA on Xen's PV SCSI (vscsiif)
 * protocol. One struct vscsi_host is one vhost of the domain the process
 * runs in (xenstore device/vscsi/<devid>); it discovers the LUNs the
 * backend offers, follows hotplug, and runs SCSI commands on them.
 *
 * The API has the shape of libiscsi's: every command is a struct
 * vscsi_task, started by one *_task call that takes a completion callback,
 * with a blocking *_sync twin. The callback runs inside vscsi_service()
 * (or inside a blocking call) of whatever thread processes events, never
 * with a library lock held, so it may call any function of the library
 * except vscsi_close() on its own host.
 *
 * Two ways to drive a host:
 *  - the application's own event loop: poll vscsi_get_fd() for POLLIN
 *    and call vscsi_service() when it is readable (timeouts included:
 *    the fd also becomes readable when a command's timer fires);
 *  - blocking calls (*_sync, vscsi_wait_task) from one or several
 *    threads: whoever waits processes events for everybody.
 *
 * Errors are 0 / -errno. A task's transport outcome is task->error;
 * when it is 0 the backend answered and status / host_status / sense /
 * residual are exactly what it sent.
 */
#ifndef VSCSIFRONT_H
#define VSCSIFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VSCSI_SENSE_MAX 96      /* VSCSIIF_SENSE_BUFFERSIZE */
#define VSCSI_CDB_MAX 16        /* VSCSIIF_MAX_COMMAND_SIZE */

struct vscsi_host;

/* A LUN as the vhost's v-dev names it: channel, target (id), lun. */
struct vscsi_addr {
	uint16_t channel, target, lun;
};

enum vscsi_xfer {
	VSCSI_XFER_NONE = 0,
	VSCSI_XFER_READ,     /* from the device (DMA_FROM_DEVICE) */
	VSCSI_XFER_WRITE,    /* to the device (DMA_TO_DEVICE) */
};

/* Host status values (the rslt high byte), XEN_VSCSIIF_RSLT_HOST_*. */
enum {
	VSCSI_HOST_OK = 0,
	VSCSI_HOST_NO_CONNECT = 1,
	VSCSI_HOST_BUS_BUSY = 2,
	VSCSI_HOST_TIME_OUT = 3,
	VSCSI_HOST_BAD_TARGET = 4,
	VSCSI_HOST_ABORT = 5,
	VSCSI_HOST_PARITY = 6,
	VSCSI_HOST_ERROR = 7,
	VSCSI_HOST_RESET = 8,
};

/* SCSI status bytes used by the helpers. */
enum {
	VSCSI_STATUS_GOOD = 0x00,
	VSCSI_STATUS_CHECK_CONDITION = 0x02,
	VSCSI_STATUS_BUSY = 0x08,
	VSCSI_STATUS_RESERVATION_CONFLICT = 0x18,
	VSCSI_STATUS_TASK_SET_FULL = 0x28,
};

struct vscsi_task;
typedef void (*vscsi_task_cb)(struct vscsi_host *h, struct vscsi_task *task, void *private_data);

/* One SCSI command and its outcome. Created by vscsi_task_new() or a
 * helper, freed by vscsi_task_free() (also after a callback ran). */
struct vscsi_task {
	/* The command. */
	struct vscsi_addr addr;
	uint8_t cdb[VSCSI_CDB_MAX];
	uint8_t cdb_len;
	enum vscsi_xfer xfer;
	void *buf;               /* data to send, or room for data read */
	size_t buf_len;          /* transfer length in bytes */
	unsigned timeout_ms;     /* 0: the host's default; the backend gets it as
				  * timeout_per_command, in seconds rounded up */

	/* The outcome, valid once the task completed. */
	int error;               /* 0: answered (see below); -ETIMEDOUT: no answer in
				  * time (aborted / reset); -ENOTCONN: the backend
				  * closed or vanished; -EIO: the vhost was disabled
				  * (protocol violation); -ECANCELED: cancelled;
				  * -ESHUTDOWN: the host was closed; -E2BIG: too
				  * large for the vhost; -EINVAL: malformed. */
	uint8_t status;          /* SCSI status byte */
	uint8_t host_status;     /* VSCSI_HOST_* as the backend sent it */
	uint8_t sense_len;       /* valid bytes in sense */
	uint8_t sense[VSCSI_SENSE_MAX];
	uint32_t residual;       /* bytes not transferred, from the backend */
	size_t xfer_done;        /* buf_len - residual (bytes valid in buf) */
	int32_t rslt;            /* the raw vscsiif rslt */
	unsigned duration_ms;    /* submit to completion */
	char errmsg[128];        /* set with error: what happened */

	void *private_data;      /* the application's, untouched */
};

/* --- hosts --------------------------------------------------------- */

enum vscsi_host_state {
	VSCSI_HOST_CONNECTING,
	VSCSI_HOST_CONNECTED,
	VSCSI_HOST_DISCONNECTED,   /* backend closed or vanished: close the handle */
	VSCSI_HOST_FAILED,         /* disabled after a protocol violation */
};

struct vscsi_lun_info {
	struct vscsi_addr addr;
	unsigned vhost;            /* the v-dev host number (= the devid) */
	unsigned devnum;           /* N of vscsi-devs/dev-N */
	bool inquiry_ok;           /* false: INQUIRY failed; identity unknown */
	uint8_t qualifier;         /* peripheral qualifier (0: connected) */
	uint8_t dev_type;          /* peripheral device type, 0x1f unknown */
	bool removable;
	uint8_t version;           /* INQUIRY byte 2 */
	char vendor[9], product[17], revision[5];
	uint8_t inquiry[96];       /* the standard INQUIRY data */
	uint8_t inquiry_len;
	char pdev[128];            /* the backend's p-dev (informational) */
};

enum vscsi_event_type {
	VSCSI_EVENT_LUN_ADDED,      /* lun is valid */
	VSCSI_EVENT_LUN_REMOVED,    /* lun is valid */
	VSCSI_EVENT_DISCONNECTED,   /* message says why; every task failed */
	VSCSI_EVENT_FAILED,         /* message says why; every task failed */
};

struct vscsi_event {
	enum vscsi_event_type type;
	struct vscsi_lun_info lun;
	const char *message;
};

typedef void (*vscsi_event_cb)(struct vscsi_host *h, const struct vscsi_event *ev, void *priv);
typedef void (*vscsi_log_cb)(int level, const char *msg, void *priv);

enum { VSCSI_LOG_ERR = 0, VSCSI_LOG_WARN, VSCSI_LOG_INFO, VSCSI_LOG_DEBUG };

#define VSCSI_OPEN_FORCE 1u        /* take the vhost over even if it looks in use */
#define VSCSI_OPEN_NO_PROBE 2u     /* do not INQUIRY the LUNs */
#define VSCSI_OPEN_NO_PERSISTENT 4u /* do not offer persistent grants (the
				    * backend copies data, as for Linux's
				    * frontend); also $VSCSI_PERSISTENT=0 */

struct vscsi_opts {
	unsigned flags;              /* VSCSI_OPEN_* */
	unsigned connect_timeout_ms; /* 0: 10000 */
	unsigned cmd_timeout_ms;     /* default per command; 0: 30000 */
	unsigned tmf_timeout_ms;     /* per ABORT / RESET; 0: 5000 */
	unsigned pool_pages;         /* data pages shared at connect; 0: 512
				      * (or $VSCSI_POOL_PAGES) */
	int poll_us;                 /* busy-poll the ring this long before
				      * sleeping; -1: default 20 (or $VSCSI_POLL_US) */
	vscsi_event_cb event_cb;     /* hotplug and host events; may be NULL */
	void *event_priv;
};

/* Connects to vhost devid of this domain: shares the ring and the page
 * pool, binds the event channel, does the xenbus handshake, discovers
 * the LUNs and INQUIRYs each. Blocks until done or connect_timeout_ms.
 * opts may be NULL. Returns NULL with errno set and a message in err. */
struct vscsi_host *vscsi_open(unsigned devid, const struct vscsi_opts *opts, char *err,
			      size_t errlen);
/* Completes every outstanding task with -ESHUTDOWN (callbacks run),
 * closes the handshake (Closing, Closed) and frees everything. */
void vscsi_close(struct vscsi_host *h);

/* Lists the vhosts (devids) of this domain into out; returns how many
 * exist (may exceed max) or -errno. */
int vscsi_list_vhosts(unsigned *out, size_t max);

enum vscsi_host_state vscsi_get_state(struct vscsi_host *h);
/* Why the host is DISCONNECTED or FAILED ("" otherwise). */
const char *vscsi_get_error(struct vscsi_host *h);

struct vscsi_host_info {
	unsigned devid;
	int domid, backend_domid;
	char backend[128];          /* the backend's xenstore directory */
	unsigned feature_sg_grant;  /* as the backend wrote it; 0 if absent */
	unsigned max_segments;      /* data pages per command we use */
	size_t max_transfer;        /* bytes per command */
	unsigned pool_pages;
	unsigned ring_slots;
};
void vscsi_get_info(struct vscsi_host *h, struct vscsi_host_info *out);
/* Zero copy: a buffer of len bytes (whole pages, page-aligned) inside the
 * page pool the backend reads and writes. A task whose buf lies in it,
 * from a page boundary, moves its data in place: a WRITE's data is not
 * copied in, a READ's lands there (read it once the task completed). The
 * pages leave the pool for commands until vscsi_buf_free; a task still
 * using the buffer then keeps them until it ends. NULL with errno E2BIG
 * (more than one command can carry) or EAGAIN (no such run of free pages
 * now). Valid until vscsi_close. */
void *vscsi_buf_alloc(struct vscsi_host *h, size_t len);
void vscsi_buf_free(struct vscsi_host *h, void *buf);
/* Whether the backend maps our page pool once for the whole connection
 * (feature-persistent on both sides) instead of copying each command's
 * data: the pool is never revoked while connected either way. */
bool vscsi_host_persistent(struct vscsi_host *h);

/* A snapshot of the LUNs (ready ones, sorted by address). Returns how many
 * there are (may exceed max). */
size_t vscsi_get_luns(struct vscsi_host *h, struct vscsi_lun_info *out, size_t max);
/* 0 and *out filled, or -ENOENT. */
int vscsi_find_lun(struct vscsi_host *h, const struct vscsi_addr *addr, struct vscsi_lun_info *out);

void vscsi_set_event_cb(struct vscsi_host *h, vscsi_event_cb cb, void *priv);
/* The library's messages (default: errors to stderr; level from
 * $VSCSI_LOG_LEVEL = err|warn|info|debug). Process-wide. */
void vscsi_set_log(vscsi_log_cb cb, int level, void *priv);

/* --- event loop integration ------------------------------------------ */

/* An fd that polls readable when vscsi_service() has work. */
int vscsi_get_fd(struct vscsi_host *h);
/* Processes whatever is pending without blocking: responses, xenstore
 * changes, timeouts; runs callbacks. Returns the number of callbacks run
 * or -errno. */
int vscsi_service(struct vscsi_host *h);
/* For a loop that spins while busy: takes the answers already on the
 * ring and runs their callbacks (timeouts too) from memory, without a
 * syscall and without asking the backend to notify us, so that neither
 * side pays for a notification while both poll; the fds are looked at
 * once a millisecond. Call vscsi_service() (it asks for the notification)
 * before sleeping on vscsi_get_fd(). Returns the callbacks run or -errno. */
int vscsi_poll(struct vscsi_host *h);
/* Waits up to timeout_ms (-1: forever) for something and processes it. */
int vscsi_run_once(struct vscsi_host *h, int timeout_ms);
/* Busy-poll time before sleeping in blocking waits, in microseconds. */
void vscsi_set_poll_us(struct vscsi_host *h, unsigned us);

/* --- tasks -------------------------------------------------------------- */

/* A task for any CDB. buf may be NULL with buf_len > 0 for a read: the
 * task then owns a buffer of that size (freed with the task). */
struct vscsi_task *vscsi_task_new(const struct vscsi_addr *addr, const uint8_t *cdb,
				  size_t cdb_len, enum vscsi_xfer xfer, void *buf, size_t buf_len);
void vscsi_task_free(struct vscsi_task *task);

/* Queues the task (commands beyond the ring's 16 slots wait in FIFO
 * order). 0: cb will run exactly once; -errno: it will not. */
int vscsi_task_submit(struct vscsi_host *h, struct vscsi_task *task, vscsi_task_cb cb,
		      void *private_data);
/* Cancels a submitted task: a queued one completes with -ECANCELED, one
 * on the ring gets an ABORT. 0, or -ENOENT if it is not outstanding. */
int vscsi_task_cancel(struct vscsi_host *h, struct vscsi_task *task);
/* Runs the task to completion. Returns task->error (or -errno if it could
 * not be submitted). Thread-safe. */
int vscsi_task_run(struct vscsi_host *h, struct vscsi_task *task);

/* true if the task completed with GOOD status. */
bool vscsi_task_good(const struct vscsi_task *task);
/* Sense key / ASC / ASCQ from fixed or descriptor sense; false if none. */
bool vscsi_task_sense(const struct vscsi_task *task, uint8_t *key, uint8_t *asc, uint8_t *ascq);

/* Helpers. Each *_task builds, submits and returns the task (NULL with
 * errno set on failure); each *_sync runs it and returns it (NULL only
 * when out of memory): check task->error and task->status, then free. */
struct vscsi_task *vscsi_command_task(struct vscsi_host *h, const struct vscsi_addr *a,
				      const uint8_t *cdb, size_t cdb_len, enum vscsi_xfer xfer,
				      void *buf, size_t len, vscsi_task_cb cb, void *priv);
struct vscsi_task *vscsi_command_sync(struct vscsi_host *h, const struct vscsi_addr *a,
				      const uint8_t *cdb, size_t cdb_len, enum vscsi_xfer xfer,
				      void *buf, size_t len);

struct vscsi_task *vscsi_testunitready_task(struct vscsi_host *h, const struct vscsi_addr *a,
					    vscsi_task_cb cb, void *priv);
struct vscsi_task *vscsi_testunitready_sync(struct vscsi_host *h, const struct vscsi_addr *a);

struct vscsi_task *vscsi_inquiry_task(struct vscsi_host *h, const struct vscsi_addr *a, bool evpd,
				      uint8_t page, uint16_t alloc_len, vscsi_task_cb cb, void *priv);
struct vscsi_task *vscsi_inquiry_sync(struct vscsi_host *h, const struct vscsi_addr *a, bool evpd,
				      uint8_t page, uint16_t alloc_len);

struct vscsi_task *vscsi_readcapacity10_task(struct vscsi_host *h, const struct vscsi_addr *a,
					     vscsi_task_cb cb, void *priv);
struct vscsi_task *vscsi_readcapacity10_sync(struct vscsi_host *h, const struct vscsi_addr *a);
struct vscsi_task *vscsi_readcapacity16_task(struct vscsi_host *h, const struct vscsi_addr *a,
					     vscsi_task_cb cb, void *priv);
struct vscsi_task *vscsi_readcapacity16_sync(struct vscsi_host *h, const struct vscsi_addr *a);

struct vscsi_task *vscsi_reportluns_task(struct vscsi_host *h, const struct vscsi_addr *a,
					 uint8_t select_report, uint32_t alloc_len, vscsi_task_cb cb,
					 void *priv);
struct vscsi_task *vscsi_reportluns_sync(struct vscsi_host *h, const struct vscsi_addr *a,
					 uint8_t select_report, uint32_t alloc_len);

struct vscsi_task *vscsi_requestsense_task(struct vscsi_host *h, const struct vscsi_addr *a,
					   uint8_t alloc_len, vscsi_task_cb cb, void *priv);
struct vscsi_task *vscsi_requestsense_sync(struct vscsi_host *h, const struct vscsi_addr *a,
					   uint8_t alloc_len);

/* READ(16) / WRITE(16) of nblocks blocks of block_size bytes at lba. For a
 * read, buf NULL makes the task own the buffer. */
struct vscsi_task *vscsi_read16_task(struct vscsi_host *h, const struct vscsi_addr *a, uint64_t lba,
				     uint32_t nblocks, uint32_t block_size, void *buf,
				     vscsi_task_cb cb, void *priv);
struct vscsi_task *vscsi_read16_sync(struct vscsi_host *h, const struct vscsi_addr *a, uint64_t lba,
				     uint32_t nblocks, uint32_t block_size, void *buf);
struct vscsi_task *vscsi_write16_task(struct vscsi_host *h, const struct vscsi_addr *a,
				      uint64_t lba, uint32_t nblocks, uint32_t block_size,
				      const void *buf, vscsi_task_cb cb, void *priv);
struct vscsi_task *vscsi_write16_sync(struct vscsi_host *h, const struct vscsi_addr *a,
				      uint64_t lba, uint32_t nblocks, uint32_t block_size,
				      const void *buf);

/* --- small helpers ------------------------------------------------------ */

/* "disk", "tape", "changer"... for a peripheral device type. */
const char *vscsi_dev_type_name(uint8_t dev_type);
/* Parses "C:T:L" or "H:C:T:L": each part decimal as printf's %u writes
 * it (no sign, blank or leading zero) and at most 65535, the rule the
 * backend and vscsictl apply to v-devs too. host may be NULL; it is set
 * to -1 when absent. 0 or -EINVAL. */
int vscsi_parse_addr(const char *s, int *host, struct vscsi_addr *out);

#ifdef __cplusplus
}
#endif

#endif
