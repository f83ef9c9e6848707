/* Unit tests for the model fed through sync: charging on bind annotations,
 * release on completion, deletion and failure, corrupt annotations, node
 * re-registration, deletion and late arrival; a pod's billing before its
 * licence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/sync.h"
#include "vx/volcano.h"
#include "vx/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REG2 "GPU-0,10,24576,NVIDIA-L4,true,hami-core:GPU-1,10,24576,NVIDIA-L4,true,hami-core:"

/* A waiting vGPU pod of namespace ns with the given billing annotation. */
static void billed_pod(struct cluster *c, const char *name, const char *billing)
{
	char json[1024];
	snprintf(json, sizeof json,
		 "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\",\"uid\":\"u-%s\","
		 "\"annotations\":{\"" VX_ANN_BILLING "\":\"%s\"}},\"spec\":{\"containers\":[{"
		 "\"name\":\"c\",\"resources\":{\"limits\":{\"volcano.sh/vgpu-number\":\"1\"}}}]},"
		 "\"status\":{\"phase\":\"Pending\"}}",
		 name, name, billing);
	cJSON *j = cJSON_Parse(json);
	assert_non_null(j);
	sync_pod(c, j);
	cJSON_Delete(j);
}

static void node(struct cluster *c, const char *name, const char *reg, int alloc)
{
	char json[1024];
	snprintf(json, sizeof json,
		 "{\"metadata\":{\"name\":\"%s\",\"annotations\":{\"" ANN_REGISTER "\":\"%s\"}},"
		 "\"status\":{\"allocatable\":{\"volcano.sh/vgpu-number\":\"%d\"}}}",
		 name, reg, alloc);
	cJSON *j = cJSON_Parse(json);
	assert_non_null(j);
	sync_node(c, j);
	cJSON_Delete(j);
}

static void pod(struct cluster *c, const char *name, const char *node_name, const char *ids,
		const char *phase, const char *bind_phase)
{
	char json[2048], ann[1024] = "";
	if (ids)
		snprintf(ann, sizeof ann, "\"" ANN_IDS "\":\"%s\",\"" ANN_BIND_PHASE "\":\"%s\"",
			 ids, bind_phase ? bind_phase : "success");
	snprintf(json, sizeof json,
		 "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\",\"uid\":\"u-%s\","
		 "\"annotations\":{%s}},\"spec\":{%s%s%s\"containers\":[{\"name\":\"c\","
		 "\"resources\":{\"limits\":{\"volcano.sh/vgpu-memory\":\"1000\"}}}]},"
		 "\"status\":{\"phase\":\"%s\"}}",
		 name, name, ann, node_name ? "\"nodeName\":\"" : "", node_name ? node_name : "",
		 node_name ? "\"," : "", phase);
	cJSON *j = cJSON_Parse(json);
	assert_non_null(j);
	sync_pod(c, j);
	cJSON_Delete(j);
}

static const struct cl_gpu *gpu(struct cluster *c, const char *n, int i)
{
	struct cl_node *nd = cluster_node(c, n);
	assert_non_null(nd);
	assert_true(i < nd->ngpus);
	return &nd->gpus[i];
}

