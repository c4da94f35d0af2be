#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int policy_mode_parse(const char *s)
{
	if (!strcmp(s, "allow-all"))
		return POLICY_ALLOW_ALL;
	if (!strcmp(s, "deny-list"))
		return POLICY_DENY_LIST;
	if (!strcmp(s, "allow-list"))
		return POLICY_ALLOW_LIST;
	return -1;
}

int policy_set_opcodes(struct policy *p, const char *list, char *err, size_t errlen)
{
	const char *s = list;

	memset(p->listed, 0, sizeof(p->listed));
	while (*s) {
		char *end;
		size_t n = 0;
		unsigned long v;

		while (*s && (isspace((unsigned char)*s) || *s == ','))
			s++;
		if (!*s)
			break;
		while (s[n] && !isspace((unsigned char)s[n]) && s[n] != ',')
			n++;
		/* The whole token is the number (a copy cut to a buffer's size
		 * would read one long token as two opcodes). */
		v = strtoul(s, &end, 0);
		if (end != s + n || v > 0xff) {
			snprintf(err, errlen, "\"%.*s%s\" is not an opcode (0x00..0xff)",
				 (int)(n > 32 ? 32 : n), s, n > 32 ? "..." : "");
			return -EINVAL;
		}
		s += n;
		p->listed[v / 8] |= (uint8_t)(1u << (v % 8));
	}
	return 0;
}

bool policy_allows(const struct policy *p, uint8_t opcode)
{
	bool listed;

	if (!p || p->mode == POLICY_ALLOW_ALL)
		return true;
	listed = p->listed[opcode / 8] & (1u << (opcode % 8));
	return p->mode == POLICY_DENY_LIST ? !listed : listed;
}
