/* A worker's privilege drop; see privdrop.h. */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static int privdrop_fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	if (e && n < errlen)
		snprintf(err + n, errlen - n, ": %s", strerror(e));
	return -(e ? e : EPERM);
}

static int privdrop_limits(char *err, size_t errlen)
{
	static const struct {
		int res;
		const char *name;
		rlim_t v;
	} lims[] = {
		{ RLIMIT_CORE, "RLIMIT_CORE", 0 },        /* guest data must not land in a core file */
		{ RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK", 0 },
		{ RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE", 0 },
		{ RLIMIT_LOCKS, "RLIMIT_LOCKS", 0 },
		{ RLIMIT_NPROC, "RLIMIT_NPROC", 0 },      /* no fork, no thread (seccomp too) */
		{ RLIMIT_NOFILE, "RLIMIT_NOFILE", PRIVDROP_NOFILE },
	};

	for (size_t i = 0; i < sizeof(lims) / sizeof(lims[0]); i++) {
		struct rlimit r = { lims[i].v, lims[i].v };

		if (setrlimit(lims[i].res, &r) < 0)
			return privdrop_fail(err, errlen, errno, "setrlimit(%s, %llu)", lims[i].name,
					     (unsigned long long)lims[i].v);
	}
	return 0;
}

int privdrop_spawn_caps(bool with_workers, char *err, size_t errlen)
{
	static const int spawn_only[] = { CAP_SETUID, CAP_SETGID, CAP_SYS_CHROOT, CAP_KILL };
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct caps[2];

	if (syscall(SYS_capget, &hdr, caps) < 0)
		return privdrop_fail(err, errlen, errno, "capget");
	for (size_t i = 0; i < sizeof(spawn_only) / sizeof(*spawn_only); i++) {
		if (spawn_only[i] == CAP_KILL && with_workers)
			continue;
		uint32_t bit = 1u << (spawn_only[i] % 32);
		int w = spawn_only[i] / 32;

		caps[w].effective &= ~bit;
		caps[w].permitted &= ~bit;
		caps[w].inheritable &= ~bit;
	}
	if (syscall(SYS_capset, &hdr, caps) < 0)
		return privdrop_fail(err, errlen, errno, "capset");
	return 0;
}

int privdrop_to_user(const char *user, const char *root_dir, char *err, size_t errlen)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct caps[2];
	int rc;

	errno = 0;
	pw = getpwnam(user);
	if (!pw)
		return privdrop_fail(err, errlen, errno ? errno : ENOENT, "user \"%s\"", user);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0 || gid == 0)
		return privdrop_fail(err, errlen, EINVAL, "user \"%s\" is root or in group root", user);
	if (root_dir && (chdir(root_dir) < 0 || chroot(".") < 0 || chdir("/") < 0))
		return privdrop_fail(err, errlen, errno, "chroot to %s", root_dir);
	if (setgroups(1, &gid) < 0)
		return privdrop_fail(err, errlen, errno, "setgroups(%u)", (unsigned)gid);
	if (setresgid(gid, gid, gid) < 0)
		return privdrop_fail(err, errlen, errno, "setresgid(%u)", (unsigned)gid);
	if (setresuid(uid, uid, uid) < 0)
		return privdrop_fail(err, errlen, errno, "setresuid(%u)", (unsigned)uid);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return privdrop_fail(err, errlen, errno, "no_new_privs");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return privdrop_fail(err, errlen, errno, "not dumpable");
	rc = privdrop_limits(err, errlen);
	if (rc < 0)
		return rc;
	/* No way back: the saved ids went too, and no capability is left
	 * (setresuid from root to another user clears them all). */
	if (setuid(0) == 0 || setgid(0) == 0)
		return privdrop_fail(err, errlen, 0, "root could be had back after the drop");
	if (syscall(SYS_capget, &hdr, caps) < 0)
		return privdrop_fail(err, errlen, errno, "capget");
	for (int i = 0; i < 2; i++)
		if (caps[i].effective || caps[i].permitted || caps[i].inheritable)
			return privdrop_fail(err, errlen, 0, "capabilities left after the drop");
	return 0;
}
