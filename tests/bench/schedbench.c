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
 * latency, the nodes the pods landed on, errors, and the CPU each process
 * used. Each run is repeated with a fresh fake and daemon and the samples
 * are pooled: the p99 rests on 900-3,000 samples instead of 300-1,000.
 *
 * The floor pass repeats both runs with a probe before each filter: the
 * same body to a forked process that answers {} and does nothing else, and
 * to the daemon's /debug/discard. What the load does to those is what it
 * does to any request on this machine, whatever the extender computes. */
#include "bench.h"
#include "../integration/harness.h"
#include "vx/hmap.h"
#include "vx/httpd.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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
	/* Two conditions, so that a bind's answer wakes the scheduling loop
	 * only, not every idle binding thread (a herd kube-scheduler's
	 * goroutines do not have, costing this process's CPU on 2 cores). */
	pthread_cond_t work; /* a bind is queued, or stop */
	pthread_cond_t room; /* a bind finished */
	struct job *queue;
	int qhead, qtail, inflight, done, stop;
	struct lat bind_lat;
	char (*bound)[32]; /* node per pod, "" when the bind failed */
	int errors;
	bool floor; /* each filter follows a probe, see start_echo */
	pid_t echo_pid;
	char echo_url[64];
	struct bench_http echo_http, discard_http;
};

/* Setup ----------------------------------------------------------------- */

static void echo_handler(void *ud, const struct http_req *req, struct http_resp *resp)
{
	(void)ud;
	(void)req;
	buf_puts(&resp->body, "{}");
}

/* The floor pass: a process that answers every request with {} and does
 * nothing else, with the daemon's HTTP setup (two threads). Timed beside
 * the filter, it shows what this machine's load alone does to a request:
 * no extender's filter can answer faster than a process that does nothing. */
static pid_t start_echo(char *url, size_t len)
{
	int fds[2];
	if (pipe(fds))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		char err[256];
		struct httpd_opts ho = {.listen = "127.0.0.1:0", .threads = 2};
		struct httpd *d = httpd_start(&ho, echo_handler, NULL, err, sizeof err);
		int port = d ? httpd_port(d) : -1;
		if (write(fds[1], &port, sizeof port) != (ssize_t)sizeof port || port < 0)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	int port = -1;
	if (pid < 0 || read(fds[0], &port, sizeof port) != (ssize_t)sizeof port || port < 0) {
		close(fds[0]);
		if (pid > 0)
			kill(pid, SIGKILL);
		return -1;
	}
	close(fds[0]);
	snprintf(url, len, "http://127.0.0.1:%d", port);
	return pid;
}

/* Every thread of pid to nice; threads it starts later inherit it. */
static void renice_all(pid_t pid, int nice)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			(void)setpriority(PRIO_PROCESS, (id_t)atoi(e->d_name), nice);
	if (d)
		closedir(d);
}

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
	if (s->o->others_nice > 0)
		renice_all(s->fake.pid, s->o->others_nice);
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

