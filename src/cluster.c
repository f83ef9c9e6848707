/* cluster: nodes, GPUs and pods, with their usage always equal to the sum of
 * the charged pods' devices. Charging is the single place where usage moves:
 * every allocation change uncharges the old devices and charges the new ones,
 * so no path can leak or double-count a slice. */
#include "vx/cluster.h"
#include "vx/json.h"
#include "vx/log.h"
#include "vx/volcano.h"
#include "vx/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Device UUIDs are interned: a pod's slices then cost no string of their
 * own, and the table is bounded by the GPUs the cluster has ever had. */
const char *cluster_intern(struct cluster *c, const char *s)
{
	char *v = hmap_get(&c->uuids, s);
	if (v)
		return v;
	v = strdup(s);
	if (!v)
		abort();
	hmap_put(&c->uuids, v, v);
	return v;
}

static uint64_t register_digest(const char *s)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a, 64 bit */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h ? h : 1;
}

void cluster_init(struct cluster *c)
{
	memset(c, 0, sizeof *c);
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	/* Binds must not starve behind a steady stream of filters. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&c->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	hmap_init(&c->nodes);
	hmap_init(&c->pods);
	hmap_init(&c->uuids);
	queue_set_init(&c->queues, NULL, 0); /* the default queue only */
	c->qstate = xcalloc((size_t)c->queues.n, sizeof *c->qstate);
	license_set_init(&c->licenses, NULL, 0);
}

static void free_devs(struct cl_pod *p)
{
	free(p->devs); /* one block: the containers, then all their devices */
	p->devs = NULL;
	p->nctr = 0;
}

static void free_pod(struct cl_pod *p)
{
	free_devs(p);
	req_free(&p->req);
	free(p->uid);
	free(p->req_error);
	free(p->queue);
	free(p->billing);
	free(p->user);
	free(p->waiting);
	free(p->verdicts);
	free(p);
}

static void free_gpus(struct cl_node *n)
{
	free(n->gpus); /* UUIDs and types are interned */
	n->gpus = NULL;
	n->ngpus = 0;
}

static void free_node(struct cl_node *n)
{
	if (n->name != n->name_buf)
		free(n->name);
	free_gpus(n);
	free(n);
}

void cluster_free(struct cluster *c)
{
	size_t it = 0;
	void *v;
	while (hmap_next(&c->pods, &it, NULL, &v))
		free_pod(v);
	it = 0;
	while (hmap_next(&c->nodes, &it, NULL, &v))
		free_node(v);
	hmap_free(&c->pods);
	hmap_free(&c->nodes);
	for (it = 0; hmap_next(&c->uuids, &it, NULL, &v);)
		free(v);
	hmap_free(&c->uuids);
	queue_set_free(&c->queues);
	free(c->qstate);
	license_set_free(&c->licenses);
	free(c->lstate);
	pthread_rwlock_destroy(&c->lock);
}

void cluster_rdlock(struct cluster *c)
{
	pthread_rwlock_rdlock(&c->lock);
}

void cluster_wrlock(struct cluster *c)
{
	pthread_rwlock_wrlock(&c->lock);
}

void cluster_unlock(struct cluster *c)
{
	pthread_rwlock_unlock(&c->lock);
}

struct cl_node *cluster_node(const struct cluster *c, const char *name)
{
	return hmap_get(&c->nodes, name);
}

struct cl_node *cluster_noden(const struct cluster *c, const char *name, size_t len)
{
	return hmap_getn(&c->nodes, name, len);
}

/* Remembers, for quick accepts, the GPU with the most free memory and the
 * one with the most free compute, each with its other free figure. */
static void track_best(struct cl_node *n, int64_t free_mem, int free_cores)
{
	if (free_mem > n->max_free_mem ||
	    (free_mem == n->max_free_mem && free_cores > n->cores_at_max_mem)) {
		n->max_free_mem = free_mem;
		n->cores_at_max_mem = free_cores;
	}
	if (free_cores > n->max_free_cores ||
	    (free_cores == n->max_free_cores && free_mem > n->mem_at_max_cores)) {
		n->max_free_cores = free_cores;
		n->mem_at_max_cores = free_mem;
	}
}

