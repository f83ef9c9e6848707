/* http.c: libmicrohttpd glue of the fake API server: listen socket, TLS,
 * thread per connection, body accumulation with the 16 MiB limit, reply
 * helpers, per-request logging (--verbose), then per request: /fake/ control
 * paths, the bearer-token check, statistics, fault rules, and rest.c. */
#include "fake.h"

#include "vx/log.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct MHD_Daemon *daemon_;
static char *tls_cert_pem, *tls_key_pem;
/* ---- requests and responses ---- */

enum MHD_Result fk_send_buf(struct MHD_Connection *c, struct fk_req *r, int code, struct buf *b,
			    int retry_after)
{
	size_t len = b->len;
	char *data = buf_steal(b);
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
	if (retry_after > 0) {
		char ra[16];
		snprintf(ra, sizeof ra, "%d", retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	r->code = code;
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)code, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result fk_send_err(struct MHD_Connection *c, struct fk_req *r, const struct fk_err *e)
{
	struct buf b = BUF_INIT;
	fk_status_json(&b, e);
	return fk_send_buf(c, r, e->code, &b, e->retry_after);
}

enum MHD_Result fk_send_simple(struct MHD_Connection *c, struct fk_req *r, int code,
			       const char *msg)
{
	struct fk_err e;
	fk_err_set(&e, code, NULL, "%s", msg);
	return fk_send_err(c, r, &e);
}

enum MHD_Result fk_send_ver(struct MHD_Connection *c, struct fk_req *r, int code, struct fk_ver *v)
{
	struct buf b = BUF_INIT;
	buf_append(&b, v->text, v->len);
	fk_ver_unref(v);
	return fk_send_buf(c, r, code, &b, 0);
}

enum MHD_Result fk_send_success(struct MHD_Connection *c, struct fk_req *r, int code)
{
	struct buf b = BUF_INIT;
	buf_printf(
	    &b,
	    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Success\","
	    "\"code\":%d}",
	    code);
	return fk_send_buf(c, r, code, &b, 0);
}

const char *fk_arg(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

int fk_arg_true(struct MHD_Connection *c, const char *name)
{
	const char *v = fk_arg(c, name);
	return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

cJSON *fk_parse_body(struct fk_req *r, struct fk_err *e)
{
	cJSON *j = r->body.len ? cJSON_ParseWithLength(r->body.data, r->body.len) : NULL;
	if (!j) {
		fk_err_set(e, 400, "BadRequest", "couldn't get version/kind; json parse error: %s",
			   r->body.len ? "invalid JSON in the request body" : "empty request body");
		return NULL;
	}
	if (!cJSON_IsObject(j) && !cJSON_IsArray(j)) {
		cJSON_Delete(j);
		fk_err_set(e, 400, "BadRequest",
			   "couldn't get version/kind; json parse error: "
			   "the body is not a JSON object");
		return NULL;
	}
	return j;
}
static enum MHD_Result misc(struct MHD_Connection *c, struct fk_req *r, const char *url, int *done)
{
	*done = 1;
	struct buf b = BUF_INIT;
	if (strcmp(url, "/version") == 0) {
		buf_puts(&b, "{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":\"v1.32.6-fake\","
			     "\"platform\":\"linux/amd64\"}");
		return fk_send_buf(c, r, 200, &b, 0);
	}
	if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0 ||
	    strcmp(url, "/livez") == 0) {
		struct MHD_Response *resp =
		    MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
		r->code = 200;
		enum MHD_Result ret = MHD_queue_response(c, 200, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	*done = 0;
	return MHD_YES;
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	(void)kind;
	struct buf *b = cls;
	buf_printf(b, "%c%s%s%s", strchr(b->data, '?') ? '&' : '?', key, value ? "=" : "",
		   value ? value : "");
	return MHD_YES;
}

static enum MHD_Result dispatch(struct MHD_Connection *c, struct fk_req *r, const char *url,
				const char *method)
{
	if (fk_srv.cfg.verbose) {
		struct buf l = BUF_INIT;
		buf_printf(&l, "%s %s", method, url);
		MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &l);
		r->line = buf_steal(&l);
	}
	if (strncmp(url, "/fake/", 6) == 0) {
		if (r->too_large)
			return fk_send_simple(c, r, 413, "the request body is too large");
		struct buf out = BUF_INIT;
		int code = 200;
		fk_control_handle(method, url, r->body.data ? r->body.data : "", r->body.len, &code,
				  &out);
		return fk_send_buf(c, r, code, &out, 0);
	}
	if (fk_srv.cfg.token) {
		const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
		if (!h || strncasecmp(h, "Bearer ", 7) != 0 || strcmp(h + 7, fk_srv.cfg.token) != 0)
			return fk_send_simple(c, r, 401, "Unauthorized");
	}
	int watch = strcmp(method, "GET") == 0 && fk_arg_true(c, "watch");
	struct fk_route rt;
	int known = fk_route(url, &rt);
	if (known)
		fk_stats_count(watch ? "WATCH" : method, rt.tmpl);
	struct fk_fault f;
	if (fk_fault_match(method, url, watch, &f)) {
		if (f.delay_ms > 0) {
			struct timespec ts = {f.delay_ms / 1000, (f.delay_ms % 1000) * 1000000};
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
			}
		}
		if (f.status) {
			struct fk_err e;
			if (f.status == 409 && known && rt.has_name)
				fk_err_conflict(&e, rt.k, rt.name);
			else
				fk_err_set(&e, f.status, NULL, "%s", f.msg);
			e.retry_after = (f.status == 429 || f.status == 503) ? f.retry_after : 0;
			return fk_send_err(c, r, &e);
		}
	}
	if (!known) {
		int done;
		enum MHD_Result ret;
		if (fk_authz_serve(c, r, url, method, &ret))
			return ret;
		ret = misc(c, r, url, &done);
		if (done)
			return ret;
		return fk_send_simple(c, r, 404,
				      "the server could not find the requested resource");
	}
	if (r->too_large)
		return fk_send_simple(c, r, 413,
				      "the request body is too large: limit is 16777216");
	return fk_rest_serve(c, r, &rt, method, watch);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upsize, void **con_cls)
{
	(void)cls;
	(void)version;
	struct fk_req *r = *con_cls;
	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &r->t0);
		*con_cls = r;
		return MHD_YES;
	}
	if (*upsize) {
		if (r->too_large || r->body.len + *upsize > FK_BODY_MAX) {
			r->too_large = 1;
			buf_free(&r->body);
		} else {
			buf_append(&r->body, upload, *upsize);
		}
		*upsize = 0;
		return MHD_YES;
	}
	return dispatch(c, r, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct fk_req *r = *con_cls;
	if (!r)
		return;
	if (fk_srv.cfg.verbose && r->line) {
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double ms = (double)(t1.tv_sec - r->t0.tv_sec) * 1e3 +
			    (double)(t1.tv_nsec - r->t0.tv_nsec) / 1e6;
		log_info("%s -> %d (%.1f ms)", r->line, r->code, ms);
	}
	buf_free(&r->body);
	free(r->line);
	free(r);
	*con_cls = NULL;
}

/* ---- daemon ---- */

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct buf b = BUF_INIT;
	char tmp[8192];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	return buf_steal(&b);
}

static int listen_socket(const char *spec, int *port)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	if (!colon) {
		fprintf(stderr, "fake-apiserver: --listen wants ADDR:PORT, got \"%s\"\n", spec);
		return -1;
	}
	size_t hl = (size_t)(colon - spec);
	if (hl >= sizeof host)
		return -1;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	char *h = host;
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		h = host + 1;
	}
	struct addrinfo hints = {0}, *res = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	int rc = getaddrinfo(*h ? h : NULL, colon + 1, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "fake-apiserver: --listen %s: %s\n", spec, gai_strerror(rc));
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "fake-apiserver: cannot listen on %s: %s\n", spec, strerror(errno));
		return -1;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	char serv[16];
	getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, serv, sizeof serv, NI_NUMERICSERV);
	*port = atoi(serv);
	return fd;
}

