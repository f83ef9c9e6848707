/* rest.c: the REST side: routing of /api/v1 and /apis/GROUP/v1 paths
 * (leases in coordination.k8s.io, poddisruptionbudgets in policy) to kinds,
 * with the route template counted in /fake/stats, and the handlers:
 * LIST/WATCH/POST on collections, GET/PUT/PATCH/DELETE on objects, the
 * status subresource, pods/binding and pods/eviction (budgets: pdb.c). */
#include "fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int seg_ok(const char *s, size_t n)
{
	return n > 0 && n < 254 && memchr(s, '\0', n) == NULL;
}

/* Returns 1 and fills rt for a resource path, 0 otherwise. */
int fk_route(const char *url, struct fk_route *rt)
{
	memset(rt, 0, sizeof *rt);
	const char *segs[12];
	size_t lens[12];
	int n = 0;
	const char *p = url;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (n == 12 || !seg_ok(p, l))
			return 0;
		segs[n] = p;
		lens[n++] = l;
		p += l;
	}
#define SEG(i, s) (lens[i] == strlen(s) && memcmp(segs[i], s, lens[i]) == 0)
	int i;
	char group[64] = "";
	if (n >= 2 && SEG(0, "api") && SEG(1, "v1")) {
		i = 2;
		snprintf(rt->tmpl, sizeof rt->tmpl, "/api/v1");
	} else if (n >= 3 && SEG(0, "apis") && SEG(2, "v1") && lens[1] < sizeof group) {
		/* any group: a group without kinds finds no kind below */
		i = 3;
		snprintf(group, sizeof group, "%.*s", (int)lens[1], segs[1]);
		snprintf(rt->tmpl, sizeof rt->tmpl, "/apis/%s/v1", group);
	} else {
		return 0;
	}
	if (n - i >= 3 && SEG(i, "namespaces")) {
		snprintf(rt->ns, sizeof rt->ns, "%.*s", (int)lens[i + 1], segs[i + 1]);
		rt->has_ns = 1;
		i += 2;
	}
	if (i >= n)
		return 0;
	char res[64];
	snprintf(res, sizeof res, "%.*s", (int)(lens[i] < 63 ? lens[i] : 63), segs[i]);
	rt->k = fk_kind_by_resource(group, res);
	if (!rt->k || (rt->has_ns && !rt->k->namespaced))
		return 0;
	i++;
	if (i < n) {
		if (!rt->has_ns && rt->k->namespaced)
			return 0; /* a namespaced object needs its namespace */
		snprintf(rt->name, sizeof rt->name, "%.*s", (int)lens[i], segs[i]);
		rt->has_name = 1;
		i++;
	}
	if (i < n) {
		snprintf(rt->sub, sizeof rt->sub, "%.*s", (int)(lens[i] < 31 ? lens[i] : 31),
			 segs[i]);
		i++;
		int ok = (strcmp(rt->sub, "status") == 0 && rt->k->has_status) ||
			 (rt->k == &fk_srv.kinds[FK_POD] &&
			  (strcmp(rt->sub, "binding") == 0 || strcmp(rt->sub, "eviction") == 0));
		if (!ok)
			return 0;
	}
	if (i < n)
		return 0;
	size_t tl = strlen(rt->tmpl);
	snprintf(rt->tmpl + tl, sizeof rt->tmpl - tl, "%s/%s%s%s%s",
		 rt->has_ns ? "/namespaces/{namespace}" : "", rt->k->resource,
		 rt->has_name ? "/{name}" : "", rt->sub[0] ? "/" : "", rt->sub);
	return 1;
#undef SEG
}

/* ---- handlers ---- */

struct put_ctx {
	const cJSON *body;
	const struct fk_route *rt;
};