void cluster_node_recompute(struct cl_node *n)
{
	n->total_slots = n->used_slots = n->free_slots = n->idle_gpus = n->healthy_gpus = 0;
	n->total_mem = n->used_mem = n->max_free_mem = n->mem_at_max_cores = 0;
	n->used_cores = n->max_free_cores = n->cores_at_max_mem = 0;
	for (int i = 0; i < n->ngpus; i++) {
		const struct cl_gpu *g = &n->gpus[i];
		n->total_slots += g->slots;
		n->used_slots += g->used_slots;
		n->total_mem += g->mem_mib;
		n->used_mem += g->used_mem;
		n->used_cores += g->used_cores;
		if (!g->healthy)
			continue;
		n->healthy_gpus++;
		if (g->used_slots >= g->slots)
			continue;
		n->free_slots += g->slots - g->used_slots;
		n->idle_gpus += g->used_slots == 0;
		track_best(n, g->mem_mib - g->used_mem, VOLCANO_CORES_PER_GPU - g->used_cores);
	}
	n->usage = 0;
	if (n->ngpus) {
		n->usage = (double)n->used_cores / ((double)VOLCANO_CORES_PER_GPU * n->ngpus);
		if (n->total_slots)
			n->usage += (double)n->used_slots / n->total_slots;
		if (n->total_mem)
			n->usage += (double)n->used_mem / (double)n->total_mem;
	}
}

static int gpu_index(const struct cl_node *n, const char *uuid)
{
	for (int i = 0; n && i < n->ngpus; i++)
		if (strcmp(n->gpus[i].uuid, uuid) == 0)
			return i;
	return -1;
}

/* sign +1 charges the pod's devices to its node, -1 gives them back. */
static void charge(struct cl_pod *p, int sign)
{
	struct cl_node *n = p->node;
	if (!n || p->charged == (sign > 0))
		return;
	double gpus = 0;
	for (int i = 0; i < p->nctr; i++) {
		for (int j = 0; j < p->devs[i].ndev; j++) {
			struct cl_dev *d = &p->devs[i].devs[j];
			if (sign > 0)
				d->gpu = gpu_index(n, d->uuid);
			if (d->gpu < 0)
				continue;
			struct cl_gpu *g = &n->gpus[d->gpu];
			g->used_slots += sign;
			g->used_mem += sign * d->mem_mib;
			g->used_cores += sign * d->cores;
			if (sign > 0)
				gpus += queue_charge(d->cores, d->mem_mib, g->mem_mib);
		}
	}
	p->charged = sign > 0;
	p->gpus_charged = sign > 0 ? gpus : 0;
	cluster_node_recompute(n);
}

/* Keeps node->assumed and node->allocating equal to the attached pods in
 * those states; called after every change of alloc, status or bind-phase. */
static void track_inflight(struct cl_pod *p)
{
	bool holds = p->node && cluster_pod_holds_devices(p);
	bool assumed = holds && p->alloc == ALLOC_ASSUMED;
	bool allocating = holds && p->alloc == ALLOC_BOUND && p->plugin_pending;
	if (p->counted_assumed != assumed && p->node)
		p->node->assumed += assumed ? 1 : -1;
	if (p->counted_allocating != allocating && p->node)
		p->node->allocating += allocating ? 1 : -1;
	p->counted_assumed = assumed;
	p->counted_allocating = allocating;
}

static void warn_unknown_gpus(const struct cl_pod *p)
{
	for (int i = 0; i < p->nctr; i++)
		for (int j = 0; j < p->devs[i].ndev; j++)
			if (p->devs[i].devs[j].gpu < 0)
				log_warn("pod %s holds GPU %s, which node %s does not register; "
					 "that slice is not counted",
					 p->key, p->devs[i].devs[j].uuid, p->node->name);
}

static struct cl_node *node_ensure(struct cluster *c, const char *name)
{
	struct cl_node *n = hmap_get(&c->nodes, name);
	if (n)
		return n;
	size_t len = strlen(name) + 1;
	/* Cache-line aligned so the name and the hot aggregates share lines. */
	n = aligned_alloc(64, (sizeof *n + 63) / 64 * 64);
	if (!n)
		abort();
	memset(n, 0, sizeof *n);
	n->name = len <= CL_NAME_INLINE ? n->name_buf : xstrdup(name);
	memcpy(n->name, name, len);
	snprintf(n->reason, sizeof n->reason, "node not known");
	hmap_put(&c->nodes, n->name, n);
	return n;
}

