/* metrics: see metrics.h. Buckets are cumulative only when written out, so
 * an observation touches exactly one bucket counter. */
#include "vx/metrics.h"

static const double bucket_s[METRICS_NBUCKETS] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001,
						  0.0025,  0.005,  0.01,    0.025,  0.05,
						  0.1,     0.25,   0.5,     1,      2.5};
static const char *const verb_names[MV_N] = {"filter", "prioritize", "bind", "preempt", "other"};

void metrics_observe(struct metrics *m, enum mverb v, int status, uint64_t us)
{
	int cls = status >= 500 ? 2 : status >= 400 ? 1 : 0;
	atomic_fetch_add(&m->by_class[v][cls], 1);
	atomic_fetch_add(&m->count[v], 1);
	atomic_fetch_add(&m->sum_us[v], us);
	double s = (double)us / 1e6;
	for (int i = 0; i < METRICS_NBUCKETS; i++) {
		if (s <= bucket_s[i]) {
			atomic_fetch_add(&m->bucket[v][i], 1);
			return;
		}
	}
}

void metrics_write(struct metrics *m, struct buf *b)
{
	static const char *const cls[3] = {"2xx", "4xx", "5xx"};
	buf_puts(b, "# HELP vgpu_extender_requests_total HTTP requests by verb and status class.\n"
		    "# TYPE vgpu_extender_requests_total counter\n");
	for (int v = 0; v < MV_N; v++)
		for (int c = 0; c < 3; c++)
			buf_printf(b,
				   "vgpu_extender_requests_total{verb=\"%s\",code=\"%s\"} %llu\n",
				   verb_names[v], cls[c], atomic_load(&m->by_class[v][c]));
	buf_printf(b,
		   "# HELP vgpu_extender_bind_errors_total Binds answered with an error.\n"
		   "# TYPE vgpu_extender_bind_errors_total counter\n"
		   "vgpu_extender_bind_errors_total %llu\n",
		   atomic_load(&m->bind_errors));
	buf_puts(b, "# HELP vgpu_extender_request_duration_seconds Request latency by verb.\n"
		    "# TYPE vgpu_extender_request_duration_seconds histogram\n");
	for (int v = 0; v < MV_N; v++) {
		unsigned long long cum = 0;
		for (int i = 0; i < METRICS_NBUCKETS; i++) {
			cum += atomic_load(&m->bucket[v][i]);
			buf_printf(b,
				   "vgpu_extender_request_duration_seconds_bucket{verb=\"%s\","
				   "le=\"%g\"} %llu\n",
				   verb_names[v], bucket_s[i], cum);
		}
		unsigned long long n = atomic_load(&m->count[v]);
		buf_printf(b,
			   "vgpu_extender_request_duration_seconds_bucket{verb=\"%s\",le=\"+Inf\"} "
			   "%llu\n"
			   "vgpu_extender_request_duration_seconds_sum{verb=\"%s\"} %.6f\n"
			   "vgpu_extender_request_duration_seconds_count{verb=\"%s\"} %llu\n",
			   verb_names[v], n, verb_names[v],
			   (double)atomic_load(&m->sum_us[v]) / 1e6, verb_names[v], n);
	}
}
