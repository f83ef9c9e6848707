/* Unit tests for the pipeline's stages over a real model fed by the real
 * dev-mode store (through the sync layer, as in the daemon): busy nodes in
 * filter and score for both policies, reserve and the bind rollback, the
 * preempt victim minimiser, and the memory store's own operations (get,
 * refresh, bind with the node lock, busy, delete). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/explain.h"
#include "vx/memstore.h"
#include "vx/pipeline.h"
#include "vx/sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fx {
	struct vx_clock clock;
	struct cluster cluster;
	struct store *store;
	struct pipeline pl;
	int pod_events;
};

static void sink_node(void *ud, enum store_ev ev, const cJSON *node)
{
	struct fx *f = ud;
	if (ev == STORE_DELETED)
		sync_node_deleted(&f->cluster, json_str(json_path(node, "metadata", NULL), "name"));
	else
		sync_node(&f->cluster, node);
}

static void sink_pod(void *ud, enum store_ev ev, const cJSON *pod)
{
	struct fx *f = ud;
	const cJSON *md = json_path(pod, "metadata", NULL);
	f->pod_events++;
	if (ev == STORE_DELETED)
		sync_pod_deleted(&f->cluster, json_str(md, "namespace"), json_str(md, "name"));
	else
		sync_pod(&f->cluster, pod);
}

#define NODE(name, extra)                                                                          \
	"---\napiVersion: v1\nkind: Node\nmetadata:\n  name: " name "\n  annotations:\n"           \
	"    volcano.sh/node-vgpu-register: \"GPU-" name "-0,10,10000,NVIDIA-L4,true,hami-core:"   \
	"GPU-" name "-1,10,10000,NVIDIA-L4,true,hami-core:\"\n" extra                              \
	"status:\n  allocatable:\n    volcano.sh/vgpu-number: \"20\"\n"

#define POD(name, mem, cores)                                                                      \
	"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: " name "\n  namespace: t\n"            \
	"spec:\n  containers:\n  - name: c\n    resources:\n      limits:\n"                       \
	"        volcano.sh/vgpu-memory: \"" mem "\"\n        volcano.sh/vgpu-cores: \"" cores     \
	"\"\n"

static struct fx *fx_new(const char *yaml, enum vx_policy np)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[256];
	assert_non_null(f);
	assert_int_equal(clk_init(&f->clock, NULL, err, sizeof err), 0);
	cluster_init(&f->cluster);
	f->store = mstore_new(&f->clock);
	assert_int_equal(mstore_load(f->store, yaml, strlen(yaml), "test", err, sizeof err), 0);
	f->pl =
	    (struct pipeline){&f->cluster, f->store, &f->clock, np, POLICY_SPREAD, NULL, NULL, 0};
	struct store_sink sink = {f, sink_node, sink_pod, NULL};
	assert_int_equal(f->store->ops->start(f->store, &sink), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	f->store->ops->stop(f->store);
	f->store->ops->destroy(f->store);
	cluster_free(&f->cluster);
	clk_free(&f->clock);
	free(f);
}

/* Reserve and bind a pod through the pipeline and the store. */
static int bind_pod(struct fx *f, const char *name, const char *node)
{
	struct pipe_binding b;
	char err[512];
	pipe_binding_init(&b, "t", name, NULL, node);
	enum pipe_reserved r = pipe_reserve(&f->pl, &b, err, sizeof err);
	if (r != PIPE_RESERVED)
		return -1;
	int rc = pipe_bind(&f->pl, &b, err, sizeof err);
	pipe_finish(&f->pl, &b, rc == 0);
	return rc;
}

static const char *const names3[] = {"a", "b", "c"};
static const size_t lens3[] = {1, 1, 1};

static void filter3(struct fx *f, const char *mem, struct pipe_filter_out *out, int *scores)
{
	char json[512];
	snprintf(json, sizeof json,
		 "{\"metadata\":{\"name\":\"probe\"},\"spec\":{\"containers\":[{\"name\":\"c\","
		 "\"resources\":{\"limits\":{\"volcano.sh/vgpu-memory\":\"%s\"}}}]}}",
		 mem);
	cJSON *pod = cJSON_Parse(json);
	struct req_pod r;
	char err[128];
	assert_int_equal(req_parse_pod(pod, &r, err, sizeof err), 0);
	struct pipe_pod pp = {&r, "t", "probe", NULL, NULL, NULL};
	pipe_filter(&f->pl, &pp, names3, lens3, 3, out);
	pipe_score(&f->pl, &pp, names3, lens3, 3, scores);
	req_free(&r);
	cJSON_Delete(pod);
}

