/* scorecache: carries node scores from a pod's filter to its prioritize.
 * kube-scheduler calls prioritize right after filter with the survivors;
 * when the pod, the candidate list and the model's version are unchanged,
 * the scores filter computed are still exact, and prioritize skips 5,000
 * hash lookups. Any mismatch is a miss, never a wrong answer. */
#ifndef VX_SCORECACHE_H
#define VX_SCORECACHE_H

#include "vx/buf.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct score_cache {
	pthread_mutex_t mu;
	char uid[128];
	uint64_t version;
	int n, cap;
	double *raw;
	uint32_t *off; /* name i is names.data[off[i]..off[i+1]) */
	struct buf names;
};

void scache_init(struct score_cache *c);
void scache_free(struct score_cache *c);
/* Records the passing nodes (pass[i] true) and their raw scores. */
void scache_store(struct score_cache *c, const char *uid, uint64_t version,
		  const char *const *names, const size_t *lens, const bool *pass, const double *raw,
		  int n);
/* Fills raw[] for names[] and returns true on an exact hit. */
bool scache_lookup(struct score_cache *c, const char *uid, uint64_t version,
		   const char *const *names, const size_t *lens, int n, double *raw);

#endif
