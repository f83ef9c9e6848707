/* Integration tests of cluster mode: the real daemon against the project's
 * fake API server over HTTPS with a bearer token. After every scenario the
 * daemon's /debug/state must equal the usage recomputed from the fake's
 * pods, and no GPU may be over-committed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REG(n)                                                                                     \
	"GPU-" n "-0,10,24576,NVIDIA-L4,true,hami-core:GPU-" n                                     \
	"-1,10,24576,NVIDIA-L4,true,hami-core:"

static struct hx_fake F;
static struct hx_daemon D;

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static void fake_ok(const char *method, const char *path, const char *ctype, const char *body)
{
	struct hx_resp r;
	assert_int_equal(hx_fake_call(&F, method, path, ctype, body, &r), 0);
	if (r.status >= 300)
		fail_msg("%s %s: %ld %s", method, path, r.status, r.body ? r.body : "");
	hx_resp_free(&r);
}

static void add_node(const char *name, const char *reg)
{
	char body[1024];
	snprintf(body, sizeof body,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\","
		 "\"annotations\":{\"volcano.sh/node-vgpu-register\":\"%s\"}},"
		 "\"status\":{\"allocatable\":{\"volcano.sh/vgpu-number\":\"20\"}}}",
		 name, reg);
	fake_ok("POST", "/fake/objects", NULL, body);
}

static void create_pod(const char *ns, const char *name, int mem, int cores)
{
	char body[1024], path[256];
	snprintf(body, sizeof body,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"%s\"},\"spec\":{\"schedulerName\":\"vgpu-scheduler\","
		 "\"containers\":[{\"name\":\"c\",\"image\":\"x\",\"resources\":{\"limits\":{"
		 "\"volcano.sh/vgpu-number\":\"1\",\"volcano.sh/vgpu-memory\":\"%d\","
		 "\"volcano.sh/vgpu-cores\":\"%d\"}}}]}}",
		 name, ns, mem, cores);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", ns);
	fake_ok("POST", path, NULL, body);
}

static cJSON *fake_get(const char *path)
{
	struct hx_resp r;
	assert_int_equal(hx_fake_call(&F, "GET", path, NULL, NULL, &r), 0);
	cJSON *j = r.json;
	r.json = NULL;
	if (r.status != 200) {
		cJSON_Delete(j);
		j = NULL;
	}
	hx_resp_free(&r);
	return j;
}

/* Filter, prioritize and bind one pod as kube-scheduler would. Returns 0
 * bound, 1 no node fits, -1 bind error (message in err). */
static int schedule(const char *ns, const char *name, char *node, char *err, size_t errlen)
{
	char path[256];
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", ns, name);
	cJSON *pod = fake_get(path);
	assert_non_null(pod);
	cJSON *args = cJSON_CreateObject();
	cJSON_AddItemToObject(args, "Pod", pod);
	cJSON_AddNullToObject(args, "Nodes");
	cJSON *names = cJSON_AddArrayToObject(args, "NodeNames");
	cJSON *nodes = fake_get("/api/v1/nodes");
	const cJSON *n;
	cJSON_ArrayForEach (n, get(nodes, "items")) {
		cJSON_AddItemToArray(
		    names, cJSON_CreateString(get(get(n, "metadata"), "name")->valuestring));
	}
	cJSON_Delete(nodes);
	char *body = cJSON_PrintUnformatted(args);
	struct hx_resp r;
	assert_int_equal(hx_post(&D, "/filter", body, &r), 0);
	assert_int_equal(r.status, 200);
	const cJSON *ok = get(r.json, "NodeNames");
	int fits = cJSON_GetArraySize(ok);
	if (fits)
		snprintf(node, 64, "%s", cJSON_GetArrayItem(ok, 0)->valuestring);
	hx_resp_free(&r);
	free(body);
	if (!fits) {
		cJSON_Delete(args);
		return 1;
	}
	char bind[512];
	snprintf(bind, sizeof bind,
		 "{\"PodName\":\"%s\",\"PodNamespace\":\"%s\",\"PodUID\":\"%s\",\"Node\":\"%s\"}",
		 name, ns, get(get(pod, "metadata"), "uid")->valuestring, node);
	cJSON_Delete(args);
	assert_int_equal(hx_post(&D, "/bind", bind, &r), 0);
	assert_int_equal(r.status, 200);
	const char *e = get(r.json, "Error")->valuestring;
	snprintf(err, errlen, "%s", e);
	int rc = *e ? -1 : 0;
	hx_resp_free(&r);
	return rc;
}

