/* xensim — drive the simulated Xen: start/stop xensimd, create and destroy
 * domains, list them, and run any Xen userspace program inside one. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xen/sched.h>

#include "sim_uuid.h"
#include "xensim_cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: xensim [--rundir DIR] COMMAND [ARGS]\n"
		"Drives the simulated Xen (xensimd) of one Linux host.\n\n"
		"Commands:\n"
		"  start [--dom0-memory MIB]       start xensimd in DIR (no-op if running)\n"
		"  stop                            stop xensimd (all domains go away)\n"
		"  create-domain [--name N] [--memory MIB]\n"
		"                                  create a domain, print its domid\n"
		"  destroy-domain DOMAIN           destroy a domain (by id or name)\n"
		"  list [--json]                   list domains, their state and init\n"
		"  exec DOMAIN -- CMD [ARG]...     run CMD inside DOMAIN: it sees the\n"
		"                                  simulator's xenstore, grant and event\n"
		"                                  channel libraries as that domain's\n"
		"  env DOMAIN                      print the environment exec would set\n\n"
		"xl's domain lifecycle (what a toolstack service meets; DOMAIN by id or name):\n"
		"  create [-p] [--device-delay MS] FILE [-- INIT [ARG]...]\n"
		"                                  xl create: FILE is an xl config (name,\n"
		"                                  uuid, memory are used); the domain is made\n"
		"                                  paused, introduced, given MS (default 300)\n"
		"                                  of device phase, then unpaused unless -p;\n"
		"                                  INIT runs in it at its first unpause, output\n"
		"                                  in DIR/console/ID.log; prints the domid\n"
		"  pause DOMAIN, unpause DOMAIN    xl pause/unpause (a pause count, as Xen's)\n"
		"  shutdown DOMAIN [--reason poweroff|reboot|suspend|crash] [--keep]\n"
		"                                  the guest shuts down; then, unless --keep,\n"
		"                                  what xl's monitor does: poweroff and crash\n"
		"                                  destroy, reboot restarts (prints the domid),\n"
		"                                  suspend leaves it\n"
		"  reboot DOMAIN [--restart-delay MS]\n"
		"                                  xl reboot: shut down, destroyed, MS (default\n"
		"                                  200) later made again: same name, uuid and\n"
		"                                  init, a new domid (printed)\n"
		"  save DOMAIN FILE                xl save: suspend, FILE (name, uuid, memory,\n"
		"                                  init as JSON, no memory image), destroy\n"
		"  restore [-p] [--device-delay MS] FILE\n"
		"                                  xl restore: made again from FILE; its init\n"
		"                                  runs with XENSIM_RESUMED=1; prints the domid\n"
		"  migrate DOMAIN [--device-delay MS]\n"
		"                                  xl migrate DOMAIN localhost: receiver\n"
		"                                  NAME--incoming (same uuid) made and given\n"
		"                                  its devices, sender suspended and renamed\n"
		"                                  NAME--migratedaway, receiver renamed and\n"
		"                                  unpaused, sender destroyed; prints the domid\n"
		"  (--device-delay also reads $XENSIM_DEVICE_DELAY_MS; reboot and shutdown\n"
		"  take it too.) Guest memory is never copied: not by save, restore, migrate.\n\n"
		"Options:\n"
		"  -r, --rundir DIR   run directory (default $XENSIM_RUNDIR or %s)\n"
		"  -V, --version      show the version\n"
		"  -h, --help         show this help\n\n"
		"Exit status: 0 ok, 1 failure, 2 usage, 3 xensimd not running,\n"
		"4 no such domain.\n",
		SIM_DEFAULT_RUNDIR);
}

static const char *progdir(void)
{
	static char dir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);

	if (n <= 0)
		return ".";
	dir[n] = 0;
	*strrchr(dir, '/') = 0;
	return dir;
}

/* Where the simulated libxengnttab/libxenevtchn live: next to us in the
 * build tree, or under lib/vscsi/xensim when installed. */
