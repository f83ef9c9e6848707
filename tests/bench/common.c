/* common: what loadgen.c (dev mode) and kubebench.c (cluster mode) share:
 * the clock, latency samples, child processes, and a JSON span scanner
 * that reads big replies without building a tree. */
#include "bench.h"
#include "vx/buf.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double bench_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Latency samples ------------------------------------------------------- */

void lat_init(struct lat *l, size_t cap)
{
	l->us = calloc(cap ? cap : 1, sizeof *l->us);
	if (!l->us)
		abort();
	l->n = 0;
	l->cap = cap ? cap : 1;
}

void lat_add(struct lat *l, double us)
{
	if (l->n == l->cap) {
		l->cap *= 2;
		l->us = realloc(l->us, l->cap * sizeof *l->us);
		if (!l->us)
			abort();
	}
	l->us[l->n++] = us;
}

void lat_merge(struct lat *into, const struct lat *from)
{
	for (size_t i = 0; i < from->n; i++)
		lat_add(into, from->us[i]);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

void lat_sort(struct lat *l)
{
	qsort(l->us, l->n, sizeof *l->us, cmp_double);
}

double lat_pct(const struct lat *l, double p)
{
	if (!l->n)
		return 0;
	size_t k = (size_t)ceil(p * (double)l->n);
	return l->us[k ? k - 1 : 0];
}

/* Processes ------------------------------------------------------------ */

void bench_read_mem(pid_t pid, long *rss, long *hwm)
{
	char path[64], line[256];
	*rss = *hwm = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, "VmRSS:", 6))
			*rss = strtol(line + 6, NULL, 10);
		else if (!strncmp(line, "VmHWM:", 6))
			*hwm = strtol(line + 6, NULL, 10);
	}
	fclose(f);
}

int bench_stop(pid_t pid, const char *what)
{
	int status = 0;
	kill(pid, SIGTERM);
	for (int i = 0; i < 6000; i++) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			return status;
		if (w < 0)
			return -1;
		bench_sleep_ms(10);
	}
	fprintf(stderr, "bench: %s ignored SIGTERM for 60 s; killing it\n", what);
	kill(pid, SIGKILL);
	return waitpid(pid, &status, 0) == pid ? status : -1;
}

size_t bench_on_data(char *p, size_t size, size_t n, void *ud)
{
	buf_append(ud, p, size * n);
	return size * n;
}

/* JSON spans ------------------------------------------------------------ */

const char *js_skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* The end of the JSON string whose opening quote is at p, or NULL. */
static const char *skip_string(const char *p, const char *e)
{
	const char *s = p + 1;
	for (p = s; p < e;) {
		const char *q = memchr(p, '"', (size_t)(e - p));
		if (!q)
			return NULL;
		size_t bs = 0; /* an odd run of backslashes escapes the quote */
		while (q - bs > s && q[-1 - (ptrdiff_t)bs] == '\\')
			bs++;
		if (bs % 2 == 0)
			return q + 1;
		p = q + 1;
	}
	return NULL;
}

const char *js_skip_value(const char *p, const char *e)
{
	p = js_skip_ws(p, e);
	if (p >= e)
		return NULL;
	if (*p == '"')
		return skip_string(p, e);
	if (*p == '{' || *p == '[') {
		int depth = 0;
		while (p < e) {
			if (*p == '"') {
				if (!(p = skip_string(p, e)))
					return NULL;
				continue;
			}
			if (*p == '{' || *p == '[')
				depth++;
			else if ((*p == '}' || *p == ']') && --depth == 0)
				return p + 1;
			p++;
		}
		return NULL;
	}
	const char *s = p;
	while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' &&
	       *p != '\r' && *p != '\t')
		p++;
	return p > s ? p : NULL;
}

int js_member(const char *p, const char *e, const char *key, struct span *out)
{
	size_t kl = strlen(key);
	p = js_skip_ws(p, e);
	if (p >= e || *p != '{')
		return -1;
	p = js_skip_ws(p + 1, e);
	while (p < e && *p == '"') {
		const char *k = p, *ke = js_skip_value(p, e);
		if (!ke)
			return -1;
		p = js_skip_ws(ke, e);
		if (p >= e || *p != ':')
			return -1;
		const char *v = js_skip_ws(p + 1, e), *ve = js_skip_value(v, e);
		if (!ve)
			return -1;
		if ((size_t)(ke - k) == kl + 2 && !memcmp(k + 1, key, kl)) {
			*out = (struct span){v, (size_t)(ve - v)};
			return 0;
		}
		p = js_skip_ws(ve, e);
		if (p < e && *p == ',')
			p = js_skip_ws(p + 1, e);
	}
	return -1;
}

long js_array_len(struct span a)
{
	const char *p = a.p, *e = a.p + a.n;
	long n = 0;
	if (!a.p || !a.n || *p != '[')
		return -1;
	p = js_skip_ws(p + 1, e);
	if (p < e && *p == ']')
		return 0;
	while (p < e) {
		const char *ve = js_skip_value(p, e);
		if (!ve)
			return -1;
		n++;
		p = js_skip_ws(ve, e);
		if (p < e && *p == ']')
			return n;
		if (p >= e || *p != ',')
			return -1;
		p = js_skip_ws(p + 1, e);
	}
	return -1;
}

void bench_http_init(struct bench_http *c, const char *base, const char *ca)
{
	memset(c, 0, sizeof *c);
	c->base = base;
	if (!(c->h = curl_easy_init()))
		abort();
	c->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	c->hdrs = curl_slist_append(c->hdrs, "Accept: application/json");
	c->hdrs = curl_slist_append(c->hdrs, "Expect:");
	if (ca) {
		c->hdrs = curl_slist_append(c->hdrs, "Authorization: Bearer " BENCH_TOKEN);
		curl_easy_setopt(c->h, CURLOPT_CAINFO, ca);
	}
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->hdrs);
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, bench_on_data);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &c->resp);
}

void bench_http_free(struct bench_http *c)
{
	if (c->h)
		curl_easy_cleanup(c->h);
	curl_slist_free_all(c->hdrs);
	buf_free(&c->resp);
	memset(c, 0, sizeof *c);
}

long bench_http_do(struct bench_http *c, const char *path, const char *body, size_t len, double *us,
		   char *err, size_t errlen)
{
	char url[2048];
	long code = 0;
	snprintf(url, sizeof url, "%s%s", c->base, path);
	buf_reset(&c->resp);
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	if (body) {
		curl_easy_setopt(c->h, CURLOPT_POST, 1L);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
	} else {
		curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
	}
	double t0 = bench_now_s();
	CURLcode rc = curl_easy_perform(c->h);
	if (us)
		*us = (bench_now_s() - t0) * 1e6;
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s %s: %s", body ? "POST" : "GET", path,
			 curl_easy_strerror(rc));
		return 0;
	}
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
	return code;
}
