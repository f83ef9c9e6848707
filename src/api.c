/* api: the HTTP routes; see api.h. Binds are the one deferred answer: the
 * binder answers them from its own threads, so a bind waiting for a node
 * lock never holds an HTTP thread that filter needs. */
#include "vx/api.h"
#include "vx/admin.h"
#include "vx/explain.h"
#include "vx/extender.h"
#include "vx/json.h"
#include "vx/log.h"
#include "vx/ops.h"
#include "vx/volcano.h"
#include "vx/webui.h"
#include "vx/yamljson.h"
#include "vx/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* /debug/clock/advance moves at most ten years at a time. */
#define CLOCK_ADVANCE_MAX_S (10LL * 365 * 86400)
#define CLOCK_ADVANCE_MAX_TEXT "315360000"

static void json_error(struct http_resp *r, int status, const char *msg)
{
	r->status = status;
	buf_reset(&r->body);
	ext_write_error(&r->body, msg);
}

static bool body_ok(const struct http_req *req, struct http_resp *resp)
{
	if (req->too_large) {
		json_error(resp, 400, "request body is larger than 16 MiB");
		return false;
	}
	return true;
}

/* Parses the pod's request; an invalid one fails every node with the reason. */
static int pod_request(const cJSON *pod, struct req_pod *r, char *why, size_t len)
{
	char err[256];
	if (req_parse_pod(pod, r, err, sizeof err) == 0)
		return 0;
	snprintf(why, len, "invalid vGPU request: %s", err);
	return -1;
}

static struct pipe_pod pipe_pod_of(const cJSON *pod, const struct req_pod *r)
{
	const cJSON *md = json_path(pod, "metadata", NULL);
	const char *ns = json_str(md, "namespace");
	return (struct pipe_pod){r,
				 ns ? ns : "default",
				 json_str(md, "name"),
				 json_str(md, "uid"),
				 json_label(pod, VX_LABEL_QUEUE),
				 json_annotation(pod, VX_ANN_BILLING)};
}

/* ExtenderArgs from the body, or a 400 already written to resp. */
static bool args_ok(const struct http_req *req, struct http_resp *resp, struct ext_args *a)
{
	char err[320];
	if (!body_ok(req, resp))
		return false;
	if (ext_parse_args(req->body, req->body_len, a, err, sizeof err) == 0)
		return true;
	json_error(resp, 400, err);
	ext_args_free(a);
	return false;
}

/* Until the first full list the model knows no node: answering would fail
 * every pod as unschedulable for the wrong reason. An Error makes
 * kube-scheduler retry the pod instead. */
static bool synced(struct vx_daemon *d, struct http_resp *resp)
{
	if (atomic_load(&d->ready))
		return true;
	ext_write_error(&resp->body, "the vGPU scheduler has not synced with the API server yet");
	return false;
}

/* When no candidate fits, the pod's one explanation goes to the model for
 * /debug/state and the jobs API, as the dev loop's does; only then, so the
 * filter that places a pod pays nothing for it. */
static void note_unplaced(struct vx_daemon *d, const struct pipe_pod *pod,
			  const struct pipe_filter_out *f)
{
	struct explain ex;
	char key[VX_POD_KEY_MAX];
	for (int i = 0; i < f->n; i++)
		if (f->verdict[i] == PIPE_PASS)
			return;
	if (!pod->req->is_vgpu || !f->n || !pod->name)
		return;
	explain_pod(d->pipe.cluster, pod->req, f, &ex);
	pipe_note_waiting(&d->pipe, pod_key(key, pod->ns, pod->name), ex.msg, ex.nodes, ex.never);
}

static void h_filter(struct vx_daemon *d, const struct http_req *req, struct http_resp *resp)
{
	struct ext_args a;
	struct req_pod r;
	struct pipe_filter_out f = {0};
	char err[320];
	if (!args_ok(req, resp, &a))
		return;
	int rc = pod_request(a.pod, &r, err, sizeof err);
	struct pipe_pod pod = pipe_pod_of(a.pod, &r);
	/* Pods without vGPUs pass whatever the model knows; the rest wait. */
	if (rc == 0 && r.is_vgpu && !synced(d, resp)) {
		req_free(&r);
		ext_args_free(&a);
		return;
	}
	if (rc == 0) {
		if (r.is_vgpu && d->store->ops->observe_pod)
			d->store->ops->observe_pod(d->store, a.pod);
		pipe_filter(&d->pipe, &pod, a.names, a.lens, a.n, &f);
		note_unplaced(d, &pod, &f);
		req_free(&r);
	} else {
		pipe_filter_reject_all(&f, a.n, err);
	}
	ext_write_filter(&resp->body, &a, &f);
	pipe_filter_out_free(&f);
	ext_args_free(&a);
}

