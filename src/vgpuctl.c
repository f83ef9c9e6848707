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
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
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
	int npos;          /* positional arguments it requires */
	const char *synopsis, *help;
};

static void usage(FILE *out);

/* Says what is wrong (for cmd, when given), then the usage; returns exit code 2. */
__attribute__((format(printf, 2, 3))) static int usage_error(const struct command *cmd,
							     const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "vgpuctl: %s%s", cmd ? cmd->name : "", cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
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
		snprintf(out, len, "HTTP %ld", r->status);
}

/* One request. On success *out (if asked for) is the parsed body, NULL when
 * it is not JSON. Otherwise prints why and returns 1 when the daemon refused
 * ("vgpuctl: [what: ]error"), -1 when it could not be reached. */
static int call(const struct ctl *c, const char *method, const char *path, const char *body,
		const char *what, cJSON **out)
{
	struct reply r = {0, BUF_INIT};
	if (out)
		*out = NULL;
	if (http_do(c, method, path, body, &r)) {
		buf_free(&r.body);
		return -1;
	}
	cJSON *j = cJSON_ParseWithLength(r.body.data, r.body.len);
	const cJSON *e = cJSON_GetObjectItem(j, "Error");
	/* A 200 carrying a non-empty Error is how extender-style routes fail. */
	bool failed = r.status < 200 || r.status > 299 || (cJSON_IsString(e) && e->valuestring[0]);
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
		/* The range check keeps the cast defined (UBSan) for huge values. */
		if (d > -1e15 && d < 1e15 && d == (double)(long long)d)
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

static void newline(struct buf *b, int depth)
{
	buf_putc(b, '\n');
	for (int i = 0; i < depth; i++)
		buf_puts(b, "  ");
}

/* Prints j indented by two spaces, one member per line, like kubectl and jq:
 * cJSON_Print's tabs and "key":<tab>value layout read poorly in a terminal.
 * Works on cJSON's compact text, whose only blanks are inside strings. */
static void print_json(const cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	struct buf b = BUF_INIT;
	int depth = 0;
	bool in_str = false;
	for (const char *p = s; p && *p; p++) {
		if (in_str) {
			buf_putc(&b, *p);
			if (*p == '\\' && p[1])
				buf_putc(&b, *++p);
			else if (*p == '"')
				in_str = false;
		} else if ((*p == '{' || *p == '[') && (p[1] == '}' || p[1] == ']')) {
			buf_putc(&b, *p++); /* an empty object or array stays on one line */
			buf_putc(&b, *p);
		} else if (*p == '{' || *p == '[') {
			buf_putc(&b, *p);
			newline(&b, ++depth);
		} else if (*p == '}' || *p == ']') {
			newline(&b, --depth);
			buf_putc(&b, *p);
		} else if (*p == ',') {
			buf_putc(&b, ',');
			newline(&b, depth);
		} else if (*p == ':') {
			buf_puts(&b, ": ");
		} else {
			buf_putc(&b, *p);
			in_str = *p == '"';
		}
	}
	printf("%s\n", b.data ? b.data : "null");
	buf_free(&b);
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
		cJSON_ArrayForEach (it, items) {
			add_manifest(m, it, line);
		}
	} else {
		add_manifest(m, doc, line);
	}
	return 0;
}

static char *read_stdin(size_t *len)
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
	*len = b.len;
	buf_putc(&b, '\0');
	return buf_steal(&b);
}

/* How FILE is named in messages. */
static const char *source_name(const char *file)
{
	return strcmp(file, "-") != 0 ? file : "<stdin>";
}

/* Reads FILE ("-" = stdin) into m; returns 0 or 1 after printing why. */
static int load_manifest(const char *file, struct manifest *m)
{
	char err[512];
	size_t len = 0;
	bool in = !strcmp(file, "-");
	char *data = in ? read_stdin(&len) : yj_read_file(file, &len, err, sizeof err);
	if (!data) {
		if (in)
			snprintf(err, sizeof err, "<stdin>: read error");
		fprintf(stderr, "vgpuctl: %s\n", err);
		return 1;
	}
	m->objs = cJSON_CreateArray();
	int n = yj_parse(data, len, source_name(file), collect_doc, m, err, sizeof err);
	free(data);
	if (n < 0) {
		fprintf(stderr, "vgpuctl: %s\n", err);
		return 1;
	}
	if (cJSON_GetArraySize(m->objs) == 0) {
		fprintf(stderr, "vgpuctl: %s: no objects to apply\n", source_name(file));
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
	if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "Pod") != 0) {
		fprintf(stderr, "vgpuctl: warning: %s:%d: skipping %s %s: only Pods are applied\n",
			file, line,
			cJSON_IsString(kind) ? kind->valuestring : "object without kind", name);
		return 0;
	}
	char what[600];
	snprintf(what, sizeof what, "pod/%s/%s", meta_str(obj, "namespace", "default"), name);
	char *body = cJSON_PrintUnformatted(obj);
	int rc = call(c, "POST", "/api/v1/pods", body, what, NULL);
	free(body);
	if (rc == 0)
		printf("%s created\n", what);
	return rc;
}

