/* client: HTTP(S) calls and watch streams against the Kubernetes API server, over
 * libcurl. It owns TLS setup, bearer tokens (re-read when the service-account token
 * file rotates), retries with backoff, and a pool of curl easy handles so keep-alive
 * connections are reused by whichever thread calls next. The cluster-mode store
 * builds requests and parses answers; this file never looks inside a body except to
 * quote a failed watch's error message. */
#include "kube_priv.h"
#include "vx/kube.h"
#include "vx/log.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#ifndef VX_VERSION
#define VX_VERSION "dev"
#endif

#define DEFAULT_ATTEMPTS 5
#define DEFAULT_TIMEOUT_MS 10000L
#define BACKOFF_BASE_MS 100L
#define BACKOFF_MAX_MS 5000L
#define RETRY_AFTER_MAX_S 30.0
#define TOKEN_CHECK_S 1.0 /* stat the token file at most this often */
#define TOKEN_FILE_MAX (1 << 16)
#define WATCH_CONNECT_MS 10000L
#define WATCH_ERRBODY_MAX 65536
/* kube_sleep notices a stop request within this. */
#define SLEEP_STEP_MS 50L

struct token_state {
	pthread_mutex_t lock;
	char *value;      /* the bearer token sent now, or NULL */
	char *file;       /* NULL: the token never changes */
	struct stat seen; /* of the file when value was read from it */
	double checked;   /* monotonic time of the last look at the file */
	int failing;      /* the last look failed (so the warning is logged once) */
	unsigned gen;     /* bumped whenever value changes */
};

struct kube_client {
	struct kube_config cfg; /* own copy */
	CURLSH *share;          /* DNS cache and TLS sessions, shared by all handles */
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_lock;
	/* Idle handles, each keeping its connection open. Every handle is kept:
	 * there are as many as calls ever ran at once (bounded by the threads
	 * making them: bind workers, informers, lease, janitor). Capping them
	 * at 16 made the end of each burst of more concurrent binds close the
	 * extra connections, and the next burst open them again: a TCP and
	 * TLS handshake per connection, on the daemon's and the API server's
	 * CPUs, just when filter answers are wanted. */
	CURL **idle;
	size_t nidle, idle_cap;
	struct token_state tok;
	atomic_uint_fast64_t rng; /* splitmix64 state for backoff jitter */
};

static char *dup_or_null(const char *s)
{
	if (!s)
		return NULL;
	char *p = strdup(s);
	if (!p)
		abort();
	return p;
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static uint64_t rng_next(struct kube_client *c)
{
	uint64_t z = atomic_fetch_add(&c->rng, 0x9e3779b97f4a7c15ULL) + 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* ---- bearer token ---- */

static char *read_token_file(const char *path, int *errnum)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		*errnum = errno;
		return NULL;
	}
	char *v = malloc(TOKEN_FILE_MAX + 1);
	if (!v)
		abort();
	size_t n = fread(v, 1, TOKEN_FILE_MAX + 1, f);
	int bad = ferror(f) || n > TOKEN_FILE_MAX;
	fclose(f);
	if (bad) {
		*errnum = n > TOKEN_FILE_MAX ? EFBIG : EIO;
		free(v);
		return NULL;
	}
	while (n && strchr(" \t\r\n", v[n - 1])) /* the newline must not reach the header */
		n--;
	v[n] = '\0';
	if (!n)
		*errnum = ENODATA;
	return v;
}