struct usage {
	char uuid[64];
	int slots, cores;
	long long mem;
};

/* Per-GPU usage as the API server's pods say it should be. */
static int expected_usage(struct usage *u, int max)
{
	int n = 0;
	cJSON *pods = fake_get("/api/v1/pods");
	const cJSON *p;
	cJSON_ArrayForEach (p, get(pods, "items")) {
		const cJSON *ann = get(get(p, "metadata"), "annotations");
		const cJSON *ids = get(ann, "volcano.sh/vgpu-ids-new");
		const cJSON *bp = get(ann, "volcano.sh/bind-phase");
		const char *phase = get(get(p, "status"), "phase")->valuestring;
		if (!cJSON_IsString(ids) || !strcmp(phase, "Succeeded") ||
		    !strcmp(phase, "Failed") ||
		    (cJSON_IsString(bp) && !strcmp(bp->valuestring, "failed")))
			continue;
		char uuid[64];
		int mem, cores;
		const char *s = ids->valuestring;
		while (sscanf(s, "%63[^,],NVIDIA,%d,%d:", uuid, &mem, &cores) == 3) {
			int k = 0;
			while (k < n && strcmp(u[k].uuid, uuid))
				k++;
			if (k == n && n < max)
				snprintf(u[n++].uuid, sizeof u->uuid, "%s", uuid);
			u[k].slots++;
			u[k].mem += mem;
			u[k].cores += cores;
			s = strchr(s, ':') + 1;
			if (*s == ';')
				s++;
		}
	}
	cJSON_Delete(pods);
	return n;
}

/* 1 when every GPU in /debug/state carries exactly the expected usage. */
static int state_matches(const cJSON *state, void *ud)
{
	(void)ud;
	struct usage u[256] = {0};
	int n = expected_usage(u, 256), seen = 0;
	const cJSON *node, *g;
	cJSON_ArrayForEach (node, get(state, "nodes")) {
		cJSON_ArrayForEach (g, get(node, "gpus")) {
			const char *uuid = get(g, "uuid")->valuestring;
			int slots = get(g, "usedSlots")->valueint,
			    cores = get(g, "usedCores")->valueint;
			long long mem = (long long)get(g, "usedMemoryMiB")->valuedouble;
			if (slots > get(g, "slots")->valueint || cores > 100 ||
			    mem > (long long)get(g, "memoryMiB")->valuedouble)
				fail_msg("GPU %s over-committed: %d slots, %lld MiB, %d cores",
					 uuid, slots, mem, cores);
			int k = 0;
			while (k < n && strcmp(u[k].uuid, uuid))
				k++;
			struct usage want = k < n ? u[k] : (struct usage){{0}, 0, 0, 0};
			if (want.slots != slots || want.mem != mem || want.cores != cores)
				return 0;
			seen += k < n;
		}
	}
	return 1;
}

static void assert_consistent(void)
{
	if (hx_wait_json(&D, "/debug/state", state_matches, NULL, 10000) != 0) {
		hx_dump_log(&D);
		fail_msg("the daemon's state never matched the API server's pods");
	}
}

static int setup(void **state)
{
	(void)state;
	const char *none[] = {NULL};
	if (hx_fake_start(&F, none))
		return -1;
	add_node("n1", REG("n1"));
	add_node("n2", REG("n2"));
	add_node("n3", REG("n3"));
	const char *args[] = {"--kubeconfig",         F.kubeconfig, "--log-level", "debug",
			      "--stale-lock-seconds", "1",          NULL};
	return hx_start(&D, args);
}

static int teardown(void **state)
{
	(void)state;
	int a = hx_stop(&D), b = hx_fake_stop(&F);
	return a == 0 && b == 0 ? 0 : -1;
}

static int no_locks(void)
{
	cJSON *nodes = fake_get("/api/v1/nodes");
	const cJSON *n;
	int locked = 0;
	cJSON_ArrayForEach (n, get(nodes, "items")) {
		locked += get(get(get(n, "metadata"), "annotations"), "hamivgpu") != NULL;
	}
	cJSON_Delete(nodes);
	return !locked;
}

