/* A guest's worker; see worker.h. */
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#include "inflight.h"
#include "log.h"
#include "pdev.h"
#include "pgrant.h"
#include "portal.h"
#include "privdrop.h"
#include "sandbox.h"
#include "serve.h"
#include "sgio.h"
#include "vhost.h"
#include "wmsg.h"

#define WORKER_SOCK 3
#define WORKER_DRAIN_MS 30000
#define WORKER_STATS_S 1
#define WORKER_SG_THREADS 4       /* SG_IO threads (sgio.h): commands at once on sg LUNs */

struct worker {
	struct scsiback sb;
	uint32_t domid;
	int sock;
	struct evloop_handler sock_h, evtchn_h, sig_h, stats_h;
	bool told_stop;               /* the broker said WMSG_STOP */
};

#ifdef VSCSI_TEST_HOOKS
#include <fcntl.h>
#include <pthread.h>
#include <sys/ptrace.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
/* Test builds only (not the packages: debian/rules sets TEST_HOOKS=0):
 * with VSCSI_TEST_WORKER_PROBE=WHAT, a worker that gets SIGUSR2 attempts
 * WHAT while it serves, as a guest that took it over would
 * (test_worker_refusals). */
#define WORKER_TEST_SIGNAL SIGUSR2
static void *worker_test_thread(void *arg)
{
	return arg;
}

static void worker_test_probe(uint32_t domid)
{
	const char *what = getenv("VSCSI_TEST_WORKER_PROBE");
	char *argv[] = { "true", NULL };
	long r = 0;

	if (!what)
		return;
	log_info("worker for domain %u: test probe: %s", domid, what);
	errno = 0;
	if (!strcmp(what, "open-file"))
		r = open("/etc/passwd", O_RDONLY);
	else if (!strcmp(what, "open-device"))
		r = open("/dev/xen/xenbus", O_RDWR);
	else if (!strcmp(what, "xenstore"))   /* xenstored's socket, syslog's */
		r = socket(AF_UNIX, SOCK_STREAM, 0);
	else if (!strcmp(what, "execve"))
		r = execve("/bin/true", argv, environ);
	else if (!strcmp(what, "ptrace"))     /* init, root */
		r = ptrace(PTRACE_ATTACH, 1, NULL, NULL);
	else if (!strcmp(what, "init_module"))
		r = syscall(SYS_init_module, NULL, 0UL, "");
	else if (!strcmp(what, "setuid"))
		r = syscall(SYS_setuid, 0);
	else if (!strcmp(what, "kill-all"))   /* every other worker: the same user */
		r = kill(-1, SIGKILL);
	else if (!strcmp(what, "udp"))
		r = socket(AF_INET, SOCK_DGRAM, 0);
	else if (!strcmp(what, "protocol")) {  /* nonsense to the broker: kind 0 */
		union wmsg m;

		memset(&m, 0, sizeof(m));
		m.h.size = sizeof(m.h);
		r = wmsg_send(WORKER_SOCK, &m, -1);
	} else if (!strcmp(what, "thread")) {  /* one more than the SG_IO threads */
		pthread_t t;

		r = pthread_create(&t, NULL, worker_test_thread, NULL);
		if (r) {
			errno = (int)r;
			r = -1;
		}
	}
	else if (!strcmp(what, "connect-other") || !strcmp(what, "connect-raw")) {
		/* TCP to an address that is no portal of its LUNs: through
		 * the broker (portal.h), or by the system call itself */
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

		r = s < 0 ? -1
			  : what[8] == 'o' ? connect(s, (struct sockaddr *)&a, sizeof(a))
					   : syscall(SYS_connect, s, &a, sizeof(a));
	}
	else
		log_err("worker for domain %u: test probe %s unknown", domid, what);
	log_info("worker for domain %u: test probe: %s returned %ld (%s)", domid, what, r,
		 r < 0 ? strerror(errno) : "ok");
}
#else
#define WORKER_TEST_SIGNAL SIGHUP   /* (no probe: SIGHUP is in the mask anyway) */
static void worker_test_probe(uint32_t domid)
{
	(void)domid;
}
#endif

