/* Integration test of reclaim in cluster mode: the seed walkthrough against
 * the fake API server, kube-scheduler's part played as in test_cluster.c
 * (filter, prioritize, bind). The eviction goes through pods/eviction: a
 * PodDisruptionBudget's 429 holds it back (other victims are tried, then
 * this one again later), and the freed GPU is held for the waiting pod
 * against the evicted pod's replacement. */
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
	const char *none[] = {NULL};
	if (hx_fake_start(&F, none))
		return -1;
	node("n1");
	node("n2");
	const char *cfg = hx_tmpfile("queues:\n  - name: team-a\n    namespaces: [team-a]\n"
				     "    quota: 2\n  - name: team-b\n    namespaces: [team-b]\n"
				     "    quota: 2\n",
				     ".yaml");
	const char *args[] = {"--kubeconfig", F.kubeconfig, "--config", cfg, NULL};
	return hx_start(&D, args);
}

static int teardown(void **state)
{
	(void)state;
	int a = hx_stop(&D), b = hx_fake_stop(&F);
	return a == 0 && b == 0 ? 0 : -1;
}

static void seed_walkthrough(void **state)
{
	(void)state;
	char n_a1[64], n[64];
	pod("team-a", "a1", 1);
	pod("team-a", "a2", 2);
	pod("team-b", "b1", 1);
	assert_int_equal(schedule("team-a", "a1", n_a1), 1);
	assert_int_equal(schedule("team-a", "a2", n), 1);
	assert_int_equal(schedule("team-b", "b1", n), 1);
	wait_running("team-a", "a1");
	wait_running("team-a", "a2");
	wait_running("team-b", "b1");
	/* A disruption budget protects a1 for now: nothing is evicted. */
	fake("POST", "/fake/faults",
	     "{\"verb\":\"POST\",\"path\":\"/eviction\",\"status\":429,\"count\":-1,"
	     "\"message\":\"Cannot evict pod as it would violate the pod's disruption "
	     "budget.\"}");
	pod("team-b", "b2", 1);
	assert_int_equal(schedule("team-b", "b2", n), 0); /* the cluster is full */
	usleep(800 * 1000);
	assert_false(gone("team-a", "a1"));
	assert_false(gone("team-a", "a2"));
	fake("DELETE", "/fake/faults", NULL);
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

/* The older walkthrough, quota 1 each on 4 GPUs: a1..a4 take everything,
 * b1..b4 arrive; kube-scheduler keeps retrying the waiting ones. team-b
 * gets 2 GPUs back, team-a keeps 2, and it stays so. */
static void older_walkthrough(void **state)
{
	(void)state;
	char name[16], n[64];
	assert_int_equal(hx_stop(&D), 0);
	fake("POST", "/fake/reset", NULL);
	node("n1");
	node("n2");
	const char *cfg = hx_tmpfile("queues:\n  - name: team-a\n    namespaces: [team-a]\n"
				     "    quota: 1\n  - name: team-b\n    namespaces: [team-b]\n"
				     "    quota: 1\n",
				     ".yaml");
	const char *args[] = {"--kubeconfig", F.kubeconfig, "--config", cfg, NULL};
	assert_int_equal(hx_start(&D, args), 0);
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
					   cmocka_unit_test(older_walkthrough)};
	return cmocka_run_group_tests(tests, setup, teardown);
}
