/* A worker's TCP connections (docs/privsep.md, "iSCSI portals"): a
 * guest's worker may not call connect(2) (its seccomp filter kills it
 * there), so that one taken over by its guest cannot reach the network
 * beyond its own LUNs' portals. This file's connect() stands in for
 * libc's in the whole binary: in a worker it hands the socket and the
 * address to the broker over the worker's portal channel, and the broker
 * makes the connect itself, only to a portal of that guest's LUNs; in
 * any other process it is the system call. */
#ifndef SCSIBACK_PORTAL_H
#define SCSIBACK_PORTAL_H

#include <stdbool.h>
#include <sys/socket.h>

/* The worker's end of its portal channel, as the spawner leaves it. */
#define PORTAL_WORKER_FD 4

/* In a worker, before its filter: every connect() from now on goes to
 * the broker through fd (a SOCK_SEQPACKET socket). */
void portal_use_channel(int fd);

/* The broker's side: one request from a worker's channel. 1: a request,
 * the address in *sa (*len bytes) and the socket in *fd (close-on-exec);
 * 0: the worker closed its end; -EAGAIN: nothing to read; -EPROTO: a
 * malformed request (nothing kept); other -errno: the channel failed. */
int portal_recv(int chan, struct sockaddr_storage *sa, socklen_t *len, int *fd);
/* Answers it: rc is connect's outcome, 0 or -errno (-EINPROGRESS for a
 * non-blocking socket on its way). 0 or -errno. */
int portal_reply(int chan, int rc);

/* Whether a and b name the same address and port (IPv4 or IPv6). */
bool portal_same(const struct sockaddr *a, socklen_t alen, const struct sockaddr *b,
		 socklen_t blen);
/* "192.0.2.1:3260", "[2001:db8::1]:3260", for logs. */
const char *portal_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen);

#endif
