/* The LUN-driver core: what every driver would otherwise write again.
 * Callers reach a driver only through lun_open/submit/abort/reset/close
 * here, so the core knows when a driver runs inside a caller's call and
 * when a callback of the LUN's is on the stack:
 *  - answers found inside a call wait in one FIFO per LUN (linked
 *    through lun_cmd.link, no allocation) and are given from the loop;
 *  - TMF answers wait in a second FIFO and go out after the commands
 *    answered before them;
 *  - one wake-up of the loop's per LUN (no fd, no syscall) gives both
 *    (and runs a driver's run(), null's emulation), up to LUN_ROUNDS
 *    rounds a wake-up so that answers submitted from inside answers go
 *    out in the same round;
 *  - a LUN closed from inside one of its callbacks has close() run at
 *    once and release() when the outermost callback returns (depth).
 * Also the per-device-type default timeouts and result logging.
 */
#include "lun.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <scsi/sg_lib.h>
#include <xen/io/vscsiif.h>

#include "log.h"

#define LUN_ROUNDS 8              /* rounds of answers per wake-up: others get the loop too */

enum lun_state { LUN_OPENING, LUN_OPEN, LUN_CLOSED };

struct lun_tmf {
	struct list_link link;
	struct lun_core *core;
	lun_tmf_done_fn done;
	void *arg;
	int rslt;
};

struct lun_core {
	struct lun *lun;                  /* NULL once closed */
	const struct lun_ops *ops;
	void *priv;                       /* the driver's, for release() */
	struct evloop *loop;
	enum lun_state state;
	struct evloop_wake wake;
	struct list_link cmds;            /* answers waiting for the loop */
	struct list_link tmfs;            /* TMF answers waiting */
	int depth;                        /* our calls and the LUN's callbacks on the stack */
	int in_call;                      /* of which the caller's calls */
	bool in_wake;                     /* the wake-up's rounds are running */
	bool kicked;                      /* run() wanted */
	bool open_pending;                /* lun_open_done came, not reported yet */
	int open_rc;
};

const struct lun_ops *lun_driver_for(enum pdev_kind kind)
{
	switch (kind) {
	case PDEV_ISCSI:
		return &lun_iscsi_ops;
	case PDEV_NULL:
		return &lun_null_ops;
	default:
		return &lun_sg_ops;
	}
}

static void wake(struct lun_core *core)
{
	if (core->in_wake || core->state == LUN_CLOSED)
		return;   /* the rounds running now see it */
	evloop_wake_fire(&core->wake);
}

static void finish(struct lun_core *core)
{
	if (core->ops->release && core->priv)
		core->ops->release(core->priv);
	evloop_wake_cancel(&core->wake);
	free(core);
}

static void leave(struct lun_core *core)
{
	if (--core->depth == 0 && core->state == LUN_CLOSED)
		finish(core);
}

static void answer_cmd(struct list_link *l)
{
	struct lun_cmd *cmd = list_entry(l, struct lun_cmd, link);

	cmd->done(cmd);
}

static void answer_tmf(struct list_link *l)
{
	struct lun_tmf *t = list_entry(l, struct lun_tmf, link);

	t->done(t->arg, t->rslt);
	free(t);
}

/* Gives the answers queue holds now, oldest first, or every answer with
 * all (close); each is unlinked before its callback so that a close from
 * there finds the rest, and a close stops the round. */
static void give(struct lun_core *core, struct list_link *queue, void (*answer)(struct list_link *l),
		 bool all)
{
	struct list_link *last = queue->prev;

	while (!list_empty(queue) && (all || core->state != LUN_CLOSED)) {
		struct list_link *l = queue->next;
		bool was_last = l == last;

		list_del(l);
		answer(l);
		if (was_last && !all)
			break;
	}
}

static bool waiting(const struct lun_core *core)
{
	return core->kicked || !list_empty(&core->cmds) || !list_empty(&core->tmfs) ||
	       core->open_pending;
}

/* Closes the driver and gives every answer still waiting, now. */
static void shut(struct lun *lun, struct lun_core *core)
{
	core->state = LUN_CLOSED;
	core->open_pending = false;
	core->priv = lun->priv;
	core->ops->close(lun);
	give(core, &core->cmds, answer_cmd, true);
	give(core, &core->tmfs, answer_tmf, true);
	evloop_wake_cancel(&core->wake);
	core->lun = NULL;
	lun->core = NULL;
	lun->priv = NULL;
}

static void report_open(struct lun_core *core)
{
	struct lun *lun = core->lun;
	int rc = core->open_rc;

	core->open_pending = false;
	if (rc)
		shut(lun, core);
	else
		core->state = LUN_OPEN;
	if (lun->opened)
		lun->opened(lun, rc);   /* may free lun */
}

