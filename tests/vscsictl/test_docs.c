/* The man pages: groff reads them without a warning, and every long
 * option a program's --help shows is documented in its page; the
 * README names every fuzz target. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static const char *src(void)
{
	const char *s = getenv("VSCSI_SRC");

	return s && *s ? s : ".";
}

static const char *build(void)
{
	const char *b = getenv("VSCSI_BUILD");

	return b && *b ? b : "build";
}

/* Output of a shell command (stdout and stderr), and its status. */
static char *run(const char *cmd, int *status)
{
	char *buf = NULL, line[4096];
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len), *p = popen(cmd, "r");

	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		fputs(line, out);
	*status = pclose(p);
	fclose(out);
	return buf;
}

/* The page as text with troff's \- turned into -. */
static char *page_text(const char *page)
{
	char cmd[1024], *t, *w;
	int st;

	snprintf(cmd, sizeof(cmd), "cat '%s/docs/man/%s'", src(), page);
	t = run(cmd, &st);
	assert_int_equal(st, 0);
	for (char *r = w = t; *r; r++) {
		if (r[0] == '\\' && r[1] == '-')
			continue;
		*w++ = *r;
	}
	*w = 0;
	return t;
}

static void check_page(const char *page)
{
	char cmd[1024], *o;
	int st;

	snprintf(cmd, sizeof(cmd), "groff -man -ww -z '%s/docs/man/%s' 2>&1", src(), page);
	o = run(cmd, &st);
	if (st != 0 || o[0])
		fail_msg("groff on %s: status %d:\n%s", page, st, o);
	free(o);
}

/* Every --option in `prog --help` appears in the page. */
static void check_options(const char *prog, const char *page)
{
	char cmd[1024], *help, *text;
	int st;

	snprintf(cmd, sizeof(cmd), "'%s/%s' --help", build(), prog);
	help = run(cmd, &st);
	assert_int_equal(st, 0);
	text = page_text(page);
	for (char *p = strstr(help, "--"); p; p = strstr(p + 2, "--")) {
		char opt[64];
		size_t n = 2;

		while (n < sizeof(opt) - 1 && (p[n] == '-' || (p[n] >= 'a' && p[n] <= 'z')))
			n++;
		if (n <= 3)
			continue;
		memcpy(opt, p, n);
		opt[n] = 0;
		if (!strstr(text, opt))
			fail_msg("%s --help shows %s, which %s does not document", prog, opt, page);
	}
	free(help);
	free(text);
}

/* Every program shows the one version, the VERSION file's. */
static void test_version_everywhere(void **state)
{
	static const char *const progs[] = {
		"scsiback/scsiback", "tools/vscsictl/vscsictl", "tools/vscsi-lifecycle/vscsi-lifecycle",
		"tools/xensim/xensim", "tools/xensim/xensimd", "scsifront/vscsi",
	};
	char path[1024], version[64] = "", cmd[1024], want[128], *out;
	FILE *f;
	int st;

	(void)state;
	snprintf(path, sizeof(path), "%s/VERSION", src());
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(version, sizeof(version), f));
	fclose(f);
	version[strcspn(version, "\n")] = 0;
	assert_true(version[0] != 0);
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		const char *name = strrchr(progs[i], '/') + 1;

		snprintf(cmd, sizeof(cmd), "'%s/%s' --version", build(), progs[i]);
		out = run(cmd, &st);
		snprintf(want, sizeof(want), "%s %s\n", name, version);
		if (st != 0 || strcmp(out, want))
			fail_msg("%s --version: status %d, \"%s\", want \"%s\"", progs[i], st, out, want);
		free(out);
	}
}

/* The command blocks README.md and the user guide mark "runs as written"
 * run, line by line, as a reader would type them in the source tree
 * (tests/support/doc-blocks.sh: each line succeeds, or is refused where
 * the text says so, and prints what the text says it prints). */
static void test_docs_run_as_written(void **state)
{
	char cmd[2048], *out;
	int st;

	(void)state;
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && bash tests/support/doc-blocks.sh README.md docs/user-guide.md 2>&1", src());
	out = run(cmd, &st);
	if (st != 0)
		fail_msg("the docs do not run as written:\n%s", out);
	free(out);
}

static void test_pages_are_clean(void **state)
{
	int st;
	char cmd[1024], *list;

	(void)state;
	snprintf(cmd, sizeof(cmd), "cd '%s/docs/man' && ls", src());
	list = run(cmd, &st);
	assert_int_equal(st, 0);
	for (char *name = strtok(list, "\n"); name; name = strtok(NULL, "\n"))
		check_page(name);
	free(list);
}

