/* scsiback — the vscsi backend daemon. See scsiback(8). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "config.h"
#include "log.h"
#include "vhost.h"
#include "xenbus.h"

#define DEFAULT_STATE_DIR "/run/scsiback"
#define DRAIN_TIMEOUT_MS 30000
#define DEFAULT_POLL_US 20

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: scsiback [OPTION]...\n"
		"Serves Xen PV SCSI (vscsiif) rings of the guests whose vhosts live under\n"
		"backend/vscsi of this domain, passing every CDB to a host SCSI device\n"
		"(/dev/sgN and the nodes resolving to it) or an iSCSI LUN (iscsi://).\n\n"
		"  -c, --config FILE      backend settings: credentials, CDB policies (INI)\n"
		"  -s, --state-dir DIR    in-flight records that survive a crash (default %s)\n"
		"  -d, --daemon           detach and run in the background\n"
		"  -p, --pidfile FILE     write our pid there (locked while we run)\n"
		"  -l, --log-level LEVEL  err, warn, info or debug (default info)\n"
		"      --poll-us US       after work, poll rings and devices this long before\n"
		"                         sleeping (default %d; 0: always sleep at once)\n"
		"      --syslog           log to syslog instead of stderr\n"
		"  -h, --help             show this help\n\n"
		"Signals: SIGTERM/SIGINT finish in-flight commands and release the rings,\n"
		"leaving guests connected for the next daemon; SIGHUP reloads the config's\n"
		"policies.\n",
		DEFAULT_STATE_DIR, DEFAULT_POLL_US);
}

struct sigctx {
	struct evloop_handler h;
	struct scsiback *sb;
	const char *config_path;
	struct scsiback_config *cfg;
};

static void reload(struct sigctx *s)
{
	struct scsiback_config *fresh = calloc(1, sizeof(*fresh));
	char err[512];

	if (!fresh)
		return;
	if (config_load(s->config_path, fresh, err, sizeof(err)) < 0) {
		log_err("SIGHUP: keeping the old configuration: %s", err);
		config_free(fresh);
		free(fresh);
		return;
	}
	s->sb->cfg = fresh;
	xenbus_apply_config(s->sb);
	config_free(s->cfg);
	free(s->cfg);
	s->cfg = fresh;
	if (fresh->log_level >= 0)
		log_set_level((enum log_level)fresh->log_level);
	log_info("SIGHUP: configuration reloaded from %s", s->config_path ? s->config_path : "(none)");
}

static void signal_cb(struct evloop_handler *h, uint32_t events)
{
	struct sigctx *s = (struct sigctx *)h;
	struct signalfd_siginfo si;

	(void)events;
	if (read(h->fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		reload(s);
		return;
	}
	log_info("signal %u: finishing in-flight commands, then stopping", si.ssi_signo);
	s->sb->stopping = true;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* While polling: takes what the rings hold, without asking frontends
 * for events. */
static bool poll_rings(struct scsiback *sb)
{
	bool work = false;

	for (struct vhost *vh = sb->vhosts; vh; vh = vh->next)
		work |= vhost_ring_poll(vh);
	return work;
}

/* Before sleeping: arms every ring's event index; false when a request
 * slipped in meanwhile (then there is work, do not sleep). */
static bool arm_rings(struct scsiback *sb)
{
	bool work = false;

	for (struct vhost *vh = sb->vhosts; vh; vh = vh->next)
		work |= vhost_ring_kick(vh);
	return !work;
}

/* The main loop. A blocking wake-up costs ~10 us on the machines we
 * measured and a polled ring round trip ~0.6 us, so after any work the
 * loop keeps polling (rings in memory, fds without blocking) for poll_ns
 * without asking the frontends for events, and sleeps only when nothing
 * came for that long: busy only while busy, asleep when idle. */
static void serve(struct scsiback *sb, uint64_t poll_ns)
{
	uint64_t last_work = 0;

	sb->polling = poll_ns > 0;
	while (!sb->stopping) {
		uint64_t t;
		int n;

		if (!poll_ns) {
			if (evloop_run_once(sb->loop, -1) < 0)
				break;
			continue;
		}
		n = evloop_run_once(sb->loop, 0);
		if (n < 0)
			break;
		t = now_ns();
		if (n > 0 || poll_rings(sb)) {
			last_work = t;
		} else if (t - last_work > poll_ns) {
			if (arm_rings(sb) && evloop_run_once(sb->loop, -1) < 0)
				break;
			last_work = now_ns();
		}
	}
}

