/* libvscsifront internals shared by its files. One concept per file:
 *   host.c    open/close, locking, the event fd, processing, waiting
 *   xenbus.c  the xenstore handshake and backend state changes
 *   lun.c     LUN discovery (dev-N), INQUIRY probes, hotplug events
 *   ring.c    putting requests on the ring, validating responses
 *   pool.c    the persistent page pool and copying data in and out
 *   task.c    tasks: queueing, timeouts, ABORT / RESET, completion
 *   cdb.c     CDB helpers (*_task / *_sync) and small utilities
 *   log.c     the library's logger
 */
#ifndef VF_INTERNAL_H
#define VF_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#include "vscsi_ring.h"
#include "vscsifront.h"

#define VF_SLOTS 16                      /* rqids, one per ring slot */
_Static_assert(VSCSI_RING_SIZE == VF_SLOTS, "a vscsiif ring has 16 slots on 4 KiB pages");
#define VF_PAGE 4096u
#define VF_SEGS_PER_TABLE (VF_PAGE / sizeof(struct scsiif_request_segment)) /* 512 */

/* ---- logging (log.c) ---- */
void vf_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define vf_err(...) vf_log(VSCSI_LOG_ERR, __VA_ARGS__)
#define vf_warn(...) vf_log(VSCSI_LOG_WARN, __VA_ARGS__)
#define vf_info(...) vf_log(VSCSI_LOG_INFO, __VA_ARGS__)
#define vf_debug(...) vf_log(VSCSI_LOG_DEBUG, __VA_ARGS__)
bool vf_log_enabled(int level);

uint64_t vf_now_ns(void);

/* ---- tasks ---- */
enum vf_task_state {
	VF_TASK_IDLE,       /* built, not submitted (or completed) */
	VF_TASK_QUEUED,     /* waiting for a ring slot / pool pages */
	VF_TASK_RING,       /* on the ring */
	VF_TASK_TIMED_OUT,  /* on the ring, past its deadline: ABORT / RESET running */
	VF_TASK_LOCAL,      /* answered here with a UNIT ATTENTION the probe took (lun.c) */
};

enum vf_tmf_stage { VF_TMF_NONE, VF_TMF_ABORT, VF_TMF_RESET };

struct vf_task {
	struct vscsi_task pub;          /* first: the application's view */
	struct vf_task *next, *prev;    /* the queue, or the TMF queue */
	vscsi_task_cb cb;
	void *cb_priv;
	enum vf_task_state state;
	uint64_t submit_ns, deadline_ns;
	int slot;                       /* rqid while on the ring, else -1 */
	/* Timeout handling. */
	enum vf_tmf_stage tmf;          /* what is being tried */
	bool tmf_queued;                /* waiting in the TMF queue for a slot */
	int tmf_slot;                   /* the TMF's rqid once sent, else -1 */
	uint64_t tmf_deadline_ns;
	bool cancelled;                 /* the ABORT came from vscsi_task_cancel */
	/* Ownership and internal use. */
	void *own_buf;                  /* freed with the task */
	bool internal;                  /* a library probe: completed under the lock */
	unsigned probe_devnum;
	unsigned probe_step;            /* 0: INQUIRY, then TEST UNIT READYs */
	struct vscsi_host *host;        /* while outstanding */
	/* Delivery list after processing. */
	struct vf_task *done_next;
};

static inline struct vf_task *vf_task(struct vscsi_task *t)
{
	return (struct vf_task *)t;
}

/* ---- ring slots (one per rqid) ---- */
enum vf_slot_state {
	VF_SLOT_FREE,
	VF_SLOT_CDB,      /* a command; task set */
	VF_SLOT_TMF,      /* an ABORT / RESET; task = its victim or NULL */
	VF_SLOT_ZOMBIE,   /* given up on; waiting for its late answer */
};

/* A zero-copy buffer: a run of pool pages the application owns
 * (vscsi_buf_alloc), lent to the slots of the tasks that use it. */
struct vf_zbuf {
	struct vf_zbuf *next;
	unsigned first, n;        /* pool pages first .. first + n - 1 */
	unsigned users;           /* slots using it (zombies included) */
	bool freed;               /* the application let go: back to the pool
				   * when the last user ends */
};

