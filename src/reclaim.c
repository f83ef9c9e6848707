/* reclaim: see reclaim.h. The plan reads the model under the read lock;
 * evictions go through the store with no lock held; the hold and the fair
 * shares are written under the write lock. */
#include "vx/clock.h"
#include "vx/reclaim.h"
#include "vx/bgthread.h"
#include "vx/fit.h"
#include "vx/log.h"
#include "vx/volcano.h"
#include "vx/xalloc.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EPS 1e-9
/* A victim a disruption budget protected is left alone this long. */
#define REFUSED_MS 10000
#define MAX_REFUSED 64
#define MAX_PAIRS 64

void reclaim_update_shares(struct cluster *c)
{
	double *share = xcalloc((size_t)c->queues.n, sizeof *share);
	cluster_fair_share(c, share);
	for (int i = 0; i < c->queues.n; i++)
		c->qstate[i].fair_share = share[i];
	free(share);
}

static double alloc_of(const struct cluster *c, int q)
{
	return c->qstate[q].allocated;
}

static double share_of(const struct cluster *c, int q)
{
	return c->qstate[q].fair_share;
}

/* How far above its fair share a queue is, as a ratio (inf: share 0). */
static double saturation(double alloc, double share)
{
	return share > EPS ? alloc / share : alloc > EPS ? INFINITY : 0;
}

/* Whether the pending pod is one reclaim is for: it would stay within its
 * queue's fair share, and no node takes it now. */
static bool wants_reclaim(const struct pipeline *pl, const struct cl_pod *p, int64_t now_ms,
			  double *need)
{
	const struct cluster *c = pl->cluster;
	if (p->status != POD_SUBMITTED || p->alloc != ALLOC_NONE || !p->req.is_vgpu || p->req_error)
		return false;
	*need = cluster_request_gpus(c, &p->req);
	if (alloc_of(c, p->qidx) + *need > share_of(c, p->qidx) + EPS)
		return false;
	size_t it = 0;
	void *v;
	enum vx_policy gp = pipe_gpu_policy(pl, &p->req);
	while (hmap_next(&c->nodes, &it, NULL, &v)) {
		const struct cl_node *n = v;
		if (!strcmp(n->held_for, p->key) && n->held_until_ms > now_ms)
			return false; /* capacity is already held for it */
		if (n->present && n->usable && !fit_quick_reject(n, &p->req) &&
		    fit_pod(n, &p->req, gp, NULL, NULL, 0) == FIT_FITS)
			return false;
	}
	return true;
}

struct cand {
	const struct cl_pod *p;
	double over; /* its queue's allocation above fair share */
};

static int by_victim_order(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (fabs(x->over - y->over) > EPS)
		return x->over > y->over ? -1 : 1; /* most over-served queue first */
	if (x->p->spec_priority != y->p->spec_priority)
		return x->p->spec_priority < y->p->spec_priority ? -1 : 1; /* lowest priority */
	if (x->p->created != y->p->created)
		return x->p->created > y->p->created ? -1 : 1; /* newest */
	return strcmp(x->p->key, y->p->key);
}

/* Running pods on n that belong to queues above their fair share. */
static int candidates(const struct cluster *c, const struct cl_node *n, int rq,
		      bool (*skip)(void *, const char *), void *ud, struct cand *out, int max)
{
	int k = 0;
	for (const struct cl_pod *p = n->pods; p && k < max; p = p->node_next) {
		if (!p->charged || p->alloc != ALLOC_BOUND || p->status != POD_RUNNING ||
		    p->qidx == rq || !p->uid || (skip && skip(ud, p->uid)))
			continue;
		double over = alloc_of(c, p->qidx) - share_of(c, p->qidx);
		if (over > EPS)
			out[k++] = (struct cand){p, over};
	}
	qsort(out, (size_t)k, sizeof *out, by_victim_order);
	return k;
}

/* After the move, the reclaiming queue may not be more over-served than
 * any victim's queue (KAI's rule: it binds only once the reclaimer is above
 * its share, which the pods reclaim serves never are; kept for rounding). */
