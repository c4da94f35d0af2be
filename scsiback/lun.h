/* A LUN driver: how scsiback reaches one host device. Each kind (sg,
 * iscsi, null) fills an ops table, like tcmu-runner's handlers; the ring
 * code knows nothing of the device behind it.
 *
 * Every call happens on the daemon's event-loop thread. Drivers register
 * their fds with lun->loop and complete commands from their callbacks,
 * never from inside submit().
 */
#ifndef SCSIBACK_LUN_H
#define SCSIBACK_LUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "evloop.h"
#include "pdev.h"

/* Data direction, with the values of vscsiif's sc_data_direction. */
enum lun_dir { LUN_DIR_BIDI = 0, LUN_DIR_TO_DEV = 1, LUN_DIR_FROM_DEV = 2, LUN_DIR_NONE = 3 };

#define LUN_SENSE_MAX 96   /* VSCSIIF_SENSE_BUFFERSIZE */

struct lun;
struct lun_cmd;
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
};

/* Result of a task-management call: XEN_VSCSIIF_RSLT_RESET_SUCCESS or
 * XEN_VSCSIIF_RSLT_RESET_FAILED, as the vscsiif answer wants it. */
typedef void (*lun_tmf_done_fn)(void *arg, int rslt);

/* Backend-side settings for a LUN that never come from xenstore. */
struct lun_config {
	const char *initiator_iqn;    /* iscsi: our initiator name */
	const char *chap_user;        /* iscsi: CHAP, from the config file */
	const char *chap_password;
	unsigned default_timeout_ms;  /* 0: per device type */
};

struct lun_ops {
	const char *name;
	/* Opens the device of pdev, classified, validated and resolved once
	 * (pdev_resolve: kind is this driver's). Fills lun->dev_type (SCSI peripheral device type, 0x1f if unknown)
	 * and lun->desc. Returns 0 or -errno; on error writes a one-line cause
	 * into lun->error. A driver that must wait for the network (iscsi:
	 * connect, login, INQUIRY) returns -EINPROGRESS and later calls
	 * lun->opened from the loop, never from inside open(): 0, the LUN is
	 * open; -errno, lun->error says why and the driver has let everything
	 * go (close() is then a no-op). close() while opening cancels the open
	 * and opened is not called. */
	int (*open)(struct lun *lun, const struct pdev_info *pdev, const struct lun_config *cfg);
	/* Queues cmd; returns 0 (done() will run later) or -errno (nothing
	 * queued, done() will not run). */
	int (*submit)(struct lun *lun, struct lun_cmd *cmd);
	/* ABORT TASK for an in-flight cmd; done gets the rslt. Optional. */
	int (*abort)(struct lun *lun, struct lun_cmd *cmd, lun_tmf_done_fn done, void *arg);
	/* LOGICAL UNIT RESET; done gets the rslt. */
	int (*reset)(struct lun *lun, lun_tmf_done_fn done, void *arg);
	/* Completes every in-flight command (host ABORT or RESET) and frees. */
	void (*close)(struct lun *lun);
};

struct lun {
	const struct lun_ops *ops;
	struct evloop *loop;
	/* The caller's: the end of an open that returned -EINPROGRESS. */
	void (*opened)(struct lun *lun, int rc);
	void *priv;                  /* the driver's */
	uint8_t dev_type;            /* 0 disk, 1 tape, 8 changer, 5 cdrom, ... */
	char desc[128];              /* human-readable: "sg /dev/sg3 (1:0:0:2)" */
	char error[256];             /* cause of the last open failure */
};

/* The driver for a kind of p-dev: iscsi://, null: (a benchmarking aid),
 * or a host device's sg node. */
const struct lun_ops *lun_driver_for(enum pdev_kind kind);

extern const struct lun_ops lun_sg_ops;
extern const struct lun_ops lun_iscsi_ops;
extern const struct lun_ops lun_null_ops;

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

#endif
