/* kubestore: the cluster-mode store. Lists and watches Nodes and Pods
 * (informer.c), elects a leader (lease.c), and performs the writes: get,
 * bind, create, delete, patch, Events. Bind follows SPEC section 2: take the
 * node lock `hamivgpu` with a merge patch guarded by the node's
 * resourceVersion, then POST the Binding carrying the Volcano annotations,
 * which the API server applies to the pod together with spec.nodeName. Any
 * failure gives the lock back, so nothing this bind wrote survives it. A
 * lock held by an allocation in flight is reported (STORE_BUSY), never
 * waited for here: the binder above parks the bind without a thread. */
#include "informer.h"
#include "kubestate.h"
#include "lease.h"
#include "vx/bgthread.h"
#include "vx/json.h"
#include "vx/kubestore.h"
#include "vx/log.h"
#include "vx/volcano.h"
#include "vx/xalloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_PAGE_SIZE 500
#define DEFAULT_STALE_LOCK_S 30
/* The janitor looks at old locks at least this often. */
#define JANITOR_MAX_PERIOD_MS 5000
#define JANITOR_MIN_PERIOD_MS 100
/* At most this long before ready: 64 handshakes take ~0.1 s on loopback,
 * but far more against a distant API server; the rest open on demand. */
#define PRECONNECT_BUDGET_MS 1500

struct kstore {
	struct store base;
	struct kube_client *kc;
	struct vx_clock *clock;
	struct store_sink sink;
	atomic_int stop;
	int page_size;
	int stale_lock_s;
	int preconnect;
	struct informer nodes, pods;
	atomic_int synced;
	atomic_int preconnected; /* the bind workers' connections are open */
	bool leader_elect;
	struct lease lease;
	pthread_mutex_t lock_mu; /* guards the two maps below */
	struct hmap locking;     /* nodes a bind of ours is working on */
	struct hmap locked;      /* node -> struct node_lock: hamivgpu as last seen */
	struct hmap seen;        /* node -> struct node_seen: as the watch last showed it */
	pthread_t janitor;
	bool janitor_running;
	char *ns;
};

static struct kstore *ks_of(struct store *s)
{
	return (struct kstore *)s;
}

/* One API call (opts NULL: the client's retries); returns the HTTP status,
 * or -1 with e set. */
static long call_with(struct kstore *ks, const char *method, const char *path, const char *ctype,
		      const char *body, struct kube_resp *r, const struct kube_call_opts *opts,
		      struct store_err *e)
{
	char err[256];
	if (kube_request(ks->kc, method, path, ctype, body, body ? strlen(body) : 0, r, opts, err,
			 sizeof err)) {
		store_err_set(e, 503, "%s %s: %s", method, path, err);
		return -1;
	}
	if (r->status >= 300) {
		kube_status_message(r, err, sizeof err);
		store_err_set(e, (int)r->status, "%s", err);
	}
	return r->status;
}

static long call(struct kstore *ks, const char *method, const char *path, const char *ctype,
		 const char *body, struct kube_resp *r, struct store_err *e)
{
	return call_with(ks, method, path, ctype, body, r, NULL, e);
}

static cJSON *get_json(struct kstore *ks, const char *path, struct store_err *e)
{
	struct kube_resp r;
	long st = call(ks, "GET", path, NULL, NULL, &r, e);
	cJSON *j = st == 200 ? cJSON_ParseWithLength(r.body.data, r.body.len) : NULL;
	if (st == 200 && !j)
		store_err_set(e, 502, "GET %s: the answer is not JSON", path);
	kube_resp_free(&r);
	return j;
}

static cJSON *ks_get_pod(struct store *s, const char *ns, const char *name, struct store_err *e)
{
	char path[768];
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", ns, name);
	return get_json(ks_of(s), path, e);
}

