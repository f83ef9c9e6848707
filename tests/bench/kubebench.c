/* kubebench: the cluster-mode part of `make bench`. Owns the run against
 * the fake API server:
 *
 *  1. start-to-ready: a self-signed EC certificate (openssl CLI), the fake
 *     over HTTPS with a token, the device-plugin stand-in and a synthetic
 *     cluster (--gen-nodes/--gen-gpus/--gen-pods), a kubeconfig for it, then
 *     the daemon with --kubeconfig, timed from exec to the first GET /readyz
 *     answering 200 (polled every 10 ms); /debug/state must hold every node
 *     and pod of the fake (counted with the span scanner, no tree);
 *  2. binds through the fake: pending vGPU pods created in the fake before
 *     any timing (several keep-alive clients), waited for until the daemon
 *     lists them, then POST /bind for each from 1, 2, 4 ... keep-alive client
 *     threads, nodes chosen round-robin over the whole cluster so binds do
 *     not queue on one node's lock; every answer must have "Error":"";
 *  3. the fake is read back page by page: every pod is bound to the node its
 *     bind named and carries volcano.sh/vgpu-ids-new for a GPU of that node.
 *
 * Each client count gets its own pods (kb-00000.. in namespace bench, run r
 * owns [r*binds, (r+1)*binds)) and the round-robin continues across runs, so
 * a node bound in one run is bound again only after the stand-in has long
 * released its lock. */
#include "bench.h"
#include "../integration/harness.h"
#include "vx/buf.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NS "bench"
#define TOKEN BENCH_TOKEN
#define START_TIMEOUT_S 60
#define SEEN_TIMEOUT_S 60
#define CREATE_THREADS 4
#define MAX_ERROR_LOGS 5
#define LOG_TAIL_LINES 25
#define READY_TARGET_MS 2000
#define BINDS_TARGET 500

struct env {
	const struct kb_opts *o;
	char dir[64], ca[128], key[128], kubeconfig[128], fake_log[128], daemon_log[128];
	char fake_url[96], daemon_url[96];
	pid_t fake, daemon;
	char (*uids)[48]; /* per pod index, from the fake's create answer */
	int total;        /* pods created: binds x runs */
};

/* Processes --------------------------------------------------------------- */

/* fork + exec argv with stdout to out_fd and stderr to err_fd (-1: keep);
 * the child gets SIGTERM if we die. */
