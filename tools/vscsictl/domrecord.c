#include "domrecord.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "toolstack.h"
#include "xlcfg.h"

bool domrec_uuid_ok(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (!s || strlen(s) != DOMREC_UUID_LEN)
		return false;
	for (size_t i = 0; i < DOMREC_UUID_LEN; i++)
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

const char *domrec_dir(const char *dir)
{
	const char *env = getenv("VSCSI_STATE_DIR");

	if (dir && *dir)
		return dir;
	return env && *env ? env : DOMREC_DEFAULT_DIR;
}

static void rec_path(char *buf, size_t len, const char *dir, const char *uuid, const char *suffix)
{
	snprintf(buf, len, "%s/%s.json%s", dir, uuid, suffix);
}

void domrec_free(struct domrec *r)
{
	free(r->name);
	free(r->source);
	for (int i = 0; i < r->nentries; i++)
		free(r->entries[i]);
	free(r->entries);
	memset(r, 0, sizeof(*r));
	r->strict = -1;
}

static char *json_strdup(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return strdup(json_object_get_string(v));
}

int domrec_load(const char *dir, const char *uuid, struct domrec *r, char *err, size_t errlen)
{
	char path[4096];
	json_object *o, *list, *v;
	struct stat st;

	memset(r, 0, sizeof(*r));
	r->strict = -1;
	if (!domrec_uuid_ok(uuid)) {
		snprintf(err, errlen, "\"%s\" is not a uuid", uuid);
		return -EINVAL;
	}
	rec_path(path, sizeof(path), dir, uuid, "");
	if (stat(path, &st) < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	o = json_object_from_file(path);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "entries", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		snprintf(err, errlen, "%s: not a vscsi domain record (%s)", path,
			 o ? "no \"entries\" list" : json_util_get_last_err());
		json_object_put(o);
		return -EINVAL;
	}
	snprintf(r->uuid, sizeof(r->uuid), "%s", uuid);
	r->name = json_strdup(o, "name");
	r->source = json_strdup(o, "source");
	if (json_object_object_get_ex(o, "strict", &v) && json_object_is_type(v, json_type_boolean))
		r->strict = json_object_get_boolean(v);
	r->mtime = st.st_mtime;
	r->entries = calloc(json_object_array_length(list) + 1, sizeof(*r->entries));
	for (size_t i = 0; r->entries && i < json_object_array_length(list); i++) {
		json_object *e = json_object_array_get_idx(list, i);

		if (!json_object_is_type(e, json_type_string)) {
			snprintf(err, errlen, "%s: entry %zu is not a string", path, i + 1);
			json_object_put(o);
			domrec_free(r);
			return -EINVAL;
		}
		r->entries[r->nentries++] = strdup(json_object_get_string(e));
	}
	json_object_put(o);
	if (!r->entries) {
		domrec_free(r);
		return -ENOMEM;
	}
	return 0;
}

int domrec_save(const char *dir, const struct domrec *r, char *err, size_t errlen)
{
	char path[4096], tmp[4096];
	json_object *o = json_object_new_object(), *list = json_object_new_array();
	const char *text;
	int fd, rc = 0;
	size_t len;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		json_object_put(o);
		json_object_put(list);
		return rc;
	}
	json_object_object_add(o, "uuid", json_object_new_string(r->uuid));
	if (r->name)
		json_object_object_add(o, "name", json_object_new_string(r->name));
	if (r->source)
		json_object_object_add(o, "source", json_object_new_string(r->source));
	if (r->strict >= 0)
		json_object_object_add(o, "strict", json_object_new_boolean(r->strict));
	for (int i = 0; i < r->nentries; i++)
		json_object_array_add(list, json_object_new_string(r->entries[i]));
	json_object_object_add(o, "entries", list);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);

	rec_path(path, sizeof(path), dir, r->uuid, "");
	rec_path(tmp, sizeof(tmp), dir, r->uuid, ".new");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    fsync(fd) < 0 || rename(tmp, path) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", fd < 0 ? tmp : path, strerror(errno));
		unlink(tmp);
	}
	if (fd >= 0)
		close(fd);
	json_object_put(o);
	return rc;
}

int domrec_remove(const char *dir, const char *uuid)
{
	char path[4096];

	if (!domrec_uuid_ok(uuid))
		return -EINVAL;
	rec_path(path, sizeof(path), dir, uuid, "");
	return unlink(path) < 0 ? -errno : 0;
}

/* Whether entry names the same v-dev (compared as numbers). */
static bool same_vdev(const char *entry, const struct vdev *v)
{
	struct vscsi_spec s;
	struct vdev w;
	char err[256];

	return vspec_parse(entry, &s, err, sizeof(err)) == 0 && vdev_parse(s.vdev, &w) == 0 &&
	       w.host == v->host && vdev_same_lun(&w, v);
}

int domrec_drop_vdev(struct domrec *r, const char *vdev)
{
	struct vdev v;
	int k = 0, dropped = 0;

	if (vdev_parse(vdev, &v) < 0)
		return 0;
	for (int i = 0; i < r->nentries; i++) {
		if (same_vdev(r->entries[i], &v)) {
			free(r->entries[i]);
			dropped++;
		} else {
			r->entries[k++] = r->entries[i];
		}
	}
	r->nentries = k;
	return dropped;
}

int domrec_put_entry(struct domrec *r, const char *entry, const char *vdev)
{
	char **grown;

	domrec_drop_vdev(r, vdev);
	grown = realloc(r->entries, (size_t)(r->nentries + 2) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	r->entries = grown;
	if (!(r->entries[r->nentries] = strdup(entry)))
		return -ENOMEM;
	r->nentries++;
	r->entries[r->nentries] = NULL;
	return 0;
}
