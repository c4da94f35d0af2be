/* xs_wire requests: argument parsing, dispatch, replies and watch events. */
#include "xs_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_txn.h"
#include "xs_watch.h"

/* A canonical path: "/local/domain/65535/" + a payload-sized argument. */
#define XS_PATH_ARG_BUF (XENSTORE_PAYLOAD_MAX + 32)

struct xs_client_txn {
	struct xs_client_txn *next;
	uint32_t id;
	struct xs_txn *t;
};

struct xs_proto {
	struct xs_domains *doms;
	struct xs_store *store;
	struct xs_watches watches;
	struct xs_client *clients;
	uint32_t last_txid;
	struct xs_proto_ops ops;
};

/* One request being handled. */
struct xs_req {
	struct xs_client *c;
	const struct xsd_sockmsg *hdr;
	const char *body;
	unsigned len;
	struct xs_client_txn *txn; /* the transaction named by tx_id */
};

const char *xs_proto_errname(int err)
{
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == err)
			return xsd_errors[i].errstring;
	return "EINVAL";
}

/* ---- sending ---- */

static void send_msg(struct xs_client *c, uint32_t type, uint32_t req_id,
		     uint32_t tx_id, const void *body, unsigned len)
{
	struct xsd_sockmsg hdr = {
		.type = type, .req_id = req_id, .tx_id = tx_id, .len = len,
	};

	c->send(c, &hdr, body);
}

static void reply(struct xs_req *r, const void *body, unsigned len)
{
	if (len > XENSTORE_PAYLOAD_MAX) {
		const char *e = xs_proto_errname(E2BIG);

		send_msg(r->c, XS_ERROR, r->hdr->req_id, r->hdr->tx_id, e,
			 (unsigned)strlen(e) + 1);
		return;
	}
	send_msg(r->c, r->hdr->type, r->hdr->req_id, r->hdr->tx_id, body, len);
}

static void reply_ok(struct xs_req *r)
{
	reply(r, "OK", 3);
}

static void reply_error(struct xs_req *r, int err)
{
	const char *e = xs_proto_errname(err);

	send_msg(r->c, XS_ERROR, r->hdr->req_id, r->hdr->tx_id, e,
		 (unsigned)strlen(e) + 1);
}

static void send_event(struct xs_client *c, const char *path,
		       const char *token)
{
	size_t plen = strlen(path) + 1, tlen = strlen(token) + 1;
	char buf[XENSTORE_PAYLOAD_MAX];

	if (plen + tlen > sizeof(buf))
		return; /* C xenstored drops over-long events too */
	memcpy(buf, path, plen);
	memcpy(buf + plen, token, tlen);
	send_msg(c, XS_WATCH_EVENT, 0, 0, buf, (unsigned)(plen + tlen));
}

/* ---- watches fired by the main store ---- */

struct fire_ctx {
	struct xs_proto *p;
	const struct xs_perm *old;
	unsigned nold;
};

static bool fire_permitted(void *arg, const struct xs_watch *w,
			   const char *path)
{
	struct fire_ctx *f = arg;

	return xs_store_watch_permitted(f->p->store, w->domid, path, f->old,
					f->nold);
}

static void fire_deliver(void *arg, const struct xs_watch *w, const char *path)
{
	(void)arg;
	send_event(w->owner, path, w->token);
}

static void store_changed(void *arg, struct xs_store *s, const char *path,
			  bool exact, const struct xs_perm *old, unsigned nold)
{
	struct fire_ctx f = { .p = arg, .old = old, .nold = nold };

	(void)s;
	xs_watches_fire(&f.p->watches, path, exact, fire_permitted,
			fire_deliver, &f);
}

static void fire_special(struct xs_proto *p, const char *name)
{
	struct fire_ctx f = { .p = p };

	xs_watches_fire(&p->watches, name, true, NULL, fire_deliver, &f);
}

/* ---- life cycle ---- */

struct xs_proto *xs_proto_new(void)
{
	struct xs_proto *p = calloc(1, sizeof(*p));
	struct xs_store_hooks hooks = { .changed = store_changed };