static void worker_send(struct worker *w, const union wmsg *m)
{
	int r = wmsg_send(w->sock, m, -1);

	if (r < 0 && r != -EPIPE)
		log_warn("worker for domain %u: cannot send %s to the broker: %s", w->domid,
			 wmsg_kind_name(m->h.kind), strerror(-r));
}

static struct vhost *worker_vhost(struct worker *w, uint32_t devid)
{
	for (struct vhost *vh = w->sb.vhosts; vh; vh = vh->next)
		if (vh->devid == devid)
			return vh;
	return NULL;
}

static struct worker *worker_of(struct scsiback *sb)
{
	return (struct worker *)((char *)sb - offsetof(struct worker, sb));
}

static void worker_lun_opened(struct vhost *vh, unsigned devnum, const char *pdev, int rc,
			      const char *err)
{
	struct worker *w = worker_of(vh->sb);
	struct vlun *vl = rc ? NULL : vlun_find_devnum(&vh->luns, devnum);
	union wmsg m;

	(void)pdev;
	wmsg_init(&m, WMSG_LUN_OPENED, vh->devid);
	m.lun_opened.devnum = devnum;
	m.lun_opened.rc = rc;
	snprintf(m.lun_opened.err, sizeof(m.lun_opened.err), "%s", rc ? err : "");
	if (vl) {
		m.lun_opened.dev_type = vl->dev.dev_type;
		snprintf(m.lun_opened.desc, sizeof(m.lun_opened.desc), "%s", vl->dev.desc);
	}
	worker_send(w, &m);
}

static void worker_disconnected(struct vhost *vh)
{
	union wmsg m;

	wmsg_init(&m, WMSG_DISCONNECTED, vh->devid);
	worker_send(worker_of(vh->sb), &m);
}

/* A LUN_ADD, as the broker resolved it. */
static void worker_lun_add(struct vhost *vh, const struct wmsg_lun_add *a, int fd)
{
	struct pdev_info info;
	struct lun_config lcfg;
	struct policy pol;
	struct iport port, *pp = NULL;
	char err[256] = "";
	int r;

	memset(&info, 0, sizeof(info));
	memset(&lcfg, 0, sizeof(lcfg));
	info.kind = (enum pdev_kind)a->kind;
	if (info.kind == PDEV_ISCSI)
		r = pdev_parse_iscsi(a->path, &info, err, sizeof(err));
	else if (info.kind == PDEV_NULL)
		r = pdev_parse_null(a->path, &info, err, sizeof(err));
	else {
		snprintf(info.path, sizeof(info.path), "%s", a->path);
		r = 0;
	}
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	if (fd >= 0) {
		lcfg.has_sg_fd = true;
		lcfg.sg_fd = fd;
	}
	if (a->initiator[0] && a->has_isid) {
		memset(&port, 0, sizeof(port));
		snprintf(port.name, sizeof(port.name), "%s", a->initiator);
		memcpy(port.isid, a->isid, sizeof(port.isid));
		pp = &port;
	} else if (a->initiator[0]) {
		lcfg.initiator_iqn = a->initiator;
	}
	if (a->chap_user[0]) {
		lcfg.chap_user = a->chap_user;
		lcfg.chap_password = a->chap_password;
	}
	lcfg.default_timeout_ms = a->set.timeout_ms;
	if (a->set.has_policy) {
		memset(&pol, 0, sizeof(pol));
		snprintf(pol.name, sizeof(pol.name), "%s", a->set.policy_name);
		pol.mode = (enum policy_mode)a->set.policy_mode;
		memcpy(pol.listed, a->set.policy_listed, sizeof(pol.listed));
	}
	if (vlun_find(&vh->luns, a->chn, a->tgt, a->lun) || vlun_find_devnum(&vh->luns, a->devnum)) {
		if (fd >= 0)
			close(fd);
		snprintf(err, sizeof(err), "dev-%u: v-dev or entry already mapped", a->devnum);
		r = -EEXIST;
		goto fail;
	}
	r = vlun_attach(&vh->luns, a->devnum, a->pdev, a->chn, a->tgt, a->lun, &info, &lcfg,
			a->set.has_policy ? &pol : NULL, pp, err, sizeof(err));
	if (r == -EINPROGRESS)
		return;   /* worker_lun_opened says how it ends */
	if (r == 0) {
		worker_lun_opened(vh, a->devnum, a->pdev, 0, "");
		return;
	}
fail:
	worker_lun_opened(vh, a->devnum, a->pdev, r, err);
}

