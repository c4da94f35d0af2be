#include "sim_evtchn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

static int port_alloc(struct sim_domain *d)
{
	for (uint32_t p = 1; p < SIM_NR_PORTS; p++)
		if (d->ports[p].state == PORT_FREE)
			return (int)p;
	return -ENOSPC;
}

static void port_free(struct sim_domain *d, uint32_t p)
{
	struct sim_port *port = &d->ports[p];

	close(port->inbox_fd);
	close(port->peer_fd);
	*port = (struct sim_port){ .state = PORT_FREE, .inbox_fd = -1, .peer_fd = -1 };
	d->ports_in_use--;
}

/* Port p of d takes its two eventfds (inbox, peer: -1 when making it
 * failed, errno says why) and its binding, and hands the fds out; on a
 * failure it closes what it got and stays free. Returns p or -errno. */
static int port_bind(struct sim_conn *c, struct sim_domain *d, int p, int inbox, int peer,
		     enum sim_port_state state, uint32_t remote, uint32_t remote_port, int fds[2])
{
	struct sim_port *port = &d->ports[p];
	int err = -errno;

	if (inbox < 0 || peer < 0) {
		if (inbox >= 0)
			close(inbox);
		if (peer >= 0)
			close(peer);
		port->inbox_fd = port->peer_fd = -1;
		return err;
	}
	port->inbox_fd = fds[0] = inbox;
	port->peer_fd = fds[1] = peer;
	port->state = state;
	port->remote_dom = remote;
	port->remote_port = remote_port;
	port->owner = c;
	d->ports_in_use++;
	return p;
}

int sim_evtchn_bind_unbound(struct sim_conn *c, struct sim_domain *d, uint32_t remote, int fds[2])
{
	int p = port_alloc(d), inbox, peer;

	if (!sim_domain_find(remote))
		return -ESRCH;
	if (p < 0)
		return p;
	inbox = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	peer = inbox < 0 ? -1 : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return port_bind(c, d, p, inbox, peer, PORT_UNBOUND, remote, 0, fds);
}

int sim_evtchn_bind_interdomain(struct sim_conn *c, struct sim_domain *d, uint32_t remote,
				uint32_t remote_port, int fds[2])
{
	struct sim_domain *rd = sim_domain_find(remote);
	struct sim_port *rp;
	int p, inbox, peer;

	if (!rd)
		return -ESRCH;
	if (remote_port == 0 || remote_port >= SIM_NR_PORTS)
		return -EINVAL;
	rp = &rd->ports[remote_port];
	/* Xen: only an unbound port offered to exactly this domain binds. */
	if (rp->state != PORT_UNBOUND || rp->remote_dom != d->domid)
		return -EINVAL;
	p = port_alloc(d);
	if (p < 0)
		return p;
	/* Each end owns its own copies of the pair, swapped. */
	inbox = fcntl(rp->peer_fd, F_DUPFD_CLOEXEC, 0);
	peer = inbox < 0 ? -1 : fcntl(rp->inbox_fd, F_DUPFD_CLOEXEC, 0);
	p = port_bind(c, d, p, inbox, peer, PORT_INTERDOMAIN, remote, remote_port, fds);
	if (p < 0)
		return p;
	rp->state = PORT_INTERDOMAIN;
	rp->remote_port = (uint32_t)p;
	return p;
}

/* Closing one end of an interdomain channel leaves the other end
 * allocated and unbound, offered again to the same domain (Xen's
 * evtchn_close), so a restarted peer can bind it once more. */
static void port_close(struct sim_domain *d, uint32_t p)
{
	struct sim_port *port = &d->ports[p];

	if (port->state == PORT_INTERDOMAIN) {
		struct sim_domain *rd = sim_domain_find(port->remote_dom);

		if (rd && port->remote_port < SIM_NR_PORTS) {
			struct sim_port *rp = &rd->ports[port->remote_port];

			if (rp->state == PORT_INTERDOMAIN && rp->remote_dom == d->domid &&
			    rp->remote_port == p) {
				rp->state = PORT_UNBOUND;
				rp->remote_dom = d->domid;
				rp->remote_port = 0;
			}
		}
	}
	port_free(d, p);
}

int sim_evtchn_unbind(struct sim_conn *c, struct sim_domain *d, uint32_t p)
{
	if (p == 0 || p >= SIM_NR_PORTS || d->ports[p].state == PORT_FREE ||
	    d->ports[p].owner != c)
		return -EINVAL;
	port_close(d, p);
	return 0;
}

int sim_evtchn_send(struct sim_domain *d, uint32_t p)
{
	uint64_t one = 1;

	if (p == 0 || p >= SIM_NR_PORTS || d->ports[p].state == PORT_FREE)
		return -EINVAL;
	if (d->ports[p].state == PORT_INTERDOMAIN &&
	    write(d->ports[p].peer_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

void sim_evtchn_conn_closed(struct sim_conn *c)
{
	struct sim_domain *d = sim_domain_find(c->domid);

	if (!d)
		return;
	for (uint32_t p = 1; p < SIM_NR_PORTS; p++)
		if (d->ports[p].state != PORT_FREE && d->ports[p].owner == c)
			port_close(d, p);
}

void sim_evtchn_domain_destroyed(struct sim_domain *d)
{
	for (uint32_t p = 1; p < SIM_NR_PORTS; p++)
		if (d->ports[p].state != PORT_FREE)
			port_close(d, p);
}