static int same_file_state(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Re-reads the token file if it changed since the last read (any time when force,
 * else at most once per TOKEN_CHECK_S). Returns 1 when the token value changed, 0
 * otherwise, -1 when the file could not be read (*errnum set). The caller holds
 * t->lock (or is alone, as in kube_client_new). */
static int token_refresh_locked(struct token_state *t, int force, int *errnum)
{
	double now = mono_now();
	if (!t->file || (!force && now - t->checked < TOKEN_CHECK_S))
		return 0;
	t->checked = now;
	struct stat st;
	if (stat(t->file, &st) != 0) {
		*errnum = errno;
		return -1;
	}
	if (!force && t->value && same_file_state(&st, &t->seen))
		return 0;
	char *v = read_token_file(t->file, errnum);
	if (!v || !*v) {
		free(v);
		return -1;
	}
	t->seen = st;
	int changed = !t->value || strcmp(t->value, v) != 0;
	t->gen += changed;
	free(t->value);
	t->value = v;
	return changed;
}

/* Refreshes the token (see above) and logs what happened. Returns the generation
 * of the token now in use. */
static unsigned token_refresh(struct kube_client *c, int force)
{
	struct token_state *t = &c->tok;
	int e = 0;
	pthread_mutex_lock(&t->lock);
	int had = t->value != NULL, rc = token_refresh_locked(t, force, &e);
	if (rc < 0 && !t->failing)
		log_warn("kube: token file %s: %s; %s", t->file, strerror(e),
			 had ? "keeping the previous token" : "sending no token");
	else if (rc > 0 && had)
		log_info("kube: token file %s changed, using the new token", t->file);
	t->failing = rc < 0;
	unsigned gen = t->gen;
	pthread_mutex_unlock(&t->lock);
	return gen;
}

/* The Authorization header line for the next request, or NULL when no token;
 * *gen tells which token generation it carries. */
static char *auth_header(struct kube_client *c, unsigned *gen)
{
	token_refresh(c, 0);
	char *h = NULL;
	pthread_mutex_lock(&c->tok.lock);
	if (c->tok.value && asprintf(&h, "Authorization: Bearer %s", c->tok.value) < 0)
		abort();
	*gen = c->tok.gen;
	pthread_mutex_unlock(&c->tok.lock);
	return h;
}

/* ---- handles ---- */

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *ud)
{
	(void)h;
	(void)a;
	pthread_mutex_lock(&((struct kube_client *)ud)->share_locks[d]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *ud)
{
	(void)h;
	pthread_mutex_unlock(&((struct kube_client *)ud)->share_locks[d]);
}

/* Options every transfer needs: target, TLS trust and client identity. Returns the
 * first option libcurl refused (so kube_client_new can report an unusable setup). */
static CURLcode set_common(struct kube_client *c, CURL *h, const char *url, char *errbuf)
{
	const struct kube_config *k = &c->cfg;
	CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (rc == CURLE_OK)                                                                \
			rc = curl_easy_setopt(h, opt, val);                                        \
	} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_NOSIGNAL, 1L); /* we run in many threads: no SIGALRM timeouts */
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_SHARE, c->share);
	SET(CURLOPT_USERAGENT, "vgpu-extender/" VX_VERSION);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	if (k->insecure) {
		SET(CURLOPT_SSL_VERIFYPEER, 0L);
		SET(CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (k->ca_data || k->ca_file) {
		struct curl_blob ca = {k->ca_data, k->ca_data ? strlen(k->ca_data) : 0,
				       CURL_BLOB_NOCOPY};
		if (k->ca_data)
			SET(CURLOPT_CAINFO_BLOB, &ca);
		else
			SET(CURLOPT_CAINFO, k->ca_file);
		SET(CURLOPT_CAPATH, NULL); /* trust this CA only, not the system's too */
	}
	struct curl_blob cert = {k->cert_data, k->cert_data ? strlen(k->cert_data) : 0,
				 CURL_BLOB_NOCOPY};
	struct curl_blob key = {k->key_data, k->key_data ? strlen(k->key_data) : 0,
				CURL_BLOB_NOCOPY};
	if (k->cert_data)
		SET(CURLOPT_SSLCERT_BLOB, &cert);
	else if (k->cert_file)
		SET(CURLOPT_SSLCERT, k->cert_file);
	if (k->key_data)
		SET(CURLOPT_SSLKEY_BLOB, &key);
	else if (k->key_file)
		SET(CURLOPT_SSLKEY, k->key_file);
#undef SET
	return rc;
}

static CURL *handle_get(struct kube_client *c)
{
	pthread_mutex_lock(&c->pool_lock);
	CURL *h = c->nidle ? c->idle[--c->nidle] : NULL;
	pthread_mutex_unlock(&c->pool_lock);
	if (h)
		curl_easy_reset(h); /* forgets options, keeps its open connection */
	else if (!(h = curl_easy_init()))
		abort();
	return h;
}

static void handle_put(struct kube_client *c, CURL *h)
{
	pthread_mutex_lock(&c->pool_lock);
	if (c->nidle == c->idle_cap) {
		size_t cap = c->idle_cap ? 2 * c->idle_cap : 16;
		CURL **grown = realloc(c->idle, cap * sizeof *grown);
		if (grown) {
			c->idle = grown;
			c->idle_cap = cap;
		}
	}
	if (c->nidle < c->idle_cap) {
		c->idle[c->nidle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->pool_lock);
	if (h) /* out of memory: this connection goes */
		curl_easy_cleanup(h);
}

/* ---- client lifecycle ---- */

int kube_global_init(char *err, size_t errlen)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK) {
		kube_seterr(err, errlen, "libcurl: %s", curl_easy_strerror(rc));
		return -1;
	}
	if (!(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_SSL)) {
		curl_global_cleanup();
		kube_seterr(err, errlen, "libcurl was built without TLS support");
		return -1;
	}
	return 0;
}