static int cmd_apply(const struct ctl *c, const struct args *a)
{
	struct manifest m = {NULL};
	if (!a->file)
		return usage_error(NULL, "apply needs -f FILE (- for stdin)");
	if (load_manifest(a->file, &m)) {
		cJSON_Delete(m.objs);
		return 1;
	}
	const char *file = source_name(a->file);
	int failed = 0;
	const cJSON *w;
	cJSON_ArrayForEach (w, m.objs) {
		int rc = apply_one(c, file, w);
		fflush(stdout); /* keep "created" lines and errors in file order */
		failed |= rc != 0;
		if (rc < 0) /* the rest would fail the same way */
			break;
	}
	cJSON_Delete(m.objs);
	return failed;
}

/* ---- list ---------------------------------------------------------------- */

#define NCOLS 6

static const char *const list_head[NCOLS] = {"Workload", "Queue", "Status",
					     "Priority", "GPUs",  "Node"};

/* One row's cells, in list_head order; each is malloc'ed. */
static void row_cells(const cJSON *row, char **cell)
{
	static const char *const keys[NCOLS] = {NULL,       "queue", "status",
						"priority", "gpus",  "node"};
	char *ns = value_text(cJSON_GetObjectItemCaseSensitive(row, "namespace"));
	char *name = value_text(cJSON_GetObjectItemCaseSensitive(row, "name"));
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/%s", ns, name);
	cell[0] = buf_steal(&b);
	free(ns);
	free(name);
	for (int k = 1; k < NCOLS; k++)
		cell[k] = value_text(cJSON_GetObjectItemCaseSensitive(row, keys[k]));
}

static void print_table(const cJSON *rows)
{
	size_t n = (size_t)cJSON_GetArraySize(rows), w[NCOLS] = {0}, i = 0;
	char **cell = calloc((n + 1) * NCOLS, sizeof *cell);
	const cJSON *row;
	if (!cell)
		abort();
	for (int k = 0; k < NCOLS; k++)
		cell[k] = strdup(list_head[k]);
	cJSON_ArrayForEach (row, rows) {
		row_cells(row, cell + NCOLS * ++i); /* row 0 is the header */
	}
	for (i = 0; i < (n + 1) * NCOLS; i++)
		if (strlen(cell[i]) > w[i % NCOLS])
			w[i % NCOLS] = strlen(cell[i]);
	for (i = 0; i < (n + 1) * NCOLS; i++) {
		int k = (int)(i % NCOLS);
		if (k == NCOLS - 1) /* no trailing blanks after the last column */
			printf("%s\n", cell[i]);
		else
			printf("%-*s  ", (int)w[k], cell[i]);
		free(cell[i]);
	}
	free(cell);
}

/* Keeps the rows of namespace ns (all when NULL), in the server's order. */
static void keep_namespace(cJSON *rows, const char *ns)
{
	cJSON *row = rows ? rows->child : NULL;
	while (ns && row) {
		cJSON *next = row->next;
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, "namespace");
		if (!cJSON_IsString(v) || strcmp(v->valuestring, ns) != 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(rows, row));
		row = next;
	}
}

static int cmd_list(const struct ctl *c, const struct args *a)
{
	const char *ns = a->all ? NULL : a->ns ? a->ns : "default";
	bool json = a->output && !strcmp(a->output, "json");
	if (a->all && a->ns)
		return usage_error(NULL, "list: -A and -n exclude each other");
	if (a->output && !json && strcmp(a->output, "table") != 0)
		return usage_error(NULL, "unknown output format \"%s\" (json or table)", a->output);
	struct buf path = BUF_INIT;
	buf_puts(&path, "/api/v1/jobs");
	if (ns) { /* the daemon filters; keep_namespace() covers one that does not */
		buf_puts(&path, "?namespace=");
		put_escaped(&path, ns);
	}
	cJSON *rows;
	int rc = call(c, "GET", path.data, NULL, NULL, &rows);
	buf_free(&path);
	if (rc)
		return 1;
	if (!cJSON_IsArray(rows)) {
		fprintf(stderr, "vgpuctl: the daemon's job list is not a JSON array\n");
		cJSON_Delete(rows);
		return 1;
	}
	keep_namespace(rows, ns);
	if (json)
		print_json(rows);
	else if (cJSON_GetArraySize(rows) == 0)
		fprintf(stderr, "No workloads found%s%s.\n", ns ? " in namespace " : "",
			ns ? ns : "");
	else
		print_table(rows);
	cJSON_Delete(rows);
	return 0;
}

