/* vscsi run: runs a program with ld_vscsi.so preloaded and VSCSI_SG_MAP
 * naming a virtual sg node per LUN, so that unmodified sg3_utils, mtx,
 * tapeinfo... reach the LUNs through libvscsifront. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int find_shim(char *out, size_t len)
{
	const char *env = getenv("VSCSI_SHIM");
	char exe[PATH_MAX], *slash;
	ssize_t n;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return access(out, R_OK);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = 0;
	/* Next to the binary (build tree), or the installed layout. */
	if (snprintf(out, len, "%s/ld_vscsi.so", exe) < (int)len && access(out, R_OK) == 0)
		return 0;
	if (snprintf(out, len, "%s/../lib/vscsi/ld_vscsi.so", exe) >= (int)len)
		return -1;
	return access(out, R_OK);
}

static int append(char **s, size_t *len, const char *item)
{
	size_t n = strlen(item) + (*len ? 1 : 0);
	char *ns = realloc(*s, *len + n + 1);

	if (!ns)
		return -1;
	if (*len)
		ns[(*len)++] = ',';
	memcpy(ns + *len, item, strlen(item) + 1);
	*len += strlen(item);
	*s = ns;
	return 0;
}

/* Every LUN of the selected vhost(s), /dev/sgN in order. */
static int auto_map(struct cli *c, char **map, size_t *maplen)
{
	unsigned ids[64];
	int n;
	long sg = c->first_sg;

	if (c->vhost >= 0) {
		ids[0] = (unsigned)c->vhost;
		n = 1;
	} else {
		n = vscsi_list_vhosts(ids, 64);
		if (n < 0) {
			fprintf(stderr, "vscsi run: cannot read this domain's vhosts: %s\n", strerror(-n));
			return EX_FILE;
		}
		if (n > 64)
			n = 64;
	}
	for (int i = 0; i < n; i++) {
		struct vscsi_opts o = { .flags = VSCSI_OPEN_NO_PROBE, .poll_us = -1 };
		struct vscsi_lun_info luns[256];
		struct vscsi_host *h;
		char err[512];
		size_t nl;

		h = vscsi_open(ids[i], &o, err, sizeof(err));
		if (!h) {
			fprintf(stderr, "vscsi run: %s\n", err);
			return EX_FILE;
		}
		nl = vscsi_get_luns(h, luns, 256);
		vscsi_close(h);
		for (size_t k = 0; k < nl && k < 256; k++) {
			char item[128];

			snprintf(item, sizeof(item), "/dev/sg%ld=%u:%u:%u:%u", sg++, ids[i],
				 luns[k].addr.channel, luns[k].addr.target, luns[k].addr.lun);
			if (append(map, maplen, item) < 0)
				return EX_OTHER;
		}
	}
	if (!*maplen) {
		fprintf(stderr, "vscsi run: no LUNs to map\n");
		return EX_FILE;
	}
	return EX_OK;
}

int cmd_run(struct cli *c)
{
	char shim[PATH_MAX], *map = NULL, *preload;
	const char *old;
	size_t maplen = 0;
	int rc;

	if (!c->nargs) {
		fprintf(stderr, "vscsi run: no command given (vscsi run [OPTIONS] -- CMD [ARGS])\n");
		return EX_SYNTAX;
	}
	if (find_shim(shim, sizeof(shim)) < 0) {
		fprintf(stderr, "vscsi run: ld_vscsi.so not found (next to vscsi, in ../lib/vscsi, "
				"or set VSCSI_SHIM)\n");
		return EX_FILE;
	}
	for (int i = 0; i < c->nmaps; i++) {
		/* Each --map is PATH=H:C:T:L, or several joined by commas. */
		char *copy = strdup(c->maps[i]), *save, *item;

		if (!copy)
			return EX_OTHER;
		for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
			const char *eq = strchr(item, '=');
			struct vscsi_addr a;
			int hst;

			if (!eq || eq == item || vscsi_parse_addr(eq + 1, &hst, &a) < 0 || hst < 0) {
				fprintf(stderr, "vscsi run: --map %s: expected PATH=H:C:T:L\n", item);
				free(copy);
				free(map);
				return EX_SYNTAX;
			}
			if (append(&map, &maplen, item) < 0) {
				free(copy);
				return EX_OTHER;
			}
		}
		free(copy);
	}
	if (!c->nmaps) {
		rc = auto_map(c, &map, &maplen);
		if (rc) {
			free(map);
			return rc;
		}
	}
	if (c->verbose)
		fprintf(stderr, "vscsi run: VSCSI_SG_MAP=%s\nvscsi run: LD_PRELOAD=%s\n", map, shim);
	setenv("VSCSI_SG_MAP", map, 1);
	old = getenv("LD_PRELOAD");
	if (asprintf(&preload, "%s%s%s", shim, old && *old ? ":" : "", old ? old : "") < 0)
		return EX_OTHER;
	setenv("LD_PRELOAD", preload, 1);
	free(preload);
	free(map);
	cli_close(c);
	fflush(NULL);
	execvp(c->args[0], c->args);
	fprintf(stderr, "vscsi run: cannot run %s: %s\n", c->args[0], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
