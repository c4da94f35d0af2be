#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "iport.h"
#include "log.h"

struct parse_ctx {
	struct scsiback_config *cfg;
	char *err;
	size_t errlen;
	char **sections;       /* the full section names, by token (see load_text) */
	unsigned n_sections;
	const char *text;      /* what inih reads, a line for a line of the file */
};

/* The line of the file where setting name was last given in the section
 * that load_text made "[#tok]"; 0 if not found. inih does not pass line
 * numbers to the handler, and errors found after parsing (a policy never
 * defined, a CHAP user without password) must still name one. */
static int entry_line(const struct parse_ctx *c, unsigned tok, const char *name)
{
	char header[16];
	int line = 0, found = 0;
	bool inside = false;
	size_t hlen = (size_t)snprintf(header, sizeof(header), "[#%u]", tok);
	size_t nlen = strlen(name);

	for (const char *p = c->text; p && *p; line++) {
		const char *eol = strchrnul(p, '\n'), *q = p + strspn(p, " \t\f\v\r");

		if (*q == '[') {
			inside = !strncmp(q, header, hlen);
		} else if (inside && !strncmp(q, name, nlen)) {
			q += nlen;
			q += strspn(q, " \t\f\v\r"); /* inih strips what isspace says */
			if (*q == '=' || *q == ':')
				found = line + 1;
		}
		p = *eol ? eol + 1 : eol;
	}
	return found;
}

/* The entry of arr (n entries of elem bytes) whose name, key_off bytes
 * into it and keylen long, is key; added (zeroed, named) when there is
 * none. NULL when out of memory. */
static void *entry_of(void **arr, unsigned *n, size_t elem, size_t key_off, size_t keylen,
		      const char *key)
{
	char *p = *arr;

	for (unsigned i = 0; i < *n; i++)
		if (!strcmp(p + i * elem + key_off, key))
			return p + i * elem;
	p = realloc(p, (*n + 1) * elem);
	if (!p)
		return NULL;
	*arr = p;
	p += (*n)++ * elem;
	memset(p, 0, elem);
	snprintf(p + key_off, keylen, "%s", key);
	return p;
}
#define ENTRY_OF(arr, n, field, key) ({ \
	void *arr_ = (arr), *e_ = entry_of(&arr_, &(n), sizeof(*(arr)), \
					  offsetof(__typeof__(*(arr)), field), sizeof((arr)->field), key); \
	(arr) = arr_; \
	e_; })

/* Finds or adds the entry of a "[kind key]" section. */
static void *section_entry(struct parse_ctx *c, const char *kind, const char *key)
{
	struct scsiback_config *cfg = c->cfg;

	if (!strcmp(kind, "iscsi"))
		return ENTRY_OF(cfg->iscsi, cfg->n_iscsi, iqn, key);
	if (!strcmp(kind, "policy"))
		return ENTRY_OF(cfg->policies, cfg->n_policies, name, key);
	return ENTRY_OF(cfg->luns, cfg->n_luns, pdev, key);
}

/* inih goes on after an error and reports the line of the first: keep its
 * message (and stop taking settings). */
#define FAIL(...) do { snprintf(c->err, c->errlen, __VA_ARGS__); return 0; } while (0)

/* on_entry's value into field whole: one that does not fit is refused,
 * never cut (a cut state-dir is another directory, a cut password another
 * password, a cut policy name another policy). */
