/* loadgen: the `make bench` driver. Owns the run: writes the synthetic
 * cluster (gencluster.c), starts a dev daemon on it, plays kube-scheduler
 * against it (filter -> prioritize -> bind per pod, over keep-alive loopback
 * connections, one libcurl easy handle per client thread) with
 * /debug/discard interleaved as the floor, then reads the daemon's memory,
 * stops it and writes the figures as JSON and as a table against the
 * targets.
 *
 * pods_per_s is the sum over clients of pods / (elapsed - time spent in the
 * floor requests): the floor calls are not part of the scheduling work, so
 * they are taken out of the throughput (exact for one client).
 *
 * After the dev-mode run, kubebench.c runs the cluster-mode part (the daemon
 * against the fake API server); both sets of figures go into one JSON file
 * and two tables. --no-dev and --no-cluster skip a part.
 *
 * Exit status: 0 when the run completed without request errors (targets
 * missed or not), 1 when requests or checks errored, 2 for usage errors or
 * a daemon (or fake API server) that did not start. */
#include "bench.h"
#include "vx/json.h"
#include "../integration/harness.h"
#include "vx/buf.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STARTUP_TIMEOUT_S 300
#define MAX_ERROR_LOGS 5
#define GIVE_UP_AFTER 20 /* consecutive failed pods: the daemon is gone */
/* With several clients two pods can pick the same last free slice; the
 * daemon refuses the second bind ("no longer fits") and kube-scheduler would
 * schedule that pod again. So do we, a few times, and count the conflicts. */
#define MAX_BIND_TRIES 5

/* The captured kube-scheduler v1.32 pod (reference/captured/real-filter-v1.32.json)
 * with vGPU limits added to its container and to managedFields, as kubectl
 * would have recorded them. Name, namespace and uid are set per pod. */
static const char pod_template[] =
    "{\"metadata\":{\"name\":\"x\",\"namespace\":\"bench\",\"uid\":\"x\","
    "\"resourceVersion\":\"194\",\"creationTimestamp\":\"2026-11-22T07:23:39Z\","
    "\"managedFields\":[{\"manager\":\"kubectl-create\",\"operation\":\"Update\","
    "\"apiVersion\":\"v1\",\"time\":\"2026-11-22T07:23:39Z\",\"fieldsType\":\"FieldsV1\","
    "\"fieldsV1\":{\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"c\\\"}\":{\".\":{},"
    "\"f:image\":{},\"f:imagePullPolicy\":{},\"f:name\":{},\"f:resources\":{\".\":{},"
    "\"f:limits\":{\".\":{},\"f:volcano.sh/vgpu-cores\":{},\"f:volcano.sh/vgpu-memory\":{},"
    "\"f:volcano.sh/vgpu-number\":{}},"
    "\"f:requests\":{\".\":{},\"f:cpu\":{},\"f:memory\":{}}},"
    "\"f:terminationMessagePath\":{},\"f:terminationMessagePolicy\":{}}},"
    "\"f:dnsPolicy\":{},\"f:enableServiceLinks\":{},\"f:restartPolicy\":{},"
    "\"f:schedulerName\":{},\"f:securityContext\":{},"
    "\"f:terminationGracePeriodSeconds\":{}}}}]},"
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"example.invalid/none:1\","
    "\"resources\":{\"limits\":{\"volcano.sh/vgpu-number\":\"1\","
    "\"volcano.sh/vgpu-memory\":\"2048\",\"volcano.sh/vgpu-cores\":\"10\"},"
    "\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}},"
    "\"terminationMessagePath\":\"/dev/termination-log\","
    "\"terminationMessagePolicy\":\"File\",\"imagePullPolicy\":\"IfNotPresent\"}],"
    "\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,"
    "\"dnsPolicy\":\"ClusterFirst\",\"securityContext\":{},"
    "\"schedulerName\":\"default-scheduler\",\"tolerations\":["
    "{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\","
    "\"effect\":\"NoExecute\",\"tolerationSeconds\":300},"
    "{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\","
    "\"effect\":\"NoExecute\",\"tolerationSeconds\":300}],"
    "\"priority\":0,\"enableServiceLinks\":true,"
    "\"preemptionPolicy\":\"PreemptLowerPriority\"},"
    "\"status\":{\"phase\":\"Pending\",\"qosClass\":\"Burstable\"}}";

struct opts {
	const char *daemon, *out;
	int nodes, gpus, pods, warmup, clients, busy;
	bool dev, cluster, sched; /* which parts run */
	int sched_pods, sched_runs, sched_nice, sched_gap_us;
	bool sched_floor;   /* the scheduler part's floor pass */
	int queues;         /* > 0: the dev part again with this many queues */
	const char *config; /* the daemon's --config for a dev run, or NULL */
	struct kb_opts kb;  /* the cluster part; daemon, nodes and gpus are shared */
};

struct shared {
	const struct opts *o;
	char base[96];          /* http://127.0.0.1:PORT */
	const char *names_json; /* ["node-00001",...] */
	const cJSON *pod;       /* the template */
	pthread_barrier_t warm;
	size_t filter_body_len;
	char check_node[256]; /* where the first measured pod was bound */
};

struct client {
	struct shared *sh;
	int id;
	pthread_t thread;
	CURL *h;
	struct curl_slist *hdrs;
	struct buf resp;
	struct lat filter, prio, bind, floor;
	int errors, logged, pods_done, conflicts;
	double elapsed_s, floor_s;
};

