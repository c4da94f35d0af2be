#include "sharing.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "decimal.h"
#include "pdev.h"
#include "xsutil.h"

#define SHARING_KEY_LEN 600

/* One name per host device: "sg H:C:T:L", "iscsi PORTAL TARGET LUN" (in
 * lower case: host names and IQNs are not case-sensitive), or the p-dev
 * itself when it cannot be resolved here; "" for an emulated null: LUN. */
static void sharing_key(const char *pdev, const char *sysfs, char *key, size_t len)
{
	struct pdev_info info;
	char err[256];

	key[0] = 0;
	if (!strncmp(pdev, "null:", 5))
		return;
	if (!strncmp(pdev, "iscsi://", 8)) {
		if (pdev_parse_iscsi(pdev, &info, err, sizeof(err)) == 0) {
			snprintf(key, len, "iscsi %s %s %u", info.portal, info.target, info.lun);
			for (char *p = key; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			return;
		}
	} else if (sysfs && pdev_resolve(pdev, sysfs, &info, err, sizeof(err)) == 0 &&
		   info.kind == PDEV_SG) {
		snprintf(key, len, "sg %" PRIu32 ":%" PRIu32 ":%" PRIu32 ":%" PRIu64, info.hctl.host,
			 info.hctl.channel, info.hctl.target, info.hctl.lun);
		return;
	}
	snprintf(key, len, "pdev %s", pdev);
}

/* The domain's UUID as its /vm/<uuid> link names it ("" if none). */
static void sharing_uuid(struct xs_handle *xs, unsigned domid, char out[37])
{
	char *vm = xsu_readf(xs, XBT_NULL, "/local/domain/%u/vm", domid);

	out[0] = 0;
	if (vm && !strncmp(vm, "/vm/", 4) && strlen(vm + 4) >= 36) {
		memcpy(out, vm + 4, 36);
		out[36] = 0;
	}
	free(vm);
}

/* Whether domid (alive) and holder are one guest: the domain a migration
 * or a restore creates next to the one it replaces has its UUID. */
static bool sharing_same_guest(struct xs_handle *xs, unsigned domid, unsigned holder)
{
	char a[37], b[37];

	sharing_uuid(xs, domid, a);
	sharing_uuid(xs, holder, b);
	return a[0] && !strcasecmp(a, b);
}

static bool sharing_domain_alive(struct xs_handle *xs, unsigned domid)
{
	char *v = xsu_readf(xs, XBT_NULL, "/local/domain/%u/domid", domid);

	free(v);
	return v != NULL;
}

/* The entries of one vhost of holder: a conflict with key goes to err. */
static int sharing_scan_vhost(struct xs_handle *xs, const char *be, unsigned holder, unsigned domid,
			      const char *key, const char *vdev, bool shared, const char *sysfs,
			      char *err, size_t errlen)
{
	unsigned n = 0;
	char **devs = xsu_directoryf(xs, XBT_NULL, &n, "%s/vscsi-devs", be);
	int rc = 0;

	for (unsigned i = 0; devs && i < n && !rc; i++) {
		char *p = xsu_readf(xs, XBT_NULL, "%s/vscsi-devs/%s/p-dev", be, devs[i]);
		char *v = xsu_readf(xs, XBT_NULL, "%s/vscsi-devs/%s/v-dev", be, devs[i]);
		int st = xsu_read_intf(xs, XBT_NULL, -1, "%s/vscsi-devs/%s/state", be, devs[i]);
		bool other_shared = xsu_read_intf(xs, XBT_NULL, 0, "%s/vscsi-devs/%s/" SHARING_NODE, be,
						  devs[i]) == 1;
		char other[SHARING_KEY_LEN];

		/* (being removed, or refused: nobody has it) */
		if (p && v && st != XenbusStateClosing && st != XenbusStateClosed &&
		    !(holder == domid && !strcmp(v, vdev))) {
			sharing_key(p, sysfs, other, sizeof(other));
			if (!strcmp(other, key) && !(shared && other_shared)) {
				char *name = xsu_readf(xs, XBT_NULL, "/local/domain/%u/name", holder);

				if (holder == domid)
					snprintf(err, errlen, "it is attached to this domain already, as %s "
						 "(p-dev \"%s\")", v, p);
				else
					snprintf(err, errlen, "it is attached to domain %s (%u) as %s "
						 "(p-dev \"%s\")", name ? name : "?", holder, v, p);
				free(name);
				rc = -EADDRINUSE;
			} else if (!strcmp(other, key) && holder != domid && strncmp(p, "iscsi://", 8)) {
				/* Shared on purpose, but not through a per-guest iSCSI
				 * port (common/iport.h): the target sees one initiator. */
				char *name = xsu_readf(xs, XBT_NULL, "/local/domain/%u/name", holder);

				fprintf(stderr, "warning: p-dev \"%s\" is shared with domain %s (%u) through "
					"this host's own initiator: the device sees both guests as one "
					"I_T nexus, so SCSI reservations cannot tell them apart (use an "
					"iscsi:// p-dev for a guest cluster)\n", p, name ? name : "?", holder);
				free(name);
			}
		}
		free(p);
		free(v);
	}
	free(devs);
	return rc;
}

bool sharing_same_device(const char *a, const char *b, const char *sysfs)
{
	char ka[SHARING_KEY_LEN], kb[SHARING_KEY_LEN];

	sharing_key(a, sysfs, ka, sizeof(ka));
	sharing_key(b, sysfs, kb, sizeof(kb));
	return ka[0] && !strcmp(ka, kb);
}

int sharing_check(struct xs_handle *xs, unsigned be_domid, unsigned domid, const char *pdev,
		  const char *vdev, bool shared, const char *sysfs, char *err, size_t errlen)
{
	char key[SHARING_KEY_LEN], why[700], be[200];
	unsigned nd = 0;
	char **doms;
	int rc = 0;

	sharing_key(pdev, sysfs, key, sizeof(key));
	if (!key[0])
		return 0;
	doms = xsu_directoryf(xs, XBT_NULL, &nd, "/local/domain/%u/backend/vscsi", be_domid);
	for (unsigned i = 0; doms && i < nd && !rc; i++) {
		uint64_t holder;
		unsigned nv = 0;
		char **vhosts;

		if (!dec_parse_str(doms[i], 0x7fef, &holder) || !sharing_domain_alive(xs, (unsigned)holder))
			continue;  /* (a destroyed guest's leftovers hold nothing) */
		if (holder != domid && sharing_same_guest(xs, domid, (unsigned)holder))
			continue;
		vhosts = xsu_directoryf(xs, XBT_NULL, &nv, "/local/domain/%u/backend/vscsi/%s", be_domid,
					doms[i]);
		for (unsigned k = 0; vhosts && k < nv && !rc; k++) {
			snprintf(be, sizeof(be), "/local/domain/%u/backend/vscsi/%s/%s", be_domid, doms[i],
				 vhosts[k]);
			rc = sharing_scan_vhost(xs, be, (unsigned)holder, domid, key, vdev, shared, sysfs,
						why, sizeof(why));
		}
		free(vhosts);
	}
	free(doms);
	if (rc)
		snprintf(err, errlen, "p-dev \"%s\" is in use: %s. A device goes to one guest; to share "
			 "it on purpose (a guest cluster), attach it with the option \"shared\" "
			 "everywhere", pdev, why);
	return rc;
}
