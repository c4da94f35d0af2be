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

#endif