/* A lock is live while a pod on that node is still being allocated. */
static bool lock_is_live(struct kstore *ks, const char *node)
{
	char path[768];
	struct store_err e;
	snprintf(path, sizeof path, "/api/v1/pods?fieldSelector=spec.nodeName%%3D%s", node);
	cJSON *list = get_json(ks, path, &e);
	if (!list)
		return true; /* cannot tell: assume live, fail safe */
	bool live = false;
	const cJSON *p;
	cJSON_ArrayForEach (p, cJSON_GetObjectItemCaseSensitive(list, "items")) {
		const char *bp = json_annotation(p, ANN_BIND_PHASE);
		const char *phase = json_str(json_path(p, "status", NULL), "phase");
		bool terminal = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
		live |= bp && !strcmp(bp, "allocating") && !terminal;
	}
	cJSON_Delete(list);
	return live;
}

static char *lock_patch(const char *rv, const char *value)
{
	cJSON *o = cJSON_CreateObject(), *md = cJSON_AddObjectToObject(o, "metadata");
	if (rv)
		cJSON_AddStringToObject(md, "resourceVersion", rv);
	cJSON *ann = cJSON_AddObjectToObject(md, "annotations");
	if (value)
		cJSON_AddStringToObject(ann, ANN_NODE_LOCK, value);
	else
		cJSON_AddNullToObject(ann, ANN_NODE_LOCK);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

struct node_seen {
	char rv[32];
	bool locked;
	char name[];
};

/* The fast path: the watch showed the node free at resourceVersion rv, so
 * patch the lock guarded by it without reading the node first. 0 taken,
 * 1 the node changed since (read it and decide), -1 failed. */
static int lock_as_seen(struct kstore *ks, const char *path, const char *node, struct store_err *e)
{
	char rv[32] = "", ts[32];
	pthread_mutex_lock(&ks->lock_mu);
	const struct node_seen *n = hmap_get(&ks->seen, node);
	if (n && !n->locked)
		memcpy(rv, n->rv, sizeof rv);
	pthread_mutex_unlock(&ks->lock_mu);
	if (!rv[0])
		return 1;
	clk_format_rfc3339(clk_now_s(ks->clock), ts, sizeof ts);
	char *body = lock_patch(rv, ts);
	struct kube_resp r;
	long st = call(ks, "PATCH", path, "application/merge-patch+json", body, &r, e);
	free(body);
	kube_resp_free(&r);
	return st == 200 ? 0 : st == 409 ? 1 : -1;
}

/* One attempt: 0 taken, 1 try again (busy or conflict), -1 failed. */
static int try_lock(struct kstore *ks, const char *node, struct store_err *e)
{
	char path[512], ts[32];
	snprintf(path, sizeof path, "/api/v1/nodes/%s", node);
	int fast = lock_as_seen(ks, path, node, e);
	if (fast <= 0)
		return fast;
	cJSON *n = get_json(ks, path, e);
	if (!n)
		return -1;
	const char *held = json_annotation(n, ANN_NODE_LOCK);
	int64_t since = held ? clk_parse_rfc3339(held) : -1;
	int64_t now = clk_now_s(ks->clock);
	if (held && since >= 0 && now - since < VOLCANO_LOCK_TTL_S && lock_is_live(ks, node)) {
		store_err_set(e, 423, "node %s is locked by a vGPU allocation in progress since %s",
			      node, held);
		cJSON_Delete(n);
		return 1;
	}
	if (held)
		log_info("node %s: taking over the %s lock from %s (%s)", node, ANN_NODE_LOCK, held,
			 since >= 0 && now - since >= VOLCANO_LOCK_TTL_S ? "expired"
									 : "no pod allocating");
	clk_format_rfc3339(now, ts, sizeof ts);
	char *body = lock_patch(json_str(json_path(n, "metadata", NULL), "resourceVersion"), ts);
	cJSON_Delete(n);
	struct kube_resp r;
	long st = call(ks, "PATCH", path, "application/merge-patch+json", body, &r, e);
	free(body);
	kube_resp_free(&r);
	return st == 200 ? 0 : st == 409 ? 1 : -1;
}

static void unlock_node(struct kstore *ks, const char *node)
{
	char path[512];
	struct store_err e;
	struct kube_resp r;
	snprintf(path, sizeof path, "/api/v1/nodes/%s", node);
	char *body = lock_patch(NULL, NULL);
	if (call(ks, "PATCH", path, "application/merge-patch+json", body, &r, &e) != 200)
		log_warn("node %s: could not release the %s lock: %s", node, ANN_NODE_LOCK, e.msg);
	free(body);
	kube_resp_free(&r);
}

/* Marks the nodes our binds work on, so the janitor keeps its hands off
 * their locks. The binder runs one bind per node at a time. */
static void mark_locking(struct kstore *ks, const char *node, bool on)
{
	pthread_mutex_lock(&ks->lock_mu);
	if (on && !hmap_get(&ks->locking, node)) {
		char *key = xstrdup(node); /* the map borrows its keys: the value owns it */
		hmap_put(&ks->locking, key, key);
	} else if (!on) {
		free(hmap_del(&ks->locking, node));
	}
	pthread_mutex_unlock(&ks->lock_mu);
}

static char *binding_body(const struct store_binding *b)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", "Binding");
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "name", b->name);
	cJSON_AddStringToObject(md, "namespace", b->ns);
	if (b->uid && *b->uid)
		cJSON_AddStringToObject(md, "uid", b->uid);
	if (b->annotations)
		cJSON_AddItemToObject(md, "annotations", cJSON_Duplicate(b->annotations, 1));
	cJSON *t = cJSON_AddObjectToObject(o, "target");
	cJSON_AddStringToObject(t, "apiVersion", "v1");
	cJSON_AddStringToObject(t, "kind", "Node");
	cJSON_AddStringToObject(t, "name", b->node);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* After a 409 the pod may already be ours: a retried bind whose first answer
 * was lost. That is success, as kube-scheduler expects. */