static const char *sim_libdir(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("XENSIM_LIBDIR");
	struct stat st;

	if (env && *env)
		return env;
	snprintf(path, sizeof(path), "%s/lib", progdir());
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(path, sizeof(path), "%s/lib/libxengnttab.so.1", progdir());
		if (stat(path, &st) == 0) {
			snprintf(path, sizeof(path), "%s/lib", progdir());
			return path;
		}
	}
	snprintf(path, sizeof(path), "%s/../lib/vscsi/xensim", progdir());
	return path;
}

int connect_or_explain(void)
{
	int fd = sim_connect(0, 1);

	if (fd < 0) {
		if (fd == -ENOENT || fd == -ECONNREFUSED)
			fprintf(stderr, "xensim: xensimd is not running in %s (try: xensim start)\n",
				sim_rundir());
		else
			fprintf(stderr, "xensim: cannot reach xensimd in %s: %s\n", sim_rundir(),
				strerror(-fd));
	}
	return fd;
}

struct sim_msg *msg_new(uint32_t op)
{
	struct sim_msg *m = calloc(1, sizeof(*m));

	if (!m) {
		perror("xensim");
		exit(EXIT_FAIL);
	}
	m->op = op;
	return m;
}

int call(int fd, struct sim_msg *req, struct sim_msg *rep)
{
	int err = sim_call(fd, req, SIM_MSG_HDR_LEN, rep, NULL, NULL);

	return err ? err : -rep->err;
}

int list_domains(int fd, struct sim_msg *rep)
{
	struct sim_msg *req = msg_new(SIM_OP_LIST_DOMAINS);
	int err = call(fd, req, rep);

	free(req);
	return err;
}

int resolve_domain(int fd, const char *arg)
{
	struct sim_msg *rep = msg_new(0);
	char *end;
	long id = strtol(arg, &end, 10);
	int r = -ENOENT;

	if (list_domains(fd, rep) == 0) {
		for (uint32_t i = 0; i < rep->count; i++) {
			if ((*arg && !*end && id == (long)rep->u.doms[i].domid) ||
			    !strcmp(arg, rep->u.doms[i].name)) {
				r = (int)rep->u.doms[i].domid;
				break;
			}
		}
	}
	free(rep);
	return r;
}

static int cmd_start(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dom0-memory", required_argument, NULL, 'm' }, { 0 } };
	const char *mem = NULL;
	char xensimd[PATH_MAX];
	int c, fd, status;
	pid_t pid;

	optind = 1;
	while ((c = getopt_long(argc, argv, "m:", opts, NULL)) != -1) {
		if (c != 'm')
			return EXIT_USAGE;
		mem = optarg;
	}
	fd = sim_connect(0, 1);
	if (fd >= 0) {
		close(fd);
		printf("xensimd already running in %s\n", sim_rundir());
		return EXIT_OK;
	}
	snprintf(xensimd, sizeof(xensimd), "%s/xensimd", progdir());
	pid = fork();
	if (pid < 0)
		return EXIT_FAIL;
	if (pid == 0) {
		if (mem)
			execl(xensimd, "xensimd", "--daemon", "--rundir", sim_rundir(),
			      "--dom0-memory", mem, (char *)NULL);
		else
			execl(xensimd, "xensimd", "--daemon", "--rundir", sim_rundir(), (char *)NULL);
		fprintf(stderr, "xensim: cannot run %s: %s\n", xensimd, strerror(errno));
		_exit(127);
	}
	/* xensimd --daemon returns once its sockets are up. */
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "xensim: xensimd failed to start in %s\n", sim_rundir());
		return EXIT_FAIL;
	}
	printf("xensimd started in %s\n", sim_rundir());
	return EXIT_OK;
}

