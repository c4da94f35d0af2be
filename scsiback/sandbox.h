/* scsiback's seccomp filter (scsiback/sandbox.c). */
#ifndef SCSIBACK_SANDBOX_H
#define SCSIBACK_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

/* Restricts every thread of the process to the system calls serving
 * needs, for good. A call outside them logs one line naming it (stderr,
 * and syslog when to_syslog) and kills the process with SIGSYS. 0, or
 * -errno with the reason in err. */
int sandbox_apply(bool to_syslog, char *err, size_t errlen);

#endif