static unsigned busy_total(struct scsiback *sb)
{
	unsigned n = 0;

	for (struct vhost *vh = sb->vhosts; vh; vh = vh->next)
		n += vh->busy;
	return n;
}

static int write_pidfile(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "scsiback: pidfile %s: %s\n", path,
			fd < 0 ? strerror(errno) : "locked: another scsiback runs");
		return -1;
	}
	if (ftruncate(fd, 0) == 0)
		dprintf(fd, "%d\n", (int)getpid());
	return fd; /* kept open: the lock lives as long as we do */
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "syslog", no_argument, NULL, 'S' },
		{ "poll-us", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *config_path = NULL, *state_dir = NULL, *pidfile = NULL;
	bool daemonize = false, use_syslog = false;
	int level = -1, c;
	long poll_us = DEFAULT_POLL_US;
	struct scsiback sb;
	struct sigctx sig;
	sigset_t mask;
	char err[512];

	while ((c = getopt_long(argc, argv, "c:s:dp:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 's': state_dir = optarg; break;
		case 'd': daemonize = true; break;
		case 'p': pidfile = optarg; break;
		case 'l':
			if ((level = log_level_parse(optarg)) < 0) {
				fprintf(stderr, "scsiback: unknown log level \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'S': use_syslog = true; break;
		case 'P': {
			char *end;

			poll_us = strtol(optarg, &end, 10);
			if (*end || poll_us < 0 || poll_us > 1000000) {
				fprintf(stderr, "scsiback: --poll-us \"%s\": want 0..1000000\n", optarg);
				return 2;
			}
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "scsiback: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	memset(&sb, 0, sizeof(sb));
	memset(&sig, 0, sizeof(sig));
	sig.cfg = calloc(1, sizeof(*sig.cfg));
	if (!sig.cfg || config_load(config_path, sig.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "scsiback: %s\n", err);
		return 1;
	}
	if (level < 0)
		level = sig.cfg->log_level >= 0 ? sig.cfg->log_level : LOG_LVL_INFO;
	log_init("scsiback", (enum log_level)level, use_syslog);
	if (!state_dir)
		state_dir = sig.cfg->state_dir[0] ? sig.cfg->state_dir : DEFAULT_STATE_DIR;
	snprintf(sb.statedir, sizeof(sb.statedir), "%s", state_dir);
	if (mkdir(sb.statedir, 0700) < 0 && errno != EEXIST) {
		log_err("state directory %s: %s", sb.statedir, strerror(errno));
		return 1;
	}
	if (daemonize && daemon(0, 0) < 0) {
		log_err("cannot detach: %s", strerror(errno));
		return 1;
	}
	if (pidfile && write_pidfile(pidfile) < 0)
		return 1;

	sb.cfg = sig.cfg;
	sb.on_disconnected = xenbus_vhost_disconnected;
	sb.on_lun_opened = xenbus_lun_opened;
	sb.loop = evloop_new();
	sb.xs = xs_open(0);
	if (!sb.xs) {
		log_err("cannot reach xenstore: %s", strerror(errno));
		return 1;
	}
	sb.gnt = xengnttab_open(NULL, 0);
	if (!sb.gnt) {
		log_err("cannot open the grant device: %s", strerror(errno));
		return 1;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig.h.fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	sig.h.cb = signal_cb;
	sig.sb = &sb;
	sig.config_path = config_path;
	evloop_add(sb.loop, &sig.h, EPOLLIN);

	if (xenbus_start(&sb) < 0)
		return 1;

	serve(&sb, poll_us * 1000);
	/* Drain: no new requests are taken; wait for what runs. */
	{
		struct timespec t0, t;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (busy_total(&sb)) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > DRAIN_TIMEOUT_MS) {
				log_warn("%u command(s) still running after %d s; aborting them",
					 busy_total(&sb), DRAIN_TIMEOUT_MS / 1000);
				break;
			}
			evloop_run_once(sb.loop, 100);
		}
	}
	xenbus_stop(&sb);
	xengnttab_close(sb.gnt);
	xs_close(sb.xs);
	evloop_free(sb.loop);
	config_free(sig.cfg);
	free(sig.cfg);
	if (pidfile)
		unlink(pidfile);
	log_info("stopped");
	return 0;
}
