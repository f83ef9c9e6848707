/* cluster_queue: the model's side of team queues. Each pod's contribution
 * to its queue (allocated GPUs, demand, pending) is recorded on the pod and
 * moved only by cluster_track_queue, which cluster.c calls wherever a pod's
 * devices, status or queue change, so the queues' figures are always the
 * sum over their pods. */
#include "vx/cluster.h"
#include "vx/volcano.h"
#include "vx/xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double request_gpus(const struct req_pod *r, int64_t card_mib)
{
	double g = 0;
	for (int i = 0; i < r->nctr; i++) {
		const struct req_ctr *k = &r->ctrs[i];
		if (!k->nums)
			continue;
		double one;
		if (card_mib <= 0) /* no card seen yet: a vGPU asking for memory is a card */
			one = k->cores >= VOLCANO_CORES_PER_GPU || k->mem_mib || k->mem_pct
				  ? 1.0
				  : (double)k->cores / VOLCANO_CORES_PER_GPU;
		else
			one = queue_charge(k->cores, req_mem_on(k, card_mib), card_mib);
		g += k->nums * one;
	}
	return g;
}

double cluster_request_gpus(const struct cluster *c, const struct req_pod *r)
{
	return request_gpus(r, c->min_card_mib);
}

static bool is_pending(const struct cl_pod *p)
{
	return p->status == POD_SUBMITTED && p->alloc == ALLOC_NONE && p->req.is_vgpu &&
	       !p->req_error;
}

void cluster_track_queue(struct cluster *c, struct cl_pod *p)
{
	cluster_track_license(c, p); /* the licence's figures move at the same points */
	if (!c->qstate || p->qidx < 0 || p->qidx >= c->queues.n)
		return;
	struct cl_queue *q = &c->qstate[p->qidx];
	bool pending = is_pending(p);
	double alloc = p->charged ? p->gpus_charged : 0;
	double demand = alloc + (pending ? cluster_request_gpus(c, &p->req) : 0);
	q->allocated += alloc - p->q_alloc;
	q->demand += demand - p->q_demand;
	q->pending += (int)pending - (int)p->q_pending;
	p->q_alloc = alloc;
	p->q_demand = demand;
	p->q_pending = pending;
}

/* Takes the pod's contribution out of its queue (before a move or removal). */
void cluster_untrack_queue(struct cluster *c, struct cl_pod *p)
{
	cluster_untrack_license(c, p);
	if (c->qstate && p->qidx >= 0 && p->qidx < c->queues.n) {
		struct cl_queue *q = &c->qstate[p->qidx];
		q->allocated -= p->q_alloc;
		q->demand -= p->q_demand;
		q->pending -= p->q_pending;
	}
	p->q_alloc = p->q_demand = 0;
	p->q_pending = false;
}

void cluster_pod_set_queue(struct cluster *c, struct cl_pod *p, const char *label)
{
	int qi = queue_of(&c->queues, label, p->ns);
	if (qi != p->qidx) {
		cluster_untrack_queue(c, p);
		p->qidx = qi;
	}
	cluster_track_queue(c, p);
}

void cluster_set_queues(struct cluster *c, struct queue_conf *confs, int n)
{
	size_t it = 0;
	void *v;
	while (hmap_next(&c->pods, &it, NULL, &v))
		cluster_untrack_queue(c, v);
	queue_set_free(&c->queues);
	free(c->qstate);
	queue_set_init(&c->queues, confs, n);
	c->qstate = xcalloc((size_t)c->queues.n, sizeof *c->qstate);
	for (it = 0; hmap_next(&c->pods, &it, NULL, &v);) {
		struct cl_pod *p = v;
		p->qidx = queue_of(&c->queues, p->queue, p->ns);
		cluster_track_queue(c, p);
	}
	c->version++;
}

void cluster_fair_share(const struct cluster *c, double *share)
{
	int n = c->queues.n;
	double *quota = xcalloc((size_t)n, sizeof *quota);
	double *weight = xcalloc((size_t)n, sizeof *weight);
	double *limit = xcalloc((size_t)n, sizeof *limit);
	double *demand = xcalloc((size_t)n, sizeof *demand);
	for (int i = 0; i < n; i++) {
		quota[i] = c->queues.q[i].quota;
		weight[i] = c->queues.q[i].weight;
		limit[i] = c->queues.q[i].limit;
		demand[i] = c->qstate[i].demand > 0 ? c->qstate[i].demand : 0;
	}
	queue_fair_share(n, quota, weight, limit, demand, c->gpu_capacity, share);
	free(quota);
	free(weight);
	free(limit);
	free(demand);
}
