/* devloop: see devloop.h. Pending pods are tried oldest first whenever the
 * store changed; a pod that does not fit is logged once per reason change,
 * not every pass, so the log stays readable. */
#include "vx/devloop.h"
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

struct devloop {
	struct pipeline *pl;
	struct binder *binder;
	struct store *st;
	pthread_t thread;
	atomic_int stop;
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

static void explain(const struct nodes *ns, const struct pipe_filter_out *f, char *why,
		    size_t whylen)
{
	for (int i = 0; i < f->n; i++) {
		if (f->verdict[i] == PIPE_PASS)
			continue;
		snprintf(why, whylen, "0/%d nodes fit the vGPU request (%s: %s)", ns->n,
			 ns->names[i], f->reasons.data + f->reason[i]);
		return;
	}
	snprintf(why, whylen, "0/%d nodes fit the vGPU request", ns->n);
}

/* Filter, score, bind: 1 bound, 0 no node fits (why says so), -1 error. */
static int place(struct devloop *d, const struct nodes *ns, const cJSON *pod, const char *key,
		 char *why, size_t whylen)
{
	struct req_pod r;
	char err[256];
	if (req_parse_pod(pod, &r, err, sizeof err)) {
		snprintf(why, whylen, "invalid vGPU request: %s", err);
		return 0;
	}
	const cJSON *md = json_path(pod, "metadata", NULL);
	const char *pns = json_str(md, "namespace");
	struct pipe_pod pp = {&r, pns ? pns : "default", json_str(md, "name"), json_str(md, "uid"),
			      json_label(pod, VX_LABEL_QUEUE)};
	struct pipe_filter_out f;
	const char *const *names = (const char *const *)ns->names;
	double *raw = xcalloc((size_t)ns->n, sizeof *raw);
	bool *busy = xcalloc((size_t)ns->n, sizeof *busy);
	pipe_filter(d->pl, &pp, names, ns->lens, ns->n, &f);
	pipe_score_raw(d->pl, &pp, names, ns->lens, ns->n, raw, busy);
	int best = pick(&f, raw, busy), rc = 0;
	if (best < 0)
		explain(ns, &f, why, whylen);
	else
		rc = binder_bind(d->binder, pp.ns, pp.name, pp.uid, ns->names[best], why, whylen)
			 ? -1
			 : 1;
	if (rc == 0)
		pipe_note_waiting(d->pl, key, why);
	pipe_filter_out_free(&f);
	free(raw);
	free(busy);
	req_free(&r);
	return rc;
}

/* Tries every pending pod once, oldest first. */
static void place_pending(struct devloop *d, char *last_why, size_t whylen)
{
	char **keys = NULL, why[512];
	struct nodes ns = {0};
	int n = d->st->ops->pending(d->st, &keys);
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
		why[0] = '\0';
		int rc = pod ? place(d, &ns, pod, keys[i], why, sizeof why) : -1;
		if (rc <= 0 && why[0] && strcmp(why, last_why) != 0) {
			log_info("dev: pod %s waits: %s", keys[i], why);
			snprintf(last_why, whylen, "%s", why);
		}
		cJSON_Delete(pod);
	}
	for (int i = 0; i < n; i++)
		free(keys[i]);
	nodes_free(&ns);
	free(keys);
}

static void *run(void *arg)
{
	struct devloop *d = arg;
	char last_why[512] = "";
	uint64_t seen = 0;
	while (!atomic_load(&d->stop)) {
		int64_t due = d->st->ops->next_due_ms(d->st);
		int timeout = due >= 0 && due < MAX_SLEEP_MS ? (int)due + 1 : MAX_SLEEP_MS;
		seen = d->st->ops->wait(d->st, seen, timeout);
		if (atomic_load(&d->stop))
			break;
		d->st->ops->tick(d->st);
		place_pending(d, last_why, sizeof last_why);
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
