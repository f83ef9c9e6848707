/* watch.c: WATCH streams. Each watcher has its own queue, mutex and condition
 * variable: writers (holding the store lock) only append references to
 * immutable versions, so a slow reader never blocks them. The libmicrohttpd
 * content-reader callback runs on the connection's own thread
 * (thread-per-connection mode) and blocks on the watcher's condition
 * variable, waking every 200 ms to notice a vanished peer, the timeout, a
 * due bookmark, /fake/close-watches or shutdown. One JSON event per line. */
#include "fake.h"

#include <errno.h>
#include <microhttpd.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAX 2000000 /* a consumer this far behind is cut off, as the real server does */

struct qitem {
	int type;
	int initial_end;
	struct fk_ver *v; /* NULL for a bookmark */
	uint64_t rv;
	uint64_t due_ms; /* not sent before (a /fake/watch-delay lag); 0: at once */
};

struct fk_watcher {
	struct fk_kind *kind;
	char *ns; /* "" = all namespaces */
	struct fk_sel *sel;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct qitem *q;
	size_t qhead, qlen, qcap;
	int closed;
	int registered;
	struct fk_watcher *next, *prev;
	/* reader state: only the connection's thread touches these */
	struct buf out;
	size_t off;
	int finished;
	int bookmarks;
	uint64_t next_bm, deadline;
	int fd;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int w_match(const struct fk_watcher *w, const struct fk_ver *v)
{
	if (*w->ns && strcmp(v->ns, w->ns) != 0)
		return 0;
	return fk_sel_match(w->sel, v);
}

/* What this watcher sees of an event: selectors turn MODIFIED into ADDED or
 * DELETED when an object starts or stops matching, as the real server does. */
static int event_type_for(const struct fk_watcher *w, const struct fk_event *ev)
{
	int c = w_match(w, ev->cur);
	if (ev->type != FK_MODIFIED)
		return c ? ev->type : -1;
	int p = ev->prev ? w_match(w, ev->prev) : 0;
	if (c && p)
		return FK_MODIFIED;
	if (c)
		return FK_ADDED;
	if (p)
		return FK_DELETED;
	return -1;
}

/* With w->mu held. Takes the reference in it. */
static void q_push(struct fk_watcher *w, struct qitem it)
{
	if (w->closed || w->qlen >= QUEUE_MAX) {
		w->closed = 1;
		fk_ver_unref(it.v);
		return;
	}
	if (w->qlen == w->qcap) {
		size_t ncap = w->qcap ? 2 * w->qcap : 64;
		struct qitem *nq = malloc(ncap * sizeof *nq);
		if (!nq)
			abort();
		for (size_t i = 0; i < w->qlen; i++)
			nq[i] = w->q[(w->qhead + i) % w->qcap];
		free(w->q);
		w->q = nq;
		w->qcap = ncap;
		w->qhead = 0;
	}
	w->q[(w->qhead + w->qlen) % w->qcap] = it;
	w->qlen++;
}

void fk_watch_emit(struct fk_kind *k, const struct fk_event *ev)
{
	for (struct fk_watcher *w = k->watchers; w; w = w->next) {
		int t = event_type_for(w, ev);
		if (t < 0)
			continue;
		fk_ver_ref(ev->cur);
		pthread_mutex_lock(&w->mu);
		int lag = __atomic_load_n(&fk_srv.watch_delay_ms, __ATOMIC_RELAXED);
		q_push(w, (struct qitem){t, 0, ev->cur, ev->cur->rv,
					 lag > 0 ? mono_ms() + (uint64_t)lag : 0});
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
}

int fk_watch_close_all(void)
{
	int n = 0;
	for (int i = 0; i < FK_NKINDS; i++)
		for (struct fk_watcher *w = fk_srv.kinds[i].watchers; w; w = w->next) {
			pthread_mutex_lock(&w->mu);
			w->closed = 1;
			pthread_cond_broadcast(&w->cv);
			pthread_mutex_unlock(&w->mu);
			n++;
		}
	return n;
}

static const char *type_name(int t)
{
	static const char *const names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
	return t >= 0 && t <= FK_ERROR ? names[t] : "ERROR";
}

static void format_item(struct fk_watcher *w, const struct qitem *it)
{
	if (it->type == FK_BOOKMARK) {
		buf_printf(
		    &w->out,
		    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"%s\","
		    "\"metadata\":{\"resourceVersion\":\"%llu\"%s}}}\n",
		    w->kind->kind, w->kind->api_version, (unsigned long long)it->rv,
		    it->initial_end ? ",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}"
				    : "");
		return;
	}
	buf_printf(&w->out, "{\"type\":\"%s\",\"object\":", type_name(it->type));
	buf_append(&w->out, it->v->text, it->v->len);
	buf_puts(&w->out, "}\n");
}

static int peer_gone(const struct fk_watcher *w)
{
	if (w->fd < 0)
		return 0;
	struct pollfd p = {.fd = w->fd, .events = POLLRDHUP};
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* Fills w->out with the next events, a bookmark, or sets finished. -1: peer gone. */
static int refill(struct fk_watcher *w)
{
	struct qitem batch[64];
	size_t nb = 0;
	int bookmark = 0;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		if (w->closed) {
			w->finished = 1;
			break;
		}
		uint64_t now = mono_ms();
		if (w->deadline && now >= w->deadline) {
			w->finished = 1;
			break;
		}
		uint64_t due = w->qlen ? w->q[w->qhead].due_ms : 0;
		if (w->qlen && due <= now) {
			while (w->qlen && nb < 64 && w->q[w->qhead].due_ms <= now) {
				batch[nb++] = w->q[w->qhead];
				w->qhead = (w->qhead + 1) % w->qcap;
				w->qlen--;
			}
			break;
		}
		if (w->bookmarks && now >= w->next_bm) {
			bookmark = 1;
			break;
		}
		uint64_t until = now + 200;
		if (w->qlen && due < until)
			until = due;
		if (w->deadline && w->deadline < until)
			until = w->deadline;
		if (w->bookmarks && w->next_bm < until)
			until = w->next_bm;
		struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000};
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
		if (!w->qlen && !w->closed && peer_gone(w)) {
			pthread_mutex_unlock(&w->mu);
			return -1;
		}
	}
	pthread_mutex_unlock(&w->mu);
	for (size_t i = 0; i < nb; i++) {
		format_item(w, &batch[i]);
		fk_ver_unref(batch[i].v);
	}
	if (bookmark) {
		w->next_bm = mono_ms() + (uint64_t)fk_srv.cfg.bookmark_ms;
		pthread_mutex_lock(&fk_srv.mu);
		uint64_t rv = fk_srv.rv;
		pthread_mutex_lock(&w->mu);
		int empty = w->qlen == 0;
		pthread_mutex_unlock(&w->mu);
		pthread_mutex_unlock(&fk_srv.mu);
		if (empty) {
			struct qitem it = {FK_BOOKMARK, 0, NULL, rv, 0};
			format_item(w, &it);
		}
	}
	return 0;
}

static ssize_t reader(void *cls, uint64_t pos, char *out, size_t max)
{
	(void)pos;
	struct fk_watcher *w = cls;
	for (;;) {
		if (w->off < w->out.len) {
			size_t n = w->out.len - w->off;
			if (n > max)
				n = max;
			memcpy(out, w->out.data + w->off, n);
			w->off += n;
			return (ssize_t)n;
		}
		buf_reset(&w->out);
		w->off = 0;
		if (w->finished)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (refill(w) < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
}

static void w_free(void *cls)
{
	struct fk_watcher *w = cls;
	pthread_mutex_lock(&fk_srv.mu);
	if (w->registered) {
		if (w->prev)
			w->prev->next = w->next;
		else
			w->kind->watchers = w->next;
		if (w->next)
			w->next->prev = w->prev;
		fk_srv.nwatchers--;
	}
	pthread_mutex_unlock(&fk_srv.mu);
	for (size_t i = 0; i < w->qlen; i++)
		fk_ver_unref(w->q[(w->qhead + i) % w->qcap].v);
	free(w->q);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	buf_free(&w->out);
	fk_sel_free(w->sel);
	free(w->ns);
	free(w);
}

static int parse_rv(const char *s, uint64_t *rv)
{
	if (!*s)
		return -1;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*rv = v;
	return 0;
}

struct MHD_Response *fk_watch_start(struct fk_kind *k, const char *ns, struct fk_sel *sel,
				    const struct fk_watch_opts *o, struct MHD_Connection *c,
				    struct fk_err *err)
{
	uint64_t rv = 0;
	int from_now = !o->rv || !*o->rv || strcmp(o->rv, "0") == 0;
	if (!from_now && parse_rv(o->rv, &rv) != 0) {
		fk_err_set(err, 400, "BadRequest",
			   "resourceVersion: Invalid value: \"%.100s\": invalid value", o->rv);
		fk_sel_free(sel);
		return NULL;
	}
	struct fk_watcher *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	w->kind = k;
	w->ns = strdup(ns ? ns : "");
	if (!w->ns)
		abort();
	w->sel = sel;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	w->bookmarks = o->bookmarks && fk_srv.cfg.bookmark_ms > 0;
	uint64_t now = mono_ms();
	w->next_bm = now + (uint64_t)(fk_srv.cfg.bookmark_ms > 0 ? fk_srv.cfg.bookmark_ms : 0);
	w->deadline = o->timeout_s > 0 ? now + (uint64_t)o->timeout_s * 1000 : 0;
	w->fd = -1;
	const union MHD_ConnectionInfo *ci =
	    c ? MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD) : NULL;
	if (ci)
		w->fd = ci->connect_fd;

	pthread_mutex_lock(&fk_srv.mu);
	pthread_mutex_lock(&w->mu);
	if (fk_srv.shutdown) {
		w->finished = 1;
	} else if (!from_now && rv < k->oldest_rv) {
		buf_printf(
		    &w->out,
		    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
		    "\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old resource "
		    "version: %llu (%llu)\",\"reason\":\"Expired\",\"code\":410}}\n",
		    (unsigned long long)rv, (unsigned long long)k->oldest_rv);
		w->finished = 1;
	} else {
		if (from_now) {
			fk_kind_sort(k);
			for (size_t i = 0; i < k->n; i++) {
				struct fk_ver *v = k->vec[i]->cur;
				if (!w_match(w, v))
					continue;
				fk_ver_ref(v);
				q_push(w, (struct qitem){FK_ADDED, 0, v, v->rv, 0});
			}
			if (o->initial_end && w->bookmarks)
				q_push(w, (struct qitem){FK_BOOKMARK, 1, NULL, fk_srv.rv, 0});
		} else {
			for (size_t i = 0; i < k->ring_len; i++) {
				const struct fk_event *ev =
				    &k->ring[(k->ring_head + i) % k->ring_cap];
				if (ev->cur->rv <= rv)
					continue;
				int t = event_type_for(w, ev);
				if (t < 0)
					continue;
				fk_ver_ref(ev->cur);
				int lag = __atomic_load_n(&fk_srv.watch_delay_ms, __ATOMIC_RELAXED);
				q_push(w, (struct qitem){t, 0, ev->cur, ev->cur->rv,
							 lag > 0 ? mono_ms() + (uint64_t)lag : 0});
			}
		}
		w->next = k->watchers;
		if (k->watchers)
			k->watchers->prev = w;
		k->watchers = w;
		w->registered = 1;
		fk_srv.nwatchers++;
	}
	pthread_mutex_unlock(&w->mu);
	pthread_mutex_unlock(&fk_srv.mu);

	struct MHD_Response *r = MHD_create_response_from_callback(
	    MHD_SIZE_UNKNOWN, (size_t)64 * 1024, reader, w, w_free);
	if (!r) {
		w_free(w);
		fk_err_set(err, 500, "InternalError", "cannot create the watch response");
		return NULL;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-cache, private");
	return r;
}
