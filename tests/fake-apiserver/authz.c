/* authz.c: TokenReview (authentication.k8s.io/v1) and SubjectAccessReview
 * (authorization.k8s.io/v1) answered from rules set through /fake/authz:
 *   POST /fake/authz {"tokens":[{"token":"t","user":"alice","groups":["g"]}],
 *                     "rules":[{"user":"alice","verb":"list","namespace":"team-a"}]}
 *   GET /fake/authz   the review counts; DELETE /fake/authz forgets every rule.
 * The server's own --token is user "fake-admin" in group system:masters,
 * which (as on a real server) may do anything. A rule's verb or namespace
 * "*" matches any; namespace "" only cluster-wide questions. Nothing else
 * is allowed. Faults on the review paths come from /fake/faults as usual. */
#include "fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t amu = PTHREAD_MUTEX_INITIALIZER;
static cJSON *tokens; /* array of {"token","user","groups"} */
static cJSON *rules;  /* array of {"user","verb","namespace"} */
static long token_reviews, access_reviews;

void fk_authz_reset(void)
{
	pthread_mutex_lock(&amu);
	cJSON_Delete(tokens);
	cJSON_Delete(rules);
	tokens = cJSON_CreateArray();
	rules = cJSON_CreateArray();
	token_reviews = access_reviews = 0;
	pthread_mutex_unlock(&amu);
}

void fk_authz_free(void)
{
	cJSON_Delete(tokens);
	cJSON_Delete(rules);
	tokens = rules = NULL;
}

static void append_all(cJSON *to, const cJSON *from)
{
	const cJSON *e;
	cJSON_ArrayForEach (e, from) {
		cJSON_AddItemToArray(to, cJSON_Duplicate(e, 1));
	}
}

void fk_authz_control(const char *method, const cJSON *body, int *code, struct buf *out)
{
	pthread_mutex_lock(&amu);
	if (!strcmp(method, "POST")) {
		append_all(tokens, cJSON_GetObjectItemCaseSensitive(body, "tokens"));
		append_all(rules, cJSON_GetObjectItemCaseSensitive(body, "rules"));
		*code = 201;
	}
	pthread_mutex_unlock(&amu);
	if (!strcmp(method, "DELETE"))
		fk_authz_reset();
	pthread_mutex_lock(&amu);
	buf_printf(out, "{\"tokens\":%d,\"rules\":%d,\"tokenReviews\":%ld,\"accessReviews\":%ld}",
		   cJSON_GetArraySize(tokens), cJSON_GetArraySize(rules), token_reviews,
		   access_reviews);
	pthread_mutex_unlock(&amu);
}

/* status.user for a token, or NULL. Under amu. */
static cJSON *user_of(const char *tok)
{
	cJSON *u = NULL;
	if (fk_srv.cfg.token && tok && !strcmp(tok, fk_srv.cfg.token)) {
		u = cJSON_CreateObject();
		cJSON_AddStringToObject(u, "username", "fake-admin");
		cJSON_AddItemToObject(
		    u, "groups", cJSON_CreateStringArray((const char *[]){"system:masters"}, 1));
		return u;
	}
	const cJSON *t;
	cJSON_ArrayForEach (t, tokens) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, "token");
		if (!tok || !cJSON_IsString(v) || strcmp(v->valuestring, tok) != 0)
			continue;
		u = cJSON_CreateObject();
		cJSON_AddItemToObject(
		    u, "username", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(t, "user"), 1));
		cJSON_AddStringToObject(u, "uid", "uid-of-user");
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(t, "groups");
		cJSON_AddItemToObject(u, "groups", g ? cJSON_Duplicate(g, 1) : cJSON_CreateArray());
		break;
	}
	return u;
}

static int field_is(const cJSON *o, const char *key, const char *want)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	const char *s = cJSON_IsString(v) ? v->valuestring : "";
	return !strcmp(s, "*") || !strcmp(s, want ? want : "");
}

/* Under amu. */
static int allowed(const cJSON *spec)
{
	const cJSON *g, *ra = cJSON_GetObjectItemCaseSensitive(spec, "resourceAttributes");
	cJSON_ArrayForEach (g, cJSON_GetObjectItemCaseSensitive(spec, "groups")) {
		if (cJSON_IsString(g) && !strcmp(g->valuestring, "system:masters"))
			return 1;
	}
	const cJSON *user = cJSON_GetObjectItemCaseSensitive(spec, "user");
	const cJSON *verb = cJSON_GetObjectItemCaseSensitive(ra, "verb");
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(ra, "namespace");
	const cJSON *r;
	cJSON_ArrayForEach (r, rules) {
		if (cJSON_IsString(user) && field_is(r, "user", user->valuestring) &&
		    field_is(r, "verb", cJSON_IsString(verb) ? verb->valuestring : "") &&
		    field_is(r, "namespace", cJSON_IsString(ns) ? ns->valuestring : ""))
			return 1;
	}
	return 0;
}

/* The review with its status filled in; the request body is echoed. */
static void answer(cJSON *review, int token_review)
{
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(review, "spec");
	cJSON *st = cJSON_CreateObject();
	pthread_mutex_lock(&amu);
	if (token_review) {
		token_reviews++;
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(spec, "token");
		cJSON *u = user_of(cJSON_IsString(t) ? t->valuestring : NULL);
		cJSON_AddBoolToObject(st, "authenticated", u != NULL);
		if (u)
			cJSON_AddItemToObject(st, "user", u);
		else
			cJSON_AddStringToObject(st, "error", "token not found");
		cJSON_DeleteItemFromObjectCaseSensitive(spec, "token"); /* never echoed */
	} else {
		access_reviews++;
		int ok = allowed(spec);
		cJSON_AddBoolToObject(st, "allowed", ok);
		if (!ok)
			cJSON_AddStringToObject(st, "reason", "no /fake/authz rule allows it");
	}
	pthread_mutex_unlock(&amu);
	cJSON_DeleteItemFromObjectCaseSensitive(review, "status");
	cJSON_AddItemToObject(review, "status", st);
}

int fk_authz_serve(struct MHD_Connection *c, struct fk_req *r, const char *url, const char *method,
		   enum MHD_Result *ret)
{
	int tr = !strcmp(url, "/apis/authentication.k8s.io/v1/tokenreviews");
	int sar = !strcmp(url, "/apis/authorization.k8s.io/v1/subjectaccessreviews");
	if (!tr && !sar)
		return 0;
	struct fk_err e = {0};
	if (strcmp(method, "POST") != 0) {
		fk_err_set(&e, 405, "MethodNotAllowed", "reviews are created with POST");
		*ret = fk_send_err(c, r, &e);
		return 1;
	}
	cJSON *review = fk_parse_body(r, &e);
	if (!review || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(review, "spec"))) {
		if (review)
			fk_err_set(&e, 400, "BadRequest", "the review has no spec");
		cJSON_Delete(review);
		*ret = fk_send_err(c, r, &e);
		return 1;
	}
	answer(review, tr);
	char *text = cJSON_PrintUnformatted(review);
	cJSON_Delete(review);
	struct buf b = BUF_INIT;
	buf_puts(&b, text);
	free(text);
	*ret = fk_send_buf(c, r, 201, &b, 0);
	return 1;
}
