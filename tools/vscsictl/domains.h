/* Domains as the toolstack sees them in xenstore: /local/domain/<id>,
 * with the name the domain builder wrote in /local/domain/<id>/name. */
#ifndef VSCSICTL_DOMAINS_H
#define VSCSICTL_DOMAINS_H

#include <stdbool.h>
#include <stddef.h>

struct xs_handle;

/* Finds a domain by id ("3") or name ("guest1"). Returns 0, -ENOENT (no
 * such domain) or -EINVAL (a name two domains share), with a message. */
int dom_lookup(struct xs_handle *xs, const char *spec, unsigned *domid, char *err, size_t errlen);

/* The domain's name (malloc'd), or NULL. */
char *dom_name(struct xs_handle *xs, unsigned domid);

/* The domain's uuid, from /local/domain/<id>/vm ("/vm/<uuid>") as libxl
 * writes it before the domain is introduced (malloc'd), or NULL. */
char *dom_uuid(struct xs_handle *xs, unsigned domid);

/* All domain ids, ascending (malloc'd array). Returns the count or -errno. */
int dom_list(struct xs_handle *xs, unsigned **ids);

/* The domain this program runs in (xenstore's "domid" of our home);
 * 0 when the node is missing, as in a dom0 without xen-init-dom0. */
unsigned dom_self(struct xs_handle *xs);

#endif
