/* Integration tests: the real daemon in dev mode, driven over HTTP with
 * bodies shaped like kube-scheduler's, plus bad input of every kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct hx_daemon D;

static const char *cluster_file(void)
{
	static char path[512];
	const char *src = getenv("VX_SRCDIR");
	snprintf(path, sizeof path, "%s/tests/data/cluster-small.yaml", src && *src ? src : ".");
	return path;
}

static int setup(void **state)
{
	(void)state;
	const char *args[] = {"--dev", "--cluster", cluster_file(), "--log-level", "debug", NULL};
	return hx_start(&D, args);
}

static int teardown(void **state)
{
	(void)state;
	return hx_stop(&D) == 0 ? 0 : -1;
}

/* A pod shaped like kube-scheduler's (see the captured bodies). */
static char *pod_json(const char *name, const char *limits, const char *annotations)
{
	char *s = malloc(4096);
	snprintf(s, 4096,
		 "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"uid-%s\","
		 "\"resourceVersion\":\"194\",\"creationTimestamp\":\"2026-11-22T07:23:39Z\","
		 "\"annotations\":%s},"
		 "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"example.invalid/none:1\","
		 "\"resources\":{\"limits\":%s}}],\"schedulerName\":\"default-scheduler\","
		 "\"priority\":0},\"status\":{\"phase\":\"Pending\",\"qosClass\":\"Burstable\"}}",
		 name, name, annotations ? annotations : "{}", limits);
	return s;
}

