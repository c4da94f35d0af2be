/* libxenstore helpers; see xsutil.h. */
#include "xsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"

static int vpathf(char *buf, size_t len, const char *fmt, va_list ap)
{
	int n = vsnprintf(buf, len, fmt, ap);

	return n >= 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

int xsu_pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vpathf(buf, len, fmt, ap);
	va_end(ap);
	return r;
}

static char *vreadf(struct xs_handle *xs, xs_transaction_t t, const char *fmt, va_list ap)
{
	char path[XSU_PATH_MAX];
	unsigned len;

	if (vpathf(path, sizeof(path), fmt, ap) < 0) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return xs_read(xs, t, path, &len);
}

char *xsu_readf(struct xs_handle *xs, xs_transaction_t t, const char *fmt, ...)
{
	va_list ap;
	char *v;

	va_start(ap, fmt);
	v = vreadf(xs, t, fmt, ap);
	va_end(ap);
	return v;
}

bool xsu_parse_int(const char *s, int *out)
{
	uint64_t v;

	if (!dec_parse_str(s, INT_MAX, &v))
		return false;
	*out = (int)v;
	return true;
}

int xsu_read_intf(struct xs_handle *xs, xs_transaction_t t, int dflt, const char *fmt, ...)
{
	va_list ap;
	char *v;
	int x;

	va_start(ap, fmt);
	v = vreadf(xs, t, fmt, ap);
	va_end(ap);
	if (!v || !xsu_parse_int(v, &x))
		x = dflt;
	free(v);
	return x;
}

char **xsu_directoryf(struct xs_handle *xs, xs_transaction_t t, unsigned *n, const char *fmt, ...)
{
	char path[XSU_PATH_MAX];
	va_list ap;
	char **d;
	int r;

	*n = 0;
	va_start(ap, fmt);
	r = vpathf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (r < 0) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	d = xs_directory(xs, t, path, n);
	if (!d)
		*n = 0;
	return d;
}

static int vwrite(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *fmt,
		  va_list ap)
{
	char *val;
	int n, r = 0;

	n = vasprintf(&val, fmt, ap);
	if (n < 0)
		return -ENOMEM;
	if (!xs_write(xs, t, path, val, (unsigned)n))
		r = errno ? -errno : -EIO;
	free(val);
	return r;
}

int xsu_printf(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vwrite(xs, t, path, fmt, ap);
	va_end(ap);
	return r;
}

int xsu_write_uintf(struct xs_handle *xs, xs_transaction_t t, unsigned value, const char *fmt, ...)
{
	char path[XSU_PATH_MAX];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vpathf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return r < 0 ? r : xsu_printf(xs, t, path, "%u", value);
}

int xsu_printf_existing(struct xs_handle *xs, const char *path, const char *fmt, ...)
{
	char parent[XSU_PATH_MAX], *val, *slash, *dir;
	unsigned len;
	va_list ap;
	int n, r = -EAGAIN;
	bool ok;

	if (xsu_pathf(parent, sizeof(parent), "%s", path) < 0)
		return -ENAMETOOLONG;
	slash = strrchr(parent, '/');
	if (slash)
		*slash = 0;
	va_start(ap, fmt);
	n = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	for (int tries = 0; tries < 16; tries++) {
		xs_transaction_t t = xs_transaction_start(xs);

		if (t == XBT_NULL) {
			r = -(errno ? errno : EIO);
			break;
		}
		dir = xs_read(xs, t, parent, &len);
		ok = dir && xs_write(xs, t, path, val, (unsigned)n);
		r = -(errno ? errno : EIO);
		free(dir);
		if (!ok) {
			xs_transaction_end(xs, t, true);
			break;
		}
		if (xs_transaction_end(xs, t, false)) {
			r = 0;
			break;
		}
		r = -(errno ? errno : EIO);
		if (r != -EAGAIN)
			break;
	}
	free(val);
	if (r < 0)
		errno = -r;
	return r;
}