static int cmd_stop(void)
{
	struct sim_msg *req, *rep;
	char path[PATH_MAX];
	int fd = sim_connect(0, 1), err;

	if (fd < 0) {
		printf("xensimd is not running in %s\n", sim_rundir());
		return EXIT_OK;
	}
	req = msg_new(SIM_OP_SHUTDOWN);
	rep = msg_new(0);
	err = call(fd, req, rep);
	close(fd);
	free(req);
	free(rep);
	if (err) {
		fprintf(stderr, "xensim: stop: %s\n", strerror(-err));
		return EXIT_FAIL;
	}
	/* Wait (up to 10 s) until the daemon is gone: its pidfile goes last. */
	snprintf(path, sizeof(path), "%s/xensimd.pid", sim_rundir());
	for (int i = 0; i < 1000 && access(path, F_OK) == 0; i++)
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	printf("xensimd stopped\n");
	return EXIT_OK;
}

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "memory", required_argument, NULL, 'm' }, { 0 } };
	struct sim_msg *req, *rep;
	const char *name = "";
	unsigned long mib = 0;
	int c, fd, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "n:m:", opts, NULL)) != -1) {
		char *end;

		if (c == 'n') {
			name = optarg;
		} else if (c == 'm') {
			mib = strtoul(optarg, &end, 10);
			if (*end || mib == 0 || mib > 65536) {
				fprintf(stderr, "xensim: --memory \"%s\": want MiB between 1 and 65536\n", optarg);
				return EXIT_USAGE;
			}
		} else {
			return EXIT_USAGE;
		}
	}
	if (strlen(name) >= sizeof(req->name)) {
		fprintf(stderr, "xensim: name \"%s\" is too long (max %zu)\n", name, sizeof(req->name) - 1);
		return EXIT_USAGE;
	}
	fd = connect_or_explain();
	if (fd < 0)
		return EXIT_NODAEMON;
	req = msg_new(SIM_OP_CREATE_DOMAIN);
	rep = msg_new(0);
	snprintf(req->name, sizeof(req->name), "%s", name);
	req->count = (uint32_t)mib;
	err = call(fd, req, rep);
	close(fd);
	if (err) {
		if (err == -EEXIST)
			fprintf(stderr, "xensim: a domain named \"%s\" already exists\n", name);
		else if (err == -EINVAL)
			fprintf(stderr, "xensim: invalid domain name \"%s\" (letters, digits, - _ .)\n", name);
		else
			fprintf(stderr, "xensim: create-domain: %s\n", strerror(-err));
	} else {
		printf("%u\n", rep->domid);
	}
	free(req);
	free(rep);
	return err ? EXIT_FAIL : EXIT_OK;
}

