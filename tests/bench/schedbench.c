/* schedbench: the part of `make bench` that behaves like kube-scheduler in
 * front of the daemon in cluster mode. kube-scheduler runs one scheduling
 * cycle at a time (filter with every node's name, prioritize the
 * survivors, pick the best score, ties at random) and its binding cycles
 * asynchronously; here up to `inflight` binds run at once on their own
 * keep-alive connections. The fake API server's device-plugin stand-in
 * answers each bind `standin_ms` later, releasing the node lock only then,
 * as the Volcano plugin does after kubelet's Allocate; one run also makes
 * the API server answer every binding call `binding_delay_ms` late.
 *
 * Reported per run: pods/s from the first filter to the last bind answer,
 * filter latency with no bind in flight and with binds in flight, bind
 * latency, the nodes the pods landed on, and errors. */
#include "bench.h"
#include "../integration/harness.h"
#include "vx/hmap.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS "sched"
#define IDLE_FILTERS 200
#define SEEN_TIMEOUT_S 60
#define MAX_INFLIGHT 256
#define MAX_ERROR_LOGS 5

struct job {
	int idx;
	char node[32];
};

struct sched {
	const struct sb_opts *o;
	struct hx_fake fake;
	struct hx_daemon daemon;
	char **pods; /* each pod's JSON as the API server returned it */
	char (*names)[48];
	struct buf node_names; /* ["node-00001",...] */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *queue;
	int qhead, qtail, inflight, done, stop;
	struct lat bind_lat;
	char (*bound)[32]; /* node per pod, "" when the bind failed */
	int errors;
};

/* Setup ----------------------------------------------------------------- */

static int start(struct sched *s)
{
	char standin[16], nodes[16], gpus[16];
	snprintf(standin, sizeof standin, "%d", s->o->standin_ms);
	snprintf(nodes, sizeof nodes, "%d", s->o->nodes);
	snprintf(gpus, sizeof gpus, "%d", s->o->gpus);
	const char *fargs[] = {"--standin-delay-ms", standin, "--gen-nodes", nodes,
			       "--gen-gpus",         gpus,    NULL};
	if (hx_fake_start(&s->fake, fargs)) {
		fprintf(stderr, "schedbench: the fake API server did not start\n");
		return -1;
	}
	const char *dargs[] = {"--kubeconfig",
			       s->fake.kubeconfig,
			       "--threads",
			       getenv("SB_THREADS") ? getenv("SB_THREADS") : "2",
			       "--log-level",
			       getenv("SB_LOG") ? getenv("SB_LOG") : "warn",
			       NULL};
	if (hx_start(&s->daemon, dargs)) {
		fprintf(stderr, "schedbench: the daemon did not become ready\n");
		hx_dump_log(&s->daemon);
		return -1;
	}
	return 0;
}