static pid_t spawn(const char *const *argv, int out_fd, int err_fd)
{
	pid_t parent = getpid(), pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	if (out_fd >= 0)
		dup2(out_fd, 1);
	if (err_fd >= 0)
		dup2(err_fd, 2);
	execv(argv[0], (char *const *)argv);
	fprintf(stderr, "kubebench: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int make_cert(struct env *v)
{
	/* The integration harness's helper: same certificate, one place. */
	if (hx_make_cert(v->dir, v->ca, sizeof v->ca) == 0)
		return 0;
	fprintf(stderr, "kubebench: openssl could not make a certificate in %s\n", v->dir);
	return -1;
}

/* Reads "LISTENING <port>" from fd within timeout_s; -1 otherwise. */
static int read_listening(int fd, int timeout_s)
{
	char line[128];
	size_t n = 0;
	double deadline = bench_now_s() + timeout_s;
	while (n + 1 < sizeof line) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int left = (int)((deadline - bench_now_s()) * 1000);
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -1;
		ssize_t got = read(fd, line + n, 1);
		if (got <= 0)
			return -1;
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	int port = -1;
	return sscanf(line, "LISTENING %d", &port) == 1 ? port : -1;
}

static int start_fake(struct env *v)
{
	char nodes[16], gpus[16], pods[16];
	int pfd[2], log;
	snprintf(nodes, sizeof nodes, "%d", v->o->nodes);
	snprintf(gpus, sizeof gpus, "%d", v->o->gpus);
	snprintf(pods, sizeof pods, "%d", v->o->pods);
	const char *argv[] = {
	    v->o->fake,    "--listen", "127.0.0.1:0", "--tls-cert", v->ca,
	    "--tls-key",   v->key,     "--token",     TOKEN,        "--plugin-standin",
	    "--gen-nodes", nodes,      "--gen-gpus",  gpus,         "--gen-pods",
	    pods,          NULL};
	if (pipe2(pfd, O_CLOEXEC))
		return -1;
	log = open(v->fake_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	double t0 = bench_now_s();
	v->fake = spawn(argv, pfd[1], log);
	close(pfd[1]);
	if (log >= 0)
		close(log);
	int port = v->fake > 0 ? read_listening(pfd[0], START_TIMEOUT_S) : -1;
	close(pfd[0]);
	if (port <= 0) {
		fprintf(stderr, "kubebench: %s did not print LISTENING <port>\n", v->o->fake);
		return -1;
	}
	snprintf(v->fake_url, sizeof v->fake_url, "https://127.0.0.1:%d", port);
	printf("fake API server pid %d on %s: %d nodes x %d GPUs, %d pods, up in %.0f ms\n",
	       (int)v->fake, v->fake_url, v->o->nodes, v->o->gpus, v->o->pods,
	       (bench_now_s() - t0) * 1e3);
	return 0;
}

static int write_kubeconfig(struct env *v)
{
	FILE *fp = fopen(v->kubeconfig, "w");
	if (!fp)
		return -1;
	fprintf(fp,
		"apiVersion: v1\nkind: Config\ncurrent-context: bench\n"
		"clusters:\n- name: fake\n  cluster:\n    server: %s\n"
		"    certificate-authority: %s\n"
		"users:\n- name: bench\n  user:\n    token: %s\n"
		"contexts:\n- name: bench\n  context:\n    cluster: fake\n    user: bench\n"
		"    namespace: kube-system\n",
		v->fake_url, v->ca, TOKEN);
	return fclose(fp);
}

static pid_t start_daemon(struct env *v, const char *listen)
{
	/* The benchmark reads /debug/state without a token. */
	const char *argv[] = {v->o->daemon,  "--kubeconfig", v->kubeconfig,      "--listen", listen,
			      "--log-level", "warn",         "--insecure-admin", NULL};
	int log = open(v->daemon_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	pid_t pid = spawn(argv, log, log);
	if (log >= 0)
		close(log);
	return pid;
}

/* Polls /readyz every 10 ms until 200: 0, or -1 (exited or timed out). */
static int wait_ready(struct env *v)
{
	struct bench_http c;
	char err[256];
	int st, rc = -1;
	bench_http_init(&c, v->daemon_url, NULL);
	curl_easy_setopt(c.h, CURLOPT_TIMEOUT_MS, 2000L);
	double deadline = bench_now_s() + START_TIMEOUT_S;
	while (bench_now_s() < deadline) {
		if (waitpid(v->daemon, &st, WNOHANG) == v->daemon) {
			fprintf(stderr, "kubebench: the daemon exited during start-up (%s %d)\n",
				WIFEXITED(st) ? "status" : "signal",
				WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			v->daemon = 0;
			break;
		}
		if (bench_http_do(&c, "/readyz", NULL, 0, NULL, err, sizeof err) == 200) {
			rc = 0;
			break;
		}
		bench_sleep_ms(10);
	}
	if (rc && v->daemon)
		fprintf(stderr, "kubebench: the daemon was not ready after %d s\n",
			START_TIMEOUT_S);
	bench_http_free(&c);
	return rc;
}

static void print_tail(const char *path, const char *what)
{
	FILE *f = fopen(path, "r");
	char *lines[LOG_TAIL_LINES] = {0}, line[2048];
	size_t n = 0;
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		free(lines[n % LOG_TAIL_LINES]);
		lines[n++ % LOG_TAIL_LINES] = strdup(line);
	}
	fclose(f);
	fprintf(stderr, "---- last %zu lines of the %s log (%s) ----\n",
		n < LOG_TAIL_LINES ? n : LOG_TAIL_LINES, what, path);
	for (size_t i = n > LOG_TAIL_LINES ? n - LOG_TAIL_LINES : 0; i < n; i++) {
		fputs(lines[i % LOG_TAIL_LINES], stderr);
		free(lines[i % LOG_TAIL_LINES]);
	}
	fprintf(stderr, "---- end of the %s log ----\n", what);
}

/* Step 1: what the daemon synced -------------------------------------------- */

static int count_state(struct env *v, struct kb_figures *f)
{
	struct bench_http c;
	struct span nodes, pods;
	char err[256] = "";
	int rc = -1;
	bench_http_init(&c, v->daemon_url, NULL);
	double t0 = bench_now_s();
	long code = bench_http_do(&c, "/debug/state", NULL, 0, NULL, err, sizeof err);
	const char *p = c.resp.data, *e = p ? p + c.resp.len : NULL;
	if (code == 200 && p && !js_member(p, e, "nodes", &nodes) &&
	    !js_member(p, e, "pods", &pods)) {
		f->state_nodes = js_array_len(nodes);
		f->state_pods = js_array_len(pods);
		printf("/debug/state: %.1f MB, %ld nodes, %ld pods (read and counted in %.0f ms)\n",
		       (double)c.resp.len / 1e6, f->state_nodes, f->state_pods,
		       (bench_now_s() - t0) * 1e3);
		if (f->state_nodes == v->o->nodes && f->state_pods == v->o->pods)
			rc = 0;
		else
			fprintf(stderr,
				"kubebench: /debug/state has %ld nodes and %ld pods, "
				"the fake %d and %d\n",
				f->state_nodes, f->state_pods, v->o->nodes, v->o->pods);
	} else {
		fprintf(stderr, "kubebench: GET /debug/state: HTTP %ld %s\n", code, err);
	}
	bench_http_free(&c);
	return rc;
}

/* Step 2: pending pods ------------------------------------------------------ */

static const char pod_fmt[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"kb-%05d\","
    "\"namespace\":\"" NS "\",\"labels\":{\"app\":\"kubebench\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"example.invalid/none:1\","
    "\"resources\":{\"limits\":{\"volcano.sh/vgpu-number\":\"1\","
    "\"volcano.sh/vgpu-memory\":\"2048\",\"volcano.sh/vgpu-cores\":\"10\"}}}]}}";

struct creator {
	struct env *v;
	int id, nthreads, errors;
	pthread_t thread;
};

/* Copies the string member key of the object span o (quotes dropped). */
static int span_str(struct span o, const char *key, char *out, size_t len)
{
	struct span s;
	if (js_member(o.p, o.p + o.n, key, &s) || s.n < 2 || s.p[0] != '"')
		return -1;
	snprintf(out, len, "%.*s", (int)(s.n - 2), s.p + 1);
	return 0;
}

static void *create_main(void *arg)
{
	struct creator *cr = arg;
	struct env *v = cr->v;
	struct bench_http c;
	char body[1024], err[256];
	bench_http_init(&c, v->fake_url, v->ca);
	for (int i = cr->id; i < v->total; i += cr->nthreads) {
		int n = snprintf(body, sizeof body, pod_fmt, i);
		long code = bench_http_do(&c, "/api/v1/namespaces/" NS "/pods", body, (size_t)n,
					  NULL, err, sizeof err);
		struct span md = {0};
		const char *p = c.resp.data, *e = p ? p + c.resp.len : NULL;
		if (code == 201 && p && !js_member(p, e, "metadata", &md) &&
		    !span_str(md, "uid", v->uids[i], sizeof v->uids[i]))
			continue;
		if (cr->errors++ < MAX_ERROR_LOGS)
			fprintf(stderr, "kubebench: creating pod kb-%05d: HTTP %ld %s %.300s\n", i,
				code, err, p ? p : "");
	}
	bench_http_free(&c);
	return NULL;
}

static int create_pods(struct env *v, struct kb_figures *f)
{
	struct creator cr[CREATE_THREADS];
	int errors = 0;
	double t0 = bench_now_s();
	for (int i = 0; i < CREATE_THREADS; i++) {
		cr[i] = (struct creator){.v = v, .id = i, .nthreads = CREATE_THREADS};
		if (pthread_create(&cr[i].thread, NULL, create_main, &cr[i]))
			abort();
	}
	for (int i = 0; i < CREATE_THREADS; i++) {
		pthread_join(cr[i].thread, NULL);
		errors += cr[i].errors;
	}
	f->create_s = bench_now_s() - t0;
	if (errors) {
		fprintf(stderr, "kubebench: %d of %d pods could not be created\n", errors,
			v->total);
		return -1;
	}
	/* The daemon learns of them through its watch. */
	struct bench_http c;
	char err[256];
	long rows = -1;
	bench_http_init(&c, v->daemon_url, NULL);
	t0 = bench_now_s();
	while (bench_now_s() - t0 < SEEN_TIMEOUT_S) {
		if (bench_http_do(&c, "/api/v1/jobs?namespace=" NS, NULL, 0, NULL, err,
				  sizeof err) == 200 &&
		    c.resp.data) {
			rows = js_array_len((struct span){c.resp.data, c.resp.len});
			if (rows == v->total)
				break;
		}
		bench_sleep_ms(20);
	}
	f->seen_s = bench_now_s() - t0;
	bench_http_free(&c);
	printf("created %d pending vGPU pods in %.2f s (%.0f/s); the daemon listed them %.2f s "
	       "later\n",
	       v->total, f->create_s, v->total / f->create_s, f->seen_s);
	if (rows != v->total) {
		fprintf(stderr, "kubebench: after %d s the daemon lists %ld of %d pods in %s\n",
			SEEN_TIMEOUT_S, rows, v->total, NS);
		return -1;
	}
	return 0;
}

/* Step 2: binds ------------------------------------------------------------- */

struct binder {
	struct env *v;
	pthread_barrier_t *go;
	int id, nclients, from, to, errors;
	pthread_t thread;
	struct lat lat;
};

static void node_of(const struct env *v, int i, char *out, size_t len)
{
	bench_node_name(out, len, i % v->o->nodes + 1);
}

static void *bind_main(void *arg)
{
	struct binder *b = arg;
	struct env *v = b->v;
	struct bench_http c;
	char body[512], node[32], err[256];
	bench_http_init(&c, v->daemon_url, NULL);
	/* One request before the clock starts: the connection is open. */
	bench_http_do(&c, "/healthz", NULL, 0, NULL, err, sizeof err);
	pthread_barrier_wait(b->go);
	for (int i = b->from + b->id; i < b->to; i += b->nclients) {
		double us = 0;
		struct span e;
		node_of(v, i, node, sizeof node);
		int n = snprintf(body, sizeof body,
				 "{\"PodName\":\"kb-%05d\",\"PodNamespace\":\"" NS "\","
				 "\"PodUID\":\"%s\",\"Node\":\"%s\"}",
				 i, v->uids[i], node);
		err[0] = '\0';
		long code = bench_http_do(&c, "/bind", body, (size_t)n, &us, err, sizeof err);
		const char *p = c.resp.data, *end = p ? p + c.resp.len : NULL;
		if (code == 200 && p && !js_member(p, end, "Error", &e) && e.n == 2 &&
		    !memcmp(e.p, "\"\"", 2)) {
			lat_add(&b->lat, us);
			continue;
		}
		if (b->errors++ < MAX_ERROR_LOGS)
			fprintf(stderr, "kubebench: bind kb-%05d to %s: HTTP %ld %s %.300s\n", i,
				node, code, err, p ? p : "");
	}
	bench_http_free(&c);
	return NULL;
}

static double proc_cpu_s(pid_t pid)
{
	char path[64], line[1024];
	unsigned long ut = 0, st = 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(line, 1, sizeof line - 1, f);
	fclose(f);
	line[n] = '\0';
	const char *close = strrchr(line, ')');
	if (!close || sscanf(close + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
			     &st) != 2)
		return 0;
	long tck = sysconf(_SC_CLK_TCK);
	return (double)(ut + st) / (double)(tck > 0 ? tck : 100);
}

static void bind_run(struct env *v, int run, int nclients, struct kb_run *r)
{
	struct binder *bs = calloc((size_t)nclients, sizeof *bs);
	pthread_barrier_t go;
	struct lat all;
	if (!bs)
		abort();
	*r = (struct kb_run){.clients = nclients};
	pthread_barrier_init(&go, NULL, (unsigned)nclients + 1);
	for (int i = 0; i < nclients; i++) {
		bs[i] = (struct binder){.v = v,
					.go = &go,
					.id = i,
					.nclients = nclients,
					.from = run * v->o->binds,
					.to = (run + 1) * v->o->binds};
		lat_init(&bs[i].lat, (size_t)v->o->binds / (size_t)nclients + 1);
		if (pthread_create(&bs[i].thread, NULL, bind_main, &bs[i]))
			abort();
	}
	pthread_barrier_wait(&go);
	double d0 = proc_cpu_s(v->daemon), f0 = proc_cpu_s(v->fake), t0 = bench_now_s();
	for (int i = 0; i < nclients; i++)
		pthread_join(bs[i].thread, NULL);
	r->wall_s = bench_now_s() - t0;
	double dcpu = proc_cpu_s(v->daemon) - d0, fcpu = proc_cpu_s(v->fake) - f0;
	lat_init(&all, (size_t)v->o->binds);
	for (int i = 0; i < nclients; i++) {
		lat_merge(&all, &bs[i].lat);
		r->errors += bs[i].errors;
		free(bs[i].lat.us);
	}
	lat_sort(&all);
	r->binds = (int)all.n;
	r->binds_per_s = r->wall_s > 0 ? (double)all.n / r->wall_s : 0;
	r->p50_us = lat_pct(&all, 0.50);
	r->p99_us = lat_pct(&all, 0.99);
	printf("binds with %d client%s: %d in %.2f s = %.0f/s, p50 %.0f us, p99 %.0f us, "
	       "max %.0f us; CPU per bind: daemon %.2f ms, fake %.2f ms; %d errors\n",
	       nclients, nclients == 1 ? "" : "s", r->binds, r->wall_s, r->binds_per_s, r->p50_us,
	       r->p99_us, all.n ? all.us[all.n - 1] : 0, all.n ? dcpu * 1e3 / (double)all.n : 0,
	       all.n ? fcpu * 1e3 / (double)all.n : 0, r->errors);
	fflush(stdout);
	free(all.us);
	pthread_barrier_destroy(&go);
	free(bs);
}

/* Step 3: read back the fake -------------------------------------------------- */

static int check_pod(const struct env *v, const cJSON *pod, char *seen)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "name"));
	const char *bound =
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "nodeName"));
	const char *ids = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(md, "annotations"), "volcano.sh/vgpu-ids-new"));
	char node[32], prefix[48];
	int i = -1;
	if (!name || sscanf(name, "kb-%d", &i) != 1 || i < 0 || i >= v->total)
		return 0; /* not ours */
	node_of(v, i, node, sizeof node);
	snprintf(prefix, sizeof prefix, "GPU-%s-", node);
	if (bound && !strcmp(bound, node) && ids && !strncmp(ids, prefix, strlen(prefix))) {
		seen[i] = 1;
		return 1;
	}
	return 0;
}

