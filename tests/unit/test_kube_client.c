/* Tests for client.c against a tiny HTTP/1.1 server run in a thread of the test:
 * it answers each request with the next canned step and records what it got. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vx/kube.h"

/* ---- the canned server ---- */

struct step {
	int status;                /* 0: send nothing at all (and hang) */
	const char *headers;       /* extra header lines, each ending in \r\n */
	const char *body;          /* sent with Content-Length */
	const char *const *chunks; /* or sent chunked, NULL-terminated, with pauses */
	int hang;                  /* then keep the stream open until the client leaves */
	const char *want_auth;     /* a different Authorization header gets a 401 */
};

#define MAX_REQS 256
#define MAX_CONNS 32

struct srv {
	int lfd, port, wake[2];
	pthread_t th;
	const struct step *steps;
	size_t nsteps, next;
	pthread_mutex_t lock;
	int nreq, naccept;
	int delay_ms;              /* every answer this much later (set under lock) */
	char reqs[MAX_REQS][1024]; /* head and body of each request, truncated */
};

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w, n -= (size_t)w;
	}
}

/* Reads one request; returns its length, 0 when the client went away. */
static size_t read_request(int fd, char *out, size_t cap)
{
	size_t len = 0;
	char *end = NULL;
	while (!end) {
		ssize_t r = recv(fd, out + len, cap - 1 - len, 0);
		if (r <= 0)
			return 0;
		len += (size_t)r;
		out[len] = '\0';
		end = strstr(out, "\r\n\r\n");
	}
	const char *cl = strcasestr(out, "\r\nContent-Length:");
	size_t want = (size_t)(end + 4 - out) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
	while (len < want && len < cap - 1) {
		ssize_t r = recv(fd, out + len, cap - 1 - len, 0);
		if (r <= 0)
			return 0;
		len += (size_t)r;
	}
	out[len] = '\0';
	return len;
}

