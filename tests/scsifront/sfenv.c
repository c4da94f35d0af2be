#include "sfenv.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xenstore.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon.h"
#include "toolstack.h"

static const struct ts_opts topts = { .be_domid = 0, .timeout_ms = 10000 };

pid_t sfenv_start_backend(struct sfenv *e)
{
	char *argv[] = { (char *)simenv_prog("scsiback/scsiback"), "--state-dir", e->statedir,
			 "--config", e->config, "--log-level", "debug", NULL };
	pid_t pid = daemon_start(&e->sim, 0, e->logfile, argv);

	usleep(200000);
	e->backend = pid;
	return pid;
}

int sfenv_start(struct sfenv *e, bool with_backend)
{
	char path[PATH_MAX];
	FILE *cf;

	memset(e, 0, sizeof(*e));
	if (simenv_start(&e->sim) != 0)
		return -1;
	e->guest = simenv_create_domain(&e->sim, "guest");
	if (e->guest <= 0)
		return -1;
	snprintf(e->logfile, sizeof(e->logfile), "%s/scsiback.log", e->sim.rundir);
	snprintf(e->statedir, sizeof(e->statedir), "%s/scsiback-state", e->sim.rundir);
	snprintf(e->config, sizeof(e->config), "%s/scsiback.conf", e->sim.rundir);
	cf = fopen(e->config, "w");
	if (!cf)
		return -1;
	fprintf(cf, "# empty: defaults\n");
	fclose(cf);
	e->xs0 = simenv_xs_open(&e->sim, 0);
	if (!e->xs0)
		return -1;
	if (with_backend && sfenv_start_backend(e) <= 0)
		return -1;
	/* From here on, libvscsifront in this process is the guest. */
	simenv_be_domain(&e->sim, e->guest);
	simenv_xs_path(&e->sim, e->guest, path, sizeof(path));
	setenv("XENSTORED_PATH", path, 1);
	return 0;
}

void sfenv_stop(struct sfenv *e)
{
	daemon_finish(e->backend, e->logfile);
	e->backend = 0;
	if (e->xs0)
		xs_close(e->xs0);
	e->xs0 = NULL;
	simenv_stop(&e->sim);
}

pid_t sfenv_ts_async(struct sfenv *e, bool attach, const char *pdev, const char *vdev)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		char err[512];
		struct xs_handle *xs;
		int r;

		xs = simenv_xs_open(&e->sim, 0);
		if (!xs)
			_exit(2);
		r = attach ? ts_attach(xs, (unsigned)e->guest, pdev, vdev, &topts, err, sizeof(err))
			   : ts_detach(xs, (unsigned)e->guest, vdev, &topts, err, sizeof(err));
		if (r)
			fprintf(stderr, "toolstack %s %s: %s\n", attach ? "attach" : "detach", vdev, err);
		xs_close(xs);
		_exit(r ? 1 : 0);
	}
	return pid;
}

int sfenv_ts_wait(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int sfenv_ts_wait_serviced(pid_t pid, void (*service)(void *), void *arg)
{
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (r < 0)
			return -1;
		service(arg);
	}
}

int sfenv_attach(struct sfenv *e, const char *pdev, const char *vdev)
{
	return sfenv_ts_wait(sfenv_ts_async(e, true, pdev, vdev));
}

void sfenv_test_filter(void)
{
	const char *f = getenv("SF_TEST");

	if (f && *f)
		cmocka_set_test_filter(f);
}

static int lab_cmd(const char *cmd, const char *rundir)
{
	const char *src = getenv("VSCSI_SRC");
	char line[2048];

	snprintf(line, sizeof(line), "bash '%s/tests/support/tgtd-lab.sh' %s '%s' >&2",
		 src && *src ? src : ".", cmd, rundir);
	return system(line);
}

static void env_value(const char *envfile, const char *key, char *out, size_t len)
{
	char line[1024];
	size_t klen = strlen(key);
	FILE *f = fopen(envfile, "r");

	out[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == '=') {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, len, "%s", line + klen + 1);
		}
	}
	fclose(f);
}

int sftgt_start(struct sftgt *t, const char *rundir)
{
	char envfile[600];

	memset(t, 0, sizeof(*t));
	snprintf(t->rundir, sizeof(t->rundir), "%s", rundir);
	if (lab_cmd("start", rundir) != 0)
		return -1;
	snprintf(envfile, sizeof(envfile), "%s/tgtd.env", rundir);
	env_value(envfile, "DISK_URL", t->disk_url, sizeof(t->disk_url));
	env_value(envfile, "TAPE_URL", t->tape_url, sizeof(t->tape_url));
	env_value(envfile, "VTL_DRIVE1_URL", t->drive1_url, sizeof(t->drive1_url));
	env_value(envfile, "VTL_DRIVE2_URL", t->drive2_url, sizeof(t->drive2_url));
	env_value(envfile, "CHANGER_URL", t->changer_url, sizeof(t->changer_url));
	snprintf(t->disk_img, sizeof(t->disk_img), "%s/disk.img", rundir);
	return t->disk_url[0] && t->changer_url[0] ? 0 : -1;
}

void sftgt_stop(struct sftgt *t)
{
	if (t->rundir[0])
		lab_cmd("stop", t->rundir);
	t->rundir[0] = 0;
}

int sftgt_cmd(struct sftgt *t, const char *cmd)
{
	return lab_cmd(cmd, t->rundir);
}

pid_t sftgt_pid(struct sftgt *t)
{
	char envfile[600], v[32];

	snprintf(envfile, sizeof(envfile), "%s/tgtd.env", t->rundir);
	env_value(envfile, "TGTD_PID", v, sizeof(v));
	return (pid_t)atoi(v);
}

int sfenv_runl(struct sfenv *e, char *out, size_t outlen, const char *first, ...)
{
	char *argv[64];
	va_list ap;
	int n = 0;

	argv[n++] = (char *)first;
	va_start(ap, first);
	while (n < 63 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return sfenv_run(e, out, outlen, argv);
}

int sfenv_run(struct sfenv *e, char *out, size_t outlen, char *const argv[])
{
	int p[2], status;
	size_t used = 0;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		simenv_exec_in(e->guest, argv);
	}
	close(p[1]);
	for (;;) {
		char sink[4096];
		bool room = used + 1 < outlen;
		ssize_t n = read(p[0], room ? out + used : sink, room ? outlen - used - 1 : sizeof(sink));

		if (n <= 0)
			break;
		if (room) {
			/* Tools print device strings with NULs in them: keep the
			 * text searchable. */
			for (ssize_t i = 0; i < n; i++)
				if (!out[used + (size_t)i])
					out[used + (size_t)i] = ' ';
			used += (size_t)n;
		}
	}
	out[used] = 0;
	close(p[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