#define SET(field) do { \
	if (strlen(value) >= sizeof(field)) \
		FAIL("[%.40s] %s: longer than %zu characters", section, name, sizeof(field) - 1); \
	memcpy(field, value, strlen(value) + 1); \
} while (0)

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *c = user;
	struct scsiback_config *cfg = c->cfg;
	char kind[16] = "", key[256] = "";
	int key_end = 0;
	size_t key_max;
	unsigned tok = 0;
	void *e;

	if (c->err[0])
		return 0;

	if (section[0] == '#' && (unsigned)atoi(section + 1) < c->n_sections) {
		tok = (unsigned)atoi(section + 1);
		section = c->sections[tok];
	}
	if (!strcmp(section, "scsiback")) {
		if (!strcmp(name, "log-level")) {
			if ((cfg->log_level = log_level_parse(value)) < 0)
				FAIL("[scsiback] log-level \"%s\": want err, warn, info or debug", value);
		} else if (!strcmp(name, "initiator-name")) {
			SET(cfg->initiator_name);
			if (iport_check_name(value, c->err, c->errlen))
				return 0;
		} else if (!strcmp(name, "guest-initiator-prefix")) {
			char probe[IPORT_NAME_MAX + 64], why[300] = "too long";

			/* "off", or a prefix that makes a valid name with a UUID. */
			snprintf(probe, sizeof(probe), "%s.00000000-0000-0000-0000-000000000000", value);
			if (strcmp(value, "off") &&
			    (strlen(probe) > IPORT_NAME_MAX || iport_check_name(probe, why, sizeof(why))))
				FAIL("[scsiback] guest-initiator-prefix \"%.80s\": want \"off\" or the start "
				     "of an iSCSI name, at most %d bytes (%s)", value,
				     IPORT_NAME_MAX - 1 - IPORT_UUID_LEN, why);
			SET(cfg->guest_initiator_prefix);
			if (!strcmp(value, "off"))
				cfg->guest_initiator_prefix[0] = 0;
		} else if (!strcmp(name, "persistent-grants")) {
			if (!strcmp(value, "yes"))
				cfg->persistent_grants = true;
			else if (!strcmp(value, "no"))
				cfg->persistent_grants = false;
			else
				FAIL("[scsiback] persistent-grants \"%.40s\": want yes or no", value);
		} else if (!strcmp(name, "state-dir")) {
			SET(cfg->state_dir);
		} else if (!strcmp(name, "sysfs-root")) {
			SET(cfg->sysfs_root);
		} else {
			FAIL("[scsiback]: unknown setting \"%s\"", name);
		}
		return 1;
	}
	if (sscanf(section, "%15s %255s%n", kind, key, &key_end) != 2 ||
	    (strcmp(kind, "iscsi") && strcmp(kind, "policy") && strcmp(kind, "lun")))
		FAIL("unknown section [%s] (want [scsiback], [iscsi IQN], [policy NAME] or [lun P-DEV])",
		     section);
	/* The name whole, as long as its field holds (an IQN has at most 223
	 * characters): two names cut to the same would be one entry. */
	key_max = !strcmp(kind, "iscsi") ? sizeof(cfg->iscsi->iqn) - 1
		: !strcmp(kind, "policy") ? sizeof(cfg->policies->name) - 1 : sizeof(cfg->luns->pdev) - 1;
	if ((section[key_end] && !strchr(" \t", section[key_end])) || strlen(key) > key_max)
		FAIL("[%.40s...]: name longer than %zu characters", section, key_max);
	if (section[key_end + strspn(section + key_end, " \t")])
		FAIL("[%s]: one name after \"%s\", not two", section, kind);
	e = section_entry(c, kind, key);
	if (!e)
		FAIL("out of memory");
	if (!strcmp(kind, "iscsi")) {
		struct config_iscsi *i = e;

		if (!strcmp(name, "chap-user")) {
			SET(i->user);
			i->user_line = entry_line(c, tok, name);
		} else if (!strcmp(name, "chap-password")) {
			SET(i->password);
			i->password_line = entry_line(c, tok, name);
		} else {
			FAIL("[%s]: unknown setting \"%s\"", section, name);
		}
	} else if (!strcmp(kind, "policy")) {
		struct policy *p = e;
		char perr[128];
		int m;

		if (!strcmp(name, "mode")) {
			if ((m = policy_mode_parse(value)) < 0)
				FAIL("[%s] mode \"%s\": want allow-all, deny-list or allow-list", section, value);
			p->mode = (enum policy_mode)m;
		} else if (!strcmp(name, "opcodes")) {
			if (policy_set_opcodes(p, value, perr, sizeof(perr)) < 0)
				FAIL("[%s] opcodes: %s", section, perr);
		} else {
			FAIL("[%s]: unknown setting \"%s\"", section, name);
		}
	} else {
		struct config_lun *l = e;
		uint64_t secs;

		if (!strcmp(name, "policy")) {
			SET(l->policy);
			l->policy_line = entry_line(c, tok, name);
		} else if (!strcmp(name, "timeout")) {
			if (!dec_parse_str(value, CONFIG_TIMEOUT_MAX_S, &secs))
				FAIL("[%s] timeout \"%s\": want whole seconds from 0 (the device type's "
				     "default) to %u (a week)", section, value, CONFIG_TIMEOUT_MAX_S);
			l->timeout_s = (unsigned)secs;
		} else {
			FAIL("[%s]: unknown setting \"%s\"", section, name);
		}
	}
	return 1;
}

