/* The Debian packages (debian/): built from this tree with the standard
 * tools, lintian without errors or unexplained warnings, the right files
 * and declarations in each, and installed, removed and purged in a
 * throw-away root without leaving anything behind. The steps are
 * tests/packaging/debs.sh's; each prints its checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <cmocka.h>

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

/* Runs one step of debs.sh; its output goes to the test's log. */
static void step(const char *name)
{
	char cmd[2048];
	int st;

	snprintf(cmd, sizeof(cmd), "bash '%s/tests/packaging/debs.sh' %s '%s/test-debs' 2>&1",
		 env_or("VSCSI_SRC", "."), name, env_or("VSCSI_BUILD", "build"));
	fflush(stdout);
	st = system(cmd);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_build_and_lintian(void **state)
{
	(void)state;
	step("build");
}

static void test_contents(void **state)
{
	(void)state;
	step("contents");
}

static void test_install_remove_purge(void **state)
{
	(void)state;
	step("purge");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_and_lintian),
		cmocka_unit_test(test_contents),
		cmocka_unit_test(test_install_remove_purge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
