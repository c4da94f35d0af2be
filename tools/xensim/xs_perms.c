/* Xenstore permission entries: "<r|w|b|n><domid>" and who gets what. */
#include "xs_store.h"

#include <errno.h>
#include <stdio.h>

int xs_perm_parse(const char *s, struct xs_perm *p)
{
	unsigned long id = 0;
	const char *d;

	switch (s[0]) {
	case 'n': p->mode = XS_STORE_PERM_NONE; break;
	case 'r': p->mode = XS_STORE_PERM_READ; break;
	case 'w': p->mode = XS_STORE_PERM_WRITE; break;
	case 'b': p->mode = XS_STORE_PERM_BOTH; break;
	default: return -EINVAL;
	}
	if (!s[1])
		return -EINVAL;
	for (d = s + 1; *d; d++) {
		if (*d < '0' || *d > '9')
			return -EINVAL;
		id = id * 10 + (unsigned long)(*d - '0');
		if (id > 0xffff) /* domid_t is 16 bits */
			return -EINVAL;
	}
	p->domid = (unsigned)id;
	return 0;
}

void xs_perm_format(const struct xs_perm *p, char *buf, size_t len)
{
	static const char letter[] = { 'n', 'r', 'w', 'b' };

	snprintf(buf, len, "%c%u", letter[p->mode & XS_STORE_PERM_BOTH],
		 p->domid);
}

static bool perm_names(const struct xs_perm *p, unsigned domid,
		       bool has_target, unsigned target)
{
	return p->domid == domid || (has_target && p->domid == target);
}

unsigned xs_perm_for(const struct xs_perm *perms, unsigned nperms,
		     unsigned domid, bool has_target, unsigned target)
{
	const unsigned all = XS_STORE_PERM_BOTH | XS_STORE_PERM_OWNER;

	if (domid == 0 || !nperms)
		return domid == 0 ? all : XS_STORE_PERM_NONE;
	if (perm_names(&perms[0], domid, has_target, target))
		return all;
	for (unsigned i = 1; i < nperms; i++)
		if (perm_names(&perms[i], domid, has_target, target))
			return perms[i].mode & XS_STORE_PERM_BOTH;
	return perms[0].mode & XS_STORE_PERM_BOTH;
}