static bool no_ping_pong(const struct cluster *c, int rq, double need,
			 const struct cl_pod *const *set, int n)
{
	double mine = saturation(alloc_of(c, rq) + need, share_of(c, rq));
	if (mine <= 1 + EPS)
		return true; /* within its share: the victims cannot take it back */
	for (int i = 0; i < n; i++) {
		int vq = set[i]->qidx;
		double freed = 0;
		for (int j = 0; j < n; j++)
			freed += set[j]->qidx == vq ? set[j]->gpus_charged : 0;
		if (mine > saturation(alloc_of(c, vq) - freed, share_of(c, vq)) + EPS)
			return false;
	}
	return true;
}

/* The smallest set of victims on n that lets p fit; returns its size, or 0. */
static int victims_on(const struct pipeline *pl, const struct cl_node *n, const struct cl_pod *p,
		      double need, bool (*skip)(void *, const char *), void *ud,
		      const struct cl_pod **set)
{
	const struct cluster *c = pl->cluster;
	struct cand cand[RECLAIM_MAX_VICTIMS * 4];
	double *freed = xcalloc((size_t)c->queues.n, sizeof *freed); /* per queue */
	enum vx_policy gp = pipe_gpu_policy(pl, &p->req);
	int nc = candidates(c, n, p->qidx, skip, ud, cand, (int)(sizeof cand / sizeof cand[0]));
	int k = 0;
	bool fits = false;
	for (int i = 0; i < nc && k < RECLAIM_MAX_VICTIMS && !fits; i++) {
		const struct cl_pod *v = cand[i].p;
		int vq = v->qidx;
		double left = alloc_of(c, vq) - freed[vq] - v->gpus_charged;
		if (left < c->queues.q[v->qidx].quota - EPS)
			continue; /* would take its queue below its quota */
		set[k++] = v;
		freed[vq] += v->gpus_charged;
		fits = pipe_fits_without(n, set, k, &p->req, gp);
	}
	free(freed);
	if (!fits)
		return 0;
	for (int i = k - 2; i >= 0; i--) { /* drop any victim not needed */
		const struct cl_pod *saved = set[i];
		set[i] = NULL;
		if (!pipe_fits_without(n, set, k, &p->req, gp))
			set[i] = saved;
	}
	int m = 0;
	for (int i = 0; i < k; i++)
		if (set[i])
			set[m++] = set[i];
	return no_ping_pong(c, p->qidx, need, set, m) ? m : 0;
}

static void fill_plan(const struct cluster *c, const struct cl_pod *p, const struct cl_node *n,
		      double need, const struct cl_pod *const *set, int k, struct reclaim_plan *out)
{
	snprintf(out->pod, sizeof out->pod, "%s", p->key);
	snprintf(out->uid, sizeof out->uid, "%s", p->uid ? p->uid : "");
	snprintf(out->queue, sizeof out->queue, "%s", c->queues.q[p->qidx].name);
	snprintf(out->node, sizeof out->node, "%s", n->name);
	out->need = need;
	out->n = k;
	for (int i = 0; i < k; i++) {
		struct reclaim_victim *v = &out->v[i];
		snprintf(v->ns, sizeof v->ns, "%s", set[i]->ns);
		snprintf(v->name, sizeof v->name, "%s", set[i]->name);
		snprintf(v->uid, sizeof v->uid, "%s", set[i]->uid);
		snprintf(v->queue, sizeof v->queue, "%s", c->queues.q[set[i]->qidx].name);
		v->gpus = set[i]->gpus_charged;
	}
}