/* inih keeps the first 49 characters of a section name and drops the rest
 * without a word (MAX_SECTION, fixed in the shared library), and a p-dev
 * or an IQN is often longer: [lun iscsi://192.0.2.10/iqn.2026-11.org.
 * example:disk/1] would never match its LUN. So the file is read here and
 * every section header becomes a token, "[#N]", before inih sees the text
 * (a line for a line: errors keep their line numbers); on_entry looks the
 * full name up. A header is a header even when indented (inih would take
 * an indented line after a setting as that value's continuation: a
 * section swallowed into a password).
 *
 * inih also reads a line longer than its buffer (INI_MAX_LINE) as two, the
 * rest of "chap-password = ...state-dir = /x" a setting of its own, and
 * the text it parses ends at a NUL byte: a line inih would not read whole,
 * a "[" line that is no header and a NUL byte are refused here, with the line in *bad_line and the
 * reason in c->err (errno EINVAL).
 *
 * Returns the text (malloc'd) or NULL with errno. */
#define CONFIG_LINE_MAX (INI_MAX_LINE - 2)

static char *load_text(const char *path, struct parse_ctx *c, int *bad_line)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *out = NULL;
	size_t cap = 0, outlen = 0;
	ssize_t n;
	FILE *o;
	int lineno = 0;

	if (!f)
		return NULL;
	o = open_memstream(&out, &outlen);
	if (!o) {
		fclose(f);
		return NULL;
	}
	for (bool first = true; (n = getline(&line, &cap, f)) >= 0; first = false) {
		char *p = line, *end, **grown;
		size_t len = (size_t)n - (n && line[n - 1] == '\n');

		lineno++;
		if (memchr(line, 0, (size_t)n)) {
			snprintf(c->err, c->errlen, "a NUL byte (not a text file?)");
			goto refuse;
		}
		if (first && !strncmp(p, "\xef\xbb\xbf", 3))
			p += 3;   /* a UTF-8 BOM, as inih skips it */
		p += strspn(p, " \t\f\v\r");
		/* As inih reads a header: up to the first ']', unless an inline
		 * comment (" ;") comes first, which inih reports. */
		end = p[0] == '[' ? strchr(p, ']') : NULL;
		if (end) {
			for (char *q = p + 1; q < end; q++)
				if (*q == ';' && (q[-1] == ' ' || q[-1] == '\t'))
					end = NULL;
		}
		if (end) /* what inih will read: "[#N" and the rest */
			len = (size_t)snprintf(NULL, 0, "[#%u", c->n_sections) + strlen(end) -
			      (end[strlen(end) - 1] == '\n');
		if (len > CONFIG_LINE_MAX) {
			snprintf(c->err, c->errlen, "line longer than %d characters", CONFIG_LINE_MAX);
			goto refuse;
		}
		if (!end && p[0] == '[') {
			/* inih would report it, or take it, indented, as the
			 * continuation of the setting above: a section that never
			 * starts, its settings given to the one before */
			snprintf(c->err, c->errlen, "a section header without its \"]\" (or with a \" ;\" "
				 "comment before it)");
			goto refuse;
		}
		if (!end) {
			fputs(line, o);
			continue;
		}
		grown = realloc(c->sections, (c->n_sections + 1) * sizeof(*grown));
		if (!grown || !(grown[c->n_sections] = strndup(p + 1, (size_t)(end - p - 1)))) {
			if (grown)
				c->sections = grown;
			fclose(o);
			free(out);
			free(line);
			fclose(f);
			errno = ENOMEM;
			return NULL;
		}
		c->sections = grown;
		fprintf(o, "[#%u%s", c->n_sections++, end);
	}
	free(line);
	if (ferror(f)) {
		int e = errno;

		fclose(f);
		fclose(o);
		free(out);
		errno = e;
		return NULL;
	}
	fclose(f);
	if (fclose(o)) {
		free(out);
		return NULL;
	}
	return out;
refuse:
	*bad_line = lineno;
	free(line);
	fclose(f);
	fclose(o);
	free(out);
	errno = EINVAL;
	return NULL;
}

/* err, a problem found at line of path, becomes "path:line: problem". */
static int name_line(char *err, size_t errlen, const char *path, int line)
{
	char detail[256];

	snprintf(detail, sizeof(detail), "%s", err[0] ? err : "syntax error");
	snprintf(err, errlen, "%s:%d: %s", path, line, detail);
	return -EINVAL;
}

