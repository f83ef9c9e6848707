/* pipeline: the stages of pipeline.h. Filter and score read the model under
 * the read lock; reserve changes it under the write lock; bind calls the
 * store with no lock held. Reserve and finish follow kube-scheduler's
 * assume/confirm/forget pattern: devices are charged in the model before the
 * store call so concurrent binds see them, and given back if the call
 * fails, unless something newer replaced the allocation. */
#include "vx/clock.h"
#include "vx/pipeline.h"
#include "vx/codec.h"
#include "vx/fit.h"
#include "vx/log.h"
#include "vx/volcano.h"
#include "vx/xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Nominated nodes a filter looks at, at most. */
#define NOM_SNAPSHOT_MAX 64

/* Other pods' nominated nodes, for a filter or score of pod uid. */
struct noms {
	struct nom_node node[NOM_SNAPSHOT_MAX];
	int n;
};

static void noms_take(const struct pipeline *pl, const char *uid, struct noms *out)
{
	out->n =
	    pl->noms ? nom_snapshot(pl->noms, uid, clk_mono_ms(), out->node, NOM_SNAPSHOT_MAX) : 0;
}

enum vx_policy pipe_node_policy(const struct pipeline *pl, const struct req_pod *r)
{
	return r->node_policy != POLICY_DEFAULT ? r->node_policy : pl->node_policy;
}

enum vx_policy pipe_gpu_policy(const struct pipeline *pl, const struct req_pod *r)
{
	return r->gpu_policy != POLICY_DEFAULT ? r->gpu_policy : pl->gpu_policy;
}

/* ---- admit ---------------------------------------------------------- */

/* Tolerance for comparing fractional GPU charges. */
#define GPU_EPS 1e-9

/* A queue's hard limit holds even while GPUs are idle (SPEC section 5). */
static enum pipe_admit admit_queue(const struct cluster *c, const struct pipe_pod *pod, char *why,
				   size_t whylen)
{
	int qi = queue_of(&c->queues, pod->queue_label, pod->ns);
	const struct queue_conf *q = &c->queues.q[qi];
	if (q->limit < 0)
		return PIPE_ADMIT;
	double need = cluster_request_gpus(c, pod->req), using = c->qstate[qi].allocated;
	if (need > q->limit + GPU_EPS) {
		snprintf(why, whylen, "queue %s: needs %.4g GPUs, above its limit of %.4g", q->name,
			 need, q->limit);
		return PIPE_NEVER;
	}
	if (using + need <= q->limit + GPU_EPS)
		return PIPE_ADMIT;
	snprintf(why, whylen, "queue %s at limit %.4g GPUs (using %.4g)", q->name, q->limit, using);
	return PIPE_WAIT;
}

/* The pods of the licence waiting ahead of this one that fit the free
 * slots: this one would take their place (SPEC section 6). Returns its
 * position among the waiting (1-based) and whether one ahead can use a slot. */
static int license_position(const struct cl_license *st, const struct cl_pod *self, int prio,
			    int64_t created, const char *key, int free_slots, bool *blocked)
{
	int ahead = 0;
	*blocked = false;
	for (const struct cl_pod *w = st->waiters; w; w = w->l_next) {
		if (w == self ||
		    !license_before(w->priority, w->created, w->key, prio, created, key))
			continue;
		ahead++;
		*blocked |= w->req.total_vgpus <= free_slots;
	}
	return ahead + 1;
}

/* Slots, hours and the waiting order of the pod's licence (SPEC section 6).
 * *head: it waits only for slots, first in line. */
