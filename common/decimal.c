/* The canonical decimal number; see decimal.h. */
#include "decimal.h"

#include <string.h>

bool dec_parse(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || len == 0 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10 || v * 10 + d > max)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool dec_parse_str(const char *s, uint64_t max, uint64_t *out)
{
	return s && dec_parse(s, strlen(s), max, out);
}
