/* A LUN: how scsiback reaches one host device. Callers use lun_open,
 * lun_submit, lun_abort, lun_reset and lun_close; behind them the core
 * (lun.c) owns what every driver needs (answers from the loop, never from
 * inside a call; the TMF answers; one wake-up per LUN; closing from
 * inside a callback) and each kind (sg, iscsi, null) fills an ops table,
 * like tcmu-runner's handlers, with only its own subject. The ring code
 * knows nothing of the device behind it.
 */
#ifndef SCSIBACK_LUN_H
#define SCSIBACK_LUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "evloop.h"
#include "list.h"
#include "pdev.h"

/* Data direction, with the values of vscsiif's sc_data_direction. */
enum lun_dir { LUN_DIR_BIDI = 0, LUN_DIR_TO_DEV = 1, LUN_DIR_FROM_DEV = 2, LUN_DIR_NONE = 3 };

#define LUN_SENSE_MAX 96   /* VSCSIIF_SENSE_BUFFERSIZE */

struct lun;
struct lun_cmd;
struct lun_ops;
typedef void (*lun_cmd_done_fn)(struct lun_cmd *cmd);

/* One SCSI command. The caller owns it and its buffer until done runs. */
struct lun_cmd {
	uint8_t cdb[16];
	uint8_t cdb_len;
	enum lun_dir dir;
	struct iovec *iov;        /* data buffer; NULL/0 for no data */
	int iovcnt;
	size_t xfer_len;          /* sum of iov lengths */
	unsigned timeout_ms;      /* 0: the driver's default for the device type */

	/* Results, set by the driver before done(): */
	uint8_t status;           /* SCSI status byte */
	uint8_t host;             /* XEN_VSCSIIF_RSLT_HOST_* */
	uint8_t sense_len;        /* 0..96, as the device returned it */
	uint8_t sense[LUN_SENSE_MAX];
	uint32_t resid;           /* bytes not transferred */

	lun_cmd_done_fn done;
	void *priv;               /* the caller's */
	void *drv;                /* the driver's, while in flight */
	struct list_link link;    /* the core's, while its answer waits */
};

/* Result of a task-management call: XEN_VSCSIIF_RSLT_RESET_SUCCESS or
 * XEN_VSCSIIF_RSLT_RESET_FAILED, as the vscsiif answer wants it. */
typedef void (*lun_tmf_done_fn)(void *arg, int rslt);

/* Backend-side settings for a LUN that never come from xenstore. */
struct lun_config {
	const char *initiator_iqn;    /* iscsi: our initiator name */
	const uint8_t *isid;          /* iscsi: the session's ISID (6 bytes, random
				       * format: common/iport.h); NULL: libiscsi's */
	const char *chap_user;        /* iscsi: CHAP, from the config file */
	const char *chap_password;
	unsigned default_timeout_ms;  /* 0: per device type */
	bool has_sg_fd;               /* sg: sg_fd is the node, opened for us (a
				       * worker's LUN: docs/privsep.md); lun_open
				       * takes it, open or not */
	int sg_fd;
};

struct lun_core;                  /* lun.c's, one per open LUN */

struct lun {
	struct evloop *loop;         /* the caller's, set before lun_open */
	/* The caller's: the end of an open that returned -EINPROGRESS. */
	void (*opened)(struct lun *lun, int rc);
	const struct lun_ops *ops;   /* set by lun_open */
	struct lun_core *core;       /* NULL: not open (or closed) */
	void *priv;                  /* the driver's */
	uint8_t dev_type;            /* 0 disk, 1 tape, 8 changer, 5 cdrom, ... */
	char desc[128];              /* human-readable: "sg /dev/sg3 (1:0:0:2)" */
	char error[256];             /* cause of the last open failure */
};

/* ------------------------------------------------------------------ */
/* The caller's side. Every call happens on the loop's thread.          */

/* Opens the device pdev names (pdev_resolve has classified it) with the
 * driver for its kind. Fills lun->dev_type (0x1f if unknown) and
 * lun->desc. Returns 0, -EINPROGRESS or -errno with a one-line cause in
 * lun->error. -EINPROGRESS (a driver that waits for the device or the
 * network): lun->opened runs later from the loop, never from inside
 * lun_open, with 0 (open) or -errno (lun->error says why, the LUN is
 * closed already). lun_close while opening cancels the open: opened is
 * not called. */
int lun_open(struct lun *lun, const struct pdev_info *pdev, const struct lun_config *cfg);
/* Queues cmd; 0 (cmd->done runs later, from the loop) or -errno (nothing
 * queued, done will not run; -ENODEV while opening or once closed). */
int lun_submit(struct lun *lun, struct lun_cmd *cmd);
/* ABORT TASK for an in-flight cmd, LOGICAL UNIT RESET: 0 (done gets the
 * rslt later, from the loop, after the commands the TMF ended) or -errno
 * (done will not run; -ENOENT: cmd is not in flight). */
int lun_abort(struct lun *lun, struct lun_cmd *cmd, lun_tmf_done_fn done, void *arg);
int lun_reset(struct lun *lun, lun_tmf_done_fn done, void *arg);
/* Completes every command still in flight (host ABORT) and every TMF,
 * before it returns; the caller may free lun then, even from inside one of
 * lun's own callbacks. A no-op on a LUN that is not open. */
void lun_close(struct lun *lun);
/* The state of the LUN's link to its device in a few words, for
 * status.json and vscsictl list ("up", "reconnecting (cause)"); "" when
 * the driver has no link to speak of (sg, null) or the LUN is not open. */