static enum pipe_admit admit_license(const struct cluster *c, const struct pipe_pod *pod, char *why,
				     size_t whylen, bool *head)
{
	int li = license_of(&c->licenses, pod->ns, pod->billing);
	if (li < 0)
		return PIPE_ADMIT;
	const struct license_conf *l = &c->licenses.l[li];
	const struct cl_license *st = &c->lstate[li];
	int64_t now = c->clock ? clk_now_s(c->clock) : 0;
	double used_h = cluster_license_used_s(c, li, now) / 3600.0;
	int need = pod->req->total_vgpus, free_slots = l->max_slots - st->used_slots;
	if (used_h >= l->daily_hours - GPU_EPS) {
		license_refusal(why, whylen, l, used_h, cluster_license_reset_in(c, li, now));
		return PIPE_WAIT;
	}
	if (need > l->max_slots) {
		snprintf(why, whylen, "licence %s: needs %d vGPUs, more than its %d slots", l->name,
			 need, l->max_slots);
		return PIPE_NEVER;
	}
	char key[VX_POD_KEY_MAX];
	const struct cl_pod *self =
	    cluster_pod(c, pod_key(key, pod->ns, pod->name ? pod->name : ""));
	bool blocked;
	int pos = license_position(st, self, self ? self->priority : VX_PRIORITY_DEFAULT,
				   self ? self->created : INT64_MAX, key, free_slots, &blocked);
	if (need <= free_slots && !blocked)
		return PIPE_ADMIT;
	*head = pos == 1;
	snprintf(why, whylen, "licence %s: position %d of %d waiting, %d/%d slots in use", l->name,
		 pos, st->waiting + (self && self->l_waiting ? 0 : 1), st->used_slots,
		 l->max_slots);
	return PIPE_WAIT;
}

/* A waiting pod's grace for a slot at most this often per licence (the
 * minimum podInitialBackoffSeconds) and over all licences, polling the
 * slots this often. */
#define LICENSE_GRACE_EVERY_MS 1000
#define LICENSE_GRACE_ANY_EVERY_MS 500
#define LICENSE_GRACE_POLL_US 2000

/* What admission found, besides its answer. */
struct admit_info {
	bool by_license; /* the licence refused (counted in its refused_total) */
	bool head;       /* ... only for slots, and the pod is first in line */
};

static enum pipe_admit admit(struct pipeline *pl, const struct pipe_pod *pod, char *why,
			     size_t whylen, struct admit_info *ai)
{
	ai->by_license = ai->head = false;
	if (whylen)
		why[0] = '\0';
	if (!pod->req->is_vgpu)
		return PIPE_ADMIT;
	enum pipe_admit a = admit_queue(pl->cluster, pod, why, whylen);
	if (a != PIPE_ADMIT)
		return a;
	a = admit_license(pl->cluster, pod, why, whylen, &ai->head);
	ai->by_license = a != PIPE_ADMIT;
	return a;
}

static void count_refusal(struct pipeline *pl, const struct pipe_pod *pod,
			  const struct admit_info *ai)
{
	int li = ai->by_license ? license_of(&pl->cluster->licenses, pod->ns, pod->billing) : -1;
	if (li >= 0)
		__atomic_fetch_add(&pl->cluster->lstate[li].refused, 1, __ATOMIC_RELAXED);
}

enum pipe_admit pipe_admit(struct pipeline *pl, const struct pipe_pod *pod, char *why,
			   size_t whylen)
{
	struct admit_info ai;
	enum pipe_admit a = admit(pl, pod, why, whylen, &ai);
	count_refusal(pl, pod, &ai);
	return a;
}

/* Claims *at for now unless it was claimed less than every ms ago. */
static bool take_turn(int64_t *at, int64_t now, int64_t every)
{
	int64_t last = __atomic_load_n(at, __ATOMIC_RELAXED);
	return now - last >= every &&
	       __atomic_compare_exchange_n(at, &last, now, false, __ATOMIC_RELAXED,
					   __ATOMIC_RELAXED);
}

/* kube-scheduler retries a waiting pod on the very event that frees its
 * slot (a licensed pod ending), and its filter can reach us before our own
 * watch delivers that event: refused then, the pod would sit out a backoff
 * of up to podMaxBackoffSeconds however soon we touch it. So the first pod
 * in line, refused only for slots, waits up to license_grace_ms for the
 * licence's slots to change before the answer, at most once a second per
 * licence (kube-scheduler's minimum backoff) and twice a second in all, so
 * the serial scheduling loop loses at most a fifth of its time to it
 * however many licences are full. Called and returns with the read lock. */
