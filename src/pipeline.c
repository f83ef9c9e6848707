/* pipeline: filter, score, reserve and bind; see pipeline.h. Bind follows
 * kube-scheduler's assume/confirm/forget pattern: devices are charged in the
 * model before the store call so concurrent binds see them, and given back
 * if the call fails, unless something newer replaced the allocation. */
#include "vx/pipeline.h"
#include "vx/fit.h"
#include "vx/log.h"
#include "vx/sync.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum vx_policy node_policy(const struct pipeline *pl, const struct req_pod *r)
{
	return r->node_policy != POLICY_DEFAULT ? r->node_policy : pl->node_policy;
}

static enum vx_policy gpu_policy(const struct pipeline *pl, const struct req_pod *r)
{
	return r->gpu_policy != POLICY_DEFAULT ? r->gpu_policy : pl->gpu_policy;
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
	out->verdict = calloc(n ? (size_t)n : 1, 1);
	out->reason = calloc(n ? (size_t)n : 1, sizeof *out->reason);
	out->reasons = (struct buf)BUF_INIT;
	if (!out->verdict || !out->reason)
		abort();
}

void pipe_filter_reject_all(struct pipe_filter_out *out, int n, const char *why)
{
	out_init(out, n);
	for (int i = 0; i < n; i++)
		fail(out, i, PIPE_UNRESOLVABLE, why);
}

/* Keeps the passing nodes' scores for the prioritize call that follows. */
static void remember_scores(struct pipeline *pl, const char *uid, const char *const *names,
			    const size_t *lens, int n, const struct pipe_filter_out *out,
			    const double *raw)
{
	bool *pass = malloc((size_t)n + 1);
	if (!pass)
		abort();
	for (int i = 0; i < n; i++)
		pass[i] = out->verdict[i] == PIPE_PASS;
	scache_store(pl->scores, uid, pl->cluster->version, names, lens, pass, raw, n);
	free(pass);
}

void pipe_filter(struct pipeline *pl, const struct req_pod *r, const char *uid,
		 const char *const *names, const size_t *lens, int n, struct pipe_filter_out *out)
{
	char why[256];
	out_init(out, n);
	if (!r->is_vgpu)
		return; /* every node passes */
	enum vx_policy gp = gpu_policy(pl, r), np = node_policy(pl, r);
	double *raw = pl->scores && uid ? malloc((size_t)n * sizeof *raw + 1) : NULL;
	uint32_t *hash = malloc((size_t)n * sizeof *hash + 1);
	if (!hash)
		abort();
	for (int i = 0; i < n; i++)
		hash[i] = hmap_hash(names[i], lens[i]);
	cluster_rdlock(pl->cluster);
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
		if (!node || !node->present) {
			fail(out, i, PIPE_UNRESOLVABLE, "node not known to the vGPU scheduler");
			continue;
		}
		if (!fit_quick_reject(node, r) &&
		    (fit_quick_accept(node, r) ||
		     fit_pod(node, r, gp, NULL, NULL, 0) == FIT_FITS)) {
			if (raw)
				raw[i] = fit_node_score(node, np);
			continue;
		}
		enum fit_verdict v = fit_pod(node, r, gp, NULL, why, sizeof why);
		fail(out, i, v == FIT_NEVER ? PIPE_UNRESOLVABLE : PIPE_FAIL, why);
	}
	if (raw)
		remember_scores(pl, uid, names, lens, n, out, raw);
	cluster_unlock(pl->cluster);
	free(raw);
	free(hash);
}

void pipe_filter_out_free(struct pipe_filter_out *out)
{
	free(out->verdict);
	free(out->reason);
	buf_free(&out->reasons);
	memset(out, 0, sizeof *out);
}

static void score_nodes(struct pipeline *pl, const struct req_pod *r, const char *const *names,
			const size_t *lens, int n, double *raw)
{
	enum vx_policy np = node_policy(pl, r);
	for (int i = 0; i < n; i++) {
		const struct cl_node *node = cluster_noden(pl->cluster, names[i], lens[i]);
		raw[i] = NAN;
		/* Candidates come from filter, which ran the full walk; repeating it
		 * here would double the cost for nothing. The O(1) test still gives
		 * 0 to a node that filled up since. */
		if (!node || (r->is_vgpu && fit_quick_reject(node, r)))
			continue;
		raw[i] = r->is_vgpu ? fit_node_score(node, np) : 0;
	}
}

