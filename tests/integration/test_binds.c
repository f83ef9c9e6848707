/* Integration tests of binds beside scheduling (cluster mode, fake API
 * server): a bind that waits for the API server or for a node lock must not
 * delay filter, nor binds to other nodes; binds queued on one node go in
 * order and give up after --bind-wait-seconds with a message; a daemon
 * stopped with binds in flight exits cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct hx_fake F;
static struct hx_daemon D;

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void fake_ok(const char *method, const char *path, const char *body)
{
	struct hx_resp r;
	assert_int_equal(hx_fake_call(&F, method, path, NULL, body, &r), 0);
	if (r.status >= 300)
		fail_msg("%s %s: %ld %s", method, path, r.status, r.body ? r.body : "");
	hx_resp_free(&r);
}

static void add_node(const char *name)
{
	char body[1024], reg[256];
	snprintf(reg, sizeof reg,
		 "GPU-%s-0,10,24576,NVIDIA-L4,true,hami-core:GPU-%s-1,10,24576,NVIDIA-L4,true,"
		 "hami-core:",
		 name, name);
	snprintf(body, sizeof body,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\","
		 "\"annotations\":{\"volcano.sh/node-vgpu-register\":\"%s\"}},"
		 "\"status\":{\"allocatable\":{\"volcano.sh/vgpu-number\":\"20\"}}}",
		 name, reg);
	fake_ok("POST", "/fake/objects", body);
}

static void create_pod(const char *ns, const char *name)
{
	char body[1024], path[256];
	snprintf(body, sizeof body,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"%s\"},\"spec\":{\"schedulerName\":\"vgpu-scheduler\","
		 "\"containers\":[{\"name\":\"c\",\"image\":\"x\",\"resources\":{\"limits\":{"
		 "\"volcano.sh/vgpu-number\":\"1\",\"volcano.sh/vgpu-memory\":\"1000\","
		 "\"volcano.sh/vgpu-cores\":\"10\"}}}]}}",
		 name, ns);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", ns);
	fake_ok("POST", path, body);
}

/* prefix-0 .. prefix-(n-1) in namespace ns, then waits until the daemon
 * knows `known` pods in all. */
static void create_pods(const char *ns, const char *prefix, int n, int known);

static int pods_known(const cJSON *state, void *ud)
{
	int want = *(int *)ud, n = 0;
	const cJSON *p;
	cJSON_ArrayForEach (p, get(state, "pods")) {
		n++;
	}
	return n >= want;
}

static void wait_known(int pods)
{
	assert_int_equal(hx_wait_json(&D, "/debug/state", pods_known, &pods, 10000), 0);
}

static void create_pods(const char *ns, const char *prefix, int n, int known)
{
	char name[32];
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "%s-%d", prefix, i);
		create_pod(ns, name);
	}
	wait_known(known);
}

/* A bind in a thread of its own, as kube-scheduler's binding cycles run. */
struct bind_call {
	pthread_t th;
	char body[512];
	char err[512];
	int ok; /* -1 no answer, 0 error, 1 bound */
	double started, answered;
};

static void *bind_thread(void *arg)
{
	struct bind_call *b = arg;
	struct hx_resp r;
	b->started = now_ms();
	if (hx_post(&D, "/bind", b->body, &r) == 0 && r.json && get(r.json, "Error")) {
		const char *e = get(r.json, "Error")->valuestring;
		b->ok = *e == '\0';
		snprintf(b->err, sizeof b->err, "%s", e);
	}
	b->answered = now_ms();
	hx_resp_free(&r);
	return NULL;
}

static void bind_start(struct bind_call *b, const char *ns, const char *name, const char *node)
{
	memset(b, 0, sizeof *b);
	snprintf(b->body, sizeof b->body,
		 "{\"PodName\":\"%s\",\"PodNamespace\":\"%s\",\"Node\":\"%s\"}", name, ns, node);
	b->ok = -1;
	b->err[0] = '\0';
	assert_int_equal(pthread_create(&b->th, NULL, bind_thread, b), 0);
}