static void attach(struct cl_node *n, struct cl_pod *p)
{
	p->node = n;
	p->node_prev = NULL;
	p->node_next = n->pods;
	if (n->pods)
		n->pods->node_prev = p;
	n->pods = p;
	n->npods++;
}

/* A node entry outlives its deletion only while pods still point at it. */
static void maybe_drop_node(struct cluster *c, struct cl_node *n)
{
	if (n->present || n->pods)
		return;
	hmap_del(&c->nodes, n->name);
	free_node(n);
}

static void detach(struct cluster *c, struct cl_pod *p)
{
	struct cl_node *n = p->node;
	if (!n)
		return;
	charge(p, -1);
	n->assumed -= p->counted_assumed;
	n->allocating -= p->counted_allocating;
	p->counted_assumed = p->counted_allocating = false;
	if (p->node_prev)
		p->node_prev->node_next = p->node_next;
	else
		n->pods = p->node_next;
	if (p->node_next)
		p->node_next->node_prev = p->node_prev;
	n->npods--;
	p->node = NULL;
	p->node_prev = p->node_next = NULL;
	maybe_drop_node(c, n);
}

static void set_gpus(struct cluster *c, struct cl_node *n, const struct codec_gpu *g, int count)
{
	free_gpus(n);
	n->gpus = xcalloc((size_t)count, sizeof *n->gpus);
	n->ngpus = count;
	for (int i = 0; i < count; i++) {
		struct cl_gpu *d = &n->gpus[i];
		d->uuid = cluster_intern(c, g[i].uuid);
		d->type = cluster_intern(c, g[i].type);
		d->slots = g[i].slots;
		d->mem_mib = g[i].mem_mib;
		d->healthy = g[i].healthy;
		memcpy(d->mode, g[i].mode, sizeof d->mode);
	}
}

/* Re-reads the inventory, then re-charges every attached pod against it, so
 * a re-registered GPU list keeps exactly the slices that still exist. */
static void reinventory(struct cluster *c, struct cl_node *n, const char *reg)
{
	char err[80];
	struct codec_gpu *g = NULL;
	for (struct cl_pod *p = n->pods; p; p = p->node_next)
		charge(p, -1);
	int count = reg ? codec_decode_register(reg, &g, err, sizeof err) : 0;
	if (count < 0) {
		log_warn("node %s: ignoring malformed volcano.sh/node-vgpu-register: %s", n->name,
			 err);
		snprintf(n->reason, sizeof n->reason, "malformed vGPU register annotation: %s",
			 err);
		count = 0;
	}
	set_gpus(c, n, g, count);
	codec_free_gpus(g, count);
	for (struct cl_pod *p = n->pods; p; p = p->node_next) {
		if (cluster_pod_holds_devices(p)) {
			charge(p, +1);
			warn_unknown_gpus(p);
		}
		cluster_track_queue(c, p);
	}
	cluster_node_recompute(n);
}

/* The cluster's GPU capacity (for fair shares) and smallest card (for the
 * charge of pods without devices yet) follow the node's inventory. */
static void count_capacity(struct cluster *c, struct cl_node *n)
{
	int cap = n->present && n->usable ? n->healthy_gpus : 0;
	c->gpu_capacity += cap - n->counted_capacity;
	n->counted_capacity = cap;
	for (int i = 0; i < n->ngpus; i++)
		if (n->gpus[i].mem_mib > 0 &&
		    (!c->min_card_mib || n->gpus[i].mem_mib < c->min_card_mib))
			c->min_card_mib = n->gpus[i].mem_mib;
}

struct cl_node *cluster_node_update(struct cluster *c, const char *name, const char *reg,
				    int64_t allocatable)
{
	struct cl_node *n = node_ensure(c, name);
	/* Only a 64-bit digest of the annotation is kept: node events repeat the
	 * same value over and over, and 5,000 copies of it are megabytes. */
	uint64_t digest = reg ? register_digest(reg) : 0;
	bool changed = !n->present || n->allocatable != allocatable || n->register_digest != digest;
	n->present = true;
	if (!changed)
		return n;
	n->register_digest = digest;
	n->allocatable = allocatable;
	n->reason[0] = '\0';
	reinventory(c, n, reg);
	if (!reg)
		snprintf(n->reason, sizeof n->reason, "no vGPU devices registered");
	else if (allocatable <= 0 && !n->reason[0])
		snprintf(n->reason, sizeof n->reason,
			 "allocatable volcano.sh/vgpu-number is 0 (device plugin down?)");
	n->usable = !n->reason[0] && n->ngpus > 0;
	if (!n->usable && !n->reason[0])
		snprintf(n->reason, sizeof n->reason, "no GPUs in register annotation");
	count_capacity(c, n);
	c->version++;
	return n;
}