static const char pod_fmt[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"sb-%05d\","
    "\"namespace\":\"" NS "\"},\"spec\":{\"schedulerName\":\"vgpu-scheduler\","
    "\"containers\":[{\"name\":\"c\",\"image\":\"example.invalid/none:1\","
    "\"resources\":{\"limits\":{\"volcano.sh/vgpu-number\":\"1\","
    "\"volcano.sh/vgpu-memory\":\"2048\",\"volcano.sh/vgpu-cores\":\"10\"}}}]},"
    "\"status\":{\"phase\":\"Pending\"}}";

/* All pods in one write, then read back with their uids. */
static int create_pods(struct sched *s)
{
	struct buf b = BUF_INIT;
	struct hx_resp r;
	buf_putc(&b, '[');
	for (int i = 0; i < s->o->pods; i++) {
		buf_puts(&b, i ? "," : "");
		buf_printf(&b, pod_fmt, i);
	}
	buf_putc(&b, ']');
	int rc = hx_fake_call(&s->fake, "POST", "/fake/objects", NULL, b.data, &r);
	buf_free(&b);
	long st = r.status;
	hx_resp_free(&r);
	if (rc || st >= 300)
		return -1;
	char path[128];
	snprintf(path, sizeof path, "/api/v1/namespaces/" NS "/pods?limit=%d", s->o->pods + 1);
	if (hx_fake_call(&s->fake, "GET", path, NULL, NULL, &r) || r.status != 200 || !r.json)
		return -1;
	const cJSON *p;
	cJSON_ArrayForEach (p, cJSON_GetObjectItemCaseSensitive(r.json, "items")) {
		const char *name = cJSON_GetObjectItemCaseSensitive(
				       cJSON_GetObjectItemCaseSensitive(p, "metadata"), "name")
				       ->valuestring;
		int i = atoi(name + 3);
		if (i >= 0 && i < s->o->pods)
			s->pods[i] = cJSON_PrintUnformatted(p);
	}
	hx_resp_free(&r);
	for (int i = 0; i < s->o->pods; i++)
		if (!s->pods[i])
			return -1;
	return 0;
}

static int wait_listed(struct sched *s)
{
	double t0 = bench_now_s();
	while (bench_now_s() - t0 < SEEN_TIMEOUT_S) {
		struct hx_resp r;
		int n = -1;
		if (hx_get(&s->daemon, "/api/v1/jobs?namespace=" NS, &r) == 0 && r.json)
			n = cJSON_GetArraySize(r.json);
		hx_resp_free(&r);
		if (n == s->o->pods)
			return 0;
		bench_sleep_ms(50);
	}
	fprintf(stderr, "schedbench: the daemon did not list the %d pods\n", s->o->pods);
	return -1;
}

/* Binding cycles -------------------------------------------------------- */

static void *binder_main(void *arg)
{
	struct sched *s = arg;
	struct bench_http c;
	struct lat lat;
	char body[512], err[256];
	bench_http_init(&c, s->daemon.url, NULL);
	lat_init(&lat, 256);
	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (s->qhead == s->qtail && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->qhead == s->qtail) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		struct job j = s->queue[s->qhead++];
		pthread_mutex_unlock(&s->mu);
		int n = snprintf(body, sizeof body,
				 "{\"PodName\":\"sb-%05d\",\"PodNamespace\":\"" NS "\","
				 "\"PodUID\":\"%s\",\"Node\":\"%s\"}",
				 j.idx, s->names[j.idx], j.node);
		double us = 0;
		long code = bench_http_do(&c, "/bind", body, (size_t)n, &us, err, sizeof err);
		struct span e;
		const char *p = c.resp.data, *end = p ? p + c.resp.len : NULL;
		bool ok = code == 200 && p && !js_member(p, end, "Error", &e) && e.n == 2;
		pthread_mutex_lock(&s->mu);
		if (ok) {
			snprintf(s->bound[j.idx], sizeof s->bound[0], "%s", j.node);
			lat_add(&lat, us);
		} else if (s->errors++ < MAX_ERROR_LOGS) {
			fprintf(stderr, "schedbench: bind sb-%05d to %s: HTTP %ld %s %.300s\n",
				j.idx, j.node, code, err, p ? p : "");
		}
		s->inflight--;
		s->done++;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
	pthread_mutex_lock(&s->mu);
	lat_merge(&s->bind_lat, &lat);
	pthread_mutex_unlock(&s->mu);
	free(lat.us);
	bench_http_free(&c);
	return NULL;
}

/* Scheduling cycles ----------------------------------------------------- */

/* POSTs {"Pod":pod,"NodeNames":names}; returns the reply's status. */
static long extender_call(struct bench_http *c, const char *verb, const char *pod,
			  const char *names, size_t names_len, double *us)
{
	struct buf b = BUF_INIT;
	char err[256];
	buf_puts(&b, "{\"Pod\":");
	buf_puts(&b, pod);
	buf_puts(&b, ",\"NodeNames\":");
	buf_append(&b, names, names_len);
	buf_putc(&b, '}');
	long code = bench_http_do(c, verb, b.data, b.len, us, err, sizeof err);
	buf_free(&b);
	return code;
}

/* The best host of a prioritize reply, ties at random like selectHost. */
static int best_host(const char *reply, size_t len, unsigned *seed, char *out, size_t outlen)
{
	cJSON *arr = cJSON_ParseWithLength(reply, len);
	const cJSON *h;
	int best = -1, ties = 0;
	cJSON_ArrayForEach (h, arr) {
		int score = cJSON_GetObjectItemCaseSensitive(h, "Score")->valueint;
		const char *host = cJSON_GetObjectItemCaseSensitive(h, "Host")->valuestring;
		if (score > best) {
			best = score;
			ties = 1;
			snprintf(out, outlen, "%s", host);
		} else if (score == best && rand_r(seed) % ++ties == 0) {
			snprintf(out, outlen, "%s", host);
		}
	}
	cJSON_Delete(arr);
	return best >= 0 ? 0 : -1;
}

/* One pod's scheduling cycle; 0 when a bind was handed to the binding
 * cycles. The filter's latency goes to busy or idle by binds in flight. */
static int cycle(struct sched *s, struct bench_http *c, int i, unsigned *seed, struct lat *idle,
		 struct lat *busy)
{
	double us;
	pthread_mutex_lock(&s->mu);
	while (s->inflight >= s->o->inflight)
		pthread_cond_wait(&s->cv, &s->mu);
	bool in_flight = s->inflight > 0;
	pthread_mutex_unlock(&s->mu);
	if (extender_call(c, "/filter", s->pods[i], s->node_names.data, s->node_names.len, &us) !=
	    200)
		return -1;
	lat_add(in_flight ? busy : idle, us);
	struct span names;
	const char *p = c->resp.data, *e = p + c->resp.len;
	if (js_member(p, e, "NodeNames", &names) || js_array_len(names) <= 0)
		return -1;
	char *copy = strndup(names.p, names.n);
	long code = extender_call(c, "/prioritize", s->pods[i], copy, names.n, NULL);
	free(copy);
	struct job j = {.idx = i};
	if (code != 200 || best_host(c->resp.data, c->resp.len, seed, j.node, sizeof j.node))
		return -1;
	pthread_mutex_lock(&s->mu);
	s->queue[s->qtail++] = j;
	s->inflight++;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static void idle_filters(struct sched *s, struct bench_http *c, struct lat *idle)
{
	for (int k = 0; k < IDLE_FILTERS; k++) {
		double us;
		if (extender_call(c, "/filter", s->pods[k % s->o->pods], s->node_names.data,
				  s->node_names.len, &us) == 200)
			lat_add(idle, us);
	}
}

static int nodes_used(const struct sched *s)
{
	struct hmap seen;
	hmap_init(&seen);
	for (int i = 0; i < s->o->pods; i++)
		if (s->bound[i][0])
			hmap_put(&seen, s->bound[i], (void *)1);
	int n = (int)hmap_size(&seen);
	hmap_free(&seen);
	return n;
}

static void run_cycles(struct sched *s, struct sb_run *r)
{
	struct bench_http c;
	struct lat idle, busy;
	pthread_t th[MAX_INFLIGHT];
	unsigned seed = 42;
	int nth = s->o->inflight < MAX_INFLIGHT ? s->o->inflight : MAX_INFLIGHT;
	lat_init(&idle, 1024);
	lat_init(&busy, 1024);
	bench_http_init(&c, s->daemon.url, NULL);
	idle_filters(s, &c, &idle);
	for (int t = 0; t < nth; t++)
		pthread_create(&th[t], NULL, binder_main, s);
	double t0 = bench_now_s();
	for (int i = 0; i < s->o->pods; i++)
		if (cycle(s, &c, i, &seed, &idle, &busy) && s->errors++ < MAX_ERROR_LOGS)
			fprintf(stderr, "schedbench: scheduling sb-%05d failed\n", i);
	pthread_mutex_lock(&s->mu);
	while (s->done < s->qtail)
		pthread_cond_wait(&s->cv, &s->mu);
	s->stop = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	r->wall_s = bench_now_s() - t0;
	for (int t = 0; t < nth; t++)
		pthread_join(th[t], NULL);
	lat_sort(&idle);
	lat_sort(&busy);
	lat_sort(&s->bind_lat);
	r->filter_idle_p50 = lat_pct(&idle, 0.50);
	r->filter_idle_p99 = lat_pct(&idle, 0.99);
	r->filter_busy_p50 = lat_pct(&busy, 0.50);
	r->filter_busy_p99 = lat_pct(&busy, 0.99);
	r->busy_samples = (int)busy.n;
	r->bind_p50 = lat_pct(&s->bind_lat, 0.50);
	r->bind_p99 = lat_pct(&s->bind_lat, 0.99);
	r->pods_per_s = s->o->pods / r->wall_s;
	r->nodes_used = nodes_used(s);
	r->errors = s->errors;
	free(idle.us);
	free(busy.us);
	bench_http_free(&c);
}

/* The daemon's own view of filter latency: the bucket of its histogram
 * that holds the 99th percentile, in us (time spent inside the handler,
 * without the network and the client's own scheduling). */
static double server_filter_p99(struct sched *s)
{
	struct hx_resp r;
	double le[64], bound = 0;
	unsigned long long cum[64], total = 0;
	int n = 0;
	if (hx_get(&s->daemon, "/metrics", &r) || !r.body)
		return 0;
	const char *key = "vgpu_extender_request_duration_seconds_bucket{verb=\"filter\",le=\"";
	for (const char *p = strstr(r.body, key); p && n < 64; p = strstr(p + 1, key)) {
		const char *v = p + strlen(key);
		le[n] = strncmp(v, "+Inf", 4) == 0 ? 1e9 : atof(v);
		const char *sp = strchr(v, ' ');
		cum[n++] = sp ? strtoull(sp + 1, NULL, 10) : 0;
	}
	hx_resp_free(&r);
	total = n ? cum[n - 1] : 0;
	for (int i = 0; i < n && total; i++)
		if ((double)cum[i] >= 0.99 * (double)total) {
			bound = le[i] * 1e6;
			break;
		}
	return bound;
}

static void fill_names(struct sched *s)
{
	char name[32];
	buf_putc(&s->node_names, '[');
	for (int i = 1; i <= s->o->nodes; i++) {
		bench_node_name(name, sizeof name, i);
		buf_printf(&s->node_names, "%s\"%s\"", i > 1 ? "," : "", name);
	}
	buf_putc(&s->node_names, ']');
}

static void take_uids(struct sched *s)
{
	for (int i = 0; i < s->o->pods; i++) {
		cJSON *p = cJSON_Parse(s->pods[i]);
		const cJSON *uid = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(p, "metadata"), "uid");
		snprintf(s->names[i], sizeof s->names[0], "%s",
			 cJSON_IsString(uid) ? uid->valuestring : "");
		cJSON_Delete(p);
	}
}

static void sched_free(struct sched *s)
{
	for (int i = 0; s->pods && i < s->o->pods; i++)
		free(s->pods[i]);
	free(s->pods);
	free(s->names);
	free(s->bound);
	free(s->queue);
	free(s->bind_lat.us);
	buf_free(&s->node_names);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
}

int sb_run(const struct sb_opts *o, struct sb_run *r)
{
	struct sched s = {.o = o};
	int rc = 2;
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv, NULL);
	s.pods = calloc((size_t)o->pods, sizeof *s.pods);
	s.names = calloc((size_t)o->pods, sizeof *s.names);
	s.bound = calloc((size_t)o->pods, sizeof *s.bound);
	s.queue = calloc((size_t)o->pods, sizeof *s.queue);
	lat_init(&s.bind_lat, (size_t)o->pods);
	fill_names(&s);
	if (start(&s) == 0 && create_pods(&s) == 0 && wait_listed(&s) == 0) {
		take_uids(&s);
		if (o->binding_delay_ms > 0) {
			char rule[256];
			struct hx_resp fr;
			snprintf(rule, sizeof rule,
				 "{\"verb\":\"POST\",\"path\":\"/binding\",\"status\":0,"
				 "\"delayMs\":%d,\"count\":-1}",
				 o->binding_delay_ms);
			hx_fake_call(&s.fake, "POST", "/fake/faults", NULL, rule, &fr);
			hx_resp_free(&fr);
		}
		run_cycles(&s, r);
		r->server_filter_p99 = server_filter_p99(&s);
		rc = r->errors ? 1 : 0;
	}
	if (s.daemon.pid > 0 && hx_stop(&s.daemon) != 0) {
		fprintf(stderr, "schedbench: the daemon did not exit cleanly\n");
		rc = rc ? rc : 1;
	}
	if (s.fake.pid > 0)
		hx_fake_stop(&s.fake);
	sched_free(&s);
	return rc;
}

