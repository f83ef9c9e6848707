/* queue: see queue.h. */
#include "vx/queue.h"
#include "vx/volcano.h"
#include "vx/xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Below this a share or a demand is zero: fractions of GPUs are charged, so
 * comparisons need a tolerance. */
#define GPU_EPS 1e-9
/* Water-filling ends when a round hands out less than this. */
#define ROUND_MIN 1e-9
#define MAX_ROUNDS 64

void queue_conf_free(struct queue_conf *c)
{
	for (int i = 0; i < c->nns; i++)
		free(c->namespaces[i]);
	free(c->namespaces);
	free(c->name);
	memset(c, 0, sizeof *c);
}

void queue_set_init(struct queue_set *s, struct queue_conf *confs, int n)
{
	bool has_default = false;
	for (int i = 0; i < n; i++)
		has_default |= strcmp(confs[i].name, QUEUE_DEFAULT) == 0;
	s->n = n + !has_default;
	s->q = xcalloc((size_t)s->n, sizeof *s->q);
	for (int i = 0; i < n; i++)
		s->q[i] = confs[i];
	if (!has_default)
		s->q[n] =
		    (struct queue_conf){xstrdup(QUEUE_DEFAULT), NULL, 0, 0, 1, QUEUE_NO_LIMIT};
	hmap_init(&s->by_name);
	hmap_init(&s->by_ns);
	for (int i = 0; i < s->n; i++) {
		hmap_put(&s->by_name, s->q[i].name, &s->q[i]);
		for (int j = 0; j < s->q[i].nns; j++)
			if (!hmap_get(&s->by_ns, s->q[i].namespaces[j]))
				hmap_put(&s->by_ns, s->q[i].namespaces[j], &s->q[i]);
	}
}

void queue_set_free(struct queue_set *s)
{
	for (int i = 0; i < s->n; i++)
		queue_conf_free(&s->q[i]);
	free(s->q);
	hmap_free(&s->by_name);
	hmap_free(&s->by_ns);
	memset(s, 0, sizeof *s);
}

int queue_of(const struct queue_set *s, const char *label, const char *ns)
{
	const struct queue_conf *q = label ? hmap_get(&s->by_name, label) : NULL;
	if (!q && ns)
		q = hmap_get(&s->by_ns, ns);
	if (!q)
		q = hmap_get(&s->by_name, QUEUE_DEFAULT);
	return (int)(q - s->q);
}

double queue_charge(int cores, int64_t mem_mib, int64_t card_mib)
{
	if (cores >= VOLCANO_CORES_PER_GPU)
		return 1.0;
	double c = (double)cores / VOLCANO_CORES_PER_GPU;
	double m = card_mib > 0 ? (double)mem_mib / (double)card_mib : 0;
	double g = c > m ? c : m;
	return g > 1.0 ? 1.0 : g;
}

/* A queue's ceiling: its demand, and its limit when it has one. */
static double ceiling(double demand, double limit)
{
	return limit >= 0 && limit < demand ? limit : demand;
}

void queue_fair_share(int n, const double *quota, const double *weight, const double *limit,
		      const double *demand, double capacity, double *share)
{
	double left = capacity;
	for (int i = 0; i < n; i++) {
		double deserved = quota[i] < demand[i] ? quota[i] : demand[i];
		share[i] = fmin(deserved, ceiling(demand[i], limit[i]));
		left -= share[i];
	}
	for (int round = 0; round < MAX_ROUNDS && left > ROUND_MIN; round++) {
		double wsum = 0;
		for (int i = 0; i < n; i++)
			if (share[i] + GPU_EPS < ceiling(demand[i], limit[i]))
				wsum += weight[i];
		if (wsum <= 0)
			break; /* nobody wants more, or only weight-0 queues do */
		double handed = 0;
		for (int i = 0; i < n; i++) {
			double cap = ceiling(demand[i], limit[i]);
			if (share[i] + GPU_EPS >= cap || weight[i] <= 0)
				continue;
			double give = fmin(left * weight[i] / wsum, cap - share[i]);
			share[i] += give;
			handed += give;
		}
		left -= handed;
		if (handed < ROUND_MIN)
			break;
	}
}