static bool already_bound_here(struct kstore *ks, const struct store_binding *b)
{
	struct store_err e;
	cJSON *pod = ks_get_pod(&ks->base, b->ns, b->name, &e);
	const char *node = json_str(json_path(pod, "spec", NULL), "nodeName");
	bool here = node && !strcmp(node, b->node);
	cJSON_Delete(pod);
	return here;
}

/* An Event on the pod, best effort: kubectl describe pod shows it. */
static void emit_event(struct kstore *ks, const char *ns, const char *pod, const char *uid,
		       const char *type, const char *reason, const char *msg)
{
	char path[512], ts[32], name[320];
	struct store_err e;
	struct kube_resp r;
	clk_format_rfc3339(clk_now_s(ks->clock), ts, sizeof ts);
	snprintf(name, sizeof name, "%s.%llx", pod, (unsigned long long)clk_now_ms(ks->clock));
	cJSON *o = cJSON_CreateObject(), *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", "Event");
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "namespace", ns);
	cJSON *io = cJSON_AddObjectToObject(o, "involvedObject");
	cJSON_AddStringToObject(io, "apiVersion", "v1");
	cJSON_AddStringToObject(io, "kind", "Pod");
	cJSON_AddStringToObject(io, "namespace", ns);
	cJSON_AddStringToObject(io, "name", pod);
	if (uid && *uid)
		cJSON_AddStringToObject(io, "uid", uid);
	cJSON_AddStringToObject(o, "reason", reason);
	cJSON_AddStringToObject(o, "message", msg);
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "source"), "component", "vgpu-extender");
	cJSON_AddStringToObject(o, "firstTimestamp", ts);
	cJSON_AddStringToObject(o, "lastTimestamp", ts);
	cJSON_AddNumberToObject(o, "count", 1);
	char *body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/events", ns);
	if (call(ks, "POST", path, NULL, body, &r, &e) >= 300)
		log_warn("cannot record event for pod %s/%s: %s", ns, pod, e.msg);
	free(body);
	kube_resp_free(&r);
}

static int post_binding(struct kstore *ks, const struct store_binding *b, struct store_err *e)
{
	char path[768];
	struct kube_resp r;
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/binding", b->ns, b->name);
	char *body = binding_body(b);
	long st = call(ks, "POST", path, NULL, body, &r, e);
	free(body);
	kube_resp_free(&r);
	if (st == 200 || st == 201 || (st == 409 && already_bound_here(ks, b)))
		return 0;
	return -1;
}

