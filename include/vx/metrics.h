/* metrics: request counters and latency histograms per extender verb, kept
 * in atomics so the hot path never takes a lock to count itself. */
#ifndef VX_METRICS_H
#define VX_METRICS_H

#include "vx/buf.h"

#include <stdatomic.h>
#include <stdint.h>

enum mverb { MV_FILTER, MV_PRIORITIZE, MV_BIND, MV_PREEMPT, MV_OTHER, MV_N };
#define METRICS_NBUCKETS 15

struct metrics {
	atomic_ullong by_class[MV_N][3]; /* 2xx, 4xx, 5xx */
	atomic_ullong bind_errors;       /* binds answered with a non-empty Error */
	atomic_ullong bucket[MV_N][METRICS_NBUCKETS];
	atomic_ullong count[MV_N];
	atomic_ullong sum_us[MV_N];
};

void metrics_observe(struct metrics *m, enum mverb v, int status, uint64_t us);
void metrics_write(struct metrics *m, struct buf *b);

#endif