void pipe_prioritize(struct pipeline *pl, const struct req_pod *r, const char *uid,
		     const char *const *names, const size_t *lens, int n, int *scores)
{
	double *raw = malloc((n ? (size_t)n : 1) * sizeof *raw), lo = INFINITY, hi = -INFINITY;
	if (!raw)
		abort();
	cluster_rdlock(pl->cluster);
	if (!r->is_vgpu || !pl->scores ||
	    !scache_lookup(pl->scores, uid, pl->cluster->version, names, lens, n, raw))
		score_nodes(pl, r, names, lens, n, raw);
	cluster_unlock(pl->cluster);
	for (int i = 0; i < n; i++) {
		if (isnan(raw[i]))
			continue;
		lo = raw[i] < lo ? raw[i] : lo;
		hi = raw[i] > hi ? raw[i] : hi;
	}
	for (int i = 0; i < n; i++) {
		if (isnan(raw[i]))
			scores[i] = 0;
		else if (hi - lo < 1e-9)
			scores[i] = 10;
		else
			scores[i] = (int)lround(10.0 * (raw[i] - lo) / (hi - lo));
	}
	free(raw);
}

/* Makes sure the model knows the pod, asking the store when it does not
 * (a bind that raced ahead of the watch). Returns 1 known vGPU pod, 0 a pod
 * without vGPU requests, -1 error. Called without the model lock. */
