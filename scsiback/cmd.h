/* The commands of one vhost: each request taken off its ring, from the
 * checks that need the LUN table through the LUN driver to the response.
 * At most VSCSI_RING_SIZE are outstanding: the ring cannot hold more
 * unanswered requests. */
#ifndef SCSIBACK_CMD_H
#define SCSIBACK_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <xengnttab.h>

#include "log.h"
#include "lun.h"
#include "request.h"
#include "ring.h"
#include "vlun.h"
#include "vscsi_ring.h"

struct cmd_table;
struct pgrant_cache;

enum cmd_kind { CMD_FREE, CMD_SCSI, CMD_TMF };

/* One request being served. */
struct cmd {
	enum cmd_kind kind;
	struct cmd_table *t;
	struct vlun *vl;
	struct vscsi_req req;
	uint32_t ring_idx;            /* where the request was taken */
	uint32_t ring_gen;            /* of the ring it came from */
	int rec;                      /* in-flight record */
	struct lun_cmd lc;
	struct iovec iov;
	uint8_t *buf;                 /* bounce buffer, kept between commands */
	size_t buf_cap;
	size_t buf_touched;           /* bytes from buf's start commands used */
	struct pgrant_cache *pg;      /* held while the LUN driver has its pages */
	bool mapped;                  /* data straight in the guest's pages (iovs) */
	struct iovec *iovs;           /* iovs_cap of them, kept between commands */
	unsigned iovs_cap;
	unsigned nsegs;               /* data segments (direct or from the table) */
	uint32_t data_len;
	struct scsiif_request_segment *segs;   /* segs_cap, kept between commands */
	unsigned segs_cap;
};

struct cmd_table {
	/* What the commands use, set by their vhost. */
	const char *name;             /* for logs */
	struct ring *ring;
	struct vlun_table *luns;
	xengnttab_handle *gnt;
	/* The ring's persistent grants (feature-persistent on both sides),
	 * or NULL: data by grant copy. */
	struct pgrant_cache *pg;
	bool feature_host;            /* REPORT LUNS goes to the device */
	/* Runs when the last outstanding command has ended. */
	void (*idle)(void *arg);
	void *arg;

	/* Publishes the answers of a loop turn once (cmd_table_init). */
	struct evloop_wake publish;

	struct cmd slot[VSCSI_RING_SIZE];
	unsigned busy;                /* outstanding, of this ring or earlier ones */
	struct log_limit limit;       /* the guest's requests cause these lines */
};

/* Serves a request taken at ring_idx: answered at once (refusals,
 * emulated commands) or when its LUN driver completes it. */
void cmd_start(struct cmd_table *t, const struct vscsi_req *req, uint32_t ring_idx);
/* The drain's time is up: answers every command of the current ring
 * still running with host RESET (TMFs: failed), as a daemon after a crash
 * would, and disowns them: when their LUNs close, they end answering
 * nobody. */
void cmd_cut_off(struct cmd_table *t);
/* The loop the table's completions come from (before any command). */
void cmd_table_init(struct cmd_table *t, struct evloop *loop);
/* Frees the bounce buffers (no command may be outstanding). */
void cmd_table_release(struct cmd_table *t);

#endif