/* One message from the broker; false: it makes no sense (logged), the
 * worker ends. */
static bool worker_msg(struct worker *w, const union wmsg *m, int fd)
{
	struct vhost *vh = worker_vhost(w, m->h.devid);
	union wmsg rsp;

	log_debug("worker for domain %u: %s for vhost %u", w->domid, wmsg_kind_name(m->h.kind),
		  m->h.devid);
	if (m->h.kind == WMSG_STOP) {
		log_info("worker for domain %u: told to stop; finishing in-flight commands",
			 w->domid);
		w->told_stop = true;
		w->sb.stopping = true;
		return true;
	}
	if (m->h.kind >= WMSG_READY || (m->h.kind != WMSG_VHOST_NEW && !vh)) {
		log_err("worker for domain %u: %s for vhost %u, which it does not serve", w->domid,
			wmsg_kind_name(m->h.kind), m->h.devid);
		if (fd >= 0)
			close(fd);
		return false;
	}
	switch (m->h.kind) {
	case WMSG_VHOST_NEW:
		if (vh) {
			log_err("worker for domain %u: vhost %u twice", w->domid, m->h.devid);
			return false;
		}
		vh = vhost_new(&w->sb, w->domid, m->h.devid, "", "", m->vhost_new.feature_host);
		if (!vh)
			return false;
		if (m->vhost_new.guest[0])
			vhost_set_guest(vh, m->vhost_new.guest);
		return true;
	case WMSG_VHOST_CONNECT:
		wmsg_init(&rsp, WMSG_CONNECTED, vh->devid);
		if (vhost_connected(vh)) {
			close(fd);
			rsp.connected.rc = -EISCONN;
		} else {
			inflight_close(vh->inflight, false);
			vh->inflight = inflight_open_fd(fd);
			rsp.connected.rc = vh->inflight ? vhost_connect(vh, m->connect.ring_ref,
									m->connect.fe_port,
									m->connect.persistent)
							: -errno;
		}
		worker_send(w, &rsp);
		return true;
	case WMSG_VHOST_START:
		vhost_start(vh);
		return true;
	case WMSG_VHOST_DISCONNECT:
		vhost_disconnect(vh, m->op.flag);
		if (!vhost_connected(vh))
			worker_disconnected(vh);
		return true;
	case WMSG_VHOST_CUT_OFF:
		vhost_cut_off(vh);
		return true;
	case WMSG_VHOST_FREE:
		vhost_free(vh, m->op.flag);
		return true;
	case WMSG_LUN_ADD:
		worker_lun_add(vh, &m->lun_add, fd);
		return true;
	case WMSG_LUN_REMOVE:
		vlun_remove(&vh->luns, m->lun_ref.devnum);
		return true;
	case WMSG_LUN_SETTINGS: {
		struct vlun *vl = vlun_find_devnum(&vh->luns, m->lun_set.devnum);
		struct policy pol;

		if (!vl)
			return true;
		memset(&pol, 0, sizeof(pol));
		snprintf(pol.name, sizeof(pol.name), "%s", m->lun_set.set.policy_name);
		pol.mode = (enum policy_mode)m->lun_set.set.policy_mode;
		memcpy(pol.listed, m->lun_set.set.policy_listed, sizeof(pol.listed));
		vlun_set_policy(vl, m->lun_set.set.has_policy ? &pol : NULL);
		return true;
	}
	}
	return false;
}

