/* Unit tests for the model's licence accounting (cluster_license.c), fed
 * through sync as the store would: vGPU-hours accrue per running vGPU over
 * the daemon's clock (partial hours, multi-vGPU pods), start over at the
 * reset, survive a restart through save/restore without counting twice,
 * merge another replica's save by taking the larger figure, and stop at
 * once when a pod switches its billing to credits; waiting pods get their
 * place and a start estimate from the known runtimes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/sync.h"
#include "vx/xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REG4                                                                                       \
	"GPU-0,10,24576,NVIDIA-L4,true,hami-core:GPU-1,10,24576,NVIDIA-L4,true,hami-core:"         \
	"GPU-2,10,24576,NVIDIA-L4,true,hami-core:GPU-3,10,24576,NVIDIA-L4,true,hami-core:"

struct fx {
	struct vx_clock clock;
	struct cluster c;
};

static void licence(struct cluster *c, int max_slots)
{
	struct license_conf *l = xcalloc(1, sizeof *l);
	l->name = xstrdup("acme");
	l->namespaces = xcalloc(1, sizeof(char *));
	l->namespaces[0] = xstrdup("acme");
	l->nns = 1;
	l->daily_hours = 96;
	l->max_slots = max_slots;
	cluster_set_licenses(c, l, 1); /* the model owns l's contents now */
	free(l);
}

static void node(struct cluster *c)
{
	char json[1024];
	snprintf(json, sizeof json,
		 "{\"metadata\":{\"name\":\"n1\",\"annotations\":{\"" ANN_REGISTER "\":\"" REG4
		 "\"}},\"status\":{\"allocatable\":{\"volcano.sh/vgpu-number\":\"40\"}}}");
	cJSON *j = cJSON_Parse(json);
	assert_non_null(j);
	sync_node(c, j);
	cJSON_Delete(j);
}

/* A pod of n vGPUs in namespace acme; first_gpu >= 0: bound there and
 * Running on GPUs first_gpu.., else pending. ann: more annotations, as a
 * JSON fragment ("\"key\":\"value\""), or NULL. */
static void pod(struct cluster *c, const char *name, int n, int first_gpu, const char *ann)
{
	char json[2048], ids[256] = "", all[768] = "";
	for (int i = 0; first_gpu >= 0 && i < n; i++)
		snprintf(ids + strlen(ids), sizeof ids - strlen(ids),
			 "GPU-%d,NVIDIA,1000,10:", first_gpu + i);
	if (*ids)
		snprintf(all, sizeof all,
			 "\"" ANN_IDS "\":\"%s\",\"" ANN_BIND_PHASE "\":\"success\"%s%s", ids,
			 ann ? "," : "", ann ? ann : "");
	else if (ann)
		snprintf(all, sizeof all, "%s", ann);
	snprintf(json, sizeof json,
		 "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"acme\",\"uid\":\"u-%s\","
		 "\"creationTimestamp\":\"2026-12-01T10:00:00Z\",\"annotations\":{%s}},"
		 "\"spec\":{%s\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
		 "\"volcano.sh/vgpu-number\":\"%d\",\"volcano.sh/vgpu-memory\":\"1000\"}}}]},"
		 "\"status\":{\"phase\":\"%s\"}}",
		 name, name, all, *ids ? "\"nodeName\":\"n1\"," : "", n,
		 *ids ? "Running" : "Pending");
	cJSON *j = cJSON_Parse(json);
	assert_non_null(j);
	sync_pod(c, j);
	cJSON_Delete(j);
}

#define CREDITS "\"" VX_ANN_BILLING "\":\"credits\""
#define LICENSED "\"" VX_ANN_BILLING "\":\"license\""

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);
	char err[128];
	assert_int_equal(clk_init(&f->clock, NULL, err, sizeof err), 0);
	cluster_init(&f->c);
	f->c.clock = &f->clock;
	licence(&f->c, 16);
	node(&f->c);
	/* Start two hours after a reset, whatever time it is. */
	int64_t now = clk_now_s(&f->clock);
	assert_int_equal(
	    clk_advance(&f->clock, cluster_license_reset_in(&f->c, 0, now) + 7200, err, sizeof err),
	    0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	cluster_free(&f->c);
	clk_free(&f->clock);
	free(f);
	return 0;
}

static void advance(struct fx *f, int64_t s)
{
	char err[128];
	assert_int_equal(clk_advance(&f->clock, s, err, sizeof err), 0);
}

/* acme's usage now, in vGPU-hours, to a second's precision. */
static double hours(struct fx *f)
{
	return cluster_license_used_s(&f->c, 0, clk_now_s(&f->clock)) / 3600.0;
}

static void assert_hours(double got, double want)
{
	if (fabs(got - want) > 2.0 / 3600)
		fail_msg("%.4f vGPU-hours, expected %.4f", got, want);
}

