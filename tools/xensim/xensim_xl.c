/* xl's domain lifecycle, as a toolstack service meets it: create, pause,
 * unpause, shutdown (with xl's monitor: on_poweroff=destroy,
 * on_reboot=restart, on_crash=destroy), reboot, save, restore and
 * localhost migrate, each in xl/libxl's order (see
 * xl_vmcontrol.c:create_domain and libxl_create.c):
 *
 *   create paused (pause count 1) with the home, vm and /vm/<uuid> written
 *   -> introduce (@introduceDomain) -> device phase (a delay here)
 *   -> the domain record (libxl-json) -> xl's unpause unless -p.
 *
 * What xl keeps of a domain (name, uuid, memory, init, config path: no
 * vscsi, as libxl-json has none) lives in $XENSIM_RUNDIR/xl/<domid>.json;
 * xensimd removes it when the domain is destroyed. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <libxlutil.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xen/sched.h>

#include "sim_uuid.h"
#include "xensim_cli.h"

#define DEFAULT_DEVICE_DELAY_MS 300
#define DEFAULT_RESTART_DELAY_MS 200
/* xl's monitor is another process: it wakes on the domain's death event,
 * reads the shutdown reason and logs it before it destroys the domain, so
 * a shut-down domain is seen for a moment by everyone watching
 * @releaseDomain. */
#define MONITOR_REACTION_MS 100
/* xl save and xl migrate send the suspended guest's last memory before
 * the domain goes: it stays suspended that long. */
#define SUSPENDED_STREAM_MS 100
#define MAX_INIT_ARGS 64

struct xl_dom {
	char name[64];
	uint8_t uuid[SIM_UUID_LEN];
	unsigned memory;          /* MiB, 0: the default */
	char *init[MAX_INIT_ARGS + 1];
	char config[PATH_MAX];
};

struct xl_opts {
	long device_delay_ms, restart_delay_ms;
	bool paused, keep;
	int reason;
};

static const char *const reasons[] = {
	[SHUTDOWN_poweroff] = "poweroff", [SHUTDOWN_reboot] = "reboot",
	[SHUTDOWN_suspend] = "suspend", [SHUTDOWN_crash] = "crash",
};

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 }, NULL);
}

static long parse_ms(const char *what, const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 0 || v > 600000) {
		fprintf(stderr, "xensim: %s \"%s\": want milliseconds (0 to 600000)\n", what, s);
		return -1;
	}
	return v;
}

static void xl_dom_free(struct xl_dom *x)
{
	for (int i = 0; x->init[i]; i++)
		free(x->init[i]);
	x->init[0] = NULL;
}

/* ---- the domain record and the save file ---- */

static json_object *xl_dom_json(const struct xl_dom *x)
{
	json_object *o = json_object_new_object(), *init = json_object_new_array();
	char us[SIM_UUID_STR_LEN];

	sim_uuid_format(x->uuid, us);
	json_object_object_add(o, "name", json_object_new_string(x->name));
	json_object_object_add(o, "uuid", json_object_new_string(us));
	json_object_object_add(o, "memory", json_object_new_int((int)x->memory));
	for (int i = 0; x->init[i]; i++)
		json_object_array_add(init, json_object_new_string(x->init[i]));
	json_object_object_add(o, "init", init);
	if (x->config[0])
		json_object_object_add(o, "config", json_object_new_string(x->config));
	return o;
}

static int write_json(const char *path, json_object *o)
{
	int err = json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) ? -EIO : 0;

	json_object_put(o);
	if (err)
		fprintf(stderr, "xensim: cannot write %s\n", path);
	return err;
}

