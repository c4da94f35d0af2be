/* vscsi read and write: a window of READ(16) / WRITE(16) commands in
 * flight, completed in order, each sent again after an outcome that a
 * second try can cure (the transport to the device was lost, a reset, a
 * busy device), the way the SCSI midlayer of an OS retries. Reading or
 * writing the same blocks with the same data twice is harmless. On a
 * failure that stays, the command says exactly how far it got. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <scsi/sg_lib.h>

#include "cli.h"
#include "vscsi_host.h"

struct io_slot {
	struct vscsi_task *t;
	bool done;
	uint64_t lba;
	size_t nblocks;
	int tries;                 /* sent again this many times */
	int attentions;            /* of which after a unit attention */
};

/* A device reports each pending unit attention once, to the next command
 * (a reset, a reservation preempted or released, mode parameters
 * changed...), and may have queued several: these retries drain them and
 * count apart from --retries, up to this many per command. */
#define IO_ATTENTIONS_MAX 32

/* One read or write: the window and how far it got. */
struct io_run {
	struct cli *c;
	const char *what;          /* "read" or "write" */
	uint32_t bs;
	const uint8_t *data;       /* write: the blocks; read: NULL */
	FILE *out;                 /* read: where the blocks go */
	struct io_slot *win;
	size_t head, tail;         /* win[head % qd] is the oldest in flight */
	uint64_t next_lba;
	size_t left;               /* blocks not yet sent */
	uint64_t blocks_done;      /* completed in order from --lba on */
};

static void io_done(struct vscsi_host *h, struct vscsi_task *t, void *priv)
{
	struct io_slot *s = priv;

	(void)h;
	(void)t;
	s->done = true;
}

static int io_prepare(struct cli *c, uint32_t *bs, size_t *per_cmd)
{
	struct vscsi_host_info info;

	if (c->bs) {
		*bs = (uint32_t)c->bs;
	} else {
		uint64_t blocks;
		int rc = cli_read_capacity(c, true, &blocks, bs);

		/* A unit attention is reported once (after a reset, a
		 * reservation released...): the next command gets the answer. */
		for (int tries = 0; rc == SG_LIB_CAT_UNIT_ATTENTION && tries < IO_ATTENTIONS_MAX; tries++) {
			fprintf(stderr, "vscsi: read capacity: trying again after the unit attention\n");
			rc = cli_read_capacity(c, true, &blocks, bs);
		}
		if (rc)
			return rc;
		if (!*bs) {
			fprintf(stderr, "vscsi: the device reports a block size of 0; use --bs\n");
			return SG_LIB_CAT_MALFORMED;
		}
	}
	vscsi_get_info(c->host, &info);
	*per_cmd = info.max_transfer / *bs;
	if (*per_cmd > 65535)
		*per_cmd = 65535;
	if (!*per_cmd) {
		fprintf(stderr, "vscsi: a %u-byte block exceeds the vhost's %zu-byte transfer limit\n",
			*bs, info.max_transfer);
		return EX_SYNTAX;
	}
	return EX_OK;
}

/* Why a second try of this answered command may succeed, or NULL when it
 * cannot: the host statuses Linux's midlayer retries (the transport lost
 * or reset, a busy bus), BUSY and TASK SET FULL, and the sense that says
 * "try again" (a unit attention after a reset, a device becoming ready,
 * an aborted command). A task the library ended (timeout, disconnect) is
 * final: its host handle is no longer usable or the device did not answer. */
static const char *io_retry_reason(const struct vscsi_task *t, char *buf, size_t len)
{
	uint8_t key, asc, ascq;

	if (t->error)
		return NULL;
	if (t->host_status) {
		switch (t->host_status) {
		case 2:  /* BUS_BUSY */
		case 5:  /* ABORT */
		case 7:  /* ERROR */
		case 8:  /* RESET */
		case 11: /* SOFT_ERROR */
		case 12: /* IMM_RETRY */
		case 13: /* REQUEUE */
		case 14: /* TRANSPORT_DISRUPTED */
			snprintf(buf, len, "host status %s", vscsi_host_name(t->host_status));
			return buf;
		default:
			return NULL;
		}
	}
	if (t->status == VSCSI_STATUS_BUSY || t->status == VSCSI_STATUS_TASK_SET_FULL) {
		sg_get_scsi_status_str(t->status, (int)len, buf);
		return buf;
	}
	if (t->status != VSCSI_STATUS_CHECK_CONDITION || !vscsi_task_sense(t, &key, &asc, &ascq))
		return NULL;
	if (key == 0x6 || key == 0xb || (key == 0x2 && asc == 0x04 && ascq == 0x01)) {
		char what[160];

		sg_get_asc_ascq_str(asc, ascq, (int)sizeof(what), what);
		snprintf(buf, len, "%s: %s", sg_get_sense_key_str(key, 0, NULL) ?: "sense", what);
		return buf;
	}
	return NULL;
}