/* Waits for the client to close (or the test to end). */
static void hang(struct srv *s, int fd)
{
	struct pollfd p[2] = {{fd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
	char junk[256];
	while (poll(p, 2, 10000) > 0 && !(p[1].revents & POLLIN))
		if (recv(fd, junk, sizeof junk, 0) <= 0)
			break;
}

static const struct step *pick_step(struct srv *s, const char *req)
{
	static const struct step unauthorized = {401,  NULL, "{\"kind\":\"Status\",\"code\":401}",
						 NULL, 0,    NULL};
	pthread_mutex_lock(&s->lock);
	if (s->nreq < MAX_REQS)
		snprintf(s->reqs[s->nreq++], sizeof s->reqs[0], "%s", req);
	const struct step *st = &s->steps[s->next < s->nsteps ? s->next : s->nsteps - 1];
	char want[128] = "";
	if (st->want_auth)
		snprintf(want, sizeof want, "\r\nAuthorization: %s\r\n", st->want_auth);
	if (st->want_auth && !strstr(req, want))
		st = &unauthorized;
	else
		s->next++;
	pthread_mutex_unlock(&s->lock);
	return st;
}

/* Answers one request; returns 0 when the connection must be closed. */
static int respond(struct srv *s, int fd, const char *req)
{
	const struct step *st = pick_step(s, req);
	char head[512];
	if (!st->status) {
		hang(s, fd);
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	int delay_ms = s->delay_ms;
	pthread_mutex_unlock(&s->lock);
	if (delay_ms)
		usleep((useconds_t)delay_ms * 1000);
	int n = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\n%s", st->status,
			 st->headers ? st->headers : "");
	if (st->chunks)
		n += snprintf(head + n, sizeof head - (size_t)n,
			      "Transfer-Encoding: chunked\r\n\r\n");
	else
		n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n\r\n",
			      st->body ? strlen(st->body) : 0);
	send_all(fd, head, (size_t)n);
	for (const char *const *c = st->chunks; c && *c; c++) {
		usleep(30000); /* separate TCP segments, so separate reads in the client */
		n = snprintf(head, sizeof head, "%zx\r\n", strlen(*c));
		send_all(fd, head, (size_t)n);
		send_all(fd, *c, strlen(*c));
		send_all(fd, "\r\n", 2);
	}
	if (st->hang) {
		hang(s, fd);
		return 0;
	}
	if (st->chunks)
		send_all(fd, "0\r\n\r\n", 5);
	else if (st->body)
		send_all(fd, st->body, strlen(st->body));
	return 1;
}

static void *serve(void *arg)
{
	struct srv *s = arg;
	struct pollfd p[2 + MAX_CONNS] = {{s->lfd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
	int n = 2;
	char *req = malloc(65536);
	if (!req) /* no cmocka asserts here: this is not the test's thread */
		abort();
	while (poll(p, (nfds_t)n, -1) >= 0 && !(p[1].revents & POLLIN)) {
		for (int i = n - 1; i >= 2; i--) {
			if (!p[i].revents)
				continue;
			if (!read_request(p[i].fd, req, 65536) || !respond(s, p[i].fd, req)) {
				close(p[i].fd);
				p[i] = p[--n];
			}
		}
		int fd = (p[0].revents & POLLIN) ? accept(s->lfd, NULL, NULL) : -1;
		if (fd >= 0 && n < 2 + MAX_CONNS) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			p[n++] = (struct pollfd){fd, POLLIN, 0};
			pthread_mutex_lock(&s->lock);
			s->naccept++;
			pthread_mutex_unlock(&s->lock);
		} else if (fd >= 0) {
			close(fd);
		}
	}
	for (int i = 2; i < n; i++)
		close(p[i].fd);
	free(req);
	return NULL;
}

static int listen_local(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&a, &alen))
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static void srv_start(struct srv *s, const struct step *steps, size_t nsteps)
{
	memset(s, 0, sizeof *s);
	s->steps = steps;
	s->nsteps = nsteps;
	pthread_mutex_init(&s->lock, NULL);
	s->lfd = listen_local(&s->port);
	assert_true(s->lfd >= 0);
	assert_int_equal(pipe(s->wake), 0);
	assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void srv_stop(struct srv *s)
{
	assert_int_equal(write(s->wake[1], "x", 1), 1);
	pthread_join(s->th, NULL);
	close(s->lfd);
	close(s->wake[0]);
	close(s->wake[1]);
	pthread_mutex_destroy(&s->lock);
}

static int srv_nreq(struct srv *s)
{
	pthread_mutex_lock(&s->lock);
	int n = s->nreq;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* ---- helpers ---- */

static struct kube_client *client_for(struct srv *s, const char *token, const char *token_file)
{
	char server[64], err[256] = "";
	snprintf(server, sizeof server, "http://127.0.0.1:%d/", s->port);
	struct kube_config cfg = {
	    .server = server, .token = (char *)token, .token_file = (char *)token_file};
	struct kube_client *c = kube_client_new(&cfg, err, sizeof err);
	if (!c)
		fail_msg("kube_client_new: %s", err);
	return c;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- requests ---- */

static void test_bearer_and_body(void **state)
{
	(void)state;
	static const struct step steps[] = {{200, NULL, "{\"kind\":\"Pod\"}", NULL, 0, NULL},
					    {201, NULL, "{}", NULL, 0, NULL}};
	struct srv s;
	srv_start(&s, steps, ARRAY_LEN(steps));
	struct kube_client *c = client_for(&s, "s3cret", NULL);
	struct kube_resp r;
	char err[256];
	assert_int_equal(kube_request(c, "GET", "/api/v1/namespaces/a/pods/b?x=1", NULL, NULL, 0,
				      &r, NULL, err, sizeof err),
			 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "{\"kind\":\"Pod\"}");
	kube_resp_free(&r);
	assert_int_equal(kube_request(c, "PATCH", "/api/v1/nodes/n1",
				      "application/merge-patch+json", "{\"a\":1}", 7, &r, NULL, err,
				      sizeof err),
			 0);
	assert_int_equal(r.status, 201);
	kube_resp_free(&r);
	kube_client_free(c);
	srv_stop(&s);
	assert_int_equal(s.nreq, 2);
	assert_non_null(strstr(s.reqs[0], "GET /api/v1/namespaces/a/pods/b?x=1 HTTP/1.1\r\n"));
	assert_non_null(strstr(s.reqs[0], "\r\nAuthorization: Bearer s3cret\r\n"));
	assert_non_null(strstr(s.reqs[0], "\r\nAccept: application/json\r\n"));
	assert_non_null(strstr(s.reqs[1], "PATCH /api/v1/nodes/n1 HTTP/1.1\r\n"));
	assert_non_null(strstr(s.reqs[1], "\r\nContent-Type: application/merge-patch+json\r\n"));
	assert_non_null(strstr(s.reqs[1], "\r\n\r\n{\"a\":1}"));
	assert_int_equal(s.naccept, 1); /* the second call reused the connection */
}

static void test_retry_500_then_ok(void **state)
{
	(void)state;
	static const struct step steps[] = {{500, NULL, "boom", NULL, 0, NULL},
					    {502, NULL, NULL, NULL, 0, NULL},
					    {200, NULL, "ok", NULL, 0, NULL}};
	struct srv s;
	srv_start(&s, steps, ARRAY_LEN(steps));
	struct kube_client *c = client_for(&s, NULL, NULL);
	struct kube_resp r;
	char err[256];
	assert_int_equal(kube_request(c, "POST", "/api/v1/namespaces/a/pods/b/binding", NULL, "{}",
				      2, &r, NULL, err, sizeof err),
			 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "ok"); /* the failed attempts' bodies are gone */
	kube_resp_free(&r);
	kube_client_free(c);
	srv_stop(&s);
	assert_int_equal(s.nreq, 3);
	assert_null(strstr(s.reqs[0], "Authorization:"));
	assert_non_null(strstr(s.reqs[2], "\r\n\r\n{}"));
}

static void test_429_retry_after(void **state)
{
	(void)state;
	static const struct step steps[] = {{429, "Retry-After: 1\r\n", "slow down", NULL, 0, NULL},
					    {200, NULL, "ok", NULL, 0, NULL}};
	struct srv s;
	srv_start(&s, steps, ARRAY_LEN(steps));
	struct kube_client *c = client_for(&s, NULL, NULL);
	struct kube_resp r;
	char err[256];
	double t0 = now_s();
	assert_int_equal(
	    kube_request(c, "GET", "/api/v1/nodes", NULL, NULL, 0, &r, NULL, err, sizeof err), 0);
	double waited = now_s() - t0;
	assert_int_equal(r.status, 200);
	kube_resp_free(&r);
	kube_client_free(c);
	srv_stop(&s);
	assert_int_equal(s.nreq, 2);
	assert_true(waited >= 0.95);
	assert_true(waited < 3.0);
}

static void test_no_retry_on_404(void **state)
{
	(void)state;
	static const struct step steps[] = {{404, NULL, "{\"reason\":\"NotFound\"}", NULL, 0, NULL},
					    {200, NULL, "ok", NULL, 0, NULL}};
	struct srv s;
	srv_start(&s, steps, ARRAY_LEN(steps));
	struct kube_client *c = client_for(&s, NULL, NULL);
	struct kube_resp r;
	char err[256];
	assert_int_equal(kube_request(c, "DELETE", "/api/v1/namespaces/a/pods/gone", NULL, NULL, 0,
				      &r, NULL, err, sizeof err),
			 0);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body.data, "{\"reason\":\"NotFound\"}");
	kube_resp_free(&r);
	kube_client_free(c);
	srv_stop(&s);
	assert_int_equal(s.nreq, 1);
	assert_non_null(strstr(s.reqs[0], "DELETE /api/v1/namespaces/a/pods/gone HTTP/1.1"));
}

static void test_gives_up_after_max_attempts(void **state)
{
	(void)state;
	static const struct step steps[] = {{503, NULL, "busy", NULL, 0, NULL}};
	struct srv s;
	srv_start(&s, steps, ARRAY_LEN(steps));
	struct kube_client *c = client_for(&s, NULL, NULL);
	struct kube_resp r;
	struct kube_call_opts o = {.max_attempts = 3};
	char err[256];
	assert_int_equal(kube_request(c, "GET", "/x", NULL, NULL, 0, &r, &o, err, sizeof err), 0);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body.data, "busy");
	kube_resp_free(&r);
	kube_client_free(c);
	srv_stop(&s);
	assert_int_equal(s.nreq, 3);
}

static void test_connection_refused(void **state)
{
	(void)state;
	int port, fd = listen_local(&port);
	close(fd); /* nobody listens there now */
	char server[64], err[256] = "";
	snprintf(server, sizeof server, "http://127.0.0.1:%d", port);
	struct kube_config cfg = {.server = server};
	struct kube_client *c = kube_client_new(&cfg, err, sizeof err);
	assert_non_null(c);
	struct kube_resp r;
	struct kube_call_opts o = {.max_attempts = 2};
	assert_int_equal(kube_request(c, "GET", "/healthz", NULL, NULL, 0, &r, &o, err, sizeof err),
			 -1);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(err, "GET http://127.0.0.1:"));
	assert_non_null(strstr(err, "(2 attempts)"));
	kube_resp_free(&r);
	kube_client_free(c);
}

static void test_timeout(void **state)
{
	(void)state;
	static const struct step steps[] = {{0, NULL, NULL, NULL, 0, NULL}};
	struct srv s;
	srv_start(&s, steps, ARRAY_LEN(steps));
	struct kube_client *c = client_for(&s, NULL, NULL);
	struct kube_resp r;
	struct kube_call_opts o = {.max_attempts = 1, .timeout_ms = 300};
	char err[256];
	double t0 = now_s();
	assert_int_equal(kube_request(c, "GET", "/slow", NULL, NULL, 0, &r, &o, err, sizeof err),
			 -1);
	assert_true(now_s() - t0 < 2.0);
	assert_non_null(strstr(err, "(1 attempt)"));
	kube_resp_free(&r);
	kube_client_free(c);
	srv_stop(&s);
}

static void write_token(const char *path, const char *tok)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", tok);
	fclose(f);
}

