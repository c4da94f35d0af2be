#include "tgtlab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *lab_script(void)
{
	static char path[512];
	const char *src = getenv("VSCSI_SRC");

	snprintf(path, sizeof(path), "%s/tests/support/tgtd-lab.sh", src && *src ? src : ".");
	return path;
}

static int read_env(struct tgtlab *lab);

int tgtlab_cmd(struct tgtlab *lab, const char *cmd)
{
	char line[2048];

	snprintf(line, sizeof(line), "bash '%s' %s '%s' >>'%s/lab.out' 2>&1", lab_script(), cmd,
		 lab->rundir, lab->rundir);
	if (system(line) != 0)
		return -1;
	/* start and restart make a new tgtd: learn its pid. */
	return strcmp(cmd, "start") && strcmp(cmd, "restart") ? 0 : read_env(lab);
}

static void env_value(const char *line, const char *key, char *out, size_t outlen)
{
	size_t n = strlen(key);
	const char *v;

	if (strncmp(line, key, n) || line[n] != '=')
		return;
	v = line + n + 1;
	if (*v == '\'' || *v == '"')
		v++;
	snprintf(out, outlen, "%s", v);
	out[strcspn(out, "'\"\n")] = 0;
}

int tgtlab_start(struct tgtlab *lab, const char *rundir)
{
	memset(lab, 0, sizeof(*lab));
	snprintf(lab->rundir, sizeof(lab->rundir), "%s", rundir);
	mkdir(rundir, 0755);
	return tgtlab_cmd(lab, "start");
}

int tgtlab_start_in(struct tgtlab *lab, const char *parent)
{
	char dir[512];

	snprintf(dir, sizeof(dir), "%s/tgt", parent);
	if (tgtlab_start(lab, dir) == 0)
		return 0;
	fprintf(stderr, "setup: tgtd lab did not start (see %s/lab.out)\n", dir);
	return -1;
}

static int read_env(struct tgtlab *lab)
{
	char path[512], line[512], num[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/tgtd.env", lab->rundir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *l = line;

		if (!strncmp(l, "export ", 7))
			l += 7;
		env_value(l, "DISK_URL", lab->disk_url, sizeof(lab->disk_url));
		env_value(l, "TAPE_URL", lab->tape_url, sizeof(lab->tape_url));
		env_value(l, "VTL_DRIVE1_URL", lab->vtl_drive1_url, sizeof(lab->vtl_drive1_url));
		env_value(l, "VTL_DRIVE2_URL", lab->vtl_drive2_url, sizeof(lab->vtl_drive2_url));
		env_value(l, "CHANGER_URL", lab->changer_url, sizeof(lab->changer_url));
		env_value(l, "SHARED_URL", lab->shared_url, sizeof(lab->shared_url));
		env_value(l, "SHARED2_URL", lab->shared2_url, sizeof(lab->shared2_url));
		num[0] = 0;
		env_value(l, "TGTD_CONTROL_PORT", num, sizeof(num));
		if (num[0])
			lab->control_port = atoi(num);
		num[0] = 0;
		env_value(l, "TGTD_PID", num, sizeof(num));
		if (num[0])
			lab->pid = atoi(num);
		num[0] = 0;
		env_value(l, "TGTD_PORT", num, sizeof(num));
		if (num[0])
			lab->port = atoi(num);
	}
	fclose(f);
	return lab->disk_url[0] && lab->pid > 0 ? 0 : -1;
}

void tgtlab_stop(struct tgtlab *lab)
{
	if (lab->rundir[0])
		tgtlab_cmd(lab, "stop");
}
