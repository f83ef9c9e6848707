/* Integration tests of team queues in dev mode (the real daemon over HTTP):
 * pods are filed under the queue their label or namespace names, four
 * quarter-GPU pods count as one GPU, a limit holds while GPUs are idle (in
 * the dev loop and in kube-scheduler's filter), and /debug/state and
 * /metrics show each queue's quota, allocation, fair share and pending. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

static struct hx_daemon D;
static char config_path[256];

static const char config[] = "queues:\n"
			     "  - name: team-a\n"
			     "    namespaces: [team-a]\n"
			     "    quota: 1\n"
			     "    overQuotaWeight: 1\n"
			     "    limit: 1\n"
			     "  - name: team-b\n"
			     "    namespaces: [team-b]\n"
			     "    quota: 2\n";

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* A pod of cores % and mem MiB in ns, with an optional queue label. */
static void create(const char *ns, const char *name, int cores, int mem, const char *label)
{
	char body[1024], labels[128] = "";
	if (label)
		snprintf(labels, sizeof labels, ",\"labels\":{\"vgpu-extender.io/queue\":\"%s\"}",
			 label);
	snprintf(body, sizeof body,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"%s\"%s},\"spec\":{\"containers\":[{\"name\":\"c\","
		 "\"resources\":{\"limits\":{\"volcano.sh/vgpu-cores\":\"%d\","
		 "\"volcano.sh/vgpu-memory\":\"%d\"}}}]}}",
		 name, ns, labels, cores, mem);
	struct hx_resp r;
	assert_int_equal(hx_post(&D, "/api/v1/pods", body, &r), 0);
	assert_int_equal(r.status, 201);
	hx_resp_free(&r);
}

static const cJSON *find(const cJSON *arr, const char *key, const char *val)
{
	const cJSON *it;
	cJSON_ArrayForEach (it, arr) {
		const cJSON *v = get(it, key);
		if (cJSON_IsString(v) && !strcmp(v->valuestring, val))
			return it;
	}
	return NULL;
}

struct want {
	const char *queue;
	double allocated;
	int running;
};

/* The queue's allocation and the number of its pods Running. */
static int settled(const cJSON *state, void *ud)
{
	const struct want *w = ud;
	const cJSON *q = find(get(state, "queues"), "name", w->queue), *p;
	int running = 0;
	cJSON_ArrayForEach (p, get(state, "pods")) {
		running += !strcmp(get(p, "queue")->valuestring, w->queue) &&
			   !strcmp(get(p, "status")->valuestring, "Running");
	}
	return q && fabs(get(q, "allocated")->valuedouble - w->allocated) < 1e-6 &&
	       running == w->running;
}

static int setup(void **state)
{
	(void)state;
	const char *file = hx_tmpfile(config, ".yaml");
	snprintf(config_path, sizeof config_path, "%s", file);
	const char *args[] = {"--dev", "--config", config_path, NULL};
	return hx_start(&D, args);
}

static int teardown(void **state)
{
	(void)state;
	return hx_stop(&D) == 0 ? 0 : -1;
}

/* Four 0.25-GPU pods fill team-a's limit of 1 GPU; a fifth waits although
 * GPUs are idle, and says why. */
static void quarter_pods_and_the_limit(void **state)
{
	(void)state;
	char name[16];
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof name, "a%d", i);
		create("team-a", name, 25, 1000, NULL);
	}
	struct want w = {"team-a", 1.0, 4};
	assert_int_equal(hx_wait_json(&D, "/debug/state", settled, &w, 10000), 0);
	create("team-a", "a4", 25, 1000, NULL);
	struct hx_resp r = {0};
	const cJSON *row = NULL;
	for (int i = 0; i < 100 && !row; i++) {
		hx_resp_free(&r);
		assert_int_equal(hx_get(&D, "/api/v1/jobs?namespace=team-a", &r), 0);
		row = find(r.json, "name", "a4");
		if (row && !get(row, "message"))
			row = NULL;
		if (!row)
			usleep(50 * 1000);
	}
	assert_non_null(row);
	assert_string_equal(get(row, "status")->valuestring, "Submitted");
	assert_non_null(strstr(get(row, "message")->valuestring, "queue team-a at limit 1 GPUs"));
	hx_resp_free(&r);
	/* /debug/state: allocation 1, fair share 1 (its limit), 0.25 pending. */
	assert_int_equal(hx_get(&D, "/debug/state", &r), 0);
	const cJSON *q = find(get(r.json, "queues"), "name", "team-a");
	assert_non_null(q);
	assert_true(fabs(get(q, "quota")->valuedouble - 1) < 1e-9);
	assert_true(fabs(get(q, "limit")->valuedouble - 1) < 1e-9);
	assert_true(fabs(get(q, "fairShare")->valuedouble - 1) < 1e-6);
	assert_true(fabs(get(q, "pending")->valuedouble - 0.25) < 1e-6);
	assert_int_equal(get(q, "pendingPods")->valueint, 1);
	assert_non_null(find(get(r.json, "queues"), "name", "default"));
	hx_resp_free(&r);
	/* vgpuctl queues prints the same figures as a table. */
	char *out = NULL;
	const char *argv[] = {hx_bin("vgpuctl"), "--server", D.url, "queues", NULL};
	int rc = hx_run(argv, &out);
	if (rc != 0)
		fail_msg("vgpuctl queues: exit %d: %s", rc, out);
	assert_non_null(
	    strstr(out, "Queue    Quota  Limit  Weight  Allocated  FairShare  Pending"));
	assert_non_null(strstr(out, "team-a   1      1      1       1          1          0.25"));
	assert_non_null(strstr(out, "team-b   2      none   1"));
	free(out);
}

