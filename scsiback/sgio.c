/* SG_IO in threads; see sgio.h.
 *
 * Cancelling: a thread lets SGIO_SIGNAL in (handled, without SA_RESTART)
 * only while it is inside SG_IO, so the signal ends that wait with EINTR,
 * and sg orphans the command: its data is never copied back. A signal
 * sent before the thread lets it in runs its handler before SG_IO and is
 * lost, so the canceller sends again until the job is back. One that
 * arrives after SG_IO returned is taken back with sigtimedwait before the
 * thread takes another job: it never ends another LUN's command. */
#include "sgio.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define SGIO_THREADS_MAX 64
#define SGIO_SIGNAL SIGURG
#define SGIO_STACK (512 * 1024)     /* SG_IO needs little; ASan more */
#define SGIO_KICK_MS 10              /* how often a cancel signals again */
#define SGIO_CANCEL_WARN_MS 5000

struct sgio_queue {
	struct list_link done;      /* finished, not yet reaped */
	unsigned outstanding;       /* pending or running */
	int efd;
};

struct sgio_thread {
	pthread_t t;
	struct sgio_job *job;       /* running, or NULL */
	bool kicked;                /* SGIO_SIGNAL sent for job */
};

/* Everything below is under lock, the eventfds' reads and writes too. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;        /* a job is pending, or stop */
	pthread_cond_t back;        /* a running job came back */
	struct list_link pending;
	unsigned n;
	bool stop;
	struct sgio_thread th[SGIO_THREADS_MAX];
	int (*ioctl_fn)(int fd, struct sg_io_hdr *hdr);
} sgio = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.back = PTHREAD_COND_INITIALIZER,
	.pending = { &sgio.pending, &sgio.pending },
};

static int sgio_real_ioctl(int fd, struct sg_io_hdr *hdr)
{
	return ioctl(fd, SG_IO, hdr);
}

static void sgio_on_signal(int sig)
{
	(void)sig;   /* only there to end SG_IO's wait */
}

