#include "pdevspec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lio.h"
#include "pdev.h"

int pdevspec_check(const char *given, const struct pdevspec_opts *o, struct pdevspec *out,
		   char *err, size_t errlen)
{
	struct pdev_info info;
	struct lio_lun l;
	int rc;

	if (!given || !*given || strlen(given) >= sizeof(out->pdev)) {
		snprintf(err, errlen, "p-dev \"%.64s\": empty or too long", given ? given : "");
		return -EINVAL;
	}
	snprintf(out->pdevname, sizeof(out->pdevname), "%s", given);
	snprintf(out->pdev, sizeof(out->pdev), "%s", given);

	if (!strncmp(given, "naa.", 4)) {
		char tport[LIO_TPORT_MAX];
		unsigned lun;

		if (!lio_parse_naa(given, tport, &lun)) {
			snprintf(err, errlen, "p-dev \"%s\" is not naa.<16 hex digits>:<lun> (the Linux "
				 "kernel backend's form)", given);
			return -EINVAL;
		}
		if (!o->local)
			return 0; /* the backend's configfs is in its own domain */
		rc = lio_check_pdev(o->configfs, given, &l, err, errlen);
		if (rc == 0)
			snprintf(out->pdev, sizeof(out->pdev), "%s", l.pdev);
		return rc;
	}
	if (o->kernel_backend) {
		if (given[0] != '/' && !pdev_parse_hctl(given, NULL)) {
			snprintf(err, errlen, "p-dev \"%s\": the kernel backend takes naa.<wwn>:<lun>, a "
				 "dom0 device path or H:C:T:L", given);
			return -EINVAL;
		}
		if (!o->local) {
			snprintf(err, errlen, "p-dev \"%s\": the backend domain's configfs cannot be read "
				 "from here; give its naa.<wwn>:<lun>", given);
			return -EINVAL;
		}
		rc = lio_find_device(o->configfs, o->sysfs, given, &l, err, errlen);
		if (rc == 0)
			snprintf(out->pdev, sizeof(out->pdev), "%s", l.pdev);
		return rc;
	}
	if (!o->local && (given[0] == '/' || pdev_parse_hctl(given, NULL)))
		return 0; /* names a device of the driver domain */
	rc = pdev_resolve(given, o->sysfs, &info, err, errlen);
	if (rc == 0 && !o->local)
		return 0;
	return rc;
}
