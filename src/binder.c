/* binder: see binder.h. One mutex guards the queues; it is never held
 * across a pipeline call that takes the model's write lock or calls the
 * store, and answers are delivered with it released. Lock order: binder,
 * then model (pipe_node_ready reads the model under the binder's mutex). */
#include "vx/clock.h"
#include "vx/bgthread.h"
#include "vx/binder.h"
#include "vx/hmap.h"
#include "vx/log.h"
#include "vx/xalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How often parked binds look at their node again, and how long a bind the
 * store found locked (the watch had not caught up) backs off at most. */
#define TICK_MS 10
#define BUSY_BACKOFF_MIN_MS 20
#define BUSY_BACKOFF_MAX_MS 500
/* Workers make blocking API calls; they need little stack. */
#define WORKER_STACK ((size_t)256 * 1024)

const double binder_wait_bounds_s[BINDER_WAIT_BUCKETS] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
							  0.25,  0.5,   1,    2.5,   5,    10};

enum stage { STAGE_LEARN, STAGE_BIND };

struct job {
	struct pipe_binding pb;
	binder_done_fn done;
	void *ud;
	enum stage stage;
	bool learned, queued_once, told;
	int busy_tries;
	int64_t queued_ms, deadline_ms, next_try_ms;
	struct job *next;
};

struct bnode {
	struct job *head, *tail;
	int queued; /* jobs in the list, each holding a reservation on the node */
	bool active;
	char name[];
};

struct binder {
	struct pipeline *pl;
	struct binder_opts o;
	pthread_mutex_t mu;
	pthread_cond_t work, tick;
	struct hmap nodes; /* name -> bnode, while it has queued or active binds */
	struct job *runq, *runq_tail;
	pthread_t *workers, timer;
	int nworkers;
	bool stopping;
	struct binder_stats st;
};

/* Answers the job and forgets it; the caller does not hold b->mu. */
static void complete(struct binder *b, struct job *j, int rc, const char *err)
{
	pipe_finish(b->pl, &j->pb, rc == 0);
	if (rc)
		log_warn("bind %s to %s failed: %s", j->pb.key, j->pb.node, err);
	else
		log_info("bound %s to %s", j->pb.key, j->pb.node);
	j->done(j->ud, rc, rc ? err : "");
	pthread_mutex_lock(&b->mu);
	b->st.inflight--;
	if (rc)
		b->st.failed++;
	else
		b->st.bound++;
	pthread_mutex_unlock(&b->mu);
	free(j);
}

static void push_run(struct binder *b, struct job *j)
{
	j->next = NULL;
	if (b->runq_tail)
		b->runq_tail->next = j;
	else
		b->runq = j;
	b->runq_tail = j;
	pthread_cond_signal(&b->work);
}

static void observe_wait(struct binder *b, const struct job *j, int64_t now)
{
	double s = (double)(now - j->queued_ms) / 1000.0;
	int i = 0;
	while (i < BINDER_WAIT_BUCKETS && s > binder_wait_bounds_s[i])
		i++;
	b->st.wait_bucket[i]++; /* the last slot is +Inf */
	b->st.wait_count++;
	b->st.wait_sum_s += s;
}

/* Hands the node's first bind to a worker when the node is free for it. */
static void dispatch(struct binder *b, struct bnode *n, int64_t now)
{
	struct job *j = n->head;
	if (n->active || !j || j->next_try_ms > now || b->stopping)
		return;
	if (!pipe_node_ready(b->pl, n->name, n->queued)) {
		if (!j->told && vlog_enabled(VLOG_DEBUG)) {
			char why[128];
			pipe_node_describe(b->pl, n->name, why, sizeof why);
			log_debug("bind %s waits for node %s (%s; %d of ours queued)", j->pb.key,
				  n->name, why, n->queued);
		}
		j->told = true;
		return;
	}
	n->head = j->next;
	if (!n->head)
		n->tail = NULL;
	n->queued--;
	b->st.waiting--;
	n->active = true;
	if (!j->busy_tries)
		observe_wait(b, j, now);
	push_run(b, j);
}

