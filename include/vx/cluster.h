/* cluster: the in-memory model of nodes, their GPUs, and the pods holding
 * vGPU slices. It is the only place that holds scheduling state. Every
 * function expects the caller to hold the model lock (read lock for lookups,
 * write lock for changes); the lock itself is taken by the pipeline and the
 * sync layer, never across a network call. */
#ifndef VX_CLUSTER_H
#define VX_CLUSTER_H

#include "vx/codec.h"
#include "vx/hmap.h"
#include "vx/json.h"
#include "vx/clock.h"
#include "vx/license.h"
#include "vx/queue.h"
#include "vx/request.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum pod_status { POD_SUBMITTED, POD_RUNNING, POD_COMPLETED, POD_FAILED };
enum pod_alloc { ALLOC_NONE, ALLOC_ASSUMED, ALLOC_BOUND };

struct cl_gpu {
	const char *uuid, *type; /* interned in cluster.uuids */
	int slots;
	int64_t mem_mib;
	bool healthy;
	char mode[16];
	int used_slots;
	int64_t used_mem;
	int used_cores;
};

struct cl_pod;

#define CL_NAME_INLINE 40

struct cl_node {
	/* Hot: what filter reads for every candidate, in the first two cache
	 * lines: the name the hash lookup compares (inline when short), then
	 * the aggregates that decide most nodes in O(1) without touching GPUs.
	 * Aggregates cover healthy GPUs with a free slot unless named total. */
	char name_buf[CL_NAME_INLINE];
	bool present; /* false: a placeholder for pods that name an unseen node */
	bool usable;
	int ngpus, healthy_gpus, free_slots, idle_gpus;
	int max_free_cores, cores_at_max_mem;   /* free cores of the GPU with most free memory */
	int64_t max_free_mem, mem_at_max_cores; /* free memory of the GPU with most free cores */
	double usage;                           /* cluster_node_usage(), kept current */
	char *name;                             /* name_buf, or the heap for long names */
	struct cl_gpu *gpus;
	/* Allocations in flight, for cluster_node_busy(): our binds assumed but
	 * not yet written, and bound pods the device plugin has not confirmed
	 * (bind-phase allocating); the node lock's time, 0 when free. */
	int assumed, allocating;
	int64_t lock_since;
	bool lock_assumed; /* lock_since is our bind's, not yet seen in a watch event */
	/* Cold. */
	int total_slots, used_slots, used_cores;
	int64_t total_mem, used_mem;
	int64_t allocatable;  /* status.allocatable volcano.sh/vgpu-number */
	int counted_capacity; /* GPUs this node adds to cluster.gpu_capacity */
	/* Capacity freed by a reclaim, held for one waiting pod until it binds
	 * or the hold expires: pods of queues at or above their fair share may
	 * not take it meanwhile. */
	char held_for[VX_POD_KEY_MAX];
	int64_t held_until_ms;
	uint64_t register_digest; /* of the register annotation, 0 when absent */
	struct cl_pod *pods;      /* attached pods, linked through node_next */
	int npods;
	char reason[128]; /* why the node is not usable */
};

struct cl_dev {
	const char *uuid; /* interned in cluster.uuids */
	int64_t mem_mib;
	int gpu; /* index into node->gpus, -1 when the node lacks that UUID */
	int cores;
};

struct cl_ctr_devs {
	int ndev;
	struct cl_dev *devs;
};

struct cl_pod {
	char *key; /* "namespace/name" */
	char *ns, *name, *uid;
	enum pod_status status;
	enum pod_alloc alloc;
	struct cl_node *node; /* set while alloc != ALLOC_NONE or the pod is bound */
	int nctr;
	struct cl_ctr_devs *devs;
	bool charged;
	bool plugin_pending; /* bind-phase allocating: the device plugin has not answered */
	/* The flags of the sections below, together so they pack. */
	bool q_pending;                           /* queue: counted in its pending figure */
	bool l_waiting;                           /* licence: on its waiting list */
	bool counted_assumed, counted_allocating; /* in node->assumed / allocating */
	bool unschedulable; /* explained: no node can ever run it as the cluster stands */
	/* Queue accounting (queue.h): the queue, the GPUs the pod's charged
	 * devices count, and what it adds to its queue's allocation, demand
	 * and pending count right now. */
	int qidx;
	double gpus_charged;
	double q_alloc, q_demand;
	/* Licence accounting (license.h): the licence, the vGPUs it counts in
	 * the licence's slots, and its place among the licence's waiting pods. */
	int lidx;
	int l_slots;
	int64_t l_since; /* when it began to hold its slots (model clock) */
	struct cl_pod *l_prev, *l_next;
	uint64_t alloc_seq; /* bumps on every allocation change (bind rollback check) */
	struct req_pod req;
	char *req_error; /* why the request is invalid, or NULL */
	/* Metadata for the admin API and later stages (queues, licences). */
	char *queue, *billing, *user;
	const char *bound_node; /* spec.nodeName as last seen (interned) */
	char *waiting;          /* why it could not be placed (explain.h), or NULL */
	char *verdicts;         /* its nodes counted by reason, or NULL */
	int priority;           /* licence queue priority (vgpu-extender.io/priority) */
	int spec_priority;      /* spec.priority from its PriorityClass: reclaim takes the lowest */
	int64_t created;        /* unix seconds */
	int64_t started;        /* status.startTime, unix seconds; 0: not yet or unknown */
	int64_t finished;       /* when its containers ended, unix seconds; 0: running */
	int64_t runtime_s;      /* how long it runs at most: spec.activeDeadlineSeconds, or
				 * the dev stand-in's runtime; 0: unknown */
	struct cl_pod *node_prev, *node_next;
};

