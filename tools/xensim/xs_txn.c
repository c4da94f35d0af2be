/* Transactions: snapshot, access record, change log, commit. */
#include "xs_txn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum txn_op { TXN_WRITE, TXN_MKDIR, TXN_RM, TXN_SET_PERMS };

struct txn_change {
	struct txn_change *next;
	enum txn_op op;
	unsigned domid;
	char *path;
	void *data; /* the value, or the permission array */
	unsigned len; /* bytes of value, or number of permissions */
};

struct txn_access {
	struct txn_access *next;
	uint64_t gen;
	char path[];
};

struct xs_txn {
	struct xs_store *store;
	struct txn_access **bucket;
	unsigned nbuckets, naccess;
	struct txn_change *log, *log_tail;
	bool failed;
};

static uint32_t path_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static void txn_rehash(struct xs_txn *t)
{
	unsigned n = t->nbuckets * 2;
	struct txn_access **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* keep the longer chains */
	for (unsigned i = 0; i < t->nbuckets; i++) {
		struct txn_access *a = t->bucket[i], *next;

		for (; a; a = next) {
			next = a->next;
			a->next = b[path_hash(a->path) & (n - 1)];
			b[path_hash(a->path) & (n - 1)] = a;
		}
	}
	free(t->bucket);
	t->bucket = b;
	t->nbuckets = n;
}

/* Store hook: keep the generation seen at the first look only. */
static void txn_accessed(void *arg, const char *path, uint64_t gen)
{
	struct xs_txn *t = arg;
	uint32_t h = path_hash(path);
	struct txn_access *a;
	size_t len = strlen(path) + 1;

	for (a = t->bucket[h & (t->nbuckets - 1)]; a; a = a->next)
		if (!strcmp(a->path, path))
			return;
	a = malloc(sizeof(*a) + len);
	if (!a) {
		t->failed = true;
		return;
	}
	a->gen = gen;
	memcpy(a->path, path, len);
	a->next = t->bucket[h & (t->nbuckets - 1)];
	t->bucket[h & (t->nbuckets - 1)] = a;
	if (++t->naccess > 2 * t->nbuckets)
		txn_rehash(t);
}

struct xs_txn *xs_txn_new(const struct xs_store *main)
{
	struct xs_txn *t = calloc(1, sizeof(*t));
	struct xs_store_hooks hooks = { .accessed = txn_accessed };

	if (!t)
		return NULL;
	t->nbuckets = 64;
	t->bucket = calloc(t->nbuckets, sizeof(*t->bucket));
	t->store = xs_store_clone(main);
	if (!t->bucket || !t->store) {
		xs_txn_free(t);
		return NULL;
	}
	hooks.arg = t;
	xs_store_set_hooks(t->store, &hooks);
	return t;
}

void xs_txn_free(struct xs_txn *t)
{
	if (!t)
		return;
	for (unsigned i = 0; t->bucket && i < t->nbuckets; i++) {
		struct txn_access *a = t->bucket[i], *next;

		for (; a; a = next) {
			next = a->next;
			free(a);
		}
	}
	free(t->bucket);
	for (struct txn_change *c = t->log, *next; c; c = next) {
		next = c->next;
		free(c->path);
		free(c->data);
		free(c);
	}
	xs_store_free(t->store);
	free(t);
}

struct xs_store *xs_txn_store(struct xs_txn *t)
{
	return t->store;
}

unsigned xs_txn_accessed_count(const struct xs_txn *t)
{
	return t->naccess;
}

static int txn_log(struct xs_txn *t, enum txn_op op, unsigned domid,
		   const char *path, const void *data, size_t size,
		   unsigned len)
{
	struct txn_change *c = calloc(1, sizeof(*c));

	if (!c)
		goto nomem;
	c->op = op;
	c->domid = domid;
	c->len = len;
	c->path = strdup(path);
	if (!c->path)
		goto nomem;
	if (size) {
		c->data = malloc(size);
		if (!c->data)
			goto nomem;
		memcpy(c->data, data, size);
	}
	if (t->log_tail)
		t->log_tail->next = c;
	else
		t->log = c;
	t->log_tail = c;
	return 0;
nomem:
	if (c) {
		free(c->path);
		free(c);
	}
	t->failed = true;
	return -ENOMEM;
}

int xs_txn_log_write(struct xs_txn *t, unsigned domid, const char *path,
		     const void *val, unsigned len)
{
	return txn_log(t, TXN_WRITE, domid, path, val, len, len);
}

int xs_txn_log_mkdir(struct xs_txn *t, unsigned domid, const char *path)
{
	return txn_log(t, TXN_MKDIR, domid, path, NULL, 0, 0);
}

int xs_txn_log_rm(struct xs_txn *t, unsigned domid, const char *path)
{
	return txn_log(t, TXN_RM, domid, path, NULL, 0, 0);
}

int xs_txn_log_set_perms(struct xs_txn *t, unsigned domid, const char *path,
			 const struct xs_perm *perms, unsigned n)
{
	return txn_log(t, TXN_SET_PERMS, domid, path, perms,
		       n * sizeof(*perms), n);
}

int xs_txn_commit(struct xs_txn *t, struct xs_store *main)
{
	if (t->failed)
		return -ENOMEM;
	for (unsigned i = 0; i < t->nbuckets; i++)
		for (struct txn_access *a = t->bucket[i]; a; a = a->next)
			if (xs_store_generation(main, a->path) != a->gen)
				return -EAGAIN;
	/* Nothing the transaction saw has changed, so every logged change
	 * meets the same tree it met in the transaction: checks were done
	 * there, the replay only applies (and fires the watches). */
	for (struct txn_change *c = t->log; c; c = c->next) {
		switch (c->op) {
		case TXN_WRITE:
			xs_store_write(main, c->domid, XS_OP_NOCHECK, c->path,
				       c->data, c->len);
			break;
		case TXN_MKDIR:
			xs_store_mkdir(main, c->domid, XS_OP_NOCHECK, c->path);
			break;
		case TXN_RM:
			xs_store_rm(main, c->domid, XS_OP_NOCHECK, c->path);
			break;
		case TXN_SET_PERMS:
			xs_store_set_perms(main, c->domid, XS_OP_NOCHECK,
					   c->path, c->data, c->len);
			break;
		}
	}
	return 0;
}