static void bind_wait(struct bind_call *b)
{
	pthread_join(b->th, NULL);
}

static int bind_now(const char *ns, const char *name, const char *node, char *err, size_t len)
{
	struct bind_call b = {0};
	bind_start(&b, ns, name, node);
	bind_wait(&b);
	snprintf(err, len, "%s", b.err);
	return b.ok;
}

static const char filter_body[] =
    "{\"Pod\":{\"metadata\":{\"name\":\"probe\",\"namespace\":\"x\",\"uid\":\"u-probe\"},"
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
    "\"volcano.sh/vgpu-memory\":\"500\"}}}]}},"
    "\"NodeNames\":[\"b1\",\"b2\",\"b3\",\"b4\",\"b5\",\"b6\",\"b7\",\"b8\",\"b9\",\"b10\"]}";

/* Worst latency of n filters in a row, in ms. */
static double filter_worst_ms(int n)
{
	double worst = 0;
	for (int i = 0; i < n; i++) {
		struct hx_resp r;
		double t0 = now_ms();
		assert_int_equal(hx_post(&D, "/filter", filter_body, &r), 0);
		double dt = now_ms() - t0;
		assert_int_equal(r.status, 200);
		assert_non_null(get(r.json, "NodeNames"));
		hx_resp_free(&r);
		worst = dt > worst ? dt : worst;
	}
	return worst;
}

static int start_pair(const char *wait_s)
{
	const char *none[] = {NULL};
	if (hx_fake_start(&F, none))
		return -1;
	char name[16];
	for (int i = 1; i <= 10; i++) {
		snprintf(name, sizeof name, "b%d", i);
		add_node(name);
	}
	/* Two HTTP threads, the default: a blocking bind would take one. */
	const char *args[] = {"--kubeconfig",        F.kubeconfig, "--log-level", "debug",
			      "--bind-wait-seconds", wait_s,       NULL};
	return hx_start(&D, args);
}

static int setup(void **state)
{
	(void)state;
	return start_pair("10");
}

static int teardown(void **state)
{
	(void)state;
	int a = hx_stop(&D), b = hx_fake_stop(&F);
	if (a)
		hx_dump_log(&D);
	return a == 0 && b == 0 ? 0 : -1;
}

/* The API server takes 2 s to answer each binding: ten binds wait on it,
 * and twenty filters meanwhile answer within 50 ms each. */
static void filters_do_not_wait_for_binds(void **state)
{
	(void)state;
	struct bind_call b[10];
	char name[32], node[16];
	create_pods("slow", "slow", 10, 10);
	fake_ok("POST", "/fake/faults",
		"{\"verb\":\"POST\",\"path\":\"/binding\",\"status\":0,\"delayMs\":2000,"
		"\"count\":10}");
	double t0 = now_ms();
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof name, "slow-%d", i);
		snprintf(node, sizeof node, "b%d", i + 1);
		bind_start(&b[i], "slow", name, node);
	}
	usleep(300 * 1000); /* the binds are now waiting on the API server */
	double worst = filter_worst_ms(20);
	print_message("worst filter with 10 binds waiting: %.1f ms\n", worst);
	assert_true(worst < 50.0);
	assert_true(now_ms() - t0 < 1900); /* the filters did not wait for a bind */
	for (int i = 0; i < 10; i++) {
		bind_wait(&b[i]);
		assert_int_equal(b[i].ok, 1);
		assert_true(b[i].answered - b[i].started >= 1900);
	}
	fake_ok("DELETE", "/fake/faults", NULL);
}

/* The device plugin holds node b1's lock for 3 s after a bind: a second
 * bind to b1 waits for it, while a bind to b2 goes through at once. */