static void bound_pod_is_charged_and_released(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	node(&c, "n1", REG2, 20);
	pod(&c, "a", "n1", "GPU-1,NVIDIA,1000,20:", "Running", NULL);
	assert_int_equal(gpu(&c, "n1", 1)->used_slots, 1);
	assert_int_equal(gpu(&c, "n1", 1)->used_mem, 1000);
	assert_int_equal(gpu(&c, "n1", 1)->used_cores, 20);
	/* The same event again changes nothing. */
	pod(&c, "a", "n1", "GPU-1,NVIDIA,1000,20:", "Running", NULL);
	assert_int_equal(gpu(&c, "n1", 1)->used_slots, 1);
	pod(&c, "a", "n1", "GPU-1,NVIDIA,1000,20:", "Succeeded", NULL);
	assert_int_equal(gpu(&c, "n1", 1)->used_slots, 0);
	assert_int_equal(gpu(&c, "n1", 1)->used_mem, 0);
	assert_int_equal(cluster_pod(&c, "ns/a")->status, POD_COMPLETED);

	pod(&c, "b", "n1", "GPU-0,NVIDIA,500,0:", "Pending", "allocating");
	assert_int_equal(gpu(&c, "n1", 0)->used_mem, 500);
	pod(&c, "b", "n1", "GPU-0,NVIDIA,500,0:", "Pending", "failed");
	assert_int_equal(gpu(&c, "n1", 0)->used_mem, 0);
	assert_int_equal(cluster_pod(&c, "ns/b")->status, POD_FAILED);

	pod(&c, "d", "n1", "GPU-0,NVIDIA,700,0:", "Running", NULL);
	assert_int_equal(gpu(&c, "n1", 0)->used_mem, 700);
	sync_pod_deleted(&c, "ns", "d");
	assert_int_equal(gpu(&c, "n1", 0)->used_mem, 0);
	assert_null(cluster_pod(&c, "ns/d"));
	cluster_free(&c);
}

static void corrupt_ids_are_ignored(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	node(&c, "n1", REG2, 20);
	pod(&c, "good", "n1", "GPU-0,NVIDIA,1000,0:", "Running", NULL);
	pod(&c, "bad", "n1", "GPU-0,NVIDIA,lots,0:", "Running", NULL);
	assert_int_equal(gpu(&c, "n1", 0)->used_slots, 1);
	assert_int_equal(cluster_pod(&c, "ns/bad")->alloc, ALLOC_NONE);
	cluster_free(&c);
}

static void reregistration_keeps_existing_slices(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	node(&c, "n1", REG2, 20);
	pod(&c, "a", "n1", "GPU-0,NVIDIA,1000,10:", "Running", NULL);
	pod(&c, "b", "n1", "GPU-1,NVIDIA,2000,10:", "Running", NULL);
	/* The plugin re-registers: GPU-0 is gone, GPU-2 appears, GPU-1 moves. */
	node(
	    &c, "n1",
	    "GPU-2,10,24576,NVIDIA-L4,true,hami-core:GPU-1,10,24576,NVIDIA-L4,true,hami-core:", 20);
	assert_string_equal(gpu(&c, "n1", 1)->uuid, "GPU-1");
	assert_int_equal(gpu(&c, "n1", 1)->used_mem, 2000);
	assert_int_equal(gpu(&c, "n1", 0)->used_mem, 0);
	assert_int_equal(cluster_node(&c, "n1")->used_slots, 1);
	cluster_free(&c);
}

static void node_deleted_and_back(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	node(&c, "n1", REG2, 20);
	pod(&c, "a", "n1", "GPU-0,NVIDIA,1000,10:", "Running", NULL);
	sync_node_deleted(&c, "n1");
	assert_false(cluster_node(&c, "n1")->present);
	pod(&c, "a", "n1", "GPU-0,NVIDIA,1000,10:", "Succeeded", NULL);
	sync_pod_deleted(&c, "ns", "a");
	assert_null(cluster_node(&c, "n1")); /* nothing refers to it any more */
	node(&c, "n2", REG2, 20);
	pod(&c, "x", "n2", "GPU-0,NVIDIA,1000,10:", "Running", NULL);
	sync_node_deleted(&c, "n2");
	node(&c, "n2", REG2, 20);
	assert_int_equal(gpu(&c, "n2", 0)->used_mem, 1000);
	cluster_free(&c);
}

static void pods_before_their_node(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	pod(&c, "early", "late", "GPU-1,NVIDIA,3000,0:", "Running", NULL);
	assert_false(cluster_node(&c, "late")->present);
	node(&c, "late", REG2, 20);
	assert_true(cluster_node(&c, "late")->usable);
	assert_int_equal(gpu(&c, "late", 1)->used_mem, 3000);
	cluster_free(&c);
}