void kube_global_cleanup(void)
{
	curl_global_cleanup();
}

static void copy_config(struct kube_config *d, const struct kube_config *s)
{
	d->server = dup_or_null(s->server);
	d->ca_file = dup_or_null(s->ca_file);
	d->ca_data = dup_or_null(s->ca_data);
	d->token = dup_or_null(s->token);
	d->token_file = dup_or_null(s->token_file);
	d->cert_file = dup_or_null(s->cert_file);
	d->cert_data = dup_or_null(s->cert_data);
	d->key_file = dup_or_null(s->key_file);
	d->key_data = dup_or_null(s->key_data);
	d->insecure = s->insecure;
	d->namespace = dup_or_null(s->namespace ? s->namespace : "default");
	for (size_t n = strlen(d->server); n > 0 && d->server[n - 1] == '/'; n--)
		d->server[n - 1] = '\0';
}

/* Fails early on what would otherwise fail every call: an unreadable token file
 * with no token to fall back on, or TLS options this libcurl cannot take. */
static int client_check(struct kube_client *c, char *err, size_t errlen)
{
	int e = 0;
	if (c->tok.file && token_refresh_locked(&c->tok, 1, &e) < 0 && !c->tok.value) {
		kube_seterr(err, errlen, "token file %s: %s", c->tok.file, strerror(e));
		return -1;
	}
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *h = handle_get(c);
	CURLcode rc = set_common(c, h, c->cfg.server, errbuf);
	handle_put(c, h);
	if (rc != CURLE_OK) {
		kube_seterr(err, errlen, "API server %s: libcurl cannot use this TLS setup: %s",
			    c->cfg.server, curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

struct kube_client *kube_client_new(const struct kube_config *cfg, char *err, size_t errlen)
{
	if (!cfg || !cfg->server || !*cfg->server) {
		kube_seterr(err, errlen, "kube client: no API server address");
		return NULL;
	}
	struct kube_client *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	copy_config(&c->cfg, cfg);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_locks[i], NULL);
	pthread_mutex_init(&c->pool_lock, NULL);
	pthread_mutex_init(&c->tok.lock, NULL);
	c->tok.value = dup_or_null(cfg->token);
	c->tok.file = dup_or_null(cfg->token_file);
	c->tok.checked = -1e9;
	atomic_init(&c->rng, (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)c);
	if (!(c->share = curl_share_init()))
		abort();
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	if (client_check(c, err, errlen)) {
		kube_client_free(c);
		return NULL;
	}
	return c;
}

void kube_client_free(struct kube_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nidle; i++)
		curl_easy_cleanup(c->idle[i]); /* before the share they point at */
	free(c->idle);
	curl_share_cleanup(c->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_locks[i]);
	pthread_mutex_destroy(&c->pool_lock);
	pthread_mutex_destroy(&c->tok.lock);
	free(c->tok.value);
	free(c->tok.file);
	kube_config_free(&c->cfg);
	free(c);
}

void kube_resp_free(struct kube_resp *r)
{
	if (!r)
		return;
	buf_free(&r->body);
	r->status = 0;
	r->retry_after = 0;
}

/* ---- requests ---- */

struct req {
	const char *method, *path, *url, *content_type, *body;
	size_t body_len;
	long timeout_ms;
};

struct xfer {
	struct kube_resp *resp;
	double retry_after;
};

/* Retry-After is either delta-seconds or an HTTP date. */
static double parse_retry_after(const char *p, size_t n)
{
	char v[64];
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && strchr(" \t\r\n", p[n - 1]))
		n--;
	if (!n || n >= sizeof v)
		return 0;
	memcpy(v, p, n);
	v[n] = '\0';
	char *end;
	double s = strtod(v, &end);
	if (end == v || *end) {
		time_t when = curl_getdate(v, NULL);
		s = when < 0 ? 0 : difftime(when, time(NULL));
	}
	return s > 0 ? s : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
		x->retry_after = 0; /* a new response begins (after a 100 Continue, say) */
	else if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0)
		x->retry_after = parse_retry_after(p + 12, len - 12);
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	buf_append(&x->resp->body, p, size * n);
	return size * n;
}

