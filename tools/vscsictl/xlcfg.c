#include "xlcfg.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxlutil.h>

/* Copies s[0..len) without surrounding blanks. */
static bool field(const char *s, size_t len, char *out, size_t outlen)
{
	while (len && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0 || len >= outlen)
		return false;
	memcpy(out, s, len);
	out[len] = 0;
	return true;
}

int vspec_parse(const char *s, struct vscsi_spec *out, char *err, size_t errlen)
{
	const char *c1, *c2, *end;
	char opt[64];

	memset(out, 0, sizeof(*out));
	c1 = strchr(s, ',');
	if (!c1) {
		snprintf(err, errlen, "\"%s\" is not \"pdev,vdev[,feature-host]\"", s);
		return -EINVAL;
	}
	c2 = strchr(c1 + 1, ',');
	end = s + strlen(s);
	if (!field(s, (size_t)(c1 - s), out->pdev, sizeof(out->pdev))) {
		snprintf(err, errlen, "\"%s\": empty or overlong p-dev", s);
		return -EINVAL;
	}
	if (!field(c1 + 1, (size_t)((c2 ? c2 : end) - c1 - 1), out->vdev, sizeof(out->vdev))) {
		snprintf(err, errlen, "\"%s\": empty or overlong v-dev", s);
		return -EINVAL;
	}
	if (!strcmp(out->vdev, "host")) {
		snprintf(err, errlen, "\"%s\": xm's whole-host mode (v-dev \"host\") is not supported; "
			 "attach each LUN with its own v-dev", s);
		return -EINVAL;
	}
	if (c2) {
		if (!field(c2 + 1, (size_t)(end - c2 - 1), opt, sizeof(opt)) || strcmp(opt, "feature-host")) {
			snprintf(err, errlen, "\"%s\": unknown option \"%.*s\" (the only option is "
				 "feature-host)", s, (int)(end - c2 - 1), c2 + 1);
			return -EINVAL;
		}
		out->feature_host = true;
	}
	return 0;
}

void xlcfg_free(char **items, int n)
{
	for (int i = 0; items && i < n; i++)
		free(items[i]);
	free(items);
}

/* The parser's report, without the trailing newline. */
static void report(char *buf, const char *fallback, char *err, size_t errlen)
{
	size_t n = buf ? strlen(buf) : 0;

	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	snprintf(err, errlen, "%s", n ? buf : fallback);
}

int xlcfg_read_vscsi(const char *file, char ***items, char *err, size_t errlen)
{
	char *msgs = NULL;
	size_t msglen = 0;
	FILE *rep = open_memstream(&msgs, &msglen);
	XLU_Config *cfg;
	XLU_ConfigList *list;
	int rc, n = 0;

	*items = NULL;
	/* libxlutil's own message for an unreadable file lost errno. */
	{
		FILE *f = fopen(file, "r");

		if (!f) {
			int e = errno;

			snprintf(err, errlen, "%s: %s", file, strerror(e));
			if (rep)
				fclose(rep);
			free(msgs);
			return -e;
		}
		fclose(f);
	}
	if (!rep)
		return -errno;
	cfg = xlu_cfg_init(rep, file);
	if (!cfg) {
		fclose(rep);
		free(msgs);
		return -ENOMEM;
	}
	rc = xlu_cfg_readfile(cfg, file);
	if (rc) {
		char fallback[512];

		xlu_cfg_destroy(cfg);
		fclose(rep);
		snprintf(fallback, sizeof(fallback), "%s: %s", file, strerror(rc));
		report(msgs, fallback, err, errlen);
		free(msgs);
		return -rc;
	}
	rc = xlu_cfg_get_list(cfg, "vscsi", &list, &n, 0);
	if (rc == ESRCH) {
		n = 0;
		rc = 0;
	} else if (rc) {
		char fallback[512];

		fflush(rep);
		snprintf(fallback, sizeof(fallback), "%s: vscsi is not a list of strings", file);
		report(msgs, fallback, err, errlen);
		n = -rc;
	} else {
		*items = calloc((size_t)n + 1, sizeof(**items));
		for (int i = 0; *items && i < n; i++) {
			const char *s = xlu_cfg_get_listitem(list, i);

			if (!s) {
				/* A nested list instead of a string. */
				snprintf(err, errlen, "%s: vscsi entry %d is not a string", file, i + 1);
				xlcfg_free(*items, i);
				*items = NULL;
				n = -EINVAL;
				break;
			}
			(*items)[i] = strdup(s);
		}
		if (n > 0 && !*items)
			n = -ENOMEM;
	}
	xlu_cfg_destroy(cfg);
	fclose(rep);
	free(msgs);
	return n;
}
