/* The simulated xenstored that lives inside xensimd.
 *
 * It speaks the real xs_wire protocol (xen/io/xs_wire.h) over unix stream
 * sockets, one listening socket per domain, so the store knows which domain
 * is speaking: the system's unmodified libxenstore reaches it through
 * XENSTORED_PATH. The daemon's event loop drives it.
 */
#ifndef XENSIM_XENSTORED_H
#define XENSIM_XENSTORED_H

#include "evloop.h"

struct xs_daemon;

struct xs_daemon *xsd_new(struct evloop *loop);
/* Closes every connection and listener and frees the store. */
void xsd_free(struct xs_daemon *xsd);

/* Listens on sock_path (created, mode 0666); connections accepted there
 * speak as domain domid. Returns 0 or -errno. */
int xsd_listen(struct xs_daemon *xsd, unsigned domid, const char *sock_path);

/* Toolstack actions, called by xensimd when a domain is created/destroyed.
 * introduce writes /local/domain/D/{name,domid} and the guest-writable
 * directories a toolstack creates, then fires @introduceDomain.
 * release closes D's listener and connections (dropping their watches and
 * transactions), removes /local/domain/D and fires @releaseDomain.
 * Both return 0 or -errno. */
int xsd_domain_introduce(struct xs_daemon *xsd, unsigned domid, const char *name);
int xsd_domain_release(struct xs_daemon *xsd, unsigned domid);

/* The xl path in two steps (see xs_proto_domain_prepare): the home, vm
 * and /vm/<uuid> first, @introduceDomain later. release of a domain never
 * introduced removes its home and fires nothing. */
int xsd_domain_prepare(struct xs_daemon *xsd, unsigned domid, const char *name,
		       const char *uuid);
int xsd_domain_introduce_prepared(struct xs_daemon *xsd, unsigned domid);
/* @releaseDomain for a domain that shut down (it still exists). */
void xsd_fire_release(struct xs_daemon *xsd);
/* Toolstack writes as domain 0 without checks (the node keeps its
 * permissions), and removal of a subtree. */
int xsd_write(struct xs_daemon *xsd, const char *path, const char *value);
int xsd_rm(struct xs_daemon *xsd, const char *path);

#endif