static bool io_attention(const struct vscsi_task *t)
{
	uint8_t key;

	return !t->error && !t->host_status && t->status == VSCSI_STATUS_CHECK_CONDITION &&
	       vscsi_task_sense(t, &key, NULL, NULL) && key == 0x6;
}

/* What a try waits before going out: 0.25 s, doubling, at most 4 s, so
 * five tries cover about 8 s of a target coming back. */
static unsigned io_backoff_ms(int tries)
{
	unsigned ms = 250u << (tries > 5 ? 4 : tries - 1);

	return ms > 4000 ? 4000 : ms;
}

static int64_t io_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int io_send(struct io_run *r, struct io_slot *s)
{
	struct cli *c = r->c;

	s->done = false;
	if (r->data)
		s->t = vscsi_write16_task(c->host, &c->addr, s->lba, (uint32_t)s->nblocks, r->bs,
					  r->data + (s->lba - c->lba) * r->bs, io_done, s);
	else
		s->t = vscsi_read16_task(c->host, &c->addr, s->lba, (uint32_t)s->nblocks, r->bs, NULL,
					 io_done, s);
	if (!s->t) {
		fprintf(stderr, "vscsi %s: %s\n", r->what, strerror(errno));
		return EX_OTHER;
	}
	return EX_OK;
}

/* Keeps the host serviced (completions of the other commands arrive)
 * for ms milliseconds, or until slot s completes when ms < 0. */
static int io_wait(struct io_run *r, struct io_slot *s, int ms)
{
	int64_t until = io_now_ms() + ms;

	for (;;) {
		int64_t left = until - io_now_ms();

		if (ms < 0 ? s->done : left <= 0)
			return EX_OK;
		if (vscsi_run_once(r->c->host, ms < 0 || left > 1000 ? 1000 : (int)left) < 0)
			return EX_OTHER;
	}
}

/* The oldest command in flight finished: its data out, or a second try,
 * or the exit code of its failure. */
static int io_complete_head(struct io_run *r)
{
	struct cli *c = r->c;
	struct io_slot *s = &r->win[r->head % (size_t)c->qd];
	char why[256];
	const char *retry;
	int rc = io_wait(r, s, -1);

	if (rc)
		return rc;
	retry = io_retry_reason(s->t, why, sizeof(why));
	if (retry && io_attention(s->t) && s->attentions < IO_ATTENTIONS_MAX) {
		s->attentions++;
		fprintf(stderr, "vscsi %s: blocks %" PRIu64 "..%" PRIu64 ": %s; trying again\n", r->what,
			s->lba, s->lba + s->nblocks - 1, retry);
		vscsi_task_free(s->t);
		s->t = NULL;
		return io_send(r, s);
	}
	if (retry && s->tries < c->retries) {
		s->tries++;
		fprintf(stderr, "vscsi %s: blocks %" PRIu64 "..%" PRIu64 ": %s; trying again (%d of %d)\n",
			r->what, s->lba, s->lba + s->nblocks - 1, retry, s->tries, c->retries);
		vscsi_task_free(s->t);
		s->t = NULL;
		rc = io_wait(r, s, (int)io_backoff_ms(s->tries));
		return rc ? rc : io_send(r, s);
	}
	rc = cli_task_result(c, s->t, r->data ? "write(16)" : "read(16)");
	if (!rc && !r->data) {
		size_t n = s->t->xfer_done;

		if (fwrite(s->t->buf, 1, n, r->out) != n) {
			fprintf(stderr, "vscsi read: writing the output: %s\n", strerror(errno));
			rc = EX_FILE;
		} else if (n < s->nblocks * r->bs) {
			/* Fewer bytes than asked, without an error: the device's
			 * residual. What follows would land at the wrong offset. */
			fprintf(stderr, "vscsi read: blocks %" PRIu64 "..%" PRIu64
				": the device sent %zu of %zu bytes\n", s->lba,
				s->lba + s->nblocks - 1, n, s->nblocks * r->bs);
			r->blocks_done += n / r->bs;
			rc = SG_LIB_CAT_MALFORMED;
		}
	}
	if (!rc)
		r->blocks_done += s->nblocks;
	vscsi_task_free(s->t);
	s->t = NULL;
	r->head++;
	return rc;
}