int config_load(const char *path, struct scsiback_config *cfg, char *err, size_t errlen)
{
	struct parse_ctx c = { cfg, err, errlen, NULL, 0, NULL };
	char *text;
	int line = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = -1;
	snprintf(cfg->sysfs_root, sizeof(cfg->sysfs_root), "/sys");
	cfg->persistent_grants = true;
	snprintf(cfg->guest_initiator_prefix, sizeof(cfg->guest_initiator_prefix), "%s",
		 IPORT_PREFIX_DEFAULT);
	err[0] = 0;
	if (!path)
		return 0;
	text = load_text(path, &c, &line);
	if (!text) {
		int e = errno;

		for (unsigned i = 0; i < c.n_sections; i++)
			free(c.sections[i]);
		free(c.sections);
		if (e == EINVAL && err[0])
			return name_line(err, errlen, path, line);
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(e));
		return -ENOENT;
	}
	c.text = text;
	line = ini_parse_string(text, on_entry, &c);
	free(text);
	for (unsigned i = 0; i < c.n_sections; i++)
		free(c.sections[i]);
	free(c.sections);
	if (line < 0) {
		snprintf(err, errlen, "%s: cannot parse: out of memory", path);
		return -ENOMEM;
	}
	if (line > 0)
		return name_line(err, errlen, path, line);
	/* Every [lun] must name a policy that exists. */
	for (unsigned i = 0; i < cfg->n_luns; i++) {
		bool found = !cfg->luns[i].policy[0];

		for (unsigned k = 0; k < cfg->n_policies && !found; k++)
			found = !strcmp(cfg->policies[k].name, cfg->luns[i].policy);
		if (!found) {
			snprintf(err, errlen, "%s:%d: [lun %s] names policy \"%s\", which is not defined",
				 path, cfg->luns[i].policy_line, cfg->luns[i].pdev, cfg->luns[i].policy);
			return -EINVAL;
		}
	}
	/* CHAP takes both: a user alone would log in without the secret and
	 * fail at the target with a less telling error. */
	for (unsigned i = 0; i < cfg->n_iscsi; i++) {
		const struct config_iscsi *is = &cfg->iscsi[i];

		if (is->user[0] && !is->password[0]) {
			snprintf(err, errlen, "%s:%d: [iscsi %s] chap-user without chap-password", path,
				 is->user_line, is->iqn);
			return -EINVAL;
		}
		if (is->password[0] && !is->user[0]) {
			snprintf(err, errlen, "%s:%d: [iscsi %s] chap-password without chap-user", path,
				 is->password_line, is->iqn);
			return -EINVAL;
		}
	}
	return 0;
}

void config_free(struct scsiback_config *cfg)
{
	free(cfg->iscsi);
	free(cfg->policies);
	free(cfg->luns);
	memset(cfg, 0, sizeof(*cfg));
}

void config_lun_settings(const struct scsiback_config *cfg, const char *pdev,
			 struct lun_config *out, const struct policy **policy)
{
	memset(out, 0, sizeof(*out));
	*policy = NULL;
	out->initiator_iqn = cfg->initiator_name[0] ? cfg->initiator_name : NULL;
	if (!strncmp(pdev, "iscsi://", 8)) {
		for (unsigned i = 0; i < cfg->n_iscsi; i++) {
			/* The IQN is the path's first element: iscsi://host/IQN/lun */
			const char *iqn = strchr(pdev + 8, '/');
			size_t n = strlen(cfg->iscsi[i].iqn);

			if (iqn && !strncmp(iqn + 1, cfg->iscsi[i].iqn, n) && iqn[1 + n] == '/') {
				out->chap_user = cfg->iscsi[i].user[0] ? cfg->iscsi[i].user : NULL;
				out->chap_password = cfg->iscsi[i].password;
			}
		}
	}
	for (unsigned i = 0; i < cfg->n_luns; i++) {
		if (strcmp(cfg->luns[i].pdev, pdev))
			continue;
		out->default_timeout_ms = cfg->luns[i].timeout_s * 1000u;
		for (unsigned k = 0; k < cfg->n_policies; k++)
			if (!strcmp(cfg->policies[k].name, cfg->luns[i].policy))
				*policy = &cfg->policies[k];
	}
}