int fk_http_start(void)
{
	int port = 0;
	int fd = listen_socket(fk_srv.cfg.listen, &port);
	if (fd < 0)
		return -1;
	unsigned flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
	if (fk_srv.cfg.verbose)
		flags |= MHD_USE_ERROR_LOG;
	struct MHD_OptionItem opts[8];
	int n = 0;
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, fd, NULL};
	opts[n++] =
	    (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 0, NULL};
	opts[n++] =
	    (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)256 * 1024, NULL};
	if (fk_srv.cfg.tls_cert || fk_srv.cfg.tls_key) {
		if (!fk_srv.cfg.tls_cert || !fk_srv.cfg.tls_key) {
			fprintf(stderr, "fake-apiserver: --tls-cert and --tls-key go together\n");
			close(fd);
			return -1;
		}
		tls_cert_pem = read_file(fk_srv.cfg.tls_cert);
		tls_key_pem = read_file(fk_srv.cfg.tls_key);
		if (!tls_cert_pem || !tls_key_pem) {
			fprintf(stderr, "fake-apiserver: cannot read the TLS certificate or key\n");
			close(fd);
			return -1;
		}
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, tls_cert_pem};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, tls_key_pem};
	}
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	/* the notify-completed callback is passed through MHD_OPTION_ARRAY as intptr_t
	 * by libmicrohttpd's own convention */
	daemon_ = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_ARRAY, opts,
				   MHD_OPTION_END);
	if (!daemon_) {
		fprintf(stderr, "fake-apiserver: cannot start the HTTP server\n");
		close(fd);
		return -1;
	}
	printf("LISTENING %d\n", port);
	fflush(stdout);
	return 0;
}

void fk_http_stop(void)
{
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
	free(tls_cert_pem);
	free(tls_key_pem);
	tls_cert_pem = tls_key_pem = NULL;
}
