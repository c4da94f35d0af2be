/* One vscsiif shared ring as the backend sees it: the granted page, the
 * event channel, and the in-flight records that let a restarted daemon
 * answer what its predecessor had taken. A leaf: it knows requests and
 * records, not commands, LUNs or xenstore. */
#ifndef SCSIBACK_RING_H
#define SCSIBACK_RING_H

#include <stdbool.h>
#include <stdint.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#include "log.h"
#include "request.h"
#include "vscsi_ring.h"

struct inflight;

struct ring {
	const char *name;             /* for logs: the vhost's */
	uint32_t fe_domid;
	uint32_t ref;                 /* the frontend's ring-ref and event channel */
	uint32_t fe_port;
	void *page;                   /* mapped: NULL while unmapped */
	vscsiif_back_ring_t br;
	xenevtchn_handle *evtchn;
	bool shared;                  /* evtchn is the caller's, shared by rings */
	int port;                     /* our end of the event channel */
	struct inflight *inflight;    /* the records of this ring (not owned) */
	uint32_t gen;                 /* counts attachments: tells a command of an
				       * earlier ring from one of this ring */
	bool halted;                  /* corrupt: no more requests are taken */
	struct log_limit limit;       /* refusals: one line each, up to a limit */
};

/* Maps the frontend's ring page and binds its event channel: on a
 * handle of its own, or on shared, the caller's (a worker's, restricted
 * to its guest: docs/privsep.md), which then tells events apart by port.
 * 0 or -errno, logged; nothing is left mapped on failure. */
int ring_map(struct ring *r, xengnttab_handle *gnt, xenevtchn_handle *shared, uint32_t fe_domid,
	     uint32_t ref, uint32_t fe_port);
void ring_unmap(struct ring *r, xengnttab_handle *gnt);
static inline bool ring_mapped(const struct ring *r) { return r->page != NULL; }
/* The fd to wait on for the frontend's events (a handle of its own). */
int ring_fd(const struct ring *r);
/* Acknowledges a pending event (and unmasks it); false if there was none.
 * A handle of its own only: on a shared one, the owner takes the pending
 * port and unmasks it. */
bool ring_ack_event(struct ring *r);

/* Starts serving a mapped ring with its records. Shared indexes are
 * never reset: after a daemon crash the ring is live and the frontend
 * keeps using it. When the records are this ring's, what the previous
 * daemon had taken and not answered is answered with host RESET (never
 * run again); otherwise requests already queued are answered so and the
 * records start afresh. Returns whether it resumed from the records. */
bool ring_attach(struct ring *r, struct inflight *records);

enum ring_take_result {
	RING_EMPTY,                   /* nothing (more) to take, or halted */
	RING_TAKEN,                   /* *req is a valid request taken at *idx */
	RING_REFUSED,                 /* an invalid request, answered host ERROR */
};
/* Takes the next request: copied once off the shared page, then
 * validated. A producer index more than a ring ahead halts the ring. */
enum ring_take_result ring_take(struct ring *r, struct vscsi_req *req, uint32_t *idx);

/* Records a request taken at idx as running; returns its record. */
int ring_record(struct ring *r, uint32_t idx, uint16_t rqid, uint8_t act);
/* Writes the response of the request behind record rec (not yet
 * published: ring_push). */
void ring_answer(struct ring *r, int rec, uint16_t rqid, int32_t rslt, const uint8_t *sense,
		 uint8_t sense_len, uint32_t resid);
/* Publishes the responses written, frees the records of those now
 * visible, and notifies the frontend if it asked. No-op while unmapped. */
void ring_push(struct ring *r);
/* Asks for an event on the next request; true if one came meanwhile
 * (take again before sleeping). */
bool ring_arm(struct ring *r);

#endif
