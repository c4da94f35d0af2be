/* scsiback's status file; see health.h. */
#include "health.h"

#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdev.h"

struct health {
	struct json_object *top;
};

/* Member key of o, or else the same key in kebab-case ("bytes_read",
 * else "bytes-read"): the keys of this file became snake_case with every
 * tool's JSON, and between the two steps of an upgrade this vscsictl may
 * read the file of an older scsiback. */
static bool health_get(struct json_object *o, const char *key, struct json_object **v)
{
	char old[32];

	if (json_object_object_get_ex(o, key, v))
		return true;
	snprintf(old, sizeof(old), "%s", key);
	for (char *p = old; *p; p++)
		if (*p == '_')
			*p = '-';
	return strcmp(old, key) && json_object_object_get_ex(o, old, v);
}

static int64_t health_int(struct json_object *o, const char *key)
{
	struct json_object *v;

	return health_get(o, key, &v) ? json_object_get_int64(v) : -1;
}

static const char *health_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return health_get(o, key, &v) ? json_object_get_string(v) : NULL;
}

struct health *health_load(const char *dir, char *why, size_t whylen)
{
	char path[4200];
	struct health *h;
	struct json_object *top;
	int64_t pid;
	FILE *f;

	why[0] = 0;
	snprintf(path, sizeof(path), "%s/status.json", dir);
	f = fopen(path, "r");
	if (!f) {
		if (errno != ENOENT)
			snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	fclose(f);
	top = json_object_from_file(path);
	if (!top) {
		snprintf(why, whylen, "%s: not JSON: %s", path, json_util_get_last_err());
		return NULL;
	}
	/* A crashed daemon leaves its last file: tell, rather than show it. */
	pid = health_int(top, "pid");
	if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno == ESRCH)) {
		snprintf(why, whylen, "scsiback is not running (%s names pid %lld)", path, (long long)pid);
		json_object_put(top);
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		json_object_put(top);
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	h->top = top;
	return h;
}

void health_free(struct health *h)
{
	if (!h)
		return;
	json_object_put(h->top);
	free(h);
}

static struct json_object *health_vhost(const struct health *h, unsigned domid, unsigned devid)
{
	struct json_object *vhosts;

	if (!h || !json_object_object_get_ex(h->top, "vhosts", &vhosts))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(vhosts); i++) {
		struct json_object *vh = json_object_array_get_idx(vhosts, i);

		if (health_int(vh, "domid") == domid && health_int(vh, "devid") == devid)
			return vh;
	}
	return NULL;
}

const char *health_ring(const struct health *h, unsigned domid, unsigned devid)
{
	struct json_object *vh = health_vhost(h, domid, devid);

	return vh ? health_str(vh, "ring") : NULL;
}

bool health_find(const struct health *h, unsigned domid, unsigned devid, unsigned channel,
		 unsigned target, unsigned lun, struct health_lun *out)
{
	struct json_object *vh = health_vhost(h, domid, devid), *luns;

	if (!vh || !json_object_object_get_ex(vh, "luns", &luns))
		return false;
	for (size_t i = 0; i < json_object_array_length(luns); i++) {
		struct json_object *l = json_object_array_get_idx(luns, i);
		const char *s = health_str(l, "v_dev");
		struct vdev v;

		if (!s || vdev_parse(s, &v) < 0 || v.channel != channel || v.target != target ||
		    v.lun != lun)
			continue;
		out->state = health_str(l, "state");
		out->commands = health_int(l, "commands");
		out->errors = health_int(l, "errors");
		out->bytes_read = health_int(l, "bytes_read");
		out->bytes_written = health_int(l, "bytes_written");
		out->last_error = health_str(l, "last_error");
		out->link = health_str(l, "link");
		if (!out->link)
			out->link = "";
		out->initiator_port = health_str(l, "initiator_port");
		if (!out->initiator_port)
			out->initiator_port = "";
		if (!out->state)
			out->state = "?";
		if (!out->last_error)
			out->last_error = "";
		return true;
	}
	return false;
}
