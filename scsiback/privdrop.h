/* Dropping a worker's privileges for good (docs/privsep.md): after what
 * it needs from root is open (its grant and event-channel handles), a
 * guest's worker becomes an ordinary system user with no capabilities,
 * no way back, no filesystem beyond an empty directory and no resources
 * to spare. Its seccomp filter (sandbox.h) comes after. */
#ifndef SCSIBACK_PRIVDROP_H
#define SCSIBACK_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>

/* Descriptors a worker may hold: its LUNs' (an sg node or an iSCSI
 * socket each, a socket while reconnecting), its rings', the broker's. */
#define PRIVDROP_NOFILE 1024

/* Becomes user (a name from the passwd database, never root) with only
 * its own group, inside root_dir (chroot; NULL stays where it is), with
 * no_new_privs, not dumpable (another process of the same user cannot
 * ptrace or read it), no core files, no locked memory
 * and at most PRIVDROP_NOFILE descriptors; then checks that root cannot
 * be had back. Call as root. 0, or -errno with what failed in err; on
 * failure the process must exit, it may be half dropped. */
int privdrop_to_user(const char *user, const char *root_dir, char *err, size_t errlen);

/* Gives up what only starting workers needs (setuid, setgid, chroot) in
 * the process that goes on as the broker, once the spawner has forked:
 * from the effective, permitted and inheritable sets. A broker with
 * workers keeps CAP_KILL (a worker that breaks the protocol is killed,
 * and it runs as another user); one without (with_workers false) gives
 * that up too. 0, or -errno with what failed in err. */
int privdrop_spawn_caps(bool with_workers, char *err, size_t errlen);

#endif
