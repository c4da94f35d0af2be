/* scsiback — the vscsi backend daemon. See scsiback(8). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "config.h"
#include "log.h"
#include "privdrop.h"
#include "sandbox.h"
#include "serve.h"
#include "spawner.h"
#include "status.h"
#include "vhost.h"
#include "wlink.h"
#include "worker.h"
#include "xenbus.h"

#define DEFAULT_STATE_DIR "/run/scsiback"
#define LOCK_NAME "scsiback.lock"
#define DRAIN_TIMEOUT_MS 30000
#define DEFAULT_POLL_US 20
#define WORKER_USER_DEFAULT "_scsiback"   /* debian/scsiback.postinst makes it */

/* Exit statuses (scsiback(8)): 0 after a clean stop, 1 when we cannot
 * start, 2 for a bad command line, and this one when another scsiback
 * holds our lock. */
#define EXIT_LOCKED 3

#ifdef VSCSI_TEST_HOOKS
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
/* Test builds only (not the packages: debian/rules sets TEST_HOOKS=0):
 * VSCSI_TEST_SECCOMP_PROBE=CALL makes the daemon attempt CALL once its
 * filter is on, as a guest that took it over would (test_scsiback_daemon). */
static void test_probe_seccomp(void)
{
	const char *call = getenv("VSCSI_TEST_SECCOMP_PROBE");
	char *argv[] = { "true", NULL };
	long r = 0;

	if (!call)
		return;
	log_info("test probe: calling %s", call);
	if (!strcmp(call, "execve"))
		r = execve("/bin/true", argv, environ);
	else if (!strcmp(call, "ptrace"))
		r = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	else if (!strcmp(call, "init_module"))
		r = syscall(SYS_init_module, NULL, 0UL, "");
	else if (!strcmp(call, "mount"))
		r = mount("none", "/mnt", "tmpfs", 0, NULL);
	else if (!strcmp(call, "setuid"))
		r = syscall(SYS_setuid, 0);   /* glibc's setuid() has every thread call it */
	log_info("test probe: %s returned %ld (%s)", call, r, r < 0 ? strerror(errno) : "ok");
}
#else
static void test_probe_seccomp(void)
{
}
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: scsiback [OPTION]...\n"
		"Serves Xen PV SCSI (vscsiif) rings of the guests whose vhosts live under\n"
		"backend/vscsi of this domain, passing every CDB to a host SCSI device\n"
		"(/dev/sgN and the nodes resolving to it) or an iSCSI LUN (iscsi://).\n\n"
		"  -c, --config FILE      backend settings: credentials, CDB policies (INI)\n"
		"  -s, --state-dir DIR    in-flight records that survive a crash, and the lock\n"
		"                         that keeps a second daemon off them (default %s)\n"
		"  -d, --daemon           detach and run in the background once serving\n"
		"                         (the log goes to syslog from then on)\n"
		"  -p, --pidfile FILE     write our pid there (locked while we run)\n"
		"  -l, --log-level LEVEL  err, warn, info or debug (default info)\n"
		"      --poll-us US       after work, poll rings and devices up to this long\n"
		"                         before sleeping, as the gaps between commands show it\n"
		"                         pays (default %d; 0: always sleep at once)\n"
		"      --syslog           log to syslog instead of stderr\n"
		"      --no-seccomp       serve without the seccomp filter (scsiback(8),\n"
		"                         SECURITY: for a system call it lacks)\n"
		"      --privsep          serve each guest domain from its own deprivileged\n"
		"                         worker (the default as root; docs/privsep.md)\n"
		"      --worker-user USER the user the guests' workers run as (default\n"
		"                         " WORKER_USER_DEFAULT ")\n"
		"      --no-privsep       serve every guest in this process, as root\n"
		"  -V, --version          show the version\n"
		"  -h, --help             show this help\n\n"
		"Signals: SIGTERM/SIGINT finish in-flight commands and release the rings,\n"
		"leaving guests connected for the next daemon; SIGHUP reloads the config's\n"
		"policies.\n\n"
		"Exit status: 0 after a clean stop, 1 when it cannot start, 2 on a bad\n"
		"command line, 3 when another scsiback holds the state directory's lock or\n"
		"the pidfile.\n",
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

/* Our pid into a lock file (a pidfile is one too). */
static void write_pid(int fd)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		log_warn("cannot write our pid into a lock file: %s", strerror(errno));
}

/* Takes an exclusive lock on path (created if need be) and returns its
 * fd, to keep open for as long as we run: the kernel drops the lock when
 * we end, however we end. -1: cannot (logged); -EXIT_LOCKED: another
 * process holds it (logged with the pid it wrote there). */
static int lock_file(const char *path, const char *what)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	char buf[32] = "";
	ssize_t n;
	int pid;

	if (fd < 0) {
		log_err("%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		write_pid(fd);
		return fd;
	}
	if (errno != EWOULDBLOCK) {
		log_err("%s %s: cannot lock: %s", what, path, strerror(errno));
		close(fd);
		return -1;
	}
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	pid = n > 0 ? atoi(buf) : 0;
	if (pid > 0)
		log_err("%s %s is held by pid %d, another scsiback; not starting", what, path, pid);
	else
		log_err("%s %s is held by another process (no pid written yet); not starting", what,
			path);
	return -EXIT_LOCKED;
}

