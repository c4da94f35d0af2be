/* p-dev parsing and resolution; see pdev.h for the forms. */
#include "pdev.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define ISCSI_NAME_MAX 223   /* RFC 3720 3.2.6.1 */

/* Writes 'p-dev "<pdev>": <cause>' into err and returns rc. */
__attribute__((format(printf, 5, 6)))
static int fail(char *err, size_t errlen, const char *pdev, int rc, const char *fmt, ...)
{
	char cause[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cause, sizeof(cause), fmt, ap);
	va_end(ap);
	if (err && errlen)
		snprintf(err, errlen, "p-dev \"%.160s\": %s", pdev, cause);
	return rc;
}

/* snprintf for paths: false when the result does not fit. */
__attribute__((format(printf, 3, 4)))
static bool pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < len;
}

/* Decimal digits only (no sign, no spaces), at most max. */
static bool parse_dec(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

bool pdev_parse_hctl(const char *s, struct pdev_hctl *out)
{
	uint64_t v[4];
	const char *p = s;

	for (int i = 0; i < 4; i++) {
		const char *end = strchr(p, ':');
		size_t len = (i < 3) ? (end ? (size_t)(end - p) : 0) : strlen(p);

		if (i < 3 && !end)
			return false;
		if (!parse_dec(p, len, i < 3 ? UINT32_MAX : UINT64_MAX, &v[i]))
			return false;
		p += len + 1;
	}
	if (out) {
		out->host = (uint32_t)v[0];
		out->channel = (uint32_t)v[1];
		out->target = (uint32_t)v[2];
		out->lun = v[3];
	}
	return true;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and '-'. */
static bool valid_hostname(const char *h, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = h[i];

		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && h[len - 1] != '-';
}

static bool all_digits_and_dots(const char *h, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)h[i]) && h[i] != '.')
			return false;
	return true;
}

static bool valid_target_name(const char *t, size_t len)
{
	if (len < 5 || len > ISCSI_NAME_MAX)
		return false;
	if (strncasecmp(t, "iqn.", 4) && strncasecmp(t, "eui.", 4) && strncasecmp(t, "naa.", 4))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = t[i];

		if (!isalnum((unsigned char)c) && c != '.' && c != '-' && c != ':')
			return false;
	}
	return true;
}

