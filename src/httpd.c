/* httpd: see httpd.h. We create the listening socket ourselves so that
 * "host:0" works (tests) and IPv6 literals parse the same way as IPv4, then
 * let libmicrohttpd's epoll thread pool serve keep-alive connections. */
#include "vx/httpd.h"
#include "vx/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long stopping waits for deferred answers to reach their clients. */
#define STOP_DRAIN_MS 3000
#define STOP_POLL_MS 10

struct httpd {
	struct MHD_Daemon *mhd;
	atomic_int deferred; /* deferred requests not yet completed */
	http_handler handler;
	void *ud;
	int port;
	int fd;
};

/* A deferred answer's progress; the handler's thread and the finishing
 * thread meet under reqctx.mu, so the connection is resumed only after it
 * was suspended, and an answer given before then is sent without either. */
enum defer_state { DEFER_NONE, DEFER_PENDING, DEFER_SUSPENDED, DEFER_DONE };

struct reqctx {
	struct httpd *d;
	struct buf body;
	bool too_large;
	struct MHD_Connection *conn;
	pthread_mutex_t mu;
	enum defer_state state;
	int status;
	const char *ctype;
	struct buf answer;
};

static int split_hostport(const char *s, char *host, size_t hl, char *port, size_t pl)
{
	const char *colon = strrchr(s, ':');
	if (!colon || !colon[1])
		return -1;
	size_t n = (size_t)(colon - s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n >= hl || strlen(colon + 1) >= pl)
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	snprintf(port, pl, "%s", colon + 1);
	return 0;
}

