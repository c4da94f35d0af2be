/* Xenstore transactions: a private copy of the store taken at start, the
 * generation of every node the transaction looked at, and a log of its
 * changes. Commit fails with -EAGAIN when any of those nodes changed in
 * the main store since (C xenstored's per-node conflict rule); otherwise
 * the log is replayed on the main store, which fires the watches then.
 * Pure: no I/O. */
#ifndef XENSIM_XS_TXN_H
#define XENSIM_XS_TXN_H

#include "xs_store.h"

struct xs_txn;

/* NULL on ENOMEM. */
struct xs_txn *xs_txn_new(const struct xs_store *main);
void xs_txn_free(struct xs_txn *t);
/* The transaction's own view: run operations on it, then log them. */
struct xs_store *xs_txn_store(struct xs_txn *t);

/* Log a change that succeeded on the transaction's store. 0 or -ENOMEM
 * (the transaction is then doomed and its commit fails). */
int xs_txn_log_write(struct xs_txn *t, unsigned domid, const char *path,
		     const void *val, unsigned len);
int xs_txn_log_mkdir(struct xs_txn *t, unsigned domid, const char *path);
int xs_txn_log_rm(struct xs_txn *t, unsigned domid, const char *path);
int xs_txn_log_set_perms(struct xs_txn *t, unsigned domid, const char *path,
			 const struct xs_perm *perms, unsigned n);

/* 0 (applied to main), -EAGAIN (conflict, nothing applied) or -ENOMEM. */
int xs_txn_commit(struct xs_txn *t, struct xs_store *main);
/* How many distinct paths the transaction looked at (for tests). */
unsigned xs_txn_accessed_count(const struct xs_txn *t);

#endif
