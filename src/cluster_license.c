/* cluster_license: the model's side of licences. A licence's slots and its
 * waiting list follow its pods through cluster_track_license, called where
 * the queues' figures move (cluster_queue.c); its vGPU-hours accrue from the
 * slots in use over the daemon's clock, so /debug/clock/advance moves them,
 * and reset at the licence's resetUTC. */
#include "vx/cluster.h"
#include "vx/xalloc.h"

#include <stdlib.h>
#include <string.h>

static int64_t now_of(const struct cluster *c)
{
	return c->clock ? clk_now_s(c->clock) : 0;
}

/* Usage at now, through any resets since last_s, without changing st. */
static double used_at(const struct cl_license *st, int reset_min, int64_t now, double *out_used,
		      int64_t *out_reset)
{
	double used = st->used_s;
	int64_t last = st->last_s, reset = st->reset_s;
	if (!last) {
		last = now;
		reset = license_next_reset(now, reset_min);
	}
	while (now >= reset) {
		used = 0; /* a new day: what ran before the reset is yesterday's */
		last = reset;
		reset += SECONDS_PER_DAY;
	}
	if (now > last)
		used += (double)st->used_slots * (double)(now - last);
	if (out_used)
		*out_used = used;
	if (out_reset)
		*out_reset = reset;
	return used;
}

double cluster_license_used_s(const struct cluster *c, int li, int64_t now_s)
{
	return used_at(&c->lstate[li], c->licenses.l[li].reset_min, now_s, NULL, NULL);
}

int64_t cluster_license_reset_in(const struct cluster *c, int li, int64_t now_s)
{
	int64_t reset;
	used_at(&c->lstate[li], c->licenses.l[li].reset_min, now_s, NULL, &reset);
	return reset - now_s;
}

/* Brings the licence's usage up to `until` (0 or later than now: now)
 * before its slots change. A pod that ended before we heard of it (a watch
 * lag, a dev clock jump) is billed up to its end, but never before the
 * last change of the licence's slots, which is already counted. */
static void accrue_until(struct cluster *c, int li, int64_t until)
{
	struct cl_license *st = &c->lstate[li];
	int64_t now = now_of(c);
	if (until > 0 && until < now)
		now = until > st->last_s ? until : st->last_s;
	used_at(st, c->licenses.l[li].reset_min, now, &st->used_s, &st->reset_s);
	st->last_s = now;
}

static void accrue(struct cluster *c, int li)
{
	accrue_until(c, li, 0);
}

static void unlink_waiter(struct cl_license *st, struct cl_pod *p)
{
	if (p->l_prev)
		p->l_prev->l_next = p->l_next;
	else
		st->waiters = p->l_next;
	if (p->l_next)
		p->l_next->l_prev = p->l_prev;
	p->l_prev = p->l_next = NULL;
}

void cluster_untrack_license(struct cluster *c, struct cl_pod *p)
{
	if (p->lidx >= 0 && p->lidx < c->licenses.n) {
		struct cl_license *st = &c->lstate[p->lidx];
		if (p->l_slots)
			accrue_until(c, p->lidx, p->finished);
		st->used_slots -= p->l_slots;
		if (p->l_slots)
			__atomic_fetch_add(&c->slot_changes, 1, __ATOMIC_RELEASE);
		if (p->l_waiting) {
			st->waiting--;
			unlink_waiter(st, p);
		}
	}
	p->l_slots = 0;
	p->l_waiting = false;
	p->lidx = -1;
}

void cluster_track_license(struct cluster *c, struct cl_pod *p)
{
	int li = license_of(&c->licenses, p->ns, p->billing);
	if (li != p->lidx)
		cluster_untrack_license(c, p);
	p->lidx = li;
	if (li < 0)
		return;
	struct cl_license *st = &c->lstate[li];
	bool holds = p->alloc != ALLOC_NONE && cluster_pod_holds_devices(p);
	int slots = holds ? p->req.total_vgpus : 0;
	bool waiting =
	    p->status == POD_SUBMITTED && p->alloc == ALLOC_NONE && p->req.is_vgpu && !p->req_error;
	if (slots != p->l_slots) {
		accrue_until(c, li, slots < p->l_slots ? p->finished : 0);
		if (!p->l_slots)
			p->l_since = now_of(c);
		st->used_slots += slots - p->l_slots;
		p->l_slots = slots;
		__atomic_fetch_add(&c->slot_changes, 1, __ATOMIC_RELEASE);
	}
	if (waiting != p->l_waiting) {
		st->waiting += waiting ? 1 : -1;
		if (waiting) {
			p->l_next = st->waiters;
			p->l_prev = NULL;
			if (st->waiters)
				st->waiters->l_prev = p;
			st->waiters = p;
		} else {
			unlink_waiter(st, p);
		}
		p->l_waiting = waiting;
	}
}

