/* The xensim CLI as a user meets it: start/stop, domains by name or id,
 * list (table and JSON), exec, and clear errors with the documented exit
 * codes when something is wrong. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "jsonkeys.h"
#include "simenv.h"

static char rundir[256];

/* Runs a shell command line with XENSIM_RUNDIR set; output into out. */
static int sh(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	FILE *p;
	size_t n;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(out, 1, outlen - 1, p);
	out[n] = 0;
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define XS "XENSIM_RUNDIR=%s %s "

static void test_not_running(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(sh(out, sizeof(out), XS "list 2>&1", rundir, simenv_prog("tools/xensim/xensim")), 3);
	assert_non_null(strstr(out, "not running"));
	assert_int_equal(sh(out, sizeof(out), XS "create-domain --name x 2>&1", rundir,
			    simenv_prog("tools/xensim/xensim")), 3);
	/* stop when nothing runs is not an error. */
	assert_int_equal(sh(out, sizeof(out), XS "stop 2>&1", rundir, simenv_prog("tools/xensim/xensim")), 0);
}

static void test_lifecycle(void **state)
{
	const char *x = simenv_prog("tools/xensim/xensim");
	char out[8192];
	json_object *arr;

	(void)state;
	assert_int_equal(sh(out, sizeof(out), XS "start 2>&1", rundir, x), 0);
	/* A second start sees it running. */
	assert_int_equal(sh(out, sizeof(out), XS "start 2>&1", rundir, x), 0);
	assert_non_null(strstr(out, "already running"));

	assert_int_equal(sh(out, sizeof(out), XS "create-domain --name web --memory 64", rundir, x), 0);
	assert_int_equal(atoi(out), 1);
	assert_int_equal(sh(out, sizeof(out), XS "create-domain --name web 2>&1", rundir, x), 1);
	assert_non_null(strstr(out, "already exists"));
	assert_int_equal(sh(out, sizeof(out), XS "create-domain --name 'bad name' 2>&1", rundir, x), 1);
	assert_int_equal(sh(out, sizeof(out), XS "create-domain --memory 0 2>&1", rundir, x), 2);
	assert_int_equal(sh(out, sizeof(out), XS "create-domain", rundir, x), 0);
	assert_int_equal(atoi(out), 2);

	assert_int_equal(sh(out, sizeof(out), XS "list --json", rundir, x), 0);
	arr = json_tokener_parse(out);
	assert_non_null(arr);
	assert_int_equal(json_object_array_length(arr), 3);
	assert_string_equal(json_object_get_string(json_object_object_get(
				    json_object_array_get_idx(arr, 1), "name")), "web");
	assert_int_equal(json_object_get_int(json_object_object_get(
				     json_object_array_get_idx(arr, 1), "memory_mib")), 64);
	{
		char bad[512];
		unsigned keys;

		/* Every tool's JSON keys are snake_case (docs/user-guide.md). */
		if (jsonkeys_snake_case(arr, bad, sizeof(bad), &keys) || keys < 3 * 11)
			fail_msg("xensim list --json: key %s is not snake_case (%u keys):\n%s", bad, keys,
				 out);
	}
	json_object_put(arr);

	/* exec by name, as the domain: the guest sees its own home. */
	assert_int_equal(sh(out, sizeof(out), XS "exec web -- xenstore-read domid", rundir, x), 0);
	assert_string_equal(out, "1\n");
	assert_int_equal(sh(out, sizeof(out), XS "exec web -- xenstore-write /local/domain/0/x 1 2>&1",
			    rundir, x), 1);
	assert_int_equal(sh(out, sizeof(out), XS "exec nosuch -- true 2>&1", rundir, x), 4);
	assert_non_null(strstr(out, "no domain"));
	assert_int_equal(sh(out, sizeof(out), XS "exec web -- /nonexistent/prog 2>&1", rundir, x), 127);

	assert_int_equal(sh(out, sizeof(out), XS "destroy-domain 0 2>&1", rundir, x), 1);
	assert_non_null(strstr(out, "domain 0"));
	assert_int_equal(sh(out, sizeof(out), XS "destroy-domain web", rundir, x), 0);
	assert_int_equal(sh(out, sizeof(out), XS "destroy-domain web 2>&1", rundir, x), 4);
	assert_int_equal(sh(out, sizeof(out), XS "list", rundir, x), 0);
	assert_null(strstr(out, "web"));
	assert_non_null(strstr(out, "Domain-0"));
	assert_int_equal(sh(out, sizeof(out), XS "frobnicate 2>&1", rundir, x), 2);

	assert_int_equal(sh(out, sizeof(out), XS "stop", rundir, x), 0);
	assert_int_equal(sh(out, sizeof(out), XS "list 2>&1", rundir, x), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_running),
		cmocka_unit_test(test_lifecycle),
	};
	int r;
	char cmd[1200];

	snprintf(rundir, sizeof(rundir), "/tmp/vscsi-cli-XXXXXX");
	if (!mkdtemp(rundir))
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "XENSIM_RUNDIR=%s %s stop >/dev/null 2>&1; rm -rf %s", rundir,
		 simenv_prog("tools/xensim/xensim"), rundir);
	if (system(cmd))
		(void)0;
	return r;
}
