/* ops: operator views of the model: /debug/state (SPEC section 7), the model
 * part of /metrics, and the jobs rows of the admin API. All take the read
 * lock once and sort by name so output is stable between calls. */
#include "vx/ops.h"
#include "vx/reclaim.h"
#include "vx/json.h"
#include "vx/volcano.h"

#include <stdlib.h>
#include <string.h>

struct kv {
	const char *key;
	void *val;
};

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

/* The map's values in key order (node name, or "namespace/name"). */
static void **sorted_values(const struct hmap *m, size_t *n)
{
	struct kv *kv = calloc(hmap_size(m) + 1, sizeof *kv);
	void **v = calloc(hmap_size(m) + 1, sizeof *v);
	size_t it = 0, k = 0;
	if (!kv || !v)
		abort();
	while (hmap_next(m, &it, &kv[k].key, &kv[k].val))
		k++;
	qsort(kv, k, sizeof *kv, by_key);
	for (size_t i = 0; i < k; i++)
		v[i] = kv[i].val;
	free(kv);
	*n = k;
	return v;
}

static void gpu_pods(struct buf *b, const struct cl_node *n, int gi)
{
	const char *sep = "";
	buf_puts(b, ",\"pods\":[");
	for (const struct cl_pod *p = n->pods; p; p = p->node_next) {
		bool uses = false;
		for (int i = 0; p->charged && i < p->nctr && !uses; i++)
			for (int j = 0; j < p->devs[i].ndev; j++)
				uses |= p->devs[i].devs[j].gpu == gi;
		if (!uses)
			continue;
		buf_puts(b, sep);
		buf_json_str(b, p->key);
		sep = ",";
	}
	buf_putc(b, ']');
}

/* The node's allocation in flight: busy, which pods are being allocated,
 * since when the lock is held, and how many binds of ours queue for it. */
static void node_inflight(const struct hmap *waiters, struct buf *b, const struct cl_node *n,
			  int64_t now)
{
	char ts[32];
	const char *sep = "";
	buf_printf(b, ",\"busy\":%s,\"inflight\":[", cluster_node_busy(n, now) ? "true" : "false");
	for (const struct cl_pod *p = n->pods; p; p = p->node_next) {
		if (!p->counted_assumed && !p->counted_allocating)
			continue;
		buf_puts(b, sep);
		buf_json_str(b, p->key);
		sep = ",";
	}
	buf_puts(b, "],\"lockSince\":");
	if (n->lock_since > 0) {
		clk_format_rfc3339(n->lock_since, ts, sizeof ts);
		buf_json_str(b, ts);
	} else {
		buf_puts(b, "null");
	}
	const int *w = hmap_get(waiters, n->name); /* struct waiters starts with its count */
	buf_printf(b, ",\"bindsWaiting\":%d", w ? *w : 0);
}

static void node_state(const struct hmap *waiters, struct buf *b, const struct cl_node *n,
		       int64_t now)
{
	buf_puts(b, "{\"name\":");
	buf_json_str(b, n->name);
	buf_printf(b, ",\"usable\":%s", n->usable ? "true" : "false");
	node_inflight(waiters, b, n, now);
	if (!n->usable) {
		buf_puts(b, ",\"reason\":");
		buf_json_str(b, n->reason);
	}
	buf_puts(b, ",\"gpus\":[");
	for (int i = 0; i < n->ngpus; i++) {
		const struct cl_gpu *g = &n->gpus[i];
		buf_puts(b, i ? ",{\"uuid\":" : "{\"uuid\":");
		buf_json_str(b, g->uuid);
		buf_puts(b, ",\"type\":");
		buf_json_str(b, g->type);
		buf_printf(b,
			   ",\"health\":%s,\"mode\":\"%s\",\"slots\":%d,\"usedSlots\":%d,"
			   "\"memoryMiB\":%lld,\"usedMemoryMiB\":%lld,\"cores\":%d,"
			   "\"usedCores\":%d",
			   g->healthy ? "true" : "false", g->mode, g->slots, g->used_slots,
			   (long long)g->mem_mib, (long long)g->used_mem, VOLCANO_CORES_PER_GPU,
			   g->used_cores);
		gpu_pods(b, n, i);
		buf_putc(b, '}');
	}
	buf_puts(b, "]}");
}

/* The queue the model filed the pod under (label, namespace, or default). */
static const char *pod_queue_name(const struct cluster *c, const struct cl_pod *p)
{
	return p->qidx >= 0 && p->qidx < c->queues.n ? c->queues.q[p->qidx].name : QUEUE_DEFAULT;
}

