/* Unit tests for the licence rules: which licence covers a pod (billing
 * credits takes it out), the next reset, the waiting order (priority, then
 * age), and the refusal text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/license.h"
#include "vx/xalloc.h"

#include <string.h>

static void which_licence(void **state)
{
	(void)state;
	struct license_conf l = {xstrdup("acme"), xcalloc(2, sizeof(char *)), 2, 96, 16, 0};
	l.namespaces[0] = xstrdup("acme-cfd");
	l.namespaces[1] = xstrdup("acme-ml");
	struct license_set s;
	license_set_init(&s, &l, 1);
	assert_int_equal(license_of(&s, "acme-ml", NULL), 0);
	assert_int_equal(license_of(&s, "acme-ml", "license"), 0);
	assert_int_equal(license_of(&s, "acme-ml", "credits"), -1); /* pay as you go */
	assert_int_equal(license_of(&s, "other", NULL), -1);
	license_set_free(&s);
}

static void next_reset(void **state)
{
	(void)state;
	const int64_t day = 20424LL * SECONDS_PER_DAY; /* some 00:00 UTC */
	assert_int_equal(license_next_reset(day, 0), day + SECONDS_PER_DAY);
	assert_int_equal(license_next_reset(day - 1, 0), day);
	assert_int_equal(license_next_reset(day + 3600, 120), day + 7200); /* 02:00 */
	assert_int_equal(license_next_reset(day + 7200, 120), day + SECONDS_PER_DAY + 7200);
}

static void waiting_order(void **state)
{
	(void)state;
	assert_true(license_before(9, 200, "a/new", 5, 100, "a/old")); /* priority first */
	assert_true(license_before(5, 100, "a/old", 5, 200, "a/new")); /* then age */
	assert_true(license_before(5, 100, "a/a", 5, 100, "a/b"));     /* then the name */
	assert_false(license_before(5, 100, "a/b", 5, 100, "a/a"));
}

static void refusal(void **state)
{
	(void)state;
	struct license_conf l = {(char *)"acme", NULL, 0, 96, 16, 0};
	char out[300];
	license_refusal(out, sizeof out, &l, 96.0, 3 * 3600 + 12 * 60);
	assert_string_equal(out, "licence acme: 96.0 of 96 vGPU-hours used today; resets in 3h12m "
				 "(00:00 UTC); set vgpu-extender.io/billing=credits to run now");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(which_licence),
	    cmocka_unit_test(next_reset),
	    cmocka_unit_test(waiting_order),
	    cmocka_unit_test(refusal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
