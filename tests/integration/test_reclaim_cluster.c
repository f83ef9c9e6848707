/* Integration test of reclaim in cluster mode: the seed walkthrough against
 * the fake API server, kube-scheduler's part played as in test_cluster.c
 * (filter, prioritize, bind). The eviction goes through pods/eviction, and
 * the fake honours PodDisruptionBudgets as kube-apiserver does: a budget's
 * 429 holds a victim back (this one again later, once the budget allows
 * it; another victim at once when there is one), and the freed GPU is held
 * for the waiting pod against the evicted pod's replacement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct hx_fake F;
static struct hx_daemon D;

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static void fake(const char *method, const char *path, const char *body)
{
	hk_fake(&F, method, path, body);
}

static cJSON *fake_get(const char *path)
{
	return hk_fake_get(&F, path);
}

static void node(const char *name)
{
	hk_node(&F, name);
}

static void pod(const char *ns, const char *name, int gpus)
{
	hk_pod(&F, ns, name, gpus);
}

/* Like hk_pod, with label app=NAME (for a budget's selector) and a
 * spec.priority (reclaim takes the lowest first). */
static void app_pod(const char *ns, const char *name, int gpus, int priority)
{
	char body[1024], path[128];
	snprintf(body, sizeof body,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"%s\",\"labels\":{\"app\":\"%s\"}},\"spec\":{\"priority\":%d,"
		 "\"containers\":[{\"name\":\"c\",\"image\":\"x\",\"resources\":{\"limits\":"
		 "{\"volcano.sh/vgpu-number\":\"%d\",\"volcano.sh/vgpu-cores\":\"100\"}}}]}}",
		 name, ns, name, priority, gpus);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", ns);
	fake("POST", path, body);
}

#define PDBS "/apis/policy/v1/namespaces/team-a/poddisruptionbudgets"

/* A policy/v1 PodDisruptionBudget in team-a over the pods labelled app=APP;
 * limit is e.g. "\"minAvailable\":1". */
static void budget(const char *name, const char *app, const char *limit)
{
	char body[512];
	snprintf(body, sizeof body,
		 "{\"apiVersion\":\"policy/v1\",\"kind\":\"PodDisruptionBudget\","
		 "\"metadata\":{\"name\":\"%s\"},\"spec\":{%s,\"selector\":{\"matchLabels\":"
		 "{\"app\":\"%s\"}}}}",
		 name, limit, app);
	fake("POST", PDBS, body);
}

static void fake_merge_patch(const char *path, const char *body)
{
	struct hx_resp r;
	assert_int_equal(hx_fake_call(&F, "PATCH", path, "application/merge-patch+json", body, &r),
			 0);
	if (r.status != 200)
		fail_msg("PATCH %s: %ld %s", path, r.status, r.body ? r.body : "");
	hx_resp_free(&r);
}

static int log_has(const char *text)
{
	FILE *f = fopen(D.log_path, "rb");
	if (!f)
		return 0;
	char *buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	buf[n] = '\0';
	int found = strstr(buf, text) != NULL;
	free(buf);
	return found;
}

/* The daemon's warning for a victim a budget holds back: the 429's message
 * and the budget's cause. */
static int logged_refusal(const char *victim, const char *budget_name, int needs, int has)
{
	char text[512];
	snprintf(text, sizeof text,
		 "cannot evict %s: Cannot evict pod as it would violate the pod's disruption "
		 "budget. (The disruption budget %s needs %d healthy pods and has %d currently)",
		 victim, budget_name, needs, has);
	return log_has(text);
}

static int schedule(const char *ns, const char *name, char *node_out)
{
	return hk_schedule(&F, &D, ns, name, node_out);
}

static int running(const char *ns, const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", ns, name);
	cJSON *p = fake_get(path);
	const cJSON *ph = get(get(p, "status"), "phase");
	int ok = cJSON_IsString(ph) && !strcmp(ph->valuestring, "Running");
	cJSON_Delete(p);
	return ok;
}

static void wait_running(const char *ns, const char *name)
{
	for (int i = 0; i < 100 && !running(ns, name); i++)
		usleep(50 * 1000);
	assert_true(running(ns, name));
}

