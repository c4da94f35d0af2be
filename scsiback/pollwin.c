#include "pollwin.h"

void pollwin_init(struct pollwin *w, uint64_t max_ns)
{
	w->max_ns = max_ns;
	w->ns = max_ns < POLLWIN_START_NS ? max_ns : POLLWIN_START_NS;
}

void pollwin_slept(struct pollwin *w, uint64_t idle_ns)
{
	if (!w->max_ns)
		return;
	if (idle_ns > w->max_ns) {
		/* Halve; below the start size, stop polling until work shows a
		 * gap worth covering again. */
		w->ns /= 2;
		if (w->ns < POLLWIN_START_NS / 2)
			w->ns = 0;
	} else if (idle_ns > w->ns) {
		w->ns = w->ns ? w->ns * 2 : POLLWIN_START_NS;
		if (w->ns > w->max_ns)
			w->ns = w->max_ns;
	}
}
