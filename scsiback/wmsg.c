/* Broker <-> worker messages; see wmsg.h. */
#include "wmsg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pdev.h"

struct wmsg_kind_info {
	const char *name;
	uint16_t size;
	enum { FD_NEVER, FD_ALWAYS, FD_IF_SG } fd;
};

static const struct wmsg_kind_info wmsg_kinds[WMSG_KIND_END] = {
	[WMSG_VHOST_NEW] = { "vhost-new", sizeof(struct wmsg_vhost_new), FD_NEVER },
	[WMSG_VHOST_CONNECT] = { "vhost-connect", sizeof(struct wmsg_vhost_connect), FD_ALWAYS },
	[WMSG_VHOST_START] = { "vhost-start", sizeof(struct wmsg_vhost_op), FD_NEVER },
	[WMSG_VHOST_DISCONNECT] = { "vhost-disconnect", sizeof(struct wmsg_vhost_op), FD_NEVER },
	[WMSG_VHOST_CUT_OFF] = { "vhost-cut-off", sizeof(struct wmsg_vhost_op), FD_NEVER },
	[WMSG_VHOST_FREE] = { "vhost-free", sizeof(struct wmsg_vhost_op), FD_NEVER },
	[WMSG_LUN_ADD] = { "lun-add", sizeof(struct wmsg_lun_add), FD_IF_SG },
	[WMSG_LUN_REMOVE] = { "lun-remove", sizeof(struct wmsg_lun_ref), FD_NEVER },
	[WMSG_LUN_SETTINGS] = { "lun-settings", sizeof(struct wmsg_lun_set), FD_NEVER },
	[WMSG_STOP] = { "stop", sizeof(struct wmsg_vhost_op), FD_NEVER },
	[WMSG_READY] = { "ready", sizeof(struct wmsg_vhost_op), FD_NEVER },
	[WMSG_CONNECTED] = { "connected", sizeof(struct wmsg_connected), FD_NEVER },
	[WMSG_LUN_OPENED] = { "lun-opened", sizeof(struct wmsg_lun_opened), FD_NEVER },
	[WMSG_DISCONNECTED] = { "disconnected", sizeof(struct wmsg_vhost_op), FD_NEVER },
	[WMSG_LUN_STATS] = { "lun-stats", sizeof(struct wmsg_lun_stats), FD_NEVER },
	[WMSG_VHOST_STATS] = { "vhost-stats", sizeof(struct wmsg_vhost_stats), FD_NEVER },
};

const char *wmsg_kind_name(unsigned kind)
{
	return kind > 0 && kind < WMSG_KIND_END ? wmsg_kinds[kind].name : "?";
}

void wmsg_init(union wmsg *m, enum wmsg_kind kind, uint32_t devid)
{
	memset(m, 0, sizeof(*m));
	m->h.kind = (uint16_t)kind;
	m->h.size = wmsg_kinds[kind].size;
	m->h.devid = devid;
}

static int wmsg_refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EPROTO;
}

