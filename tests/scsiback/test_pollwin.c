/* The adaptive busy-poll window (scsiback/pollwin.c): grows while the
 * gaps between work fit under the largest window, shrinks to nothing when
 * they do not, never passes --poll-us, never polls when it is 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pollwin.h"

static void test_grows_to_the_gap_and_no_further(void **state)
{
	struct pollwin w;

	(void)state;
	pollwin_init(&w, 100000);
	assert_int_equal(w.ns, POLLWIN_START_NS);
	/* The device answers 30 us after the last work, every time: the
	 * window doubles until it covers 30 us, then stays. */
	for (int i = 0; i < 10 && w.ns < 30000; i++)
		pollwin_slept(&w, 30000);
	assert_true(w.ns >= 30000);
	assert_true(w.ns <= 64000);
	{
		uint64_t covered = w.ns;

		pollwin_slept(&w, 30000);   /* cannot happen once covered; no change */
		assert_int_equal(w.ns, covered);
	}
	/* Gaps just under the limit grow it to the limit, not past it. */
	for (int i = 0; i < 20; i++)
		pollwin_slept(&w, 99000);
	assert_int_equal(w.ns, 100000);
}

static void test_idle_stops_polling(void **state)
{
	struct pollwin w;
	int steps = 0;

	(void)state;
	pollwin_init(&w, 100000);
	for (int i = 0; i < 20; i++)
		pollwin_slept(&w, 99000);
	/* Nothing for a second, again and again: halved each time, then 0. */
	while (w.ns && steps < 64) {
		pollwin_slept(&w, 1000000000);
		steps++;
	}
	assert_int_equal(w.ns, 0);
	assert_true(steps <= 7);   /* 100 us -> 0 in a few sleeps */
	/* Work with short gaps again: polling comes back. */
	pollwin_slept(&w, 10000);
	assert_int_equal(w.ns, POLLWIN_START_NS);
}

static void test_zero_never_polls(void **state)
{
	struct pollwin w;

	(void)state;
	pollwin_init(&w, 0);
	assert_int_equal(w.ns, 0);
	pollwin_slept(&w, 10);
	pollwin_slept(&w, 1000000);
	assert_int_equal(w.ns, 0);
	/* A limit below the start size is the window from the start. */
	pollwin_init(&w, 1000);
	assert_int_equal(w.ns, 1000);
	pollwin_slept(&w, 900);
	assert_int_equal(w.ns, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grows_to_the_gap_and_no_further),
		cmocka_unit_test(test_idle_stops_polling),
		cmocka_unit_test(test_zero_never_polls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
