/* Lookups in the LIO configfs tree of the xen-pvscsi fabric; see lio.h. */
#include "lio.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pdev.h"

bool lio_parse_naa(const char *pdev, char tport[LIO_TPORT_MAX], unsigned *lun)
{
	const char *p = pdev;
	unsigned long v = 0;

	if (!p || strncmp(p, "naa.", 4))
		return false;
	p += 4;
	for (int i = 0; i < 16; i++, p++)
		if (!isxdigit((unsigned char)*p))
			return false;
	if (*p++ != ':' || !*p || strlen(p) > 5)
		return false;
	for (const char *q = p; *q; q++) {
		if (*q < '0' || *q > '9')
			return false;
		v = v * 10 + (unsigned)(*q - '0');
	}
	if (v > 0xffff)
		return false;
	snprintf(tport, LIO_TPORT_MAX, "%.20s", pdev);
	*lun = (unsigned)v;
	return true;
}

/* What identifies a device or file, to compare a user's name for it
 * with a backstore's udev_path. */
struct ident {
	const char *raw;
	bool have_real, have_stat, have_rdev, have_hctl, blk;
	char real[PATH_MAX];
	dev_t dev, rdev;
	ino_t ino;
	struct pdev_hctl hctl;
};

static int ident_of(const char *p, const char *sysfs, struct ident *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	id->raw = p;
	if (pdev_parse_hctl(p, &id->hctl)) {
		id->have_hctl = true;
		return 0;
	}
	if (realpath(p, id->real))
		id->have_real = true;
	if (stat(p, &st))
		return -errno;
	id->have_stat = true;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	if (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode)) {
		struct pdev_info info;
		char e[512];

		id->have_rdev = true;
		id->blk = S_ISBLK(st.st_mode);
		id->rdev = st.st_rdev;
		/* /dev/sdb and /dev/sg2 are one SCSI device. */
		if (pdev_resolve(p, sysfs, &info, e, sizeof(e)) == 0 && info.kind == PDEV_SG) {
			id->have_hctl = true;
			id->hctl = info.hctl;
		}
	}
	return 0;
}

static bool same_device(const struct ident *a, const struct ident *b)
{
	if (!strcmp(a->raw, b->raw))
		return true;
	if (a->have_real && b->have_real && !strcmp(a->real, b->real))
		return true;
	if (a->have_stat && b->have_stat && a->dev == b->dev && a->ino == b->ino)
		return true;
	if (a->have_rdev && b->have_rdev && a->blk == b->blk && a->rdev == b->rdev)
		return true;
	return a->have_hctl && b->have_hctl && a->hctl.host == b->hctl.host &&
	       a->hctl.channel == b->hctl.channel && a->hctl.target == b->hctl.target &&
	       a->hctl.lun == b->hctl.lun;
}

static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return true;
}

/* A backstore whose udev_path is empty (set by targetcli, not by the
 * kernel) is named by its info attribute instead: fileio prints
 * "File: PATH", iblock "UDEV PATH: PATH" or "Major: M Minor: m", pscsi
 * its SCSI address. Fills out with a path or "H:C:T:L"; false if none. */
static bool backstore_from_info(const char *dir, char *out, size_t len)
{
	char path[PATH_MAX * 3 + 8], info[4096], *p;
	FILE *f;
	size_t n;
	int maj, min, ch, tg, host;
	unsigned long long lun;

	snprintf(path, sizeof(path), "%s/info", dir);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(info, 1, sizeof(info) - 1, f);
	fclose(f);
	info[n] = 0;
	if ((p = strstr(info, "File: ")) || (p = strstr(info, "UDEV PATH: "))) {
		p = strchr(p, ':') + 2;
		n = strcspn(p, " \n");
		if (n == 0 || n >= len)
			return false;
		snprintf(out, len, "%.*s", (int)n, p);
		return true;
	}
	if ((p = strstr(info, "Channel ID: ")) &&
	    sscanf(p, "Channel ID: %d Target ID: %d LUN: %llu Host ID: %d", &ch, &tg, &lun, &host) == 4) {
		snprintf(out, len, "%d:%d:%d:%llu", host, ch, tg, lun);
		return true;
	}
	if ((p = strstr(info, "Major: ")) && sscanf(p, "Major: %d Minor: %d", &maj, &min) == 2) {
		snprintf(out, len, "/dev/block/%d:%d", maj, min);
		return true;
	}
	return false;
}