/* A pod that can never run as the cluster stands: its own status word in
 * the jobs API; /debug/state keeps SPEC section 8's four and says it apart. */
static bool never_runs(const struct cl_pod *p)
{
	return p->status == POD_SUBMITTED && (p->req_error || p->unschedulable);
}

static const char *job_status(const struct cl_pod *p)
{
	return never_runs(p) ? "Unschedulable" : cluster_status_name(p->status);
}

/* The one explanation of a waiting pod (explain.h); an invalid request
 * says so even before the dev loop (or a filter) looked at it. */
static void pod_message(struct buf *b, const struct cl_pod *p)
{
	if (p->waiting) {
		buf_json_str(b, p->waiting);
		return;
	}
	struct buf m = BUF_INIT;
	buf_printf(&m, "invalid vGPU request: %s", p->req_error);
	buf_json_str(b, m.data);
	buf_free(&m);
}

/* What each container asks for, as the daemon read it: memory always in MiB
 * (0 when a percentage of the card is asked instead). */
static void pod_request(struct buf *b, const struct cl_pod *p)
{
	buf_puts(b, ",\"request\":[");
	for (int i = 0; i < p->req.nctr; i++) {
		const struct req_ctr *c = &p->req.ctrs[i];
		buf_printf(b,
			   "%s{\"vgpus\":%d,\"memoryMiB\":%lld,\"memoryPercent\":%d,"
			   "\"cores\":%d}",
			   i ? "," : "", c->nums, (long long)c->mem_mib,
			   c->mem_mib ? 0
			   : c->nums  ? c->mem_pct
				      : 0,
			   c->cores);
	}
	buf_putc(b, ']');
}

static void pod_state(const struct cluster *c, struct buf *b, const struct cl_pod *p)
{
	static const char *const alloc_names[] = {"none", "assumed", "bound"};
	buf_puts(b, "{\"namespace\":");
	buf_json_str(b, p->ns);
	buf_puts(b, ",\"name\":");
	buf_json_str(b, p->name);
	buf_puts(b, ",\"uid\":");
	buf_json_str(b, p->uid ? p->uid : "");
	buf_puts(b, ",\"node\":");
	if (p->node)
		buf_json_str(b, p->node->name);
	else
		buf_puts(b, "null");
	buf_puts(b, ",\"queue\":");
	buf_json_str(b, pod_queue_name(c, p));
	buf_printf(b, ",\"status\":\"%s\",\"allocation\":\"%s\",\"priority\":%d,\"devices\":[",
		   cluster_status_name(p->status), alloc_names[p->alloc], p->priority);
	for (int i = 0; i < p->nctr; i++) {
		buf_puts(b, i ? ",[" : "[");
		for (int j = 0; j < p->devs[i].ndev; j++) {
			const struct cl_dev *d = &p->devs[i].devs[j];
			buf_puts(b, j ? ",{\"uuid\":" : "{\"uuid\":");
			buf_json_str(b, d->uuid);
			buf_printf(b, ",\"memoryMiB\":%lld,\"cores\":%d}", (long long)d->mem_mib,
				   d->cores);
		}
		buf_putc(b, ']');
	}
	buf_putc(b, ']');
	pod_request(b, p);
	if (p->req_error) {
		buf_puts(b, ",\"error\":");
		buf_json_str(b, p->req_error);
	}
	if (p->status == POD_SUBMITTED && (p->waiting || p->req_error)) {
		buf_printf(b,
			   ",\"unschedulable\":%s,\"reason\":", never_runs(p) ? "true" : "false");
		pod_message(b, p);
		if (p->verdicts) {
			buf_puts(b, ",\"nodes\":");
			buf_json_str(b, p->verdicts);
		}
	}
	buf_putc(b, '}');
}

/* SPEC section 7's queues: figures in GPUs; pending is what the queue's
 * waiting pods ask for (pendingPods counts them). Caller holds the lock. */
static void queues_state(struct vx_daemon *d, struct buf *b)
{
	const struct cluster *c = &d->cluster;
	double *share = calloc((size_t)c->queues.n + 1, sizeof *share);
	if (!share)
		abort();
	cluster_fair_share(c, share);
	buf_putc(b, '[');
	for (int i = 0; i < c->queues.n; i++) {
		const struct queue_conf *q = &c->queues.q[i];
		const struct cl_queue *st = &c->qstate[i];
		double pending = st->demand - st->allocated;
		buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
		buf_json_str(b, q->name);
		buf_printf(b,
			   ",\"quota\":%.6g,\"limit\":%.6g,\"overQuotaWeight\":%.6g,"
			   "\"allocated\":%.6g,\"fairShare\":%.6g,\"pending\":%.6g,"
			   "\"pendingPods\":%d}",
			   q->quota, q->limit, q->weight, st->allocated + 0.0, share[i] + 0.0,
			   pending > 1e-9 ? pending : 0.0, st->pending);
	}
	buf_putc(b, ']');
	free(share);
}

