/* Integration tests of reclaim in dev mode (the real daemon over HTTP): the
 * user's seed walkthrough (Run:ai "Over Quota, Fairness and Preemption":
 * 2 nodes x 2 GPUs, team-a and team-b with quota 2) and the older one
 * (4 GPUs, quota 1 each: team-b's arrival takes team-a back to its share,
 * and it settles there, nobody evicted twice). */
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

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static void start(int quota)
{
	char config[512];
	snprintf(config, sizeof config,
		 "queues:\n"
		 "  - name: team-a\n    namespaces: [team-a]\n    quota: %d\n"
		 "  - name: team-b\n    namespaces: [team-b]\n    quota: %d\n",
		 quota, quota);
	const char *file = hx_tmpfile(config, ".yaml");
	const char *args[] = {"--dev", "--config", file, NULL};
	assert_int_equal(hx_start(&D, args), 0);
}

/* A pod of `gpus` whole cards in namespace ns. */
static void create(const char *ns, const char *name, int gpus)
{
	char body[1024];
	snprintf(body, sizeof body,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"%s\"},\"spec\":{\"containers\":[{\"name\":\"c\","
		 "\"resources\":{\"limits\":{\"volcano.sh/vgpu-number\":\"%d\","
		 "\"volcano.sh/vgpu-cores\":\"100\"}}}]}}",
		 name, ns, gpus);
	struct hx_resp r;
	assert_int_equal(hx_post(&D, "/api/v1/pods", body, &r), 0);
	assert_int_equal(r.status, 201);
	hx_resp_free(&r);
}

static void delete_pod(const char *ns, const char *name)
{
	char url[256];
	struct hx_resp r;
	snprintf(url, sizeof url, "%s/api/v1/jobs/%s/%s", D.url, ns, name);
	assert_int_equal(hx_http("DELETE", url, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	hx_resp_free(&r);
}

/* "name=Status,name=Status,..." must all hold in /debug/state. */
static int statuses(const cJSON *state, void *ud)
{
	char want[512], *save = NULL;
	snprintf(want, sizeof want, "%s", (const char *)ud);
	for (char *t = strtok_r(want, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		*eq = '\0';
		const cJSON *p;
		int ok = 0;
		cJSON_ArrayForEach (p, get(state, "pods")) {
			ok |= !strcmp(get(p, "name")->valuestring, t) &&
			      !strcmp(get(p, "status")->valuestring, eq + 1);
		}
		if (!ok)
			return 0;
	}
	return 1;
}

static void expect(const char *want, int ms)
{
	if (hx_wait_json(&D, "/debug/state", statuses, (void *)want, ms) != 0) {
		struct hx_resp r;
		hx_get(&D, "/debug/state", &r);
		fail_msg("never: %s\nstate: %.2000s", want, r.body);
	}
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

static const char *uid_of(const char *name, char *out, size_t len)
{
	struct hx_resp r;
	const cJSON *p;
	out[0] = '\0';
	assert_int_equal(hx_get(&D, "/debug/state", &r), 0);
	cJSON_ArrayForEach (p, get(r.json, "pods")) {
		if (!strcmp(get(p, "name")->valuestring, name))
			snprintf(out, len, "%s", get(p, "uid")->valuestring);
	}
	hx_resp_free(&r);
	return out;
}

/* The seed: a1 (1 GPU) and a2 (2 GPUs) in team-a, b1 (1 GPU) in team-b
 * run; b2 (1 GPU) arrives: a1, not a2, is evicted, b2 runs, a1 waits
 * Pending (a new pod, as a Job would make it), and runs again once b2 is
 * gone. */
static void seed_walkthrough(void **state)
{
	(void)state;
	char before[64], after[64];
	start(2);
	create("team-a", "a1", 1);
	expect("a1=Running", 5000);
	create("team-a", "a2", 2);
	create("team-b", "b1", 1);
	expect("a1=Running,a2=Running,b1=Running", 5000);
	uid_of("a1", before, sizeof before);
	create("team-b", "b2", 1);
	expect("a2=Running,b1=Running,b2=Running,a1=Submitted", 2000); /* the 2 s */
	assert_string_not_equal(uid_of("a1", after, sizeof after), before);
	assert_int_equal(reclaims(), 1);
	struct hx_resp r;
	assert_int_equal(hx_get(&D, "/metrics", &r), 0);
	assert_non_null(strstr(
	    r.body, "vgpu_extender_reclaims_total{queue=\"team-b\",victim_queue=\"team-a\"} 1"));
	hx_resp_free(&r);
	usleep(1000 * 1000); /* a1 waits: team-a is at its fair share, nothing more goes */
	expect("a1=Submitted,a2=Running", 100);
	assert_int_equal(reclaims(), 1);
	delete_pod("team-b", "b2");
	expect("a1=Running", 5000);
	assert_int_equal(hx_stop(&D), 0);
}

/* Quota 1 each on 4 GPUs: a1..a4 take everything, b1..b4 arrive; team-b
 * gets 2 GPUs back, team-a keeps 2, and it stays so. */
static void older_walkthrough(void **state)
{
	(void)state;
	char name[16];
	start(1);
	for (int i = 1; i <= 4; i++) {
		snprintf(name, sizeof name, "a%d", i);
		create("team-a", name, 1);
	}
	expect("a1=Running,a2=Running,a3=Running,a4=Running", 5000);
	for (int i = 1; i <= 4; i++) {
		snprintf(name, sizeof name, "b%d", i);
		create("team-b", name, 1);
	}
	expect("b1=Running,b2=Running,b3=Submitted,b4=Submitted", 5000);
	struct hx_resp r;
	usleep(1500 * 1000); /* settled: nothing moves any more */
	assert_int_equal(reclaims(), 2);
	assert_int_equal(hx_get(&D, "/debug/state", &r), 0);
	int a_running = 0, b_running = 0;
	const cJSON *p;
	cJSON_ArrayForEach (p, get(r.json, "pods")) {
		bool running = !strcmp(get(p, "status")->valuestring, "Running");
		a_running += running && get(p, "name")->valuestring[0] == 'a';
		b_running += running && get(p, "name")->valuestring[0] == 'b';
	}
	hx_resp_free(&r);
	assert_int_equal(a_running, 2);
	assert_int_equal(b_running, 2);
	assert_int_equal(hx_stop(&D), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(seed_walkthrough),
	    cmocka_unit_test(older_walkthrough),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