/* Report ------------------------------------------------------------------ */

#define PODS_PER_S_TARGET 200
#define FILTER_RATIO_TARGET 2.0

static const char *verdict(bool ok)
{
	return ok ? "met" : "MISSED";
}

static void print_run(const char *title, const struct sb_opts *o, const struct sb_run *r)
{
	int ideal = (o->pods + o->gpus * 10 - 1) / (o->gpus * 10);
	printf("\n%s: %d pods, %d nodes x %d GPUs, %d binds in flight at most, plugin answers "
	       "after %d ms%s\n",
	       title, o->pods, o->nodes, o->gpus, o->inflight, o->standin_ms,
	       o->binding_delay_ms ? ", bindings answered 1 s late" : "");
	printf("  pods/s                      %8.1f  (%.2f s)\n", r->pods_per_s, r->wall_s);
	printf("  filter p50/p99, idle        %8.2f / %.2f ms\n", r->filter_idle_p50 / 1e3,
	       r->filter_idle_p99 / 1e3);
	printf("  filter p50/p99, binds busy  %8.2f / %.2f ms  (%d samples)\n",
	       r->filter_busy_p50 / 1e3, r->filter_busy_p99 / 1e3, r->busy_samples);
	printf(
	    "  filter p99 inside the daemon   <= %.2f ms  (its histogram's bucket, all filters)\n",
	    r->server_filter_p99 / 1e3);
	printf("  bind p50/p99                %8.1f / %.1f ms\n", r->bind_p50 / 1e3,
	       r->bind_p99 / 1e3);
	printf("  nodes used                  %8d  (one at a time, each waiting for the plugin: "
	       "%d)\n",
	       r->nodes_used, ideal);
	printf("  bind errors                 %8d\n", r->errors);
}

