/* Integration tests of the admin API's access control (SPEC section 9):
 * dev mode with a token file (every admin route: no token 401, wrong token
 * 401, right token through; open routes stay open), dev mode open on
 * loopback, the refusal to start open elsewhere; cluster mode against the
 * fake API server's TokenReview and SubjectAccessReview (allowed, denied,
 * invalid token, review API failing, answers cached, who acted recorded in
 * an Event). Tokens never reach the log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEV_TOKEN "s3cret-dev-token"
#define ALICE "alice-token-123"
#define BOB "bob-token-456"

/* One admin route: method, path, body. */
struct route {
	const char *method, *path, *body;
};

static const char POD_JSON[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p1\",\"namespace\":"
    "\"team-a\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\",\"resources\":"
    "{\"limits\":{\"volcano.sh/vgpu-number\":\"1\",\"volcano.sh/vgpu-memory\":\"1000\"}}}]}}";

/* Every route that needs a token, with a method it answers. */
static const struct route admin_routes[] = {
    {"GET", "/", NULL},
    {"GET", "/debug/state", NULL},
    {"GET", "/api/v1/jobs", NULL},
    {"GET", "/api/v1/jobs?namespace=team-a", NULL},
    {"GET", "/api/v1/pods/team-a/p1", NULL},
    {"GET", "/api/v1/licenses/acme", NULL},
    {"PATCH", "/api/v1/jobs/team-a/p1", "{\"priority\":7}"},
    {"POST", "/api/v1/jobs/team-a/p1/use-credits", ""},
    {"DELETE", "/api/v1/jobs/team-a/nothing-here", NULL},
};

static const char *const open_routes[] = {"/healthz", "/readyz", "/metrics"};
static const char *const open_posts[] = {"/filter", "/prioritize", "/bind", "/preempt"};

static long call(const struct hx_daemon *d, const struct route *rt, const char *token, char **body)
{
	char url[512];
	struct hx_resp r;
	snprintf(url, sizeof url, "%s%s", d->url, rt->path);
	assert_int_equal(hx_http_auth(rt->method, url, rt->body, token, &r), 0);
	long st = r.status;
	if (body)
		*body = r.body ? strdup(r.body) : strdup("");
	hx_resp_free(&r);
	return st;
}

static long get(const struct hx_daemon *d, const char *path, const char *token, char **body)
{
	struct route rt = {"GET", path, NULL};
	return call(d, &rt, token, body);
}

/* The open routes answer without a token; the extender verbs read their
 * body (400 for an empty one) instead of asking for a token. */
static void open_routes_stay_open(const struct hx_daemon *d)
{
	for (size_t i = 0; i < sizeof open_routes / sizeof open_routes[0]; i++)
		assert_int_equal(get(d, open_routes[i], NULL, NULL), 200);
	for (size_t i = 0; i < sizeof open_posts / sizeof open_posts[0]; i++) {
		struct route rt = {"POST", open_posts[i], "{"};
		assert_int_equal(call(d, &rt, NULL, NULL), 400);
	}
}

static void assert_challenge(const struct hx_daemon *d, const char *path)
{
	char url[256], *out = NULL;
	snprintf(url, sizeof url, "%s%s", d->url, path);
	const char *argv[] = {"/usr/bin/curl", "-s", "-o", "/dev/null", "-D", "-", url, NULL};
	assert_int_equal(hx_run(argv, &out), 0);
	if (!strstr(out, " 401") || !strcasestr(out, "WWW-Authenticate: Bearer"))
		fail_msg("no Bearer challenge on %s:\n%s", path, out);
	free(out);
}

static char *read_log(const struct hx_daemon *d)
{
	FILE *f = fopen(d->log_path, "rb");
	char *text = calloc(1, 1 << 20);
	assert_non_null(f);
	size_t n = fread(text, 1, (1 << 20) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static void dev_token_file(void **state)
{
	(void)state;
	struct hx_daemon d;
	const char *tokens =
	    hx_tmpfile("# admin tokens\n" DEV_TOKEN ",alice\n\nsecond-token\n", ".txt");
	const char *args[] = {"--dev", "--admin-token-file", tokens, NULL};
	assert_int_equal(hx_start(&d, args), 0);
	struct route create = {"POST", "/api/v1/pods", POD_JSON};
	assert_int_equal(call(&d, &create, NULL, NULL), 401);
	assert_int_equal(call(&d, &create, DEV_TOKEN, NULL), 201);
	char *jobs = NULL; /* the pod names its submitter: the token's user */
	assert_int_equal(get(&d, "/api/v1/jobs?namespace=team-a", DEV_TOKEN, &jobs), 200);
	if (!strstr(jobs, "\"user\":\"alice\""))
		fail_msg("p1 does not name alice as its user: %s", jobs);
	free(jobs);
	for (size_t i = 0; i < sizeof admin_routes / sizeof admin_routes[0]; i++) {
		const struct route *rt = &admin_routes[i];
		char *body = NULL;
		long none = call(&d, rt, NULL, NULL), wrong = call(&d, rt, "wrong", &body);
		long right = call(&d, rt, DEV_TOKEN, NULL);
		if (none != 401 || wrong != 401 || right == 401 || right == 403)
			fail_msg("%s %s: no token %ld, wrong %ld, right %ld", rt->method, rt->path,
				 none, wrong, right);
		if (strcmp(rt->path, "/") != 0 && !strstr(body, "\"Error\""))
			fail_msg("%s %s: 401 without {\"Error\"}: %s", rt->method, rt->path, body);
		free(body);
	}
	assert_int_equal(get(&d, "/debug/state", "second-token", NULL), 200);
	struct route adv = {"POST", "/debug/clock/advance?seconds=1", ""};
	assert_int_equal(call(&d, &adv, NULL, NULL), 401);
	assert_int_equal(call(&d, &adv, DEV_TOKEN, NULL), 200);
	assert_challenge(&d, "/debug/state");
	assert_challenge(&d, "/");
	open_routes_stay_open(&d);
	struct route del = {"DELETE", "/api/v1/jobs/team-a/p1", NULL};
	assert_int_equal(call(&d, &del, DEV_TOKEN, NULL), 200);
	assert_int_equal(hx_stop(&d), 0);
}

static void dev_tokens_never_logged(void **state)
{
	(void)state;
	struct hx_daemon d;
	const char *tokens = hx_tmpfile(DEV_TOKEN ",alice\n", ".txt");
	const char *args[] = {"--dev", "--admin-token-file", tokens, "--log-level", "debug", NULL};
	assert_int_equal(hx_start(&d, args), 0);
	struct route create = {"POST", "/api/v1/pods", POD_JSON};
	struct route del = {"DELETE", "/api/v1/jobs/team-a/p1", NULL};
	assert_int_equal(call(&d, &create, DEV_TOKEN, NULL), 201);
	assert_int_equal(get(&d, "/debug/state", "not-" DEV_TOKEN, NULL), 401);
	assert_int_equal(call(&d, &del, DEV_TOKEN, NULL), 200);
	char *log = read_log(&d);
	assert_null(strstr(log, DEV_TOKEN));
	assert_non_null(strstr(log, "pod team-a/p1: deleted by alice"));
	free(log);
	assert_int_equal(hx_stop(&d), 0);
}

static void dev_open_on_loopback(void **state)
{
	(void)state;
	struct hx_daemon d;
	const char *args[] = {"--dev", NULL};
	assert_int_equal(hx_start(&d, args), 0);
	for (size_t i = 0; i < sizeof admin_routes / sizeof admin_routes[0]; i++) {
		long st = call(&d, &admin_routes[i], NULL, NULL);
		if (st == 401 || st == 403)
			fail_msg("%s %s: %ld on loopback without a token file",
				 admin_routes[i].method, admin_routes[i].path, st);
	}
	assert_int_equal(hx_stop(&d), 0);
}

static void dev_refuses_open_elsewhere(void **state)
{
	(void)state;
	char *out = NULL;
	const char *argv[] = {hx_bin("vgpu-extender"), "--dev", "--listen", "0.0.0.0:0", NULL};
	assert_int_equal(hx_run(argv, &out), 2);
	assert_non_null(strstr(out, "--admin-token-file"));
	assert_non_null(strstr(out, "--insecure-admin"));
	free(out);
	/* With --insecure-admin it serves, open. */
	struct hx_daemon d;
	char listen[64];
	int port = hx_free_port();
	snprintf(listen, sizeof listen, "0.0.0.0:%d", port);
	const char *args[] = {"--dev", "--listen", listen, "--insecure-admin", NULL};
	assert_int_equal(hx_spawn(&d, args), 0);
	d.port = port;
	snprintf(d.url, sizeof d.url, "http://127.0.0.1:%d", port);
	assert_int_equal(hx_wait_ready(&d, 15000), 0);
	assert_int_equal(get(&d, "/debug/state", NULL, NULL), 200);
	assert_int_equal(hx_stop(&d), 0);
	/* A token file makes any address fine. */
	const char *tokens = hx_tmpfile(DEV_TOKEN "\n", ".txt");
	port = hx_free_port();
	snprintf(listen, sizeof listen, "0.0.0.0:%d", port);
	const char *args2[] = {"--dev", "--listen", listen, "--admin-token-file", tokens, NULL};
	assert_int_equal(hx_spawn(&d, args2), 0);
	d.port = port;
	snprintf(d.url, sizeof d.url, "http://127.0.0.1:%d", port);
	assert_int_equal(hx_wait_ready(&d, 15000), 0);
	assert_int_equal(get(&d, "/debug/state", NULL, NULL), 401);
	assert_int_equal(hx_stop(&d), 0);
}

/* ---- cluster mode ---- */

static void fake_ok(const struct hx_fake *f, const char *method, const char *path, const char *body)
{
	struct hx_resp r;
	assert_int_equal(hx_fake_call(f, method, path, NULL, body, &r), 0);
	if (r.status >= 300)
		fail_msg("%s %s: %ld %s", method, path, r.status, r.body ? r.body : "");
	hx_resp_free(&r);
}

/* The fake's review counters (GET /fake/authz). */
static void reviews(const struct hx_fake *f, long *tokens, long *access)
{
	struct hx_resp r;
	assert_int_equal(hx_fake_call(f, "GET", "/fake/authz", NULL, NULL, &r), 0);
	*tokens = (long)cJSON_GetObjectItem(r.json, "tokenReviews")->valuedouble;
	*access = (long)cJSON_GetObjectItem(r.json, "accessReviews")->valuedouble;
	hx_resp_free(&r);
}

static const char AUTHZ[] =
    "{\"tokens\":[{\"token\":\"" ALICE "\",\"user\":\"alice\",\"groups\":[\"devs\"]},"
    "{\"token\":\"" BOB "\",\"user\":\"bob\"}],"
    "\"rules\":[{\"user\":\"alice\",\"verb\":\"list\",\"namespace\":\"*\"},"
    "{\"user\":\"alice\",\"verb\":\"get\",\"namespace\":\"team-a\"},"
    "{\"user\":\"alice\",\"verb\":\"update\",\"namespace\":\"team-a\"},"
    "{\"user\":\"alice\",\"verb\":\"delete\",\"namespace\":\"team-a\"}]}";

static void start_cluster(struct hx_fake *f, struct hx_daemon *d)
{
	const char *none[] = {NULL};
	assert_int_equal(hx_fake_start(f, none), 0);
	fake_ok(f, "POST", "/fake/authz", AUTHZ);
	fake_ok(f, "POST", "/api/v1/namespaces/team-a/pods", POD_JSON);
	const char *args[] = {"--kubeconfig", f->kubeconfig, NULL};
	assert_int_equal(hx_start(d, args), 0);
}

/* Every admin route: no token and an unknown token are 401; alice passes
 * the gate (whatever the route then answers); bob is 403 naming the verb. */
static void cluster_every_route(const struct hx_daemon *d)
{
	for (size_t i = 0; i < sizeof admin_routes / sizeof admin_routes[0]; i++) {
		const struct route *rt = &admin_routes[i];
		char *bob = NULL, *bad = NULL;
		long none = call(d, rt, NULL, NULL), wrong = call(d, rt, "unknown-token", &bad);
		long a = call(d, rt, ALICE, NULL), b = call(d, rt, BOB, &bob);
		if (none != 401 || wrong != 401 || a == 401 || a == 403 || b != 403)
			fail_msg("%s %s: none %ld, unknown %ld, alice %ld, bob %ld", rt->method,
				 rt->path, none, wrong, a, b);
		const char *verb = !strcmp(rt->method, "DELETE")    ? "needs delete on pods"
				   : strcmp(rt->method, "GET") != 0 ? "needs update on pods"
				   : strstr(rt->path, "/pods/")     ? "needs get on pods"
								    : "needs list on pods";
		if (!strstr(bob, "bob\\\" may not") || !strstr(bob, verb))
			fail_msg("%s %s: bob's 403 says %s", rt->method, rt->path, bob);
		if (strcmp(rt->path, "/") != 0 && !strstr(bad, "token not found"))
			fail_msg("%s %s: unknown token's 401 says %s", rt->method, rt->path, bad);
		free(bob);
		free(bad);
	}
}

static void cluster_reviews(void **state)
{
	(void)state;
	struct hx_fake f;
	struct hx_daemon d;
	start_cluster(&f, &d);
	cluster_every_route(&d);
	open_routes_stay_open(&d);
	assert_challenge(&d, "/api/v1/jobs");
	char *body = NULL;
	assert_int_equal(get(&d, "/api/v1/jobs?namespace=team-b", BOB, &body), 403);
	assert_non_null(strstr(body, "pods in namespace \\\"team-b\\\""));
	free(body);
	/* alice may delete in team-a only; who did it is in an Event. */
	struct route del_b = {"DELETE", "/api/v1/jobs/team-b/p1", NULL};
	struct route del_a = {"DELETE", "/api/v1/jobs/team-a/p1", NULL};
	assert_int_equal(call(&d, &del_b, ALICE, NULL), 403);
	assert_int_equal(call(&d, &del_a, ALICE, NULL), 200);
	struct hx_resp r;
	assert_int_equal(
	    hx_fake_call(&f, "GET", "/api/v1/namespaces/team-a/events", NULL, NULL, &r), 0);
	if (!r.body || !strstr(r.body, "AdminDelete") || !strstr(r.body, "deleted by alice"))
		fail_msg("no AdminDelete Event naming alice: %s", r.body ? r.body : "");
	hx_resp_free(&r);
	char *log = read_log(&d);
	assert_null(strstr(log, ALICE));
	assert_null(strstr(log, BOB));
	free(log);
	assert_int_equal(hx_stop(&d), 0);
	assert_int_equal(hx_fake_stop(&f), 0);
}

/* A page refreshing every few seconds costs no reviews once answered. */
static void cluster_cache(void **state)
{
	(void)state;
	struct hx_fake f;
	struct hx_daemon d;
	long t0, a0, t1, a1;
	start_cluster(&f, &d);
	assert_int_equal(get(&d, "/debug/state", ALICE, NULL), 200);
	assert_int_equal(get(&d, "/api/v1/jobs", ALICE, NULL), 200);
	reviews(&f, &t0, &a0);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(get(&d, "/debug/state", ALICE, NULL), 200);
		assert_int_equal(get(&d, "/api/v1/jobs", ALICE, NULL), 200);
		assert_int_equal(get(&d, "/", ALICE, NULL), 200);
	}
	reviews(&f, &t1, &a1);
	assert_int_equal(t1, t0);
	assert_int_equal(a1, a0);
	assert_int_equal(hx_stop(&d), 0);
	assert_int_equal(hx_fake_stop(&f), 0);
}

/* When the review APIs fail, the answer is a denial (503, saying why),
 * never an allowance, and the failure is not cached. */
static void cluster_review_failing(void **state)
{
	(void)state;
	struct hx_fake f;
	struct hx_daemon d;
	char *body = NULL;
	start_cluster(&f, &d);
	fake_ok(&f, "POST", "/fake/faults",
		"{\"path\":\"/tokenreviews\",\"count\":-1,\"status\":500,"
		"\"message\":\"etcd is on fire\"}");
	assert_int_equal(get(&d, "/debug/state", ALICE, &body), 503);
	assert_non_null(strstr(body, "TokenReview failed"));
	free(body);
	fake_ok(&f, "DELETE", "/fake/faults", NULL);
	assert_int_equal(get(&d, "/debug/state", ALICE, NULL), 200);
	fake_ok(&f, "POST", "/fake/faults",
		"{\"path\":\"/subjectaccessreviews\",\"count\":-1,\"status\":500}");
	assert_int_equal(get(&d, "/api/v1/jobs?namespace=team-a", ALICE, &body), 503);
	assert_non_null(strstr(body, "SubjectAccessReview failed"));
	free(body);
	fake_ok(&f, "DELETE", "/fake/faults", NULL);
	assert_int_equal(get(&d, "/api/v1/jobs?namespace=team-a", ALICE, NULL), 200);
	assert_int_equal(hx_stop(&d), 0);
	assert_int_equal(hx_fake_stop(&f), 0);
}

static void cluster_insecure_admin(void **state)
{
	(void)state;
	struct hx_fake f;
	struct hx_daemon d;
	const char *none[] = {NULL};
	assert_int_equal(hx_fake_start(&f, none), 0);
	const char *args[] = {"--kubeconfig", f.kubeconfig, "--insecure-admin", NULL};
	assert_int_equal(hx_start(&d, args), 0);
	assert_int_equal(get(&d, "/debug/state", NULL, NULL), 200);
	assert_int_equal(hx_stop(&d), 0);
	assert_int_equal(hx_fake_stop(&f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(dev_token_file),         cmocka_unit_test(dev_tokens_never_logged),
	    cmocka_unit_test(dev_open_on_loopback),   cmocka_unit_test(dev_refuses_open_elsewhere),
	    cmocka_unit_test(cluster_reviews),        cmocka_unit_test(cluster_cache),
	    cmocka_unit_test(cluster_review_failing), cmocka_unit_test(cluster_insecure_admin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