/* A queue's figures, kept by the model as pods change. */
struct cl_queue {
	double allocated;  /* GPUs charged by its pods' devices */
	double demand;     /* allocated, plus what its pending vGPU pods ask for */
	int pending;       /* its vGPU pods waiting for a node */
	double fair_share; /* as the reclaim loop last computed it */
};

/* A licence's figures: slots in use now, and vGPU-seconds used since the
 * last reset as of last_s (cluster_license_used_s adds what ran since). */
struct cl_license {
	int used_slots;
	double used_s;
	int64_t last_s, reset_s; /* reset_s: the next reset after last_s */
	int waiting;
	struct cl_pod *waiters; /* its waiting pods, linked through l_next */
	uint64_t refused;       /* admissions it refused; atomic: filters hold the read lock */
	int64_t grace_at_ms;    /* the last filter that waited for a slot (pipeline.c); atomic */
};

struct cluster {
	pthread_rwlock_t lock;
	struct vx_clock *clock; /* for licence hours; NULL: time stands still */
	struct license_set licenses;
	struct cl_license *lstate;
	uint64_t slot_changes; /* bumps when any licence's slots in use change; atomic */
	int64_t grace_any_ms;  /* the last filter that waited for a slot (pipeline.c); atomic */
	struct queue_set queues;
	struct cl_queue *qstate; /* per queue, as queues.q */
	double gpu_capacity;     /* healthy GPUs on usable nodes */
	int64_t min_card_mib;    /* the smallest card seen: pending pods' charge */
	struct hmap nodes;       /* name -> cl_node */
	struct hmap pods;        /* "ns/name" -> cl_pod */
	struct hmap uuids;       /* interned device UUIDs */
	uint64_t alloc_seq;
	uint64_t version; /* bumps on any change; readers use it to skip work */
};

void cluster_init(struct cluster *c);
/* Replaces the queues (taking confs, n of them) and files every pod again. */
void cluster_set_queues(struct cluster *c, struct queue_conf *confs, int n);
/* Files the pod under the queue its label or namespace names. */
void cluster_pod_set_queue(struct cluster *c, struct cl_pod *p, const char *label);
/* GPUs a request would charge before it has devices (on the smallest card). */
double cluster_request_gpus(const struct cluster *c, const struct req_pod *r);
/* Fair share per queue (share[queues.n]), from the current demand. */
void cluster_fair_share(const struct cluster *c, double *share);
/* Replaces the licences (taking confs' contents) and files every pod again. */
void cluster_set_licenses(struct cluster *c, struct license_conf *confs, int n);
/* vGPU-seconds the licence has used since its last reset, as of now. */
double cluster_license_used_s(const struct cluster *c, int li, int64_t now_s);
/* Seconds until the licence's next reset. */
int64_t cluster_license_reset_in(const struct cluster *c, int li, int64_t now_s);

/* A waiting pod's place in its licence's order (1 = next), and when it
 * should start as far as the known runtimes of the pods ahead of it tell
 * (start_s 0: they do not tell). */
struct lic_wait {
	const struct cl_pod *pod;
	int position;
	int64_t start_s;
};
struct lic_waits {
	struct lic_wait *w; /* sorted by pod address; the caller frees it */
	size_t n;
};
/* Every licence's waiting pods, placed and estimated by playing the
 * licence forward: running pods end at started + runtime, each waiting pod
 * in order starts once its vGPUs fit maxSlots. Caller holds the lock. */
void cluster_license_waits(const struct cluster *c, int64_t now_s, struct lic_waits *out);
const struct lic_wait *cluster_license_wait_of(const struct lic_waits *ws, const struct cl_pod *p);
/* The licences' usage as of now, to persist ({"NAME": {"usedSeconds",
 * "asOf", "resetAt"}}); the caller frees it. */