/* --daemon. The child goes on in a session of its own; the parent waits
 * until the child serves and exits 0, or exits with the child's status
 * when it could not start, so that whoever started us learns of a start
 * that failed. Returns, in the child, the fd on which to say "serving";
 * -1 (logged) when there is no child. */
static int detach(void)
{
	int p[2], status;
	ssize_t n;
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		log_err("cannot detach: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		while ((n = read(p[0], &c, 1)) < 0 && errno == EINTR)
			;
		if (n == 1)
			_exit(0);
		/* It ended before serving: its status is ours. */
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
			_exit(WEXITSTATUS(status));
		_exit(1);
	}
	close(p[0]);
	setsid();
	if (chdir("/") < 0)
		log_warn("cannot change directory to /: %s", strerror(errno));
	return p[1];
}

/* The detached daemon serves: standard streams go, and with them the
 * log unless it went to syslog already; the parent exits 0. */
static void detach_done(int ready_fd)
{
	int null;

	log_info("serving in the background; logging to syslog");
	log_init("scsiback", log_get_level(), true);
	null = open("/dev/null", O_RDWR);

	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	if (write(ready_fd, "", 1) != 1)
		log_warn("cannot tell the starting process we serve: %s", strerror(errno));
	close(ready_fd);
}

/* path made absolute against the working directory (symbolic links
 * kept: a reload reads what the link names then); -1 if too long. */
static int absolute(const char *path, char out[PATH_MAX])
{
	char cwd[PATH_MAX];
	int n;

	if (path[0] == '/')
		n = snprintf(out, PATH_MAX, "%s", path);
	else if (getcwd(cwd, sizeof(cwd)))
		n = snprintf(out, PATH_MAX, "%s/%s", cwd, path);
	else
		return -1;
	return n < PATH_MAX ? 0 : -1;
}

/* Privilege separation (docs/privsep.md): the workers' user, their empty
 * root, and the spawner that starts them. 0 or -1 (logged). */
static int start_spawner(struct scsiback *sb, const char *user, int level, bool to_syslog,
			 long poll_us, bool seccomp, int lock_fd, int pid_fd)
{
	static char jail[PATH_MAX];
	struct spawner_opts o;
	char err[200];
	int fd;

	if (!user) {
		user = WORKER_USER_DEFAULT;
		if (!getpwnam(user)) {
			/* (a system without the package's user: tests, make install) */
			log_warn("no user \"%s\" for the guests' workers: they run as \"nobody\" "
				 "(--worker-user names another)", WORKER_USER_DEFAULT);
			user = "nobody";
		}
	}
	if (!getpwnam(user)) {
		log_err("--worker-user \"%s\": no such user", user);
		return -1;
	}
	snprintf(jail, sizeof(jail), "%s/worker-root", sb->statedir);
	if (mkdir(jail, 0755) < 0 && errno != EEXIST) {
		log_err("the workers' root %s: %s", jail, strerror(errno));
		return -1;
	}
	o = (struct spawner_opts){ .user = user, .jail = jail, .log_level = level,
				   .to_syslog = to_syslog, .poll_us = poll_us, .seccomp = seccomp,
				   .locks = { lock_fd, pid_fd } };
	fd = spawner_start(&o);
	if (fd < 0)
		return -1;
	sb->spawner = fd;
	if (privdrop_spawn_caps(true, err, sizeof(err)) < 0) {
		log_err("cannot give up the capabilities only the worker spawner needs: %s", err);
		return -1;
	}
	sb->privsep = true;
	sb->worker_msg = vhost_worker_msg;
	sb->portal_allowed = vhost_portal_allowed;
	sb->worker_restarted = xenbus_worker_restarted;
	log_info("guests are served by workers running as %s (docs/privsep.md)", user);
	return 0;
}