void cluster_node_remove(struct cluster *c, const char *name)
{
	struct cl_node *n = hmap_get(&c->nodes, name);
	if (!n)
		return;
	for (struct cl_pod *p = n->pods; p; p = p->node_next) {
		charge(p, -1);
		cluster_track_queue(c, p);
	}
	free_gpus(n);
	n->register_digest = 0;
	n->present = n->usable = false;
	n->allocatable = 0;
	count_capacity(c, n);
	snprintf(n->reason, sizeof n->reason, "node deleted");
	cluster_node_recompute(n);
	c->version++;
	maybe_drop_node(c, n);
}

struct cl_pod *cluster_pod(const struct cluster *c, const char *key)
{
	return hmap_get(&c->pods, key);
}

struct cl_pod *cluster_pod_ensure(struct cluster *c, const char *ns, const char *name)
{
	size_t nl = strlen(ns), ml = strlen(name);
	char key[VX_POD_KEY_MAX];
	struct cl_pod *p = hmap_get(&c->pods, pod_key(key, ns, name));
	if (p)
		return p;
	/* One allocation holds the struct and "ns/name\0ns\0name\0": 100,000 pods
	 * make per-string mallocs add up. */
	p = xcalloc(1, sizeof *p + 2 * (nl + ml + 2));
	p->key = (char *)(p + 1);
	p->ns = p->key + nl + ml + 2;
	p->name = p->ns + nl + 1;
	memcpy(p->key, ns, nl);
	p->key[nl] = '/';
	memcpy(p->key + nl + 1, name, ml + 1);
	memcpy(p->ns, ns, nl + 1);
	memcpy(p->name, name, ml + 1);
	p->priority = VX_PRIORITY_DEFAULT;
	p->qidx = queue_of(&c->queues, NULL, p->ns);
	p->lidx = -1;
	hmap_put(&c->pods, p->key, p);
	c->version++;
	return p;
}

void cluster_pod_remove(struct cluster *c, struct cl_pod *p)
{
	detach(c, p);
	cluster_untrack_queue(c, p);
	hmap_del(&c->pods, p->key);
	free_pod(p);
	c->version++;
}

bool cluster_pod_holds_devices(const struct cl_pod *p)
{
	return p->alloc != ALLOC_NONE && (p->status == POD_SUBMITTED || p->status == POD_RUNNING);
}

void cluster_pod_set_alloc(struct cluster *c, struct cl_pod *p, const char *node,
			   struct codec_pod_devs *devs, enum pod_alloc state)
{
	detach(c, p);
	free_devs(p);
	size_t ndev = 0;
	for (int i = 0; i < devs->nctr; i++)
		ndev += (size_t)devs->ctrs[i].ndev;
	p->nctr = devs->nctr;
	p->devs = xcalloc(1, (size_t)devs->nctr * sizeof *p->devs + ndev * sizeof(struct cl_dev));
	struct cl_dev *next = (struct cl_dev *)(p->devs + devs->nctr);
	for (int i = 0; i < devs->nctr; i++) {
		struct codec_ctr *src = &devs->ctrs[i];
		p->devs[i].ndev = src->ndev;
		p->devs[i].devs = next;
		next += src->ndev;
		for (int j = 0; j < src->ndev; j++) {
			struct cl_dev *d = &p->devs[i].devs[j];
			d->uuid = cluster_intern(c, src->devs[j].uuid);
			d->mem_mib = src->devs[j].mem_mib;
			d->cores = src->devs[j].cores;
			d->gpu = -1;
		}
	}
	p->alloc = state;
	p->alloc_seq = ++c->alloc_seq;
	free(p->waiting);
	free(p->verdicts);
	p->waiting = p->verdicts = NULL;
	p->unschedulable = false;
	attach(node_ensure(c, node), p);
	if (cluster_pod_holds_devices(p)) {
		charge(p, +1);
		if (p->node->present)
			warn_unknown_gpus(p);
	}
	track_inflight(p);
	cluster_track_queue(c, p);
	c->version++;
}