static int parse_int(const char *s, const char *flag, int lo, int *out)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || !*s || *end || v < lo || v > 10000000) {
		fprintf(stderr, "loadgen: %s wants a whole number >= %d, got '%s'\n", flag, lo, s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* "1,2,4": the client counts of the cluster-mode binds. */
static int parse_clients(const char *s, struct kb_opts *kb)
{
	char tmp[128], *save = NULL;
	snprintf(tmp, sizeof tmp, "%s", s);
	kb->nclients = 0;
	for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (kb->nclients == KB_MAX_RUNS ||
		    parse_int(t, "--bind-clients", 1, &kb->clients[kb->nclients]))
			return -1;
		kb->nclients++;
	}
	return kb->nclients ? 0 : -1;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){.out = "build/bench.json",
			   .nodes = 5000,
			   .gpus = 8,
			   .pods = 3000,
			   .warmup = 300,
			   .clients = 1,
			   .busy = 5,
			   .dev = true,
			   .cluster = true,
			   .sched = true,
			   .sched_pods = 1000,
			   .sched_runs = 3,
			   .sched_floor = true};
	o->kb =
	    (struct kb_opts){.pods = 100000, .binds = 2000, .clients = {1, 2, 4}, .nclients = 3};
	static char fake[4096];
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("usage: loadgen --daemon PATH [--out FILE] [--nodes N] [--gpus N]\n"
			       "  dev mode:     [--pods N] [--warmup N] [--clients N]\n"
			       "                [--busy N  (bound pods per node, default 5)]\n"
			       "  cluster mode: [--fake PATH  (default: fake-apiserver beside the "
			       "daemon)]\n"
			       "                [--cluster-pods N  (default 100000)]\n"
			       "                [--binds N  (per client count, default 2000)]\n"
			       "                [--bind-clients N,N,..  (default 1,2,4)]\n"
			       "  scheduler:    [--sched-pods N  (kube-scheduler's pattern, "
			       "default 1000)]\n"
			       "                [--sched-runs N  (each run repeated, samples "
			       "pooled; default 3)]\n"
			       "                [--sched-nice N  (not the default setup: the fake "
			       "API server and\n"
			       "                 the binding threads at nice N, as if elsewhere)]\n"
			       "                [--sched-gap-us N  (not the default setup: a pause "
			       "before each\n"
			       "                 filter, as kube-scheduler's own plugins take)]\n"
			       "  --no-dev, --no-cluster, --no-sched: skip that part\n"
			       "  --no-floor: skip the scheduler part's floor pass\n");
			exit(0);
		}
		if (!strcmp(a, "--no-dev") || !strcmp(a, "--no-cluster") ||
		    !strcmp(a, "--no-sched") || !strcmp(a, "--no-floor")) {
			if (!strcmp(a, "--no-floor"))
				o->sched_floor = false;
			else if (!strcmp(a, "--no-dev"))
				o->dev = false;
			else if (!strcmp(a, "--no-sched"))
				o->sched = false;
			else
				o->cluster = false;
			i--; /* a flag without a value */
			continue;
		}
		if (!v) {
			fprintf(stderr, "loadgen: %s needs a value\n", a);
			return -1;
		}
		if (!strcmp(a, "--daemon"))
			o->daemon = v;
		else if (!strcmp(a, "--out"))
			o->out = v;
		else if (!strcmp(a, "--nodes"))
			rc = parse_int(v, a, 1, &o->nodes);
		else if (!strcmp(a, "--gpus"))
			rc = parse_int(v, a, 1, &o->gpus);
		else if (!strcmp(a, "--pods"))
			rc = parse_int(v, a, 1, &o->pods);
		else if (!strcmp(a, "--warmup"))
			rc = parse_int(v, a, 0, &o->warmup);
		else if (!strcmp(a, "--clients"))
			rc = parse_int(v, a, 1, &o->clients);
		else if (!strcmp(a, "--busy"))
			rc = parse_int(v, a, 0, &o->busy);
		else if (!strcmp(a, "--fake"))
			o->kb.fake = v;
		else if (!strcmp(a, "--cluster-pods"))
			rc = parse_int(v, a, 0, &o->kb.pods);
		else if (!strcmp(a, "--binds"))
			rc = parse_int(v, a, 1, &o->kb.binds);
		else if (!strcmp(a, "--queues"))
			rc = parse_int(v, a, 1, &o->queues);
		else if (!strcmp(a, "--sched-pods"))
			rc = parse_int(v, a, 1, &o->sched_pods);
		else if (!strcmp(a, "--sched-runs"))
			rc = parse_int(v, a, 1, &o->sched_runs);
		else if (!strcmp(a, "--sched-gap-us"))
			rc = parse_int(v, a, 0, &o->sched_gap_us);
		else if (!strcmp(a, "--sched-nice"))
			rc = parse_int(v, a, 1, &o->sched_nice);
		else if (!strcmp(a, "--bind-clients"))
			rc = parse_clients(v, &o->kb);
		else {
			fprintf(stderr, "loadgen: unknown option %s (try --help)\n", a);
			return -1;
		}
		if (rc)
			return -1;
	}
	if (!o->daemon) {
		fprintf(stderr, "loadgen: --daemon PATH is required\n");
		return -1;
	}
	if (o->gpus > 16) {
		fprintf(stderr, "loadgen: --gpus is at most 16\n");
		return -1;
	}
	if (o->busy > 9) {
		fprintf(stderr, "loadgen: --busy is at most 9 (10 slots per GPU)\n");
		return -1;
	}
	o->kb.daemon = o->daemon;
	o->kb.nodes = o->nodes;
	o->kb.gpus = o->gpus;
	if (!o->kb.fake) {
		const char *slash = strrchr(o->daemon, '/');
		snprintf(fake, sizeof fake, "%.*sfake-apiserver",
			 slash ? (int)(slash - o->daemon + 1) : 0, o->daemon);
		o->kb.fake = fake;
	}
	return 0;
}