/* The best node for p: the fewest victims, then the fewest GPUs evicted. */
static bool plan_for(const struct pipeline *pl, const struct cl_pod *p, double need,
		     bool (*skip)(void *, const char *), void *ud, struct reclaim_plan *out)
{
	const struct cluster *c = pl->cluster;
	const struct cl_pod *set[RECLAIM_MAX_VICTIMS], *best[RECLAIM_MAX_VICTIMS];
	const struct cl_node *best_node = NULL;
	int best_k = 0;
	double best_gpus = 0;
	size_t it = 0;
	void *v;
	while (hmap_next(&c->nodes, &it, NULL, &v)) {
		const struct cl_node *n = v;
		if (!n->present || !n->usable)
			continue;
		int k = victims_on(pl, n, p, need, skip, ud, set);
		double gpus = 0;
		for (int i = 0; i < k; i++)
			gpus += set[i]->gpus_charged;
		if (k && (!best_node || k < best_k ||
			  (k == best_k &&
			   (gpus < best_gpus - EPS || (fabs(gpus - best_gpus) <= EPS &&
						       strcmp(n->name, best_node->name) < 0))))) {
			best_node = n;
			best_k = k;
			best_gpus = gpus;
			memcpy(best, set, (size_t)k * sizeof(const struct cl_pod *));
		}
	}
	if (best_node)
		fill_plan(c, p, best_node, need, best, best_k, out);
	return best_node != NULL;
}

static int by_age(const void *a, const void *b)
{
	const struct cl_pod *x = *(const struct cl_pod *const *)a;
	const struct cl_pod *y = *(const struct cl_pod *const *)b;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->key, y->key);
}

bool reclaim_plan(const struct pipeline *pl, int64_t now_ms, bool (*skip)(void *, const char *),
		  void *ud, struct reclaim_plan *out)
{
	const struct cluster *c = pl->cluster;
	bool any_over = false; /* no queue above its share: nothing to take, skip the scan */
	for (int q = 0; q < c->queues.n && !any_over; q++)
		any_over = alloc_of(c, q) > share_of(c, q) + EPS;
	if (!any_over)
		return false;
	const struct cl_pod **want = xcalloc(hmap_size(&c->pods), sizeof(const struct cl_pod *));
	size_t it = 0, n = 0;
	void *v;
	while (hmap_next(&c->pods, &it, NULL, &v)) {
		double g;
		if (wants_reclaim(pl, v, now_ms, &g))
			want[n++] = v;
	}
	qsort(want, n, sizeof(const struct cl_pod *), by_age); /* the oldest waiting pod first */
	bool found = false;
	for (size_t i = 0; i < n && !found; i++)
		found =
		    plan_for(pl, want[i], cluster_request_gpus(c, &want[i]->req), skip, ud, out);
	free(want);
	return found;
}

/* The loop ------------------------------------------------------------- */

struct refused {
	char uid[64];
	int64_t until_ms;
};

struct pair {
	char queue[64], victim_queue[64];
	unsigned long long n;
};

struct reclaimer {
	struct pipeline *pl;
	pthread_t thread;
	atomic_int stop;
	pthread_mutex_t mu; /* guards the counters, read by /metrics */
	struct pair pairs[MAX_PAIRS];
	int npairs;
	struct refused refused[MAX_REFUSED]; /* the loop's own */
	int64_t now_ms;
	uint64_t seen_version;        /* the model's version the shares were computed at */
	char touched[VX_POD_KEY_MAX]; /* the last pod marked admitted, and when */
	int64_t touched_ms;
};

static bool is_refused(void *ud, const char *uid)
{
	const struct reclaimer *r = ud;
	for (int i = 0; i < MAX_REFUSED; i++)
		if (r->refused[i].until_ms > r->now_ms && !strcmp(r->refused[i].uid, uid))
			return true;
	return false;
}

static void refuse(struct reclaimer *r, const char *uid)
{
	int k = 0;
	for (int i = 1; i < MAX_REFUSED; i++)
		if (r->refused[i].until_ms < r->refused[k].until_ms)
			k = i;
	snprintf(r->refused[k].uid, sizeof r->refused[k].uid, "%s", uid);
	r->refused[k].until_ms = r->now_ms + REFUSED_MS;
}

static void count(struct reclaimer *r, const char *queue, const char *victim_queue)
{
	pthread_mutex_lock(&r->mu);
	int i = 0;
	while (i < r->npairs && (strcmp(r->pairs[i].queue, queue) != 0 ||
				 strcmp(r->pairs[i].victim_queue, victim_queue) != 0))
		i++;
	if (i == r->npairs && r->npairs < MAX_PAIRS) {
		snprintf(r->pairs[i].queue, sizeof r->pairs[i].queue, "%s", queue);
		snprintf(r->pairs[i].victim_queue, sizeof r->pairs[i].victim_queue, "%s",
			 victim_queue);
		r->npairs++;
	}
	if (i < r->npairs)
		r->pairs[i].n++;
	pthread_mutex_unlock(&r->mu);
}

