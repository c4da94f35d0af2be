/* vscsi-lifecycle — PV SCSI devices that follow a domain through xl's
 * lifecycle (create, reboot, save/restore, migrate) without a patched xl.
 * See vscsi-lifecycle(8). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <xenstore.h>

#include "domrecord.h"
#include "lc_domains.h"
#include "log.h"

enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2, EX_RUNNING = 3 };

#define DEFAULT_TIMEOUT_S 30
#define DEFAULT_VERDICT_S 300

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vscsi-lifecycle [OPTION]...\n"
		"Gives each Xen domain the PV SCSI devices of its xl config's vscsi = [...] list\n"
		"whenever xl creates, reboots, restores or migrates it in, holding the new domain\n"
		"paused until its vhosts are written; removes them when the domain is gone.\n"
		"\n"
		"Options:\n"
		"  -c, --config-dir DIR     where domain config files are found by their name =\n"
		"                           (repeatable, searched in order; default /etc/xen/auto,\n"
		"                           then /etc/xen)\n"
		"  -s, --state-dir DIR      records of each domain's entries, by uuid (default\n"
		"                           $VSCSI_STATE_DIR or " DOMREC_DEFAULT_DIR ")\n"
		"  -t, --timeout SECONDS    the longest a new domain is held paused while its\n"
		"                           backends take its vhosts up (default %d)\n"
		"      --verdict-timeout SECONDS\n"
		"                           how long to wait, once the domain runs, for its guest\n"
		"                           to connect and the backend to accept each LUN (default %d)\n"
		"      --strict             a domain with an entry that fails is destroyed instead\n"
		"                           of started (per domain: vscsi_strict = 1 in its config)\n"
		"  -d, --daemon             detach and run in the background (logs go to syslog)\n"
		"  -p, --pidfile FILE       write our pid there (locked while we run)\n"
		"  -l, --log-level LEVEL    err, warn, info (default) or debug\n"
		"  -v, --verbose            the same as --log-level debug\n"
		"      --syslog             log to syslog instead of stderr\n"
		"  -V, --version            show the version\n"
		"  -h, --help               show this help\n"
		"\n"
		"Entries: \"PDEV,VDEV[,feature-host][,backend=DOMAIN]\" as in vscsictl(8).\n"
		"Exit status: 0 stopped by SIGTERM or SIGINT, 1 xenstore unreachable or lost,\n"
		"2 usage, 3 another vscsi-lifecycle holds the pidfile.\n",
		DEFAULT_TIMEOUT_S, DEFAULT_VERDICT_S);
}

static int write_pidfile(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		log_err("pidfile %s: %s", path, fd < 0 ? strerror(errno) : "locked: another "
			"vscsi-lifecycle runs");
		return -1;
	}
	if (ftruncate(fd, 0) == 0)
		dprintf(fd, "%d\n", (int)getpid());
	return fd; /* kept open: the lock lives as long as we do */
}

static bool parse_seconds(const char *s, unsigned *ms)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v > 0) || v > 86400)
		return false;
	*ms = (unsigned)(v * 1000 + 0.5);
	if (!*ms)
		*ms = 1;
	return true;
}

/* Drains the watch events; false when xenstore is gone. */
static bool drain_watches(struct xs_handle *xs)
{
	char **ev;

	while ((ev = xs_check_watch(xs)))
		free(ev);
	return errno == EAGAIN;
}

/* libxenstore does not wake a watcher when xenstored goes away: ask. */
static bool xs_alive(struct xs_handle *xs)
{
	unsigned n;
	char **d = xs_directory(xs, XBT_NULL, "/", &n);

	free(d);
	return d != NULL;
}