static void h_prioritize(struct vx_daemon *d, const struct http_req *req, struct http_resp *resp)
{
	struct ext_args a;
	struct req_pod r;
	char err[320];
	if (!args_ok(req, resp, &a))
		return;
	int *scores = xcalloc((size_t)a.n, sizeof *scores);
	if (pod_request(a.pod, &r, err, sizeof err) == 0) {
		struct pipe_pod pod = pipe_pod_of(a.pod, &r);
		pipe_score(&d->pipe, &pod, a.names, a.lens, a.n, scores);
		req_free(&r);
	}
	ext_write_priorities(&resp->body, &a, scores);
	free(scores);
	ext_args_free(&a);
}

struct bind_call {
	struct vx_daemon *d;
	struct http_call *call;
	struct timespec t0;
};

static uint64_t us_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (uint64_t)((t1.tv_sec - t0->tv_sec) * 1000000 + (t1.tv_nsec - t0->tv_nsec) / 1000);
}

/* The binder's answer, on whichever thread gave it. */
static void bind_done(void *ud, int rc, const char *err)
{
	struct bind_call *bc = ud;
	struct buf body = BUF_INIT;
	if (rc)
		atomic_fetch_add(&bc->d->metrics.bind_errors, 1);
	ext_write_error(&body, rc ? err : "");
	metrics_observe(&bc->d->metrics, MV_BIND, 200, us_since(&bc->t0));
	http_finish(bc->call, 200, NULL, &body);
	free(bc);
}

static void h_bind(struct vx_daemon *d, const struct http_req *req, struct http_resp *resp)
{
	struct ext_bind b;
	char err[512];
	if (!body_ok(req, resp))
		return;
	if (ext_parse_bind(req->body, req->body_len, &b, err, sizeof err)) {
		json_error(resp, 400, err);
		ext_bind_free(&b);
		return;
	}
	if (!synced(d, resp)) {
		ext_bind_free(&b);
		return;
	}
	struct bind_call *bc = xcalloc(1, sizeof *bc);
	bc->d = d;
	clock_gettime(CLOCK_MONOTONIC, &bc->t0);
	bc->call = http_defer(req, resp);
	binder_submit(d->binder, b.ns, b.name, b.uid, b.node, bind_done, bc);
	ext_bind_free(&b);
}

static void h_preempt(struct vx_daemon *d, const struct http_req *req, struct http_resp *resp)
{
	struct ext_preempt p;
	struct req_pod r;
	char err[320];
	if (!body_ok(req, resp))
		return;
	if (ext_parse_preempt(req->body, req->body_len, &p, err, sizeof err)) {
		json_error(resp, 400, err);
		ext_preempt_free(&p);
		return;
	}
	if (pod_request(p.pod, &r, err, sizeof err) == 0) {
		pipe_preempt(&d->pipe, &r, p.v, p.n);
		req_free(&r);
	}
	ext_write_preempt(&resp->body, &p);
	ext_preempt_free(&p);
}

static void h_clock_advance(struct vx_daemon *d, const struct http_req *req, struct http_resp *resp)
{
	const char *s = http_query(req, "seconds");
	char *end = NULL, err[256];
	long long n = s ? strtoll(s, &end, 10) : -1;
	if (!s || *end || n < 0 || n > CLOCK_ADVANCE_MAX_S) {
		json_error(resp, 400,
			   "seconds must be a whole number from 0 to " CLOCK_ADVANCE_MAX_TEXT);
		return;
	}
	if (clk_advance(&d->clock, n, err, sizeof err)) {
		json_error(resp, 500, err);
		return;
	}
	if (d->store->ops->kick)
		d->store->ops->kick(d->store); /* runtimes may have ended */
	buf_printf(&resp->body, "{\"now\":%lld}", (long long)clk_now_s(&d->clock));
}

static int take_first(void *ud, const cJSON *doc, int line, char *err, size_t errlen)
{
	cJSON **out = ud;
	(void)line, (void)err, (void)errlen;
	if (!*out)
		*out = cJSON_Duplicate(doc, 1);
	return 0;
}

/* The pod's vgpu-extender.io/user (the jobs table's User): with access
 * control on, whoever the token says, whatever the manifest claims; off,
 * the manifest's (vgpuctl apply fills in the caller's login name). */
