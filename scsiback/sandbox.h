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
/* The same for a guest's worker (docs/privsep.md), much narrower: no
 * file by name (EACCES), no unix socket (EACCES), TCP sockets only, no
 * process, thread, exec, ptrace, module or id change, signals to itself
 * only, no executable memory. Call after privdrop_to_user. */
int sandbox_apply_worker(bool to_syslog, char *err, size_t errlen);
/* Who the SIGSYS line names before "killed by its seccomp filter"
 * ("worker for domain 3"); nothing by default. */
void sandbox_name(const char *who);

#endif