static int serve(struct lc_opts *o, int sfd)
{
	struct xs_handle *xs = xs_open(0);
	struct lc_domains *doms;
	int rc = EX_OK;

	if (!xs) {
		log_err("cannot reach xenstore: %s", strerror(errno));
		return EX_FAIL;
	}
	if (!xs_watch(xs, "@introduceDomain", "introduce") || !xs_watch(xs, "@releaseDomain", "release")) {
		log_err("cannot watch domains come and go: %s", strerror(errno));
		xs_close(xs);
		return EX_FAIL;
	}
	doms = lc_domains_new(o, xs);
	if (!doms) {
		xs_close(xs);
		return EX_FAIL;
	}
	lc_domains_scan(doms, true);
	log_info("following domains (config dirs: %s%s%s; records: %s)", o->src.config_dirs[0],
		 o->src.nconfig_dirs > 1 ? ", " : "", o->src.nconfig_dirs > 1 ? o->src.config_dirs[1] : "",
		 o->src.state_dir);
	for (;;) {
		struct pollfd p[2] = { { xs_fileno(xs), POLLIN, 0 }, { sfd, POLLIN, 0 } };
		int n = poll(p, 2, lc_domains_busy(doms) ? 250 : 5000);

		if (n < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			rc = EX_FAIL;
			break;
		}
		if (n > 0 && p[1].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGHUP) {
				log_info("stopping (signal %u)", si.ssi_signo);
				break;
			}
		}
		if ((n > 0 && p[0].revents && !drain_watches(xs)) || (n == 0 && !xs_alive(xs))) {
			log_err("lost xenstore (%s): exiting so that the service manager restarts us",
				strerror(errno));
			rc = EX_FAIL;
			break;
		}
		lc_domains_scan(doms, false);
	}
	lc_domains_free(doms);
	xs_close(xs);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config-dir", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verdict-timeout", required_argument, NULL, 'T' },
		{ "strict", no_argument, NULL, 'X' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "syslog", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct lc_opts o = { .timeout_ms = DEFAULT_TIMEOUT_S * 1000, .verdict_ms = DEFAULT_VERDICT_S * 1000 };
	const char *pidfile = NULL, *state_dir = NULL;
	bool daemonize = false, use_syslog = false;
	int level = LOG_LVL_INFO, c, sfd, pfd = -1, rc;
	sigset_t mask;

	while ((c = getopt_long(argc, argv, "c:s:t:dp:l:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (o.src.nconfig_dirs == LC_MAX_CONFIG_DIRS) {
				fprintf(stderr, "vscsi-lifecycle: at most %d --config-dir\n", LC_MAX_CONFIG_DIRS);
				return EX_USAGE;
			}
			o.src.config_dirs[o.src.nconfig_dirs++] = optarg;
			break;
		case 's':
			state_dir = optarg;
			break;
		case 't':
		case 'T':
			if (!parse_seconds(optarg, c == 't' ? &o.timeout_ms : &o.verdict_ms)) {
				fprintf(stderr, "vscsi-lifecycle: --%s wants seconds between 0 and 86400, "
					"not \"%s\"\n", c == 't' ? "timeout" : "verdict-timeout", optarg);
				return EX_USAGE;
			}
			break;
		case 'X':
			o.strict = true;
			break;
		case 'd':
			daemonize = true;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'l':
			level = log_level_parse(optarg);
			if (level < 0) {
				fprintf(stderr, "vscsi-lifecycle: unknown log level \"%s\" (err, warn, info, "
					"debug)\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'v':
			level = LOG_LVL_DEBUG;
			break;
		case 'S':
			use_syslog = true;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'V':
			printf("vscsi-lifecycle %s\n", VSCSI_VERSION);
			return EX_OK;
		default:
			fprintf(stderr, "Try 'vscsi-lifecycle --help'.\n");
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vscsi-lifecycle: unexpected argument \"%s\"\nTry 'vscsi-lifecycle "
			"--help'.\n", argv[optind]);
		return EX_USAGE;
	}
	if (o.src.nconfig_dirs == 0) {
		o.src.config_dirs[o.src.nconfig_dirs++] = "/etc/xen/auto";
		o.src.config_dirs[o.src.nconfig_dirs++] = "/etc/xen";
	}
	o.src.state_dir = domrec_dir(state_dir);
	log_init("vscsi-lifecycle", (enum log_level)level, use_syslog || daemonize);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	/* Blocked before any job thread exists, so only the loop sees them. */
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sigdelset(&mask, SIGPIPE);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		return EX_FAIL;
	}
	if (daemonize && daemon(0, 0) < 0) {
		log_err("daemon: %s", strerror(errno));
		return EX_FAIL;
	}
	if (pidfile && (pfd = write_pidfile(pidfile)) < 0)
		return EX_RUNNING;
	rc = serve(&o, sfd);
	if (pidfile) {
		unlink(pidfile);
		close(pfd);
	}
	close(sfd);
	return rc;
}