/* A string field ends within its bytes. */
#define WMSG_STR_OK(field) (memchr((field), '\0', sizeof(field)) != NULL)
#define WMSG_STR(kname, field)                                                          \
	do {                                                                            \
		if (!WMSG_STR_OK(field))                                                \
			return wmsg_refuse(err, errlen, "%s: %s is not ended within %zu bytes", \
					   kname, #field, sizeof(field));                \
	} while (0)

static int wmsg_check_settings(const char *kname, const struct wmsg_lun_settings *s, char *err,
			       size_t errlen)
{
	WMSG_STR(kname, s->policy_name);
	if (s->timeout_ms > WMSG_TIMEOUT_MS_MAX)
		return wmsg_refuse(err, errlen, "%s: timeout %u ms out of range 0-%u", kname,
				   s->timeout_ms, WMSG_TIMEOUT_MS_MAX);
	if (s->has_policy > 1 || s->policy_mode > POLICY_ALLOW_LIST)
		return wmsg_refuse(err, errlen, "%s: policy %u/%u out of range", kname, s->has_policy,
				   s->policy_mode);
	return 0;
}

static int wmsg_check_body(const union wmsg *m, bool has_fd, char *err, size_t errlen)
{
	const char *kname = wmsg_kinds[m->h.kind].name;

	switch (m->h.kind) {
	case WMSG_VHOST_NEW:
		WMSG_STR(kname, m->vhost_new.guest);
		if (m->vhost_new.feature_host > 1)
			return wmsg_refuse(err, errlen, "%s: feature_host %u is not 0 or 1", kname,
					   m->vhost_new.feature_host);
		return 0;
	case WMSG_VHOST_CONNECT:
		if (m->connect.persistent > 1)
			return wmsg_refuse(err, errlen, "%s: persistent %u is not 0 or 1", kname,
					   m->connect.persistent);
		return 0;
	case WMSG_VHOST_START:
	case WMSG_VHOST_DISCONNECT:
	case WMSG_VHOST_CUT_OFF:
	case WMSG_VHOST_FREE:
	case WMSG_STOP:
	case WMSG_READY:
	case WMSG_DISCONNECTED:
		if (m->op.flag > 1)
			return wmsg_refuse(err, errlen, "%s: flag %u is not 0 or 1", kname, m->op.flag);
		return 0;
	case WMSG_LUN_ADD: {
		const struct wmsg_lun_add *a = &m->lun_add;

		WMSG_STR(kname, a->pdev);
		WMSG_STR(kname, a->path);
		WMSG_STR(kname, a->initiator);
		WMSG_STR(kname, a->chap_user);
		WMSG_STR(kname, a->chap_password);
		if (a->kind > PDEV_NULL)
			return wmsg_refuse(err, errlen, "%s: p-dev kind %u unknown", kname, a->kind);
		if (has_fd != (a->kind == PDEV_SG))
			return wmsg_refuse(err, errlen, "%s: %s descriptor for a %s LUN", kname,
					   has_fd ? "a" : "no", a->kind == PDEV_SG ? "sg" : "non-sg");
		if (a->has_isid > 1)
			return wmsg_refuse(err, errlen, "%s: has_isid %u is not 0 or 1", kname, a->has_isid);
		return wmsg_check_settings(kname, &a->set, err, errlen);
	}
	case WMSG_LUN_REMOVE:
		return 0;
	case WMSG_LUN_SETTINGS:
		return wmsg_check_settings(kname, &m->lun_set.set, err, errlen);
	case WMSG_CONNECTED:
		if (m->connected.rc > 0 || m->connected.rc < -4095)
			return wmsg_refuse(err, errlen, "%s: rc %d is not 0 or -errno", kname,
					   m->connected.rc);
		return 0;
	case WMSG_LUN_OPENED:
		WMSG_STR(kname, m->lun_opened.desc);
		WMSG_STR(kname, m->lun_opened.err);
		if (m->lun_opened.rc > 0 || m->lun_opened.rc < -4095)
			return wmsg_refuse(err, errlen, "%s: rc %d is not 0 or -errno", kname,
					   m->lun_opened.rc);
		return 0;
	case WMSG_LUN_STATS:
		WMSG_STR(kname, m->lun_stats.last_error);
		WMSG_STR(kname, m->lun_stats.link);
		if (m->lun_stats.state > 2)
			return wmsg_refuse(err, errlen, "%s: state %u unknown", kname, m->lun_stats.state);
		if (m->lun_stats.errors > m->lun_stats.cmds)
			return wmsg_refuse(err, errlen, "%s: %llu errors of %llu commands", kname,
					   (unsigned long long)m->lun_stats.errors,
					   (unsigned long long)m->lun_stats.cmds);
		return 0;
	case WMSG_VHOST_STATS:
		if (m->vhost_stats.persistent > 1)
			return wmsg_refuse(err, errlen, "%s: persistent %u is not 0 or 1", kname,
					   m->vhost_stats.persistent);
		if (!m->vhost_stats.persistent && m->vhost_stats.mapped_pages)
			return wmsg_refuse(err, errlen, "%s: %u pages mapped without persistent grants",
					   kname, m->vhost_stats.mapped_pages);
		return 0;
	}
	return wmsg_refuse(err, errlen, "kind %u unknown", m->h.kind);
}

int wmsg_check(const void *buf, size_t len, bool has_fd, char *err, size_t errlen)
{
	union wmsg m;
	const struct wmsg_kind_info *k;

	if (len < sizeof(struct wmsg_hdr))
		return wmsg_refuse(err, errlen, "%zu bytes: shorter than a header", len);
	if (len > sizeof(m))
		return wmsg_refuse(err, errlen, "%zu bytes: longer than any message", len);
	memcpy(&m, buf, len);   /* aligned, and no field read twice */
	if (m.h.kind == 0 || m.h.kind >= WMSG_KIND_END)
		return wmsg_refuse(err, errlen, "kind %u unknown", m.h.kind);
	k = &wmsg_kinds[m.h.kind];
	if (len != k->size || m.h.size != k->size)
		return wmsg_refuse(err, errlen, "%s: %zu bytes (header says %u), not %u", k->name, len,
				   m.h.size, k->size);
	if (k->fd == FD_ALWAYS && !has_fd)
		return wmsg_refuse(err, errlen, "%s: no descriptor", k->name);
	if (k->fd == FD_NEVER && has_fd)
		return wmsg_refuse(err, errlen, "%s: an unexpected descriptor", k->name);
	if ((m.h.kind == WMSG_READY || m.h.kind == WMSG_STOP) && m.h.devid != 0)
		return wmsg_refuse(err, errlen, "%s: devid %u, not 0", k->name, m.h.devid);
	return wmsg_check_body(&m, has_fd, err, errlen);
}

int wmsg_send(int sock, const union wmsg *m, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)m, m->h.size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)m->h.size ? 0 : -EMSGSIZE;
}

int wmsg_recv(int sock, union wmsg *m, int *fd, char *err, size_t errlen)
{
	/* Room for more descriptors than a message may carry, so that a peer
	 * sending several sees them all closed rather than some left open. */
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	int fds[8], nfd = 0, rc;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (k = 0; c->cmsg_len >= CMSG_LEN((k + 1) * sizeof(int)) && nfd < 8; k++)
			memcpy(&fds[nfd++], CMSG_DATA(c) + k * sizeof(int), sizeof(int));
	}
	if (n == 0 && nfd == 0)
		return 0;
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		rc = wmsg_refuse(err, errlen, "%zd bytes%s: truncated", n,
				 mh.msg_flags & MSG_CTRUNC ? " and descriptors" : "");
	else if (nfd > 1)
		rc = wmsg_refuse(err, errlen, "%d descriptors with one message", nfd);
	else
		rc = wmsg_check(m, (size_t)n, nfd == 1, err, errlen);
	if (rc < 0) {
		for (int i = 0; i < nfd; i++)
			close(fds[i]);
		return rc;
	}
	*fd = nfd ? fds[0] : -1;
	return 1;
}