static void held_lock_delays_only_its_node(void **state)
{
	(void)state;
	char err[512];
	create_pod("held", "h1");
	create_pod("held", "h2");
	create_pod("held", "h3");
	wait_known(13);
	fake_ok("POST", "/fake/faults",
		"{\"verb\":\"STANDIN\",\"path\":\"held/h1@\",\"status\":0,\"delayMs\":3000}");
	assert_int_equal(bind_now("held", "h1", "b1", err, sizeof err), 1);
	struct bind_call waiter;
	bind_start(&waiter, "held", "h2", "b1");
	usleep(200 * 1000);
	double t0 = now_ms();
	assert_int_equal(bind_now("held", "h3", "b2", err, sizeof err), 1);
	double other = now_ms() - t0;
	print_message("bind to another node while b1 is locked: %.1f ms\n", other);
	if (other >= 1000)
		hx_dump_log(&D);
	assert_true(other < 1000);
	bind_wait(&waiter);
	if (waiter.ok != 1)
		fail_msg("the waiting bind failed: %s", waiter.err);
	assert_true(waiter.answered - waiter.started >= 2000); /* it did wait for the lock */
}

/* Binds queued on one node are served in arrival order. */
static void waiters_are_served_in_order(void **state)
{
	(void)state;
	char name[32], err[512];
	create_pods("order", "o", 4, 17);
	fake_ok("POST", "/fake/faults",
		"{\"verb\":\"STANDIN\",\"path\":\"order/\",\"status\":0,\"delayMs\":400,"
		"\"count\":-1}");
	assert_int_equal(bind_now("order", "o-0", "b3", err, sizeof err), 1);
	struct bind_call b[3];
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "o-%d", i + 1);
		bind_start(&b[i], "order", name, "b3");
		usleep(50 * 1000);
	}
	for (int i = 0; i < 3; i++) {
		bind_wait(&b[i]);
		assert_int_equal(b[i].ok, 1);
	}
	assert_true(b[0].answered < b[1].answered);
	assert_true(b[1].answered < b[2].answered);
	fake_ok("DELETE", "/fake/faults", NULL);
}

/* The filter reason for a busy node, and its place in /debug/state. */
static int b4_busy(const cJSON *state, void *ud)
{
	(void)ud;
	const cJSON *n;
	cJSON_ArrayForEach (n, get(state, "nodes")) {
		if (!strcmp(get(n, "name")->valuestring, "b4"))
			return cJSON_IsTrue(get(n, "busy")) &&
			       cJSON_GetArraySize(get(n, "inflight"));
	}
	return 0;
}

static void busy_node_is_avoided(void **state)
{
	(void)state;
	char err[512];
	create_pod("busy", "k1");
	wait_known(18);
	fake_ok("POST", "/fake/faults",
		"{\"verb\":\"STANDIN\",\"path\":\"busy/k1@\",\"status\":0,\"delayMs\":3000}");
	assert_int_equal(bind_now("busy", "k1", "b4", err, sizeof err), 1);
	assert_int_equal(hx_wait_json(&D, "/debug/state", b4_busy, NULL, 5000), 0);
	struct hx_resp r;
	assert_int_equal(hx_post(&D, "/filter", filter_body, &r), 0);
	const cJSON *failed = get(r.json, "FailedNodes");
	assert_non_null(get(failed, "b4"));
	assert_string_equal(get(failed, "b4")->valuestring, "allocation in progress on this node");
	const cJSON *n;
	cJSON_ArrayForEach (n, get(r.json, "NodeNames")) {
		assert_string_not_equal(n->valuestring, "b4");
	}
	hx_resp_free(&r);
	assert_int_equal(hx_get(&D, "/metrics", &r), 0);
	const char *busy = strstr(r.body, "\nvgpu_extender_busy_nodes ");
	assert_non_null(busy);
	assert_true(atoi(busy + strlen("\nvgpu_extender_busy_nodes ")) >= 1);
	assert_non_null(strstr(r.body, "vgpu_extender_bind_lock_wait_seconds_count"));
	hx_resp_free(&r);
	fake_ok("DELETE", "/fake/faults", NULL);
}

/* With --bind-wait-seconds 1, a bind queued behind a lock held for 5 s
 * gives up after about a second, saying why. */