struct vf_slot {
	enum vf_slot_state state;
	uint8_t act;
	struct vf_task *task;
	struct vscsi_addr addr;
	uint32_t *pages;          /* pool page indices (max_segments) */
	unsigned npages;
	struct vf_zbuf *zbuf;     /* the pages are this buffer's, not the pool's */
	uint64_t zombie_until_ns; /* a zombie is freed after this */
	bool stale_ok;            /* freed zombie: one late answer is tolerated */
};

/* ---- LUNs ---- */
enum vf_lun_state { VF_LUN_PROBING, VF_LUN_READY };

struct vf_lun {
	struct vscsi_lun_info info;
	enum vf_lun_state state;
	/* A UNIT ATTENTION the probe's TEST UNIT READY took that is the
	 * application's (not the attach-time 29h): the LUN's next command
	 * gets it instead, as from the device. */
	uint8_t ua_sense[VSCSI_SENSE_MAX];
	uint8_t ua_len;
};

/* ---- deliverables (run after the lock is dropped) ---- */
struct vf_event_item {
	struct vscsi_event ev;
	char msg[256];
	struct vf_event_item *next;
};

struct vf_deliver {
	struct vf_task *done_head, *done_tail;
	struct vf_event_item *ev_head, *ev_tail;
};

/* ---- the host ---- */
struct vscsi_host {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool driving;                    /* a thread is processing / sleeping on the fd */
	pid_t owner_pid;

	unsigned devid;
	int domid, be_domid;
	char name[48];                   /* "vhost D/N" for messages */
	char fe_path[96];                /* device/vscsi/N (relative) */
	char be_path[128];
	struct vscsi_opts opts;

	struct xs_handle *xs;
	xengntshr_handle *shr;
	xenevtchn_handle *evt;
	int port;
	int epfd, timerfd;
	uint64_t timer_armed_ns;         /* 0: disarmed */

	/* The ring and the pool, shared once. */
	void *ring_page;
	uint32_t ring_ref;
	vscsiif_front_ring_t ring;
	uint8_t *pool;
	uint32_t *pool_refs;
	unsigned pool_pages;
	uint32_t *free_pages;            /* stack of free pool page indices */
	unsigned nfree;
	struct vf_zbuf *zbufs;           /* zero-copy buffers (vscsi_buf_alloc) */
	uint8_t *tables;                 /* read-only indirect table pages: */
	unsigned tables_per_slot;        /* this many for each ring slot */
	uint32_t *table_refs;
	struct vf_slot slots[VF_SLOTS];
	unsigned slots_busy;

	/* Negotiated. */
	unsigned feature_sg_grant;
	bool offer_persistent;           /* we write feature-persistent 1 */
	bool persistent;                 /* and the backend did too */
	unsigned max_segments;

	/* State. */
	enum vscsi_host_state state;
	int fe_state;                    /* what we last wrote */
	char error[256];
	bool ring_dead;                  /* stop touching the ring (failed / disconnected) */

	/* Tasks. */
	struct vf_task *q_head, *q_tail;     /* FIFO of commands waiting for the ring */
	struct vf_task *tmf_head, *tmf_tail; /* victims waiting to send a TMF */
	struct vf_task *local_head, *local_tail; /* answered here (VF_TASK_LOCAL) */
	unsigned outstanding;                /* submitted, not completed (incl. internal) */

	/* LUNs. */
	struct vf_lun *luns;
	size_t nluns, cap_luns;
	unsigned probing;

	vscsi_event_cb event_cb;
	void *event_priv;
	unsigned poll_us;
	unsigned long passes;
	uint64_t polled_fds_ns;              /* vscsi_poll()'s last look at the fds */
	struct vf_deliver *cur_dl;           /* the pass running under the lock */
	int kickfd;                          /* wakes a thread sleeping on the fd */
};

