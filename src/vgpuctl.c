/* vgpuctl: the command-line client of the daemon's admin API (SPEC section
 * 9). It owns argument parsing, one libcurl call per request, turning
 * manifests into POST /api/v1/pods bodies, and printing answers as tables,
 * JSON or "key: value" lines. It holds no scheduling knowledge: every figure
 * it prints comes from the daemon. Exit codes: 0 ok, 1 the request failed,
 * 2 bad usage. */
#include "vx/buf.h"
#include "vx/yamljson.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef VX_VERSION
#define VX_VERSION "0.0.0"
#endif

#define DEFAULT_SERVER "http://127.0.0.1:8888"
#define TIMEOUT_S 30L
#define MAX_POS 2

struct ctl {
	char server[1024]; /* without a trailing slash */
};

/* What a command was given after its name, checked against its table row. */
struct args {
	const char *pos[MAX_POS];
	int npos;
	const char *file, *ns, *output;
	bool all;
};

struct reply {
	long status;
	struct buf body;
};

struct command {
	const char *name;
	int (*run)(const struct ctl *c, const struct args *a);
	const char *flags; /* options it accepts, by short letter */
	int npos;	   /* positional arguments it requires */
	const char *synopsis, *help;
};

static const struct command *find_command(const char *name);
static void usage(FILE *out);

static int usage_error(const char *fmt, const char *what)
{
	fputs("vgpuctl: ", stderr);
	fprintf(stderr, fmt, what);
	fputs("\n\n", stderr);
	usage(stderr);
	return 2;
}

/* ---- HTTP ---------------------------------------------------------------- */

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	buf_append(ud, p, sz * n);
	return sz * n;
}

/* Percent-encodes one path or query segment; names are DNS labels today, but
 * a stray '/' or '?' must never change which route is asked. */
static void put_escaped(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch))
			buf_putc(b, (char)ch);
		else
			buf_printf(b, "%%%02X", ch);
	}
}

/* Returns 0 when the daemon answered (whatever the status), or -1 after
 * saying why it could not be reached. */
static int http_do(const struct ctl *c, const char *method, const char *path, const char *body,
		   struct reply *r)
{
	char url[2048], cerr[CURL_ERROR_SIZE] = "";
	snprintf(url, sizeof url, "%s%s", c->server, path);
	r->status = 0;
	CURL *h = curl_easy_init();
	if (!h) {
		fprintf(stderr, "vgpuctl: cannot initialise libcurl\n");
		return -1;
	}
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Accept: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM for resolver timeouts */
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK) {
		fprintf(stderr, "vgpuctl: cannot reach the daemon at %s: %s\n", c->server,
			cerr[0] ? cerr : curl_easy_strerror(rc));
		return -1;
	}
	buf_putc(&r->body, '\0'); /* an empty body still reads as "" */
	r->body.len--;
	return 0;
}

/* The daemon's errors are {"Error":"..."}; a Kubernetes-style Status body
 * carries "message". Anything else falls back to the HTTP status. */
static void error_text(const struct reply *r, const cJSON *j, char *out, size_t len)
{
	const cJSON *e = cJSON_GetObjectItem(j, "Error");
	if (!cJSON_IsString(e) || !e->valuestring[0])
		e = cJSON_GetObjectItem(j, "message");
	if (cJSON_IsString(e) && e->valuestring[0])
		snprintf(out, len, "%s", e->valuestring);
	else
		snprintf(out, len, "HTTP %ld from %s", r->status, "the daemon");
}

/* One request. On success *out (if asked for) is the parsed body, NULL when
 * it is not JSON. On failure prints "vgpuctl: [what: ]error" and returns 1. */
static int call(const struct ctl *c, const char *method, const char *path, const char *body,
		const char *what, cJSON **out)
{
	struct reply r = {0, BUF_INIT};
	if (out)
		*out = NULL;
	if (http_do(c, method, path, body, &r)) {
		buf_free(&r.body);
		return 1;
	}
	cJSON *j = cJSON_ParseWithLength(r.body.data, r.body.len);
	const cJSON *e = cJSON_GetObjectItem(j, "Error");
	/* A 200 carrying a non-empty Error is how extender-style routes fail. */
	bool failed = r.status < 200 || r.status > 299 ||
		      (cJSON_IsString(e) && e->valuestring[0]);
	if (failed) {
		char msg[1024];
		error_text(&r, j, msg, sizeof msg);
		fprintf(stderr, "vgpuctl: %s%s%s\n", what ? what : "", what ? ": " : "", msg);
		cJSON_Delete(j);
	} else if (out) {
		*out = j;
	} else {
		cJSON_Delete(j);
	}
	buf_free(&r.body);
	return failed ? 1 : 0;
}

/* Builds PREFIX/NS/NAME[SUFFIX] from "NS/NAME"; NULL (usage error) otherwise. */
static char *object_path(const char *prefix, const char *ref, const char *suffix)
{
	const char *slash = strchr(ref, '/');
	if (!slash || slash == ref || !slash[1] || strchr(slash + 1, '/'))
		return NULL;
	struct buf b = BUF_INIT;
	char *ns = strndup(ref, (size_t)(slash - ref));
	if (!ns)
		abort();
	buf_puts(&b, prefix);
	put_escaped(&b, ns);
	buf_putc(&b, '/');
	put_escaped(&b, slash + 1);
	buf_puts(&b, suffix ? suffix : "");
	free(ns);
	return buf_steal(&b);
}

