/* shim_probe: a plain sg client run under ld_vscsi.so by test_vscsifront_shim.
 * It uses only libc and the Linux sg interface, like the tools the shim is
 * for, and checks what the shim answers: stat/fstat/access of the virtual
 * nodes, every sg ioctl we implement, SG_IO (plain, iovec, with sense),
 * the sg v3 async interface with pack ids and poll(), and that other fds
 * still reach libc. Prints "ok NAME" or "FAIL NAME: why"; exits 1 on any
 * failure.
 *
 *   shim_probe NODE UNMAPPED_LUN_NODE     (e.g. /dev/sg100 /dev/sg109)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <scsi/scsi.h>
#include <scsi/sg.h>

static int failures;

#define CHECK(name, cond, ...)                                         \
	do {                                                           \
		if (cond) {                                            \
			printf("ok %s\n", name);                       \
		} else {                                               \
			printf("FAIL %s: ", name);                     \
			printf(__VA_ARGS__);                           \
			printf("\n");                                  \
			failures++;                                    \
		}                                                      \
	} while (0)

static void fill_hdr(sg_io_hdr_t *h, unsigned char *cdb, int cdb_len, int dir, void *buf,
		     unsigned len, unsigned char *sense)
{
	memset(h, 0, sizeof(*h));
	h->interface_id = 'S';
	h->cmdp = cdb;
	h->cmd_len = (unsigned char)cdb_len;
	h->dxfer_direction = dir;
	h->dxferp = buf;
	h->dxfer_len = len;
	h->sbp = sense;
	h->mx_sb_len = 32;
	h->timeout = 5000;
}

int main(int argc, char **argv)
{
	const char *node, *unmapped;
	struct stat st;
	int fd, fd2, v;

	if (argc != 3) {
		fprintf(stderr, "usage: shim_probe NODE UNMAPPED_NODE\n");
		return 2;
	}
	node = argv[1];
	unmapped = argv[2];
	setvbuf(stdout, NULL, _IONBF, 0);

	CHECK("stat", stat(node, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 21 &&
			      minor(st.st_rdev) == 100,
	      "mode 0%o rdev %u:%u", st.st_mode, major(st.st_rdev), minor(st.st_rdev));
	CHECK("lstat", lstat(node, &st) == 0 && S_ISCHR(st.st_mode), "%s", strerror(errno));
	CHECK("fstatat", fstatat(AT_FDCWD, node, &st, 0) == 0 && major(st.st_rdev) == 21,
	      "%s", strerror(errno));
	CHECK("access", access(node, R_OK | W_OK) == 0, "%s", strerror(errno));
	CHECK("stat of a real file", stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) &&
					     major(st.st_rdev) == 1, "rdev %u:%u",
	      major(st.st_rdev), minor(st.st_rdev));

	errno = 0;
	fd = open(unmapped, O_RDWR);
	CHECK("open of an unannounced LUN fails ENXIO", fd < 0 && errno == ENXIO, "fd %d errno %d", fd,
	      errno);

	fd = open(node, O_RDWR);
	CHECK("open", fd >= 0, "%s", strerror(errno));
	if (fd < 0)
		return 1;
	CHECK("fstat", fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 21,
	      "mode 0%o", st.st_mode);
	v = 0;
	CHECK("SG_GET_VERSION_NUM", ioctl(fd, SG_GET_VERSION_NUM, &v) == 0 && v >= 30000, "%d", v);
	{
		struct sg_scsi_id id;

		memset(&id, 0xff, sizeof(id));
		CHECK("SG_GET_SCSI_ID", ioctl(fd, SG_GET_SCSI_ID, &id) == 0 && id.host_no == 0 &&
						id.channel == 0 && id.scsi_id == 0 && id.lun == 0 &&
						id.scsi_type == 0,
		      "%d:%d:%d:%d type %d", id.host_no, id.channel, id.scsi_id, id.lun, id.scsi_type);
	}
	{
		int idlun[2] = { -1, -1 };

		CHECK("SCSI_IOCTL_GET_IDLUN", ioctl(fd, SCSI_IOCTL_GET_IDLUN, idlun) == 0 && idlun[0] == 0,
		      "0x%x", idlun[0]);
		v = -1;
		CHECK("SCSI_IOCTL_GET_BUS_NUMBER", ioctl(fd, SCSI_IOCTL_GET_BUS_NUMBER, &v) == 0 && v == 0,
		      "%d", v);
	}
	v = 500;
	CHECK("SG_SET_TIMEOUT", ioctl(fd, SG_SET_TIMEOUT, &v) == 0, "%s", strerror(errno));
	CHECK("SG_GET_TIMEOUT", ioctl(fd, SG_GET_TIMEOUT, 0) == 500, "%d", ioctl(fd, SG_GET_TIMEOUT, 0));
	v = 65536;
	CHECK("SG_SET_RESERVED_SIZE", ioctl(fd, SG_SET_RESERVED_SIZE, &v) == 0, "%s", strerror(errno));
	v = 0;
	CHECK("SG_GET_RESERVED_SIZE", ioctl(fd, SG_GET_RESERVED_SIZE, &v) == 0 && v == 65536, "%d", v);
	v = -1;
	CHECK("SG_EMULATED_HOST", ioctl(fd, SG_EMULATED_HOST, &v) == 0 && v == 0, "%d", v);
	v = 0;
	CHECK("SG_GET_SG_TABLESIZE", ioctl(fd, SG_GET_SG_TABLESIZE, &v) == 0 && v >= 26, "%d", v);
	errno = 0;
	CHECK("unknown ioctl is ENOTTY", ioctl(fd, 0x12345, &v) < 0 && errno == ENOTTY, "errno %d",
	      errno);

	{
		unsigned char cdb[6] = { 0x12, 0, 0, 0, 36, 0 }, buf[36], sense[32];
		sg_io_hdr_t h;

		fill_hdr(&h, cdb, 6, SG_DXFER_FROM_DEV, buf, 36, sense);
		CHECK("SG_IO INQUIRY", ioctl(fd, SG_IO, &h) == 0 && h.status == 0 && h.host_status == 0 &&
					       h.driver_status == 0 && h.resid == 0 &&
					       h.info == SG_INFO_OK && !memcmp(buf + 8, "VSCSI", 5),
		      "status %d host %d driver %d resid %d", h.status, h.host_status, h.driver_status,
		      h.resid);
	}
	{
		unsigned char cdb[10] = { 0x28, 0, 0, 0, 0, 1, 0, 0, 1, 0 }, a[100], b[412], sense[32];
		struct sg_iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
		sg_io_hdr_t h;

		memset(a, 0xaa, sizeof(a));
		memset(b, 0xaa, sizeof(b));
		fill_hdr(&h, cdb, 10, SG_DXFER_FROM_DEV, iov, 512, sense);
		h.iovec_count = 2;
		CHECK("SG_IO READ(10) into an iovec",
		      ioctl(fd, SG_IO, &h) == 0 && h.status == 0 && h.resid == 0 && a[0] == 0 &&
			      a[99] == 0 && b[0] == 0 && b[411] == 0,
		      "status %d resid %d a0 %d b411 %d", h.status, h.resid, a[0], b[411]);
	}
	{
		unsigned char cdb[6] = { 0xff, 0, 0, 0, 0, 0 }, sense[32];
		sg_io_hdr_t h;

		memset(sense, 0, sizeof(sense));
		fill_hdr(&h, cdb, 6, SG_DXFER_NONE, NULL, 0, sense);
		CHECK("SG_IO with CHECK CONDITION",
		      ioctl(fd, SG_IO, &h) == 0 && h.status == 2 && h.masked_status == 1 &&
			      h.sb_len_wr >= 14 && (sense[2] & 0xf) == 5 && (h.driver_status & 0x08) &&
			      (h.info & SG_INFO_CHECK),
		      "status %d sb_len_wr %d key %d driver %d", h.status, h.sb_len_wr, sense[2] & 0xf,
		      h.driver_status);
	}
	{
		unsigned char cdb[6] = { 0x12, 0, 0, 0, 36, 0 };
		sg_io_hdr_t h;

		fill_hdr(&h, cdb, 6, SG_DXFER_FROM_DEV, NULL, 36, NULL);
		errno = 0;
		CHECK("SG_IO without a buffer is EFAULT", ioctl(fd, SG_IO, &h) < 0 && errno == EFAULT,
		      "errno %d", errno);
		h.interface_id = 'Q';
		errno = 0;
		CHECK("SG_IO v4 header is refused", ioctl(fd, SG_IO, &h) < 0, "errno %d", errno);
	}

	/* Duplicates name the same node; closing one keeps the others. */
	{
		int d = dup(fd), d2 = dup2(fd, 60), d3 = fcntl(fd, F_DUPFD_CLOEXEC, 70);

		v = 0;
		CHECK("dup", d >= 0 && ioctl(d, SG_GET_VERSION_NUM, &v) == 0 && v >= 30000, "%s",
		      strerror(errno));
		CHECK("dup2", d2 == 60 && ioctl(d2, SG_GET_VERSION_NUM, &v) == 0, "%s", strerror(errno));
		CHECK("F_DUPFD_CLOEXEC", d3 >= 70 && ioctl(d3, SG_GET_VERSION_NUM, &v) == 0, "%s",
		      strerror(errno));
		CHECK("close the duplicates", close(d) == 0 && close(d2) == 0 && close(d3) == 0 &&
						      ioctl(fd, SG_GET_VERSION_NUM, &v) == 0,
		      "%s", strerror(errno));
		errno = 0;
		CHECK("a closed duplicate is gone", ioctl(60, SG_GET_VERSION_NUM, &v) < 0 && errno == EBADF,
		      "errno %d", errno);
	}

	/* The sg v3 async interface on a second, non-blocking fd. */
	fd2 = open(node, O_RDWR | O_NONBLOCK);
	CHECK("second open", fd2 >= 0 && fd2 != fd, "%s", strerror(errno));
	if (fd2 >= 0) {
		static unsigned char bufs[3][4096];
		unsigned char cdbs[3][10], sense[3][32];
		sg_io_hdr_t h;
		struct pollfd p = { .fd = fd2, .events = POLLIN };
		int ok = 1;

		v = 1;
		CHECK("SG_SET_FORCE_PACK_ID", ioctl(fd2, SG_SET_FORCE_PACK_ID, &v) == 0, "%s",
		      strerror(errno));
		h.pack_id = 0;
		errno = 0;
		CHECK("read with nothing outstanding is EAGAIN",
		      read(fd2, &h, sizeof(h)) < 0 && errno == EAGAIN, "errno %d", errno);
		for (int i = 0; i < 3; i++) {
			memset(cdbs[i], 0, 10);
			cdbs[i][0] = 0x28;
			cdbs[i][5] = (unsigned char)i;
			cdbs[i][8] = 8;
			fill_hdr(&h, cdbs[i], 10, SG_DXFER_FROM_DEV, bufs[i], 4096, sense[i]);
			h.pack_id = 7 + i;
			h.usr_ptr = bufs[i];
			if (write(fd2, &h, sizeof(h)) != (ssize_t)sizeof(h))
				ok = 0;
		}
		CHECK("async write x3", ok, "%s", strerror(errno));
		CHECK("poll says readable", poll(&p, 1, 5000) == 1 && (p.revents & POLLIN), "revents 0x%x",
		      p.revents);
		/* Wait for all three. */
		for (int i = 0; i < 100; i++) {
			v = 0;
			ioctl(fd2, SG_GET_NUM_WAITING, &v);
			if (v == 3)
				break;
			usleep(10000);
		}
		CHECK("SG_GET_NUM_WAITING", v == 3, "%d", v);
		memset(&h, 0, sizeof(h));
		h.pack_id = 9;
		CHECK("read by pack_id", read(fd2, &h, sizeof(h)) == (ssize_t)sizeof(h) && h.pack_id == 9 &&
						 h.usr_ptr == bufs[2] && h.status == 0 && h.resid == 0,
		      "pack_id %d status %d", h.pack_id, h.status);
		h.pack_id = -1;
		CHECK("read the oldest", read(fd2, &h, sizeof(h)) == (ssize_t)sizeof(h) && h.pack_id == 7,
		      "pack_id %d", h.pack_id);
		v = -2;
		CHECK("SG_GET_PACK_ID", ioctl(fd2, SG_GET_PACK_ID, &v) == 0 && v == 8, "%d", v);
		h.pack_id = -1;
		CHECK("read the last", read(fd2, &h, sizeof(h)) == (ssize_t)sizeof(h) && h.pack_id == 8,
		      "pack_id %d", h.pack_id);
		p.revents = 0;
		CHECK("poll says nothing left", poll(&p, 1, 0) == 0, "revents 0x%x", p.revents);
		CHECK("close second fd", close(fd2) == 0, "%s", strerror(errno));
	}

	/* A forked child cannot use the parent's ring; the parent still can. */
	{
		pid_t pid = fork();
		int status = -1;

		if (pid == 0) {
			errno = 0;
			v = 0;
			_exit(ioctl(fd, SG_GET_VERSION_NUM, &v) < 0 && errno == ENODEV && close(fd) == 0 ? 0
													 : 1);
		}
		waitpid(pid, &status, 0);
		CHECK("a forked child gets ENODEV", WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "status 0x%x", status);
		v = 0;
		CHECK("the parent keeps the node", ioctl(fd, SG_GET_VERSION_NUM, &v) == 0 && v >= 30000,
		      "%s", strerror(errno));
	}

	/* Other fds are libc's. */
	{
		int n = open("/dev/null", O_RDWR);
		char c;

		CHECK("open /dev/null passes through", n >= 0 && write(n, "x", 1) == 1 && read(n, &c, 1) == 0 &&
							     close(n) == 0, "%s", strerror(errno));
	}
	CHECK("close", close(fd) == 0, "%s", strerror(errno));
	return failures ? 1 : 0;
}
