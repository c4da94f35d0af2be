/* PV SCSI entries of an xl domain configuration file:
 *     vscsi = [ "pdev,vdev[,option]", ... ]
 * The file is parsed by libxlutil, the parser xl itself uses. */
#ifndef VSCSICTL_XLCFG_H
#define VSCSICTL_XLCFG_H

#include <stdbool.h>
#include <stddef.h>

struct vscsi_spec {
	char pdev[256];
	char vdev[32];
	bool feature_host;
};

/* Parses one "pdev,vdev[,feature-host]" entry (spaces around the fields
 * are ignored). 0 or -EINVAL with a message. */
int vspec_parse(const char *s, struct vscsi_spec *out, char *err, size_t errlen);

/* Reads the vscsi list of an xl config file: *items gets a malloc'd array
 * of malloc'd strings. Returns the number of entries (0 if the file has
 * no vscsi setting) or -errno, with the parser's own message (file and
 * line) in err. */
int xlcfg_read_vscsi(const char *file, char ***items, char *err, size_t errlen);
void xlcfg_free(char **items, int n);

#endif