/* A start that ends before serving, with its exit status. */
static int quit_early(struct sigctx *sig, int status)
{
	config_free(sig->cfg);
	free(sig->cfg);
	return status;
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
		{ "no-seccomp", no_argument, NULL, 'N' },
		{ "no-privsep", no_argument, NULL, 'O' },
		{ "privsep", no_argument, NULL, 'W' },
		{ "worker-user", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *config_path = NULL, *state_dir = NULL, *pidfile = NULL;
	const char *worker_user = NULL;
	bool daemonize = false, use_syslog = false, use_seccomp = true, use_privsep = true;
	bool privsep_asked = false;
	int level = -1, c;
	long poll_us = DEFAULT_POLL_US;
	struct scsiback sb;
	struct sigctx sig;
	sigset_t mask;
	char err[512], path[PATH_MAX], config_abs[PATH_MAX], pidfile_abs[PATH_MAX];
	int lock_fd, pid_fd = -1, ready_fd = -1;

	if (argc > 1 && !strcmp(argv[1], "--worker"))
		return worker_main(argc, argv);
	while ((c = getopt_long(argc, argv, "c:s:dp:l:hV", opts, NULL)) != -1) {
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
		case 'N': use_seccomp = false; break;
		case 'O': use_privsep = false; break;
		case 'W': use_privsep = privsep_asked = true; break;
		case 'U': worker_user = optarg; break;
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
		case 'V': printf("scsiback %s\n", VSCSI_VERSION); return 0;
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
	if (!sig.cfg) {
		fprintf(stderr, "scsiback: out of memory\n");
		return 1;
	}
	if (config_load(config_path, sig.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "scsiback: %s\n", err);
		return quit_early(&sig, 1);
	}
	if (level < 0)
		level = sig.cfg->log_level >= 0 ? sig.cfg->log_level : LOG_LVL_INFO;
	log_init("scsiback", (enum log_level)level, use_syslog);
	if (!state_dir)
		state_dir = sig.cfg->state_dir[0] ? sig.cfg->state_dir : DEFAULT_STATE_DIR;
	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST) {
		log_err("state directory %s: %s", state_dir, strerror(errno));
		return quit_early(&sig, 1);
	}
	/* Absolute paths: a detached daemon works from /. */
	if (absolute(state_dir, path) < 0 || strlen(path) >= sizeof(sb.statedir) - 32) {
		log_err("state directory %s: path too long", state_dir);
		return quit_early(&sig, 1);
	}
	snprintf(sb.statedir, sizeof(sb.statedir), "%s", path);
	if (config_path && absolute(config_path, config_abs) == 0)
		config_path = config_abs;
	/* One daemon per state directory: it holds the in-flight records of
	 * the vhosts the daemon serves, and a second daemon would serve the
	 * same guests (the next one after a restart must use it too, or
	 * recovery finds nothing). Taken before xenstore is touched. */
	snprintf(path, sizeof(path), "%s/" LOCK_NAME, sb.statedir);
	lock_fd = lock_file(path, "state directory lock");
	if (lock_fd < 0)
		return quit_early(&sig, lock_fd == -EXIT_LOCKED ? EXIT_LOCKED : 1);
	if (pidfile) {
		pid_fd = lock_file(pidfile, "pidfile");
		if (pid_fd < 0)
			return quit_early(&sig, pid_fd == -EXIT_LOCKED ? EXIT_LOCKED : 1);
		if (absolute(pidfile, pidfile_abs) == 0)
			pidfile = pidfile_abs;
	}
	if (daemonize) {
		ready_fd = detach();
		if (ready_fd < 0)
			return quit_early(&sig, 1);
		/* The child's pid, over the parent's. */
		write_pid(lock_fd);
		if (pid_fd >= 0)
			write_pid(pid_fd);
	}

	sb.cfg = sig.cfg;
	sb.on_disconnected = xenbus_vhost_disconnected;
	sb.on_lun_opened = xenbus_lun_opened;
	sb.on_connect_failed = xenbus_connect_failed;
	sb.loop = evloop_new();
	/* The spawner first: forked before any thread (libxenstore's) and
	 * before our seccomp filter, which it must not inherit. */
	if (use_privsep && geteuid() == 0) {
		if (start_spawner(&sb, worker_user, level, use_syslog || daemonize, poll_us,
				  use_seccomp, lock_fd, pid_fd) < 0)
			return 1;
	} else if (privsep_asked) {
		log_warn("not root: serving every guest in this process (no workers to drop to)");
	} else if (geteuid() == 0 && privdrop_spawn_caps(false, err, sizeof(err)) < 0) {
		/* (what the unit keeps for the workers) */
		log_err("cannot give up setuid, setgid, chroot and kill: %s", err);
		return 1;
	}
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
	if ((c = status_start(&sb)) < 0)
		log_warn("cannot keep %s/%s: %s", sb.statedir, STATUS_FILE, strerror(-c));
	if (use_seccomp) {
		if (sandbox_apply(use_syslog || daemonize, err, sizeof(err)) < 0) {
			log_err("cannot apply the seccomp filter: %s (--no-seccomp serves without it)", err);
			return 1;
		}
		log_debug("seccomp filter applied");
	}
	test_probe_seccomp();
	if (ready_fd >= 0)
		detach_done(ready_fd);

	serve_run(&sb, sb.privsep ? 0 : poll_us * 1000);
	serve_drain(&sb, DRAIN_TIMEOUT_MS);
	wlink_stop_all(&sb, DRAIN_TIMEOUT_MS + 5000);
	status_stop(&sb);
	xenbus_stop(&sb);
	xengnttab_close(sb.gnt);
	xs_close(sb.xs);
	evloop_free(sb.loop);
	config_free(sig.cfg);
	free(sig.cfg);
	if (pidfile)
		unlink(pidfile);
	log_info("stopped%s", sb.exit_status ? " (xenstore lost)" : "");
	return sb.exit_status;
}