static void accrues_per_running_vgpu(void **state)
{
	struct fx *f = *state;
	pod(&f->c, "two", 2, 0, NULL);
	pod(&f->c, "one", 1, 2, NULL);
	pod(&f->c, "waits", 1, -1, NULL); /* pending: no hours */
	assert_int_equal(f->c.lstate[0].used_slots, 3);
	assert_int_equal(f->c.lstate[0].waiting, 1);
	advance(f, 5400); /* 1.5 h */
	assert_hours(hours(f), 4.5);
	pod(&f->c, "one", 1, 2, NULL);
	sync_pod_deleted(&f->c, "acme", "one");
	advance(f, 1800);
	assert_hours(hours(f), 5.5); /* + 2 vGPUs x 0.5 h */
	assert_int_equal(f->c.lstate[0].used_slots, 2);
}

static void starts_over_at_the_reset(void **state)
{
	struct fx *f = *state;
	pod(&f->c, "two", 2, 0, NULL);
	int64_t to_reset = cluster_license_reset_in(&f->c, 0, clk_now_s(&f->clock));
	advance(f, to_reset - 600);
	assert_hours(hours(f), 2.0 * (double)(to_reset - 600) / 3600);
	advance(f, 1200); /* 10 minutes into the new day */
	assert_hours(hours(f), 2.0 * 600 / 3600);
	assert_int_equal(cluster_license_reset_in(&f->c, 0, clk_now_s(&f->clock)), 86400 - 600);
}

static void credits_leave_the_licence_at_once(void **state)
{
	struct fx *f = *state;
	pod(&f->c, "two", 2, 0, NULL);
	advance(f, 3600);
	pod(&f->c, "two", 2, 0, CREDITS);
	assert_int_equal(f->c.lstate[0].used_slots, 0);
	advance(f, 3600);
	assert_hours(hours(f), 2.0);       /* the first hour only */
	pod(&f->c, "two", 2, 0, LICENSED); /* and back */
	assert_int_equal(f->c.lstate[0].used_slots, 2);
}

/* A restart: a new model restores the save and counts the pods still
 * running from its own start, not from theirs. */
static void a_restart_neither_forgets_nor_counts_twice(void **state)
{
	struct fx *f = *state;
	pod(&f->c, "two", 2, 0, NULL);
	advance(f, 3600);
	cJSON *saved = cluster_licenses_save(&f->c, clk_now_s(&f->clock));
	struct cluster c2;
	cluster_init(&c2);
	c2.clock = &f->clock;
	licence(&c2, 16);
	assert_int_equal(cluster_licenses_restore(&c2, saved, clk_now_s(&f->clock)), 0);
	node(&c2);
	pod(&c2, "two", 2, 0, NULL); /* the watch delivers it after the restore */
	advance(f, 1800);
	assert_hours(cluster_license_used_s(&c2, 0, clk_now_s(&f->clock)) / 3600, 3.0);
	assert_int_equal(cluster_licenses_restore(&c2, NULL, 0), -1);
	cluster_free(&c2);
	/* A save from before a reset that has passed since counts nothing. */
	advance(f, cluster_license_reset_in(&f->c, 0, clk_now_s(&f->clock)) + 60);
	struct cluster c3;
	cluster_init(&c3);
	c3.clock = &f->clock;
	licence(&c3, 16);
	assert_int_equal(cluster_licenses_restore(&c3, saved, clk_now_s(&f->clock)), 0);
	assert_hours(cluster_license_used_s(&c3, 0, clk_now_s(&f->clock)) / 3600, 0);
	cluster_free(&c3);
	cJSON_Delete(saved);
}

static cJSON *save_of(double used_s, int64_t reset_at)
{
	char text[160];
	snprintf(text, sizeof text, "{\"acme\":{\"usedSeconds\":%.1f,\"resetAt\":%lld}}", used_s,
		 (long long)reset_at);
	return cJSON_Parse(text);
}

static void a_merge_takes_the_larger_figure(void **state)
{
	struct fx *f = *state;
	int64_t now = clk_now_s(&f->clock);
	int64_t reset = now + cluster_license_reset_in(&f->c, 0, now);
	pod(&f->c, "two", 2, 0, NULL);
	advance(f, 1800); /* ours: 1 vGPU-hour */
	now = clk_now_s(&f->clock);
	cJSON *less = save_of(1800, reset), *more = save_of(7200, reset),
	      *yesterday = save_of(50000, reset - 86400), *junk = cJSON_Parse("{\"acme\":7}"),
	      *huge = cJSON_Parse("{\"acme\":{\"usedSeconds\":1,\"resetAt\":1e300}}");
	assert_int_equal(cluster_licenses_merge(&f->c, less, now), 0);
	assert_hours(hours(f), 1.0);
	assert_int_equal(cluster_licenses_merge(&f->c, yesterday, now), 0);
	assert_int_equal(cluster_licenses_merge(&f->c, junk, now), 0);
	assert_int_equal(cluster_licenses_merge(&f->c, huge, now), 0); /* no overflow */
	assert_int_equal(cluster_licenses_merge(&f->c, more, now), 1);
	assert_hours(hours(f), 2.0);
	advance(f, 1800); /* and counting on from there */
	assert_hours(hours(f), 3.0);
	assert_int_equal(cluster_licenses_merge(&f->c, NULL, now), -1);
	cJSON_Delete(less);
	cJSON_Delete(more);
	cJSON_Delete(yesterday);
	cJSON_Delete(junk);
	cJSON_Delete(huge);
}

