/* Numbers in names and in xenstore values, one rule everywhere: written
 * as printf's %u writes them. Decimal digits only (no sign, no blank, no
 * "0x"), no leading zero ("0" itself excepted), nothing after them; so a
 * number has exactly one spelling and a name built from it is found
 * again by comparing strings. */
#ifndef VSCSI_COMMON_DECIMAL_H
#define VSCSI_COMMON_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses the len bytes at s as such a number, at most max. false (and
 * *out untouched) for anything else, an empty string included. */
bool dec_parse(const char *s, size_t len, uint64_t max, uint64_t *out);

/* The same for a whole NUL-terminated string (NULL: false). */
bool dec_parse_str(const char *s, uint64_t max, uint64_t *out);

#endif
