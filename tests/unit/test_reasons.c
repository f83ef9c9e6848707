/* Unit tests for reasons: the category of a node's reason, counts by
 * category, most common first, figures, and the cut to an Event's 1 KiB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/reasons.h"

#include <stdio.h>
#include <string.h>

static void key_of(const char *reason, const char *want)
{
	char key[256];
	rsn_key(reason, key, sizeof key);
	if (strcmp(key, want) != 0)
		fail_msg("rsn_key(\"%s\") = \"%s\", want \"%s\"", reason, key, want);
}

static void keys(void **state)
{
	(void)state;
	key_of("2/2 GPUs: insufficient memory", "insufficient memory");
	key_of("8/8 GPUs: insufficient memory", "insufficient memory");
	/* the clause covering the most GPUs; the first on a tie */
	key_of("1/4 GPUs: no free vGPU slot, 3/4 GPUs: insufficient cores", "insufficient cores");
	key_of("1/2 GPUs: unhealthy, 1/2 GPUs: insufficient memory", "unhealthy");
	key_of("container 2: 1/1 GPUs: insufficient memory", "insufficient memory");
	key_of("1/2 GPUs fit, 2 needed; 1/2 GPUs: insufficient memory", "insufficient memory");
	key_of("2/2 GPUs: card smaller than 100000 MiB", "card smaller than 100000 MiB");
	/* anything else is its own category, commas and all */
	key_of("a container needs 3 GPUs, node has 2", "a container needs 3 GPUs, node has 2");
	key_of("allocation in progress on this node", "allocation in progress on this node");
	key_of("", "");
}

static void render(const struct rsn_tally *t, const char *prefix, size_t len, const char *want)
{
	char out[RSN_MSG_MAX * 2];
	rsn_render(t, prefix, out, len);
	if (strcmp(out, want) != 0)
		fail_msg("got \"%s\", want \"%s\"", out, want);
	assert_true(strlen(out) < len);
}

static void counts_most_common_first(void **state)
{
	struct rsn_tally t;
	(void)state;
	rsn_init(&t);
	render(&t, "0/0 nodes fit", RSN_MSG_MAX, "0/0 nodes fit");
	assert_null(rsn_top(&t));
	for (int i = 0; i < 20; i++)
		rsn_add(&t, "1/1 GPUs: no free vGPU slot");
	for (int i = 0; i < 480; i++)
		rsn_add(&t,
			i % 2 ? "2/2 GPUs: insufficient memory" : "8/8 GPUs: insufficient memory");
	rsn_figure(&t, "insufficient memory", "best free 1800 MiB, needs 2000 MiB");
	rsn_figure(&t, "compute fully used", "never counted: not shown");
	assert_int_equal(t.total, 500);
	assert_string_equal(rsn_top(&t), "insufficient memory");
	render(&t, "0/500 nodes fit: ", RSN_MSG_MAX,
	       "0/500 nodes fit: 480 insufficient memory (best free 1800 MiB, needs 2000 MiB), "
	       "20 no free vGPU slot");
	rsn_free(&t);
}

static void ties_keep_first_seen(void **state)
{
	struct rsn_tally t;
	(void)state;
	rsn_init(&t);
	rsn_add_key(&t, "b");
	rsn_add_key(&t, "a");
	rsn_add_key(&t, "c");
	rsn_add_key(&t, "c");
	render(&t, "", RSN_MSG_MAX, "2 c, 1 b, 1 a");
	assert_string_equal(rsn_top(&t), "c");
	rsn_free(&t);
}

/* 100 distinct reasons on 150 nodes: the message stays under an Event's
 * 1 KiB and says how many reasons and nodes it left out. */
static void cut_to_an_event(void **state)
{
	struct rsn_tally t;
	char key[64], out[RSN_MSG_MAX];
	(void)state;
	rsn_init(&t);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof key, "reason number %03d of a long list", i);
		rsn_add_key(&t, key);
		if (i < 50)
			rsn_add_key(&t, key);
	}
	rsn_render(&t, "0/150 nodes fit: ", out, sizeof out);
	assert_true(strlen(out) < RSN_MSG_MAX);
	assert_true(strlen(out) > RSN_MSG_MAX - 64); /* filled, not cut early */
	assert_non_null(strstr(out, "0/150 nodes fit: 2 reason number 000 of a long list, "));
	const char *more = strstr(out, ", and ");
	assert_non_null(more);
	int left, nodes;
	assert_int_equal(sscanf(more, ", and %d more reasons (%d)", &left, &nodes), 2);
	int shown = 0;
	for (const char *p = out; (p = strstr(p, "reason number ")); p++)
		shown++;
	assert_int_equal(shown + left, 100);
	assert_true(nodes >= left && nodes <= 150);
	/* so small that no clause fits: only the count of what is left out */
	render(&t, "x: ", 40, "x: 100 more reasons (150)");
	rsn_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(keys),
	    cmocka_unit_test(counts_most_common_first),
	    cmocka_unit_test(ties_keep_first_seen),
	    cmocka_unit_test(cut_to_an_event),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