/* One handle per connection: libcurl keeps the connection open between
 * requests made through the same easy handle. */
static CURL *new_handle(struct buf *resp, struct curl_slist **hdrs)
{
	CURL *h = curl_easy_init();
	if (!h)
		abort();
	if (hdrs && !*hdrs) {
		*hdrs = curl_slist_append(NULL, "Content-Type: application/json");
		*hdrs = curl_slist_append(*hdrs, "Accept: application/json");
		/* No "Expect: 100-continue" round trip: kube-scheduler sends none. */
		*hdrs = curl_slist_append(*hdrs, "Expect:");
	}
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, bench_on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	if (hdrs)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
	return h;
}

/* POSTs body to base+path; returns the HTTP status (0 on transport failure)
 * and adds the request's wall time to *us. */
static long post(struct client *c, const char *path, const char *body, size_t len, double *us,
		 char *err, size_t errlen)
{
	char url[128];
	long code = 0;
	snprintf(url, sizeof url, "%s%s", c->sh->base, path);
	buf_reset(&c->resp);
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
	double t0 = bench_now_s();
	CURLcode rc = curl_easy_perform(c->h);
	*us = (bench_now_s() - t0) * 1e6;
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "POST %s: %s", path, curl_easy_strerror(rc));
		return 0;
	}
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200)
		snprintf(err, errlen, "POST %s: HTTP %ld: %.300s", path, code,
			 c->resp.data ? c->resp.data : "");
	return code;
}

/* Reading replies ------------------------------------------------------
 * The filter and prioritize replies for 5,000 nodes are 65-150 KB; parsing
 * them into cJSON trees costs the client milliseconds per pod on the same
 * cores as the daemon. A span scanner finds what we need without a tree:
 * the NodeNames array is passed on verbatim, as kube-scheduler passes the
 * names it got. The small bind reply goes through cJSON. */

/* The whole reply must be one object (or array). */
static int whole_reply(struct client *c, char open, const char *what, char *err, size_t errlen)
{
	const char *p = c->resp.data, *e = p ? p + c->resp.len : NULL;
	const char *v = p ? js_skip_ws(p, e) : NULL, *ve = v ? js_skip_value(v, e) : NULL;
	if (!ve || *v != open || js_skip_ws(ve, e) != e) {
		snprintf(err, errlen, "%s: reply is not a JSON %s: %.200s", what,
			 open == '{' ? "object" : "array", p ? p : "(empty)");
		return -1;
	}
	return 0;
}

/* A filter reply's NodeNames (non-empty) with an empty or absent Error. */
static int filter_reply(struct client *c, struct span *names, char *err, size_t errlen)
{
	struct span e;
	const char *p = c->resp.data, *end = p + c->resp.len;
	if (whole_reply(c, '{', "filter", err, errlen))
		return -1;
	if (!js_member(p, end, "Error", &e) && !(e.n == 2 && !memcmp(e.p, "\"\"", 2))) {
		snprintf(err, errlen, "filter: Error %.*s", (int)(e.n > 300 ? 300 : e.n), e.p);
		return -1;
	}
	if (js_member(p, end, "NodeNames", names) || names->p[0] != '[') {
		snprintf(err, errlen, "filter: reply has no NodeNames array");
		return -1;
	}
	if (*js_skip_ws(names->p + 1, names->p + names->n) == ']') {
		snprintf(err, errlen, "filter: no node fits");
		return -1;
	}
	return 0;
}

/* The Host with the highest Score in a prioritize reply, first on ties: the
 * span holds the JSON string, quotes included. */
static int best_host(struct client *c, struct span *host, char *err, size_t errlen)
{
	const char *p = c->resp.data, *e = p + c->resp.len;
	double best = -1;
	host->p = NULL;
	if (whole_reply(c, '[', "prioritize", err, errlen))
		return -1;
	p = js_skip_ws(js_skip_ws(p, e) + 1, e);
	while (p < e && *p == '{') {
		const char *ve = js_skip_value(p, e);
		struct span h, s;
		if (!js_member(p, ve, "Host", &h) && !js_member(p, ve, "Score", &s) &&
		    h.p[0] == '"') {
			double v = strtod(s.p, NULL);
			if (v > best) {
				best = v;
				*host = h;
			}
		}
		p = js_skip_ws(ve, e);
		if (p < e && *p == ',')
			p = js_skip_ws(p + 1, e);
	}
	if (!host->p) {
		snprintf(err, errlen, "prioritize: no Host with a Score in %.200s", c->resp.data);
		return -1;
	}
	return 0;
}

