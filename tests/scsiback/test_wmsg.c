/* The broker <-> worker messages (scsiback/wmsg.c): each kind goes
 * through a socketpair with its descriptor; what a hostile worker could
 * send instead (unknown kinds, wrong sizes, strings that do not end,
 * numbers out of range, descriptors where none belong, several, a
 * datagram too long) is refused with a reason, and every descriptor that
 * came with a refused message is closed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "pdev.h"
#include "wmsg.h"

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

static void test_each_kind_round_trips(void **state)
{
	int sv[2], fd, got, tmp = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct stat a, b;
	union wmsg m, r;
	char err[160];

	(void)state;
	pair(sv);
	assert_true(tmp >= 0);
	for (unsigned k = WMSG_VHOST_NEW; k < WMSG_KIND_END; k++) {
		bool with_fd = k == WMSG_VHOST_CONNECT || k == WMSG_LUN_ADD;

		wmsg_init(&m, (enum wmsg_kind)k, k == WMSG_READY || k == WMSG_STOP ? 0 : 7);
		if (k == WMSG_LUN_ADD) {
			m.lun_add.kind = PDEV_SG;
			m.lun_add.devnum = 4000000000u;
			m.lun_add.chn = 65535;
			strcpy(m.lun_add.pdev, "0:0:1:0");
			strcpy(m.lun_add.path, "/dev/sg3");
			m.lun_add.set.timeout_ms = WMSG_TIMEOUT_MS_MAX;
		}
		if (k == WMSG_LUN_OPENED) {
			m.lun_opened.rc = -ENOENT;
			strcpy(m.lun_opened.err, "lun /dev/sg3: open: No such file or directory");
		}
		assert_int_equal(wmsg_send(sv[0], &m, with_fd ? tmp : -1), 0);
		got = wmsg_recv(sv[1], &r, &fd, err, sizeof(err));
		if (got != 1)
			fail_msg("%s: %d (%s)", wmsg_kind_name(k), got, err);
		assert_memory_equal(&m, &r, m.h.size);
		if (with_fd) {
			assert_true(fd >= 0);
			assert_int_equal(fstat(fd, &a), 0);
			assert_int_equal(fstat(tmp, &b), 0);
			assert_int_equal(a.st_ino, b.st_ino);
			assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
			close(fd);
		} else {
			assert_int_equal(fd, -1);
		}
	}
	assert_int_equal(wmsg_recv(sv[1], &r, &fd, err, sizeof(err)), -EAGAIN);
	close(sv[0]);
	assert_int_equal(wmsg_recv(sv[1], &r, &fd, err, sizeof(err)), 0);
	close(sv[1]);
	close(tmp);
}

/* Sends raw bytes with nfd descriptors, expects a refusal naming want,
 * and no descriptor left open. */
