/* Unit tests for pod request parsing (SPEC section 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/request.h"

#include <stdio.h>
#include <string.h>

static int parse(const char *json, struct req_pod *r, char *err, size_t len)
{
	cJSON *pod = cJSON_Parse(json);
	assert_non_null(pod);
	int rc = req_parse_pod(pod, r, err, len);
	cJSON_Delete(pod);
	return rc;
}

static void limits_win_over_requests(void **state)
{
	(void)state;
	struct req_pod r;
	char err[256];
	assert_int_equal(parse("{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{"
			       "\"limits\":{\"volcano.sh/vgpu-number\":\"2\",\"volcano.sh/"
			       "vgpu-memory\":\"3000\"},"
			       "\"requests\":{\"volcano.sh/vgpu-number\":\"5\",\"volcano.sh/"
			       "vgpu-cores\":\"40\"}}}]}}",
			       &r, err, sizeof err),
			 0);
	assert_true(r.is_vgpu);
	assert_int_equal(r.ctrs[0].nums, 2);
	assert_int_equal(r.ctrs[0].mem_mib, 3000);
	assert_int_equal(r.ctrs[0].cores, 40); /* only in requests: falls back */
	assert_int_equal(r.total_vgpus, 2);
	req_free(&r);
}

static void defaults(void **state)
{
	(void)state;
	struct req_pod r;
	char err[256];
	/* Memory alone: 1 vGPU, 0 cores. Nothing about memory: the whole card. */
	assert_int_equal(parse("{\"spec\":{\"containers\":["
			       "{\"resources\":{\"limits\":{\"volcano.sh/vgpu-memory\":1024}}},"
			       "{\"resources\":{\"limits\":{\"volcano.sh/vgpu-cores\":\"20\"}}},"
			       "{\"resources\":{\"limits\":{\"cpu\":\"1\"}}}]}}",
			       &r, err, sizeof err),
			 0);
	assert_int_equal(r.nctr, 3);
	assert_int_equal(r.ctrs[0].nums, 1);
	assert_int_equal(r.ctrs[0].mem_mib, 1024);
	assert_int_equal(r.ctrs[0].cores, 0);
	assert_int_equal(r.ctrs[1].nums, 1);
	assert_int_equal(r.ctrs[1].mem_mib, 0);
	assert_int_equal(r.ctrs[1].mem_pct, 100);
	assert_int_equal(r.ctrs[2].nums, 0);
	assert_int_equal(req_mem_on(&r.ctrs[1], 24576), 24576);
	assert_int_equal(r.total_vgpus, 2);
	req_free(&r);
}

static void percentage(void **state)
{
	(void)state;
	struct req_pod r;
	char err[256];
	assert_int_equal(parse("{\"spec\":{\"containers\":[{\"resources\":{\"limits\":{"
			       "\"volcano.sh/vgpu-number\":1,"
			       "\"volcano.sh/vgpu-memory-percentage\":\"25\"}}}]}}",
			       &r, err, sizeof err),
			 0);
	assert_int_equal(r.ctrs[0].mem_pct, 25);
	assert_int_equal(req_mem_on(&r.ctrs[0], 40000), 10000);
	assert_int_equal(r.max_mem_mib, 0); /* relative: no absolute bound */
	req_free(&r);
}

static void init_containers_ignored(void **state)
{
	(void)state;
	struct req_pod r;
	char err[256];
	assert_int_equal(parse("{\"spec\":{\"initContainers\":[{\"resources\":{\"limits\":{"
			       "\"volcano.sh/vgpu-number\":\"1\"}}}],"
			       "\"containers\":[{\"name\":\"app\"}]}}",
			       &r, err, sizeof err),
			 0);
	assert_false(r.is_vgpu);
	assert_int_equal(r.nctr, 1);
	req_free(&r);
}

