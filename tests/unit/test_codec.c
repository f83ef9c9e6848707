/* Unit tests for the Volcano register and pod-device codecs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/codec.h"

#include <stdlib.h>
#include <string.h>

static void register_round_trip(void **state)
{
	(void)state;
	const char *in = "GPU-a,10,32768,NVIDIA-Tesla V100S-PCIE-32GB,true,hami-core:"
			 "GPU-b,4,81920,NVIDIA-A100,false,mig:";
	char err[128];
	struct codec_gpu *g;
	int n = codec_decode_register(in, &g, err, sizeof err);
	assert_int_equal(n, 2);
	assert_string_equal(g[0].uuid, "GPU-a");
	assert_int_equal(g[0].slots, 10);
	assert_int_equal(g[0].mem_mib, 32768);
	assert_string_equal(g[0].type, "NVIDIA-Tesla V100S-PCIE-32GB");
	assert_true(g[0].healthy);
	assert_string_equal(g[0].mode, "hami-core");
	assert_false(g[1].healthy);
	assert_string_equal(g[1].mode, "mig");
	struct buf b = BUF_INIT;
	codec_encode_register(&b, g, n);
	assert_string_equal(b.data, in);
	buf_free(&b);
	codec_free_gpus(g, n);
}

static void register_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",                                                    /* no entry */
	    "GPU-a,10,32768,NVIDIA,true",                          /* no ':' */
	    "GPU-a,10,32768,NVIDIA,true:",                         /* 5 fields */
	    "GPU-a,ten,32768,NVIDIA,true,hami-core:",              /* count not a number */
	    "GPU-a,10,-5,NVIDIA,true,hami-core:",                  /* negative memory */
	    "GPU-a,10,32768,NVIDIA,maybe,hami-core:",              /* health */
	    ",10,32768,NVIDIA,true,hami-core:",                    /* empty uuid */
	    "GPU-a,10,32768,NVIDIA,true,hami-core,x,y,z:",         /* too many fields */
	    "GPU-a,10,1099511627777,NVIDIA,true,hami-core:",       /* memory over 1 EiB */
	    "GPU-a,10,9999999999999999999,NVIDIA,true,hami-core:", /* over int64_t */
	    "GPU-a,100001,32768,NVIDIA,true,hami-core:",           /* count over 100,000 */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char err[128] = "";
		struct codec_gpu *g = (void *)1;
		assert_int_equal(codec_decode_register(bad[i], &g, err, sizeof err), -1);
		assert_null(g);
		assert_true(strlen(err) > 0);
	}
	struct codec_gpu *g;
	char err[64];
	assert_int_equal(codec_decode_register(NULL, &g, err, sizeof err), -1);
}

static void register_ignores_commaless_segments(void **state)
{
	(void)state;
	struct codec_gpu *g;
	char err[64];
	int n = codec_decode_register("GPU-a,2,100,T,true,hami-core:trailer", &g, err, sizeof err);
	assert_int_equal(n, 1);
	codec_free_gpus(g, n);
}

/* The largest memory accepted: 1 EiB, in MiB. */
static void memory_bound(void **state)
{
	(void)state;
	struct codec_gpu *g;
	struct codec_pod_devs p;
	char err[128] = "";
	assert_int_equal(codec_decode_register("GPU-a,10,1099511627776,NVIDIA,true,hami-core:", &g,
					       err, sizeof err),
			 1);
	assert_true(g[0].mem_mib == VX_MAX_MEM_MIB);
	codec_free_gpus(g, 1);
	assert_int_equal(
	    codec_decode_pod_devs("GPU-a,NVIDIA,1099511627776,30:", &p, err, sizeof err), 0);
	assert_true(p.ctrs[0].devs[0].mem_mib == VX_MAX_MEM_MIB);
	codec_free_pod_devs(&p);
}

static void pod_devs_round_trip(void **state)
{
	(void)state;
	static const char *const cases[] = {
	    "GPU-a,NVIDIA,3000,30:",
	    "GPU-a,NVIDIA,3000,30:GPU-b,NVIDIA,3000,30:",
	    "GPU-a,NVIDIA,3000,30:;",
	    ";GPU-a,NVIDIA,1000,0:;",
	    "",
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct codec_pod_devs p;
		char err[128];
		assert_int_equal(codec_decode_pod_devs(cases[i], &p, err, sizeof err), 0);
		struct buf b = BUF_INIT;
		codec_encode_pod_devs(&b, &p);
		assert_string_equal(b.data ? b.data : "", cases[i]);
		buf_free(&b);
		codec_free_pod_devs(&p);
	}
	struct codec_pod_devs p;
	char err[128];
	assert_int_equal(codec_decode_pod_devs(";GPU-a,NVIDIA,1000,0:;", &p, err, sizeof err), 0);
	assert_int_equal(p.nctr, 3);
	assert_int_equal(p.ctrs[0].ndev, 0);
	assert_int_equal(p.ctrs[1].ndev, 1);
	assert_int_equal(p.ctrs[1].devs[0].mem_mib, 1000);
	assert_int_equal(p.ctrs[2].ndev, 0);
	codec_free_pod_devs(&p);
}

static void pod_devs_copy(void **state)
{
	(void)state;
	struct codec_pod_devs p, q;
	char err[64];
	assert_int_equal(
	    codec_decode_pod_devs("GPU-a,NVIDIA,1,2:;GPU-b,NVIDIA,3,4:", &p, err, sizeof err), 0);
	codec_copy_pod_devs(&q, &p);
	codec_free_pod_devs(&p);
	assert_int_equal(q.nctr, 2);
	assert_string_equal(q.ctrs[1].devs[0].uuid, "GPU-b");
	assert_int_equal(q.ctrs[1].devs[0].cores, 4);
	codec_free_pod_devs(&q);
}

static void pod_devs_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "GPU-a,NVIDIA,3000,30",   /* unterminated */
	    "GPU-a,NVIDIA,3000:",     /* 3 fields */
	    "GPU-a,NVIDIA,lots,30:",  /* memory */
	    "GPU-a,NVIDIA,3000,101:", /* cores above 100 */
	    ",NVIDIA,3000,30:",       /* empty uuid */
	    "GPU-a,NVIDIA,3000,30:;garbage",
	    "GPU-a,NVIDIA,1099511627777,30:",       /* memory over 1 EiB */
	    "GPU-a,NVIDIA,9999999999999999999,30:", /* over int64_t */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct codec_pod_devs p;
		char err[128] = "";
		assert_int_equal(codec_decode_pod_devs(bad[i], &p, err, sizeof err), -1);
		assert_null(p.ctrs);
		assert_true(strlen(err) > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(register_round_trip),
	    cmocka_unit_test(register_malformed),
	    cmocka_unit_test(register_ignores_commaless_segments),
	    cmocka_unit_test(memory_bound),
	    cmocka_unit_test(pod_devs_round_trip),
	    cmocka_unit_test(pod_devs_copy),
	    cmocka_unit_test(pod_devs_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