static int ks_bind(struct store *s, const struct store_binding *b, struct store_err *e)
{
	struct kstore *ks = ks_of(s);
	if (!kstore_is_leader(s)) {
		store_err_set(e, 503, "this replica is not the leader; binds go to the leader");
		return -1;
	}
	if (!b->annotations)
		return post_binding(ks, b, e);
	mark_locking(ks, b->node, true);
	int rc = try_lock(ks, b->node, e);
	if (rc == 0) {
		rc = post_binding(ks, b, e);
		if (rc)
			unlock_node(ks, b->node);
	}
	mark_locking(ks, b->node, false);
	if (rc < 0)
		emit_event(ks, b->ns, b->name, b->uid, "Warning", "FailedBinding", e->msg);
	return rc < 0 ? -1 : rc;
}

static int ks_refresh_pod(struct store *s, const char *ns, const char *name, struct store_err *e)
{
	struct kstore *ks = ks_of(s);
	cJSON *pod = ks_get_pod(s, ns, name, e);
	if (!pod)
		return -1;
	if (ks->sink.pod)
		ks->sink.pod(ks->sink.ud, STORE_MODIFIED, pod);
	cJSON_Delete(pod);
	return 0;
}

static void ks_pod_event(struct store *s, const char *ns, const char *name, const char *uid,
			 const char *reason, const char *msg)
{
	emit_event(ks_of(s), ns, name, uid, "Normal", reason, msg);
}

/* A 429 names the budget and its numbers only in details.causes: the error
 * keeps them ("... budget. (The disruption budget B needs 2 healthy pods and
 * has 2 currently)"), so the log says which budget holds a victim back. */
static void add_budget_cause(const struct kube_resp *r, struct store_err *e)
{
	cJSON *st = r->body.len ? cJSON_ParseWithLength(r->body.data, r->body.len) : NULL;
	const cJSON *c;
	cJSON_ArrayForEach (c, json_path(st, "details", "causes")) {
		const char *why = json_str(c, "reason"), *msg = json_str(c, "message");
		if (why && msg && !strcmp(why, "DisruptionBudget")) {
			size_t n = strlen(e->msg);
			snprintf(e->msg + n, sizeof e->msg - n, " (%s)", msg);
			break;
		}
	}
	cJSON_Delete(st);
}

/* policy/v1 Eviction: the API server honours PodDisruptionBudgets (429). */
static int ks_evict_pod(struct store *s, const char *ns, const char *name, const char *uid,
			struct store_err *e)
{
	char path[768];
	struct kube_resp r;
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/eviction", ns, name);
	cJSON *o = cJSON_CreateObject(), *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(o, "apiVersion", "policy/v1");
	cJSON_AddStringToObject(o, "kind", "Eviction");
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "namespace", ns);
	if (uid && *uid)
		cJSON_AddStringToObject(
		    cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "deleteOptions"),
					    "preconditions"),
		    "uid", uid);
	char *body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	/* One attempt: a 429 is a disruption budget saying no, and retrying it
	 * only delays trying another victim; reclaim's next pass retries. */
	const struct kube_call_opts once = {.max_attempts = 1};
	long st = call_with(ks_of(s), "POST", path, NULL, body, &r, &once, e);
	free(body);
	if (st == 429)
		add_budget_cause(&r, e);
	kube_resp_free(&r);
	return st == 200 || st == 201 ? 0 : -1;
}

static int simple_write(struct kstore *ks, const char *method, const char *path, const char *ctype,
			const char *body, struct store_err *e)
{
	struct kube_resp r;
	long st = call(ks, method, path, ctype, body, &r, e);
	kube_resp_free(&r);
	return st >= 200 && st < 300 ? 0 : -1;
}

static int ks_create_pod(struct store *s, const cJSON *pod, struct store_err *e)
{
	const char *ns = json_str(json_path(pod, "metadata", NULL), "namespace");
	char path[512], *body = cJSON_PrintUnformatted(pod);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", ns ? ns : "default");
	int rc = simple_write(ks_of(s), "POST", path, NULL, body, e);
	free(body);
	return rc;
}

static int ks_delete_pod(struct store *s, const char *ns, const char *name, struct store_err *e)
{
	char path[768];
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", ns, name);
	return simple_write(ks_of(s), "DELETE", path, NULL, NULL, e);
}

