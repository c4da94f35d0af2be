/* Xenstore path rules: allowed characters, relative paths, length limits. */
#include "xs_store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <xen/io/xs_wire.h>

static bool path_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '/' || c == '_' ||
	       c == '@';
}

static bool path_chars_ok(const char *p)
{
	for (; *p; p++)
		if (!path_char_ok(*p))
			return false;
	return true;
}

bool xs_path_is_special(const char *path)
{
	return path[0] == '@' && path[1] && path_chars_ok(path) &&
	       strlen(path) <= XENSTORE_REL_PATH_MAX;
}

bool xs_path_is_valid_abs(const char *path)
{
	size_t len = strlen(path);

	if (path[0] != '/' || len > XENSTORE_ABS_PATH_MAX)
		return false;
	if (len > 1 && path[len - 1] == '/')
		return false;
	if (strstr(path, "//"))
		return false;
	return path_chars_ok(path);
}

/* Length of the part below "/local/domain/<n>/", as C xenstored counts it
 * for its relative path limit. */
static size_t path_local_len(const char *path)
{
	static const char prefix[] = "/local/domain/";
	const char *p = path + sizeof(prefix) - 1;
	size_t digits = 0;

	if (strncmp(path, prefix, sizeof(prefix) - 1))
		return strlen(path);
	while (p[digits] >= '0' && p[digits] <= '9' && digits < 5)
		digits++;
	if (!digits || p[digits] != '/')
		return strlen(path);
	return strlen(p + digits + 1);
}

int xs_path_canonical(unsigned domid, const char *in, bool allow_special,
		      char *out, size_t outlen, bool *relative)
{
	int n;

	if (relative)
		*relative = false;
	if (!in || !in[0] || !path_chars_ok(in))
		return -EINVAL;
	if (in[0] == '@') {
		if (!allow_special || !xs_path_is_special(in))
			return -EINVAL;
		n = snprintf(out, outlen, "%s", in);
	} else if (in[0] == '/') {
		n = snprintf(out, outlen, "%s", in);
	} else {
		if (relative)
			*relative = true;
		n = snprintf(out, outlen, "/local/domain/%u/%s", domid, in);
	}
	if (n < 0 || (size_t)n >= outlen)
		return -EINVAL;
	if (out[0] == '@')
		return 0;
	if (!xs_path_is_valid_abs(out))
		return -EINVAL;
	if (domid != 0 && path_local_len(out) > XENSTORE_REL_PATH_MAX)
		return -EINVAL;
	return 0;
}

bool xs_path_is_below(const char *child, const char *parent)
{
	size_t len = strlen(parent);

	if (!strcmp(parent, "/"))
		return child[0] == '/';
	return !strncmp(child, parent, len) &&
	       (child[len] == '/' || child[len] == '\0');
}

void xs_path_domain(unsigned domid, char *buf, size_t len)
{
	snprintf(buf, len, "/local/domain/%u", domid);
}