/* SPEC section 7's licence object: the four summary figures and the
 * waiting count. Caller holds the lock. */
static void license_state(const struct cluster *c, int li, int64_t now, struct buf *b)
{
	const struct license_conf *l = &c->licenses.l[li];
	const struct cl_license *st = &c->lstate[li];
	double used = cluster_license_used_s(c, li, now) / 3600.0;
	double left = l->daily_hours - used;
	buf_puts(b, "{\"name\":");
	buf_json_str(b, l->name);
	buf_printf(b,
		   ",\"dailyHours\":%.6g,\"usedHours\":%.6g,\"remainingHours\":%.6g,"
		   "\"resetInSeconds\":%lld,\"resetUTC\":\"%02d:%02d\",\"maxSlots\":%d,"
		   "\"usedSlots\":%d,\"waiting\":%d}",
		   l->daily_hours, used, left > 0 ? left : 0.0,
		   (long long)cluster_license_reset_in(c, li, now), l->reset_min / 60,
		   l->reset_min % 60, l->max_slots, st->used_slots, st->waiting);
}

int ops_license(struct vx_daemon *d, const char *name, struct buf *b)
{
	cluster_rdlock(&d->cluster);
	int li = license_by_name(&d->cluster.licenses, name);
	if (li >= 0)
		license_state(&d->cluster, li, clk_now_s(&d->clock), b);
	cluster_unlock(&d->cluster);
	return li >= 0 ? 0 : -1;
}

void ops_debug_state(struct vx_daemon *d, struct buf *b)
{
	size_t nn, np, k = 0;
	int64_t now = clk_now_s(&d->clock);
	struct hmap waiters;
	hmap_init(&waiters);
	if (d->binder)
		binder_waiters(d->binder, &waiters);
	cluster_rdlock(&d->cluster);
	void **nodes = sorted_values(&d->cluster.nodes, &nn);
	void **pods = sorted_values(&d->cluster.pods, &np);
	buf_puts(b, "{\"nodes\":[");
	for (size_t i = 0; i < nn; i++) {
		const struct cl_node *n = nodes[i];
		if (!n->present)
			continue;
		buf_puts(b, k++ ? "," : "");
		node_state(&waiters, b, n, now);
	}
	buf_puts(b, "],\"pods\":[");
	for (size_t i = 0; i < np; i++) {
		buf_puts(b, i ? "," : "");
		pod_state(&d->cluster, b, pods[i]);
	}
	/* Queues and licences under the same lock: a config reload replaces
	 * both arrays. */
	buf_puts(b, "],\"queues\":");
	queues_state(d, b);
	buf_puts(b, ",\"licenses\":[");
	for (int i = 0; i < d->cluster.licenses.n; i++) {
		buf_puts(b, i ? "," : "");
		license_state(&d->cluster, i, now, b);
	}
	cluster_unlock(&d->cluster);
	buf_puts(b, "]}");
	binder_waiters_free(&waiters);
	free(nodes);
	free(pods);
}

/* A label value in the text exposition format: only backslash, quote and
 * newline are escaped there, so JSON's \uXXXX escapes would be read
 * literally (and a node name from a dev cluster file may hold anything). */
static void prom_label(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_putc(b, '\\');
		if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *s);
	}
	buf_putc(b, '"');
}

/* Capacities are gauges named _capacity: the suffix _total is reserved for
 * counters (promtool check metrics). */
static void node_metric(struct buf *b, const char *name, const char *help, void **nodes, size_t n,
			long long (*get)(const struct cl_node *))
{
	buf_printf(b, "# HELP vgpu_extender_%s %s\n# TYPE vgpu_extender_%s gauge\n", name, help,
		   name);
	for (size_t i = 0; i < n; i++) {
		const struct cl_node *node = nodes[i];
		if (!node->present)
			continue;
		buf_printf(b, "vgpu_extender_%s{node=", name);
		prom_label(b, node->name);
		buf_printf(b, "} %lld\n", get(node));
	}
}