static cJSON *run_json(const struct sb_run *r)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "pods_per_s", r->pods_per_s);
	cJSON_AddNumberToObject(j, "filter_idle_p50_ms", r->filter_idle_p50 / 1e3);
	cJSON_AddNumberToObject(j, "filter_idle_p99_ms", r->filter_idle_p99 / 1e3);
	cJSON_AddNumberToObject(j, "filter_busy_p50_ms", r->filter_busy_p50 / 1e3);
	cJSON_AddNumberToObject(j, "filter_busy_p99_ms", r->filter_busy_p99 / 1e3);
	cJSON_AddNumberToObject(j, "server_filter_p99_ms_at_most", r->server_filter_p99 / 1e3);
	cJSON_AddNumberToObject(j, "bind_p50_ms", r->bind_p50 / 1e3);
	cJSON_AddNumberToObject(j, "bind_p99_ms", r->bind_p99 / 1e3);
	cJSON_AddNumberToObject(j, "nodes_used", r->nodes_used);
	cJSON_AddNumberToObject(j, "errors", r->errors);
	return j;
}

int sb_main(int pods, cJSON *json, int *missed, int *targets)
{
	struct sb_opts o = {500, 8, pods, 64, 500, 0};
	struct sb_opts slow = o;
	struct sb_run r, rs;
	slow.pods = pods < 300 ? pods : 300;
	slow.binding_delay_ms = 1000;
	int rc = sb_run(&o, &r);
	int rc2 = rc == 2 ? 2 : sb_run(&slow, &rs);
	if (rc == 2 || rc2 == 2)
		return 2;
	print_run("kube-scheduler's call pattern, cluster mode", &o, &r);
	print_run("the same with a slow API server", &slow, &rs);
	bool fast = r.pods_per_s >= PODS_PER_S_TARGET;
	bool flat = r.filter_busy_p99 <= FILTER_RATIO_TARGET * r.filter_idle_p99;
	bool flat_slow = rs.filter_busy_p99 <= FILTER_RATIO_TARGET * rs.filter_idle_p99;
	bool clean = r.errors == 0 && rs.errors == 0;
	printf("  targets: >= %d pods/s %s; filter p99 with binds in flight <= %.0fx idle: %s "
	       "(%s with the slow API server); no bind error: %s\n",
	       PODS_PER_S_TARGET, verdict(fast), FILTER_RATIO_TARGET, verdict(flat),
	       verdict(flat_slow), verdict(clean));
	*missed += !fast + !flat + !flat_slow + !clean;
	*targets += 4;
	cJSON *j = cJSON_AddObjectToObject(json, "scheduler_pattern");
	cJSON_AddItemToObject(j, "burst", run_json(&r));
	cJSON_AddItemToObject(j, "slow_api_server", run_json(&rs));
	return rc || rc2 ? 1 : 0;
}