static struct curl_slist *request_headers(struct kube_client *c, const struct req *rq,
					  unsigned *token_gen)
{
	struct curl_slist *l = curl_slist_append(NULL, "Accept: application/json");
	l = curl_slist_append(l, "Expect:"); /* no 100-continue round trip for big bodies */
	if (rq->body) {
		char ct[256];
		snprintf(ct, sizeof ct, "Content-Type: %s",
			 rq->content_type ? rq->content_type : "application/json");
		l = curl_slist_append(l, ct);
	}
	char *auth = auth_header(c, token_gen);
	if (auth)
		l = curl_slist_append(l, auth);
	free(auth);
	if (!l)
		abort();
	return l;
}

/* One HTTP exchange on handle h; fills resp when an answer arrived. */
static CURLcode perform_on(struct kube_client *c, CURL *h, const struct req *rq,
			   struct kube_resp *resp, char *errbuf, unsigned *token_gen)
{
	struct curl_slist *hdrs = request_headers(c, rq, token_gen);
	struct xfer x = {resp, 0};
	buf_reset(&resp->body);
	resp->status = 0;
	resp->retry_after = 0;
	errbuf[0] = '\0';
	CURLcode rc = set_common(c, h, rq->url, errbuf);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* big lists come gzipped */
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	if (strcmp(rq->method, "GET") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
	if (rq->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
	}
	if (rc == CURLE_OK)
		rc = curl_easy_perform(h);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
		resp->retry_after = x.retry_after;
	}
	curl_slist_free_all(hdrs);
	return rc;
}

/* One HTTP exchange on a pooled handle (and its open connection). */
static CURLcode attempt(struct kube_client *c, const struct req *rq, struct kube_resp *resp,
			char *errbuf, unsigned *token_gen)
{
	CURL *h = handle_get(c);
	CURLcode rc = perform_on(c, h, rq, resp, errbuf, token_gen);
	handle_put(c, h);
	return rc;
}

/* One GET /version on a fresh handle, leaving its connection open. */
static CURLcode open_one(struct kube_client *c, CURL *h, const char *url, long timeout_ms)
{
	char errbuf[CURL_ERROR_SIZE];
	unsigned gen;
	struct kube_resp r = {0};
	const struct req rq = {"GET", "/version", url, NULL, NULL, 0, timeout_ms};
	CURLcode rc = perform_on(c, h, &rq, &r, errbuf, &gen);
	kube_resp_free(&r);
	return rc;
}