static int read_json(const char *path, struct xl_dom *x)
{
	json_object *o = json_object_from_file(path), *v;
	int err = -EINVAL;

	memset(x, 0, sizeof(*x));
	if (!o)
		return -ENOENT;
	if (json_object_object_get_ex(o, "name", &v) && json_object_is_type(v, json_type_string) &&
	    strlen(json_object_get_string(v)) < sizeof(x->name)) {
		snprintf(x->name, sizeof(x->name), "%s", json_object_get_string(v));
		if (json_object_object_get_ex(o, "uuid", &v) &&
		    sim_uuid_parse(json_object_get_string(v), x->uuid) == 0)
			err = 0;
	}
	if (!err && json_object_object_get_ex(o, "memory", &v))
		x->memory = (unsigned)json_object_get_int(v);
	if (!err && json_object_object_get_ex(o, "init", &v) &&
	    json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);

		for (size_t i = 0; i < n && i < MAX_INIT_ARGS; i++)
			x->init[i] = strdup(json_object_get_string(json_object_array_get_idx(v, i)));
	}
	if (!err && json_object_object_get_ex(o, "config", &v))
		snprintf(x->config, sizeof(x->config), "%s", json_object_get_string(v));
	json_object_put(o);
	return err;
}

static void record_path(int domid, char *buf, size_t len)
{
	snprintf(buf, len, "%s/xl/%d.json", sim_rundir(), domid);
}

static int read_record(int domid, struct xl_dom *x, const char *arg)
{
	char path[PATH_MAX];
	int err;

	record_path(domid, path, sizeof(path));
	err = read_json(path, x);
	if (err)
		fprintf(stderr, "xensim: domain %s was not made by xensim create/restore/migrate "
			"(no %s): cannot re-create it\n", arg, path);
	return err;
}

/* ---- steps ---- */

static int op(int fd, uint32_t code, int domid, uint32_t flags, const char *name)
{
	struct sim_msg *req = msg_new(code), *rep = msg_new(0);
	int err;

	req->domid = (uint32_t)domid;
	req->flags = flags;
	if (name)
		snprintf(req->name, sizeof(req->name), "%s", name);
	err = call(fd, req, rep);
	free(req);
	free(rep);
	return err;
}

static int destroy(int fd, int domid)
{
	int err = op(fd, SIM_OP_DESTROY_DOMAIN, domid, 0, NULL);

	if (err)
		fprintf(stderr, "xensim: destroy domain %d: %s\n", domid, strerror(-err));
	return err;
}

/* libxl's domain creation up to (not including) xl's unpause: the domain
 * named name, paused, introduced, its devices' time spent, its record
 * written. Returns the domid or -errno (the half-made domain destroyed). */
static int xl_build(int fd, const struct xl_dom *x, const char *name, bool resumed,
		    long device_delay_ms)
{
	struct sim_msg *req = msg_new(SIM_OP_CREATE_PAUSED), *rep = msg_new(0);
	struct sim_create_req *cr = &req->u.create;
	char path[PATH_MAX];
	int err, domid = -1;

	snprintf(req->name, sizeof(req->name), "%s", name);
	req->count = x->memory;
	req->flags = resumed ? SIM_F_RESUMED : 0;
	memcpy(cr->uuid, x->uuid, sizeof(cr->uuid));
	for (int i = 0; x->init[i]; i++) {
		size_t l = strlen(x->init[i]) + 1;

		if (cr->argv_len + l > sizeof(cr->argv)) {
			fprintf(stderr, "xensim: the init command line is too long\n");
			err = -E2BIG;
			goto out;
		}
		memcpy(cr->argv + cr->argv_len, x->init[i], l);
		cr->argv_len += (uint32_t)l;
		cr->argc++;
	}
	err = sim_call(fd, req, offsetof(struct sim_msg, u.create.argv) + cr->argv_len, rep, NULL, NULL);
	if (!err)
		err = -rep->err;
	if (err) {
		if (err == -EEXIST)
			fprintf(stderr, "xensim: a domain named \"%s\" already exists\n", name);
		else
			fprintf(stderr, "xensim: create domain \"%s\": %s\n", name, strerror(-err));
		goto out;
	}
	domid = (int)rep->domid;
	err = op(fd, SIM_OP_INTRODUCE, domid, 0, NULL);
	if (err) {
		fprintf(stderr, "xensim: introduce domain %d: %s\n", domid, strerror(-err));
		goto out;
	}
	/* libxl attaches the devices and waits for the console here: the
	 * window a toolstack service has before xl unpauses. */
	sleep_ms(device_delay_ms);
	snprintf(path, sizeof(path), "%s/xl", sim_rundir());
	mkdir(path, 0755);
	record_path(domid, path, sizeof(path));
	err = write_json(path, xl_dom_json(x));
out:
	if (err && domid >= 0)
		destroy(fd, domid);
	free(req);
	free(rep);
	return err ? err : domid;
}

