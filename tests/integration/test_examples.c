/* test_examples: the files in examples/ that operators apply to a cluster,
 * applied to a dev daemon run with examples/config.yaml (their queues and
 * licence). Pod files go through `vgpuctl apply -f`, as a user would send
 * them; the tutorial's batch/v1 Job cannot be applied in dev mode (only Pods
 * are), so its pod template is created as a Pod, the way the Job controller
 * would. Each test gets its own daemon on the built-in demo cluster (2 nodes
 * x 2 GPUs, 24 GiB, 10 slots). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "vx/json.h"
#include "vx/yamljson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS 15000

static const char *src_path(const char *rel)
{
	static char path[4][512];
	static int slot;
	const char *src = getenv("VX_SRCDIR");
	char *p = path[slot++ % 4];
	snprintf(p, 512, "%s/%s", src && *src ? src : ".", rel);
	return p;
}

static int start_daemon(void **state)
{
	struct hx_daemon *d = calloc(1, sizeof *d);
	const char *args[] = {"--dev", "--config", src_path("examples/config.yaml"), NULL};
	if (!d || hx_start(d, args)) {
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

static int stop_daemon(void **state)
{
	struct hx_daemon *d = *state;
	int rc = hx_stop(d);
	free(d);
	return rc == 0 ? 0 : -1;
}

static int apply(const struct hx_daemon *d, const char *rel, char **out)
{
	const char *argv[] = {hx_bin("vgpuctl"), "--server", d->url, "apply", "-f",
			      src_path(rel),     NULL};
	return hx_run(argv, out);
}

/* The pod's devices once bound, e.g. "GPU-1,NVIDIA,2000,20:". */
static int has_devices(const cJSON *pod, void *ud)
{
	(void)ud;
	const char *ids = json_annotation(pod, "volcano.sh/vgpu-ids-new");
	return ids && *ids;
}

static char *wait_devices(const struct hx_daemon *d, const char *ns_name)
{
	char path[256];
	struct hx_resp r;
	snprintf(path, sizeof path, "/api/v1/pods/%s", ns_name);
	if (hx_wait_json(d, path, has_devices, NULL, WAIT_MS))
		fail_msg("%s was never bound", ns_name);
	assert_int_equal(hx_get(d, path, &r), 0);
	char *ids = strdup(json_annotation(r.json, "volcano.sh/vgpu-ids-new"));
	hx_resp_free(&r);
	return ids;
}

static int take_job(void *ud, const cJSON *doc, int line, char *err, size_t errlen)
{
	(void)line, (void)err, (void)errlen;
	cJSON **job = ud;
	if (!*job)
		*job = cJSON_Duplicate(doc, 1);
	return 0;
}

/* The Job controller's part: one Pod from spec.template. */
static cJSON *pod_of_job(const cJSON *job, const char *name)
{
	const cJSON *tmpl = json_path(job, "spec", "template");
	cJSON *pod = cJSON_CreateObject(), *md = cJSON_CreateObject();
	cJSON_AddStringToObject(pod, "apiVersion", "v1");
	cJSON_AddStringToObject(pod, "kind", "Pod");
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "namespace",
				json_str(json_path(job, "metadata", NULL), "namespace"));
	const cJSON *labels = json_path(tmpl, "metadata", "labels");
	if (labels)
		cJSON_AddItemToObject(md, "labels", cJSON_Duplicate(labels, 1));
	cJSON_AddItemToObject(pod, "metadata", md);
	cJSON_AddItemToObject(pod, "spec", cJSON_Duplicate(json_path(tmpl, "spec", NULL), 1));
	return pod;
}

static void tutorial_job(void **state)
{
	struct hx_daemon *d = *state;
	cJSON *job = NULL;
	char err[256];
	assert_int_equal(yj_parse_file(src_path("examples/gpu-sharing-job.yaml"), take_job, &job,
				       err, sizeof err),
			 1);
	assert_string_equal(json_str(job, "kind"), "Job");
	const cJSON *spec = json_path(json_path(job, "spec", "template"), "spec", NULL);
	assert_string_equal(json_str(spec, "schedulerName"), "vgpu-scheduler");
	cJSON *pod = pod_of_job(job, "gpu-sharing-tutorial-x1");
	char *body = cJSON_PrintUnformatted(pod);
	struct hx_resp r;
	assert_int_equal(hx_post(d, "/api/v1/pods", body, &r), 0);
	assert_int_equal(r.status, 201);
	hx_resp_free(&r);
	/* The tutorial's slice: 2000 MiB and 20 % of one card. */
	char *ids = wait_devices(d, "default/gpu-sharing-tutorial-x1");
	assert_non_null(strstr(ids, ",NVIDIA,2000,20:"));
	free(ids);
	free(body);
	cJSON_Delete(pod);
	cJSON_Delete(job);
}

/* Step 1 of the walkthrough runs everywhere today. Step 2's reclaim (a1
 * evicted for b2, SPEC section 5) belongs to the queue scheduler; here b2
 * only has to be accepted. */
static void queue_walkthrough(void **state)
{
	struct hx_daemon *d = *state;
	char *out = NULL;
	assert_int_equal(apply(d, "examples/queues.yaml", &out), 0);
	assert_non_null(strstr(out, "pod/team-a/a1 created"));
	assert_non_null(strstr(out, "pod/team-a/a2 created"));
	assert_non_null(strstr(out, "pod/team-b/b1 created"));
	assert_non_null(strstr(out, "skipping Namespace team-a"));
	free(out);
	static const char *const pods[] = {"team-a/a1", "team-a/a2", "team-b/b1"};
	for (size_t i = 0; i < 3; i++) {
		char *ids = wait_devices(d, pods[i]);
		assert_non_null(strstr(ids, ",100:")); /* whole cards */
		free(ids);
	}
	assert_int_equal(apply(d, "examples/queues-b2.yaml", &out), 0);
	assert_non_null(strstr(out, "pod/team-b/b2 created"));
	free(out);
}

static void licensed_job_and_vgpu_pod(void **state)
{
	struct hx_daemon *d = *state;
	char *out = NULL;
	assert_int_equal(apply(d, "examples/licensed-job.yaml", &out), 0);
	assert_non_null(strstr(out, "pod/acme-ml/cfd-solver created"));
	free(out);
	struct hx_resp r;
	assert_int_equal(hx_get(d, "/api/v1/pods/acme-ml/cfd-solver", &r), 0);
	assert_string_equal(json_annotation(r.json, "vgpu-extender.io/priority"), "7");
	hx_resp_free(&r);
	assert_int_equal(apply(d, "examples/vgpu-pod.yaml", &out), 0);
	assert_non_null(strstr(out, "pod/default/vgpu-demo created"));
	free(out);
	char *ids = wait_devices(d, "default/vgpu-demo");
	assert_non_null(strstr(ids, ",NVIDIA,3000,30:"));
	free(ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(tutorial_job, start_daemon, stop_daemon),
	    cmocka_unit_test_setup_teardown(queue_walkthrough, start_daemon, stop_daemon),
	    cmocka_unit_test_setup_teardown(licensed_job_and_vgpu_pod, start_daemon, stop_daemon),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
