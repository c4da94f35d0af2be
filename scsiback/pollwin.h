/* How long the main loop busy-polls after work before it sleeps: a window
 * that adapts to the gaps between a guest's requests and the devices'
 * answers (QEMU's poll-grow/poll-shrink is the model). */
#ifndef VSCSI_POLLWIN_H
#define VSCSI_POLLWIN_H

#include <stdint.h>

struct pollwin {
	uint64_t max_ns;   /* --poll-us: never poll longer; 0: never poll */
	uint64_t ns;       /* the window now */
};

/* The first window after a sleep that a longer one would have avoided. */
#define POLLWIN_START_NS 4000u

void pollwin_init(struct pollwin *w, uint64_t max_ns);
/* The loop slept, and the next event came idle_ns after the last work (the
 * window it polled included): a gap the largest window would have covered
 * grows the window, a longer one (the guest or device went quiet) shrinks
 * it, so an idle daemon stops spinning and a steady stream of QD1
 * commands is answered without a wake-up each. */
void pollwin_slept(struct pollwin *w, uint64_t idle_ns);

#endif