static int cmd_destroy(int argc, char **argv)
{
	struct sim_msg *req, *rep;
	int fd, domid, err;

	if (argc != 2) {
		fprintf(stderr, "xensim: destroy-domain takes one DOMAIN\n");
		return EXIT_USAGE;
	}
	fd = connect_or_explain();
	if (fd < 0)
		return EXIT_NODAEMON;
	domid = resolve_domain(fd, argv[1]);
	if (domid < 0) {
		fprintf(stderr, "xensim: no domain \"%s\"\n", argv[1]);
		close(fd);
		return EXIT_NODOMAIN;
	}
	req = msg_new(SIM_OP_DESTROY_DOMAIN);
	rep = msg_new(0);
	req->domid = (uint32_t)domid;
	err = call(fd, req, rep);
	close(fd);
	free(req);
	free(rep);
	if (err) {
		fprintf(stderr, "xensim: destroy-domain %s: %s\n", argv[1],
			err == -EPERM ? "domain 0 cannot be destroyed" : strerror(-err));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static const char *reason_name(uint32_t r)
{
	static const char *const names[] = { "poweroff", "reboot", "suspend", "crash",
					     "watchdog", "soft_reset" };

	return r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

static const char *state_name(const struct sim_domain_info *d)
{
	return d->shutdown ? "shutdown" : d->pause_count ? "paused" : "running";
}

static const char *init_name(const struct sim_domain_info *d)
{
	static const char *const names[] = { "none", "waiting", "running", "exited" };

	return d->init_state < 4 ? names[d->init_state] : "?";
}

static int cmd_list(int argc, char **argv)
{
	struct sim_msg *rep;
	bool json = argc > 1 && !strcmp(argv[1], "--json");
	int fd, err;

	if (argc > 2 || (argc == 2 && !json)) {
		fprintf(stderr, "xensim: list takes only --json\n");
		return EXIT_USAGE;
	}
	fd = connect_or_explain();
	if (fd < 0)
		return EXIT_NODAEMON;
	rep = msg_new(0);
	err = list_domains(fd, rep);
	close(fd);
	if (err) {
		fprintf(stderr, "xensim: list: %s\n", strerror(-err));
		free(rep);
		return EXIT_FAIL;
	}
	if (json) {
		json_object *arr = json_object_new_array();

		for (uint32_t i = 0; i < rep->count; i++) {
			const struct sim_domain_info *d = &rep->u.doms[i];
			json_object *o = json_object_new_object(), *init;
			char us[SIM_UUID_STR_LEN];

			sim_uuid_format(d->uuid, us);
			json_object_object_add(o, "domid", json_object_new_int((int)d->domid));
			json_object_object_add(o, "name", json_object_new_string(d->name));
			json_object_object_add(o, "uuid", json_object_new_string(us));
			json_object_object_add(o, "memory_mib", json_object_new_int((int)d->memory_mib));
			json_object_object_add(o, "grants", json_object_new_int((int)d->grants));
			json_object_object_add(o, "event_channels", json_object_new_int((int)d->ports));
			json_object_object_add(o, "paused", json_object_new_int((int)d->pause_count));
			json_object_object_add(o, "state", json_object_new_string(state_name(d)));
			if (d->shutdown)
				json_object_object_add(o, "shutdown_reason",
						       json_object_new_string(reason_name(d->shutdown_reason)));
			json_object_object_add(o, "introduced", json_object_new_boolean(d->introduced));
			json_object_object_add(o, "resumed", json_object_new_boolean(d->resumed));
			init = json_object_new_object();
			json_object_object_add(init, "state", json_object_new_string(init_name(d)));
			if (d->init_state >= SIM_INIT_RUNNING)
				json_object_object_add(init, "pid", json_object_new_int(d->init_pid));
			if (d->init_state == SIM_INIT_EXITED && WIFEXITED(d->init_status))
				json_object_object_add(init, "exit_status",
						       json_object_new_int(WEXITSTATUS(d->init_status)));
			if (d->init_state == SIM_INIT_EXITED && WIFSIGNALED(d->init_status))
				json_object_object_add(init, "signal",
						       json_object_new_int(WTERMSIG(d->init_status)));
			json_object_object_add(o, "init", init);
			json_object_array_add(arr, o);
		}
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
		json_object_put(arr);
	} else {
		printf("%-32s %5s %8s %7s %6s %-17s %-8s %s\n", "Name", "ID", "Mem(MiB)", "Grants",
		       "Ports", "State", "Init", "UUID");
		for (uint32_t i = 0; i < rep->count; i++) {
			const struct sim_domain_info *d = &rep->u.doms[i];
			char us[SIM_UUID_STR_LEN], st[32], in[32];

			sim_uuid_format(d->uuid, us);
			if (d->shutdown)
				snprintf(st, sizeof(st), "shutdown(%s)", reason_name(d->shutdown_reason));
			else if (d->pause_count)
				snprintf(st, sizeof(st), "paused(%u)", d->pause_count);
			else
				snprintf(st, sizeof(st), "running");
			if (d->init_state == SIM_INIT_EXITED && WIFEXITED(d->init_status))
				snprintf(in, sizeof(in), "exit:%d", WEXITSTATUS(d->init_status));
			else if (d->init_state == SIM_INIT_EXITED)
				snprintf(in, sizeof(in), "sig:%d", WTERMSIG(d->init_status));
			else
				snprintf(in, sizeof(in), "%s", init_name(d));
			printf("%-32s %5u %8u %7u %6u %-17s %-8s %s\n", d->name, d->domid, d->memory_mib,
			       d->grants, d->ports, st, in, us);
		}
	}
	free(rep);
	return EXIT_OK;
}

static void set_domain_env(int domid)
{
	char buf[PATH_MAX + 64], *ld;
	const char *old = getenv("LD_LIBRARY_PATH");

	setenv("XENSIM_RUNDIR", sim_rundir(), 1);
	snprintf(buf, sizeof(buf), "%d", domid);
	setenv("XENSIM_DOMID", buf, 1);
	snprintf(buf, sizeof(buf), "%s/%s/dom%d", sim_rundir(), SIM_XS_DIR, domid);
	setenv("XENSTORED_PATH", buf, 1);
	if (asprintf(&ld, "%s%s%s", sim_libdir(), old && *old ? ":" : "", old ? old : "") > 0) {
		setenv("LD_LIBRARY_PATH", ld, 1);
		free(ld);
	}
}

static int cmd_exec_or_env(int argc, char **argv, bool exec_it)
{
	int fd, domid, first = 2;

	if (argc < 2 || (exec_it && argc < 3)) {
		fprintf(stderr, "xensim: usage: xensim %s\n",
			exec_it ? "exec DOMAIN -- CMD [ARG]..." : "env DOMAIN");
		return EXIT_USAGE;
	}
	fd = connect_or_explain();
	if (fd < 0)
		return EXIT_NODAEMON;
	domid = resolve_domain(fd, argv[1]);
	close(fd);
	if (domid < 0) {
		fprintf(stderr, "xensim: no domain \"%s\"\n", argv[1]);
		return EXIT_NODOMAIN;
	}
	set_domain_env(domid);
	if (!exec_it) {
		static const char *const vars[] = { "XENSIM_RUNDIR", "XENSIM_DOMID",
						    "XENSTORED_PATH", "LD_LIBRARY_PATH" };

		for (unsigned i = 0; i < 4; i++)
			printf("export %s='%s'\n", vars[i], getenv(vars[i]));
		return EXIT_OK;
	}
	if (!strcmp(argv[first], "--"))
		first++;
	if (first >= argc) {
		fprintf(stderr, "xensim: exec: no command given\n");
		return EXIT_USAGE;
	}
	execvp(argv[first], argv + first);
	fprintf(stderr, "xensim: exec %s: %s\n", argv[first], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rundir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { 0 } };
	const char *cmd;
	int c;

	/* Options stop at the command: its own options follow it. */
	while ((c = getopt_long(argc, argv, "+r:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'r': setenv("XENSIM_RUNDIR", optarg, 1); break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("xensim %s\n", VSCSI_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "start"))
		return cmd_start(argc, argv);
	if (!strcmp(cmd, "stop"))
		return cmd_stop();
	if (!strcmp(cmd, "create-domain"))
		return cmd_create(argc, argv);
	if (!strcmp(cmd, "destroy-domain"))
		return cmd_destroy(argc, argv);
	if (!strcmp(cmd, "list"))
		return cmd_list(argc, argv);
	if (!strcmp(cmd, "exec"))
		return cmd_exec_or_env(argc, argv, true);
	if (!strcmp(cmd, "env"))
		return cmd_exec_or_env(argc, argv, false);
	if (!strcmp(cmd, "create"))
		return cmd_xl_create(argc, argv);
	if (!strcmp(cmd, "pause") || !strcmp(cmd, "unpause"))
		return cmd_xl_pause(argc, argv, !strcmp(cmd, "pause"));
	if (!strcmp(cmd, "shutdown") || !strcmp(cmd, "reboot"))
		return cmd_xl_shutdown(argc, argv, !strcmp(cmd, "reboot"));
	if (!strcmp(cmd, "save"))
		return cmd_xl_save(argc, argv);
	if (!strcmp(cmd, "restore"))
		return cmd_xl_restore(argc, argv);
	if (!strcmp(cmd, "migrate"))
		return cmd_xl_migrate(argc, argv);
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	fprintf(stderr, "xensim: unknown command \"%s\" (see xensim --help)\n", cmd);
	return EXIT_USAGE;
}
