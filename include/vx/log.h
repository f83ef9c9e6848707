/* log: one line per event on stderr, with a UTC timestamp and a level.
 * The level is the only process-wide setting here; it lives in globals.c. */
#ifndef VX_LOG_H
#define VX_LOG_H

enum vlog_level { VLOG_DEBUG, VLOG_INFO, VLOG_WARN, VLOG_ERROR };

/* Parses "debug|info|warn|error"; returns -1 for anything else. */
int vlog_parse_level(const char *s);
void vlog_set_level(enum vlog_level lvl);
int vlog_enabled(enum vlog_level lvl);
void vlog_write(enum vlog_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (vlog_enabled(VLOG_DEBUG))                                                      \
			vlog_write(VLOG_DEBUG, __VA_ARGS__);                                       \
	} while (0)
#define log_info(...) vlog_write(VLOG_INFO, __VA_ARGS__)
#define log_warn(...) vlog_write(VLOG_WARN, __VA_ARGS__)
#define log_error(...) vlog_write(VLOG_ERROR, __VA_ARGS__)

#endif