static int gone(const char *ns, const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", ns, name);
	cJSON *p = fake_get(path);
	cJSON_Delete(p);
	return p == NULL;
}

static int has_event(const char *ns, const char *reason)
{
	char path[256];
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/events", ns);
	cJSON *list = fake_get(path);
	const cJSON *e;
	int found = 0;
	cJSON_ArrayForEach (e, get(list, "items")) {
		found |= !strcmp(get(e, "reason")->valuestring, reason);
	}
	cJSON_Delete(list);
	return found;
}

static int setup(void **state)
{
	(void)state;
	return hk_start(&F, &D, 2,
			"queues:\n  - name: team-a\n    namespaces: [team-a]\n"
			"    quota: 2\n  - name: team-b\n    namespaces: [team-b]\n"
			"    quota: 2\n");
}

static int teardown(void **state)
{
	(void)state;
	return hk_stop(&F, &D);
}

static void seed_walkthrough(void **state)
{
	(void)state;
	char n_a1[64], n[64];
	app_pod("team-a", "a1", 1, 0);
	pod("team-a", "a2", 2);
	pod("team-b", "b1", 1);
	assert_int_equal(schedule("team-a", "a1", n_a1), 1);
	assert_int_equal(schedule("team-a", "a2", n), 1);
	assert_int_equal(schedule("team-b", "b1", n), 1);
	wait_running("team-a", "a1");
	wait_running("team-a", "a2");
	wait_running("team-b", "b1");
	/* A disruption budget protects a1 for now (the fake answers 429, as
	 * kube-apiserver does): nothing is evicted, a2 is no candidate. */
	budget("a1-budget", "a1", "\"maxUnavailable\":0");
	pod("team-b", "b2", 1);
	assert_int_equal(schedule("team-b", "b2", n), 0); /* the cluster is full */
	for (int i = 0; i < 100 && !logged_refusal("team-a/a1", "a1-budget", 1, 1); i++)
		usleep(50 * 1000);
	assert_true(logged_refusal("team-a/a1", "a1-budget", 1, 1));
	assert_false(gone("team-a", "a1"));
	assert_false(gone("team-a", "a2"));
	fake_merge_patch(PDBS "/a1-budget", "{\"spec\":{\"maxUnavailable\":1}}");
	/* Once the budget allows it, a1 (not a2) is evicted for b2. */
	for (int i = 0; i < 300 && !gone("team-a", "a1"); i++)
		usleep(50 * 1000);
	assert_true(gone("team-a", "a1"));
	assert_false(gone("team-a", "a2"));
	assert_true(has_event("team-a", "Reclaimed"));
	assert_true(has_event("team-b", "Reclaiming"));
	/* a1's controller creates it again: the freed GPU is held for b2. */
	pod("team-a", "a1", 1);
	assert_int_equal(schedule("team-a", "a1", n), 0);
	assert_int_equal(schedule("team-b", "b2", n), 1);
	assert_string_equal(n, n_a1);
	wait_running("team-b", "b2");
	struct hx_resp r;
	assert_int_equal(hx_get(&D, "/metrics", &r), 0);
	assert_non_null(strstr(
	    r.body, "vgpu_extender_reclaims_total{queue=\"team-b\",victim_queue=\"team-a\"} 1"));
	hx_resp_free(&r);
}

static long reclaims(void)
{
	struct hx_resp r;
	long n = 0;
	assert_int_equal(hx_get(&D, "/metrics", &r), 0);
	for (const char *p = strstr(r.body, "\nvgpu_extender_reclaims_total{"); p;
	     p = strstr(p + 1, "\nvgpu_extender_reclaims_total{"))
		n += atol(strchr(p, '}') + 2);
	hx_resp_free(&r);
	return n;
}

/* A fresh daemon and an empty cluster of n1 and n2; team-a and team-b
 * with the given quota each. */