static void invalid_values(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "{\"volcano.sh/vgpu-cores\":\"150\"}",
	    "{\"volcano.sh/vgpu-number\":\"two\"}",
	    "{\"volcano.sh/vgpu-memory\":\"-5\"}",
	    "{\"volcano.sh/vgpu-memory\":1.5}",
	    "{\"volcano.sh/vgpu-memory-percentage\":\"101\"}",
	    "{\"volcano.sh/vgpu-number\":\"1000\"}",
	    "{\"volcano.sh/vgpu-memory\":true}",
	    "{\"volcano.sh/vgpu-memory\":1e300}", /* beyond int64: refused, no overflow */
	    "{\"volcano.sh/vgpu-number\":-1e300}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char json[512], err[256] = "";
		struct req_pod r;
		snprintf(
		    json, sizeof json,
		    "{\"spec\":{\"containers\":[{\"name\":\"c1\",\"resources\":{\"limits\":%s}}]}}",
		    bad[i]);
		assert_int_equal(parse(json, &r, err, sizeof err), -1);
		assert_non_null(strstr(err, "container c1"));
	}
	struct req_pod r;
	char err[256];
	assert_int_equal(parse("{\"spec\":{\"containers\":{}}}", &r, err, sizeof err), -1);
}

static void quantities(void **state)
{
	(void)state;
	int64_t v;
	assert_int_equal(req_parse_quantity("3", &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(req_parse_quantity("2k", &v), 0);
	assert_int_equal(v, 2000);
	assert_int_equal(req_parse_quantity("1Gi", &v), 0);
	assert_int_equal(v, 1LL << 30);
	assert_int_equal(req_parse_quantity("4000m", &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(req_parse_quantity("1500m", &v), -1);
	assert_int_equal(req_parse_quantity("", &v), -1);
	assert_int_equal(req_parse_quantity("12x", &v), -1);
	assert_int_equal(req_parse_quantity("-1", &v), -1);
	assert_int_equal(req_parse_quantity("99999999999999999999", &v), -1);
}

/* Every form the API server accepts, read as it reads them; only whole,
 * non-negative values are a valid count of an extended resource. */
static void quantities_as_the_api_server_reads_them(void **state)
{
	static const struct {
		const char *in;
		enum req_quantity want;
		int64_t v;
	} cases[] = {
	    {"2Gi", REQ_Q_OK, 2147483648LL},
	    {"1.5k", REQ_Q_OK, 1500},
	    {"1e3", REQ_Q_OK, 1000},
	    {"1E3", REQ_Q_OK, 1000},
	    {"2E", REQ_Q_OK, 2000000000000000000LL},
	    {"+7", REQ_Q_OK, 7},
	    {"0.5Ki", REQ_Q_OK, 512},
	    {"3.", REQ_Q_OK, 3},
	    {"-0", REQ_Q_OK, 0},
	    {"007", REQ_Q_OK, 7},
	    {"2000000u", REQ_Q_OK, 2},
	    {"1.50", REQ_Q_FRACTION, 0},
	    {"1.5", REQ_Q_FRACTION, 0},
	    {"0.05", REQ_Q_FRACTION, 0},
	    {"1500m", REQ_Q_FRACTION, 0},
	    {"1e-3", REQ_Q_FRACTION, 0},
	    {"-1", REQ_Q_NEGATIVE, 0},
	    {"-100", REQ_Q_NEGATIVE, 0},
	    {"abc", REQ_Q_SYNTAX, 0},
	    {".", REQ_Q_SYNTAX, 0},
	    {"1 ", REQ_Q_SYNTAX, 0},
	    {"1e", REQ_Q_SYNTAX, 0},
	    {"1KiB", REQ_Q_SYNTAX, 0},
	    {"", REQ_Q_SYNTAX, 0},
	    {"8Ei", REQ_Q_RANGE, 0},
	    {"9223372036854775807", REQ_Q_OK, INT64_MAX},
	    {"9223372036854775808", REQ_Q_RANGE, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t v = -1;
		enum req_quantity q = req_quantity(cases[i].in, &v);
		if (q != cases[i].want || (q == REQ_Q_OK && v != cases[i].v))
			fail_msg("\"%s\": got %d (%lld), want %d (%lld)", cases[i].in, q,
				 (long long)v, cases[i].want, (long long)cases[i].v);
	}
}

static void validate(const char *limits, const char *want)
{
	char json[512], err[512];
	snprintf(json, sizeof json,
		 "{\"metadata\":{\"name\":\"x\"},\"spec\":{\"containers\":[{\"name\":\"a\"},"
		 "{\"name\":\"b\",\"resources\":{\"limits\":%s}}]}}",
		 limits);
	cJSON *pod = cJSON_Parse(json);
	assert_non_null(pod);
	int rc = req_validate_pod(pod, err, sizeof err);
	cJSON_Delete(pod);
	if (!want) {
		assert_int_equal(rc, 0);
		return;
	}
	assert_int_equal(rc, -1);
	assert_string_equal(err, want);
}

static void created_pods_validated(void **state)
{
	(void)state;
	validate("{\"volcano.sh/vgpu-memory\":\"2Gi\",\"cpu\":\"1.5\"}", NULL);
	validate("{\"volcano.sh/vgpu-memory\":2000}", NULL);
	validate(
	    "{\"volcano.sh/vgpu-memory\":\"1.5\"}",
	    "Pod \"x\" is invalid: spec.containers[1].resources.limits[volcano.sh/vgpu-memory]: "
	    "Invalid value: \"1.5\": must be an integer");
	validate(
	    "{\"volcano.sh/vgpu-number\":1.5}",
	    "Pod \"x\" is invalid: spec.containers[1].resources.limits[volcano.sh/vgpu-number]: "
	    "Invalid value: \"1.5\": must be an integer");
	validate(
	    "{\"volcano.sh/vgpu-cores\":-1}",
	    "Pod \"x\" is invalid: spec.containers[1].resources.limits[volcano.sh/vgpu-cores]: "
	    "Invalid value: \"-1\": must be greater than or equal to 0");
	validate(
	    "{\"volcano.sh/vgpu-memory\":\"-100\"}",
	    "Pod \"x\" is invalid: spec.containers[1].resources.limits[volcano.sh/vgpu-memory]: "
	    "Invalid value: \"-100\": must be greater than or equal to 0");
	validate(
	    "{\"volcano.sh/vgpu-memory\":\"abc\"}",
	    "Pod \"x\" is invalid: spec.containers[1].resources.limits[volcano.sh/vgpu-memory]: "
	    "Invalid value: \"abc\": quantities must match the regular expression "
	    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
}

static void selectors_and_policies(void **state)
{
	(void)state;
	struct req_pod r;
	char err[256];
	assert_int_equal(
	    parse("{\"metadata\":{\"annotations\":{\"nvidia.com/use-gputype\":\"a100, H100\","
		  "\"nvidia.com/nouse-gputype\":\"mig\","
		  "\"volcano.sh/vgpu-nouse-gpuuuid\":\"GPU-bad\","
		  "\"vgpu-extender.io/node-policy\":\"spread\","
		  "\"vgpu-extender.io/gpu-policy\":\"Binpack\"}},"
		  "\"spec\":{\"containers\":[{\"resources\":{\"limits\":{"
		  "\"volcano.sh/vgpu-number\":\"1\"}}}]}}",
		  &r, err, sizeof err),
	    0);
	assert_true(req_type_allowed(&r, "NVIDIA-A100-SXM4-80GB"));
	assert_true(req_type_allowed(&r, "NVIDIA-H100"));
	assert_false(req_type_allowed(&r, "NVIDIA-L4"));
	assert_false(req_type_allowed(&r, "NVIDIA-A100-MIG"));
	assert_true(req_uuid_allowed(&r, "GPU-good"));
	assert_false(req_uuid_allowed(&r, "GPU-bad"));
	assert_int_equal(r.node_policy, POLICY_SPREAD);
	assert_int_equal(r.gpu_policy, POLICY_BINPACK);
	req_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(quantities_as_the_api_server_reads_them),
	    cmocka_unit_test(created_pods_validated),
	    cmocka_unit_test(limits_win_over_requests),
	    cmocka_unit_test(defaults),
	    cmocka_unit_test(percentage),
	    cmocka_unit_test(init_containers_ignored),
	    cmocka_unit_test(invalid_values),
	    cmocka_unit_test(quantities),
	    cmocka_unit_test(selectors_and_policies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