int pdev_parse_iscsi(const char *url, struct pdev_info *out, char *err, size_t errlen)
{
	const char *auth, *slash, *path, *last, *hend, *pstart = NULL;
	char host[256];
	bool v6 = false;
	uint64_t port = PDEV_ISCSI_PORT_DEFAULT, lun;
	size_t hlen;

	if (strncasecmp(url, "iscsi://", 8))
		return fail(err, errlen, url, -EINVAL, "not an iscsi:// URL");
	auth = url + 8;
	slash = strchr(auth, '/');
	if (!slash)
		return fail(err, errlen, url, -EINVAL,
			    "missing target name and LUN (expected iscsi://host[:port]/target/lun)");
	if (memchr(auth, '@', (size_t)(slash - auth)))
		return fail(err, errlen, url, -EINVAL,
			    "credentials do not belong in a p-dev (guests can read it); "
			    "put CHAP settings in the backend configuration");
	if (slash == auth)
		return fail(err, errlen, url, -EINVAL, "missing host");

	if (auth[0] == '[') {
		const char *close = memchr(auth, ']', (size_t)(slash - auth));

		if (!close)
			return fail(err, errlen, url, -EINVAL, "IPv6 address without closing ']'");
		v6 = true;
		hlen = (size_t)(close - auth - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			return fail(err, errlen, url, -EINVAL, "empty or overlong IPv6 address");
		memcpy(host, auth + 1, hlen);
		host[hlen] = 0;
		hend = close + 1;
		if (hend < slash) {
			if (*hend != ':')
				return fail(err, errlen, url, -EINVAL, "junk after IPv6 address");
			pstart = hend + 1;
		}
		struct in6_addr a6;
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return fail(err, errlen, url, -EINVAL, "invalid IPv6 address \"%s\"", host);
	} else {
		const char *colon = memchr(auth, ':', (size_t)(slash - auth));

		hend = colon ? colon : slash;
		if (colon && memchr(colon + 1, ':', (size_t)(slash - colon - 1)))
			return fail(err, errlen, url, -EINVAL,
				    "too many ':' in host (write an IPv6 address as [addr])");
		hlen = (size_t)(hend - auth);
		if (hlen == 0)
			return fail(err, errlen, url, -EINVAL, "missing host");
		if (hlen >= sizeof(host))
			return fail(err, errlen, url, -EINVAL, "host name too long");
		memcpy(host, auth, hlen);
		host[hlen] = 0;
		if (all_digits_and_dots(host, hlen)) {
			struct in_addr a4;

			if (inet_pton(AF_INET, host, &a4) != 1)
				return fail(err, errlen, url, -EINVAL, "invalid IPv4 address \"%s\"", host);
		} else if (!valid_hostname(host, hlen)) {
			return fail(err, errlen, url, -EINVAL, "invalid host name \"%s\"", host);
		}
		if (colon)
			pstart = colon + 1;
	}
	if (pstart) {
		if (!parse_dec(pstart, (size_t)(slash - pstart), UINT64_MAX, &port))
			return fail(err, errlen, url, -EINVAL, "port \"%.*s\" is not a decimal number",
				    (int)(slash - pstart), pstart);
		if (port < 1 || port > 65535)
			return fail(err, errlen, url, -EINVAL, "port %" PRIu64 " out of range 1-65535", port);
	}

	path = slash + 1;
	last = strrchr(path, '/');
	if (!last)
		return fail(err, errlen, url, -EINVAL, "missing LUN (expected iscsi://host[:port]/target/lun)");
	if (last == path)
		return fail(err, errlen, url, -EINVAL, "missing target name");
	if (!valid_target_name(path, (size_t)(last - path))) {
		if (memchr(path, '/', (size_t)(last - path)))
			return fail(err, errlen, url, -EINVAL, "'/' in target name");
		return fail(err, errlen, url, -EINVAL,
			    "invalid target name \"%.*s\" (an iqn., eui. or naa. name of "
			    "letters, digits, '.', '-', ':'; at most %d bytes)",
			    (int)((last - path) > 120 ? 120 : (last - path)), path, ISCSI_NAME_MAX);
	}
	if (last[1] == 0)
		return fail(err, errlen, url, -EINVAL, "missing LUN after the target name");
	if (!parse_dec(last + 1, strlen(last + 1), UINT64_MAX, &lun))
		return fail(err, errlen, url, -EINVAL, "LUN \"%s\" is not a decimal number", last + 1);
	if (lun > PDEV_ISCSI_LUN_MAX)
		return fail(err, errlen, url, -EINVAL, "LUN %" PRIu64 " out of range 0-%d",
			    lun, PDEV_ISCSI_LUN_MAX);

	memset(out, 0, sizeof(*out));
	out->kind = PDEV_ISCSI;
	snprintf(out->host, sizeof(out->host), "%s", host);
	out->port = (uint16_t)port;
	snprintf(out->target, sizeof(out->target), "%.*s", (int)(last - path), path);
	out->lun = (uint16_t)lun;
	snprintf(out->portal, sizeof(out->portal), v6 ? "[%s]:%u" : "%s:%u", host, out->port);
	snprintf(out->path, sizeof(out->path), "iscsi://%s/%s/%u", out->portal, out->target, out->lun);
	return 0;
}

int pdev_parse_null(const char *pdev, struct pdev_info *out, char *err, size_t errlen)
{
	if (strncmp(pdev, "null:", 5))
		return fail(err, errlen, pdev, -EINVAL, "not a null: p-dev");
	if (!pdev[5])
		return fail(err, errlen, pdev, -EINVAL, "missing kind after \"null:\" (expected null:disk)");
	if (strcmp(pdev + 5, "disk"))
		return fail(err, errlen, pdev, -EINVAL, "unknown null kind \"%.32s\" (expected disk)", pdev + 5);
	memset(out, 0, sizeof(*out));
	out->kind = PDEV_NULL;
	snprintf(out->null_kind, sizeof(out->null_kind), "%s", pdev + 5);
	snprintf(out->path, sizeof(out->path), "%s", pdev);
	return 0;
}

/* Finds the sg node of the SCSI device whose sysfs directory is devdir:
 * devdir/scsi_generic/sgN (or the old devdir/generic link). */
static int find_sg_of(const char *devdir, unsigned *sgnum)
{
	char p[PATH_MAX];
	DIR *d;
	struct dirent *e;
	int rc = -ENODEV;

	if (!pathf(p, sizeof(p), "%s/scsi_generic", devdir))
		return -ENAMETOOLONG;
	d = opendir(p);
	if (d) {
		while ((e = readdir(d))) {
			uint64_t n;

			if (!strncmp(e->d_name, "sg", 2) &&
			    parse_dec(e->d_name + 2, strlen(e->d_name + 2), UINT32_MAX, &n)) {
				*sgnum = (unsigned)n;
				rc = 0;
				break;
			}
		}
		closedir(d);
		return rc;
	}
	/* Kernels before the scsi_generic class directory had a link. */
	if (!pathf(p, sizeof(p), "%s/generic", devdir))
		return -ENAMETOOLONG;
	char target[PATH_MAX];
	ssize_t n = readlink(p, target, sizeof(target) - 1);
	if (n > 0) {
		uint64_t v;

		target[n] = 0;
		const char *base = strrchr(target, '/');
		base = base ? base + 1 : target;
		if (!strncmp(base, "sg", 2) && parse_dec(base + 2, strlen(base + 2), UINT32_MAX, &v)) {
			*sgnum = (unsigned)v;
			return 0;
		}
	}
	return -ENODEV;
}

/* Fills out for the SCSI device whose sysfs directory is devdir. */
static int resolve_scsi_dir(const char *pdev, const char *devdir, struct pdev_info *out,
			    char *err, size_t errlen)
{
	char real[PATH_MAX];
	struct pdev_hctl hctl;
	unsigned sg;
	const char *base;

	if (!realpath(devdir, real))
		return fail(err, errlen, pdev, -ENODEV, "%s: %s", devdir, strerror(errno));
	base = strrchr(real, '/');
	base = base ? base + 1 : real;
	if (!pdev_parse_hctl(base, &hctl))
		return fail(err, errlen, pdev, -ENODEV, "not a SCSI device (its sysfs device is %s)", real);
	if (find_sg_of(real, &sg))
		return fail(err, errlen, pdev, -ENODEV,
			    "SCSI device %s has no sg node (is the sg driver loaded?)", base);
	memset(out, 0, sizeof(*out));
	out->kind = PDEV_SG;
	out->hctl = hctl;
	snprintf(out->path, sizeof(out->path), "/dev/sg%u", sg);
	return 0;
}

static int resolve_hctl(const char *pdev, const char *sys, const struct pdev_hctl *h,
			struct pdev_info *out, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat st;

	if (!pathf(dir, sizeof(dir), "%s/bus/scsi/devices/%u:%u:%u:%" PRIu64, sys,
		   h->host, h->channel, h->target, h->lun))
		return fail(err, errlen, pdev, -ENAMETOOLONG, "sysfs path too long");
	if (stat(dir, &st))
		return fail(err, errlen, pdev, -ENODEV, "no SCSI device %u:%u:%u:%" PRIu64 " on this host",
			    h->host, h->channel, h->target, h->lun);
	return resolve_scsi_dir(pdev, dir, out, err, errlen);
}

/* /dev/sgN by name: the kernel names sg nodes after their minor. */
static int resolve_sg_name(const char *pdev, const char *sys, unsigned n, struct pdev_info *out,
			   char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat st;
	int rc;

	if (!pathf(dir, sizeof(dir), "%s/class/scsi_generic/sg%u", sys, n))
		return fail(err, errlen, pdev, -ENAMETOOLONG, "sysfs path too long");
	if (stat(dir, &st))
		return fail(err, errlen, pdev, -ENODEV, "no such SCSI generic device sg%u", n);
	if (!pathf(dir, sizeof(dir), "%s/class/scsi_generic/sg%u/device", sys, n))
		return fail(err, errlen, pdev, -ENAMETOOLONG, "sysfs path too long");
	rc = resolve_scsi_dir(pdev, dir, out, err, errlen);
	if (rc == 0)
		snprintf(out->path, sizeof(out->path), "/dev/sg%u", n);
	return rc;
}

static int resolve_node(const char *pdev, const char *sys, struct pdev_info *out,
			char *err, size_t errlen)
{
	struct stat st;
	char dir[PATH_MAX], probe[PATH_MAX + 16];
	const char *cls;

	unsigned maj, min;

	if (stat(pdev, &st)) {
		int e = errno;

		return fail(err, errlen, pdev, -e, "%s", strerror(e));
	}
	maj = major(st.st_rdev);
	min = minor(st.st_rdev);
	if (S_ISBLK(st.st_mode))
		cls = "block";
	else if (S_ISCHR(st.st_mode))
		cls = "char";
	else
		return fail(err, errlen, pdev, -ENODEV, "not a device node");
	if (!pathf(dir, sizeof(dir), "%s/dev/%s/%u:%u", sys, cls, maj, min))
		return fail(err, errlen, pdev, -ENAMETOOLONG, "sysfs path too long");
	if (stat(dir, &st))
		return fail(err, errlen, pdev, -ENODEV, "%s device %u:%u is not known to sysfs",
			    cls, maj, min);
	if (!pathf(probe, sizeof(probe), "%s/partition", dir))
		return fail(err, errlen, pdev, -ENAMETOOLONG, "sysfs path too long");
	if (access(probe, F_OK) == 0)
		return fail(err, errlen, pdev, -EINVAL,
			    "is a partition; pass the whole device to the guest");
	if (!pathf(probe, sizeof(probe), "%s/device", dir))
		return fail(err, errlen, pdev, -ENAMETOOLONG, "sysfs path too long");
	if (access(probe, F_OK))
		return fail(err, errlen, pdev, -ENODEV, "not a SCSI device (%s device %u:%u)",
			    cls, maj, min);
	return resolve_scsi_dir(pdev, probe, out, err, errlen);
}

int pdev_resolve(const char *pdev, const char *sysfs_root, struct pdev_info *out,
		 char *err, size_t errlen)
{
	const char *sys = sysfs_root ? sysfs_root : "/sys";
	struct pdev_hctl hctl;
	uint64_t n;

	if (err && errlen)
		err[0] = 0;
	if (!pdev || !pdev[0])
		return fail(err, errlen, "", -EINVAL, "empty");
	if (strlen(pdev) >= sizeof(out->path))
		return fail(err, errlen, pdev, -EINVAL, "too long");
	for (const char *p = pdev; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ' ')
			return fail(err, errlen, pdev, -EINVAL, "contains spaces or control characters");

	if (!strncasecmp(pdev, "iscsi://", 8))
		return pdev_parse_iscsi(pdev, out, err, errlen);
	if (!strncasecmp(pdev, "iscsi:", 6) || strstr(pdev, "://"))
		return fail(err, errlen, pdev, -EINVAL,
			    "unsupported URL (expected iscsi://host[:port]/target/lun)");
	if (!strncmp(pdev, "null:", 5))
		return pdev_parse_null(pdev, out, err, errlen);
	if (pdev_parse_hctl(pdev, &hctl))
		return resolve_hctl(pdev, sys, &hctl, out, err, errlen);
	if (pdev[0] == '/') {
		if (!strncmp(pdev, "/dev/sg", 7) &&
		    parse_dec(pdev + 7, strlen(pdev + 7), UINT32_MAX, &n))
			return resolve_sg_name(pdev, sys, (unsigned)n, out, err, errlen);
		return resolve_node(pdev, sys, out, err, errlen);
	}
	if (strchr(pdev, ':') && isdigit((unsigned char)pdev[0]))
		return fail(err, errlen, pdev, -EINVAL,
			    "bad SCSI address (expected four decimal numbers H:C:T:L)");
	return fail(err, errlen, pdev, -EINVAL,
		    "unrecognized form (expected H:C:T:L, a /dev path, "
		    "iscsi://host[:port]/target/lun or null:disk)");
}
