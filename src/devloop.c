/* devloop: see devloop.h. Pending pods are tried oldest first whenever the
 * store changed; a pod that does not fit is logged when its own reason
 * changes, not every pass, and the waiting pods are summed up in one line
 * at most once a minute, so the log stays readable. */
#include "vx/bgthread.h"
#include "vx/devloop.h"
#include "vx/explain.h"
#include "vx/log.h"
#include "vx/volcano.h"
#include "vx/xalloc.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The loop wakes at least this often, for timed completions and the clock. */
#define MAX_SLEEP_MS 1000
/* Waiting pods are summed up in the log at most this often. */
#define SUMMARY_PERIOD_S 60

struct devloop {
	struct pipeline *pl;
	struct binder *binder;
	struct store *st;
	pthread_t thread;
	atomic_int stop;
	int64_t summary_at; /* when the last summary of waiting pods was logged */
};

/* The candidates kube-scheduler would send: every node, sorted by name. */
struct nodes {
	int n;
	char **names;
	size_t *lens;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void nodes_snapshot(struct cluster *c, struct nodes *out)
{
	size_t it = 0;
	const char *name;
	void *v;
	cluster_rdlock(c);
	out->names = xcalloc(hmap_size(&c->nodes), sizeof *out->names);
	out->n = 0;
	while (hmap_next(&c->nodes, &it, &name, &v))
		if (((const struct cl_node *)v)->present)
			out->names[out->n++] = xstrdup(name);
	cluster_unlock(c);
	qsort(out->names, (size_t)out->n, sizeof *out->names, by_name);
	out->lens = xcalloc((size_t)out->n, sizeof *out->lens);
	for (int i = 0; i < out->n; i++)
		out->lens[i] = strlen(out->names[i]);
}

static void nodes_free(struct nodes *ns)
{
	for (int i = 0; i < ns->n; i++)
		free(ns->names[i]);
	free(ns->names);
	free(ns->lens);
}

/* The best passing node: idle before busy, then the highest score, ties to
 * the first (smallest) name; -1 when none passes. */
static int pick(const struct pipe_filter_out *f, const double *raw, const bool *busy)
{
	int best = -1;
	for (int i = 0; i < f->n; i++) {
		if (f->verdict[i] != PIPE_PASS || isnan(raw[i]))
			continue;
		if (best < 0 || (busy[best] && !busy[i]) ||
		    (busy[best] == busy[i] && raw[i] > raw[best] + 1e-12))
			best = i;
	}
	return best;
}

/* Filter, score, bind: 1 bound, 0 no node fits, -1 error; ex says why not. */
static int place(struct devloop *d, const struct nodes *ns, const cJSON *pod, struct explain *ex)
{
	struct req_pod r;
	char err[512];
	if (req_parse_pod(pod, &r, err, sizeof err)) {
		explain_invalid(err, ex);
		return 0;
	}
	const cJSON *md = json_path(pod, "metadata", NULL);
	const char *pns = json_str(md, "namespace");
	struct pipe_pod pp = {&r,
			      pns ? pns : "default",
			      json_str(md, "name"),
			      json_str(md, "uid"),
			      json_label(pod, VX_LABEL_QUEUE),
			      json_annotation(pod, VX_ANN_BILLING)};
	struct pipe_filter_out f;
	const char *const *names = (const char *const *)ns->names;
	double *raw = xcalloc((size_t)ns->n, sizeof *raw);
	bool *busy = xcalloc((size_t)ns->n, sizeof *busy);
	pipe_filter(d->pl, &pp, names, ns->lens, ns->n, &f);
	pipe_score_raw(d->pl, &pp, names, ns->lens, ns->n, raw, busy);
	int best = pick(&f, raw, busy), rc = 0;
	if (best < 0) {
		explain_pod(d->pl->cluster, &r, &f, ex);
	} else if (binder_bind(d->binder, pp.ns, pp.name, pp.uid, ns->names[best], err,
			       sizeof err)) {
		memset(ex, 0, sizeof *ex);
		snprintf(ex->msg, sizeof ex->msg, "%s", err);
		snprintf(ex->nodes, sizeof ex->nodes, "%s", err);
		snprintf(ex->top, sizeof ex->top, "bind failed");
		rc = -1;
	} else {
		rc = 1;
	}
	pipe_filter_out_free(&f);
	free(raw);
	free(busy);
	req_free(&r);
	return rc;
}

/* Records why key waits; logs it when that changed for this pod (not every
 * pass: a pod waits for hours with one reason). */
static void note(struct devloop *d, const char *key, const struct explain *ex,
		 struct rsn_tally *waiting)
{
	if (pipe_note_waiting(d->pl, key, ex->msg, ex->nodes, ex->never))
		log_info("dev: pod %s %s: %s", key, ex->never ? "is unschedulable" : "waits",
			 ex->msg);
	rsn_add_key(waiting, ex->top);
}

/* At most once a minute of the daemon's clock, while pods wait:
 * "12 pods waiting: 9 insufficient memory, 3 no free vGPU slot". */
static void log_summary(struct devloop *d, const struct rsn_tally *waiting)
{
	char msg[RSN_MSG_MAX], prefix[64];
	int64_t now = clk_now_s(d->pl->clock);
	if (!waiting->total || (d->summary_at && now - d->summary_at < SUMMARY_PERIOD_S))
		return;
	d->summary_at = now;
	snprintf(prefix, sizeof prefix, "%d pod%s waiting: ", waiting->total,
		 waiting->total == 1 ? "" : "s");
	rsn_render(waiting, prefix, msg, sizeof msg);
	log_info("dev: %s", msg);
}

/* Tries every pending pod once, oldest first. */
static void place_pending(struct devloop *d)
{
	char **keys = NULL;
	struct nodes ns = {0};
	struct rsn_tally waiting;
	struct explain ex;
	int n = d->st->ops->pending(d->st, &keys);
	rsn_init(&waiting);
	if (n > 0)
		nodes_snapshot(d->pl->cluster, &ns);
	for (int i = 0; i < n && !atomic_load(&d->stop); i++) {
		char *slash = strchr(keys[i], '/');
		struct store_err e = {0};
		cJSON *pod = NULL;
		if (slash) {
			*slash = '\0';
			pod = d->st->ops->get_pod(d->st, keys[i], slash + 1, &e);
			*slash = '/';
		}
		/* The plugin stand-in answers the previous bind first, as the
		 * real one would have by the time kube-scheduler's next pod. */
		d->st->ops->tick(d->st);
		if (pod && place(d, &ns, pod, &ex) <= 0)
			note(d, keys[i], &ex, &waiting);
		cJSON_Delete(pod);
	}
	if (!atomic_load(&d->stop))
		log_summary(d, &waiting);
	rsn_free(&waiting);
	for (int i = 0; i < n; i++)
		free(keys[i]);
	nodes_free(&ns);
	free(keys);
}

static void *run(void *arg)
{
	struct devloop *d = arg;
	vx_thread_name("vx-devloop");
	uint64_t seen = 0;
	while (!atomic_load(&d->stop)) {
		int64_t due = d->st->ops->next_due_ms(d->st);
		int timeout = due >= 0 && due < MAX_SLEEP_MS ? (int)due + 1 : MAX_SLEEP_MS;
		seen = d->st->ops->wait(d->st, seen, timeout);
		if (atomic_load(&d->stop))
			break;
		d->st->ops->tick(d->st);
		place_pending(d);
	}
	return NULL;
}

struct devloop *devloop_start(struct pipeline *pl, struct binder *b)
{
	struct devloop *d = xcalloc(1, sizeof *d);
	d->pl = pl;
	d->binder = b;
	d->st = pl->store;
	if (pthread_create(&d->thread, NULL, run, d) != 0) {
		free(d);
		return NULL;
	}
	return d;
}

void devloop_stop(struct devloop *d)
{
	if (!d)
		return;
	atomic_store(&d->stop, 1);
	d->st->ops->kick(d->st);
	pthread_join(d->thread, NULL);
	free(d);
}