static void args_body(struct buf *b, const char *pod, const char *names, size_t names_len)
{
	buf_reset(b);
	buf_puts(b, "{\"Pod\":");
	buf_puts(b, pod);
	buf_puts(b, ",\"Nodes\":null,\"NodeNames\":");
	buf_append(b, names, names_len);
	buf_putc(b, '}');
}

/* One pod through filter, prioritize and bind, then the floor request.
 * Returns 0, -2 when another client's bind took the chosen slice first, or
 * -1, with err set. */
static int one_pod(struct client *c, cJSON *pod, int idx, bool measure, char *err, size_t errlen)
{
	char name[32], uid[48], node[256];
	struct buf fbody = BUF_INIT, pbody = BUF_INIT, bbody = BUF_INIT;
	struct span names, host;
	cJSON *bj = NULL;
	double t_filter = 0, t_prio = 0, t_bind = 0, t_floor = 0;
	int rc = -1;

	snprintf(name, sizeof name, "bench-%d", idx);
	snprintf(uid, sizeof uid, "be000000-0000-4000-8000-%012d", idx);
	cJSON *md = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
	cJSON_ReplaceItemInObjectCaseSensitive(md, "name", cJSON_CreateString(name));
	cJSON_ReplaceItemInObjectCaseSensitive(md, "uid", cJSON_CreateString(uid));
	char *pod_json = cJSON_PrintUnformatted(pod);
	if (!pod_json)
		abort();
	args_body(&fbody, pod_json, c->sh->names_json, strlen(c->sh->names_json));
	if (c->id == 0 && idx == 0)
		c->sh->filter_body_len = fbody.len;

	if (post(c, "/filter", fbody.data, fbody.len, &t_filter, err, errlen) != 200 ||
	    filter_reply(c, &names, err, errlen))
		goto out;
	args_body(&pbody, pod_json, names.p, names.n);

	if (post(c, "/prioritize", pbody.data, pbody.len, &t_prio, err, errlen) != 200 ||
	    best_host(c, &host, err, errlen))
		goto out;
	snprintf(node, sizeof node, "%.*s", (int)host.n, host.p); /* quotes included */

	buf_puts(&bbody, "{\"PodName\":");
	buf_json_str(&bbody, name);
	buf_puts(&bbody, ",\"PodNamespace\":\"bench\",\"PodUID\":");
	buf_json_str(&bbody, uid);
	buf_puts(&bbody, ",\"Node\":");
	buf_puts(&bbody, node);
	buf_putc(&bbody, '}');
	if (post(c, "/bind", bbody.data, bbody.len, &t_bind, err, errlen) != 200)
		goto out;
	bj = c->resp.data ? cJSON_ParseWithLength(c->resp.data, c->resp.len) : NULL;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(bj, "Error");
	if (!cJSON_IsString(e) || e->valuestring[0]) {
		snprintf(err, errlen, "bind %s to %s: %.300s", name, node,
			 c->resp.data ? c->resp.data : "(empty reply)");
		if (cJSON_IsString(e) && strstr(e->valuestring, "no longer fits"))
			rc = -2;
		goto out;
	}

	if (idx == c->sh->o->warmup) /* node is a JSON string: drop its quotes */
		snprintf(c->sh->check_node, sizeof c->sh->check_node, "%.*s", (int)strlen(node) - 2,
			 node + 1);
	if (post(c, "/debug/discard", fbody.data, fbody.len, &t_floor, err, errlen) != 200)
		goto out;
	rc = 0;
out:
	if (measure && rc == 0) {
		lat_add(&c->filter, t_filter);
		lat_add(&c->prio, t_prio);
		lat_add(&c->bind, t_bind);
		lat_add(&c->floor, t_floor);
		c->floor_s += t_floor / 1e6;
	}
	cJSON_Delete(bj);
	free(pod_json);
	buf_free(&fbody);
	buf_free(&pbody);
	buf_free(&bbody);
	return rc;
}

/* Runs pods [from, to) that fall to this client (index % clients == id). */
static int run_range(struct client *c, cJSON *pod, int from, int to, bool measure)
{
	int clients = c->sh->o->clients, failed_in_row = 0;
	char err[1024];
	for (int i = from; i < to; i++) {
		if (i % clients != c->id)
			continue;
		int rc, tries = 0;
		do {
			err[0] = '\0';
			rc = one_pod(c, pod, i, measure, err, sizeof err);
			c->conflicts += rc == -2;
		} while (rc == -2 && ++tries < MAX_BIND_TRIES);
		if (rc == 0) {
			failed_in_row = 0;
			if (measure)
				c->pods_done++;
			continue;
		}
		c->errors++;
		if (c->logged++ < MAX_ERROR_LOGS)
			fprintf(stderr, "loadgen: client %d pod bench-%d: %s\n", c->id, i, err);
		if (++failed_in_row >= GIVE_UP_AFTER) {
			fprintf(stderr,
				"loadgen: client %d gives up after %d failed pods in a row\n",
				c->id, failed_in_row);
			return -1;
		}
	}
	return 0;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	const struct opts *o = c->sh->o;
	cJSON *pod = cJSON_Duplicate(c->sh->pod, 1);
	if (!pod)
		abort();
	c->h = new_handle(&c->resp, &c->hdrs);
	int rc = run_range(c, pod, 0, o->warmup, false);
	pthread_barrier_wait(&c->sh->warm);
	if (rc == 0) {
		double t0 = bench_now_s();
		run_range(c, pod, o->warmup, o->warmup + o->pods, true);
		c->elapsed_s = bench_now_s() - t0;
	}
	cJSON_Delete(pod);
	curl_easy_cleanup(c->h);
	curl_slist_free_all(c->hdrs);
	buf_free(&c->resp);
	return NULL;
}

