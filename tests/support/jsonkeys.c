/* The naming style of the tools' JSON; see jsonkeys.h. */
#include "jsonkeys.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool key_ok(const char *k)
{
	if (!(*k >= 'a' && *k <= 'z'))
		return false;
	for (k++; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'))
			return false;
	return true;
}

/* path holds where o is; walks it depth first. */
static int walk(struct json_object *o, char *path, size_t len, char *bad, size_t badlen,
		unsigned *keys)
{
	size_t at = strlen(path);
	int rc = 0;

	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) {
			snprintf(path + at, len - at, key_ok(k) ? ".%s" : ".\"%s\"", k);
			(*keys)++;
			if (!key_ok(k)) {
				snprintf(bad, badlen, "%s", path);
				rc = -1;
			} else {
				rc = walk(v, path, len, bad, badlen, keys);
			}
			path[at] = 0;
			if (rc)
				return rc;
		}
	} else if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			snprintf(path + at, len - at, "[%zu]", i);
			rc = walk(json_object_array_get_idx(o, i), path, len, bad, badlen, keys);
			path[at] = 0;
			if (rc)
				return rc;
		}
	}
	return 0;
}

int jsonkeys_snake_case(struct json_object *o, char *bad, size_t badlen, unsigned *keys)
{
	char path[1024] = "";
	unsigned n = 0;
	int rc;

	bad[0] = 0;
	rc = walk(o, path, sizeof(path), bad, badlen, &n);
	if (keys)
		*keys = n;
	return rc;
}

int jsonkeys_snake_case_text(const char *text, char *bad, size_t badlen, unsigned *keys)
{
	struct json_object *o = json_tokener_parse(text);
	int rc;

	if (keys)
		*keys = 0;
	if (!o) {
		snprintf(bad, badlen, "not JSON: %.200s", text);
		return -1;
	}
	rc = jsonkeys_snake_case(o, bad, badlen, keys);
	json_object_put(o);
	return rc;
}
