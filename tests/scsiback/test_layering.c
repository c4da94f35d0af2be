/* scsiback's layering (scsiback/scsiback.h, scsiback/vhost.h): calls go
 * one way, from xenbus.c down to the ring, which tools/dev/include-cycles.sh
 * checks on the include graph once every unit declares what it defines;
 * and no component outside scsiback reaches scsiback's headers. The
 * checker itself is tried on small trees with the faults it must find. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *src(void)
{
	const char *s = getenv("VSCSI_SRC");

	return s ? s : ".";
}

/* Runs a shell command in dir; returns its exit status, output in out. */
static int run_in(const char *dir, const char *cmd, char *out, size_t outlen)
{
	char line[1024];
	FILE *p;
	size_t n = 0;
	int st;

	snprintf(line, sizeof(line), "cd '%s' && %s 2>&1", dir, cmd);
	p = popen(line, "r");
	assert_non_null(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *tree(void)
{
	char tmpl[] = "/tmp/vscsi-layering-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void drop(char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

static int check(const char *dir, const char *args, char *out, size_t outlen)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "bash '%s/tools/dev/include-cycles.sh' %s", src(), args);
	return run_in(dir, cmd, out, outlen);
}

static void test_scsiback_has_no_cycle(void **state)
{
	char out[8192];

	(void)state;
	assert_int_equal(check(src(), "scsiback common", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "no cycle"));
	/* The request path in order: the ring below the commands, the
	 * commands below the vhost, xenbus on top. */
	assert_true(strstr(out, " ring ") < strstr(out, " cmd "));
	assert_true(strstr(out, " vlun ") < strstr(out, " cmd "));
	assert_true(strstr(out, " cmd ") < strstr(out, " vhost "));
	assert_true(strstr(out, " vhost ") < strstr(out, " xenbus "));
}

/* vscsictl's library: the toolstack code below the command line. */
static void test_vscsictl_has_no_cycle(void **state)
{
	char out[8192];

	(void)state;
	assert_int_equal(check(src(), "tools/vscsictl common", out, sizeof(out)), 0);
	assert_true(strstr(out, " toolstack ") < strstr(out, " domrecord "));
	assert_true(strstr(out, " domains ") < strstr(out, " vscsictl "));
}

static void test_checker_finds_a_cycle(void **state)
{
	char out[4096], *d = tree();

	(void)state;
	put(d, "a.h", "int a(void);\n");
	put(d, "a.c", "#include \"a.h\"\n#include \"b.h\"\nint a(void)\n{\n\treturn b();\n}\n");
	put(d, "b.h", "int b(void);\n");
	put(d, "b.c", "#include \"b.h\"\n#include \"a.h\"\nint b(void)\n{\n\treturn a();\n}\n");
	assert_int_equal(check(d, ".", out, sizeof(out)), 1);
	assert_non_null(strstr(out, "include cycle"));
	assert_non_null(strstr(out, "a "));
	assert_non_null(strstr(out, "b "));
	/* One way round is fine. */
	put(d, "b.c", "#include \"b.h\"\nint b(void)\n{\n\treturn 1;\n}\n");
	assert_int_equal(check(d, ".", out, sizeof(out)), 0);
	drop(d);
}

/* The cycle scsiback had: a function defined in one file and declared in
 * another's header hides the call from the include graph. */
static void test_checker_finds_misplaced_declarations(void **state)
{
	char out[4096], *d = tree();

	(void)state;
	put(d, "x.h", "void x_go(void);\nvoid y_back(void);\n");
	put(d, "x.c", "#include \"x.h\"\nvoid x_go(void)\n{\n\ty_back();\n}\n");
	put(d, "y.c", "#include \"x.h\"\nvoid y_back(void)\n{\n}\n\n"
		      "static void y_helper(void)\n{\n}\n");
	assert_int_equal(check(d, ".", out, sizeof(out)), 1);
	assert_non_null(strstr(out, "y_back (defined in ./y.c"));
	assert_null(strstr(out, "y_helper"));
	assert_null(strstr(out, "x_go"));
	drop(d);
}

/* Only scsiback's module and its tests see scsiback's headers. */
static void test_no_scsiback_include_path_elsewhere(void **state)
{
	char out[8192];

	(void)state;
	assert_int_equal(run_in(src(), "grep -rn -e '-Iscsiback' --include=module.mk --include=Makefile . "
				"| grep -v '^./scsiback/' | grep -v '^./build'", out, sizeof(out)), 1);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scsiback_has_no_cycle),
		cmocka_unit_test(test_vscsictl_has_no_cycle),
		cmocka_unit_test(test_checker_finds_a_cycle),
		cmocka_unit_test(test_checker_finds_misplaced_declarations),
		cmocka_unit_test(test_no_scsiback_include_path_elsewhere),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