static void test_token_file_rotation(void **state)
{
	(void)state;
	static const struct step steps[] = {{200, NULL, "1", NULL, 0, "Bearer tokA"},
					    {200, NULL, "2", NULL, 0, "Bearer tokB"},
					    {200, NULL, "3", NULL, 0, "Bearer tokC"}};
	char dir[] = "/tmp/vx-kube-token.XXXXXX", path[64], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/token", dir);
	write_token(path, "tokA");
	struct srv s;
	srv_start(&s, steps, ARRAY_LEN(steps));
	struct kube_client *c = client_for(&s, "static-ignored", path);
	struct kube_resp r;
	assert_int_equal(kube_request(c, "GET", "/a", NULL, NULL, 0, &r, NULL, err, sizeof err), 0);
	assert_int_equal(r.status, 200);
	kube_resp_free(&r);

	/* rotated within the second: the stale token earns a 401, which makes the client
	 * look at the file again at once */
	write_token(path, "tokB");
	assert_int_equal(kube_request(c, "GET", "/b", NULL, NULL, 0, &r, NULL, err, sizeof err), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "2");
	kube_resp_free(&r);
	assert_int_equal(srv_nreq(&s), 3);

	/* rotated a while later: picked up by the periodic check, no 401 needed */
	usleep(1100000);
	write_token(path, "tokC");
	assert_int_equal(kube_request(c, "GET", "/c", NULL, NULL, 0, &r, NULL, err, sizeof err), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "3");
	kube_resp_free(&r);
	kube_client_free(c);
	srv_stop(&s);
	assert_int_equal(s.nreq, 4);
	assert_non_null(strstr(s.reqs[1], "Bearer tokA"));
	assert_non_null(strstr(s.reqs[2], "Bearer tokB"));
	unlink(path);
	rmdir(dir);
}