void cluster_pod_clear_alloc(struct cluster *c, struct cl_pod *p)
{
	detach(c, p);
	free_devs(p);
	p->alloc = ALLOC_NONE;
	p->alloc_seq = ++c->alloc_seq;
	cluster_track_queue(c, p);
	c->version++;
}

void cluster_pod_set_status(struct cluster *c, struct cl_pod *p, enum pod_status st)
{
	if (p->status == st)
		return;
	p->status = st;
	if (p->node)
		charge(p, cluster_pod_holds_devices(p) ? +1 : -1);
	track_inflight(p);
	cluster_track_queue(c, p);
	c->version++;
}

void cluster_pod_confirm(struct cluster *c, struct cl_pod *p, int64_t now_s)
{
	p->alloc = ALLOC_BOUND;
	p->plugin_pending = true;
	track_inflight(p);
	cluster_track_queue(c, p);
	/* Our bind holds the node lock from now until the plugin answers; the
	 * node's watch will say so too, a moment later, or already did, before
	 * the pod's watch caught up (two streams, no order between them). In
	 * that case the plugin's answer on the pod ends our assumption. */
	if (p->node && !p->node->lock_since) {
		p->node->lock_since = now_s;
		p->node->lock_assumed = true;
	}
	c->version++;
}

void cluster_pod_set_plugin_pending(struct cluster *c, struct cl_pod *p, bool pending)
{
	if (p->plugin_pending == pending)
		return;
	p->plugin_pending = pending;
	if (!pending && p->node && p->node->lock_assumed) {
		p->node->lock_since = 0;
		p->node->lock_assumed = false;
	}
	track_inflight(p);
	cluster_track_queue(c, p);
	c->version++;
}

void cluster_node_set_lock(struct cluster *c, struct cl_node *n, int64_t since)
{
	n->lock_assumed = false; /* what the watch says replaces what we assumed */
	if (n->lock_since == since)
		return;
	n->lock_since = since;
	c->version++;
}

bool cluster_node_busy(const struct cl_node *n, int64_t now_s)
{
	return cluster_node_busy_except(n, now_s, 0);
}

void cluster_pod_mark_bound(struct cluster *c, struct cl_pod *p)
{
	if (p->alloc == ALLOC_BOUND)
		return;
	p->alloc = ALLOC_BOUND;
	track_inflight(p);
	cluster_track_queue(c, p);
	c->version++;
}

bool cluster_node_busy_except(const struct cl_node *n, int64_t now_s, int own)
{
	if (n->assumed > own)
		return true;
	if (!n->lock_since)
		return false;
	int64_t age = now_s - n->lock_since;
	return (n->allocating > 0 && age < VOLCANO_LOCK_TTL_S) ||
	       (age < CL_LOCK_GRACE_S && age > -CL_LOCK_GRACE_S);
}

void cluster_pod_devs_view(const struct cl_pod *p, struct codec_pod_devs *out)
{
	out->nctr = p->nctr;
	out->ctrs = xcalloc((size_t)p->nctr, sizeof *out->ctrs);
	for (int i = 0; i < p->nctr; i++) {
		out->ctrs[i].ndev = p->devs[i].ndev;
		out->ctrs[i].devs = xcalloc((size_t)p->devs[i].ndev, sizeof *out->ctrs[i].devs);
		for (int j = 0; j < p->devs[i].ndev; j++) {
			/* a borrowed view: the codec type is not const */
			out->ctrs[i].devs[j].uuid = (char *)p->devs[i].devs[j].uuid;
			out->ctrs[i].devs[j].mem_mib = p->devs[i].devs[j].mem_mib;
			out->ctrs[i].devs[j].cores = p->devs[i].devs[j].cores;
		}
	}
}

void cluster_pod_devs_view_free(struct codec_pod_devs *v)
{
	for (int i = 0; i < v->nctr; i++)
		free(v->ctrs[i].devs);
	free(v->ctrs);
	v->ctrs = NULL;
	v->nctr = 0;
}

const char *cluster_status_name(enum pod_status st)
{
	static const char *const names[] = {"Submitted", "Running", "Completed", "Failed"};
	return names[st];
}

double cluster_node_usage(const struct cl_node *n)
{
	return n->usage;
}
