/* Persistent grants: guest pages mapped once and kept for the life of a
 * ring, for frontends that promise not to end their grants while
 * connected (feature-persistent, docs/protocol.md). A LUN driver then
 * reads and writes the guest's pages through iovecs, with no copy.
 *
 * A cache belongs to one ring and to every command still using its pages:
 * it is unmapped when the ring has gone and the last such command has
 * ended (a device may still be writing into a page after a disconnect). */
#ifndef VSCSI_PGRANT_H
#define VSCSI_PGRANT_H

#include <stdbool.h>
#include <stdint.h>
#include <xengnttab.h>

/* Pages one ring may keep mapped (an 8 MiB pool: 1 MiB commands eight
 * at a time), and all rings together: each mapping is a memory area of
 * its own, and a process has at most vm.max_map_count (65530 by default)
 * of them, which its rings, buffers and libraries need too. A command
 * whose pages do not fit goes by grant copy. */
#define PGRANT_MAX_PAGES 2048u
#define PGRANT_DAEMON_MAX_PAGES 32768u

struct pgrant_cache;

struct pgrant_cache *pgrant_cache_new(xengnttab_handle *gnt, uint32_t domid, unsigned max_pages);
void pgrant_cache_hold(struct pgrant_cache *c);
/* Drops a reference; the last one unmaps every page and frees the cache. */
void pgrant_cache_drop(struct pgrant_cache *c);

/* The guest page of gref, mapped now or earlier; writable when the
 * command moves data into it (a page granted read-only is never handed
 * out for writing). NULL with errno ENOSPC when this ring or the daemon
 * has mapped its share or the system has no room for another mapping
 * (copy instead), or the error of a mapping Xen refused (a bad or ended
 * grant, a read-only grant for data in). */
uint8_t *pgrant_page(struct pgrant_cache *c, uint32_t gref, bool write);
unsigned pgrant_mapped(const struct pgrant_cache *c);

#endif