/* A merge patch of the pod's metadata[field] (labels or annotations). */
static int patch_meta(struct store *s, const char *ns, const char *name, const char *field,
		      const cJSON *vals, struct store_err *e)
{
	char path[768];
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", ns, name);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(cJSON_AddObjectToObject(o, "metadata"), field,
			      cJSON_Duplicate(vals, 1));
	char *body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	int rc = simple_write(ks_of(s), "PATCH", path, "application/merge-patch+json", body, e);
	free(body);
	return rc;
}

static int ks_patch_ann(struct store *s, const char *ns, const char *name, const cJSON *ann,
			struct store_err *e)
{
	return patch_meta(s, ns, name, "annotations", ann, e);
}

static int ks_patch_labels(struct store *s, const char *ns, const char *name, const cJSON *labels,
			   struct store_err *e)
{
	return patch_meta(s, ns, name, "labels", labels, e);
}

struct node_lock {
	int64_t since;
	char name[];
};

static void note_node(struct kstore *ks, enum store_ev ev, const cJSON *node)
{
	const char *name = json_str(json_path(node, "metadata", NULL), "name");
	const char *held = ev == STORE_DELETED ? NULL : json_annotation(node, ANN_NODE_LOCK);
	if (!name)
		return;
	pthread_mutex_lock(&ks->lock_mu);
	struct node_seen *sn = hmap_get(&ks->seen, name);
	const char *rv = json_str(json_path(node, "metadata", NULL), "resourceVersion");
	if (ev == STORE_DELETED) {
		free(hmap_del(&ks->seen, name));
	} else {
		if (!sn) {
			sn = xcalloc(1, sizeof *sn + strlen(name) + 1);
			memcpy(sn->name, name, strlen(name) + 1);
			hmap_put(&ks->seen, sn->name, sn);
		}
		snprintf(sn->rv, sizeof sn->rv, "%s", rv ? rv : "");
		sn->locked = held != NULL;
	}
	struct node_lock *l = hmap_get(&ks->locked, name);
	if (!held) {
		free(hmap_del(&ks->locked, name));
	} else {
		if (!l) {
			l = calloc(1, sizeof *l + strlen(name) + 1);
			if (!l)
				abort();
			memcpy(l->name, name, strlen(name) + 1);
			hmap_put(&ks->locked, l->name, l);
		}
		l->since = clk_parse_rfc3339(held);
	}
	pthread_mutex_unlock(&ks->lock_mu);
}

/* Locks old enough to be stale, that no bind of ours is working under. */
static int stale_candidates(struct kstore *ks, char ***out)
{
	size_t it = 0, n = 0;
	void *v;
	int64_t now = clk_now_s(ks->clock);
	pthread_mutex_lock(&ks->lock_mu);
	*out = calloc(hmap_size(&ks->locked) + 1, sizeof(char *));
	if (!*out)
		abort();
	while (hmap_next(&ks->locked, &it, NULL, &v)) {
		const struct node_lock *l = v;
		if (now - l->since >= ks->stale_lock_s && !hmap_get(&ks->locking, l->name))
			(*out)[n++] = strdup(l->name);
	}
	pthread_mutex_unlock(&ks->lock_mu);
	return (int)n;
}

/* Removes a lock whose allocation is over (no pod on the node is still
 * allocating) or that expired: the device plugin's reply was lost, and the
 * node must not stay blocked until the next bind happens to look at it. */
static void sweep_locks(struct kstore *ks)
{
	char **names;
	int n = stale_candidates(ks, &names);
	for (int i = 0; i < n; i++) {
		struct store_err e = {0};
		char path[512];
		snprintf(path, sizeof path, "/api/v1/nodes/%s", names[i]);
		cJSON *node = get_json(ks, path, &e);
		const char *held = json_annotation(node, ANN_NODE_LOCK);
		int64_t since = held ? clk_parse_rfc3339(held) : -1;
		bool expired = since >= 0 && clk_now_s(ks->clock) - since >= VOLCANO_LOCK_TTL_S;
		if (held && (expired || !lock_is_live(ks, names[i]))) {
			struct kube_resp r;
			char *body = lock_patch(
			    json_str(json_path(node, "metadata", NULL), "resourceVersion"), NULL);
			if (call(ks, "PATCH", path, "application/merge-patch+json", body, &r, &e) ==
			    200)
				log_info("node %s: removed a stale %s lock from %s (%s)", names[i],
					 ANN_NODE_LOCK, held,
					 expired ? "expired" : "no pod is allocating");
			kube_resp_free(&r);
			free(body);
		}
		cJSON_Delete(node);
		free(names[i]);
	}
	free(names);
}