static int open_listener(const char *listen_addr, int *port, char *err, size_t errlen)
{
	char host[256], portstr[16];
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai;
	if (split_hostport(listen_addr, host, sizeof host, portstr, sizeof portstr)) {
		snprintf(err, errlen, "--listen %s: want ADDR:PORT", listen_addr);
		return -1;
	}
	int rc = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "--listen %s: %s", listen_addr, gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1024)) {
		snprintf(err, errlen, "--listen %s: %s", listen_addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	memset(&ss, 0, sizeof ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		in_port_t p = ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						       : ((struct sockaddr_in *)&ss)->sin_port;
		*port = ntohs(p);
	}
	return fd;
}

static enum MHD_Result send_answer(struct MHD_Connection *c, int status, const char *ctype,
				   struct buf *body, bool challenge)
{
	size_t len = body->len;
	char *data = buf_steal(body);
	struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				ctype ? ctype : "application/json");
	if (challenge)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	/* The dashboard: its own origin only, never in a frame (its menu deletes pods). */
	if (ctype && !strncmp(ctype, "text/html", 9)) {
		MHD_add_response_header(
		    r, "Content-Security-Policy",
		    "default-src 'none'; script-src 'unsafe-inline'; "
		    "style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; "
		    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
		MHD_add_response_header(r, "X-Frame-Options", "DENY");
		MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
		MHD_add_response_header(r, "Cache-Control", "no-store");
	}
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply(struct httpd *d, struct MHD_Connection *c, const char *method,
			     const char *url, struct reqctx *rc)
{
	struct http_req req = {
	    method, url, rc->body.data ? rc->body.data : "", rc->body.len, rc->too_large, c, rc};
	struct http_resp resp = {200, NULL, BUF_INIT, false, false};
	rc->conn = c;
	d->handler(d->ud, &req, &resp);
	if (!resp.deferred)
		return send_answer(c, resp.status, resp.ctype, &resp.body, resp.challenge);
	buf_free(&resp.body);
	pthread_mutex_lock(&rc->mu);
	bool done = rc->state == DEFER_DONE;
	if (!done) {
		rc->state = DEFER_SUSPENDED;
		MHD_suspend_connection(c);
	}
	pthread_mutex_unlock(&rc->mu);
	return done ? send_answer(c, rc->status, rc->ctype, &rc->answer, false) : MHD_YES;
}

struct http_call *http_defer(const struct http_req *req, struct http_resp *resp)
{
	struct reqctx *rc = req->ctx;
	atomic_fetch_add(&rc->d->deferred, 1);
	pthread_mutex_lock(&rc->mu);
	rc->state = DEFER_PENDING;
	pthread_mutex_unlock(&rc->mu);
	resp->deferred = true;
	return (struct http_call *)rc;
}

void http_finish(struct http_call *call, int status, const char *ctype, struct buf *body)
{
	struct reqctx *rc = (struct reqctx *)call;
	pthread_mutex_lock(&rc->mu);
	rc->status = status;
	rc->ctype = ctype;
	rc->answer = *body;
	*body = (struct buf)BUF_INIT;
	bool resume = rc->state == DEFER_SUSPENDED;
	struct MHD_Connection *conn = rc->conn;
	rc->state = DEFER_DONE;
	pthread_mutex_unlock(&rc->mu);
	/* Once resumed, the connection's thread may send the answer and free rc
	 * at once: touch nothing of it after this. */
	if (resume)
		MHD_resume_connection(conn);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)version;
	struct reqctx *rc = *con_cls;
	if (!rc) {
		rc = calloc(1, sizeof *rc);
		if (!rc)
			return MHD_NO;
		pthread_mutex_init(&rc->mu, NULL);
		rc->d = cls;
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		rc->too_large = cl && strtoull(cl, NULL, 10) > HTTPD_MAX_BODY;
		*con_cls = rc;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!rc->too_large && rc->body.len + *upload_size > HTTPD_MAX_BODY) {
			rc->too_large = true;
			buf_free(&rc->body);
		}
		if (!rc->too_large)
			buf_append(&rc->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (rc->state == DEFER_DONE) /* resumed: the deferred answer is ready */
		return send_answer(c, rc->status, rc->ctype, &rc->answer, false);
	return reply(cls, c, method, url, rc);
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)c, (void)toe;
	struct reqctx *rc = *con_cls;
	if (rc) {
		if (rc->state != DEFER_NONE)
			atomic_fetch_sub(&rc->d->deferred, 1);
		buf_free(&rc->body);
		buf_free(&rc->answer);
		pthread_mutex_destroy(&rc->mu);
		free(rc);
		*con_cls = NULL;
	}
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_warn("http: %s", msg);
}

struct httpd *httpd_start(const struct httpd_opts *o, http_handler h, void *ud, char *err,
			  size_t errlen)
{
	struct httpd *d = calloc(1, sizeof *d);
	if (!d)
		abort();
	d->handler = h;
	d->ud = ud;
	d->fd = open_listener(o->listen, &d->port, err, errlen);
	if (d->fd < 0) {
		free(d);
		return NULL;
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
			 MHD_ALLOW_SUSPEND_RESUME;
	bool tls = o->cert_pem && o->key_pem;
	if (tls)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem opts[] = {
	    {MHD_OPTION_THREAD_POOL_SIZE, o->threads > 0 ? o->threads : 2, NULL},
	    {MHD_OPTION_CONNECTION_TIMEOUT, o->idle_timeout_s > 0 ? o->idle_timeout_s : 120, NULL},
	    {MHD_OPTION_CONNECTION_LIMIT, o->max_connections > 0 ? o->max_connections : 4096, NULL},
	    {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)128 * 1024, NULL},
	    {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)o->cert_pem},
	    {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->key_pem},
	    {MHD_OPTION_END, 0, NULL}};
	d->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, d, MHD_OPTION_EXTERNAL_LOGGER,
				  on_mhd_log, d, MHD_OPTION_LISTEN_SOCKET, d->fd,
				  MHD_OPTION_NOTIFY_COMPLETED, on_done, d, MHD_OPTION_ARRAY, opts,
				  MHD_OPTION_END);
	if (!d->mhd) {
		snprintf(err, errlen, "cannot start the HTTP%s server on %s", tls ? "S" : "",
			 o->listen);
		close(d->fd);
		free(d);
		return NULL;
	}
	return d;
}

int httpd_port(const struct httpd *d)
{
	return d->port;
}

void httpd_stop(struct httpd *d)
{
	if (!d)
		return;
	/* Answers given just before (binds failed by the shutdown) still have
	 * to reach their clients: stop accepting, let them drain, then stop. */
	MHD_quiesce_daemon(d->mhd);
	for (int waited = 0; atomic_load(&d->deferred) > 0 && waited < STOP_DRAIN_MS;
	     waited += STOP_POLL_MS) {
		struct timespec ts = {0, STOP_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(d->mhd);
	close(d->fd);
	free(d);
}

const char *http_query(const struct http_req *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_header(const struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}
