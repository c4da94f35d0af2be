/* The iscsi LUN driver: one iSCSI session per LUN through libiscsi's async
 * API, driven by the daemon's event loop.
 *
 * Data path. Each guest CDB goes out unchanged in a scsi_task we build
 * (raw CDB, direction, expected length); data moves straight between the
 * socket and the caller's iovecs (scsi_task_set_iov_in/out). Status, the
 * raw sense bytes and the iSCSI residual come back unedited.
 *
 * Event loop. The libiscsi fd is registered for iscsi_which_events(), which
 * is re-read after every iscsi_service() and every submit; the fd changes
 * with every new connection and is re-registered then. submit() pushes the
 * PDU out at once (iscsi_service(POLLOUT)) rather than waiting a loop round.
 * Completions found inside submit/abort/reset are handed out later from the
 * loop by the core (lun.c), like every TMF answer.
 *
 * Session loss. libiscsi's own reconnect replays in-flight commands on the
 * new session. That is wrong for a pass-through: a replayed tape WRITE or
 * SPACE moves the medium twice, and the guest cannot know. So automatic
 * reconnect is off, and this driver runs its own: when the session drops,
 * every command in flight completes with host TRANSPORT_DISRUPTED (the
 * guest's SCSI layer retries those where retrying is safe: disks retry,
 * tapes with retries 0 report the error), the context is destroyed and a
 * fresh connect + login is tried with a backoff (250 ms doubling to 4 s).
 * Commands submitted meanwhile are held, not failed, until the session is
 * back (then sent; the target's power-on UNIT ATTENTION reaches the guest
 * as it would from a real device), until their own timeout (TIME_OUT), or
 * until the target has been gone for 120 s (TRANSPORT_FAILFAST, like the
 * Linux iSCSI initiator's replacement timeout); after that new commands
 * fail fast until the session is back.
 *
 * Timeouts. Each command has a deadline (its timeout, else the default of
 * its device type) kept on a timerfd. When it passes, the command gets an
 * ABORT TASK; once the target confirms, it completes with host TIME_OUT.
 * A task-management request unanswered for 10 s drops the session.
 *
 * Abort and reset. abort() sends ABORT TASK, reset() LOGICAL UNIT RESET
 * (through iscsi_task_mgmt_async: libiscsi's lun_reset helper cancels every
 * local task before the target has even answered, and frees a PDU that may
 * be half written). The answer is RESET_SUCCESS only when the target says
 * FUNCTION COMPLETE (or, for an abort, that the task no longer exists);
 * commands the target has dropped are then completed locally with host
 * ABORT / RESET, after their command's own completion. A task is cancelled
 * in libiscsi only once no output is queued, so that no PDU still refers
 * to its buffers.
 */
#include "list.h"
#include "lun.h"
#include "lun_iscsi.h"
#include "log.h"
#include "pdev.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <scsi/sg_lib.h>
#include "be_fields.h"

#include <xen/io/vscsiif.h>

#define ISCSI_OPEN_TIMEOUT_MS 10000        /* connect + login + INQUIRY at attach */
#define ISCSI_CONNECT_TIMEOUT_MS 10000     /* one reconnect attempt */
#define ISCSI_TMF_TIMEOUT_MS 10000
#define ISCSI_REPLACEMENT_TIMEOUT_MS 120000
#define ISCSI_BACKOFF_MIN_MS 250
#define ISCSI_BACKOFF_MAX_MS 4000
#define ISCSI_DEFAULT_INITIATOR "iqn.2026-11.org.vscsi:scsiback"

enum icmd_state {
	IC_HELD,        /* waiting for the session */
	IC_ACTIVE,      /* libiscsi has its task */
	IC_ORPHAN,      /* answered by close(); libiscsi still has the task */
};

struct itmf;

struct icmd {
	struct list_link link;
	struct iscsi_lun *d;
	struct lun_cmd *cmd;
	struct scsi_task *task;
	uint64_t deadline;
	enum icmd_state state;
	uint8_t cancel_host;        /* host code if the task gets cancelled */
	bool want_cancel;           /* the target dropped it: cancel locally */
	struct itmf *abort_tmf;     /* ABORT TASK outstanding for it */
	int niov;
	struct scsi_iovec siov[];
};

struct itmf {
	struct list_link link;
	struct iscsi_lun *d;
	bool reset;                 /* LOGICAL UNIT RESET, else ABORT TASK */
	bool answered;
	struct icmd *c;             /* ABORT: its command while it is in flight */
	struct lun_tmf *t;          /* the caller's; NULL: our own abort after a timeout */
	uint64_t deadline;
	int rslt;
};

/* Where the LUN's session stands. */
enum session_state {
	ST_OPENING,     /* lun_open: connect, login, INQUIRY */
	ST_OPEN_FAILED, /* the open failed: the core closes the LUN */
	ST_DOWN,        /* no session: the next attempt waits (backoff) */
	ST_CONNECTING,  /* a reconnect attempt is under way */
	ST_UP,          /* serving */
	ST_LOST,        /* up until now: the session is dropped at the next after_service */
	ST_CLOSED,      /* close() has answered everything: nothing runs any more */
};
/* The connect + login under way (ST_OPENING, ST_CONNECTING). */
enum conn_state { CONN_PENDING, CONN_OK, CONN_FAILED };

struct iscsi_lun {
	struct lun *lun;                /* until closed */
	struct lun_core *core;
	struct pdev_info url;
	char name[300];
	char initiator[256];
	uint8_t isid[6];
	bool has_isid;                /* else libiscsi picks one per context */
	char *chap_user, *chap_password;
	unsigned default_timeout_ms;

	struct iscsi_context *ctx;
	enum session_state state;
	enum conn_state conn;
	char conn_error[256];           /* why the connect + login failed */
	int sock_error;                 /* the connection's socket error, once seen */
	bool tcp_up;                    /* connected to the portal (login may follow) */
	char warned[256];               /* the reconnect failure logged last */

	struct lun_watch io, timer;
	int timer_fd;
	uint32_t io_events;
	uint64_t timer_at;              /* armed expiry, 0: disarmed */

	struct list_link active, held, orphans, tmfs, tmf_done, orphan_tmfs;
	bool in_service;                /* libiscsi may be running our callbacks */
	char lost_why[256];             /* ST_LOST: why, recorded at the drop */
	struct icmd *cancelling;        /* being cancelled in libiscsi */
	bool tearing_down;
	uint8_t teardown_host;
	bool failfast;                  /* down too long: commands fail at once */
	uint64_t down_since, next_attempt, connect_deadline;
	unsigned backoff_ms;
	unsigned attempts;

	/* open (ST_OPENING): connect, login, INQUIRY */
	uint64_t open_deadline;
	bool inq_sent, inq_done;
	int inq_status;
	struct scsi_task *inq_task;
	struct scsi_iovec inq_iov;
	uint8_t inq[96];
	uint8_t inq_sense[LUN_SENSE_MAX], inq_sense_len;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void after_service(struct iscsi_lun *d);
static void service(struct iscsi_lun *d, int revents);
static void open_progress(struct iscsi_lun *d, bool timed_out);

/* A session exists (it may be dropping). */
static bool has_session(const struct iscsi_lun *d)
{
	return d->state == ST_UP || d->state == ST_LOST;
}

/* ------------------------------------------------------------------ */
/* libiscsi context                                                    */

static void libiscsi_log(int level, const char *msg)
{
	log_debug("libiscsi[%d]: %s", level, msg);
}

static struct iscsi_context *new_context(struct iscsi_lun *d)
{
	struct iscsi_context *ctx = iscsi_create_context(d->initiator);

