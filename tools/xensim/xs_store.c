/* The in-memory xenstore tree: nodes, permission checks, node quotas. */
#include "xs_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xen/io/xs_wire.h>

#define XS_PATH_BUF (XENSTORE_ABS_PATH_MAX + 1)

struct xs_node {
	char *name; /* one path component; "" for the root */
	struct xs_node *parent;
	struct xs_node **child; /* in creation order, like C xenstored */
	unsigned nchild, capchild;
	size_t childlen; /* sum of strlen(name) + 1 over the children */
	char *value;
	unsigned vlen;
	struct xs_perm *perms;
	unsigned nperms;
	uint64_t gen;
};

struct xs_owner_count {
	unsigned domid;
	unsigned nodes;
};

struct xs_special {
	const char *name;
	struct xs_perm *perms;
	unsigned nperms;
};

#define XS_NSPECIAL 2

struct xs_store {
	struct xs_node *root;
	uint64_t gen;
	unsigned nnodes;
	struct xs_domains *doms;
	struct xs_owner_count *counts;
	unsigned ncounts, capcounts;
	struct xs_special special[XS_NSPECIAL];
	struct xs_store_hooks hooks;
};

static const char *const special_names[XS_NSPECIAL] = {
	XS_SPECIAL_INTRODUCE, XS_SPECIAL_RELEASE,
};

/* ---- nodes ---- */

static void node_free(struct xs_node *n)
{
	if (!n)
		return;
	for (unsigned i = 0; i < n->nchild; i++)
		node_free(n->child[i]);
	free(n->child);
	free(n->name);
	free(n->value);
	free(n->perms);
	free(n);
}

static struct xs_perm *perms_dup(const struct xs_perm *p, unsigned n)
{
	struct xs_perm *c = malloc((n ? n : 1) * sizeof(*c));

	if (c && n)
		memcpy(c, p, n * sizeof(*c));
	return c;
}

static struct xs_node *node_alloc(const char *name, size_t len,
				  const struct xs_perm *perms, unsigned nperms)
{
	struct xs_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strndup(name, len);
	n->perms = perms_dup(perms, nperms);
	n->nperms = nperms;
	if (!n->name || !n->perms) {
		node_free(n);
		return NULL;
	}
	return n;
}

static int node_reserve_child(struct xs_node *n)
{
	if (n->nchild < n->capchild)
		return 0;
	unsigned cap = n->capchild ? n->capchild * 2 : 4;
	struct xs_node **c = realloc(n->child, cap * sizeof(*c));

	if (!c)
		return -ENOMEM;
	n->child = c;
	n->capchild = cap;
	return 0;
}

/* The caller reserved room with node_reserve_child. */
static void node_link_child(struct xs_node *parent, struct xs_node *c)
{
	parent->child[parent->nchild++] = c;
	parent->childlen += strlen(c->name) + 1;
	c->parent = parent;
}

static void node_unlink_child(struct xs_node *parent, struct xs_node *c)
{
	for (unsigned i = 0; i < parent->nchild; i++) {
		if (parent->child[i] != c)
			continue;
		memmove(&parent->child[i], &parent->child[i + 1],
			(parent->nchild - i - 1) * sizeof(parent->child[0]));
		parent->nchild--;
		parent->childlen -= strlen(c->name) + 1;
		c->parent = NULL;
		return;
	}
}

static struct xs_node *child_find(const struct xs_node *n, const char *name,
				  size_t len)
{
	for (unsigned i = 0; i < n->nchild; i++) {
		struct xs_node *c = n->child[i];

		if (!strncmp(c->name, name, len) && c->name[len] == '\0')
			return c;
	}
	return NULL;
}

static size_t component_len(const char *p)
{
	const char *slash = strchr(p, '/');

	return slash ? (size_t)(slash - p) : strlen(p);
}

static const char *component_next(const char *p, size_t len)
{
	p += len;
	return *p == '/' ? p + 1 : p;
}

/* Walks a canonical absolute path; no hooks. */
static struct xs_node *node_find(const struct xs_store *s, const char *path)
{
	struct xs_node *n = s->root;
	const char *p = path + 1;

	while (*p && n) {
		size_t len = component_len(p);

		n = child_find(n, p, len);
		p = component_next(p, len);
	}
	return n;
}

