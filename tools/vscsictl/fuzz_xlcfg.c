/* libFuzzer target: the vscsi entries of xl domain configurations
 * (xlcfg.c) and what vscsictl reads out of an entry: the v-dev
 * (common/vdev.c) and the iscsi:// and null: p-dev forms (common/pdev.c).
 *
 * Input: any bytes, read twice:
 *   - as an xl configuration file, with xlcfg_read_domain and
 *     xlcfg_read_vscsi (libxlutil parses it, through /proc/self/fd of a
 *     memfd, as a path); each vscsi entry found goes through the entry
 *     checks below;
 *   - as one entry string ("pdev,vdev[,option]..."), the same checks.
 *
 * Beyond "no crash, no sanitizer report":
 *   - a file that reads gives a list of strings, vscsi_strict -1, 0 or 1,
 *     and the same list through xlcfg_read_vscsi; one that does not gives
 *     a message and no list;
 *   - an entry vspec_parse takes has a p-dev and a v-dev without blanks
 *     around them or a comma, each whole in its field, not the v-dev
 *     "host", a backend of domain-name characters; written back as
 *     "pdev,vdev,options" it parses to the same spec;
 *   - a v-dev vdev_parse takes formats back to the same string;
 *   - an iscsi:// p-dev pdev_parse_iscsi takes has a port in 1..65535 and
 *     a LUN of at most 16383, and its normalized URL parses to the same
 *     parts; a null: p-dev names its kind. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iport.h"
#include "pdev.h"
#include "vdev.h"
#include "xlcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_xlcfg: property broken at line %d: %s\n", __LINE__, #cond); \
		abort(); \
	} \
} while (0)

#define WHOLE(field) (strnlen((field), sizeof(field)) < sizeof(field))

static bool trimmed(const char *s)
{
	size_t n = strlen(s);

	return n && !strchr(" \t\n\v\f\r", s[0]) && !strchr(" \t\n\v\f\r", s[n - 1]) &&
	       !strchr(s, ',');
}

static void check_pdev(const char *pdev)
{
	struct pdev_info a, b;
	struct pdev_hctl h;
	char err[512];

	if (!strncmp(pdev, "iscsi://", 8) && pdev_parse_iscsi(pdev, &a, err, sizeof(err)) == 0) {
		CHECK(a.kind == PDEV_ISCSI);
		CHECK(WHOLE(a.path) && WHOLE(a.host) && WHOLE(a.target) && WHOLE(a.portal));
		CHECK(a.port >= 1 && a.lun <= PDEV_ISCSI_LUN_MAX);
		CHECK(a.host[0] && a.target[0]);
		CHECK(pdev_parse_iscsi(a.path, &b, err, sizeof(err)) == 0);
		CHECK(!strcmp(a.path, b.path) && !strcmp(a.host, b.host) && a.port == b.port &&
		      !strcmp(a.target, b.target) && a.lun == b.lun && !strcmp(a.portal, b.portal));
	}
	if (!strncmp(pdev, "null:", 5) && pdev_parse_null(pdev, &a, err, sizeof(err)) == 0)
		CHECK(a.kind == PDEV_NULL && WHOLE(a.null_kind) && a.null_kind[0]);
	(void)pdev_parse_hctl(pdev, &h);
}

static void check_entry(const char *s)
{
	struct vscsi_spec sp, again;
	struct vdev v;
	char err[512] = "", text[512], buf[VDEV_STR_LEN];

	if (vspec_parse(s, &sp, err, sizeof(err))) {
		CHECK(err[0]);
		return;
	}
	CHECK(WHOLE(sp.pdev) && WHOLE(sp.vdev) && WHOLE(sp.backend));
	CHECK(trimmed(sp.pdev) && trimmed(sp.vdev) && strcmp(sp.vdev, "host"));
	CHECK(strspn(sp.backend, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
	      strlen(sp.backend));
	CHECK(WHOLE(sp.initiator) && WHOLE(sp.isid));
	/* An initiator port only for iSCSI, and only a valid one. */
	CHECK(!(sp.initiator[0] || sp.isid[0]) || !strncmp(sp.pdev, "iscsi://", 8));
	CHECK(!sp.initiator[0] || iport_check_name(sp.initiator, err, sizeof(err)) == 0);
	CHECK(!sp.isid[0] || iport_parse_isid(sp.isid, NULL, err, sizeof(err)) == 0);
	vspec_format(&sp, sp.pdev, sp.backend[0] ? sp.backend : NULL, text, sizeof(text));
	CHECK(vspec_parse(text, &again, err, sizeof(err)) == 0);
	CHECK(!strcmp(sp.pdev, again.pdev) && !strcmp(sp.vdev, again.vdev) &&
	      !strcmp(sp.backend, again.backend) && sp.feature_host == again.feature_host &&
	      sp.shared == again.shared && !strcmp(sp.initiator, again.initiator) &&
	      !strcmp(sp.isid, again.isid));
	if (vdev_parse(sp.vdev, &v) == 0)
		CHECK(!strcmp(vdev_format(&v, buf), sp.vdev));
	check_pdev(sp.pdev);
}

static void check_file(const char *path)
{
	struct xlcfg_domain d;
	char err[512] = "", err2[512] = "", **items = NULL;
	int rc = xlcfg_read_domain(path, &d, err, sizeof(err)), n;

	if (rc) {
		CHECK(rc < 0 && err[0]);
		CHECK(!d.vscsi && !d.nvscsi);
	} else {
		CHECK(d.strict >= -1 && d.strict <= 1);
		CHECK(d.nvscsi >= 0 && (d.nvscsi == 0 || d.vscsi));
		for (int i = 0; i < d.nvscsi; i++) {
			CHECK(d.vscsi[i]);
			check_entry(d.vscsi[i]);
		}
	}
	n = xlcfg_read_vscsi(path, &items, err2, sizeof(err2));
	CHECK(rc ? n == rc && !items : n == d.nvscsi);
	for (int i = 0; i < n; i++)
		CHECK(!strcmp(items[i], d.vscsi[i]));
	xlcfg_free(items, n > 0 ? n : 0);
	xlcfg_domain_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	char *s;

	if (fd < 0) {
		fd = memfd_create("fuzz-xlcfg", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	check_file(path);
	s = strndup((const char *)data, size);
	if (s) {
		check_entry(s);
		free(s);
	}
	return 0;
}
