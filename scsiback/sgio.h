/* Threads that run sg commands with SG_IO, for a process that may not use
 * sg's queued interface (lun_sg.c's default): Linux's sg refuses write()
 * and read() to a process whose credentials are not the opener's, which
 * is a guest's worker (its descriptors come from the broker, and it
 * dropped root: docs/privsep.md). SG_IO is not refused, but it blocks
 * until the command is done, so each command runs in one of a fixed set
 * of threads, started before the worker gives up the right to start more
 * (its RLIMIT_NPROC is 0 and its filter has no clone).
 *
 * A LUN has a queue: its finished commands wait there, and its eventfd
 * wakes the loop. Jobs run in the order they were given, on whichever
 * thread is free: a caller that needs its commands to reach the device in
 * order (a tape) gives one at a time. */
#ifndef SCSIBACK_SGIO_H
#define SCSIBACK_SGIO_H

#include <scsi/sg.h>
#include <stdbool.h>
#include <stddef.h>

#include "list.h"

struct sgio_queue;

/* One command: hdr as for SG_IO; err is 0 or the errno SG_IO failed
 * with (sgio_cancel: EINTR when the device may still run it, ECANCELED
 * when it never reached the device). */
struct sgio_job {
	struct list_link link;      /* pending, then in its queue's done list */
	struct sgio_queue *q;
	int fd;
	struct sg_io_hdr hdr;
	int err;
};

/* Starts nthreads threads for this process (once). 0 or -errno with err
 * set. */
int sgio_start(unsigned nthreads, char *err, size_t errlen);
/* How many threads there are (0 before sgio_start): while there are, sg
 * LUNs opened use them. */
unsigned sgio_threads(void);

/* A LUN's queue, with its eventfd (non-blocking, readable while done
 * jobs wait). NULL with errno set. */
struct sgio_queue *sgio_queue_new(void);
int sgio_queue_fd(const struct sgio_queue *q);
/* Frees q: none of its jobs may be pending or running (sgio_cancel). */
void sgio_queue_free(struct sgio_queue *q);

/* Gives job (fd and hdr set) to the threads. */
void sgio_submit(struct sgio_queue *q, struct sgio_job *job);
/* The next finished job of q, or NULL (then the eventfd is drained). */
struct sgio_job *sgio_reap(struct sgio_queue *q);
/* Takes q's pending jobs back and interrupts its running ones (their
 * SG_IO ends with EINTR: sg forgets the command, whose data then never
 * reaches our memory); returns when none is left in a thread, each in
 * q's done list. */
void sgio_cancel(struct sgio_queue *q);

/* Stops the threads; no job may be pending or running. */
void sgio_stop(void);
/* Tests: stand in for the SG_IO ioctl (NULL: the real one). */
void sgio_test_set_ioctl(int (*fn)(int fd, struct sg_io_hdr *hdr));

#endif