static void path_cut_parent(char *path)
{
	char *slash = strrchr(path, '/');

	if (slash == path)
		path[1] = '\0';
	else if (slash)
		*slash = '\0';
}

static size_t record_size(unsigned nperms, size_t vlen, size_t childlen)
{
	return XS_NODE_RECORD_HDR + XS_NODE_RECORD_PERM * nperms + vlen +
	       childlen;
}

/* ---- per-owner node counts ---- */

static struct xs_owner_count *count_find(const struct xs_store *s,
					 unsigned domid)
{
	for (unsigned i = 0; i < s->ncounts; i++)
		if (s->counts[i].domid == domid)
			return &s->counts[i];
	return NULL;
}

/* Makes sure domid has a counter, so adding to it later cannot fail. */
static int count_reserve(struct xs_store *s, unsigned domid)
{
	if (count_find(s, domid))
		return 0;
	if (s->ncounts == s->capcounts) {
		unsigned cap = s->capcounts ? s->capcounts * 2 : 8;
		struct xs_owner_count *c = realloc(s->counts, cap * sizeof(*c));

		if (!c)
			return -ENOMEM;
		s->counts = c;
		s->capcounts = cap;
	}
	s->counts[s->ncounts++] = (struct xs_owner_count){ .domid = domid };
	return 0;
}

static void count_add(struct xs_store *s, unsigned domid, int delta)
{
	struct xs_owner_count *c = count_find(s, domid);

	if (!c)
		return; /* reserved beforehand when delta > 0 */
	if (delta < 0 && c->nodes < (unsigned)-delta)
		c->nodes = 0;
	else
		c->nodes += delta;
}

unsigned xs_store_nodes_owned(const struct xs_store *s, unsigned domid)
{
	const struct xs_owner_count *c = count_find(s, domid);

	return c ? c->nodes : 0;
}

unsigned xs_store_node_count(const struct xs_store *s)
{
	return s->nnodes;
}

/* ---- life cycle ---- */

struct xs_store *xs_store_new(struct xs_domains *doms)
{
	static const struct xs_perm n0 = { .domid = 0, .mode = XS_STORE_PERM_NONE };
	struct xs_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->doms = doms;
	s->root = node_alloc("", 0, &n0, 1);
	if (!s->root || count_reserve(s, 0))
		goto fail;
	s->root->gen = ++s->gen;
	s->nnodes = 1;
	count_add(s, 0, 1);
	for (unsigned i = 0; i < XS_NSPECIAL; i++) {
		s->special[i].name = special_names[i];
		s->special[i].perms = perms_dup(&n0, 1);
		s->special[i].nperms = 1;
		if (!s->special[i].perms)
			goto fail;
	}
	return s;
fail:
	xs_store_free(s);
	return NULL;
}

void xs_store_free(struct xs_store *s)
{
	if (!s)
		return;
	node_free(s->root);
	for (unsigned i = 0; i < XS_NSPECIAL; i++)
		free(s->special[i].perms);
	free(s->counts);
	free(s);
}

static struct xs_node *node_clone(const struct xs_node *n)
{
	struct xs_node *c = node_alloc(n->name, strlen(n->name), n->perms,
				       n->nperms);

	if (!c)
		return NULL;
	c->gen = n->gen;
	if (n->vlen) {
		c->value = malloc(n->vlen);
		if (!c->value)
			goto fail;
		memcpy(c->value, n->value, n->vlen);
		c->vlen = n->vlen;
	}
	if (n->nchild) {
		c->child = calloc(n->nchild, sizeof(*c->child));
		if (!c->child)
			goto fail;
		c->capchild = n->nchild;
		for (unsigned i = 0; i < n->nchild; i++) {
			struct xs_node *k = node_clone(n->child[i]);

			if (!k)
				goto fail;
			node_link_child(c, k);
		}
	}
	return c;
fail:
	node_free(c);
	return NULL;
}

struct xs_store *xs_store_clone(const struct xs_store *s)
{
	struct xs_store *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->doms = s->doms;
	c->gen = s->gen;
	c->nnodes = s->nnodes;
	c->root = node_clone(s->root);
	if (!c->root)
		goto fail;
	if (s->ncounts) {
		c->counts = malloc(s->ncounts * sizeof(*c->counts));
		if (!c->counts)
			goto fail;
		memcpy(c->counts, s->counts, s->ncounts * sizeof(*c->counts));
		c->ncounts = c->capcounts = s->ncounts;
	}
	for (unsigned i = 0; i < XS_NSPECIAL; i++) {
		c->special[i].name = s->special[i].name;
		c->special[i].perms = perms_dup(s->special[i].perms,
						s->special[i].nperms);
		c->special[i].nperms = s->special[i].nperms;
		if (!c->special[i].perms)
			goto fail;
	}
	return c;
fail:
	xs_store_free(c);
	return NULL;
}

