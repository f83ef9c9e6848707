/* Unit tests for nominations: a pod's picks are seen by other pods and not
 * by itself, are replaced by a later pick, end with the pod's bind or after
 * NOM_TTL_MS, and a full table drops the pick that expires first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/hmap.h"
#include "vx/nominate.h"

#include <stdio.h>
#include <string.h>

static void pick(struct nominations *t, const char *uid, const char *node, int64_t now)
{
	const char *names[] = {node};
	size_t lens[] = {strlen(node)};
	nom_set(t, uid, names, lens, 1, now);
}

static int sees(struct nominations *t, const char *uid, const char *node, int64_t now)
{
	struct nom_node snap[16];
	int n = nom_snapshot(t, uid, now, snap, 16);
	return nom_has(snap, n, node, strlen(node), hmap_hash(node, strlen(node)));
}

static void lifecycle(void **state)
{
	(void)state;
	struct nominations t;
	nom_init(&t);
	assert_false(sees(&t, "other", "n1", 0));
	pick(&t, "u1", "n1", 1000);
	assert_true(sees(&t, "other", "n1", 1000));
	assert_false(sees(&t, "u1", "n1", 1000)); /* its own pick is no obstacle */
	assert_false(sees(&t, "other", "n12", 1000));
	pick(&t, "u1", "n2", 1100); /* prioritized again: the new pick replaces the old */
	assert_false(sees(&t, "other", "n1", 1100));
	assert_true(sees(&t, "other", "n2", 1100));
	nom_clear(&t, "u1"); /* its bind arrived */
	assert_false(sees(&t, "other", "n2", 1100));
	pick(&t, "u2", "n3", 2000);
	assert_true(sees(&t, "other", "n3", 2000 + NOM_TTL_MS - 1));
	assert_false(sees(&t, "other", "n3", 2000 + NOM_TTL_MS)); /* never bound: expired */
	assert_int_equal(t.live, 0);
	nom_free(&t);
}

static void full_table_and_bad_input(void **state)
{
	(void)state;
	struct nominations t;
	char uid[32];
	nom_init(&t);
	for (int i = 0; i < NOM_SLOTS; i++) {
		snprintf(uid, sizeof uid, "u%d", i);
		pick(&t, uid, "n1", 1000 + i);
	}
	pick(&t, "late", "n9", 1000 + NOM_TTL_MS - 1); /* replaces u0, the first to expire */
	assert_true(sees(&t, "x", "n9", 1000 + NOM_TTL_MS - 1));
	assert_int_equal(t.live, NOM_SLOTS);
	struct nom_node snap[NOM_SLOTS];
	int n = nom_snapshot(&t, "x", 1000 + NOM_TTL_MS - 1, snap, NOM_SLOTS);
	assert_int_equal(n, NOM_SLOTS); /* u1..u127 and late: u0 made room */
	const char *many[NOM_MAX_NODES + 1] = {"a", "b", "c", "d", "e"};
	size_t lens[NOM_MAX_NODES + 1] = {1, 1, 1, 1, 1};
	nom_set(&t, "ties", many, lens, NOM_MAX_NODES + 1, 1000); /* too many ties: ignored */
	assert_false(sees(&t, "x", "a", 1000));
	nom_set(&t, NULL, many, lens, 1, 1000); /* no uid: ignored */
	nom_clear(&t, NULL);
	nom_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(lifecycle),
					   cmocka_unit_test(full_table_and_bad_input)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
