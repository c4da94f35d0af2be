/* Unit tests of the simulated xenstored's pure parts: paths, permissions,
 * the tree, quotas, transactions, watches and the xs_wire request handler
 * (driven through fake clients that capture what would be sent). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tools/xensim/xs_proto.h"
#include "tools/xensim/xs_store.h"
#include "tools/xensim/xs_txn.h"
#include "tools/xensim/xs_watch.h"

/* ---- helpers: a bare store ---- */

struct fixture {
	struct xs_domains *doms;
	struct xs_store *s;
};

static int store_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->doms = xs_domains_new();
	assert_int_equal(xs_domains_add(f->doms, 0), 0);
	assert_int_equal(xs_domains_add(f->doms, 1), 0);
	assert_int_equal(xs_domains_add(f->doms, 2), 0);
	f->s = xs_store_new(f->doms);
	assert_non_null(f->s);
	*state = f;
	return 0;
}

static int store_teardown(void **state)
{
	struct fixture *f = *state;

	xs_store_free(f->s);
	xs_domains_free(f->doms);
	free(f);
	return 0;
}

static void perms_set(struct xs_store *s, const char *path, const char *spec)
{
	struct xs_perm p[8];
	unsigned n = 0;
	char buf[128], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		assert_int_equal(xs_perm_parse(tok, &p[n++]), 0);
	assert_int_equal(xs_store_set_perms(s, 0, 0, path, p, n), 0);
}

static void perms_expect(struct xs_store *s, const char *path, const char *spec)
{
	const struct xs_perm *p;
	unsigned n;
	char got[128] = "", one[16];

	assert_int_equal(xs_store_get_perms(s, 0, path, &p, &n), 0);
	for (unsigned i = 0; i < n; i++) {
		xs_perm_format(&p[i], one, sizeof(one));
		if (i)
			strcat(got, " ");
		strcat(got, one);
	}
	assert_string_equal(got, spec);
}

static void read_expect(struct xs_store *s, unsigned domid, const char *path,
			const char *want)
{
	const char *v;
	unsigned len;

	assert_int_equal(xs_store_read(s, domid, path, &v, &len), 0);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(v, want, len);
}

static int wr(struct xs_store *s, unsigned domid, const char *path,
	      const char *val)
{
	return xs_store_write(s, domid, 0, path, val, (unsigned)strlen(val));
}

/* ---- paths ---- */

