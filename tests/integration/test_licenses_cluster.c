/* Integration test of licences in cluster mode against the fake API server,
 * kube-scheduler's part played by the test: a pod the licence keeps waiting
 * is touched (vgpu-extender.io/admitted-at) as soon as a slot frees, so
 * kube-scheduler retries it at once; the job actions are patches through
 * the API server, with who did them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

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

static int setup(void **state)
{
	(void)state;
	return hk_start(&F, &D, 1,
			"licenses:\n  - name: acme\n    namespaces: [acme]\n"
			"    dailyHours: 96\n    maxSlots: 1\n    resetUTC: \"00:00\"\n"
			"  - name: tiny\n    namespaces: [tiny]\n"
			"    dailyHours: 0.001\n    maxSlots: 8\n    resetUTC: \"00:00\"\n");
}

static int teardown(void **state)
{
	(void)state;
	return hk_stop(&F, &D);
}

static const char *annotation(const char *ns, const char *name, const char *key, char *out,
			      size_t len)
{
	char path[256];
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", ns, name);
	cJSON *p = hk_fake_get(&F, path);
	const cJSON *v = get(get(get(p, "metadata"), "annotations"), key);
	snprintf(out, len, "%s", cJSON_IsString(v) ? v->valuestring : "");
	cJSON_Delete(p);
	return out;
}

static void slot_frees_and_the_next_is_touched(void **state)
{
	(void)state;
	char n[64], v[128];
	hk_pod(&F, "acme", "first", 1);
	hk_pod(&F, "acme", "second", 1);
	assert_int_equal(hk_schedule(&F, &D, "acme", "first", n), 1);
	assert_int_equal(hk_schedule(&F, &D, "acme", "second", n), 0); /* 1/1 slots in use */
	assert_string_equal(
	    annotation("acme", "second", "vgpu-extender.io/admitted-at", v, sizeof v), "");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	hk_fake(&F, "DELETE", "/api/v1/namespaces/acme/pods/first", NULL);
	for (int i = 0;
	     i < 400 && !*annotation("acme", "second", "vgpu-extender.io/admitted-at", v, sizeof v);
	     i++)
		usleep(5 * 1000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(v[0] != '\0');
	if (ms > 2000) /* the bound, from the slot freeing */
		fail_msg("touched %ld ms after the slot freed", ms);
	printf("licence promptness: the next waiting pod touched %ld ms after the slot freed\n",
	       ms);
	assert_int_equal(hk_schedule(&F, &D, "acme", "second", n), 1);
}

/* kube-scheduler retries the first waiting pod on the very event that frees
 * its slot, and its filter may come before our watch has the event: the
 * filter waits a moment for the slot instead of refusing (which would cost
 * the pod a backoff of up to 10 s). Here the fake delivers watch events
 * 50 ms late, so the filter always comes before the daemon's watch has the
 * deletion. */
static void a_filter_racing_the_watch_gets_the_slot(void **state)
{
	(void)state;
	char n[64];
	hk_fake(&F, "DELETE", "/api/v1/namespaces/acme/pods/second", NULL); /* the last test's */
	hk_pod(&F, "acme", "holder", 1);
	hk_pod(&F, "acme", "racer", 1);
	int bound = 0;
	for (int i = 0; i < 100 && !(bound = hk_schedule(&F, &D, "acme", "holder", n)); i++)
		usleep(20 * 1000); /* until the daemon has seen "second" go */
	assert_int_equal(bound, 1);
	assert_int_equal(hk_schedule(&F, &D, "acme", "racer", n), 0); /* 1/1 slots in use */
	usleep(1100 * 1000); /* the grace is once a second per licence */
	hk_fake(&F, "POST", "/fake/watch-delay", "{\"ms\":50}");
	hk_fake(&F, "DELETE", "/api/v1/namespaces/acme/pods/holder", NULL);
	int got = hk_schedule(&F, &D, "acme", "racer", n);
	hk_fake(&F, "POST", "/fake/watch-delay", "{\"ms\":0}");
	assert_int_equal(got, 1);
	hk_fake(&F, "DELETE", "/api/v1/namespaces/acme/pods/racer", NULL);
}

/* The seed's FAQ in cluster mode: once the day's hours are used up, new
 * licensed pods are refused with the time to the reset and the way out,
 * the running pod finishes, and billing=credits runs the pod at once. The
 * licence tiny grants 3.6 vGPU-seconds a day. */
static void hours_used_up_then_credits(void **state)
{
	(void)state;
	char n[64], url[256], path[128];
	struct hx_resp r;
	hk_node(&F, "n2");
	hk_pod(&F, "tiny", "burner", 2);
	assert_int_equal(hk_schedule(&F, &D, "tiny", "burner", n), 1);
	usleep(2500 * 1000); /* two vGPUs for 2.5 s: 5 vGPU-seconds */
	hk_pod(&F, "tiny", "late", 1);
	assert_int_equal(hx_wait_json(&D, "/debug/state", hk_known, "late", 10000), 0);
	assert_int_equal(hk_schedule(&F, &D, "tiny", "late", n), 0);
	assert_int_equal(hx_get(&D, "/api/v1/jobs?license=tiny", &r), 0);
	const char *at = strstr(r.body, "\"name\":\"late\"");
	if (!at || !strstr(at, "vGPU-hours used today; resets in") ||
	    !strstr(at, "set vgpu-extender.io/billing=credits to run now"))
		fail_msg("late's row: %s", r.body);
	hx_resp_free(&r);
	snprintf(path, sizeof path, "/api/v1/namespaces/tiny/pods/burner");
	cJSON *burner = hk_fake_get(&F, path);
	assert_non_null(burner); /* running pods finish: nobody evicted it */
	cJSON_Delete(burner);
	snprintf(url, sizeof url, "%s/api/v1/jobs/tiny/late/use-credits", D.url);
	assert_int_equal(hx_http("POST", url, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	hx_resp_free(&r);
	int bound = 0;
	for (int i = 0; i < 100 && !(bound = hk_schedule(&F, &D, "tiny", "late", n)); i++)
		usleep(20 * 1000); /* until the watch brings the annotation back */
	assert_int_equal(bound, 1);
}

static void actions_go_through_the_api_server(void **state)
{
	(void)state;
	char v[128];
	struct hx_resp r;
	char url[256];
	hk_pod(&F, "acme", "third", 1);
	assert_int_equal(hx_wait_json(&D, "/debug/state", hk_known, "third", 10000), 0);
	snprintf(url, sizeof url, "%s/api/v1/jobs/acme/third", D.url);
	assert_int_equal(hx_http("PATCH", url, "{\"priority\":8}", 14, &r), 0);
	assert_int_equal(r.status, 200);
	hx_resp_free(&r);
	assert_string_equal(annotation("acme", "third", "vgpu-extender.io/priority", v, sizeof v),
			    "8");
	snprintf(url, sizeof url, "%s/api/v1/jobs/acme/third/use-credits", D.url);
	assert_int_equal(hx_http("POST", url, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	hx_resp_free(&r);
	assert_string_equal(annotation("acme", "third", "vgpu-extender.io/billing", v, sizeof v),
			    "credits");
	assert_true(*annotation("acme", "third", "vgpu-extender.io/last-action-by", v, sizeof v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(slot_frees_and_the_next_is_touched),
	    cmocka_unit_test(a_filter_racing_the_watch_gets_the_slot),
	    cmocka_unit_test(hours_used_up_then_credits),
	    cmocka_unit_test(actions_go_through_the_api_server),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
