/* cluster_license_plan: where each licence's waiting pods stand and when
 * they should start, for the jobs table (position and estimatedStart). The
 * licence is played forward from now: running pods free their vGPUs at
 * started + runtime (a deadline kubelet enforces, so an upper bound), and
 * the waiting pods, in licence order, start as soon as theirs fit maxSlots,
 * ending in turn after their own runtime. A pod behind one whose start
 * cannot be told gets no estimate either: it may not jump ahead. */
#include "vx/cluster.h"
#include "vx/xalloc.h"

#include <stdlib.h>
#include <string.h>

struct lic_end {
	int64_t at;
	int slots;
};

struct plan {
	struct lic_end *ends; /* sorted by time, earliest first */
	size_t nends, cap;
};

static void add_end(struct plan *pl, int64_t at, int slots)
{
	if (pl->nends == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 16;
		pl->ends = xrealloc(pl->ends, pl->cap * sizeof *pl->ends);
	}
	size_t i = pl->nends++;
	for (; i > 0 && pl->ends[i - 1].at > at; i--)
		pl->ends[i] = pl->ends[i - 1];
	pl->ends[i] = (struct lic_end){at, slots};
}

static int by_order(const void *a, const void *b)
{
	const struct cl_pod *x = ((const struct lic_wait *)a)->pod;
	const struct cl_pod *y = ((const struct lic_wait *)b)->pod;
	if (x == y)
		return 0;
	return license_before(x->priority, x->created, x->key, y->priority, y->created, y->key) ? -1
												: 1;
}

static int by_pod(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct lic_wait *)a)->pod;
	uintptr_t y = (uintptr_t)((const struct lic_wait *)b)->pod;
	return x < y ? -1 : x > y;
}

/* The running pods that will end, as the first ends of their licence's
 * plan: one pass over the pods for every licence with pods waiting. */
static void running_ends(const struct cluster *c, int64_t now, struct plan *plans)
{
	size_t it = 0;
	void *v;
	while (hmap_next(&c->pods, &it, NULL, &v)) {
		const struct cl_pod *p = v;
		if (p->lidx < 0 || p->lidx >= c->licenses.n || p->l_slots <= 0 ||
		    p->runtime_s <= 0 || c->lstate[p->lidx].waiting <= 0)
			continue;
		int64_t end = (p->started ? p->started : p->l_since) + p->runtime_s;
		add_end(&plans[p->lidx], end > now ? end : now, p->l_slots);
	}
}

/* Plays licence li forward over its waiting pods w[0..n), in order. */
static void play(const struct cluster *c, int li, int64_t now, struct lic_wait *w, size_t n,
		 struct plan *pl)
{
	int max = c->licenses.l[li].max_slots, free_slots = max - c->lstate[li].used_slots;
	int64_t t = now, reset = now + cluster_license_reset_in(c, li, now);
	bool no_hours =
	    cluster_license_used_s(c, li, now) >= c->licenses.l[li].daily_hours * 3600.0;
	size_t next = 0;
	for (size_t i = 0; i < n; i++) {
		int need = w[i].pod->req.total_vgpus;
		while (free_slots < need && next < pl->nends) {
			t = pl->ends[next].at > t ? pl->ends[next].at : t;
			free_slots += pl->ends[next++].slots;
		}
		if (free_slots < need || need > max)
			break; /* it and everyone behind it: cannot tell */
		w[i].start_s = no_hours && t < reset ? reset : t;
		free_slots -= need;
		if (w[i].pod->runtime_s > 0) /* else it holds them as far as we can tell */
			add_end(pl, w[i].start_s + w[i].pod->runtime_s, need);
	}
}

void cluster_license_waits(const struct cluster *c, int64_t now_s, struct lic_waits *out)
{
	size_t total = 0, nl = (size_t)c->licenses.n;
	for (size_t li = 0; li < nl; li++)
		total += (size_t)(c->lstate[li].waiting > 0 ? c->lstate[li].waiting : 0);
	out->w = xcalloc(total + 1, sizeof *out->w);
	out->n = 0;
	if (!total)
		return; /* nobody waits: no pass over the pods */
	struct plan *plans = xcalloc(nl + 1, sizeof *plans);
	running_ends(c, now_s, plans);
	for (size_t li = 0; li < nl; li++) {
		struct lic_wait *w = out->w + out->n;
		size_t n = 0;
		for (const struct cl_pod *p = c->lstate[li].waiters; p && out->n + n < total;
		     p = p->l_next)
			w[n++].pod = p;
		qsort(w, n, sizeof *w, by_order);
		for (size_t i = 0; i < n; i++)
			w[i].position = (int)i + 1;
		play(c, (int)li, now_s, w, n, &plans[li]);
		free(plans[li].ends);
		out->n += n;
	}
	free(plans);
	qsort(out->w, out->n, sizeof *out->w, by_pod);
}

const struct lic_wait *cluster_license_wait_of(const struct lic_waits *ws, const struct cl_pod *p)
{
	struct lic_wait key = {.pod = p};
	return bsearch(&key, ws->w, ws->n, sizeof key, by_pod);
}