static void test_missing_token_file(void **state)
{
	(void)state;
	char err[256] = "";
	struct kube_config cfg = {.server = "http://127.0.0.1:1", .token_file = "/nonexistent/tok"};
	assert_null(kube_client_new(&cfg, err, sizeof err));
	assert_non_null(strstr(err, "token file /nonexistent/tok"));
}

struct hammer {
	struct kube_client *c;
	int ok;
	int calls; /* 0: 25 */
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	for (int i = 0; i < (h->calls ? h->calls : 25); i++) {
		struct kube_resp r;
		char err[256];
		if (kube_request(h->c, "GET", "/p", NULL, NULL, 0, &r, NULL, err, sizeof err) ==
			0 &&
		    r.status == 200 && r.body.data && !strcmp(r.body.data, "ok"))
			h->ok++;
		kube_resp_free(&r);
	}
	return NULL;
}

static void test_threads_share_a_client(void **state)
{
	(void)state;
	static const struct step steps[] = {{200, NULL, "ok", NULL, 0, "Bearer t"}};
	struct srv s;
	srv_start(&s, steps, ARRAY_LEN(steps));
	struct kube_client *c = client_for(&s, "t", NULL);
	pthread_t th[4];
	struct hammer h[4];
	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){c, 0, 0};
		pthread_create(&th[i], NULL, hammer_run, &h[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(h[i].ok, 25);
	}
	kube_client_free(c);
	srv_stop(&s);
	assert_true(s.naccept <= 4); /* pooled handles kept their connections */
}

