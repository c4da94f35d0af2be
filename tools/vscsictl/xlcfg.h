/* PV SCSI entries of an xl domain configuration file:
 *     vscsi = [ "pdev,vdev[,option]...", ... ]
 *     vscsi_strict = 1     (the domain must not run without all of them)
 * The file is parsed by libxlutil, the parser xl itself uses. */
#ifndef VSCSICTL_XLCFG_H
#define VSCSICTL_XLCFG_H

#include <stdbool.h>
#include <stddef.h>

struct vscsi_spec {
	char pdev[256];
	char vdev[32];
	bool feature_host;
	bool shared;           /* other guests may have the device too */
	char backend[64];      /* backend=DOMAIN (id or name); "" = domain 0 */
	char initiator[224];   /* initiator=NAME: the iSCSI name it logs in as ("": the
				* guest's default, common/iport.h) */
	char isid[16];         /* isid=80XXXXXXXXXX ("": the default) */
};

/* Parses one "pdev,vdev[,option]..." entry, options "feature-host",
 * "shared", "backend=DOMAIN", "initiator=NAME" and "isid=HEX" (the last two
 * for iscsi:// p-devs; spaces around the fields are ignored). 0 or -EINVAL
 * with a message. */
int vspec_parse(const char *s, struct vscsi_spec *out, char *err, size_t errlen);
/* One option into out (s: the entry, for messages). 0 or -EINVAL. */
int vspec_option(const char *s, const char *opt, struct vscsi_spec *out, char *err, size_t errlen);
/* Options that need an iscsi:// p-dev have one. 0 or -EINVAL. */
int vspec_check_pdev(const struct vscsi_spec *sp, const char *pdev, char *err, size_t errlen);
/* The entry "pdev,vdev[,option]..." that vspec_parse reads back as sp
 * (with pdev as given, and backend= be when be is not NULL). */
void vspec_format(const struct vscsi_spec *sp, const char *pdev, const char *be, char *out,
		  size_t len);

/* Reads the vscsi list of an xl config file: *items gets a malloc'd array
 * of malloc'd strings. Returns the number of entries (0 if the file has
 * no vscsi setting) or -errno, with the parser's own message (file and
 * line) in err. */
int xlcfg_read_vscsi(const char *file, char ***items, char *err, size_t errlen);
void xlcfg_free(char **items, int n);

/* What the PV SCSI toolstack needs of a whole domain configuration. */
struct xlcfg_domain {
	char *name;            /* name = "...", or NULL */
	char *uuid;            /* uuid = "...", or NULL */
	char **vscsi;          /* the vscsi list (NULL when there is none) */
	int nvscsi;
	int strict;            /* vscsi_strict = 0|1, -1 when not set */
};

/* Reads FILE like xl does (libxlutil). 0, or -errno with the parser's
 * message in err; a vscsi or vscsi_strict of the wrong type is an error
 * (name and uuid are still set then, when the file parsed). Free with
 * xlcfg_domain_free in every case. */
int xlcfg_read_domain(const char *file, struct xlcfg_domain *out, char *err, size_t errlen);
void xlcfg_domain_free(struct xlcfg_domain *d);

#endif
