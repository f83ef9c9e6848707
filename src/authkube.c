/* authkube: see authkube.h. A token is reviewed once per cache period and a
 * (user, verb, namespace, pod) question asked once per period, so a page
 * refreshing every few seconds costs no API calls. Failures of the review
 * APIs are never cached and deny (503: we cannot tell), they never allow. */
#include "authkube.h"
#include "vx/json.h"
#include "vx/kube.h"
#include "vx/log.h"
#include "vx/xalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOK_CACHE 64
#define SAR_CACHE 256
/* A review is a small call: two attempts, five seconds each at most. */
#define REVIEW_ATTEMPTS 2
#define REVIEW_TIMEOUT_MS 5000

struct tok_entry {
	char *token; /* NULL: free slot */
	size_t len;
	bool ok;
	char *user_json; /* status.user of the TokenReview */
	char user[128];
	char why[160];
	double expires;
};

struct sar_entry {
	char *key; /* user JSON, verb, namespace and pod, NUL-separated as text */
	bool allowed;
	double expires;
};

struct authkube {
	struct kube_client *kc;
	int ttl;
	pthread_mutex_t mu; /* guards both caches */
	struct tok_entry toks[TOK_CACHE];
	int tok_next;
	struct sar_entry sars[SAR_CACHE];
	int sar_next;
};

static const char *const verb_names[] = {"list", "get", "update", "delete", "create"};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct authkube *authkube_new(struct kube_client *kc, int cache_seconds)
{
	struct authkube *k = xcalloc(1, sizeof *k);
	k->kc = kc;
	k->ttl = cache_seconds;
	pthread_mutex_init(&k->mu, NULL);
	return k;
}

static void tok_clear(struct tok_entry *t)
{
	free(t->token);
	free(t->user_json);
	memset(t, 0, sizeof *t);
}

void authkube_free(struct authkube *k)
{
	if (!k)
		return;
	for (int i = 0; i < TOK_CACHE; i++)
		tok_clear(&k->toks[i]);
	for (int i = 0; i < SAR_CACHE; i++)
		free(k->sars[i].key);
	pthread_mutex_destroy(&k->mu);
	free(k);
}

/* POSTs a review object; returns its parsed answer, or NULL with why set. */
static cJSON *review(struct authkube *k, const char *path, cJSON *obj, char *why, size_t len)
{
	struct kube_resp r;
	struct kube_call_opts o = {REVIEW_ATTEMPTS, REVIEW_TIMEOUT_MS};
	char err[256];
	char *body = cJSON_PrintUnformatted(obj);
	cJSON *out = NULL;
	int rc =
	    kube_request(k->kc, "POST", path, NULL, body, strlen(body), &r, &o, err, sizeof err);
	free(body);
	if (rc)
		snprintf(why, len, "%s", err);
	else if (r.status != 200 && r.status != 201)
		kube_status_message(&r, why, len);
	else if (!(out = cJSON_Parse(r.body.data ? r.body.data : "")))
		snprintf(why, len, "unreadable answer");
	kube_resp_free(&r);
	return out;
}

/* Fills t (token already set) from a TokenReview; -1 with why on failure. */
static int token_review(struct authkube *k, struct tok_entry *t, char *why, size_t len)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "authentication.k8s.io/v1");
	cJSON_AddStringToObject(o, "kind", "TokenReview");
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	char *tok = xcalloc(1, t->len + 1);
	memcpy(tok, t->token, t->len);
	cJSON_AddStringToObject(spec, "token", tok);
	free(tok);
	cJSON *ans = review(k, "/apis/authentication.k8s.io/v1/tokenreviews", o, why, len);
	cJSON_Delete(o);
	if (!ans)
		return -1;
	const cJSON *st = json_path(ans, "status", NULL), *user = json_path(st, "user", NULL);
	t->ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "authenticated")) && user &&
		json_str(user, "username");
	const char *e = json_str(st, "error");
	snprintf(t->why, sizeof t->why, "%s", e ? e : "the API server does not know this token");
	if (t->ok) {
		snprintf(t->user, sizeof t->user, "%s", json_str(user, "username"));
		t->user_json = cJSON_PrintUnformatted(user);
	}
	cJSON_Delete(ans);
	return 0;
}

/* The cached review of a token, or a fresh one stored in the cache; the
 * copy in *out is the caller's (user_json to free). -1: the review failed. */
static int lookup_token(struct authkube *k, const char *tok, size_t len, struct tok_entry *out,
			char *why, size_t wlen)
{
	double now = now_s();
	pthread_mutex_lock(&k->mu);
	for (int i = 0; i < TOK_CACHE; i++) {
		struct tok_entry *t = &k->toks[i];
		if (t->token && t->expires > now && auth_ct_equal(tok, len, t->token, t->len)) {
			*out = *t;
			out->token = NULL;
			out->user_json = t->user_json ? xstrdup(t->user_json) : NULL;
			pthread_mutex_unlock(&k->mu);
			return 0;
		}
	}
	pthread_mutex_unlock(&k->mu);
	struct tok_entry t = {.len = len};
	t.token = xcalloc(1, len + 1);
	memcpy(t.token, tok, len);
	if (token_review(k, &t, why, wlen)) {
		tok_clear(&t);
		return -1;
	}
	t.expires = now + k->ttl;
	*out = t;
	out->token = NULL;
	out->user_json = t.user_json ? xstrdup(t.user_json) : NULL;
	pthread_mutex_lock(&k->mu);
	tok_clear(&k->toks[k->tok_next]);
	k->toks[k->tok_next] = t;
	k->tok_next = (k->tok_next + 1) % TOK_CACHE;
	pthread_mutex_unlock(&k->mu);
	return 0;
}