static long long m_gpus(const struct cl_node *n)
{
	return n->ngpus;
}
static long long m_slots(const struct cl_node *n)
{
	return n->total_slots;
}
static long long m_used_slots(const struct cl_node *n)
{
	return n->used_slots;
}
static long long m_mem(const struct cl_node *n)
{
	return n->total_mem;
}
static long long m_used_mem(const struct cl_node *n)
{
	return n->used_mem;
}
static long long m_cores(const struct cl_node *n)
{
	return (long long)VOLCANO_CORES_PER_GPU * n->ngpus;
}
static long long m_used_cores(const struct cl_node *n)
{
	return n->used_cores;
}

static void bind_metrics(struct vx_daemon *d, struct buf *b, int busy_nodes)
{
	struct binder_stats st = {0};
	if (d->binder)
		binder_stats(d->binder, &st);
	buf_printf(b,
		   "# HELP vgpu_extender_binds_in_flight Binds accepted and not yet answered.\n"
		   "# TYPE vgpu_extender_binds_in_flight gauge\n"
		   "vgpu_extender_binds_in_flight %d\n"
		   "# HELP vgpu_extender_binds_waiting Binds queued behind a node lock.\n"
		   "# TYPE vgpu_extender_binds_waiting gauge\n"
		   "vgpu_extender_binds_waiting %d\n"
		   "# HELP vgpu_extender_busy_nodes Nodes with a vGPU allocation in flight.\n"
		   "# TYPE vgpu_extender_busy_nodes gauge\n"
		   "vgpu_extender_busy_nodes %d\n"
		   "# HELP vgpu_extender_binds_refused_total Binds refused at once: too many in "
		   "flight, or shutting down.\n"
		   "# TYPE vgpu_extender_binds_refused_total counter\n"
		   "vgpu_extender_binds_refused_total %llu\n"
		   "# HELP vgpu_extender_bind_lock_timeouts_total Binds that gave up waiting for a "
		   "node lock.\n"
		   "# TYPE vgpu_extender_bind_lock_timeouts_total counter\n"
		   "vgpu_extender_bind_lock_timeouts_total %llu\n"
		   "# HELP vgpu_extender_bind_lock_wait_seconds Time a bind waited for its node's "
		   "lock.\n"
		   "# TYPE vgpu_extender_bind_lock_wait_seconds histogram\n",
		   st.inflight, st.waiting, busy_nodes, (unsigned long long)st.refused,
		   (unsigned long long)st.timed_out);
	unsigned long long cum = 0;
	for (int i = 0; i < BINDER_WAIT_BUCKETS; i++) {
		cum += st.wait_bucket[i];
		buf_printf(b, "vgpu_extender_bind_lock_wait_seconds_bucket{le=\"%g\"} %llu\n",
			   binder_wait_bounds_s[i], cum);
	}
	buf_printf(b,
		   "vgpu_extender_bind_lock_wait_seconds_bucket{le=\"+Inf\"} %llu\n"
		   "vgpu_extender_bind_lock_wait_seconds_sum %.6f\n"
		   "vgpu_extender_bind_lock_wait_seconds_count %llu\n",
		   (unsigned long long)st.wait_count, st.wait_sum_s,
		   (unsigned long long)st.wait_count);
}

static void queue_metric(struct buf *b, const struct cluster *c, const char *name, const char *help,
			 const double *v)
{
	buf_printf(b, "# HELP vgpu_extender_queue_%s %s\n# TYPE vgpu_extender_queue_%s gauge\n",
		   name, help, name);
	for (int i = 0; i < c->queues.n; i++) {
		buf_printf(b, "vgpu_extender_queue_%s{queue=", name);
		buf_json_str(b, c->queues.q[i].name);
		buf_printf(b, "} %.6g\n", v[i] + 0.0);
	}
}

/* Per queue: allocation, fair share, quota (GPUs), waiting pods. */
static void queue_metrics(struct vx_daemon *d, struct buf *b)
{
	const struct cluster *c = &d->cluster;
	int n = c->queues.n;
	double *v = calloc((size_t)n * 4 + 1, sizeof *v);
	if (!v)
		abort();
	cluster_fair_share(c, v + n);
	for (int i = 0; i < n; i++) {
		v[i] = c->qstate[i].allocated;
		v[2 * n + i] = c->queues.q[i].quota;
		v[3 * n + i] = c->qstate[i].pending;
	}
	queue_metric(b, c, "allocated_gpus", "GPUs charged to the queue's pods.", v);
	queue_metric(b, c, "fair_share_gpus", "The queue's fair share of the cluster's GPUs.",
		     v + n);
	queue_metric(b, c, "quota_gpus", "The queue's deserved quota.", v + (size_t)2 * n);
	queue_metric(b, c, "pending_pods", "vGPU pods of the queue waiting for a node.",
		     v + (size_t)3 * n);
	free(v);
}

