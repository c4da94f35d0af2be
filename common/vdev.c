/* v-dev and dev-N names; see vdev.h for the rule. */
#include "vdev.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decimal.h"

/* n canonical numbers, each at most VDEV_PART_MAX, separated by ':',
 * into *out[0..n-1]; nothing is written unless all of them are good. */
static int parse_parts(const char *s, unsigned n, unsigned *const out[])
{
	const char *p = s;
	unsigned v[4];

	if (!s || n > 4)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		const char *end = i + 1 < n ? strchr(p, ':') : p + strlen(p);
		uint64_t x;

		if (!end || !dec_parse(p, (size_t)(end - p), VDEV_PART_MAX, &x))
			return -EINVAL;
		v[i] = (unsigned)x;
		p = end + 1;
	}
	for (unsigned i = 0; i < n; i++)
		*out[i] = v[i];
	return 0;
}

int vdev_parse(const char *s, struct vdev *out)
{
	return parse_parts(s, 4, (unsigned *const[]){ &out->host, &out->channel, &out->target,
						       &out->lun });
}

int vdev_parse_ctl(const char *s, struct vdev *out)
{
	return parse_parts(s, 3, (unsigned *const[]){ &out->channel, &out->target, &out->lun });
}

char *vdev_format(const struct vdev *v, char buf[VDEV_STR_LEN])
{
	snprintf(buf, VDEV_STR_LEN, "%u:%u:%u:%u", v->host, v->channel, v->target, v->lun);
	return buf;
}

bool vdev_same_lun(const struct vdev *a, const struct vdev *b)
{
	return a->channel == b->channel && a->target == b->target && a->lun == b->lun;
}

int vdev_parse_devname(const char *name, unsigned *n)
{
	uint64_t x;

	if (!name || strncmp(name, "dev-", 4) || !dec_parse_str(name + 4, VDEV_DEVNUM_MAX, &x))
		return -EINVAL;
	*n = (unsigned)x;
	return 0;
}

char *vdev_devname(unsigned n, char buf[VDEV_DEVNAME_LEN])
{
	snprintf(buf, VDEV_DEVNAME_LEN, "dev-%u", n);
	return buf;
}