/* xl's own unpause. xl ignores its result: a domain someone destroyed
 * during the device phase is the monitor's business, not a failed create. */
static int xl_unpause(int fd, int domid)
{
	int err = op(fd, SIM_OP_UNPAUSE, domid, 0, NULL);

	return err == -ESRCH ? 0 : err;
}

static int unpause(int fd, int domid)
{
	int err = op(fd, SIM_OP_UNPAUSE, domid, 0, NULL);

	if (err)
		fprintf(stderr, "xensim: unpause domain %d: %s\n", domid, strerror(-err));
	return err;
}

/* Options shared by the lifecycle commands, up to a "--". Returns the
 * index of the first operand, or -1 (usage). */
static int parse_opts(int argc, char **argv, struct xl_opts *o, const char *allowed)
{
	static const struct option opts[] = {
		{ "device-delay", required_argument, NULL, 'D' },
		{ "restart-delay", required_argument, NULL, 'R' },
		{ "reason", required_argument, NULL, 'r' },
		{ "keep", no_argument, NULL, 'k' },
		{ "paused", no_argument, NULL, 'p' }, { 0 } };
	const char *env = getenv("XENSIM_DEVICE_DELAY_MS");
	int c;

	memset(o, 0, sizeof(*o));
	o->device_delay_ms = DEFAULT_DEVICE_DELAY_MS;
	o->restart_delay_ms = DEFAULT_RESTART_DELAY_MS;
	o->reason = SHUTDOWN_poweroff;
	if (env && *env && (o->device_delay_ms = parse_ms("XENSIM_DEVICE_DELAY_MS", env)) < 0)
		return -1;
	optind = 0; /* a full restart: main() parsed in "+" mode, we permute */
	while ((c = getopt_long(argc, argv, "pr:", opts, NULL)) != -1) {
		if (!strchr(allowed, c)) {
			fprintf(stderr, "xensim: %s: option not taken here\n", argv[0]);
			return -1;
		}
		switch (c) {
		case 'D':
			if ((o->device_delay_ms = parse_ms("--device-delay", optarg)) < 0)
				return -1;
			break;
		case 'R':
			if ((o->restart_delay_ms = parse_ms("--restart-delay", optarg)) < 0)
				return -1;
			break;
		case 'r':
			o->reason = -1;
			for (int i = 0; i < (int)(sizeof(reasons) / sizeof(reasons[0])); i++)
				if (!strcmp(optarg, reasons[i]))
					o->reason = i;
			if (o->reason < 0) {
				fprintf(stderr, "xensim: --reason \"%s\": want poweroff, reboot, "
					"suspend or crash\n", optarg);
				return -1;
			}
			break;
		case 'k': o->keep = true; break;
		case 'p': o->paused = true; break;
		}
	}
	return optind;
}

/* The domain operand: connects, resolves it. Returns the domid and the
 * socket in *fd, or a negated exit code. */
static int open_domain(const char *arg, int *fd)
{
	int domid;

	*fd = connect_or_explain();
	if (*fd < 0)
		return -EXIT_NODAEMON;
	domid = resolve_domain(*fd, arg);
	if (domid < 0) {
		fprintf(stderr, "xensim: no domain \"%s\"\n", arg);
		close(*fd);
		return -EXIT_NODOMAIN;
	}
	return domid;
}