	if (!p)
		return NULL;
	p->doms = xs_domains_new();
	p->store = p->doms ? xs_store_new(p->doms) : NULL;
	if (!p->store) {
		xs_domains_free(p->doms);
		free(p);
		return NULL;
	}
	hooks.arg = p;
	xs_store_set_hooks(p->store, &hooks);
	xs_watches_init(&p->watches);
	return p;
}

void xs_proto_free(struct xs_proto *p)
{
	if (!p)
		return;
	while (p->clients)
		xs_client_fini(p->clients);
	xs_watches_fini(&p->watches);
	xs_store_free(p->store);
	xs_domains_free(p->doms);
	free(p);
}

void xs_proto_set_ops(struct xs_proto *p, const struct xs_proto_ops *ops)
{
	p->ops = *ops;
}

struct xs_store *xs_proto_store(struct xs_proto *p)
{
	return p->store;
}

void xs_client_init(struct xs_client *c, struct xs_proto *p, unsigned domid,
		    xs_send_fn send, void *opaque)
{
	memset(c, 0, sizeof(*c));
	c->proto = p;
	c->domid = domid;
	c->send = send;
	c->opaque = opaque;
	c->next = p->clients;
	if (p->clients)
		p->clients->prev = c;
	p->clients = c;
}

static void client_drop_txns(struct xs_client *c)
{
	struct xs_client_txn *t, *next;

	for (t = c->txns; t; t = next) {
		next = t->next;
		xs_txn_free(t->t);
		free(t);
	}
	c->txns = NULL;
}

void xs_client_fini(struct xs_client *c)
{
	struct xs_proto *p = c->proto;

	if (!p)
		return;
	xs_watches_remove_owner(&p->watches, c);
	client_drop_txns(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		p->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->proto = NULL;
}

/* ---- framing ---- */

ssize_t xs_client_feed(struct xs_client *c, const void *data, size_t len)
{
	const size_t hlen = sizeof(struct xsd_sockmsg);
	const char *d = data;
	size_t used = 0, n;

	while (used < len) {
		if (c->got < hlen) {
			n = hlen - c->got;
			if (n > len - used)
				n = len - used;
			memcpy((char *)&c->hdr + c->got, d + used, n);
			c->got += n;
			used += n;
			if (c->got < hlen)
				break;
			if (c->hdr.len > XENSTORE_PAYLOAD_MAX)
				return -EPROTO;
		}
		n = hlen + c->hdr.len - c->got;
		if (n > len - used)
			n = len - used;
		memcpy(c->body + (c->got - hlen), d + used, n);
		c->got += n;
		used += n;
		if (c->got == hlen + c->hdr.len) {
			struct xsd_sockmsg hdr = c->hdr;

			c->got = 0;
			c->body[hdr.len] = '\0';
			xs_proto_request(c, &hdr, c->body);
			break;
		}
	}
	return (ssize_t)used;
}

/* ---- argument helpers (C xenstored's rules) ---- */

static unsigned count_strings(const char *b, unsigned len)
{
	unsigned n = 0;

	for (unsigned i = 0; i < len; i++)
		n += b[i] == '\0';
	return n;
}

/* Exactly one string, NUL-terminated, filling the payload. */
static const char *onearg(const struct xs_req *r)
{
	if (!r->len || memchr(r->body, 0, r->len) != r->body + r->len - 1)
		return NULL;
	return r->body;
}

/* Fills vec with up to n strings; returns how many NUL-terminated
 * strings the payload holds in total. */
static unsigned get_strings(const struct xs_req *r, const char **vec,
			    unsigned n)
{
	unsigned i = 0, off = 0;

	while (off < r->len) {
		const char *nul = memchr(r->body + off, 0, r->len - off);

		if (!nul)
			break;
		if (i < n)
			vec[i] = r->body + off;
		i++;
		off = (unsigned)(nul - r->body) + 1;
	}
	return i;
}

static int parse_domid(const char *s, unsigned *domid)
{
	unsigned long v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 0xffff)
			return -EINVAL;
	}
	*domid = (unsigned)v;
	return 0;
}

static int canon(const struct xs_req *r, const char *in, bool special,
		 char *out, bool *relative)
{
	if (!in)
		return -EINVAL;
	return xs_path_canonical(r->c->domid, in, special, out, XS_PATH_ARG_BUF,
				 relative);
}