/* More calls at once than the old cap of 16 idle handles: the second burst
 * finds every connection the first one opened (no reconnect, no TLS
 * handshake against a real API server). The server answers one request at
 * a time, 20 ms each, so all BURST calls are outstanding together. */
#define BURST 20

/* BURST calls at once, each answered; returns the connections the server
 * has accepted so far. */
static int burst(struct srv *s, struct kube_client *c)
{
	pthread_t th[BURST];
	struct hammer h[BURST];
	for (int i = 0; i < BURST; i++) {
		h[i] = (struct hammer){c, 0, 1};
		pthread_create(&th[i], NULL, hammer_run, &h[i]);
	}
	for (int i = 0; i < BURST; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(h[i].ok, 1);
	}
	pthread_mutex_lock(&s->lock);
	int accepted = s->naccept;
	pthread_mutex_unlock(&s->lock);
	return accepted;
}

static struct kube_client *slow_server(struct srv *s)
{
	static const struct step steps[] = {{200, NULL, "ok", NULL, 0, NULL}};
	srv_start(s, steps, ARRAY_LEN(steps));
	pthread_mutex_lock(&s->lock);
	s->delay_ms = 20;
	pthread_mutex_unlock(&s->lock);
	return client_for(s, NULL, NULL);
}

static void test_burst_keeps_its_connections(void **state)
{
	(void)state;
	struct srv s;
	struct kube_client *c = slow_server(&s);
	int accepted = burst(&s, c);
	assert_true(accepted > 16);
	assert_int_equal(burst(&s, c), accepted);
	kube_client_free(c);
	srv_stop(&s);
}

/* A new daemon opens a connection per bind worker before it is ready: the
 * first burst of calls then finds them all open and opens none. */
static void test_preconnect_fills_the_pool(void **state)
{
	(void)state;
	struct srv s;
	struct kube_client *c = slow_server(&s);
	atomic_int stop = 1; /* shutting down: nothing is opened */
	assert_int_equal(kube_preconnect(c, BURST, 2000, &stop), 0);
	assert_int_equal(kube_preconnect(c, BURST, 2000, NULL), BURST);
	pthread_mutex_lock(&s.lock);
	assert_int_equal(s.naccept, BURST);
	assert_non_null(strstr(s.reqs[0], "GET /version HTTP/1.1"));
	pthread_mutex_unlock(&s.lock);
	assert_int_equal(burst(&s, c), BURST);
	kube_client_free(c);
	srv_stop(&s);
}

/* A distant API server must not hold start-up: preconnect stops when its
 * budget is spent (here 100 ms against 20 ms an answer), keeping what it
 * opened. */
static void test_preconnect_keeps_to_its_budget(void **state)
{
	(void)state;
	struct srv s;
	struct kube_client *c = slow_server(&s);
	int n = kube_preconnect(c, BURST, 100, NULL);
	assert_true(n >= 1 && n < BURST);
	kube_client_free(c);
	srv_stop(&s);
}

