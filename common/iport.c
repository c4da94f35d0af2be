#include "iport.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

int iport_check_name(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);

	if (n == 0 || n > IPORT_NAME_MAX) {
		snprintf(err, errlen, "initiator name \"%.40s%s\" is %s (an iSCSI name has 1 to %d "
			 "bytes)", name, n > 40 ? "..." : "", n ? "too long" : "empty", IPORT_NAME_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!(islower(c) || isdigit(c) || c == '.' || c == '-' || c == ':')) {
			snprintf(err, errlen, "initiator name \"%s\": character '%c' at %zu is not allowed "
				 "(lower case letters, digits, '.', '-' and ':' only)", name,
				 isprint(c) ? c : '?', i + 1);
			return -EINVAL;
		}
	}
	if (!strncmp(name, "iqn.", 4)) {
		/* iqn.YYYY-MM.<reversed domain>[:...] */
		if (n < 13 || !isdigit((unsigned char)name[4]) || !isdigit((unsigned char)name[5]) ||
		    !isdigit((unsigned char)name[6]) || !isdigit((unsigned char)name[7]) ||
		    name[8] != '-' || !isdigit((unsigned char)name[9]) ||
		    !isdigit((unsigned char)name[10]) || name[11] != '.' || name[12] == ':' ||
		    name[12] == '.') {
			snprintf(err, errlen, "initiator name \"%s\" is not iqn.YYYY-MM.reversed.domain"
				 "[:identifier]", name);
			return -EINVAL;
		}
		return 0;
	}
	if (!strncmp(name, "eui.", 4) && n == 20 && all_hex(name + 4, 16))
		return 0;
	if (!strncmp(name, "naa.", 4) && (n == 20 || n == 36) && all_hex(name + 4, n - 4))
		return 0;
	snprintf(err, errlen, "initiator name \"%s\" is not an iSCSI name (iqn.YYYY-MM.domain[:id], "
		 "eui. and 16 hex digits, or naa. and 16 or 32)", name);
	return -EINVAL;
}

int iport_parse_isid(const char *s, uint8_t *isid, char *err, size_t errlen)
{
	uint8_t b[IPORT_ISID_LEN];

	if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2))
		s += 2;
	if (strlen(s) != IPORT_ISID_HEX_LEN || !all_hex(s, IPORT_ISID_HEX_LEN)) {
		snprintf(err, errlen, "ISID \"%s\" is not 12 hex digits", s);
		return -EINVAL;
	}
	for (int i = 0; i < IPORT_ISID_LEN; i++) {
		unsigned v;

		sscanf(s + 2 * i, "%2x", &v);
		b[i] = (uint8_t)v;
	}
	if (b[0] != 0x80) {
		snprintf(err, errlen, "ISID \"%s\" must begin with 80 (the random-qualifier format, "
			 "RFC 7143 10.12.5; the only one the backend sets)", s);
		return -EINVAL;
	}
	if (isid)
		memcpy(isid, b, sizeof(b));
	return 0;
}

int iport_check_uuid(const char *uuid)
{
	static const int dash[] = { 8, 13, 18, 23 };

	if (strlen(uuid) != IPORT_UUID_LEN)
		return -EINVAL;
	for (int i = 0, d = 0; i < IPORT_UUID_LEN; i++) {
		if (d < 4 && i == dash[d]) {
			if (uuid[i] != '-')
				return -EINVAL;
			d++;
		} else if (!isxdigit((unsigned char)uuid[i])) {
			return -EINVAL;
		}
	}
	return 0;
}

/* FNV-1a, 64 bits: stable across builds and hosts, which is all an ISID
 * needs (not a secret, not an index). */
static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)tolower((unsigned char)*s);
		h *= 0x100000001b3ull;
	}
	return h;
}

int iport_default(struct iport *p, const char *prefix, const char *uuid, const char *vdev,
		  char *err, size_t errlen)
{
	uint64_t h;
	int n;

	if (iport_check_uuid(uuid)) {
		snprintf(err, errlen, "the guest's UUID \"%s\" is not 8-4-4-4-12 hex digits", uuid);
		return -EINVAL;
	}
	n = snprintf(p->name, sizeof(p->name), "%s.", prefix);
	for (int i = 0; n >= 0 && (size_t)n < sizeof(p->name) && i < IPORT_UUID_LEN; i++, n++)
		p->name[n] = (char)tolower((unsigned char)uuid[i]);
	if (n < 0 || (size_t)n >= sizeof(p->name)) {
		snprintf(err, errlen, "guest-initiator-prefix \"%s\" leaves no room for the UUID "
			 "(%d bytes at most in all)", prefix, IPORT_NAME_MAX);
		return -EINVAL;
	}
	p->name[n] = 0;
	if (iport_check_name(p->name, err, errlen))
		return -EINVAL;
	h = fnv1a(fnv1a(0xcbf29ce484222325ull, uuid), vdev);
	p->isid[0] = 0x80;
	for (int i = 1; i < IPORT_ISID_LEN; i++)
		p->isid[i] = (uint8_t)(h >> (8 * (i - 1)));
	return 0;
}

const char *iport_format(const struct iport *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s,i,0x%02x%02x%02x%02x%02x%02x", p->name, p->isid[0], p->isid[1],
		 p->isid[2], p->isid[3], p->isid[4], p->isid[5]);
	return buf;
}

int iport_equal(const struct iport *a, const struct iport *b)
{
	return !strcmp(a->name, b->name) && !memcmp(a->isid, b->isid, IPORT_ISID_LEN);
}
