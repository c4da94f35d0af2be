/* What survives a scsiback crash: for each connected ring, the index of
 * the next request to take and the requests taken but not yet answered.
 * It is a small file under the state directory, mapped shared, so that
 * keeping it costs stores to memory and no syscall, and the kernel keeps
 * it when the process dies. A restarted daemon answers the recorded
 * requests with host status RESET instead of running them again: a tape
 * command must never run twice. */
#ifndef SCSIBACK_INFLIGHT_H
#define SCSIBACK_INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INFLIGHT_SLOTS 64

enum inflight_state { REC_FREE = 0, REC_RUNNING = 1, REC_ANSWERING = 2 };

struct inflight_rec {
	uint32_t state;
	uint32_t req_idx;         /* ring index the request was taken from */
	uint32_t rsp_idx;         /* ANSWERING: ring index of its response */
	uint16_t rqid;
	uint8_t act;
	uint8_t pad;
};

struct inflight_file {
	uint32_t magic;
	uint32_t ring_ref;        /* which ring the records belong to */
	uint32_t fe_port;
	uint32_t fe_domid;
	uint32_t req_cons;        /* next request index to take */
	uint32_t pad;
	struct inflight_rec rec[INFLIGHT_SLOTS];
};

struct inflight;

/* Opens (creating) the record of a vhost. Returns NULL with errno set. */
struct inflight *inflight_open(const char *dir, uint32_t domid, uint32_t devid);
/* The record file of a vhost, created if need be and sized: its fd (for a
 * worker: docs/privsep.md) with its path in path, or -errno. */
int inflight_create(const char *dir, uint32_t domid, uint32_t devid, char *path, size_t pathlen);
/* Maps a record file another process opened (inflight_create), taking
 * fd; closing it with remove set does not unlink it (its opener does).
 * NULL with errno set (EINVAL: not a record file's size). */
struct inflight *inflight_open_fd(int fd);
void inflight_close(struct inflight *f, bool remove);
/* The mapped file; callers read and update it directly. */
struct inflight_file *inflight_data(struct inflight *f);
/* Whether the records belong to this ring. */
bool inflight_matches(struct inflight *f, uint32_t ring_ref, uint32_t fe_port, uint32_t fe_domid);
/* Starts afresh for a new ring. */
void inflight_reset(struct inflight *f, uint32_t ring_ref, uint32_t fe_port, uint32_t fe_domid,
		    uint32_t req_cons);
/* Records a taken request; returns the record index or -1 if full. */
int inflight_add(struct inflight *f, uint32_t req_idx, uint16_t rqid, uint8_t act);
void inflight_answering(struct inflight *f, int rec, uint32_t rsp_idx);
void inflight_done(struct inflight *f, int rec);

#endif
