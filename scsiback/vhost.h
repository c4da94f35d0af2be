/* A vhost: one backend/vscsi/<domid>/<devid> directory — one ring, one
 * event channel, and the LUNs the toolstack mapped onto it. */
#ifndef SCSIBACK_VHOST_H
#define SCSIBACK_VHOST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#include "evloop.h"
#include "lun.h"
#include "policy.h"
#include "request.h"
#include "vscsi_ring.h"

struct scsiback;
struct inflight;

struct vhost_lun {
	unsigned devnum;              /* N of vscsi-devs/dev-N */
	uint16_t chn, tgt, lun;       /* v-dev, host part ignored */
	char pdev[256];
	struct lun dev;
	const struct policy *policy;
	struct vhost *vh;
	bool removing;
	bool opening;                 /* its driver is still connecting */
};

enum vhost_cmd_kind { CMD_FREE, CMD_SCSI, CMD_TMF };

/* One request being served. At most VSCSI_RING_SIZE are outstanding: the
 * ring cannot hold more unanswered requests. */
struct vhost_cmd {
	enum vhost_cmd_kind kind;
	struct vhost *vh;
	struct vhost_lun *vl;
	struct vscsi_req req;
	uint32_t ring_idx;            /* where the request was taken */
	uint32_t ring_gen;            /* of the ring it came from */
	int rec;                      /* inflight record */
	struct lun_cmd lc;
	struct iovec iov;
	uint8_t *buf;                 /* bounce buffer, kept between commands */
	size_t buf_cap;
	unsigned nsegs;               /* data segments (direct or from the table) */
	uint32_t data_len;
	struct scsiif_request_segment segs[VSCSI_BACK_MAX_SEGMENTS];
};

struct vhost {
	struct vhost *next;
	struct scsiback *sb;
	uint32_t fe_domid;
	uint32_t devid;
	char be_path[128];            /* absolute */
	char fe_path[128];
	char name[32];                /* "vhost <domid>/<devid>" for logs */
	int state;                    /* our XenbusState */
	bool feature_host;

	/* The LUN table. */
	struct vhost_lun **luns;
	unsigned nluns;

	/* The ring, while connected. */
	bool connected;
	bool halted;                  /* ring corrupt: no more processing */
	bool held;                    /* connected, LUN table not rebuilt yet: take no requests */
	uint32_t ring_ref;
	uint32_t ring_gen;            /* counts connections: tells a command of an
				       * earlier ring from one of this ring */
	uint32_t fe_port;
	void *ring_page;
	vscsiif_back_ring_t ring;
	xenevtchn_handle *evtchn;
	int port;
	struct evloop_handler evh;
	struct inflight *inflight;
	struct vhost_cmd cmds[VSCSI_RING_SIZE];
	unsigned busy;                /* outstanding commands */
	bool draining;                /* disconnect waits for busy == 0 */
};

/* The daemon-wide context vhosts need. */
struct scsiback {
	struct evloop *loop;
	struct xs_handle *xs;
	xengnttab_handle *gnt;
	uint32_t self_domid;
	char be_root[64];             /* /local/domain/<self>/backend/vscsi */
	char statedir[256];           /* where in-flight records live */
	const struct scsiback_config *cfg;
	struct vhost *vhosts;
	bool stopping;                /* SIGTERM: take no new requests */
	bool polling;                 /* the loop polls rings; events need not re-arm */
	/* Called when a drained ring has been released. */
	void (*on_disconnected)(struct vhost *vh);
	/* Called when a LUN that vhost_add_lun left opening has its outcome:
	 * rc 0, it serves; otherwise err says why, and it has been removed. */
	void (*on_lun_opened)(struct vhost *vh, unsigned devnum, const char *pdev, int rc,
			      const char *err);
};

/* Connects the ring the frontend published and answers what a crashed
 * daemon left; 0 or -errno (logged). Requests wait (held) until
 * vhost_start: after a restart the guest's LUNs must be back first, or
 * its queued commands would meet an empty table. */
int vhost_connect(struct vhost *vh);
void vhost_start(struct vhost *vh);
/* Stops serving the ring: in-flight commands complete first when drain is
 * set, otherwise they are dropped with their LUN driver's abort. */
void vhost_disconnect(struct vhost *vh, bool drain);

/* Releases the ring for a daemon that is stopping: the guest stays
 * connected in xenstore and the in-flight records stay for the next
 * daemon. */
void vhost_release_for_restart(struct vhost *vh);

/* The drain's time is up: answers every command still running with host
 * RESET (TMFs: failed), as a daemon after a crash would, and disowns
 * them: when their LUNs close, they end answering nobody. */
void vhost_cut_off(struct vhost *vh);

/* LUN table. */
/* Serves commands: neither being removed nor still opening. */
static inline bool vhost_lun_ready(const struct vhost_lun *vl)
{
	return !vl->removing && !vl->opening;
}
/* A LUN's open has not ended: the vhost's next step waits. */
bool vhost_opening(const struct vhost *vh);
struct vhost_lun *vhost_find_lun(struct vhost *vh, uint16_t chn, uint16_t tgt, uint16_t lun);
bool vhost_has_target(struct vhost *vh, uint16_t chn, uint16_t tgt);
/* 0: added; -EINPROGRESS: added, opening (sb->on_lun_opened tells the
 * end; also for a devnum already opening); else -errno and err. */
int vhost_add_lun(struct vhost *vh, unsigned devnum, const char *pdev, uint16_t chn,
		  uint16_t tgt, uint16_t lun, char *err, size_t errlen);
void vhost_remove_lun(struct vhost *vh, unsigned devnum);

/* Ring side (ring.c). kick takes all requests and arms the event index
 * (call before sleeping); poll takes what is there without asking the
 * frontend for an event (call while polling). Both return whether there
 * was any request. */
bool vhost_ring_kick(struct vhost *vh);
bool vhost_ring_poll(struct vhost *vh);
void vhost_respond(struct vhost *vh, uint16_t rqid, int32_t rslt, const uint8_t *sense,
		   uint8_t sense_len, uint32_t resid);
void vhost_push(struct vhost *vh);

/* Command side (cmd.c). */
void cmd_start(struct vhost *vh, const struct vscsi_req *req, uint32_t ring_idx);

#endif
