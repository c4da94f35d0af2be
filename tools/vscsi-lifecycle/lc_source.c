#include "lc_source.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "domrecord.h"
#include "log.h"
#include "xlcfg.h"

#define INCOMING_SUFFIX "--incoming"

void lc_source_base_name(const char *name, char *out, size_t len)
{
	size_t n = strlen(name), s = strlen(INCOMING_SUFFIX);

	if (n > s && !strcmp(name + n - s, INCOMING_SUFFIX))
		n -= s;
	snprintf(out, len, "%.*s", (int)n, name);
}

void lc_spec_free(struct lc_spec *spec)
{
	xlcfg_free(spec->entries, spec->nentries);
	memset(spec, 0, sizeof(*spec));
}

/* Files of a config directory worth parsing: not hidden, not a backup
 * or a packaging leftover, regular, small. */
static bool candidate(const char *dir, const char *fname, char *path, size_t len, struct stat *st)
{
	size_t n = strlen(fname);

	if (fname[0] == '.' || fname[n - 1] == '~' || strstr(fname, ".dpkg-") ||
	    (n > 4 && !strcmp(fname + n - 4, ".bak")) || (n > 4 && !strcmp(fname + n - 4, ".swp")))
		return false;
	snprintf(path, len, "%s/%s", dir, fname);
	return stat(path, st) == 0 && S_ISREG(st->st_mode) && st->st_size < (1 << 20);
}

struct found {
	char path[4096];
	struct xlcfg_domain cfg;
	int rc;                 /* of xlcfg_read_domain */
	char err[1024];
	time_t mtime;
	bool have;
};

static int cmp_names(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* The first file (directories in order, names sorted) whose name = is
 * the domain's. */
static void find_config(const struct lc_source_opts *o, const char *name, struct found *f)
{
	for (unsigned d = 0; d < o->nconfig_dirs && !f->have; d++) {
		struct dirent **list;
		int n = scandir(o->config_dirs[d], &list, NULL, cmp_names);

		for (int i = 0; i < n; i++) {
			struct xlcfg_domain cfg;
			char path[4096], err[1024];
			struct stat st;
			int rc;

			if (f->have || !candidate(o->config_dirs[d], list[i]->d_name, path, sizeof(path), &st)) {
				free(list[i]);
				continue;
			}
			free(list[i]);
			rc = xlcfg_read_domain(path, &cfg, err, sizeof(err));
			if (cfg.name && !strcmp(cfg.name, name)) {
				snprintf(f->path, sizeof(f->path), "%s", path);
				f->cfg = cfg;
				f->rc = rc;
				snprintf(f->err, sizeof(f->err), "%s", err);
				f->mtime = st.st_mtime;
				f->have = true;
				continue;
			}
			if (rc && !cfg.name)
				log_debug("%s: not an xl domain config (%s)", path, err);
			xlcfg_domain_free(&cfg);
		}
		if (n > 0)
			free(list);
	}
}

static int take_entries(struct lc_spec *spec, char **entries, int n)
{
	spec->entries = calloc((size_t)n + 1, sizeof(*spec->entries));
	if (!spec->entries)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		if (!(spec->entries[i] = strdup(entries[i])))
			return -ENOMEM;
		spec->nentries = i + 1;
	}
	return 0;
}

/* The record follows the config file it was taken from. */
static void write_record(const struct lc_source_opts *o, const char *uuid, const char *name,
			 const struct found *f, bool had_record)
{
	struct domrec r = { .strict = f->cfg.strict };
	char err[512];

	if (!uuid || (f->cfg.nvscsi == 0 && !had_record))
		return;
	if (f->cfg.nvscsi == 0) {
		domrec_remove(o->state_dir, uuid);
		return;
	}
	snprintf(r.uuid, sizeof(r.uuid), "%s", uuid);
	r.name = (char *)name;
	r.source = (char *)f->path;
	r.entries = f->cfg.vscsi;
	r.nentries = f->cfg.nvscsi;
	if (domrec_save(o->state_dir, &r, err, sizeof(err)))
		log_warn("domain %s: cannot keep its vscsi entries for reboot, save/restore and "
			 "migration: %s", name, err);
}

int lc_source_find(const struct lc_source_opts *o, const char *name, const char *uuid,
		   struct lc_spec *spec, char *err, size_t errlen)
{
	struct found f = { .rc = 0 };
	struct domrec rec;
	char base[128], rerr[512];
	bool have_rec = false;
	int rc = 0;

	memset(spec, 0, sizeof(*spec));
	spec->strict = -1;
	lc_source_base_name(name, base, sizeof(base));
	if (uuid) {
		int r = domrec_load(o->state_dir, uuid, &rec, rerr, sizeof(rerr));

		have_rec = r == 0;
		if (r && r != -ENOENT)
			log_warn("domain %s: record ignored: %s", name, rerr);
	}
	find_config(o, base, &f);
	if (have_rec && (!f.have || rec.mtime >= f.mtime)) {
		rc = take_entries(spec, rec.entries, rec.nentries);
		spec->strict = rec.strict;
		snprintf(spec->origin, sizeof(spec->origin), "the record of uuid %s (from %s)", uuid,
			 rec.source ? rec.source : "?");
		rc = rc ? rc : spec->nentries > 0;
	} else if (f.have && f.rc) {
		snprintf(err, errlen, "%s", f.err);
		rc = f.rc;
	} else if (f.have) {
		write_record(o, uuid, base, &f, have_rec);
		rc = take_entries(spec, f.cfg.vscsi, f.cfg.nvscsi);
		spec->strict = f.cfg.strict;
		snprintf(spec->origin, sizeof(spec->origin), "%s", f.path);
		rc = rc ? rc : spec->nentries > 0;
	}
	if (have_rec)
		domrec_free(&rec);
	if (f.have)
		xlcfg_domain_free(&f.cfg);
	if (rc <= 0)
		lc_spec_free(spec);
	return rc;
}

void lc_source_forget(const struct lc_source_opts *o, const char *uuid)
{
	if (uuid && domrec_remove(o->state_dir, uuid) == 0)
		log_info("record of uuid %s removed", uuid);
}
