/* Per-LUN CDB policy: which opcodes a guest may send. */
#ifndef SCSIBACK_POLICY_H
#define SCSIBACK_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum policy_mode { POLICY_ALLOW_ALL, POLICY_DENY_LIST, POLICY_ALLOW_LIST };

struct policy {
	char name[64];
	enum policy_mode mode;
	uint8_t listed[256 / 8];      /* opcode bitmap */
};

/* Parses "allow-all" | "deny-list" | "allow-list"; -1 if unknown. */
int policy_mode_parse(const char *s);
/* Parses a list like "0x3b, 0x04 0xA0"; 0 or -EINVAL with the bad token
 * in err. */
int policy_set_opcodes(struct policy *p, const char *list, char *err, size_t errlen);
bool policy_allows(const struct policy *p, uint8_t opcode);

#endif
