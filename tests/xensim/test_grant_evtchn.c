/* Grants and event channels of the simulated Xen, through the drop-in
 * libxengnttab/libxenevtchn exactly as a backend and a frontend use them,
 * across domains and processes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

#include "simenv.h"

static struct simenv env;
static int dom1, dom2;

static xengntshr_handle *shr_open_as(int domid)
{
	simenv_be_domain(&env, domid);
	return xengntshr_open(NULL, 0);
}

static xengnttab_handle *gnt_open_as(int domid)
{
	simenv_be_domain(&env, domid);
	return xengnttab_open(NULL, 0);
}

static xenevtchn_handle *evt_open_as(int domid)
{
	simenv_be_domain(&env, domid);
	return xenevtchn_open(NULL, 0);
}

/* Waits up to ms for an event on h; returns the port or -1. */
static int wait_event(xenevtchn_handle *h, int ms)
{
	struct pollfd p = { .fd = xenevtchn_fd(h), .events = POLLIN };

	if (poll(&p, 1, ms) != 1)
		return -1;
	return xenevtchn_pending(h);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void test_share_map_roundtrip(void **state)
{
	uint32_t refs[4];
	xengntshr_handle *shr = shr_open_as(dom1);
	xengnttab_handle *gnt = gnt_open_as(0);
	uint8_t *front, *back;

	(void)state;
	assert_non_null(shr);
	assert_non_null(gnt);
	front = xengntshr_share_pages(shr, 0, 4, refs, 1);
	assert_non_null(front);
	for (int i = 0; i < 4; i++)
		assert_true(refs[i] >= 8); /* Xen keeps the first 8 refs */
	memset(front, 0xa5, 4 * 4096);
	front[4096 * 3 + 17] = 0x3c;
	back = xengnttab_map_domain_grant_refs(gnt, 4, (uint32_t)dom1, refs, PROT_READ | PROT_WRITE);
	assert_non_null(back);
	assert_int_equal(back[0], 0xa5);
	assert_int_equal(back[4096 * 3 + 17], 0x3c);
	back[4096 * 2 + 5] = 0x77; /* the backend writes, the frontend sees it */
	assert_int_equal(front[4096 * 2 + 5], 0x77);
	assert_int_equal(xengnttab_unmap(gnt, back, 4), 0);
	/* Unmapping something not mapped is an error. */
	assert_int_equal(xengnttab_unmap(gnt, back, 4), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(xengntshr_unshare(shr, front, 4), 0);
	/* An ended grant no longer maps. */
	assert_null(xengnttab_map_grant_ref(gnt, (uint32_t)dom1, refs[0], PROT_READ));
	assert_int_equal(errno, EINVAL);
	xengnttab_close(gnt);
	xengntshr_close(shr);
}

static void test_readonly_and_wrong_domain(void **state)
{
	uint32_t ro_ref, other_ref;
	xengntshr_handle *shr = shr_open_as(dom1);
	xengnttab_handle *gnt = gnt_open_as(0);
	uint8_t *ro_page, *other_page, *m, buf[64];
	xengnttab_grant_copy_segment_t seg;

	(void)state;
	ro_page = xengntshr_share_pages(shr, 0, 1, &ro_ref, 0);
	other_page = xengntshr_share_pages(shr, (uint32_t)dom2, 1, &other_ref, 1);
	assert_non_null(ro_page);
	assert_non_null(other_page);
	strcpy((char *)ro_page, "read only");

	/* A read-only grant refuses a writable mapping... */
	assert_null(xengnttab_map_grant_ref(gnt, (uint32_t)dom1, ro_ref, PROT_READ | PROT_WRITE));
	assert_int_equal(errno, EACCES);
	/* ...but maps for reading. */
	m = xengnttab_map_grant_ref(gnt, (uint32_t)dom1, ro_ref, PROT_READ);
	assert_non_null(m);
	assert_string_equal((char *)m, "read only");
	assert_int_equal(xengnttab_unmap(gnt, m, 1), 0);

	/* A grant to dom2 does not map in dom0. */
	assert_null(xengnttab_map_grant_ref(gnt, (uint32_t)dom1, other_ref, PROT_READ));
	assert_int_equal(errno, EACCES);
	/* A ref that was never granted, and one out of range. */
	assert_null(xengnttab_map_grant_ref(gnt, (uint32_t)dom1, 30000, PROT_READ));
	assert_null(xengnttab_map_grant_ref(gnt, (uint32_t)dom1, 0xffffff, PROT_READ));
	/* A domain that does not exist. */
	assert_null(xengnttab_map_grant_ref(gnt, 999, ro_ref, PROT_READ));
	assert_int_equal(errno, ESRCH);

	/* Grant copy honours the same rules per segment. */
	memset(&seg, 0, sizeof(seg));
	seg.flags = GNTCOPY_dest_gref;
	seg.source.virt = buf;
	seg.dest.foreign.ref = ro_ref;
	seg.dest.foreign.domid = (uint16_t)dom1;
	seg.len = sizeof(buf);
	assert_int_equal(xengnttab_grant_copy(gnt, 1, &seg), 0);
	assert_int_equal(seg.status, GNTST_permission_denied);
	assert_string_equal((char *)ro_page, "read only");

	seg.flags = GNTCOPY_source_gref;
	seg.source.foreign.ref = ro_ref;
	seg.source.foreign.domid = (uint16_t)dom1;
	seg.source.foreign.offset = 0;
	seg.dest.virt = buf;
	assert_int_equal(xengnttab_grant_copy(gnt, 1, &seg), 0);
	assert_int_equal(seg.status, GNTST_okay);
	assert_string_equal((char *)buf, "read only");

	seg.source.foreign.offset = 4090; /* crosses the page end */
	assert_int_equal(xengnttab_grant_copy(gnt, 1, &seg), 0);
	assert_int_equal(seg.status, GNTST_bad_copy_arg);

	seg.source.foreign.offset = 0;
	seg.source.foreign.ref = other_ref; /* granted to dom2 */
	assert_int_equal(xengnttab_grant_copy(gnt, 1, &seg), 0);
	assert_int_equal(seg.status, GNTST_permission_denied);

	xengnttab_close(gnt);
	xengntshr_close(shr);
}

static void test_grant_copy_into_frontend(void **state)
{
	uint32_t ref;
	xengntshr_handle *shr = shr_open_as(dom1);
	xengnttab_handle *gnt = gnt_open_as(0);
	uint8_t *page, src[4096];
	xengnttab_grant_copy_segment_t seg = { .flags = GNTCOPY_dest_gref, .len = 100 };

	(void)state;
	page = xengntshr_share_pages(shr, 0, 1, &ref, 1);
	assert_non_null(page);
	for (int i = 0; i < 4096; i++)
		src[i] = (uint8_t)(i * 7);
	seg.source.virt = src;
	seg.dest.foreign.ref = ref;
	seg.dest.foreign.domid = (uint16_t)dom1;
	seg.dest.foreign.offset = 3000;
	assert_int_equal(xengnttab_grant_copy(gnt, 1, &seg), 0);
	assert_int_equal(seg.status, GNTST_okay);
	assert_memory_equal(page + 3000, src, 100);
	assert_int_equal(page[2999], 0);
	assert_int_equal(page[3100], 0);
	xengnttab_close(gnt);
	xengntshr_close(shr);
}

static void test_evtchn_bind_notify(void **state)
{
	xenevtchn_handle *front = evt_open_as(dom1);
	xenevtchn_handle *back = evt_open_as(0);
	int fport, bport;

	(void)state;
	assert_non_null(front);
	assert_non_null(back);
	fport = xenevtchn_bind_unbound_port(front, 0);
	assert_true(fport > 0);
	bport = xenevtchn_bind_interdomain(back, (uint32_t)dom1, (evtchn_port_t)fport);
	assert_true(bport > 0);

	assert_int_equal(wait_event(front, 0), -1); /* nothing pending yet */
	assert_int_equal(xenevtchn_notify(back, (evtchn_port_t)bport), 0);
	assert_int_equal(wait_event(front, 2000), fport);
	/* Masked until unmasked: a second notify is not delivered before. */
	assert_int_equal(xenevtchn_notify(back, (evtchn_port_t)bport), 0);
	assert_int_equal(wait_event(front, 50), -1);
	assert_int_equal(xenevtchn_unmask(front, (evtchn_port_t)fport), 0);
	assert_int_equal(wait_event(front, 2000), fport);
	assert_int_equal(xenevtchn_unmask(front, (evtchn_port_t)fport), 0);

	assert_int_equal(xenevtchn_notify(front, (evtchn_port_t)fport), 0);
	assert_int_equal(wait_event(back, 2000), bport);
	assert_int_equal(xenevtchn_unmask(back, (evtchn_port_t)bport), 0);

	/* Binding the same unbound port twice fails: it is taken. */
	assert_int_equal(xenevtchn_bind_interdomain(back, (uint32_t)dom1, (evtchn_port_t)fport), -1);
	assert_int_equal(errno, EINVAL);

	/* Unbinding the backend end leaves the frontend's port allocated and
	 * offered again to dom0, as a restarted backend needs. */
	assert_int_equal(xenevtchn_unbind(back, (evtchn_port_t)bport), 0);
	assert_int_equal(xenevtchn_notify(back, (evtchn_port_t)bport), -1);
	assert_int_equal(errno, EINVAL);
	bport = xenevtchn_bind_interdomain(back, (uint32_t)dom1, (evtchn_port_t)fport);
	assert_true(bport > 0);
	assert_int_equal(xenevtchn_notify(back, (evtchn_port_t)bport), 0);
	assert_int_equal(wait_event(front, 2000), fport);

	xenevtchn_close(back);
	xenevtchn_close(front);
}

static void test_evtchn_rules(void **state)
{
	xenevtchn_handle *d1 = evt_open_as(dom1);
	xenevtchn_handle *d0 = evt_open_as(0);
	int p;

	(void)state;
	/* A port offered to dom2 does not bind from dom0. */
	p = xenevtchn_bind_unbound_port(d1, (uint32_t)dom2);
	assert_true(p > 0);
	assert_int_equal(xenevtchn_bind_interdomain(d0, (uint32_t)dom1, (evtchn_port_t)p), -1);
	assert_int_equal(errno, EINVAL);
	/* Nor does a free port, port 0, or a port of a missing domain. */
	assert_int_equal(xenevtchn_bind_interdomain(d0, (uint32_t)dom1, 4000), -1);
	assert_int_equal(xenevtchn_bind_interdomain(d0, (uint32_t)dom1, 0), -1);
	assert_int_equal(xenevtchn_bind_interdomain(d0, 999, 1), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(xenevtchn_bind_unbound_port(d0, 999), -1);
	assert_int_equal(errno, ESRCH);
	/* Ports that are not ours cannot be notified, unmasked or unbound. */
	assert_int_equal(xenevtchn_notify(d0, 77), -1);
	assert_int_equal(xenevtchn_unmask(d0, 77), -1);
	assert_int_equal(xenevtchn_unbind(d0, (evtchn_port_t)p), -1);
	/* Unsupported here, as the issue says: virq. */
	assert_int_equal(xenevtchn_bind_virq(d0, 1), -1);
	assert_int_equal(errno, ENOSYS);
	xenevtchn_close(d0);
	xenevtchn_close(d1);
}

/* Frontend in a child process (dom1), backend here (dom0): grant, bind,
 * ping-pong with events; then the child dies and its grants go away while
 * our port stays allocated. */
static void test_two_processes(void **state)
{
	int to_child[2], to_parent[2];
	struct { uint32_t ref; uint32_t port; } info;
	xengnttab_handle *gnt;
	xenevtchn_handle *evt;
	uint8_t *page;
	pid_t pid;
	int bport, status;
	char go = 'x';
	const int rounds = 2000;
	double t0, t1;

	(void)state;
	assert_int_equal(pipe(to_child), 0);
	assert_int_equal(pipe(to_parent), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		xengntshr_handle *shr = shr_open_as(dom1);
		xenevtchn_handle *ev = evt_open_as(dom1);
		uint8_t *p;
		int port, n = 0;

		if (!shr || !ev)
			_exit(10);
		p = xengntshr_share_pages(shr, 0, 1, &info.ref, 1);
		port = xenevtchn_bind_unbound_port(ev, 0);
		if (!p || port <= 0)
			_exit(11);
		strcpy((char *)p, "hello from dom1");
		info.port = (uint32_t)port;
		if (write(to_parent[1], &info, sizeof(info)) != sizeof(info))
			_exit(12);
		/* Echo every event back, rounds times, then wait to be told to die. */
		while (n < rounds) {
			int got = wait_event(ev, 5000);

			if (got != port)
				_exit(13);
			xenevtchn_unmask(ev, (evtchn_port_t)port);
			xenevtchn_notify(ev, (evtchn_port_t)port);
			n++;
		}
		if (read(to_child[0], &go, 1) != 1)
			_exit(14);
		_exit(p[100] == 0x42 ? 0 : 15);
	}
	assert_int_equal(read(to_parent[0], &info, sizeof(info)), sizeof(info));
	gnt = gnt_open_as(0);
	evt = evt_open_as(0);
	page = xengnttab_map_grant_ref(gnt, (uint32_t)dom1, info.ref, PROT_READ | PROT_WRITE);
	assert_non_null(page);
	assert_string_equal((char *)page, "hello from dom1");
	page[100] = 0x42;
	bport = xenevtchn_bind_interdomain(evt, (uint32_t)dom1, info.port);
	assert_true(bport > 0);
	t0 = now_us();
	for (int i = 0; i < rounds; i++) {
		assert_int_equal(xenevtchn_notify(evt, (evtchn_port_t)bport), 0);
		assert_int_equal(wait_event(evt, 5000), bport);
		xenevtchn_unmask(evt, (evtchn_port_t)bport);
	}
	t1 = now_us();
	printf("# event channel round trip across processes: %.1f us (mean of %d, blocking poll)\n",
	       (t1 - t0) / rounds, rounds);
	assert_int_equal(write(to_child[1], &go, 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* The sharing process died: gntalloc ends its grants, new maps fail
	 * (xensimd sees the death asynchronously: allow it 2 s); the page we
	 * still map stays readable, as with a real grant map. */
	{
		void *again = NULL;

		for (int i = 0; i < 200; i++) {
			again = xengnttab_map_grant_ref(gnt, (uint32_t)dom1, info.ref, PROT_READ);
			if (!again)
				break;
			xengnttab_unmap(gnt, again, 1);
			nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
		}
		assert_null(again);
	}
	assert_int_equal(page[100], 0x42);
	assert_int_equal(xengnttab_unmap(gnt, page, 1), 0);
	/* Our end of the channel is still ours; notifying it is not an error. */
	assert_int_equal(xenevtchn_notify(evt, (evtchn_port_t)bport), 0);
	xenevtchn_close(evt);
	xengnttab_close(gnt);
}

/* A mapping process that dies leaves the grant valid for the next one. */
static void test_mapper_death_keeps_grant(void **state)
{
	uint32_t ref;
	xengntshr_handle *shr = shr_open_as(dom1);
	uint8_t *page = xengntshr_share_pages(shr, 0, 1, &ref, 1);
	xengnttab_handle *gnt;
	pid_t pid;
	int status;

	(void)state;
	assert_non_null(page);
	pid = fork();
	if (pid == 0) {
		xengnttab_handle *g = gnt_open_as(0);
		uint8_t *m = g ? xengnttab_map_grant_ref(g, (uint32_t)dom1, ref, PROT_READ | PROT_WRITE) : NULL;

		if (!m)
			_exit(1);
		m[0] = 0x99;
		_exit(0); /* dies with the mapping in place */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(page[0], 0x99);
	gnt = gnt_open_as(0);
	assert_non_null(xengnttab_map_grant_ref(gnt, (uint32_t)dom1, ref, PROT_READ | PROT_WRITE));
	xengnttab_close(gnt);
	xengntshr_close(shr);
}

/* share_page_notify: when the sharer goes away the byte is cleared and the
 * peer gets an event, so a backend learns of a dead frontend at once. */
static void test_share_notify_on_close(void **state)
{
	xenevtchn_handle *fe = evt_open_as(dom1), *be = evt_open_as(0);
	xengntshr_handle *shr;
	xengnttab_handle *gnt = gnt_open_as(0);
	int fport = xenevtchn_bind_unbound_port(fe, 0), bport;
	uint32_t ref;
	uint8_t *page, *m;

	(void)state;
	bport = xenevtchn_bind_interdomain(be, (uint32_t)dom1, (evtchn_port_t)fport);
	assert_true(bport > 0);
	shr = shr_open_as(dom1);
	page = xengntshr_share_page_notify(shr, 0, &ref, 1, 8, (evtchn_port_t)fport);
	assert_non_null(page);
	page[8] = 1;
	m = xengnttab_map_grant_ref(gnt, (uint32_t)dom1, ref, PROT_READ);
	assert_non_null(m);
	assert_int_equal(m[8], 1);
	xengntshr_close(shr);
	assert_int_equal(wait_event(be, 2000), bport);
	assert_int_equal(m[8], 0);
	xengnttab_close(gnt);
	xenevtchn_close(be);
	xenevtchn_close(fe);
}

static void test_map_cost(void **state)
{
	uint32_t ref;
	xengntshr_handle *shr = shr_open_as(dom1);
	xengnttab_handle *gnt = gnt_open_as(0);
	uint8_t *page = xengntshr_share_pages(shr, 0, 1, &ref, 1);
	const int n = 20000;
	double t0;

	(void)state;
	assert_non_null(page);
	t0 = now_us();
	for (int i = 0; i < n; i++) {
		void *m = xengnttab_map_grant_ref(gnt, (uint32_t)dom1, ref, PROT_READ | PROT_WRITE);

		assert_non_null(m);
		assert_int_equal(xengnttab_unmap(gnt, m, 1), 0);
	}
	printf("# grant map+unmap of one page: %.2f us (mean of %d)\n", (now_us() - t0) / n, n);
	xengnttab_close(gnt);
	xengntshr_close(shr);
}

/* Destroying a domain ends its grants and channels and fires
 * @releaseDomain; its peers' ends stay allocated. */
static void test_domain_destroy(void **state)
{
	int d = simenv_create_domain(&env, "doomed");
	xengntshr_handle *shr;
	xengnttab_handle *gnt;
	xenevtchn_handle *fe, *be;
	struct xs_handle *xs;
	uint32_t ref;
	int fport, bport;
	unsigned int n;
	char **ev;
	char out[4096];

	(void)state;
	assert_true(d > 0);
	shr = shr_open_as(d);
	fe = evt_open_as(d);
	gnt = gnt_open_as(0);
	be = evt_open_as(0);
	assert_non_null(xengntshr_share_pages(shr, 0, 1, &ref, 1));
	fport = xenevtchn_bind_unbound_port(fe, 0);
	bport = xenevtchn_bind_interdomain(be, (uint32_t)d, (evtchn_port_t)fport);
	assert_true(bport > 0);
	xs = simenv_xs_open(&env, 0);
	assert_non_null(xs);
	assert_true(xs_watch(xs, "@releaseDomain", "rel"));
	ev = xs_read_watch(xs, &n); /* the initial event */
	assert_non_null(ev);
	free(ev);

	assert_int_equal(simenv_destroy_domain(&env, d), 0);
	ev = xs_read_watch(xs, &n);
	assert_non_null(ev);
	assert_string_equal(ev[XS_WATCH_PATH], "@releaseDomain");
	free(ev);
	assert_null(xengnttab_map_grant_ref(gnt, (uint32_t)d, ref, PROT_READ));
	assert_int_equal(errno, ESRCH);
	assert_null(xs_read(xs, XBT_NULL, "/local/domain/doomed", NULL));
	assert_int_equal(xenevtchn_notify(be, (evtchn_port_t)bport), 0);
	assert_int_equal(simenv_run(&env, 0, out, sizeof(out),
				    simenv_prog("tools/xensim/xensim"), "list", NULL), 0);
	assert_null(strstr(out, "doomed"));
	/* The dead domain's own handles fail cleanly. */
	assert_null(xengntshr_share_pages(shr, 0, 1, &ref, 1));
	assert_int_equal(errno, ESRCH);
	xs_close(xs);
	xenevtchn_close(be);
	xenevtchn_close(fe);
	xengnttab_close(gnt);
	xengntshr_close(shr);
}

static int setup(void **state)
{
	(void)state;
	if (simenv_start(&env) != 0)
		return -1;
	dom1 = simenv_create_domain(&env, "front1");
	dom2 = simenv_create_domain(&env, "front2");
	return dom1 > 0 && dom2 > 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	simenv_stop(&env);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_share_map_roundtrip),
		cmocka_unit_test(test_readonly_and_wrong_domain),
		cmocka_unit_test(test_grant_copy_into_frontend),
		cmocka_unit_test(test_evtchn_bind_notify),
		cmocka_unit_test(test_evtchn_rules),
		cmocka_unit_test(test_two_processes),
		cmocka_unit_test(test_mapper_death_keeps_grant),
		cmocka_unit_test(test_share_notify_on_close),
		cmocka_unit_test(test_map_cost),
		cmocka_unit_test(test_domain_destroy),
	};

	simenv_use_sim_libs(argc, argv);
	return cmocka_run_group_tests(tests, setup, teardown);
}