static void stamp_user(cJSON *pod, const char *user)
{
	if (!user || !*user || !strcmp(user, "anonymous") || !cJSON_IsObject(pod))
		return;
	cJSON *md = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
	if (!cJSON_IsObject(md))
		md = cJSON_AddObjectToObject(pod, "metadata");
	cJSON *ann = cJSON_GetObjectItemCaseSensitive(md, "annotations");
	if (!cJSON_IsObject(ann)) {
		cJSON_DeleteItemFromObjectCaseSensitive(md, "annotations");
		ann = cJSON_AddObjectToObject(md, "annotations");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(ann, VX_ANN_USER);
	cJSON_AddStringToObject(ann, VX_ANN_USER, user);
}

static void h_create_pod(struct vx_daemon *d, const struct http_req *req, const char *user,
			 struct http_resp *resp)
{
	struct store_err e = {0};
	char err[512];
	if (!body_ok(req, resp))
		return;
	cJSON *pod = cJSON_ParseWithLength(req->body, req->body_len);
	/* YAML is accepted too, so `curl --data-binary @pod.yaml` works. */
	if (!pod && yj_parse(req->body, req->body_len, "request body", take_first, &pod, err,
			     sizeof err) < 0) {
		json_error(resp, 400, err);
		return;
	}
	if (!pod) {
		json_error(resp, 400, "body must be a Pod manifest (JSON or YAML)");
		return;
	}
	stamp_user(pod, user);
	int rc = d->store->ops->create_pod(d->store, pod, &e);
	cJSON_Delete(pod);
	if (rc) {
		json_error(resp, e.code >= 400 && e.code < 600 ? e.code : 400, e.msg);
		return;
	}
	resp->status = 201;
	buf_puts(&resp->body, "{\"status\":\"Success\"}");
}

static void h_get_pod(struct vx_daemon *d, const char *ns, const char *name, struct http_resp *resp)
{
	struct store_err e = {0};
	cJSON *pod = d->store->ops->get_pod(d->store, ns, name, &e);
	if (!pod) {
		json_error(resp, e.code ? e.code : 404, e.msg);
		return;
	}
	char *j = cJSON_PrintUnformatted(pod);
	buf_puts(&resp->body, j ? j : "{}");
	free(j);
	cJSON_Delete(pod);
}

/* A metadata merge patch's value: an object of strings (set) and nulls
 * (remove), or absent. */
static bool string_map(const cJSON *m)
{
	const cJSON *it;
	if (!m)
		return true;
	if (!cJSON_IsObject(m))
		return false;
	cJSON_ArrayForEach (it, m) {
		if (!cJSON_IsString(it) && !cJSON_IsNull(it))
			return false;
	}
	return true;
}

/* Dev mode: PATCH /api/v1/pods/{ns}/{name} with {"metadata":{"labels":{..},
 * "annotations":{..}}}, a merge patch of what a running pod may change
 * (vgpuctl apply of a pod that exists). Answers the patched pod. */
static void h_patch_pod(struct vx_daemon *d, const struct http_req *req, const char *ns,
			const char *name, struct http_resp *resp)
{
	struct store_err e = {0};
	const cJSON *it;
	if (!body_ok(req, resp))
		return;
	cJSON *patch = cJSON_ParseWithLength(req->body, req->body_len);
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(patch, "metadata");
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(md, "labels");
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(md, "annotations");
	bool ok = cJSON_IsObject(patch) && string_map(labels) && string_map(ann);
	cJSON_ArrayForEach (it, patch) {
		ok &= !strcmp(it->string, "metadata");
	}
	cJSON_ArrayForEach (it, md) {
		ok &= !strcmp(it->string, "labels") || !strcmp(it->string, "annotations");
	}
	if (!ok) {
		cJSON_Delete(patch);
		json_error(resp, 422,
			   "a pod patch may set only metadata.labels and metadata.annotations "
			   "(objects of strings, null removes a key)");
		return;
	}
	int rc = (labels && d->store->ops->patch_pod_labels(d->store, ns, name, labels, &e)) ||
		 (ann && d->store->ops->patch_pod_annotations(d->store, ns, name, ann, &e));
	cJSON_Delete(patch);
	if (rc)
		json_error(resp, e.code ? e.code : 500, e.msg);
	else
		h_get_pod(d, ns, name, resp);
}

static void h_delete_job(struct vx_daemon *d, const char *ns, const char *name, const char *user,
			 struct http_resp *resp)
{
	struct store_err e = {0};
	if (d->store->ops->delete_pod(d->store, ns, name, &e)) {
		json_error(resp, e.code ? e.code : 500, e.msg);
		return;
	}
	admin_record_delete(d, ns, name, user);
	buf_puts(&resp->body, "{\"status\":\"Success\"}");
}

/* Splits "a/b" after prefix into two path segments. */
static bool two_segments(const char *path, const char *prefix, char *a, char *b, size_t len)
{
	size_t pl = strlen(prefix);
	if (strncmp(path, prefix, pl) != 0)
		return false;
	const char *s = path + pl, *slash = strchr(s, '/');
	if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/') ||
	    (size_t)(slash - s) >= len || strlen(slash + 1) >= len)
		return false;
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = '\0';
	snprintf(b, len, "%s", slash + 1);
	return true;
}