static enum pipe_admit grace_for_slot(struct pipeline *pl, const struct pipe_pod *pod,
				      enum pipe_admit a, struct admit_info *ai, char *why,
				      size_t whylen)
{
	struct cluster *c = pl->cluster;
	if (a != PIPE_WAIT || !ai->head || pl->license_grace_ms <= 0)
		return a; /* every filter comes here: the common case costs nothing */
	int li = license_of(&c->licenses, pod->ns, pod->billing);
	int64_t now = clk_mono_ms();
	if (li < 0 || !take_turn(&c->lstate[li].grace_at_ms, now, LICENSE_GRACE_EVERY_MS) ||
	    !take_turn(&c->grace_any_ms, now, LICENSE_GRACE_ANY_EVERY_MS))
		return a;
	uint64_t seen = __atomic_load_n(&c->slot_changes, __ATOMIC_ACQUIRE);
	cluster_unlock(c);
	while (clk_mono_ms() - now < pl->license_grace_ms &&
	       __atomic_load_n(&c->slot_changes, __ATOMIC_ACQUIRE) == seen)
		nanosleep(&(struct timespec){0, LICENSE_GRACE_POLL_US * 1000L}, NULL);
	cluster_rdlock(c);
	return admit(pl, pod, why, whylen, ai); /* the licences may have been reloaded */
}

/* Capacity a reclaim freed is held for the pod it was freed for: a pod of
 * a queue at or above its fair share may not take it meanwhile. */
struct hold_ctx {
	char key[VX_POD_KEY_MAX];
	bool over_share; /* the pod's queue would go above its fair share */
	int64_t now_ms;
};

static void hold_ctx_init(const struct cluster *c, const struct pipe_pod *pod, struct hold_ctx *h)
{
	int qi = queue_of(&c->queues, pod->queue_label, pod->ns);
	pod_key(h->key, pod->ns ? pod->ns : "default", pod->name ? pod->name : "");
	h->over_share = c->qstate[qi].allocated + cluster_request_gpus(c, pod->req) >
			c->qstate[qi].fair_share + GPU_EPS;
	h->now_ms = clk_mono_ms();
}

/* Whether n's capacity is held for another pod; why says for which. */
static bool held_from(const struct cl_node *n, const struct hold_ctx *h, char *why, size_t len)
{
	if (!n->held_for[0] || n->held_until_ms <= h->now_ms || !strcmp(n->held_for, h->key) ||
	    !h->over_share)
		return false;
	snprintf(why, len, "capacity reclaimed for pod %.200s is held for it", n->held_for);
	return true;
}

/* Whether n's capacity is being reclaimed for this very pod: then its
 * failure is the reclaim in progress, not the node's fit, and says so (in
 * kube-scheduler's FailedScheduling event and in the pod's message). */
static bool held_for_self(const struct cl_node *n, const struct hold_ctx *h)
{
	return n && n->held_for[0] && n->held_until_ms > h->now_ms && !strcmp(n->held_for, h->key);
}

/* ---- filter --------------------------------------------------------- */

/* Marks a node that fits but is busy, until the end of the walk decides. */
#define VERDICT_PASS_BUSY 0xff
/* When every node that fits is busy, the one with the fewest allocations in
 * flight frees first: each one ranks below any usage (usage is at most 3),
 * so binds spread over the busy nodes instead of queueing on the most used. */
#define BUSY_PENALTY 10.0

static double busy_score(const struct cl_node *n, double score, bool nominated)
{
	return score - BUSY_PENALTY * (n->assumed + n->allocating + (nominated ? 1 : 0));
}

static void fail(struct pipe_filter_out *out, int i, enum pipe_verdict v, const char *why)
{
	out->verdict[i] = (unsigned char)v;
	out->reason[i] = (uint32_t)out->reasons.len;
	buf_append(&out->reasons, why, strlen(why) + 1);
}

static void out_init(struct pipe_filter_out *out, int n)
{
	out->n = n;
	out->verdict = xcalloc((size_t)n, 1);
	out->reason = xcalloc((size_t)n, sizeof *out->reason);
	out->reasons = (struct buf)BUF_INIT;
}