int kube_preconnect(struct kube_client *c, int n, long budget_ms, const atomic_int *stop)
{
	CURL **hs = n > 0 ? calloc((size_t)n, sizeof *hs) : NULL;
	char url[1024];
	int opened = 0, made = 0;
	double end = mono_now() + (double)budget_ms / 1000;
	snprintf(url, sizeof url, "%s/version", c->cfg.server);
	/* Fresh handles, held until the end: a pooled one would reuse its
	 * connection, and each must bring a connection of its own. */
	while (hs && made < n && !(stop && atomic_load(stop))) {
		long left = (long)((end - mono_now()) * 1000);
		if (left <= 0 || !(hs[made] = curl_easy_init()))
			break;
		if (open_one(c, hs[made++], url, left) != CURLE_OK)
			break; /* the server is not answering: later calls will say so */
		opened++;
	}
	for (int i = 0; i < made; i++)
		handle_put(c, hs[i]);
	free(hs);
	return opened;
}

/* Failures that may pass: the network, the server's load, a timeout. Not TLS
 * verification or a bad URL, which will fail the same way every time. */
static int retryable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM: return 1;
	default: return 0;
	}
}

static int retryable_status(long status)
{
	return status == 429 || status >= 500;
}

/* Retry-After when the server gave one on 429/503, else exponential backoff with
 * full jitter (a random wait up to the doubled cap) so retrying threads spread out. */
static long retry_delay_ms(struct kube_client *c, int attempt_no, const struct kube_resp *r)
{
	if (r && (r->status == 429 || r->status == 503) && r->retry_after > 0) {
		double s = r->retry_after < RETRY_AFTER_MAX_S ? r->retry_after : RETRY_AFTER_MAX_S;
		return (long)(s * 1000);
	}
	long cap = BACKOFF_BASE_MS << (attempt_no < 8 ? attempt_no - 1 : 7);
	if (cap > BACKOFF_MAX_MS)
		cap = BACKOFF_MAX_MS;
	return (long)(rng_next(c) % (uint64_t)(cap + 1));
}