static void listed(void *ud);

/* A bind's calls run one per worker, each on a pooled connection. A new
 * daemon (restarted, or newly elected) meets kube-scheduler's backlog at
 * once: without open connections its first binds would each pay a TCP and
 * TLS handshake, on both our CPU and the API server's, while filters wait
 * for the same cores. So one connection per worker is opened before the
 * store calls itself synced, while the informers list. */
static void preconnect(struct kstore *ks)
{
	if (ks->preconnect > 0) {
		int64_t t0 = clk_mono_ms();
		int n = kube_preconnect(ks->kc, ks->preconnect, PRECONNECT_BUDGET_MS, &ks->stop);
		log_info("API server: %d of %d connections for binds opened in %lld ms", n,
			 ks->preconnect, (long long)(clk_mono_ms() - t0));
	}
	atomic_store(&ks->preconnected, 1);
	listed(ks);
}

static void *janitor(void *arg)
{
	struct kstore *ks = arg;
	bg_thread("vx-janitor");
	/* A bind holds the lock for milliseconds; one older than the grace is
	 * looked at, at most every 5 s. */
	long period = ks->stale_lock_s * 1000L / 2;
	if (period > JANITOR_MAX_PERIOD_MS)
		period = JANITOR_MAX_PERIOD_MS;
	if (period < JANITOR_MIN_PERIOD_MS)
		period = JANITOR_MIN_PERIOD_MS;
	preconnect(ks);
	while (!atomic_load(&ks->stop)) {
		kube_sleep(&ks->stop, period);
		if (!atomic_load(&ks->stop) && atomic_load(&ks->synced) &&
		    kstore_is_leader(&ks->base))
			sweep_locks(ks);
	}
	return NULL;
}

static void deliver(void *ud, bool is_pod, enum store_ev ev, const cJSON *obj)
{
	struct kstore *ks = ud;
	if (is_pod && ks->sink.pod)
		ks->sink.pod(ks->sink.ud, ev, obj);
	else if (!is_pod && ks->sink.node)
		ks->sink.node(ks->sink.ud, ev, obj);
	if (!is_pod)
		note_node(ks, ev, obj);
}

/* Ready once both resources have been listed in full and the bind
 * workers' connections are open. */
static void listed(void *ud)
{
	struct kstore *ks = ud;
	if (atomic_load(&ks->nodes.listed) && atomic_load(&ks->pods.listed) &&
	    atomic_load(&ks->preconnected) && !atomic_exchange(&ks->synced, 1) && ks->sink.synced)
		ks->sink.synced(ks->sink.ud);
}

static int ks_start(struct store *s, const struct store_sink *sink)
{
	struct kstore *ks = ks_of(s);
	ks->sink = *sink;
	if (informer_start(&ks->nodes) || informer_start(&ks->pods))
		return -1;
	ks->janitor_running = pthread_create(&ks->janitor, NULL, janitor, ks) == 0;
	return ks->janitor_running ? 0 : -1;
}

static void ks_stop(struct store *s)
{
	struct kstore *ks = ks_of(s);
	atomic_store(&ks->stop, 1);
	informer_join(&ks->nodes);
	informer_join(&ks->pods);
	if (ks->janitor_running)
		pthread_join(ks->janitor, NULL);
	ks->janitor_running = false;
	if (ks->leader_elect)
		lease_stop(&ks->lease);
	ks->leader_elect = false;
}

static void free_values(struct hmap *h)
{
	size_t it = 0;
	void *v;
	while (hmap_next(h, &it, NULL, &v))
		free(v);
	hmap_free(h);
}