static enum mverb verb_of(const char *path)
{
	if (!strcmp(path, "/filter"))
		return MV_FILTER;
	if (!strcmp(path, "/prioritize"))
		return MV_PRIORITIZE;
	if (!strcmp(path, "/bind"))
		return MV_BIND;
	if (!strcmp(path, "/preempt"))
		return MV_PREEMPT;
	return MV_OTHER;
}

static void route_post(struct vx_daemon *d, const struct http_req *req, const char *user,
		       struct http_resp *resp)
{
	const char *p = req->path;
	bool dev = d->cfg.dev;
	if (!strcmp(p, "/filter"))
		h_filter(d, req, resp);
	else if (!strcmp(p, "/prioritize"))
		h_prioritize(d, req, resp);
	else if (!strcmp(p, "/bind"))
		h_bind(d, req, resp);
	else if (!strcmp(p, "/preempt"))
		h_preempt(d, req, resp);
	else if (!strcmp(p, "/debug/discard"))
		buf_puts(&resp->body, "{}"); /* the benchmark's floor: body read, nothing done */
	else if (dev && !strcmp(p, "/debug/clock/advance"))
		h_clock_advance(d, req, resp);
	else if (dev && !strcmp(p, "/api/v1/pods"))
		h_create_pod(d, req, user, resp);
	else
		json_error(resp, 404, "no such POST route");
}

static void route_get(struct vx_daemon *d, const struct http_req *req, struct http_resp *resp)
{
	const char *p = req->path;
	char ns[256], name[256];
	if (!strcmp(p, "/")) {
		webui_serve(resp);
	} else if (!strcmp(p, "/healthz")) {
		buf_puts(&resp->body, "{\"status\":\"ok\"}");
	} else if (!strcmp(p, "/readyz")) {
		bool ready = atomic_load(&d->ready);
		resp->status = ready ? 200 : 503;
		buf_puts(&resp->body,
			 ready ? "{\"status\":\"ready\"}" : "{\"status\":\"syncing\"}");
	} else if (!strcmp(p, "/metrics")) {
		resp->ctype = "text/plain; version=0.0.4";
		ops_metrics(d, &resp->body);
	} else if (!strcmp(p, "/debug/state")) {
		ops_debug_state(d, &resp->body);
	} else if (!strcmp(p, "/api/v1/jobs")) {
		if (ops_jobs(d, http_query(req, "namespace"), http_query(req, "queue"),
			     http_query(req, "license"), &resp->body))
			json_error(resp, 404, "no such licence");
	} else if (!strncmp(p, "/api/v1/licenses/", 17) && p[17] && !strchr(p + 17, '/')) {
		if (ops_license(d, p + 17, &resp->body))
			json_error(resp, 404, "no such licence");
	} else if (two_segments(p, "/api/v1/pods/", ns, name, sizeof ns)) {
		h_get_pod(d, ns, name, resp);
	} else {
		json_error(resp, 404, "no such GET route");
	}
}

/* The pod a job action names, as the model knows it: 404 when unknown, 409
 * when it has finished (SPEC section 9). */
static bool job_actionable(struct vx_daemon *d, const char *ns, const char *name,
			   struct http_resp *resp)
{
	char key[VX_POD_KEY_MAX];
	cluster_rdlock(&d->cluster);
	const struct cl_pod *p = cluster_pod(&d->cluster, pod_key(key, ns, name));
	int st = p ? (int)p->status : -1;
	cluster_unlock(&d->cluster);
	if (st < 0)
		json_error(resp, 404, "no such job");
	else if (st == POD_COMPLETED || st == POD_FAILED)
		json_error(resp, 409, "the job has finished");
	return st == POD_SUBMITTED || st == POD_RUNNING;
}

/* Writes annotations on the job's pod through the store (an API server
 * patch in cluster mode, so every replica sees it through its watch). */