static struct xs_store *req_store(const struct xs_req *r)
{
	return r->txn ? xs_txn_store(r->txn->t) : r->c->proto->store;
}

static bool unprivileged(const struct xs_req *r)
{
	return r->c->domid != 0;
}

/* ---- node operations ---- */

static int do_read(struct xs_req *r)
{
	char path[XS_PATH_ARG_BUF];
	const char *val;
	unsigned len;
	int err = canon(r, onearg(r), false, path, NULL);

	if (!err)
		err = xs_store_read(req_store(r), r->c->domid, path, &val, &len);
	if (!err)
		reply(r, val, len);
	return err;
}

static int do_write(struct xs_req *r)
{
	char path[XS_PATH_ARG_BUF];
	const char *vec[1];
	unsigned off;
	int err;

	/* Path, then any bytes (NULs included) as the value. */
	if (get_strings(r, vec, 1) < 1)
		return -EINVAL;
	err = canon(r, vec[0], false, path, NULL);
	if (err)
		return err;
	off = (unsigned)strlen(vec[0]) + 1;
	err = xs_store_write(req_store(r), r->c->domid, 0, path,
			     r->body + off, r->len - off);
	if (!err && r->txn)
		err = xs_txn_log_write(r->txn->t, r->c->domid, path,
				       r->body + off, r->len - off);
	if (!err)
		reply_ok(r);
	return err;
}

static int do_mkdir(struct xs_req *r)
{
	char path[XS_PATH_ARG_BUF];
	int err = canon(r, onearg(r), false, path, NULL);

	if (!err)
		err = xs_store_mkdir(req_store(r), r->c->domid, 0, path);
	if (!err && r->txn)
		err = xs_txn_log_mkdir(r->txn->t, r->c->domid, path);
	if (!err)
		reply_ok(r);
	return err;
}

static int do_rm(struct xs_req *r)
{
	char path[XS_PATH_ARG_BUF];
	int err = canon(r, onearg(r), false, path, NULL);

	if (!err)
		err = xs_store_rm(req_store(r), r->c->domid, 0, path);
	if (!err && r->txn)
		err = xs_txn_log_rm(r->txn->t, r->c->domid, path);
	if (!err)
		reply_ok(r);
	return err;
}

static int do_directory(struct xs_req *r)
{
	char path[XS_PATH_ARG_BUF];
	char *names = NULL;
	size_t len = 0;
	uint64_t gen;
	int err = canon(r, onearg(r), false, path, NULL);

	if (!err)
		err = xs_store_directory(req_store(r), r->c->domid, path,
					 &names, &len, &gen);
	if (!err)
		reply(r, names, (unsigned)len); /* E2BIG beyond the payload */
	free(names);
	return err;
}

/* Arguments: path, byte offset into the children list. The reply is the
 * node's generation, then the children that fit; the chunk reaching the
 * end of the list carries an extra empty string. libxenstore restarts when
 * the generation changes between chunks. */
static int do_directory_part(struct xs_req *r)
{
	char path[XS_PATH_ARG_BUF], gen_str[24];
	char buf[XENSTORE_PAYLOAD_MAX];
	const char *vec[2];
	char *names = NULL;
	size_t len = 0, genlen, chunk = 0;
	unsigned long off;
	uint64_t gen;
	int err;

	if (get_strings(r, vec, 2) != 2)
		return -EINVAL;
	err = canon(r, vec[0], false, path, NULL);
	if (!err)
		err = xs_store_directory(req_store(r), r->c->domid, path,
					 &names, &len, &gen);
	if (err)
		return err;
	off = strtoul(vec[1], NULL, 10);
	genlen = (size_t)snprintf(gen_str, sizeof(gen_str), "%llu",
				  (unsigned long long)gen) + 1;
	memcpy(buf, gen_str, genlen);
	if (off >= len) {
		buf[genlen] = '\0';
		reply(r, buf, (unsigned)genlen + 1);
		free(names);
		return 0;
	}
	/* Whole names only, leaving room for the final empty string. */
	while (off + chunk < len) {
		size_t l = strlen(names + off + chunk) + 1;

		if (genlen + chunk + l + 1 > sizeof(buf))
			break;
		chunk += l;
	}
	memcpy(buf + genlen, names + off, chunk);
	if (off + chunk == len)
		buf[genlen + chunk++] = '\0';
	free(names);
	if (!chunk)
		return -E2BIG; /* a single name never exceeds a payload */
	reply(r, buf, (unsigned)(genlen + chunk));
	return 0;
}

