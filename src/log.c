/* log: formats one line per event on stderr. A single fprintf per line keeps
 * lines from different threads whole (stdio locks the stream per call). */
#include "vx/log.h"
#include "vx/globals.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

int vlog_parse_level(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (s && strcasecmp(s, level_names[i]) == 0)
			return i;
	if (s && strcasecmp(s, "warning") == 0)
		return VLOG_WARN;
	return -1;
}

void vlog_set_level(enum vlog_level lvl)
{
	atomic_store(&vx_globals.log_level, (int)lvl);
}

int vlog_enabled(enum vlog_level lvl)
{
	return (int)lvl >= atomic_load(&vx_globals.log_level);
}

void vlog_write(enum vlog_level lvl, const char *fmt, ...)
{
	if (!vlog_enabled(lvl))
		return;
	struct timeval tv;
	struct tm tm;
	char ts[32], msg[2048];
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03dZ %-5s %s\n", ts, (int)(tv.tv_usec / 1000), level_names[lvl], msg);
}