void pipe_filter_reject_all(struct pipe_filter_out *out, int n, const char *why)
{
	out_init(out, n);
	for (int i = 0; i < n; i++)
		fail(out, i, PIPE_UNRESOLVABLE, why);
}

void pipe_filter_out_free(struct pipe_filter_out *out)
{
	free(out->verdict);
	free(out->reason);
	buf_free(&out->reasons);
	memset(out, 0, sizeof *out);
}

/* Keeps the passing nodes' scores for the prioritize call that follows. */
static void remember_scores(struct pipeline *pl, const char *uid, const char *const *names,
			    const size_t *lens, int n, const struct pipe_filter_out *out,
			    const double *raw)
{
	bool *pass = xmalloc((size_t)n + 1);
	for (int i = 0; i < n; i++)
		pass[i] = out->verdict[i] == PIPE_PASS;
	scache_store(pl->scores, uid, pl->cluster->version, names, lens, pass, raw, n);
	free(pass);
}

/* One candidate: PIPE_PASS (or VERDICT_PASS_BUSY), else a failure with why. */
static int filter_node(struct pipeline *pl, const struct cl_node *node, const struct req_pod *r,
		       int64_t now, char *why, size_t whylen)
{
	if (!node || !node->present) {
		snprintf(why, whylen, "node not known to the vGPU scheduler");
		return PIPE_UNRESOLVABLE;
	}
	enum vx_policy gp = pipe_gpu_policy(pl, r);
	if (!fit_quick_reject(node, r) &&
	    (fit_quick_accept(node, r) || fit_pod(node, r, gp, NULL, NULL, 0) == FIT_FITS))
		return cluster_node_busy(node, now) ? VERDICT_PASS_BUSY : PIPE_PASS;
	enum fit_verdict v = fit_pod(node, r, gp, NULL, why, whylen);
	return v == FIT_NEVER ? PIPE_UNRESOLVABLE : PIPE_FAIL;
}

/* Busy nodes pass only when no idle node does: a bind there would wait for
 * the node lock while an idle node could take the pod at once. */
static void settle_busy(struct pipe_filter_out *out, int idle_passes)
{
	for (int i = 0; i < out->n; i++) {
		if (out->verdict[i] != VERDICT_PASS_BUSY)
			continue;
		if (idle_passes)
			fail(out, i, PIPE_FAIL, PIPE_BUSY_REASON);
		else
			out->verdict[i] = PIPE_PASS;
	}
}

static void filter_nodes(struct pipeline *pl, const struct req_pod *r, const char *const *names,
			 const size_t *lens, int n, struct pipe_filter_out *out, double *raw,
			 const struct noms *noms, const struct hold_ctx *hold)
{
	char why[256];
	int idle_passes = 0;
	int64_t now = clk_now_s(pl->clock);
	enum vx_policy np = pipe_node_policy(pl, r);
	uint32_t *hash = xmalloc((size_t)n * sizeof *hash + 1);
	for (int i = 0; i < n; i++)
		hash[i] = hmap_hash(names[i], lens[i]);
	const struct hmap *nodes = &pl->cluster->nodes;
	for (int i = 0; i < n; i++) {
		/* Thousands of lookups, each a cache miss on a slot and then on a
		 * node: fetch the slot 8 candidates ahead and the node 4 ahead, so
		 * the misses overlap instead of queueing. */
		if (i + 8 < n)
			hmap_prefetch_slot(nodes, hash[i + 8]);
		if (i + 4 < n)
			hmap_prefetch_key(nodes, hash[i + 4]);
		const struct cl_node *node = hmap_getnh(nodes, names[i], lens[i], hash[i]);
		int v = filter_node(pl, node, r, now, why, sizeof why);
		if ((v == PIPE_PASS || v == VERDICT_PASS_BUSY) &&
		    held_from(node, hold, why, sizeof why))
			v = PIPE_FAIL;
		bool fits = v == PIPE_PASS || v == VERDICT_PASS_BUSY;
		bool nominated =
		    fits && noms->n && nom_has(noms->node, noms->n, names[i], lens[i], hash[i]);
		if (nominated)
			v = VERDICT_PASS_BUSY; /* another pod's bind is on its way there */
		if (fits) {
			out->verdict[i] = (unsigned char)v;
			idle_passes += v == PIPE_PASS;
			/* Busy nodes keep their place in the cache only for the case
			 * where nothing idle fits, ranked by what is in flight there. */
			if (raw)
				raw[i] = v == PIPE_PASS ? fit_node_score(node, np)
							: busy_score(node, fit_node_score(node, np),
								     nominated);
		} else if (v == PIPE_FAIL && held_for_self(node, hold)) {
			fail(out, i, PIPE_FAIL, PIPE_RECLAIMING_REASON);
		} else {
			fail(out, i, (enum pipe_verdict)v, why);
		}
	}
	settle_busy(out, idle_passes);
	free(hash);
}

