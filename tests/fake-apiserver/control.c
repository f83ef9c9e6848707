/* control.c: the /fake/ control API (no token needed) and the state behind
 * it: fault rules (POST/GET/DELETE /fake/faults), request statistics
 * (GET /fake/stats), /fake/authz (authz.c), /fake/close-watches,
 * /fake/compact, /fake/reset and /fake/objects (direct creates or
 * replaces, also used by --seed). */
#include "fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct rule {
	char verb[16];
	char *path;
	int watch;  /* -1: any */
	long count; /* < 0: forever */
	int status;
	int retry_after;
	long delay_ms;
	char *message;
};

static pthread_mutex_t fmu = PTHREAD_MUTEX_INITIALIZER;
static struct rule *rules;
static size_t nrules;

struct counter {
	char *key;
	long n;
};

static pthread_mutex_t smu = PTHREAD_MUTEX_INITIALIZER;
static struct hmap counts;
static long binds;

void fk_control_init(void)
{
	hmap_init(&counts);
}

static void rule_free(struct rule *r)
{
	free(r->path);
	free(r->message);
}

static void faults_clear(void)
{
	pthread_mutex_lock(&fmu);
	for (size_t i = 0; i < nrules; i++)
		rule_free(&rules[i]);
	free(rules);
	rules = NULL;
	nrules = 0;
	pthread_mutex_unlock(&fmu);
}

static void stats_clear(void)
{
	pthread_mutex_lock(&smu);
	size_t it = 0;
	void *v;
	while (hmap_next(&counts, &it, NULL, &v)) {
		struct counter *c = v;
		free(c->key);
		free(c);
	}
	hmap_free(&counts);
	hmap_init(&counts);
	binds = 0;
	pthread_mutex_unlock(&smu);
}

void fk_control_free(void)
{
	faults_clear();
	stats_clear();
	hmap_free(&counts);
}

int fk_fault_match(const char *method, const char *path, int watch, struct fk_fault *out)
{
	int hit = 0;
	pthread_mutex_lock(&fmu);
	for (size_t i = 0; i < nrules; i++) {
		struct rule *r = &rules[i];
		if (strcmp(r->verb, "*") != 0 && strcasecmp(r->verb, method) != 0)
			continue;
		if (strcmp(r->verb, "*") == 0 && strcmp(method, "STANDIN") == 0)
			continue; /* the plugin stand-in answers only to its own rules */
		if (r->path && *r->path && !strstr(path, r->path))
			continue;
		if (r->watch >= 0 && r->watch != watch)
			continue;
		out->status = r->status;
		out->retry_after = r->retry_after;
		out->delay_ms = r->delay_ms;
		snprintf(out->msg, sizeof out->msg, "%s",
			 r->message ? r->message : "fake-apiserver: injected fault");
		if (r->count > 0 && --r->count == 0) {
			rule_free(r);
			memmove(rules + i, rules + i + 1, (nrules - i - 1) * sizeof *rules);
			nrules--;
		}
		hit = 1;
		break;
	}
	pthread_mutex_unlock(&fmu);
	return hit;
}

void fk_stats_count(const char *method, const char *tmpl)
{
	char key[256];
	snprintf(key, sizeof key, "%s %s", method, tmpl);
	pthread_mutex_lock(&smu);
	struct counter *c = hmap_get(&counts, key);
	if (!c) {
		c = calloc(1, sizeof *c);
		if (!c || !(c->key = strdup(key)))
			abort();
		hmap_put(&counts, c->key, c);
	}
	c->n++;
	pthread_mutex_unlock(&smu);
}

void fk_stats_bind(void)
{
	pthread_mutex_lock(&smu);
	binds++;
	pthread_mutex_unlock(&smu);
}

static int cmp_counter(const void *a, const void *b)
{
	return strcmp((*(struct counter *const *)a)->key, (*(struct counter *const *)b)->key);
}

static void stats_json(struct buf *out)
{
	pthread_mutex_lock(&smu);
	size_t n = hmap_size(&counts), it = 0, j = 0;
	struct counter **cs = calloc(n + 1, sizeof(struct counter *));
	if (!cs)
		abort();
	void *v;
	while (hmap_next(&counts, &it, NULL, &v))
		cs[j++] = v;
	qsort(cs, j, sizeof(struct counter *), cmp_counter);
	buf_puts(out, "{\"requests\":{");
	for (size_t i = 0; i < j; i++) {
		if (i)
			buf_putc(out, ',');
		buf_json_str(out, cs[i]->key);
		buf_printf(out, ":%ld", cs[i]->n);
	}
	buf_printf(out, "},\"binds\":%ld", binds);
	free(cs);
	pthread_mutex_unlock(&smu);
	pthread_mutex_lock(&fk_srv.mu);
	buf_printf(out, ",\"watchers\":%d,\"resourceVersion\":\"%llu\"}", fk_srv.nwatchers,
		   (unsigned long long)fk_srv.rv);
	pthread_mutex_unlock(&fk_srv.mu);
}