static void test_options_documented(void **state)
{
	(void)state;
	check_options("tools/vscsictl/vscsictl", "vscsictl.8");
	check_options("scsiback/scsiback", "scsiback.8");
	check_options("tools/xensim/xensim", "xensim.1");
	check_options("tools/xensim/xensimd", "xensim.1");
	check_options("scsifront/vscsi", "vscsi.1");
	check_options("tools/vscsi-lifecycle/vscsi-lifecycle", "vscsi-lifecycle.8");
}

/* The shipped systemd units: systemd's own parser finds nothing wrong
 * (ExecStart pointed at the built programs, as `make install` would), and
 * both start before xendomains, so guests it starts or restores at boot
 * get their LUNs. */
static void test_units_verify(void **state)
{
	static const char *const units[][2] = {
		{ "scsiback/scsiback.service", "scsiback" },
		{ "tools/vscsi-lifecycle/vscsi-lifecycle.service", "tools/vscsi-lifecycle" },
	};
	char cmd[4096], *o, dir[] = "/tmp/vscsi-units-XXXXXX";
	int st;

	(void)state;
	if (system("command -v systemd-analyze >/dev/null") != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		const char *name = strrchr(units[i][0], '/') + 1;
		char path[600];
		FILE *f;

		snprintf(cmd, sizeof(cmd), "sed 's|/usr/local/sbin|%s/%s|' '%s/%s' > '%s/%s'", build(),
			 units[i][1], build(), units[i][0], dir, name);
		assert_int_equal(system(cmd), 0);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		f = fopen(path, "r");
		assert_non_null(f);
		{
			char line[512];
			bool before = false;

			while (fgets(line, sizeof(line), f))
				before |= !strncmp(line, "Before=", 7) && strstr(line, "xendomains.service");
			fclose(f);
			if (!before)
				fail_msg("%s does not start before xendomains.service", name);
		}
	}
	snprintf(cmd, sizeof(cmd), "cd '%s' && systemd-analyze verify --man=no *.service 2>&1", dir);
	o = run(cmd, &st);
	if (st != 0 || o[0])
		fail_msg("systemd-analyze verify: status %d:\n%s", st, o);
	free(o);
	/* Their sandboxes: systemd's exposure score (0-10, "OK" below 5) must
	 * not get worse than recorded in scsiback(8) and vscsi-lifecycle(8). */
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		const char *name = strrchr(units[i][0], '/') + 1;

		snprintf(cmd, sizeof(cmd), "cd '%s' && systemd-analyze security --offline=true "
			 "--threshold=%d %s 2>&1", dir, i == 0 ? 28 : 15, name);
		o = run(cmd, &st);
		if (st != 0)
			fail_msg("%s exposes more than recorded (%s): %s", name, i == 0 ? "2.8" : "1.5",
				 strstr(o, "Overall") ? strstr(o, "Overall") : o);
		free(o);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Every libFuzzer target the build has (FUZZ_BINS in the makefiles) is
 * named in the README's `make fuzz` paragraph: that list is how a reader
 * learns what is fuzzed. */
static void test_fuzz_targets_documented(void **state)
{
	char cmd[1024], *names, *para;
	int st, n = 0;

	(void)state;
	snprintf(cmd, sizeof(cmd), "cd '%s' && find common scsiback scsifront tools tests -name '*.mk' "
		 "-exec grep -ho 'FUZZ_BINS *+= .*/fuzz_[a-z_]*' {} + | sed 's|.*/||' | sort -u", src());
	names = run(cmd, &st);
	assert_int_equal(st, 0);
	snprintf(cmd, sizeof(cmd), "awk '/^- `make fuzz/ { f = 1; print; next } "
		 "f && /^(- |$)/ { f = 0 } f' '%s/README.md'", src());
	para = run(cmd, &st);
	assert_int_equal(st, 0);
	if (!para[0])
		fail_msg("README.md has no `make fuzz` paragraph");
	for (char *name = strtok(names, "\n"); name; name = strtok(NULL, "\n"), n++) {
		char quoted[80];

		snprintf(quoted, sizeof(quoted), "`%s`", name);
		if (!strstr(para, quoted))
			fail_msg("README.md's `make fuzz` paragraph does not name %s", quoted);
	}
	if (n < 6)
		fail_msg("%d fuzz targets found in the makefiles, expected at least 6", n);
	free(names);
	free(para);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pages_are_clean),
		cmocka_unit_test(test_version_everywhere),
		cmocka_unit_test(test_docs_run_as_written),
		cmocka_unit_test(test_units_verify),
		cmocka_unit_test(test_options_documented),
		cmocka_unit_test(test_fuzz_targets_documented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
