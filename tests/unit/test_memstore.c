/* Unit test of the dev store's cold objects: once quiet, nodes and pods are
 * kept deflated against a preset dictionary (a node's and a pod's text), and
 * every object read back must equal what was stored, whether it went cold
 * with the cluster file or long after the dictionary was fixed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/memstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPODS 40

static void no_node(void *ud, enum store_ev ev, const cJSON *o)
{
	(void)ud, (void)ev, (void)o;
}

static void no_synced(void *ud)
{
	(void)ud;
}

static char *cluster_file(void)
{
	size_t cap = 64 * 1024, n = 0;
	char *y = malloc(cap);
	assert_non_null(y);
	for (int i = 0; i < 2; i++)
		n += (size_t)snprintf(
		    y + n, cap - n,
		    "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: n%d\n"
		    "  annotations:\n    volcano.sh/node-vgpu-register: "
		    "\"GPU-%d,10,24576,NVIDIA-L4,true,hami-core:\"\n"
		    "status:\n  allocatable:\n    volcano.sh/vgpu-number: \"10\"\n",
		    i, i);
	for (int i = 0; i < NPODS; i++)
		n += (size_t)snprintf(
		    y + n, cap - n,
		    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p%d\n  namespace: ns%d\n"
		    "  labels:\n    app: a%d\nspec:\n  containers:\n  - name: c\n    image: "
		    "img:%d\n"
		    "    resources:\n      limits:\n        volcano.sh/vgpu-memory: \"%d\"\n",
		    i, i % 3, i, i * 7, 1000 + i);
	return y;
}

/* Every pod as the store gives it now, by index. */
static cJSON *snapshot(struct store *s)
{
	cJSON *all = cJSON_CreateArray();
	for (int i = 0; i < NPODS; i++) {
		char ns[16], name[16];
		struct store_err e = {0};
		snprintf(ns, sizeof ns, "ns%d", i % 3);
		snprintf(name, sizeof name, "p%d", i);
		cJSON *p = s->ops->get_pod(s, ns, name, &e);
		assert_non_null(p);
		cJSON_AddItemToArray(all, p);
	}
	return all;
}

static void cold_objects_read_back_unchanged(void **state)
{
	(void)state;
	struct vx_clock clock;
	char err[256];
	assert_int_equal(clk_init(&clock, NULL, err, sizeof err), 0);
	struct store *s = mstore_new(&clock);
	char *y = cluster_file();
	assert_int_equal(mstore_load(s, y, strlen(y), "c.yaml", err, sizeof err), 0);
	free(y);
	struct store_sink sink = {NULL, no_node, no_node, no_synced};
	assert_int_equal(s->ops->start(s, &sink), 0);
	cJSON *before = snapshot(s); /* plain: nothing went cold yet */
	s->ops->tick(s);             /* the file's objects count as quiet: deflated */
	cJSON *after = snapshot(s);
	assert_true(cJSON_Compare(before, after, 1));
	/* A pod written after the dictionary was fixed goes cold too. */
	struct store_err e = {0};
	cJSON *late = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
				  "\"late\",\"namespace\":\"ns1\",\"annotations\":{\"x\":\"y\"}},"
				  "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"z\"}]}}");
	assert_int_equal(s->ops->create_pod(s, late, &e), 0);
	cJSON *hot = s->ops->get_pod(s, "ns1", "late", &e);
	assert_non_null(hot);
	assert_int_equal(clk_advance(&clock, 10, err, sizeof err), 0);
	s->ops->tick(s);
	cJSON *cold = s->ops->get_pod(s, "ns1", "late", &e);
	assert_non_null(cold);
	assert_true(cJSON_Compare(hot, cold, 1));
	cJSON_Delete(late);
	/* A name beyond Kubernetes' 253 characters is refused as the API server
	 * does: its key would be cut short and collide with another's. */
	char body[1024];
	snprintf(body, sizeof body,
		 "{\"metadata\":{\"name\":\"%0300d\"},\"spec\":{\"containers\":[{\"name\":"
		 "\"c\"}]}}",
		 7);
	cJSON *longname = cJSON_Parse(body);
	assert_int_equal(s->ops->create_pod(s, longname, &e), -1);
	assert_int_equal(e.code, 422);
	cJSON_Delete(longname);
	cJSON_Delete(hot);
	cJSON_Delete(cold);
	cJSON_Delete(before);
	cJSON_Delete(after);
	s->ops->stop(s);
	s->ops->destroy(s);
	clk_free(&clock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(cold_objects_read_back_unchanged)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