static void sgio_wake(struct sgio_queue *q)
{
	uint64_t one = 1;

	if (write(q->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_err("sg threads: eventfd: %s", strerror(errno));
}

/* Moves job (taken out of pending or a thread) to its queue's done list. */
static void sgio_finish(struct sgio_job *job, int err)
{
	struct sgio_queue *q = job->q;

	job->err = err;
	q->outstanding--;
	list_add_tail(&q->done, &job->link);
	sgio_wake(q);
}

static void *sgio_main(void *arg)
{
	struct sgio_thread *th = arg;
	int (*run)(int, struct sg_io_hdr *);
	struct timespec zero = { 0, 0 };
	struct sgio_job *job;
	sigset_t kick;
	int e;

	sigemptyset(&kick);
	sigaddset(&kick, SGIO_SIGNAL);
	pthread_mutex_lock(&sgio.lock);
	for (;;) {
		while (list_empty(&sgio.pending) && !sgio.stop)
			pthread_cond_wait(&sgio.work, &sgio.lock);
		if (sgio.stop)
			break;
		job = list_first(&sgio.pending, struct sgio_job, link);
		list_del(&job->link);
		th->job = job;
		run = sgio.ioctl_fn ? sgio.ioctl_fn : sgio_real_ioctl;
		pthread_mutex_unlock(&sgio.lock);

		pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
		e = run(job->fd, &job->hdr) < 0 ? errno : 0;
		pthread_sigmask(SIG_BLOCK, &kick, NULL);

		pthread_mutex_lock(&sgio.lock);
		if (th->kicked) {
			/* a signal that came too late waits: not for the next job */
			sigtimedwait(&kick, NULL, &zero);
			th->kicked = false;
		}
		th->job = NULL;
		sgio_finish(job, e);
		pthread_cond_broadcast(&sgio.back);
	}
	pthread_mutex_unlock(&sgio.lock);
	return NULL;
}

int sgio_start(unsigned nthreads, char *err, size_t errlen)
{
	struct sigaction sa;
	pthread_attr_t attr;
	sigset_t all, old;
	int rc = 0;

	if (sgio.n)
		return 0;
	if (nthreads == 0 || nthreads > SGIO_THREADS_MAX) {
		snprintf(err, errlen, "sg threads: %u is not 1 to %d", nthreads, SGIO_THREADS_MAX);
		return -EINVAL;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sgio_on_signal;      /* no SA_RESTART: SG_IO must end */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SGIO_SIGNAL, &sa, NULL) < 0) {
		rc = -errno;
		snprintf(err, errlen, "sg threads: signal handler: %s", strerror(errno));
		return rc;
	}
	/* The threads start with every signal blocked: the process's
	 * signals stay the loop's (signalfd), and SGIO_SIGNAL comes in only
	 * inside SG_IO. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, SGIO_STACK);
	pthread_mutex_lock(&sgio.lock);
	for (unsigned i = 0; i < nthreads; i++) {
		rc = -pthread_create(&sgio.th[sgio.n].t, &attr, sgio_main, &sgio.th[sgio.n]);
		if (rc) {
			snprintf(err, errlen, "sg threads: thread %u of %u: %s", i + 1, nthreads,
				 strerror(-rc));
			break;
		}
		sgio.n++;
	}
	pthread_mutex_unlock(&sgio.lock);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		sgio_stop();
	return rc;
}

unsigned sgio_threads(void)
{
	return sgio.n;
}

struct sgio_queue *sgio_queue_new(void)
{
	struct sgio_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->efd < 0) {
		free(q);
		return NULL;
	}
	list_init(&q->done);
	return q;
}

int sgio_queue_fd(const struct sgio_queue *q)
{
	return q->efd;
}

void sgio_queue_free(struct sgio_queue *q)
{
	if (!q)
		return;
	close(q->efd);
	free(q);
}

void sgio_submit(struct sgio_queue *q, struct sgio_job *job)
{
	pthread_mutex_lock(&sgio.lock);
	job->q = q;
	job->err = 0;
	q->outstanding++;
	list_add_tail(&sgio.pending, &job->link);
	pthread_cond_signal(&sgio.work);
	pthread_mutex_unlock(&sgio.lock);
}

struct sgio_job *sgio_reap(struct sgio_queue *q)
{
	struct sgio_job *job = NULL;
	uint64_t v;

	pthread_mutex_lock(&sgio.lock);
	if (!list_empty(&q->done)) {
		job = list_first(&q->done, struct sgio_job, link);
		list_del(&job->link);
	} else if (read(q->efd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
		log_err("sg threads: eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&sgio.lock);
	return job;
}

static long sgio_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sgio_cancel(struct sgio_queue *q)
{
	long start = sgio_now_ms(), warned = start;
	struct list_link *l, *next;

	pthread_mutex_lock(&sgio.lock);
	for (l = sgio.pending.next; l != &sgio.pending; l = next) {
		struct sgio_job *job = list_entry(l, struct sgio_job, link);

		next = l->next;
		if (job->q == q) {
			list_del(&job->link);
			sgio_finish(job, ECANCELED);   /* never reached the device */
		}
	}
	while (q->outstanding) {
		struct timespec until;

		for (unsigned i = 0; i < sgio.n; i++) {
			if (sgio.th[i].job && sgio.th[i].job->q == q) {
				sgio.th[i].kicked = true;
				pthread_kill(sgio.th[i].t, SGIO_SIGNAL);
			}
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += SGIO_KICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&sgio.back, &sgio.lock, &until);
		if (q->outstanding && sgio_now_ms() - warned >= SGIO_CANCEL_WARN_MS) {
			/* inside the kernel where a signal cannot reach (the host's
			 * error handling): it has to come back on its own */
			warned = sgio_now_ms();
			log_warn("sg threads: %u command(s) still in the kernel %ld s after their "
				 "cancel", q->outstanding, (warned - start) / 1000);
		}
	}
	pthread_mutex_unlock(&sgio.lock);
}

void sgio_stop(void)
{
	pthread_mutex_lock(&sgio.lock);
	sgio.stop = true;
	pthread_cond_broadcast(&sgio.work);
	pthread_mutex_unlock(&sgio.lock);
	for (unsigned i = 0; i < sgio.n; i++)
		pthread_join(sgio.th[i].t, NULL);
	pthread_mutex_lock(&sgio.lock);
	sgio.n = 0;
	sgio.stop = false;
	pthread_mutex_unlock(&sgio.lock);
}

void sgio_test_set_ioctl(int (*fn)(int fd, struct sg_io_hdr *hdr))
{
	pthread_mutex_lock(&sgio.lock);
	sgio.ioctl_fn = fn;
	pthread_mutex_unlock(&sgio.lock);
}