static int put_fn(struct fk_kind *k, cJSON **obj, void *ctx, struct fk_err *err)
{
	const struct put_ctx *pc = ctx;
	if (!cJSON_IsObject(pc->body)) {
		fk_err_set(err, 400, "BadRequest", "the body of the request is not a JSON object");
		return -1;
	}
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(pc->body, "metadata");
	const cJSON *nm = cJSON_GetObjectItemCaseSensitive(md, "name");
	const char *name = cJSON_IsString(nm) ? nm->valuestring : "";
	if (strcmp(name, pc->rt->name) != 0) {
		fk_err_set(
		    err, 400, "BadRequest",
		    "the name of the object (%.200s) does not match the name on the URL (%.200s)",
		    name, pc->rt->name);
		return -1;
	}
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(md, "namespace");
	if (k->namespaced && cJSON_IsString(ns) && *ns->valuestring &&
	    strcmp(ns->valuestring, pc->rt->ns) != 0) {
		fk_err_set(err, 400, "BadRequest",
			   "the namespace of the provided object does not match the namespace sent "
			   "on the request");
		return -1;
	}
	const cJSON *kd = cJSON_GetObjectItemCaseSensitive(pc->body, "kind");
	if (cJSON_IsString(kd) && strcmp(kd->valuestring, k->kind) != 0) {
		fk_err_set(err, 400, "BadRequest",
			   "the kind in the data (%.100s) does not match the expected kind (%s)",
			   kd->valuestring, k->kind);
		return -1;
	}
	cJSON_Delete(*obj);
	*obj = cJSON_Duplicate(pc->body, 1);
	return 0;
}

enum { PATCH_MERGE, PATCH_JSON };

struct patch_ctx {
	const cJSON *patch;
	int type;
};

static int patch_fn(struct fk_kind *k, cJSON **obj, void *ctx, struct fk_err *err)
{
	(void)k;
	const struct patch_ctx *pc = ctx;
	if (pc->type == PATCH_MERGE) {
		*obj = fk_merge_patch(*obj, pc->patch);
		return 0;
	}
	char msg[512];
	if (fk_json_patch(obj, pc->patch, msg, sizeof msg) != 0) {
		fk_err_set(err, 422, "Invalid", "%s", msg);
		return -1;
	}
	return 0;
}

struct bind_ctx {
	const char *name;
	const char *uid;
	const char *node;
	const cJSON *annotations, *labels;
};

static void merge_strings(cJSON *md, const char *field, const cJSON *src)
{
	if (!cJSON_IsObject(src))
		return;
	cJSON *dst = cJSON_GetObjectItemCaseSensitive(md, field);
	if (!cJSON_IsObject(dst)) {
		cJSON_DeleteItemFromObjectCaseSensitive(md, field);
		dst = cJSON_AddObjectToObject(md, field);
	}
	const cJSON *it;
	cJSON_ArrayForEach (it, src) {
		if (!it->string || !cJSON_IsString(it))
			continue;
		cJSON *v = cJSON_CreateString(it->valuestring);
		if (cJSON_GetObjectItemCaseSensitive(dst, it->string))
			cJSON_ReplaceItemInObjectCaseSensitive(dst, it->string, v);
		else
			cJSON_AddItemToObject(dst, it->string, v);
	}
}