/* Calls visit for every LUN of every xen-pvscsi TPG until it returns
 * true. Returns -ENOENT if there is no xen-pvscsi directory. */
typedef bool (*lio_visit)(const struct lio_lun *l, void *arg);

static int walk(const char *configfs, lio_visit visit, void *arg)
{
	char root[PATH_MAX], p[PATH_MAX * 2];
	DIR *dt;
	struct dirent *et;
	bool stop = false;

	snprintf(root, sizeof(root), "%s/target/xen-pvscsi", configfs);
	dt = opendir(root);
	if (!dt)
		return -errno;
	while (!stop && (et = readdir(dt))) {
		DIR *dg;
		struct dirent *eg;

		if (et->d_name[0] == '.' || strlen(et->d_name) >= LIO_TPORT_MAX)
			continue;
		snprintf(p, sizeof(p), "%s/%s", root, et->d_name);
		dg = opendir(p);
		if (!dg)
			continue;
		while (!stop && (eg = readdir(dg))) {
			struct lio_lun l;
			char nexus[256], extra;
			DIR *dl;
			struct dirent *el;

			memset(&l, 0, sizeof(l));
			if (sscanf(eg->d_name, "tpgt_%u%c", &l.tpgt, &extra) != 1)
				continue;
			snprintf(l.tport, sizeof(l.tport), "%s", et->d_name);
			snprintf(p, sizeof(p), "%s/%s/%s/nexus", root, et->d_name, eg->d_name);
			l.nexus = read_line(p, nexus, sizeof(nexus)) && nexus[0];
			snprintf(p, sizeof(p), "%s/%s/%s/lun", root, et->d_name, eg->d_name);
			dl = opendir(p);
			if (!dl)
				continue;
			while (!stop && (el = readdir(dl))) {
				DIR *ds;
				struct dirent *es;

				if (sscanf(el->d_name, "lun_%u%c", &l.lun, &extra) != 1)
					continue;
				snprintf(p, sizeof(p), "%s/%s/%s/lun/%s", root, et->d_name, eg->d_name,
					 el->d_name);
				ds = opendir(p);
				if (!ds)
					continue;
				/* The storage object is the one entry with a udev_path. */
				while (!stop && (es = readdir(ds))) {
					char up[PATH_MAX * 3];

					if (es->d_name[0] == '.')
						continue;
					snprintf(up, sizeof(up), "%s/%s/udev_path", p, es->d_name);
					if (!read_line(up, l.udev_path, sizeof(l.udev_path)))
						continue;
					if (!l.udev_path[0]) {
						snprintf(up, sizeof(up), "%s/%s", p, es->d_name);
						backstore_from_info(up, l.udev_path, sizeof(l.udev_path));
					}
					snprintf(l.pdev, sizeof(l.pdev), "%s:%u", l.tport, l.lun);
					stop = visit(&l, arg);
				}
				closedir(ds);
			}
			closedir(dl);
		}
		closedir(dg);
	}
	closedir(dt);
	return 0;
}

static const char *root_of(const char *configfs)
{
	return configfs ? configfs : LIO_CONFIGFS_DEFAULT;
}

static int no_target(const char *configfs, int rc, char *err, size_t errlen)
{
	if (rc == -ENOENT)
		snprintf(err, errlen, "no xen-pvscsi target in %s/target (is the xen-scsiback module "
			 "loaded, with a target created, e.g. by targetcli?)", configfs);
	else
		snprintf(err, errlen, "cannot read %s/target/xen-pvscsi: %s", configfs, strerror(-rc));
	return rc;
}