void xs_store_set_hooks(struct xs_store *s, const struct xs_store_hooks *h)
{
	if (h)
		s->hooks = *h;
	else
		memset(&s->hooks, 0, sizeof(s->hooks));
}

/* ---- lookups with access recording and permission checks ---- */

static struct xs_node *node_lookup(struct xs_store *s, const char *path)
{
	struct xs_node *n = node_find(s, path);

	if (s->hooks.accessed)
		s->hooks.accessed(s->hooks.arg, path, n ? n->gen : 0);
	return n;
}

static unsigned perm_of(const struct xs_store *s, unsigned domid,
			const struct xs_perm *perms, unsigned nperms)
{
	unsigned target = 0;
	bool has_target = xs_domains_get_target(s->doms, domid, &target);

	return xs_perm_for(perms, nperms, domid, has_target, target);
}

static void fire_changed(struct xs_store *s, const char *path, bool exact,
			 const struct xs_perm *old, unsigned nold)
{
	if (s->hooks.changed)
		s->hooks.changed(s->hooks.arg, s, path, exact, old, nold);
}

/* Finds path for an operation needing the access bits want. As in C
 * xenstored, a caller must not learn whether a node it may not see
 * exists: a missing node is -ENOENT only when the nearest existing
 * ancestor grants one of the wanted bits, else -EACCES. *out is the node
 * (even when access is refused) or NULL. */
static int node_get(struct xs_store *s, unsigned domid, unsigned flags,
		    const char *path, unsigned want, struct xs_node **out)
{
	char buf[XS_PATH_BUF];
	struct xs_node *n = node_lookup(s, path), *a = NULL;

	*out = n;
	if (flags & XS_OP_NOCHECK)
		return n ? 0 : -ENOENT;
	if (n)
		return (perm_of(s, domid, n->perms, n->nperms) & want) == want
			       ? 0 : -EACCES;
	strcpy(buf, path);
	while (!a && strcmp(buf, "/")) {
		path_cut_parent(buf);
		a = node_lookup(s, buf);
	}
	if (a && (perm_of(s, domid, a->perms, a->nperms) & want))
		return -ENOENT;
	return -EACCES;
}

static bool check_quota(unsigned domid, unsigned flags)
{
	return domid != 0 && !(flags & XS_OP_NOCHECK);
}

/* ---- changing nodes ---- */

static int node_set_value(struct xs_store *s, struct xs_node *n,
			  unsigned domid, unsigned flags, const void *val,
			  unsigned len)
{
	char *v = NULL;

	if (check_quota(domid, flags) &&
	    record_size(n->nperms, len, n->childlen) >= XS_QUOTA_ENTRY_SIZE)
		return -ENOSPC;
	if (len) {
		v = malloc(len);
		if (!v)
			return -ENOMEM;
		memcpy(v, val, len);
	}
	free(n->value);
	n->value = v;
	n->vlen = len;
	n->gen = ++s->gen;
	return 0;
}

