/* A vhost's LUN table: which host device answers at which guest address
 * (channel:target:lun of the v-dev). Adding a LUN opens its device
 * through its LUN driver; removing it closes the device, which completes
 * whatever still runs on it. */
#ifndef SCSIBACK_VLUN_H
#define SCSIBACK_VLUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "evloop.h"
#include "iport.h"
#include "lun.h"
#include "policy.h"

struct scsiback_config;
struct vlun_table;

/* What a LUN has served, for the status file (status.c). */
struct vlun_stats {
	uint64_t cmds;                /* SCSI commands the device ended */
	uint64_t errors;              /* of those, ended other than GOOD */
	uint64_t bytes_in, bytes_out; /* data from / to the device */
	char last_error[160];         /* the latest error, as the log said it */
};

/* One mapped LUN. */
struct vlun_table;
struct vlun {
	unsigned devnum;              /* N of vscsi-devs/dev-N */
	uint16_t chn, tgt, lun;       /* v-dev, host part ignored */
	char pdev[256];
	struct lun dev;
	const struct policy *policy;  /* NULL (allow all) or &own_policy */
	struct policy own_policy;
	struct vlun_table *table;
	bool removing;
	bool opening;                 /* its driver is still connecting */
	bool has_port;                /* iSCSI with a stable initiator port: */
	struct iport port;            /* the one it logs in with */
	struct vlun_stats stats;
	char link[128];               /* remote: its link as the worker last said */
	struct sockaddr_storage portal; /* remote iSCSI: the portal its worker may
					 * connect to (portal.h) */
	socklen_t portal_len;           /* 0: none */
};

/* A broker's table (docs/privsep.md): the guest's worker opens and
 * serves its LUNs; the table keeps what xenbus.c asks of it. */
struct vlun_remote_ops {
	/* Hands vl, resolved, to the worker: -EINPROGRESS (the end comes
	 * through vlun_remote_opened) or -errno with err set. */
	int (*open)(void *arg, struct vlun *vl, const struct pdev_info *info,
		    const struct lun_config *lcfg, char *err, size_t errlen);
	/* vl leaves the table: the worker closes it. */
	void (*close)(void *arg, struct vlun *vl);
	/* vl's policy changed (a reload). */
	void (*settings)(void *arg, struct vlun *vl);
};

/* A LUN entry's own settings (iport.h's IPORT_*_NODE): NULL where it has
 * none. */
struct vlun_entry {
	const char *initiator;
	const char *isid;
};

struct vlun_table {
	struct vlun **v;
	unsigned n;
	const char *name;             /* for logs: the vhost's */
	unsigned host;                /* H of the v-devs H:C:T:L (the vhost's devid) */
	struct evloop *loop;
	const struct scsiback_config *cfg;
	char uuid[IPORT_UUID_LEN + 1]; /* the guest's, "" when unknown (iport.h) */
	/* The end of an open vlun_add left under way: rc 0, it serves;
	 * otherwise err says why, and it is out of the table already. */
	void (*opened)(void *arg, unsigned devnum, const char *pdev, int rc, const char *err);
	void *arg;
	const struct vlun_remote_ops *remote;   /* NULL: LUNs are opened here */
	void *remote_arg;
};

/* Serves commands: neither being removed nor still opening. */
static inline bool vlun_ready(const struct vlun *vl)
{
	return !vl->removing && !vl->opening;
}
/* "H:C:T:L", the v-dev as the admin typed it (for logs). */
#define VLUN_VDEV_LEN 24
const char *vlun_vdev(const struct vlun *vl, char buf[VLUN_VDEV_LEN]);
struct vlun *vlun_find(const struct vlun_table *t, uint16_t chn, uint16_t tgt, uint16_t lun);
struct vlun *vlun_find_devnum(const struct vlun_table *t, unsigned devnum);
/* A ready LUN answers on that target. */
bool vlun_has_target(const struct vlun_table *t, uint16_t chn, uint16_t tgt);
/* The ready LUNs of a target, at most max of them; returns how many. */
unsigned vlun_target_luns(const struct vlun_table *t, uint16_t chn, uint16_t tgt, uint16_t *luns,
			  unsigned max);
/* A LUN's open has not ended: the vhost's next step waits. */
bool vlun_opening(const struct vlun_table *t);

/* Counts a command the device has ended (a host code other than OK or a
 * status other than GOOD is an error). */
void vlun_count(struct vlun *vl, const struct lun_cmd *lc, uint32_t bytes);

/* The initiator port an iSCSI p-dev at v-dev chn:tgt:lun of this table
 * logs in with: the entry's, else the guest's default (iport.h). 1: port
 * set; 0: none (not iSCSI, or the guest's UUID unknown: the LUN logs in
 * as the backend, ISID at random); -EINVAL with err: a bad entry setting. */
int vlun_port(const struct vlun_table *t, const char *pdev, uint16_t chn, uint16_t tgt, uint16_t lun,
	      const struct vlun_entry *e, struct iport *port, char *err, size_t errlen);

/* 0: added; -EINPROGRESS: added, opening (t->opened tells the end; also
 * for a devnum already opening); else -errno and err. e: the entry's own
 * settings (NULL: none). */
int vlun_add(struct vlun_table *t, unsigned devnum, const char *pdev, uint16_t chn, uint16_t tgt,
	     uint16_t lun, const struct vlun_entry *e, char *err, size_t errlen);
/* vlun_add's second half, for a LUN resolved elsewhere (a worker's, by
 * its broker): no sysfs, no config. lcfg's sg_fd is taken; policy NULL
 * allows all; port NULL: none of its own. */
int vlun_attach(struct vlun_table *t, unsigned devnum, const char *pdev, uint16_t chn, uint16_t tgt,
		uint16_t lun, const struct pdev_info *info, const struct lun_config *lcfg,
		const struct policy *policy, const struct iport *port, char *err, size_t errlen);
/* A remote table's open has ended in the worker: as a local open's end. */
void vlun_remote_opened(struct vlun_table *t, unsigned devnum, int rc, const char *err,
			uint8_t dev_type, const char *desc);
/* A LUN's policy from now on (copied; NULL allows all). */
void vlun_set_policy(struct vlun *vl, const struct policy *p);
void vlun_remove(struct vlun_table *t, unsigned devnum);
void vlun_remove_all(struct vlun_table *t);
/* Points every LUN at its policy in cfg (after a reload). */
void vlun_apply_config(struct vlun_table *t, const struct scsiback_config *cfg);

#endif
