/* binder: runs binds beside scheduling, never in its way. kube-scheduler
 * runs one scheduling cycle at a time and many binding cycles at once; a
 * bind that waits for a node lock or for the API server must not hold a
 * thread that filter needs. So a bind is reserved at once (on the caller's
 * thread, so the next filter sees its GPUs taken), then queued on its node:
 * one bind per node takes the node lock at a time, in arrival order, and a
 * bind waiting for a lock the device plugin still holds waits in that queue
 * without a thread. A small pool of workers makes the API calls. A bind
 * that cannot take the lock within the wait bound fails with a message. */
#ifndef VX_BINDER_H
#define VX_BINDER_H

#include "vx/buf.h"
#include "vx/hmap.h"
#include "vx/pipeline.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct binder_opts {
	int workers;      /* threads making API calls */
	int max_inflight; /* binds accepted and not yet answered */
	int wait_ms;      /* longest a bind waits for a node lock */
};

#define BINDER_DEFAULT_WORKERS 64
#define BINDER_DEFAULT_MAX_INFLIGHT 2000
#define BINDER_DEFAULT_WAIT_S 10

/* rc 0: bound; -1: err says why. Called exactly once per accepted bind, on
 * the submitting thread (answered at once) or on a binder thread. */
typedef void (*binder_done_fn)(void *ud, int rc, const char *err);

struct binder;

struct binder *binder_new(struct pipeline *pl, const struct binder_opts *o);
/* Fails every waiting bind with "shutting down", finishes those whose API
 * calls are under way, and frees the binder. */
void binder_free(struct binder *b);
void binder_submit(struct binder *b, const char *ns, const char *name, const char *uid,
		   const char *node, binder_done_fn done, void *ud);
/* submit, then wait for the answer (the dev loop's synchronous bind). */
int binder_bind(struct binder *b, const char *ns, const char *name, const char *uid,
		const char *node, char *err, size_t errlen);

#define BINDER_WAIT_BUCKETS 12
struct binder_stats {
	int inflight;        /* accepted, not yet answered */
	int waiting;         /* queued behind a node lock */
	int nodes_waited_on; /* nodes with binds queued */
	uint64_t bound, failed, refused, timed_out;
	uint64_t wait_bucket[BINDER_WAIT_BUCKETS + 1]; /* lock wait, not cumulative; last: +Inf */
	uint64_t wait_count;
	double wait_sum_s;
};
extern const double binder_wait_bounds_s[BINDER_WAIT_BUCKETS];
void binder_stats(struct binder *b, struct binder_stats *out);
/* Fills `out` (an initialised hmap) with node name -> binds queued there,
 * as heap copies of the names the caller frees with binder_waiters_free.
 * Taken before the model lock: the binder reads the model under its own. */
void binder_waiters(struct binder *b, struct hmap *out);
void binder_waiters_free(struct hmap *h);

#endif
