/* Unit tests for the binder's node lock queues, over a real model and
 * pipeline with a scripted store (the store is the one thing these tests
 * replace: it answers each bind as told and records the order). The device
 * plugin's answer is played through the sync layer, as the watch brings it:
 * binds to a node wait for it and go in arrival order; a store that says
 * the lock is held gets the bind retried; a bind gives up after the wait
 * bound; beyond the in-flight bound binds are refused; freeing the binder
 * answers every waiting bind and gives its reservation back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/binder.h"
#include "vx/sync.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct script {
	struct store base;
	pthread_mutex_t mu;
	int busy_left; /* answer STORE_BUSY this many times first */
	int calls;
	char order[16][32];
	char ann[16][512]; /* the ids each bind wrote */
	int norder;
};

static int s_bind(struct store *s, const struct store_binding *b, struct store_err *e)
{
	struct script *sc = (struct script *)s;
	pthread_mutex_lock(&sc->mu);
	sc->calls++;
	if (sc->busy_left > 0) {
		sc->busy_left--;
		pthread_mutex_unlock(&sc->mu);
		store_err_set(e, 423, "node %s is locked", b->node);
		return STORE_BUSY;
	}
	if (sc->norder < 16) {
		snprintf(sc->order[sc->norder], sizeof sc->order[0], "%s", b->name);
		const char *ids = json_str(b->annotations, ANN_IDS);
		snprintf(sc->ann[sc->norder], sizeof sc->ann[0], "%s", ids ? ids : "");
		sc->norder++;
	}
	pthread_mutex_unlock(&sc->mu);
	return 0;
}

static int s_refresh(struct store *s, const char *ns, const char *name, struct store_err *e)
{
	(void)s;
	store_err_set(e, 404, "pods \"%s/%s\" not found", ns, name);
	return -1;
}

static const struct store_ops script_ops = {.bind = s_bind, .refresh_pod = s_refresh};

struct fx {
	struct vx_clock clock;
	struct cluster cluster;
	struct script store;
	struct pipeline pl;
	struct binder *b;
};

static void node(struct fx *f, const char *name, const char *lock)
{
	char json[1024];
	snprintf(json, sizeof json,
		 "{\"metadata\":{\"name\":\"%s\",\"annotations\":{%s%s%s\"" ANN_REGISTER
		 "\":\"GPU-%s,10,10000,NVIDIA-L4,true,hami-core:\"}},"
		 "\"status\":{\"allocatable\":{\"" RES_NUMBER "\":\"10\"}}}",
		 name, lock ? "\"hamivgpu\":\"" : "", lock ? lock : "", lock ? "\"," : "", name);
	cJSON *j = cJSON_Parse(json);
	assert_non_null(j);
	sync_node(&f->cluster, j);
	cJSON_Delete(j);
}

/* A pod as the watch shows it: pending, or bound with its bind-phase. */
static void pod(struct fx *f, const char *name, const char *nodename, const char *ids,
		const char *phase)
{
	char json[2048], ann[768] = "", spec[128] = "";
	if (ids)
		snprintf(ann, sizeof ann, "\"" ANN_IDS "\":\"%s\",\"" ANN_BIND_PHASE "\":\"%s\"",
			 ids, phase);
	if (nodename)
		snprintf(spec, sizeof spec, "\"nodeName\":\"%s\",", nodename);
	snprintf(json, sizeof json,
		 "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"t\",\"uid\":\"u-%s\","
		 "\"annotations\":{%s}},\"spec\":{%s\"containers\":[{\"name\":\"c\","
		 "\"resources\":{\"limits\":{\"" RES_MEMORY "\":\"1000\"}}}]}}",
		 name, name, ann, spec);
	cJSON *j = cJSON_Parse(json);
	assert_non_null(j);
	sync_pod(&f->cluster, j);
	cJSON_Delete(j);
}

static struct fx *fx_new(int wait_ms, int max_inflight)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[128];
	assert_non_null(f);
	assert_int_equal(clk_init(&f->clock, NULL, err, sizeof err), 0);
	cluster_init(&f->cluster);
	f->store.base.ops = &script_ops;
	f->store.base.kind = "script";
	pthread_mutex_init(&f->store.mu, NULL);
	f->pl = (struct pipeline){&f->cluster,   &f->store.base, &f->clock, POLICY_BINPACK,
				  POLICY_SPREAD, NULL,           NULL,      0};
	struct binder_opts o = {4, max_inflight, wait_ms};
	f->b = binder_new(&f->pl, &o);
	node(f, "n1", NULL);
	node(f, "n2", NULL);
	char name[16];
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof name, "p%d", i);
		pod(f, name, NULL, NULL, NULL);
	}
	return f;
}

static void fx_free(struct fx *f)
{
	binder_free(f->b);
	cluster_free(&f->cluster);
	clk_free(&f->clock);
	pthread_mutex_destroy(&f->store.mu);
	free(f);
}

/* The device plugin answers the k-th bind the store saw: success, lock gone. */
static void play_plugin(struct fx *f, int k, const char *nodename)
{
	pthread_mutex_lock(&f->store.mu);
	char name[32], ids[512];
	snprintf(name, sizeof name, "%s", f->store.order[k]);
	snprintf(ids, sizeof ids, "%s", f->store.ann[k]);
	pthread_mutex_unlock(&f->store.mu);
	pod(f, name, nodename, ids, "success");
	node(f, nodename, NULL);
}

struct answer {
	pthread_mutex_t mu;
	int done, rc;
	char err[512];
};

static struct answer answers[8];

static void on_done(void *ud, int rc, const char *err)
{
	struct answer *a = ud;
	pthread_mutex_lock(&a->mu);
	a->done = 1;
	a->rc = rc;
	snprintf(a->err, sizeof a->err, "%s", err);
	pthread_mutex_unlock(&a->mu);
}