static char *args_json(const char *pod, const char *names_key, const char *names)
{
	char *s = malloc(8192);
	snprintf(s, 8192, "{\"Pod\":%s,\"Nodes\":null,\"%s\":%s}", pod, names_key, names);
	return s;
}

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static void filter_node_names(void **state)
{
	(void)state;
	char *pod = pod_json(
	    "f1", "{\"volcano.sh/vgpu-number\":\"1\",\"volcano.sh/vgpu-memory\":\"20000\"}", NULL);
	char *body =
	    args_json(pod, "NodeNames", "[\"gpu-a\",\"gpu-b\",\"broken\",\"cpu-only\",\"ghost\"]");
	struct hx_resp r;
	assert_int_equal(hx_post(&D, "/filter", body, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(r.json);
	const cJSON *names = get(r.json, "NodeNames");
	assert_int_equal(cJSON_GetArraySize(names), 2);
	assert_string_equal(cJSON_GetArrayItem(names, 0)->valuestring, "gpu-a");
	assert_string_equal(cJSON_GetArrayItem(names, 1)->valuestring, "gpu-b");
	const cJSON *unres = get(r.json, "FailedAndUnresolvableNodes");
	assert_non_null(strstr(get(unres, "broken")->valuestring, "malformed"));
	assert_non_null(strstr(get(unres, "cpu-only")->valuestring, "no vGPU devices"));
	assert_non_null(strstr(get(unres, "ghost")->valuestring, "not known"));
	assert_string_equal(get(r.json, "Error")->valuestring, "");
	hx_resp_free(&r);
	free(body);
	free(pod);

	/* 24576 - 4000 used on GPU-b0 leaves 20576: 22000 fits only on empty cards. */
	pod = pod_json(
	    "f2", "{\"volcano.sh/vgpu-number\":\"2\",\"volcano.sh/vgpu-memory\":\"22000\"}", NULL);
	body = args_json(pod, "NodeNames", "[\"gpu-a\",\"gpu-b\"]");
	assert_int_equal(hx_post(&D, "/filter", body, &r), 0);
	assert_int_equal(cJSON_GetArraySize(get(r.json, "NodeNames")), 1);
	const char *why = get(get(r.json, "FailedNodes"), "gpu-b")->valuestring;
	assert_non_null(strstr(why, "1/2 GPUs: insufficient memory"));
	hx_resp_free(&r);
	free(body);
	free(pod);
}

/* A request no card can ever hold is unresolvable on every node, so
 * kube-scheduler does not try preemption for it; every node says the same
 * short reason, which kube-scheduler's event counts as one. */
static void larger_than_every_card_is_unresolvable(void **state)
{
	(void)state;
	char *pod = pod_json("too-big", "{\"volcano.sh/vgpu-memory\":\"100000\"}", NULL);
	char *body = args_json(pod, "NodeNames", "[\"gpu-a\",\"gpu-b\"]");
	struct hx_resp r;
	assert_int_equal(hx_post(&D, "/filter", body, &r), 0);
	assert_int_equal(cJSON_GetArraySize(get(r.json, "NodeNames")), 0);
	assert_int_equal(cJSON_GetArraySize(get(r.json, "FailedNodes")), 0);
	const cJSON *unres = get(r.json, "FailedAndUnresolvableNodes");
	assert_string_equal(get(unres, "gpu-a")->valuestring,
			    "2/2 GPUs: card smaller than 100000 MiB");
	assert_string_equal(get(unres, "gpu-b")->valuestring,
			    "2/2 GPUs: card smaller than 100000 MiB");
	hx_resp_free(&r);
	free(body);
	free(pod);
}

static void filter_full_nodes_and_lowercase(void **state)
{
	(void)state;
	char *pod = pod_json("f3", "{\"volcano.sh/vgpu-memory\":\"1000\"}", NULL);
	char body[8192];
	snprintf(body, sizeof body,
		 "{\"Pod\":%s,\"Nodes\":{\"metadata\":{},\"items\":["
		 "{\"metadata\":{\"name\":\"gpu-a\",\"labels\":{\"x\":\"y\"}}},"
		 "{\"metadata\":{\"name\":\"cpu-only\"}}]},\"NodeNames\":null}",
		 pod);
	struct hx_resp r;
	assert_int_equal(hx_post(&D, "/filter", body, &r), 0);
	assert_int_equal(r.status, 200);
	const cJSON *items = get(get(r.json, "Nodes"), "items");
	assert_int_equal(cJSON_GetArraySize(items), 1);
	assert_string_equal(get(get(cJSON_GetArrayItem(items, 0), "metadata"), "name")->valuestring,
			    "gpu-a");
	assert_true(cJSON_IsNull(get(r.json, "NodeNames")));
	hx_resp_free(&r);

	snprintf(body, sizeof body, "{\"pod\":%s,\"nodenames\":[\"gpu-a\",\"cpu-only\"]}", pod);
	assert_int_equal(hx_post(&D, "/filter", body, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(cJSON_GetArraySize(get(r.json, "NodeNames")), 1);
	hx_resp_free(&r);
	free(pod);
}

static void non_vgpu_pod_passes(void **state)
{
	(void)state;
	char *pod = pod_json("web", "{\"cpu\":\"1\"}", NULL);
	char *body = args_json(pod, "NodeNames", "[\"cpu-only\",\"gpu-a\",\"ghost\"]");
	struct hx_resp r;
	assert_int_equal(hx_post(&D, "/filter", body, &r), 0);
	assert_int_equal(cJSON_GetArraySize(get(r.json, "NodeNames")), 3);
	assert_int_equal(cJSON_GetArraySize(get(r.json, "FailedNodes")), 0);
	hx_resp_free(&r);
	free(body);
	free(pod);
}

static void invalid_request_is_unresolvable(void **state)
{
	(void)state;
	char *pod = pod_json("bad", "{\"volcano.sh/vgpu-cores\":\"150\"}", NULL);
	char *body = args_json(pod, "NodeNames", "[\"gpu-a\"]");
	struct hx_resp r;
	assert_int_equal(hx_post(&D, "/filter", body, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(cJSON_GetArraySize(get(r.json, "NodeNames")), 0);
	assert_non_null(strstr(get(get(r.json, "FailedAndUnresolvableNodes"), "gpu-a")->valuestring,
			       "above 100"));
	hx_resp_free(&r);
	free(body);
	free(pod);
}

/* A Pod of the wrong shape is a bad request naming the field, for filter
 * and prioritize alike; the fast path (NodeNames) and the slow one (Nodes)
 * agree. */
static void malformed_pod_is_400(void **state)
{
	(void)state;
	static const struct {
		const char *pod, *want;
	} cases[] = {
	    {"{\"spec\":{\"containers\":{\"name\":\"c\"}}}",
	     "Pod.spec.containers must be an array"},
	    {"{\"spec\":{\"containers\":[\"c\"]}}", "Pod.spec.containers[0] must be an object"},
	    {"{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{\"cpu\":{}}}}]}"
	     "}",
	     "Pod.spec.containers[0].resources.limits[\"cpu\"]"},
	    {"{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\",\"resources\":{"
	     "\"limits\":"
	     "{\"volcano.sh/vgpu-cores\":[20]}}}]}}",
	     "Pod.spec.containers[1].resources.limits[\"volcano.sh/vgpu-cores\"] must be a "
	     "quantity"},
	    {"{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":"
	     "{\"volcano.sh/vgpu-memory\":{\"v\":1}}}}]}}",
	     "resources.requests[\"volcano.sh/vgpu-memory\"]"},
	    {"{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":[]}]}}",
	     "Pod.spec.containers[0].resources must be an object"},
	    {"{\"spec\":[]}", "Pod.spec must be an object"},
	    {"{\"metadata\":{\"annotations\":{\"a\":1}},\"spec\":{}}",
	     "Pod.metadata.annotations[\"a\"] must be a string"},
	};
	static const char *const paths[] = {"/filter", "/prioritize"};
	char body[1024];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		for (int p = 0; p < 4; p++) {
			snprintf(body, sizeof body,
				 p < 2
				     ? "{\"Pod\":%s,\"NodeNames\":[\"gpu-a\"]}"
				     : "{\"Pod\":%s,\"Nodes\":{\"items\":[{\"metadata\":{\"name\":"
				       "\"gpu-a\"}}]}}",
				 cases[i].pod);
			struct hx_resp r;
			assert_int_equal(hx_post(&D, paths[p % 2], body, &r), 0);
			const cJSON *e = r.json ? get(r.json, "Error") : NULL;
			if (r.status != 400 || !cJSON_IsString(e) ||
			    !strstr(e->valuestring, cases[i].want))
				fail_msg("%s %s: got %ld %s", paths[p % 2], body, r.status,
					 r.body ? r.body : "");
			hx_resp_free(&r);
		}
	}
}

/* A well-formed pod with an invalid request keeps a 200 answer: every node
 * fails with the reason (filter), every node scores 0 (prioritize). */
static void invalid_request_prioritize_200(void **state)
{
	(void)state;
	char *pod = pod_json("bad2", "{\"volcano.sh/vgpu-cores\":\"150\"}", NULL);
	char *body = args_json(pod, "NodeNames", "[\"gpu-a\",\"gpu-b\"]");
	struct hx_resp r;
	assert_int_equal(hx_post(&D, "/prioritize", body, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(cJSON_GetArraySize(r.json), 2);
	assert_int_equal(get(cJSON_GetArrayItem(r.json, 0), "Score")->valueint, 0);
	hx_resp_free(&r);
	free(body);
	free(pod);
}

static void prioritize_scales_scores(void **state)
{
	(void)state;
	char *pod = pod_json("p1", "{\"volcano.sh/vgpu-memory\":\"1000\"}", NULL);
	char *body = args_json(pod, "NodeNames", "[\"gpu-a\",\"gpu-b\"]");
	struct hx_resp r;
	assert_int_equal(hx_post(&D, "/prioritize", body, &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(cJSON_IsArray(r.json));
	assert_int_equal(cJSON_GetArraySize(r.json), 2);
	/* binpack: gpu-b already has a pod, so it gets 10 and gpu-a 0. */
	const cJSON *a = cJSON_GetArrayItem(r.json, 0), *b = cJSON_GetArrayItem(r.json, 1);
	assert_string_equal(get(a, "Host")->valuestring, "gpu-a");
	assert_int_equal(get(a, "Score")->valueint, 0);
	assert_int_equal(get(b, "Score")->valueint, 10);
	hx_resp_free(&r);
	free(body);
	free(pod);
	/* A spread override flips it. */
	pod = pod_json("p2", "{\"volcano.sh/vgpu-memory\":\"1000\"}",
		       "{\"vgpu-extender.io/node-policy\":\"spread\"}");
	body = args_json(pod, "NodeNames", "[\"gpu-a\",\"gpu-b\"]");
	assert_int_equal(hx_post(&D, "/prioritize", body, &r), 0);
	assert_int_equal(get(cJSON_GetArrayItem(r.json, 0), "Score")->valueint, 10);
	assert_int_equal(get(cJSON_GetArrayItem(r.json, 1), "Score")->valueint, 0);
	hx_resp_free(&r);
	free(body);
	free(pod);
}

static int annotation_is(const cJSON *pod, const char *key, const char *want)
{
	const cJSON *v = get(get(get(pod, "metadata"), "annotations"), key);
	return cJSON_IsString(v) && (!want || strcmp(v->valuestring, want) == 0);
}

static int bind_phase_done(const cJSON *pod, void *ud)
{
	(void)ud;
	return annotation_is(pod, "volcano.sh/bind-phase", "success");
}

static void filter_then_bind(void **state)
{
	(void)state;
	char *pod =
	    pod_json("job1",
		     "{\"volcano.sh/vgpu-number\":\"2\",\"volcano.sh/vgpu-memory\":\"3000\","
		     "\"volcano.sh/vgpu-cores\":\"30\"}",
		     NULL);
	char *body = args_json(pod, "NodeNames", "[\"gpu-a\",\"gpu-b\"]");
	struct hx_resp r;
	assert_int_equal(hx_post(&D, "/filter", body, &r), 0);
	assert_int_equal(cJSON_GetArraySize(get(r.json, "NodeNames")), 2);
	hx_resp_free(&r);
	assert_int_equal(hx_post(&D, "/bind",
				 "{\"PodName\":\"job1\",\"PodNamespace\":\"default\","
				 "\"PodUID\":\"uid-job1\",\"Node\":\"gpu-a\"}",
				 &r),
			 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(get(r.json, "Error")->valuestring, "");
	hx_resp_free(&r);

	/* The stored pod carries the Volcano annotations and the binding. */
	assert_int_equal(hx_get(&D, "/api/v1/pods/default/job1", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(get(get(r.json, "spec"), "nodeName")->valuestring, "gpu-a");
	assert_true(annotation_is(r.json, "volcano.sh/vgpu-node", "gpu-a"));
	assert_true(annotation_is(r.json, "volcano.sh/vgpu-ids-new",
				  "GPU-a0,NVIDIA,3000,30:GPU-a1,NVIDIA,3000,30:"));
	assert_true(annotation_is(r.json, "volcano.sh/devices-to-allocate",
				  "GPU-a0,NVIDIA,3000,30:GPU-a1,NVIDIA,3000,30:"));
	assert_true(annotation_is(r.json, "volcano.sh/vgpu-time", NULL));
	assert_true(annotation_is(r.json, "volcano.sh/bind-time", NULL));
	assert_true(annotation_is(r.json, "volcano.sh/bind-phase", "allocating") ||
		    annotation_is(r.json, "volcano.sh/bind-phase", "success"));
	hx_resp_free(&r);
	assert_int_equal(hx_wait_json(&D, "/api/v1/pods/default/job1", bind_phase_done, NULL, 5000),
			 0);

	/* A second bind of the same pod to the same node is a no-op success. */
	assert_int_equal(hx_post(&D, "/bind",
				 "{\"podName\":\"job1\",\"podNamespace\":\"default\","
				 "\"podUID\":\"uid-job1\",\"node\":\"gpu-a\"}",
				 &r),
			 0);
	assert_string_equal(get(r.json, "Error")->valuestring, "");
	hx_resp_free(&r);
	/* To another node it is refused. */
	assert_int_equal(hx_post(&D, "/bind",
				 "{\"PodName\":\"job1\",\"PodNamespace\":\"default\","
				 "\"PodUID\":\"uid-job1\",\"Node\":\"gpu-b\"}",
				 &r),
			 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(get(r.json, "Error")->valuestring, "already"));
	hx_resp_free(&r);

	/* /debug/state shows the slices on gpu-a. */
	assert_int_equal(hx_get(&D, "/debug/state", &r), 0);
	const cJSON *n, *found = NULL;
	cJSON_ArrayForEach (n, get(r.json, "nodes")) {
		if (!strcmp(get(n, "name")->valuestring, "gpu-a"))
			found = n;
	}
	assert_non_null(found);
	const cJSON *g0 = cJSON_GetArrayItem(get(found, "gpus"), 0);
	assert_int_equal(get(g0, "usedSlots")->valueint, 1);
	assert_int_equal(get(g0, "usedMemoryMiB")->valueint, 3000);
	assert_int_equal(get(g0, "usedCores")->valueint, 30);
	assert_string_equal(cJSON_GetArrayItem(get(g0, "pods"), 0)->valuestring, "default/job1");
	hx_resp_free(&r);
	free(body);
	free(pod);
}

static void bind_errors(void **state)
{
	(void)state;
	struct hx_resp r;
	/* Unknown pod. */
	assert_int_equal(
	    hx_post(&D, "/bind",
		    "{\"PodName\":\"nobody\",\"PodNamespace\":\"default\",\"PodUID\":\"x\","
		    "\"Node\":\"gpu-a\"}",
		    &r),
	    0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(get(r.json, "Error")->valuestring, "not found"));
	hx_resp_free(&r);
	/* A pod that cannot fit where kube-scheduler wants it. */
	char *pod = pod_json(
	    "huge", "{\"volcano.sh/vgpu-memory\":\"24000\",\"volcano.sh/vgpu-number\":\"2\"}",
	    NULL);
	char *body = args_json(pod, "NodeNames", "[\"gpu-b\"]");
	assert_int_equal(hx_post(&D, "/filter", body, &r), 0);
	hx_resp_free(&r);
	assert_int_equal(hx_post(&D, "/bind",
				 "{\"PodName\":\"huge\",\"PodNamespace\":\"default\","
				 "\"PodUID\":\"uid-huge\",\"Node\":\"gpu-b\"}",
				 &r),
			 0);
	assert_non_null(strstr(get(r.json, "Error")->valuestring, "no longer fits"));
	hx_resp_free(&r);
	free(body);
	free(pod);
}

static void bad_input(void **state)
{
	(void)state;
	static const struct {
		const char *path, *body, *want;
	} cases[] = {
	    {"/filter", "{not json", "malformed JSON"},
	    {"/filter", "[1,2]", "JSON object"},
	    {"/filter", "{\"NodeNames\":[\"gpu-a\"]}", "missing Pod"},
	    {"/filter", "{\"Pod\":\"x\",\"NodeNames\":[]}", "Pod must be an object"},
	    {"/filter", "{\"Pod\":{},\"NodeNames\":\"gpu-a\"}", "NodeNames must be an array"},
	    {"/filter", "{\"Pod\":{},\"NodeNames\":[1]}", "NodeNames[0]"},
	    {"/filter", "{\"Pod\":{},\"Nodes\":{\"items\":[{}]}}", "metadata.name"},
	    {"/prioritize", "", "malformed JSON"},
	    {"/bind", "{\"PodName\":\"x\"}", "Node"},
	    {"/bind", "{\"PodName\":5,\"Node\":\"a\"}", "PodName"},
	    {"/preempt", "{}", "missing Pod"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hx_resp r;
		assert_int_equal(hx_post(&D, cases[i].path, cases[i].body, &r), 0);
		if (r.status != 400 || !r.json ||
		    !strstr(get(r.json, "Error")->valuestring, cases[i].want))
			fail_msg("%s %s: got %ld %s", cases[i].path, cases[i].body, r.status,
				 r.body ? r.body : "");
		hx_resp_free(&r);
	}
	/* A 17 MiB body. */
	size_t big = 17u << 20;
	char *huge = malloc(big + 1);
	memset(huge, ' ', big);
	huge[0] = '{';
	huge[big - 1] = '}';
	huge[big] = '\0';
	char url[128];
	snprintf(url, sizeof url, "%s/filter", D.url);
	struct hx_resp r;
	assert_int_equal(hx_http("POST", url, huge, big, &r), 0);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "16 MiB"));
	hx_resp_free(&r);
	free(huge);
	/* Unknown routes and methods. */
	assert_int_equal(hx_get(&D, "/nope", &r), 0);
	assert_int_equal(r.status, 404);
	hx_resp_free(&r);
	snprintf(url, sizeof url, "%s/filter", D.url);
	assert_int_equal(hx_http("PUT", url, "{}", 2, &r), 0);
	assert_int_equal(r.status, 405);
	hx_resp_free(&r);
	/* Still healthy afterwards. */
	assert_int_equal(hx_get(&D, "/healthz", &r), 0);
	assert_int_equal(r.status, 200);
	hx_resp_free(&r);
}

static void preempt_keeps_useful_victims(void **state)
{
	(void)state;
	/* gpu-b holds "running" (GPU-b0, 4000 MiB); the preemptor needs 22000 MiB on
	 * both cards, so evicting "running" helps, a stranger's UID does not. */
	char *pod = pod_json(
	    "pre", "{\"volcano.sh/vgpu-number\":\"2\",\"volcano.sh/vgpu-memory\":\"22000\"}", NULL);
	char body[8192];
	struct hx_resp r;
	assert_int_equal(hx_get(&D, "/api/v1/pods/team/running", &r), 0);
	char uid[128];
	snprintf(uid, sizeof uid, "%s", get(get(r.json, "metadata"), "uid")->valuestring);
	hx_resp_free(&r);
	snprintf(body, sizeof body,
		 "{\"Pod\":%s,\"NodeNameToMetaVictims\":{\"gpu-b\":{\"Pods\":[{\"UID\":\"%s\"},"
		 "{\"UID\":\"stranger\"}],\"NumPDBViolations\":0},\"cpu-only\":{\"Pods\":[{\"UID\":"
		 "\"z\"}]}}}",
		 pod, uid);
	assert_int_equal(hx_post(&D, "/preempt", body, &r), 0);
	assert_int_equal(r.status, 200);
	const cJSON *m = get(r.json, "NodeNameToMetaVictims");
	assert_int_equal(cJSON_GetArraySize(m), 1);
	const cJSON *pods = get(get(m, "gpu-b"), "Pods");
	assert_int_equal(cJSON_GetArraySize(pods), 1);
	assert_string_equal(get(cJSON_GetArrayItem(pods, 0), "UID")->valuestring, uid);
	hx_resp_free(&r);
	free(pod);
}

static int pod_completed(const cJSON *pod, void *ud)
{
	(void)ud;
	const cJSON *phase = get(get(pod, "status"), "phase");
	return cJSON_IsString(phase) && !strcmp(phase->valuestring, "Succeeded");
}

static void dev_pods_run_and_finish(void **state)
{
	(void)state;
	char *pod = pod_json("timed", "{\"volcano.sh/vgpu-memory\":\"1000\"}",
			     "{\"vgpu-extender.io/dev-runtime-seconds\":\"3600\"}");
	struct hx_resp r;
	assert_int_equal(hx_post(&D, "/api/v1/pods", pod, &r), 0);
	assert_int_equal(r.status, 201);
	hx_resp_free(&r);
	assert_int_equal(hx_post(&D, "/api/v1/pods", pod, &r), 0);
	assert_int_equal(r.status, 409); /* already exists */
	hx_resp_free(&r);
	assert_int_equal(
	    hx_wait_json(&D, "/api/v1/pods/default/timed", bind_phase_done, NULL, 5000), 0);
	assert_int_equal(hx_post(&D, "/debug/clock/advance?seconds=3601", "", &r), 0);
	assert_int_equal(r.status, 200);
	hx_resp_free(&r);
	assert_int_equal(hx_wait_json(&D, "/api/v1/pods/default/timed", pod_completed, NULL, 5000),
			 0);
	assert_int_equal(hx_post(&D, "/debug/clock/advance?seconds=abc", "", &r), 0);
	assert_int_equal(r.status, 400);
	hx_resp_free(&r);
	assert_int_equal(hx_post(&D, "/api/v1/pods", "{\"kind\":\"Node\"}", &r), 0);
	assert_int_equal(r.status, 400);
	hx_resp_free(&r);
	/* YAML works too; malformed YAML is a 400 naming the line. */
	assert_int_equal(
	    hx_post(&D, "/api/v1/pods",
		    "kind: Pod\nmetadata:\n  name: from-yaml\nspec:\n  containers: []\n", &r),
	    0);
	assert_int_equal(r.status, 201);
	hx_resp_free(&r);
	assert_int_equal(hx_post(&D, "/api/v1/pods", "kind: Pod\nmetadata: [\n", &r), 0);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(get(r.json, "Error")->valuestring, "request body:"));
	hx_resp_free(&r);
	free(pod);
}

static void metrics_count_requests(void **state)
{
	(void)state;
	struct hx_resp r;
	assert_int_equal(hx_get(&D, "/metrics", &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(
	    strstr(r.body, "vgpu_extender_requests_total{verb=\"filter\",code=\"2xx\"}"));
	assert_non_null(
	    strstr(r.body, "vgpu_extender_request_duration_seconds_bucket{verb=\"bind\""));
	assert_non_null(strstr(r.body, "vgpu_extender_node_slots_used{node=\"gpu-b\"}"));
	assert_null(
	    strstr(r.body, "vgpu_extender_requests_total{verb=\"filter\",code=\"2xx\"} 0\n"));
	hx_resp_free(&r);
}

static bool promtool_missing(void)
{
	char *out = NULL;
	const char *argv[] = {"/bin/sh", "-c", "command -v promtool", NULL};
	int rc = hx_run(argv, &out);
	free(out);
	if (rc == 0)
		return false;
	const char *ci = getenv("CI");
	if (ci && *ci && strcmp(ci, "false") != 0)
		fail_msg(
		    "promtool is not installed (Debian package prometheus; bash scripts/deps.sh)");
	fprintf(stderr, "SKIP metrics_pass_promtool: no promtool on PATH "
			"(apt-get install prometheus, or bash scripts/deps.sh)\n");
	return true;
}

/* /metrics after real traffic (filter, prioritize, bind, and what the tests
 * above sent) passes `promtool check metrics` with no finding at all. */
static void metrics_pass_promtool(void **state)
{
	(void)state;
	if (promtool_missing()) {
		skip();
		return;
	}
	char *pod = pod_json("prom", "{\"volcano.sh/vgpu-memory\":\"1000\"}", NULL);
	char *body = args_json(pod, "NodeNames", "[\"gpu-a\",\"gpu-b\"]");
	struct hx_resp r;
	assert_int_equal(hx_post(&D, "/filter", body, &r), 0);
	hx_resp_free(&r);
	assert_int_equal(hx_post(&D, "/prioritize", body, &r), 0);
	hx_resp_free(&r);
	assert_int_equal(hx_post(&D, "/bind",
				 "{\"PodName\":\"prom\",\"PodNamespace\":\"default\","
				 "\"PodUID\":\"uid-prom\",\"Node\":\"gpu-a\"}",
				 &r),
			 0);
	hx_resp_free(&r);
	assert_int_equal(hx_get(&D, "/metrics", &r), 0);
	assert_int_equal(r.status, 200);
	const char *file = hx_tmpfile(r.body, ".prom");
	hx_resp_free(&r);
	char cmd[512], *out = NULL;
	snprintf(cmd, sizeof cmd, "promtool check metrics < %s", file);
	const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	int rc = hx_run(argv, &out);
	if (rc != 0 || (out && *out))
		fail_msg("promtool check metrics: exit %d\n%s", rc, out ? out : "");
	free(out);
	unlink(file);
	free(body);
	free(pod);
}

static void bad_flags_exit_2(void **state)
{
	(void)state;
	char *out = NULL;
	const char *argv1[] = {hx_bin("vgpu-extender"), "--node-policy", "tight", NULL};
	assert_int_equal(hx_run(argv1, &out), 2);
	assert_non_null(strstr(out, "--node-policy"));
	free(out);
	const char *argv2[] = {hx_bin("vgpu-extender"), "--dev", "--cluster", "/nonexistent.yaml",
			       NULL};
	assert_int_equal(hx_run(argv2, &out), 2);
	assert_non_null(strstr(out, "/nonexistent.yaml"));
	free(out);
	const char *argv4[] = {
	    hx_bin("vgpu-extender"), "--dev", "--tls-cert", "/nonexistent.pem", "--tls-key",
	    "/nonexistent.key",      NULL};
	assert_int_equal(hx_run(argv4, &out), 2);
	assert_non_null(strstr(out, "/nonexistent.pem"));
	free(out);
	char dir[] = "/tmp/vx-badstate-XXXXXX", clock[64];
	assert_non_null(mkdtemp(dir));
	snprintf(clock, sizeof clock, "%s/clock.json", dir);
	FILE *f = fopen(clock, "w");
	assert_non_null(f);
	fputs("not json", f);
	fclose(f);
	const char *argv5[] = {hx_bin("vgpu-extender"), "--dev", "--state-dir", dir, NULL};
	assert_int_equal(hx_run(argv5, &out), 2);
	assert_non_null(strstr(out, "clock.json"));
	free(out);
	unlink(clock);
	rmdir(dir);
	const char *argv3[] = {hx_bin("vgpu-extender"), "--help", NULL};
	assert_int_equal(hx_run(argv3, &out), 0);
	assert_non_null(strstr(out, "--kubeconfig"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(filter_node_names),
	    cmocka_unit_test(filter_full_nodes_and_lowercase),
	    cmocka_unit_test(larger_than_every_card_is_unresolvable),
	    cmocka_unit_test(non_vgpu_pod_passes),
	    cmocka_unit_test(invalid_request_is_unresolvable),
	    cmocka_unit_test(malformed_pod_is_400),
	    cmocka_unit_test(invalid_request_prioritize_200),
	    cmocka_unit_test(prioritize_scales_scores),
	    cmocka_unit_test(filter_then_bind),
	    cmocka_unit_test(bind_errors),
	    cmocka_unit_test(bad_input),
	    cmocka_unit_test(preempt_keeps_useful_victims),
	    cmocka_unit_test(dev_pods_run_and_finish),
	    cmocka_unit_test(metrics_count_requests),
	    cmocka_unit_test(metrics_pass_promtool),
	    cmocka_unit_test(bad_flags_exit_2),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