static void ks_destroy(struct store *s)
{
	struct kstore *ks = ks_of(s);
	ks_stop(s);
	informer_free(&ks->nodes);
	informer_free(&ks->pods);
	kube_client_free(ks->kc);
	free_values(&ks->locking);
	free_values(&ks->locked);
	free_values(&ks->seen);
	pthread_mutex_destroy(&ks->lock_mu);
	free(ks->ns);
	free(ks);
}

static int ks_state_get(struct store *s, const char *name, struct store_doc *d, struct store_err *e)
{
	return kubestate_get(ks_of(s)->kc, ks_of(s)->ns, name, d, e);
}

static int ks_state_put(struct store *s, const char *name, const char *data, struct store_doc *d,
			struct store_err *e)
{
	return kubestate_put(ks_of(s)->kc, ks_of(s)->ns, name, data, d, e);
}

static const struct store_ops kstore_ops = {
    .start = ks_start,
    .stop = ks_stop,
    .destroy = ks_destroy,
    .get_pod = ks_get_pod,
    .refresh_pod = ks_refresh_pod,
    .bind = ks_bind,
    .create_pod = ks_create_pod,
    .delete_pod = ks_delete_pod,
    .patch_pod_annotations = ks_patch_ann,
    .patch_pod_labels = ks_patch_labels,
    .is_leader = kstore_is_leader,
    .evict_pod = ks_evict_pod,
    .pod_event = ks_pod_event,
    .state_get = ks_state_get,
    .state_put = ks_state_put,
};

struct kube_client *kstore_client(struct store *s)
{
	return ks_of(s)->kc;
}

bool kstore_is_leader(struct store *s)
{
	struct kstore *ks = ks_of(s);
	return !ks->leader_elect || atomic_load(&ks->lease.leader);
}

static void init_informer(struct kstore *ks, struct informer *in, const char *resource,
			  const char *path, bool is_pod)
{
	struct informer_cfg c = {.kc = ks->kc,
				 .stop = &ks->stop,
				 .page_size = ks->page_size,
				 .resource = resource,
				 .path = path,
				 .is_pod = is_pod,
				 .ud = ks,
				 .deliver = deliver,
				 .listed = listed};
	informer_init(in, &c);
}

static int start_lease(struct kstore *ks, const struct kstore_opts *o)
{
	struct lease_cfg c = {.kc = ks->kc,
			      .stop = &ks->stop,
			      .ns = o->lease_namespace ? o->lease_namespace : ks->ns,
			      .name = o->lease_name,
			      .identity = o->identity,
			      .seconds = o->lease_seconds};
	ks->leader_elect = true;
	return lease_start(&ks->lease, &c);
}

struct store *kstore_new(const struct kube_config *cfg, const struct kstore_opts *o,
			 struct vx_clock *clock, char *err, size_t errlen)
{
	struct kstore *ks = xcalloc(1, sizeof *ks);
	ks->kc = kube_client_new(cfg, err, errlen);
	if (!ks->kc) {
		free(ks);
		return NULL;
	}
	ks->base.ops = &kstore_ops;
	ks->base.kind = "kubernetes";
	ks->clock = clock;
	ks->page_size = o && o->page_size > 0 ? o->page_size : DEFAULT_PAGE_SIZE;
	ks->stale_lock_s =
	    o && o->stale_lock_seconds > 0 ? o->stale_lock_seconds : DEFAULT_STALE_LOCK_S;
	ks->preconnect = o ? o->preconnect : 0;
	ks->ns = xstrdup(cfg->namespace ? cfg->namespace : "default");
	pthread_mutex_init(&ks->lock_mu, NULL);
	hmap_init(&ks->locking);
	hmap_init(&ks->locked);
	hmap_init(&ks->seen);
	init_informer(ks, &ks->nodes, "nodes", "/api/v1/nodes", false);
	init_informer(ks, &ks->pods, "pods", "/api/v1/pods", true);
	if (o && o->leader_elect && start_lease(ks, o)) {
		snprintf(err, errlen, "cannot start leader election");
		ks_destroy(&ks->base);
		return NULL;
	}
	return &ks->base;
}
