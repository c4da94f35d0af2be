#include "sim_ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xen/sched.h>

#include "log.h"
#include "sim_conn.h"
#include "sim_domain.h"
#include "sim_evtchn.h"
#include "sim_grant.h"
#include "sim_proto.h"
#include "sim_uuid.h"

struct sim_ctl {
	struct evloop_handler listen;
	struct evloop *loop;
	struct xs_daemon *xsd;
	char rundir[256];
	char xensim[PATH_MAX];    /* the CLI next to us: runs the inits */
	struct sim_conn *conns;
};

static struct sim_msg req_buf, rep_buf;

static void conn_close(struct sim_ctl *ctl, struct sim_conn *c)
{
	if (c->hello) {
		sim_grant_conn_closed(c);
		sim_evtchn_conn_closed(c);
	}
	evloop_del(ctl->loop, &c->h);
	close(c->h.fd);
	for (struct sim_conn **pp = &ctl->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	free(c);
}

static int send_reply(int fd, const struct sim_msg *rep, size_t len, const int *fds, int nfds)
{
	struct iovec iov = { .iov_base = (void *)rep, .iov_len = len };
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int check_name(const char *name, const struct sim_domain *self)
{
	struct sim_domain *other;

	if (!name[0] || strlen(name) >= sizeof(self->name))
		return -EINVAL;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return -EINVAL;
	/* xl refuses a second domain with the same name. */
	other = sim_domain_find_name(name);
	return other && other != self ? -EEXIST : 0;
}

/* A domain with its xenstore socket and home (with vm when uuid is
 * given); introduced at once unless paused. */
static struct sim_domain *make_domain(struct sim_ctl *ctl, int want_domid, const char *name,
				      uint32_t memory_mib, const uint8_t *uuid, int *errp)
{
	struct sim_domain *d;
	char path[512], us[SIM_UUID_STR_LEN];
	int err = check_name(name, NULL);

	if (err) {
		*errp = err;
		return NULL;
	}
	d = sim_domain_create(want_domid, name, memory_mib);
	if (!d) {
		*errp = -errno;
		return NULL;
	}
	if (uuid)
		memcpy(d->uuid, uuid, sizeof(d->uuid));
	else if (d->domid != 0) /* Xen's domain 0 has the nil handle */
		sim_uuid_generate(d->uuid);
	sim_uuid_format(d->uuid, us);
	d->has_vm = uuid != NULL;
	snprintf(path, sizeof(path), "%s/%s/dom%u", ctl->rundir, SIM_XS_DIR, d->domid);
	err = xsd_listen(ctl->xsd, d->domid, path);
	if (!err)
		err = xsd_domain_prepare(ctl->xsd, d->domid, name, d->has_vm ? us : NULL);
	if (err) {
		log_err("domain %u (%s): cannot set up its xenstore: %s", d->domid, name, strerror(-err));
		xsd_domain_release(ctl->xsd, d->domid);
		sim_domain_free(d);
		*errp = err;
		return NULL;
	}
	return d;
}

int sim_ctl_create_domain(struct sim_ctl *ctl, int want_domid, const char *name, uint32_t memory_mib)
{
	int err;
	struct sim_domain *d = make_domain(ctl, want_domid, name, memory_mib, NULL, &err);

	if (!d)
		return err;
	err = xsd_domain_introduce_prepared(ctl->xsd, d->domid);
	if (err) {
		xsd_domain_release(ctl->xsd, d->domid);
		sim_domain_free(d);
		return err;
	}
	d->introduced = true;
	log_info("domain %u (%s) created with %u MiB", d->domid, name, memory_mib);
	return (int)d->domid;
}

/* What xc_domain_create + libxl__domain_make leave: a paused domain (pause
 * count 1, Xen's rule) whose home, vm and /vm/<uuid> exist, not yet
 * introduced. */
static int create_paused(struct sim_ctl *ctl, const char *name, uint32_t memory_mib,
			 const struct sim_create_req *cr, bool resumed)
{
	struct sim_domain *d;
	char **argv = NULL;
	int err;

	if (cr->argc) {
		const char *p = cr->argv, *end = cr->argv + cr->argv_len;

		if (cr->argv_len > sizeof(cr->argv) || cr->argc > cr->argv_len)
			return -EINVAL;
		argv = calloc(cr->argc + 1, sizeof(*argv));
		if (!argv)
			return -ENOMEM;
		for (uint32_t i = 0; i < cr->argc; i++) {
			const char *nul = memchr(p, 0, (size_t)(end - p));

			if (!nul || !(argv[i] = strdup(p))) {
				for (uint32_t k = 0; k < i; k++)
					free(argv[k]);
				free(argv);
				return nul ? -ENOMEM : -EINVAL;
			}
			p = nul + 1;
		}
	}
	d = make_domain(ctl, -1, name, memory_mib, cr->uuid, &err);
	if (!d) {
		for (char **a = argv; a && *a; a++)
			free(*a);
		free(argv);
		return err;
	}
	d->pause_count = 1;
	d->init_argv = argv;
	d->init_state = argv ? SIM_INIT_WAITING : SIM_INIT_NONE;
	d->resumed = resumed;
	log_info("domain %u (%s) created paused with %u MiB%s", d->domid, name, memory_mib,
		 argv ? ", with an init" : "");
	return (int)d->domid;
}

/* Runs the init as `xensim exec <domid> -- argv...` in its own process
 * group, its output appended to console/<domid>.log. */
static void start_init(struct sim_ctl *ctl, struct sim_domain *d)
{
	char log[512], dom[16];
	pid_t pid;

	snprintf(log, sizeof(log), "%s/console", ctl->rundir);
	mkdir(log, 0755);
	snprintf(log, sizeof(log), "%s/console/%u.log", ctl->rundir, d->domid);
	snprintf(dom, sizeof(dom), "%u", d->domid);
	pid = fork();
	if (pid < 0) {
		log_err("domain %u: cannot start its init: %s", d->domid, strerror(errno));
		return;
	}
	if (pid == 0) {
		unsigned n = 0;
		char **argv;
		sigset_t none;
		int fd;

		setpgid(0, 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		setenv("XENSIM_RUNDIR", ctl->rundir, 1);
		if (d->resumed)
			setenv("XENSIM_RESUMED", "1", 1);
		else
			unsetenv("XENSIM_RESUMED");
		while (d->init_argv[n])
			n++;
		argv = calloc(n + 5, sizeof(*argv));
		if (!argv)
			_exit(127);
		argv[0] = ctl->xensim;
		argv[1] = "exec";
		argv[2] = dom;
		argv[3] = "--";
		memcpy(argv + 4, d->init_argv, n * sizeof(*argv));
		execv(argv[0], argv);
		dprintf(2, "xensimd: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	d->init_pid = pid;
	d->init_state = SIM_INIT_RUNNING;
	log_info("domain %u (%s): init started (pid %d)%s", d->domid, d->name, (int)pid,
		 d->resumed ? ", resumed" : "");
}

/* The guest is gone (shut down or destroyed): so are its processes. */
static void kill_init(struct sim_domain *d)
{
	if (d->init_state == SIM_INIT_RUNNING && d->init_pid > 0)
		kill(-d->init_pid, SIGKILL);
}

void sim_ctl_reap(struct sim_ctl *ctl)
{
	int status;
	pid_t pid;

	(void)ctl;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct sim_domain *d = sim_domain_find_init(pid);

		if (!d)
			continue;
		d->init_state = SIM_INIT_EXITED;
		d->init_status = status;
		if (WIFEXITED(status))
			log_info("domain %u (%s): init exited with %d", d->domid, d->name,
				 WEXITSTATUS(status));
		else
			log_info("domain %u (%s): init killed by signal %d", d->domid, d->name,
				 WTERMSIG(status));
	}
}

/* XEN_DOMCTL_pausedomain / unpausedomain: a reference count, never on the
 * caller's own domain. */
static int pause_domain(struct sim_conn *c, uint32_t domid, bool pause)
{
	struct sim_domain *d = sim_domain_find(domid);

	if (!d)
		return -ESRCH;
	if (domid == c->domid)
		return -EINVAL;
	if (pause) {
		if (d->pause_count >= 255)
			return -EOVERFLOW;
		if (d->pause_count++ == 0 && d->init_state == SIM_INIT_RUNNING)
			kill(-d->init_pid, SIGSTOP); /* the vCPUs sleep */
		return 0;
	}
	if (d->pause_count == 0)
		return -EINVAL;
	if (--d->pause_count > 0)
		return 0;
	if (d->init_state == SIM_INIT_WAITING && !d->shutdown)
		return 0; /* started by the caller, once the reply is out */
	if (d->init_state == SIM_INIT_RUNNING)
		kill(-d->init_pid, SIGCONT);
	return 0;
}

/* SCHEDOP_shutdown from the guest: it stops running but the domain stays
 * until the toolstack destroys it; xenstored tells @releaseDomain
 * watchers now (C xenstored's domain_cleanup on a shut-down domain). */
static int guest_shutdown(struct sim_ctl *ctl, uint32_t domid, uint32_t reason)
{
	struct sim_domain *d = sim_domain_find(domid);

	if (!d)
		return -ESRCH;
	if (domid == 0 || reason > SHUTDOWN_MAX)
		return -EINVAL;
	if (d->shutdown)
		return 0; /* the first reason stays, as in Xen */
	d->shutdown = true;
	d->shutdown_reason = reason;
	kill_init(d);
	log_info("domain %u (%s) shut down, reason %u", domid, d->name, reason);
	if (d->introduced)
		xsd_fire_release(ctl->xsd);
	return 0;
}

static int rename_domain(struct sim_ctl *ctl, uint32_t domid, const char *name)
{
	struct sim_domain *d = sim_domain_find(domid);
	char path[128], us[SIM_UUID_STR_LEN];
	int err;

	if (!d)
		return -ESRCH;
	if (domid == 0)
		return -EINVAL;
	err = check_name(name, d);
	if (err)
		return err;
	log_info("domain %u renamed from %s to %s", domid, d->name, name);
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	err = xsd_write(ctl->xsd, path, name);
	if (!err && d->has_vm) {
		sim_uuid_format(d->uuid, us);
		snprintf(path, sizeof(path), "/vm/%s/name", us);
		err = xsd_write(ctl->xsd, path, name);
	}
	return err;
}

static bool uuid_in_use(const uint8_t *uuid)
{
	struct sim_domain_info all[SIM_MAX_DOMAINS];
	unsigned n = sim_domain_list(0, all, SIM_MAX_DOMAINS);

	for (unsigned i = 0; i < n; i++)
		if (!memcmp(all[i].uuid, uuid, SIM_UUID_LEN))
			return true;
	return false;
}

static int destroy_domain(struct sim_ctl *ctl, uint32_t domid)
{
	struct sim_domain *d = sim_domain_find(domid);
	char path[600], us[SIM_UUID_STR_LEN];
	uint8_t uuid[SIM_UUID_LEN];
	bool has_vm;

	if (!d)
		return -ESRCH;
	if (domid == 0)
		return -EPERM;
	/* The order a dying Xen domain follows: its vCPUs stop, channels
	 * close, grants go, then the toolstack releases it and
	 * @releaseDomain fires. */
	kill_init(d);
	sim_evtchn_domain_destroyed(d);
	sim_grant_domain_destroyed(d);
	xsd_domain_release(ctl->xsd, domid);
	log_info("domain %u (%s) destroyed", domid, d->name);
	memcpy(uuid, d->uuid, sizeof(uuid));
	has_vm = d->has_vm;
	sim_domain_free(d);
	/* libxl's devices_destroy_cb: /vm/<uuid> goes (unless a migrating
	 * twin still uses it) and so does the domain's userdata. */
	sim_uuid_format(uuid, us);
	if (has_vm && !uuid_in_use(uuid)) {
		snprintf(path, sizeof(path), "/vm/%s", us);
		xsd_rm(ctl->xsd, path);
	}
	snprintf(path, sizeof(path), "%s/xl/%u.json", ctl->rundir, domid);
	unlink(path);
	return 0;
}

static void kill_one_init(struct sim_domain *d, void *arg)
{
	(void)arg;
	kill_init(d);
}

static int toolstack_op(struct sim_ctl *ctl, struct sim_conn *c, const struct sim_msg *req,
			size_t len, struct sim_msg *rep)
{
	char name[sizeof(req->name) + 1];
	struct sim_domain *d;
	int r;

	memcpy(name, req->name, sizeof(req->name));
	name[sizeof(req->name)] = 0;
	switch (req->op) {
	case SIM_OP_CREATE_DOMAIN:
	case SIM_OP_CREATE_PAUSED:
		if (req->op == SIM_OP_CREATE_PAUSED) {
			if (len < offsetof(struct sim_msg, u.create.argv) + req->u.create.argv_len)
				return -EINVAL;
			r = create_paused(ctl, name, req->count ? req->count : SIM_DEFAULT_MEMORY_MIB,
					  &req->u.create, req->flags & SIM_F_RESUMED);
		} else {
			if (!name[0]) /* unnamed: guest<domid>, as the next domid will be */
				snprintf(name, sizeof(name), "guest%u", sim_domain_next_domid());
			r = sim_ctl_create_domain(ctl, -1, name,
						  req->count ? req->count : SIM_DEFAULT_MEMORY_MIB);
		}
		if (r < 0)
			return r;
		rep->domid = (uint32_t)r;
		return 0;
	case SIM_OP_DESTROY_DOMAIN:
		return destroy_domain(ctl, req->domid);
	case SIM_OP_PAUSE:
		return pause_domain(c, req->domid, true);
	case SIM_OP_UNPAUSE:
		r = pause_domain(c, req->domid, false);
		d = sim_domain_find(req->domid);
		if (!r && d->pause_count == 0 && d->init_state == SIM_INIT_WAITING && !d->shutdown)
			start_init(ctl, d);
		return r;
	case SIM_OP_GUEST_SHUTDOWN:
		return guest_shutdown(ctl, req->domid, req->flags);
	case SIM_OP_INTRODUCE:
		d = sim_domain_find(req->domid);
		if (!d)
			return -ESRCH;
		if (d->introduced)
			return 0; /* xenstored fires nothing for a known domain */
		r = xsd_domain_introduce_prepared(ctl->xsd, d->domid);
		if (!r)
			d->introduced = true;
		return r;
	case SIM_OP_RENAME:
		return rename_domain(ctl, req->domid, name);
	default: /* SIM_OP_SHUTDOWN */
		log_info("shutdown requested");
		sim_domain_foreach(kill_one_init, NULL);
		evloop_stop(ctl->loop);
		return 0;
	}
}

/* Handles one request; returns the reply length. */
static size_t dispatch(struct sim_ctl *ctl, struct sim_conn *c, const struct sim_msg *req,
		       size_t len, struct sim_msg *rep, int *fds, int *nfds)
{
	struct sim_domain *self;
	int r = 0;

	memset(rep, 0, SIM_MSG_HDR_LEN);
	rep->op = req->op;
	*nfds = 0;
	if (len < SIM_MSG_HDR_LEN) {
		rep->err = EINVAL;
		return SIM_MSG_HDR_LEN;
	}
	if (req->op == SIM_OP_HELLO) {
		if (c->hello || !sim_domain_find(req->domid)) {
			rep->err = c->hello ? EISCONN : ESRCH;
		} else {
			c->hello = true;
			c->domid = req->domid;
		}
		return SIM_MSG_HDR_LEN;
	}
	self = c->hello ? sim_domain_find(c->domid) : NULL;
	if (!self) {
		rep->err = c->hello ? ESRCH : ENOTCONN; /* our domain was destroyed */
		return SIM_MSG_HDR_LEN;
	}

	switch (req->op) {
	case SIM_OP_DOMAIN_MEM: {
		struct sim_domain *d = sim_domain_find(req->domid);

		if (!d) {
			r = -ESRCH;
			break;
		}
		fds[0] = d->mem_fd;
		fds[1] = d->gnt_fd;
		*nfds = 2;
		rep->count = d->nr_frames;
		break;
	}
	case SIM_OP_SHARE:
		if (req->count == 0 || req->count > SIM_MAX_REFS ||
		    len < SIM_MSG_HDR_LEN) {
			r = -EINVAL;
			break;
		}
		r = sim_grant_share(c, self, req->domid, req->count,
				    req->flags & SIM_F_WRITABLE, &rep->frame, rep->u.refs);
		if (!r) {
			rep->count = req->count;
			return SIM_MSG_HDR_LEN + req->count * sizeof(uint32_t);
		}
		break;
	case SIM_OP_UNSHARE:
		r = sim_grant_unshare(c, self, req->frame, req->count);
		break;
	case SIM_OP_NOTIFY_ADD:
		r = sim_notify_add(c, req->domid, req->frame, req->notify_offset,
				   req->port, req->flags);
		if (r > 0) {
			rep->count = (uint32_t)r;
			r = 0;
		}
		break;
	case SIM_OP_NOTIFY_RUN:
		r = sim_notify_run(c, req->count);
		break;
	case SIM_OP_EVT_BIND_UNBOUND:
	case SIM_OP_EVT_BIND_INTERDOMAIN:
		r = req->op == SIM_OP_EVT_BIND_UNBOUND
			? sim_evtchn_bind_unbound(c, self, req->domid, fds)
			: sim_evtchn_bind_interdomain(c, self, req->domid, req->port, fds);
		if (r > 0) {
			rep->port = (uint32_t)r;
			*nfds = 2;
			r = 0;
		}
		break;
	case SIM_OP_EVT_UNBIND:
		r = sim_evtchn_unbind(c, self, req->port);
		break;
	case SIM_OP_LIST_DOMAINS:
		rep->count = sim_domain_list(req->domid, rep->u.doms, SIM_MAX_DOMAINS);
		return SIM_MSG_HDR_LEN + rep->count * sizeof(struct sim_domain_info);
	case SIM_OP_CREATE_DOMAIN:
	case SIM_OP_DESTROY_DOMAIN:
	case SIM_OP_SHUTDOWN:
	case SIM_OP_PAUSE:
	case SIM_OP_UNPAUSE:
	case SIM_OP_GUEST_SHUTDOWN:
	case SIM_OP_CREATE_PAUSED:
	case SIM_OP_INTRODUCE:
	case SIM_OP_RENAME:
		/* Toolstack operations: dom0 only, as on Xen. */
		if (c->domid != 0) {
			r = -EPERM;
			break;
		}
		r = toolstack_op(ctl, c, req, len, rep);
		break;
	default:
		r = -ENOSYS;
		break;
	}
	rep->err = -r;
	return SIM_MSG_HDR_LEN;
}

static void conn_cb(struct evloop_handler *h, uint32_t events)
{
	struct sim_conn *c = (struct sim_conn *)h;
	struct sim_ctl *ctl = h->arg;
	ssize_t n;
	int fds[2], nfds;
	size_t rlen;

	if (!(events & EPOLLIN)) {
		conn_close(ctl, c);
		return;
	}
	n = recv(h->fd, &req_buf, sizeof(req_buf), MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(ctl, c);
		return;
	}
	if (n < 0)
		return;
	rlen = dispatch(ctl, c, &req_buf, (size_t)n, &rep_buf, fds, &nfds);
	if (send_reply(h->fd, &rep_buf, rlen, fds, nfds) < 0)
		conn_close(ctl, c);
}

static void listen_cb(struct evloop_handler *h, uint32_t events)
{
	struct sim_ctl *ctl = h->arg;
	struct sim_conn *c;
	int fd;

	(void)events;
	fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->h.fd = fd;
	c->h.cb = conn_cb;
	c->h.arg = ctl;
	if (evloop_add(ctl->loop, &c->h, EPOLLIN) < 0) {
		close(fd);
		free(c);
		return;
	}
	c->next = ctl->conns;
	ctl->conns = c;
}

struct sim_ctl *sim_ctl_new(struct evloop *loop, struct xs_daemon *xsd, const char *rundir)
{
	struct sim_ctl *ctl = calloc(1, sizeof(*ctl));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (!ctl)
		return NULL;
	ctl->loop = loop;
	ctl->xsd = xsd;
	{
		ssize_t n = readlink("/proc/self/exe", ctl->xensim, sizeof(ctl->xensim) - 16);

		if (n > 0 && memrchr(ctl->xensim, '/', (size_t)n)) {
			ctl->xensim[n] = 0;
			strcpy(strrchr(ctl->xensim, '/') + 1, "xensim");
		} else {
			snprintf(ctl->xensim, sizeof(ctl->xensim), "xensim");
		}
	}
	snprintf(ctl->rundir, sizeof(ctl->rundir), "%s", rundir);
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", rundir, SIM_CTL_SOCKET) >=
	    sizeof(sa.sun_path)) {
		log_err("run directory %s: path too long for a socket", rundir);
		free(ctl);
		return NULL;
	}
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		log_err("control socket %s: %s", sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(ctl);
		return NULL;
	}
	chmod(sa.sun_path, 0666);
	ctl->listen.fd = fd;
	ctl->listen.cb = listen_cb;
	ctl->listen.arg = ctl;
	evloop_add(loop, &ctl->listen, EPOLLIN);
	return ctl;
}

void sim_ctl_free(struct sim_ctl *ctl)
{
	if (!ctl)
		return;
	sim_domain_foreach(kill_one_init, NULL);
	while (ctl->conns)
		conn_close(ctl, ctl->conns);
	evloop_del(ctl->loop, &ctl->listen);
	close(ctl->listen.fd);
	free(ctl);
}
