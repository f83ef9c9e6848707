/* httpd: libmicrohttpd glue and nothing else: listening (HTTP or HTTPS),
 * body accumulation with a size limit, and handing complete requests to one
 * handler. Routing lives in api.c. A handler may defer its answer (a bind
 * waiting for a node lock): the connection is suspended, its thread goes
 * back to serving others, and the answer comes later from any thread. */
#ifndef VX_HTTPD_H
#define VX_HTTPD_H

#include "vx/buf.h"

#include <stdbool.h>
#include <stddef.h>

#define HTTPD_MAX_BODY (16u << 20) /* 16 MiB, SPEC section 4 */

struct MHD_Connection;

struct http_req {
	const char *method, *path;
	const char *body; /* NUL-terminated */
	size_t body_len;
	bool too_large; /* the body went over HTTPD_MAX_BODY and was dropped */
	struct MHD_Connection *conn;
	void *ctx; /* httpd's own, for http_defer */
};

struct http_resp {
	int status;
	const char *ctype; /* default application/json */
	struct buf body;
	bool deferred;  /* set by http_defer */
	bool challenge; /* a 401 that asks for a bearer token (WWW-Authenticate) */
};

/* A request whose answer comes later. */
struct http_call;

/* Called by a handler instead of filling resp: the answer will be given,
 * exactly once, with http_finish (possibly before the handler returns). */
struct http_call *http_defer(const struct http_req *req, struct http_resp *resp);
/* Answers a deferred request from any thread; takes body's contents.
 * ctype must be a string constant (NULL: application/json). */
void http_finish(struct http_call *call, int status, const char *ctype, struct buf *body);

typedef void (*http_handler)(void *ud, const struct http_req *req, struct http_resp *resp);

struct httpd_opts {
	const char *listen;             /* "ADDR:PORT", "[v6]:PORT" or ":PORT" */
	const char *cert_pem, *key_pem; /* both set: HTTPS */
	int threads;
	int idle_timeout_s;
	int max_connections;
};

struct httpd;

struct httpd *httpd_start(const struct httpd_opts *o, http_handler h, void *ud, char *err,
			  size_t errlen);
int httpd_port(const struct httpd *d);
void httpd_stop(struct httpd *d);
const char *http_query(const struct http_req *r, const char *key);
/* A request header (case-insensitive name), or NULL. */
const char *http_header(const struct http_req *r, const char *name);

#endif
