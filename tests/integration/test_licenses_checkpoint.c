/* Integration test of the licences' checkpoint in cluster mode against the
 * fake API server: the day's usage lives in the ConfigMap
 * kube-system/vgpu-extender-licenses, a restart neither forgets nor counts
 * twice, two replicas merge instead of overwriting each other (a write that
 * loses the resourceVersion race reads and keeps the larger figure), a
 * corrupt ConfigMap is named in the log and replaced, a ConfigMap that
 * cannot be read at start is merged at the first save, and a crash loses at
 * most the last 30 s. */
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
#include <time.h>
#include <unistd.h>

#define CM_PATH "/api/v1/namespaces/kube-system/configmaps/vgpu-extender-licenses"
#define DAY 86400

static struct hx_fake F;
static const char *CFG;

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static int setup(void **state)
{
	(void)state;
	const char *none[] = {NULL};
	setenv("HX_KEEP_LOGS", "1", 1); /* the save at shutdown logs what it merged */
	if (hx_fake_start(&F, none))
		return -1;
	hk_node(&F, "n1");
	CFG = hx_tmpfile("licenses:\n  - name: acme\n    namespaces: [acme]\n"
			 "    dailyHours: 96\n    maxSlots: 4\n    resetUTC: \"00:00\"\n",
			 ".yaml");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return hx_fake_stop(&F) == 0 ? 0 : -1;
}

static void start(struct hx_daemon *d)
{
	const char *args[] = {"--kubeconfig", F.kubeconfig, "--config", CFG, NULL};
	assert_int_equal(hx_start(d, args), 0);
}

/* Writes the ConfigMap as another replica would (a write that bumps its
 * resourceVersion); text NULL: acme's usedSeconds for today. */
static void cm_write(double used_s, const char *text)
{
	char doc[256], *body;
	long long reset = ((long long)time(NULL) / DAY + 1) * DAY;
	snprintf(doc, sizeof doc,
		 "{\"acme\":{\"usedSeconds\":%.1f,\"asOf\":%lld,\"resetAt\":%lld}}", used_s,
		 (long long)time(NULL), reset);
	cJSON *cm = cJSON_CreateObject();
	cJSON_AddStringToObject(cm, "apiVersion", "v1");
	cJSON_AddStringToObject(cm, "kind", "ConfigMap");
	cJSON *md = cJSON_AddObjectToObject(cm, "metadata");
	cJSON_AddStringToObject(md, "name", "vgpu-extender-licenses");
	cJSON_AddStringToObject(md, "namespace", "kube-system");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(cm, "data"), "licenses.json",
				text ? text : doc);
	body = cJSON_PrintUnformatted(cm);
	cJSON_Delete(cm);
	hk_fake(&F, "POST", "/fake/objects", body);
	free(body);
}

/* acme's usedSeconds in the ConfigMap; -1 when absent or unreadable. */
static double cm_used(void)
{
	cJSON *cm = hk_fake_get(&F, CM_PATH);
	const cJSON *text = get(get(cm, "data"), "licenses.json");
	cJSON *doc = cJSON_IsString(text) ? cJSON_Parse(text->valuestring) : NULL;
	const cJSON *used = get(get(doc, "acme"), "usedSeconds");
	double v = cJSON_IsNumber(used) ? used->valuedouble : -1;
	cJSON_Delete(doc);
	cJSON_Delete(cm);
	return v;
}

/* The daemon's figure for acme, in vGPU-seconds. */
static double used_s(const struct hx_daemon *d)
{
	struct hx_resp r;
	assert_int_equal(hx_get(d, "/api/v1/licenses/acme", &r), 0);
	assert_int_equal(r.status, 200);
	const cJSON *h = get(r.json, "usedHours");
	assert_true(cJSON_IsNumber(h));
	double v = h->valuedouble * 3600;
	hx_resp_free(&r);
	return v;
}

/* Stops the daemon cleanly; its log stays for log_has until drop_log. */
static void stop(struct hx_daemon *d)
{
	assert_int_equal(hx_stop(d), 0);
}

static void drop_log(const struct hx_daemon *d)
{
	unlink(d->log_path);
}

static bool log_has(const struct hx_daemon *d, const char *text)
{
	char *log = NULL;
	const char *cat[] = {"/bin/cat", d->log_path, NULL};
	hx_run(cat, &log);
	bool found = log && strstr(log, text);
	if (!found)
		hx_dump_log(d);
	free(log);
	return found;
}

static void expect_between(const char *what, double v, double lo, double hi)
{
	if (v < lo || v > hi)
		fail_msg("%s: %.1f vGPU-s, expected %.1f..%.1f", what, v, lo, hi);
}