/* Reads back the first measured pod from the dev store: it must be bound
 * to the node the bind named, with the allocation annotations on it. */
static int verify_binding(const struct shared *sh)
{
	char url[256];
	struct buf resp = BUF_INIT;
	long code = 0;
	int rc = -1;
	CURL *h = new_handle(&resp, NULL);
	snprintf(url, sizeof url, "%s/api/v1/pods/bench/bench-%d", sh->base, sh->o->warmup);
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (curl_easy_perform(h) == CURLE_OK &&
	    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200) {
		cJSON *pod = cJSON_ParseWithLength(resp.data, resp.len);
		const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
		const cJSON *ann = cJSON_GetObjectItemCaseSensitive(md, "annotations");
		const char *bound =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "nodeName"));
		const char *vnode = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(ann, "volcano.sh/vgpu-node"));
		const char *ids = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(ann, "volcano.sh/vgpu-ids-new"));
		if (bound && vnode && ids && *ids && !strcmp(bound, sh->check_node) &&
		    !strcmp(vnode, sh->check_node)) {
			printf("check: bench-%d is bound to %s with devices %s\n", sh->o->warmup,
			       bound, ids);
			rc = 0;
		} else {
			fprintf(stderr,
				"loadgen: bench-%d is not bound as requested (%s): %.500s\n",
				sh->o->warmup, sh->check_node, resp.data);
		}
		cJSON_Delete(pod);
	} else {
		fprintf(stderr, "loadgen: GET %s failed (HTTP %ld)\n", url, code);
	}
	curl_easy_cleanup(h);
	buf_free(&resp);
	return rc;
}

/* The daemon ------------------------------------------------------------ */

static pid_t spawn_daemon(const char *bin, const char *cluster, const char *listen,
			  const char *config)
{
	pid_t parent = getpid(), pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* Do not outlive the benchmark if it is killed. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		if (config)
			execl(bin, bin, "--dev", "--cluster", cluster, "--listen", listen,
			      "--log-level", "warn", "--config", config, (char *)NULL);
		else
			execl(bin, bin, "--dev", "--cluster", cluster, "--listen", listen,
			      "--log-level", "warn", (char *)NULL);
		fprintf(stderr, "loadgen: cannot run %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	return pid;
}

/* Polls GET /readyz until 200; returns 0, or -1 if the daemon exited or the
 * time ran out. */
static int wait_ready(pid_t pid, const char *base)
{
	char url[128];
	struct buf resp = BUF_INIT;
	int rc = -1, status;
	CURL *h = new_handle(&resp, NULL);
	snprintf(url, sizeof url, "%s/readyz", base);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
	double deadline = bench_now_s() + STARTUP_TIMEOUT_S;
	while (bench_now_s() < deadline) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "loadgen: the daemon exited during start-up (%s %d)\n",
				WIFEXITED(status) ? "status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			rc = -2;
			break;
		}
		long code = 0;
		buf_reset(&resp);
		if (curl_easy_perform(h) == CURLE_OK &&
		    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
		    code == 200) {
			rc = 0;
			break;
		}
		bench_sleep_ms(5);
	}
	if (rc == -1)
		fprintf(stderr, "loadgen: the daemon was not ready after %d s\n",
			STARTUP_TIMEOUT_S);
	curl_easy_cleanup(h);
	buf_free(&resp);
	return rc;
}

/* Report ---------------------------------------------------------------- */

struct figures {
	double filter_p50, filter_p99, prio_p50, prio_p99, bind_p50, bind_p99, floor_p50, floor_p99,
	    pods_per_s, startup_ms, wall_s;
	double cpu_http_s, cpu_other_s, cpu_client_s; /* over the measured phase */
	long rss, hwm;
	int pods, errors, conflicts;
};

static void dev_json(cJSON *j, const struct figures *f, const struct opts *o)
{
	cJSON_AddNumberToObject(j, "filter_p50_us", round(f->filter_p50));
	cJSON_AddNumberToObject(j, "filter_p99_us", round(f->filter_p99));
	cJSON_AddNumberToObject(j, "prioritize_p99_us", round(f->prio_p99));
	cJSON_AddNumberToObject(j, "bind_p99_us", round(f->bind_p99));
	cJSON_AddNumberToObject(j, "pods_per_s", round(f->pods_per_s * 10) / 10);
	cJSON_AddNumberToObject(j, "floor_p99_us", round(f->floor_p99));
	cJSON_AddNumberToObject(j, "rss_kib", (double)f->rss);
	cJSON_AddNumberToObject(j, "rss_hwm_kib", (double)f->hwm);
	cJSON_AddNumberToObject(j, "startup_ms", round(f->startup_ms));
	cJSON_AddNumberToObject(j, "nodes", o->nodes);
	cJSON_AddNumberToObject(j, "pods", f->pods);
	cJSON_AddNumberToObject(j, "errors", f->errors);
	cJSON_AddNumberToObject(j, "clients", o->clients);
}

