/* A vhost: one backend/vscsi/<domid>/<devid> directory — one ring, one
 * event channel, the LUNs the toolstack mapped onto it and the commands
 * it serves. vhost.c runs its ring: connect, the pump (take a request,
 * start its command, publish the answers), drain and disconnect. */
#ifndef SCSIBACK_VHOST_H
#define SCSIBACK_VHOST_H

#include <stdbool.h>
#include <stdint.h>

#include "cmd.h"
#include "evloop.h"
#include "ring.h"
#include "scsiback.h"
#include "vlun.h"
#include "wmsg.h"

struct inflight;

enum vhost_ring_state {
	VHOST_DISCONNECTED,           /* no ring mapped */
	VHOST_HELD,                   /* connected, LUN table not rebuilt yet: take no
				       * requests (after a restart the guest's queued
				       * commands must not meet an empty table) */
	VHOST_RUNNING,                /* taking requests */
	VHOST_DRAINING,               /* closing: the ring goes once nothing is outstanding */
};

struct vhost {
	struct vhost *next;
	struct scsiback *sb;
	uint32_t fe_domid;
	uint32_t devid;
	char be_path[128];            /* absolute */
	char fe_path[128];
	char name[112];               /* "<guest> vhost <domid>/<devid>" for logs */
	char guest[64];               /* the domain's name, "" if unknown */
	int state;                    /* our XenbusState (xenbus.c's) */

	enum vhost_ring_state rs;
	struct ring ring;
	struct evloop_handler evh;
	struct inflight *inflight;
	struct vlun_table luns;
	struct cmd_table cmds;

	/* Served by its guest's worker (docs/privsep.md): the broker keeps
	 * the state above as xenbus.c sees it; ring, cmds and LUN devices
	 * are the worker's. NULL: served here. */
	struct wlink *link;
	bool link_known;              /* the worker has been told of it */
	char record_path[320];        /* its in-flight record file ("" none) */
	struct {                      /* what the worker last said of the ring */
		uint32_t in_flight, mapped_pages;
		bool persistent;
	} remote;
};

/* A vhost for the guest's device devid, linked into sb->vhosts, with its
 * ring disconnected and no LUNs. NULL when out of memory. */
struct vhost *vhost_new(struct scsiback *sb, uint32_t fe_domid, uint32_t devid,
			const char *be_path, const char *fe_path, bool feature_host);
/* Unlinks and frees a vhost, closing its LUNs (which completes what still
 * runs on them). for_restart: a daemon that is stopping lets the ring go
 * with the guest still connected in xenstore, answering what completes
 * first and keeping the in-flight records for the next daemon; otherwise
 * the ring is disconnected first and its records removed. */
void vhost_free(struct vhost *vh, bool for_restart);
/* The guest's name, in the vhost's log lines from now on. */
void vhost_set_guest(struct vhost *vh, const char *guest);

/* Connects the ring the frontend published and answers what a crashed
 * daemon left; 0 or -errno (logged). Requests wait (held) until
 * vhost_start. */
int vhost_connect(struct vhost *vh, uint32_t ring_ref, uint32_t fe_port, bool persistent);
void vhost_start(struct vhost *vh);
static inline bool vhost_connected(const struct vhost *vh) { return vh->rs != VHOST_DISCONNECTED; }
/* Stops serving the ring: in-flight commands complete first when drain is
 * set (sb->on_disconnected runs at the end), otherwise they are answered
 * to nobody. */
void vhost_disconnect(struct vhost *vh, bool drain);
/* The drain's time is up: see cmd_cut_off. */
void vhost_cut_off(struct vhost *vh);

/* The pump. kick takes all requests and arms the event index (call
 * before sleeping); poll takes what is there without asking the frontend
 * for an event (call while polling). Both return whether there was any
 * request. */
bool vhost_kick(struct vhost *vh);
bool vhost_poll(struct vhost *vh);
/* sb->evtchn, the handle the rings share, is readable: serves the rings
 * whose ports are pending. */
void vhost_shared_event(struct scsiback *sb);

/* The broker's side of a worker's messages (sb->worker_msg). */
bool vhost_worker_msg(struct scsiback *sb, uint32_t domid, const union wmsg *m);
/* sb->portal_allowed: sa is the portal of an iSCSI LUN mapped to one of
 * domid's vhosts, as the broker resolved it when it handed the LUN over. */
bool vhost_portal_allowed(struct scsiback *sb, uint32_t domid, const struct sockaddr *sa,
			  socklen_t len);
/* The vhost's worker was replaced: nothing of it is connected or mapped
 * any more (its records stay, for the next worker); the caller hands it
 * over again as to a daemon just started. */
void vhost_remote_reset(struct vhost *vh);

#endif
