/* kubestate: see kubestate.h. A ConfigMap rather than a custom resource:
 * every cluster has the kind, the chart's Role already grants it in the
 * release's namespace, and `kubectl get cm -o yaml` shows the figures. */
#include "kubestate.h"
#include "vx/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KUBESTATE_PREFIX "vgpu-extender-"

/* A save runs on the daemon's main thread, also at shutdown: an API server
 * that does not answer must not hold SIGTERM past the pod's grace period
 * (the next period, or the other replica, saves again). */
static const struct kube_call_opts kubestate_opts = {.max_attempts = 2, .timeout_ms = 3000};

static void doc_where(const char *ns, const char *name, struct store_doc *d)
{
	snprintf(d->where, sizeof d->where, "ConfigMap %s/" KUBESTATE_PREFIX "%s (key %s.json)", ns,
		 name, name);
}

/* The call's status, or -1 with e set when no answer came or it is an
 * error other than the ones the caller handles (404, 409). */
static long request(struct kube_client *kc, const char *method, const char *path, const char *body,
		    struct kube_resp *r, struct store_err *e)
{
	char err[256];
	if (kube_request(kc, method, path, body ? "application/json" : NULL, body,
			 body ? strlen(body) : 0, r, &kubestate_opts, err, sizeof err)) {
		store_err_set(e, 503, "%s %s: %s", method, path, err);
		return -1;
	}
	if (r->status >= 300) {
		kube_status_message(r, err, sizeof err);
		store_err_set(e, (int)r->status, "%s %s: %s", method, path, err);
		if (r->status != 404 && r->status != 409)
			return -1;
	}
	return r->status;
}

static void take_version(const cJSON *cm, struct store_doc *d)
{
	const char *rv = json_str(json_path(cm, "metadata", NULL), "resourceVersion");
	snprintf(d->version, sizeof d->version, "%s", rv ? rv : "");
}

int kubestate_get(struct kube_client *kc, const char *ns, const char *name, struct store_doc *d,
		  struct store_err *e)
{
	char path[512], key[128];
	struct kube_resp r;
	d->data = NULL;
	d->version[0] = 0;
	doc_where(ns, name, d);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps/" KUBESTATE_PREFIX "%s", ns,
		 name);
	long st = request(kc, "GET", path, NULL, &r, e);
	cJSON *cm = st == 200 ? cJSON_ParseWithLength(r.body.data, r.body.len) : NULL;
	kube_resp_free(&r);
	if (st == 404)
		return 0;
	if (!cm) {
		if (st == 200)
			store_err_set(e, 502, "GET %s: the answer is not JSON", path);
		return -1;
	}
	take_version(cm, d);
	snprintf(key, sizeof key, "%s.json", name);
	const char *text = json_str(json_path(cm, "data", NULL), key);
	/* A ConfigMap without the key is there but unreadable: "" fails to
	 * parse, so the caller reports it and overwrites it at its version. */
	d->data = strdup(text ? text : "");
	cJSON_Delete(cm);
	if (!d->data)
		abort();
	return 0;
}

static char *configmap(const char *ns, const char *name, const char *data, const char *rv)
{
	char cmname[160], key[128];
	snprintf(cmname, sizeof cmname, KUBESTATE_PREFIX "%s", name);
	snprintf(key, sizeof key, "%s.json", name);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", "ConfigMap");
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "name", cmname);
	cJSON_AddStringToObject(md, "namespace", ns);
	cJSON *labels = cJSON_AddObjectToObject(md, "labels");
	cJSON_AddStringToObject(labels, "app.kubernetes.io/managed-by", "vgpu-extender");
	if (*rv)
		cJSON_AddStringToObject(md, "resourceVersion", rv);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "data"), key, data);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

int kubestate_put(struct kube_client *kc, const char *ns, const char *name, const char *data,
		  struct store_doc *d, struct store_err *e)
{
	char path[512];
	struct kube_resp r;
	doc_where(ns, name, d);
	if (*d->version)
		snprintf(path, sizeof path,
			 "/api/v1/namespaces/%s/configmaps/" KUBESTATE_PREFIX "%s", ns, name);
	else
		snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps", ns);
	char *body = configmap(ns, name, data, d->version);
	long st = request(kc, *d->version ? "PUT" : "POST", path, body, &r, e);
	free(body);
	cJSON *cm = st == 200 || st == 201 ? cJSON_ParseWithLength(r.body.data, r.body.len) : NULL;
	kube_resp_free(&r);
	if (st == 404) /* deleted since we read it: create it again */
		store_err_set(e, 409, "%s was deleted meanwhile", d->where);
	if (st == 404 || st == 409 || st < 0)
		return -1;
	if (cm)
		take_version(cm, d);
	else
		d->version[0] = 0; /* unknown: the next write conflicts and reads it */
	cJSON_Delete(cm);
	return 0;
}
