#include "domains.h"
#include "domrecord.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "decimal.h"
#include "toolstack.h"
#include "xsutil.h"

/* A domid as xenstore writes it (decimal.h), below DOMID_FIRST_RESERVED. */
static bool parse_domid(const char *s, unsigned *out)
{
	uint64_t v;

	if (!dec_parse_str(s, 0x7fef, &v))
		return false;
	*out = (unsigned)v;
	return true;
}

char *dom_name(struct xs_handle *xs, unsigned domid)
{
	return xsu_readf(xs, XBT_NULL, "/local/domain/%u/name", domid);
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

int dom_list(struct xs_handle *xs, unsigned **ids)
{
	unsigned n = 0, k = 0;
	char **d = xs_directory(xs, XBT_NULL, "/local/domain", &n);

	*ids = NULL;
	if (!d)
		return -errno;
	*ids = calloc(n ? n : 1, sizeof(**ids));
	if (!*ids) {
		free(d);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		unsigned id;

		if (parse_domid(d[i], &id) && ts_domain_exists(xs, id))
			(*ids)[k++] = id;
	}
	free(d);
	qsort(*ids, k, sizeof(**ids), cmp_unsigned);
	return (int)k;
}

int dom_lookup(struct xs_handle *xs, const char *spec, unsigned *domid, char *err, size_t errlen)
{
	unsigned *ids, found = 0, hits = 0;
	int n;

	if (!spec || !*spec) {
		snprintf(err, errlen, "empty domain name");
		return -EINVAL;
	}
	if (parse_domid(spec, domid)) {
		if (ts_domain_exists(xs, *domid))
			return 0;
		snprintf(err, errlen, "no domain %s (no /local/domain/%u in xenstore)", spec, *domid);
		return -ENOENT;
	}
	n = dom_list(xs, &ids);
	if (n < 0) {
		snprintf(err, errlen, "cannot list domains: %s", strerror(-n));
		return n;
	}
	for (int i = 0; i < n; i++) {
		char *name = dom_name(xs, ids[i]);

		if (name && !strcmp(name, spec)) {
			if (!hits++)
				found = ids[i];
		}
		free(name);
	}
	free(ids);
	if (hits == 1) {
		*domid = found;
		return 0;
	}
	if (hits > 1) {
		snprintf(err, errlen, "%u domains are named \"%s\"; give the domain id", hits, spec);
		return -EINVAL;
	}
	snprintf(err, errlen, "no domain named \"%s\"", spec);
	return -ENOENT;
}

char *dom_uuid(struct xs_handle *xs, unsigned domid)
{
	char *vm = xsu_readf(xs, XBT_NULL, "/local/domain/%u/vm", domid), *uuid = NULL;

	if (vm && !strncmp(vm, "/vm/", 4) && strlen(vm) == 4 + DOMREC_UUID_LEN && domrec_uuid_ok(vm + 4))
		uuid = strdup(vm + 4);
	free(vm);
	return uuid;
}

unsigned dom_self(struct xs_handle *xs)
{
	unsigned len, id = 0;
	char *v = xs_read(xs, XBT_NULL, "domid", &len);

	if (v && !parse_domid(v, &id))
		id = 0;
	free(v);
	return id;
}
