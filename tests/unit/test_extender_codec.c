/* Unit tests for the extender/v1 codec: the in-place fast path and the cJSON
 * path must read the same arguments, and replies must be well-formed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/extender.h"

#include <string.h>

static void expect_names(const char *body, int n, const char *const *want)
{
	struct ext_args a;
	char err[256] = "";
	if (ext_parse_args(body, strlen(body), &a, err, sizeof err))
		fail_msg("%s: %s", body, err);
	assert_int_equal(a.n, n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(a.lens[i], strlen(want[i]));
		assert_memory_equal(a.names[i], want[i], a.lens[i]);
	}
	assert_true(cJSON_IsObject(a.pod));
	assert_true(a.node_names);
	ext_args_free(&a);
}

static void both_paths_agree(void **state)
{
	(void)state;
	static const char *const ab[] = {"a", "b"};
	static const char *const esc[] = {"a\"b", "c"};
	/* fast path: PascalCase, lowercase, whitespace, escapes inside the Pod */
	expect_names("{\"Pod\":{\"metadata\":{\"name\":\"x\\\"y\\\\\"}},\"Nodes\":null,"
		     "\"NodeNames\":[\"a\",\"b\"]}",
		     2, ab);
	expect_names(" { \"nodenames\" : [ \"a\" , \"b\" ] , \"pod\" : { } } ", 2, ab);
	/* a name with an escape takes the cJSON path and is unescaped there */
	expect_names("{\"Pod\":{},\"NodeNames\":[\"a\\\"b\",\"c\"]}", 2, esc);
	/* nothing to filter */
	expect_names("{\"Pod\":{},\"NodeNames\":[]}", 0, NULL);
}

static void full_node_list(void **state)
{
	(void)state;
	const char *body = "{\"Pod\":{},\"Nodes\":{\"items\":[{\"metadata\":{\"name\":\"n1\"}}]},"
			   "\"NodeNames\":null}";
	struct ext_args a;
	char err[256];
	assert_int_equal(ext_parse_args(body, strlen(body), &a, err, sizeof err), 0);
	assert_false(a.node_names);
	assert_int_equal(a.n, 1);
	assert_non_null(a.items);
	struct pipe_filter_out f = {0};
	pipe_filter_reject_all(&f, 1, "no");
	struct buf out = BUF_INIT;
	ext_write_filter(&out, &a, &f);
	cJSON *reply = cJSON_Parse(out.data);
	assert_non_null(reply);
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(reply, "Nodes"), "items")),
	    0);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(reply, "FailedAndUnresolvableNodes"), "n1")
		->valuestring,
	    "no");
	cJSON_Delete(reply);
	buf_free(&out);
	pipe_filter_out_free(&f);
	ext_args_free(&a);
}

static void malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "{",
	    "{\"Pod\":{}",
	    "{\"Pod\":{},\"NodeNames\":[\"a\",]}",
	    "{\"Pod\":{}}x",
	    "{\"NodeNames\":[\"a\"]}",
	    "{\"Pod\":[],\"NodeNames\":[]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ext_args a;
		char err[256] = "";
		assert_int_equal(ext_parse_args(bad[i], strlen(bad[i]), &a, err, sizeof err), -1);
		assert_true(strlen(err) > 0);
		ext_args_free(&a);
	}
}

static void priorities_reply(void **state)
{
	(void)state;
	const char *body = "{\"Pod\":{},\"NodeNames\":[\"n1\",\"n2\",\"n3\"]}";
	struct ext_args a;
	char err[64];
	int scores[] = {10, 0, 7};
	assert_int_equal(ext_parse_args(body, strlen(body), &a, err, sizeof err), 0);
	struct buf out = BUF_INIT;
	ext_write_priorities(&out, &a, scores);
	assert_string_equal(out.data,
			    "[{\"Host\":\"n1\",\"Score\":10},{\"Host\":\"n2\",\"Score\":0},"
			    "{\"Host\":\"n3\",\"Score\":7}]");
	buf_free(&out);
	ext_args_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(both_paths_agree),
	    cmocka_unit_test(full_node_list),
	    cmocka_unit_test(malformed),
	    cmocka_unit_test(priorities_reply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