static void job_annotate(struct vx_daemon *d, const char *ns, const char *name, const char *user,
			 const char *key, const char *val, const char *action,
			 struct http_resp *resp)
{
	struct store_err e = {0};
	cJSON *ann = cJSON_CreateObject();
	cJSON_AddStringToObject(ann, key, val);
	int rc = d->store->ops->patch_pod_annotations(d->store, ns, name, ann, &e);
	cJSON_Delete(ann);
	if (rc == 0)
		admin_record(d, ns, name, user, action, &e);
	if (rc)
		json_error(resp, e.code ? e.code : 500, e.msg);
	else
		buf_puts(&resp->body, "{\"status\":\"Success\"}");
}

/* PATCH /api/v1/jobs/{ns}/{name} {"priority":N}, N in 1..10. */
static void h_job_priority(struct vx_daemon *d, const struct http_req *req, const char *ns,
			   const char *name, const char *user, struct http_resp *resp)
{
	char val[16], action[48];
	cJSON *b = body_ok(req, resp) ? cJSON_ParseWithLength(req->body, req->body_len) : NULL;
	const cJSON *pr = cJSON_GetObjectItemCaseSensitive(b, "priority");
	bool ok = cJSON_IsNumber(pr) && pr->valuedouble == (double)pr->valueint &&
		  pr->valueint >= VX_PRIORITY_MIN && pr->valueint <= VX_PRIORITY_MAX;
	int prio = ok ? pr->valueint : 0;
	cJSON_Delete(b);
	if (!ok) {
		if (!req->too_large)
			json_error(resp, 400,
				   "want {\"priority\": N} with N a whole number from 1 to 10");
		return;
	}
	if (!job_actionable(d, ns, name, resp))
		return;
	snprintf(val, sizeof val, "%d", prio);
	snprintf(action, sizeof action, "priority %d", prio);
	job_annotate(d, ns, name, user, VX_ANN_PRIORITY, val, action, resp);
}

/* POST /api/v1/jobs/{ns}/{name}/use-credits: out of the licence at once. */
static bool h_job_credits(struct vx_daemon *d, const struct http_req *req, const char *user,
			  struct http_resp *resp)
{
	char ns[256], name[256], path[600];
	size_t n = strlen(req->path), sl = strlen("/use-credits");
	if (strcmp(req->method, "POST") != 0 || n <= sl ||
	    strcmp(req->path + n - sl, "/use-credits") != 0)
		return false;
	snprintf(path, sizeof path, "%.*s", (int)(n - sl), req->path);
	if (!two_segments(path, "/api/v1/jobs/", ns, name, sizeof ns))
		return false;
	if (job_actionable(d, ns, name, resp))
		job_annotate(d, ns, name, user, VX_ANN_BILLING, LICENSE_BILLING_CREDITS,
			     "use-credits", resp);
	return true;
}

void api_handle(void *ud, const struct http_req *req, struct http_resp *resp)
{
	struct vx_daemon *d = ud;
	struct timespec t0, t1;
	char ns[256], name[256];
	struct auth_answer who;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A refusal leaves resp holding the 401, 403 or 503. */
	if (!admin_gate(d, req, resp, &who) || h_job_credits(d, req, who.user, resp))
		; /* answered */
	else if (!strcmp(req->method, "PATCH") &&
		 two_segments(req->path, "/api/v1/jobs/", ns, name, sizeof ns))
		h_job_priority(d, req, ns, name, who.user, resp);
	else if (!strcmp(req->method, "POST"))
		route_post(d, req, who.user, resp);
	else if (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"))
		route_get(d, req, resp);
	else if (!strcmp(req->method, "DELETE") &&
		 two_segments(req->path, "/api/v1/jobs/", ns, name, sizeof ns))
		h_delete_job(d, ns, name, who.user, resp);
	else if (d->cfg.dev && !strcmp(req->method, "PATCH") &&
		 two_segments(req->path, "/api/v1/pods/", ns, name, sizeof ns))
		h_patch_pod(d, req, ns, name, resp);
	else
		json_error(resp, 405, "method not allowed");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	uint64_t us =
	    (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
	if (resp->deferred)
		return; /* counted and logged when answered */
	enum mverb v = verb_of(req->path);
	metrics_observe(&d->metrics, v, resp->status, us);
	if (resp->status >= 400 && resp->ctype == NULL)
		log_info("%s %s -> %d %s", req->method, req->path, resp->status,
			 resp->body.data ? resp->body.data : "");
	else if (resp->status >= 400)
		log_info("%s %s -> %d", req->method, req->path, resp->status);
	else
		log_debug("%s %s -> %d in %llu us", req->method, req->path, resp->status,
			  (unsigned long long)us);
}
