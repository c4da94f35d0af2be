/* The simulated xenstored's data: an in-memory tree of nodes with
 * permissions and per-domain quotas, plus the rules for paths and
 * permission strings. Pure: no I/O, no sockets, no clock.
 *
 * Semantics follow Xen 4.17's C xenstored:
 *  - a node has a value (bytes), ordered children and a permission list;
 *    the first permission entry names the owner and the access everyone
 *    else gets, later entries override it per domain;
 *  - domain 0 is privileged: it bypasses permission checks and quotas;
 *  - writing a missing node creates its missing parents, which inherit
 *    the permissions of the nearest existing ancestor; a node created by
 *    an unprivileged domain is owned by that domain;
 *  - every change bumps the node's generation (a store-wide counter), and
 *    so does adding or removing a child: transactions compare them.
 *
 * Functions return 0 or -errno, with errno values from xs_wire.h's
 * xsd_errors table. Paths given to the store are canonical absolute paths
 * (see xs_path_canonical); anything else is -EINVAL.
 */
#ifndef XENSIM_XS_STORE_H
#define XENSIM_XS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Access bits of one permission entry (same values as libxenstore's). */
#define XS_STORE_PERM_NONE  0u
#define XS_STORE_PERM_READ  1u
#define XS_STORE_PERM_WRITE 2u
#define XS_STORE_PERM_BOTH  (XS_STORE_PERM_READ | XS_STORE_PERM_WRITE)
/* Only ever computed, never stored: the caller owns the node. */
#define XS_STORE_PERM_OWNER 8u

/* Quotas for unprivileged domains (C xenstored's defaults). */
#define XS_QUOTA_NODES        1000 /* nodes owned by one domain */
#define XS_QUOTA_ENTRY_SIZE   2048 /* bytes of one node record, see below */
#define XS_QUOTA_WATCHES      128  /* watches of one domain */
#define XS_QUOTA_TRANSACTIONS 10   /* open transactions of one domain */
#define XS_QUOTA_PERMS        5    /* permission entries of one node */

/* C xenstored measures a node as its database record: a 24-byte header,
 * 8 bytes per permission entry, the value and the children names with
 * their NULs. A record of XS_QUOTA_ENTRY_SIZE bytes or more is refused. */
#define XS_NODE_RECORD_HDR  24u
#define XS_NODE_RECORD_PERM 8u

/* The two special (watch-only) nodes. */
#define XS_SPECIAL_INTRODUCE "@introduceDomain"
#define XS_SPECIAL_RELEASE   "@releaseDomain"

struct xs_perm {
	unsigned domid;
	unsigned mode; /* XS_STORE_PERM_NONE/READ/WRITE/BOTH */
};

/* ---- paths (xs_path.c) ---- */

/* Checks a client-supplied path and makes it absolute: a relative path is
 * taken below /local/domain/<domid>/. Special paths ("@name") are accepted
 * only with allow_special and returned as they are. Enforces the allowed
 * characters [A-Za-z0-9-/_@], no "//", no trailing '/' (but "/"), at most
 * XENSTORE_ABS_PATH_MAX bytes, and for unprivileged domains at most
 * XENSTORE_REL_PATH_MAX bytes below /local/domain/<n>/.
 * *relative (may be NULL) tells whether the input was relative.
 * Returns 0 or -EINVAL (also when out is too small). */
int xs_path_canonical(unsigned domid, const char *in, bool allow_special,
		      char *out, size_t outlen, bool *relative);
/* True for a canonical absolute path as the store accepts it. */
bool xs_path_is_valid_abs(const char *path);
/* True when path is "@" followed by allowed characters. */
bool xs_path_is_special(const char *path);
/* True if child equals parent or lies below it ("/" is above all). */
bool xs_path_is_below(const char *child, const char *parent);
/* Writes "/local/domain/<domid>" into buf. */
void xs_path_domain(unsigned domid, char *buf, size_t len);

/* ---- permission entries (xs_perms.c) ---- */

/* Parses "<r|w|b|n><decimal domid>". Returns 0 or -EINVAL. */
int xs_perm_parse(const char *s, struct xs_perm *p);
/* Formats one entry; buf needs at least 12 bytes. */
void xs_perm_format(const struct xs_perm *p, char *buf, size_t len);
/* The access domid has to a node with these permissions: privileged
 * (domid 0) and the owner (or a domain whose target is the owner) get
 * READ|WRITE|OWNER; otherwise the first later entry naming domid (or its
 * target) decides; otherwise the first entry does. has_target/target
 * describe domid's target domain (XS_SET_TARGET). */