static void wait_unlocked(void)
{
	for (int i = 0; i < 100 && !no_locks(); i++)
		usleep(50000);
	assert_true(no_locks());
}

static void batch_end_to_end(void **state)
{
	(void)state;
	char name[32], node[64], err[512];
	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof name, "batch-%d", i);
		create_pod("team", name, 2000, 10);
	}
	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof name, "batch-%d", i);
		if (schedule("team", name, node, err, sizeof err) != 0)
			fail_msg("%s: %s", name, err);
	}
	cJSON *pod = fake_get("/api/v1/namespaces/team/pods/batch-0");
	assert_non_null(get(get(pod, "spec"), "nodeName"));
	const cJSON *ann = get(get(pod, "metadata"), "annotations");
	assert_non_null(get(ann, "volcano.sh/vgpu-ids-new"));
	assert_non_null(get(ann, "volcano.sh/devices-to-allocate"));
	assert_non_null(get(ann, "volcano.sh/bind-time"));
	cJSON_Delete(pod);
	wait_unlocked();
	assert_consistent();
	/* A bind for a pod already bound to that node succeeds again. */
	pod = fake_get("/api/v1/namespaces/team/pods/batch-0");
	char body[512];
	snprintf(
	    body, sizeof body,
	    "{\"PodName\":\"batch-0\",\"PodNamespace\":\"team\",\"PodUID\":\"%s\",\"Node\":\"%s\"}",
	    get(get(pod, "metadata"), "uid")->valuestring,
	    get(get(pod, "spec"), "nodeName")->valuestring);
	cJSON_Delete(pod);
	struct hx_resp r;
	assert_int_equal(hx_post(&D, "/bind", body, &r), 0);
	assert_string_equal(get(r.json, "Error")->valuestring, "");
	hx_resp_free(&r);
}

static void bind_failures_roll_back(void **state)
{
	(void)state;
	char node[64], err[512];
	create_pod("team", "unlucky", 1000, 5);
	/* More 500s than the client retries: the bind fails and leaves nothing. */
	fake_ok("POST", "/fake/faults", NULL,
		"{\"verb\":\"POST\",\"path\":\"/binding\",\"count\":10,\"status\":500}");
	assert_int_equal(schedule("team", "unlucky", node, err, sizeof err), -1);
	assert_non_null(strstr(err, "binding team/unlucky"));
	fake_ok("DELETE", "/fake/faults", NULL, NULL);
	assert_true(no_locks());
	cJSON *pod = fake_get("/api/v1/namespaces/team/pods/unlucky");
	assert_null(get(get(pod, "spec"), "nodeName"));
	assert_null(get(get(get(pod, "metadata"), "annotations"), "volcano.sh/vgpu-ids-new"));
	cJSON_Delete(pod);
	cJSON *events = fake_get("/api/v1/namespaces/team/events");
	const cJSON *ev;
	int failed_binding = 0;
	cJSON_ArrayForEach (ev, get(events, "items")) {
		failed_binding +=
		    !strcmp(get(ev, "reason")->valuestring, "FailedBinding") &&
		    !strcmp(get(get(ev, "involvedObject"), "name")->valuestring, "unlucky");
	}
	cJSON_Delete(events);
	assert_true(failed_binding >= 1);
	assert_consistent();
	/* One 409 on the node lock and two 500s on the binding are retried. */
	fake_ok("POST", "/fake/faults", NULL,
		"[{\"verb\":\"PATCH\",\"path\":\"/api/v1/nodes/\",\"count\":1,\"status\":409},"
		"{\"verb\":\"POST\",\"path\":\"/"
		"binding\",\"count\":2,\"status\":503,\"retryAfter\":0}]");
	if (schedule("team", "unlucky", node, err, sizeof err) != 0)
		fail_msg("retry: %s", err);
	fake_ok("DELETE", "/fake/faults", NULL, NULL);
	wait_unlocked();
	assert_consistent();
}