static int do_get_perms(struct xs_req *r)
{
	char path[XS_PATH_ARG_BUF], buf[XENSTORE_PAYLOAD_MAX + 16];
	const struct xs_perm *perms;
	unsigned n, len = 0;
	int err = canon(r, onearg(r), true, path, NULL);

	if (!err)
		err = xs_store_get_perms(req_store(r), r->c->domid, path,
					 &perms, &n);
	if (err)
		return err;
	for (unsigned i = 0; i < n; i++) {
		if (len + 12 > sizeof(buf))
			return -E2BIG;
		xs_perm_format(&perms[i], buf + len, 12);
		len += (unsigned)strlen(buf + len) + 1;
	}
	reply(r, buf, len);
	return 0;
}

static int do_set_perms(struct xs_req *r)
{
	char path[XS_PATH_ARG_BUF];
	unsigned nstr = count_strings(r->body, r->len), n;
	struct xs_perm *perms;
	const char *s;
	int err;

	if (nstr < 2)
		return -EINVAL;
	n = nstr - 1;
	if (unprivileged(r) && n > XS_QUOTA_PERMS)
		return -ENOSPC;
	perms = calloc(n, sizeof(*perms));
	if (!perms)
		return -ENOMEM;
	s = r->body + strlen(r->body) + 1;
	for (unsigned i = 0; i < n; i++, s += strlen(s) + 1) {
		err = xs_perm_parse(s, &perms[i]);
		if (err)
			goto out;
	}
	err = canon(r, r->body, true, path, NULL);
	if (!err)
		err = xs_store_set_perms(req_store(r), r->c->domid, 0, path,
					 perms, n);
	if (!err && r->txn)
		err = xs_txn_log_set_perms(r->txn->t, r->c->domid, path, perms,
					   n);
	if (!err)
		reply_ok(r);
out:
	free(perms);
	return err;
}

/* ---- watches ---- */

static int do_watch(struct xs_req *r)
{
	struct xs_proto *p = r->c->proto;
	char path[XS_PATH_ARG_BUF];
	const char *vec[2];
	struct xs_watch *w;
	bool relative;
	int err;

	if (get_strings(r, vec, 2) != 2)
		return -EINVAL;
	err = canon(r, vec[0], true, path, &relative);
	if (err)
		return err;
	for (w = p->watches.head; w; w = w->next)
		if (w->owner == r->c && !strcmp(w->path, path) &&
		    !strcmp(w->token, vec[1]))
			return -EEXIST;
	if (unprivileged(r) &&
	    xs_watches_count_domain(&p->watches, r->c->domid) >= XS_QUOTA_WATCHES)
		return -E2BIG;
	w = xs_watches_add(&p->watches, r->c, r->c->domid, path, vec[1],
			   relative);
	if (!w)
		return -errno;
	reply_ok(r);
	/* A new watch fires once right away. */
	send_event(r->c, xs_watch_report_path(w, w->path), w->token);
	return 0;
}

static int do_unwatch(struct xs_req *r)
{
	char path[XS_PATH_ARG_BUF];
	const char *vec[2];
	int err;

	if (get_strings(r, vec, 2) != 2)
		return -EINVAL;
	err = canon(r, vec[0], true, path, NULL);
	if (!err)
		err = xs_watches_remove(&r->c->proto->watches, r->c, path,
					vec[1]);
	if (!err)
		reply_ok(r);
	return err;
}

static int do_reset_watches(struct xs_req *r)
{
	xs_watches_remove_owner(&r->c->proto->watches, r->c);
	client_drop_txns(r->c);
	reply_ok(r);
	return 0;
}

/* ---- transactions ---- */

static bool txid_in_use(struct xs_proto *p, uint32_t id)
{
	for (struct xs_client *c = p->clients; c; c = c->next)
		for (struct xs_client_txn *t = c->txns; t; t = t->next)
			if (t->id == id)
				return true;
	return false;
}

