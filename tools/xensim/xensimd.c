/* xensimd — a userspace "Xen" for one Linux host: the store, the domains,
 * their memory, grant tables and event channels. See xensim(1). */
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
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "sim_ctl.h"
#include "sim_proto.h"
#include "xenstored.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: xensimd [OPTION]...\n"
		"Runs the simulated Xen: xenstored, domains, grant tables, event channels.\n\n"
		"  -r, --rundir DIR        run directory (default $XENSIM_RUNDIR or %s)\n"
		"  -d, --daemon            detach once ready (default: stay in the foreground)\n"
		"  -m, --dom0-memory MIB   memory of domain 0 (default %u)\n"
		"  -l, --log-level LEVEL   err, warn, info or debug (default info)\n"
		"  -s, --syslog            log to syslog instead of stderr\n"
		"  -V, --version           show the version\n"
		"  -h, --help              show this help\n\n"
		"Clients find it through $XENSIM_RUNDIR/ctl; domain D's xenstore socket is\n"
		"$XENSIM_RUNDIR/xenstore/domD. Use xensim(1) to drive it.\n",
		SIM_DEFAULT_RUNDIR, SIM_DEFAULT_MEMORY_MIB);
}

struct signal_watch {
	struct evloop_handler h;
	struct evloop *loop;
	struct sim_ctl *ctl;
};

static void signal_cb(struct evloop_handler *h, uint32_t events)
{
	struct signal_watch *sw = (struct signal_watch *)h;
	struct signalfd_siginfo si;

	(void)events;
	while (read(h->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			sim_ctl_reap(sw->ctl); /* a guest's init ended */
			continue;
		}
		log_info("signal %u: shutting down", si.ssi_signo);
		evloop_stop(sw->loop);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rundir", required_argument, NULL, 'r' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "dom0-memory", required_argument, NULL, 'm' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "syslog", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *rundir = getenv("XENSIM_RUNDIR");
	bool daemonize = false, use_syslog = false;
	unsigned dom0_mib = SIM_DEFAULT_MEMORY_MIB;
	int level = LOG_LVL_INFO, c, ready_pipe[2] = { -1, -1 }, lockfd;
	char path[512];
	struct evloop *loop;
	struct xs_daemon *xsd;
	struct sim_ctl *ctl;
	struct signal_watch sw;
	sigset_t mask;

	while ((c = getopt_long(argc, argv, "r:dm:l:shV", opts, NULL)) != -1) {
		switch (c) {
		case 'r': rundir = optarg; break;
		case 'd': daemonize = true; break;
		case 'm': dom0_mib = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'l':
			level = log_level_parse(optarg);
			if (level < 0) {
				fprintf(stderr, "xensimd: unknown log level \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 's': use_syslog = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("xensimd %s\n", VSCSI_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xensimd: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (!rundir || !*rundir)
		rundir = SIM_DEFAULT_RUNDIR;
	log_init("xensimd", (enum log_level)level, use_syslog);

	if (mkdir(rundir, 0755) < 0 && errno != EEXIST) {
		log_err("run directory %s: %s", rundir, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s", rundir, SIM_XS_DIR);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		log_err("%s: %s", path, strerror(errno));
		return 1;
	}
	/* One daemon per run directory: the pidfile is locked while we live. */
	snprintf(path, sizeof(path), "%s/xensimd.pid", rundir);
	lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
		log_err("%s: another xensimd owns this run directory (%s)", rundir,
			lockfd < 0 ? strerror(errno) : "pidfile locked");
		return 1;
	}

	if (daemonize) {
		pid_t pid;
		char byte;

		if (pipe2(ready_pipe, O_CLOEXEC) < 0)
			return 1;
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid > 0) {
			close(ready_pipe[1]);
			/* Exit only once the sockets exist, so callers can connect. */
			return read(ready_pipe[0], &byte, 1) == 1 ? 0 : 1;
		}
		close(ready_pipe[0]);
		setsid();
		if (!use_syslog) {
			/* Everything the detached daemon says goes to its log. */
			int logfd;

			snprintf(path, sizeof(path), "%s/xensimd.log", rundir);
			logfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
			if (logfd >= 0) {
				dup2(logfd, 2);
				close(logfd);
			}
		}
		if (flock(lockfd, LOCK_EX | LOCK_NB) < 0)
			return 1;
	}
	if (ftruncate(lockfd, 0) == 0)
		dprintf(lockfd, "%d\n", (int)getpid());

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	loop = evloop_new();
	xsd = loop ? xsd_new(loop) : NULL;
	ctl = xsd ? sim_ctl_new(loop, xsd, rundir) : NULL;
	if (!ctl || sim_ctl_create_domain(ctl, 0, "Domain-0", dom0_mib) != 0) {
		log_err("cannot start the simulator in %s", rundir);
		return 1;
	}
	sw.h.fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	sw.h.cb = signal_cb;
	sw.loop = loop;
	sw.ctl = ctl;
	evloop_add(loop, &sw.h, EPOLLIN);

	log_info("ready in %s", rundir);
	if (daemonize) {
		int devnull = open("/dev/null", O_RDWR);

		if (write(ready_pipe[1], "R", 1) != 1)
			return 1;
		close(ready_pipe[1]);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			if (use_syslog)
				dup2(devnull, 2);
			close(devnull);
		}
	}

	evloop_run(loop);

	sim_ctl_free(ctl);
	xsd_free(xsd);
	evloop_free(loop);
	snprintf(path, sizeof(path), "%s/%s", rundir, SIM_CTL_SOCKET);
	unlink(path);
	snprintf(path, sizeof(path), "%s/xensimd.pid", rundir);
	unlink(path);
	log_info("stopped");
	return 0;
}
