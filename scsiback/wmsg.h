/* The messages between scsiback's privileged part (the broker: xenstore,
 * device opening, workers' lives) and a guest's worker (its rings and
 * LUNs, without privilege): docs/privsep.md. One message per datagram of
 * a SOCK_SEQPACKET socketpair, with at most one descriptor (SCM_RIGHTS).
 *
 * The worker is where a hostile guest's input is parsed, so the broker
 * takes nothing it receives on trust: wmsg_recv checks each message's
 * shape (its kind, its exact size, the descriptor its kind carries or
 * not, strings ended within their fields, numbers in range) before the
 * caller sees it, and closes any descriptor of a message it refuses. What
 * it cannot know (is this devid the worker's own?) the caller checks.
 * Both directions go through the same checks. */
#ifndef SCSIBACK_WMSG_H
#define SCSIBACK_WMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

enum wmsg_kind {
	/* broker -> worker */
	WMSG_VHOST_NEW = 1,     /* a vhost of the worker's guest */
	WMSG_VHOST_CONNECT,     /* map its ring; fd: its in-flight record file */
	WMSG_VHOST_START,       /* take requests */
	WMSG_VHOST_DISCONNECT,  /* stop serving (drain or not) */
	WMSG_VHOST_CUT_OFF,     /* a drain's time is up */
	WMSG_VHOST_FREE,        /* forget it (for_restart: keep its records) */
	WMSG_LUN_ADD,           /* map a LUN; fd: the opened sg node (sg only) */
	WMSG_LUN_REMOVE,
	WMSG_LUN_SETTINGS,      /* a reloaded config's policy and timeout */
	WMSG_STOP,              /* the broker stops: drain, keep the records, end
				 * (its socket ending without this: it crashed) */
	/* worker -> broker */
	WMSG_READY,             /* deprivileged and serving */
	WMSG_CONNECTED,         /* a WMSG_VHOST_CONNECT's outcome */
	WMSG_LUN_OPENED,        /* a WMSG_LUN_ADD's outcome */
	WMSG_DISCONNECTED,      /* a drained ring let go */
	WMSG_LUN_STATS,         /* what a LUN served, for status.json */
	WMSG_VHOST_STATS,       /* a ring's state, for status.json */
	WMSG_KIND_END
};

#define WMSG_TIMEOUT_MS_MAX (7u * 24 * 3600 * 1000)

struct wmsg_hdr {
	uint16_t kind;
	uint16_t size;            /* of the whole message, header included */
	uint32_t devid;           /* the vhost (every kind but READY) */
};

struct wmsg_vhost_new {
	struct wmsg_hdr h;
	uint8_t feature_host;     /* the vhost's v-devs use H of the v-dev */
	uint8_t pad[3];
	char guest[64];           /* the domain's name, for logs ("" unknown) */
};

struct wmsg_vhost_connect {
	struct wmsg_hdr h;
	uint32_t ring_ref;
	uint32_t fe_port;
	uint8_t persistent;
	uint8_t pad[3];
};

/* START, CUT_OFF, DISCONNECT (flag: drain), FREE (flag: for_restart),
 * DISCONNECTED, and READY and STOP (flag 0, devid 0). */
struct wmsg_vhost_op {
	struct wmsg_hdr h;
	uint8_t flag;
	uint8_t pad[3];
};

struct wmsg_lun_settings {
	uint32_t timeout_ms;      /* 0: the device type's default */
	uint8_t has_policy;
	uint8_t policy_mode;      /* enum policy_mode */
	uint8_t pad[2];
	char policy_name[64];
	uint8_t policy_listed[32];
};

struct wmsg_lun_add {
	struct wmsg_hdr h;
	uint32_t devnum;
	uint16_t chn, tgt, lun;
	uint8_t kind;             /* enum pdev_kind */
	uint8_t has_isid;
	char pdev[256];           /* as xenstore has it (logs, status) */
	char path[512];           /* SG: the node the fd is; ISCSI: the URL with
				   * the portal resolved to an address */
	char initiator[224];      /* iSCSI: our name ("" libiscsi's default) */
	uint8_t isid[6];
	uint8_t pad2[2];
	char chap_user[128];      /* iSCSI: only this target's credentials */
	char chap_password[128];
	struct wmsg_lun_settings set;
};

struct wmsg_lun_ref {         /* LUN_REMOVE */
	struct wmsg_hdr h;
	uint32_t devnum;
};

struct wmsg_lun_set {         /* LUN_SETTINGS */
	struct wmsg_hdr h;
	uint32_t devnum;
	struct wmsg_lun_settings set;
};

struct wmsg_connected {
	struct wmsg_hdr h;
	int32_t rc;               /* 0 or -errno */
};

struct wmsg_lun_opened {
	struct wmsg_hdr h;
	uint32_t devnum;
	int32_t rc;               /* 0: serving; -errno: closed, err says why */
	uint8_t dev_type;
	uint8_t pad[3];
	char desc[128];
	char err[256];
};

struct wmsg_lun_stats {
	struct wmsg_hdr h;
	uint32_t devnum;
	uint8_t state;            /* 0 open, 1 opening, 2 removing */
	uint8_t pad[3];
	uint64_t cmds, errors, bytes_in, bytes_out;
	char last_error[160];
	char link[128];
};

struct wmsg_vhost_stats {
	struct wmsg_hdr h;
	uint32_t in_flight;
	uint32_t mapped_pages;    /* guest pages mapped once (persistent grants) */
	uint8_t persistent;       /* data through those pages, not copied */
	uint8_t pad[7];
};

union wmsg {
	struct wmsg_hdr h;
	struct wmsg_vhost_new vhost_new;
	struct wmsg_vhost_connect connect;
	struct wmsg_vhost_op op;
	struct wmsg_lun_add lun_add;
	struct wmsg_lun_ref lun_ref;
	struct wmsg_lun_set lun_set;
	struct wmsg_connected connected;
	struct wmsg_lun_opened lun_opened;
	struct wmsg_lun_stats lun_stats;
	struct wmsg_vhost_stats vhost_stats;
};

/* The kind's name ("lun-add"), "?" when unknown; for logs. */
const char *wmsg_kind_name(unsigned kind);

/* Fills m's header for kind (size from the kind) and zeroes the rest. */
void wmsg_init(union wmsg *m, enum wmsg_kind kind, uint32_t devid);

/* Checks a received message: len bytes at m, has_fd whether a descriptor
 * came with it. 0, or -EPROTO with what is wrong in err ("lun-add: chn
 * 70000 out of range"). */
int wmsg_check(const void *m, size_t len, bool has_fd, char *err, size_t errlen);

/* Sends m with fd (-1: none). 0 or -errno (-EPIPE: the peer is gone). */
int wmsg_send(int sock, const union wmsg *m, int fd);

/* Receives one message into m. 1: a message, which wmsg_check accepted,
 * *fd its descriptor (-1 if none; close-on-exec); 0: the peer closed;
 * -EAGAIN: nothing to read; -EPROTO: a message refused (err says why;
 * nothing kept, no descriptor left open); other -errno: the socket
 * failed. */
int wmsg_recv(int sock, union wmsg *m, int *fd, char *err, size_t errlen);

#endif
