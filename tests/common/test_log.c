/* common/log.c: a line an admin can read — the local date and time, the
 * program, the level — and one message on exactly one line, whatever the
 * text carried in (a library's error string with a newline in it). */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

/* stderr into a file between begin and end; end returns what came. */
static void capture_begin(FILE **f, int *saved)
{
	*f = tmpfile();
	assert_non_null(*f);
	fflush(stderr);
	*saved = dup(2);
	assert_true(dup2(fileno(*f), 2) == 2);
}

static char *capture_end(FILE *f, int saved)
{
	char *text = calloc(1, 4096);

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	assert_non_null(text);
	assert_true(fread(text, 1, 4095, f) > 0);
	fclose(f);
	return text;
}

static void test_one_readable_line_per_message(void **state)
{
	char *out, today[16];
	regex_t re;
	regmatch_t m;
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;
	int saved;

	(void)state;
	log_init("tlog", LOG_LVL_INFO, false);
	capture_begin(&f, &saved);
	log_err("cannot connect: %s", "iscsi_connect: Connection refused\nretrying\r");
	log_debug("not at info");
	log_info("tab\there");
	out = capture_end(f, saved);
	assert_int_equal(regcomp(&re,
				 "^([0-9]{4}-[0-9]{2}-[0-9]{2}) [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} "
				 "tlog\\[err\\]: cannot connect: iscsi_connect: Connection refused retrying \n"
				 "[0-9-]{10} [0-9:.]{12} tlog\\[info\\]: tab here\n$",
				 REG_EXTENDED), 0);
	if (regexec(&re, out, 1, &m, 0))
		fail_msg("log output:\n%s", out);
	regfree(&re);
	localtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	/* (the day may turn between the two reads of the clock) */
	if (strncmp(out, today, 10)) {
		now = time(NULL);
		localtime_r(&now, &tm);
		strftime(today, sizeof(today), "%Y-%m-%d", &tm);
		assert_memory_equal(out, today, 10);
	}
	free(out);
}

/* A guest that causes a warning per request gets LOG_LIMIT_BURST lines per
 * window, then one line saying how many were left out. */
static void test_limited_lines(void **state)
{
	struct log_limit l = { 0 };
	unsigned passed = 0;
	char *out;
	FILE *f;
	int saved;

	(void)state;
	log_init("tlog", LOG_LVL_INFO, false);
	for (int i = 0; i < 1000; i++)
		passed += log_limit_pass_at(&l, "vhost 6/0", 50000 + i);
	assert_int_equal(passed, LOG_LIMIT_BURST);
	capture_begin(&f, &saved);
	/* still in the window: nothing; the next window: the account first */
	assert_false(log_limit_pass_at(&l, "vhost 6/0", 50000 + LOG_LIMIT_WINDOW_MS - 1));
	assert_true(log_limit_pass_at(&l, "vhost 6/0", 50000 + LOG_LIMIT_WINDOW_MS));
	out = capture_end(f, saved);
	if (!strstr(out, "tlog[warn]: vhost 6/0: 991 more such lines not logged in the last 10 s\n"))
		fail_msg("log output:\n%s", out);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_readable_line_per_message),
		cmocka_unit_test(test_limited_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