static int write_json(const char *path, const struct figures *f, const struct opts *o,
		      const struct kb_figures *kf, cJSON *j)
{
	if (o->dev)
		dev_json(j, f, o);
	if (o->cluster)
		kb_json(j, kf);
	char *text = cJSON_Print(j);
	cJSON_Delete(j);
	FILE *fp = text ? fopen(path, "w") : NULL;
	int rc = fp && fputs(text, fp) >= 0 && fputc('\n', fp) != EOF ? 0 : -1;
	if (fp && fclose(fp))
		rc = -1;
	if (rc)
		fprintf(stderr, "loadgen: cannot write %s: %s\n", path, strerror(errno));
	free(text);
	return rc;
}

static const char *verdict(bool ok)
{
	return ok ? "PASS" : "MISS";
}

static int print_table(const struct figures *f, const struct opts *o)
{
	double ratio = f->floor_p99 > 0 ? f->filter_p99 / f->floor_p99 : INFINITY;
	bool ok[6] = {f->filter_p99 <= 2000, f->prio_p99 <= 1000, f->bind_p99 <= 500,
		      f->pods_per_s >= 2000, ratio <= 3.0,        f->rss >= 0 && f->rss <= 65536};
	printf("\nvgpu-extender bench: %d nodes x %d GPUs, %d busy pods, %d pods measured "
	       "(%d warm-up), %d client%s, %.2f s\n",
	       o->nodes, o->gpus, o->nodes * o->busy, f->pods, o->warmup, o->clients,
	       o->clients == 1 ? "" : "s", f->wall_s);
	printf("%-26s %14s   %-22s %s\n", "figure", "value", "target", "");
	printf("%-26s %11.0f us   %-22s %s\n", "filter p99", f->filter_p99, "<= 2000 us",
	       verdict(ok[0]));
	printf("%-26s %11.0f us   %-22s %s\n", "prioritize p99", f->prio_p99, "<= 1000 us",
	       verdict(ok[1]));
	printf("%-26s %11.0f us   %-22s %s\n", "bind p99", f->bind_p99, "<= 500 us",
	       verdict(ok[2]));
	printf("%-26s %11.1f /s   %-22s %s\n", "pods_per_s", f->pods_per_s, ">= 2000 /s",
	       verdict(ok[3]));
	printf("%-26s %12.2f x   %-22s %s\n", "filter p99 / floor p99", ratio, "<= 3.00 x",
	       verdict(ok[4]));
	printf("%-26s %10ld KiB   %-22s %s\n", "rss", f->rss, "<= 65536 KiB", verdict(ok[5]));
	printf("%-26s %11.0f us\n", "filter p50", f->filter_p50);
	printf("%-26s %11.0f us\n", "prioritize p50", f->prio_p50);
	printf("%-26s %11.0f us\n", "bind p50", f->bind_p50);
	printf("%-26s %11.0f us\n", "floor (discard) p50", f->floor_p50);
	printf("%-26s %11.0f us\n", "floor (discard) p99", f->floor_p99);
	printf("%-26s %10ld KiB\n", "rss high-water mark", f->hwm);
	printf("%-26s %11.0f ms\n", "start-up", f->startup_ms);
	if (f->pods > 0) {
		printf("%-26s %11.2f ms\n", "daemon CPU/pod, HTTP", f->cpu_http_s * 1e3 / f->pods);
		printf("%-26s %11.2f ms\n", "daemon CPU/pod, other",
		       f->cpu_other_s * 1e3 / f->pods);
		printf("%-26s %11.2f ms\n", "loadgen CPU/pod", f->cpu_client_s * 1e3 / f->pods);
	}
	printf("%-26s %14d\n", "bind conflicts (retried)", f->conflicts);
	printf("%-26s %14d\n", "errors", f->errors);
	int missed = 0;
	for (int i = 0; i < 6; i++)
		missed += !ok[i];
	if (missed)
		printf("%d of 6 targets missed\n", missed);
	else
		printf("all 6 targets met\n");
	return missed;
}

/* Main ------------------------------------------------------------------ */

static char *names_array(int nodes)
{
	struct buf b = BUF_INIT;
	char name[32];
	buf_putc(&b, '[');
	for (int i = 1; i <= nodes; i++) {
		bench_node_name(name, sizeof name, i);
		if (i > 1)
			buf_putc(&b, ',');
		buf_json_str(&b, name);
	}
	buf_putc(&b, ']');
	return buf_steal(&b);
}

/* CPU seconds of the daemon's threads: libmicrohttpd's (named MHD-*) and
 * the others (the dev loop; main only waits for a signal). */
static void daemon_cpu(pid_t pid, double *http_s, double *other_s)
{
	char path[64], line[1024];
	long tck = sysconf(_SC_CLK_TCK);
	*http_s = *other_s = 0;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return;
	for (struct dirent *de; (de = readdir(dir));) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(line, sizeof line, "%s/%s/stat", path, de->d_name);
		FILE *f = fopen(line, "r");
		if (!f)
			continue;
		size_t n = fread(line, 1, sizeof line - 1, f);
		fclose(f);
		line[n] = '\0';
		char *open = strchr(line, '('), *close = strrchr(line, ')');
		unsigned long ut = 0, st = 0;
		if (!open || !close ||
		    sscanf(close + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
			   &st) != 2)
			continue;
		double s = (double)(ut + st) / (double)(tck > 0 ? tck : 100);
		if (!strncmp(open + 1, "MHD", 3))
			*http_s += s;
		else
			*other_s += s;
	}
	closedir(dir);
}

