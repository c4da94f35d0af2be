/* The simulated libxenctrl.so.4.17 over xensimd: the domain lifecycle
 * calls a toolstack service makes (pause, unpause, destroy, getinfo) are
 * real; every other symbol of Debian's library exists as a stub that
 * aborts (generated at build time by gen-xenctrl-stubs.sh), because
 * libxenlight, libxenguest and libxlutil are linked BIND_NOW and load
 * this library into programs that only parse configs.
 *
 * Errors are Xen's: an unknown domain is ESRCH, a pause of the caller's
 * own domain or an unpause below zero EINVAL, a pause count above 255
 * EOVERFLOW, any call from a domain other than 0 EPERM. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xenctrl.h>
#include <xen/sched.h>

#include "sim_client.h"

#define EXPORT __attribute__((visibility("default")))

struct xc_interface_core {
	pthread_mutex_t lock;
	int sock;
	uint32_t self;
	struct sim_msg req, rep;
};

EXPORT xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
				       unsigned open_flags)
{
	struct xc_interface_core *h;
	uint32_t self;

	(void)logger;
	(void)dombuild_logger;
	(void)open_flags;
	h = sim_handle_alloc(sizeof(*h), &self);
	if (!h)
		return NULL;
	h->self = self;
	h->sock = sim_connect(h->self, 1);
	if (h->sock < 0) {
		/* As with no /dev/xen/privcmd: no hypervisor to talk to. */
		errno = -h->sock == ENOENT || -h->sock == ECONNREFUSED ? ENOENT : -h->sock;
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

EXPORT int xc_interface_close(xc_interface *xch)
{
	if (!xch)
		return 0;
	close(xch->sock);
	pthread_mutex_destroy(&xch->lock);
	free(xch);
	return 0;
}

/* One request of op on domid; returns 0 or -1 with errno. With rep_out,
 * the reply is copied there (under the lock). */
static int call(xc_interface *xch, uint32_t op, uint32_t domid, struct sim_msg *rep_out)
{
	int err;

	if (!xch) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&xch->lock);
	memset(&xch->req, 0, SIM_MSG_HDR_LEN);
	xch->req.op = op;
	xch->req.domid = domid;
	err = sim_call(xch->sock, &xch->req, SIM_MSG_HDR_LEN, &xch->rep, NULL, NULL);
	if (!err)
		err = -xch->rep.err;
	if (!err && rep_out)
		memcpy(rep_out, &xch->rep, sizeof(*rep_out));
	pthread_mutex_unlock(&xch->lock);
	if (err) {
		errno = -err == ECONNRESET ? EIO : -err;
		return -1;
	}
	return 0;
}

EXPORT int xc_domain_pause(xc_interface *xch, uint32_t domid)
{
	return call(xch, SIM_OP_PAUSE, domid, NULL);
}

EXPORT int xc_domain_unpause(xc_interface *xch, uint32_t domid)
{
	return call(xch, SIM_OP_UNPAUSE, domid, NULL);
}

EXPORT int xc_domain_destroy(xc_interface *xch, uint32_t domid)
{
	return call(xch, SIM_OP_DESTROY_DOMAIN, domid, NULL);
}

EXPORT int xc_domain_getinfo(xc_interface *xch, uint32_t first_domid, unsigned int max_doms,
			     xc_dominfo_t *info)
{
	struct sim_msg *rep;
	unsigned n;

	if (!xch) {
		errno = EINVAL;
		return -1;
	}
	if (xch->self != 0) {
		errno = EPERM; /* XEN_DOMCTL_getdomaininfo: the control domain's */
		return -1;
	}
	rep = malloc(sizeof(*rep));
	if (!rep)
		return -1;
	if (call(xch, SIM_OP_LIST_DOMAINS, first_domid, rep)) {
		int e = errno;

		free(rep);
		errno = e;
		return -1;
	}
	n = rep->count < max_doms ? rep->count : max_doms;
	for (unsigned i = 0; i < n; i++) {
		const struct sim_domain_info *d = &rep->u.doms[i];
		xc_dominfo_t *o = &info[i];

		memset(o, 0, sizeof(*o));
		o->domid = d->domid;
		o->shutdown = d->shutdown;
		o->shutdown_reason = d->shutdown ? d->shutdown_reason : 0;
		o->crashed = d->shutdown && d->shutdown_reason == SHUTDOWN_crash;
		o->paused = d->pause_count > 0;
		o->running = !o->paused && !o->shutdown && !o->dying;
		o->blocked = 0;
		o->nr_pages = (unsigned long)d->memory_mib * 256;
		o->max_memkb = (unsigned long)d->memory_mib * 1024;
		o->nr_online_vcpus = 1;
		o->max_vcpu_id = 0;
		o->gpaddr_bits = 52;
		memcpy(o->handle, d->uuid, sizeof(o->handle));
	}
	free(rep);
	return (int)n;
}