static void refused(const void *buf, size_t len, int nfd, const char *want)
{
	int sv[2], fds[3], fd, before, rc;
	union {
		char b[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr al;
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	union wmsg r;
	char err[160] = "";

	pair(sv);
	before = open_fds();
	if (nfd) {
		struct cmsghdr *c;

		for (int i = 0; i < nfd; i++)
			fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(nfd * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfd * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfd * sizeof(int));
	}
	assert_int_equal(sendmsg(sv[0], &mh, 0), (ssize_t)len);
	for (int i = 0; i < nfd; i++)
		close(fds[i]);
	rc = wmsg_recv(sv[1], &r, &fd, err, sizeof(err));
	if (rc != -EPROTO || !strstr(err, want))
		fail_msg("expected a refusal naming \"%s\", got %d \"%s\"", want, rc, err);
	assert_int_equal(fd, -1);
	assert_int_equal(open_fds(), before);   /* the descriptors it brought: closed */
	close(sv[0]);
	close(sv[1]);
}

static void test_shapes_refused(void **state)
{
	union wmsg m;
	char big[sizeof(union wmsg) + 16];

	(void)state;
	wmsg_init(&m, WMSG_LUN_REMOVE, 1);
	refused(&m, 4, 0, "shorter than a header");
	memset(big, 0, sizeof(big));
	refused(big, sizeof(big), 0, "truncated");
	m.h.kind = 0;
	refused(&m, sizeof(m.lun_ref), 0, "kind 0 unknown");
	m.h.kind = WMSG_KIND_END;
	refused(&m, sizeof(m.lun_ref), 0, "unknown");
	wmsg_init(&m, WMSG_LUN_REMOVE, 1);
	refused(&m, sizeof(m.lun_ref) - 1, 0, "lun-remove");           /* size short of the kind's */
	m.h.size = 9;
	refused(&m, sizeof(m.lun_ref), 0, "header says 9");
	wmsg_init(&m, WMSG_VHOST_CONNECT, 1);
	refused(&m, m.h.size, 0, "vhost-connect: no descriptor");
	wmsg_init(&m, WMSG_LUN_REMOVE, 1);
	refused(&m, m.h.size, 1, "unexpected descriptor");
	refused(&m, m.h.size, 2, "2 descriptors");
	wmsg_init(&m, WMSG_READY, 3);
	refused(&m, m.h.size, 0, "devid 3");
}

static void test_fields_refused(void **state)
{
	union wmsg m;

	(void)state;
	wmsg_init(&m, WMSG_LUN_ADD, 1);
	m.lun_add.kind = PDEV_ISCSI;
	refused(&m, m.h.size, 1, "a descriptor for a non-sg LUN");
	m.lun_add.kind = PDEV_SG;
	refused(&m, m.h.size, 0, "no descriptor for a sg LUN");
	m.lun_add.kind = 9;
	refused(&m, m.h.size, 0, "kind 9 unknown");
	m.lun_add.kind = PDEV_ISCSI;
	memset(m.lun_add.chap_password, 'x', sizeof(m.lun_add.chap_password));
	refused(&m, m.h.size, 0, "chap_password is not ended");
	m.lun_add.chap_password[0] = 0;
	memset(m.lun_add.path, 'p', sizeof(m.lun_add.path));
	refused(&m, m.h.size, 0, "path is not ended");
	m.lun_add.path[0] = 0;
	m.lun_add.set.timeout_ms = WMSG_TIMEOUT_MS_MAX + 1;
	refused(&m, m.h.size, 0, "timeout");
	m.lun_add.set.timeout_ms = 0;
	m.lun_add.set.policy_mode = 3;
	refused(&m, m.h.size, 0, "policy");

	wmsg_init(&m, WMSG_LUN_OPENED, 1);
	m.lun_opened.rc = 5;
	refused(&m, m.h.size, 0, "rc 5");
	m.lun_opened.rc = 0;
	memset(m.lun_opened.desc, 'd', sizeof(m.lun_opened.desc));
	refused(&m, m.h.size, 0, "desc is not ended");

	wmsg_init(&m, WMSG_LUN_STATS, 1);
	m.lun_stats.cmds = 1;
	m.lun_stats.errors = 2;
	refused(&m, m.h.size, 0, "2 errors of 1 commands");
	m.lun_stats.errors = 0;
	m.lun_stats.state = 3;
	refused(&m, m.h.size, 0, "state 3");

	wmsg_init(&m, WMSG_VHOST_STATS, 1);
	m.vhost_stats.persistent = 2;
	refused(&m, m.h.size, 0, "persistent 2");
	m.vhost_stats.persistent = 0;
	m.vhost_stats.mapped_pages = 3;
	refused(&m, m.h.size, 0, "3 pages mapped without");

	wmsg_init(&m, WMSG_VHOST_NEW, 1);
	memset(m.vhost_new.guest, 'g', sizeof(m.vhost_new.guest));
	refused(&m, m.h.size, 0, "guest is not ended");
	wmsg_init(&m, WMSG_VHOST_DISCONNECT, 1);
	m.op.flag = 2;
	refused(&m, m.h.size, 0, "flag 2");
	wmsg_init(&m, WMSG_CONNECTED, 1);
	m.connected.rc = -5000;
	refused(&m, m.h.size, 0, "rc -5000");
}

static void test_peer_gone(void **state)
{
	int sv[2];
	union wmsg m;

	(void)state;
	pair(sv);
	close(sv[1]);
	wmsg_init(&m, WMSG_LUN_REMOVE, 1);
	assert_int_equal(wmsg_send(sv[0], &m, -1), -EPIPE);   /* no SIGPIPE either */
	close(sv[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_kind_round_trips),
		cmocka_unit_test(test_shapes_refused),
		cmocka_unit_test(test_fields_refused),
		cmocka_unit_test(test_peer_gone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