void pipe_filter(struct pipeline *pl, const struct pipe_pod *pod, const char *const *names,
		 const size_t *lens, int n, struct pipe_filter_out *out)
{
	char why[256];
	const struct req_pod *r = pod->req;
	out_init(out, n);
	if (!r->is_vgpu)
		return; /* every node passes */
	double *raw = pl->scores && pod->uid ? xmalloc((size_t)n * sizeof *raw + 1) : NULL;
	struct noms noms;
	noms_take(pl, pod->uid, &noms);
	cluster_rdlock(pl->cluster);
	struct admit_info ai;
	enum pipe_admit adm = admit(pl, pod, why, sizeof why, &ai);
	adm = grace_for_slot(pl, pod, adm, &ai, why, sizeof why);
	count_refusal(pl, pod, &ai);
	if (adm == PIPE_ADMIT) {
		struct hold_ctx hold;
		hold_ctx_init(pl->cluster, pod, &hold);
		filter_nodes(pl, r, names, lens, n, out, raw, &noms, &hold);
		if (raw)
			remember_scores(pl, pod->uid, names, lens, n, out, raw);
	}
	cluster_unlock(pl->cluster);
	for (int i = 0; adm != PIPE_ADMIT && i < n; i++)
		fail(out, i, adm == PIPE_NEVER ? PIPE_UNRESOLVABLE : PIPE_FAIL, why);
	free(raw);
}

/* ---- score ---------------------------------------------------------- */

/* Raw scores, NAN where the pod cannot go; busy[i] marks busy nodes. */
static void score_nodes(struct pipeline *pl, const struct req_pod *r, const char *const *names,
			const size_t *lens, int n, double *raw, bool *busy, const struct noms *noms)
{
	enum vx_policy np = pipe_node_policy(pl, r);
	int64_t now = clk_now_s(pl->clock);
	for (int i = 0; i < n; i++) {
		const struct cl_node *node = cluster_noden(pl->cluster, names[i], lens[i]);
		raw[i] = NAN;
		/* Candidates come from filter, which ran the full walk; repeating it
		 * here would double the cost for nothing. The O(1) test still gives
		 * 0 to a node that filled up since. */
		if (!node || (r->is_vgpu && fit_quick_reject(node, r)))
			continue;
		raw[i] = r->is_vgpu ? fit_node_score(node, np) : 0;
		bool nominated =
		    r->is_vgpu && noms->n &&
		    nom_has(noms->node, noms->n, names[i], lens[i], hmap_hash(names[i], lens[i]));
		busy[i] = r->is_vgpu && (nominated || cluster_node_busy(node, now));
		if (busy[i])
			raw[i] = busy_score(node, raw[i], nominated);
	}
}

/* Scores rank the candidates' distinct preference levels: the best level
 * gets 10, the next 9, and so on down to 1; the worst gets 0. A linear scale
 * would round the small differences binpack lives on (one pod more on a
 * node of 80 slots) to the same integer as an empty node, and
 * kube-scheduler would then pick among them at random. */
#define SCORE_LEVELS 10
#define SAME_LEVEL 1e-9

struct levels {
	double top[SCORE_LEVELS]; /* distinct values, best first */
	int n;
	double worst;
};

