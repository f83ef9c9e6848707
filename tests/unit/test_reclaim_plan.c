/* Unit tests for the reclaim plan over a model fed through sync: which
 * pod waits for reclaim, and which victims it gets (the seed's, lowest
 * priority first, newest first, the most over-served queue first, never
 * below quota, the smallest set on one node, no eviction back and forth). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/reclaim.h"
#include "vx/sync.h"
#include "vx/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fx {
	struct vx_clock clock;
	struct cluster c;
	struct pipeline pl;
};

static struct queue_conf q(const char *name, double quota)
{
	struct queue_conf c = {xstrdup(name), xcalloc(1, sizeof(char *)), 1, quota, 1,
			       QUEUE_NO_LIMIT};
	c.namespaces[0] = xstrdup(name);
	return c;
}

/* Nodes n1..n<nodes>, each with two 10,000 MiB GPUs n<i>-0 and n<i>-1. */
static struct fx *fx_new(int nodes, struct queue_conf *qs, int nq)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[64], json[1024];
	assert_non_null(f);
	assert_int_equal(clk_init(&f->clock, NULL, err, sizeof err), 0);
	cluster_init(&f->c);
	cluster_set_queues(&f->c, qs, nq);
	for (int i = 1; i <= nodes; i++) {
		snprintf(
		    json, sizeof json,
		    "{\"metadata\":{\"name\":\"n%d\",\"annotations\":{\"" ANN_REGISTER
		    "\":\"n%d-0,10,10000,T4,true,hami-core:n%d-1,10,10000,T4,true,hami-core:\"}},"
		    "\"status\":{\"allocatable\":{\"" RES_NUMBER "\":\"20\"}}}",
		    i, i, i);
		cJSON *j = cJSON_Parse(json);
		sync_node(&f->c, j);
		cJSON_Delete(j);
	}
	f->pl =
	    (struct pipeline){&f->c, NULL, &f->clock, POLICY_BINPACK, POLICY_SPREAD, NULL, NULL, 0};
	return f;
}

static void fx_free(struct fx *f)
{
	cluster_free(&f->c);
	clk_free(&f->clock);
	free(f);
}

/* A whole-card pod in namespace (= queue) ns; gpus "n1-0" or "n1-0,n1-1"
 * makes it Running there, NULL a pending 1-GPU pod, "pending:N" N GPUs. */
static void pod(struct fx *f, const char *ns, const char *name, const char *gpus, int prio,
		int created)
{
	char json[2048], ann[512] = "", spec[128] = "", ids[256] = "", node[16] = "";
	int n = 1;
	if (gpus && !strncmp(gpus, "pending:", 8)) {
		n = atoi(gpus + 8);
		gpus = NULL;
	}
	if (gpus) {
		char copy[64];
		snprintf(copy, sizeof copy, "%s", gpus);
		snprintf(node, sizeof node, "%.*s", (int)strcspn(copy, "-"), copy);
		n = 0;
		for (char *t = strtok(copy, ","); t; t = strtok(NULL, ","), n++)
			snprintf(ids + strlen(ids), sizeof ids - strlen(ids),
				 "%s,NVIDIA,10000,100:", t);
		snprintf(ann, sizeof ann,
			 "\"" ANN_IDS "\":\"%s\",\"" ANN_BIND_PHASE "\":\"success\"", ids);
		snprintf(spec, sizeof spec, "\"nodeName\":\"%s\",", node);
	}
	snprintf(json, sizeof json,
		 "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"uid\":\"u-%s\","
		 "\"creationTimestamp\":\"2026-12-01T00:00:%02dZ\",\"annotations\":{%s}},"
		 "\"spec\":{%s\"priority\":%d,\"containers\":[{\"name\":\"c\",\"resources\":{"
		 "\"limits\":{\"" RES_NUMBER "\":\"%d\",\"" RES_CORES "\":\"100\"}}}]},"
		 "\"status\":{\"phase\":\"%s\"}}",
		 name, ns, name, created, ann, spec, prio, n, gpus ? "Running" : "Pending");
	cJSON *j = cJSON_Parse(json);
	assert_non_null(j);
	sync_pod(&f->c, j);
	cJSON_Delete(j);
}

/* The victims' names, comma separated, or "" when there is no plan. */
static const char *plan(struct fx *f, char *out, size_t len)
{
	struct reclaim_plan p;
	out[0] = '\0';
	reclaim_update_shares(&f->c);
	if (!reclaim_plan(&f->pl, 0, NULL, NULL, &p))
		return out;
	for (int i = 0; i < p.n; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "", p.v[i].name);
	return out;
}

static void seed(void **state)
{
	(void)state;
	char got[256];
	struct queue_conf qs[2] = {q("team-a", 2), q("team-b", 2)};
	struct fx *f = fx_new(2, qs, 2);
	pod(f, "team-a", "a1", "n1-0", 0, 1);
	pod(f, "team-a", "a2", "n2-0,n2-1", 0, 2);
	pod(f, "team-b", "b1", "n1-1", 0, 3);
	assert_string_equal(plan(f, got, sizeof got), ""); /* nobody waits */
	pod(f, "team-b", "b2", NULL, 0, 4);
	assert_string_equal(plan(f, got, sizeof got), "a1"); /* a2 would take a below quota */
	fx_free(f);
}

