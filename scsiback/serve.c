/* scsiback's main loop and its drain; see serve.h. */
#include "serve.h"

#include <time.h>

#include "log.h"
#include "pollwin.h"
#include "vhost.h"

static uint64_t serve_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* While polling: takes what the rings hold, without asking frontends
 * for events. */
static bool serve_poll_rings(struct scsiback *sb)
{
	bool work = false;

	for (struct vhost *vh = sb->vhosts; vh; vh = vh->next)
		work |= vhost_poll(vh);
	return work;
}

/* Before sleeping: arms every ring's event index; false when a request
 * slipped in meanwhile (then there is work, do not sleep). */
static bool serve_arm_rings(struct scsiback *sb)
{
	bool work = false;

	for (struct vhost *vh = sb->vhosts; vh; vh = vh->next)
		work |= vhost_kick(vh);
	return !work;
}

/* While no command waits for a device, the polling loop looks at its fds
 * (xenstore, a device fd's close) at most this often: an epoll_wait each
 * turn was most of a busy ring's syscalls. While one waits, every turn. */
#define SERVE_FDS_NS 5000u

/* The main loop. A blocking wake-up costs ~10 us on the machines we
 * measured and a polled ring round trip ~0.6 us, so after any work the
 * loop keeps polling (rings in memory, fds without blocking) without
 * asking the frontends for events, and sleeps only when nothing came for
 * a window: busy only while busy, asleep when idle. The window adapts
 * (pollwin.c) up to poll_max_ns: long enough to catch the next request or
 * device answer while they come at a steady pace, nothing when idle. */
void serve_run(struct scsiback *sb, uint64_t poll_max_ns)
{
	/* Two windows, each taught by its own gaps: [0] while no command is
	 * on a device (the gap is the guest's, between an answer and its
	 * next request: short for a polling frontend), [1] while one is (the
	 * gap is the device's: at queue depth 1 a whole round trip to the
	 * target, which polling would not cover). One window for both shrank
	 * to nothing on the device's gaps and then slept through the guest's
	 * next request, a wake-up per command. */
	struct pollwin win[2];
	uint64_t last_work = 0, fds_seen = 0;

	pollwin_init(&win[0], poll_max_ns);
	pollwin_init(&win[1], poll_max_ns);
	sb->polling = poll_max_ns > 0;
	while (!sb->stopping) {
		uint64_t t;
		bool rings, busy;
		int n;

		if (!poll_max_ns) {
			if (evloop_run_once(sb->loop, -1) < 0)
				break;
			continue;
		}
		rings = serve_poll_rings(sb);
		n = evloop_run_fired(sb->loop);
		t = serve_now_ns();
		busy = serve_busy(sb) > 0;
		if (busy || t - fds_seen >= SERVE_FDS_NS) {
			int m = evloop_run_once(sb->loop, 0);

			if (m < 0)
				break;
			n += m;
			fds_seen = t;
		}
		if (n > 0 || rings) {
			last_work = t;
		} else if (t - last_work > win[busy].ns) {
			if (serve_arm_rings(sb)) {
				if (evloop_run_once(sb->loop, -1) < 0)
					break;
				t = serve_now_ns();
				pollwin_slept(&win[busy], t - last_work);
			}
			last_work = t;
		}
	}
}

unsigned serve_busy(const struct scsiback *sb)
{
	unsigned n = 0;

	for (const struct vhost *vh = sb->vhosts; vh; vh = vh->next)
		n += vh->cmds.busy;
	return n;
}

void serve_drain(struct scsiback *sb, unsigned timeout_ms)
{
	uint64_t t0 = serve_now_ns();

	/* No new requests are taken; wait for what runs. */
	while (serve_busy(sb)) {
		if (serve_now_ns() - t0 > (uint64_t)timeout_ms * 1000000u) {
			log_warn("%u command(s) still running after %u s; answering them host RESET",
				 serve_busy(sb), timeout_ms / 1000);
			for (struct vhost *vh = sb->vhosts; vh; vh = vh->next)
				vhost_cut_off(vh);
			break;
		}
		evloop_run_once(sb->loop, 100);
	}
}