/* Creates the missing node at path and its missing parents. */
static int node_create(struct xs_store *s, unsigned domid, unsigned flags,
		       const char *path, const void *val, unsigned len)
{
	char buf[XS_PATH_BUF];
	struct xs_node *anc = s->root, *first = NULL, *last = NULL;
	const char *p = path + 1, *rest;
	unsigned k = 0, owner;
	int err;

	/* The deepest existing ancestor... */
	while (*p) {
		size_t clen = component_len(p);
		struct xs_node *c = child_find(anc, p, clen);

		if (!c)
			break;
		anc = c;
		p = component_next(p, clen);
	}
	rest = p;
	if (!*rest)
		return -EEXIST; /* callers only create missing nodes */
	for (p = rest; *p; p = component_next(p, component_len(p)))
		k++;

	/* ...and every missing level in between were read, as C xenstored's
	 * construct_node does: a transaction must see them unchanged. */
	if (s->hooks.accessed) {
		strcpy(buf, path);
		for (unsigned i = 1; i < k; i++) {
			path_cut_parent(buf);
			s->hooks.accessed(s->hooks.arg, buf, 0);
		}
		path_cut_parent(buf);
		s->hooks.accessed(s->hooks.arg, buf, anc->gen);
	}

	owner = domid != 0 ? domid : anc->perms[0].domid;
	if (check_quota(domid, flags)) {
		if (xs_store_nodes_owned(s, domid) + k > XS_QUOTA_NODES)
			return -ENOSPC;
		if (record_size(anc->nperms, anc->vlen,
				anc->childlen + component_len(rest) + 1) >=
		    XS_QUOTA_ENTRY_SIZE)
			return -ENOSPC;
		for (p = rest; *p;) {
			size_t clen = component_len(p);
			const char *next = component_next(p, clen);
			size_t nextlen = *next ? component_len(next) + 1 : 0;

			if (record_size(anc->nperms, *next ? 0 : len, nextlen) >=
			    XS_QUOTA_ENTRY_SIZE)
				return -ENOSPC;
			p = next;
		}
	}

	/* Build the missing chain aside, then link it in one step. */
	err = count_reserve(s, owner);
	if (!err)
		err = node_reserve_child(anc);
	for (p = rest; !err && *p;) {
		size_t clen = component_len(p);
		struct xs_node *n = node_alloc(p, clen, anc->perms, anc->nperms);

		if (!n) {
			err = -ENOMEM;
			break;
		}
		n->perms[0].domid = owner;
		if (last) {
			if (node_reserve_child(last)) {
				node_free(n);
				err = -ENOMEM;
				break;
			}
			node_link_child(last, n);
		} else {
			first = n;
		}
		last = n;
		p = component_next(p, clen);
	}
	if (!err && len) {
		last->value = malloc(len);
		if (!last->value)
			err = -ENOMEM;
		else
			memcpy(last->value, val, len);
		last->vlen = len;
	}
	if (err) {
		node_free(first);
		return err;
	}
	node_link_child(anc, first);
	anc->gen = ++s->gen;
	for (struct xs_node *n = first; n; n = n->nchild ? n->child[0] : NULL)
		n->gen = ++s->gen;
	count_add(s, owner, (int)k);
	s->nnodes += k;
	return 0;
}

static bool store_path_ok(const char *path)
{
	return path && xs_path_is_valid_abs(path);
}

/* The node at path as domid may read it: 0, or -EINVAL (a bad path),
 * -ENOENT, -EACCES. */
static int node_readable(struct xs_store *s, unsigned domid, const char *path, struct xs_node **n)
{
	if (!store_path_ok(path))
		return -EINVAL;
	return node_get(s, domid, 0, path, XS_STORE_PERM_READ, n);
}

int xs_store_read(struct xs_store *s, unsigned domid, const char *path,
		  const char **val, unsigned *len)
{
	struct xs_node *n;
	int err;

	err = node_readable(s, domid, path, &n);
	if (err)
		return err;
	*val = n->value ? n->value : "";
	*len = n->vlen;
	return 0;
}

int xs_store_write(struct xs_store *s, unsigned domid, unsigned flags,
		   const char *path, const void *val, unsigned len)
{
	struct xs_node *n;
	int err;

	if (!store_path_ok(path))
		return -EINVAL;
	err = node_get(s, domid, flags, path, XS_STORE_PERM_WRITE, &n);
	if (!err)
		err = node_set_value(s, n, domid, flags, val, len);
	else if (err == -ENOENT)
		err = node_create(s, domid, flags, path, val, len);
	if (!err)
		fire_changed(s, path, false, NULL, 0);
	return err;
}

int xs_store_mkdir(struct xs_store *s, unsigned domid, unsigned flags,
		   const char *path)
{
	struct xs_node *n;
	int err;

	if (!store_path_ok(path))
		return -EINVAL;
	err = node_get(s, domid, flags, path, XS_STORE_PERM_WRITE, &n);
	if (err != -ENOENT)
		return err;
	err = node_create(s, domid, flags, path, NULL, 0);
	if (!err)
		fire_changed(s, path, false, NULL, 0);
	return err;
}

/* Records and announces every node of a subtree about to go, children
 * first; path holds the subtree's path, len its length. */