void lun_link(const struct lun *lun, char *buf, size_t len);

/* The driver for a p-dev kind: PDEV_ISCSI -> iscsi, PDEV_NULL -> null
 * (benchmarking aid), PDEV_SG -> sg. */
const struct lun_ops *lun_driver_for(enum pdev_kind kind);

/* ------------------------------------------------------------------ */
/* The driver's side: what a driver fills, and what the core (lun.c)    */
/* does for every driver so that none writes it again.                 */
/*
 * The core calls the ops only from lun_* above and from the loop. It
 * counts its calls and the driver's watched callbacks (lun_watch_add):
 * a LUN closed from inside one of them (a done() that ends in
 * lun_close) has close() run at once, and release() only once the
 * outermost of them has returned, so a driver never frees memory its own
 * stack still uses.
 */

struct lun_tmf;                   /* a TMF the core holds until answered */

struct lun_ops {
	const char *name;
	/* Opens; lun->core is set (lun_open_done, lun_watch_add work). 0,
	 * -EINPROGRESS (then lun_open_done later) or -errno with lun->error
	 * set; on -errno the core calls close/release when lun->priv is set. */
	int (*open)(struct lun *lun, const struct pdev_info *pdev, const struct lun_config *cfg);
	/* Only while open. Results go through lun_complete. */
	int (*submit)(struct lun *lun, struct lun_cmd *cmd);
	/* Optional. Answer through lun_tmf_done(tmf, rslt), exactly once,
	 * unless an error is returned. */
	int (*abort)(struct lun *lun, struct lun_cmd *cmd, struct lun_tmf *tmf);
	int (*reset)(struct lun *lun, struct lun_tmf *tmf);
	/* Optional, from the LUN's wake-up before the answers waiting: once
	 * a wake-up, and again each round after a lun_kick (null: emulate
	 * what was submitted; sg: refill the device's queue). */
	void (*run)(struct lun *lun);
	/* Optional, first in lun_close while the LUN still takes commands:
	 * a moment for running commands to finish truthfully. */
	void (*drain)(struct lun *lun);
	/* Optional: lun_link's text (no clock in it: status.json is rewritten
	 * when it changes). */
	void (*link)(const struct lun *lun, char *buf, size_t len);
	/* Completes (lun_complete) every command in flight and answers every
	 * TMF it holds; stops its watches. lun_submit is refused from here. */
	void (*close)(struct lun *lun);
	/* Frees lun->priv (given here, lun is gone): no callback of the
	 * LUN's is on the stack any more. */
	void (*release)(void *priv);
};

extern const struct lun_ops lun_sg_ops;
extern const struct lun_ops lun_iscsi_ops;
extern const struct lun_ops lun_null_ops;

/* The command's results are set: done() runs now, or from the loop when
 * the driver is inside lun_submit/abort/reset/open. */
void lun_complete(struct lun_core *core, struct lun_cmd *cmd);
/* Answers a TMF; the caller hears it from the loop, after the commands
 * completed before. */
void lun_tmf_done(struct lun_tmf *tmf, int rslt);
/* The end of an open that returned -EINPROGRESS; reported from the loop
 * (on failure the core closes the LUN first). */
void lun_open_done(struct lun_core *core, int rc);
/* Asks for a run() from the loop. */
void lun_kick(struct lun_core *core);
/* true once lun_close has started: stop, what is left is answered. */
bool lun_closed(const struct lun_core *core);

/* lun_open with ops and an open of the driver's own: for a driver's test
 * entry that opens something a p-dev cannot name (lun_sg.h). */
int lun_open_with(struct lun *lun, const struct lun_ops *ops,
		  int (*open)(struct lun *lun, void *arg), void *arg);

/* A driver's fd on the loop, its callbacks counted as the LUN's. */
struct lun_watch {
	struct evloop_handler h;
	struct lun_core *core;
	void (*cb)(void *arg, uint32_t events);
	void *arg;
	bool added;
};
/* 0 or -errno. */
int lun_watch_add(struct lun_core *core, struct lun_watch *w, int fd, uint32_t events,
		  void (*cb)(void *arg, uint32_t events), void *arg);
int lun_watch_mod(struct lun_watch *w, uint32_t events);
/* A no-op on a watch not added. */
void lun_watch_del(struct lun_watch *w);

/* Default timeout for a device type when the guest gives none: long
 * enough for tape rewinds and changer moves. */
unsigned lun_default_timeout_ms(uint8_t dev_type);

/* For logs: "Unit Attention: Power on, reset, ... (29/00)", decoded by
 * libsgutils2. */
void lun_sense_summary(const uint8_t *sense, int len, char *out, size_t outlen);
/* snprintf that may truncate: the drivers' names and messages (lun->error,
 * lun->desc) are cut, never overrun. */
__attribute__((format(printf, 3, 4)))
void fmt_into(char *buf, size_t len, const char *fmt, ...);
/* A debug line for a command that did not end GOOD. */
void lun_log_result(const char *name, const struct lun_cmd *cmd);
/* The device's command wanted more data than the request's segments hold
 * (its CDB asks for 32 KiB, the guest gave 4 KiB): whatever the device's
 * status, part of the transfer never happened. Answered as an HBA answers
 * a data overrun: host status ERROR, nothing of the buffer counted as
 * transferred. Called by a driver whose device reported an overflow. */
void lun_answer_overrun(struct lun_cmd *cmd);

#endif