static unsigned txns_of_domain(struct xs_proto *p, unsigned domid)
{
	unsigned n = 0;

	for (struct xs_client *c = p->clients; c; c = c->next)
		if (c->domid == domid)
			for (struct xs_client_txn *t = c->txns; t; t = t->next)
				n++;
	return n;
}

static int do_transaction_start(struct xs_req *r)
{
	struct xs_proto *p = r->c->proto;
	struct xs_client_txn *t;
	char buf[16];

	if (r->txn)
		return -EBUSY; /* no nesting */
	if (unprivileged(r) &&
	    txns_of_domain(p, r->c->domid) >= XS_QUOTA_TRANSACTIONS)
		return -ENOSPC;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->t = xs_txn_new(p->store);
	if (!t->t) {
		free(t);
		return -ENOMEM;
	}
	do
		t->id = ++p->last_txid;
	while (t->id == 0 || txid_in_use(p, t->id));
	t->next = r->c->txns;
	r->c->txns = t;
	snprintf(buf, sizeof(buf), "%u", t->id);
	reply(r, buf, (unsigned)strlen(buf) + 1);
	return 0;
}

static int do_transaction_end(struct xs_req *r)
{
	const char *arg = onearg(r);
	struct xs_client_txn **pp;
	int err = 0;

	if (!arg || (strcmp(arg, "T") && strcmp(arg, "F")))
		return -EINVAL;
	if (!r->txn)
		return -ENOENT;
	for (pp = &r->c->txns; *pp != r->txn; pp = &(*pp)->next)
		;
	*pp = r->txn->next;
	if (!strcmp(arg, "T"))
		err = xs_txn_commit(r->txn->t, r->c->proto->store);
	xs_txn_free(r->txn->t);
	free(r->txn);
	r->txn = NULL;
	if (!err)
		reply_ok(r);
	return err;
}

/* ---- domains ---- */

static int do_get_domain_path(struct xs_req *r)
{
	char buf[32];
	unsigned domid;
	int err = parse_domid(onearg(r), &domid);

	if (err)
		return err;
	xs_path_domain(domid, buf, sizeof(buf));
	reply(r, buf, (unsigned)strlen(buf) + 1);
	return 0;
}

static int do_is_domain_introduced(struct xs_req *r)
{
	unsigned domid;
	int err = parse_domid(onearg(r), &domid);

	if (err)
		return err;
	reply(r, xs_domains_known(r->c->proto->doms, domid) ? "T" : "F", 2);
	return 0;
}

static int do_introduce(struct xs_req *r)
{
	const char *vec[3];
	unsigned domid;

	/* domid, mfn, event channel: the simulator's domains are created by
	 * xensimd, so only known ones can be (re)introduced. */
	if (get_strings(r, vec, 3) < 3 || parse_domid(vec[0], &domid))
		return -EINVAL;
	if (!xs_domains_known(r->c->proto->doms, domid))
		return -EINVAL;
	reply_ok(r);
	return 0;
}

static int do_release(struct xs_req *r)
{
	struct xs_proto *p = r->c->proto;
	unsigned domid;
	int err = parse_domid(onearg(r), &domid);

	if (err)
		return err;
	if (domid == 0)
		return -EINVAL;
	if (!xs_domains_known(p->doms, domid))
		return -ENOENT;
	err = p->ops.release ? p->ops.release(p->ops.arg, domid)
			     : xs_proto_domain_release(p, domid);
	if (!err)
		reply_ok(r);
	return err;
}

static int do_resume(struct xs_req *r)
{
	unsigned domid;
	int err = parse_domid(onearg(r), &domid);

	if (err)
		return err;
	if (!xs_domains_known(r->c->proto->doms, domid))
		return -ENOENT;
	reply_ok(r);
	return 0;
}

static int do_set_target(struct xs_req *r)
{
	const char *vec[2];
	unsigned domid, target;
	int err;

	if (get_strings(r, vec, 2) < 2 || parse_domid(vec[0], &domid) ||
	    parse_domid(vec[1], &target))
		return -EINVAL;
	err = xs_domains_set_target(r->c->proto->doms, domid, target);
	if (!err)
		reply_ok(r);
	return err;
}