static int add_rule(const cJSON *j, struct fk_err *err)
{
	if (!cJSON_IsObject(j)) {
		fk_err_set(err, 400, "BadRequest", "a fault rule is a JSON object");
		return -1;
	}
	struct rule r = {.verb = "*", .watch = -1, .count = 1, .status = 500};
	const cJSON *it;
	if (cJSON_IsString(it = cJSON_GetObjectItemCaseSensitive(j, "verb")))
		snprintf(r.verb, sizeof r.verb, "%s", it->valuestring);
	if (cJSON_IsString(it = cJSON_GetObjectItemCaseSensitive(j, "path")))
		r.path = strdup(it->valuestring);
	if (cJSON_IsBool(it = cJSON_GetObjectItemCaseSensitive(j, "watch")))
		r.watch = cJSON_IsTrue(it);
	if (cJSON_IsNumber(it = cJSON_GetObjectItemCaseSensitive(j, "count")))
		r.count = (long)it->valuedouble;
	if (cJSON_IsNumber(it = cJSON_GetObjectItemCaseSensitive(j, "status")))
		r.status = (int)it->valuedouble;
	if (cJSON_IsNumber(it = cJSON_GetObjectItemCaseSensitive(j, "retryAfter")))
		r.retry_after = (int)it->valuedouble;
	if (cJSON_IsNumber(it = cJSON_GetObjectItemCaseSensitive(j, "delayMs")))
		r.delay_ms = (long)it->valuedouble;
	if (cJSON_IsString(it = cJSON_GetObjectItemCaseSensitive(j, "message")))
		r.message = strdup(it->valuestring);
	if (r.count == 0)
		r.count = 1;
	if (r.status != 0 && (r.status < 400 || r.status > 599)) {
		rule_free(&r);
		fk_err_set(err, 400, "BadRequest", "status must be 0 (delay only) or 400..599");
		return -1;
	}
	if (r.status == 0 && r.delay_ms <= 0) {
		rule_free(&r);
		fk_err_set(err, 400, "BadRequest", "status 0 needs delayMs");
		return -1;
	}
	pthread_mutex_lock(&fmu);
	rules = realloc(rules, (nrules + 1) * sizeof *rules);
	if (!rules)
		abort();
	rules[nrules++] = r;
	pthread_mutex_unlock(&fmu);
	return 0;
}

static void faults_json(struct buf *out)
{
	pthread_mutex_lock(&fmu);
	buf_puts(out, "{\"faults\":[");
	for (size_t i = 0; i < nrules; i++) {
		const struct rule *r = &rules[i];
		buf_puts(out, i ? ",{\"verb\":" : "{\"verb\":");
		buf_json_str(out, r->verb);
		buf_puts(out, ",\"path\":");
		buf_json_str(out, r->path ? r->path : "");
		if (r->watch >= 0)
			buf_printf(out, ",\"watch\":%s", r->watch ? "true" : "false");
		buf_printf(out, ",\"count\":%ld,\"status\":%d,\"retryAfter\":%d,\"delayMs\":%ld}",
			   r->count, r->status, r->retry_after, r->delay_ms);
	}
	buf_puts(out, "]}");
	pthread_mutex_unlock(&fmu);
}

int fk_load_objects(const cJSON *doc, struct buf *out, struct fk_err *err)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
	int many = cJSON_IsArray(items);
	if (!many && cJSON_IsArray(doc)) {
		items = doc;
		many = 1;
	}
	if (many && out)
		buf_puts(out,
			 "{\"kind\":\"List\",\"apiVersion\":\"v1\",\"metadata\":{},\"items\":[");
	int first = 1;
	const cJSON *one = doc;
	const cJSON *cur = many ? items->child : one;
	for (; cur; cur = many ? cur->next : NULL) {
		const cJSON *kd = cJSON_GetObjectItemCaseSensitive(cur, "kind");
		struct fk_kind *k = cJSON_IsString(kd) ? fk_kind_by_kind(kd->valuestring) : NULL;
		if (!k) {
			fk_err_set(
			    err, 400, "BadRequest",
			    "each object needs a kind: Node, Pod, Event, ConfigMap, Lease or "
			    "PodDisruptionBudget");
			return -1;
		}
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(cur, "metadata");
		const cJSON *ns = cJSON_GetObjectItemCaseSensitive(md, "namespace");
		const char *nss =
		    cJSON_IsString(ns) && *ns->valuestring ? ns->valuestring : "default";
		struct fk_ver *v = fk_store_create(k, nss, cJSON_Duplicate(cur, 1), 1, NULL, err);
		if (!v)
			return -1;
		if (out) {
			if (!first)
				buf_putc(out, ',');
			buf_append(out, v->text, v->len);
		}
		first = 0;
		fk_ver_unref(v);
	}
	if (many && out)
		buf_puts(out, "]}");
	return 0;
}