static void node_busy_since(struct fx *f, const char *node, bool busy)
{
	cluster_rdlock(&f->cluster);
	assert_int_equal(cluster_node_busy(cluster_node(&f->cluster, node), clk_now_s(&f->clock)),
			 busy);
	cluster_unlock(&f->cluster);
}

/* Binpack sends pods to the most used node, but not while a bind there is
 * in flight: then the busy node fails filter (resolvably) and scores 0. */
static void busy_node_binpack(void **state)
{
	(void)state;
	struct fx *f = fx_new(NODE("a", "") NODE("b", "") NODE("c", "") POD("p1", "4000", "0")
				  POD("p2", "1000", "0"),
			      POLICY_BINPACK);
	struct pipe_filter_out out;
	int scores[3];
	assert_int_equal(bind_pod(f, "p1", "a"), 0);
	f->store->ops->tick(f->store); /* the plugin stand-in answers: a is idle again */
	assert_int_equal(bind_pod(f, "p2", "b"), 0);
	node_busy_since(f, "a", false);
	node_busy_since(f, "b", true); /* allocating until the plugin answers */
	filter3(f, "500", &out, scores);
	assert_int_equal(out.verdict[0], PIPE_PASS);
	assert_int_equal(out.verdict[1], PIPE_FAIL);
	assert_string_equal(out.reasons.data + out.reason[1], PIPE_BUSY_REASON);
	assert_int_equal(out.verdict[2], PIPE_PASS);
	assert_int_equal(scores[0], 10); /* a: the most used idle node */
	assert_int_equal(scores[1], 0);  /* b: busy */
	assert_int_equal(scores[2], 0);  /* c: empty */
	pipe_filter_out_free(&out);
	f->store->ops->tick(f->store);
	node_busy_since(f, "b", false);
	filter3(f, "500", &out, scores);
	assert_int_equal(out.verdict[1], PIPE_PASS);
	pipe_filter_out_free(&out);
	fx_free(f);
}

/* Spread prefers the emptiest node, unless it is busy. */
static void busy_node_spread(void **state)
{
	(void)state;
	struct fx *f = fx_new(NODE("a", "") NODE("b", "") NODE("c", "") POD("p1", "4000", "0")
				  POD("p2", "3000", "0") POD("p3", "100", "0"),
			      POLICY_SPREAD);
	struct pipe_filter_out out;
	int scores[3];
	assert_int_equal(bind_pod(f, "p1", "a"), 0);
	assert_int_equal(bind_pod(f, "p2", "b"), 0);
	f->store->ops->tick(f->store);
	assert_int_equal(bind_pod(f, "p3", "c"), 0); /* c, the emptiest, is now busy */
	filter3(f, "500", &out, scores);
	assert_int_equal(out.verdict[2], PIPE_FAIL);
	assert_int_equal(scores[2], 0);
	assert_int_equal(scores[1], 10); /* b is the emptiest idle node */
	assert_int_equal(scores[0], 0);
	pipe_filter_out_free(&out);
	fx_free(f);
}

/* When every node that fits is busy, they all pass and score as usual. */
static void all_busy_still_pass(void **state)
{
	(void)state;
	struct fx *f =
	    fx_new(NODE("a", "") NODE("b", "") POD("p1", "4000", "0") POD("p2", "1000", "0"),
		   POLICY_BINPACK);
	struct pipe_filter_out out;
	int scores[3];
	assert_int_equal(bind_pod(f, "p1", "a"), 0);
	assert_int_equal(bind_pod(f, "p2", "b"), 0);
	filter3(f, "500", &out, scores); /* "c" does not exist */
	assert_int_equal(out.verdict[0], PIPE_PASS);
	assert_int_equal(out.verdict[1], PIPE_PASS);
	assert_int_equal(out.verdict[2], PIPE_UNRESOLVABLE);
	assert_int_equal(scores[0], 10);
	assert_int_equal(scores[1], 0);
	pipe_filter_out_free(&out);
	fx_free(f);
}

static int64_t used_mem(struct fx *f, const char *node)
{
	cluster_rdlock(&f->cluster);
	int64_t m = cluster_node(&f->cluster, node)->used_mem;
	cluster_unlock(&f->cluster);
	return m;
}

