#include "xlcfg.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxlutil.h>

#include "iport.h"

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

int vspec_option(const char *s, const char *opt, struct vscsi_spec *out, char *err, size_t errlen)
{
	char why[300];

	if (!strcmp(opt, "feature-host")) {
		out->feature_host = true;
		return 0;
	}
	if (!strcmp(opt, "shared")) {
		out->shared = true;
		return 0;
	}
	if (!strncmp(opt, "backend=", 8)) {
		const char *d = opt + 8;

		if (!*d || strlen(d) >= sizeof(out->backend) || strspn(d, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(d)) {
			snprintf(err, errlen, "\"%s\": backend=\"%s\" is not a domain id or name", s, d);
			return -EINVAL;
		}
		strcpy(out->backend, d);
		return 0;
	}
	if (!strncmp(opt, "initiator=", 10)) {
		if (iport_check_name(opt + 10, why, sizeof(why))) {
			snprintf(err, errlen, "\"%s\": %s", s, why);
			return -EINVAL;
		}
		snprintf(out->initiator, sizeof(out->initiator), "%s", opt + 10);
		return 0;
	}
	if (!strncmp(opt, "isid=", 5)) {
		if (iport_parse_isid(opt + 5, NULL, why, sizeof(why))) {
			snprintf(err, errlen, "\"%s\": %s", s, why);
			return -EINVAL;
		}
		snprintf(out->isid, sizeof(out->isid), "%s", opt + 5);
		return 0;
	}
	snprintf(err, errlen, "\"%s\": unknown option \"%s\" (options: feature-host, "
		 "shared, backend=DOMAIN, initiator=IQN, isid=HEX)", s, opt);
	return -EINVAL;
}

int vspec_check_pdev(const struct vscsi_spec *sp, const char *pdev, char *err, size_t errlen)
{
	if ((sp->initiator[0] || sp->isid[0]) && strncmp(pdev, "iscsi://", 8)) {
		snprintf(err, errlen, "%s= is for iscsi:// p-devs: \"%s\" is reached through the host's "
			 "own initiator, whose nexus every guest of the host shares",
			 sp->initiator[0] ? "initiator" : "isid", pdev);
		return -EINVAL;
	}
	return 0;
}

void vspec_format(const struct vscsi_spec *sp, const char *pdev, const char *be, char *out,
		  size_t len)
{
	snprintf(out, len, "%s,%s%s%s%s%s%s%s%s%s", pdev, sp->vdev,
		 sp->feature_host ? ",feature-host" : "", sp->shared ? ",shared" : "",
		 be ? ",backend=" : "", be ? be : "", sp->initiator[0] ? ",initiator=" : "",
		 sp->initiator, sp->isid[0] ? ",isid=" : "", sp->isid);
}

int vspec_parse(const char *s, struct vscsi_spec *out, char *err, size_t errlen)
{
	const char *c1, *c2, *end;

	memset(out, 0, sizeof(*out));
	c1 = strchr(s, ',');
	if (!c1) {
		snprintf(err, errlen, "\"%s\" is not \"pdev,vdev[,option]...\"", s);
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
	while (c2) {
		const char *next = strchr(c2 + 1, ',');
		char opt[96];

		if (!field(c2 + 1, (size_t)((next ? next : end) - c2 - 1), opt, sizeof(opt))) {
			snprintf(err, errlen, "\"%s\": empty or overlong option", s);
			return -EINVAL;
		}
		if (vspec_option(s, opt, out, err, errlen))
			return -EINVAL;
		c2 = next;
	}
	return vspec_check_pdev(out, out->pdev, err, errlen);
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

void xlcfg_domain_free(struct xlcfg_domain *d)
{
	free(d->name);
	free(d->uuid);
	xlcfg_free(d->vscsi, d->nvscsi);
	memset(d, 0, sizeof(*d));
}

static char *get_string(XLU_Config *cfg, const char *key)
{
	const char *v;

	return xlu_cfg_get_string(cfg, key, &v, 1) ? NULL : strdup(v);
}

/* The vscsi list into d; 0 or -errno with a message (libxlutil's, which
 * names the line, when it wrote one into rep, whose text *msgs gets when
 * rep is flushed). */
static int get_vscsi(XLU_Config *cfg, FILE *rep, char **msgs, const char *file,
		     struct xlcfg_domain *d, char *err, size_t errlen)
{
	XLU_ConfigList *list;
	int n = 0, rc = xlu_cfg_get_list(cfg, "vscsi", &list, &n, 0);

	if (rc == ESRCH)
		return 0;
	if (rc) {
		char fallback[512];

		fflush(rep);
		snprintf(fallback, sizeof(fallback), "%s: vscsi is not a list of strings", file);
		report(*msgs, fallback, err, errlen);
		return -rc;
	}
	d->vscsi = calloc((size_t)n + 1, sizeof(*d->vscsi));
	if (!d->vscsi)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		const char *s = xlu_cfg_get_listitem(list, i);

		if (!s) {
			/* A nested list instead of a string. */
			snprintf(err, errlen, "%s: vscsi entry %d is not a string", file, i + 1);
			return -EINVAL;
		}
		if (!(d->vscsi[i] = strdup(s)))
			return -ENOMEM;
		d->nvscsi = i + 1;
	}
	return 0;
}

/* The whole of file (malloc'd, *len bytes), or NULL with errno. */
static char *read_all(const char *file, size_t *len)
{
	FILE *f = fopen(file, "r");
	char *text = NULL;
	size_t cap = 0;
	int e;

	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (*len == cap) {
			char *grown = cap < (1u << 30) ? realloc(text, cap ? cap * 2 : 4096) : NULL;

			if (!grown) {
				e = cap < (1u << 30) ? ENOMEM : EFBIG;
				goto fail;
			}
			text = grown;
			cap = cap ? cap * 2 : 4096;
		}
		*len += fread(text + *len, 1, cap - *len, f);
		if (*len < cap)
			break;
	}
	if (ferror(f)) {
		e = EIO;
		goto fail;
	}
	fclose(f);
	return text;
fail:
	fclose(f);
	free(text);
	errno = e;
	return NULL;
}

int xlcfg_read_domain(const char *file, struct xlcfg_domain *d, char *err, size_t errlen)
{
	char *msgs = NULL, *text, *nul;
	size_t msglen = 0, len;
	FILE *rep;
	XLU_Config *cfg;
	long strict;
	int rc;

	memset(d, 0, sizeof(*d));
	d->strict = -1;
	/* Read here and handed over as data: libxlutil's own message for an
	 * unreadable file lost errno, and it aborts the program (an
	 * assertion) on a NUL byte inside a string, which is refused first. */
	text = read_all(file, &len);
	if (!text) {
		rc = errno;
		snprintf(err, errlen, "%s: %s", file, strerror(rc));
		return -rc;
	}
	nul = memchr(text, 0, len);
	if (nul) {
		int line = 1;

		for (const char *p = text; p < nul; p++)
			line += *p == '\n';
		snprintf(err, errlen, "%s:%d: a NUL byte (not a text file?)", file, line);
		free(text);
		return -EINVAL;
	}
	rep = open_memstream(&msgs, &msglen);
	if (!rep) {
		free(text);
		return -errno;
	}
	cfg = xlu_cfg_init(rep, file);
	if (!cfg) {
		fclose(rep);
		free(msgs);
		free(text);
		return -ENOMEM;
	}
	rc = xlu_cfg_readdata(cfg, text, (int)len);
	free(text);
	if (rc) {
		char fallback[512];

		xlu_cfg_destroy(cfg);
		fclose(rep);
		snprintf(fallback, sizeof(fallback), "%s: %s", file, strerror(rc));
		report(msgs, fallback, err, errlen);
		free(msgs);
		return -rc;
	}
	d->name = get_string(cfg, "name");
	d->uuid = get_string(cfg, "uuid");
	rc = get_vscsi(cfg, rep, &msgs, file, d, err, errlen);
	if (!rc) {
		int r = xlu_cfg_get_long(cfg, "vscsi_strict", &strict, 1);

		if (r == 0 && (strict == 0 || strict == 1)) {
			d->strict = (int)strict;
		} else if (r != ESRCH) {
			snprintf(err, errlen, "%s: vscsi_strict must be 0 or 1", file);
			rc = -EINVAL;
		}
	}
	xlu_cfg_destroy(cfg);
	fclose(rep);
	free(msgs);
	if (rc) {
		/* name and uuid stay: the caller can say whose config is broken. */
		xlcfg_free(d->vscsi, d->nvscsi);
		d->vscsi = NULL;
		d->nvscsi = 0;
	}
	return rc;
}

int xlcfg_read_vscsi(const char *file, char ***items, char *err, size_t errlen)
{
	struct xlcfg_domain d;
	int rc = xlcfg_read_domain(file, &d, err, errlen), n;

	*items = NULL;
	if (rc) {
		xlcfg_domain_free(&d);
		return rc;
	}
	*items = d.vscsi;
	n = d.nvscsi;
	d.vscsi = NULL;
	d.nvscsi = 0;
	xlcfg_domain_free(&d);
	return n;
}
