/* Domain uuids (xen_domain_handle_t) in their string form
 * xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, as libxl writes them. */
#ifndef XENSIM_SIM_UUID_H
#define XENSIM_SIM_UUID_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#define SIM_UUID_STR_LEN 37 /* with the NUL */

static inline void sim_uuid_format(const uint8_t u[16], char out[SIM_UUID_STR_LEN])
{
	snprintf(out, SIM_UUID_STR_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		 u[12], u[13], u[14], u[15]);
}

/* Returns 0, or -1 when s is not a uuid in that form. */
static inline int sim_uuid_parse(const char *s, uint8_t u[16])
{
	unsigned n = 0;

	if (strlen(s) != SIM_UUID_STR_LEN - 1)
		return -1;
	for (unsigned i = 0; s[i]; i++) {
		unsigned v;
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return -1;
			continue;
		}
		if (c >= '0' && c <= '9')
			v = (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v = (unsigned)((c | 0x20) - 'a' + 10);
		else
			return -1;
		if (n % 2 == 0)
			u[n / 2] = (uint8_t)(v << 4);
		else
			u[n / 2] |= (uint8_t)v;
		n++;
	}
	return n == 32 ? 0 : -1;
}

/* A random (version 4) uuid, as libxl_uuid_generate makes. */
static inline void sim_uuid_generate(uint8_t u[16])
{
	if (getrandom(u, 16, 0) != 16) {
		/* No entropy source: still unique enough within one host. */
		for (unsigned i = 0; i < 16; i++)
			u[i] = (uint8_t)rand();
	}
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
}

#endif