static void test_path_canonical(void **state)
{
	char out[4200];
	bool rel;

	(void)state;
	assert_int_equal(xs_path_canonical(3, "device/vscsi", false, out, sizeof(out), &rel), 0);
	assert_string_equal(out, "/local/domain/3/device/vscsi");
	assert_true(rel);
	assert_int_equal(xs_path_canonical(3, "/a/b-c_D9", false, out, sizeof(out), &rel), 0);
	assert_string_equal(out, "/a/b-c_D9");
	assert_false(rel);
	assert_int_equal(xs_path_canonical(0, "/", false, out, sizeof(out), NULL), 0);
	assert_int_equal(xs_path_canonical(0, "@releaseDomain", true, out, sizeof(out), &rel), 0);
	assert_string_equal(out, "@releaseDomain");
	assert_false(rel);

	assert_int_equal(xs_path_canonical(0, "@releaseDomain", false, out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(xs_path_canonical(0, "", false, out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(xs_path_canonical(0, "/a//b", false, out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(xs_path_canonical(0, "/a/", false, out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(xs_path_canonical(0, "/a b", false, out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(xs_path_canonical(0, "/a.b", false, out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(xs_path_canonical(0, "/a\nb", false, out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(xs_path_canonical(0, "@", true, out, sizeof(out), NULL), -EINVAL);
	/* Relative "" would end in '/'. */
	assert_int_equal(xs_path_canonical(2, "a/", false, out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(xs_path_canonical(0, "/a", false, out, 2, NULL), -EINVAL);
}

static void test_path_lengths(void **state)
{
	char in[3200], out[4200];

	(void)state;
	/* A guest may use 2048 bytes below its home, not more. */
	memset(in, 'x', 2048);
	in[2048] = '\0';
	assert_int_equal(xs_path_canonical(5, in, false, out, sizeof(out), NULL), 0);
	memset(in, 'x', 2049);
	in[2049] = '\0';
	assert_int_equal(xs_path_canonical(5, in, false, out, sizeof(out), NULL), -EINVAL);
	/* Domain 0 is bound by the absolute limit only. */
	assert_int_equal(xs_path_canonical(0, in, false, out, sizeof(out), NULL), 0);
	in[0] = '/';
	memset(in + 1, 'y', 3071);
	in[3072] = '\0';
	assert_int_equal(xs_path_canonical(0, in, false, out, sizeof(out), NULL), 0);
	in[3072] = 'y';
	in[3073] = '\0';
	assert_int_equal(xs_path_canonical(0, in, false, out, sizeof(out), NULL), -EINVAL);
}

static void test_path_below(void **state)
{
	(void)state;
	assert_true(xs_path_is_below("/a/b", "/a"));
	assert_true(xs_path_is_below("/a", "/a"));
	assert_true(xs_path_is_below("/a", "/"));
	assert_false(xs_path_is_below("/ab", "/a"));
	assert_false(xs_path_is_below("/a", "/a/b"));
	assert_false(xs_path_is_below("@releaseDomain", "/"));
}

/* ---- permission entries ---- */

static void test_perm_parse_format(void **state)
{
	struct xs_perm p;
	char buf[16];

	(void)state;
	assert_int_equal(xs_perm_parse("b7", &p), 0);
	assert_int_equal(p.domid, 7);
	assert_int_equal(p.mode, XS_STORE_PERM_BOTH);
	xs_perm_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "b7");
	assert_int_equal(xs_perm_parse("n0", &p), 0);
	assert_int_equal(p.mode, XS_STORE_PERM_NONE);
	assert_int_equal(xs_perm_parse("r65535", &p), 0);
	assert_int_equal(xs_perm_parse("w12", &p), 0);
	assert_int_equal(p.mode, XS_STORE_PERM_WRITE);
	assert_int_equal(xs_perm_parse("x1", &p), -EINVAL);
	assert_int_equal(xs_perm_parse("r", &p), -EINVAL);
	assert_int_equal(xs_perm_parse("r1a", &p), -EINVAL);
	assert_int_equal(xs_perm_parse("r65536", &p), -EINVAL);
	assert_int_equal(xs_perm_parse("", &p), -EINVAL);
}

static void test_perm_for(void **state)
{
	const struct xs_perm p[] = { { 3, XS_STORE_PERM_READ },
				     { 4, XS_STORE_PERM_NONE },
				     { 5, XS_STORE_PERM_BOTH } };
	const unsigned all = XS_STORE_PERM_BOTH | XS_STORE_PERM_OWNER;

	(void)state;
	assert_int_equal(xs_perm_for(p, 3, 0, false, 0), all);  /* dom0 */
	assert_int_equal(xs_perm_for(p, 3, 3, false, 0), all);  /* owner */
	assert_int_equal(xs_perm_for(p, 3, 4, false, 0), XS_STORE_PERM_NONE);
	assert_int_equal(xs_perm_for(p, 3, 5, false, 0), XS_STORE_PERM_BOTH);
	assert_int_equal(xs_perm_for(p, 3, 9, false, 0), XS_STORE_PERM_READ);
	/* A domain acting for the owner (its target) owns too. */
	assert_int_equal(xs_perm_for(p, 3, 9, true, 3), all);
	assert_int_equal(xs_perm_for(p, 3, 9, true, 5), XS_STORE_PERM_BOTH);
}

static void test_domains(void **state)
{
	struct xs_domains *d = xs_domains_new();
	unsigned t;

	(void)state;
	assert_int_equal(xs_domains_add(d, 1), 0);
	assert_int_equal(xs_domains_add(d, 1), -EEXIST);
	assert_int_equal(xs_domains_add(d, 2), 0);
	assert_int_equal(xs_domains_set_target(d, 1, 3), -ENOENT);
	assert_int_equal(xs_domains_set_target(d, 1, 2), 0);
	assert_true(xs_domains_get_target(d, 1, &t));
	assert_int_equal(t, 2);
	assert_int_equal(xs_domains_remove(d, 2), 0);
	assert_false(xs_domains_get_target(d, 1, &t));
	assert_false(xs_domains_known(d, 2));
	assert_int_equal(xs_domains_remove(d, 2), -ENOENT);
	xs_domains_free(d);
}

/* ---- the tree ---- */

static void test_write_read_mkdir_p(void **state)
{
	struct fixture *f = *state;
	char *names;
	size_t len;
	uint64_t gen;

	assert_int_equal(wr(f->s, 0, "/a/b/c", "hello"), 0);
	read_expect(f->s, 0, "/a/b/c", "hello");
	read_expect(f->s, 0, "/a/b", "");
	/* Values are bytes: NULs included. */
	assert_int_equal(xs_store_write(f->s, 0, 0, "/bin", "x\0y", 3), 0);
	{
		const char *v;
		unsigned l;

		assert_int_equal(xs_store_read(f->s, 0, "/bin", &v, &l), 0);
		assert_int_equal(l, 3);
		assert_memory_equal(v, "x\0y", 3);
	}
	assert_int_equal(wr(f->s, 0, "/a/b/c", "again"), 0);
	read_expect(f->s, 0, "/a/b/c", "again");
	assert_int_equal(xs_store_mkdir(f->s, 0, 0, "/a/b/c"), 0);
	read_expect(f->s, 0, "/a/b/c", "again"); /* mkdir keeps values */
	assert_int_equal(xs_store_mkdir(f->s, 0, 0, "/a/z"), 0);
	assert_int_equal(wr(f->s, 0, "/a/m", "1"), 0);
	/* Children come in creation order. */
	assert_int_equal(xs_store_directory(f->s, 0, "/a", &names, &len, &gen), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(names, "b\0z\0m\0", 6);
	free(names);
	assert_int_equal(xs_store_directory(f->s, 0, "/a/m", &names, &len, &gen), 0);
	assert_null(names);
	assert_int_equal(len, 0);
	assert_int_equal(xs_store_directory(f->s, 0, "/nope", &names, &len, &gen), -ENOENT);
	{
		const char *v;
		unsigned l;

		assert_int_equal(xs_store_read(f->s, 0, "/a/x", &v, &l), -ENOENT);
		assert_int_equal(xs_store_read(f->s, 0, "a/x", &v, &l), -EINVAL);
	}
	/* root + a, b, c, bin, z, m */
	assert_int_equal(xs_store_node_count(f->s), 7);
}

static void test_rm(void **state)
{
	struct fixture *f = *state;
	const char *v;
	unsigned l;

	assert_int_equal(wr(f->s, 0, "/a/b/c", "1"), 0);
	assert_int_equal(wr(f->s, 0, "/a/b/d", "2"), 0);
	assert_int_equal(wr(f->s, 0, "/a/e", "3"), 0);
	assert_int_equal(xs_store_rm(f->s, 0, 0, "/a/b"), 0);
	assert_int_equal(xs_store_read(f->s, 0, "/a/b/c", &v, &l), -ENOENT);
	assert_int_equal(xs_store_read(f->s, 0, "/a/b", &v, &l), -ENOENT);
	read_expect(f->s, 0, "/a/e", "3");
	/* A missing child of an existing node: fine. A missing parent: not. */
	assert_int_equal(xs_store_rm(f->s, 0, 0, "/a/b"), 0);
	assert_int_equal(xs_store_rm(f->s, 0, 0, "/a/b/c"), -ENOENT);
	assert_int_equal(xs_store_rm(f->s, 0, 0, "/"), -EINVAL);
	assert_int_equal(xs_store_node_count(f->s), 3);
	assert_int_equal(xs_store_nodes_owned(f->s, 0), 3);
}

static void test_inherit_and_ownership(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(xs_store_mkdir(f->s, 0, 0, "/g"), 0);
	perms_set(f->s, "/g", "n0 b1 r2");
	/* Created by dom0: inherits the parent's list as it is. */
	assert_int_equal(wr(f->s, 0, "/g/x/y", "v"), 0);
	perms_expect(f->s, "/g/x", "n0 b1 r2");
	perms_expect(f->s, "/g/x/y", "n0 b1 r2");
	/* Created by a guest: the guest owns it. */
	assert_int_equal(wr(f->s, 1, "/g/p/q", "v"), 0);
	perms_expect(f->s, "/g/p", "n1 b1 r2");
	perms_expect(f->s, "/g/p/q", "n1 b1 r2");
	assert_int_equal(xs_store_nodes_owned(f->s, 1), 2);
	/* Domain 2 may read but not write. */
	read_expect(f->s, 2, "/g/p/q", "v");
	assert_int_equal(wr(f->s, 2, "/g/p/q", "w"), -EACCES);
	assert_int_equal(wr(f->s, 2, "/g/new", "w"), -EACCES);
	assert_int_equal(xs_store_rm(f->s, 2, 0, "/g/p"), -EACCES);
}

static void test_permission_denials(void **state)
{
	struct fixture *f = *state;
	const struct xs_perm *p;
	const char *v;
	unsigned l, n;
	char *names;
	size_t len;
	uint64_t gen;
	struct xs_perm own1 = { 1, XS_STORE_PERM_NONE };
	struct xs_perm own2[2] = { { 2, XS_STORE_PERM_NONE }, { 1, XS_STORE_PERM_READ } };

	assert_int_equal(wr(f->s, 0, "/local/domain/0/x", "secret"), 0);
	/* "n0" everywhere: a guest sees nothing, and cannot tell what is
	 * missing from what is hidden. */
	assert_int_equal(xs_store_read(f->s, 1, "/local/domain/0/x", &v, &l), -EACCES);
	assert_int_equal(xs_store_read(f->s, 1, "/local/domain/0/nothing", &v, &l), -EACCES);
	assert_int_equal(xs_store_directory(f->s, 1, "/local", &names, &len, &gen), -EACCES);
	assert_int_equal(xs_store_get_perms(f->s, 1, "/local", &p, &n), -EACCES);
	assert_int_equal(wr(f->s, 1, "/local/domain/0/x", "mine"), -EACCES);
	assert_int_equal(wr(f->s, 1, "/local/domain/0/y", "mine"), -EACCES);
	assert_int_equal(xs_store_mkdir(f->s, 1, 0, "/local/domain/0/y"), -EACCES);
	assert_int_equal(xs_store_rm(f->s, 1, 0, "/local/domain/0/x"), -EACCES);
	read_expect(f->s, 0, "/local/domain/0/x", "secret");

	/* A readable parent turns a missing node into ENOENT. */
	assert_int_equal(xs_store_mkdir(f->s, 0, 0, "/pub"), 0);
	perms_set(f->s, "/pub", "n0 r1");
	assert_int_equal(xs_store_read(f->s, 1, "/pub/none", &v, &l), -ENOENT);

	/* set_perms needs ownership; writing is not enough. */
	assert_int_equal(xs_store_mkdir(f->s, 0, 0, "/shared"), 0);
	perms_set(f->s, "/shared", "n0 b1");
	assert_int_equal(xs_store_set_perms(f->s, 1, 0, "/shared", &own1, 1), -EACCES);
	assert_int_equal(wr(f->s, 1, "/shared", "ok"), 0);
	/* A guest cannot give its node away, nor name an unknown owner. */
	assert_int_equal(wr(f->s, 1, "/shared/mine", "v"), 0);
	assert_int_equal(xs_store_set_perms(f->s, 1, 0, "/shared/mine", own2, 2), -EPERM);
	own2[0].domid = 1;
	own2[1].domid = 2;
	assert_int_equal(xs_store_set_perms(f->s, 1, 0, "/shared/mine", own2, 2), 0);
	perms_expect(f->s, "/shared/mine", "n1 r2");
	own2[0].domid = 77;
	assert_int_equal(xs_store_set_perms(f->s, 0, 0, "/shared/mine", own2, 2), -ENOENT);
	/* Unknown special nodes are missing; the real ones are dom0's. */
	assert_int_equal(xs_store_get_perms(f->s, 0, "@nothing", &p, &n), -ENOENT);
	assert_int_equal(xs_store_get_perms(f->s, 1, XS_SPECIAL_RELEASE, &p, &n), -EACCES);
	perms_expect(f->s, XS_SPECIAL_RELEASE, "n0");
}

static void test_quota_entry_size_absent(void **state)
{
	struct fixture *f = *state;
	char big[4096];
	const char *v;
	unsigned l;
	struct xs_perm p = { 1, XS_STORE_PERM_NONE };

	memset(big, 'v', sizeof(big));
	assert_int_equal(xs_store_mkdir(f->s, 0, 0, "/local/domain/1"), 0);
	assert_int_equal(xs_store_set_perms(f->s, 0, 0, "/local/domain/1", &p, 1), 0);
	assert_int_equal(xs_store_write(f->s, 1, 0, "/local/domain/1/big", big, 2049), -ENOSPC);
	assert_int_equal(xs_store_read(f->s, 0, "/local/domain/1/big", &v, &l), -ENOENT);
	/* Domain 0 has no quota. */
	assert_int_equal(xs_store_write(f->s, 0, 0, "/local/domain/1/big", big, 4000), 0);
	/* Nor does a guest's parent record grow past the limit: a node
	 * with too many children takes no more. */
	char path[64];
	int i, err = 0;

	for (i = 0; i < 400 && !err; i++) {
		snprintf(path, sizeof(path), "/local/domain/1/d/child%03d", i);
		err = wr(f->s, 1, path, "");
	}
	assert_int_equal(err, -ENOSPC);
	assert_true(i > 100);
}

static void test_quota_nodes(void **state)
{
	struct fixture *f = *state;
	struct xs_perm p = { 1, XS_STORE_PERM_NONE };
	char path[64];
	int err = 0;
	unsigned made = 0;

	assert_int_equal(xs_store_mkdir(f->s, 0, 0, "/local/domain/1"), 0);
	assert_int_equal(xs_store_set_perms(f->s, 0, 0, "/local/domain/1", &p, 1), 0);
	/* 1 (home, now owned by 1) + 40 dirs of 24 leaves = 1001 > 1000. */
	for (unsigned d = 0; d < 40 && !err; d++) {
		for (unsigned i = 0; i < 25 && !err; i++) {
			snprintf(path, sizeof(path), "/local/domain/1/d%u/n%u", d, i);
			err = wr(f->s, 1, path, "x");
			if (!err)
				made++;
		}
	}
	assert_int_equal(err, -ENOSPC);
	assert_int_equal(xs_store_nodes_owned(f->s, 1), XS_QUOTA_NODES);
	/* Creating two levels at once when one is left fails whole. */
	assert_int_equal(xs_store_rm(f->s, 1, 0, "/local/domain/1/d0/n0"), 0);
	assert_int_equal(wr(f->s, 1, "/local/domain/1/new/leaf", "x"), -ENOSPC);
	assert_int_equal(wr(f->s, 1, "/local/domain/1/d0/n0", "x"), 0);
	/* Domain 0 is unlimited, also below the guest's home. */
	assert_int_equal(wr(f->s, 0, "/local/domain/1/dom0/a", "x"), 0);
	assert_true(made > 900);
}

static void test_quota_perms(void **state)
{
	struct fixture *f = *state;
	struct xs_perm p[6] = { { 1, 0 }, { 2, 1 }, { 3, 1 }, { 4, 1 }, { 5, 1 }, { 6, 1 } };

	assert_int_equal(xs_store_mkdir(f->s, 0, 0, "/q"), 0);
	perms_set(f->s, "/q", "n1");
	assert_int_equal(xs_store_set_perms(f->s, 1, 0, "/q", p, 6), -ENOSPC);
	assert_int_equal(xs_store_set_perms(f->s, 1, 0, "/q", p, 5), 0);
	assert_int_equal(xs_store_set_perms(f->s, 0, 0, "/q", p, 6), 0);
}

static void test_generations(void **state)
{
	struct fixture *f = *state;
	uint64_t g0, g1, g2;

	assert_int_equal(xs_store_generation(f->s, "/x"), 0);
	assert_int_equal(wr(f->s, 0, "/x", "1"), 0);
	g0 = xs_store_generation(f->s, "/x");
	assert_true(g0 > 0);
	assert_int_equal(wr(f->s, 0, "/x/c", "1"), 0);
	g1 = xs_store_generation(f->s, "/x");
	assert_true(g1 > g0); /* a new child changes the parent */
	assert_int_equal(xs_store_rm(f->s, 0, 0, "/x/c"), 0);
	g2 = xs_store_generation(f->s, "/x");
	assert_true(g2 > g1);
	assert_int_equal(xs_store_mkdir(f->s, 0, 0, "/x"), 0);
	assert_int_equal(xs_store_generation(f->s, "/x"), g2); /* no change */
}

static void test_forget_domain(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(xs_store_mkdir(f->s, 0, 0, "/f"), 0);
	perms_set(f->s, "/f", "n0 b1 r2");
	assert_int_equal(wr(f->s, 1, "/f/g", "v"), 0);
	perms_expect(f->s, "/f/g", "n1 b1 r2");
	xs_store_forget_domain(f->s, 1);
	perms_expect(f->s, "/f", "n0 r2");
	perms_expect(f->s, "/f/g", "n0 r2");
	assert_int_equal(xs_store_nodes_owned(f->s, 1), 0);
}

static void test_clone_independent(void **state)
{
	struct fixture *f = *state;
	struct xs_store *c;

	assert_int_equal(wr(f->s, 0, "/a/b", "1"), 0);
	c = xs_store_clone(f->s);
	assert_non_null(c);
	assert_int_equal(wr(c, 0, "/a/b", "2"), 0);
	assert_int_equal(xs_store_rm(c, 0, 0, "/a"), 0);
	read_expect(f->s, 0, "/a/b", "1");
	assert_int_equal(xs_store_node_count(c), 1);
	xs_store_free(c);
}

/* ---- the wire handler ---- */

#define CAP_MAX 512

struct cap_msg {
	struct xsd_sockmsg hdr;
	char body[XENSTORE_PAYLOAD_MAX + 1];
};

struct cap {
	struct xs_client c;
	unsigned n;
	struct cap_msg m[CAP_MAX];
};

struct wire {
	struct xs_proto *p;
	struct cap *dom0, *g1, *g1b, *g2;
	int releases;
};

static void cap_send(struct xs_client *c, const struct xsd_sockmsg *hdr,
		     const void *body)
{
	struct cap *k = c->opaque;

	assert_true(hdr->len <= XENSTORE_PAYLOAD_MAX);
	assert_true(k->n < CAP_MAX);
	k->m[k->n].hdr = *hdr;
	memcpy(k->m[k->n].body, body, hdr->len);
	k->m[k->n].body[hdr->len] = '\0';
	k->n++;
}

static struct cap *cap_new(struct xs_proto *p, unsigned domid)
{
	struct cap *k = calloc(1, sizeof(*k));

	xs_client_init(&k->c, p, domid, cap_send, k);
	return k;
}

static void cap_free(struct cap *k)
{
	xs_client_fini(&k->c);
	free(k);
}

static int wire_release(void *arg, unsigned domid)
{
	struct wire *w = arg;

	w->releases++;
	return xs_proto_domain_release(w->p, domid);
}

static int wire_setup(void **state)
{
	struct wire *w = calloc(1, sizeof(*w));
	struct xs_proto_ops ops = { .release = wire_release, .arg = w };

	w->p = xs_proto_new();
	xs_proto_set_ops(w->p, &ops);
	assert_int_equal(xs_proto_domain_introduce(w->p, 0, "Domain-0"), 0);
	assert_int_equal(xs_proto_domain_introduce(w->p, 1, "guest1"), 0);
	assert_int_equal(xs_proto_domain_introduce(w->p, 2, "guest2"), 0);
	w->dom0 = cap_new(w->p, 0);
	w->g1 = cap_new(w->p, 1);
	w->g1b = cap_new(w->p, 1);
	w->g2 = cap_new(w->p, 2);
	*state = w;
	return 0;
}

static int wire_teardown(void **state)
{
	struct wire *w = *state;

	cap_free(w->dom0);
	cap_free(w->g1);
	cap_free(w->g1b);
	cap_free(w->g2);
	xs_proto_free(w->p);
	free(w);
	return 0;
}

static uint32_t next_req_id = 100;

/* Sends one request (payload given with its length) and returns the
 * reply; events that came with it stay in k->m for inspection. */
static struct cap_msg *xreq(struct cap *k, uint32_t type, uint32_t tx,
			    const char *payload, unsigned len)
{
	struct xsd_sockmsg hdr = { .type = type, .req_id = next_req_id++,
				   .tx_id = tx, .len = len };
	struct cap_msg *rep = NULL;

	k->n = 0;
	xs_proto_request(&k->c, &hdr, payload);
	for (unsigned i = 0; i < k->n; i++) {
		if (k->m[i].hdr.type == XS_WATCH_EVENT)
			continue;
		assert_null(rep); /* exactly one reply */
		rep = &k->m[i];
	}
	assert_non_null(rep);
	assert_int_equal(rep->hdr.req_id, hdr.req_id);
	assert_int_equal(rep->hdr.tx_id, tx);
	return rep;
}

/* A request whose payload is a string literal with explicit NULs between
 * the arguments, sent with its final NUL, as libxenstore does. */
#define XREQ(k, type, tx, lit) xreq(k, type, tx, lit, sizeof(lit))
/* XS_WRITE: "path\0value", the value without a NUL. */
#define XWRITE(k, tx, lit) xreq(k, XS_WRITE, tx, lit, sizeof(lit) - 1)

static void expect_ok(struct cap_msg *m, uint32_t type)
{
	if (m->hdr.type == XS_ERROR)
		fail_msg("expected success, got %s", m->body);
	assert_int_equal(m->hdr.type, type);
}

static void expect_err(struct cap_msg *m, const char *err)
{
	assert_int_equal(m->hdr.type, XS_ERROR);
	assert_int_equal(m->hdr.len, strlen(err) + 1);
	assert_string_equal(m->body, err);
}

static void expect_body(struct cap_msg *m, const char *body, unsigned len)
{
	assert_int_equal(m->hdr.len, len);
	assert_memory_equal(m->body, body, len);
}

static unsigned count_events(struct cap *k, const char *path, const char *token)
{
	unsigned n = 0;

	for (unsigned i = 0; i < k->n; i++) {
		struct cap_msg *m = &k->m[i];

		if (m->hdr.type != XS_WATCH_EVENT)
			continue;
		assert_int_equal(m->hdr.len, strlen(m->body) + 1 +
					     strlen(m->body + strlen(m->body) + 1) + 1);
		if (!strcmp(m->body, path) &&
		    !strcmp(m->body + strlen(path) + 1, token))
			n++;
	}
	return n;
}

static unsigned count_all_events(struct cap *k)
{
	unsigned n = 0;

	for (unsigned i = 0; i < k->n; i++)
		n += k->m[i].hdr.type == XS_WATCH_EVENT;
	return n;
}

static uint32_t tx_start(struct cap *k)
{
	struct cap_msg *m = XREQ(k, XS_TRANSACTION_START, 0, "");

	expect_ok(m, XS_TRANSACTION_START);
	assert_int_equal(m->hdr.len, strlen(m->body) + 1);
	return (uint32_t)strtoul(m->body, NULL, 10);
}

static void test_wire_basic_ops(void **state)
{
	struct wire *w = *state;
	struct cap_msg *m;

	expect_ok(XWRITE(w->dom0, 0, "/t/a\0value"), XS_WRITE);
	m = XREQ(w->dom0, XS_READ, 0, "/t/a");
	expect_ok(m, XS_READ);
	expect_body(m, "value", 5); /* no NUL added */
	m = XWRITE(w->dom0, 0, "/t/a\0");
	expect_body(m, "OK", 3);
	expect_body(XREQ(w->dom0, XS_READ, 0, "/t/a"), "", 0);
	expect_ok(XREQ(w->dom0, XS_MKDIR, 0, "/t/b"), XS_MKDIR);
	m = XREQ(w->dom0, XS_DIRECTORY, 0, "/t");
	expect_ok(m, XS_DIRECTORY);
	expect_body(m, "a\0b", 4);
	m = XREQ(w->dom0, XS_GET_PERMS, 0, "/t");
	expect_body(m, "n0", 3);
	expect_ok(XREQ(w->dom0, XS_SET_PERMS, 0, "/t\0n0\0r1\0b2"), XS_SET_PERMS);
	expect_body(XREQ(w->dom0, XS_GET_PERMS, 0, "/t"), "n0\0r1\0b2", 9);
	expect_ok(XREQ(w->dom0, XS_RM, 0, "/t/a"), XS_RM);
	expect_err(XREQ(w->dom0, XS_READ, 0, "/t/a"), "ENOENT");
	expect_ok(XREQ(w->dom0, XS_RM, 0, "/t/a"), XS_RM);
	expect_err(XREQ(w->dom0, XS_RM, 0, "/t/a/b"), "ENOENT");
	expect_err(XREQ(w->dom0, XS_RM, 0, "/"), "EINVAL");
	/* Relative paths are below the caller's home. */
	expect_ok(XWRITE(w->g1, 0, "data/x\0rel"), XS_WRITE);
	expect_body(XREQ(w->dom0, XS_READ, 0, "/local/domain/1/data/x"), "rel", 3);
	expect_body(XREQ(w->g1, XS_GET_PERMS, 0, "data/x"), "n1", 3);
}

static void test_wire_domain_layout(void **state)
{
	struct wire *w = *state;

	expect_body(XREQ(w->g1, XS_READ, 0, "name"), "guest1", 6);
	expect_body(XREQ(w->g1, XS_READ, 0, "domid"), "1", 1);
	expect_body(XREQ(w->dom0, XS_GET_PERMS, 0, "/local/domain/1"), "n0\0r1", 6);
	expect_body(XREQ(w->dom0, XS_GET_PERMS, 0, "/local/domain/1/device"), "n0\0r1", 6);
	expect_body(XREQ(w->dom0, XS_GET_PERMS, 0, "/local/domain/1/data"), "n1", 3);
	expect_body(XREQ(w->dom0, XS_READ, 0, "/local/domain/0/name"), "Domain-0", 8);
	/* The guest writes where xl lets it, not elsewhere in its home. */
	expect_ok(XWRITE(w->g1, 0, "data/k\0v"), XS_WRITE);
	expect_ok(XWRITE(w->g1, 0, "control/shutdown\0poweroff"), XS_WRITE);
	expect_err(XWRITE(w->g1, 0, "name\0evil"), "EACCES");
	expect_err(XWRITE(w->g1, 0, "device/vbd\0x"), "EACCES");
	/* Another guest's home is hidden. */
	expect_err(XREQ(w->g2, XS_READ, 0, "/local/domain/1/name"), "EACCES");
	expect_err(XREQ(w->g2, XS_DIRECTORY, 0, "/local/domain"), "EACCES");
	expect_body(XREQ(w->g2, XS_GET_DOMAIN_PATH, 0, "7"), "/local/domain/7", 16);
	expect_err(XREQ(w->dom0, XS_GET_DOMAIN_PATH, 0, "x7"), "EINVAL");
	expect_body(XREQ(w->dom0, XS_IS_DOMAIN_INTRODUCED, 0, "2"), "T", 2);
	expect_body(XREQ(w->dom0, XS_IS_DOMAIN_INTRODUCED, 0, "9"), "F", 2);
}

static void test_wire_malformed(void **state)
{
	struct wire *w = *state;
	char big[XENSTORE_PAYLOAD_MAX];

	/* Unknown and reply-only types: ENOSYS, as C xenstored says. */
	expect_err(XREQ(w->g1, 99, 0, "x"), "ENOSYS");
	expect_err(XREQ(w->g1, XS_WATCH_EVENT, 0, "x"), "ENOSYS");
	expect_err(XREQ(w->g1, XS_ERROR, 0, "x"), "ENOSYS");
	expect_err(XREQ(w->g1, XS_RESET_WATCHES - 1, 0, "x"), "ENOSYS");
	expect_err(xreq(w->g1, 0xffffffffu, 0, NULL, 0), "ENOSYS");
	/* Missing NUL, extra strings, no payload. */
	expect_err(xreq(w->dom0, XS_READ, 0, "/local", 6), "EINVAL");
	expect_err(XREQ(w->dom0, XS_READ, 0, "/local\0/x"), "EINVAL");
	expect_err(xreq(w->dom0, XS_READ, 0, "", 0), "EINVAL");
	expect_err(xreq(w->dom0, XS_WRITE, 0, "/local/x", 8), "EINVAL");
	expect_err(xreq(w->dom0, XS_MKDIR, 0, "", 0), "EINVAL");
	expect_err(XREQ(w->dom0, XS_WATCH, 0, "/a"), "EINVAL");
	expect_err(XREQ(w->dom0, XS_WATCH, 0, "/a\0t\0x"), "EINVAL");
	expect_err(XREQ(w->dom0, XS_UNWATCH, 0, "/a"), "EINVAL");
	expect_err(XREQ(w->dom0, XS_SET_PERMS, 0, "/local"), "EINVAL");
	expect_err(XREQ(w->dom0, XS_SET_PERMS, 0, "/local\0q0"), "EINVAL");
	expect_err(XREQ(w->dom0, XS_SET_PERMS, 0, "/local\0r"), "EINVAL");
	expect_err(XREQ(w->dom0, XS_DIRECTORY_PART, 0, "/local"), "EINVAL");
	expect_err(XREQ(w->dom0, XS_TRANSACTION_END, 0, ""), "EINVAL");
	expect_err(XREQ(w->dom0, XS_TRANSACTION_END, 0, "X"), "EINVAL");
	expect_err(XREQ(w->dom0, XS_TRANSACTION_END, 0, "T"), "ENOENT");
	expect_err(XREQ(w->dom0, XS_GET_DOMAIN_PATH, 0, ""), "EINVAL");
	expect_err(XREQ(w->dom0, XS_INTRODUCE, 0, "1\0002"), "EINVAL");
	/* Bad paths. */
	expect_err(XREQ(w->dom0, XS_READ, 0, "/a//b"), "EINVAL");
	expect_err(XREQ(w->dom0, XS_READ, 0, "/a/"), "EINVAL");
	expect_err(XREQ(w->dom0, XS_READ, 0, "/a b"), "EINVAL");
	expect_err(XWRITE(w->dom0, 0, "@releaseDomain\0x"), "EINVAL");
	expect_err(XREQ(w->dom0, XS_DIRECTORY, 0, "@introduceDomain"), "EINVAL");
	/* Unknown transaction ids. */
	expect_err(XREQ(w->dom0, XS_READ, 12345, "/local"), "ENOENT");
	/* A payload of binary junk. */
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + 1);
	expect_err(xreq(w->g1, XS_WRITE, 0, big, sizeof(big)), "EINVAL");
	expect_err(xreq(w->dom0, XS_SET_PERMS, 0, big, sizeof(big)), "EINVAL");
	/* A guest hits the entry-count quota first, as in C xenstored. */
	expect_err(xreq(w->g1, XS_SET_PERMS, 0, big, sizeof(big)), "ENOSPC");
	/* Still serving. */
	expect_body(XREQ(w->g1, XS_READ, 0, "name"), "guest1", 6);
}

static void test_wire_privileged_ops(void **state)
{
	struct wire *w = *state;

	expect_err(XREQ(w->g1, XS_INTRODUCE, 0, "1\0001\0001"), "EACCES");
	expect_err(XREQ(w->g1, XS_RELEASE, 0, "2"), "EACCES");
	expect_err(XREQ(w->g1, XS_RESUME, 0, "1"), "EACCES");
	expect_err(XREQ(w->g1, XS_SET_TARGET, 0, "1\0002"), "EACCES");
	expect_err(XREQ(w->g1, XS_CONTROL, 0, "print\0x"), "EACCES");
	expect_err(XREQ(w->g1, XS_IS_DOMAIN_INTRODUCED, 0, "1"), "EACCES");
	expect_ok(XREQ(w->dom0, XS_INTRODUCE, 0, "1\0001234\0005"), XS_INTRODUCE);
	expect_err(XREQ(w->dom0, XS_INTRODUCE, 0, "9\0001234\0005"), "EINVAL");
	expect_ok(XREQ(w->dom0, XS_RESUME, 0, "1"), XS_RESUME);
	expect_err(XREQ(w->dom0, XS_RESUME, 0, "9"), "ENOENT");
	expect_err(XREQ(w->dom0, XS_CONTROL, 0, "print\0x"), "ENOSYS");
	expect_err(XREQ(w->dom0, XS_RELEASE, 0, "0"), "EINVAL");
	expect_err(XREQ(w->dom0, XS_RELEASE, 0, "9"), "ENOENT");
	/* A target domain acts as the owner of its target's nodes. */
	expect_err(XREQ(w->g2, XS_READ, 0, "/local/domain/1/name"), "EACCES");
	expect_ok(XREQ(w->dom0, XS_SET_TARGET, 0, "2\0001"), XS_SET_TARGET);
	expect_body(XREQ(w->g2, XS_READ, 0, "/local/domain/1/name"), "guest1", 6);
	expect_err(XREQ(w->dom0, XS_SET_TARGET, 0, "2\0009"), "ENOENT");
	/* Release through the wire goes to the toolstack hook. */
	expect_ok(XREQ(w->dom0, XS_RELEASE, 0, "2"), XS_RELEASE);
	assert_int_equal(w->releases, 1);
	expect_body(XREQ(w->dom0, XS_IS_DOMAIN_INTRODUCED, 0, "2"), "F", 2);
	expect_err(XREQ(w->dom0, XS_READ, 0, "/local/domain/2"), "ENOENT");
}

static void test_wire_watch_basics(void **state)
{
	struct wire *w = *state;
	struct cap_msg *m;

	/* OK first, then the initial event. */
	m = XREQ(w->dom0, XS_WATCH, 0, "/w\0tok");
	expect_ok(m, XS_WATCH);
	assert_int_equal(w->dom0->n, 2);
	assert_int_equal(w->dom0->m[0].hdr.type, XS_WATCH);
	assert_int_equal(w->dom0->m[1].hdr.type, XS_WATCH_EVENT);
	assert_int_equal(count_events(w->dom0, "/w", "tok"), 1);
	expect_err(XREQ(w->dom0, XS_WATCH, 0, "/w\0tok"), "EEXIST");
	/* Same path, another token: a second watch. */
	expect_ok(XREQ(w->dom0, XS_WATCH, 0, "/w\0tok2"), XS_WATCH);
	/* A change below fires both, with the changed path. */
	XWRITE(w->dom0, 0, "/w/a/b\0x");
	assert_int_equal(count_events(w->dom0, "/w/a/b", "tok"), 1);
	assert_int_equal(count_events(w->dom0, "/w/a/b", "tok2"), 1);
	assert_int_equal(count_all_events(w->dom0), 2);
	/* Siblings with a common prefix do not match. */
	XWRITE(w->dom0, 0, "/wx\0x");
	assert_int_equal(count_all_events(w->dom0), 0);
	expect_ok(XREQ(w->dom0, XS_UNWATCH, 0, "/w\0tok2"), XS_UNWATCH);
	expect_err(XREQ(w->dom0, XS_UNWATCH, 0, "/w\0tok2"), "ENOENT");
	XWRITE(w->dom0, 0, "/w\0y");
	assert_int_equal(count_events(w->dom0, "/w", "tok"), 1);
	assert_int_equal(count_all_events(w->dom0), 1);
	/* Removing a subtree fires watches on its nodes and above it. */
	expect_ok(XREQ(w->dom0, XS_WATCH, 0, "/w/a/b\0deep"), XS_WATCH);
	XREQ(w->dom0, XS_RM, 0, "/w/a");
	assert_int_equal(count_events(w->dom0, "/w/a/b", "deep"), 1);
	assert_int_equal(count_events(w->dom0, "/w/a", "tok"), 1);
	/* Inner nodes of the subtree only fire watches on exactly them. */
	assert_int_equal(count_events(w->dom0, "/w/a/b", "tok"), 0);
	/* Other clients see events too; reset drops all watches. */
	expect_ok(XREQ(w->dom0, XS_RESET_WATCHES, 0, ""), XS_RESET_WATCHES);
	w->dom0->n = 0;
	XWRITE(w->g1, 0, "/w\0z"); /* EACCES, fires nothing */
	XWRITE(w->dom0, 0, "/w\0z");
	assert_int_equal(count_all_events(w->dom0), 0);
}

static void test_wire_watch_relative_and_perms(void **state)
{
	struct wire *w = *state;

	expect_ok(XREQ(w->g1, XS_WATCH, 0, "data\0rel"), XS_WATCH);
	assert_int_equal(count_events(w->g1, "data", "rel"), 1);
	expect_ok(XREQ(w->g1, XS_WATCH, 0, "/local/domain/1/data\0abs"), XS_WATCH);
	assert_int_equal(count_events(w->g1, "/local/domain/1/data", "abs"), 1);
	/* The same node watched both ways: each reports in its own form. */
	XWRITE(w->g1, 0, "data/k\0v");
	assert_int_equal(count_events(w->g1, "data/k", "rel"), 1);
	assert_int_equal(count_events(w->g1, "/local/domain/1/data/k", "abs"), 1);
	assert_int_equal(count_all_events(w->g1), 2);
	/* Changes by someone else reach the watcher's connection too (the
	 * capture of g1 keeps growing until g1's next request). */
	w->g1->n = 0;
	XWRITE(w->dom0, 0, "/local/domain/1/data/d0\0v");
	assert_int_equal(count_events(w->g1, "data/d0", "rel"), 1);
	assert_int_equal(count_events(w->g1, "/local/domain/1/data/d0", "abs"), 1);
	assert_int_equal(count_all_events(w->dom0), 0);
	/* A guest's own writes fire its watches, also inside its home. */
	w->g1->n = 0;
	XREQ(w->g1b, XS_RM, 0, "data/k");
	assert_int_equal(count_events(w->g1, "data/k", "rel"), 1);
}

/* Events to another client land in its capture: check there. */
static void test_wire_watch_other_client(void **state)
{
	struct wire *w = *state;

	expect_ok(XREQ(w->g2, XS_WATCH, 0, "/local/domain/1\0spy"), XS_WATCH);
	w->g2->n = 0;
	XWRITE(w->dom0, 0, "/local/domain/1/data/secret\0v");
	assert_int_equal(count_all_events(w->g2), 0);
	XREQ(w->dom0, XS_SET_PERMS, 0, "/local/domain/1/data\0n1\0r2");
	assert_int_equal(count_events(w->g2, "/local/domain/1/data", "spy"), 1);
	w->g2->n = 0;
	XWRITE(w->dom0, 0, "/local/domain/1/data/secret\0w");
	assert_int_equal(count_events(w->g2, "/local/domain/1/data/secret", "spy"), 1);
	/* set_perms taking read access away still tells who could see. */
	w->g2->n = 0;
	XREQ(w->dom0, XS_SET_PERMS, 0, "/local/domain/1/data\0n1");
	assert_int_equal(count_events(w->g2, "/local/domain/1/data", "spy"), 1);
	w->g2->n = 0;
	XWRITE(w->dom0, 0, "/local/domain/1/data/secret\0x");
	assert_int_equal(count_all_events(w->g2), 0);
}

static void test_wire_watch_special(void **state)
{
	struct wire *w = *state;

	expect_ok(XREQ(w->g1, XS_WATCH, 0, "@introduceDomain\0in"), XS_WATCH);
	assert_int_equal(count_events(w->g1, "@introduceDomain", "in"), 1);
	expect_ok(XREQ(w->g1, XS_WATCH, 0, "@releaseDomain\0out"), XS_WATCH);
	expect_ok(XREQ(w->g1, XS_WATCH, 0, "/\0root"), XS_WATCH);
	w->g1->n = 0;
	assert_int_equal(xs_proto_domain_introduce(w->p, 5, "five"), 0);
	assert_int_equal(count_events(w->g1, "@introduceDomain", "in"), 1);
	assert_int_equal(count_events(w->g1, "@releaseDomain", "out"), 0);
	assert_int_equal(count_events(w->g1, "@introduceDomain", "root"), 0);
	assert_int_equal(xs_proto_domain_introduce(w->p, 5, "five"), -EEXIST);
	w->g1->n = 0;
	assert_int_equal(xs_proto_domain_release(w->p, 5), 0);
	assert_int_equal(count_events(w->g1, "@releaseDomain", "out"), 1);
	assert_int_equal(count_events(w->g1, "@introduceDomain", "in"), 0);
	assert_int_equal(xs_proto_domain_release(w->p, 5), -ENOENT);
	expect_ok(XREQ(w->g1, XS_UNWATCH, 0, "@releaseDomain\0out"), XS_UNWATCH);
	expect_body(XREQ(w->dom0, XS_GET_PERMS, 0, "@releaseDomain"), "n0", 3);
}

static void test_wire_watch_quota(void **state)
{
	struct wire *w = *state;
	char buf[64];
	int len;

	/* 128 watches per domain, over all its connections. */
	for (int i = 0; i < XS_QUOTA_WATCHES; i++) {
		len = snprintf(buf, sizeof(buf), "data%c%d", '\0', i);
		expect_ok(xreq(i % 2 ? w->g1 : w->g1b, XS_WATCH, 0, buf,
			       (unsigned)len + 1), XS_WATCH);
	}
	expect_err(XREQ(w->g1, XS_WATCH, 0, "data\0one-more"), "E2BIG");
	expect_err(XREQ(w->g1b, XS_WATCH, 0, "data\0one-more"), "E2BIG");
	/* Other domains are not affected; neither is dom0. */
	expect_ok(XREQ(w->g2, XS_WATCH, 0, "data\0fine"), XS_WATCH);
	for (int i = 0; i < 200; i++) {
		len = snprintf(buf, sizeof(buf), "/x%c%d", '\0', i);
		expect_ok(xreq(w->dom0, XS_WATCH, 0, buf, (unsigned)len + 1), XS_WATCH);
	}
	/* Closing one connection gives its watches back. */
	xs_client_fini(&w->g1b->c);
	xs_client_init(&w->g1b->c, w->p, 1, cap_send, w->g1b);
	expect_ok(XREQ(w->g1, XS_WATCH, 0, "data\0one-more"), XS_WATCH);
}

static void test_wire_transactions(void **state)
{
	struct wire *w = *state;
	uint32_t t1, t2;

	XWRITE(w->dom0, 0, "/tx/n\0base");
	expect_ok(XREQ(w->dom0, XS_WATCH, 0, "/tx\0wt"), XS_WATCH);
	t1 = tx_start(w->dom0);
	assert_int_not_equal(t1, 0);
	/* The transaction sees its writes; the world does not, and no watch
	 * fires before the commit. */
	expect_ok(XWRITE(w->dom0, t1, "/tx/n\0mine"), XS_WRITE);
	assert_int_equal(count_all_events(w->dom0), 0);
	expect_body(XREQ(w->dom0, XS_READ, t1, "/tx/n"), "mine", 4);
	expect_body(XREQ(w->dom0, XS_READ, 0, "/tx/n"), "base", 4);
	expect_ok(XWRITE(w->dom0, t1, "/tx/new/deep\0d"), XS_WRITE);
	expect_ok(XREQ(w->dom0, XS_RM, t1, "/tx/gone"), XS_RM);
	expect_err(XREQ(w->dom0, XS_READ, 0, "/tx/new/deep"), "ENOENT");
	expect_body(XREQ(w->dom0, XS_DIRECTORY, t1, "/tx"), "n\0new", 6);
	/* Nested start is refused; another client cannot use the id. */
	expect_err(XREQ(w->dom0, XS_TRANSACTION_START, t1, ""), "EBUSY");
	expect_err(XREQ(w->g1, XS_READ, t1, "name"), "ENOENT");
	/* Watches are not transactional: a tx_id on them is ignored. */
	expect_ok(XREQ(w->dom0, XS_WATCH, t1, "/other\0o"), XS_WATCH);
	expect_ok(XREQ(w->dom0, XS_TRANSACTION_END, t1, "T"), XS_TRANSACTION_END);
	assert_int_equal(count_events(w->dom0, "/tx/n", "wt"), 1);
	assert_int_equal(count_events(w->dom0, "/tx/new/deep", "wt"), 1);
	expect_body(XREQ(w->dom0, XS_READ, 0, "/tx/n"), "mine", 4);
	expect_body(XREQ(w->dom0, XS_READ, 0, "/tx/new/deep"), "d", 1);
	expect_err(XREQ(w->dom0, XS_READ, t1, "/tx/n"), "ENOENT"); /* ended */

	/* Abort drops everything. */
	t2 = tx_start(w->dom0);
	assert_int_not_equal(t2, t1);
	XWRITE(w->dom0, t2, "/tx/n\0aborted");
	expect_ok(XREQ(w->dom0, XS_TRANSACTION_END, t2, "F"), XS_TRANSACTION_END);
	assert_int_equal(count_all_events(w->dom0), 0);
	expect_body(XREQ(w->dom0, XS_READ, 0, "/tx/n"), "mine", 4);
}

static void test_wire_transaction_conflict(void **state)
{
	struct wire *w = *state;
	uint32_t a, b;
	struct cap_msg *m;

	XWRITE(w->dom0, 0, "/local/domain/1/data/ctr\0" "0");
	/* Two clients of the same guest race on one node. */
	a = tx_start(w->g1);
	b = tx_start(w->g1b);
	assert_int_not_equal(a, b);
	expect_body(XREQ(w->g1, XS_READ, a, "data/ctr"), "0", 1);
	expect_body(XREQ(w->g1b, XS_READ, b, "data/ctr"), "0", 1);
	expect_ok(XWRITE(w->g1, a, "data/ctr\0" "1"), XS_WRITE);
	expect_ok(XWRITE(w->g1b, b, "data/ctr\0" "1"), XS_WRITE);
	expect_ok(XREQ(w->g1, XS_TRANSACTION_END, a, "T"), XS_TRANSACTION_END);
	expect_err(XREQ(w->g1b, XS_TRANSACTION_END, b, "T"), "EAGAIN");
	/* Retry: succeeds and sees the winner's value. */
	b = tx_start(w->g1b);
	m = XREQ(w->g1b, XS_READ, b, "data/ctr");
	expect_body(m, "1", 1);
	expect_ok(XWRITE(w->g1b, b, "data/ctr\0" "2"), XS_WRITE);
	expect_ok(XREQ(w->g1b, XS_TRANSACTION_END, b, "T"), XS_TRANSACTION_END);
	expect_body(XREQ(w->dom0, XS_READ, 0, "/local/domain/1/data/ctr"), "2", 1);

	/* A node the transaction found missing, created meanwhile: conflict. */
	a = tx_start(w->g1);
	expect_err(XREQ(w->g1, XS_READ, a, "data/late"), "ENOENT");
	XWRITE(w->g1b, 0, "data/late\0x");
	XWRITE(w->g1, a, "data/other\0y");
	expect_err(XREQ(w->g1, XS_TRANSACTION_END, a, "T"), "EAGAIN");
	expect_err(XREQ(w->g1, XS_READ, 0, "data/other"), "ENOENT");

	/* Changes to nodes the transaction never looked at do not matter. */
	a = tx_start(w->g1);
	XWRITE(w->g1, a, "data/mine\0m");
	XWRITE(w->g1b, 0, "data/ctr\0u");
	XWRITE(w->dom0, 0, "/elsewhere\0e");
	expect_ok(XREQ(w->g1, XS_TRANSACTION_END, a, "T"), XS_TRANSACTION_END);
	expect_body(XREQ(w->g1, XS_READ, 0, "data/mine"), "m", 1);

	/* ...but a new sibling changes the parent's children list, which a
	 * transaction creating a node there depends on. */
	a = tx_start(w->g1);
	XWRITE(w->g1, a, "data/x1\0m");
	XWRITE(w->g1b, 0, "data/x2\0u");
	expect_err(XREQ(w->g1, XS_TRANSACTION_END, a, "T"), "EAGAIN");
}

static void test_wire_transaction_quota(void **state)
{
	struct wire *w = *state;
	uint32_t ids[XS_QUOTA_TRANSACTIONS];

	for (int i = 0; i < XS_QUOTA_TRANSACTIONS; i++) {
		ids[i] = tx_start(i % 2 ? w->g1 : w->g1b);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(ids[i], ids[j]);
	}
	expect_err(XREQ(w->g1, XS_TRANSACTION_START, 0, ""), "ENOSPC");
	expect_err(XREQ(w->g1b, XS_TRANSACTION_START, 0, ""), "ENOSPC");
	/* Others still can. */
	tx_start(w->g2);
	for (int i = 0; i < 20; i++)
		tx_start(w->dom0);
	/* Ending one makes room. */
	expect_ok(xreq(w->g1b, XS_TRANSACTION_END, ids[0], "F", 2), XS_TRANSACTION_END);
	tx_start(w->g1);
	/* Reset drops the connection's transactions. */
	expect_ok(XREQ(w->g1, XS_RESET_WATCHES, 0, ""), XS_RESET_WATCHES);
	expect_err(xreq(w->g1, XS_READ, ids[1], "name", 5), "ENOENT");
	tx_start(w->g1);
}

static void test_wire_quota_value(void **state)
{
	struct wire *w = *state;
	char buf[XENSTORE_PAYLOAD_MAX];
	const char path[] = "data/big";

	memcpy(buf, path, sizeof(path));
	memset(buf + sizeof(path), 'v', sizeof(buf) - sizeof(path));
	expect_err(xreq(w->g1, XS_WRITE, 0, buf, sizeof(path) + 2049), "ENOSPC");
	expect_err(XREQ(w->g1, XS_READ, 0, "data/big"), "ENOENT");
	expect_ok(xreq(w->g1, XS_WRITE, 0, buf, sizeof(path) + 1024), XS_WRITE);
	expect_ok(xreq(w->dom0, XS_WRITE, 0, "/big\0", 5), XS_WRITE);
	memcpy(buf, "/big", 5);
	expect_ok(xreq(w->dom0, XS_WRITE, 0, buf, sizeof(buf)), XS_WRITE);
	/* More than five permission entries. */
	expect_err(XREQ(w->g1, XS_SET_PERMS, 0, "data\0n1\0r2\0r3\0r4\0r5\0r6"), "ENOSPC");
	expect_ok(XREQ(w->g1, XS_SET_PERMS, 0, "data\0n1\0r2\0r3\0r4\0r5"), XS_SET_PERMS);
}

static void test_wire_directory_part(void **state)
{
	struct wire *w = *state;
	char path[64], names[16384], got[16384];
	size_t nlen = 0, glen = 0;
	struct cap_msg *m;
	unsigned off = 0, rounds = 0;
	char gen[32] = "";

	/* Enough children to overflow one payload. */
	for (int i = 0; i < 600; i++) {
		int l = snprintf(path, sizeof(path), "/dp/child-number-%03d%c", i, '\0');

		xreq(w->dom0, XS_MKDIR, 0, path, (unsigned)l);
		nlen += (size_t)sprintf(names + nlen, "child-number-%03d", i) + 1;
	}
	expect_err(XREQ(w->dom0, XS_DIRECTORY, 0, "/dp"), "E2BIG");
	for (;;) {
		char arg[64];
		int l = snprintf(arg, sizeof(arg), "/dp%c%u", '\0', off);

		m = xreq(w->dom0, XS_DIRECTORY_PART, 0, arg, (unsigned)l + 1);
		expect_ok(m, XS_DIRECTORY_PART);
		if (!rounds) {
			assert_true(strlen(m->body) < sizeof(gen));
			strcpy(gen, m->body);
		}
		assert_string_equal(m->body, gen);
		size_t g = strlen(m->body) + 1, part = m->hdr.len - g;

		memcpy(got + glen, m->body + g, part);
		glen += part;
		off += (unsigned)part;
		rounds++;
		assert_true(rounds < 10);
		/* The last chunk ends with an empty string. */
		if (part >= 2 && m->body[m->hdr.len - 2] == '\0')
			break;
	}
	assert_true(rounds >= 3);
	assert_int_equal(glen, nlen + 1);
	assert_memory_equal(got, names, nlen);
	/* Past the end: just the generation and an empty string. */
	m = xreq(w->dom0, XS_DIRECTORY_PART, 0, "/dp\0" "99999", 10);
	assert_int_equal(m->hdr.len, strlen(gen) + 2);
	/* No children at all. */
	XREQ(w->dom0, XS_MKDIR, 0, "/empty");
	m = XREQ(w->dom0, XS_DIRECTORY_PART, 0, "/empty\0" "0");
	assert_int_equal(m->hdr.len, strlen(m->body) + 2);
}

static void test_wire_feed_framing(void **state)
{
	struct wire *w = *state;
	char stream[256];
	struct xsd_sockmsg h = { .type = XS_READ, .req_id = 7, .len = 5 };
	size_t len = 0;
	ssize_t n;

	memcpy(stream, &h, sizeof(h));
	memcpy(stream + sizeof(h), "name", 5);
	len = sizeof(h) + 5;
	h.req_id = 8; /* a second request right behind */
	memcpy(stream + len, &h, sizeof(h));
	memcpy(stream + len + sizeof(h), "name", 5);
	len *= 2;
	/* Byte by byte: one reply per complete request. */
	w->g1->n = 0;
	for (size_t i = 0; i < len; i++) {
		n = xs_client_feed(&w->g1->c, stream + i, 1);
		assert_int_equal(n, 1);
	}
	assert_int_equal(w->g1->n, 2);
	assert_int_equal(w->g1->m[0].hdr.req_id, 7);
	assert_int_equal(w->g1->m[1].hdr.req_id, 8);
	expect_body(&w->g1->m[1], "guest1", 6);
	/* All at once: the feed stops after each request. */
	w->g1->n = 0;
	n = xs_client_feed(&w->g1->c, stream, len);
	assert_int_equal(n, (ssize_t)len / 2);
	n = xs_client_feed(&w->g1->c, stream + n, len - (size_t)n);
	assert_int_equal(n, (ssize_t)len / 2);
	assert_int_equal(w->g1->n, 2);
	/* An over-long announcement is a protocol error. */
	h.len = XENSTORE_PAYLOAD_MAX + 1;
	n = xs_client_feed(&w->g1->c, &h, sizeof(h));
	assert_int_equal(n, -EPROTO);
	/* A zero-length request is complete with its header. */
	h = (struct xsd_sockmsg){ .type = XS_TRANSACTION_START, .req_id = 9 };
	xs_client_fini(&w->g2->c); /* fresh framing state */
	xs_client_init(&w->g2->c, w->p, 2, cap_send, w->g2);
	w->g2->n = 0;
	n = xs_client_feed(&w->g2->c, &h, sizeof(h));
	assert_int_equal(n, (ssize_t)sizeof(h));
	assert_int_equal(w->g2->n, 1);
	assert_int_equal(w->g2->m[0].hdr.type, XS_TRANSACTION_START);
}

static void test_txn_unit(void **state)
{
	struct fixture *f = *state;
	struct xs_txn *t;

	assert_int_equal(wr(f->s, 0, "/a", "1"), 0);
	t = xs_txn_new(f->s);
	assert_non_null(t);
	read_expect(xs_txn_store(t), 0, "/a", "1");
	assert_int_equal(xs_txn_accessed_count(t), 1);
	assert_int_equal(wr(xs_txn_store(t), 0, "/b/c", "2"), 0);
	assert_int_equal(xs_txn_log_write(t, 0, "/b/c", "2", 1), 0);
	/* /b/c, /b, / were looked at too. */
	assert_int_equal(xs_txn_accessed_count(t), 4);
	assert_int_equal(xs_txn_commit(t, f->s), 0);
	read_expect(f->s, 0, "/b/c", "2");
	xs_txn_free(t);

	t = xs_txn_new(f->s);
	read_expect(xs_txn_store(t), 0, "/a", "1");
	assert_int_equal(wr(f->s, 0, "/a", "changed"), 0);
	assert_int_equal(xs_txn_commit(t, f->s), -EAGAIN);
	xs_txn_free(t);

	/* Deleting and re-creating a node is a change too. */
	t = xs_txn_new(f->s);
	read_expect(xs_txn_store(t), 0, "/b/c", "2");
	assert_int_equal(xs_store_rm(f->s, 0, 0, "/b/c"), 0);
	assert_int_equal(wr(f->s, 0, "/b/c", "2"), 0);
	assert_int_equal(xs_txn_commit(t, f->s), -EAGAIN);
	xs_txn_free(t);

	/* rm in a transaction looks at the whole subtree. */
	t = xs_txn_new(f->s);
	assert_int_equal(xs_store_rm(xs_txn_store(t), 0, 0, "/b"), 0);
	assert_int_equal(xs_txn_log_rm(t, 0, "/b"), 0);
	assert_int_equal(wr(f->s, 0, "/b/c", "3"), 0);
	assert_int_equal(xs_txn_commit(t, f->s), -EAGAIN);
	read_expect(f->s, 0, "/b/c", "3");
	xs_txn_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_canonical),
		cmocka_unit_test(test_path_lengths),
		cmocka_unit_test(test_path_below),
		cmocka_unit_test(test_perm_parse_format),
		cmocka_unit_test(test_perm_for),
		cmocka_unit_test(test_domains),
		cmocka_unit_test_setup_teardown(test_write_read_mkdir_p, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_rm, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_inherit_and_ownership, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_permission_denials, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_quota_entry_size_absent, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_quota_nodes, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_quota_perms, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_generations, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_forget_domain, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_clone_independent, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_txn_unit, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_wire_basic_ops, wire_setup, wire_teardown),
		cmocka_unit_test_setup_teardown(test_wire_domain_layout, wire_setup, wire_teardown),
		cmocka_unit_test_setup_teardown(test_wire_malformed, wire_setup, wire_teardown),
		cmocka_unit_test_setup_teardown(test_wire_privileged_ops, wire_setup, wire_teardown),
		cmocka_unit_test_setup_teardown(test_wire_watch_basics, wire_setup, wire_teardown),
		cmocka_unit_test_setup_teardown(test_wire_watch_relative_and_perms, wire_setup, wire_teardown),
		cmocka_unit_test_setup_teardown(test_wire_watch_other_client, wire_setup, wire_teardown),
		cmocka_unit_test_setup_teardown(test_wire_watch_special, wire_setup, wire_teardown),
		cmocka_unit_test_setup_teardown(test_wire_watch_quota, wire_setup, wire_teardown),
		cmocka_unit_test_setup_teardown(test_wire_transactions, wire_setup, wire_teardown),
		cmocka_unit_test_setup_teardown(test_wire_transaction_conflict, wire_setup, wire_teardown),
		cmocka_unit_test_setup_teardown(test_wire_transaction_quota, wire_setup, wire_teardown),
		cmocka_unit_test_setup_teardown(test_wire_quota_value, wire_setup, wire_teardown),
		cmocka_unit_test_setup_teardown(test_wire_directory_part, wire_setup, wire_teardown),
		cmocka_unit_test_setup_teardown(test_wire_feed_framing, wire_setup, wire_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
