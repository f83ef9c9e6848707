/* Unit tests for scorecache: a hit needs the same pod, the same model
 * version and the same candidates in the same order; anything else is a
 * miss, never a wrong score. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/scorecache.h"

#include <string.h>

static const char *const names[] = {"n1", "n2", "n3"};
static const size_t lens[] = {2, 2, 2};

static void hits_and_misses(void **state)
{
	(void)state;
	struct score_cache c;
	const bool pass[] = {true, false, true};
	const double raw[] = {0.5, 9.0, 1.5};
	double out[3] = {0};
	scache_init(&c);
	assert_false(scache_lookup(&c, "u1", 7, names, lens, 2, out)); /* empty */
	scache_store(&c, "u1", 7, names, lens, pass, raw, 3);
	/* prioritize gets the survivors: n1 and n3 */
	const char *const surv[] = {"n1", "n3"};
	const size_t slens[] = {2, 2};
	assert_true(scache_lookup(&c, "u1", 7, surv, slens, 2, out));
	assert_true(out[0] == 0.5 && out[1] == 1.5);
	assert_false(scache_lookup(&c, "u2", 7, surv, slens, 2, out)); /* another pod */
	assert_false(scache_lookup(&c, "u1", 8, surv, slens, 2, out)); /* the model moved */
	const char *const other[] = {"n3", "n1"};
	assert_false(scache_lookup(&c, "u1", 7, other, slens, 2, out)); /* another order */
	assert_false(scache_lookup(&c, "u1", 7, names, lens, 3, out));  /* n2 failed filter */
	assert_false(scache_lookup(&c, NULL, 7, surv, slens, 2, out));
	scache_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(hits_and_misses)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