static int is(const char *method, const char *m)
{
	return strcmp(method, m) == 0;
}

void fk_control_handle(const char *method, const char *path, const char *body, size_t len,
		       int *code, struct buf *out)
{
	struct fk_err err = {0};
	*code = 200;
	cJSON *j = NULL;
	if (len) {
		j = cJSON_ParseWithLength(body, len);
		if (!j) {
			fk_err_set(&err, 400, "BadRequest", "malformed JSON body");
			goto fail;
		}
	}
	if (strcmp(path, "/fake/faults") == 0) {
		if (is(method, "POST")) {
			if (cJSON_IsArray(j)) {
				const cJSON *r;
				cJSON_ArrayForEach (r, j)
					if (add_rule(r, &err) != 0)
						goto fail;
			} else if (add_rule(j, &err) != 0) {
				goto fail;
			}
			*code = 201;
			faults_json(out);
		} else if (is(method, "GET")) {
			faults_json(out);
		} else if (is(method, "DELETE")) {
			faults_clear();
			faults_json(out);
		} else {
			goto not_allowed;
		}
	} else if (strcmp(path, "/fake/authz") == 0) {
		if (!is(method, "POST") && !is(method, "GET") && !is(method, "DELETE"))
			goto not_allowed;
		fk_authz_control(method, j, code, out);
	} else if (strcmp(path, "/fake/stats") == 0) {
		if (!is(method, "GET"))
			goto not_allowed;
		stats_json(out);
	} else if (strcmp(path, "/fake/close-watches") == 0) {
		if (!is(method, "POST"))
			goto not_allowed;
		pthread_mutex_lock(&fk_srv.mu);
		int n = fk_watch_close_all();
		pthread_mutex_unlock(&fk_srv.mu);
		buf_printf(out, "{\"closed\":%d}", n);
	} else if (strcmp(path, "/fake/watch-delay") == 0) {
		/* {"ms":N}: every event queued from now on reaches its watchers N ms
		 * late, as behind a slow or distant API server. */
		const cJSON *ms = cJSON_GetObjectItemCaseSensitive(j, "ms");
		if (!is(method, "POST"))
			goto not_allowed;
		if (!cJSON_IsNumber(ms) || ms->valuedouble < 0 || ms->valuedouble > 60000) {
			fk_err_set(&err, 400, "BadRequest", "watch-delay wants {\"ms\":0..60000}");
			goto fail;
		}
		__atomic_store_n(&fk_srv.watch_delay_ms, ms->valueint, __ATOMIC_RELAXED);
		buf_printf(out, "{\"ms\":%d}", ms->valueint);
	} else if (strcmp(path, "/fake/compact") == 0) {
		if (!is(method, "POST"))
			goto not_allowed;
		fk_store_compact();
		buf_printf(out, "{\"resourceVersion\":\"%llu\"}",
			   (unsigned long long)fk_store_rv());
	} else if (strcmp(path, "/fake/reset") == 0) {
		if (!is(method, "POST"))
			goto not_allowed;
		fk_store_reset();
		fk_authz_reset();
		__atomic_store_n(&fk_srv.watch_delay_ms, 0, __ATOMIC_RELAXED);
		faults_clear();
		stats_clear();
		buf_printf(out, "{\"resourceVersion\":\"%llu\"}",
			   (unsigned long long)fk_store_rv());
	} else if (strcmp(path, "/fake/objects") == 0) {
		if (!is(method, "POST"))
			goto not_allowed;
		if (!j) {
			fk_err_set(&err, 400, "BadRequest", "POST /fake/objects needs a body");
			goto fail;
		}
		if (fk_load_objects(j, out, &err) != 0)
			goto fail;
	} else {
		fk_err_set(&err, 404, "NotFound", "unknown control path %.200s", path);
		goto fail;
	}
	cJSON_Delete(j);
	return;
not_allowed:
	fk_err_set(&err, 405, "MethodNotAllowed",
		   "the server does not allow this method on the requested resource");
fail:
	cJSON_Delete(j);
	buf_reset(out);
	*code = err.code;
	fk_status_json(out, &err);
}