static void subtree_announce(struct xs_store *s, struct xs_node *n, char *path,
			     size_t len, bool top)
{
	for (unsigned i = 0; i < n->nchild; i++) {
		size_t clen = strlen(n->child[i]->name);

		if (len + 1 + clen >= XS_PATH_BUF)
			continue; /* cannot happen: paths are bounded */
		path[len] = '/';
		memcpy(path + len + 1, n->child[i]->name, clen + 1);
		subtree_announce(s, n->child[i], path, len + 1 + clen, false);
		path[len] = '\0';
	}
	if (s->hooks.accessed && !top)
		s->hooks.accessed(s->hooks.arg, path, n->gen);
	fire_changed(s, path, !top, NULL, 0);
}

static unsigned subtree_uncount(struct xs_store *s, const struct xs_node *n)
{
	unsigned total = 1;

	for (unsigned i = 0; i < n->nchild; i++)
		total += subtree_uncount(s, n->child[i]);
	count_add(s, n->perms[0].domid, -1);
	return total;
}

int xs_store_rm(struct xs_store *s, unsigned domid, unsigned flags,
		const char *path)
{
	char buf[XS_PATH_BUF];
	struct xs_node *n, *parent;
	int err;

	if (!store_path_ok(path))
		return -EINVAL;
	err = node_get(s, domid, flags, path, XS_STORE_PERM_WRITE, &n);
	if (err == -ENOENT) {
		/* Removing a missing child of an existing node is fine. */
		strcpy(buf, path);
		path_cut_parent(buf);
		return node_lookup(s, buf) ? 0 : -ENOENT;
	}
	if (err)
		return err;
	if (n == s->root)
		return -EINVAL;

	strcpy(buf, path);
	subtree_announce(s, n, buf, strlen(buf), true);
	/* The announcements cannot change the tree: n is still there. */
	parent = n->parent;
	if (s->hooks.accessed) {
		path_cut_parent(buf);
		s->hooks.accessed(s->hooks.arg, buf, parent->gen);
	}
	node_unlink_child(parent, n);
	parent->gen = ++s->gen;
	s->nnodes -= subtree_uncount(s, n);
	node_free(n);
	return 0;
}

int xs_store_directory(struct xs_store *s, unsigned domid, const char *path,
		       char **names, size_t *len, uint64_t *gen)
{
	struct xs_node *n;
	char *buf, *p;
	int err;

	*names = NULL;
	*len = 0;
	err = node_readable(s, domid, path, &n);
	if (err)
		return err;
	*gen = n->gen;
	if (!n->childlen)
		return 0;
	buf = malloc(n->childlen);
	if (!buf)
		return -ENOMEM;
	p = buf;
	for (unsigned i = 0; i < n->nchild; i++) {
		size_t l = strlen(n->child[i]->name) + 1;

		memcpy(p, n->child[i]->name, l);
		p += l;
	}
	*names = buf;
	*len = n->childlen;
	return 0;
}

static struct xs_special *special_find(struct xs_store *s, const char *path)
{
	for (unsigned i = 0; i < XS_NSPECIAL; i++)
		if (!strcmp(s->special[i].name, path))
			return &s->special[i];
	return NULL;
}

int xs_store_get_perms(struct xs_store *s, unsigned domid, const char *path,
		       const struct xs_perm **perms, unsigned *n)
{
	struct xs_node *node;
	int err;

	if (path && path[0] == '@') {
		struct xs_special *sp = special_find(s, path);

		if (!sp)
			return xs_path_is_special(path) ? -ENOENT : -EINVAL;
		if (!(perm_of(s, domid, sp->perms, sp->nperms) &
		      XS_STORE_PERM_READ))
			return -EACCES;
		*perms = sp->perms;
		*n = sp->nperms;
		return 0;
	}
	err = node_readable(s, domid, path, &node);
	if (err)
		return err;
	*perms = node->perms;
	*n = node->nperms;
	return 0;
}

