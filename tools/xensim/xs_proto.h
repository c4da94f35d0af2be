/* The xs_wire request handler of the simulated xenstored: turns one
 * request (struct xsd_sockmsg + payload) from a client into its reply and
 * the watch events it causes. Pure: no sockets; replies and events leave
 * through each client's send callback, whole messages only.
 *
 * A client is one connection, speaking as one domain. The daemon
 * (xenstored.c) moves bytes between sockets and xs_client_feed(); the
 * fuzzer feeds bytes directly.
 */
#ifndef XENSIM_XS_PROTO_H
#define XENSIM_XS_PROTO_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <xen/io/xs_wire.h>

#include "xs_store.h"

struct xs_proto;
struct xs_client;
struct xs_client_txn;

/* Queues one whole message (header + hdr->len bytes of body). */
typedef void (*xs_send_fn)(struct xs_client *c, const struct xsd_sockmsg *hdr,
			   const void *body);

struct xs_client {
	struct xs_proto *proto;
	unsigned domid;
	xs_send_fn send;
	void *opaque; /* the daemon's connection */
	struct xs_client *next, *prev;
	struct xs_client_txn *txns;
	/* The message being received. */
	struct xsd_sockmsg hdr;
	unsigned got; /* bytes of header and body so far */
	char body[XENSTORE_PAYLOAD_MAX + 1];
};

/* What the toolstack side (xensimd) does for XS_RELEASE. */
struct xs_proto_ops {
	/* Close domid's connections, then call xs_proto_domain_release.
	 * Returns 0 or -errno. */
	int (*release)(void *arg, unsigned domid);
	void *arg;
};

struct xs_proto *xs_proto_new(void);
/* The clients must be finished first. */
void xs_proto_free(struct xs_proto *p);
void xs_proto_set_ops(struct xs_proto *p, const struct xs_proto_ops *ops);
struct xs_store *xs_proto_store(struct xs_proto *p);

void xs_client_init(struct xs_client *c, struct xs_proto *p, unsigned domid,
		    xs_send_fn send, void *opaque);
/* Drops the client's watches and open transactions. */
void xs_client_fini(struct xs_client *c);

/* Takes bytes received from the client. Stops right after a complete
 * request was handled, so the caller can stop reading while replies pile
 * up. Returns the bytes consumed, or -EPROTO when a header announces more
 * than XENSTORE_PAYLOAD_MAX bytes (the connection must be dropped). */
ssize_t xs_client_feed(struct xs_client *c, const void *data, size_t len);
/* Handles one complete request; body holds hdr->len bytes. */
void xs_proto_request(struct xs_client *c, const struct xsd_sockmsg *hdr,
		      const char *body);

/* Toolstack actions. introduce writes /local/domain/<domid> the way xl
 * does and fires @introduceDomain (-EEXIST if already known). release
 * removes /local/domain/<domid>, hands the domain's nodes to domain 0 and
 * fires @releaseDomain (-ENOENT if unknown); the domain's connections
 * should be gone already. */
int xs_proto_domain_introduce(struct xs_proto *p, unsigned domid,
			      const char *name);
int xs_proto_domain_release(struct xs_proto *p, unsigned domid);
/* introduce in two steps, as libxl does: prepare writes the home (and,
 * with a uuid, /local/domain/<domid>/vm and /vm/<uuid>/{uuid,name});
 * introduce_prepared makes the domain known and fires @introduceDomain.
 * unprepare removes the home of a domain never introduced. */
int xs_proto_domain_prepare(struct xs_proto *p, unsigned domid,
			    const char *name, const char *uuid);
int xs_proto_domain_introduce_prepared(struct xs_proto *p, unsigned domid);
void xs_proto_domain_unprepare(struct xs_proto *p, unsigned domid);
/* Fires @releaseDomain alone: a domain shut down but not yet gone. */
void xs_proto_fire_release(struct xs_proto *p);
bool xs_proto_domain_known(struct xs_proto *p, unsigned domid);

/* The xsd_errors name of a positive errno (EINVAL if untranslatable). */
const char *xs_proto_errname(int err);

#endif