static void restart_neither_forgets_nor_counts_twice(void **state)
{
	(void)state;
	struct hx_daemon d;
	char node[64];
	cm_write(7200, NULL);
	start(&d);
	expect_between("restored", used_s(&d), 7200, 7205);
	hk_pod(&F, "acme", "runner", 2);
	assert_int_equal(hk_schedule(&F, &d, "acme", "runner", node), 1);
	usleep(1500 * 1000); /* two vGPUs for 1.5 s: 3 vGPU-s */
	double before = used_s(&d);
	expect_between("running", before, 7202, 7260);
	stop(&d); /* saves at shutdown */
	double saved = cm_used();
	expect_between("saved at shutdown", saved, before - 4, before + 30);
	drop_log(&d);
	start(&d);
	/* runner still runs: it counts from this start, on top of the save */
	expect_between("after the restart", used_s(&d), saved - 4, saved + 10);
	assert_true(log_has(&d, "licence usage restored from ConfigMap "
				"kube-system/vgpu-extender-licenses"));
	stop(&d);
	drop_log(&d);
	hk_fake(&F, "DELETE", "/api/v1/namespaces/acme/pods/runner?gracePeriodSeconds=0", NULL);
}

/* Another replica saved a larger figure since this one read the ConfigMap:
 * this one's write gets 409, reads, keeps the larger figure, writes again. */
static void a_lost_race_merges(void **state)
{
	(void)state;
	struct hx_daemon d;
	cm_write(3600, NULL);
	start(&d);
	expect_between("restored", used_s(&d), 3600, 3605);
	cm_write(10000, NULL); /* the other replica */
	stop(&d);
	expect_between("merged", cm_used(), 10000, 10005);
	assert_true(log_has(&d, "was written by another replica; merged, 1 licence(s) took "
				"its larger figure"));
	drop_log(&d);
	/* A smaller figure from the other replica never lowers ours. */
	start(&d);
	cm_write(100, NULL);
	stop(&d);
	expect_between("kept ours", cm_used(), 10000, 10010);
	assert_true(log_has(&d, "merged, 0 licence(s) took"));
	drop_log(&d);
}

/* Two replicas count the same pods: both save, neither adds to the other. */
static void two_replicas_do_not_add_up(void **state)
{
	(void)state;
	struct hx_daemon a, b;
	cm_write(5000, NULL);
	start(&a);
	start(&b);
	expect_between("replica a", used_s(&a), 5000, 5005);
	expect_between("replica b", used_s(&b), 5000, 5005);
	stop(&a);
	stop(&b); /* loses the race to a's save */
	expect_between("both saved", cm_used(), 5000, 5010);
	assert_true(log_has(&b, "was written by another replica"));
	drop_log(&a);
	drop_log(&b);
}

static void a_corrupt_configmap_is_named_and_replaced(void **state)
{
	(void)state;
	struct hx_daemon d;
	cm_write(0, "{ not json");
	start(&d);
	expect_between("from zero", used_s(&d), 0, 1);
	assert_true(log_has(&d, "ConfigMap kube-system/vgpu-extender-licenses (key "
				"licenses.json) is not a licence usage file"));
	stop(&d);
	drop_log(&d);
	expect_between("replaced", cm_used(), 0, 5);
}

/* The API server fails the read at start: the daemon starts anyway, and its
 * first save (a create that finds the ConfigMap there) merges the save. */
static void an_unreadable_configmap_is_merged_at_the_first_save(void **state)
{
	(void)state;
	struct hx_daemon d;
	cm_write(8000, NULL);
	hk_fake(&F, "POST", "/fake/faults",
		"{\"verb\":\"GET\",\"path\":\"configmaps/vgpu-extender-licenses\","
		"\"count\":-1,\"status\":403,\"message\":\"forbidden for the test\"}");
	start(&d);
	hk_fake(&F, "DELETE", "/fake/faults", NULL);
	assert_true(log_has(&d, "cannot read licence usage from ConfigMap"));
	expect_between("not restored", used_s(&d), 0, 5);
	stop(&d);
	drop_log(&d);
	expect_between("merged at the save", cm_used(), 8000, 8010);
}

/* The usage is saved every 30 s, so a crash (SIGKILL: no save at exit)
 * loses at most the last 30 s of it. */
static void a_crash_loses_at_most_30_seconds(void **state)
{
	(void)state;
	struct hx_daemon d;
	char node[64];
	cm_write(0, NULL);
	start(&d);
	hk_pod(&F, "acme", "steady", 2);
	assert_int_equal(hk_schedule(&F, &d, "acme", "steady", node), 1);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	usleep(32 * 1000 * 1000); /* past the first periodic save */
	double counted = used_s(&d);
	hx_kill(&d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ran = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	double saved = cm_used();
	/* two vGPUs: at most 30 s of them (60 vGPU-s) lost, and some saved */
	if (saved < counted - 2 * 30 - 4 || saved < 2 * (ran - 30 - 2))
		fail_msg("saved %.1f vGPU-s after %.1f s; the daemon had counted %.1f", saved, ran,
			 counted);
	drop_log(&d);
	hk_fake(&F, "DELETE", "/api/v1/namespaces/acme/pods/steady?gracePeriodSeconds=0", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(restart_neither_forgets_nor_counts_twice),
	    cmocka_unit_test(a_lost_race_merges),
	    cmocka_unit_test(two_replicas_do_not_add_up),
	    cmocka_unit_test(a_corrupt_configmap_is_named_and_replaced),
	    cmocka_unit_test(an_unreadable_configmap_is_merged_at_the_first_save),
	    cmocka_unit_test(a_crash_loses_at_most_30_seconds),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
