/* admin: see admin.h. The rule is by path, before routing: whatever is not
 * one of the open routes needs a token, so a route added later is closed
 * until someone opens it on purpose. */
#include "vx/admin.h"
#include "vx/extender.h"
#include "vx/kube.h"
#include "vx/kubestore.h"
#include "vx/log.h"
#include "vx/webui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a route needs: a verb on pods, in ns (empty: all), of name (empty: any). */
struct need {
	enum auth_verb verb;
	char ns[256], name[256];
};

/* kube-scheduler and Prometheus call these; they carry no tokens. */
static bool is_open(const char *path)
{
	static const char *const open_routes[] = {"/filter",  "/prioritize",   "/bind",
						  "/preempt", "/healthz",      "/readyz",
						  "/metrics", "/debug/discard"};
	for (size_t i = 0; i < sizeof open_routes / sizeof open_routes[0]; i++)
		if (!strcmp(path, open_routes[i]))
			return true;
	return false;
}

/* "/api/v1/jobs/NS/NAME[/tail]": the two segments, and tail ("" if none). */
static bool job_path(const char *path, struct need *n, const char **tail)
{
	static const char prefix[] = "/api/v1/jobs/";
	if (strncmp(path, prefix, sizeof prefix - 1) != 0)
		return false;
	const char *s = path + sizeof prefix - 1, *slash = strchr(s, '/');
	if (!slash || slash == s || (size_t)(slash - s) >= sizeof n->ns)
		return false;
	memcpy(n->ns, s, (size_t)(slash - s));
	n->ns[slash - s] = '\0';
	size_t len = strcspn(slash + 1, "/");
	if (!len || len >= sizeof n->name)
		return false;
	memcpy(n->name, slash + 1, len);
	n->name[len] = '\0';
	*tail = slash + 1 + len;
	return true;
}

static void need_of(const struct http_req *req, struct need *n)
{
	const char *m = req->method, *p = req->path, *tail = "";
	memset(n, 0, sizeof *n);
	n->verb = AUTH_LIST;
	if (job_path(p, n, &tail)) {
		n->verb = !strcmp(m, "DELETE") ? AUTH_DELETE : AUTH_UPDATE;
		if (!strcmp(m, "GET") || !strcmp(m, "HEAD"))
			n->verb = AUTH_GET;
		return;
	}
	memset(n->ns, 0, sizeof n->ns);
	const char *q = http_query(req, "namespace");
	if (!strcmp(p, "/api/v1/jobs") && q && strlen(q) < sizeof n->ns)
		snprintf(n->ns, sizeof n->ns, "%s", q);
	else if (!strncmp(p, "/api/v1/pods/", 13) && strcmp(m, "POST") != 0 &&
		 sscanf(p + 13, "%255[^/]/%255[^/]", n->ns, n->name) == 2)
		n->verb = AUTH_GET;
	else if (!strcmp(m, "POST") && !strcmp(p, "/api/v1/pods"))
		n->verb = AUTH_CREATE;
	else if (!strcmp(m, "POST")) /* /debug/clock/advance and the like */
		n->verb = AUTH_UPDATE;
	if (n->verb != AUTH_GET)
		n->name[0] = '\0';
}

bool admin_gate(struct vx_daemon *d, const struct http_req *req, struct http_resp *resp,
		struct auth_answer *who)
{
	struct need n;
	if (is_open(req->path)) {
		memset(who, 0, sizeof *who);
		who->status = 200;
		return true;
	}
	need_of(req, &n);
	auth_check(d->auth, http_header(req, "Authorization"), n.verb, n.ns[0] ? n.ns : NULL,
		   n.name[0] ? n.name : NULL, who);
	if (who->status == 200)
		return true;
	resp->status = who->status;
	resp->challenge = who->status == 401;
	buf_reset(&resp->body);
	/* A browser opening the page has no token yet: it gets the page, which
	 * asks for one; the page holds no data, that all comes from the API. */
	if (who->status == 401 && !strcmp(req->path, "/"))
		webui_serve(resp);
	else
		ext_write_error(&resp->body, who->msg);
	return false;
}

/* Through the store's Event op: cluster mode records it, dev mode keeps no
 * Events (the log has the line). */
static void post_event(struct vx_daemon *d, const char *ns, const char *name, const char *reason,
		       const char *msg)
{
	if (d->store->ops->pod_event)
		d->store->ops->pod_event(d->store, ns, name, NULL, reason, msg);
}

int admin_record(struct vx_daemon *d, const char *ns, const char *name, const char *user,
		 const char *action, struct store_err *e)
{
	char msg[512], ts[32];
	clk_format_rfc3339(clk_now_s(&d->clock), ts, sizeof ts);
	cJSON *ann = cJSON_CreateObject();
	cJSON_AddStringToObject(ann, ADMIN_ANN_BY, user);
	snprintf(msg, sizeof msg, "%s at %s", action, ts);
	cJSON_AddStringToObject(ann, ADMIN_ANN_ACTION, msg);
	int rc = d->store->ops->patch_pod_annotations(d->store, ns, name, ann, e);
	cJSON_Delete(ann);
	if (rc)
		return -1;
	snprintf(msg, sizeof msg, "%s by %s through the vgpu-extender admin API", action, user);
	log_info("admin: pod %s/%s: %s", ns, name, msg);
	post_event(d, ns, name, "AdminAction", msg);
	return 0;
}

void admin_record_delete(struct vx_daemon *d, const char *ns, const char *name, const char *user)
{
	char msg[320];
	snprintf(msg, sizeof msg, "deleted by %s through the vgpu-extender admin API", user);
	log_info("admin: pod %s/%s: %s", ns, name, msg);
	post_event(d, ns, name, "AdminDelete", msg);
}