static void on_wake(void *arg)
{
	struct lun_core *core = arg;

	core->depth++;
	core->in_wake = true;
	if (core->open_pending)
		report_open(core);
	for (int round = 0; round < LUN_ROUNDS && core->state != LUN_CLOSED &&
			    (round == 0 || waiting(core));
	     round++) {
		bool run = round == 0 || core->kicked;

		core->kicked = false;
		if (run && core->ops->run)
			core->ops->run(core->lun);
		give(core, &core->cmds, answer_cmd, false);
		/* TMF answers after the commands answered before them */
		give(core, &core->tmfs, answer_tmf, false);
	}
	core->in_wake = false;
	if (waiting(core))
		wake(core);
	leave(core);
}

int lun_open_with(struct lun *lun, const struct lun_ops *ops,
		  int (*open)(struct lun *lun, void *arg), void *arg)
{
	struct lun_core *core = calloc(1, sizeof(*core));
	char err[sizeof(lun->error)];
	int rc;

	lun->core = NULL;
	lun->priv = NULL;
	lun->ops = ops;
	if (!core) {
		fmt_into(lun->error, sizeof(lun->error), "lun %s: out of memory", ops->name);
		return -ENOMEM;
	}
	core->lun = lun;
	core->ops = ops;
	core->loop = lun->loop;
	list_init(&core->cmds);
	list_init(&core->tmfs);
	evloop_wake_init(&core->wake, lun->loop, on_wake, core);
	lun->core = core;
	core->depth++;
	core->in_call++;
	rc = open(lun, arg);
	core->in_call--;
	if (rc == 0) {
		core->state = LUN_OPEN;
	} else if (rc != -EINPROGRESS) {
		/* the driver said why; closing what it set up says nothing */
		memcpy(err, lun->error, sizeof(err));
		if (lun->priv) {
			shut(lun, core);
		} else {
			core->state = LUN_CLOSED;
			evloop_wake_cancel(&core->wake);
			lun->core = NULL;
		}
		memcpy(lun->error, err, sizeof(err));
	}
	leave(core);
	return rc;
}

struct open_args {
	const struct pdev_info *pdev;
	const struct lun_config *cfg;
};

static int open_pdev(struct lun *lun, void *arg)
{
	const struct open_args *a = arg;

	return lun->ops->open(lun, a->pdev, a->cfg);
}

int lun_open(struct lun *lun, const struct pdev_info *pdev, const struct lun_config *cfg)
{
	struct open_args a = { pdev, cfg };

	return lun_open_with(lun, lun_driver_for(pdev->kind), open_pdev, &a);
}

/* A caller's call into the driver: answers wait for the loop. */
static struct lun_core *enter_call(struct lun *lun)
{
	struct lun_core *core = lun->core;

	if (!core || core->state != LUN_OPEN)
		return NULL;
	core->depth++;
	core->in_call++;
	return core;
}

static void leave_call(struct lun_core *core)
{
	core->in_call--;
	leave(core);
}

int lun_submit(struct lun *lun, struct lun_cmd *cmd)
{
	struct lun_core *core = enter_call(lun);
	int rc;

	if (!core)
		return -ENODEV;
	rc = core->ops->submit(lun, cmd);
	leave_call(core);
	return rc;
}

/* Runs a TMF call with the record its answer will travel in. */
static int call_tmf(struct lun *lun, struct lun_cmd *cmd, lun_tmf_done_fn done, void *arg)
{
	struct lun_core *core = lun->core;
	struct lun_tmf *t;
	int rc;

	if (!core || core->state != LUN_OPEN)
		return -ENODEV;
	if (cmd ? !core->ops->abort : !core->ops->reset)
		return -EOPNOTSUPP;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->core = core;
	t->done = done;
	t->arg = arg;
	core = enter_call(lun);
	rc = cmd ? core->ops->abort(lun, cmd, t) : core->ops->reset(lun, t);
	leave_call(core);
	if (rc)
		free(t);
	return rc;
}

int lun_abort(struct lun *lun, struct lun_cmd *cmd, lun_tmf_done_fn done, void *arg)
{
	return call_tmf(lun, cmd, done, arg);
}

int lun_reset(struct lun *lun, lun_tmf_done_fn done, void *arg)
{
	return call_tmf(lun, NULL, done, arg);
}

void lun_close(struct lun *lun)
{
	struct lun_core *core = lun->core;

	if (!core || core->state == LUN_CLOSED)
		return;
	core->depth++;
	if (core->state == LUN_OPEN && core->ops->drain)
		core->ops->drain(lun);
	if (core->state != LUN_CLOSED)
		shut(lun, core);
	leave(core);
}

void lun_link(const struct lun *lun, char *buf, size_t len)
{
	const struct lun_core *core = lun->core;

	if (len)
		buf[0] = 0;
	if (core && core->state == LUN_OPEN && core->ops->link)
		core->ops->link(lun, buf, len);
}

