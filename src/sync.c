/* sync: Kubernetes objects in, model changes out. A pod's devices come only
 * from its volcano.sh/vgpu-ids-new annotation, which is what the device
 * plugin reads too, so after a restart the model equals what the API server
 * holds. Pods that neither ask for vGPUs nor hold any are not tracked. */
#include "vx/sync.h"
#include "vx/clock.h"
#include "vx/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t sync_node_allocatable(const cJSON *node)
{
	const cJSON *q = json_path(json_path(node, "status", "allocatable"), RES_NUMBER, NULL);
	int64_t v = 0;
	if (cJSON_IsNumber(q))
		return q->valuedouble > 0 && q->valuedouble < 9e15 ? (int64_t)q->valuedouble : 0;
	if (cJSON_IsString(q) && req_parse_quantity(q->valuestring, &v) == 0)
		return v;
	return 0;
}

void sync_node(struct cluster *c, const cJSON *node)
{
	const char *name = json_str(json_path(node, "metadata", NULL), "name");
	if (!name) {
		log_warn("ignoring a Node without metadata.name");
		return;
	}
	const char *lock = json_annotation(node, ANN_NODE_LOCK);
	int64_t since = lock ? clk_parse_rfc3339(lock) : 0;
	cluster_wrlock(c);
	struct cl_node *n = cluster_node_update(c, name, json_annotation(node, ANN_REGISTER),
						sync_node_allocatable(node));
	/* An unreadable lock time still means the node is locked. */
	cluster_node_set_lock(c, n, since > 0 ? since : lock ? 1 : 0);
	cluster_unlock(c);
}

void sync_node_deleted(struct cluster *c, const char *name)
{
	cluster_wrlock(c);
	cluster_node_remove(c, name);
	cluster_unlock(c);
}

static enum pod_status pod_status(const cJSON *pod)
{
	const char *phase = json_str(json_path(pod, "status", NULL), "phase");
	const char *bp = json_annotation(pod, ANN_BIND_PHASE);
	if (phase && strcmp(phase, "Succeeded") == 0)
		return POD_COMPLETED;
	if ((phase && strcmp(phase, "Failed") == 0) || (bp && strcmp(bp, "failed") == 0))
		return POD_FAILED;
	if (json_str(json_path(pod, "spec", NULL), "nodeName"))
		return POD_RUNNING;
	return POD_SUBMITTED;
}

static void set_str(char **dst, const char *v)
{
	if (*dst && v && strcmp(*dst, v) == 0)
		return;
	free(*dst);
	*dst = v ? strdup(v) : NULL;
}

/* When the pod's containers ended: the latest finishedAt; 0 if none has. */
static int64_t finished_at(const cJSON *pod)
{
	const cJSON *cs = json_path(pod, "status", "containerStatuses"), *c;
	int64_t last = 0;
	cJSON_ArrayForEach (c, cs) {
		const cJSON *term = json_path(json_path(c, "state", NULL), "terminated", NULL);
		int64_t t = clk_parse_rfc3339(json_str(term, "finishedAt"));
		last = t > last ? t : last;
	}
	return last;
}

/* How long the pod runs at most, for the licence's start estimates: the
 * deadline kubelet enforces, else what the dev stand-in will play. */
static int64_t runtime_of(const cJSON *pod)
{
	const cJSON *dl = json_path(pod, "spec", "activeDeadlineSeconds");
	if (cJSON_IsNumber(dl) && dl->valuedouble > 0 && dl->valuedouble < 1e12)
		return (int64_t)dl->valuedouble; /* in range: the cast is defined */
	const char *dev = json_annotation(pod, VX_ANN_DEV_RUNTIME);
	long long v = dev ? strtoll(dev, NULL, 10) : 0;
	return v > 0 ? (int64_t)v : 0;
}

static void read_meta(struct cluster *c, struct cl_pod *p, const cJSON *pod)
{
	const cJSON *md = json_path(pod, "metadata", NULL);
	set_str(&p->uid, json_str(md, "uid"));
	set_str(&p->queue, json_label(pod, VX_LABEL_QUEUE));
	/* Billing first: filing the pod under its queue also files it under
	 * its licence, and billing=credits means none. */
	const char *billing = json_annotation(pod, VX_ANN_BILLING);
	bool rebill = (billing == NULL) != (p->billing == NULL) ||
		      (billing && p->billing && strcmp(billing, p->billing) != 0);
	set_str(&p->billing, billing);
	cluster_pod_set_queue(c, p, p->queue);
	if (rebill) /* use-credits takes a running pod out of its licence at once */
		cluster_track_license(c, p);
	set_str(&p->user, json_annotation(pod, VX_ANN_USER));
	const char *bound = json_str(json_path(pod, "spec", NULL), "nodeName");
	p->bound_node = bound ? cluster_intern(c, bound) : NULL;
	const char *prio = json_annotation(pod, VX_ANN_PRIORITY);
	int v = prio ? atoi(prio) : VX_PRIORITY_DEFAULT;
	p->priority = v >= VX_PRIORITY_MIN && v <= VX_PRIORITY_MAX ? v : VX_PRIORITY_DEFAULT;
	const cJSON *sp = json_path(pod, "spec", "priority");
	p->spec_priority = cJSON_IsNumber(sp) ? sp->valueint : 0;
	int64_t t = clk_parse_rfc3339(json_str(md, "creationTimestamp"));
	if (t >= 0)
		p->created = t;
	t = clk_parse_rfc3339(json_str(json_path(pod, "status", NULL), "startTime"));
	p->started = t > 0 ? t : 0;
	p->runtime_s = runtime_of(pod);
}

