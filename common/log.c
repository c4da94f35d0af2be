#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static const char *log_ident = "vscsi";
static enum log_level log_level = LOG_LVL_INFO;
static bool log_syslog;

static const char *const level_names[] = { "err", "warn", "info", "debug" };

void log_init(const char *ident, enum log_level level, bool to_syslog)
{
	log_ident = ident;
	log_level = level;
	log_syslog = to_syslog;
	if (to_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void log_set_level(enum log_level level) { log_level = level; }
enum log_level log_get_level(void) { return log_level; }

int log_level_parse(const char *name)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (!strcmp(name, level_names[i]))
			return (int)i;
	return -1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	va_list ap;
	char line[1024];

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One message, one line: text from elsewhere (a library's error
	 * string, a name from xenstore) may carry newlines or escapes. */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (log_syslog) {
		syslog(syslog_prio[level], "%s", line);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s[%s]: %s\n", when, ts.tv_nsec / 1000000, log_ident,
			level_names[level], line);
	}
}

bool log_limit_pass_at(struct log_limit *l, const char *who, long long now_ms)
{
	if (!l->start_ms || now_ms - l->start_ms >= LOG_LIMIT_WINDOW_MS) {
		if (l->dropped)
			log_msg(LOG_LVL_WARN, "%s: %u more such lines not logged in the last %lld s", who,
				l->dropped, (now_ms - l->start_ms) / 1000);
		l->start_ms = now_ms ? now_ms : 1;
		l->lines = 0;
		l->dropped = 0;
	}
	if (l->lines < LOG_LIMIT_BURST) {
		l->lines++;
		return true;
	}
	l->dropped++;
	return false;
}

bool log_limit_pass(struct log_limit *l, const char *who)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return log_limit_pass_at(l, who, (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}
