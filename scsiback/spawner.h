/* The worker spawner (docs/privsep.md): a small root process forked
 * before the broker loads its seccomp filter, so that the broker itself
 * never needs exec, setuid or chroot. On the broker's request it starts a
 * guest's worker (this binary, scsiback --worker) on a socket the broker
 * made, and reaps the workers that end, logging how. It ends when the
 * broker does. */
#ifndef SCSIBACK_SPAWNER_H
#define SCSIBACK_SPAWNER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* What every worker is started with. */
struct spawner_opts {
	const char *user;             /* the workers' system user */
	const char *jail;             /* their chroot: an empty directory */
	int log_level;
	bool to_syslog;
	long poll_us;
	bool seccomp;
	int locks[2];                 /* the broker's lock files (-1: none): the
				       * spawner closes its copies, so that a new
				       * broker can lock them once this one is gone */
};

/* Forks the spawner; returns the broker's end of its socket, or -errno
 * (logged). */
int spawner_start(const struct spawner_opts *o);
/* Starts the worker of domid on sock and chan (the worker's ends of its
 * socket and of its portal channel, portal.h; kept open by the caller
 * until this returns); its pid, or -errno. */
pid_t spawner_spawn(int spawner, uint32_t domid, int sock, int chan);

#endif