/* kube-scheduler's filter sees the same rule: every node fails with it. */
static void filter_refuses_over_the_limit(void **state)
{
	(void)state;
	const char *body =
	    "{\"Pod\":{\"metadata\":{\"name\":\"x\",\"namespace\":\"other\",\"uid\":\"u-x\","
	    "\"labels\":{\"vgpu-extender.io/queue\":\"team-a\"}},\"spec\":{\"containers\":[{"
	    "\"name\":\"c\",\"resources\":{\"limits\":{\"volcano.sh/"
	    "vgpu-cores\":\"10\",\"volcano.sh/vgpu-memory\":\"100\"}}}]}},"
	    "\"NodeNames\":[\"demo-node-1\",\"demo-node-2\"]}";
	struct hx_resp r;
	assert_int_equal(hx_post(&D, "/filter", body, &r), 0);
	assert_int_equal(cJSON_GetArraySize(get(r.json, "NodeNames")), 0);
	const cJSON *failed = get(r.json, "FailedNodes");
	assert_non_null(strstr(get(failed, "demo-node-1")->valuestring, "queue team-a at limit"));
	hx_resp_free(&r);
	/* The same pod in its own namespace's queue (default, no limit) passes. */
	const char *plain =
	    "{\"Pod\":{\"metadata\":{\"name\":\"y\",\"namespace\":\"other\",\"uid\":\"u-y\"},"
	    "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
	    "\"volcano.sh/vgpu-cores\":\"10\",\"volcano.sh/"
	    "vgpu-memory\":\"100\"}}}]}},\"NodeNames\":[\"demo-node-1\"]}";
	assert_int_equal(hx_post(&D, "/filter", plain, &r), 0);
	if (cJSON_GetArraySize(get(r.json, "NodeNames")) != 1)
		fail_msg("%s", r.body);
	hx_resp_free(&r);
}

/* team-b is not limited; its pods, and a labelled pod from elsewhere, run
 * and are charged to it; /metrics carries the queue figures. */
static void other_queue_and_label(void **state)
{
	(void)state;
	create("team-b", "b0", 100, 1000, NULL);       /* exclusive: a whole card */
	create("elsewhere", "b1", 0, 12288, "team-b"); /* half a 24 GiB card */
	struct want w = {"team-b", 1.5, 2};
	assert_int_equal(hx_wait_json(&D, "/debug/state", settled, &w, 10000), 0);
	struct hx_resp r;
	assert_int_equal(hx_get(&D, "/metrics", &r), 0);
	assert_non_null(strstr(r.body, "vgpu_extender_queue_allocated_gpus{queue=\"team-b\"} 1.5"));
	assert_non_null(strstr(r.body, "vgpu_extender_queue_quota_gpus{queue=\"team-a\"} 1"));
	assert_non_null(strstr(r.body, "vgpu_extender_queue_pending_pods{queue=\"team-a\"} "));
	assert_non_null(strstr(r.body, "vgpu_extender_queue_fair_share_gpus{queue=\"team-b\"}"));
	hx_resp_free(&r);
}

static int limit_is(const cJSON *state, void *ud)
{
	const cJSON *q = find(get(state, "queues"), "name", "team-a");
	return q && fabs(get(q, "limit")->valuedouble - *(double *)ud) < 1e-9;
}

/* Replaces the file as kubelet does a mounted ConfigMap: write aside, then
 * rename over it. */
static void replace_config(const char *text)
{
	char tmp[300];
	snprintf(tmp, sizeof tmp, "%s.new", config_path);
	FILE *f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(rename(tmp, config_path), 0);
}

/* The config is read again when the file changes and on SIGHUP; a broken
 * file leaves the queues as they were. */
static void config_reload(void **state)
{
	(void)state;
	double limit = 3;
	replace_config("queues:\n  - name: team-a\n    namespaces: [team-a]\n    quota: 1\n"
		       "    limit: 3\n");
	assert_int_equal(hx_wait_json(&D, "/debug/state", limit_is, &limit, 8000), 0);
	/* a5 now fits under the new limit: a4, waiting, runs too */
	struct want w = {"team-a", 1.25, 5};
	assert_int_equal(hx_wait_json(&D, "/debug/state", settled, &w, 8000), 0);
	replace_config("queues:\n  - name: team-a\n    quota: -5\n"); /* invalid */
	usleep(3000 * 1000);
	assert_int_equal(hx_wait_json(&D, "/debug/state", limit_is, &limit, 100), 0);
	replace_config("queues:\n  - name: team-a\n    namespaces: [team-a]\n    limit: 2\n");
	kill(D.pid, SIGHUP); /* at once, whatever the file watch saw */
	limit = 2;
	assert_int_equal(hx_wait_json(&D, "/debug/state", limit_is, &limit, 8000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(quarter_pods_and_the_limit),
	    cmocka_unit_test(filter_refuses_over_the_limit),
	    cmocka_unit_test(other_queue_and_label),
	    cmocka_unit_test(config_reload),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