static void describe_failure(char *out, size_t outlen, CURLcode rc, const char *errbuf)
{
	/* libcurl's own buffer is the more specific text (host, port, errno) */
	snprintf(out, outlen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

static int run_request(struct kube_client *c, const struct req *rq, struct kube_resp *resp,
		       int max_attempts, char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE], why[CURL_ERROR_SIZE + 64];
	int n = 1, reauthed = 0;
	unsigned sent_gen;
	for (;;) {
		CURLcode rc = attempt(c, rq, resp, errbuf, &sent_gen);
		/* The token may have rotated under us (perhaps another thread already
		 * loaded the new one): then once more, at no cost. */
		if (rc == CURLE_OK && resp->status == 401 && !reauthed &&
		    token_refresh(c, 1) != sent_gen) {
			reauthed = 1;
			continue;
		}
		int again = rc == CURLE_OK ? retryable_status(resp->status) : retryable_curl(rc);
		if (rc == CURLE_OK)
			snprintf(why, sizeof why, "HTTP %ld", resp->status);
		else
			describe_failure(why, sizeof why, rc, errbuf);
		if (!again || n >= max_attempts) {
			if (rc == CURLE_OK)
				return 0;
			kube_seterr(err, errlen, "%s %s: %s (%d attempt%s)", rq->method, rq->url,
				    why, n, n == 1 ? "" : "s");
			return -1;
		}
		long delay = retry_delay_ms(c, n, rc == CURLE_OK ? resp : NULL);
		log_warn("kube: %s %s: %s, attempt %d/%d; retrying in %ld ms", rq->method, rq->path,
			 why, n, max_attempts, delay);
		sleep_ms(delay);
		n++;
	}
}

int kube_request(struct kube_client *c, const char *method, const char *path,
		 const char *content_type, const char *body, size_t body_len,
		 struct kube_resp *resp, const struct kube_call_opts *opts, char *err,
		 size_t errlen)
{
	resp->status = 0;
	resp->body = (struct buf)BUF_INIT;
	resp->retry_after = 0;
	if (!method || !path || path[0] != '/') {
		kube_seterr(err, errlen, "kube request: path must start with '/' (got \"%s\")",
			    path ? path : "(null)");
		return -1;
	}
	struct req rq = {method, path, NULL, content_type, body, body_len, DEFAULT_TIMEOUT_MS};
	int is_write =
	    !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH");
	if (!strcmp(method, "GET"))
		rq.body = NULL; /* a body would turn it into a POST */
	else if (!rq.body && is_write)
		rq.body = ""; /* still send Content-Length: 0 */
	if (!rq.body)
		rq.body_len = 0;
	int max_attempts = opts && opts->max_attempts > 0 ? opts->max_attempts : DEFAULT_ATTEMPTS;
	if (opts && opts->timeout_ms > 0)
		rq.timeout_ms = opts->timeout_ms;
	char *url;
	if (asprintf(&url, "%s%s", c->cfg.server, path) < 0)
		abort();
	rq.url = url;
	int rc = run_request(c, &rq, resp, max_attempts, err, errlen);
	free(url);
	return rc;
}

/* ---- watch ---- */

struct watch {
	CURL *h;
	kube_line_cb on_line;
	void *ud;
	const atomic_int *stop;
	long idle_ms;
	double last_byte;
	long status;      /* known once the body starts */
	int stopped;      /* on_line or *stop ended it */
	int idle;         /* the idle timeout ended it */
	struct buf lines; /* bytes not yet handed out */
	size_t scanned;   /* lines.data[0..scanned) holds no newline */
	struct buf errbody;
};

static int stop_requested(const struct watch *w)
{
	return w->stop && atomic_load(w->stop);
}

/* Hands out every complete line in w->lines and keeps the unfinished tail.
 * Returns non-zero when the watch must stop. */
static int deliver_lines(struct watch *w)
{
	char *d = w->lines.data;
	size_t start = 0;
	int stop = 0;
	while (!stop) {
		char *nl = memchr(d + w->scanned, '\n', w->lines.len - w->scanned);
		if (!nl) {
			w->scanned = w->lines.len;
			break;
		}
		size_t end = (size_t)(nl - d), len = end - start;
		if (len && d[start + len - 1] == '\r')
			len--;
		d[start + len] = '\0';
		stop = (len && w->on_line(w->ud, d + start, len)) || stop_requested(w);
		start = w->scanned = end + 1;
	}
	memmove(d, d + start, w->lines.len - start);
	w->lines.len -= start;
	w->scanned -= start;
	d[w->lines.len] = '\0';
	return stop;
}

static size_t watch_body(char *p, size_t size, size_t n, void *ud)
{
	struct watch *w = ud;
	size_t len = size * n;
	w->last_byte = mono_now();
	if (!w->status)
		curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->status != 200) {
		if (w->errbody.len < WATCH_ERRBODY_MAX)
			buf_append(&w->errbody, p, len);
		return len;
	}
	buf_append(&w->lines, p, len);
	if (deliver_lines(w)) {
		w->stopped = 1;
		return 0; /* makes libcurl abort the transfer */
	}
	return len;
}

static size_t watch_header(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	((struct watch *)ud)->last_byte = mono_now();
	return size * n;
}

/* libcurl calls this about once a second even when nothing arrives. */
static int watch_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			  curl_off_t ulnow)
{
	struct watch *w = ud;
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (stop_requested(w)) {
		w->stopped = 1;
		return 1;
	}
	if (w->idle_ms > 0 && (mono_now() - w->last_byte) * 1000 >= (double)w->idle_ms) {
		w->idle = 1;
		return 1;
	}
	return 0;
}

static void setup_watch(struct kube_client *c, struct watch *w, const char *url,
			struct curl_slist *hdrs, char *errbuf)
{
	CURL *h = w->h;
	set_common(c, h, url, errbuf); /* kube_client_new proved these options work */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, WATCH_CONNECT_MS);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, watch_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, watch_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, w);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, watch_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, w);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
}

