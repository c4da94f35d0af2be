/* The entries of a vscsi = [...] list checked before anything is
 * written: each parsed, its backend domain found, its p-dev checked
 * (pdevspec.h), v-devs unique, feature-host the same on a vhost, and
 * compared with what the domain already has. Shared by vscsictl apply
 * (all or nothing) and vscsi-lifecycle (each entry on its own). */
#ifndef VSCSICTL_VPLAN_H
#define VSCSICTL_VPLAN_H

#include <stdbool.h>

#include "pdevspec.h"
#include "toolstack.h"
#include "xlcfg.h"

struct xs_handle;

struct vplan_entry {
	const char *text;       /* the entry as written (set by the caller) */
	struct vscsi_spec spec;
	struct vdev v;
	struct pdevspec ps;
	unsigned be_domid;
	bool skip;              /* already attached as asked */
	bool done;              /* attached by the caller */
	char error[768];        /* why it cannot be attached; "" when it can */
};

struct vplan_opts {
	unsigned be_domid;      /* backend of entries without backend= */
	unsigned self;          /* the domain we run in */
	bool kernel_backend;
	const char *sysfs, *configfs;
};

/* Checks e[0..n) for domid (numbering entries from 1 in messages).
 * Returns the number of entries with an error, or -errno when the
 * domain's devices could not be read (message in err). */
int vplan_check(struct xs_handle *xs, unsigned domid, const struct vplan_opts *o,
		struct vplan_entry *e, int n, char *err, size_t errlen);

/* The entries not yet attached that share e[i]'s backend and vhost, from
 * i on (at most max): their indexes into idx. Returns the count. */
unsigned vplan_group(const struct vplan_entry *e, int n, int i, int *idx, unsigned max);

#endif