static int bind_fn(struct fk_kind *k, cJSON **obj, void *ctx, struct fk_err *err)
{
	const struct bind_ctx *bc = ctx;
	cJSON *md = cJSON_GetObjectItemCaseSensitive(*obj, "metadata");
	const cJSON *uid = cJSON_GetObjectItemCaseSensitive(md, "uid");
	const char *cur_uid = cJSON_IsString(uid) ? uid->valuestring : "";
	if (bc->uid && *bc->uid && strcmp(bc->uid, cur_uid) != 0) {
		fk_err_set(
		    err, 409, "Conflict",
		    "Operation cannot be fulfilled on pods/binding \"%s\": Precondition failed: "
		    "UID in precondition: %s, UID in object meta: %s",
		    bc->name, bc->uid, cur_uid);
		fk_err_details(err, k, "pods/binding", bc->name);
		return -1;
	}
	if (cJSON_GetObjectItemCaseSensitive(md, "deletionTimestamp")) {
		fk_err_set(err, 409, "Conflict",
			   "Operation cannot be fulfilled on pods/binding \"%s\": pod %s is being "
			   "deleted, cannot be assigned to a host",
			   bc->name, bc->name);
		fk_err_details(err, k, "pods/binding", bc->name);
		return -1;
	}
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(*obj, "spec");
	if (!cJSON_IsObject(spec)) {
		cJSON_DeleteItemFromObjectCaseSensitive(*obj, "spec");
		spec = cJSON_AddObjectToObject(*obj, "spec");
	}
	const cJSON *nn = cJSON_GetObjectItemCaseSensitive(spec, "nodeName");
	if (cJSON_IsString(nn) && *nn->valuestring) {
		fk_err_set(
		    err, 409, "Conflict",
		    "Operation cannot be fulfilled on pods/binding \"%s\": pod %s is already "
		    "assigned to node \"%s\"",
		    bc->name, bc->name, nn->valuestring);
		fk_err_details(err, k, "pods/binding", bc->name);
		return -1;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "nodeName");
	cJSON_AddStringToObject(spec, "nodeName", bc->node);
	merge_strings(md, "annotations", bc->annotations);
	merge_strings(md, "labels", bc->labels);
	/* the real server also records the PodScheduled condition */
	cJSON *st = cJSON_GetObjectItemCaseSensitive(*obj, "status");
	if (!cJSON_IsObject(st)) {
		cJSON_DeleteItemFromObjectCaseSensitive(*obj, "status");
		st = cJSON_AddObjectToObject(*obj, "status");
	}
	cJSON *conds = cJSON_GetObjectItemCaseSensitive(st, "conditions");
	if (!cJSON_IsArray(conds)) {
		cJSON_DeleteItemFromObjectCaseSensitive(st, "conditions");
		conds = cJSON_AddArrayToObject(st, "conditions");
	}
	char ts[32];
	fk_now_rfc3339(ts);
	cJSON *cond = cJSON_CreateObject();
	cJSON_AddStringToObject(cond, "type", "PodScheduled");
	cJSON_AddStringToObject(cond, "status", "True");
	cJSON_AddNullToObject(cond, "lastProbeTime");
	cJSON_AddStringToObject(cond, "lastTransitionTime", ts);
	int idx = 0, found = -1;
	const cJSON *c;
	cJSON_ArrayForEach (c, conds) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "type");
		if (cJSON_IsString(t) && strcmp(t->valuestring, "PodScheduled") == 0)
			found = idx;
		idx++;
	}
	if (found >= 0)
		cJSON_ReplaceItemInArray(conds, found, cond);
	else
		cJSON_AddItemToArray(conds, cond);
	return 0;
}