static struct bnode *node_get(struct binder *b, const char *name)
{
	struct bnode *n = hmap_get(&b->nodes, name);
	if (!n) {
		size_t len = strlen(name) + 1;
		n = xcalloc(1, sizeof *n + len);
		memcpy(n->name, name, len);
		hmap_put(&b->nodes, n->name, n);
	}
	return n;
}

static void node_maybe_drop(struct binder *b, struct bnode *n)
{
	if (n->head || n->active)
		return;
	hmap_del(&b->nodes, n->name);
	free(n);
}

/* Queues a reserved bind on its node; at the head when it is a retry. */
static bool enqueue(struct binder *b, struct job *j, bool at_head)
{
	pthread_mutex_lock(&b->mu);
	if (b->stopping) {
		pthread_mutex_unlock(&b->mu);
		return false;
	}
	struct bnode *n = node_get(b, j->pb.node);
	int64_t now = clk_mono_ms();
	if (!j->queued_once) {
		j->queued_once = true;
		j->queued_ms = now;
		j->deadline_ms = now + b->o.wait_ms;
	}
	if (at_head) {
		j->next = n->head;
		n->head = j;
		if (!n->tail)
			n->tail = j;
		n->active = false;
	} else {
		j->next = NULL;
		if (n->tail)
			n->tail->next = j;
		else
			n->head = j;
		n->tail = j;
	}
	n->queued++;
	b->st.waiting++;
	dispatch(b, n, now);
	pthread_mutex_unlock(&b->mu);
	return true;
}

/* Reserve, then route: answered at once, to a worker, or to a node queue. */
static void start(struct binder *b, struct job *j)
{
	char err[512];
	enum pipe_reserved rc = pipe_reserve(b->pl, &j->pb, err, sizeof err);
	if (rc == PIPE_UNKNOWN_POD && !j->learned) {
		j->stage = STAGE_LEARN;
		pthread_mutex_lock(&b->mu);
		push_run(b, j);
		pthread_mutex_unlock(&b->mu);
		return;
	}
	if (rc == PIPE_ALREADY_BOUND) {
		complete(b, j, 0, "");
	} else if (rc == PIPE_REFUSED) {
		complete(b, j, -1, err);
	} else if (rc == PIPE_RESERVED) {
		j->stage = STAGE_BIND;
		if (!enqueue(b, j, false))
			complete(b, j, -1, "the vGPU scheduler is shutting down");
	} else { /* a pod without vGPUs, known or not: no lock, no annotations */
		j->stage = STAGE_BIND;
		pthread_mutex_lock(&b->mu);
		push_run(b, j);
		pthread_mutex_unlock(&b->mu);
	}
}

/* The node's active bind is over: let the next one go when it can. */
static void node_done(struct binder *b, const char *name)
{
	pthread_mutex_lock(&b->mu);
	struct bnode *n = hmap_get(&b->nodes, name);
	if (n) {
		n->active = false;
		dispatch(b, n, clk_mono_ms());
		node_maybe_drop(b, n);
	}
	pthread_mutex_unlock(&b->mu);
}

static void run_learn(struct binder *b, struct job *j)
{
	char err[512];
	if (pipe_learn_pod(b->pl, j->pb.ns, j->pb.name, err, sizeof err)) {
		complete(b, j, -1, err);
		return;
	}
	j->learned = true;
	start(b, j);
}

static void run_bind(struct binder *b, struct job *j)
{
	char err[512], node[sizeof j->pb.node];
	bool locked = j->pb.reserved;
	int rc = pipe_bind(b->pl, &j->pb, err, sizeof err);
	if (rc == STORE_BUSY && locked) {
		/* The watch had not shown the lock yet: back to the head. */
		j->busy_tries++;
		int shift = j->busy_tries < 5 ? j->busy_tries : 5;
		long delay = (long)BUSY_BACKOFF_MIN_MS << shift;
		j->next_try_ms =
		    clk_mono_ms() + (delay < BUSY_BACKOFF_MAX_MS ? delay : BUSY_BACKOFF_MAX_MS);
		log_debug("bind %s: node %s is locked (%s); waiting", j->pb.key, j->pb.node, err);
		if (enqueue(b, j, true))
			return;
		snprintf(err, sizeof err, "the vGPU scheduler is shutting down");
	}
	memcpy(node, j->pb.node, sizeof node);
	complete(b, j, rc == 0 ? 0 : -1, err);
	if (locked)
		node_done(b, node);
}

