/* The control protocol between xensimd and its clients: the xensim CLI and
 * the simulated libxengnttab / libxenevtchn / libxenctrl. One SOCK_SEQPACKET connection
 * per client handle on $XENSIM_RUNDIR/ctl; every request gets exactly one
 * reply, file descriptors travel with SCM_RIGHTS. The first request of a
 * connection is SIM_OP_HELLO naming the domain the client runs in; the
 * daemon tracks what each connection owns (grants, ports) and releases it
 * when the connection closes, as Xen does when a process exits.
 */
#ifndef XENSIM_SIM_PROTO_H
#define XENSIM_SIM_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define SIM_CTL_SOCKET "ctl"
#define SIM_XS_DIR "xenstore"
#define SIM_DEFAULT_RUNDIR "/run/xensim"
#define SIM_PAGE_SIZE 4096u

/* Limits of the simulated machine. */
#define SIM_MAX_DOMAINS 256
#define SIM_NR_GRANTS 32768u   /* grant table entries per domain */
#define SIM_FIRST_GRANT 8u     /* Xen reserves the first 8 entries */
#define SIM_NR_PORTS 4096u     /* event channel ports per domain; 0 is invalid */
#define SIM_MAX_REFS 8192u     /* grant refs in one share request (a 32 MiB pool) */
#define SIM_DEFAULT_MEMORY_MIB 256u

enum sim_op {
	SIM_OP_HELLO = 1,        /* domid: who the client is */
	SIM_OP_DOMAIN_MEM,       /* domid -> fds[0] guest RAM memfd, fds[1] grant table memfd; count = RAM pages */
	SIM_OP_SHARE,            /* domid = grantee, count, flags & SIM_F_WRITABLE -> frame, refs[count] */
	SIM_OP_NOTIFY_ADD,       /* domid = whose RAM, frame, notify_offset, port, flags: what to do when a
				  * share or mapping goes away (now or at the client's death) -> count = id */
	SIM_OP_NOTIFY_RUN,       /* count = id: do it now and forget it */
	SIM_OP_UNSHARE,          /* frame, count */
	SIM_OP_EVT_BIND_UNBOUND, /* domid = remote -> port, fds[0] inbox, fds[1] peer inbox */
	SIM_OP_EVT_BIND_INTERDOMAIN, /* domid = remote, port = remote port -> port, fds as above */
	SIM_OP_EVT_UNBIND,       /* port */
	SIM_OP_CREATE_DOMAIN,    /* name, count = memory MiB -> domid (running, introduced) */
	SIM_OP_DESTROY_DOMAIN,   /* domid */
	SIM_OP_LIST_DOMAINS,     /* domid = first domid -> count, doms[count], ascending */
	SIM_OP_SHUTDOWN,         /* stop the daemon */
	/* The domain lifecycle (dom0 only, like the domctls behind them). */
	SIM_OP_PAUSE,            /* domid: pause count + 1 */
	SIM_OP_UNPAUSE,          /* domid: pause count - 1; at 0 the init starts */
	SIM_OP_GUEST_SHUTDOWN,   /* domid, flags = SHUTDOWN_* reason: the guest shut down */
	SIM_OP_CREATE_PAUSED,    /* name, count = memory MiB, u.create -> domid: paused
				  * (count 1), its xenstore home written, not introduced */
	SIM_OP_INTRODUCE,        /* domid: fires @introduceDomain */
	SIM_OP_RENAME,           /* domid, name */
};

#define SIM_F_WRITABLE 1u
#define SIM_F_NOTIFY_BYTE 2u    /* with NOTIFY_ADD: clear the byte at notify_offset */
#define SIM_F_NOTIFY_PORT 4u    /* with NOTIFY_ADD: notify the port */

#define SIM_F_RESUMED 8u        /* with CREATE_PAUSED: the init gets XENSIM_RESUMED=1 */

/* The guest's init: a command xensimd starts when the pause count first
 * reaches 0, as `xensim exec <domid> -- argv...`. */
enum sim_init_state { SIM_INIT_NONE, SIM_INIT_WAITING, SIM_INIT_RUNNING, SIM_INIT_EXITED };

#define SIM_UUID_LEN 16
#define SIM_ARGV_MAX 6144       /* bytes of an init argv, NUL-separated */

struct sim_create_req {
	uint8_t uuid[SIM_UUID_LEN];
	uint32_t argc;          /* strings in argv; 0: no init */
	uint32_t argv_len;      /* bytes used in argv */
	char argv[SIM_ARGV_MAX];
};

struct sim_domain_info {
	uint32_t domid;
	uint32_t memory_mib;
	uint32_t grants;       /* grant entries in use */
	uint32_t ports;        /* event channel ports in use */
	uint32_t xs_conns;     /* reserved */
	char name[64];
	uint8_t uuid[SIM_UUID_LEN];
	uint32_t pause_count;
	uint8_t shutdown;      /* the guest shut down (the domain still exists) */
	uint8_t introduced;    /* @introduceDomain was fired for it */
	uint8_t resumed;       /* came from restore or migrate */
	uint8_t init_state;    /* enum sim_init_state */
	uint32_t shutdown_reason; /* SHUTDOWN_*, valid when shutdown */
	int32_t init_pid;
	int32_t init_status;   /* wait status, valid when SIM_INIT_EXITED */
};

struct sim_msg {
	uint32_t op;
	int32_t err;           /* reply: 0 or a positive errno */
	uint32_t domid;
	uint32_t port;
	uint32_t count;
	uint32_t flags;
	uint32_t notify_offset;
	uint32_t pad;
	uint64_t frame;
	char name[64];
	union {
		uint32_t refs[SIM_MAX_REFS];
		struct sim_domain_info doms[SIM_MAX_DOMAINS];
		struct sim_create_req create;
	} u;
};

/* Bytes of a message worth sending: the fixed part plus the used array. */
#define SIM_MSG_HDR_LEN ((uint32_t)offsetof(struct sim_msg, u))

#endif