cJSON *cluster_licenses_save(const struct cluster *c, int64_t now_s);
/* Adds saved usage to what the pods ran since the start (a restart neither
 * forgets nor counts twice); entries it cannot trust or from before a reset
 * are left out. -1 when saved is not an object at all. */
int cluster_licenses_restore(struct cluster *c, const cJSON *saved, int64_t now_s);
/* Another replica's save of the same day: each licence takes the larger of
 * its figure and the saved one (both count the same pods, so the larger
 * has missed less; adding would count twice). Returns how many licences
 * rose, -1 when saved is not an object. */
int cluster_licenses_merge(struct cluster *c, const cJSON *saved, int64_t now_s);
/* For cluster_queue.c and sync.c (a billing change): the pod's licence
 * figures, moved or taken out. */
void cluster_track_license(struct cluster *c, struct cl_pod *p);
void cluster_untrack_license(struct cluster *c, struct cl_pod *p);
/* For cluster.c: moves the pod's queue figures to what it holds and asks
 * now, or takes them out of its queue. */
void cluster_track_queue(struct cluster *c, struct cl_pod *p);
void cluster_untrack_queue(struct cluster *c, struct cl_pod *p);
void cluster_free(struct cluster *c);
void cluster_rdlock(struct cluster *c);
void cluster_wrlock(struct cluster *c);
void cluster_unlock(struct cluster *c);

struct cl_node *cluster_node(const struct cluster *c, const char *name);
struct cl_node *cluster_noden(const struct cluster *c, const char *name, size_t len);
/* Creates or updates a node from its register annotation and allocatable
 * count; re-reads the GPUs only when either changed. Returns the node. */
struct cl_node *cluster_node_update(struct cluster *c, const char *name, const char *reg,
				    int64_t allocatable);
void cluster_node_remove(struct cluster *c, const char *name);

struct cl_pod *cluster_pod(const struct cluster *c, const char *key);
/* Returns the pod with that key, creating an empty one (status Submitted). */
struct cl_pod *cluster_pod_ensure(struct cluster *c, const char *ns, const char *name);
void cluster_pod_remove(struct cluster *c, struct cl_pod *p);
/* Gives the pod devices on node (taking ownership of devs' contents) and
 * charges them; replaces any previous allocation. */
void cluster_pod_set_alloc(struct cluster *c, struct cl_pod *p, const char *node,
			   struct codec_pod_devs *devs, enum pod_alloc state);
void cluster_pod_clear_alloc(struct cluster *c, struct cl_pod *p);
void cluster_pod_set_status(struct cluster *c, struct cl_pod *p, enum pod_status st);
/* The bind this daemon wrote went through: the devices are bound, and the
 * device plugin's answer (bind-phase) is pending. */
void cluster_pod_confirm(struct cluster *c, struct cl_pod *p, int64_t now_s);
/* Whether the pod's bind-phase is allocating, as last written or seen. */
void cluster_pod_set_plugin_pending(struct cluster *c, struct cl_pod *p, bool pending);
/* The node's hamivgpu lock as last seen: its time, or 0 when free. */
void cluster_node_set_lock(struct cluster *c, struct cl_node *n, int64_t since);

/* A lock this young counts as an allocation in flight even when no pod is
 * seen allocating: the gap between a device plugin's success and its lock
 * release, or another scheduler's lock before its pod shows up. */
#define CL_LOCK_GRACE_S 3
/* An allocation is in flight on the node: a bind now would wait for the
 * node lock. Prioritize and filter steer pods elsewhere while it lasts. */
bool cluster_node_busy(const struct cl_node *n, int64_t now_s);
/* Like cluster_node_busy, ignoring `own` of the node's assumed pods (the
 * caller's binds queued for this node's lock). */
bool cluster_node_busy_except(const struct cl_node *n, int64_t now_s, int own);
/* A watch event showed the assumed devices bound. */
void cluster_pod_mark_bound(struct cluster *c, struct cl_pod *p);
/* Fills a codec view of the pod's devices (borrowing the UUID strings). */
void cluster_pod_devs_view(const struct cl_pod *p, struct codec_pod_devs *out);
void cluster_pod_devs_view_free(struct codec_pod_devs *v);
bool cluster_pod_holds_devices(const struct cl_pod *p);

/* Returns a stable copy of s, shared by every caller (node names, UUIDs). */
const char *cluster_intern(struct cluster *c, const char *s);
/* Refreshes a node's aggregates from its GPUs (also for scratch copies). */
void cluster_node_recompute(struct cl_node *n);
const char *cluster_status_name(enum pod_status st);
/* Usage of a node in [0, 3]: slots, cores and memory, each as a fraction. */
double cluster_node_usage(const struct cl_node *n);

#endif