/* ---- xl create ---- */

static int parse_config(const char *file, struct xl_dom *x)
{
	XLU_Config *cfg = xlu_cfg_init(stderr, file);
	const char *s;
	long mem;
	int rc;

	if (!cfg)
		return -ENOMEM;
	rc = xlu_cfg_readfile(cfg, file);
	if (rc) {
		fprintf(stderr, "xensim: failed to parse config %s: %s\n", file, strerror(rc));
		xlu_cfg_destroy(cfg);
		return -EINVAL;
	}
	rc = -EINVAL;
	if (xlu_cfg_get_string(cfg, "name", &s, 0)) {
		fprintf(stderr, "xensim: %s: no name\n", file);
	} else if (strlen(s) >= sizeof(x->name)) {
		fprintf(stderr, "xensim: %s: name too long\n", file);
	} else {
		snprintf(x->name, sizeof(x->name), "%s", s);
		rc = 0;
	}
	if (!rc && !xlu_cfg_get_string(cfg, "uuid", &s, 1)) {
		if (sim_uuid_parse(s, x->uuid)) {
			fprintf(stderr, "xensim: %s: uuid \"%s\" is not a uuid\n", file, s);
			rc = -EINVAL;
		}
	} else if (!rc) {
		sim_uuid_generate(x->uuid); /* as xl does at parse time */
	}
	if (!rc && !xlu_cfg_get_long(cfg, "memory", &mem, 1)) {
		if (mem < 1 || mem > 65536) {
			fprintf(stderr, "xensim: %s: memory %ld: want MiB between 1 and 65536\n", file, mem);
			rc = -EINVAL;
		}
		x->memory = (unsigned)mem;
	}
	xlu_cfg_destroy(cfg);
	if (!rc && !realpath(file, x->config))
		snprintf(x->config, sizeof(x->config), "%s", file);
	return rc;
}

/* Splits argv at "--": returns the count before it; *init gets the rest. */
static int split_init(int argc, char **argv, char ***init, int *ninit)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			*init = argv + i + 1;
			*ninit = argc - i - 1;
			argv[i] = NULL;
			return i;
		}
	*init = NULL;
	*ninit = 0;
	return argc;
}

/* What xl create and xl restore share once they have the domain's
 * config: build it, let it run unless -p, print its domid. Frees x. */
static int build_and_run(struct xl_dom *x, bool resumed, const struct xl_opts *o)
{
	int fd = connect_or_explain(), domid;

	if (fd < 0) {
		xl_dom_free(x);
		return EXIT_NODAEMON;
	}
	domid = xl_build(fd, x, x->name, resumed, o->device_delay_ms);
	if (domid >= 0 && !o->paused && xl_unpause(fd, domid))
		domid = -1;
	close(fd);
	xl_dom_free(x);
	if (domid < 0)
		return EXIT_FAIL;
	printf("%d\n", domid);
	return EXIT_OK;
}

int cmd_xl_create(int argc, char **argv)
{
	struct xl_dom x = { 0 };
	struct xl_opts o;
	char **init;
	int ninit, first;

	argc = split_init(argc, argv, &init, &ninit);
	first = parse_opts(argc, argv, &o, "pD");
	if (first < 0 || argc - first != 1 || (init && ninit == 0) || ninit > MAX_INIT_ARGS) {
		if (first >= 0)
			fprintf(stderr, "xensim: usage: xensim create [-p] [--device-delay MS] FILE "
				"[-- INIT [ARG]...]\n");
		return EXIT_USAGE;
	}
	if (parse_config(argv[first], &x))
		return EXIT_FAIL;
	for (int i = 0; i < ninit; i++)
		x.init[i] = strdup(init[i]);
	return build_and_run(&x, false, &o);
}

/* ---- xl pause / unpause ---- */

