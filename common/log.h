/* One logger for every vscsi program: stderr or syslog, with levels. */
#ifndef VSCSI_LOG_H
#define VSCSI_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* ident names the program in every line; to_syslog switches the sink. */
void log_init(const char *ident, enum log_level level, bool to_syslog);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "err|warn|info|debug"; returns -1 when the name is unknown. */
int log_level_parse(const char *name);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* Lines a guest can cause at will (one per request it puts on its ring)
 * would let it fill dom0's disk: each source gets at most LOG_LIMIT_BURST
 * of them per LOG_LIMIT_WINDOW_MS, and the next line after a window says
 * how many were left out. Zero-initialised. */
#define LOG_LIMIT_BURST 10
#define LOG_LIMIT_WINDOW_MS 10000
struct log_limit {
	long long start_ms;
	unsigned lines, dropped;
};
/* Whether one more line of who's may go out now (a line about the lines
 * left out may go first); log_limit_pass_at takes the time (ms) for tests. */
bool log_limit_pass(struct log_limit *l, const char *who);
bool log_limit_pass_at(struct log_limit *l, const char *who, long long now_ms);

#define log_warn_limited(l, who, ...) \
	do { \
		if (log_limit_pass((l), (who))) \
			log_warn(__VA_ARGS__); \
	} while (0)

#endif