static double self_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int run_clients(struct shared *sh, struct client *cs, const struct opts *o, pid_t pid,
		       struct figures *f)
{
	double http0, other0, self0;
	pthread_barrier_init(&sh->warm, NULL, (unsigned)o->clients + 1);
	for (int i = 0; i < o->clients; i++) {
		cs[i] = (struct client){.sh = sh, .id = i};
		size_t share = (size_t)o->pods / (size_t)o->clients + 1;
		lat_init(&cs[i].filter, share);
		lat_init(&cs[i].prio, share);
		lat_init(&cs[i].bind, share);
		lat_init(&cs[i].floor, share);
		if (pthread_create(&cs[i].thread, NULL, client_main, &cs[i])) {
			fprintf(stderr, "loadgen: cannot start client thread %d\n", i);
			exit(2);
		}
	}
	pthread_barrier_wait(&sh->warm);
	double t0 = bench_now_s();
	daemon_cpu(pid, &http0, &other0);
	self0 = self_cpu();
	printf("warm-up done (%d pods); measuring %d pods\n", o->warmup, o->pods);
	fflush(stdout);
	for (int i = 0; i < o->clients; i++)
		pthread_join(cs[i].thread, NULL);
	f->wall_s = bench_now_s() - t0;
	daemon_cpu(pid, &f->cpu_http_s, &f->cpu_other_s);
	f->cpu_http_s -= http0;
	f->cpu_other_s -= other0;
	f->cpu_client_s = self_cpu() - self0;
	pthread_barrier_destroy(&sh->warm);
	return 0;
}

static void collect(struct client *cs, const struct opts *o, struct figures *f)
{
	struct lat fl, pr, bi, fo;
	lat_init(&fl, (size_t)o->pods);
	lat_init(&pr, (size_t)o->pods);
	lat_init(&bi, (size_t)o->pods);
	lat_init(&fo, (size_t)o->pods);
	for (int i = 0; i < o->clients; i++) {
		struct client *c = &cs[i];
		lat_merge(&fl, &c->filter);
		lat_merge(&pr, &c->prio);
		lat_merge(&bi, &c->bind);
		lat_merge(&fo, &c->floor);
		f->errors += c->errors;
		f->conflicts += c->conflicts;
		f->pods += c->pods_done;
		double busy = c->elapsed_s - c->floor_s;
		if (busy > 0)
			f->pods_per_s += c->pods_done / busy;
		free(c->filter.us);
		free(c->prio.us);
		free(c->bind.us);
		free(c->floor.us);
	}
	struct lat *all[] = {&fl, &pr, &bi, &fo};
	for (size_t i = 0; i < 4; i++)
		lat_sort(all[i]);
	f->filter_p50 = lat_pct(&fl, 0.50);
	f->filter_p99 = lat_pct(&fl, 0.99);
	f->prio_p50 = lat_pct(&pr, 0.50);
	f->prio_p99 = lat_pct(&pr, 0.99);
	f->bind_p50 = lat_pct(&bi, 0.50);
	f->bind_p99 = lat_pct(&bi, 0.99);
	f->floor_p50 = lat_pct(&fo, 0.50);
	f->floor_p99 = lat_pct(&fo, 0.99);
	for (size_t i = 0; i < 4; i++)
		free(all[i]->us);
}

/* The dev-mode part: 0 without request errors, 1 with, 2 when the daemon
 * did not start. */
static int run_dev(const struct opts *op, struct figures *fp)
{
	const struct opts o = *op;
	char cluster[] = "/tmp/vx-bench-cluster-XXXXXX.json", err[512], listen[64];

	int fd = mkstemps(cluster, 5);
	if (fd < 0) {
		fprintf(stderr, "loadgen: mkstemps: %s\n", strerror(errno));
		return 2;
	}
	close(fd);
	double t0 = bench_now_s();
	long size = bench_gen_cluster(cluster, o.nodes, o.gpus, o.busy, err, sizeof err);
	if (size < 0) {
		fprintf(stderr, "loadgen: %s\n", err);
		unlink(cluster);
		return 2;
	}
	printf("cluster: %s, %d nodes, %d pods, %.1f MB, written in %.0f ms\n", cluster, o.nodes,
	       o.nodes * o.busy, (double)size / 1e6, (bench_now_s() - t0) * 1e3);

	int port = hx_free_port();
	if (port < 0) {
		fprintf(stderr, "loadgen: no free loopback port: %s\n", strerror(errno));
		unlink(cluster);
		return 2;
	}
	struct shared sh = {.o = &o};
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	snprintf(sh.base, sizeof sh.base, "http://%s", listen);
	fflush(stdout);
	t0 = bench_now_s();
	pid_t pid = spawn_daemon(o.daemon, cluster, listen, o.config);
	if (pid < 0) {
		fprintf(stderr, "loadgen: fork: %s\n", strerror(errno));
		unlink(cluster);
		return 2;
	}
	int ready = wait_ready(pid, sh.base);
	struct figures f = {0};
	f.rss = f.hwm = -1;
	f.startup_ms = (bench_now_s() - t0) * 1e3;
	unlink(cluster);
	if (ready) {
		if (ready == -1)
			bench_stop(pid, "the daemon");
		*fp = f;
		return 2;
	}
	long rss0, hwm0;
	bench_read_mem(pid, &rss0, &hwm0);
	printf("daemon pid %d ready on %s after %.0f ms (rss %ld KiB)\n", (int)pid, listen,
	       f.startup_ms, rss0);
	fflush(stdout);

	char *names = names_array(o.nodes);
	cJSON *pod = cJSON_Parse(pod_template);
	if (!pod)
		abort();
	sh.names_json = names;
	sh.pod = pod;
	struct client *cs = calloc((size_t)o.clients, sizeof *cs);
	if (!cs)
		abort();
	run_clients(&sh, cs, &o, pid, &f);
	collect(cs, &o, &f);
	free(cs);
	printf("filter request body: %zu bytes\n", sh.filter_body_len);

	bench_read_mem(pid, &f.rss, &f.hwm);
	if (f.pods > 0 && verify_binding(&sh))
		f.errors++;
	int status = bench_stop(pid, "the daemon");
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "loadgen: the daemon did not exit cleanly (wait status %d)\n",
			status);
	cJSON_Delete(pod);
	free(names);

	int missing = o.pods - f.pods;
	if (f.errors == 0 && missing > 0)
		f.errors = missing; /* a client gave up */
	*fp = f;
	return f.errors ? 1 : 0;
}

