/* Unit tests for queues: the fair share as a table (equal and unequal
 * weights, demand below quota, limits, fractional demand, an empty cluster,
 * weight 0, a queue with no pods, more quota than capacity), the GPU charge
 * of a slice, and which queue a pod belongs to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/queue.h"
#include "vx/xalloc.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAXQ 4
#define NONE QUEUE_NO_LIMIT

struct fs_case {
	const char *what;
	int n;
	double capacity;
	double quota[MAXQ], weight[MAXQ], limit[MAXQ], demand[MAXQ];
	double want[MAXQ];
};

static const struct fs_case cases[] = {
    {"seed: both at quota 2, a over by 1, cluster of 4",
     2,
     4,
     {2, 2},
     {1, 1},
     {NONE, NONE},
     {3, 2},
     {2, 2}},
    {"idle GPUs go to the queue that wants them",
     2,
     4,
     {2, 2},
     {1, 1},
     {NONE, NONE},
     {3, 1},
     {3, 1}},
    {"equal weights split the surplus", 2, 4, {1, 1}, {1, 1}, {NONE, NONE}, {4, 4}, {2, 2}},
    {"unequal weights 3:1", 3, 8, {0, 0, 0}, {3, 1, 1}, {NONE, NONE, NONE}, {8, 8, 0}, {6, 2, 0}},
    {"demand below quota", 2, 4, {3, 1}, {1, 1}, {NONE, NONE}, {1, 3}, {1, 3}},
    {"a limit caps the surplus, the rest goes on", 2, 6, {1, 1}, {1, 1}, {2, NONE}, {6, 6}, {2, 4}},
    {"fractional demand", 2, 2, {0.5, 0.5}, {1, 1}, {NONE, NONE}, {0.25, 3}, {0.25, 1.75}},
    {"empty cluster", 2, 0, {1, 1}, {1, 1}, {NONE, NONE}, {1, 1}, {1, 1}},
    {"weight 0 gets its quota, no surplus", 2, 4, {1, 0}, {0, 1}, {NONE, NONE}, {4, 4}, {1, 3}},
    {"a queue with no pods gets nothing", 2, 4, {2, 2}, {1, 1}, {NONE, NONE}, {0, 4}, {0, 4}},
    {"more quota than capacity: quotas stand, no surplus",
     2,
     2,
     {2, 2},
     {1, 1},
     {NONE, NONE},
     {2, 2},
     {2, 2}},
    {"limit below quota", 1, 4, {3}, {1}, {1}, {4}, {1}},
};

static void fair_share_table(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		const struct fs_case *c = &cases[k];
		double got[MAXQ] = {0};
		queue_fair_share(c->n, c->quota, c->weight, c->limit, c->demand, c->capacity, got);
		for (int i = 0; i < c->n; i++)
			if (fabs(got[i] - c->want[i]) > 1e-6)
				fail_msg("%s: queue %d got %.4f, want %.4f", c->what, i, got[i],
					 c->want[i]);
	}
}

static void charge_of_a_slice(void **state)
{
	(void)state;
	assert_true(fabs(queue_charge(25, 1000, 24576) - 0.25) < 1e-9); /* cores win */
	assert_true(fabs(queue_charge(0, 12288, 24576) - 0.5) < 1e-9);  /* memory wins */
	assert_true(fabs(queue_charge(100, 1000, 24576) - 1.0) < 1e-9); /* exclusive: a card */
	assert_true(fabs(queue_charge(10, 2000, 81920) - 0.1) < 1e-9);  /* 2000 MiB/10% */
	assert_true(fabs(queue_charge(0, 30000, 24576) - 1.0) < 1e-9);  /* never above a card */
}

static struct queue_conf conf(const char *name, const char *ns)
{
	struct queue_conf q = {xstrdup(name), NULL, 0, 1, 1, NONE};
	if (ns) {
		q.namespaces = xcalloc(1, sizeof *q.namespaces);
		q.namespaces[q.nns++] = xstrdup(ns);
	}
	return q;
}

static void which_queue(void **state)
{
	(void)state;
	struct queue_conf confs[2] = {conf("team-a", "team-a"), conf("team-b", "ns-b")};
	struct queue_set s;
	queue_set_init(&s, confs, 2);
	assert_int_equal(s.n, 3); /* and the implicit default */
	assert_string_equal(s.q[queue_of(&s, NULL, "team-a")].name, "team-a");
	assert_string_equal(s.q[queue_of(&s, "team-a", "ns-b")].name, "team-a"); /* label wins */
	assert_string_equal(s.q[queue_of(&s, NULL, "ns-b")].name, "team-b");
	assert_string_equal(s.q[queue_of(&s, NULL, "other")].name, QUEUE_DEFAULT);
	assert_string_equal(s.q[queue_of(&s, "nope", "other")].name, QUEUE_DEFAULT);
	assert_true(s.q[queue_of(&s, NULL, NULL)].quota == 0);
	queue_set_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fair_share_table),
	    cmocka_unit_test(charge_of_a_slice),
	    cmocka_unit_test(which_queue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
