/* Host byte names; see vscsi_host.h. */
#include "vscsi_host.h"

const char *vscsi_host_name(uint8_t host)
{
	/* In the order of xen/io/vscsiif.h's XEN_VSCSIIF_RSLT_HOST_* values. */
	static const char *const names[] = {
		"OK", "NO_CONNECT", "BUS_BUSY", "TIME_OUT", "BAD_TARGET", "ABORT", "PARITY", "ERROR",
		"RESET", "BAD_INTR", "PASSTHROUGH", "SOFT_ERROR", "IMM_RETRY", "REQUEUE",
		"TRANSPORT_DISRUPTED", "TRANSPORT_FAILFAST", "TARGET_FAILURE", "NEXUS_FAILURE",
		"ALLOC_FAILURE", "MEDIUM_ERROR", "TRANSPORT_MARGINAL",
	};

	return host < sizeof(names) / sizeof(names[0]) ? names[host] : "unknown";
}
