/* sfbench: a quick load generator on libvscsifront (not a test). Run it
 * inside a guest (xensim exec), e.g. against sflab's null:disk LUN:
 *
 *   sfbench [-H vhost] [-d C:T:L] [-b bytes] [-q depth] [-n commands] [-p poll_us] [-w]
 *
 * Prints commands/s, MB/s and the mean latency at that queue depth. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vscsifront.h"

struct slot {
	struct vscsi_task *t;
	uint64_t start;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long done, bad, left;
static uint64_t lat_sum;
static struct vscsi_addr addr;
static size_t bs = 4096;
static bool do_write;
static uint8_t *buf;

static void submit(struct vscsi_host *h, struct slot *s);

static void cb(struct vscsi_host *h, struct vscsi_task *t, void *priv)
{
	struct slot *s = priv;

	done++;
	lat_sum += now_ns() - s->start;
	if (!vscsi_task_good(t))
		bad++;
	vscsi_task_free(t);
	if (left > 0)
		submit(h, s);
}

static void submit(struct vscsi_host *h, struct slot *s)
{
	left--;
	s->start = now_ns();
	s->t = do_write ? vscsi_write16_task(h, &addr, 0, (uint32_t)(bs / 512), 512, buf, cb, s)
			: vscsi_read16_task(h, &addr, 0, (uint32_t)(bs / 512), 512, buf, cb, s);
	if (!s->t) {
		perror("submit");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct vscsi_opts o = { .poll_us = -1 };
	unsigned devid = 0;
	long n = 100000;
	int qd = 1, c;
	char err[256];
	struct vscsi_host *h;
	struct slot *slots;
	uint64_t t0, t1;

	while ((c = getopt(argc, argv, "H:d:b:q:n:p:w")) != -1) {
		switch (c) {
		case 'H': devid = (unsigned)atoi(optarg); break;
		case 'd': vscsi_parse_addr(optarg, NULL, &addr); break;
		case 'b': bs = (size_t)atol(optarg); break;
		case 'q': qd = atoi(optarg); break;
		case 'n': n = atol(optarg); break;
		case 'p': o.poll_us = atoi(optarg); break;
		case 'w': do_write = true; break;
		default:
			fprintf(stderr, "usage: sfbench [-H vhost] [-d C:T:L] [-b bytes] [-q depth] "
					"[-n commands] [-p poll_us] [-w]\n");
			return 2;
		}
	}
	h = vscsi_open(devid, &o, err, sizeof(err));
	if (!h) {
		fprintf(stderr, "sfbench: %s\n", err);
		return 1;
	}
	buf = calloc(1, bs);
	slots = calloc((size_t)qd, sizeof(*slots));
	left = n;
	t0 = now_ns();
	for (int i = 0; i < qd && left > 0; i++)
		submit(h, &slots[i]);
	if (qd == 1) {
		/* The blocking path: one command at a time, like SG_IO. */
		while (done < n) {
			struct vscsi_task *t;
			uint64_t s = now_ns();

			if (done == 0) {
				while (done == 0)
					vscsi_run_once(h, 1000);
				continue;
			}
			t = do_write ? vscsi_write16_sync(h, &addr, 0, (uint32_t)(bs / 512), 512, buf)
				     : vscsi_read16_sync(h, &addr, 0, (uint32_t)(bs / 512), 512, buf);
			if (!vscsi_task_good(t))
				bad++;
			vscsi_task_free(t);
			lat_sum += now_ns() - s;
			done++;
		}
	} else {
		while (done < n)
			vscsi_run_once(h, 1000);
	}
	t1 = now_ns();
	printf("%s %zu B, QD %d, poll %d us: %ld commands in %.3f s: %.0f cmd/s, %.1f MB/s, "
	       "mean latency %.1f us, %ld errors\n", do_write ? "write" : "read", bs, qd, o.poll_us,
	       done, (double)(t1 - t0) / 1e9, (double)done * 1e9 / (double)(t1 - t0),
	       (double)done * (double)bs * 1e3 / (double)(t1 - t0), (double)lat_sum / (double)done / 1e3,
	       bad);
	vscsi_close(h);
	free(slots);
	free(buf);
	return bad ? 1 : 0;
}