static void levels_add(struct levels *lv, double v)
{
	int k = 0;
	lv->worst = v < lv->worst ? v : lv->worst;
	while (k < lv->n && lv->top[k] > v + SAME_LEVEL)
		k++;
	if (k < lv->n && fabs(lv->top[k] - v) <= SAME_LEVEL)
		return; /* a level already kept */
	if (k == SCORE_LEVELS)
		return; /* below the tenth best */
	int last = lv->n < SCORE_LEVELS ? lv->n : SCORE_LEVELS - 1;
	memmove(&lv->top[k + 1], &lv->top[k], (size_t)(last - k) * sizeof lv->top[0]);
	lv->top[k] = v;
	if (lv->n < SCORE_LEVELS)
		lv->n++;
}

static int levels_score(const struct levels *lv, double v)
{
	if (lv->n == 1)
		return 10; /* no preference among them */
	if (fabs(v - lv->worst) <= SAME_LEVEL)
		return 0;
	for (int k = 0; k < lv->n; k++)
		if (fabs(lv->top[k] - v) <= SAME_LEVEL)
			return 10 - k;
	return 1;
}

/* Busy nodes get 0 while some idle node scores, so binpack packs the
 * most-used node that is free to take a pod now. */
static void scale_scores(const double *raw, const bool *busy, int n, int *scores)
{
	struct levels lv = {.n = 0, .worst = INFINITY};
	bool any_idle = false;
	for (int i = 0; i < n; i++)
		any_idle |= !isnan(raw[i]) && !busy[i];
	for (int i = 0; i < n; i++)
		if (!isnan(raw[i]) && !(any_idle && busy[i]))
			levels_add(&lv, raw[i]);
	for (int i = 0; i < n; i++)
		scores[i] = isnan(raw[i]) || (any_idle && busy[i]) ? 0 : levels_score(&lv, raw[i]);
}

void pipe_score_raw(struct pipeline *pl, const struct pipe_pod *pod, const char *const *names,
		    const size_t *lens, int n, double *raw, bool *busy)
{
	const struct req_pod *r = pod->req;
	struct noms noms;
	memset(busy, 0, (size_t)n * sizeof *busy);
	noms_take(pl, pod->uid, &noms);
	cluster_rdlock(pl->cluster);
	/* The cache holds filter's passing nodes, which are idle whenever an
	 * idle node fits: no busy flags needed on a hit. */
	if (!r->is_vgpu || !pl->scores ||
	    !scache_lookup(pl->scores, pod->uid, pl->cluster->version, names, lens, n, raw))
		score_nodes(pl, r, names, lens, n, raw, busy, &noms);
	cluster_unlock(pl->cluster);
}

/* kube-scheduler is about to bind the pod to one of its best nodes. */
static void nominate(struct pipeline *pl, const struct pipe_pod *pod, const char *const *names,
		     const size_t *lens, int n, const int *scores)
{
	const char *best[NOM_MAX_NODES];
	size_t best_len[NOM_MAX_NODES];
	int k = 0;
	if (!pl->noms || !pod->uid || !pod->req->is_vgpu)
		return;
	for (int i = 0; i < n; i++) {
		if (scores[i] != 10)
			continue;
		if (k == NOM_MAX_NODES)
			return; /* too many ties to guess */
		best[k] = names[i];
		best_len[k++] = lens[i];
	}
	if (k)
		nom_set(pl->noms, pod->uid, best, best_len, k, clk_mono_ms());
}

void pipe_score(struct pipeline *pl, const struct pipe_pod *pod, const char *const *names,
		const size_t *lens, int n, int *scores)
{
	double *raw = xmalloc((size_t)n * sizeof *raw + 1);
	bool *busy = xcalloc((size_t)n, sizeof *busy);
	pipe_score_raw(pl, pod, names, lens, n, raw, busy);
	scale_scores(raw, busy, n, scores);
	nominate(pl, pod, names, lens, n, scores);
	free(busy);
	free(raw);
}

/* ---- reserve, bind, finish ------------------------------------------ */