/* CPU time of a process (utime + stime, ms) and of this one. */
static double proc_cpu_ms(pid_t pid)
{
	char path[64], line[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	char *ok = fgets(line, sizeof line, f);
	fclose(f);
	const char *p = ok ? strrchr(line, ')') : NULL;
	unsigned long long ut = 0, st = 0;
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* The machine's busy CPU time (all but idle and iowait), ms. */
static double machine_cpu_ms(void)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return 0;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		       &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return 0;
	unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	return (double)busy * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

static void cpu_snap(const struct sched *s, double out[4])
{
	out[0] = proc_cpu_ms(s->daemon.pid);
	out[1] = proc_cpu_ms(s->fake.pid);
	out[2] = proc_cpu_ms(getpid());
	out[3] = machine_cpu_ms();
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
	if (s->o->others_nice > 0)
		(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), s->o->others_nice);
	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (s->qhead == s->qtail && !s->stop)
			pthread_cond_wait(&s->work, &s->mu);
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
		pthread_cond_signal(&s->room); /* the scheduling loop is its one waiter */
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

/* --sched-gap-us: kube-scheduler's own work between starting a pod's
 * binding cycle and the next pod's extender filter (its PreFilter and
 * in-tree Filter plugins), modelled as a sleep; the idle filters get the
 * same pause, so both sides of the ratio wake the same way. */
static void gap(const struct sched *s)
{
	if (s->o->gap_us <= 0)
		return;
	struct timespec ts = {s->o->gap_us / 1000000, (long)(s->o->gap_us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

/* The floor pass: before the filter, the same body to /debug/discard (the
 * daemon reads it and does nothing) or, every other cycle, to the echo
 * process; each on its own connection, kept alive like the filter's. A
 * probe warms the path the filter then takes (both processes' threads are
 * awake), so this pass's own filter figures are not the targets'. */
static void probe(struct sched *s, int i, struct lat *discard, struct lat *echo)
{
	double us;
	bool to_echo = i % 2 == 0;
	struct bench_http *c = to_echo ? &s->echo_http : &s->discard_http;
	if (extender_call(c, to_echo ? "/" : "/debug/discard", s->pods[i % s->o->pods],
			  s->node_names.data, s->node_names.len, &us) == 200)
		lat_add(to_echo ? echo : discard, us);
}

/* One pod's scheduling cycle; 0 when a bind was handed to the binding
 * cycles. The filter's latency goes to busy or idle by binds in flight,
 * and to steady too once the first `inflight` binds have been started. */
static int cycle(struct sched *s, struct bench_http *c, int i, unsigned *seed, struct sb_run *r)
{
	double us;
	pthread_mutex_lock(&s->mu);
	while (s->inflight >= s->o->inflight)
		pthread_cond_wait(&s->room, &s->mu);
	bool in_flight = s->inflight > 0;
	pthread_mutex_unlock(&s->mu);
	gap(s);
	if (s->floor)
		probe(s, i, in_flight ? &r->floor_busy : &r->floor_idle,
		      in_flight ? &r->echo_busy : &r->echo_idle);
	if (extender_call(c, "/filter", s->pods[i], s->node_names.data, s->node_names.len, &us) !=
	    200)
		return -1;
	lat_add(in_flight ? &r->busy : &r->idle, us);
	if (in_flight && i >= s->o->inflight)
		lat_add(&r->steady, us);
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
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static void idle_filters(struct sched *s, struct bench_http *c, struct lat *idle, struct lat *floor,
			 struct lat *echo)
{
	struct lat warm;
	lat_init(&warm, 64);
	for (int k = 0; s->floor && k < 40; k++) /* the echo process's first calls */
		probe(s, k, &warm, &warm);
	free(warm.us);
	for (int k = 0; k < IDLE_FILTERS; k++) {
		double us;
		for (int j = 0; s->floor && j < 2; j++) /* as many idle samples as the filter's */
			probe(s, 2 * k + j, floor, echo);
		gap(s);
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
	pthread_t th[MAX_INFLIGHT];
	unsigned seed = 42;
	int nth = s->o->inflight < MAX_INFLIGHT ? s->o->inflight : MAX_INFLIGHT;
	bench_http_init(&c, s->daemon.url, NULL);
	idle_filters(s, &c, &r->idle, &r->floor_idle, &r->echo_idle);
	for (int t = 0; t < nth; t++)
		pthread_create(&th[t], NULL, binder_main, s);
	double cpu0[4], cpu1[4];
	cpu_snap(s, cpu0);
	double t0 = bench_now_s();
	for (int i = 0; i < s->o->pods; i++)
		if (cycle(s, &c, i, &seed, r) && s->errors++ < MAX_ERROR_LOGS)
			fprintf(stderr, "schedbench: scheduling sb-%05d failed\n", i);
	pthread_mutex_lock(&s->mu);
	while (s->done < s->qtail)
		pthread_cond_wait(&s->room, &s->mu);
	s->stop = 1;
	pthread_cond_broadcast(&s->work);
	pthread_mutex_unlock(&s->mu);
	r->wall_s = bench_now_s() - t0;
	cpu_snap(s, cpu1);
	for (int k = 0; k < 4; k++)
		r->cpu_ms[k] = cpu1[k] - cpu0[k];
	/* What the rest of the machine used meanwhile (another user's build) */
	r->cpu_ms[3] -= r->cpu_ms[0] + r->cpu_ms[1] + r->cpu_ms[2];
	for (int t = 0; t < nth; t++)
		pthread_join(th[t], NULL);
	lat_merge(&r->bind, &s->bind_lat);
	r->pods = s->o->pods;
	r->nodes_used = nodes_used(s);
	r->errors = s->errors;
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
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->room);
}

int sb_run(const struct sb_opts *o, struct sb_run *r)
{
	struct sched s = {.o = o, .floor = o->floor};
	int rc = 2;
	sb_run_init(r);
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.work, NULL);
	pthread_cond_init(&s.room, NULL);
	s.pods = calloc((size_t)o->pods, sizeof *s.pods);
	s.names = calloc((size_t)o->pods, sizeof *s.names);
	s.bound = calloc((size_t)o->pods, sizeof *s.bound);
	s.queue = calloc((size_t)o->pods, sizeof *s.queue);
	lat_init(&s.bind_lat, (size_t)o->pods);
	fill_names(&s);
	if (s.floor && (s.echo_pid = start_echo(s.echo_url, sizeof s.echo_url)) < 0) {
		fprintf(stderr, "schedbench: the echo process did not start; no floor\n");
		s.floor = false;
	}
	if (s.floor && s.echo_pid > 0)
		bench_http_init(&s.echo_http, s.echo_url, NULL);
	if (start(&s) == 0 && create_pods(&s) == 0 && wait_listed(&s) == 0) {
		take_uids(&s);
		if (s.floor)
			bench_http_init(&s.discard_http, s.daemon.url, NULL);
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
	if (s.echo_pid > 0) {
		kill(s.echo_pid, SIGKILL);
		waitpid(s.echo_pid, NULL, 0);
		bench_http_free(&s.echo_http);
		if (s.discard_http.h)
			bench_http_free(&s.discard_http);
	}
	sched_free(&s);
	return rc;
}

/* Samples and their summary ---------------------------------------------- */

void sb_run_init(struct sb_run *r)
{
	memset(r, 0, sizeof *r);
	lat_init(&r->idle, 1024);
	lat_init(&r->busy, 1024);
	lat_init(&r->steady, 1024);
	lat_init(&r->bind, 1024);
	lat_init(&r->floor_idle, 256);
	lat_init(&r->floor_busy, 1024);
	lat_init(&r->echo_idle, 256);
	lat_init(&r->echo_busy, 1024);
}

void sb_run_free(struct sb_run *r)
{
	free(r->idle.us);
	free(r->busy.us);
	free(r->steady.us);
	free(r->bind.us);
	free(r->floor_idle.us);
	free(r->floor_busy.us);
	free(r->echo_idle.us);
	free(r->echo_busy.us);
	memset(r, 0, sizeof *r);
}

/* Adds run r's samples and counters to the pool p. */
static void pool_add(struct sb_run *p, const struct sb_run *r)
{
	lat_merge(&p->idle, &r->idle);
	lat_merge(&p->busy, &r->busy);
	lat_merge(&p->steady, &r->steady);
	lat_merge(&p->bind, &r->bind);
	lat_merge(&p->floor_idle, &r->floor_idle);
	lat_merge(&p->floor_busy, &r->floor_busy);
	lat_merge(&p->echo_idle, &r->echo_idle);
	lat_merge(&p->echo_busy, &r->echo_busy);
	p->wall_s += r->wall_s;
	p->pods += r->pods;
	p->errors += r->errors;
	p->nodes_used = r->nodes_used > p->nodes_used ? r->nodes_used : p->nodes_used;
	if (r->server_filter_p99 > p->server_filter_p99)
		p->server_filter_p99 = r->server_filter_p99;
	for (int k = 0; k < 4; k++)
		p->cpu_ms[k] += r->cpu_ms[k];
}

struct summary {
	double pods_per_s, idle_p50, idle_p99, busy_p50, busy_p99, steady_p99, bind_p50, bind_p99;
	double other_cores; /* what other processes used meanwhile */
};

static struct summary summarize(struct sb_run *r)
{
	struct summary m;
	lat_sort(&r->idle);
	lat_sort(&r->busy);
	lat_sort(&r->steady);
	lat_sort(&r->bind);
	m.pods_per_s = r->wall_s > 0 ? r->pods / r->wall_s : 0;
	m.idle_p50 = lat_pct(&r->idle, 0.50);
	m.idle_p99 = lat_pct(&r->idle, 0.99);
	m.busy_p50 = lat_pct(&r->busy, 0.50);
	m.busy_p99 = lat_pct(&r->busy, 0.99);
	m.steady_p99 = lat_pct(&r->steady, 0.99);
	m.bind_p50 = lat_pct(&r->bind, 0.50);
	m.bind_p99 = lat_pct(&r->bind, 0.99);
	m.other_cores = r->wall_s > 0 && r->cpu_ms[3] > 0 ? r->cpu_ms[3] / 1e3 / r->wall_s : 0;
	return m;
}

/* Report ------------------------------------------------------------------ */

#define PODS_PER_S_TARGET 200
#define FILTER_RATIO_TARGET 2.0

static const char *verdict(bool ok)
{
	return ok ? "met" : "MISSED";
}

/* One line per run, so that a run disturbed by another user shows. */
static void print_run_line(int k, struct sb_run *r)
{
	struct summary m = summarize(r);
	printf("  run %d: %6.1f pods/s, filter p99 idle %.2f ms, busy %.2f ms (%zu samples), "
	       "after the first binds %.2f ms; CPU ms daemon %.0f, fake %.0f, load generator "
	       "%.0f; other processes %.2f cores\n",
	       k + 1, m.pods_per_s, m.idle_p99 / 1e3, m.busy_p99 / 1e3, r->busy.n,
	       m.steady_p99 / 1e3, r->cpu_ms[0], r->cpu_ms[1], r->cpu_ms[2], m.other_cores);
}

/* The floor pass: the probes' idle and busy figures, as for the filter. */
static void print_floor(const char *what, struct lat *idle, struct lat *busy)
{
	if (!busy->n || !idle->n)
		return;
	lat_sort(idle);
	lat_sort(busy);
	double i99 = lat_pct(idle, 0.99), b99 = lat_pct(busy, 0.99);
	printf("  floor, %s (same body): p50/p99 idle %.2f / %.2f ms, busy %.2f / %.2f ms "
	       "(%.1fx; %zu / %zu samples)\n",
	       what, lat_pct(idle, 0.5) / 1e3, i99 / 1e3, lat_pct(busy, 0.5) / 1e3, b99 / 1e3,
	       i99 > 0 ? b99 / i99 : 0, idle->n, busy->n);
}

static void print_pool(const char *title, const struct sb_opts *o, struct sb_run *p, int runs)
{
	struct summary m = summarize(p);
	int ideal = (o->pods + o->gpus * 10 - 1) / (o->gpus * 10);
	printf("%s, all %d runs pooled:\n", title, runs);
	printf("  pods/s                      %8.1f  (%.2f s in all)\n", m.pods_per_s, p->wall_s);
	printf("  filter p50/p99, idle        %8.2f / %.2f ms  (%zu samples)\n", m.idle_p50 / 1e3,
	       m.idle_p99 / 1e3, p->idle.n);
	printf("  filter p50/p99, binds busy  %8.2f / %.2f ms  (%zu samples)\n", m.busy_p50 / 1e3,
	       m.busy_p99 / 1e3, p->busy.n);
	printf("  filter p99 after the first %d binds   %.2f ms  (%zu samples)\n", o->inflight,
	       m.steady_p99 / 1e3, p->steady.n);
	print_floor("/debug/discard in the daemon", &p->floor_idle, &p->floor_busy);
	print_floor("an echo process", &p->echo_idle, &p->echo_busy);
	printf("  filter p99 inside the daemon   <= %.2f ms  (its histogram's bucket, worst run)\n",
	       p->server_filter_p99 / 1e3);
	printf("  bind p50/p99                %8.1f / %.1f ms\n", m.bind_p50 / 1e3,
	       m.bind_p99 / 1e3);
	printf("  nodes used                  %8d  (one at a time, each waiting for the plugin: "
	       "%d)\n",
	       p->nodes_used, ideal);
	printf("  bind errors                 %8d\n", p->errors);
	printf("  CPU per pod: daemon %.2f ms, fake API server %.2f ms, load generator %.2f ms; "
	       "other processes used %.2f cores meanwhile\n",
	       p->cpu_ms[0] / p->pods, p->cpu_ms[1] / p->pods, p->cpu_ms[2] / p->pods,
	       m.other_cores);
}

static cJSON *run_json(struct sb_run *p, const double *busy_p99, const double *idle_p99, int runs)
{
	struct summary m = summarize(p);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "runs", runs);
	cJSON_AddNumberToObject(j, "pods_per_s", m.pods_per_s);
	cJSON_AddNumberToObject(j, "filter_idle_p50_ms", m.idle_p50 / 1e3);
	cJSON_AddNumberToObject(j, "filter_idle_p99_ms", m.idle_p99 / 1e3);
	cJSON_AddNumberToObject(j, "filter_idle_samples", (double)p->idle.n);
	cJSON_AddNumberToObject(j, "filter_busy_p50_ms", m.busy_p50 / 1e3);
	cJSON_AddNumberToObject(j, "filter_busy_p99_ms", m.busy_p99 / 1e3);
	cJSON_AddNumberToObject(j, "filter_busy_samples", (double)p->busy.n);
	cJSON_AddNumberToObject(j, "filter_steady_p99_ms", m.steady_p99 / 1e3);
	cJSON *a = cJSON_AddArrayToObject(j, "filter_busy_p99_ms_per_run");
	cJSON *b = cJSON_AddArrayToObject(j, "filter_idle_p99_ms_per_run");
	for (int k = 0; k < runs; k++) {
		cJSON_AddItemToArray(a, cJSON_CreateNumber(busy_p99[k] / 1e3));
		cJSON_AddItemToArray(b, cJSON_CreateNumber(idle_p99[k] / 1e3));
	}
	cJSON_AddNumberToObject(j, "server_filter_p99_ms_at_most", p->server_filter_p99 / 1e3);
	cJSON_AddNumberToObject(j, "bind_p50_ms", m.bind_p50 / 1e3);
	cJSON_AddNumberToObject(j, "bind_p99_ms", m.bind_p99 / 1e3);
	cJSON_AddNumberToObject(j, "nodes_used", p->nodes_used);
	cJSON_AddNumberToObject(j, "errors", p->errors);
	cJSON_AddNumberToObject(j, "cpu_ms_per_pod_daemon", p->cpu_ms[0] / p->pods);
	cJSON_AddNumberToObject(j, "cpu_ms_per_pod_fake", p->cpu_ms[1] / p->pods);
	cJSON_AddNumberToObject(j, "cpu_ms_per_pod_loadgen", p->cpu_ms[2] / p->pods);
	cJSON_AddNumberToObject(j, "other_processes_cores", m.other_cores);
	if (p->echo_busy.n) {
		cJSON_AddNumberToObject(j, "floor_echo_idle_p99_ms",
					lat_pct(&p->echo_idle, 0.99) / 1e3);
		cJSON_AddNumberToObject(j, "floor_echo_busy_p99_ms",
					lat_pct(&p->echo_busy, 0.99) / 1e3);
		cJSON_AddNumberToObject(j, "floor_discard_idle_p99_ms",
					lat_pct(&p->floor_idle, 0.99) / 1e3);
		cJSON_AddNumberToObject(j, "floor_discard_busy_p99_ms",
					lat_pct(&p->floor_busy, 0.99) / 1e3);
	}
	return j;
}

/* Runs o `runs` times; returns 2 when a run could not start, else 0 or 1
 * (errors), with the samples pooled into p. */
static int run_pooled(const char *title, const struct sb_opts *o, int runs, struct sb_run *p,
		      cJSON *json, const char *key)
{
	double busy_p99[SB_MAX_RUNS], idle_p99[SB_MAX_RUNS];
	int rc = 0;
	printf("\n%s: %d pods, %d nodes x %d GPUs, %d binds in flight at most, plugin answers "
	       "after %d ms%s; %d runs\n",
	       title, o->pods, o->nodes, o->gpus, o->inflight, o->standin_ms,
	       o->binding_delay_ms ? ", bindings answered 1 s late" : "", runs);
	if (o->others_nice > 0)
		printf(
		    "  NOT THE DEFAULT SETUP: the fake API server and the binding threads run at "
		    "nice %d\n",
		    o->others_nice);
	if (o->gap_us > 0)
		printf("  NOT THE DEFAULT SETUP: the loop sleeps %d us before each filter, as "
		       "kube-scheduler's own plugins would take\n",
		       o->gap_us);
	sb_run_init(p);
	for (int k = 0; k < runs; k++) {
		struct sb_run r;
		int rk = sb_run(o, &r);
		if (rk == 2) {
			sb_run_free(&r);
			return 2;
		}
		rc |= rk;
		struct summary m = summarize(&r);
		busy_p99[k] = m.busy_p99;
		idle_p99[k] = m.idle_p99;
		print_run_line(k, &r);
		pool_add(p, &r);
		sb_run_free(&r);
	}
	print_pool(title, o, p, runs);
	cJSON_AddItemToObject(json, key, run_json(p, busy_p99, idle_p99, runs));
	return rc;
}

/* The floor pass: both runs again, each filter preceded by a probe. */
/* p99 busy over p99 idle, 0 without samples. */
static double p99_ratio(struct lat *busy, struct lat *idle)
{
	if (!busy->n || !idle->n)
		return 0;
	lat_sort(busy);
	lat_sort(idle);
	double i = lat_pct(idle, 0.99);
	return i > 0 ? lat_pct(busy, 0.99) / i : 0;
}

/* The floor pass: both runs again, each filter preceded by a probe; then
 * the targets' ratios (filter[0] burst, filter[1] slow API server) beside
 * the do-nothing process's. */
static int floor_pass(const struct sb_opts *o, const struct sb_opts *slow, int runs,
		      const double filter[2], cJSON *j)
{
	struct sb_opts fo = *o, fs = *slow;
	struct sb_run r, rs;
	fo.floor = fs.floor = true;
	printf("\nthe machine's floor: the same runs, each filter preceded by the same body sent "
	       "to a process that does nothing and to the daemon's /debug/discard\n");
	int rc =
	    run_pooled("floor, kube-scheduler's call pattern", &fo, runs, &r, j, "floor_burst");
	int rc2 = rc == 2 ? 2
			  : run_pooled("floor, with a slow API server", &fs, runs, &rs, j,
				       "floor_slow_api_server");
	if (rc != 2 && rc2 != 2)
		printf("  p99 with binds in flight / idle: the filter %.1fx, a process that does "
		       "nothing %.1fx; with the slow API server %.1fx and %.1fx\n",
		       filter[0], p99_ratio(&r.echo_busy, &r.echo_idle), filter[1],
		       p99_ratio(&rs.echo_busy, &rs.echo_idle));
	sb_run_free(&r);
	if (rc != 2)
		sb_run_free(&rs);
	return rc == 2 || rc2 == 2 ? 2 : rc || rc2 ? 1 : 0;
}

int sb_main(const struct sb_main_opts *mo, cJSON *json, int *missed, int *targets)
{
	struct sb_opts o = {500, 8, mo->pods, 64, 500, 0, mo->others_nice, mo->gap_us, false};
	struct sb_opts slow = o;
	struct sb_run r, rs;
	int runs = mo->runs < 1 ? 1 : mo->runs > SB_MAX_RUNS ? SB_MAX_RUNS : mo->runs;
	slow.pods = o.pods < 300 ? o.pods : 300;
	slow.binding_delay_ms = 1000;
	cJSON *j = cJSON_AddObjectToObject(json, "scheduler_pattern");
	cJSON_AddNumberToObject(j, "others_nice", o.others_nice);
	cJSON_AddNumberToObject(j, "gap_us", o.gap_us);
	int rc =
	    run_pooled("kube-scheduler's call pattern, cluster mode", &o, runs, &r, j, "burst");
	int rc2 = rc == 2 ? 2
			  : run_pooled("the same with a slow API server", &slow, runs, &rs, j,
				       "slow_api_server");
	if (rc == 2 || rc2 == 2) {
		sb_run_free(&r);
		if (rc != 2)
			sb_run_free(&rs);
		return 2;
	}
	struct summary m = summarize(&r), ms = summarize(&rs);
	bool fast = m.pods_per_s >= PODS_PER_S_TARGET;
	bool flat = m.busy_p99 <= FILTER_RATIO_TARGET * m.idle_p99;
	bool flat_slow = ms.busy_p99 <= FILTER_RATIO_TARGET * ms.idle_p99;
	bool clean = r.errors == 0 && rs.errors == 0;
	printf("  targets: >= %d pods/s %s; filter p99 with binds in flight <= %.0fx idle: %s "
	       "(%.1fx; %s with the slow API server, %.1fx); no bind error: %s\n",
	       PODS_PER_S_TARGET, verdict(fast), FILTER_RATIO_TARGET, verdict(flat),
	       m.busy_p99 / m.idle_p99, verdict(flat_slow), ms.busy_p99 / ms.idle_p99,
	       verdict(clean));
	*missed += !fast + !flat + !flat_slow + !clean;
	*targets += 4;
	sb_run_free(&r);
	sb_run_free(&rs);
	const double ratio[2] = {m.busy_p99 / m.idle_p99, ms.busy_p99 / ms.idle_p99};
	int rc3 = mo->floor ? floor_pass(&o, &slow, runs, ratio, j) : 0;
	return rc || rc2 || rc3 ? 1 : 0;
}