	if (!ctx)
		return NULL;
	/* Every context of a LUN, reconnects too: one initiator port, so the
	 * target finds the guest's registrations again (common/iport.h). */
	if (d->has_isid &&
	    iscsi_set_isid_random(ctx, (uint32_t)d->isid[1] << 16 | (uint32_t)d->isid[2] << 8 | d->isid[3],
				  (uint32_t)d->isid[4] << 8 | d->isid[5])) {
		iscsi_destroy_context(ctx);
		return NULL;
	}
	if (iscsi_set_targetname(ctx, d->url.target) ||
	    iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL) ||
	    iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C)) {
		iscsi_destroy_context(ctx);
		return NULL;
	}
	if (d->chap_user && iscsi_set_initiator_username_pwd(ctx, d->chap_user, d->chap_password)) {
		iscsi_destroy_context(ctx);
		return NULL;
	}
	/* We reconnect ourselves; see the top of this file. */
	iscsi_set_noautoreconnect(ctx, 1);
	iscsi_set_log_fn(ctx, libiscsi_log);
	iscsi_set_log_level(ctx, log_get_level() >= LOG_LVL_DEBUG ? 2 : 0);
	return ctx;
}

/* ------------------------------------------------------------------ */
/* causes                                                              */
/*
 * A log line or a LUN's reason names what went wrong in our words, from
 * what we record when it happens: the phase (connect to the portal,
 * login, the session), the socket's own error (read before libiscsi
 * reads and clears it) or the target's end of the stream. libiscsi's
 * error text is the last resort, and then only its meaningful part: it
 * prefixes some texts with its function names, adds errno numbers, and
 * while it handles a lost connection it writes its own bookkeeping over
 * the cause ("iscsi_service_reconnect_if_loggedin. Can not reconnect
 * right now."), so iscsi_get_error read later may describe libiscsi
 * rather than the target.
 */

/* Copies text[0..n) into out: control characters as spaces, errno
 * numbers glued to a word ("refused(111)") left out, trimmed. */
static void copy_text(char *out, size_t len, const char *text, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < len; i++) {
		if (text[i] == '(' && i > 0 && text[i - 1] != ' ') {
			size_t digits = strspn(text + i + 1, "0123456789");

			if (digits && i + 1 + digits < n && text[i + 1 + digits] == ')') {
				i += digits + 1;
				continue;
			}
		}
		out[o++] = (unsigned char)text[i] < 0x20 ? ' ' : text[i];
	}
	while (o && (out[o - 1] == ' ' || out[o - 1] == '.'))
		o--;
	out[o] = 0;
}

/* The meaningful part of a libiscsi error text; "" when it has none. */
static void lib_text(const char *text, char *out, size_t len)
{
	static const char *const wrappers[] = {
		"Couldn't connect transport: ", "Connect failed with errno : ", "socket error ",
	};
	const char *p = text ? text : "", *end;
	bool again = true;

	out[0] = 0;
	while (again) {
		size_t n;

		again = false;
		p += strspn(p, " \t\r\n");
		/* one of its function names: "iscsi_service: ", "..._loggedin. " */
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
		if (n && memchr(p, '_', n) && (p[n] == ':' || p[n] == '.') && p[n + 1] == ' ') {
			p += n + 2;
			again = true;
		}
		for (size_t i = 0; i < sizeof(wrappers) / sizeof(wrappers[0]); i++) {
			if (!strncmp(p, wrappers[i], strlen(wrappers[i]))) {
				p += strlen(wrappers[i]);
				again = true;
			}
		}
	}
	if (!strncmp(p, "Can not reconnect", 17))
		return;                 /* its bookkeeping, not a cause */
	if (!strncmp(p, "POLLHUP", 7)) {
		fmt_into(out, len, "connection closed");
		return;
	}
	if (!strncmp(p, "POLLERR", 7)) {
		fmt_into(out, len, "socket error");
		return;
	}
	if (!strncmp(p, "Invalid target:", 15) && strstr(p, "Can not resolv")) {
		fmt_into(out, len, "cannot resolve the host name");
		return;
	}
	end = strstr(p, " while connecting");
	copy_text(out, len, p, end ? (size_t)(end - p) : strlen(p));
}

/* libiscsi's text now, its meaningful part, else fallback. */
static void lib_error(struct iscsi_lun *d, char *out, size_t len, const char *fallback)
{
	lib_text(d->ctx ? iscsi_get_error(d->ctx) : NULL, out, len);
	if (!out[0])
		fmt_into(out, len, "%s", fallback);
}

/* Remembers a pending socket error before libiscsi reads (and clears) it:
 * the first one is the cause. */
static void peek_socket_error(struct iscsi_lun *d, int revents)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (d->sock_error || !(revents & (POLLERR | POLLHUP)))
		return;
	if (getsockopt(iscsi_get_fd(d->ctx), SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err)
		d->sock_error = err;
}

/* Why the connection failed, as the socket tells it now: its error, or
 * the target's end of the stream; "" when the socket looks well. */
static void socket_cause(struct iscsi_lun *d, char *out, size_t len)
{
	int fd = d->ctx ? iscsi_get_fd(d->ctx) : -1;
	char byte;
	ssize_t r;

	out[0] = 0;
	if (fd < 0)
		return;
	peek_socket_error(d, POLLERR);
	if (d->sock_error) {
		fmt_into(out, len, "%s", strerror(d->sock_error));
		return;
	}
	if (!d->tcp_up)
		return;
	r = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
	if (r == 0)
		fmt_into(out, len, "the target closed the connection");
	else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		fmt_into(out, len, "%s", strerror(errno));
}

/* Why libiscsi gave up the connection, found at the moment it does: the
 * socket's cause, else libiscsi's text, else fallback. */
static void conn_cause(struct iscsi_lun *d, char *out, size_t len, const char *fallback)
{
	socket_cause(d, out, len);
	if (!out[0])
		lib_error(d, out, len, fallback);
}

/* A connect + login with no outcome in time. */
static void no_answer(struct iscsi_lun *d, char *out, size_t len, int ms)
{
	fmt_into(out, len, "connect to %s: %s within %d s", d->url.portal,
		 d->tcp_up ? "no login" : "no answer", ms / 1000);
}

/* ------------------------------------------------------------------ */
/* connect and login                                                   */

static void login_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	struct iscsi_lun *d = priv;
	char why[200];

	(void)ctx;
	(void)data;
	if (d->conn != CONN_PENDING)
		return;
	if (status == SCSI_STATUS_GOOD) {
		d->conn = CONN_OK;
	} else {
		d->conn = CONN_FAILED;
		lib_error(d, why, sizeof(why), "refused by the target");
		fmt_into(d->conn_error, sizeof(d->conn_error), "login: %s", why);
	}
}

static void connect_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	struct iscsi_lun *d = priv;
	char why[200];

	(void)ctx;
	(void)data;
	if (d->conn != CONN_PENDING)
		return;
	if (status != SCSI_STATUS_GOOD) {
		d->conn = CONN_FAILED;
		conn_cause(d, why, sizeof(why), "connection failed");
		fmt_into(d->conn_error, sizeof(d->conn_error), "connect to %s: %s", d->url.portal,
			 why);
		return;
	}
	d->tcp_up = true;
	if (iscsi_login_async(ctx, login_cb, d)) {
		d->conn = CONN_FAILED;
		lib_error(d, why, sizeof(why), "cannot start it");
		fmt_into(d->conn_error, sizeof(d->conn_error), "login: %s", why);
	}
}

