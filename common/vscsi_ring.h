/* The vscsiif protocol as both halves include it: the real Xen header
 * (xen/io/vscsiif.h from libxen-dev) plus the memory barriers its ring
 * macros expect from userspace. */
#ifndef VSCSI_RING_H
#define VSCSI_RING_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <xen/grant_table.h>

/* ring.h maps xen_mb/rmb/wmb to mb/rmb/wmb for the default interface
 * version; userspace has none, so provide them. */
#ifndef mb
#define mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif

#include <xen/io/vscsiif.h>

#define VSCSI_RING_SIZE __CONST_RING_SIZE(vscsiif, XC_PAGE_SIZE_VSCSI)
#define XC_PAGE_SIZE_VSCSI 4096

/* rslt as the protocol carries it: host byte << 16 | SCSI status. */
static inline int32_t vscsi_rslt(uint8_t host, uint8_t status)
{
	return (int32_t)(((uint32_t)host << 16) | status);
}

/* How many data segments scsiback accepts per command (feature-sg-grant):
 * 4096 pages = 16 MiB. A tape block is one command and cannot be split,
 * and READ BLOCK LIMITS and READ(6)/WRITE(6) carry a block's length in 24
 * bits, so no tape block is larger. The indirect form carries it in 8
 * segment-table pages (it allows 26). */
#define VSCSI_BACK_MAX_SEGMENTS 4096

#endif
