/* reclaim: the PostFilter stage for team queues (SPEC section 5), and the
 * nudge for licences' waiting pods (SPEC section 6, see touch_heads).
 * kube-scheduler calls /preempt only for PriorityClass preemption, so the
 * daemon itself looks, every RECLAIM_PERIOD_MS, for a pending pod of a queue
 * that would stay within its fair share and fits no node. It then evicts
 * running pods of queues above their fair share (most over-served queue
 * first, then lowest spec.priority, then newest), only those whose removal
 * leaves their queue at or above its quota, the smallest set on one node
 * that makes the pod fit, and never so that the reclaiming queue ends up
 * more over-served than a victim's (no eviction back and forth). The freed
 * capacity is held for the waiting pod until it binds or RECLAIM_HOLD_MS
 * pass. Only the leader evicts. The plan is a pure function of the model,
 * table-tested; the loop around it evicts through the store. */
#ifndef VX_RECLAIM_H
#define VX_RECLAIM_H

#include "vx/json.h"
#include "vx/pipeline.h"

#define RECLAIM_PERIOD_MS 250
#define RECLAIM_HOLD_MS 60000
#define RECLAIM_MAX_VICTIMS 16

struct reclaim_victim {
	char ns[64], name[254], uid[64], queue[64];
	double gpus;
};

struct reclaim_plan {
	char pod[VX_POD_KEY_MAX]; /* the waiting pod, "ns/name" */
	char uid[64], queue[64], node[254];
	double need;
	int n;
	struct reclaim_victim v[RECLAIM_MAX_VICTIMS];
};

/* Fills each queue's fair share in the model (caller holds the write lock). */
void reclaim_update_shares(struct cluster *c);
/* Finds the next reclaim, if any (caller holds the read lock). skip(uid)
 * tells victims to leave alone (an eviction a disruption budget refused). */
bool reclaim_plan(const struct pipeline *pl, int64_t now_ms, bool (*skip)(void *, const char *),
		  void *ud, struct reclaim_plan *out);

struct reclaimer;
struct reclaimer *reclaim_start(struct pipeline *pl);
void reclaim_stop(struct reclaimer *r);
/* Appends vgpu_extender_reclaims_total{queue,victim_queue} to b. */
void reclaim_metrics(struct reclaimer *r, struct buf *b);

#endif
