/* Who else has a host device. A device goes to one guest at one v-dev
 * unless every entry that has it says "shared" (a guest cluster, with its
 * own reservations): two writers that do not know of each other corrupt
 * a disk, and two guests driving one tape drive interleave their blocks.
 * The same guest on its way through a migration (the receiving domain has
 * the sender's UUID) is not another guest. */
#ifndef VSCSICTL_SHARING_H
#define VSCSICTL_SHARING_H

#include <stdbool.h>
#include <stddef.h>

struct xs_handle;

/* The node of a dev-N entry that says it may be shared ("1"). */
#define SHARING_NODE "shared"

/* 0 if domid may have pdev (the backend's form) at vdev through backend
 * domain be_domid; -EADDRINUSE with err naming the holder otherwise.
 * sysfs: where to resolve /dev paths and H:C:T:L to one identity (the
 * backend runs here), or NULL to compare p-dev strings (its devices are
 * those of another domain). iscsi:// p-devs are compared by portal,
 * target and LUN; null: p-devs are no host device and never conflict. */
int sharing_check(struct xs_handle *xs, unsigned be_domid, unsigned domid, const char *pdev,
		  const char *vdev, bool shared, const char *sysfs, char *err, size_t errlen);

/* Whether p-devs a and b name one host device (never for null: LUNs). */
bool sharing_same_device(const char *a, const char *b, const char *sysfs);

#endif