static int verify(struct env *v, struct kb_figures *f)
{
	struct bench_http c;
	char path[1024], cont[900] = "", err[256];
	char *seen = calloc((size_t)v->total, 1);
	int rc = -1, pages = 0, shown = 0;
	if (!seen)
		abort();
	bench_http_init(&c, v->fake_url, v->ca);
	double t0 = bench_now_s();
	for (;;) {
		char *esc = curl_easy_escape(c.h, cont, 0);
		snprintf(path, sizeof path, "/api/v1/namespaces/" NS "/pods?limit=500%s%s",
			 cont[0] ? "&continue=" : "", cont[0] ? esc : "");
		curl_free(esc);
		long code = bench_http_do(&c, path, NULL, 0, NULL, err, sizeof err);
		cJSON *list = code == 200 ? cJSON_ParseWithLength(c.resp.data, c.resp.len) : NULL;
		if (!list) {
			fprintf(stderr, "kubebench: GET %s: HTTP %ld %s\n", path, code, err);
			goto out;
		}
		pages++;
		const cJSON *item;
		cJSON_ArrayForEach (item, cJSON_GetObjectItemCaseSensitive(list, "items")) {
			if (check_pod(v, item, seen) || shown >= MAX_ERROR_LOGS)
				continue;
			char *s = cJSON_PrintUnformatted(item);
			fprintf(stderr, "kubebench: pod not bound as asked: %.600s\n", s);
			free(s);
			shown++;
		}
		const char *next = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(list, "metadata"), "continue"));
		snprintf(cont, sizeof cont, "%s", next ? next : "");
		cJSON_Delete(list);
		if (!cont[0])
			break;
	}
	for (int i = 0; i < v->total; i++)
		f->verified += seen[i];
	printf("read back %d pods of %s from the fake in %d pages (%.0f ms): %d bound to the "
	       "node asked for, with volcano.sh/vgpu-ids-new on one of its GPUs\n",
	       v->total, NS, pages, (bench_now_s() - t0) * 1e3, f->verified);
	rc = f->verified == v->total ? 0 : -1;
	if (rc)
		fprintf(stderr, "kubebench: %d of %d pods are not bound as asked\n",
			v->total - f->verified, v->total);
