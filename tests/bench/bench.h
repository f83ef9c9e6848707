/* bench: what the benchmark's files share. gencluster.c writes the
 * synthetic cluster; loadgen.c drives a dev daemon with it; kubebench.c
 * runs the cluster-mode part against the fake API server; common.c holds
 * the helpers all of them use. */
#ifndef VX_BENCH_H
#define VX_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <curl/curl.h>

#include "vx/buf.h"

struct cJSON;

/* The name of node i (1-based): "node-00001". */
void bench_node_name(char *out, size_t len, int i);

/* Writes a multi-document stream, one JSON document per object, to path:
 * `nodes` Nodes with `gpus` A100-80GB GPUs of 10 slots each, and on
 * every node `busy` bound, Running pods that each hold one 4096 MiB, 5 %
 * slice of every GPU. Returns the bytes written, or -1 with err set. */
long bench_gen_cluster(const char *path, int nodes, int gpus, int busy, char *err, size_t errlen);

/* common.c ---------------------------------------------------------------- */

double bench_now_s(void); /* CLOCK_MONOTONIC, seconds */
void bench_sleep_ms(int ms);

/* A growing sample of latencies in microseconds. */
struct lat {
	double *us;
	size_t n, cap;
};
void lat_init(struct lat *l, size_t cap);
void lat_add(struct lat *l, double us);
void lat_merge(struct lat *into, const struct lat *from);
void lat_sort(struct lat *l);
/* Nearest-rank percentile of a sorted sample; 0 for an empty one. */
double lat_pct(const struct lat *l, double p);

/* VmRSS and VmHWM of pid in KiB; -1 where unknown. */
void bench_read_mem(pid_t pid, long *rss, long *hwm);
/* SIGTERM, then up to 60 s for a clean exit, then SIGKILL. Returns the
 * wait status, or -1. `what` names the process in the message. */
int bench_stop(pid_t pid, const char *what);
/* A libcurl write callback appending to the struct buf in ud. */
size_t bench_on_data(char *p, size_t size, size_t n, void *ud);

/* A slice of a JSON text: one value, as it is written. */
struct span {
	const char *p;
	size_t n;
};
const char *js_skip_ws(const char *p, const char *e);
/* The end of the JSON value at p, or NULL when it is cut short. */
const char *js_skip_value(const char *p, const char *e);
/* The value of member key in the object spanning [p, e); -1 if absent. */
int js_member(const char *p, const char *e, const char *key, struct span *out);
/* The number of elements of the array a, or -1 if it is not one. */
long js_array_len(struct span a);

/* A keep-alive HTTP client of base; with ca, HTTPS verified against it and
 * the bearer token BENCH_TOKEN sent. */
#define BENCH_TOKEN "kubebench-token"
struct bench_http {
	CURL *h;
	struct curl_slist *hdrs;
	struct buf resp;
	const char *base;
};
void bench_http_init(struct bench_http *c, const char *base, const char *ca);
void bench_http_free(struct bench_http *c);
/* GET (body NULL) or POST; returns the HTTP status, 0 on transport failure
 * (err set), and the wall time in *us when us is given. */
long bench_http_do(struct bench_http *c, const char *path, const char *body, size_t len, double *us,
		   char *err, size_t errlen);

/* kubebench.c: the cluster-mode part ---------------------------------------- */

#define KB_MAX_RUNS 8

struct kb_opts {
	const char *daemon, *fake;
	int nodes, gpus, pods;    /* the fake's synthetic cluster */
	int binds;                /* pending pods bound per client count */
	int clients[KB_MAX_RUNS]; /* client counts to try, e.g. 1, 2, 4 */
	int nclients;
};

struct kb_run {
	int clients, binds, errors;
	double wall_s, binds_per_s, p50_us, p99_us;
};

struct kb_figures {
	bool started;    /* the daemon became ready */
	double ready_ms; /* exec to the first /readyz 200 */
	long rss_kib;    /* right after sync */
	long rss_end_kib, hwm_kib;
	long state_nodes, state_pods;
	double create_s, seen_s; /* creating the pending pods; until the daemon lists them */
	struct kb_run runs[KB_MAX_RUNS];
	int nruns, best; /* best: index of the run with the most binds/s */
	int verified;    /* pods the fake shows bound as asked */
	int errors;
};

/* Runs the whole cluster-mode part. Returns 0 when it completed without
 * errors (targets met or not), 1 when requests or checks failed, 2 when the
 * fake or the daemon did not start. */
int kb_run(const struct kb_opts *o, struct kb_figures *f);
/* Prints the cluster-mode table; returns the number of targets missed and
 * sets *targets to how many there are. */
int kb_print(const struct kb_opts *o, const struct kb_figures *f, int *targets);
/* Adds the cluster-mode figures to the bench.json object. */
void kb_json(struct cJSON *j, const struct kb_figures *f);

/* schedbench.c: kube-scheduler's call pattern in cluster mode ---------------- */

struct sb_opts {
	int nodes, gpus;      /* the fake's synthetic cluster (10 slots per GPU) */
	int pods;             /* pending one-vGPU pods to schedule */
	int inflight;         /* binding cycles at once */
	int standin_ms;       /* the device plugin answers a bind this much later */
	int binding_delay_ms; /* the API server answers bindings this late (0: at once) */
	int others_nice;      /* > 0: the fake and the binding threads run at this nice */
	int gap_us;           /* > 0: the loop sleeps this long before each filter */
	bool floor;           /* each filter follows a probe of the machine's floor */
};

#define SB_MAX_RUNS 20

/* One run's samples (us) and counters; several runs pool into one. */
struct sb_run {
	double wall_s;
	int pods;
	struct lat idle;   /* filter, no bind in flight */
	struct lat busy;   /* filter, binds in flight */
	struct lat steady; /* busy ones after the first `inflight` binds were started */
	struct lat bind;
	struct lat floor_idle, floor_busy; /* /debug/discard, same body (SB_FLOOR=1) */
	struct lat echo_idle, echo_busy;   /* an echo process, same body (SB_FLOOR=1) */
	double server_filter_p99;          /* us: the daemon's own histogram, bucket bound */
	int nodes_used, errors;
	double cpu_ms[4]; /* CPU used during the run: daemon, fake, load generator, others */
};
void sb_run_init(struct sb_run *r);
void sb_run_free(struct sb_run *r);

/* Returns 0 when every pod was bound, 1 on errors, 2 when nothing ran; r
 * is initialised here and freed by the caller with sb_run_free. */
int sb_run(const struct sb_opts *o, struct sb_run *r);
/* Both runs (at once, then with bindings answered 1 s late), each `runs`
 * times with the samples pooled, printed and added to json; counts
 * targets. Returns like sb_run. */
struct sb_main_opts {
	int pods, runs, others_nice, gap_us;
	bool floor; /* also the floor pass (see schedbench.c) */
};
int sb_main(const struct sb_main_opts *mo, struct cJSON *json, int *missed, int *targets);

#endif
