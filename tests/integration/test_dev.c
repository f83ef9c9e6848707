/* Integration tests of dev mode as a whole: the built-in demo cluster,
 * pending pods from the cluster file, the persisted clock, HTTPS serving. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static void demo_cluster_by_default(void **state)
{
	(void)state;
	struct hx_daemon d;
	const char *args[] = {"--dev", NULL};
	assert_int_equal(hx_start(&d, args), 0);
	struct hx_resp r;
	assert_int_equal(hx_get(&d, "/debug/state", &r), 0);
	const cJSON *nodes = get(r.json, "nodes");
	assert_int_equal(cJSON_GetArraySize(nodes), 2);
	const cJSON *n;
	cJSON_ArrayForEach (n, nodes) {
		const cJSON *gpus = get(n, "gpus");
		assert_int_equal(cJSON_GetArraySize(gpus), 2);
		assert_int_equal(get(cJSON_GetArrayItem(gpus, 0), "memoryMiB")->valueint, 24576);
		assert_int_equal(get(cJSON_GetArrayItem(gpus, 0), "slots")->valueint, 10);
	}
	hx_resp_free(&r);
	assert_int_equal(hx_stop(&d), 0);
}

static int all_placed(const cJSON *state, void *ud)
{
	const char *want = ud; /* the one pod that must wait, or NULL for none */
	const cJSON *p;
	int running = 0, waiting = 0, named = 0;
	cJSON_ArrayForEach (p, get(state, "pods")) {
		const char *st = get(p, "status")->valuestring;
		running += !strcmp(st, "Running");
		waiting += !strcmp(st, "Submitted");
		named +=
		    want && !strcmp(get(p, "name")->valuestring, want) && !strcmp(st, "Submitted");
	}
	return running == 2 && waiting == (want ? 1 : 0) && named == (want ? 1 : 0);
}