static void plain_pods_are_not_tracked(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	cJSON *j = cJSON_Parse("{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\"},"
			       "\"spec\":{\"containers\":[{\"name\":\"c\"}]}}");
	sync_pod(&c, j);
	cJSON_Delete(j);
	assert_null(cluster_pod(&c, "ns/web"));
	j = cJSON_Parse("{\"spec\":{}}");
	sync_pod(&c, j); /* no name: ignored with a warning */
	cJSON_Delete(j);
	assert_int_equal(hmap_size(&c.pods), 0);
	cluster_free(&c);
}

/* Numbers beyond int64 are ignored, never cast (undefined behaviour). */
static void huge_numbers_ignored(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	cJSON *n = cJSON_Parse("{\"status\":{\"allocatable\":{\"volcano.sh/vgpu-number\":1e300}}}");
	assert_int_equal(sync_node_allocatable(n), 0);
	cJSON_Delete(n);
	cJSON *p = cJSON_Parse(
	    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\"},\"spec\":{"
	    "\"activeDeadlineSeconds\":1e300,\"containers\":[{\"name\":\"c\",\"resources\":{"
	    "\"limits\":{\"volcano.sh/"
	    "vgpu-memory\":\"1000\"}}}]},\"status\":{\"phase\":\"Pending\"}}");
	sync_pod(&c, p);
	cJSON_Delete(p);
	assert_non_null(cluster_pod(&c, "ns/p"));
	assert_int_equal(cluster_pod(&c, "ns/p")->runtime_s, 0);
	cluster_free(&c);
}

/* The licence covering ns: 2 slots. */
static void one_licence(struct cluster *c)
{
	struct license_conf *l = xcalloc(1, sizeof *l);
	l->name = xstrdup("acme");
	l->namespaces = xcalloc(1, sizeof *l->namespaces);
	l->namespaces[0] = xstrdup("ns");
	l->nns = 1;
	l->daily_hours = 96;
	l->max_slots = 2;
	cluster_set_licenses(c, l, 1);
	free(l); /* the model owns the entry */
}

/* billing=credits on a pod's first sighting keeps it out of the licence of
 * its namespace, and a change of billing moves it at once, without waiting
 * for another change of the pod. */
static void billing_is_read_before_the_licence(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	one_licence(&c);
	billed_pod(&c, "credit", "credits");
	assert_int_equal(cluster_pod(&c, "ns/credit")->lidx, -1);
	assert_int_equal(c.lstate[0].waiting, 0);
	billed_pod(&c, "lic", "license");
	assert_int_equal(cluster_pod(&c, "ns/lic")->lidx, 0);
	assert_int_equal(c.lstate[0].waiting, 1);
	billed_pod(&c, "lic", "credits");
	assert_int_equal(cluster_pod(&c, "ns/lic")->lidx, -1);
	assert_int_equal(c.lstate[0].waiting, 0);
	billed_pod(&c, "credit", "license");
	assert_int_equal(c.lstate[0].waiting, 1);
	cluster_free(&c);
}

/* Names beyond Kubernetes' lengths never reach the model: their keys would
 * be cut short, and two such pods would share one entry. */
static void overlong_names_ignored(void **state)
{
	(void)state;
	struct cluster c;
	char name[300], json[1024];
	cluster_init(&c);
	memset(name, 'x', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	snprintf(json, sizeof json,
		 "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\"},\"spec\":{"
		 "\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
		 "\"volcano.sh/vgpu-memory\":\"1000\"}}}]},\"status\":{\"phase\":\"Pending\"}}",
		 name);
	cJSON *j = cJSON_Parse(json);
	sync_pod(&c, j);
	sync_pod(&c, j);
	cJSON_Delete(j);
	assert_int_equal(hmap_size(&c.pods), 0);
	cluster_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(overlong_names_ignored),
	    cmocka_unit_test(huge_numbers_ignored),
	    cmocka_unit_test(bound_pod_is_charged_and_released),
	    cmocka_unit_test(corrupt_ids_are_ignored),
	    cmocka_unit_test(reregistration_keeps_existing_slices),
	    cmocka_unit_test(node_deleted_and_back),
	    cmocka_unit_test(pods_before_their_node),
	    cmocka_unit_test(plain_pods_are_not_tracked),
	    cmocka_unit_test(billing_is_read_before_the_licence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