static void *worker(void *arg)
{
	struct binder *b = arg;
	bg_thread("vx-bind");
	for (;;) {
		pthread_mutex_lock(&b->mu);
		while (!b->runq && !b->stopping)
			pthread_cond_wait(&b->work, &b->mu);
		struct job *j = b->runq;
		if (!j) { /* stopping, and nothing left to finish */
			pthread_mutex_unlock(&b->mu);
			return NULL;
		}
		b->runq = j->next;
		if (!b->runq)
			b->runq_tail = NULL;
		pthread_mutex_unlock(&b->mu);
		if (j->stage == STAGE_LEARN)
			run_learn(b, j);
		else
			run_bind(b, j);
	}
}

/* Takes the binds whose wait ran out off their node queues (mu held). */
static struct job *expire(struct binder *b, struct bnode *n, int64_t now)
{
	struct job *out = NULL, **pp = &n->head, *prev = NULL;
	while (*pp) {
		struct job *j = *pp;
		if (j->deadline_ms > now) {
			prev = j;
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		if (n->tail == j)
			n->tail = prev;
		n->queued--;
		b->st.waiting--;
		b->st.timed_out++;
		observe_wait(b, j, now);
		j->next = out;
		out = j;
	}
	return out;
}

static void fail_expired(struct binder *b, struct job *list)
{
	char err[512];
	while (list) {
		struct job *j = list;
		list = j->next;
		snprintf(err, sizeof err,
			 "node %s is busy: a vGPU allocation there still holds the node lock "
			 "(%s) after %d ms; giving up so that the scheduler can choose again",
			 j->pb.node, "hamivgpu", b->o.wait_ms);
		complete(b, j, -1, err);
	}
}

/* Every tick: expire overdue binds, and start those whose node came free
 * (the watch showed the device plugin's answer). */
static void *timer(void *arg)
{
	struct binder *b = arg;
	vx_thread_name("vx-bind-timer");
	pthread_mutex_lock(&b->mu);
	while (!b->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&b->tick, &b->mu, &ts);
		int64_t now = clk_mono_ms();
		struct job *expired = NULL;
		size_t it = 0;
		void *v;
		while (hmap_next(&b->nodes, &it, NULL, &v)) {
			struct job *e = expire(b, v, now);
			while (e) {
				struct job *next = e->next;
				e->next = expired;
				expired = e;
				e = next;
			}
			dispatch(b, v, now);
		}
		for (it = 0; hmap_next(&b->nodes, &it, NULL, &v);)
			if (!((struct bnode *)v)->head && !((struct bnode *)v)->active) {
				node_maybe_drop(b, v);
				it = 0; /* the map changed under the iterator */
			}
		pthread_mutex_unlock(&b->mu);
		fail_expired(b, expired);
		pthread_mutex_lock(&b->mu);
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

struct binder *binder_new(struct pipeline *pl, const struct binder_opts *o)
{
	struct binder *b = xcalloc(1, sizeof *b);
	b->pl = pl;
	b->o.workers = o && o->workers > 0 ? o->workers : BINDER_DEFAULT_WORKERS;
	b->o.max_inflight =
	    o && o->max_inflight > 0 ? o->max_inflight : BINDER_DEFAULT_MAX_INFLIGHT;
	b->o.wait_ms = o && o->wait_ms > 0 ? o->wait_ms : BINDER_DEFAULT_WAIT_S * 1000;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->work, NULL);
	pthread_cond_init(&b->tick, NULL);
	hmap_init(&b->nodes);
	b->workers = xcalloc((size_t)b->o.workers, sizeof *b->workers);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	for (int i = 0; i < b->o.workers; i++) {
		if (pthread_create(&b->workers[i], &attr, worker, b) != 0)
			break;
		b->nworkers++;
	}
	pthread_attr_destroy(&attr);
	if (!b->nworkers || pthread_create(&b->timer, NULL, timer, b) != 0) {
		log_error("binder: cannot start its threads");
		abort();
	}
	return b;
}

/* Every bind still queued, taken out of the queues (mu held). */
static struct job *drain(struct binder *b)
{
	struct job *all = NULL;
	size_t it = 0;
	void *v;
	while (hmap_next(&b->nodes, &it, NULL, &v)) {
		struct bnode *n = v;
		while (n->head) {
			struct job *j = n->head;
			n->head = j->next;
			j->next = all;
			all = j;
			b->st.waiting--;
		}
		n->tail = NULL;
		n->queued = 0;
	}
	return all;
}

void binder_free(struct binder *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->mu);
	b->stopping = true;
	struct job *left = drain(b);
	pthread_cond_broadcast(&b->work);
	pthread_cond_broadcast(&b->tick);
	pthread_mutex_unlock(&b->mu);
	while (left) {
		struct job *j = left;
		left = j->next;
		complete(b, j, -1, "the vGPU scheduler is shutting down");
	}
	for (int i = 0; i < b->nworkers; i++)
		pthread_join(b->workers[i], NULL);
	pthread_join(b->timer, NULL);
	size_t it = 0;
	void *v;
	while (hmap_next(&b->nodes, &it, NULL, &v))
		free(v);
	hmap_free(&b->nodes);
	free(b->workers);
	pthread_cond_destroy(&b->work);
	pthread_cond_destroy(&b->tick);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

void binder_submit(struct binder *b, const char *ns, const char *name, const char *uid,
		   const char *node, binder_done_fn done, void *ud)
{
	char err[256];
	pthread_mutex_lock(&b->mu);
	bool full = b->st.inflight >= b->o.max_inflight;
	if (b->stopping || full) {
		b->st.refused++;
		if (full)
			snprintf(err, sizeof err,
				 "too many binds in flight (%d); kube-scheduler will retry the pod",
				 b->o.max_inflight);
		pthread_mutex_unlock(&b->mu);
		done(ud, -1, full ? err : "the vGPU scheduler is shutting down");
		return;
	}
	b->st.inflight++;
	pthread_mutex_unlock(&b->mu);
	struct job *j = xcalloc(1, sizeof *j);
	pipe_binding_init(&j->pb, ns, name, uid, node);
	j->done = done;
	j->ud = ud;
	start(b, j);
}

struct sync_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int rc;
	char err[512];
};