static int do_control(struct xs_req *r)
{
	(void)r;
	return -ENOSYS;
}

/* ---- dispatch ---- */

#define F_PRIV 1u  /* dom0 only: EACCES for guests */
#define F_NOTID 2u /* tx_id is ignored */

static const struct {
	int (*fn)(struct xs_req *r);
	unsigned flags;
} wire_ops[XS_TYPE_COUNT] = {
	[XS_CONTROL] = { do_control, F_PRIV | F_NOTID },
	[XS_DIRECTORY] = { do_directory, 0 },
	[XS_READ] = { do_read, 0 },
	[XS_GET_PERMS] = { do_get_perms, 0 },
	[XS_WATCH] = { do_watch, F_NOTID },
	[XS_UNWATCH] = { do_unwatch, F_NOTID },
	[XS_TRANSACTION_START] = { do_transaction_start, 0 },
	[XS_TRANSACTION_END] = { do_transaction_end, 0 },
	[XS_INTRODUCE] = { do_introduce, F_PRIV | F_NOTID },
	[XS_RELEASE] = { do_release, F_PRIV | F_NOTID },
	[XS_GET_DOMAIN_PATH] = { do_get_domain_path, F_NOTID },
	[XS_WRITE] = { do_write, 0 },
	[XS_MKDIR] = { do_mkdir, 0 },
	[XS_RM] = { do_rm, 0 },
	[XS_SET_PERMS] = { do_set_perms, 0 },
	[XS_IS_DOMAIN_INTRODUCED] = { do_is_domain_introduced, F_PRIV | F_NOTID },
	[XS_RESUME] = { do_resume, F_PRIV | F_NOTID },
	[XS_SET_TARGET] = { do_set_target, F_PRIV | F_NOTID },
	[XS_RESET_WATCHES] = { do_reset_watches, F_NOTID },
	[XS_DIRECTORY_PART] = { do_directory_part, 0 },
};

void xs_proto_request(struct xs_client *c, const struct xsd_sockmsg *hdr,
		      const char *body)
{
	struct xs_req r = { .c = c, .hdr = hdr, .body = body, .len = hdr->len };
	int err;

	/* Like C xenstored: an unknown operation is ENOSYS. */
	if (hdr->type >= XS_TYPE_COUNT || !wire_ops[hdr->type].fn) {
		reply_error(&r, ENOSYS);
		return;
	}
	if ((wire_ops[hdr->type].flags & F_PRIV) && c->domid != 0) {
		reply_error(&r, EACCES);
		return;
	}
	if (!(wire_ops[hdr->type].flags & F_NOTID) && hdr->tx_id) {
		for (r.txn = c->txns; r.txn; r.txn = r.txn->next)
			if (r.txn->id == hdr->tx_id)
				break;
		if (!r.txn) {
			reply_error(&r, ENOENT);
			return;
		}
	}
	err = wire_ops[hdr->type].fn(&r);
	if (err)
		reply_error(&r, -err);
}

/* ---- toolstack actions ---- */

bool xs_proto_domain_known(struct xs_proto *p, unsigned domid)
{
	return xs_domains_known(p->doms, domid);
}

static int dom_node(struct xs_proto *p, const char *base, const char *sub,
		    const char *value, const struct xs_perm *perms,
		    unsigned nperms)
{
	char path[96];
	int err;

	snprintf(path, sizeof(path), "%s%s%s", base, sub ? "/" : "",
		 sub ? sub : "");
	err = value ? xs_store_write(p->store, 0, XS_OP_NOCHECK, path, value,
				     (unsigned)strlen(value))
		    : xs_store_mkdir(p->store, 0, XS_OP_NOCHECK, path);
	if (!err)
		err = xs_store_set_perms(p->store, 0, XS_OP_NOCHECK, path,
					 perms, nperms);
	return err;
}