/* A bind the store refuses gives its reservation back; a reservation that
 * something newer replaced is left alone. */
static void bind_rollback(void **state)
{
	(void)state;
	struct fx *f =
	    fx_new(NODE("a", "") POD("p1", "4000", "0") POD("p2", "2000", "0"), POLICY_BINPACK);
	struct pipe_binding b;
	char err[512];
	struct store_err e;
	pipe_binding_init(&b, "t", "p1", NULL, "a");
	assert_int_equal(pipe_reserve(&f->pl, &b, err, sizeof err), PIPE_RESERVED);
	assert_int_equal(used_mem(f, "a"), 4000); /* assumed: visible to other binds */
	node_busy_since(f, "a", true);
	assert_int_equal(f->store->ops->delete_pod(f->store, "t", "p1", &e), 0);
	assert_int_equal(pipe_bind(&f->pl, &b, err, sizeof err), -1);
	assert_non_null(strstr(err, "not found"));
	pipe_finish(&f->pl, &b, false);
	assert_int_equal(used_mem(f, "a"), 0);
	node_busy_since(f, "a", false);
	/* p2 reserved, then its pod bound for real by a watch event first. */
	pipe_binding_init(&b, "t", "p2", NULL, "a");
	assert_int_equal(pipe_reserve(&f->pl, &b, err, sizeof err), PIPE_RESERVED);
	struct pipe_binding again;
	pipe_binding_init(&again, "t", "p2", NULL, "a");
	assert_int_equal(pipe_reserve(&f->pl, &again, err, sizeof err), PIPE_REFUSED);
	assert_non_null(strstr(err, "already holds GPUs"));
	assert_int_equal(pipe_bind(&f->pl, &b, err, sizeof err), 0);
	pipe_finish(&f->pl, &b, false); /* the watch already confirmed it: kept */
	assert_int_equal(used_mem(f, "a"), 2000);
	pipe_binding_init(&again, "t", "p2", NULL, "a");
	assert_int_equal(pipe_reserve(&f->pl, &again, err, sizeof err), PIPE_ALREADY_BOUND);
	fx_free(f);
}

/* The memory store: get, refresh through the sink, a live foreign lock makes
 * bind STORE_BUSY without writing anything, delete. */
static void memory_store_ops(void **state)
{
	(void)state;
	char ts[32], yaml[2048];
	struct vx_clock c;
	char err[128];
	assert_int_equal(clk_init(&c, NULL, err, sizeof err), 0);
	clk_format_rfc3339(clk_now_s(&c), ts, sizeof ts);
	clk_free(&c);
	snprintf(yaml, sizeof yaml, "%s%s", NODE("a", "    hamivgpu: \"@TS@\"\n"),
		 POD("p1", "1000", "0"));
	char full[2048], *at = strstr(yaml, "@TS@");
	snprintf(full, sizeof full, "%.*s%s%s", (int)(at - yaml), yaml, ts, at + 4);
	struct fx *f = fx_new(full, POLICY_BINPACK);
	struct store_err e = {0};
	struct store *s = f->store;
	cJSON *pod = s->ops->get_pod(s, "t", "p1", &e);
	assert_non_null(pod);
	assert_non_null(json_str(json_path(pod, "metadata", NULL), "uid"));
	assert_string_equal(json_str(json_path(pod, "status", NULL), "phase"), "Pending");
	cJSON_Delete(pod);
	assert_null(s->ops->get_pod(s, "t", "nope", &e));
	assert_int_equal(e.code, 404);
	int before = f->pod_events;
	assert_int_equal(s->ops->refresh_pod(s, "t", "p1", &e), 0);
	assert_int_equal(f->pod_events, before + 1);
	assert_int_equal(s->ops->refresh_pod(s, "t", "nope", &e), -1);
	node_busy_since(f, "a", true); /* a fresh lock, nobody seen allocating */
	assert_int_equal(bind_pod(f, "p1", "a"), STORE_BUSY);
	pod = s->ops->get_pod(s, "t", "p1", &e);
	assert_null(json_path(pod, "spec", "nodeName")); /* nothing written */
	cJSON_Delete(pod);
	assert_int_equal(used_mem(f, "a"), 0); /* the reservation was given back */
	char **keys = NULL;
	assert_int_equal(s->ops->pending(s, &keys), 1);
	assert_string_equal(keys[0], "t/p1");
	free(keys[0]);
	free(keys);
	assert_int_equal(s->ops->delete_pod(s, "t", "p1", &e), 0);
	assert_int_equal(s->ops->delete_pod(s, "t", "p1", &e), -1);
	assert_int_equal(e.code, 404);
	cluster_rdlock(&f->cluster);
	assert_null(cluster_pod(&f->cluster, "t/p1"));
	cluster_unlock(&f->cluster);
	fx_free(f);
}