/* host.c */
void vf_fail(struct vscsi_host *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vf_disconnected(struct vscsi_host *h, const char *why);
int vf_process_locked(struct vscsi_host *h, struct vf_deliver *dl, bool arm,
		      const struct epoll_event *evs, int nev);
void vf_deliver(struct vscsi_host *h, struct vf_deliver *dl);
void vf_event(struct vscsi_host *h, struct vf_deliver *dl, enum vscsi_event_type type,
	      const struct vscsi_lun_info *lun, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Blocks until *flag is true or deadline (0: none). 0 or -ETIMEDOUT. */
int vf_wait_locked(struct vscsi_host *h, volatile bool *flag, uint64_t deadline_ns);
void vf_rearm_timer(struct vscsi_host *h);

/* xenbus.c */
int vf_xb_start(struct vscsi_host *h, char *err, size_t errlen);
void vf_xb_watch(struct vscsi_host *h, struct vf_deliver *dl);
void vf_xb_backend_changed(struct vscsi_host *h, struct vf_deliver *dl);
void vf_xb_close(struct vscsi_host *h, unsigned timeout_ms);

/* lun.c */
void vf_lun_add_pass(struct vscsi_host *h, struct vf_deliver *dl);
void vf_lun_delete_pass(struct vscsi_host *h, struct vf_deliver *dl);
void vf_lun_probe_done(struct vscsi_host *h, struct vf_task *t, struct vf_deliver *dl);
void vf_lun_drop_all(struct vscsi_host *h);
struct vf_lun *vf_lun_by_devnum(struct vscsi_host *h, unsigned devnum);
/* Answers t with its LUN's kept UNIT ATTENTION, if it has one that t
 * must get (any command but INQUIRY, REPORT LUNS and REQUEST SENSE). */
bool vf_lun_take_ua(struct vscsi_host *h, struct vf_task *t);

/* pool.c */
int vf_pool_share(struct vscsi_host *h, unsigned want_pages, char *err, size_t errlen);
void vf_pool_unshare(struct vscsi_host *h);
/* The most data pages one command may use: the pool, as far as the
 * slot's table pages can list it. */
unsigned vf_pool_max_segments(const struct vscsi_host *h);
int vf_pool_get(struct vscsi_host *h, struct vf_slot *s, size_t len);
/* The zero-copy buffer buf..buf+len lies in, whole pages from its start:
 * then slot s uses its pages and nothing is copied. false: copy. */
bool vf_pool_lend(struct vscsi_host *h, struct vf_slot *s, const void *buf, size_t len);
void vf_pool_put(struct vscsi_host *h, struct vf_slot *s);
void vf_pool_copy_in(struct vscsi_host *h, const struct vf_slot *s, const void *buf, size_t len);
void vf_pool_copy_out(struct vscsi_host *h, const struct vf_slot *s, void *buf, size_t len);

/* ring.c */
int vf_ring_free_slot(struct vscsi_host *h);
void vf_ring_put_cdb(struct vscsi_host *h, int rqid, struct vf_task *t);
void vf_ring_put_tmf(struct vscsi_host *h, int rqid, uint8_t act, const struct vscsi_addr *a,
		     int ref_rqid);
void vf_ring_push(struct vscsi_host *h);
/* Takes every response; returns how many, or -1 once the host failed. */
int vf_ring_take(struct vscsi_host *h, struct vf_deliver *dl);
/* Sets rsp_event and re-checks; true if responses arrived meanwhile. */
bool vf_ring_arm(struct vscsi_host *h);
bool vf_ring_peek(struct vscsi_host *h);

/* task.c */
/* Completes the tasks answered without the ring (VF_TASK_LOCAL). */
void vf_task_answer_local(struct vscsi_host *h, struct vf_deliver *dl);
void vf_task_dispatch(struct vscsi_host *h);
void vf_task_on_response(struct vscsi_host *h, int rqid, const vscsiif_response_t *rsp,
			 struct vf_deliver *dl);
void vf_task_timeouts(struct vscsi_host *h, struct vf_deliver *dl, uint64_t now);
uint64_t vf_task_next_deadline(struct vscsi_host *h);
void vf_task_fail_all(struct vscsi_host *h, int error, const char *why, struct vf_deliver *dl);
void vf_task_complete(struct vscsi_host *h, struct vf_task *t, int error, struct vf_deliver *dl,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int vf_task_submit_locked(struct vscsi_host *h, struct vf_task *t, vscsi_task_cb cb, void *priv);

#endif