static void license_metric(struct buf *b, const struct cluster *c, const char *name,
			   const char *help, const double *v)
{
	const char *type = strcmp(name, "refused_total") == 0 ? "counter" : "gauge";
	buf_printf(b, "# HELP vgpu_extender_license_%s %s\n# TYPE vgpu_extender_license_%s %s\n",
		   name, help, name, type);
	for (int i = 0; i < c->licenses.n; i++) {
		buf_printf(b, "vgpu_extender_license_%s{license=", name);
		buf_json_str(b, c->licenses.l[i].name);
		buf_printf(b, "} %.6g\n", v[i] + 0.0);
	}
}

/* Per licence: the day's vGPU time used and granted, slots used and
 * granted, pods waiting, admissions refused. The seconds and _capacity
 * names pass promtool's lint (base units, _total only on a counter); the
 * hours and _total gauges are the licence contract's names (README,
 * "Time-shared vGPU licences"), kept beside them with the same figures. */
static void license_metrics(struct vx_daemon *d, struct buf *b)
{
	enum { USED_S, DAILY_S, SLOTS, CAPACITY, WAITING, REFUSED, USED_H, DAILY_H, NFIG };
	const struct cluster *c = &d->cluster;
	size_t n = (size_t)c->licenses.n;
	int64_t now = clk_now_s(&d->clock);
	double *v = calloc(n * NFIG + 1, sizeof *v);
	if (!v)
		abort();
	for (size_t i = 0; i < n; i++) {
		v[USED_S * n + i] = cluster_license_used_s(c, (int)i, now);
		v[DAILY_S * n + i] = c->licenses.l[i].daily_hours * 3600.0;
		v[SLOTS * n + i] = c->lstate[i].used_slots;
		v[CAPACITY * n + i] = c->licenses.l[i].max_slots;
		v[WAITING * n + i] = c->lstate[i].waiting;
		v[REFUSED * n + i] =
		    (double)__atomic_load_n(&c->lstate[i].refused, __ATOMIC_RELAXED);
		v[USED_H * n + i] = v[USED_S * n + i] / 3600.0;
		v[DAILY_H * n + i] = c->licenses.l[i].daily_hours;
	}
	license_metric(b, c, "used_seconds", "vGPU-seconds used since the last reset.",
		       v + USED_S * n);
	license_metric(b, c, "daily_seconds", "vGPU-seconds the licence grants a day.",
		       v + DAILY_S * n);
	license_metric(b, c, "slots_used", "vGPUs of licensed pods running.", v + SLOTS * n);
	license_metric(b, c, "slots_capacity", "vGPUs the licence lets run at once.",
		       v + CAPACITY * n);
	license_metric(b, c, "waiting_pods", "Licensed pods waiting for a slot or the reset.",
		       v + WAITING * n);
	license_metric(b, c, "refused_total",
		       "Admissions of licensed pods refused for slots, hours or order.",
		       v + REFUSED * n);
	license_metric(b, c, "hours_used", "vGPU-hours used since the last reset (a gauge).",
		       v + USED_H * n);
	license_metric(b, c, "hours_total", "vGPU-hours the licence grants a day (a gauge).",
		       v + DAILY_H * n);
	license_metric(b, c, "slots_total", "vGPUs the licence lets run at once (a gauge).",
		       v + CAPACITY * n);
	free(v);
}

static int count_busy(void **nodes, size_t n, int64_t now)
{
	int busy = 0;
	for (size_t i = 0; i < n; i++)
		busy +=
		    ((const struct cl_node *)nodes[i])->present && cluster_node_busy(nodes[i], now);
	return busy;
}

