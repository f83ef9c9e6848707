/* pipeline: kube-scheduler's framework stages as named entry points, each
 * the one place its kind of decision is made:
 *   admit    (PreFilter)  whole-pod rules before any node: queues, licences
 *   filter   (Filter)     per-node fit, and busy nodes while idle ones fit
 *   score    (Score)      node policy, busy nodes last
 *   reserve  (Reserve)    choose GPUs and assume them, under the write lock
 *   bind     (Bind)       write through the store; finish confirms or forgets
 *   preempt  (PostFilter) victims that free what the pod needs (preempt.c)
 * Filter and score only read the model; the GPUs are chosen at reserve,
 * against the state of that moment. Clients: the HTTP routes (api.c), the
 * binder (binder.c) and the dev scheduling loop (devloop.c). */
#ifndef VX_PIPELINE_H
#define VX_PIPELINE_H

#include "vx/buf.h"
#include "vx/clock.h"
#include "vx/cluster.h"
#include "vx/json.h"
#include "vx/nominate.h"
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
	struct nominations *noms;   /* optional: prioritize's picks, busy until bound */
	int license_grace_ms;       /* see pipe_filter; 0: off (dev mode: no watch to lag) */
};

/* The pod a stage is asked about. */
struct pipe_pod {
	const struct req_pod *req;
	const char *ns, *name, *uid; /* uid may be NULL */
	const char *queue_label;     /* label vgpu-extender.io/queue, or NULL */
	const char *billing;         /* annotation vgpu-extender.io/billing, or NULL */
};

enum pipe_admit { PIPE_ADMIT, PIPE_WAIT, PIPE_NEVER };

/* Whole-pod admission; the caller holds the model lock. PIPE_WAIT and
 * PIPE_NEVER fail every node with `why` (resolvable or not). */
enum pipe_admit pipe_admit(struct pipeline *pl, const struct pipe_pod *pod, char *why,
			   size_t whylen);

enum pipe_verdict { PIPE_PASS, PIPE_FAIL, PIPE_UNRESOLVABLE };

struct pipe_filter_out {
	int n;
	unsigned char *verdict; /* enum pipe_verdict per input node */
	uint32_t *reason;       /* offset into reasons, per failed node */
	struct buf reasons;     /* NUL-separated reason strings */
};

/* Reason given to a busy node that fits while an idle one fits too. */
#define PIPE_BUSY_REASON "allocation in progress on this node"
/* Reason given, for the pod it is meant for, to a node whose GPUs a reclaim
 * is freeing while the evicted pods are still leaving. */
#define PIPE_RECLAIMING_REASON "GPUs being reclaimed for this pod, evicted pods still leaving"

void pipe_filter(struct pipeline *pl, const struct pipe_pod *pod, const char *const *names,
		 const size_t *lens, int n, struct pipe_filter_out *out);
/* Fails every node with one reason (an invalid request). */
void pipe_filter_reject_all(struct pipe_filter_out *out, int n, const char *why);
void pipe_filter_out_free(struct pipe_filter_out *out);
/* Fills scores[i] in 0..10 for names[i] (see SPEC section 4). */
void pipe_score(struct pipeline *pl, const struct pipe_pod *pod, const char *const *names,
		const size_t *lens, int n, int *scores);
/* The unscaled scores (higher is better; NAN: cannot go there) and which
 * candidates are busy, for a client that picks itself (the dev loop). */
void pipe_score_raw(struct pipeline *pl, const struct pipe_pod *pod, const char *const *names,
		    const size_t *lens, int n, double *raw, bool *busy);

/* One bind from reserve to finish. */
struct pipe_binding {
	char ns[256], name[256], uid[128], node[256];
	char key[VX_POD_KEY_MAX];
	uint64_t seq;       /* the reservation's allocation sequence */
	cJSON *annotations; /* the Volcano annotations; NULL: a pod without vGPUs */
	bool reserved;      /* devices are assumed in the model */
};

enum pipe_reserved {
	PIPE_RESERVED,      /* GPUs chosen and assumed: bind next */
	PIPE_PLAIN,         /* not a vGPU pod: bind without lock or annotations */
	PIPE_ALREADY_BOUND, /* a retried bind whose first answer was lost */
	PIPE_UNKNOWN_POD,   /* not in the model yet: pipe_learn_pod, then again */
	PIPE_REFUSED        /* err says why */
};

/* Fills b's names; the strings are cut to the fields' sizes. */
void pipe_binding_init(struct pipe_binding *b, const char *ns, const char *name, const char *uid,
		       const char *node);
enum pipe_reserved pipe_reserve(struct pipeline *pl, struct pipe_binding *b, char *err,
				size_t errlen);
/* Writes the binding through the store: 0, STORE_BUSY (the node lock is
 * held; nothing written), or -1 with err set. */
int pipe_bind(struct pipeline *pl, struct pipe_binding *b, char *err, size_t errlen);
/* Confirms (bound) or forgets the reservation, unless a watch event got
 * there first; releases b's annotations. Safe to call on any binding. */
void pipe_finish(struct pipeline *pl, struct pipe_binding *b, bool bound);
/* Has the store deliver a pod the model does not know yet. */
int pipe_learn_pod(struct pipeline *pl, const char *ns, const char *name, char *err, size_t errlen);
/* Whether a bind to node may take its lock now: no allocation in flight
 * there except `own` reservations of the caller's still unwritten binds. */
bool pipe_node_ready(struct pipeline *pl, const char *node, int own);
/* What makes node busy, for logs: "2 assumed, 1 allocating, lock held 1 s". */
void pipe_node_describe(struct pipeline *pl, const char *node, char *out, size_t len);
/* Records why a pod could not be placed (explain.h), for operators, and
 * whether it never can; true when that differs from what was recorded. */
bool pipe_note_waiting(struct pipeline *pl, const char *key, const char *why, const char *verdicts,
		       bool never);

struct pipe_victims {
	const char *node;
	int n;
	const char **uids; /* as proposed by kube-scheduler */
	bool keep_node;    /* out: evicting the kept victims lets the pod fit */
	bool *keep;        /* out: per victim */
};
/* Whether the request fits on n once the victims' slices are freed (a
 * scratch copy of the node; NULL victims are skipped). */
bool pipe_fits_without(const struct cl_node *n, const struct cl_pod *const *victims, int nv,
		       const struct req_pod *r, enum vx_policy gp);
/* Drops victims whose eviction frees nothing the preemptor needs (preempt.c). */
void pipe_preempt(struct pipeline *pl, const struct req_pod *r, struct pipe_victims *v, int n);

/* The pod's policies, or the daemon's defaults where it names none. */
enum vx_policy pipe_node_policy(const struct pipeline *pl, const struct req_pod *r);
enum vx_policy pipe_gpu_policy(const struct pipeline *pl, const struct req_pod *r);

#endif