static int pod_listed(const cJSON *state, void *ud)
{
	const cJSON *p;
	cJSON_ArrayForEach (p, get(state, "pods")) {
		if (!strcmp(get(p, "name")->valuestring, ud))
			return 1;
	}
	return 0;
}

static int pod_gone(const cJSON *state, void *ud)
{
	return !pod_listed(state, ud);
}

static void watch_drops_and_410(void **state)
{
	(void)state;
	char node[64], err[512];
	fake_ok("POST", "/fake/close-watches", NULL, "");
	create_pod("team", "after-drop", 1000, 5);
	assert_int_equal(hx_wait_json(&D, "/debug/state", pod_listed, "after-drop", 10000), 0);
	assert_int_equal(schedule("team", "after-drop", node, err, sizeof err), 0);
	/* Compact, then delete while the daemon cannot resume: it must relist. */
	fake_ok("POST", "/fake/compact", NULL, "");
	fake_ok("POST", "/fake/close-watches", NULL, "");
	fake_ok("DELETE", "/api/v1/namespaces/team/pods/after-drop", NULL, NULL);
	fake_ok("POST", "/fake/compact", NULL, "");
	assert_int_equal(hx_wait_json(&D, "/debug/state", pod_gone, "after-drop", 10000), 0);
	assert_consistent();
}

static void corrupt_ids_and_node_changes(void **state)
{
	(void)state;
	/* A pod with a corrupt vgpu-ids-new is logged and ignored. */
	fake_ok("POST", "/fake/objects", NULL,
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"corrupt\","
		"\"namespace\":\"team\",\"annotations\":{\"volcano.sh/vgpu-ids-new\":"
		"\"GPU-n1-0,NVIDIA,lots,5:\",\"volcano.sh/bind-phase\":\"success\"}},"
		"\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\",\"resources\":{"
		"\"limits\":{\"volcano.sh/"
		"vgpu-memory\":\"1\"}}}]},\"status\":{\"phase\":\"Running\"}}");
	assert_int_equal(hx_wait_json(&D, "/debug/state", pod_listed, "corrupt", 10000), 0);
	fake_ok("DELETE", "/api/v1/namespaces/team/pods/corrupt", NULL, NULL);
	assert_consistent();
	/* The device plugin re-registers n2 with one GPU fewer. */
	fake_ok("PATCH", "/api/v1/nodes/n2", "application/merge-patch+json",
		"{\"metadata\":{\"annotations\":{\"volcano.sh/node-vgpu-register\":"
		"\"GPU-n2-0,10,24576,NVIDIA-L4,true,hami-core:\"}}}");
	fake_ok("DELETE", "/api/v1/nodes/n3", NULL, NULL);
	int ok = 0;
	for (int i = 0; i < 100 && !ok; i++, usleep(50000)) {
		struct hx_resp r;
		assert_int_equal(hx_get(&D, "/debug/state", &r), 0);
		const cJSON *n;
		int n2_gpus = -1, n3_seen = 0;
		cJSON_ArrayForEach (n, get(r.json, "nodes")) {
			const char *name = get(n, "name")->valuestring;
			if (!strcmp(name, "n2"))
				n2_gpus = cJSON_GetArraySize(get(n, "gpus"));
			n3_seen |= !strcmp(name, "n3");
		}
		ok = n2_gpus == 1 && !n3_seen;
		hx_resp_free(&r);
	}
	assert_true(ok);
	/* Pods of the deleted node stay listed; capacity that is gone is not counted. */
	add_node("n3", REG("n3"));
	fake_ok("PATCH", "/api/v1/nodes/n2", "application/merge-patch+json",
		"{\"metadata\":{\"annotations\":{\"volcano.sh/node-vgpu-register\":\"" REG(
		    "n2") "\"}}}");
	assert_consistent();
}

static void stale_lock_is_removed(void **state)
{
	(void)state;
	/* A lock left behind by a lost device-plugin reply: no pod is allocating. */
	char body[256], ts[32];
	time_t t = time(NULL) - 5;
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	snprintf(body, sizeof body, "{\"metadata\":{\"annotations\":{\"hamivgpu\":\"%s\"}}}", ts);
	fake_ok("PATCH", "/api/v1/nodes/n1", "application/merge-patch+json", body);
	assert_false(no_locks());
	for (int i = 0; i < 100 && !no_locks(); i++)
		usleep(50000);
	assert_true(no_locks());
}

