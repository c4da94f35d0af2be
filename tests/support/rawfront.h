/* Test support: a bare vscsiif frontend that can put anything on the ring,
 * including requests no honest frontend would send. It shares its ring
 * and a pool of data pages, binds an event channel and follows the
 * xenbus handshake like the Linux frontend (docs/protocol.md,
 * "Handshake"). */
#ifndef VSCSI_TEST_RAWFRONT_H
#define VSCSI_TEST_RAWFRONT_H

#include <stdbool.h>
#include <stdint.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#include "vscsi_ring.h"

struct simenv;
struct xs_handle;

#define RAWFRONT_POOL_PAGES 320
/* As many as a request's seg[] can name: 26 × 512 data segments. */
#define RAWFRONT_TABLE_PAGES VSCSIIF_SG_TABLESIZE

struct rawfront {
	int domid, devid, be_domid;
	char fe_path[128];
	char be_path[128];
	struct xs_handle *xs;
	xengntshr_handle *shr;
	xenevtchn_handle *evt;
	int port;
	uint32_t ring_ref;
	void *ring_page;
	vscsiif_front_ring_t ring;
	uint8_t *pool;                    /* RAWFRONT_POOL_PAGES pages */
	uint32_t pool_refs[RAWFRONT_POOL_PAGES];
	uint8_t *table;                   /* RAWFRONT_TABLE_PAGES pages of indirect
					   * segment tables, one list */
	uint32_t table_refs[RAWFRONT_TABLE_PAGES];
	bool persistent;                  /* we offered feature-persistent */
};

/* Connects as domid to vhost devid (its nodes must exist). Waits up to
 * timeout_ms for the backend to connect. 0 or -errno. */
int rawfront_open(struct rawfront *f, struct simenv *env, int domid, int devid, unsigned timeout_ms);
/* The same, offering feature-persistent when persistent (our pool stays
 * granted while connected). */
int rawfront_open_persistent(struct rawfront *f, struct simenv *env, int domid, int devid,
			     unsigned timeout_ms, bool persistent);
/* Follows a backend state change (hotplug). Call when the test expects one;
 * returns the backend state seen. */
int rawfront_service(struct rawfront *f, unsigned timeout_ms);
/* Closes the handshake (Closing, Closed) and frees everything. */
void rawfront_close(struct rawfront *f);
/* Frees without any handshake: a guest that vanished. */
void rawfront_abandon(struct rawfront *f);

/* Puts req on the ring as is and notifies. */
void rawfront_push(struct rawfront *f, const vscsiif_request_t *req);
/* Sets req_prod to any value (hostile tests) and notifies. */
void rawfront_set_req_prod(struct rawfront *f, RING_IDX prod);
/* Waits for the next response. 0, or -ETIMEDOUT. */
int rawfront_wait(struct rawfront *f, vscsiif_response_t *rsp, unsigned timeout_ms);

/* Fills a CDB request for (0, target, lun) whose data is `len` bytes in the
 * pool starting at page first_page, split in page-sized direct segments or
 * (if indirect) described by the table pages. A length beyond the pool
 * goes round it again: the same pages appear more than once. */
void rawfront_cdb(struct rawfront *f, vscsiif_request_t *req, uint16_t rqid, uint16_t target,
		  uint16_t lun, const uint8_t *cdb, uint8_t cdb_len, uint8_t dir,
		  unsigned first_page, uint32_t len, bool indirect);
/* One command, start to finish. */
int rawfront_exec(struct rawfront *f, uint16_t target, uint16_t lun, const uint8_t *cdb,
		  uint8_t cdb_len, uint8_t dir, uint32_t len, vscsiif_response_t *rsp);
/* The backend's dev-N state as the frontend sees it. */
int rawfront_dev_state(struct rawfront *f, unsigned devnum);

#endif