unsigned xs_perm_for(const struct xs_perm *perms, unsigned nperms,
		     unsigned domid, bool has_target, unsigned target);

/* ---- domains known to the store (xs_domains.c) ---- */

struct xs_domains;

struct xs_domains *xs_domains_new(void);
void xs_domains_free(struct xs_domains *d);
/* Returns 0, -EEXIST or -ENOMEM. */
int xs_domains_add(struct xs_domains *d, unsigned domid);
/* Forgets domid and every target relation naming it. 0 or -ENOENT. */
int xs_domains_remove(struct xs_domains *d, unsigned domid);
bool xs_domains_known(const struct xs_domains *d, unsigned domid);
/* domid acts with target's rights (device-model stub domains). */
int xs_domains_set_target(struct xs_domains *d, unsigned domid, unsigned target);
bool xs_domains_get_target(const struct xs_domains *d, unsigned domid,
			   unsigned *target);

/* ---- the tree (xs_store.c) ---- */

struct xs_store;

/* Observers of a store; any member may be NULL. */
struct xs_store_hooks {
	/* A node changed: called after writes/mkdir/set_perms and before each
	 * node of a removed subtree goes away (children first). exact means
	 * only watches on exactly this path fire (the inner nodes of a
	 * removed subtree). old/nold are the permissions before a set_perms. */
	void (*changed)(void *arg, struct xs_store *s, const char *path,
			bool exact, const struct xs_perm *old, unsigned nold);
	/* A path was looked at by an operation; gen 0 means it did not
	 * exist. Transactions record these to detect conflicts. */
	void (*accessed)(void *arg, const char *path, uint64_t gen);
	void *arg;
};

/* Operation flags. */
#define XS_OP_NOCHECK 1u /* skip permission and quota checks */

/* A new store holds "/" (owned by domain 0, "n0") and the special nodes
 * (also "n0"). doms is borrowed and must outlive the store. */
struct xs_store *xs_store_new(struct xs_domains *doms);
/* A deep copy (same generations), without hooks. NULL on ENOMEM. */
struct xs_store *xs_store_clone(const struct xs_store *s);
void xs_store_free(struct xs_store *s);
void xs_store_set_hooks(struct xs_store *s, const struct xs_store_hooks *h);

/* *val points into the store until its next change. */
int xs_store_read(struct xs_store *s, unsigned domid, const char *path,
		  const char **val, unsigned *len);
/* Creates the node and its missing parents as needed. */
int xs_store_write(struct xs_store *s, unsigned domid, unsigned flags,
		   const char *path, const void *val, unsigned len);
/* Like write with an empty value, but an existing node is left alone. */
int xs_store_mkdir(struct xs_store *s, unsigned domid, unsigned flags,
		   const char *path);
/* Removes a subtree. A missing node whose parent exists is fine (0). */
int xs_store_rm(struct xs_store *s, unsigned domid, unsigned flags,
		const char *path);
/* The children names, each NUL-terminated, in creation order, in a
 * malloc'ed buffer (NULL when there are none); *gen is the node's
 * generation (for XS_DIRECTORY_PART). */
int xs_store_directory(struct xs_store *s, unsigned domid, const char *path,
		       char **names, size_t *len, uint64_t *gen);
/* Works on special nodes too. *perms points into the store. */
int xs_store_get_perms(struct xs_store *s, unsigned domid, const char *path,
		       const struct xs_perm **perms, unsigned *n);
int xs_store_set_perms(struct xs_store *s, unsigned domid, unsigned flags,
		       const char *path, const struct xs_perm *perms,
		       unsigned n);

/* May domid see an event about path? Yes if it may read the node or its
 * parent (or the old permissions of a set_perms allowed it). Special
 * events are seen by everyone. Records no access. */
bool xs_store_watch_permitted(struct xs_store *s, unsigned domid,
			      const char *path, const struct xs_perm *old,
			      unsigned nold);
/* The generation of a node, 0 if absent. Records no access. */
uint64_t xs_store_generation(const struct xs_store *s, const char *path);
/* How many nodes domid owns. */
unsigned xs_store_nodes_owned(const struct xs_store *s, unsigned domid);
/* The total number of nodes (root included, specials not). */
unsigned xs_store_node_count(const struct xs_store *s);
/* After a domain went away: its nodes pass to domain 0 and permission
 * entries naming it are dropped, so a later domain reusing the id
 * inherits nothing. */
void xs_store_forget_domain(struct xs_store *s, unsigned domid);

#endif