int cmd_xl_pause(int argc, char **argv, int pause)
{
	int fd, domid, err;

	if (argc != 2) {
		fprintf(stderr, "xensim: usage: xensim %s DOMAIN\n", argv[0]);
		return EXIT_USAGE;
	}
	domid = open_domain(argv[1], &fd);
	if (domid < 0)
		return -domid;
	err = op(fd, pause ? SIM_OP_PAUSE : SIM_OP_UNPAUSE, domid, 0, NULL);
	close(fd);
	if (err) {
		fprintf(stderr, "xensim: %s %s: %s\n", argv[0], argv[1],
			err == -EINVAL && domid == 0 ? "domain 0 cannot pause or unpause itself"
			: err == -EINVAL ? "not paused (the pause count is 0)"
			: err == -EOVERFLOW ? "paused 255 times already" : strerror(-err));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* ---- xl shutdown / reboot (and xl's monitor) ---- */

/* The restart half of xl's monitor: the old domain destroyed, a pause,
 * the same config (name, uuid, init) built again and unpaused. */
static int restart(int fd, int domid, const struct xl_dom *x, const struct xl_opts *o)
{
	int nd;

	if (destroy(fd, domid))
		return -1;
	sleep_ms(o->restart_delay_ms);
	nd = xl_build(fd, x, x->name, false, o->device_delay_ms);
	if (nd < 0 || xl_unpause(fd, nd))
		return -1;
	printf("%d\n", nd);
	return 0;
}

int cmd_xl_shutdown(int argc, char **argv, int reboot)
{
	struct xl_dom x = { 0 };
	struct xl_opts o;
	int first, fd, domid, err, rc = EXIT_OK;

	first = parse_opts(argc, argv, &o, reboot ? "DR" : "DRrk");
	if (first < 0 || argc - first != 1) {
		if (first >= 0)
			fprintf(stderr, "xensim: usage: xensim %s DOMAIN [OPTION]...\n", argv[0]);
		return EXIT_USAGE;
	}
	if (reboot)
		o.reason = SHUTDOWN_reboot;
	domid = open_domain(argv[first], &fd);
	if (domid < 0)
		return -domid;
	/* xl reads the config to restart with before the old domain goes. */
	if (o.reason == SHUTDOWN_reboot && !o.keep && read_record(domid, &x, argv[first])) {
		close(fd);
		return EXIT_FAIL;
	}
	err = op(fd, SIM_OP_GUEST_SHUTDOWN, domid, (uint32_t)o.reason, NULL);
	if (err) {
		fprintf(stderr, "xensim: %s %s: %s\n", argv[0], argv[first],
			err == -EINVAL ? "domain 0 cannot be shut down" : strerror(-err));
		rc = EXIT_FAIL;
	} else if (o.keep || o.reason == SHUTDOWN_suspend) {
		/* No monitor (xl create -e), or a suspended guest: xl leaves
		 * it for `xl save` or `xl destroy`. */
	} else if (o.reason == SHUTDOWN_reboot) {
		sleep_ms(MONITOR_REACTION_MS);
		rc = restart(fd, domid, &x, &o) ? EXIT_FAIL : EXIT_OK;
	} else if (sleep_ms(MONITOR_REACTION_MS), destroy(fd, domid)) {
		rc = EXIT_FAIL;
	}
	close(fd);
	xl_dom_free(&x);
	return rc;
}

/* ---- xl save / restore ---- */

int cmd_xl_save(int argc, char **argv)
{
	struct xl_dom x = { 0 };
	json_object *o;
	int fd, domid, err;

	if (argc != 3) {
		fprintf(stderr, "xensim: usage: xensim save DOMAIN FILE\n");
		return EXIT_USAGE;
	}
	domid = open_domain(argv[1], &fd);
	if (domid < 0)
		return -domid;
	if (read_record(domid, &x, argv[1])) {
		close(fd);
		return EXIT_FAIL;
	}
	err = op(fd, SIM_OP_GUEST_SHUTDOWN, domid, SHUTDOWN_suspend, NULL);
	if (err) {
		fprintf(stderr, "xensim: save %s: suspend: %s\n", argv[1], strerror(-err));
	} else {
		/* The stream header's JSON config; no memory image follows. */
		o = xl_dom_json(&x);
		json_object_object_add(o, "xensim_save", json_object_new_int(1));
		json_object_object_add(o, "memory_image", json_object_new_boolean(0));
		err = write_json(argv[2], o);
		sleep_ms(SUSPENDED_STREAM_MS);
		if (!err)
			err = destroy(fd, domid);
	}
	close(fd);
	xl_dom_free(&x);
	return err ? EXIT_FAIL : EXIT_OK;
}

int cmd_xl_restore(int argc, char **argv)
{
	struct xl_dom x;
	struct xl_opts o;
	int first;

	first = parse_opts(argc, argv, &o, "pD");
	if (first < 0 || argc - first != 1) {
		if (first >= 0)
			fprintf(stderr, "xensim: usage: xensim restore [-p] [--device-delay MS] FILE\n");
		return EXIT_USAGE;
	}
	if (read_json(argv[first], &x)) {
		fprintf(stderr, "xensim: %s is not a save file of xensim save\n", argv[first]);
		xl_dom_free(&x);
		return EXIT_FAIL;
	}
	return build_and_run(&x, true, &o);
}

/* ---- xl migrate DOMAIN localhost ---- */

int cmd_xl_migrate(int argc, char **argv)
{
	struct xl_dom x = { 0 };
	struct xl_opts o;
	char incoming[80], away[80];
	int first, fd, domid, nd, err;

	first = parse_opts(argc, argv, &o, "D");
	if (first < 0 || argc - first != 1) {
		if (first >= 0)
			fprintf(stderr, "xensim: usage: xensim migrate DOMAIN [--device-delay MS]\n");
		return EXIT_USAGE;
	}
	domid = open_domain(argv[first], &fd);
	if (domid < 0)
		return -domid;
	if (read_record(domid, &x, argv[first])) {
		close(fd);
		return EXIT_FAIL;
	}
	snprintf(incoming, sizeof(incoming), "%s--incoming", x.name);
	snprintf(away, sizeof(away), "%s--migratedaway", x.name);
	if (strlen(away) >= sizeof(((struct sim_msg *)0)->name)) {
		fprintf(stderr, "xensim: migrate: the name \"%s\" is too long to migrate\n", x.name);
		close(fd);
		xl_dom_free(&x);
		return EXIT_FAIL;
	}
	/* The receiver: same uuid, paused, introduced, its devices attached
	 * while the sender still runs. */
	nd = xl_build(fd, &x, incoming, true, o.device_delay_ms);
	err = nd < 0 ? nd : 0;
	/* The sender suspends; the names change hands; GO. */
	if (!err && (err = op(fd, SIM_OP_GUEST_SHUTDOWN, domid, SHUTDOWN_suspend, NULL)))
		fprintf(stderr, "xensim: migrate: suspend domain %d: %s\n", domid, strerror(-err));
	if (!err)
		sleep_ms(SUSPENDED_STREAM_MS);
	if (!err && (err = op(fd, SIM_OP_RENAME, domid, 0, away)))
		fprintf(stderr, "xensim: migrate: rename domain %d: %s\n", domid, strerror(-err));
	if (!err && (err = op(fd, SIM_OP_RENAME, nd, 0, x.name)))
		fprintf(stderr, "xensim: migrate: rename domain %d: %s\n", nd, strerror(-err));
	if (!err)
		err = unpause(fd, nd);
	if (!err)
		err = destroy(fd, domid);
	else if (nd >= 0)
		destroy(fd, nd); /* the receiver goes; a suspended sender stays for the admin */
	close(fd);
	xl_dom_free(&x);
	if (err)
		return EXIT_FAIL;
	printf("%d\n", nd);
	return EXIT_OK;
}