void pipe_binding_init(struct pipe_binding *b, const char *ns, const char *name, const char *uid,
		       const char *node)
{
	memset(b, 0, sizeof *b);
	snprintf(b->ns, sizeof b->ns, "%s", ns);
	snprintf(b->name, sizeof b->name, "%s", name);
	snprintf(b->uid, sizeof b->uid, "%s", uid ? uid : "");
	snprintf(b->node, sizeof b->node, "%s", node);
	pod_key(b->key, b->ns, b->name);
}

static cJSON *bind_annotations(const char *node, const struct codec_pod_devs *devs, int64_t now)
{
	struct buf ids = BUF_INIT;
	char ts[32];
	codec_encode_pod_devs(&ids, devs);
	snprintf(ts, sizeof ts, "%lld", (long long)now);
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, ANN_NODE, node);
	cJSON_AddStringToObject(a, ANN_TIME, ts);
	cJSON_AddStringToObject(a, ANN_IDS, ids.data ? ids.data : "");
	cJSON_AddStringToObject(a, ANN_TO_ALLOCATE, ids.data ? ids.data : "");
	cJSON_AddStringToObject(a, ANN_BIND_PHASE, "allocating");
	cJSON_AddStringToObject(a, ANN_BIND_TIME, ts);
	buf_free(&ids);
	return a;
}

/* Whether the pod may be reserved at all; fills err when not. */
static enum pipe_reserved check_pod(struct pipeline *pl, const struct pipe_binding *b,
				    const struct cl_pod *p, char *err, size_t errlen)
{
	if (!p)
		return PIPE_UNKNOWN_POD;
	if (b->uid[0] && p->uid && strcmp(b->uid, p->uid) != 0) {
		snprintf(err, errlen, "pod %s has uid %s, not %s", b->key, p->uid, b->uid);
		return PIPE_REFUSED;
	}
	if (p->alloc != ALLOC_NONE && p->node && cluster_pod_holds_devices(p)) {
		if (p->alloc == ALLOC_BOUND && strcmp(p->node->name, b->node) == 0)
			return PIPE_ALREADY_BOUND;
		snprintf(err, errlen, "pod %s already holds GPUs on node %s", b->key,
			 p->node->name);
		return PIPE_REFUSED;
	}
	if (p->req_error) {
		snprintf(err, errlen, "pod %s: invalid vGPU request: %s", b->key, p->req_error);
		return PIPE_REFUSED;
	}
	if (!p->req.is_vgpu)
		return PIPE_PLAIN;
	struct pipe_pod pp = {&p->req, p->ns, p->name, p->uid, p->queue, p->billing};
	char why[256];
	if (pipe_admit(pl, &pp, why, sizeof why) != PIPE_ADMIT) {
		snprintf(err, errlen, "pod %s: %s", b->key, why);
		return PIPE_REFUSED;
	}
	return PIPE_RESERVED;
}

/* Chooses GPUs and assumes them; the caller holds the write lock. */
static enum pipe_reserved reserve_locked(struct pipeline *pl, struct pipe_binding *b, char *err,
					 size_t errlen)
{
	char why[256];
	struct cl_pod *p = cluster_pod(pl->cluster, b->key);
	enum pipe_reserved rc = check_pod(pl, b, p, err, errlen);
	if (rc != PIPE_RESERVED)
		return rc;
	struct cl_node *n = cluster_node(pl->cluster, b->node);
	if (!n || !n->present) {
		snprintf(err, errlen, "node %s not known to the vGPU scheduler", b->node);
		return PIPE_REFUSED;
	}
	struct hold_ctx hold;
	struct pipe_pod pp = {&p->req, p->ns, p->name, p->uid, p->queue, p->billing};
	hold_ctx_init(pl->cluster, &pp, &hold);
	if (held_from(n, &hold, why, sizeof why)) {
		snprintf(err, errlen, "pod %s cannot go to node %s now: %s", b->key, b->node, why);
		return PIPE_REFUSED;
	}
	struct codec_pod_devs devs = {0};
	if (fit_pod(n, &p->req, pipe_gpu_policy(pl, &p->req), &devs, why, sizeof why) != FIT_FITS) {
		snprintf(err, errlen, "pod %s no longer fits on node %s: %s", b->key, b->node, why);
		codec_free_pod_devs(&devs);
		return PIPE_REFUSED;
	}
	if (!strcmp(n->held_for, b->key))
		n->held_for[0] = '\0'; /* it came for what was held */
	b->annotations = bind_annotations(b->node, &devs, clk_now_s(pl->clock));
	cluster_pod_set_alloc(pl->cluster, p, b->node, &devs, ALLOC_ASSUMED);
	codec_free_pod_devs(&devs);
	b->seq = p->alloc_seq;
	b->reserved = true;
	return PIPE_RESERVED;
}