/* A licence kept by a reload keeps the day's hours and its refusal count:
 * editing maxSlots must not hand out a fresh day. */
static void carry_over(struct cluster *c, const struct license_set *old,
		       const struct cl_license *ost)
{
	int64_t now = now_of(c);
	for (int i = 0; i < c->licenses.n; i++) {
		const struct license_conf *l = &c->licenses.l[i];
		int j = license_by_name(old, l->name);
		if (j < 0)
			continue;
		c->lstate[i].used_s = ost[j].used_s;
		c->lstate[i].refused = ost[j].refused;
		c->lstate[i].last_s = now;
		c->lstate[i].reset_s = license_next_reset(now, l->reset_min);
	}
}

void cluster_set_licenses(struct cluster *c, struct license_conf *confs, int n)
{
	size_t it = 0;
	void *v;
	for (int i = 0; i < c->licenses.n; i++)
		accrue(c, i);
	while (hmap_next(&c->pods, &it, NULL, &v))
		cluster_untrack_license(c, v);
	struct license_set old = c->licenses;
	struct cl_license *ost = c->lstate;
	license_set_init(&c->licenses, confs, n);
	c->lstate = xcalloc((size_t)n + 1, sizeof *c->lstate);
	carry_over(c, &old, ost);
	license_set_free(&old);
	free(ost);
	for (it = 0; hmap_next(&c->pods, &it, NULL, &v);)
		cluster_track_license(c, v);
	c->version++;
}

cJSON *cluster_licenses_save(const struct cluster *c, int64_t now_s)
{
	cJSON *o = cJSON_CreateObject();
	for (int i = 0; i < c->licenses.n; i++) {
		cJSON *l = cJSON_AddObjectToObject(o, c->licenses.l[i].name);
		cJSON_AddNumberToObject(l, "usedSeconds", cluster_license_used_s(c, i, now_s));
		cJSON_AddNumberToObject(l, "asOf", (double)now_s);
		cJSON_AddNumberToObject(l, "resetAt",
					(double)(now_s + cluster_license_reset_in(c, i, now_s)));
	}
	return o;
}

/* The saved usage of licence li, when the entry can be trusted and is of
 * the day that ends at the reset after now_s. */
static bool saved_usage(const struct cluster *c, int li, const cJSON *saved, int64_t now_s,
			double *used_s)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(saved, c->licenses.l[li].name);
	const cJSON *used = cJSON_GetObjectItemCaseSensitive(l, "usedSeconds");
	const cJSON *reset = cJSON_GetObjectItemCaseSensitive(l, "resetAt");
	if (!cJSON_IsNumber(used) || !cJSON_IsNumber(reset) || !(used->valuedouble >= 0) ||
	    !(reset->valuedouble > 0 && reset->valuedouble < 1e15))
		return false; /* a licence new since, or an entry we cannot trust */
	if ((int64_t)reset->valuedouble != now_s + cluster_license_reset_in(c, li, now_s))
		return false; /* saved before a reset that has passed since */
	*used_s = used->valuedouble;
	return true;
}

int cluster_licenses_restore(struct cluster *c, const cJSON *saved, int64_t now_s)
{
	double used;
	if (!cJSON_IsObject(saved))
		return -1;
	for (int i = 0; i < c->licenses.n; i++) {
		if (!saved_usage(c, i, saved, now_s, &used))
			continue;
		accrue(c, i); /* what the pods tracked since the start ran */
		c->lstate[i].used_s += used;
	}
	return 0;
}

int cluster_licenses_merge(struct cluster *c, const cJSON *saved, int64_t now_s)
{
	double used;
	int raised = 0;
	if (!cJSON_IsObject(saved))
		return -1;
	for (int i = 0; i < c->licenses.n; i++) {
		if (!saved_usage(c, i, saved, now_s, &used))
			continue;
		accrue(c, i);
		if (used > c->lstate[i].used_s) {
			c->lstate[i].used_s = used;
			raised++;
		}
	}
	return raised;
}
