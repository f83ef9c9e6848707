/* clock: real time plus a persisted dev-mode offset; see clock.h. The offset
 * file is replaced atomically (yj_write_file), so a crash never leaves half
 * a file behind. */
#include "vx/clock.h"
#include "vx/yamljson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int clk_init(struct vx_clock *c, const char *state_dir, char *err, size_t errlen)
{
	atomic_store(&c->offset_ms, 0);
	c->state_file = NULL;
	if (!state_dir)
		return 0;
	size_t n = strlen(state_dir) + sizeof "/clock.json";
	c->state_file = malloc(n);
	if (!c->state_file)
		abort();
	snprintf(c->state_file, n, "%s/clock.json", state_dir);
	FILE *f = fopen(c->state_file, "r");
	if (!f)
		return 0;
	long long off = 0;
	int ok = fscanf(f, " {\"offsetMs\": %lld", &off) == 1;
	fclose(f);
	if (!ok) {
		snprintf(err, errlen, "%s: not a clock state file", c->state_file);
		return -1;
	}
	atomic_store(&c->offset_ms, off);
	return 0;
}

void clk_free(struct vx_clock *c)
{
	free(c->state_file);
	c->state_file = NULL;
}

int64_t clk_now_ms(const struct vx_clock *c)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + atomic_load(&c->offset_ms);
}

int64_t clk_now_s(const struct vx_clock *c)
{
	return clk_now_ms(c) / 1000;
}

int clk_advance(struct vx_clock *c, int64_t seconds, char *err, size_t errlen)
{
	long long off = atomic_fetch_add(&c->offset_ms, seconds * 1000) + seconds * 1000;
	if (!c->state_file)
		return 0;
	char text[64], why[4400];
	snprintf(text, sizeof text, "{\"offsetMs\": %lld}\n", off);
	if (yj_write_file(c->state_file, text, why, sizeof why)) {
		snprintf(err, errlen, "cannot persist the clock: %s", why);
		return -1;
	}
	return 0;
}

void clk_format_rfc3339(int64_t unix_s, char *out, size_t len)
{
	time_t t = (time_t)unix_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t clk_parse_rfc3339(const char *s)
{
	struct tm tm = {0};
	if (!s)
		return -1;
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -1;
	return (int64_t)timegm(&tm);
}

int64_t clk_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