struct binder {
	char body[512];
	int ok;
};

static void *bind_one(void *arg)
{
	struct binder *b = arg;
	struct hx_resp r;
	if (hx_post(&D, "/bind", b->body, &r) == 0 && r.json)
		b->ok = strcmp(get(r.json, "Error")->valuestring, "") == 0;
	hx_resp_free(&r);
	return NULL;
}

/* Eight binds at once onto one 10,000 MiB GPU with room for three 3,000 MiB
 * slices: three win, and the API server ends up with exactly three bound. */
static void concurrent_binds_one_node(void **state)
{
	(void)state;
	char name[32], path[128];
	struct binder b[8] = {0};
	pthread_t th[8];
	add_node("tiny", "GPU-tiny-0,10,10000,NVIDIA-T4,true,hami-core:");
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof name, "race-%d", i);
		create_pod("race", name, 3000, 0);
	}
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof name, "race-%d", i);
		snprintf(path, sizeof path, "/api/v1/namespaces/race/pods/%s", name);
		assert_int_equal(hx_wait_json(&D, "/debug/state", pod_listed, name, 10000), 0);
		cJSON *pod = fake_get(path);
		snprintf(b[i].body, sizeof b[i].body,
			 "{\"PodName\":\"race-%d\",\"PodNamespace\":\"race\",\"PodUID\":\"%s\","
			 "\"Node\":\"tiny\"}",
			 i, get(get(pod, "metadata"), "uid")->valuestring);
		b[i].ok = -1;
		cJSON_Delete(pod);
	}
	for (int i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, bind_one, &b[i]);
	int won = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_not_equal(b[i].ok, -1);
		won += b[i].ok;
	}
	assert_int_equal(won, 3);
	cJSON *pods = fake_get("/api/v1/namespaces/race/pods");
	const cJSON *p;
	int bound = 0;
	cJSON_ArrayForEach (p, get(pods, "items")) {
		bound += get(get(p, "spec"), "nodeName") != NULL;
	}
	cJSON_Delete(pods);
	assert_int_equal(bound, 3);
	wait_unlocked();
	assert_consistent();
}

static void restart_during_churn(void **state)
{
	(void)state;
	char name[32], node[64], err[512];
	const char *args[] = {"--kubeconfig", F.kubeconfig, NULL};
	int live_from = 0, kills = 0, churn = getenv("VX_CHURN") ? atoi(getenv("VX_CHURN")) : 1000;
	srand((unsigned)time(NULL));
	for (int i = 0; i < churn; i++) {
		snprintf(name, sizeof name, "churn-%d", i);
		create_pod("churn", name, 1000 + 100 * (i % 7), 5 * (i % 3));
		int rc = schedule("churn", name, node, err, sizeof err);
		if (rc < 0 && !strstr(err, "no longer fits") && !strstr(err, "locked"))
			fail_msg("%s: %s", name, err);
		/* Keep about 40 pods alive so the 60 slots never run out. */
		while (i - live_from >= 40) {
			char path[128];
			snprintf(path, sizeof path, "/api/v1/namespaces/churn/pods/churn-%d",
				 live_from++);
			fake_ok("DELETE", path, NULL, NULL);
		}
		if (rand() % (churn / 4 + 1) == 0) {
			/* A crash at an arbitrary point: no shutdown, no flush. */
			hx_kill(&D);
			kills++;
			assert_int_equal(hx_start(&D, args), 0);
		}
	}
	if (!kills) {
		hx_kill(&D);
		assert_int_equal(hx_start(&D, args), 0);
	}
	wait_unlocked();
	assert_consistent();
}

static int is_leader(struct hx_daemon *d)
{
	struct hx_resp r;
	int leader = hx_get(d, "/metrics", &r) == 0 && r.body &&
		     strstr(r.body, "\nvgpu_extender_leader 1\n");
	hx_resp_free(&r);
	return leader;
}