/* ---- single-object commands ---------------------------------------------- */

/* GET path and pretty-print the answer. */
static int show(const struct ctl *c, const char *path)
{
	cJSON *j;
	if (call(c, "GET", path, NULL, NULL, &j))
		return 1;
	if (!j) {
		fprintf(stderr, "vgpuctl: the answer to GET %s is not JSON\n", path);
		return 1;
	}
	print_json(j);
	cJSON_Delete(j);
	return 0;
}

static int cmd_get(const struct ctl *c, const struct args *a)
{
	char *path = object_path("/api/v1/pods/", a->pos[0], NULL);
	if (!path)
		return usage_error(NULL, "expected NS/NAME, got \"%s\"", a->pos[0]);
	int rc = show(c, path);
	free(path);
	return rc;
}

static int cmd_state(const struct ctl *c, const struct args *a)
{
	(void)a;
	return show(c, "/debug/state");
}

/* Sends METHOD to /api/v1/jobs/NS/NAME[suffix]; prints "job/NS/NAME done". */
static int job_action(const struct ctl *c, const char *ref, const char *method, const char *suffix,
		      const char *body, const char *done)
{
	char *path = object_path("/api/v1/jobs/", ref, suffix);
	if (!path)
		return usage_error(NULL, "expected NS/NAME, got \"%s\"", ref);
	int rc = call(c, method, path, body, NULL, NULL);
	free(path);
	if (rc == 0)
		printf("job/%s %s\n", ref, done);
	return rc ? 1 : 0;
}

static int cmd_priority(const struct ctl *c, const struct args *a)
{
	char *end, body[32], done[48];
	long n = strtol(a->pos[1], &end, 10);
	/* Checked here so a typo never reaches the licence queue. */
	if (end == a->pos[1] || *end || n < 1 || n > 10)
		return usage_error(NULL, "priority must be a whole number from 1 to 10, got \"%s\"",
				   a->pos[1]);
	snprintf(body, sizeof body, "{\"priority\":%ld}", n);
	snprintf(done, sizeof done, "priority set to %ld", n);
	return job_action(c, a->pos[0], "PATCH", NULL, body, done);
}

static int cmd_use_credits(const struct ctl *c, const struct args *a)
{
	return job_action(c, a->pos[0], "POST", "/use-credits", "{}", "now billed to credits");
}

static int cmd_delete(const struct ctl *c, const struct args *a)
{
	return job_action(c, a->pos[0], "DELETE", NULL, NULL, "deleted");
}

static int cmd_license(const struct ctl *c, const struct args *a)
{
	struct buf path = BUF_INIT;
	buf_puts(&path, "/api/v1/licenses/");
	put_escaped(&path, a->pos[0]);
	cJSON *j;
	int rc = call(c, "GET", path.data, NULL, NULL, &j);
	buf_free(&path);
	if (rc)
		return 1;
	if (!cJSON_IsObject(j)) {
		fprintf(stderr, "vgpuctl: the daemon's licence summary is not a JSON object\n");
		cJSON_Delete(j);
		return 1;
	}
	const cJSON *v;
	cJSON_ArrayForEach (v, j) {
		char *t = value_text(v);
		printf("%s: %s\n", v->string, t);
		free(t);
	}
	cJSON_Delete(j);
	return 0;
}

static int cmd_help(const struct ctl *c, const struct args *a)
{
	(void)c;
	(void)a;
	usage(stdout);
	return 0;
}

/* ---- command line -------------------------------------------------------- */

