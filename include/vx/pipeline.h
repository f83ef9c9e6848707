/* pipeline: the scheduling stages in kube-scheduler's order: PreFilter
 * (parse the request), Filter, Score, Reserve (assume in the model), Bind
 * (through the store), with Unreserve (forget) on failure. Filter and
 * prioritize only read the model; the GPUs are chosen at bind, under the
 * write lock, against the state of that moment. */
#ifndef VX_PIPELINE_H
#define VX_PIPELINE_H

#include "vx/buf.h"
#include "vx/clock.h"
#include "vx/cluster.h"
#include "vx/scorecache.h"
#include "vx/store.h"

#include <stdint.h>

struct pipeline {
	struct cluster *cluster;
	struct store *store;
	struct vx_clock *clock;
	enum vx_policy node_policy; /* default when the pod does not say */
	enum vx_policy gpu_policy;
	struct score_cache *scores; /* optional: filter's scores for prioritize */
};

enum pipe_verdict { PIPE_PASS, PIPE_FAIL, PIPE_UNRESOLVABLE };

struct pipe_filter_out {
	int n;
	unsigned char *verdict; /* enum pipe_verdict per input node */
	uint32_t *reason;       /* offset into reasons, per failed node */
	struct buf reasons;     /* NUL-separated reason strings */
};

/* uid (may be NULL) keys the scores kept for the pod's prioritize. */
void pipe_filter(struct pipeline *pl, const struct req_pod *r, const char *uid,
		 const char *const *names, const size_t *lens, int n, struct pipe_filter_out *out);
/* Fails every node with one reason (an invalid request). */
void pipe_filter_reject_all(struct pipe_filter_out *out, int n, const char *why);
void pipe_filter_out_free(struct pipe_filter_out *out);
/* Fills scores[i] in 0..10 for names[i] (see SPEC section 4). */
void pipe_prioritize(struct pipeline *pl, const struct req_pod *r, const char *uid,
		     const char *const *names, const size_t *lens, int n, int *scores);
/* Returns 0 when bound; -1 with a message for kube-scheduler otherwise. */
int pipe_bind(struct pipeline *pl, const char *ns, const char *name, const char *uid,
	      const char *node, char *err, size_t errlen);
/* Dev loop: places one pending pod on the best node and binds it.
 * Returns 1 bound, 0 no node fits (why says so), -1 error. */
int pipe_schedule(struct pipeline *pl, const char *ns, const char *name, char *why, size_t whylen);

struct pipe_victims {
	const char *node;
	int n;
	const char **uids; /* as proposed by kube-scheduler */
	bool keep_node;    /* out: evicting the kept victims lets the pod fit */
	bool *keep;        /* out: per victim */
};
/* Drops victims whose eviction frees nothing the preemptor needs. */
void pipe_preempt(struct pipeline *pl, const struct req_pod *r, struct pipe_victims *v, int n);

#endif
