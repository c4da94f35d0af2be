/* The library's logger: a callback, or stderr. A library must not chatter,
 * so the default is errors only, raised by $VSCSI_LOG_LEVEL. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vf_internal.h"

static vscsi_log_cb log_cb;
static void *log_priv;
static int log_level = -1;

static int level_from_env(void)
{
	static const char *const names[] = { "err", "warn", "info", "debug" };
	const char *e = getenv("VSCSI_LOG_LEVEL");

	if (e)
		for (int i = 0; i < 4; i++)
			if (!strcmp(e, names[i]))
				return i;
	return VSCSI_LOG_ERR;
}

void vscsi_set_log(vscsi_log_cb cb, int level, void *priv)
{
	log_cb = cb;
	log_priv = priv;
	log_level = level;
}

bool vf_log_enabled(int level)
{
	if (log_level < 0)
		log_level = level_from_env();
	return level <= log_level;
}

void vf_log(int level, const char *fmt, ...)
{
	static const char *const tags[] = { "error", "warning", "info", "debug" };
	char msg[512];
	va_list ap;

	if (!vf_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_cb) {
		log_cb(level, msg, log_priv);
		return;
	}
	fprintf(stderr, "libvscsifront: %s: %s\n", tags[level < 0 ? 0 : level > 3 ? 3 : level], msg);
}

uint64_t vf_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
