/* Where a domain's vscsi entries come from. xl keeps no copy of a
 * vscsi = [...] line: it drops keys it does not know when it parses a
 * config, and libxl, whose JSON of the domain serves reboot, save,
 * restore and migration, has no vscsi device kind. So the service has
 * two sources: its record of the domain, by uuid (domrecord.h), and the
 * domain's xl config file, found by name in the config directories the
 * way xendomains finds them. The newer of the two
 * wins: a reboot, restore or migration finds the record written at
 * create (with hand changes made by vscsictl since); an edited config
 * file is taken at the domain's next start. */
#ifndef LC_SOURCE_H
#define LC_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#define LC_MAX_CONFIG_DIRS 16

struct lc_source_opts {
	const char *config_dirs[LC_MAX_CONFIG_DIRS];
	unsigned nconfig_dirs;
	const char *state_dir;
};

struct lc_spec {
	char **entries;        /* "pdev,vdev[,option]..." */
	int nentries;
	int strict;            /* vscsi_strict of the domain: 0, 1, -1 not set */
	char origin[4200];     /* where the entries came from, for the log */
};

/* The name a domain's config file has: without xl's "--incoming" of a
 * migration's receiving side. Writes into out. */
void lc_source_base_name(const char *name, char *out, size_t len);

/* Finds the entries of the domain called name with uuid (NULL: none
 * known). Returns 1 with *spec filled, 0 when the domain has no vscsi
 * entries anywhere, or -errno with a message naming the file (a config
 * file that names the domain but whose vscsi setting is broken). When the
 * config file is taken, the record is written from it. */
int lc_source_find(const struct lc_source_opts *o, const char *name, const char *uuid,
		   struct lc_spec *spec, char *err, size_t errlen);
void lc_spec_free(struct lc_spec *spec);

/* Forgets the record of uuid (the domain ended for good). */
void lc_source_forget(const struct lc_source_opts *o, const char *uuid);

#endif
