/* The PV SCSI entries of a domain, kept by its uuid in a state directory
 * (default /var/lib/vscsi/domains/<uuid>.json) because xl keeps no copy
 * of a vscsi = [...] line across reboot, save/restore and migrate
 * (xl keeps only libxl's own JSON of a domain). vscsi-lifecycle writes a
 * record when it first meets a domain; vscsictl attach/detach/apply keep
 * it up to date, so hand changes follow the domain as xl block-attach's
 * do. */
#ifndef VSCSICTL_DOMRECORD_H
#define VSCSICTL_DOMRECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define DOMREC_DEFAULT_DIR "/var/lib/vscsi/domains"
#define DOMREC_UUID_LEN 36

struct domrec {
	char uuid[DOMREC_UUID_LEN + 1];
	char *name;            /* the domain's name when last seen */
	char *source;          /* the config file it came from, or "vscsictl" */
	int strict;            /* vscsi_strict: 0, 1, -1 not set */
	char **entries;        /* "pdev,vdev[,option]..." as written */
	int nentries;
	time_t mtime;          /* when the record was last written */
};

/* Whether s is a uuid in its canonical 8-4-4-4-12 hex form. */
bool domrec_uuid_ok(const char *s);

/* The state directory: dir if given, else $VSCSI_STATE_DIR, else the
 * default. */
const char *domrec_dir(const char *dir);

/* Loads the record of uuid. 0, -ENOENT (none) or -errno/-EINVAL (a broken
 * file) with a message. */
int domrec_load(const char *dir, const char *uuid, struct domrec *r, char *err, size_t errlen);
/* Writes r atomically (a temporary file renamed over the record); creates
 * dir if its parent exists. 0 or -errno with a message. */
int domrec_save(const char *dir, const struct domrec *r, char *err, size_t errlen);
/* Removes the record of uuid; 0 or -errno (-ENOENT when there was none). */
int domrec_remove(const char *dir, const char *uuid);
void domrec_free(struct domrec *r);

/* Adds entry (replacing one with the same v-dev); removes the entries of
 * vdev. 0 or -ENOMEM; remove returns the number removed. */
int domrec_put_entry(struct domrec *r, const char *entry, const char *vdev);
int domrec_drop_vdev(struct domrec *r, const char *vdev);

#endif