static const struct command commands[] = {
    {"apply", cmd_apply, "f", 0, "apply -f FILE",
     "create the Pods of a YAML or JSON file (- for stdin; dev mode)"},
    {"list", cmd_list, "nAo", 0, "list [-A | -n NS] [-o json]",
     "list workloads (namespace default unless -n or -A)"},
    {"get", cmd_get, "", 1, "get NS/NAME", "print a pod as JSON"},
    {"state", cmd_state, "", 0, "state", "print the daemon's /debug/state"},
    {"priority", cmd_priority, "", 2, "priority NS/NAME N", "set licence priority (1..10)"},
    {"use-credits", cmd_use_credits, "", 1, "use-credits NS/NAME",
     "bill a job to credits, outside its licence"},
    {"delete", cmd_delete, "", 1, "delete NS/NAME", "delete a job"},
    {"license", cmd_license, "", 1, "license NAME", "print a licence's figures"},
    {"help", cmd_help, "", 0, "help", "print this help"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
	fputs("Usage: vgpuctl [--server URL] COMMAND [ARGS]\n\nCommands:\n", out);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-30s %s\n", commands[i].synopsis, commands[i].help);
	fputs("\nOptions:\n"
	      "  --server URL                   daemon address (default $VGPUCTL_SERVER, "
	      "else " DEFAULT_SERVER ")\n"
	      "  -h, --help                     print this help\n"
	      "  --version                      print the version\n",
	      out);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* Options a command may take: short letter, long name, where the value goes. */
struct option_def {
	char letter;
	const char *name;
	size_t field; /* offset of the const char * in struct args; 0 = flag "all" */
};

static const struct option_def options[] = {
    {'f', "filename", offsetof(struct args, file)},
    {'n', "namespace", offsetof(struct args, ns)},
    {'o', "output", offsetof(struct args, output)},
    {'A', "all-namespaces", 0},
};

static const struct option_def *find_option(const char *arg, const char **inline_val)
{
	*inline_val = NULL;
	for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
		const struct option_def *o = &options[i];
		size_t l = strlen(o->name);
		if (arg[0] == '-' && arg[1] == o->letter && !arg[2])
			return o;
		if (!strncmp(arg, "--", 2) && !strncmp(arg + 2, o->name, l) &&
		    (!arg[2 + l] || arg[2 + l] == '=')) {
			*inline_val = arg[2 + l] ? arg + 3 + l : NULL;
			return o;
		}
	}
	return NULL;
}

/* Fills a from a command's arguments; returns 0, or 2 after a usage error. */
static int parse_args(const struct command *cmd, int argc, char **argv, struct args *a)
{
	bool only_pos = false;
	memset(a, 0, sizeof *a);
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *val;
		/* "-" is stdin and "-3" a (bad) number: both are arguments. */
		bool pos = only_pos || arg[0] != '-' || !arg[1] || (arg[1] >= '0' && arg[1] <= '9');
		if (!pos && !strcmp(arg, "--")) {
			only_pos = true;
			continue;
		}
		if (pos) {
			if (a->npos == MAX_POS)
				return usage_error(cmd, "unexpected argument \"%s\"", arg);
			a->pos[a->npos++] = arg;
			continue;
		}
		const struct option_def *o = find_option(arg, &val);
		if (!o || !strchr(cmd->flags, o->letter))
			return usage_error(cmd, "unknown option %s", arg);
		if (!o->field) {
			a->all = true;
			continue;
		}
		if (!val && i + 1 == argc)
			return usage_error(cmd, "%s needs a value", arg);
		*(const char **)((char *)a + o->field) = val ? val : argv[++i];
	}
	if (a->npos != cmd->npos)
		return usage_error(cmd, "%s",
				   a->npos < cmd->npos ? "missing argument" : "too many arguments");
	return 0;
}

/* Reads the options before the command; returns the command's index in
 * argv, or -(exit code) when the process is done (help, version, error). */
static int parse_globals(int argc, char **argv, struct ctl *c)
{
	const char *server = getenv("VGPUCTL_SERVER");
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *arg = argv[i];
		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(arg, "--version")) {
			printf("vgpuctl %s\n", VX_VERSION);
			return 0;
		} else if (!strncmp(arg, "--server=", 9)) {
			server = arg + 9;
		} else if (!strcmp(arg, "--server")) {
			if (i + 1 == argc)
				return -usage_error(NULL, "--server needs a URL");
			server = argv[++i];
		} else {
			return -usage_error(NULL, "unknown option %s", arg);
		}
	}
	if (i == argc)
		return -usage_error(NULL, "%s", "no command given");
	if (!server || !*server)
		server = DEFAULT_SERVER;
	if (strlen(server) >= sizeof c->server)
		return -usage_error(NULL, "%s", "the server URL is too long");
	snprintf(c->server, sizeof c->server, "%s", server);
	for (size_t l = strlen(c->server); l > 0 && c->server[l - 1] == '/'; l--)
		c->server[l - 1] = '\0'; /* paths start with '/' */
	return i;
}

int main(int argc, char **argv)
{
	struct ctl c;
	struct args a;
	int i = parse_globals(argc, argv, &c);
	if (i <= 0)
		return -i;
	const struct command *cmd = find_command(argv[i]);
	if (!cmd)
		return usage_error(NULL, "unknown command \"%s\"", argv[i]);
	for (int k = i + 1; k < argc; k++) {
		if (!strcmp(argv[k], "--"))
			break;
		if (!strcmp(argv[k], "-h") || !strcmp(argv[k], "--help"))
			return cmd_help(&c, NULL);
	}
	if (parse_args(cmd, argc - i - 1, argv + i + 1, &a))
		return 2;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fprintf(stderr, "vgpuctl: cannot initialise libcurl\n");
		return 1;
	}
	int rc = cmd->run(&c, &a);
	curl_global_cleanup();
	return rc;
}
