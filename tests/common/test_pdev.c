/* p-dev parsing and resolution against a fake sysfs tree built in a
 * temporary directory (and, where mknod is allowed, fake device nodes). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "pdev.h"

static char root[200];     /* the temporary directory */
static char sys[256];      /* root/sys */
static char devdir[256];   /* root/dev */
static bool have_nodes;

#define SCSIDEV "devices/pci0000:00/host3/target3:0:1/3:0:1:2"

static void mkdirs(const char *fmt, ...)
{
	char p[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	for (char *s = p + 1; *s; s++) {
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0755);
			*s = '/';
		}
	}
	mkdir(p, 0755);
}

static void link_at(const char *target, const char *fmt, ...)
{
	char p[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	if (symlink(target, p))
		fprintf(stderr, "symlink %s: %s\n", p, strerror(errno));
}

static void touch(const char *fmt, ...)
{
	char p[PATH_MAX];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	if (fd >= 0)
		close(fd);
}

/* A sysfs the shape of the kernel's:
 *   3:0:1:2  a SCSI device with sg7, disk sdc (8:32, partition 8:33) and
 *            tape st1 (9:1)
 *   4:0:0:0  a SCSI device whose sg node is missing (sg not loaded)
 *   254:0    a virtio disk (not SCSI), 7:5 a loop device (no device) */
static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/test_pdev.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(sys, sizeof(sys), "%s/sys", root);
	snprintf(devdir, sizeof(devdir), "%s/dev", root);

	mkdirs("%s/" SCSIDEV "/scsi_generic/sg7", sys);
	mkdirs("%s/" SCSIDEV "/block/sdc/sdc1", sys);
	mkdirs("%s/" SCSIDEV "/scsi_tape/st1", sys);
	touch("%s/" SCSIDEV "/block/sdc/sdc1/partition", sys);
	link_at("../../../3:0:1:2", "%s/" SCSIDEV "/block/sdc/device", sys);
	link_at("../../../3:0:1:2", "%s/" SCSIDEV "/scsi_tape/st1/device", sys);
	link_at("../../../3:0:1:2", "%s/" SCSIDEV "/scsi_generic/sg7/device", sys);
	mkdirs("%s/devices/pci0000:00/host4/target4:0:0/4:0:0:0", sys);
	mkdirs("%s/devices/pci0000:00/virtio1/block/vda", sys);
	link_at("../../../virtio1", "%s/devices/pci0000:00/virtio1/block/vda/device", sys);
	mkdirs("%s/devices/virtual/block/loop5", sys);

	mkdirs("%s/bus/scsi/devices", sys);
	link_at("../../../" SCSIDEV, "%s/bus/scsi/devices/3:0:1:2", sys);
	link_at("../../../devices/pci0000:00/host4/target4:0:0/4:0:0:0", "%s/bus/scsi/devices/4:0:0:0", sys);
	mkdirs("%s/class/scsi_generic", sys);
	link_at("../../" SCSIDEV "/scsi_generic/sg7", "%s/class/scsi_generic/sg7", sys);
	mkdirs("%s/dev/block", sys);
	mkdirs("%s/dev/char", sys);
	link_at("../../" SCSIDEV "/block/sdc", "%s/dev/block/8:32", sys);
	link_at("../../" SCSIDEV "/block/sdc/sdc1", "%s/dev/block/8:33", sys);
	link_at("../../" SCSIDEV "/scsi_tape/st1", "%s/dev/char/9:1", sys);
	link_at("../../devices/pci0000:00/virtio1/block/vda", "%s/dev/block/254:0", sys);
	link_at("../../devices/virtual/block/loop5", "%s/dev/block/7:5", sys);

	mkdirs("%s/disk/by-id", devdir);
	have_nodes = true;
	char p[PATH_MAX];
	struct { const char *name; mode_t type; unsigned maj, min; } nodes[] = {
		{ "sdc", S_IFBLK, 8, 32 }, { "sdc1", S_IFBLK, 8, 33 }, { "st1", S_IFCHR, 9, 1 },
		{ "vda", S_IFBLK, 254, 0 }, { "loop5", S_IFBLK, 7, 5 }, { "zero9", S_IFCHR, 1, 99 },
	};
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", devdir, nodes[i].name);
		if (mknod(p, nodes[i].type | 0600, makedev(nodes[i].maj, nodes[i].min)))
			have_nodes = false;
	}
	link_at("../../sdc", "%s/disk/by-id/scsi-36001405abcdef", devdir);
	touch("%s/plainfile", devdir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static int resolve(const char *pdev, struct pdev_info *out, char *err, size_t len)
{
	int rc = pdev_resolve(pdev, sys, out, err, len);

	if (rc)
		assert_true(strlen(err) > 0);
	return rc;
}

/* Asserts pdev is refused with rc and a message containing want. */
static void bad(const char *pdev, int rc, const char *want)
{
	struct pdev_info info;
	char err[512];

	memset(err, 0, sizeof(err));
	int got = resolve(pdev, &info, err, sizeof(err));
	if (got != rc || !strstr(err, want))
		fail_msg("p-dev \"%s\": rc %d (want %d), error \"%s\" (want \"%s\")", pdev, got, rc,
			 err, want);
	/* every message names the p-dev */
	assert_non_null(strstr(err, "p-dev \""));
}

static void test_iscsi_good(void **state)
{
	struct pdev_info i;
	char err[256];

	(void)state;
	assert_int_equal(resolve("iscsi://127.0.0.1/iqn.2026-11.vscsi.test:disk/1", &i, err, sizeof(err)), 0);
	assert_int_equal(i.kind, PDEV_ISCSI);
	assert_string_equal(i.host, "127.0.0.1");
	assert_int_equal(i.port, 3260);
	assert_string_equal(i.target, "iqn.2026-11.vscsi.test:disk");
	assert_int_equal(i.lun, 1);
	assert_string_equal(i.portal, "127.0.0.1:3260");
	assert_string_equal(i.path, "iscsi://127.0.0.1:3260/iqn.2026-11.vscsi.test:disk/1");

	assert_int_equal(resolve("iscsi://san-1.example.com:3261/eui.02004567A425678D/0", &i, err, sizeof(err)), 0);
	assert_int_equal(i.port, 3261);
	assert_int_equal(i.lun, 0);
	assert_string_equal(i.host, "san-1.example.com");

	assert_int_equal(resolve("iscsi://[::1]:3262/naa.52004567BA64678D/16383", &i, err, sizeof(err)), 0);
	assert_string_equal(i.host, "::1");
	assert_string_equal(i.portal, "[::1]:3262");
	assert_int_equal(i.lun, 16383);
	assert_string_equal(i.path, "iscsi://[::1]:3262/naa.52004567BA64678D/16383");

	assert_int_equal(resolve("iscsi://[fe80::1]/iqn.a.b:c/7", &i, err, sizeof(err)), 0);
	assert_int_equal(i.port, 3260);
}

static void test_iscsi_bad(void **state)
{
	(void)state;
	bad("iscsi://", -EINVAL, "missing target name and LUN");
	bad("iscsi:///iqn.a:b/1", -EINVAL, "missing host");
	bad("iscsi://h:0/iqn.a:b/1", -EINVAL, "port 0 out of range 1-65535");
	bad("iscsi://h:65536/iqn.a:b/1", -EINVAL, "port 65536 out of range 1-65535");
	bad("iscsi://h:99999999999999999999999/iqn.a:b/1", -EINVAL, "is not a decimal number");
	bad("iscsi://h:/iqn.a:b/1", -EINVAL, "port \"\" is not a decimal number");
	bad("iscsi://h:32a/iqn.a:b/1", -EINVAL, "port \"32a\" is not a decimal number");
	bad("iscsi://h/iqn.a:b/16384", -EINVAL, "LUN 16384 out of range 0-16383");
	bad("iscsi://h/iqn.a:b/x", -EINVAL, "LUN \"x\" is not a decimal number");
	bad("iscsi://h/iqn.a:b/-1", -EINVAL, "LUN \"-1\" is not a decimal number");
	bad("iscsi://h/iqn.a:b", -EINVAL, "missing LUN");
	bad("iscsi://h/iqn.a:b/", -EINVAL, "missing LUN after the target name");
	bad("iscsi://h//1", -EINVAL, "missing target name");
	bad("iscsi://h/disk1/1", -EINVAL, "invalid target name");
	bad("iscsi://h/iqn.a:b/c/1", -EINVAL, "'/' in target name");
	bad("iscsi://h/iqn.a_b/1", -EINVAL, "invalid target name");
	bad("iscsi://user%secret@h/iqn.a:b/1", -EINVAL, "credentials do not belong in a p-dev");
	bad("iscsi://::1/iqn.a:b/1", -EINVAL, "IPv6 address as [addr]");
	bad("iscsi://[::1/iqn.a:b/1", -EINVAL, "without closing ']'");
	bad("iscsi://[zz::1]/iqn.a:b/1", -EINVAL, "invalid IPv6 address");
	bad("iscsi://[::1]x/iqn.a:b/1", -EINVAL, "junk after IPv6 address");
	bad("iscsi://999.1.1.1/iqn.a:b/1", -EINVAL, "invalid IPv4 address");
	bad("iscsi://-host/iqn.a:b/1", -EINVAL, "invalid host name");
	bad("iscsi://ho_st/iqn.a:b/1", -EINVAL, "invalid host name");
	bad("iscsi:/h/iqn.a:b/1", -EINVAL, "unsupported URL");
	bad("http://h/iqn.a:b/1", -EINVAL, "unsupported URL");
}

static void test_null(void **state)
{
	struct pdev_info i;
	char err[256];

	(void)state;
	assert_int_equal(resolve("null:disk", &i, err, sizeof(err)), 0);
	assert_int_equal(i.kind, PDEV_NULL);
	assert_string_equal(i.null_kind, "disk");
	bad("null:", -EINVAL, "missing kind");
	bad("null:tape", -EINVAL, "unknown null kind \"tape\"");
}

static void test_hctl(void **state)
{
	struct pdev_info i;
	char err[256];
	struct pdev_hctl h;

	(void)state;
	assert_int_equal(resolve("3:0:1:2", &i, err, sizeof(err)), 0);
	assert_int_equal(i.kind, PDEV_SG);
	assert_string_equal(i.path, "/dev/sg7");
	assert_int_equal(i.hctl.host, 3);
	assert_int_equal(i.hctl.channel, 0);
	assert_int_equal(i.hctl.target, 1);
	assert_int_equal(i.hctl.lun, 2);

	assert_true(pdev_parse_hctl("0:0:0:18446744073709551615", &h));
	assert_true(h.lun == UINT64_MAX);
	assert_false(pdev_parse_hctl("4294967296:0:0:0", &h));
	assert_false(pdev_parse_hctl("1:2:3", &h));
	assert_false(pdev_parse_hctl("1:2:3:4:5", &h));
	assert_false(pdev_parse_hctl("1::3:4", &h));

	bad("9:9:9:9", -ENODEV, "no SCSI device 9:9:9:9 on this host");
	bad("4:0:0:0", -ENODEV, "has no sg node (is the sg driver loaded?)");
	bad("3:0:1", -EINVAL, "bad SCSI address");
	bad("3:0:1:x", -EINVAL, "bad SCSI address");
	bad("3:0:1:2:5", -EINVAL, "bad SCSI address");
	bad("sda", -EINVAL, "unrecognized form");
	bad("", -EINVAL, "empty");
	bad("3:0 :1:2", -EINVAL, "spaces or control characters");
}

static void test_sg_name(void **state)
{
	struct pdev_info i;
	char err[256];

	(void)state;
	assert_int_equal(resolve("/dev/sg7", &i, err, sizeof(err)), 0);
	assert_string_equal(i.path, "/dev/sg7");
	assert_int_equal(i.hctl.host, 3);
	assert_int_equal(i.hctl.lun, 2);
	bad("/dev/sg9", -ENODEV, "no such SCSI generic device sg9");
}

static void test_device_nodes(void **state)
{
	struct pdev_info i;
	char err[256], p[PATH_MAX];

	(void)state;
	if (!have_nodes)
		skip();   /* no mknod here */
	snprintf(p, sizeof(p), "%s/sdc", devdir);
	assert_int_equal(resolve(p, &i, err, sizeof(err)), 0);
	assert_string_equal(i.path, "/dev/sg7");
	assert_int_equal(i.hctl.target, 1);

	snprintf(p, sizeof(p), "%s/st1", devdir);
	assert_int_equal(resolve(p, &i, err, sizeof(err)), 0);
	assert_string_equal(i.path, "/dev/sg7");

	/* /dev/disk/by-id links are followed */
	snprintf(p, sizeof(p), "%s/disk/by-id/scsi-36001405abcdef", devdir);
	assert_int_equal(resolve(p, &i, err, sizeof(err)), 0);
	assert_string_equal(i.path, "/dev/sg7");

	snprintf(p, sizeof(p), "%s/sdc1", devdir);
	bad(p, -EINVAL, "is a partition");
	snprintf(p, sizeof(p), "%s/vda", devdir);
	bad(p, -ENODEV, "not a SCSI device (its sysfs device is");
	snprintf(p, sizeof(p), "%s/loop5", devdir);
	bad(p, -ENODEV, "not a SCSI device (block device 7:5)");
	snprintf(p, sizeof(p), "%s/zero9", devdir);
	bad(p, -ENODEV, "char device 1:99 is not known to sysfs");
}

static void test_node_errors(void **state)
{
	char p[PATH_MAX];

	(void)state;
	snprintf(p, sizeof(p), "%s/nonexistent", devdir);
	bad(p, -ENOENT, "No such file or directory");
	snprintf(p, sizeof(p), "%s/plainfile", devdir);
	bad(p, -ENODEV, "not a device node");
	snprintf(p, sizeof(p), "%s/disk", devdir);
	bad(p, -ENODEV, "not a device node");
}

static void test_truncated_error(void **state)
{
	char err[16];
	struct pdev_info i;

	(void)state;
	/* a short buffer gets a cut message, never an overrun */
	memset(err, 'x', sizeof(err));
	assert_int_equal(pdev_resolve("null:nope", sys, &i, err, sizeof(err)), -EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(pdev_resolve("null:nope", sys, &i, NULL, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iscsi_good),
		cmocka_unit_test(test_iscsi_bad),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_hctl),
		cmocka_unit_test(test_sg_name),
		cmocka_unit_test(test_device_nodes),
		cmocka_unit_test(test_node_errors),
		cmocka_unit_test(test_truncated_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