/* An API server that is down: preconnect stops at the first failure, at
 * once, and says how many it opened. */
static void test_preconnect_gives_up_on_a_dead_server(void **state)
{
	(void)state;
	struct kube_config cfg = {0};
	cfg.server = (char *)"http://127.0.0.1:1";
	char err[256];
	struct kube_client *c = kube_client_new(&cfg, err, sizeof err);
	assert_non_null(c);
	assert_int_equal(kube_preconnect(c, 8, 1000, NULL), 0);
	kube_client_free(c);
}

/* ---- watches ---- */

struct lines {
	char got[16][128];
	int n;
	int stop_after;   /* return non-zero after this many lines (0: never) */
	atomic_int *flag; /* or set this flag after the first line */
};

static int collect(void *ud, const char *line, size_t len)
{
	struct lines *l = ud;
	assert_int_equal(strlen(line), len);
	if (l->n < 16)
		snprintf(l->got[l->n++], sizeof l->got[0], "%s", line);
	if (l->flag)
		atomic_store(l->flag, 1);
	return l->stop_after && l->n >= l->stop_after;
}

static void test_watch_lines_across_chunks(void **state)
{
	(void)state;
	static const char *const chunks[] = {"{\"type\":\"ADDED\",\"n\":1}\n{\"type\":",
					     "\"MODIFIED\",\"n\":2}\r\n",
					     "\n{\"type\":\"BOOKMARK\"",
					     ",\"n\":3}\n{\"ty",
					     "pe\":\"DELETED\"}",
					     "\n",
					     NULL};
	static const struct step steps[] = {{200, NULL, NULL, chunks, 0, NULL}};
	struct srv s;
	srv_start(&s, steps, ARRAY_LEN(steps));
	struct kube_client *c = client_for(&s, "w", NULL);
	struct lines l = {0};
	char err[256] = "";
	long st = kube_watch(c, "/api/v1/pods?watch=1", collect, &l, NULL, 5000, err, sizeof err);
	assert_int_equal(st, 200);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.got[0], "{\"type\":\"ADDED\",\"n\":1}");
	assert_string_equal(l.got[1], "{\"type\":\"MODIFIED\",\"n\":2}");
	assert_string_equal(l.got[2], "{\"type\":\"BOOKMARK\",\"n\":3}");
	assert_string_equal(l.got[3], "{\"type\":\"DELETED\"}");
	kube_client_free(c);
	srv_stop(&s);
	assert_non_null(strstr(s.reqs[0], "GET /api/v1/pods?watch=1 HTTP/1.1"));
	assert_non_null(strstr(s.reqs[0], "Authorization: Bearer w"));
}

struct stopper {
	atomic_int *flag;
	long after_ms;
};

static void *stop_later(void *arg)
{
	struct stopper *st = arg;
	usleep((useconds_t)st->after_ms * 1000);
	atomic_store(st->flag, 1);
	return NULL;
}

static void test_watch_stop_flag(void **state)
{
	(void)state;
	static const char *const chunks[] = {"{\"n\":1}\n", NULL};
	static const struct step steps[] = {{200, NULL, NULL, chunks, 1, NULL}};
	struct srv s;
	srv_start(&s, steps, ARRAY_LEN(steps));
	struct kube_client *c = client_for(&s, NULL, NULL);
	atomic_int stop = 0;
	struct stopper sp = {&stop, 300};
	pthread_t th;
	pthread_create(&th, NULL, stop_later, &sp);
	struct lines l = {0};
	char err[256] = "";
	double t0 = now_s();
	long st = kube_watch(c, "/w", collect, &l, &stop, 0, err, sizeof err);
	double took = now_s() - t0;
	pthread_join(th, NULL);
	assert_int_equal(st, 200);
	assert_int_equal(l.n, 1);
	assert_true(took >= 0.25 && took < 2.5);
	kube_client_free(c);
	srv_stop(&s);
}