void lun_complete(struct lun_core *core, struct lun_cmd *cmd)
{
	if (!core->in_call) {
		cmd->done(cmd);
		return;
	}
	list_add_tail(&core->cmds, &cmd->link);
	wake(core);
}

void lun_tmf_done(struct lun_tmf *t, int rslt)
{
	struct lun_core *core = t->core;

	t->rslt = rslt;
	list_add_tail(&core->tmfs, &t->link);
	wake(core);
}

void lun_open_done(struct lun_core *core, int rc)
{
	core->open_rc = rc;
	core->open_pending = true;
	wake(core);
}

void lun_kick(struct lun_core *core)
{
	core->kicked = true;
	wake(core);
}

bool lun_closed(const struct lun_core *core)
{
	return core->state == LUN_CLOSED;
}

static void on_watch(struct evloop_handler *h, uint32_t events)
{
	struct lun_watch *w = h->arg;
	struct lun_core *core = w->core;

	core->depth++;
	w->cb(w->arg, events);
	leave(core);
}

int lun_watch_add(struct lun_core *core, struct lun_watch *w, int fd, uint32_t events,
		  void (*cb)(void *arg, uint32_t events), void *arg)
{
	int rc;

	w->h = (struct evloop_handler){ .fd = fd, .cb = on_watch, .arg = w };
	w->core = core;
	w->cb = cb;
	w->arg = arg;
	rc = evloop_add(core->loop, &w->h, events);
	w->added = rc == 0;
	return rc;
}

int lun_watch_mod(struct lun_watch *w, uint32_t events)
{
	return evloop_mod(w->core->loop, &w->h, events);
}

void lun_watch_del(struct lun_watch *w)
{
	if (!w->added)
		return;
	evloop_del(w->core->loop, &w->h);
	w->added = false;
}

/* Used when the guest sends timeout_per_command 0. The guest's own timer
 * normally fires first; these are a backstop and must not cut a slow but
 * healthy operation short:
 *  - disks: a minute covers a slow spin-up or a controller's retries;
 *  - CD/DVD, optical, WORM: spin-up and slow media, two minutes;
 *  - tapes: a full-length ERASE or a LOCATE end-to-end on a large
 *    cartridge takes hours (Linux st's long timeout is 14000 s);
 *  - changers: INITIALIZE ELEMENT STATUS on a large library scans every
 *    slot, an hour;
 *  - anything else: 900 s, the classic xenlinux backend's default. */
unsigned lun_default_timeout_ms(uint8_t dev_type)
{
	switch (dev_type & 0x1f) {
	case 0x00: /* direct access */
	case 0x0e: /* simplified direct access (RBC) */
	case 0x0c: /* storage array controller */
	case 0x0d: /* enclosure services */
		return 60u * 1000;
	case 0x04: /* write once */
	case 0x05: /* CD/DVD */
	case 0x07: /* optical memory */
		return 120u * 1000;
	case 0x01: /* sequential access (tape) */
		return 14400u * 1000;
	case 0x08: /* medium changer */
		return 3600u * 1000;
	default:
		return 900u * 1000;
	}
}

void lun_sense_summary(const uint8_t *sb, int len, char *out, size_t outlen)
{
	struct sg_scsi_sense_hdr h;
	char key[48], asc[128];

	if (len <= 0 || !sg_scsi_normalize_sense(sb, len, &h)) {
		snprintf(out, outlen, "%s", len > 0 ? "unparsable sense" : "no sense");
		return;
	}
	sg_get_sense_key_str(h.sense_key, sizeof(key), key);
	sg_get_asc_ascq_str(h.asc, h.ascq, sizeof(asc), asc);
	snprintf(out, outlen, "%.47s: %.127s (%02x/%02x)", key, asc, h.asc, h.ascq);
}

void lun_log_result(const char *name, const struct lun_cmd *cmd)
{
	char op[64], sense[256];

	if (log_get_level() < LOG_LVL_DEBUG || (cmd->status == 0 && cmd->host == 0))
		return;
	sg_get_opcode_name(cmd->cdb[0], 0, sizeof(op), op);
	lun_sense_summary(cmd->sense, cmd->sense_len, sense, sizeof(sense));
	log_debug("lun %s: %s: status 0x%02x host %u resid %u %s", name, op, cmd->status, cmd->host,
		  cmd->resid, sense);
}

void lun_answer_overrun(struct lun_cmd *cmd)
{
	/* A GOOD status would make the guest take 4 KiB for 32 (a READ) or
	 * believe 32 KiB written of which 4 were (a WRITE: tgtd writes what
	 * it got). CHECK CONDITION would claim the command was not run. */
	cmd->status = 0;
	cmd->sense_len = 0;
	cmd->host = XEN_VSCSIIF_RSLT_HOST_ERROR;
	cmd->resid = (uint32_t)cmd->xfer_len;
}

void fmt_into(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}