/* ---- printing ------------------------------------------------------------ */

/* Text of one JSON value for a table cell or a "key: value" line. */
static char *value_text(const cJSON *v)
{
	char tmp[64];
	if (cJSON_IsString(v))
		return strdup(v->valuestring[0] ? v->valuestring : "-");
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (d == (double)(long long)d)
			snprintf(tmp, sizeof tmp, "%lld", (long long)d);
		else
			snprintf(tmp, sizeof tmp, "%.4g", d);
		return strdup(tmp);
	}
	if (cJSON_IsBool(v))
		return strdup(cJSON_IsTrue(v) ? "true" : "false");
	if (!v || cJSON_IsNull(v))
		return strdup("-");
	return cJSON_PrintUnformatted(v);
}

static void print_json(const cJSON *j, const struct buf *raw)
{
	char *s = j ? cJSON_Print(j) : NULL;
	if (s)
		puts(s);
	else if (raw)
		puts(raw->data ? raw->data : "");
	free(s);
}

/* ---- apply --------------------------------------------------------------- */

struct manifest {
	cJSON *objs; /* array of {"line":N,"obj":{...}}, in file order */
};

static void add_manifest(struct manifest *m, const cJSON *obj, int line)
{
	cJSON *w = cJSON_CreateObject();
	cJSON_AddNumberToObject(w, "line", line);
	cJSON_AddItemToObject(w, "obj", cJSON_Duplicate(obj, true));
	cJSON_AddItemToArray(m->objs, w);
}

/* Collects every object first, so a syntax error late in the file stops the
 * apply before anything was created. */
static int collect_doc(void *ud, const cJSON *doc, int line, char *err, size_t errlen)
{
	struct manifest *m = ud;
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
	const cJSON *it;
	(void)err;
	(void)errlen;
	if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "List") && cJSON_IsArray(items)) {
		cJSON_ArrayForEach(it, items) add_manifest(m, it, line);
	} else {
		add_manifest(m, doc, line);
	}
	return 0;
}

static char *read_stdin(void)
{
	struct buf b = BUF_INIT;
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
		buf_append(&b, chunk, n);
	if (ferror(stdin)) {
		buf_free(&b);
		return NULL;
	}
	buf_putc(&b, '\0');
	return buf_steal(&b);
}

/* Reads FILE ("-" = stdin) into m; returns 0 or 1 after printing why. */
static int load_manifest(const char *file, struct manifest *m)
{
	char err[512];
	size_t len = 0;
	bool in = !strcmp(file, "-");
	char *data = in ? read_stdin() : yj_read_file(file, &len, err, sizeof err);
	if (!data) {
		if (in)
			snprintf(err, sizeof err, "<stdin>: read error");
		fprintf(stderr, "vgpuctl: %s\n", err);
		return 1;
	}
	if (in)
		len = strlen(data);
	m->objs = cJSON_CreateArray();
	int n = yj_parse(data, len, in ? "<stdin>" : file, collect_doc, m, err, sizeof err);
	free(data);
	if (n < 0) {
		fprintf(stderr, "vgpuctl: %s\n", err);
		return 1;
	}
	if (cJSON_GetArraySize(m->objs) == 0) {
		fprintf(stderr, "vgpuctl: %s: no objects to apply\n", in ? "<stdin>" : file);
		return 1;
	}
	return 0;
}

static const char *meta_str(const cJSON *obj, const char *key, const char *dflt)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(md, key);
	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : dflt;
}

/* Sends one object; returns 0 created or skipped, 1 refused, -1 unreachable. */
static int apply_one(const struct ctl *c, const char *file, const cJSON *w)
{
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(w, "obj");
	int line = cJSON_GetObjectItemCaseSensitive(w, "line")->valueint;
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
	const char *name = meta_str(obj, "name", "<unnamed>");
	if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "Pod")) {
		fprintf(stderr, "vgpuctl: warning: %s:%d: skipping %s %s: only Pods are applied\n",
			file, line, cJSON_IsString(kind) ? kind->valuestring : "object without kind",
			name);
		return 0;
	}
	char what[600];
	snprintf(what, sizeof what, "pod/%s/%s", meta_str(obj, "namespace", "default"), name);
	char *body = cJSON_PrintUnformatted(obj);
	struct reply probe = {0, BUF_INIT};
	int rc = call(c, "POST", "/api/v1/pods", body, what, NULL);
	free(body);
	buf_free(&probe.body);
	if (rc == 0)
		printf("%s created\n", what);
	return rc;
}

static int cmd_apply(const struct ctl *c, const struct args *a)
{
	struct manifest m = {NULL};
	if (!a->file)
		return usage_error("%s needs -f FILE (- for stdin)", "apply");
	if (load_manifest(a->file, &m)) {
		cJSON_Delete(m.objs);
		return 1;
	}
	const char *file = strcmp(a->file, "-") ? a->file : "<stdin>";
	int failed = 0;
	const cJSON *w;
	cJSON_ArrayForEach(w, m.objs)
	{
		fflush(stdout); /* keep "created" lines and errors in file order */
		if (apply_one(c, file, w))
			failed = 1;
	}
	cJSON_Delete(m.objs);
	return failed;
}
