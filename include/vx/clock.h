/* clock: the daemon's notion of "now". Real time plus an offset that dev mode
 * can move forward (POST /debug/clock/advance) and persist in --state-dir, so
 * tests of runtimes, budgets and resets need not wait. */
#ifndef VX_CLOCK_H
#define VX_CLOCK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct vx_clock {
	atomic_llong offset_ms;
	char *state_file; /* NULL: the offset is not persisted */
};

/* Loads a persisted offset from state_dir/clock.json when state_dir is set. */
int clk_init(struct vx_clock *c, const char *state_dir, char *err, size_t errlen);
void clk_free(struct vx_clock *c);
int64_t clk_now_ms(const struct vx_clock *c);
int64_t clk_now_s(const struct vx_clock *c);
/* Milliseconds of CLOCK_MONOTONIC: for timeouts and holds, which must not
 * move with /debug/clock/advance or a wall-clock step. */
int64_t clk_mono_ms(void);
int clk_advance(struct vx_clock *c, int64_t seconds, char *err, size_t errlen);
/* RFC 3339 UTC, e.g. "2026-11-22T07:52:19Z". */
void clk_format_rfc3339(int64_t unix_s, char *out, size_t len);
/* The reverse: RFC 3339 ("2026-11-22T07:23:39Z", fraction allowed) to unix
 * seconds; -1 when malformed or NULL. */
int64_t clk_parse_rfc3339(const char *s);

#endif