static int learn_pod(struct pipeline *pl, const char *ns, const char *name, const char *key,
		     char *err, size_t errlen)
{
	cluster_rdlock(pl->cluster);
	int known = cluster_pod(pl->cluster, key) != NULL;
	cluster_unlock(pl->cluster);
	if (known)
		return 1;
	struct store_err e = {0};
	cJSON *pod = pl->store->ops->get_pod(pl->store, ns, name, &e);
	if (!pod) {
		snprintf(err, errlen, "pod %s: %s", key, e.msg);
		return -1;
	}
	sync_pod(pl->cluster, pod);
	cJSON_Delete(pod);
	cluster_rdlock(pl->cluster);
	known = cluster_pod(pl->cluster, key) != NULL;
	cluster_unlock(pl->cluster);
	return known;
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

enum reserve_rc { RESERVE_OK, RESERVE_DONE, RESERVE_PLAIN, RESERVE_ERR };

/* Chooses GPUs and assumes them in the model, under the write lock. */
static enum reserve_rc reserve(struct pipeline *pl, const char *key, const char *uid,
			       const char *node_name, struct codec_pod_devs *devs, uint64_t *seq,
			       char *err, size_t errlen)
{
	char why[256];
	struct cl_pod *p = cluster_pod(pl->cluster, key);
	if (!p)
		return RESERVE_PLAIN;
	if (uid && *uid && p->uid && strcmp(uid, p->uid) != 0) {
		snprintf(err, errlen, "pod %s has uid %s, not %s", key, p->uid, uid);
		return RESERVE_ERR;
	}
	if (p->alloc != ALLOC_NONE && p->node && cluster_pod_holds_devices(p)) {
		if (p->alloc == ALLOC_BOUND && strcmp(p->node->name, node_name) == 0)
			return RESERVE_DONE; /* a retried bind whose answer was lost */
		snprintf(err, errlen, "pod %s already holds GPUs on node %s", key, p->node->name);
		return RESERVE_ERR;
	}
	if (p->req_error) {
		snprintf(err, errlen, "pod %s: invalid vGPU request: %s", key, p->req_error);
		return RESERVE_ERR;
	}
	if (!p->req.is_vgpu)
		return RESERVE_PLAIN;
	const struct cl_node *n = cluster_node(pl->cluster, node_name);
	if (!n || !n->present) {
		snprintf(err, errlen, "node %s not known to the vGPU scheduler", node_name);
		return RESERVE_ERR;
	}
	if (fit_pod(n, &p->req, gpu_policy(pl, &p->req), devs, why, sizeof why) != FIT_FITS) {
		snprintf(err, errlen, "pod %s no longer fits on node %s: %s", key, node_name, why);
		return RESERVE_ERR;
	}
	struct codec_pod_devs copy;
	codec_copy_pod_devs(&copy, devs);
	cluster_pod_set_alloc(pl->cluster, p, node_name, &copy, ALLOC_ASSUMED);
	codec_free_pod_devs(&copy);
	*seq = p->alloc_seq;
	return RESERVE_OK;
}

/* Confirms or forgets the assumption, unless a watch event got there first. */
static void finish(struct pipeline *pl, const char *key, uint64_t seq, int ok)
{
	cluster_wrlock(pl->cluster);
	struct cl_pod *p = cluster_pod(pl->cluster, key);
	if (p && p->alloc_seq == seq && p->alloc == ALLOC_ASSUMED) {
		if (ok)
			p->alloc = ALLOC_BOUND;
		else
			cluster_pod_clear_alloc(pl->cluster, p);
	}
	cluster_unlock(pl->cluster);
}

int pipe_bind(struct pipeline *pl, const char *ns, const char *name, const char *uid,
	      const char *node, char *err, size_t errlen)
{
	char key[512];
	struct codec_pod_devs devs = {0};
	uint64_t seq = 0;
	snprintf(key, sizeof key, "%s/%s", ns, name);
	if (learn_pod(pl, ns, name, key, err, errlen) < 0)
		return -1;
	cluster_wrlock(pl->cluster);
	enum reserve_rc rc = reserve(pl, key, uid, node, &devs, &seq, err, errlen);
	cluster_unlock(pl->cluster);
	if (rc == RESERVE_ERR)
		return -1;
	if (rc == RESERVE_DONE)
		return 0;
	cJSON *ann = rc == RESERVE_OK ? bind_annotations(node, &devs, clk_now_s(pl->clock)) : NULL;
	struct store_binding b = {ns, name, uid, node, ann};
	struct store_err e = {0};
	int brc = pl->store->ops->bind(pl->store, &b, &e);
	if (rc == RESERVE_OK)
		finish(pl, key, seq, brc == 0);
	cJSON_Delete(ann);
	codec_free_pod_devs(&devs);
	if (brc) {
		snprintf(err, errlen, "binding %s to %s: %s", key, node, e.msg);
		log_warn("bind failed: %s", err);
		return -1;
	}
	log_info("bound %s to %s", key, node);
	return 0;
}

/* Best node by the pod's node policy; ties go to the smaller name. */
static int choose_node(struct pipeline *pl, const struct cl_pod *p, char *best, size_t len,
		       char *why, size_t whylen)
{
	size_t it = 0;
	const char *name;
	void *v;
	double best_score = -INFINITY;
	int fits = 0, nodes = 0;
	char first_why[256] = "";
	enum vx_policy np = node_policy(pl, &p->req), gp = gpu_policy(pl, &p->req);
	best[0] = '\0';
	while (hmap_next(&pl->cluster->nodes, &it, &name, &v)) {
		const struct cl_node *n = v;
		if (!n->present)
			continue;
		nodes++;
		if (p->req.is_vgpu && (fit_quick_reject(n, &p->req) ||
				       fit_pod(n, &p->req, gp, NULL, NULL, 0) != FIT_FITS)) {
			if (!first_why[0]) { /* one example is enough to act on */
				char why1[200];
				fit_pod(n, &p->req, gp, NULL, why1, sizeof why1);
				snprintf(first_why, sizeof first_why, " (%s: %s)", name, why1);
			}
			continue;
		}
		double s = p->req.is_vgpu ? fit_node_score(n, np) : 0;
		fits++;
		if (s > best_score + 1e-12 ||
		    (fabs(s - best_score) <= 1e-12 && strcmp(name, best) < 0)) {
			best_score = s;
			snprintf(best, len, "%s", name);
		}
	}
	if (!fits)
		snprintf(why, whylen, "0/%d nodes fit the vGPU request%s", nodes, first_why);
	return fits > 0;
}

/* Keeps why a pod waits, for operators (/debug/state, /api/v1/jobs). */
static void note_waiting(struct pipeline *pl, const char *key, const char *why)
{
	cluster_wrlock(pl->cluster);
	struct cl_pod *p = cluster_pod(pl->cluster, key);
	if (p && (!p->waiting || strcmp(p->waiting, why) != 0)) {
		free(p->waiting);
		p->waiting = strdup(why);
	}
	cluster_unlock(pl->cluster);
}

int pipe_schedule(struct pipeline *pl, const char *ns, const char *name, char *why, size_t whylen)
{
	char key[512], node[256], uid[128] = "";
	snprintf(key, sizeof key, "%s/%s", ns, name);
	if (learn_pod(pl, ns, name, key, why, whylen) < 0)
		return -1;
	cluster_rdlock(pl->cluster);
	struct cl_pod *p = cluster_pod(pl->cluster, key);
	int found = 0;
	if (p && p->req_error)
		snprintf(why, whylen, "invalid vGPU request: %s", p->req_error);
	else if (p) {
		found = choose_node(pl, p, node, sizeof node, why, whylen);
		snprintf(uid, sizeof uid, "%s", p->uid ? p->uid : "");
	} else {
		static const struct cl_pod plain = {0};
		found = choose_node(pl, &plain, node, sizeof node, why, whylen);
	}
	cluster_unlock(pl->cluster);
	if (!found)
		note_waiting(pl, key, why);
	if (!found)
		return 0;
	return pipe_bind(pl, ns, name, uid, node, why, whylen) == 0 ? 1 : -1;
}

/* Fit test on a scratch copy of the node with the victims' slices freed. */
static bool fits_without(const struct cl_node *n, const struct cl_pod *const *victims, int nv,
			 const struct req_pod *r, enum vx_policy gp)
{
	struct cl_gpu gpus[VX_MAX_GPUS];
	struct cl_node copy = *n;
	memcpy(gpus, n->gpus, (size_t)n->ngpus * sizeof *gpus);
	copy.gpus = gpus;
	for (int v = 0; v < nv; v++) {
		const struct cl_pod *p = victims[v];
		for (int i = 0; p && p->charged && i < p->nctr; i++)
			for (int j = 0; j < p->devs[i].ndev; j++) {
				const struct cl_dev *d = &p->devs[i].devs[j];
				if (d->gpu < 0)
					continue;
				gpus[d->gpu].used_slots--;
				gpus[d->gpu].used_mem -= d->mem_mib;
				gpus[d->gpu].used_cores -= d->cores;
			}
	}
	cluster_node_recompute(&copy);
	return fit_pod(&copy, r, gp, NULL, NULL, 0) == FIT_FITS;
}

static const struct cl_pod *pod_on_node(const struct cl_node *n, const char *uid)
{
	for (const struct cl_pod *p = n->pods; p; p = p->node_next)
		if (p->uid && strcmp(p->uid, uid) == 0)
			return p;
	return NULL;
}

/* Keeps the smallest useful set greedily: a victim that holds nothing here
 * goes at once; then each one whose eviction is not needed goes too. */
static void preempt_node(const struct cl_node *n, const struct req_pod *r, enum vx_policy gp,
			 struct pipe_victims *v)
{
	const struct cl_pod **vp =
	    calloc((size_t)v->n + 1, sizeof *vp); // NOLINT(bugprone-sizeof-expression)
	if (!vp)
		abort();
	for (int i = 0; i < v->n; i++) {
		vp[i] = pod_on_node(n, v->uids[i]);
		v->keep[i] = vp[i] && vp[i]->charged;
		if (!v->keep[i])
			vp[i] = NULL;
	}
	v->keep_node = fits_without(n, vp, v->n, r, gp);
	for (int i = v->n - 1; v->keep_node && i >= 0; i--) {
		if (!v->keep[i])
			continue;
		const struct cl_pod *saved = vp[i];
		vp[i] = NULL;
		if (fits_without(n, vp, v->n, r, gp))
			v->keep[i] = false;
		else
			vp[i] = saved;
	}
	free(vp);
}

void pipe_preempt(struct pipeline *pl, const struct req_pod *r, struct pipe_victims *v, int n)
{
	enum vx_policy gp = gpu_policy(pl, r);
	cluster_rdlock(pl->cluster);
	for (int k = 0; k < n; k++) {
		const struct cl_node *node = cluster_node(pl->cluster, v[k].node);
		if (!r->is_vgpu) {
			v[k].keep_node = true;
			for (int i = 0; i < v[k].n; i++)
				v[k].keep[i] = true;
			continue;
		}
		if (!node || !node->present || !node->usable) {
			v[k].keep_node = false;
			continue;
		}
		preempt_node(node, r, gp, &v[k]);
	}
	cluster_unlock(pl->cluster);
}