/* Evicts the plan's victims; true when all went. */
static bool evict(struct reclaimer *r, const struct reclaim_plan *pl)
{
	struct store *st = r->pl->store;
	char msg[1536];
	bool all = true;
	for (int i = 0; i < pl->n; i++) {
		const struct reclaim_victim *v = &pl->v[i];
		struct store_err e = {0};
		if (st->ops->evict_pod(st, v->ns, v->name, v->uid, &e)) {
			log_warn("reclaim for %s: cannot evict %s/%s: %s", pl->pod, v->ns, v->name,
				 e.msg);
			if (e.code == 429)
				refuse(r, v->uid); /* a disruption budget: try other victims */
			all = false;
			continue;
		}
		snprintf(msg, sizeof msg,
			 "evicted to give queue %s its fair share: pod %s waits for %.3g GPUs on "
			 "node %s, and queue %s is above its fair share",
			 pl->queue, pl->pod, pl->need, pl->node, v->queue);
		log_info("reclaim: %s/%s (queue %s) %s", v->ns, v->name, v->queue, msg);
		if (st->ops->pod_event)
			st->ops->pod_event(st, v->ns, v->name, v->uid, "Reclaimed", msg);
		count(r, pl->queue, v->queue);
	}
	return all;
}

static void hold(struct reclaimer *r, const struct reclaim_plan *plan)
{
	struct cluster *c = r->pl->cluster;
	cluster_wrlock(c);
	struct cl_node *n = cluster_node(c, plan->node);
	if (n) {
		snprintf(n->held_for, sizeof n->held_for, "%s", plan->pod);
		n->held_until_ms = r->now_ms + RECLAIM_HOLD_MS;
		c->version++;
	}
	cluster_unlock(c);
	struct store *st = r->pl->store;
	char ns[256], msg[1024];
	const char *slash = strchr(plan->pod, '/');
	snprintf(ns, sizeof ns, "%.*s", slash ? (int)(slash - plan->pod) : 0, plan->pod);
	snprintf(msg, sizeof msg,
		 "reclaimed %d pod(s) on node %s for this pod (queue %s is below its fair share); "
		 "the capacity is held for it for %d s",
		 plan->n, plan->node, plan->queue, RECLAIM_HOLD_MS / 1000);
	if (st->ops->pod_event && slash)
		st->ops->pod_event(st, ns, slash + 1, plan->uid, "Reclaiming", msg);
}

/* The next waiting pod of each licence that may run now: kube-scheduler
 * keeps a pod every node refused in its unschedulable queue until something
 * about it changes, so the daemon touches the pod (annotation
 * vgpu-extender.io/admitted-at, which also tells its user) to have it
 * retried at once when a slot frees or the day resets (SPEC section 6). */
#define TOUCH_AGAIN_MS 10000

static const struct cl_pod *license_head(const struct cluster *c, int li, int64_t now)
{
	const struct license_conf *l = &c->licenses.l[li];
	const struct cl_license *st = &c->lstate[li];
	if (cluster_license_used_s(c, li, now) / 3600.0 >= l->daily_hours - EPS)
		return NULL;
	const struct cl_pod *head = NULL;
	for (const struct cl_pod *w = st->waiters; w; w = w->l_next)
		if (!head || license_before(w->priority, w->created, w->key, head->priority,
					    head->created, head->key))
			head = w;
	return head && head->req.total_vgpus <= l->max_slots - st->used_slots ? head : NULL;
}

