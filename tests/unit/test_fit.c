/* Table of fit cases covering every rule of SPEC section 2, plus policy
 * order, node scoring and the quick-reject/full-fit agreement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/fit.h"

#include <stdio.h>
#include <string.h>

#define G(uuid, slots, mem, type, health) uuid "," #slots "," #mem "," type "," health ",hami-core:"
#define TWO_L4 G("GPU-0", 10, 24576, "NVIDIA-L4", "true") G("GPU-1", 10, 24576, "NVIDIA-L4", "true")

struct fit_case {
	const char *name;
	const char *reg;
	int64_t allocatable;
	const char *used[4];     /* vgpu-ids-new of pods already on the node */
	const char *limits[3];   /* per container: JSON limits object, NULL = no more */
	const char *annotations; /* JSON object or NULL */
	enum vx_policy gpu_policy;
	enum fit_verdict want;
	const char *reason; /* substring of the reason, or chosen devices when it fits */
};

static const struct fit_case cases[] = {
    {"fits on an empty node",
     TWO_L4,
     20,
     {NULL},
     {"{\"volcano.sh/vgpu-number\":\"1\",\"volcano.sh/vgpu-memory\":\"3000\",\"volcano.sh/"
      "vgpu-cores\":\"30\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_FITS,
     "GPU-0,NVIDIA,3000,30:"},
    {"memory short",
     TWO_L4,
     20,
     {"GPU-0,NVIDIA,22000,0:GPU-1,NVIDIA,22000,0:"},
     {"{\"volcano.sh/vgpu-memory\":\"3000\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_NO_CAPACITY,
     "2/2 GPUs: insufficient memory"},
    /* No eviction makes a 1000 MiB card hold 3000 MiB: kube-scheduler must
     * not try preemption for it (FailedAndUnresolvableNodes). */
    {"cards smaller than the request",
     G("GPU-0", 10, 1000, "NVIDIA-L4", "true") G("GPU-1", 10, 1000, "NVIDIA-L4", "true"),
     20,
     {NULL},
     {"{\"volcano.sh/vgpu-memory\":\"3000\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_NEVER,
     "2/2 GPUs: card smaller than 3000 MiB"},
    {"two vGPUs, one card too small, the other in use",
     G("GPU-0", 10, 1000, "NVIDIA-L4", "true") G("GPU-1", 10, 24576, "NVIDIA-L4", "true"),
     20,
     {"GPU-1,NVIDIA,24000,0:"},
     {"{\"volcano.sh/vgpu-number\":\"2\",\"volcano.sh/vgpu-memory\":\"3000\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_NEVER,
     "1/2 GPUs: card smaller than 3000 MiB, 1/2 GPUs: insufficient memory"},
    {"one vGPU, one card too small, the other in use",
     G("GPU-0", 10, 1000, "NVIDIA-L4", "true") G("GPU-1", 10, 24576, "NVIDIA-L4", "true"),
     20,
     {"GPU-1,NVIDIA,24000,0:"},
     {"{\"volcano.sh/vgpu-memory\":\"3000\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_NO_CAPACITY,
     "1/2 GPUs: card smaller than 3000 MiB, 1/2 GPUs: insufficient memory"},
    {"cores short",
     TWO_L4,
     20,
     {"GPU-0,NVIDIA,100,80:GPU-1,NVIDIA,100,80:"},
     {"{\"volcano.sh/vgpu-memory\":\"100\",\"volcano.sh/vgpu-cores\":\"30\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_NO_CAPACITY,
     "2/2 GPUs: insufficient cores"},
    {"slots used up",
     G("GPU-0", 1, 24576, "NVIDIA-L4", "true") G("GPU-1", 1, 24576, "NVIDIA-L4", "true"),
     2,
     {"GPU-0,NVIDIA,100,0:", "GPU-1,NVIDIA,100,0:"},
     {"{\"volcano.sh/vgpu-memory\":\"100\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_NO_CAPACITY,
     "2/2 GPUs: no free vGPU slot"},
    {"exclusive skips a used card",
     TWO_L4,
     20,
     {"GPU-0,NVIDIA,100,0:"},
     {"{\"volcano.sh/vgpu-memory\":\"100\",\"volcano.sh/vgpu-cores\":\"100\"}"},
     NULL,
     POLICY_BINPACK,
     FIT_FITS,
     "GPU-1,NVIDIA,100,100:"},
    {"exclusive on used cards fails",
     TWO_L4,
     20,
     {"GPU-0,NVIDIA,100,0:GPU-1,NVIDIA,100,0:"},
     {"{\"volcano.sh/vgpu-memory\":\"100\",\"volcano.sh/vgpu-cores\":\"100\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_NO_CAPACITY,
     "2/2 GPUs: in use (exclusive request)"},
    {"cores 0 onto a fully used card",
     G("GPU-0", 10, 24576, "NVIDIA-L4", "true"),
     10,
     {"GPU-0,NVIDIA,100,100:"},
     {"{\"volcano.sh/vgpu-memory\":\"100\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_NO_CAPACITY,
     "1/1 GPUs: compute fully used"},
    {"use-gputype picks the matching card",
     G("GPU-0", 10, 81920, "NVIDIA-A100", "true") G("GPU-1", 10, 24576, "NVIDIA-L4", "true"),
     20,
     {NULL},
     {"{\"volcano.sh/vgpu-memory\":\"100\"}"},
     "{\"nvidia.com/use-gputype\":\"l4\"}",
     POLICY_SPREAD,
     FIT_FITS,
     "GPU-1,NVIDIA,100,0:"},
    {"nouse-gputype skips the matching card",
     G("GPU-0", 10, 81920, "NVIDIA-A100", "true") G("GPU-1", 10, 24576, "NVIDIA-L4", "true"),
     20,
     {NULL},
     {"{\"volcano.sh/vgpu-memory\":\"100\"}"},
     "{\"nvidia.com/nouse-gputype\":\"A100\"}",
     POLICY_SPREAD,
     FIT_FITS,
     "GPU-1,NVIDIA,100,0:"},
    {"no card of the wanted type",
     TWO_L4,
     20,
     {NULL},
     {"{\"volcano.sh/vgpu-memory\":\"100\"}"},
     "{\"nvidia.com/use-gputype\":\"H100\"}",
     POLICY_SPREAD,
     FIT_NEVER,
     "2/2 GPUs: GPU type mismatch"},
    {"use-gpuuuid",
     TWO_L4,
     20,
     {NULL},
     {"{\"volcano.sh/vgpu-memory\":\"100\"}"},
     "{\"volcano.sh/vgpu-use-gpuuuid\":\"GPU-1\"}",
     POLICY_SPREAD,
     FIT_FITS,
     "GPU-1,NVIDIA,100,0:"},
    {"nouse-gpuuuid on every card",
     TWO_L4,
     20,
     {NULL},
     {"{\"volcano.sh/vgpu-memory\":\"100\"}"},
     "{\"volcano.sh/vgpu-nouse-gpuuuid\":\"GPU-0,GPU-1\"}",
     POLICY_SPREAD,
     FIT_NEVER,
     "2/2 GPUs: GPU UUID mismatch"},
    {"vgpu-number above the node's GPU count",
     TWO_L4,
     20,
     {NULL},
     {"{\"volcano.sh/vgpu-number\":\"3\",\"volcano.sh/vgpu-memory\":\"100\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_NEVER,
     "needs 3 GPUs, node has 2"},
    {"multi-GPU container on distinct cards",
     TWO_L4,
     20,
     {NULL},
     {"{\"volcano.sh/vgpu-number\":\"2\",\"volcano.sh/vgpu-memory\":\"1000\"}"},
     NULL,
     POLICY_BINPACK,
     FIT_FITS,
     "GPU-0,NVIDIA,1000,0:GPU-1,NVIDIA,1000,0:"},
    {"multi-GPU container, one card full",
     TWO_L4,
     20,
     {"GPU-0,NVIDIA,24000,0:"},
     {"{\"volcano.sh/vgpu-number\":\"2\",\"volcano.sh/vgpu-memory\":\"1000\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_NO_CAPACITY,
     "1/2 GPUs fit, 2 needed; 1/2 GPUs: insufficient memory"},
    {"containers see each other's use",
     G("GPU-0", 10, 10000, "NVIDIA-L4", "true"),
     10,
     {NULL},
     {"{\"volcano.sh/vgpu-memory\":\"6000\"}", "{\"volcano.sh/vgpu-memory\":\"6000\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_NO_CAPACITY,
     "container 2: 1/1 GPUs: insufficient memory"},
    {"two containers share a card",
     G("GPU-0", 10, 10000, "NVIDIA-L4", "true"),
     10,
     {NULL},
     {"{\"volcano.sh/vgpu-memory\":\"5000\"}", "{\"cpu\":\"1\"}",
      "{\"volcano.sh/vgpu-memory\":\"5000\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_FITS,
     "GPU-0,NVIDIA,5000,0:;;GPU-0,NVIDIA,5000,0:"},
    {"unhealthy card",
     G("GPU-0", 10, 24576, "NVIDIA-L4", "false"),
     10,
     {NULL},
     {"{\"volcano.sh/vgpu-memory\":\"100\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_NEVER,
     "1/1 GPUs: unhealthy"},
    {"unhealthy card skipped",
     G("GPU-0", 10, 24576, "NVIDIA-L4", "false") G("GPU-1", 10, 24576, "NVIDIA-L4", "true"),
     20,
     {NULL},
     {"{\"volcano.sh/vgpu-memory\":\"100\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_FITS,
     "GPU-1,NVIDIA,100,0:"},
    {"zero allocatable vgpu-number",
     TWO_L4,
     0,
     {NULL},
     {"{\"volcano.sh/vgpu-memory\":\"100\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_NEVER,
     "allocatable volcano.sh/vgpu-number is 0"},
    {"no register annotation",
     NULL,
     20,
     {NULL},
     {"{\"volcano.sh/vgpu-memory\":\"100\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_NEVER,
     "no vGPU devices registered"},
    {"malformed register annotation",
     "GPU-0,10,lots,NVIDIA-L4,true,hami-core:",
     10,
     {NULL},
     {"{\"volcano.sh/vgpu-memory\":\"100\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_NEVER,
     "malformed vGPU register annotation"},
    {"binpack takes the fullest card",
     TWO_L4,
     20,
     {"GPU-1,NVIDIA,5000,10:"},
     {"{\"volcano.sh/vgpu-memory\":\"1000\"}"},
     NULL,
     POLICY_BINPACK,
     FIT_FITS,
     "GPU-1,NVIDIA,1000,0:"},
    {"spread takes the emptiest card",
     TWO_L4,
     20,
     {"GPU-0,NVIDIA,5000,10:"},
     {"{\"volcano.sh/vgpu-memory\":\"1000\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_FITS,
     "GPU-1,NVIDIA,1000,0:"},
    {"percentage on unequal cards",
     G("GPU-0", 10, 16000, "NVIDIA-T4", "true") G("GPU-1", 10, 40000, "NVIDIA-A100", "true"),
     20,
     {NULL},
     {"{\"volcano.sh/vgpu-number\":\"2\",\"volcano.sh/vgpu-memory-percentage\":\"50\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_FITS,
     "GPU-0,NVIDIA,8000,0:GPU-1,NVIDIA,20000,0:"},
    {"no memory asked: the whole card",
     TWO_L4,
     20,
     {"GPU-0,NVIDIA,1,0:"},
     {"{\"volcano.sh/vgpu-cores\":\"10\"}"},
     NULL,
     POLICY_SPREAD,
     FIT_FITS,
     "GPU-1,NVIDIA,24576,10:"},
};

static void build_pod(const struct fit_case *fc, struct req_pod *r)
{
	char json[4096];
	int off = snprintf(json, sizeof json,
			   "{\"metadata\":{\"annotations\":%s},\"spec\":{\"containers\":[",
			   fc->annotations ? fc->annotations : "{}");
	for (int i = 0; i < 3 && fc->limits[i]; i++)
		off += snprintf(json + off, sizeof json - (size_t)off,
				"%s{\"name\":\"c%d\",\"resources\":{\"limits\":%s}}", i ? "," : "",
				i + 1, fc->limits[i]);
	snprintf(json + off, sizeof json - (size_t)off, "]}}");
	cJSON *pod = cJSON_Parse(json);
	char err[256];
	assert_non_null(pod);
	assert_int_equal(req_parse_pod(pod, r, err, sizeof err), 0);
	cJSON_Delete(pod);
}

static struct cl_node *build_node(struct cluster *c, const struct fit_case *fc)
{
	struct cl_node *n = cluster_node_update(c, "n1", fc->reg, fc->allocatable);
	for (int i = 0; i < 4 && fc->used[i]; i++) {
		char name[32], err[128];
		struct codec_pod_devs devs;
		snprintf(name, sizeof name, "used-%d", i);
		assert_int_equal(codec_decode_pod_devs(fc->used[i], &devs, err, sizeof err), 0);
		struct cl_pod *p = cluster_pod_ensure(c, "ns", name);
		p->status = POD_RUNNING;
		cluster_pod_set_alloc(c, p, "n1", &devs, ALLOC_BOUND);
		codec_free_pod_devs(&devs);
	}
	return n;
}

static void run_case(const struct fit_case *fc)
{
	struct cluster c;
	struct req_pod r;
	char why[256] = "";
	struct codec_pod_devs out = {0};
	cluster_init(&c);
	struct cl_node *n = build_node(&c, fc);
	build_pod(fc, &r);
	enum fit_verdict v = fit_pod(n, &r, fc->gpu_policy, &out, why, sizeof why);
	if (v != fc->want)
		fail_msg("%s: verdict %d, want %d (%s)", fc->name, v, fc->want, why);
	if (v == FIT_FITS) {
		struct buf b = BUF_INIT;
		codec_encode_pod_devs(&b, &out);
		if (strcmp(b.data, fc->reason) != 0)
			fail_msg("%s: chose %s, want %s", fc->name, b.data, fc->reason);
		buf_free(&b);
		codec_free_pod_devs(&out);
		assert_false(fit_quick_reject(n, &r));
	} else if (!strstr(why, fc->reason)) {
		fail_msg("%s: reason \"%s\" lacks \"%s\"", fc->name, why, fc->reason);
	}
	req_free(&r);
	cluster_free(&c);
}

static void fit_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run_case(&cases[i]);
}

static void node_scores_follow_policy(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	struct cl_node *empty = cluster_node_update(&c, "empty", TWO_L4, 20);
	struct cl_node *busy = cluster_node_update(&c, "busy", TWO_L4, 20);
	struct codec_pod_devs devs;
	char err[64];
	assert_int_equal(codec_decode_pod_devs("GPU-0,NVIDIA,12288,50:", &devs, err, sizeof err),
			 0);
	struct cl_pod *p = cluster_pod_ensure(&c, "ns", "p");
	cluster_pod_set_alloc(&c, p, "busy", &devs, ALLOC_BOUND);
	codec_free_pod_devs(&devs);
	/* 1/20 slots + 50/200 cores + 12288/49152 memory */
	assert_true(cluster_node_usage(busy) > 0.549 && cluster_node_usage(busy) < 0.551);
	assert_true(fit_node_score(busy, POLICY_BINPACK) > fit_node_score(empty, POLICY_BINPACK));
	assert_true(fit_node_score(busy, POLICY_SPREAD) < fit_node_score(empty, POLICY_SPREAD));
	cluster_free(&c);
}

static void quick_tests_never_contradict(void **state)
{
	(void)state;
	/* Whenever a quick test decides, the full walk must agree. */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct cluster c;
		struct req_pod r;
		cluster_init(&c);
		struct cl_node *n = build_node(&c, &cases[i]);
		build_pod(&cases[i], &r);
		if (fit_quick_reject(n, &r))
			assert_int_not_equal(fit_pod(n, &r, POLICY_SPREAD, NULL, NULL, 0),
					     FIT_FITS);
		if (fit_quick_accept(n, &r))
			assert_int_equal(fit_pod(n, &r, POLICY_SPREAD, NULL, NULL, 0), FIT_FITS);
		assert_false(fit_quick_reject(n, &r) && fit_quick_accept(n, &r));
		req_free(&r);
		cluster_free(&c);
	}
}

static void quick_accept_cases(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	/* GPU-0: lots of memory, little compute; GPU-1: the reverse. */
	struct cl_node *n = cluster_node_update(&c, "n1", TWO_L4, 20);
	struct codec_pod_devs devs;
	char err[64];
	assert_int_equal(codec_decode_pod_devs("GPU-0,NVIDIA,1000,90:GPU-1,NVIDIA,20000,10:", &devs,
					       err, sizeof err),
			 0);
	struct cl_pod *p = cluster_pod_ensure(&c, "ns", "p");
	cluster_pod_set_alloc(&c, p, "n1", &devs, ALLOC_BOUND);
	codec_free_pod_devs(&devs);
	static const struct {
		const char *limits;
		bool accept;
		enum fit_verdict full;
	} q[] = {
	    {"{\"volcano.sh/vgpu-memory\":\"4000\",\"volcano.sh/vgpu-cores\":\"80\"}", true,
	     FIT_FITS},
	    {"{\"volcano.sh/vgpu-memory\":\"20000\",\"volcano.sh/vgpu-cores\":\"10\"}", true,
	     FIT_FITS},
	    /* needs the memory of GPU-0 and the compute of GPU-1 at once */
	    {"{\"volcano.sh/vgpu-memory\":\"20000\",\"volcano.sh/vgpu-cores\":\"50\"}", false,
	     FIT_NO_CAPACITY},
	    /* percentage and multi-vGPU requests always take the full walk */
	    {"{\"volcano.sh/vgpu-memory-percentage\":\"10\"}", false, FIT_FITS},
	    {"{\"volcano.sh/vgpu-number\":\"2\",\"volcano.sh/vgpu-memory\":\"100\"}", false,
	     FIT_FITS},
	};
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		struct fit_case fc = {.limits = {q[i].limits}};
		struct req_pod r;
		build_pod(&fc, &r);
		assert_int_equal(fit_quick_accept(n, &r), q[i].accept);
		assert_int_equal(fit_pod(n, &r, POLICY_SPREAD, NULL, NULL, 0), q[i].full);
		req_free(&r);
	}
	cluster_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fit_table),
	    cmocka_unit_test(node_scores_follow_policy),
	    cmocka_unit_test(quick_tests_never_contradict),
	    cmocka_unit_test(quick_accept_cases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
