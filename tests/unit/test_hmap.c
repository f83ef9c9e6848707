/* Unit tests for hmap: put, replace, get by length and by hash, delete with
 * tombstones, growth past many entries, and iteration that sees each live
 * entry exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/hmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_get_replace_delete(void **state)
{
	(void)state;
	struct hmap m;
	int a = 1, b = 2;
	hmap_init(&m);
	assert_null(hmap_get(&m, "x"));
	assert_null(hmap_put(&m, "x", &a));
	assert_ptr_equal(hmap_get(&m, "x"), &a);
	assert_ptr_equal(hmap_put(&m, "x", &b), &a); /* replaced */
	assert_int_equal(hmap_size(&m), 1);
	assert_ptr_equal(hmap_getn(&m, "xyz", 1), &b);
	assert_ptr_equal(hmap_getnh(&m, "x", 1, hmap_hash("x", 1)), &b);
	assert_null(hmap_getn(&m, "xyz", 2));
	assert_ptr_equal(hmap_del(&m, "x"), &b);
	assert_null(hmap_del(&m, "x"));
	assert_int_equal(hmap_size(&m), 0);
	assert_null(hmap_get(&m, "x"));
	hmap_free(&m);
}

static void many_entries_and_iteration(void **state)
{
	(void)state;
	enum { N = 20000 };
	struct hmap m;
	char(*keys)[24] = calloc(N, sizeof *keys);
	int *seen = calloc(N, sizeof *seen);
	assert_non_null(keys);
	assert_non_null(seen);
	hmap_init(&m);
	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof keys[i], "node-%05d", i);
		hmap_put(&m, keys[i], &seen[i]);
	}
	for (int i = 0; i < N; i += 2) /* tombstones everywhere */
		assert_ptr_equal(hmap_del(&m, keys[i]), &seen[i]);
	for (int i = 1; i < N; i += 2)
		assert_ptr_equal(hmap_get(&m, keys[i]), &seen[i]);
	for (int i = 0; i < N; i += 2)
		assert_null(hmap_get(&m, keys[i]));
	assert_int_equal(hmap_size(&m), N / 2);
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&m, &it, &k, &v)) {
		assert_ptr_equal(hmap_get(&m, k), v);
		(*(int *)v)++;
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(seen[i], i % 2);
	hmap_free(&m);
	free(keys);
	free(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(put_get_replace_delete),
	    cmocka_unit_test(many_entries_and_iteration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
