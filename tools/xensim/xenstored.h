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

#endif
