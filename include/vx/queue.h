/* queue: team queues (SPEC section 5). A queue has a deserved quota in GPUs,
 * a weight for its share of idle GPUs beyond quotas, and an optional hard
 * limit. This module owns the configured queues, which queue a pod belongs
 * to, the GPU charge of a pod, and the fair share: the pure computations are
 * table-tested, and the model (cluster.c) keeps each queue's allocation and
 * demand in the same place where GPU usage is charged, so they can never
 * drift from the pods. */
#ifndef VX_QUEUE_H
#define VX_QUEUE_H

#include "vx/hmap.h"

#include <stdbool.h>
#include <stdint.h>

#define QUEUE_DEFAULT "default"
#define QUEUE_NO_LIMIT (-1.0)

/* One queue as configured. */
struct queue_conf {
	char *name;
	char **namespaces;
	int nns;
	double quota, weight, limit; /* GPUs; limit QUEUE_NO_LIMIT for none */
};

/* The configured queues plus the implicit default queue (quota 0, weight
 * 1, no limit); lookups by name and by namespace. */
struct queue_set {
	struct queue_conf *q;
	int n;
	struct hmap by_name, by_ns;
};

/* Takes over the contents of confs[0..n) (the array itself stays the
 * caller's). A configured "default" replaces the implicit one. */
void queue_set_init(struct queue_set *s, struct queue_conf *confs, int n);
void queue_set_free(struct queue_set *s);
/* The queue index for a pod: its label, else the queue listing its
 * namespace, else default. An unknown label name counts as default too. */
int queue_of(const struct queue_set *s, const char *label, const char *ns);
void queue_conf_free(struct queue_conf *c);

/* The GPUs one vGPU charges (SPEC section 5): max(cores/100, memory/card
 * memory); a whole card when cores is 100. */
double queue_charge(int cores, int64_t mem_mib, int64_t card_mib);

/* Water-filling fair share: each queue gets min(quota, demand); what is
 * left of capacity is divided among queues with unmet demand in proportion
 * to weight, round after round, capped by demand and limit (< 0: none).
 * Pure; share[] receives the result. */
void queue_fair_share(int n, const double *quota, const double *weight, const double *limit,
		      const double *demand, double capacity, double *share);

#endif
