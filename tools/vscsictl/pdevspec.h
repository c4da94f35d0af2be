/* From what the administrator names to the p-dev written in xenstore,
 * checked before anything is written:
 *  - for scsiback: any form scsiback accepts (pdev.h), resolved on this
 *    host when scsiback runs here, only checked for form when it runs in
 *    another (driver) domain; written as given;
 *  - for the Linux kernel backend: "naa.<16 hex>:<lun>" as given, or a
 *    dom0 device path / H:C:T:L looked up in LIO's configfs (lio.h). */
#ifndef VSCSICTL_PDEVSPEC_H
#define VSCSICTL_PDEVSPEC_H

#include <stdbool.h>
#include <stddef.h>

struct pdevspec_opts {
	bool kernel_backend;   /* --kernel-backend */
	bool local;            /* the backend runs in this domain */
	const char *sysfs;     /* NULL: /sys */
	const char *configfs;  /* NULL: /sys/kernel/config */
};

struct pdevspec {
	char pdev[256];        /* what the backend reads */
	char pdevname[256];    /* what the user named */
};

/* 0 or -errno with a one-line message. */
int pdevspec_check(const char *given, const struct pdevspec_opts *o, struct pdevspec *out,
		   char *err, size_t errlen);

#endif