static int no_nexus(const struct lio_lun *l, const char *configfs, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s is LUN %u of TPG %s/tpgt_%u, which has no I_T nexus; create one: "
		 "echo %s > %s/target/xen-pvscsi/%s/tpgt_%u/nexus", l->udev_path, l->lun, l->tport,
		 l->tpgt, l->tport, configfs, l->tport, l->tpgt);
	return -ENOTCONN;
}

struct find_dev {
	const char *sysfs;
	struct ident want;
	struct lio_lun best;
	bool found;
};

static bool visit_find_dev(const struct lio_lun *l, void *arg)
{
	struct find_dev *f = arg;
	struct ident have;

	if (f->found && f->best.nexus)
		return true;
	ident_of(l->udev_path, f->sysfs, &have);
	if (same_device(&f->want, &have) && (!f->found || l->nexus)) {
		f->best = *l;
		f->found = true;
	}
	return f->found && f->best.nexus;
}

int lio_find_device(const char *configfs, const char *sysfs_root, const char *dev,
		    struct lio_lun *out, char *err, size_t errlen)
{
	struct find_dev f = { .sysfs = sysfs_root };
	int rc;

	configfs = root_of(configfs);
	rc = ident_of(dev, sysfs_root, &f.want);
	if (rc) {
		snprintf(err, errlen, "%s: %s", dev, strerror(-rc));
		return rc;
	}
	rc = walk(configfs, visit_find_dev, &f);
	if (rc)
		return no_target(configfs, rc, err, errlen);
	if (!f.found) {
		snprintf(err, errlen, "%s is not a LUN of any xen-pvscsi TPG in %s/target/xen-pvscsi "
			 "(create a backstore for it and map it into a TPG first)", dev, configfs);
		return -ENOENT;
	}
	*out = f.best;
	if (!f.best.nexus)
		return no_nexus(&f.best, configfs, err, errlen);
	return 0;
}

struct find_pdev {
	char tport[LIO_TPORT_MAX];
	unsigned lun;
	bool tport_seen, found;
	struct lio_lun l;
};

static bool visit_find_pdev(const struct lio_lun *l, void *arg)
{
	struct find_pdev *f = arg;

	if (strcasecmp(l->tport, f->tport))
		return false;
	f->tport_seen = true;
	if (l->lun != f->lun || (f->found && f->l.nexus))
		return false;
	f->l = *l;
	f->found = true;
	return l->nexus;
}

int lio_check_pdev(const char *configfs, const char *pdev, struct lio_lun *out, char *err,
		   size_t errlen)
{
	struct find_pdev f = { .found = false };
	char tpdir[PATH_MAX + LIO_TPORT_MAX];
	struct stat st;
	int rc;

	configfs = root_of(configfs);
	if (!lio_parse_naa(pdev, f.tport, &f.lun)) {
		snprintf(err, errlen, "p-dev \"%s\" is not naa.<16 hex digits>:<lun>", pdev);
		return -EINVAL;
	}
	rc = walk(configfs, visit_find_pdev, &f);
	if (rc)
		return no_target(configfs, rc, err, errlen);
	snprintf(tpdir, sizeof(tpdir), "%s/target/xen-pvscsi/%s", configfs, f.tport);
	if (!f.found) {
		if (!f.tport_seen && stat(tpdir, &st))
			snprintf(err, errlen, "p-dev \"%s\": no xen-pvscsi target %s in %s/target/xen-pvscsi",
				 pdev, f.tport, configfs);
		else
			snprintf(err, errlen, "p-dev \"%s\": target %s has no LUN %u with a backstore",
				 pdev, f.tport, f.lun);
		return -ENOENT;
	}
	*out = f.l;
	if (!f.l.nexus)
		return no_nexus(&f.l, configfs, err, errlen);
	return 0;
}
