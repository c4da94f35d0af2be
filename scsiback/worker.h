/* A guest's worker (docs/privsep.md): `scsiback --worker ...`, started
 * by the spawner with its socket to the broker as fd 3. It serves the
 * vhosts of one guest domain with no privilege: what it needs from root
 * is opened first, then it drops to its user in an empty root and loads
 * its seccomp filter, and takes what the broker sends. */
#ifndef SCSIBACK_WORKER_H
#define SCSIBACK_WORKER_H

/* The worker's main(): argv as spawner.c writes it. Its exit status. */
int worker_main(int argc, char **argv);

#endif
