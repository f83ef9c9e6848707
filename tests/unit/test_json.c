/* Unit tests for json_print: byte for byte what cJSON_PrintUnformatted
 * writes, for the objects the dev store keeps (nested objects and arrays,
 * numbers integral or not, big or tiny, strings with quotes, backslashes,
 * newlines and UTF-8), and valid JSON that reads back the same where it
 * differs on purpose: the control characters cJSON escapes as \b and \f,
 * and numbers cJSON rounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void same_as_cjson(const char *text)
{
	cJSON *j = cJSON_Parse(text);
	assert_non_null(j);
	char *want = cJSON_PrintUnformatted(j);
	struct buf b = BUF_INIT;
	json_print(&b, j);
	assert_string_equal(b.data, want);
	assert_int_equal(b.len, strlen(want));
	free(want);
	buf_free(&b);
	cJSON_Delete(j);
}

static void kubernetes_objects(void **state)
{
	(void)state;
	same_as_cjson("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
		      "\"namespace\":\"ns\",\"annotations\":{\"volcano.sh/vgpu-ids-new\":"
		      "\"GPU-0,NVIDIA,2048,10:;\"},\"labels\":{}},\"spec\":{\"containers\":"
		      "[{\"name\":\"c\",\"resources\":{\"limits\":{\"volcano.sh/vgpu-number\":"
		      "\"1\"}}}],\"activeDeadlineSeconds\":3600,\"priority\":-5},"
		      "\"status\":{\"phase\":\"Pending\",\"conditions\":[]}}");
	same_as_cjson("[]");
	same_as_cjson("{}");
	same_as_cjson("[true,false,null,[[]],{\"a\":{}}]");
	same_as_cjson("\"just a string\"");
}

static void numbers(void **state)
{
	(void)state;
	same_as_cjson("[0,1,-1,2147483647,-2147483648,2147483648,4294967296]");
	same_as_cjson("[0.5,0.1,1e300,-1e-300,3.141592653589793,1.5e10,123456789.125]");
}

/* cJSON keeps %1.15g when it reads back within a relative epsilon, which
 * loses the last digits of 2^53; json_print keeps them (%1.17g unless the
 * shorter form reads back exactly). */
static void exact_where_cjson_rounds(void **state)
{
	(void)state;
	cJSON *j = cJSON_CreateNumber(9007199254740992.0);
	struct buf b = BUF_INIT;
	json_print(&b, j);
	assert_string_equal(b.data, "9007199254740992");
	assert_true(strtod(b.data, NULL) == 9007199254740992.0);
	cJSON_Delete(j);
	buf_free(&b);
}

static void strings(void **state)
{
	(void)state;
	same_as_cjson("[\"a\\\"b\",\"c\\\\d\",\"line\\nnext\\r\\tx\",\"\\u0001\\u001f\","
		      "\"caf\\u00e9 \xe2\x82\xac\",\"/slash\"]");
	same_as_cjson("{\"k\\\"ey\":\"v\",\"\":\"\"}");
}

/* cJSON writes \b and \f; json_print writes \u0008 and \u000c. Both are
 * JSON for the same string. */
static void other_escapes_read_back(void **state)
{
	(void)state;
	cJSON *j = cJSON_Parse("[\"\\b\\f\"]");
	struct buf b = BUF_INIT;
	json_print(&b, j);
	assert_string_equal(b.data, "[\"\\u0008\\u000c\"]");
	cJSON *back = cJSON_Parse(b.data);
	assert_true(cJSON_Compare(j, back, 1));
	cJSON_Delete(back);
	cJSON_Delete(j);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(kubernetes_objects),       cmocka_unit_test(numbers),
	    cmocka_unit_test(exact_where_cjson_rounds), cmocka_unit_test(strings),
	    cmocka_unit_test(other_escapes_read_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