/* Returns 1 when the annotation describes exactly the pod's current devices. */
static int same_devices(const struct cl_pod *p, const char *node, const char *ids)
{
	if (p->alloc == ALLOC_NONE || !p->node || strcmp(p->node->name, node) != 0)
		return 0;
	struct codec_pod_devs view;
	struct buf b = BUF_INIT;
	cluster_pod_devs_view(p, &view);
	codec_encode_pod_devs(&b, &view);
	int same = strcmp(b.data, ids) == 0;
	cluster_pod_devs_view_free(&view);
	buf_free(&b);
	return same;
}

static void apply_devices(struct cluster *c, struct cl_pod *p, const cJSON *pod)
{
	const char *ids = json_annotation(pod, ANN_IDS);
	const char *node = json_str(json_path(pod, "spec", NULL), "nodeName");
	if (!node)
		node = json_annotation(pod, ANN_NODE);
	if (!ids || !node) {
		/* Annotations gone (a rolled-back bind) release the devices; an
		 * assumed allocation stays until its bind call returns. */
		if (p->alloc == ALLOC_BOUND)
			cluster_pod_clear_alloc(c, p);
		return;
	}
	if (same_devices(p, node, ids)) {
		cluster_pod_mark_bound(c, p);
		return;
	}
	char err[160];
	struct codec_pod_devs devs;
	if (codec_decode_pod_devs(ids, &devs, err, sizeof err)) {
		log_warn("pod %s: ignoring corrupt %s %.80s: %s", p->key, ANN_IDS, ids, err);
		return;
	}
	cluster_pod_set_alloc(c, p, node, &devs, ALLOC_BOUND);
	codec_free_pod_devs(&devs);
}

/* Parses the request of a pod not tracked yet; returns NULL when the pod
 * neither asks for vGPUs nor holds any, so it is not worth tracking. A
 * pod's spec is immutable: this is the only parse it gets. */
static struct cl_pod *track(struct cluster *c, const char *ns, const char *name, const cJSON *pod)
{
	struct req_pod r;
	char err[200];
	bool bad = req_parse_pod(pod, &r, err, sizeof err) != 0;
	if (!bad && !r.is_vgpu && !json_annotation(pod, ANN_IDS)) {
		req_free(&r);
		return NULL;
	}
	struct cl_pod *p = cluster_pod_ensure(c, ns, name);
	if (bad) {
		p->req_error = strdup(err);
		log_warn("pod %s: invalid vGPU request: %s", p->key, err);
	} else {
		p->req = r;
	}
	return p;
}

void sync_pod(struct cluster *c, const cJSON *pod)
{
	const cJSON *md = json_path(pod, "metadata", NULL);
	const char *ns = json_str(md, "namespace"), *name = json_str(md, "name");
	if (!name) {
		log_warn("ignoring a Pod without metadata.name");
		return;
	}
	if (!ns)
		ns = "default";
	if (!pod_names_ok(ns, name)) {
		log_warn("ignoring a Pod whose namespace or name is longer than Kubernetes allows");
		return;
	}
	char key[VX_POD_KEY_MAX];
	pod_key(key, ns, name);
	cluster_wrlock(c);
	struct cl_pod *p = cluster_pod(c, key);
	if (!p && !(p = track(c, ns, name, pod))) {
		cluster_unlock(c);
		return;
	}
	read_meta(c, p, pod);
	enum pod_status st = pod_status(pod);
	if (st == POD_COMPLETED || st == POD_FAILED) {
		p->finished = finished_at(pod);
		cluster_pod_set_status(c, p, st);
		if (p->alloc != ALLOC_NONE)
			cluster_pod_clear_alloc(c, p);
	} else {
		const char *bp = json_annotation(pod, ANN_BIND_PHASE);
		cluster_pod_set_status(c, p, st);
		apply_devices(c, p, pod);
		cluster_pod_set_plugin_pending(c, p, bp && strcmp(bp, "allocating") == 0);
	}
	cluster_unlock(c);
}

void sync_pod_deleted(struct cluster *c, const char *ns, const char *name)
{
	char key[VX_POD_KEY_MAX];
	pod_key(key, ns, name);
	cluster_wrlock(c);
	struct cl_pod *p = cluster_pod(c, key);
	if (p)
		cluster_pod_remove(c, p);
	cluster_unlock(c);
}