/* The pod ended at `ended` (its containers' finishedAt); we hear of it now. */
static void finished(struct cluster *c, const char *name, int64_t ended)
{
	char json[1024], ts[32];
	clk_format_rfc3339(ended, ts, sizeof ts);
	snprintf(json, sizeof json,
		 "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"acme\",\"uid\":\"u-%s\"},"
		 "\"spec\":{\"nodeName\":\"n1\"},\"status\":{\"phase\":\"Succeeded\","
		 "\"containerStatuses\":[{\"name\":\"c\",\"state\":{\"terminated\":{"
		 "\"exitCode\":0,\"finishedAt\":\"%s\"}}}]}}",
		 name, name, ts);
	cJSON *j = cJSON_Parse(json);
	assert_non_null(j);
	sync_pod(c, j);
	cJSON_Delete(j);
}

/* A pod that ended before the model heard of it (a watch lag, a dev clock
 * jump) is billed up to its end, and the others go on counting. */
static void billed_up_to_the_end(void **state)
{
	struct fx *f = *state;
	int64_t t0 = clk_now_s(&f->clock);
	pod(&f->c, "short", 2, 0, NULL);
	pod(&f->c, "long", 1, 2, NULL);
	advance(f, 3600);
	finished(&f->c, "short", t0 + 600);
	assert_int_equal(f->c.lstate[0].used_slots, 1);
	assert_hours(hours(f), (2 * 600 + 3600) / 3600.0);
	advance(f, 1800);
	assert_hours(hours(f), (2 * 600 + 5400) / 3600.0);
	/* An end before the last change of slots is already counted: not again. */
	pod(&f->c, "third", 1, 3, NULL);
	finished(&f->c, "long", t0);
	assert_hours(hours(f), (2 * 600 + 5400) / 3600.0);
}

/* Positions follow the licence order; start estimates play the known
 * runtimes forward, and stop at the first pod whose start cannot be told. */
static void waiting_pods_are_placed_and_estimated(void **state)
{
	struct fx *f = *state;
	licence(&f->c, 4);
	int64_t now = clk_now_s(&f->clock);
	pod(&f->c, "a", 2, 0, "\"" VX_ANN_DEV_RUNTIME "\":\"3600\"");
	pod(&f->c, "b", 2, 2, NULL); /* runs for as long as it likes */
	pod(&f->c, "w1", 2, -1, "\"" VX_ANN_DEV_RUNTIME "\":\"1800\"");
	pod(&f->c, "w2", 1, -1, "\"" VX_ANN_PRIORITY "\":\"9\",\"" VX_ANN_DEV_RUNTIME "\":\"600\"");
	pod(&f->c, "w3", 2, -1, NULL);
	pod(&f->c, "w4", 4, -1, NULL);
	pod(&f->c, "w5", 1, -1, NULL);
	struct lic_waits ws;
	cluster_license_waits(&f->c, now, &ws);
	assert_int_equal(ws.n, 5);
	const char *names[] = {"w2", "w1", "w3", "w4", "w5"};
	int64_t starts[] = {now + 3600, now + 4200, now + 6000, 0, 0};
	for (int i = 0; i < 5; i++) {
		char key[32];
		snprintf(key, sizeof key, "acme/%s", names[i]);
		const struct lic_wait *w = cluster_license_wait_of(&ws, cluster_pod(&f->c, key));
		assert_non_null(w);
		assert_int_equal(w->position, i + 1);
		assert_int_equal(w->start_s, starts[i]); /* w4 waits for b, and w5 behind it */
	}
	assert_null(cluster_license_wait_of(&ws, cluster_pod(&f->c, "acme/a")));
	free(ws.w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(accrues_per_running_vgpu, setup, teardown),
	    cmocka_unit_test_setup_teardown(starts_over_at_the_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(credits_leave_the_licence_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_restart_neither_forgets_nor_counts_twice, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(a_merge_takes_the_larger_figure, setup, teardown),
	    cmocka_unit_test_setup_teardown(waiting_pods_are_placed_and_estimated, setup, teardown),
	    cmocka_unit_test_setup_teardown(billed_up_to_the_end, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