static int answered(struct answer *a)
{
	pthread_mutex_lock(&a->mu);
	int d = a->done;
	pthread_mutex_unlock(&a->mu);
	return d;
}

static int wait_answer(struct answer *a, int ms)
{
	for (int t = 0; t < ms && !answered(a); t += 5)
		usleep(5000);
	return answered(a);
}

static void submit(struct fx *f, int i, const char *nodename)
{
	char name[16];
	snprintf(name, sizeof name, "p%d", i);
	memset(&answers[i], 0, sizeof answers[i]);
	pthread_mutex_init(&answers[i].mu, NULL);
	binder_submit(f->b, "t", name, NULL, nodename, on_done, &answers[i]);
}

static int store_calls(struct fx *f)
{
	pthread_mutex_lock(&f->store.mu);
	int n = f->store.norder;
	pthread_mutex_unlock(&f->store.mu);
	return n;
}

/* Three binds to one node: one at a time, each after the plugin answered
 * the one before, in arrival order. */
static void one_node_in_order(void **state)
{
	(void)state;
	struct fx *f = fx_new(5000, 100);
	submit(f, 1, "n1");
	submit(f, 2, "n1");
	submit(f, 3, "n1");
	assert_true(wait_answer(&answers[1], 2000));
	assert_int_equal(answers[1].rc, 0);
	usleep(100 * 1000);
	assert_false(answered(&answers[2])); /* n1 allocating: p2 waits */
	assert_int_equal(store_calls(f), 1);
	play_plugin(f, 0, "n1");
	assert_true(wait_answer(&answers[2], 2000));
	usleep(50 * 1000);
	assert_false(answered(&answers[3]));
	play_plugin(f, 1, "n1");
	assert_true(wait_answer(&answers[3], 2000));
	assert_string_equal(f->store.order[0], "p1");
	assert_string_equal(f->store.order[1], "p2");
	assert_string_equal(f->store.order[2], "p3");
	struct binder_stats st;
	binder_stats(f->b, &st);
	assert_int_equal(st.bound, 3);
	assert_int_equal(st.inflight, 0);
	assert_int_equal(st.wait_count, 3);
	fx_free(f);
}

/* The store found the lock held (the watch had not shown it): retried. */
static void busy_store_answer_is_retried(void **state)
{
	(void)state;
	struct fx *f = fx_new(5000, 100);
	f->store.busy_left = 2;
	submit(f, 1, "n2");
	assert_true(wait_answer(&answers[1], 3000));
	assert_int_equal(answers[1].rc, 0);
	assert_int_equal(f->store.calls, 3);
	fx_free(f);
}

/* A lock another scheduler holds for longer than the bound: give up. */
static void waiting_gives_up_after_the_bound(void **state)
{
	(void)state;
	struct fx *f = fx_new(200, 100);
	char ts[32];
	clk_format_rfc3339(clk_now_s(&f->clock), ts, sizeof ts);
	node(f, "n1", ts);
	pod(f, "p5", "n1", "GPU-n1,NVIDIA,1000,0:", "allocating"); /* theirs, in flight */
	submit(f, 1, "n1");
	assert_true(wait_answer(&answers[1], 3000));
	assert_int_equal(answers[1].rc, -1);
	assert_non_null(strstr(answers[1].err, "node n1 is busy"));
	assert_int_equal(store_calls(f), 0);
	cluster_rdlock(&f->cluster);
	assert_int_equal(cluster_node(&f->cluster, "n1")->used_mem, 1000); /* p1 gave it back */
	cluster_unlock(&f->cluster);
	struct binder_stats st;
	binder_stats(f->b, &st);
	assert_int_equal(st.timed_out, 1);
	fx_free(f);
}

static void refused_beyond_the_inflight_bound(void **state)
{
	(void)state;
	struct fx *f = fx_new(5000, 2);
	submit(f, 1, "n1");
	assert_true(wait_answer(&answers[1], 2000)); /* bound; n1 now allocating */
	submit(f, 2, "n1");
	submit(f, 3, "n1"); /* two waiting: the bound */
	submit(f, 4, "n2");
	assert_true(answered(&answers[4])); /* refused at once, on this thread */
	assert_int_equal(answers[4].rc, -1);
	assert_non_null(strstr(answers[4].err, "too many binds in flight (2)"));
	fx_free(f); /* answers the two waiting */
	assert_true(answered(&answers[2]) && answered(&answers[3]));
	assert_non_null(strstr(answers[2].err, "shutting down"));
}

/* Freeing the binder answers the waiting binds and forgets their GPUs. */
static void free_answers_waiters_and_unreserves(void **state)
{
	(void)state;
	struct fx *f = fx_new(5000, 100);
	submit(f, 1, "n1");
	assert_true(wait_answer(&answers[1], 2000));
	submit(f, 2, "n1");
	usleep(50 * 1000);
	cluster_rdlock(&f->cluster);
	assert_int_equal(cluster_node(&f->cluster, "n1")->used_mem, 2000);
	cluster_unlock(&f->cluster);
	binder_free(f->b);
	f->b = NULL;
	assert_true(answered(&answers[2]));
	assert_int_equal(answers[2].rc, -1);
	cluster_rdlock(&f->cluster);
	assert_int_equal(cluster_node(&f->cluster, "n1")->used_mem, 1000);
	cluster_unlock(&f->cluster);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(one_node_in_order),
	    cmocka_unit_test(busy_store_answer_is_retried),
	    cmocka_unit_test(waiting_gives_up_after_the_bound),
	    cmocka_unit_test(refused_beyond_the_inflight_bound),
	    cmocka_unit_test(free_answers_waiters_and_unreserves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