static void worker_sock_cb(struct evloop_handler *h, uint32_t events)
{
	struct worker *w = h->arg;
	union wmsg m;
	char err[200];
	int fd, r;

	(void)events;
	for (;;) {
		r = wmsg_recv(w->sock, &m, &fd, err, sizeof(err));
		if (r == -EAGAIN)
			return;
		if (r <= 0) {
			if (r == -EPROTO)
				log_err("worker for domain %u: the broker sent %s", w->domid, err);
			else if (!w->told_stop) {
				/* As the broker's own crash would have: nothing
				 * answered, the records stay, and the next
				 * broker's worker answers them host RESET. Now,
				 * before that worker maps the same rings. */
				log_err("worker for domain %u: the broker ended without a word; "
					"ending now, what is in flight stays recorded", w->domid);
				_exit(1);
			}
			w->sb.stopping = true;
			evloop_del(w->sb.loop, h);
			return;
		}
		if (!worker_msg(w, &m, fd)) {
			w->sb.stopping = true;
			evloop_del(w->sb.loop, h);
			return;
		}
	}
}

static void worker_evtchn_cb(struct evloop_handler *h, uint32_t events)
{
	struct worker *w = h->arg;

	(void)events;
	vhost_shared_event(&w->sb);
}

static void worker_signal_cb(struct evloop_handler *h, uint32_t events)
{
	struct worker *w = h->arg;
	struct signalfd_siginfo si;

	(void)events;
	if (read(h->fd, &si, sizeof(si)) != sizeof(si) || si.ssi_signo == SIGHUP)
		return;
	if (si.ssi_signo == WORKER_TEST_SIGNAL)
		worker_test_probe(w->domid);
	else
		w->sb.stopping = true;
}

/* What each LUN served, for the broker's status.json. */
static void worker_stats_cb(struct evloop_handler *h, uint32_t events)
{
	struct worker *w = h->arg;
	uint64_t n;

	(void)events;
	if (read(h->fd, &n, sizeof(n)) != sizeof(n))
		return;
	for (struct vhost *vh = w->sb.vhosts; vh; vh = vh->next) {
		union wmsg s;

		wmsg_init(&s, WMSG_VHOST_STATS, vh->devid);
		s.vhost_stats.in_flight = vh->cmds.busy;
		s.vhost_stats.persistent = vh->cmds.pg != NULL;
		s.vhost_stats.mapped_pages = vh->cmds.pg ? pgrant_mapped(vh->cmds.pg) : 0;
		worker_send(w, &s);
		for (unsigned i = 0; i < vh->luns.n; i++) {
			const struct vlun *vl = vh->luns.v[i];
			union wmsg m;

			wmsg_init(&m, WMSG_LUN_STATS, vh->devid);
			m.lun_stats.devnum = vl->devnum;
			m.lun_stats.state = vl->opening ? 1 : vl->removing ? 2 : 0;
			m.lun_stats.cmds = vl->stats.cmds;
			m.lun_stats.errors = vl->stats.errors;
			m.lun_stats.bytes_in = vl->stats.bytes_in;
			m.lun_stats.bytes_out = vl->stats.bytes_out;
			snprintf(m.lun_stats.last_error, sizeof(m.lun_stats.last_error), "%s",
				 vl->stats.last_error);
			lun_link(&vl->dev, m.lun_stats.link, sizeof(m.lun_stats.link));
			worker_send(w, &m);
		}
	}
}

static int worker_handler(struct worker *w, struct evloop_handler *h, int fd, evloop_cb cb)
{
	h->fd = fd;
	h->cb = cb;
	h->arg = w;
	return evloop_add(w->sb.loop, h, EPOLLIN);
}