int xs_proto_domain_prepare(struct xs_proto *p, unsigned domid,
			    const char *name, const char *uuid)
{
	/* What libxl__domain_make creates: the guest may read its home and
	 * the directories the toolstack fills, and owns those it writes. */
	static const char *const ro_dirs[] = { "cpu", "memory", "device",
					       "control" };
	static const char *const rw_dirs[] = {
		"data", "drivers", "feature", "attr", "error",
		"control/shutdown", "control/feature-poweroff",
		"control/feature-reboot", "control/feature-suspend",
		"control/sysrq", "device/suspend/event-channel",
	};
	const struct xs_perm ro[2] = {
		{ .domid = 0, .mode = XS_STORE_PERM_NONE },
		{ .domid = domid, .mode = XS_STORE_PERM_READ },
	};
	const struct xs_perm rw[1] = {
		{ .domid = domid, .mode = XS_STORE_PERM_NONE },
	};
	char base[32], id[16], vm[64];
	int err;

	if (domid > 0xffff || !name || xs_domains_known(p->doms, domid))
		return domid > 0xffff || !name ? -EINVAL : -EEXIST;
	xs_path_domain(domid, base, sizeof(base));
	snprintf(id, sizeof(id), "%u", domid);
	xs_store_rm(p->store, 0, XS_OP_NOCHECK, base); /* leftovers */
	err = dom_node(p, base, NULL, NULL, ro, 2);
	if (!err)
		err = dom_node(p, base, "name", name, ro, 2);
	if (!err)
		err = dom_node(p, base, "domid", id, ro, 2);
	if (!err && uuid) {
		/* /vm/<uuid> with uuid and name, and the home's link to it. */
		snprintf(vm, sizeof(vm), "/vm/%s", uuid);
		err = dom_node(p, vm, NULL, NULL, ro, 2);
		if (!err)
			err = dom_node(p, vm, "uuid", uuid, ro, 2);
		if (!err)
			err = dom_node(p, vm, "name", name, ro, 2);
		if (!err)
			err = dom_node(p, base, "vm", vm, ro, 2);
	}
	for (size_t i = 0; !err && i < sizeof(ro_dirs) / sizeof(ro_dirs[0]); i++)
		err = dom_node(p, base, ro_dirs[i], NULL, ro, 2);
	for (size_t i = 0; !err && i < sizeof(rw_dirs) / sizeof(rw_dirs[0]); i++)
		err = dom_node(p, base, rw_dirs[i], NULL, rw, 1);
	if (err)
		xs_store_rm(p->store, 0, XS_OP_NOCHECK, base);
	return err;
}

int xs_proto_domain_introduce_prepared(struct xs_proto *p, unsigned domid)
{
	int err = xs_domains_add(p->doms, domid);

	if (err)
		return err;
	fire_special(p, XS_SPECIAL_INTRODUCE);
	return 0;
}

int xs_proto_domain_introduce(struct xs_proto *p, unsigned domid,
			      const char *name)
{
	int err = xs_proto_domain_prepare(p, domid, name, NULL);

	return err ? err : xs_proto_domain_introduce_prepared(p, domid);
}

void xs_proto_fire_release(struct xs_proto *p)
{
	fire_special(p, XS_SPECIAL_RELEASE);
}

/* What goes with a domain, introduced or not. */
static void domain_remove_nodes(struct xs_proto *p, unsigned domid)
{
	char base[32];

	xs_path_domain(domid, base, sizeof(base));
	xs_store_rm(p->store, 0, XS_OP_NOCHECK, base);
	/* As xl destroy does: the toolstack's record of the guest goes too,
	 * while backend directories of device kinds libxl does not know
	 * (vscsi) stay behind. */
	snprintf(base, sizeof(base), "/libxl/%u", domid);
	xs_store_rm(p->store, 0, XS_OP_NOCHECK, base);
	xs_store_forget_domain(p->store, domid);
}

void xs_proto_domain_unprepare(struct xs_proto *p, unsigned domid)
{
	if (domid != 0 && !xs_domains_known(p->doms, domid))
		domain_remove_nodes(p, domid);
}

int xs_proto_domain_release(struct xs_proto *p, unsigned domid)
{
	if (domid == 0)
		return -EINVAL;
	if (!xs_domains_known(p->doms, domid))
		return -ENOENT;
	domain_remove_nodes(p, domid);
	xs_domains_remove(p->doms, domid);
	fire_special(p, XS_SPECIAL_RELEASE);
	return 0;
}