static void sync_done(void *ud, int rc, const char *err)
{
	struct sync_wait *w = ud;
	pthread_mutex_lock(&w->mu);
	w->rc = rc;
	snprintf(w->err, sizeof w->err, "%s", err);
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int binder_bind(struct binder *b, const char *ns, const char *name, const char *uid,
		const char *node, char *err, size_t errlen)
{
	struct sync_wait w = {.done = false};
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	binder_submit(b, ns, name, uid, node, sync_done, &w);
	pthread_mutex_lock(&w.mu);
	while (!w.done)
		pthread_cond_wait(&w.cv, &w.mu);
	pthread_mutex_unlock(&w.mu);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	snprintf(err, errlen, "%s", w.err);
	return w.rc;
}

void binder_stats(struct binder *b, struct binder_stats *out)
{
	pthread_mutex_lock(&b->mu);
	*out = b->st;
	out->nodes_waited_on = 0;
	size_t it = 0;
	void *v;
	while (hmap_next(&b->nodes, &it, NULL, &v))
		out->nodes_waited_on += ((struct bnode *)v)->queued > 0;
	pthread_mutex_unlock(&b->mu);
}

struct waiters {
	int n;
	char name[];
};

void binder_waiters(struct binder *b, struct hmap *out)
{
	pthread_mutex_lock(&b->mu);
	size_t it = 0;
	void *v;
	while (hmap_next(&b->nodes, &it, NULL, &v)) {
		const struct bnode *n = v;
		if (!n->queued)
			continue;
		size_t len = strlen(n->name) + 1;
		struct waiters *w = xmalloc(sizeof *w + len);
		w->n = n->queued;
		memcpy(w->name, n->name, len);
		hmap_put(out, w->name, w);
	}
	pthread_mutex_unlock(&b->mu);
}

void binder_waiters_free(struct hmap *h)
{
	size_t it = 0;
	void *v;
	while (hmap_next(h, &it, NULL, &v))
		free(v);
	hmap_free(h);
}