static void pending_pods_from_the_cluster_file(void **state)
{
	(void)state;
	const char *yaml =
	    "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  annotations:\n"
	    "    volcano.sh/node-vgpu-register: \"GPU-1,10,16000,NVIDIA-T4,true,hami-core:\"\n"
	    "status:\n  allocatable:\n    volcano.sh/vgpu-number: \"10\"\n"
	    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: first\nspec:\n  containers:\n"
	    "  - name: c\n    resources:\n      limits:\n        volcano.sh/vgpu-memory: 8000\n"
	    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: second\nspec:\n  containers:\n"
	    "  - name: c\n    resources:\n      limits:\n        volcano.sh/vgpu-memory: 8000\n"
	    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: third\nspec:\n  containers:\n"
	    "  - name: c\n    resources:\n      limits:\n        volcano.sh/vgpu-memory: 8000\n";
	const char *file = hx_tmpfile(yaml, ".yaml");
	struct hx_daemon d;
	const char *args[] = {"--dev", "--cluster", file, NULL};
	assert_int_equal(hx_start(&d, args), 0);
	/* 16000 MiB holds two 8000 MiB pods; the third, created last, waits. */
	assert_int_equal(hx_wait_json(&d, "/debug/state", all_placed, "third", 5000), 0);
	struct hx_resp r;
	assert_int_equal(hx_get(&d, "/api/v1/jobs", &r), 0);
	assert_int_equal(cJSON_GetArraySize(r.json), 3);
	const cJSON *row;
	int explained = 0;
	cJSON_ArrayForEach (row, r.json) {
		const cJSON *msg = get(row, "message");
		if (!strcmp(get(row, "name")->valuestring, "third"))
			explained = cJSON_IsString(msg) &&
				    strstr(msg->valuestring, "insufficient memory") != NULL;
		else
			assert_null(msg);
	}
	assert_true(explained); /* the waiting pod says why */
	hx_resp_free(&r);
	/* Deleting a running pod frees room for the waiting one. */
	char url[256];
	snprintf(url, sizeof url, "%s/api/v1/jobs/default/first", d.url);
	assert_int_equal(hx_http("DELETE", url, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	hx_resp_free(&r);
	assert_int_equal(hx_wait_json(&d, "/debug/state", all_placed, NULL, 5000), 0);
	assert_int_equal(hx_stop(&d), 0);
	unlink(file);
}

static int count_in_log(const struct hx_daemon *d, const char *what)
{
	FILE *f = fopen(d->log_path, "r");
	char line[2048];
	int n = 0;
	assert_non_null(f);
	while (fgets(line, sizeof line, f))
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

static int log_has(const struct hx_daemon *d, const char *what, int times)
{
	for (int waited = 0; waited < 5000; waited += 50) {
		if (count_in_log(d, what) >= times)
			return count_in_log(d, what);
		usleep(50000);
	}
	return count_in_log(d, what);
}

/* What the log says at 3 a.m.: a waiting pod once per reason, not once per
 * pass, and one line summing up the waiting pods at most once a minute. */
static void waiting_pods_in_the_log(void **state)
{
	(void)state;
	const char *yaml =
	    "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  annotations:\n"
	    "    volcano.sh/node-vgpu-register: \"GPU-1,10,16000,NVIDIA-T4,true,hami-core:\"\n"
	    "status:\n  allocatable:\n    volcano.sh/vgpu-number: \"10\"\n"
	    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: first\nspec:\n  containers:\n"
	    "  - name: c\n    resources:\n      limits:\n        volcano.sh/vgpu-memory: 16000\n"
	    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: second\nspec:\n  containers:\n"
	    "  - name: c\n    resources:\n      limits:\n        volcano.sh/vgpu-memory: 8000\n";
	const char *file = hx_tmpfile(yaml, ".yaml");
	struct hx_daemon d;
	struct hx_resp r;
	const char *args[] = {"--dev", "--cluster", file, NULL};
	assert_int_equal(hx_start(&d, args), 0);
	const char *waits = "INFO  dev: pod default/second waits: 0/1 nodes fit: 1 insufficient "
			    "memory (best free 0 MiB, needs 8000 MiB)\n";
	assert_int_equal(log_has(&d, waits, 1), 1);
	assert_int_equal(log_has(&d, "INFO  dev: 1 pod waiting: 1 insufficient memory\n", 1), 1);
	/* Every pod created wakes the loop: second is tried again each time. */
	for (int i = 0; i < 5; i++) {
		char body[256];
		snprintf(body, sizeof body,
			 "{\"metadata\":{\"name\":\"more-%d\"},\"spec\":{\"containers\":[{\"name\":"
			 "\"c\",\"resources\":{\"limits\":{\"volcano.sh/vgpu-memory\":8000}}}]}}",
			 i);
		assert_int_equal(hx_post(&d, "/api/v1/pods", body, &r), 0);
		assert_int_equal(r.status, 201);
		hx_resp_free(&r);
	}
	assert_int_equal(log_has(&d, "dev: pod default/more-4 waits: ", 1), 1);
	assert_int_equal(count_in_log(&d, "dev: pod default/second waits: "), 1);
	assert_int_equal(count_in_log(&d, " pod waiting: "), 1); /* not a minute yet */
	/* A minute later (on the daemon's clock): one more summary. */
	assert_int_equal(hx_post(&d, "/debug/clock/advance?seconds=61", "", &r), 0);
	hx_resp_free(&r);
	assert_int_equal(log_has(&d, "INFO  dev: 6 pods waiting: 6 insufficient memory\n", 1), 1);
	assert_int_equal(count_in_log(&d, "dev: pod default/second waits: "), 1);
	assert_int_equal(hx_stop(&d), 0);
	unlink(file);
}

struct binder {
	struct hx_daemon *d;
	int i;
	int ok;
};

static void *bind_one(void *arg)
{
	struct binder *b = arg;
	char body[256];
	struct hx_resp r;
	snprintf(body, sizeof body,
		 "{\"PodName\":\"race-%d\",\"PodNamespace\":\"default\",\"PodUID\":\"\","
		 "\"Node\":\"solo\"}",
		 b->i);
	if (hx_post(b->d, "/bind", body, &r) == 0 && r.json)
		b->ok = strcmp(get(r.json, "Error")->valuestring, "") == 0 ? 1 : 0;
	hx_resp_free(&r);
	return NULL;
}

/* Eight pods pass filter on an empty 10,000 MiB GPU; only three 3,000 MiB
 * slices fit. Bound concurrently, exactly three must win and the GPU must
 * never be over-committed: GPUs are chosen at bind under the write lock. */
static void concurrent_binds_never_overcommit(void **state)
{
	(void)state;
	const char *yaml =
	    "apiVersion: v1\nkind: Node\nmetadata:\n  name: solo\n  annotations:\n"
	    "    volcano.sh/node-vgpu-register: \"GPU-s,10,10000,NVIDIA-T4,true,hami-core:\"\n"
	    "status:\n  allocatable:\n    volcano.sh/vgpu-number: \"10\"\n";
	const char *file = hx_tmpfile(yaml, ".yaml");
	struct hx_daemon d;
	const char *args[] = {"--dev", "--cluster", file, "--threads", "4", NULL};
	assert_int_equal(hx_start(&d, args), 0);
	for (int i = 0; i < 8; i++) {
		char body[1024];
		struct hx_resp r;
		snprintf(body, sizeof body,
			 "{\"Pod\":{\"metadata\":{\"name\":\"race-%d\",\"namespace\":\"default\"},"
			 "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
			 "\"volcano.sh/vgpu-memory\":\"3000\"}}}]}},\"NodeNames\":[\"solo\"]}",
			 i);
		assert_int_equal(hx_post(&d, "/filter", body, &r), 0);
		assert_int_equal(cJSON_GetArraySize(get(r.json, "NodeNames")), 1);
		hx_resp_free(&r);
	}
	pthread_t th[8];
	struct binder b[8];
	for (int i = 0; i < 8; i++) {
		b[i] = (struct binder){&d, i, -1};
		pthread_create(&th[i], NULL, bind_one, &b[i]);
	}
	int won = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_not_equal(b[i].ok, -1);
		won += b[i].ok;
	}
	assert_int_equal(won, 3);
	struct hx_resp r;
	assert_int_equal(hx_get(&d, "/debug/state", &r), 0);
	const cJSON *g =
	    cJSON_GetArrayItem(get(cJSON_GetArrayItem(get(r.json, "nodes"), 0), "gpus"), 0);
	assert_int_equal(get(g, "usedMemoryMiB")->valueint, 9000);
	assert_int_equal(get(g, "usedSlots")->valueint, 3);
	hx_resp_free(&r);
	assert_int_equal(hx_stop(&d), 0);
	unlink(file);
}

static long long now_of(struct hx_daemon *d)
{
	struct hx_resp r;
	assert_int_equal(hx_post(d, "/debug/clock/advance?seconds=0", "", &r), 0);
	long long now = (long long)get(r.json, "now")->valuedouble;
	hx_resp_free(&r);
	return now;
}

static void clock_persists_in_state_dir(void **state)
{
	(void)state;
	char dir[] = "/tmp/vx-state-XXXXXX";
	assert_non_null(mkdtemp(dir));
	const char *args[] = {"--dev", "--state-dir", dir, NULL};
	struct hx_daemon d;
	assert_int_equal(hx_start(&d, args), 0);
	long long before = now_of(&d);
	struct hx_resp r;
	assert_int_equal(hx_post(&d, "/debug/clock/advance?seconds=86400", "", &r), 0);
	hx_resp_free(&r);
	assert_int_equal(hx_stop(&d), 0);
	assert_int_equal(hx_start(&d, args), 0);
	long long after = now_of(&d);
	assert_true(after - before >= 86400 && after - before < 86400 + 60);
	assert_int_equal(hx_stop(&d), 0);
	char path[128];
	snprintf(path, sizeof path, "%s/clock.json", dir);
	unlink(path);
	rmdir(dir);
}

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	*(size_t *)ud += sz * n;
	return sz * n;
}

static void serves_https(void **state)
{
	(void)state;
	char dir[] = "/tmp/vx-tls-XXXXXX", cert[128], key[128];
	assert_non_null(mkdtemp(dir));
	if (access("/usr/bin/openssl", X_OK) != 0)
		skip();
	assert_int_equal(hx_make_cert(dir, cert, sizeof cert), 0);
	snprintf(key, sizeof key, "%s/tls.key", dir);
	struct hx_daemon d;
	const char *args[] = {"--dev", "--tls-cert", cert, "--tls-key", key, NULL};
	/* hx_start polls plain HTTP, so start it by hand and poll over TLS. */
	int port = hx_free_port();
	char listen[64], url[128];
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	const char *argv[] = {hx_bin("vgpu-extender"),
			      "--listen",
			      listen,
			      args[0],
			      args[1],
			      args[2],
			      args[3],
			      args[4],
			      NULL};
	memset(&d, 0, sizeof d);
	snprintf(d.log_path, sizeof d.log_path, "/tmp/vx-tls-%d.log", port);
	d.pid = fork();
	if (d.pid == 0) {
		if (!freopen(d.log_path, "w", stderr))
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	snprintf(url, sizeof url, "https://127.0.0.1:%d/healthz", port);
	long status = 0;
	for (int i = 0; i < 100 && status != 200; i++) {
		CURL *c = curl_easy_init();
		size_t got = 0;
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_CAINFO, cert);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
		if (curl_easy_perform(c) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(c);
		if (status != 200)
			usleep(100000);
	}
	assert_int_equal(status, 200);
	assert_int_equal(hx_stop(&d), 0);
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(demo_cluster_by_default),
	    cmocka_unit_test(pending_pods_from_the_cluster_file),
	    cmocka_unit_test(waiting_pods_in_the_log),
	    cmocka_unit_test(concurrent_binds_never_overcommit),
	    cmocka_unit_test(clock_persists_in_state_dir),
	    cmocka_unit_test(serves_https),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