void ops_metrics(struct vx_daemon *d, struct buf *b)
{
	size_t n;
	metrics_write(&d->metrics, b);
	cluster_rdlock(&d->cluster);
	void **nodes = sorted_values(&d->cluster.nodes, &n);
	node_metric(b, "node_gpus", "Physical GPUs registered on the node.", nodes, n, m_gpus);
	node_metric(b, "node_slots_capacity", "vGPU slots on the node.", nodes, n, m_slots);
	node_metric(b, "node_slots_used", "vGPU slots in use.", nodes, n, m_used_slots);
	node_metric(b, "node_memory_mib_capacity", "GPU memory (MiB).", nodes, n, m_mem);
	node_metric(b, "node_memory_mib_used", "GPU memory allocated (MiB).", nodes, n, m_used_mem);
	node_metric(b, "node_cores_capacity", "GPU compute, percent x GPUs.", nodes, n, m_cores);
	node_metric(b, "node_cores_used", "GPU compute allocated, percent.", nodes, n,
		    m_used_cores);
	buf_printf(b,
		   "# HELP vgpu_extender_pods Pods tracked by the model.\n"
		   "# TYPE vgpu_extender_pods gauge\nvgpu_extender_pods %zu\n"
		   "# HELP vgpu_extender_ready Whether the model is synced.\n"
		   "# TYPE vgpu_extender_ready gauge\nvgpu_extender_ready %d\n"
		   "# HELP vgpu_extender_leader Whether this replica may bind.\n"
		   "# TYPE vgpu_extender_leader gauge\nvgpu_extender_leader %d\n",
		   hmap_size(&d->cluster.pods), atomic_load(&d->ready),
		   !d->store->ops->is_leader || d->store->ops->is_leader(d->store));
	int busy = count_busy(nodes, n, clk_now_s(&d->clock));
	queue_metrics(d, b);
	license_metrics(d, b);
	cluster_unlock(&d->cluster);
	free(nodes);
	bind_metrics(d, b, busy);
	reclaim_metrics(d->reclaimer, b);
}

int ops_jobs(struct vx_daemon *d, const char *ns, const char *queue, const char *license,
	     struct buf *b)
{
	size_t np, k = 0;
	char ts[32];
	struct lic_waits waits;
	cluster_rdlock(&d->cluster);
	if (license && license_by_name(&d->cluster.licenses, license) < 0) {
		cluster_unlock(&d->cluster);
		return -1;
	}
	void **pods = sorted_values(&d->cluster.pods, &np);
	cluster_license_waits(&d->cluster, clk_now_s(&d->clock), &waits);
	buf_putc(b, '[');
	for (size_t i = 0; i < np; i++) {
		const struct cl_pod *p = pods[i];
		int covered = license_of(&d->cluster.licenses, p->ns, NULL);
		const char *lname = covered >= 0 ? d->cluster.licenses.l[covered].name : "";
		if ((ns && strcmp(ns, p->ns) != 0) ||
		    (queue && strcmp(queue, pod_queue_name(&d->cluster, p)) != 0) ||
		    (license && strcmp(license, lname) != 0))
			continue;
		clk_format_rfc3339(p->created, ts, sizeof ts);
		buf_puts(b, k++ ? ",{\"user\":" : "{\"user\":");
		buf_json_str(b, p->user ? p->user : "");
		buf_printf(b, ",\"submitTime\":\"%s\",\"name\":", ts);
		buf_json_str(b, p->name);
		buf_puts(b, ",\"namespace\":");
		buf_json_str(b, p->ns);
		buf_puts(b, ",\"uid\":");
		buf_json_str(b, p->uid ? p->uid : "");
		buf_puts(b, ",\"queue\":");
		buf_json_str(b, pod_queue_name(&d->cluster, p));
		buf_puts(b, ",\"license\":");
		buf_json_str(b, lname);
		buf_printf(b, ",\"priority\":%d,\"billing\":", p->priority);
		buf_json_str(b, p->billing ? p->billing : covered >= 0 ? "license" : "credits");
		const struct lic_wait *w = p->l_waiting ? cluster_license_wait_of(&waits, p) : NULL;
		if (w)
			buf_printf(b, ",\"position\":%d", w->position);
		if (w && w->start_s) {
			clk_format_rfc3339(w->start_s, ts, sizeof ts);
			buf_printf(b, ",\"estimatedStart\":\"%s\"", ts);
		}
		buf_printf(b, ",\"status\":\"%s\",\"gpus\":%d,\"node\":", job_status(p),
			   p->req.total_vgpus);
		if (p->node || p->bound_node)
			buf_json_str(b, p->node ? p->node->name : p->bound_node);
		else
			buf_puts(b, "null");
		if (p->status == POD_SUBMITTED && (p->waiting || p->req_error)) {
			buf_puts(b, ",\"message\":");
			pod_message(b, p);
		}
		buf_putc(b, '}');
	}
	cluster_unlock(&d->cluster);
	buf_putc(b, ']');
	free(waits.w);
	free(pods);
	return 0;
}