static const char *jstr(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static enum MHD_Result do_binding(struct MHD_Connection *c, struct fk_req *r,
				  const struct fk_route *rt)
{
	struct fk_err e;
	cJSON *b = fk_parse_body(r, &e);
	if (!b)
		return fk_send_err(c, r, &e);
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(b, "metadata");
	const cJSON *target = cJSON_GetObjectItemCaseSensitive(b, "target");
	const char *bname = jstr(md, "name");
	const char *tkind = jstr(target, "kind");
	const char *tname = jstr(target, "name");
	enum MHD_Result ret;
	if (!bname || strcmp(bname, rt->name) != 0) {
		fk_err_set(&e, 400, "BadRequest",
			   "name in URL does not match name in Binding object");
		ret = fk_send_err(c, r, &e);
	} else if (!tname || !*tname) {
		fk_err_set(&e, 422, "Invalid",
			   "Binding \"%s\" is invalid: target.name: Required value", rt->name);
		ret = fk_send_err(c, r, &e);
	} else if (tkind && *tkind && strcmp(tkind, "Node") != 0) {
		fk_err_set(&e, 400, "BadRequest",
			   "the target of a Binding must be a Node, not \"%.100s\"", tkind);
		ret = fk_send_err(c, r, &e);
	} else {
		struct bind_ctx bc = {rt->name, jstr(md, "uid"), tname,
				      cJSON_GetObjectItemCaseSensitive(md, "annotations"),
				      cJSON_GetObjectItemCaseSensitive(md, "labels")};
		struct fk_ver *v =
		    fk_store_mutate(rt->k, rt->ns, rt->name, FK_W_INTERNAL, bind_fn, &bc, &e);
		if (v) {
			fk_ver_unref(v);
			fk_stats_bind();
			ret = fk_send_success(c, r, 201);
		} else {
			ret = fk_send_err(c, r, &e);
		}
	}
	cJSON_Delete(b);
	return ret;
}

static void preconditions(const cJSON *opts, const char **uid, const char **rv)
{
	const cJSON *pre = cJSON_GetObjectItemCaseSensitive(opts, "preconditions");
	*uid = jstr(pre, "uid");
	*rv = jstr(pre, "resourceVersion");
}

static enum MHD_Result do_delete(struct MHD_Connection *c, struct fk_req *r,
				 const struct fk_route *rt, int eviction)
{
	struct fk_err e;
	cJSON *b = NULL;
	if (r->body.len) {
		b = fk_parse_body(r, &e);
		if (!b)
			return fk_send_err(c, r, &e);
		if (!cJSON_IsObject(b)) {
			cJSON_Delete(b);
			return fk_send_simple(c, r, 400, "the request body is not a JSON object");
		}
	}
	const char *uid = NULL, *rv = NULL;
	if (eviction) {
		const char *en = jstr(cJSON_GetObjectItemCaseSensitive(b, "metadata"), "name");
		if (en && strcmp(en, rt->name) != 0) {
			cJSON_Delete(b);
			return fk_send_simple(c, r, 400,
					      "name in URL does not match name in Eviction object");
		}
		preconditions(cJSON_GetObjectItemCaseSensitive(b, "deleteOptions"), &uid, &rv);
	} else {
		preconditions(b, &uid, &rv);
	}
	struct fk_ver *v =
	    fk_store_delete(rt->k, rt->ns, rt->name, uid, rv, eviction ? fk_pdb_allows : NULL, &e);
	cJSON_Delete(b);
	if (!v)
		return fk_send_err(c, r, &e);
	if (eviction) {
		fk_ver_unref(v);
		return fk_send_success(c, r, 201);
	}
	return fk_send_ver(c, r, 200, v);
}

static enum MHD_Result do_patch(struct MHD_Connection *c, struct fk_req *r,
				const struct fk_route *rt, enum fk_wmode mode)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	char t[128] = "";
	if (ct) {
		size_t n = strcspn(ct, "; ");
		snprintf(t, sizeof t, "%.*s", (int)(n < 127 ? n : 127), ct);
	}
	struct patch_ctx pc = {NULL, PATCH_MERGE};
	if (strcasecmp(t, "application/merge-patch+json") == 0 ||
	    strcasecmp(t, "application/strategic-merge-patch+json") == 0) {
		pc.type = PATCH_MERGE;
	} else if (strcasecmp(t, "application/json-patch+json") == 0) {
		pc.type = PATCH_JSON;
	} else {
		struct fk_err e;
		fk_err_set(
		    &e, 415, "UnsupportedMediaType",
		    "the body of the request was in an unknown format - accepted media types "
		    "include: application/json-patch+json, application/merge-patch+json, "
		    "application/strategic-merge-patch+json");
		return fk_send_err(c, r, &e);
	}
	struct fk_err e;
	cJSON *p = fk_parse_body(r, &e);
	if (!p)
		return fk_send_err(c, r, &e);
	pc.patch = p;
	struct fk_ver *v = fk_store_mutate(rt->k, rt->ns, rt->name, mode, patch_fn, &pc, &e);
	cJSON_Delete(p);
	return v ? fk_send_ver(c, r, 200, v) : fk_send_err(c, r, &e);
}

static enum MHD_Result do_put(struct MHD_Connection *c, struct fk_req *r, const struct fk_route *rt,
			      enum fk_wmode mode)
{
	struct fk_err e;
	cJSON *b = fk_parse_body(r, &e);
	if (!b)
		return fk_send_err(c, r, &e);
	struct put_ctx pc = {b, rt};
	struct fk_ver *v = fk_store_mutate(rt->k, rt->ns, rt->name, mode, put_fn, &pc, &e);
	cJSON_Delete(b);
	return v ? fk_send_ver(c, r, 200, v) : fk_send_err(c, r, &e);
}

