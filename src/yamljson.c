/* yamljson: YAML streams converted to cJSON; see yamljson.h. Documents in
 * kubectl's block style go through the fast reader (yamlfast.c); from the
 * first one that does not, libyaml's document loader reads the rest, so it
 * resolves aliases and reports every error. Recursion depth is bounded so
 * a hostile file cannot exhaust the stack. */
#include "vx/yamljson.h"
#include "yamlfast.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

static int is_plain_number(const char *s)
{
	char *end;
	if (!*s)
		return 0;
	errno = 0;
	strtod(s, &end);
	if (*end || errno)
		return 0;
	/* "0x1F", "inf" and "nan" stay strings, as in Kubernetes YAML. */
	for (const char *p = s; *p; p++)
		if (!strchr("0123456789+-.eE", *p))
			return 0;
	return 1;
}

cJSON *yj_scalar(const char *v, bool plain)
{
	/* Only these first characters can start a null, a boolean or a number. */
	if (!plain || (*v && !strchr("~nNtTfF0123456789+-.", *v)))
		return cJSON_CreateString(v);
	if (!*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
	    strcmp(v, "NULL") == 0)
		return cJSON_CreateNull();
	if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "TRUE") == 0)
		return cJSON_CreateTrue();
	if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "FALSE") == 0)
		return cJSON_CreateFalse();
	if (is_plain_number(v))
		return cJSON_CreateNumber(strtod(v, NULL));
	return cJSON_CreateString(v);
}

/* One parse: where documents go, and the lines before what libyaml reads
 * (it starts where the fast path stopped). */
struct yj_run {
	const char *name;
	yj_take_cb cb;
	void *ud;
	char *err;
	size_t errlen;
	int count;
	size_t line0;
};

static cJSON *convert(const struct yj_run *r, yaml_document_t *d, yaml_node_t *n, int depth,
		      char *err, size_t errlen)
{
	if (depth > YJ_MAX_DEPTH) {
		snprintf(err, errlen, "%zu: nested deeper than %d levels",
			 r->line0 + n->start_mark.line + 1, YJ_MAX_DEPTH);
		return NULL;
	}
	if (n->type == YAML_SCALAR_NODE)
		return yj_scalar((const char *)n->data.scalar.value,
				 n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
	if (n->type == YAML_SEQUENCE_NODE) {
		cJSON *arr = cJSON_CreateArray();
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top; i++) {
			cJSON *v =
			    convert(r, d, yaml_document_get_node(d, *i), depth + 1, err, errlen);
			if (!v) {
				cJSON_Delete(arr);
				return NULL;
			}
			cJSON_AddItemToArray(arr, v);
		}
		return arr;
	}
	cJSON *obj = cJSON_CreateObject();
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		if (!k || k->type != YAML_SCALAR_NODE) {
			snprintf(err, errlen, "%zu: mapping keys must be scalars",
				 r->line0 + n->start_mark.line + 1);
			cJSON_Delete(obj);
			return NULL;
		}
		cJSON *v =
		    convert(r, d, yaml_document_get_node(d, p->value), depth + 1, err, errlen);
		if (!v) {
			cJSON_Delete(obj);
			return NULL;
		}
		const char *key = (const char *)k->data.scalar.value;
		cJSON_DeleteItemFromObjectCaseSensitive(obj, key); /* last duplicate wins */
		cJSON_AddItemToObject(obj, key, v);
	}
	return obj;
}

/* Counts a document and hands it on; a null one (empty) is only counted. */
static int deliver(struct yj_run *r, cJSON *j, int line)
{
	r->count++;
	if (!j || cJSON_IsNull(j) || !r->cb) {
		cJSON_Delete(j);
		return 0;
	}
	return r->cb(r->ud, j, line, r->err, r->errlen) ? -1 : 0;
}

static int parse_libyaml(struct yj_run *r, const char *data, size_t len)
{
	yaml_parser_t parser;
	char msg[400];
	int rc = 0;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (rc == 0) {
		yaml_document_t doc;
		if (!yaml_parser_load(&parser, &doc)) {
			snprintf(r->err, r->errlen, "%s:%zu: %s", r->name,
				 r->line0 + parser.problem_mark.line + 1,
				 parser.problem ? parser.problem : "YAML syntax error");
			rc = -1;
			break;
		}
		yaml_node_t *root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;
		}
		int line = (int)(r->line0 + root->start_mark.line + 1);
		cJSON *j = convert(r, &doc, root, 0, msg, sizeof msg);
		yaml_document_delete(&doc);
		if (!j) {
			snprintf(r->err, r->errlen, "%s:%s", r->name, msg);
			rc = -1;
		} else {
			rc = deliver(r, j, line);
		}
	}
	yaml_parser_delete(&parser);
	return rc;
}

/* The fast path reads documents while they are in its subset; libyaml
 * reads the rest of the stream from the first one that is not. */
static int run(struct yj_run *r, const char *data, size_t len, bool fast)
{
	struct yf f;
	cJSON *doc;
	int rc = 0, got = 0, line = 0;
	yf_init(&f, data, len);
	while (fast && rc == 0 && (got = yf_next(&f, &doc, &line)) > 0)
		rc = deliver(r, doc, line);
	const char *rest = f.p;
	r->line0 = (size_t)f.line - 1;
	yf_free(&f);
	if (rc == 0 && (!fast || got < 0))
		rc = parse_libyaml(r, rest, len - (size_t)(rest - data));
	return rc ? -1 : r->count;
}

int yj_parse_take(const char *data, size_t len, const char *name, yj_take_cb cb, void *ud,
		  char *err, size_t errlen)
{
	struct yj_run r = {name, cb, ud, err, errlen, 0, 0};
	return run(&r, data, len, true);
}

struct borrow {
	yj_doc_cb cb;
	void *ud;
};

static int lend(void *ud, cJSON *doc, int line, char *err, size_t errlen)
{
	const struct borrow *b = ud;
	int rc = b->cb(b->ud, doc, line, err, errlen);
	cJSON_Delete(doc);
	return rc;
}

int yj_parse(const char *data, size_t len, const char *name, yj_doc_cb cb, void *ud, char *err,
	     size_t errlen)
{
	struct borrow b = {cb, ud};
	struct yj_run r = {name, cb ? lend : NULL, &b, err, errlen, 0, 0};
	return run(&r, data, len, true);
}

int yj_parse_libyaml(const char *data, size_t len, const char *name, yj_doc_cb cb, void *ud,
		     char *err, size_t errlen)
{
	struct borrow b = {cb, ud};
	struct yj_run r = {name, cb ? lend : NULL, &b, err, errlen, 0, 0};
	return run(&r, data, len, false);
}

int yj_write_file(const char *path, const char *data, char *err, size_t errlen)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	bool ok = f && fputs(data, f) >= 0 && fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (f && fclose(f) != 0)
		ok = false;
	if (!ok || rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

char *yj_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/* A regular file is read into a buffer of its size at once: doubling a
	 * buffer up to a 150 MB cluster file costs copies and page faults. */
	struct stat st;
	size_t cap = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0
			 ? (size_t)st.st_size + 2
			 : 65536,
	       n = 0;
	char *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (n + 1 == cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	int failed = ferror(f);
	fclose(f);
	if (!buf || failed) {
		snprintf(err, errlen, "%s: read error", path);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

int yj_parse_file(const char *path, yj_doc_cb cb, void *ud, char *err, size_t errlen)
{
	size_t len;
	char *data = yj_read_file(path, &len, err, errlen);
	if (!data)
		return -1;
	int rc = yj_parse(data, len, path, cb, ud, err, errlen);
	free(data);
	return rc;
}