/* kube-scheduler proposes three victims; only the one whose slice the
 * preemptor needs is kept. */
static void preempt_keeps_the_smallest_set(void **state)
{
	(void)state;
	struct fx *f = fx_new(NODE("a", "") POD("big", "9000", "0") POD("small", "500", "0")
				  POD("other", "9500", "0"),
			      POLICY_BINPACK);
	assert_int_equal(bind_pod(f, "big", "a"), 0);
	f->store->ops->tick(f->store);
	assert_int_equal(bind_pod(f, "small", "a"), 0);
	f->store->ops->tick(f->store);
	assert_int_equal(bind_pod(f, "other", "a"), 0);
	f->store->ops->tick(f->store);
	char uids[3][64];
	const char *names[] = {"small", "big", "other"};
	cluster_rdlock(&f->cluster);
	for (int i = 0; i < 3; i++) {
		char key[64];
		snprintf(key, sizeof key, "t/%s", names[i]);
		snprintf(uids[i], sizeof uids[i], "%s", cluster_pod(&f->cluster, key)->uid);
	}
	cluster_unlock(&f->cluster);
	const char *victims[] = {uids[0], uids[1], uids[2]};
	bool keep[3];
	struct pipe_victims v = {"a", 3, victims, false, keep};
	struct req_pod r;
	char err[128];
	cJSON *pod = cJSON_Parse("{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{"
				 "\"limits\":{\"volcano.sh/vgpu-memory\":\"8000\"}}}]}}");
	assert_int_equal(req_parse_pod(pod, &r, err, sizeof err), 0);
	pipe_preempt(&f->pl, &r, &v, 1);
	assert_true(v.keep_node);
	int kept = 0;
	for (int i = 0; i < 3; i++)
		kept += keep[i];
	assert_int_equal(kept, 1); /* one 9000+ MiB slice must go, the 500 MiB one need not */
	assert_false(keep[0]);
	/* Asking for more than a card holds: no set of victims helps. */
	cJSON_Delete(pod);
	req_free(&r);
	pod = cJSON_Parse("{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{"
			  "\"limits\":{\"volcano.sh/vgpu-memory\":\"20000\"}}}]}}");
	assert_int_equal(req_parse_pod(pod, &r, err, sizeof err), 0);
	pipe_preempt(&f->pl, &r, &v, 1);
	assert_false(v.keep_node);
	req_free(&r);
	cJSON_Delete(pod);
	fx_free(f);
}

/* Prioritize nominates its best node for the pod; until that pod's bind
 * arrives, other pods' filters see the node busy, and the pod itself not. */
static void prioritize_nominates(void **state)
{
	(void)state;
	struct fx *f = fx_new(NODE("a", "") NODE("b", "") NODE("c", "") POD("p1", "4000", "0"),
			      POLICY_BINPACK);
	struct nominations noms;
	nom_init(&noms);
	f->pl.noms = &noms;
	assert_int_equal(bind_pod(f, "p1", "a"), 0);
	f->store->ops->tick(f->store); /* a: most used, idle */
	cJSON *pod = cJSON_Parse("{\"metadata\":{\"name\":\"x\",\"uid\":\"u-x\"},\"spec\":{"
				 "\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
				 "\"volcano.sh/vgpu-memory\":\"100\"}}}]}}");
	struct req_pod r;
	char err[128];
	assert_int_equal(req_parse_pod(pod, &r, err, sizeof err), 0);
	struct pipe_pod x = {&r, "t", "x", "u-x", NULL, NULL};
	int scores[3];
	pipe_score(&f->pl, &x, names3, lens3, 3, scores);
	assert_int_equal(scores[0], 10);
	struct pipe_filter_out out;
	filter3(f, "500", &out, scores); /* another pod: a is taken for now */
	assert_int_equal(out.verdict[0], PIPE_FAIL);
	assert_string_equal(out.reasons.data + out.reason[0], PIPE_BUSY_REASON);
	pipe_filter_out_free(&out);
	pipe_filter(&f->pl, &x, names3, lens3, 3, &out); /* the pod itself */
	assert_int_equal(out.verdict[0], PIPE_PASS);
	pipe_filter_out_free(&out);
	nom_clear(&noms, "u-x"); /* as its bind's reserve does */
	filter3(f, "500", &out, scores);
	assert_int_equal(out.verdict[0], PIPE_PASS);
	pipe_filter_out_free(&out);
	req_free(&r);
	cJSON_Delete(pod);
	fx_free(f);
	nom_free(&noms);
}