/* The SubjectAccessReview for user (TokenReview's status.user) doing v on
 * pods; 1 allowed, 0 denied (reason in why), -1 failed (why says so). */
static int access_review(struct authkube *k, const char *user_json, enum auth_verb v,
			 const char *ns, const char *name, char *why, size_t len)
{
	cJSON *u = cJSON_Parse(user_json), *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "authorization.k8s.io/v1");
	cJSON_AddStringToObject(o, "kind", "SubjectAccessReview");
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "user", json_str(u, "username"));
	static const char *const copied[] = {"uid", "groups", "extra"};
	for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++) {
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(u, copied[i]);
		if (f)
			cJSON_AddItemToObject(spec, copied[i], cJSON_Duplicate(f, 1));
	}
	cJSON *ra = cJSON_AddObjectToObject(spec, "resourceAttributes");
	cJSON_AddStringToObject(ra, "verb", verb_names[v]);
	cJSON_AddStringToObject(ra, "resource", "pods");
	if (ns)
		cJSON_AddStringToObject(ra, "namespace", ns);
	if (name)
		cJSON_AddStringToObject(ra, "name", name);
	cJSON_Delete(u);
	cJSON *ans = review(k, "/apis/authorization.k8s.io/v1/subjectaccessreviews", o, why, len);
	cJSON_Delete(o);
	if (!ans)
		return -1;
	const cJSON *st = json_path(ans, "status", NULL);
	int allowed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "allowed"));
	const char *reason = json_str(st, "reason");
	snprintf(why, len, "%s", reason ? reason : "");
	cJSON_Delete(ans);
	return allowed;
}

static char *sar_key(const char *user_json, enum auth_verb v, const char *ns, const char *name)
{
	size_t n = strlen(user_json) + 600;
	char *key = xcalloc(1, n);
	snprintf(key, n, "%s\x1f%s\x1f%s\x1f%s", user_json, verb_names[v], ns ? ns : "*",
		 name ? name : "*");
	return key;
}

/* 1 allowed, 0 denied, -1 review failed; cached answers first. */
static int may(struct authkube *k, const char *user_json, enum auth_verb v, const char *ns,
	       const char *name, char *why, size_t len)
{
	char *key = sar_key(user_json, v, ns, name);
	double now = now_s();
	int hit = -2;
	pthread_mutex_lock(&k->mu);
	for (int i = 0; i < SAR_CACHE && hit == -2; i++)
		if (k->sars[i].key && k->sars[i].expires > now && !strcmp(k->sars[i].key, key))
			hit = k->sars[i].allowed;
	pthread_mutex_unlock(&k->mu);
	if (hit != -2) {
		free(key);
		return hit;
	}
	int rc = access_review(k, user_json, v, ns, name, why, len);
	if (rc < 0) {
		free(key);
		return rc;
	}
	pthread_mutex_lock(&k->mu);
	struct sar_entry *e = &k->sars[k->sar_next];
	free(e->key);
	*e = (struct sar_entry){key, rc == 1, now + k->ttl};
	k->sar_next = (k->sar_next + 1) % SAR_CACHE;
	pthread_mutex_unlock(&k->mu);
	return rc;
}

static void denied(struct auth_answer *out, enum auth_verb v, const char *ns, const char *name,
		   const char *why)
{
	char where[600];
	if (ns && name)
		snprintf(where, sizeof where, "pod \"%s\" in namespace \"%s\"", name, ns);
	else if (ns)
		snprintf(where, sizeof where, "pods in namespace \"%s\"", ns);
	else
		snprintf(where, sizeof where, "pods in all namespaces");
	out->status = 403;
	snprintf(out->msg, sizeof out->msg, "user \"%s\" may not %s %s (needs %s on pods)%s%s",
		 out->user, verb_names[v], where, verb_names[v], *why ? ": " : "", why);
}

void authkube_check(struct authkube *k, const char *tok, size_t len, enum auth_verb v,
		    const char *ns, const char *name, struct auth_answer *out)
{
	struct tok_entry t;
	char why[256] = "";
	if (lookup_token(k, tok, len, &t, why, sizeof why)) {
		out->status = 503;
		snprintf(out->msg, sizeof out->msg,
			 "cannot check the token: TokenReview failed: %s", why);
		log_warn("admin API: TokenReview failed (request denied): %s", why);
		return;
	}
	if (!t.ok) {
		out->status = 401;
		snprintf(out->msg, sizeof out->msg, "invalid bearer token: %s", t.why);
		free(t.user_json);
		return;
	}
	snprintf(out->user, sizeof out->user, "%s", t.user);
	int rc = may(k, t.user_json, v, ns, name, why, sizeof why);
	free(t.user_json);
	if (rc == 1) {
		out->status = 200;
	} else if (rc == 0) {
		denied(out, v, ns, name, why);
	} else {
		out->status = 503;
		snprintf(out->msg, sizeof out->msg,
			 "cannot check permission: SubjectAccessReview failed: %s", why);
		log_warn("admin API: SubjectAccessReview failed (request denied): %s", why);
	}
}
