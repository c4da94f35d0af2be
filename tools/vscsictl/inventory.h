/* What is attached to a domain, read back from xenstore: its vhosts and
 * their LUNs, with the states both sides wrote. */
#ifndef VSCSICTL_INVENTORY_H
#define VSCSICTL_INVENTORY_H

#include <stdbool.h>

struct xs_handle;

struct inv_lun {
	unsigned idx;           /* N of dev-N */
	char *pdev, *pdevname, *vdev;
	int state;              /* backend's dev-N/state, -1 if missing */
	int fe_state;           /* frontend's dev-N/state, -1 if missing */
	char *error;            /* backend's dev-N/error, or NULL */
};

struct inv_vhost {
	unsigned devid;
	unsigned be_domid;
	char be[256];
	int state, fe_state;    /* backend / frontend xenbus state, -1 if missing */
	bool feature_host;
	char *error;            /* backend's vhost error, or NULL */
	struct inv_lun *luns;   /* ascending idx */
	unsigned nluns;
};

/* Reads the vhosts of domid: those the toolstack recorded in /libxl and
 * those in be_domid's backend directory. Returns the count (ascending
 * devid) or -errno. */
int inv_read(struct xs_handle *xs, unsigned domid, unsigned be_domid, struct inv_vhost **out);
void inv_free(struct inv_vhost *v, int n);

/* The LUN of v with v-dev (channel,target,lun), or NULL. */
const struct inv_lun *inv_find(const struct inv_vhost *v, unsigned channel, unsigned target,
			       unsigned lun);

/* An entry of the domain's vscsi list that vscsi-lifecycle could not
 * attach, as it recorded it in /libxl/<domid>/vscsi-failed/<entry>/. */
struct inv_failed {
	char *entry;            /* the entry number ("config": the list itself) */
	char *text;             /* the entry as written, or NULL */
	char *error;
};

/* Reads the failed entries of domid (ascending). Returns the count. */
int inv_read_failed(struct xs_handle *xs, unsigned domid, struct inv_failed **out);
void inv_free_failed(struct inv_failed *f, int n);

/* "Connected" for 4 and so on; "-" for -1. */
const char *inv_state_name(int state);

#endif