static enum MHD_Result do_collection(struct MHD_Connection *c, struct fk_req *r,
				     const struct fk_route *rt, const char *method, int watch)
{
	struct fk_err e;
	if (strcmp(method, "POST") == 0) {
		if (rt->k->namespaced && !rt->has_ns)
			return fk_send_simple(
			    c, r, 405,
			    "the server does not allow this method on the requested "
			    "resource");
		cJSON *b = fk_parse_body(r, &e);
		if (!b)
			return fk_send_err(c, r, &e);
		struct fk_ver *v = fk_store_create(rt->k, rt->ns, b, 0, NULL, &e);
		return v ? fk_send_ver(c, r, 201, v) : fk_send_err(c, r, &e);
	}
	if (strcmp(method, "GET") != 0)
		return fk_send_simple(
		    c, r, 405, "the server does not allow this method on the requested resource");
	struct fk_sel *sel = NULL;
	if (fk_sel_parse(rt->k, fk_arg(c, "fieldSelector"), fk_arg(c, "labelSelector"), &sel, &e) !=
	    0)
		return fk_send_err(c, r, &e);
	if (watch) {
		struct fk_watch_opts o = {0};
		o.rv = fk_arg(c, "resourceVersion");
		o.bookmarks = fk_arg_true(c, "allowWatchBookmarks");
		o.initial_end = fk_arg_true(c, "sendInitialEvents");
		const char *ts = fk_arg(c, "timeoutSeconds");
		o.timeout_s = ts ? strtol(ts, NULL, 10) : 0;
		struct MHD_Response *resp = fk_watch_start(rt->k, rt->ns, sel, &o, c, &e);
		if (!resp)
			return fk_send_err(c, r, &e);
		r->code = 200;
		enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	const char *ls = fk_arg(c, "limit");
	long limit = ls ? strtol(ls, NULL, 10) : 0;
	struct buf out = BUF_INIT;
	int rc = fk_store_list(rt->k, rt->ns, sel, limit, fk_arg(c, "continue"), &out, &e);
	fk_sel_free(sel);
	if (rc != 0) {
		buf_free(&out);
		return fk_send_err(c, r, &e);
	}
	return fk_send_buf(c, r, 200, &out, 0);
}

static enum MHD_Result do_item(struct MHD_Connection *c, struct fk_req *r,
			       const struct fk_route *rt, const char *method)
{
	struct fk_err e;
	const char *sub = rt->sub;
	if (strcmp(sub, "binding") == 0) {
		if (strcmp(method, "POST") != 0)
			goto not_allowed;
		return do_binding(c, r, rt);
	}
	if (strcmp(sub, "eviction") == 0) {
		if (strcmp(method, "POST") != 0)
			goto not_allowed;
		return do_delete(c, r, rt, 1);
	}
	enum fk_wmode mode = *sub ? FK_W_STATUS : FK_W_MAIN;
	if (strcmp(method, "GET") == 0) {
		struct fk_ver *v = fk_store_get(rt->k, rt->ns, rt->name);
		if (!v) {
			fk_err_notfound(&e, rt->k, rt->name);
			return fk_send_err(c, r, &e);
		}
		return fk_send_ver(c, r, 200, v);
	}
	if (strcmp(method, "PUT") == 0)
		return do_put(c, r, rt, mode);
	if (strcmp(method, "PATCH") == 0)
		return do_patch(c, r, rt, mode);
	if (strcmp(method, "DELETE") == 0 && !*sub)
		return do_delete(c, r, rt, 0);
not_allowed:
	return fk_send_simple(c, r, 405,
			      "the server does not allow this method on the requested resource");
}

enum MHD_Result fk_rest_serve(struct MHD_Connection *c, struct fk_req *r, const struct fk_route *rt,
			      const char *method, int watch)
{
	if (!rt->has_name)
		return do_collection(c, r, rt, method, watch);
	return do_item(c, r, rt, method);
}