/* Same queue, same node: the lowest spec.priority goes, then the newest. */
static void priority_then_newest(void **state)
{
	(void)state;
	char got[256];
	struct queue_conf qs[2] = {q("team-a", 0), q("team-b", 1)};
	struct fx *f = fx_new(1, qs, 2);
	pod(f, "team-a", "old-low", "n1-0", 1, 1);
	pod(f, "team-a", "new-high", "n1-1", 5, 2);
	pod(f, "team-b", "b", NULL, 0, 3);
	assert_string_equal(plan(f, got, sizeof got), "old-low");
	fx_free(f);
	struct queue_conf qs2[2] = {q("team-a", 0), q("team-b", 1)};
	f = fx_new(1, qs2, 2);
	pod(f, "team-a", "older", "n1-0", 1, 1);
	pod(f, "team-a", "newer", "n1-1", 1, 2);
	pod(f, "team-b", "b", NULL, 0, 3);
	assert_string_equal(plan(f, got, sizeof got), "newer");
	fx_free(f);
}

/* Two queues above their shares on one node: the more over-served one
 * gives (x has weight 0.25, so a smaller share of the surplus than y), even
 * though y's pod is the newer. */
static void most_over_served_queue(void **state)
{
	(void)state;
	char got[256];
	struct queue_conf qs[4] = {q("x", 0), q("y", 0), q("w", 2), q("z", 1)};
	qs[0].weight = 0.25;
	struct fx *f = fx_new(2, qs, 4);
	pod(f, "x", "x1", "n1-0", 0, 1);
	pod(f, "y", "y1", "n1-1", 0, 2);
	pod(f, "w", "w1", "n2-0,n2-1", 0, 3); /* at its quota: no victim */
	pod(f, "z", "z1", NULL, 0, 4);
	assert_string_equal(plan(f, got, sizeof got), "x1");
	fx_free(f);
}

/* A queue at its quota is never a victim, even if another waits. */
static void never_below_quota(void **state)
{
	(void)state;
	char got[256];
	struct queue_conf qs[2] = {q("team-a", 2), q("team-b", 2)};
	struct fx *f = fx_new(1, qs, 2);
	pod(f, "team-a", "a1", "n1-0", 0, 1);
	pod(f, "team-a", "a2", "n1-1", 0, 2);
	pod(f, "team-b", "b1", NULL, 0, 3); /* a holds 2 = its quota = its share */
	assert_string_equal(plan(f, got, sizeof got), "");
	fx_free(f);
}

/* Reclaiming would leave b more over-served than a: no plan, or they would
 * take the GPU back and forth. */
static void no_back_and_forth(void **state)
{
	(void)state;
	char got[256];
	struct queue_conf qs[2] = {q("team-a", 0), q("team-b", 0)};
	struct fx *f = fx_new(1, qs, 2);
	pod(f, "team-a", "a1", "n1-0", 0, 1);
	pod(f, "team-b", "b1", "n1-1", 0, 2);
	pod(f, "team-b", "b2", NULL, 0, 3); /* shares 1 and 1: b would hold 2 of 1 */
	assert_string_equal(plan(f, got, sizeof got), "");
	fx_free(f);
}

/* A 2-GPU pod: one victim on n2 rather than two on n1. A 1-GPU pod: one
 * victim either way, and the one that frees fewer GPUs. */
static void smallest_set_on_one_node(void **state)
{
	(void)state;
	char got[256];
	struct queue_conf qs[2] = {q("team-a", 0), q("team-b", 2)};
	struct fx *f = fx_new(2, qs, 2);
	pod(f, "team-a", "a1", "n1-0", 0, 1);
	pod(f, "team-a", "a2", "n1-1", 0, 2);
	pod(f, "team-a", "a3", "n2-0,n2-1", 0, 3);
	pod(f, "team-b", "b", "pending:2", 0, 4);
	assert_string_equal(plan(f, got, sizeof got), "a3");
	fx_free(f);
	struct queue_conf qs2[2] = {q("team-a", 0), q("team-b", 2)};
	f = fx_new(2, qs2, 2);
	pod(f, "team-a", "a1", "n1-0", 0, 1);
	pod(f, "team-a", "a2", "n1-1", 0, 2);
	pod(f, "team-a", "a3", "n2-0,n2-1", 0, 3);
	pod(f, "team-b", "b", NULL, 0, 4);
	assert_string_equal(plan(f, got, sizeof got), "a2"); /* newest of n1's, 1 GPU */
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(seed),
	    cmocka_unit_test(priority_then_newest),
	    cmocka_unit_test(most_over_served_queue),
	    cmocka_unit_test(never_below_quota),
	    cmocka_unit_test(no_back_and_forth),
	    cmocka_unit_test(smallest_set_on_one_node),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