out:
	bench_http_free(&c);
	free(seen);
	return rc;
}

/* The run ------------------------------------------------------------------- */

static int setup(struct env *v)
{
	snprintf(v->dir, sizeof v->dir, "/tmp/vx-kubebench-XXXXXX");
	if (!mkdtemp(v->dir)) {
		fprintf(stderr, "kubebench: mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	snprintf(v->ca, sizeof v->ca, "%s/tls.crt", v->dir);
	snprintf(v->key, sizeof v->key, "%s/tls.key", v->dir);
	snprintf(v->kubeconfig, sizeof v->kubeconfig, "%s/kubeconfig", v->dir);
	snprintf(v->fake_log, sizeof v->fake_log, "%s/fake.log", v->dir);
	snprintf(v->daemon_log, sizeof v->daemon_log, "%s/daemon.log", v->dir);
	return 0;
}

static void cleanup(struct env *v, bool keep)
{
	const char *files[] = {v->ca, v->key, v->kubeconfig, v->fake_log, v->daemon_log};
	if (!v->dir[0])
		return;
	if (keep) {
		fprintf(stderr, "kubebench: keeping %s for a look\n", v->dir);
		return;
	}
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		unlink(files[i]);
	rmdir(v->dir);
}

static void stop_all(struct env *v)
{
	if (v->daemon > 0) {
		int st = bench_stop(v->daemon, "the daemon");
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fprintf(stderr,
				"kubebench: the daemon did not exit cleanly (wait status %d)\n",
				st);
		v->daemon = 0;
	}
	if (v->fake > 0) {
		int st = bench_stop(v->fake, "the fake API server");
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fprintf(stderr,
				"kubebench: the fake did not exit cleanly (wait status %d)\n", st);
		v->fake = 0;
	}
}

int kb_run(const struct kb_opts *o, struct kb_figures *f)
{
	struct env v = {.o = o, .total = o->binds * o->nclients};
	char listen[64];
	int rc = 2;
	memset(f, 0, sizeof *f);
	f->rss_kib = f->rss_end_kib = f->hwm_kib = -1;
	printf("\ncluster mode: %s against %s\n", o->daemon, o->fake);
	fflush(stdout);
	if (setup(&v) || make_cert(&v) || start_fake(&v) || write_kubeconfig(&v))
		goto out;
	int port = hx_free_port();
	if (port < 0)
		goto out;
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	snprintf(v.daemon_url, sizeof v.daemon_url, "http://%s", listen);
	fflush(stdout);

	/* 1. Start to ready. */
	double t0 = bench_now_s();
	v.daemon = start_daemon(&v, listen);
	if (v.daemon < 0 || wait_ready(&v)) {
		print_tail(v.daemon_log, "daemon");
		print_tail(v.fake_log, "fake API server");
		goto out;
	}
	f->ready_ms = (bench_now_s() - t0) * 1e3;
	f->started = true;
	long hwm;
	bench_read_mem(v.daemon, &f->rss_kib, &hwm);
	printf("daemon pid %d ready on %s after %.0f ms (rss %ld KiB)\n", (int)v.daemon, listen,
	       f->ready_ms, f->rss_kib);
	fflush(stdout);
	rc = 1;
	if (count_state(&v, f))
		f->errors++;

	/* 2. Pending pods, then binds. */
	v.uids = calloc((size_t)v.total, sizeof *v.uids);
	if (!v.uids)
		abort();
	if (create_pods(&v, f)) {
		f->errors++;
		print_tail(v.daemon_log, "daemon");
		goto out;
	}
	f->best = 0;
	for (int r = 0; r < o->nclients; r++) {
		bind_run(&v, r, o->clients[r], &f->runs[r]);
		f->nruns++;
		f->errors += f->runs[r].errors;
		if (f->runs[r].binds_per_s > f->runs[f->best].binds_per_s)
			f->best = r;
	}
	if (f->errors)
		print_tail(v.daemon_log, "daemon");

	/* 3. What the fake holds. */
	if (verify(&v, f))
		f->errors++;
	bench_read_mem(v.daemon, &f->rss_end_kib, &f->hwm_kib);
	rc = f->errors ? 1 : 0;
out:
	if (rc == 2)
		f->errors++;
	stop_all(&v);
	cleanup(&v, rc == 2);
	free(v.uids);
	return rc;
}

/* Report -------------------------------------------------------------------- */

static const char *verdict(bool ok)
{
	return ok ? "PASS" : "MISS";
}

int kb_print(const struct kb_opts *o, const struct kb_figures *f, int *targets)
{
	const struct kb_run *b = f->nruns ? &f->runs[f->best] : NULL;
	char label[64];
	bool ok[2] = {f->started && f->ready_ms <= READY_TARGET_MS,
		      b && b->binds_per_s >= BINDS_TARGET};
	*targets = 2;
	printf("\nvgpu-extender cluster bench: fake API server over HTTPS, %d nodes x %d GPUs, "
	       "%d pods; %d binds per client count\n",
	       o->nodes, o->gpus, o->pods, o->binds);
	if (!f->started)
		printf("the daemon did not become ready: see the log lines above\n");
	printf("%-26s %14s   %-22s %s\n", "figure", "value", "target", "");
	printf("%-26s %11.0f ms   %-22s %s\n", "ready_ms", f->ready_ms, "<= 2000 ms",
	       verdict(ok[0]));
	snprintf(label, sizeof label, "binds_per_s (%d client%s)", b ? b->clients : 0,
		 b && b->clients == 1 ? "" : "s");
	printf("%-26s %11.1f /s   %-22s %s\n", label, b ? b->binds_per_s : 0, ">= 500 /s",
	       verdict(ok[1]));
	printf("%-26s %11.0f us\n", "cluster bind p99", b ? b->p99_us : 0);
	printf("%-26s %11.0f us\n", "cluster bind p50", b ? b->p50_us : 0);
	for (int i = 0; i < f->nruns; i++) {
		const struct kb_run *r = &f->runs[i];
		snprintf(label, sizeof label, "binds, %d client%s", r->clients,
			 r->clients == 1 ? "" : "s");
		printf("%-26s %11.1f /s   p50 %.0f us, p99 %.0f us\n", label, r->binds_per_s,
		       r->p50_us, r->p99_us);
	}
	printf("%-26s %10ld KiB\n", "cluster_rss_kib (synced)", f->rss_kib);
	printf("%-26s %10ld KiB\n", "rss after binds", f->rss_end_kib);
	printf("%-26s %10ld KiB\n", "rss high-water mark", f->hwm_kib);
	printf("%-26s %14ld\n", "/debug/state nodes", f->state_nodes);
	printf("%-26s %14ld\n", "/debug/state pods", f->state_pods);
	printf("%-26s %14d\n", "verified in the fake", f->verified);
	printf("%-26s %14d\n", "errors", f->errors);
	int missed = !ok[0] + !ok[1];
	if (missed)
		printf("%d of 2 cluster targets missed\n", missed);
	else
		printf("both cluster targets met\n");
	return missed;
}

void kb_json(cJSON *j, const struct kb_figures *f)
{
	const struct kb_run *b = f->nruns ? &f->runs[f->best] : NULL;
	cJSON_AddNumberToObject(j, "ready_ms", round(f->ready_ms));
	cJSON_AddNumberToObject(j, "cluster_rss_kib", (double)f->rss_kib);
	cJSON_AddNumberToObject(j, "binds_per_s", b ? round(b->binds_per_s * 10) / 10 : 0);
	cJSON_AddNumberToObject(j, "binds_clients", b ? b->clients : 0);
	cJSON_AddNumberToObject(j, "cluster_bind_p50_us", b ? round(b->p50_us) : 0);
	cJSON_AddNumberToObject(j, "cluster_bind_p99_us", b ? round(b->p99_us) : 0);
	cJSON *runs = cJSON_AddArrayToObject(j, "cluster_bind_runs");
	for (int i = 0; i < f->nruns; i++) {
		const struct kb_run *r = &f->runs[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "clients", r->clients);
		cJSON_AddNumberToObject(o, "binds", r->binds);
		cJSON_AddNumberToObject(o, "binds_per_s", round(r->binds_per_s * 10) / 10);
		cJSON_AddNumberToObject(o, "p50_us", round(r->p50_us));
		cJSON_AddNumberToObject(o, "p99_us", round(r->p99_us));
		cJSON_AddNumberToObject(o, "errors", r->errors);
		cJSON_AddItemToArray(runs, o);
	}
	cJSON_AddNumberToObject(j, "cluster_state_nodes", (double)f->state_nodes);
	cJSON_AddNumberToObject(j, "cluster_state_pods", (double)f->state_pods);
	cJSON_AddNumberToObject(j, "cluster_verified", f->verified);
	cJSON_AddNumberToObject(j, "cluster_errors", f->errors);
}