/* After a failure: what the output or the device holds now. */
static void io_report_stop(const struct io_run *r, uint64_t total)
{
	const struct cli *c = r->c;
	uint64_t stop = c->lba + r->blocks_done;

	if (r->data) {
		fprintf(stderr, "vscsi write: stopped at block %" PRIu64 ": %" PRIu64 " of %" PRIu64
			" blocks written (from block %" PRIu64 "); blocks from %" PRIu64
			" on may or may not hold the new data\n", stop, r->blocks_done, total, c->lba,
			stop);
		return;
	}
	fprintf(stderr, "vscsi read: stopped at block %" PRIu64 ": %" PRIu64 " of %" PRIu64
		" blocks read; %s holds the first %" PRIu64 " (%" PRIu64 " bytes)\n", stop,
		r->blocks_done, total, c->outfile ? c->outfile : "the output", r->blocks_done,
		r->blocks_done * r->bs);
}

/* The window read and write share: up to --qd commands of at most per_cmd
 * blocks in flight from --lba on, completed in order. */
static int io_run(struct cli *c, uint32_t bs, size_t per_cmd, size_t count, const uint8_t *data,
		  FILE *out)
{
	struct io_run r = { .c = c, .what = data ? "write" : "read", .bs = bs, .data = data,
			    .out = out, .next_lba = c->lba, .left = count };
	int rc = EX_OK;

	r.win = calloc((size_t)c->qd, sizeof(*r.win));
	if (!r.win) {
		fprintf(stderr, "vscsi %s: out of memory for %d commands in flight\n", r.what, c->qd);
		return EX_OTHER;
	}
	while ((r.left || r.head != r.tail) && !rc) {
		while (r.left && r.tail - r.head < (size_t)c->qd && !rc) {
			struct io_slot *s = &r.win[r.tail % (size_t)c->qd];

			s->lba = r.next_lba;
			s->nblocks = r.left < per_cmd ? r.left : per_cmd;
			s->tries = 0;
			s->attentions = 0;
			rc = io_send(&r, s);
			if (rc)
				break;
			r.next_lba += s->nblocks;
			r.left -= s->nblocks;
			r.tail++;
		}
		if (!rc && r.head != r.tail)
			rc = io_complete_head(&r);
	}
	if (rc && r.head != r.tail) {
		/* What is still in flight is not waited for: closing the vhost
		 * ends it (the backend answers it to nobody). */
		cli_close(c);
		for (; r.head != r.tail; r.head++)
			vscsi_task_free(r.win[r.head % (size_t)c->qd].t);
	}
	if (rc)
		io_report_stop(&r, count);
	free(r.win);
	return rc;
}

int cmd_read(struct cli *c)
{
	uint32_t bs;
	size_t per_cmd;
	FILE *out;
	int rc = cli_open(c);

	if (rc)
		return rc;
	rc = io_prepare(c, &bs, &per_cmd);
	if (rc)
		return rc;
	out = c->outfile ? fopen(c->outfile, "wb") : stdout;
	if (!out) {
		fprintf(stderr, "vscsi read: cannot create %s: %s\n", c->outfile, strerror(errno));
		return EX_FILE;
	}
	rc = io_run(c, bs, per_cmd, c->count < 0 ? 1 : (size_t)c->count, NULL, out);
	if (out != stdout && fclose(out) != 0 && !rc) {
		fprintf(stderr, "vscsi read: closing %s: %s\n", c->outfile, strerror(errno));
		rc = EX_FILE;
	}
	return rc;
}

int cmd_write(struct cli *c)
{
	uint32_t bs;
	size_t per_cmd, count, len;
	uint8_t *data;
	int rc;

	if (!c->in_file) {
		fprintf(stderr, "vscsi write: --input FILE is required\n");
		return EX_SYNTAX;
	}
	data = cli_read_file(c->in_file, &len);
	if (!data) {
		fprintf(stderr, "vscsi write: cannot read %s: %s\n", c->in_file, strerror(errno));
		return EX_FILE;
	}
	rc = cli_open(c);
	if (!rc)
		rc = io_prepare(c, &bs, &per_cmd);
	if (rc) {
		free(data);
		return rc;
	}
	count = c->count < 0 ? (len + bs - 1) / bs : (size_t)c->count;
	if (count * bs > len) {
		/* The last block is padded with zeros. */
		uint8_t *nd = realloc(data, count * bs);

		if (!nd) {
			free(data);
			return EX_OTHER;
		}
		memset(nd + len, 0, count * bs - len);
		data = nd;
		if (c->verbose)
			fprintf(stderr, "vscsi write: input padded with zeros to %zu blocks\n", count);
	}
	rc = io_run(c, bs, per_cmd, count, data, NULL);
	free(data);
	return rc;
}
