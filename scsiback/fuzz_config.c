/* libFuzzer target: scsiback's configuration file (config.c, INI through
 * inih) and the opcode lists of its policies (policy.c).
 *
 * Input: any bytes, loaded with config_load as the file they make (a
 * memfd, read through /proc/self/fd as any path is); then, as a string,
 * given to policy_set_opcodes.
 *
 * Beyond "no crash, no sanitizer report":
 *   - a file that loads respects every bound: names and values whole (a
 *     section name or a value too long for its field is refused, never
 *     cut, so two sections never become one entry and a setting never
 *     lands in a namesake), each [iscsi], [policy] and [lun] once, CHAP
 *     both or neither, a timeout within a week, a log level known, every
 *     policy a [lun] names defined, and config_lun_settings gives each
 *     [lun] its own timeout and policy;
 *   - a file that does not load says why, naming the file;
 *   - policy_set_opcodes takes a list exactly when every token is a
 *     number 0..0xff, and lists exactly those opcodes (checked against a
 *     plain re-reading of the list). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_config: property broken at line %d: %s\n", __LINE__, #cond); \
		abort(); \
	} \
} while (0)

#define WHOLE(field) (strnlen((field), sizeof(field)) < sizeof(field))

static void check_loaded(const struct scsiback_config *cfg)
{
	CHECK(cfg->log_level >= -1 && cfg->log_level <= 3);
	CHECK(WHOLE(cfg->initiator_name) && WHOLE(cfg->state_dir) && WHOLE(cfg->sysfs_root));
	for (unsigned i = 0; i < cfg->n_iscsi; i++) {
		const struct config_iscsi *is = &cfg->iscsi[i];

		CHECK(WHOLE(is->iqn) && WHOLE(is->user) && WHOLE(is->password));
		CHECK(is->iqn[0]);
		CHECK(!is->user[0] == !is->password[0]);
		/* each setting comes from a line of its own */
		CHECK(!is->user[0] || is->user_line > 0);
		CHECK(!is->password[0] || is->password_line > 0);
		for (unsigned k = 0; k < i; k++)
			CHECK(strcmp(cfg->iscsi[k].iqn, is->iqn));
	}
	for (unsigned i = 0; i < cfg->n_policies; i++) {
		const struct policy *p = &cfg->policies[i];

		CHECK(WHOLE(p->name) && p->name[0]);
		CHECK(p->mode == POLICY_ALLOW_ALL || p->mode == POLICY_DENY_LIST ||
		      p->mode == POLICY_ALLOW_LIST);
		for (unsigned k = 0; k < i; k++)
			CHECK(strcmp(cfg->policies[k].name, p->name));
	}
	for (unsigned i = 0; i < cfg->n_luns; i++) {
		const struct config_lun *l = &cfg->luns[i];
		struct lun_config lc;
		const struct policy *pol;

		CHECK(WHOLE(l->pdev) && WHOLE(l->policy) && l->pdev[0]);
		CHECK(l->timeout_s <= CONFIG_TIMEOUT_MAX_S);
		CHECK(!l->policy[0] || l->policy_line > 0);
		for (unsigned k = 0; k < i; k++)
			CHECK(strcmp(cfg->luns[k].pdev, l->pdev));
		config_lun_settings(cfg, l->pdev, &lc, &pol);
		CHECK(lc.default_timeout_ms == l->timeout_s * 1000u);
		CHECK(!l->policy[0] ? pol == NULL : pol && !strcmp(pol->name, l->policy));
		CHECK(lc.initiator_iqn == (cfg->initiator_name[0] ? cfg->initiator_name : NULL));
		/* the credentials of the IQN the p-dev names, if any */
		if (lc.chap_user)
			CHECK(lc.chap_password && lc.chap_password[0] && strstr(l->pdev, "iscsi://") == l->pdev);
	}
}

/* The opcode list read plainly: tokens between blanks and commas, each a
 * C number (strtoul, base 0) of at most 0xff. */
static int reference_opcodes(const char *s, uint8_t listed[32])
{
	memset(listed, 0, 32);
	while (*s) {
		size_t n;
		char *tok, *end;
		unsigned long v;
		int ok;

		while (*s && (isspace((unsigned char)*s) || *s == ','))
			s++;
		if (!*s)
			break;
		for (n = 0; s[n] && !isspace((unsigned char)s[n]) && s[n] != ','; n++)
			;
		tok = strndup(s, n);
		if (!tok)
			return -ENOMEM;
		errno = 0;
		v = strtoul(tok, &end, 0);
		ok = !*end && end != tok && v <= 0xff;
		free(tok);
		if (!ok)
			return -EINVAL;
		listed[v / 8] |= (uint8_t)(1u << (v % 8));
		s += n;
	}
	return 0;
}

static void check_opcodes(const uint8_t *data, size_t size)
{
	char *list = strndup((const char *)data, size), err[128] = "";
	struct policy p;
	uint8_t want[32];
	int r, ref;

	if (!list)
		return;
	memset(&p, 0, sizeof(p));
	r = policy_set_opcodes(&p, list, err, sizeof(err));
	ref = reference_opcodes(list, want);
	if (ref != -ENOMEM) {
		CHECK(r == ref);
		if (!r)
			CHECK(!memcmp(p.listed, want, sizeof(want)));
		else
			CHECK(err[0]);
	}
	free(list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct scsiback_config cfg;
	char err[512];
	int r;

	if (fd < 0) {
		fd = memfd_create("fuzz-config", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	r = config_load(path, &cfg, err, sizeof(err));
	if (r == 0) {
		CHECK(!err[0]);
		check_loaded(&cfg);
	} else {
		CHECK(r == -EINVAL || r == -ENOMEM);
		CHECK(!strncmp(err, path, strlen(path)));
	}
	config_free(&cfg);
	check_opcodes(data, size);
	return 0;
}