enum pipe_reserved pipe_reserve(struct pipeline *pl, struct pipe_binding *b, char *err,
				size_t errlen)
{
	if (pl->noms)
		nom_clear(pl->noms, b->uid); /* the bind is here: its own state says the rest */
	cluster_wrlock(pl->cluster);
	enum pipe_reserved rc = reserve_locked(pl, b, err, errlen);
	cluster_unlock(pl->cluster);
	return rc;
}

int pipe_bind(struct pipeline *pl, struct pipe_binding *b, char *err, size_t errlen)
{
	struct store_binding sb = {b->ns, b->name, b->uid, b->node, b->annotations};
	struct store_err e = {0};
	int rc = pl->store->ops->bind(pl->store, &sb, &e);
	if (rc < 0)
		snprintf(err, errlen, "binding %s to %s: %s", b->key, b->node, e.msg);
	else if (rc == STORE_BUSY)
		snprintf(err, errlen, "%s", e.msg);
	return rc;
}

void pipe_finish(struct pipeline *pl, struct pipe_binding *b, bool bound)
{
	if (b->reserved) {
		cluster_wrlock(pl->cluster);
		struct cl_pod *p = cluster_pod(pl->cluster, b->key);
		if (p && p->alloc_seq == b->seq && p->alloc == ALLOC_ASSUMED) {
			if (bound)
				cluster_pod_confirm(pl->cluster, p, clk_now_s(pl->clock));
			else
				cluster_pod_clear_alloc(pl->cluster, p);
		}
		cluster_unlock(pl->cluster);
		b->reserved = false;
	}
	cJSON_Delete(b->annotations);
	b->annotations = NULL;
}

int pipe_learn_pod(struct pipeline *pl, const char *ns, const char *name, char *err, size_t errlen)
{
	struct store_err e = {0};
	if (pl->store->ops->refresh_pod(pl->store, ns, name, &e) == 0)
		return 0;
	snprintf(err, errlen, "pod %s/%s: %s", ns, name, e.msg);
	return -1;
}

bool pipe_node_ready(struct pipeline *pl, const char *node, int own)
{
	cluster_rdlock(pl->cluster);
	const struct cl_node *n = cluster_node(pl->cluster, node);
	bool ready = !n || !cluster_node_busy_except(n, clk_now_s(pl->clock), own);
	cluster_unlock(pl->cluster);
	return ready;
}

void pipe_node_describe(struct pipeline *pl, const char *node, char *out, size_t len)
{
	cluster_rdlock(pl->cluster);
	const struct cl_node *n = cluster_node(pl->cluster, node);
	if (!n)
		snprintf(out, len, "node unknown");
	else if (n->lock_since)
		snprintf(out, len, "%d assumed, %d allocating, lock held %lld s", n->assumed,
			 n->allocating, (long long)(clk_now_s(pl->clock) - n->lock_since));
	else
		snprintf(out, len, "%d assumed, %d allocating, no lock", n->assumed, n->allocating);
	cluster_unlock(pl->cluster);
}

bool pipe_note_waiting(struct pipeline *pl, const char *key, const char *why, const char *verdicts,
		       bool never)
{
	bool changed = false;
	cluster_wrlock(pl->cluster);
	struct cl_pod *p = cluster_pod(pl->cluster, key);
	if (p && (!p->waiting || strcmp(p->waiting, why) != 0)) {
		free(p->waiting);
		p->waiting = xstrdup(why);
		changed = true;
	}
	if (p) {
		free(p->verdicts);
		p->verdicts = xstrdup(verdicts);
		p->unschedulable = never;
	}
	cluster_unlock(pl->cluster);
	return changed;
}