/* A config of n queues; the benchmark's namespace belongs to the middle one,
 * so every filter does a real admission. Returns the path (static). */
static const char *queues_config(int n)
{
	static char path[] = "/tmp/vx-bench-queues-XXXXXX.yaml";
	int fd = mkstemps(path, 5);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f)
		return NULL;
	fputs("queues:\n", f);
	for (int i = 0; i < n; i++)
		fprintf(f, "  - name: q%03d\n    namespaces: [%s]\n    quota: %d\n    limit: -1\n",
			i, i == n / 2 ? "bench" : "unused", i == n / 2 ? 100000 : 1);
	fclose(f);
	return path;
}

/* The dev part without queues, then with o->queues of them: queue admission
 * is a lookup and a comparison, so filter p50 should not move (<= 5%). */
static int queues_run(struct opts *o)
{
	struct figures plain = {0}, queued = {0};
	const char *cfg = queues_config(o->queues);
	if (!cfg || curl_global_init(CURL_GLOBAL_DEFAULT))
		return 2;
	int rc = run_dev(o, &plain);
	o->config = cfg;
	int rc2 = rc == 2 ? 2 : run_dev(o, &queued);
	unlink(cfg);
	curl_global_cleanup();
	if (rc == 2 || rc2 == 2)
		return 2;
	double ratio = queued.filter_p50 / plain.filter_p50;
	printf("\nqueues: filter p50 %.0f us without queues, %.0f us with %d queues: %.3fx "
	       "(target <= 1.05x) %s\n",
	       plain.filter_p50, queued.filter_p50, o->queues, ratio,
	       ratio <= 1.05 ? "met" : "MISSED");
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "filter_p50_us_without_queues", round(plain.filter_p50));
	cJSON_AddNumberToObject(j, "filter_p50_us_with_queues", round(queued.filter_p50));
	cJSON_AddNumberToObject(j, "queues", o->queues);
	char *text = cJSON_Print(j);
	FILE *f = fopen(o->out, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	free(text);
	cJSON_Delete(j);
	return rc || rc2 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct figures f = {0};
	struct kb_figures kf = {0};
	int dev_rc = 0, kb_rc = 0, sb_rc = 0, missed = 0, targets = 0;
	cJSON *json = cJSON_CreateObject();
	if (parse_opts(argc, argv, &o))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0); /* keep stdout and stderr in order */
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fprintf(stderr, "loadgen: curl_global_init failed\n");
		return 2;
	}
	if (o.queues > 0)
		return queues_run(&o);
	double t0 = bench_now_s();
	if (o.dev)
		dev_rc = run_dev(&o, &f);
	double t1 = bench_now_s();
	if (o.cluster)
		kb_rc = kb_run(&o.kb, &kf);
	double t2 = bench_now_s();
	if (o.sched) {
		struct sb_main_opts mo = {o.sched_pods, o.sched_runs, o.sched_nice, o.sched_gap_us,
					  o.sched_floor};
		sb_rc = sb_main(&mo, json, &missed, &targets);
	}
	double t3 = bench_now_s();
	curl_global_cleanup();

	if (o.dev && dev_rc != 2) {
		missed += print_table(&f, &o);
		targets += 6;
	}
	if (o.cluster) {
		int n;
		missed += kb_print(&o.kb, &kf, &n);
		targets += n;
	}
	printf("\n%d of %d targets missed; dev part %.1f s, cluster part %.1f s, scheduler part "
	       "%.1f s\n",
	       missed, targets, t1 - t0, t2 - t1, t3 - t2);
	if ((o.dev && dev_rc == 2) || (o.cluster && kb_rc == 2) || sb_rc == 2 ||
	    write_json(o.out, &f, &o, &kf, json))
		return 2;
	printf("wrote %s\n", o.out);
	return dev_rc || kb_rc || sb_rc ? 1 : 0;
}