/* Starts connect + login on a new context. */
static int start_connect(struct iscsi_lun *d)
{
	char why[200];

	d->conn = CONN_PENDING;
	d->sock_error = 0;
	d->tcp_up = false;
	d->conn_error[0] = 0;
	d->ctx = new_context(d);
	if (!d->ctx) {
		fmt_into(d->conn_error, sizeof(d->conn_error), "cannot create an iSCSI context");
		d->conn = CONN_FAILED;
		return -ENOMEM;
	}
	if (iscsi_connect_async(d->ctx, d->url.portal, connect_cb, d)) {
		lib_error(d, why, sizeof(why), "cannot start it");
		fmt_into(d->conn_error, sizeof(d->conn_error), "connect to %s: %s", d->url.portal, why);
		d->conn = CONN_FAILED;
		return -EIO;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* completions                                                         */

static void free_task(struct icmd *c)
{
	if (c->task) {
		scsi_free_scsi_task(c->task);
		c->task = NULL;
	}
}

static void set_host_only(struct lun_cmd *cmd, uint8_t host)
{
	cmd->status = 0;
	cmd->host = host;
	cmd->sense_len = 0;
	cmd->resid = (uint32_t)cmd->xfer_len;
}

static void tmf_flush(struct iscsi_lun *d);
static void session_drop(struct iscsi_lun *d, const char *why);

/* The command's results are set: answer it (the core defers it when we
 * are inside submit/abort/reset). */
static void deliver(struct iscsi_lun *d, struct icmd *c)
{
	struct lun_cmd *cmd = c->cmd;

	list_del(&c->link);
	free_task(c);
	if (c->abort_tmf) {
		c->abort_tmf->c = NULL;
		c->abort_tmf = NULL;
	}
	tmf_flush(d);   /* a TMF answer may have waited for this command */
	lun_log_result(d->name, cmd);
	cmd->drv = NULL;
	free(c);
	lun_complete(d->core, cmd);
}

/* The sense bytes of a CHECK CONDITION as the target sent them, from the
 * SCSI Response data segment (SenseLength, 2 bytes big endian, then the
 * bytes); at most LUN_SENSE_MAX. Returns their length. */
static uint8_t copy_sense(const struct scsi_task *task, uint8_t *out)
{
	size_t len;

	if (!task || !task->datain.data || task->datain.size < 2)
		return 0;
	len = sg_get_unaligned_be16(task->datain.data);
	if (len > (size_t)task->datain.size - 2)
		len = (size_t)task->datain.size - 2;
	if (len > LUN_SENSE_MAX)
		len = LUN_SENSE_MAX;
	memcpy(out, task->datain.data + 2, len);
	return (uint8_t)len;
}

static void fill_result(struct icmd *c, int status, struct scsi_task *task)
{
	struct lun_cmd *cmd = c->cmd;

	cmd->status = (uint8_t)status;
	cmd->host = XEN_VSCSIIF_RSLT_HOST_OK;
	cmd->sense_len = 0;
	cmd->resid = 0;
	if (task->residual_status == SCSI_RESIDUAL_UNDERFLOW)
		cmd->resid = task->residual > cmd->xfer_len ? (uint32_t)cmd->xfer_len
							    : (uint32_t)task->residual;
	if (status == SCSI_STATUS_CHECK_CONDITION)
		cmd->sense_len = copy_sense(task, cmd->sense);
	/* The target's Overflow bit: the CDB wanted more than the expected
	 * data transfer length (the request's segments). */
	if (task->residual_status == SCSI_RESIDUAL_OVERFLOW && task->residual > 0)
		lun_answer_overrun(cmd);
}

static void task_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	struct icmd *c = priv;
	struct iscsi_lun *d = c->d;

	(void)ctx;
	(void)data;
	if (d->cancelling == c)
		d->cancelling = NULL;
	if (c->state == IC_ORPHAN) {
		/* close() has answered it already */
		list_del(&c->link);
		free_task(c);
		free(c);
		return;
	}
	if (c->state != IC_ACTIVE)
		return;
	switch (status) {
	case SCSI_STATUS_CANCELLED:
		if (c->cancel_host) {
			set_host_only(c->cmd, c->cancel_host);
		} else if (d->tearing_down) {
			set_host_only(c->cmd, d->teardown_host);
		} else {
			/* libiscsi gave up the session (its deferred reconnect) */
			set_host_only(c->cmd, XEN_VSCSIIF_RSLT_HOST_TRANSPORT_DISRUPTED);
			session_drop(d, NULL);
		}
		break;
	case SCSI_STATUS_TIMEOUT:
		set_host_only(c->cmd, XEN_VSCSIIF_RSLT_HOST_TIME_OUT);
		break;
	case SCSI_STATUS_ERROR: {
		char why[200];

		lib_error(d, why, sizeof(why), "no cause given");
		log_warn("lun %s: command 0x%02x failed: %s", d->name, c->cmd->cdb[0], why);
		set_host_only(c->cmd, XEN_VSCSIIF_RSLT_HOST_ERROR);
		break;
	}
	default:
		if (status < 0 || status > 0xff) {
			log_warn("lun %s: command 0x%02x: unexpected status 0x%x", d->name,
				 c->cmd->cdb[0], (unsigned)status);
			set_host_only(c->cmd, XEN_VSCSIIF_RSLT_HOST_ERROR);
		} else {
			fill_result(c, status, c->task);
		}
		break;
	}
	deliver(d, c);
}

/* Gives a command to libiscsi. */
static int send_cmd(struct iscsi_lun *d, struct icmd *c)
{
	struct lun_cmd *cmd = c->cmd;
	int dir = SCSI_XFER_NONE;
	struct scsi_task *task;

	if (cmd->xfer_len && cmd->dir == LUN_DIR_FROM_DEV)
		dir = SCSI_XFER_READ;
	else if (cmd->xfer_len && cmd->dir == LUN_DIR_TO_DEV)
		dir = SCSI_XFER_WRITE;
	task = scsi_create_task(cmd->cdb_len, cmd->cdb, dir,
				dir == SCSI_XFER_NONE ? 0 : (int)cmd->xfer_len);
	if (!task)
		return -ENOMEM;
	if (dir == SCSI_XFER_READ)
		scsi_task_set_iov_in(task, c->siov, c->niov);
	else if (dir == SCSI_XFER_WRITE)
		scsi_task_set_iov_out(task, c->siov, c->niov);
	c->task = task;
	c->state = IC_ACTIVE;
	list_add_tail(&d->active, &c->link);
	if (iscsi_scsi_command_async(d->ctx, d->url.lun, task, task_cb, NULL, c)) {
		char why[200];

		lib_error(d, why, sizeof(why), "no cause given");
		log_warn("lun %s: cannot queue command 0x%02x: %s", d->name, cmd->cdb[0], why);
		list_del(&c->link);
		free_task(c);
		c->state = IC_HELD;
		return -EIO;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* timer                                                               */

static void arm_at(struct iscsi_lun *d, uint64_t when)
{
	struct itimerspec its = { 0 };

	if (d->state == ST_CLOSED || (d->timer_at && d->timer_at <= when))
		return;
	if (when == 0)
		when = 1;
	its.it_value.tv_sec = (time_t)(when / 1000);
	its.it_value.tv_nsec = (long)(when % 1000) * 1000000;
	if (timerfd_settime(d->timer_fd, TFD_TIMER_ABSTIME, &its, NULL))
		log_err("lun %s: timerfd: %s", d->name, strerror(errno));
	else
		d->timer_at = when;
}

/* Arms the timer for the earliest thing to watch. */
static void arm_timer(struct iscsi_lun *d)
{
	uint64_t t = UINT64_MAX;

	if (d->state == ST_OPENING) {
		arm_at(d, d->open_deadline);
		return;
	}
	if (d->state == ST_DOWN)
		t = d->next_attempt;
	else if (d->state == ST_CONNECTING)
		t = d->connect_deadline;
	for (struct list_link *l = d->held.next; l != &d->held; l = l->next) {
		struct icmd *c = list_entry(l, struct icmd, link);

		if (c->deadline < t)
			t = c->deadline;
	}
	if (!list_empty(&d->held) && d->down_since &&
	    d->down_since + ISCSI_REPLACEMENT_TIMEOUT_MS < t)
		t = d->down_since + ISCSI_REPLACEMENT_TIMEOUT_MS;
	for (struct list_link *l = d->active.next; l != &d->active; l = l->next) {
		struct icmd *c = list_entry(l, struct icmd, link);

		if (!c->cancel_host && c->deadline < t)
			t = c->deadline;
	}
	for (struct list_link *l = d->tmfs.next; l != &d->tmfs; l = l->next) {
		struct itmf *m = list_entry(l, struct itmf, link);

		if (m->deadline < t)
			t = m->deadline;
	}
	if (t != UINT64_MAX)
		arm_at(d, t);
}

/* ------------------------------------------------------------------ */
/* task management                                                     */

static struct itmf *new_tmf(struct iscsi_lun *d, bool reset, struct lun_tmf *t)
{
	struct itmf *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->d = d;
	m->reset = reset;
	m->t = t;
	list_init(&m->link);
	return m;
}

/* Records the answer; it goes to the core once ready (tmf_flush). */
static void tmf_answer(struct iscsi_lun *d, struct itmf *m, int rslt)
{
	m->rslt = rslt;
	m->answered = true;
	list_del(&m->link);
	list_add_tail(&d->tmf_done, &m->link);
	tmf_flush(d);
}

/* An answer waits for the commands it ended to complete first. */
static bool tmf_ready(struct iscsi_lun *d, const struct itmf *m)
{
	if (!m->reset)
		return m->c == NULL;
	for (struct list_link *l = d->active.next; l != &d->active; l = l->next) {
		struct icmd *c = list_entry(l, struct icmd, link);

		if (c->want_cancel && c->cancel_host == XEN_VSCSIIF_RSLT_HOST_RESET)
			return false;
	}
	return true;
}

/* Hands the answers that are ready to the core, in order. */
static void tmf_flush(struct iscsi_lun *d)
{
	for (struct list_link *l = d->tmf_done.next; l != &d->tmf_done;) {
		struct itmf *m = list_entry(l, struct itmf, link);

		l = l->next;
		if (!tmf_ready(d, m))
			continue;
		list_del(&m->link);
		if (m->t)
			lun_tmf_done(m->t, m->rslt);
		free(m);
	}
}

/* The session is unusable: after_service tears it down (ST_LOST). why
 * NULL: libiscsi gave it up; the cause is found now, while the socket
 * still tells it. */
static void session_drop(struct iscsi_lun *d, const char *why)
{
	if (d->state != ST_UP)
		return;
	d->state = ST_LOST;
	if (why)
		fmt_into(d->lost_why, sizeof(d->lost_why), "%s", why);
	else
		conn_cause(d, d->lost_why, sizeof(d->lost_why), "no cause given");
}

static void tmf_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	struct itmf *m = priv;
	struct iscsi_lun *d = m->d;
	uint32_t resp = 0xff;

	(void)ctx;
	if (m->answered)
		return;
	if (status == SCSI_STATUS_GOOD && data)
		resp = *(uint32_t *)data;
	log_debug("lun %s: %s: response %u (status 0x%x)", d->name,
		  m->reset ? "LOGICAL UNIT RESET" : "ABORT TASK", resp, (unsigned)status);
	if (m->reset) {
		if (resp == ISCSI_TMR_FUNC_COMPLETE) {
			/* the LU has dropped every task: finish ours */
			for (struct list_link *l = d->active.next; l != &d->active; l = l->next) {
				struct icmd *c = list_entry(l, struct icmd, link);

				c->want_cancel = true;
				if (!c->cancel_host)
					c->cancel_host = XEN_VSCSIIF_RSLT_HOST_RESET;
			}
			log_info("lun %s: logical unit reset done", d->name);
			tmf_answer(d, m, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
		} else {
			if (!d->tearing_down)
				log_warn("lun %s: logical unit reset refused (response %u%s)", d->name,
					 resp, status == SCSI_STATUS_GOOD ? "" : ", no answer");
			tmf_answer(d, m, XEN_VSCSIIF_RSLT_RESET_FAILED);
		}
		return;
	}
	if (resp == ISCSI_TMR_FUNC_COMPLETE || resp == ISCSI_TMR_TASK_DOES_NOT_EXIST) {
		if (m->c)
			m->c->want_cancel = true;
		tmf_answer(d, m, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
		return;
	}
	if (!d->tearing_down)
		log_warn("lun %s: ABORT TASK refused (response %u%s)", d->name, resp,
			 status == SCSI_STATUS_GOOD ? "" : ", no answer");
	if (m->c) {
		if (!m->t && !d->tearing_down)
			/* our own abort after a timeout: the command must end */
			session_drop(d, "the target did not abort a timed-out command");
		else if (!d->tearing_down)
			m->c->cancel_host = 0;   /* it keeps running */
	}
	tmf_answer(d, m, XEN_VSCSIIF_RSLT_RESET_FAILED);
}

/* Sends ABORT TASK for c; done NULL: our own, after a timeout. */
static int send_abort(struct iscsi_lun *d, struct icmd *c, struct lun_tmf *t)
{
	struct itmf *m = new_tmf(d, false, t);

	if (!m)
		return -ENOMEM;
	m->c = c;
	m->deadline = now_ms() + ISCSI_TMF_TIMEOUT_MS;
	list_add_tail(&d->tmfs, &m->link);
	c->abort_tmf = m;
	if (iscsi_task_mgmt_abort_task_async(d->ctx, c->task, tmf_cb, m)) {
		list_del(&m->link);
		c->abort_tmf = NULL;
		free(m);
		return -EIO;
	}
	arm_at(d, m->deadline);
	return 0;
}

/* ------------------------------------------------------------------ */
/* session                                                             */

static void on_io(void *arg, uint32_t events);

static void update_io(struct iscsi_lun *d)
{
	if (d->state == ST_CLOSED)
		return;
	if (!d->ctx) {
		lun_watch_del(&d->io);
		return;
	}
	int fd = iscsi_get_fd(d->ctx);
	uint32_t ev = (uint32_t)iscsi_which_events(d->ctx) & (POLLIN | POLLOUT);

	if (d->io.added && fd != d->io.h.fd)
		lun_watch_del(&d->io);
	if (fd < 0)
		return;
	if (!d->io.added) {
		if (lun_watch_add(d->core, &d->io, fd, ev, on_io, d) == 0)
			d->io_events = ev;
		else
			log_err("lun %s: cannot watch the iSCSI socket", d->name);
	} else if (ev != d->io_events) {
		if (lun_watch_mod(&d->io, ev) == 0)
			d->io_events = ev;
	}
}

/* Destroys the context; libiscsi calls back for every task it has, and
 * those callbacks answer with host (teardown_host). */
static void destroy_ctx(struct iscsi_lun *d, uint8_t host)
{
	struct iscsi_context *ctx = d->ctx;

	d->ctx = NULL;
	d->tearing_down = true;
	d->teardown_host = host;
	d->in_service = true;
	iscsi_destroy_context(ctx);
	d->in_service = false;
}

/* Destroys the context; whatever libiscsi still had completes with host. */
static void teardown_ctx(struct iscsi_lun *d, uint8_t host)
{
	lun_watch_del(&d->io);
	if (!d->ctx)
		return;
	destroy_ctx(d, host);
	/* Tasks libiscsi freed without calling back. */
	while (!list_empty(&d->active)) {
		struct icmd *c = list_entry(d->active.next, struct icmd, link);

		set_host_only(c->cmd, c->cancel_host ? c->cancel_host : host);
		deliver(d, c);
		if (d->state == ST_CLOSED)
			break;
	}
	while (!list_empty(&d->orphans)) {
		struct icmd *c = list_entry(d->orphans.next, struct icmd, link);

		list_del(&c->link);
		free_task(c);
		free(c);
	}
	while (!list_empty(&d->tmfs)) {
		struct itmf *m = list_entry(d->tmfs.next, struct itmf, link);

		if (m->c) {
			m->c->abort_tmf = NULL;
			m->c = NULL;
		}
		tmf_answer(d, m, XEN_VSCSIIF_RSLT_RESET_FAILED);
	}
	d->tearing_down = false;
}

static void schedule_attempt(struct iscsi_lun *d)
{
	uint64_t now = now_ms();

	d->state = ST_DOWN;
	d->next_attempt = now + d->backoff_ms;
	d->backoff_ms = d->backoff_ms ? d->backoff_ms * 2 : ISCSI_BACKOFF_MIN_MS;
	if (d->backoff_ms > ISCSI_BACKOFF_MAX_MS)
		d->backoff_ms = ISCSI_BACKOFF_MAX_MS;
	arm_at(d, d->next_attempt);
}

static void session_lost(struct iscsi_lun *d)
{
	log_warn("lun %s: session to %s/%s lost (%s); commands in flight end with "
		 "TRANSPORT_DISRUPTED, reconnecting", d->name, d->url.portal, d->url.target,
		 d->lost_why[0] ? d->lost_why : "no cause given");
	teardown_ctx(d, XEN_VSCSIIF_RSLT_HOST_TRANSPORT_DISRUPTED);
	if (d->state == ST_CLOSED)
		return;
	if (!d->down_since)
		d->down_since = now_ms();
	d->backoff_ms = 0;
	d->attempts = 0;
	d->warned[0] = 0;
	schedule_attempt(d);
}

/* One line for the first failure of an outage, and one when the cause
 * changes (the portal answers again, but the login fails); the other
 * attempts at debug level. */
static void attempt_failed(struct iscsi_lun *d, const char *why)
{
	if (d->attempts++ == 0 || strcmp(why, d->warned)) {
		log_warn("lun %s: reconnect: %s; retrying", d->name, why);
		fmt_into(d->warned, sizeof(d->warned), "%s", why);
	} else {
		log_debug("lun %s: reconnect attempt %u: %s", d->name, d->attempts, why);
	}
	teardown_ctx(d, XEN_VSCSIIF_RSLT_HOST_TRANSPORT_DISRUPTED);
	if (d->state != ST_CLOSED)
		schedule_attempt(d);
}

static void try_connect(struct iscsi_lun *d)
{
	if (start_connect(d)) {
		attempt_failed(d, d->conn_error);
		return;
	}
	d->state = ST_CONNECTING;
	d->connect_deadline = now_ms() + ISCSI_CONNECT_TIMEOUT_MS;
	arm_at(d, d->connect_deadline);
	update_io(d);
}

static void session_up(struct iscsi_lun *d)
{
	uint64_t down = d->down_since ? now_ms() - d->down_since : 0;

	d->state = ST_UP;
	d->down_since = 0;
	d->backoff_ms = 0;
	d->attempts = 0;
	d->failfast = false;
	log_info("lun %s: session re-established after %" PRIu64 " ms", d->name, down);
	/* Send what waited, in order. */
	while (!list_empty(&d->held) && d->state != ST_CLOSED) {
		struct icmd *c = list_entry(d->held.next, struct icmd, link);

		list_del(&c->link);
		if (send_cmd(d, c)) {
			list_add_tail(&d->held, &c->link);   /* deliver() unlinks it */
			set_host_only(c->cmd, XEN_VSCSIIF_RSLT_HOST_ERROR);
			deliver(d, c);
		}
	}
}

/* Which tasks libiscsi may forget now: only when no output is queued, as
 * a queued PDU (a command being written, its Data-Out) points at the
 * task and its buffers. */
static bool can_cancel_locally(struct iscsi_lun *d)
{
	return iscsi_out_queue_length(d->ctx) == 0 && !(iscsi_which_events(d->ctx) & POLLOUT);
}

static struct icmd *first_to_cancel(struct iscsi_lun *d)
{
	for (struct list_link *l = d->active.next; l != &d->active; l = l->next) {
		struct icmd *c = list_entry(l, struct icmd, link);

		if (c->want_cancel)
			return c;
	}
	return NULL;
}

static void process_cancels(struct iscsi_lun *d)
{
	struct icmd *c;

	while (d->state != ST_CLOSED && d->ctx && (c = first_to_cancel(d)) && can_cancel_locally(d)) {
		d->cancelling = c;
		d->in_service = true;
		iscsi_scsi_cancel_task(d->ctx, c->task);
		d->in_service = false;
		if (d->cancelling == c) {
			/* libiscsi did not call back: it no longer knew the task */
			d->cancelling = NULL;
			set_host_only(c->cmd, c->cancel_host);
			deliver(d, c);
		}
	}
}

/* The common tail of every entry point: react to what callbacks found. */
static void after_service(struct iscsi_lun *d)
{
	if (d->state == ST_CLOSED)
		return;
	if (d->state == ST_OPENING) {
		open_progress(d, false);
		update_io(d);
		return;
	}
	if (d->state == ST_LOST) {
		session_lost(d);
	} else if (d->state == ST_CONNECTING) {
		if (d->conn == CONN_OK)
			session_up(d);
		else if (d->conn == CONN_FAILED)
			attempt_failed(d, d->conn_error);
	}
	if (d->state == ST_CLOSED)
		return;
	if (d->state == ST_UP && d->ctx) {
		process_cancels(d);
		if (d->state == ST_CLOSED)
			return;
		if (d->state == ST_LOST) {
			session_lost(d);
			if (d->state == ST_CLOSED)
				return;
		}
	}
	update_io(d);
}

/* iscsi_service with the bookkeeping around it. */
static void service(struct iscsi_lun *d, int revents)
{
	int rc;

	if (!d->ctx || d->in_service)
		return;
	peek_socket_error(d, revents);
	d->in_service = true;
	rc = iscsi_service(d->ctx, revents);
	d->in_service = false;
	if (rc < 0 && d->state != ST_CLOSED) {
		char why[200];

		if (d->state == ST_UP) {
			session_drop(d, NULL);
		} else if (d->state == ST_OPENING && d->conn == CONN_OK) {
			d->conn = CONN_FAILED;   /* lost while asking INQUIRY */
			conn_cause(d, why, sizeof(why), "no cause given");
			fmt_into(d->conn_error, sizeof(d->conn_error), "INQUIRY: session lost (%s)",
				 why);
		} else if ((d->state == ST_CONNECTING || d->state == ST_OPENING) &&
			   d->conn == CONN_PENDING) {
			d->conn = CONN_FAILED;
			conn_cause(d, why, sizeof(why), "connection lost");
			if (d->tcp_up)
				fmt_into(d->conn_error, sizeof(d->conn_error), "login: %s", why);
			else
				fmt_into(d->conn_error, sizeof(d->conn_error), "connect to %s: %s",
					 d->url.portal, why);
		}
	}
}

/* ------------------------------------------------------------------ */
/* loop handlers                                                       */

static void on_io(void *arg, uint32_t events)
{
	struct iscsi_lun *d = arg;

	service(d, (int)(events & (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP)));
	/* Commands submitted from completions: push them out now. */
	if (d->ctx && d->state == ST_UP && (iscsi_which_events(d->ctx) & POLLOUT))
		service(d, POLLOUT);
	after_service(d);
}

static void on_timer(void *arg, uint32_t events)
{
	struct iscsi_lun *d = arg;
	uint64_t v, now = now_ms();

	(void)events;
	if (read(d->timer_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_err("lun %s: timerfd read: %s", d->name, strerror(errno));
	d->timer_at = 0;

	if (d->state == ST_OPENING) {
		if (now >= d->open_deadline)
			open_progress(d, true);
		if (d->state == ST_OPENING)
			arm_timer(d);
		return;
	}
	if (d->state == ST_DOWN && now >= d->next_attempt) {
		try_connect(d);
	} else if (d->state == ST_CONNECTING && now >= d->connect_deadline) {
		d->conn = CONN_FAILED;
		no_answer(d, d->conn_error, sizeof(d->conn_error), ISCSI_CONNECT_TIMEOUT_MS);
	}
	if (d->state == ST_CLOSED)
		return;

	/* Held commands: their own timeout, or the target gone too long. */
	bool failfast = !has_session(d) && d->down_since &&
			now >= d->down_since + ISCSI_REPLACEMENT_TIMEOUT_MS;
	if (failfast && !d->failfast) {
		log_warn("lun %s: target unreachable for %d s (%s); failing commands until it is "
			 "back", d->name, ISCSI_REPLACEMENT_TIMEOUT_MS / 1000,
			 d->warned[0] ? d->warned : "no cause given");
		d->failfast = true;
	}
	for (struct list_link *l = d->held.next; l != &d->held && d->state != ST_CLOSED;) {
		struct icmd *c = list_entry(l, struct icmd, link);

		l = l->next;
		if (d->failfast)
			set_host_only(c->cmd, XEN_VSCSIIF_RSLT_HOST_TRANSPORT_FAILFAST);
		else if (now >= c->deadline)
			set_host_only(c->cmd, XEN_VSCSIIF_RSLT_HOST_TIME_OUT);
		else
			continue;
		deliver(d, c);
		l = d->held.next;
	}
	if (d->state == ST_CLOSED)
		return;

	if (has_session(d) && d->ctx) {
		for (struct list_link *l = d->active.next; l != &d->active; l = l->next) {
			struct icmd *c = list_entry(l, struct icmd, link);
			char op[64];

			if (c->cancel_host || c->abort_tmf || now < c->deadline)
				continue;
			sg_get_opcode_name(c->cmd->cdb[0], 0, sizeof(op), op);
			log_warn("lun %s: %s timed out after %u ms; aborting it", d->name, op,
				 c->cmd->timeout_ms ? c->cmd->timeout_ms : d->default_timeout_ms);
			c->cancel_host = XEN_VSCSIIF_RSLT_HOST_TIME_OUT;
			if (send_abort(d, c, NULL)) {
				session_drop(d, "cannot send ABORT TASK for a timed-out command");
				break;
			}
		}
		for (struct list_link *l = d->tmfs.next; l != &d->tmfs; l = l->next) {
			struct itmf *m = list_entry(l, struct itmf, link);

			if (now >= m->deadline) {
				session_drop(d, "task management request unanswered");
				break;
			}
		}
		/* libiscsi's own housekeeping (its timeouts are off) */
		service(d, 0);
	}
	after_service(d);
	if (d->state != ST_CLOSED)
		arm_timer(d);
}

/* ------------------------------------------------------------------ */
/* open                                                                */
/*
 * Asynchronous, through the loop like everything else: connect, login and
 * a standard INQUIRY (the device type) on a fresh session, within
 * ISCSI_OPEN_TIMEOUT_MS. A target that takes its time (or never answers)
 * never stops the loop. The outcome reaches the caller through
 * lun->opened, from the core's wake-up (lun_open_done).
 */

static void inquiry_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	struct iscsi_lun *d = priv;
	struct scsi_task *task = data;

	(void)ctx;
	d->inq_done = true;
	d->inq_status = status;
	if (status == SCSI_STATUS_CHECK_CONDITION)
		d->inq_sense_len = copy_sense(task, d->inq_sense);
}

/* The open has its outcome: the caller hears it from the loop. A failed
 * open lets its session go at once. */
static void open_finish(struct iscsi_lun *d, int rc, const char *why)
{
	struct lun *lun = d->lun;

	if (rc) {
		fmt_into(lun->error, sizeof(lun->error), "lun %s: %s", d->name, why);
		d->state = ST_OPEN_FAILED;
		teardown_ctx(d, XEN_VSCSIIF_RSLT_HOST_ABORT);
	} else {
		lun->dev_type = d->inq[0] & 0x1f;
		if (!d->default_timeout_ms)
			d->default_timeout_ms = lun_default_timeout_ms(lun->dev_type);
		fmt_into(lun->desc, sizeof(lun->desc), "iscsi %.90s %.8s %.16s", d->name,
			 (char *)d->inq + 8, (char *)d->inq + 16);
		log_info("lun %s: connected (%.8s %.16s, type 0x%02x)", d->name, (char *)d->inq + 8,
			 (char *)d->inq + 16, lun->dev_type);
		d->state = ST_UP;
	}
	if (d->inq_task && (d->inq_done || !d->ctx)) {
		scsi_free_scsi_task(d->inq_task);
		d->inq_task = NULL;
	}
	if (!rc)
		update_io(d);
	lun_open_done(d->core, rc);
}

static void send_open_inquiry(struct iscsi_lun *d)
{
	uint8_t cdb[6] = { 0x12, 0, 0, 0, (uint8_t)sizeof(d->inq), 0 };

	d->inq_sent = true;
	d->inq_task = scsi_create_task(6, cdb, SCSI_XFER_READ, (int)sizeof(d->inq));
	if (!d->inq_task) {
		open_finish(d, -ENOMEM, "INQUIRY: out of memory");
		return;
	}
	d->inq_iov = (struct scsi_iovec){ d->inq, sizeof(d->inq) };
	scsi_task_set_iov_in(d->inq_task, &d->inq_iov, 1);
	if (iscsi_scsi_command_async(d->ctx, d->url.lun, d->inq_task, inquiry_cb, NULL, d)) {
		char cause[200], why[300];

		lib_error(d, cause, sizeof(cause), "cannot send it");
		fmt_into(why, sizeof(why), "INQUIRY: %s", cause);
		open_finish(d, -EIO, why);
	}
}

/* Where the open stands after libiscsi ran (after_service) or time ran
 * out (timed_out). */
static void open_progress(struct iscsi_lun *d, bool timed_out)
{
	char why[300];

	if (d->state != ST_OPENING)
		return;
	if (d->conn == CONN_FAILED) {
		open_finish(d, d->sock_error ? -d->sock_error : -EIO, d->conn_error);
	} else if (d->conn == CONN_PENDING) {
		if (!timed_out)
			return;
		no_answer(d, why, sizeof(why), ISCSI_OPEN_TIMEOUT_MS);
		open_finish(d, -ETIMEDOUT, why);
	} else if (!d->inq_sent) {
		send_open_inquiry(d);
	} else if (d->inq_done && d->inq_status == SCSI_STATUS_CHECK_CONDITION) {
		char s[200];

		lun_sense_summary(d->inq_sense, d->inq_sense_len, s, sizeof(s));
		fmt_into(why, sizeof(why), "INQUIRY failed: %s", s);
		open_finish(d, -EIO, why);
	} else if (d->inq_done && d->inq_status == SCSI_STATUS_CANCELLED) {
		char cause[200];

		/* libiscsi gave up the session under it */
		conn_cause(d, cause, sizeof(cause), "no cause given");
		fmt_into(why, sizeof(why), "INQUIRY failed: session lost (%s)", cause);
		open_finish(d, d->sock_error ? -d->sock_error : -EIO, why);
	} else if (d->inq_done && d->inq_status != SCSI_STATUS_GOOD) {
		char cause[200];

		lib_error(d, cause, sizeof(cause), "no cause given");
		fmt_into(why, sizeof(why), "INQUIRY failed: %s", cause);
		open_finish(d, -EIO, why);
	} else if (d->inq_done && d->inq[0] >> 5) {
		fmt_into(why, sizeof(why), "target has no LUN %u (peripheral qualifier %u)", d->url.lun,
			 d->inq[0] >> 5);
		open_finish(d, -ENODEV, why);
	} else if (d->inq_done) {
		open_finish(d, 0, NULL);
	} else if (timed_out) {
		open_finish(d, -ETIMEDOUT, "INQUIRY: no answer");
	}
}

static void free_lun(struct iscsi_lun *d)
{
	if (d->timer_fd >= 0)
		close(d->timer_fd);
	free(d->chap_user);
	free(d->chap_password);
	free(d);
}

static int iscsi_open(struct lun *lun, const struct pdev_info *pdev, const struct lun_config *cfg)
{
	struct iscsi_lun *d;
	int rc;

	d = calloc(1, sizeof(*d));
	if (!d) {
		fmt_into(lun->error, sizeof(lun->error), "lun %s: out of memory", pdev->path);
		return -ENOMEM;
	}
	d->url = *pdev;
	d->lun = lun;
	d->core = lun->core;
	fmt_into(d->name, sizeof(d->name), "%s", d->url.path);
	fmt_into(d->initiator, sizeof(d->initiator), "%s",
		 cfg && cfg->initiator_iqn && cfg->initiator_iqn[0] ? cfg->initiator_iqn
								   : ISCSI_DEFAULT_INITIATOR);
	if (cfg && cfg->isid) {
		memcpy(d->isid, cfg->isid, sizeof(d->isid));
		d->has_isid = true;
	}
	d->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->timer_fd < 0) {
		rc = -errno;
		fmt_into(lun->error, sizeof(lun->error), "lun %s: %s", d->name, strerror(-rc));
		free_lun(d);
		return rc;
	}
	if (cfg && cfg->chap_user && cfg->chap_user[0]) {
		d->chap_user = strdup(cfg->chap_user);
		d->chap_password = strdup(cfg->chap_password ? cfg->chap_password : "");
		if (!d->chap_user || !d->chap_password) {
			fmt_into(lun->error, sizeof(lun->error), "lun %s: out of memory", d->name);
			free_lun(d);
			return -ENOMEM;
		}
	}
	d->default_timeout_ms = cfg ? cfg->default_timeout_ms : 0;
	list_init(&d->active);
	list_init(&d->held);
	list_init(&d->orphans);
	list_init(&d->tmfs);
	list_init(&d->tmf_done);
	list_init(&d->orphan_tmfs);

	rc = start_connect(d);
	if (rc) {
		fmt_into(lun->error, sizeof(lun->error), "lun %s: %s", d->name, d->conn_error);
		goto fail;
	}
	rc = lun_watch_add(d->core, &d->timer, d->timer_fd, EPOLLIN, on_timer, d);
	if (rc) {
		fmt_into(lun->error, sizeof(lun->error), "lun %s: event loop: %s", d->name, strerror(-rc));
		goto fail;
	}
	d->state = ST_OPENING;
	d->open_deadline = now_ms() + ISCSI_OPEN_TIMEOUT_MS;
	arm_at(d, d->open_deadline);
	update_io(d);
	if (!d->io.added) {
		lun_watch_del(&d->timer);
		fmt_into(lun->error, sizeof(lun->error), "lun %s: cannot watch the iSCSI socket", d->name);
		rc = -EIO;
		goto fail;
	}
	lun->priv = d;
	return -EINPROGRESS;
fail:
	if (d->ctx)
		iscsi_destroy_context(d->ctx);
	free_lun(d);
	return rc;
}

/* ------------------------------------------------------------------ */
/* submit / abort / reset / close                                      */

/* Pushes queued PDUs out at once, unless libiscsi is already running. */
static void flush_out(struct iscsi_lun *d)
{
	if (d->ctx && d->state == ST_UP && !d->in_service)
		service(d, POLLOUT);
	if (!d->in_service)
		after_service(d);
}

static int iscsi_submit(struct lun *lun, struct lun_cmd *cmd)
{
	struct iscsi_lun *d = lun->priv;
	struct icmd *c;
	size_t total = 0;
	uint64_t deadline;

	if (cmd->cdb_len == 0 || cmd->cdb_len > sizeof(cmd->cdb))
		return -EINVAL;
	if (cmd->xfer_len && cmd->dir == LUN_DIR_BIDI)
		return -EOPNOTSUPP;   /* libiscsi has no bidirectional commands */
	if (cmd->xfer_len > INT_MAX || cmd->iovcnt < 0 || (cmd->iovcnt && !cmd->iov))
		return -EINVAL;
	for (int i = 0; i < cmd->iovcnt; i++)
		total += cmd->iov[i].iov_len;
	if (total < cmd->xfer_len)
		return -EINVAL;
	c = calloc(1, sizeof(*c) + sizeof(struct scsi_iovec) * (size_t)cmd->iovcnt);
	if (!c)
		return -ENOMEM;
	c->d = d;
	c->cmd = cmd;
	list_init(&c->link);
	c->niov = cmd->iovcnt;
	for (int i = 0; i < cmd->iovcnt; i++) {
		c->siov[i].iov_base = cmd->iov[i].iov_base;
		c->siov[i].iov_len = cmd->iov[i].iov_len;
	}
	c->deadline = now_ms() + (cmd->timeout_ms ? cmd->timeout_ms : d->default_timeout_ms);
	/* c may be answered and freed below (a write that finds the
	 * connection reset drops the session; failfast answers at once). */
	deadline = c->deadline;
	cmd->drv = c;

	if (d->state == ST_UP) {
		int rc = send_cmd(d, c);

		if (rc) {
			cmd->drv = NULL;
			free(c);
			return rc;
		}
		flush_out(d);
	} else {
		c->state = IC_HELD;
		list_add_tail(&d->held, &c->link);
		if (d->failfast) {
			set_host_only(cmd, XEN_VSCSIIF_RSLT_HOST_TRANSPORT_FAILFAST);
			deliver(d, c);
		}
	}
	if (d->state != ST_CLOSED)
		arm_at(d, deadline);
	return 0;
}

static int iscsi_abort(struct lun *lun, struct lun_cmd *cmd, struct lun_tmf *t)
{
	struct iscsi_lun *d = lun->priv;
	struct icmd *c = cmd->drv;

	if (!c || (c->state != IC_HELD && c->state != IC_ACTIVE))
		return -ENOENT;
	if (c->state == IC_HELD) {
		/* never sent: nothing to ask the target */
		set_host_only(cmd, XEN_VSCSIIF_RSLT_HOST_ABORT);
		deliver(d, c);
		lun_tmf_done(t, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
	} else if (c->abort_tmf) {
		if (c->abort_tmf->t)
			return -EBUSY;
		/* our timeout abort is out already: answer the guest with it */
		c->abort_tmf->t = t;
	} else {
		int rc;

		c->cancel_host = XEN_VSCSIIF_RSLT_HOST_ABORT;
		rc = send_abort(d, c, t);
		if (rc) {
			char why[200];

			c->cancel_host = 0;
			if (rc == -ENOMEM)
				fmt_into(why, sizeof(why), "out of memory");
			else
				lib_error(d, why, sizeof(why), "no cause given");
			log_warn("lun %s: cannot send ABORT TASK: %s", d->name, why);
			lun_tmf_done(t, XEN_VSCSIIF_RSLT_RESET_FAILED);
		} else {
			flush_out(d);
		}
	}
	return 0;
}

static int iscsi_reset(struct lun *lun, struct lun_tmf *t)
{
	struct iscsi_lun *d = lun->priv;

	/* What the target has not seen is simply dropped. */
	while (!list_empty(&d->held)) {
		struct icmd *c = list_entry(d->held.next, struct icmd, link);

		set_host_only(c->cmd, XEN_VSCSIIF_RSLT_HOST_RESET);
		deliver(d, c);
	}
	if (d->state != ST_UP || !d->ctx) {
		log_warn("lun %s: logical unit reset while the target is unreachable", d->name);
		lun_tmf_done(t, XEN_VSCSIIF_RSLT_RESET_FAILED);
		return 0;
	}
	struct itmf *m = new_tmf(d, true, t);
	if (!m)
		return -ENOMEM;
	m->deadline = now_ms() + ISCSI_TMF_TIMEOUT_MS;
	list_add_tail(&d->tmfs, &m->link);
	if (iscsi_task_mgmt_async(d->ctx, d->url.lun, ISCSI_TM_LUN_RESET, 0xffffffff, 0, tmf_cb, m)) {
		char why[200];

		lib_error(d, why, sizeof(why), "no cause given");
		log_warn("lun %s: cannot send LOGICAL UNIT RESET: %s", d->name, why);
		tmf_answer(d, m, XEN_VSCSIIF_RSLT_RESET_FAILED);
	} else {
		arm_at(d, m->deadline);
		flush_out(d);
	}
	return 0;
}

/* The core's release: no callback of ours is on the stack any more. */
static void iscsi_release(void *priv)
{
	struct iscsi_lun *d = priv;

	if (d->ctx)
		destroy_ctx(d, XEN_VSCSIIF_RSLT_HOST_ABORT);
	if (d->inq_task)
		scsi_free_scsi_task(d->inq_task);
	while (!list_empty(&d->orphans)) {
		struct icmd *c = list_entry(d->orphans.next, struct icmd, link);

		list_del(&c->link);
		free_task(c);
		free(c);
	}
	while (!list_empty(&d->orphan_tmfs)) {
		struct itmf *m = list_entry(d->orphan_tmfs.next, struct itmf, link);

		list_del(&m->link);
		free(m);
	}
	free_lun(d);
}

static void iscsi_close(struct lun *lun)
{
	struct iscsi_lun *d = lun->priv;

	/* Stop watching; from here on nothing runs from the loop. */
	lun_watch_del(&d->io);
	lun_watch_del(&d->timer);
	if (!d->in_service && d->ctx) {
		/* libiscsi calls back for every task it has: host ABORT */
		teardown_ctx(d, XEN_VSCSIIF_RSLT_HOST_ABORT);
	}
	d->state = ST_CLOSED;
	/* Anything libiscsi still holds (close called from inside one of its
	 * callbacks) is answered now and freed when the context goes. */
	while (!list_empty(&d->active)) {
		struct icmd *c = list_entry(d->active.next, struct icmd, link);
		struct lun_cmd *cmd = c->cmd;

		list_del(&c->link);
		c->state = IC_ORPHAN;
		list_add_tail(&d->orphans, &c->link);
		set_host_only(cmd, c->cancel_host ? c->cancel_host : XEN_VSCSIIF_RSLT_HOST_ABORT);
		cmd->drv = NULL;
		c->cmd = NULL;
		lun_complete(d->core, cmd);
	}
	while (!list_empty(&d->held)) {
		struct icmd *c = list_entry(d->held.next, struct icmd, link);
		struct lun_cmd *cmd = c->cmd;

		list_del(&c->link);
		set_host_only(cmd, XEN_VSCSIIF_RSLT_HOST_ABORT);
		cmd->drv = NULL;
		free(c);
		lun_complete(d->core, cmd);
	}
	while (!list_empty(&d->tmfs)) {
		struct itmf *m = list_entry(d->tmfs.next, struct itmf, link);
		struct lun_tmf *t = m->t;

		/* libiscsi still has it: keep it, answered, until the context goes */
		list_del(&m->link);
		list_add_tail(&d->orphan_tmfs, &m->link);
		if (m->c)
			m->c->abort_tmf = NULL;
		m->c = NULL;
		m->answered = true;
		m->t = NULL;
		if (t)
			lun_tmf_done(t, XEN_VSCSIIF_RSLT_RESET_FAILED);
	}
	while (!list_empty(&d->tmf_done)) {
		struct itmf *m = list_entry(d->tmf_done.next, struct itmf, link);

		list_del(&m->link);
		if (m->t)
			lun_tmf_done(m->t, m->rslt);
		free(m);
	}
}

/* ------------------------------------------------------------------ */
/* lun_iscsi.h: for the driver's tests                                 */

uint64_t lun_iscsi_test_deadline(const struct lun_cmd *cmd)
{
	return ((const struct icmd *)cmd->drv)->deadline;
}

void lun_iscsi_test_lib_text(const char *text, char *out, size_t len)
{
	lib_text(text, out, len);
}

/* The session as an admin wants it in vscsictl list: up, or why not and
 * what commands get meanwhile. */
static void iscsi_link(const struct lun *lun, char *buf, size_t len)
{
	const struct iscsi_lun *d = lun->priv;
	const char *why;

	if (!d)
		return;
	why = d->warned[0] ? d->warned : d->lost_why[0] ? d->lost_why : "";
	switch (d->state) {
	case ST_UP:
		fmt_into(buf, len, "up");
		break;
	case ST_LOST:
	case ST_DOWN:
	case ST_CONNECTING:
		if (d->failfast)
			fmt_into(buf, len, "target unreachable, commands fail at once%s%s%s",
				 why[0] ? " (" : "", why, why[0] ? ")" : "");
		else
			fmt_into(buf, len, "reconnecting, commands wait%s%s%s",
				 why[0] ? " (" : "", why, why[0] ? ")" : "");
		break;
	default:
		break;
	}
}

const struct lun_ops lun_iscsi_ops = {
	.name = "iscsi",
	.open = iscsi_open,
	.submit = iscsi_submit,
	.abort = iscsi_abort,
	.reset = iscsi_reset,
	.link = iscsi_link,
	.close = iscsi_close,
	.release = iscsi_release,
};