int worker_main(int argc, char **argv)
{
	static struct worker w;
	struct itimerspec its = { { WORKER_STATS_S, 0 }, { WORKER_STATS_S, 0 } };
	const char *user, *jail;
	bool to_syslog, seccomp;
	long poll_us;
	sigset_t mask;
	char err[256];
	union wmsg ready;
	int level;

	/* scsiback --worker DOMID USER JAIL LEVEL POLL_US syslog|stderr seccomp|no-seccomp */
	if (argc != 9) {
		fprintf(stderr, "scsiback --worker is started by scsiback itself\n");
		return 2;
	}
	/* (exec'd as /proc/self/exe, it would show as "exe" in ps and in
	 * the kernel's fault lines) */
	prctl(PR_SET_NAME, "scsiback-worker", 0, 0, 0);
	w.domid = (uint32_t)strtoul(argv[2], NULL, 10);
	user = argv[3];
	jail = argv[4];
	level = atoi(argv[5]);
	poll_us = strtol(argv[6], NULL, 10);
	to_syslog = !strcmp(argv[7], "syslog");
	seccomp = !strcmp(argv[8], "seccomp");
	log_init("scsiback", (enum log_level)level, to_syslog);
	w.sock = WORKER_SOCK;
	w.sb.loop = evloop_new();
	w.sb.on_lun_opened = worker_lun_opened;
	w.sb.on_disconnected = worker_disconnected;
	snprintf(w.sb.statedir, sizeof(w.sb.statedir), "/");
	/* What needs root, while we have it: the grant device and one
	 * event-channel handle for all our rings, bound to our guest only. */
	w.sb.gnt = xengnttab_open(NULL, 0);
	w.sb.evtchn = xenevtchn_open(NULL, 0);
	if (!w.sb.loop || !w.sb.gnt || !w.sb.evtchn) {
		log_err("worker for domain %u: cannot open the grant or event-channel device: %s",
			w.domid, strerror(errno));
		return 1;
	}
	if (xenevtchn_restrict(w.sb.evtchn, (domid_t)w.domid) < 0) {
		log_err("worker for domain %u: cannot restrict its event channels to the domain: %s",
			w.domid, strerror(errno));
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, WORKER_TEST_SIGNAL);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (worker_handler(&w, &w.sock_h, w.sock, worker_sock_cb) < 0 ||
	    worker_handler(&w, &w.evtchn_h, xenevtchn_fd(w.sb.evtchn), worker_evtchn_cb) < 0 ||
	    worker_handler(&w, &w.sig_h, signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK),
			   worker_signal_cb) < 0 ||
	    worker_handler(&w, &w.stats_h, timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK),
			   worker_stats_cb) < 0 ||
	    timerfd_settime(w.stats_h.fd, 0, &its, NULL) < 0) {
		log_err("worker for domain %u: cannot set up its loop: %s", w.domid, strerror(errno));
		return 1;
	}
	/* sg LUNs: the broker opened their nodes, and sg takes queued
	 * commands only from the opener's credentials, so ours run SG_IO
	 * in threads, started now: after the drop no thread can be (no
	 * RLIMIT_NPROC, no clone in the filter). The drop below reaches
	 * them too (glibc changes every thread's ids; the filter is
	 * synchronised to all). */
	if (sgio_start(WORKER_SG_THREADS, err, sizeof(err)) < 0) {
		log_err("worker for domain %u: %s", w.domid, err);
		return 1;
	}
	/* Our connects go through the broker from now on (portal.h): the
	 * filter below kills a connect(2) of our own. */
	portal_use_channel(PORTAL_WORKER_FD);
	if (geteuid() == 0 && privdrop_to_user(user, jail, err, sizeof(err)) < 0) {
		log_err("worker for domain %u: cannot drop privileges: %s", w.domid, err);
		return 1;
	}
	snprintf(err, sizeof(err), "worker for domain %u", w.domid);
	sandbox_name(err);
	if (seccomp && sandbox_apply_worker(to_syslog, err, sizeof(err)) < 0) {
		log_err("worker for domain %u: cannot apply its seccomp filter: %s", w.domid, err);
		return 1;
	}
	log_debug("worker for domain %u: serving as %s%s", w.domid, user,
		  seccomp ? ", seccomp filter applied" : "");
	wmsg_init(&ready, WMSG_READY, 0);
	worker_send(&w, &ready);

	serve_run(&w.sb, (uint64_t)poll_us * 1000);
	serve_drain(&w.sb, WORKER_DRAIN_MS);
	while (w.sb.vhosts)
		vhost_free(w.sb.vhosts, true);   /* records kept for the next worker */
	return 0;
}