static void restart(int quota)
{
	char yaml[256];
	assert_int_equal(hx_stop(&D), 0);
	fake("POST", "/fake/reset", NULL);
	node("n1");
	node("n2");
	snprintf(yaml, sizeof yaml,
		 "queues:\n  - name: team-a\n    namespaces: [team-a]\n    quota: %d\n"
		 "  - name: team-b\n    namespaces: [team-b]\n    quota: %d\n",
		 quota, quota);
	const char *cfg = hx_tmpfile(yaml, ".yaml");
	const char *args[] = {"--kubeconfig", F.kubeconfig, "--config", cfg, NULL};
	assert_int_equal(hx_start(&D, args), 0);
}

static void place(const char *ns, const char *name, const char *want_node)
{
	char n[64];
	assert_int_equal(schedule(ns, name, n), 1);
	assert_string_equal(n, want_node);
	wait_running(ns, name);
}

/* Quota 2 each: a1 (lowest priority), a2 on n1, a3 and b1 on n2. For b2,
 * reclaim would take a1 first; a budget protects it (minAvailable 1 of 1):
 * the daemon logs the 429 and evicts another victim (a2, n1 before n2)
 * instead of waiting, and b2 runs there. */
static void budget_picks_another_victim(void **state)
{
	(void)state;
	char n[64];
	restart(2);
	app_pod("team-a", "a1", 1, 0);
	place("team-a", "a1", "n1");
	app_pod("team-a", "a2", 1, 10);
	place("team-a", "a2", "n1");
	app_pod("team-a", "a3", 1, 10);
	place("team-a", "a3", "n2");
	pod("team-b", "b1", 1);
	place("team-b", "b1", "n2");
	budget("a1-budget", "a1", "\"minAvailable\":1");
	pod("team-b", "b2", 1);
	assert_int_equal(schedule("team-b", "b2", n), 0); /* the cluster is full */
	for (int i = 0; i < 200 && !gone("team-a", "a2"); i++)
		usleep(50 * 1000);
	assert_true(gone("team-a", "a2"));
	assert_true(logged_refusal("team-a/a1", "a1-budget", 1, 1));
	assert_false(gone("team-a", "a1"));
	assert_false(gone("team-a", "a3"));
	assert_int_equal(schedule("team-b", "b2", n), 1);
	assert_string_equal(n, "n1");
	wait_running("team-b", "b2");
	assert_int_equal(reclaims(), 1);
}

/* The older walkthrough, quota 1 each on 4 GPUs: a1..a4 take everything,
 * b1..b4 arrive; kube-scheduler keeps retrying the waiting ones. team-b
 * gets 2 GPUs back, team-a keeps 2, and it stays so. */
static void older_walkthrough(void **state)
{
	(void)state;
	char name[16], n[64];
	restart(1);
	for (int i = 1; i <= 4; i++) {
		snprintf(name, sizeof name, "a%d", i);
		pod("team-a", name, 1);
		assert_int_equal(schedule("team-a", name, n), 1);
		wait_running("team-a", name);
	}
	for (int i = 1; i <= 4; i++) {
		snprintf(name, sizeof name, "b%d", i);
		pod("team-b", name, 1);
	}
	int bound = 0;
	int done[5] = {0};
	for (int round = 0; round < 60 && bound < 2; round++) { /* kube-scheduler's retries */
		for (int i = 1; i <= 4 && bound < 2; i++) {
			snprintf(name, sizeof name, "b%d", i);
			if (!done[i] && schedule("team-b", name, n))
				done[i] = 1, bound++;
		}
		usleep(100 * 1000);
	}
	assert_int_equal(bound, 2);
	usleep(1500 * 1000); /* settled: nothing else goes */
	int a_left = 0;
	for (int i = 1; i <= 4; i++) {
		snprintf(name, sizeof name, "a%d", i);
		a_left += !gone("team-a", name);
	}
	assert_int_equal(a_left, 2);
	assert_int_equal(reclaims(), 2);
	for (int i = 1; i <= 4; i++) { /* the two still waiting get nothing */
		snprintf(name, sizeof name, "b%d", i);
		if (!done[i])
			assert_int_equal(schedule("team-b", name, n), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(seed_walkthrough),
					   cmocka_unit_test(budget_picks_another_victim),
					   cmocka_unit_test(older_walkthrough)};
	return cmocka_run_group_tests(tests, setup, teardown);
}
