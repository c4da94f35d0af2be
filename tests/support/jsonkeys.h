/* Test support: the naming style of the JSON the tools print. Every key
 * is snake_case, ^[a-z][a-z0-9_]*$ (docs/user-guide.md, "JSON output"). */
#ifndef VSCSI_TEST_JSONKEYS_H
#define VSCSI_TEST_JSONKEYS_H

#include <stddef.h>

struct json_object;

/* 0 when every key of o, through nested objects and arrays, is
 * snake_case; -1 otherwise, with the path of the first one that is not in
 * bad (e.g. [0].vhosts[0].luns[0]."p-dev"). keys, when not NULL, gets the
 * number of keys looked at (a check that saw none proves nothing). */
int jsonkeys_snake_case(struct json_object *o, char *bad, size_t badlen, unsigned *keys);
/* The same for a document given as text (not JSON: -1, said in bad). */
int jsonkeys_snake_case_text(const char *text, char *bad, size_t badlen, unsigned *keys);

#endif