/* The one explanation of a waiting pod: nodes counted by reason with the
 * model's best figures, or the whole-pod rule no node can ever meet. */
static void explain_waiting_pods(void **state)
{
	(void)state;
	struct fx *f =
	    fx_new(NODE("a", "") NODE("b", "") NODE("c", "") POD("p1", "8000", "0")
		       POD("p2", "8000", "0") POD("p3", "8000", "0") POD("p4", "8000", "0")
			   POD("p5", "8000", "0") POD("p6", "7000", "0"),
		   POLICY_BINPACK);
	static const char *const at[] = {"a", "a", "b", "b", "c", "c"};
	char name[16];
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof name, "p%d", i + 1);
		assert_int_equal(bind_pod(f, name, at[i]), 0);
	}
	struct pipe_filter_out out;
	struct explain ex;
	int scores[3];
	struct req_pod r;
	char err[128];
	cJSON *pod = cJSON_Parse("{\"spec\":{\"containers\":[{\"resources\":{\"limits\":{"
				 "\"volcano.sh/vgpu-memory\":\"5000\"}}}]}}");
	assert_int_equal(req_parse_pod(pod, &r, err, sizeof err), 0);
	filter3(f, "5000", &out, scores);
	explain_pod(&f->cluster, &r, &out, &ex);
	assert_string_equal(
	    ex.msg, "0/3 nodes fit: 3 insufficient memory (best free 3000 MiB, needs 5000 MiB)");
	assert_string_equal(ex.nodes, ex.msg);
	assert_string_equal(ex.top, "insufficient memory");
	assert_false(ex.never);
	pipe_filter_out_free(&out);
	/* A reclaim is freeing node b for this pod: b's reason says so. */
	cluster_wrlock(&f->cluster);
	struct cl_node *b = cluster_node(&f->cluster, "b");
	snprintf(b->held_for, sizeof b->held_for, "t/probe");
	b->held_until_ms = clk_mono_ms() + 60000;
	cluster_unlock(&f->cluster);
	filter3(f, "5000", &out, scores);
	assert_string_equal(out.reasons.data + out.reason[1], PIPE_RECLAIMING_REASON);
	explain_pod(&f->cluster, &r, &out, &ex);
	assert_non_null(strstr(ex.msg, "1 " PIPE_RECLAIMING_REASON));
	assert_non_null(strstr(ex.msg, "2 insufficient memory"));
	pipe_filter_out_free(&out);
	cluster_wrlock(&f->cluster);
	b->held_for[0] = '\0';
	cluster_unlock(&f->cluster);
	req_free(&r);
	cJSON_Delete(pod);

	pod = cJSON_Parse("{\"spec\":{\"containers\":[{\"resources\":{\"limits\":{"
			  "\"volcano.sh/vgpu-memory\":\"12000\"}}}]}}");
	assert_int_equal(req_parse_pod(pod, &r, err, sizeof err), 0);
	filter3(f, "12000", &out, scores);
	explain_pod(&f->cluster, &r, &out, &ex);
	assert_string_equal(ex.msg, "needs 1 vGPU of 12000 MiB; the largest card has 10000 MiB (no "
				    "node can ever fit)");
	assert_string_equal(ex.nodes,
			    "0/3 nodes fit: 3 card smaller than 12000 MiB (no node can ever fit)");
	assert_true(ex.never);
	pipe_filter_out_free(&out);
	req_free(&r);
	cJSON_Delete(pod);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(busy_node_binpack),
	    cmocka_unit_test(busy_node_spread),
	    cmocka_unit_test(all_busy_still_pass),
	    cmocka_unit_test(bind_rollback),
	    cmocka_unit_test(memory_store_ops),
	    cmocka_unit_test(preempt_keeps_the_smallest_set),
	    cmocka_unit_test(prioritize_nominates),
	    cmocka_unit_test(explain_waiting_pods),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