static void test_watch_callback_stops(void **state)
{
	(void)state;
	static const char *const chunks[] = {"a\nb\nc\n", NULL};
	static const struct step steps[] = {{200, NULL, NULL, chunks, 1, NULL}};
	struct srv s;
	srv_start(&s, steps, ARRAY_LEN(steps));
	struct kube_client *c = client_for(&s, NULL, NULL);
	struct lines l = {.stop_after = 2};
	char err[256] = "";
	double t0 = now_s();
	assert_int_equal(kube_watch(c, "/w", collect, &l, NULL, 0, err, sizeof err), 200);
	assert_true(now_s() - t0 < 1.0);
	assert_int_equal(l.n, 2);

	/* the same from a flag raised inside the callback */
	atomic_int stop = 0;
	struct lines l2 = {.flag = &stop};
	assert_int_equal(kube_watch(c, "/w", collect, &l2, &stop, 0, err, sizeof err), 200);
	assert_int_equal(l2.n, 1);
	kube_client_free(c);
	srv_stop(&s);
}

static void test_watch_idle_timeout(void **state)
{
	(void)state;
	static const char *const chunks[] = {"{\"n\":1}\n", NULL};
	static const struct step steps[] = {{200, NULL, NULL, chunks, 1, NULL}};
	struct srv s;
	srv_start(&s, steps, ARRAY_LEN(steps));
	struct kube_client *c = client_for(&s, NULL, NULL);
	struct lines l = {0};
	char err[256] = "";
	double t0 = now_s();
	assert_int_equal(kube_watch(c, "/w", collect, &l, NULL, 500, err, sizeof err), -1);
	assert_true(now_s() - t0 < 3.0);
	assert_non_null(strstr(err, "no data for 500 ms"));
	assert_int_equal(l.n, 1);
	kube_client_free(c);
	srv_stop(&s);
}

static void test_watch_refused(void **state)
{
	(void)state;
	static const struct step steps[] = {
	    {410, NULL,
	     "{\"kind\":\"Status\",\"message\":\"too old resource version: 5 (9)\",\"code\":410}",
	     NULL, 0, NULL}};
	struct srv s;
	srv_start(&s, steps, ARRAY_LEN(steps));
	struct kube_client *c = client_for(&s, NULL, NULL);
	struct lines l = {0};
	char err[256] = "";
	assert_int_equal(
	    kube_watch(c, "/w?resourceVersion=5", collect, &l, NULL, 0, err, sizeof err), 410);
	assert_int_equal(l.n, 0);
	assert_string_equal(
	    err, "watch /w?resourceVersion=5: HTTP 410: too old resource version: 5 (9)");
	kube_client_free(c);
	srv_stop(&s);
}

/* ---- TLS, against `openssl s_server` with a throwaway self-signed cert ---- */

struct tls_env {
	char dir[40], cert[80], key[80];
	char *cert_pem, *key_pem;
	int port;
	pid_t pid;
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *p = calloc(1, 8192);
	assert_non_null(p);
	assert_true(fread(p, 1, 8191, f) > 0);
	fclose(f);
	return p;
}

/* Returns 0 when the openssl CLI is missing (the test is then skipped). */
static int tls_start(struct tls_env *e)
{
	char cmd[512];
	strcpy(e->dir, "/tmp/vx-kube-tls.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->cert, sizeof e->cert, "%s/c.pem", e->dir);
	snprintf(e->key, sizeof e->key, "%s/k.pem", e->dir);
	snprintf(cmd, sizeof cmd,
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		 "-keyout %s -out %s -days 1 -subj /CN=localhost "
		 "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
		 e->key, e->cert);
	if (system(cmd) != 0)
		return 0;
	e->cert_pem = slurp(e->cert);
	e->key_pem = slurp(e->key);
	int fd = listen_local(&e->port);
	close(fd);
	char accept[32];
	snprintf(accept, sizeof accept, "127.0.0.1:%d", e->port);
	e->pid = fork();
	assert_true(e->pid >= 0);
	if (e->pid == 0) { /* the self-signed cert is also the only CA for client certs */
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0), dup2(null, 1), dup2(null, 2);
		execlp("openssl", "openssl", "s_server", "-accept", accept, "-cert", e->cert,
		       "-key", e->key, "-Verify", "1", "-CAfile", e->cert, "-www", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) { /* wait until it listens */
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)e->port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int s = socket(AF_INET, SOCK_STREAM, 0);
		int ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
		close(s);
		if (ok)
			return 1;
		usleep(50000);
	}
	fail_msg("openssl s_server did not start");
	return 0;
}

