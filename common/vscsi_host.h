/* The host byte of a vscsiif result (XEN_VSCSIIF_RSLT_HOST_*, Linux's
 * DID_* codes) by name, for logs and tools: libsgutils2 names SCSI
 * statuses and sense, not these. */
#ifndef VSCSI_HOST_H
#define VSCSI_HOST_H

#include <stdint.h>

/* "TRANSPORT_DISRUPTED" for 14; "unknown" for a code without a name. */
const char *vscsi_host_name(uint8_t host);

#endif
