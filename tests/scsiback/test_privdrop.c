/* A worker's privilege drop (scsiback/privdrop.c), done for real in a
 * child process (the tests run as root): afterwards it is the user it was
 * given, with no capability in any set, no_new_privs, not dumpable, no
 * core files, inside its empty directory (nothing of the host's tree
 * shows); without one it cannot read a root-only file root reads, nor
 * can it become root again. Root and unknown users
 * are refused with their name in the error. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "privdrop.h"

/* The value of a /proc/self/status field, "" if absent. Read through a
 * descriptor opened before the drop: /proc is not in the chroot. */
static int status_fd = -1;

static void status_field(const char *name, char *out, size_t len)
{
	char buf[4096], *line, *save = NULL;
	ssize_t got = pread(status_fd, buf, sizeof(buf) - 1, 0);
	size_t n = strlen(name);

	out[0] = 0;
	if (got <= 0)
		return;
	buf[got] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, name, n) && line[n] == ':') {
			char *v = line + n + 1;

			v += strspn(v, " \t");
			snprintf(out, len, "%s", v);
		}
}

/* Runs in the child: exits 0 when every property holds, else the number
 * of the first that does not (printed). */
static int child_checks(const char *user, const char *dir)
{
	char err[256], v[128];
	struct passwd *pw = getpwnam(user);
	struct rlimit r;
	uid_t ru, eu, su;

	if (!pw)
		return 90;
	status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (status_fd < 0)
		return 91;
	if (privdrop_to_user(user, dir, err, sizeof(err)) < 0) {
		fprintf(stderr, "privdrop: %s\n", err);
		return 1;
	}
	if (getresuid(&ru, &eu, &su) < 0 || ru != pw->pw_uid || eu != pw->pw_uid || su != pw->pw_uid)
		return 2;
	if (getgid() != pw->pw_gid || getegid() != pw->pw_gid || getgroups(0, NULL) != 1)
		return 3;
	status_field("CapEff", v, sizeof(v));
	if (strcmp(v, "0000000000000000"))
		return 4;
	status_field("CapPrm", v, sizeof(v));
	if (strcmp(v, "0000000000000000"))
		return 5;
	status_field("CapAmb", v, sizeof(v));
	if (v[0] && strcmp(v, "0000000000000000"))
		return 6;
	status_field("NoNewPrivs", v, sizeof(v));
	if (strcmp(v, "1"))
		return 7;
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 8;
	if (getrlimit(RLIMIT_CORE, &r) < 0 || r.rlim_max != 0)
		return 9;
	if (getrlimit(RLIMIT_NOFILE, &r) < 0 || r.rlim_max != PRIVDROP_NOFILE)
		return 10;
	/* The empty directory is all there is: the root-only file the parent
	 * made is not reachable by any path, and "/" holds nothing. */
	if (dir && access("/etc/passwd", F_OK) == 0)
		return 11;
	/* Without a chroot: what only root may read stays unread. */
	if (!dir && (open("/etc/shadow", O_RDONLY) >= 0 || errno != EACCES))
		return 13;
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
		return 12;
	return 0;
}

static int run_child(const char *user, const char *dir)
{
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_checks(user, dir));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_drop_for_good(void **state)
{
	char dir[] = "/tmp/privdrop-XXXXXX";

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(access("/etc/shadow", R_OK), 0);   /* root reads it... */
	assert_int_equal(run_child("nobody", dir), 0);
	assert_int_equal(run_child("nobody", NULL), 0);     /* ...the dropped child cannot */
	rmdir(dir);
}

static void test_root_and_unknown_refused(void **state)
{
	char err[256];
	int rc;

	(void)state;
	if (geteuid() != 0)
		skip();
	rc = privdrop_to_user("root", NULL, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err, "user \"root\" is root"));
	assert_int_equal(geteuid(), 0);   /* refused before anything changed */
	rc = privdrop_to_user("no-such-user-xyz", NULL, err, sizeof(err));
	assert_true(rc < 0);
	assert_non_null(strstr(err, "user \"no-such-user-xyz\""));
	assert_int_equal(geteuid(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_for_good),
		cmocka_unit_test(test_root_and_unknown_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