static void waiters_beyond_the_bound_fail(void **state)
{
	(void)state;
	char err[512];
	assert_int_equal(hx_stop(&D), 0);
	const char *args[] = {"--kubeconfig",        F.kubeconfig, "--log-level", "debug",
			      "--bind-wait-seconds", "1",          NULL};
	assert_int_equal(hx_start(&D, args), 0);
	create_pod("bound", "w1");
	create_pod("bound", "w2");
	wait_known(20);
	fake_ok("POST", "/fake/faults",
		"{\"verb\":\"STANDIN\",\"path\":\"bound/w1@\",\"status\":0,\"delayMs\":5000}");
	assert_int_equal(bind_now("bound", "w1", "b5", err, sizeof err), 1);
	double t0 = now_ms();
	assert_int_equal(bind_now("bound", "w2", "b5", err, sizeof err), 0);
	double waited = now_ms() - t0;
	print_message("gave up after %.0f ms: %s\n", waited, err);
	assert_true(waited >= 900 && waited < 4000);
	assert_non_null(strstr(err, "node b5 is busy"));
	assert_non_null(strstr(err, "hamivgpu"));
	/* The refused pod holds nothing: it can bind elsewhere at once. */
	assert_int_equal(bind_now("bound", "w2", "b6", err, sizeof err), 1);
	struct hx_resp r;
	assert_int_equal(hx_get(&D, "/metrics", &r), 0);
	assert_non_null(strstr(r.body, "vgpu_extender_bind_lock_timeouts_total 1"));
	hx_resp_free(&r);
	fake_ok("DELETE", "/fake/faults", NULL);
}

/* SIGTERM while binds wait on a slow API server: every bind is answered,
 * the daemon exits 0 (no leak under ASan), nothing is half-written. */
static void shutdown_with_binds_in_flight(void **state)
{
	(void)state;
	char name[32], node[16];
	struct bind_call b[6];
	create_pods("down", "down", 6, 26);
	fake_ok("POST", "/fake/faults",
		"{\"verb\":\"POST\",\"path\":\"/binding\",\"status\":0,\"delayMs\":1500,"
		"\"count\":3}");
	fake_ok("POST", "/fake/faults",
		"{\"verb\":\"STANDIN\",\"path\":\"down/\",\"status\":0,\"delayMs\":10000,"
		"\"count\":-1}");
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof name, "down-%d", i);
		snprintf(node, sizeof node, "b%d", i < 3 ? 7 + i : 10);
		bind_start(&b[i], "down", name, node);
	}
	usleep(500 * 1000);
	assert_int_equal(hx_stop(&D), 0);
	for (int i = 0; i < 6; i++) {
		bind_wait(&b[i]);
		assert_int_not_equal(b[i].ok, -1); /* answered, one way or the other */
	}
	/* Whatever was bound carries its devices; whatever was not holds none. */
	struct hx_resp r;
	assert_int_equal(hx_fake_call(&F, "GET", "/api/v1/namespaces/down/pods", NULL, NULL, &r),
			 0);
	const cJSON *p;
	int bound = 0;
	cJSON_ArrayForEach (p, get(r.json, "items")) {
		const cJSON *ann = get(get(p, "metadata"), "annotations");
		bool has_node = get(get(p, "spec"), "nodeName") != NULL;
		bound += has_node;
		assert_true(has_node == (get(ann, "volcano.sh/vgpu-ids-new") != NULL));
	}
	hx_resp_free(&r);
	print_message("%d of 6 binds went through before the daemon stopped\n", bound);
	fake_ok("DELETE", "/fake/faults", NULL);
	const char *args[] = {"--kubeconfig", F.kubeconfig, NULL};
	assert_int_equal(hx_start(&D, args), 0); /* for teardown */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(filters_do_not_wait_for_binds),
	    cmocka_unit_test(held_lock_delays_only_its_node),
	    cmocka_unit_test(waiters_are_served_in_order),
	    cmocka_unit_test(busy_node_is_avoided),
	    cmocka_unit_test(waiters_beyond_the_bound_fail),
	    cmocka_unit_test(shutdown_with_binds_in_flight),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