static void leader_election(void **state)
{
	(void)state;
	struct hx_daemon a, b;
	char node[64], err[512];
	const char *args[] = {"--kubeconfig",     F.kubeconfig, "--leader-elect",
			      "--lease-duration", "2",          NULL};
	assert_int_equal(hx_start(&a, args), 0);
	assert_int_equal(hx_start(&b, args), 0);
	int one = 0;
	for (int i = 0; i < 100 && !one; i++, usleep(50000))
		one = is_leader(&a) + is_leader(&b) == 1;
	assert_true(one);
	struct hx_daemon *leader = is_leader(&a) ? &a : &b, *follower = leader == &a ? &b : &a;
	/* The follower refuses to bind. */
	struct hx_daemon saved = D;
	D = *follower;
	create_pod("ha", "p1", 1000, 5);
	assert_int_equal(hx_wait_json(&D, "/debug/state", pod_listed, "p1", 10000), 0);
	assert_int_equal(schedule("ha", "p1", node, err, sizeof err), -1);
	assert_non_null(strstr(err, "not the leader"));
	/* The leader dies; the follower takes over once the lease runs out. */
	hx_kill(leader);
	int took_over = 0;
	for (int i = 0; i < 200 && !took_over; i++, usleep(50000))
		took_over = is_leader(follower);
	assert_true(took_over);
	if (schedule("ha", "p1", node, err, sizeof err) != 0)
		fail_msg("after take-over: %s", err);
	D = saved;
	assert_int_equal(hx_stop(follower), 0);
}

static void readyz_waits_for_the_first_list(void **state)
{
	(void)state;
	struct hx_daemon d;
	fake_ok("POST", "/fake/faults", NULL,
		"{\"verb\":\"GET\",\"path\":\"/api/v1/pods\",\"watch\":false,\"count\":12,"
		"\"status\":500}");
	const char *args[] = {"--kubeconfig", F.kubeconfig, NULL};
	assert_int_equal(hx_spawn(&d, args), 0);
	int saw_503 = 0;
	for (int i = 0; i < 40 && !saw_503; i++, usleep(25000)) {
		struct hx_resp r;
		saw_503 = hx_get(&d, "/readyz", &r) == 0 && r.status == 503;
		hx_resp_free(&r);
	}
	assert_true(saw_503);
	/* Meanwhile filter answers an Error, so kube-scheduler retries the pod. */
	struct hx_resp r;
	const char *vgpu_pod = "{\"Pod\":{\"spec\":{\"containers\":[{\"resources\":{\"limits\":{"
			       "\"volcano.sh/vgpu-memory\":\"10\"}}}]}},\"NodeNames\":[\"n1\"]}";
	assert_int_equal(hx_post(&d, "/filter", vgpu_pod, &r), 0);
	/* The first lists fail for seconds (12 faults, each retried): still syncing. */
	int not_synced = r.body && strstr(r.body, "not synced") != NULL;
	hx_resp_free(&r);
	assert_true(not_synced);
	/* A pod without vGPUs is not held up. */
	assert_int_equal(hx_post(&d, "/filter", "{\"Pod\":{},\"NodeNames\":[\"n1\"]}", &r), 0);
	assert_int_equal(cJSON_GetArraySize(get(r.json, "NodeNames")), 1);
	hx_resp_free(&r);
	assert_int_equal(hx_wait_ready(&d, 20000), 0);
	fake_ok("DELETE", "/fake/faults", NULL, NULL);
	assert_int_equal(hx_stop(&d), 0);
}

static void bad_kubeconfig(void **state)
{
	(void)state;
	char *out = NULL;
	const char *path = hx_tmpfile("apiVersion: v1\ncurrent-context: nope\n", ".yaml");
	const char *argv[] = {hx_bin("vgpu-extender"), "--kubeconfig", path, NULL};
	assert_int_equal(hx_run(argv, &out), 2);
	assert_non_null(strstr(out, path));
	free(out);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(batch_end_to_end),
	    cmocka_unit_test(bind_failures_roll_back),
	    cmocka_unit_test(watch_drops_and_410),
	    cmocka_unit_test(corrupt_ids_and_node_changes),
	    cmocka_unit_test(stale_lock_is_removed),
	    cmocka_unit_test(concurrent_binds_one_node),
	    cmocka_unit_test(restart_during_churn),
	    cmocka_unit_test(leader_election),
	    cmocka_unit_test(readyz_waits_for_the_first_list),
	    cmocka_unit_test(bad_kubeconfig),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
