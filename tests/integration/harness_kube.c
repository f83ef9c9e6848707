/* harness_kube: kube-scheduler's part in cluster-mode tests, against the
 * project's fake API server and the daemon: nodes and pods in the fake,
 * and one pod's scheduling cycle (filter, then bind to the first node that
 * passed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

void hk_fake(const struct hx_fake *F, const char *method, const char *path, const char *body)
{
	struct hx_resp r;
	assert_int_equal(hx_fake_call(F, method, path, NULL, body, &r), 0);
	if (r.status >= 300)
		fail_msg("%s %s: %ld %s", method, path, r.status, r.body ? r.body : "");
	hx_resp_free(&r);
}

cJSON *hk_fake_get(const struct hx_fake *F, const char *path)
{
	struct hx_resp r;
	assert_int_equal(hx_fake_call(F, "GET", path, NULL, NULL, &r), 0);
	cJSON *j = r.status == 200 ? r.json : NULL;
	if (j)
		r.json = NULL;
	hx_resp_free(&r);
	return j;
}

void hk_node(const struct hx_fake *F, const char *name)
{
	char body[512];
	snprintf(body, sizeof body,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\","
		 "\"annotations\":{\"volcano.sh/node-vgpu-register\":\"%s-0,10,24576,L4,true,"
		 "hami-core:%s-1,10,24576,L4,true,hami-core:\"}},\"status\":{\"allocatable\":"
		 "{\"volcano.sh/vgpu-number\":\"20\"}}}",
		 name, name, name);
	hk_fake(F, "POST", "/fake/objects", body);
}

int hk_start(struct hx_fake *f, struct hx_daemon *d, int nodes, const char *config_yaml)
{
	const char *none[] = {NULL};
	char name[16];
	if (hx_fake_start(f, none))
		return -1;
	for (int i = 1; i <= nodes; i++) {
		snprintf(name, sizeof name, "n%d", i);
		hk_node(f, name);
	}
	const char *cfg = hx_tmpfile(config_yaml, ".yaml");
	const char *args[] = {"--kubeconfig", f->kubeconfig, "--config", cfg, NULL};
	return hx_start(d, args);
}

int hk_stop(struct hx_fake *f, struct hx_daemon *d)
{
	int a = hx_stop(d), b = hx_fake_stop(f);
	return a == 0 && b == 0 ? 0 : -1;
}

void hk_pod(const struct hx_fake *F, const char *ns, const char *name, int gpus)
{
	char body[1024], path[128];
	snprintf(body, sizeof body,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"%s\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\","
		 "\"resources\":{\"limits\":{\"volcano.sh/vgpu-number\":\"%d\","
		 "\"volcano.sh/vgpu-cores\":\"100\"}}}]}}",
		 name, ns, gpus);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", ns);
	hk_fake(F, "POST", path, body);
}

int hk_known(const cJSON *state, void *ud)
{
	const cJSON *p;
	cJSON_ArrayForEach (p, get(state, "pods")) {
		if (!strcmp(get(p, "name")->valuestring, ud))
			return 1;
	}
	return 0;
}

/* kube-scheduler's cycle for one pod: 1 bound (node set), 0 no node fits. */
int hk_schedule(const struct hx_fake *F, const struct hx_daemon *D, const char *ns,
		const char *name, char *node_out)
{
	char path[256], body[4096], bind[512];
	assert_int_equal(hx_wait_json(D, "/debug/state", hk_known, (void *)name, 10000), 0);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", ns, name);
	cJSON *p = hk_fake_get(F, path);
	assert_non_null(p);
	char *pj = cJSON_PrintUnformatted(p);
	snprintf(body, sizeof body, "{\"Pod\":%s,\"NodeNames\":[\"n1\",\"n2\"]}", pj);
	free(pj);
	struct hx_resp r;
	assert_int_equal(hx_post(D, "/filter", body, &r), 0);
	int fits = cJSON_GetArraySize(get(r.json, "NodeNames"));
	if (fits)
		snprintf(node_out, 64, "%s",
			 cJSON_GetArrayItem(get(r.json, "NodeNames"), 0)->valuestring);
	hx_resp_free(&r);
	if (!fits) {
		cJSON_Delete(p);
		return 0;
	}
	snprintf(bind, sizeof bind,
		 "{\"PodName\":\"%s\",\"PodNamespace\":\"%s\",\"PodUID\":\"%s\",\"Node\":\"%s\"}",
		 name, ns, get(get(p, "metadata"), "uid")->valuestring, node_out);
	cJSON_Delete(p);
	assert_int_equal(hx_post(D, "/bind", bind, &r), 0);
	if (strcmp(get(r.json, "Error")->valuestring, "") != 0)
		fail_msg("bind %s: %s", name, get(r.json, "Error")->valuestring);
	hx_resp_free(&r);
	return 1;
}