int xs_store_set_perms(struct xs_store *s, unsigned domid, unsigned flags,
		       const char *path, const struct xs_perm *perms,
		       unsigned n)
{
	const unsigned want = XS_STORE_PERM_WRITE | XS_STORE_PERM_OWNER;
	struct xs_perm **slot, *copy, *old;
	unsigned *nslot, nold, old_owner;
	struct xs_node *node = NULL;
	struct xs_special *sp = NULL;
	int err;

	if (!path || !n)
		return -EINVAL;
	if (check_quota(domid, flags) && n > XS_QUOTA_PERMS)
		return -ENOSPC;
	for (unsigned i = 0; i < n; i++)
		if (perms[i].mode & ~XS_STORE_PERM_BOTH)
			return -EINVAL;
	if (!(flags & XS_OP_NOCHECK) && perms[0].domid != 0 &&
	    !xs_domains_known(s->doms, perms[0].domid))
		return -ENOENT; /* the owner must exist */

	if (path[0] == '@') {
		sp = special_find(s, path);
		if (!sp)
			return xs_path_is_special(path) ? -ENOENT : -EINVAL;
		if (!(flags & XS_OP_NOCHECK) &&
		    (perm_of(s, domid, sp->perms, sp->nperms) & want) != want)
			return -EACCES;
		slot = &sp->perms;
		nslot = &sp->nperms;
	} else {
		if (!store_path_ok(path))
			return -EINVAL;
		err = node_get(s, domid, flags, path, want, &node);
		if (err)
			return err;
		if (check_quota(domid, flags) &&
		    record_size(n, node->vlen, node->childlen) >=
			    XS_QUOTA_ENTRY_SIZE)
			return -ENOSPC;
		slot = &node->perms;
		nslot = &node->nperms;
	}
	old_owner = (*slot)[0].domid;
	/* Unprivileged domains may not give their nodes away. */
	if (domid != 0 && !(flags & XS_OP_NOCHECK) && perms[0].domid != old_owner)
		return -EPERM;

	copy = perms_dup(perms, n);
	if (!copy)
		return -ENOMEM;
	if (node && count_reserve(s, perms[0].domid)) {
		free(copy);
		return -ENOMEM;
	}
	old = *slot;
	nold = *nslot;
	*slot = copy;
	*nslot = n;
	if (node) {
		count_add(s, old_owner, -1);
		count_add(s, perms[0].domid, 1);
		node->gen = ++s->gen;
	}
	fire_changed(s, path, false, old, nold);
	free(old);
	return 0;
}

bool xs_store_watch_permitted(struct xs_store *s, unsigned domid,
			      const char *path, const struct xs_perm *old,
			      unsigned nold)
{
	const struct xs_node *n;

	if (domid == 0 || path[0] == '@')
		return true;
	if (old && (perm_of(s, domid, old, nold) & XS_STORE_PERM_READ))
		return true;
	n = node_find(s, path);
	if (!n)
		return false;
	if (perm_of(s, domid, n->perms, n->nperms) & XS_STORE_PERM_READ)
		return true;
	return n->parent && (perm_of(s, domid, n->parent->perms,
				     n->parent->nperms) & XS_STORE_PERM_READ);
}

uint64_t xs_store_generation(const struct xs_store *s, const char *path)
{
	const struct xs_node *n;

	if (!store_path_ok(path))
		return 0;
	n = node_find(s, path);
	return n ? n->gen : 0;
}

/* Hands domid's ownership to domain 0 and drops the entries naming it. */
static unsigned perms_forget(struct xs_perm *p, unsigned *n, unsigned domid)
{
	unsigned moved = 0, j = 1;

	if (p[0].domid == domid) {
		p[0].domid = 0;
		moved = 1;
	}
	for (unsigned i = 1; i < *n; i++)
		if (p[i].domid != domid)
			p[j++] = p[i];
	*n = j;
	return moved;
}

static unsigned subtree_forget(struct xs_node *n, unsigned domid)
{
	unsigned moved = perms_forget(n->perms, &n->nperms, domid);

	for (unsigned i = 0; i < n->nchild; i++)
		moved += subtree_forget(n->child[i], domid);
	return moved;
}

void xs_store_forget_domain(struct xs_store *s, unsigned domid)
{
	struct xs_owner_count *c;

	if (domid == 0)
		return;
	for (unsigned i = 0; i < XS_NSPECIAL; i++)
		perms_forget(s->special[i].perms, &s->special[i].nperms, domid);
	unsigned moved = subtree_forget(s->root, domid);
	/* Domain 0's counter exists since the root is its node. */
	count_add(s, 0, (int)moved);
	c = count_find(s, domid);
	if (c)
		*c = s->counts[--s->ncounts];
}