/* The Status object's message of a refused watch, else the start of its body. */
static void watch_refused(struct watch *w, const char *path, char *err, size_t errlen)
{
	cJSON *j = cJSON_ParseWithLength(w->errbody.data ? w->errbody.data : "", w->errbody.len);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
	const char *msg = cJSON_IsString(m) ? m->valuestring
			  : w->errbody.len  ? w->errbody.data
					    : "(empty body)";
	kube_seterr(err, errlen, "watch %s: HTTP %ld: %.300s", path, w->status, msg);
	cJSON_Delete(j);
}

static long watch_result(struct kube_client *c, struct watch *w, CURLcode rc, const char *path,
			 const char *errbuf, char *err, size_t errlen)
{
	if (!w->status)
		curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->idle) {
		kube_seterr(err, errlen, "watch %s: no data for %ld ms", path, w->idle_ms);
		return -1;
	}
	if (w->stopped)
		return w->status ? w->status : 200;
	if (rc != CURLE_OK) {
		char why[CURL_ERROR_SIZE + 64];
		describe_failure(why, sizeof why, rc, errbuf);
		kube_seterr(err, errlen, "watch %s: %s", path, why);
		return -1;
	}
	if (w->status == 200) {
		if (w->lines.len) /* a last line without its newline */
			w->on_line(w->ud, w->lines.data, w->lines.len);
		return 200;
	}
	if (w->status == 401)
		token_refresh(c, 1); /* so the caller's next watch sends a rotated token */
	watch_refused(w, path, err, errlen);
	return w->status;
}

long kube_watch(struct kube_client *c, const char *path, kube_line_cb on_line, void *ud,
		const atomic_int *stop, long idle_timeout_ms, char *err, size_t errlen)
{
	if (!path || path[0] != '/' || !on_line) {
		kube_seterr(err, errlen,
			    "watch: needs a path starting with '/' and a line callback");
		return -1;
	}
	struct watch w = {.on_line = on_line,
			  .ud = ud,
			  .stop = stop,
			  .idle_ms = idle_timeout_ms,
			  .lines = BUF_INIT,
			  .errbody = BUF_INIT};
	char *url, errbuf[CURL_ERROR_SIZE] = "";
	if (asprintf(&url, "%s%s", c->cfg.server, path) < 0)
		abort();
	struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
	unsigned gen;
	char *auth = auth_header(c, &gen);
	if (auth)
		hdrs = curl_slist_append(hdrs, auth);
	free(auth);
	w.h = handle_get(c);
	setup_watch(c, &w, url, hdrs, errbuf);
	w.last_byte = mono_now();
	CURLcode rc = stop_requested(&w) ? CURLE_OK : curl_easy_perform(w.h);
	w.stopped |= stop_requested(&w);
	long status = watch_result(c, &w, rc, path, errbuf, err, errlen);
	handle_put(c, w.h);
	curl_slist_free_all(hdrs);
	buf_free(&w.lines);
	buf_free(&w.errbody);
	free(url);
	return status;
}

void kube_status_message(const struct kube_resp *r, char *out, size_t len)
{
	cJSON *st = r->body.len ? cJSON_ParseWithLength(r->body.data, r->body.len) : NULL;
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(st, "message");
	snprintf(out, len, "%s",
		 cJSON_IsString(msg) ? msg->valuestring
		 : r->status         ? "unexpected answer"
				     : "no answer");
	cJSON_Delete(st);
}

void kube_sleep(const atomic_int *stop, long ms)
{
	for (long slept = 0; slept < ms && !(stop && atomic_load(stop)); slept += SLEEP_STEP_MS) {
		long step = ms - slept < SLEEP_STEP_MS ? ms - slept : SLEEP_STEP_MS;
		struct timespec ts = {0, step * 1000000L};
		nanosleep(&ts, NULL);
	}
}