static void touch_heads(struct reclaimer *r)
{
	struct cluster *c = r->pl->cluster;
	char keys[8][VX_POD_KEY_MAX];
	int n = 0;
	int64_t now = c->clock ? clk_now_s(c->clock) : 0;
	cluster_rdlock(c);
	for (int li = 0; li < c->licenses.n && n < 8; li++) {
		const struct cl_pod *h = license_head(c, li, now);
		if (h)
			snprintf(keys[n++], sizeof keys[0], "%s", h->key);
	}
	cluster_unlock(c);
	for (int i = 0; i < n; i++) {
		if (!strcmp(keys[i], r->touched) && r->now_ms - r->touched_ms < TOUCH_AGAIN_MS)
			continue;
		char ts[32], *slash = strchr(keys[i], '/');
		struct store_err e = {0};
		clk_format_rfc3339(now, ts, sizeof ts);
		cJSON *ann = cJSON_CreateObject();
		cJSON_AddStringToObject(ann, VX_ANN_ADMITTED_AT, ts);
		*slash = '\0';
		if (r->pl->store->ops->patch_pod_annotations(r->pl->store, keys[i], slash + 1, ann,
							     &e))
			log_warn("cannot mark %s/%s admitted: %s", keys[i], slash + 1, e.msg);
		*slash = '/';
		cJSON_Delete(ann);
		memcpy(r->touched, keys[i], sizeof r->touched);
		r->touched_ms = r->now_ms;
	}
}

static void pass(struct reclaimer *r)
{
	struct cluster *c = r->pl->cluster;
	struct reclaim_plan plan;
	r->now_ms = clk_mono_ms();
	/* With the default queue alone there is nobody to reclaim from; and the
	 * shares move only when the model does. A write lock stalls filters for
	 * as long as one filter takes, so take it only when something changed. */
	struct store *st0 = r->pl->store;
	bool leader = !st0->ops->is_leader || st0->ops->is_leader(st0);
	cluster_rdlock(c);
	bool lone = c->queues.n <= 1, moved = c->version != r->seen_version;
	bool licences = c->licenses.n > 0;
	cluster_unlock(c);
	if (licences && leader)
		touch_heads(r);
	if (lone)
		return;
	if (moved) {
		cluster_wrlock(c);
		reclaim_update_shares(c);
		r->seen_version = c->version;
		cluster_unlock(c);
	}
	struct store *st = r->pl->store;
	if (!leader || !st->ops->evict_pod)
		return; /* only the leader evicts */
	cluster_rdlock(c);
	bool found = reclaim_plan(r->pl, r->now_ms, is_refused, r, &plan);
	cluster_unlock(c);
	if (found && evict(r, &plan))
		hold(r, &plan);
}

static void *run(void *arg)
{
	struct reclaimer *r = arg;
	bg_thread("vx-reclaim");
	while (!atomic_load(&r->stop)) {
		struct timespec ts = {0, RECLAIM_PERIOD_MS * 1000000L};
		nanosleep(&ts, NULL);
		if (!atomic_load(&r->stop))
			pass(r);
	}
	return NULL;
}

struct reclaimer *reclaim_start(struct pipeline *pl)
{
	struct reclaimer *r = xcalloc(1, sizeof *r);
	r->pl = pl;
	pthread_mutex_init(&r->mu, NULL);
	if (pthread_create(&r->thread, NULL, run, r) != 0) {
		free(r);
		return NULL;
	}
	return r;
}

void reclaim_stop(struct reclaimer *r)
{
	if (!r)
		return;
	atomic_store(&r->stop, 1);
	pthread_join(r->thread, NULL);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

void reclaim_metrics(struct reclaimer *r, struct buf *b)
{
	buf_puts(b, "# HELP vgpu_extender_reclaims_total Pods evicted to give a queue its fair "
		    "share, by reclaiming and victim queue.\n"
		    "# TYPE vgpu_extender_reclaims_total counter\n");
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < r->npairs; i++) {
		buf_puts(b, "vgpu_extender_reclaims_total{queue=");
		buf_json_str(b, r->pairs[i].queue);
		buf_puts(b, ",victim_queue=");
		buf_json_str(b, r->pairs[i].victim_queue);
		buf_printf(b, "} %llu\n", r->pairs[i].n);
	}
	pthread_mutex_unlock(&r->mu);
}