static void tls_stop(struct tls_env *e)
{
	if (e->pid > 0) {
		kill(e->pid, SIGTERM);
		waitpid(e->pid, NULL, 0);
	}
	free(e->cert_pem);
	free(e->key_pem);
	unlink(e->cert);
	unlink(e->key);
	rmdir(e->dir);
}

/* One GET / through a fresh client; returns the status, or -1 with err. */
static long tls_get(struct tls_env *e, struct kube_config *cfg, char *err, size_t errlen)
{
	char server[64];
	snprintf(server, sizeof server, "https://127.0.0.1:%d", e->port);
	cfg->server = server;
	struct kube_client *c = kube_client_new(cfg, err, errlen);
	assert_non_null(c);
	struct kube_resp r;
	struct kube_call_opts o = {.max_attempts = 1, .timeout_ms = 5000};
	long st = kube_request(c, "GET", "/", NULL, NULL, 0, &r, &o, err, errlen) ? -1 : r.status;
	kube_resp_free(&r);
	kube_client_free(c);
	return st;
}

static void test_tls(void **state)
{
	(void)state;
	struct tls_env e = {0};
	if (!tls_start(&e)) {
		tls_stop(&e);
		skip();
	}
	char err[512] = "";
	struct kube_config files = {.ca_file = e.cert, .cert_file = e.cert, .key_file = e.key};
	assert_int_equal(tls_get(&e, &files, err, sizeof err), 200);
	struct kube_config blobs = {
	    .ca_data = e.cert_pem, .cert_data = e.cert_pem, .key_data = e.key_pem};
	assert_int_equal(tls_get(&e, &blobs, err, sizeof err), 200);
	struct kube_config insecure = {
	    .insecure = 1, .cert_data = e.cert_pem, .key_data = e.key_pem};
	assert_int_equal(tls_get(&e, &insecure, err, sizeof err), 200);

	struct kube_config no_ca = {.cert_file = e.cert, .key_file = e.key};
	assert_int_equal(tls_get(&e, &no_ca, err, sizeof err), -1); /* not a system CA */
	assert_non_null(strstr(err, "certificate"));
	struct kube_config no_cert = {.ca_file = e.cert};
	assert_int_equal(tls_get(&e, &no_cert, err, sizeof err), -1); /* s_server wants one */
	tls_stop(&e);
}

static int group_setup(void **state)
{
	(void)state;
	static const char *const proxies[] = {"http_proxy", "https_proxy", "HTTPS_PROXY",
					      "all_proxy", "ALL_PROXY"};
	for (size_t i = 0; i < ARRAY_LEN(proxies); i++)
		unsetenv(proxies[i]);
	char err[256];
	return kube_global_init(err, sizeof err);
}

static int group_teardown(void **state)
{
	(void)state;
	kube_global_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bearer_and_body),
	    cmocka_unit_test(test_retry_500_then_ok),
	    cmocka_unit_test(test_429_retry_after),
	    cmocka_unit_test(test_no_retry_on_404),
	    cmocka_unit_test(test_gives_up_after_max_attempts),
	    cmocka_unit_test(test_connection_refused),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_token_file_rotation),
	    cmocka_unit_test(test_missing_token_file),
	    cmocka_unit_test(test_threads_share_a_client),
	    cmocka_unit_test(test_burst_keeps_its_connections),
	    cmocka_unit_test(test_preconnect_fills_the_pool),
	    cmocka_unit_test(test_preconnect_keeps_to_its_budget),
	    cmocka_unit_test(test_preconnect_gives_up_on_a_dead_server),
	    cmocka_unit_test(test_watch_lines_across_chunks),
	    cmocka_unit_test(test_watch_stop_flag),
	    cmocka_unit_test(test_watch_callback_stops),
	    cmocka_unit_test(test_watch_idle_timeout),
	    cmocka_unit_test(test_watch_refused),
	    cmocka_unit_test(test_tls),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
