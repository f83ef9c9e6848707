/* yamljson: libyaml document trees converted to cJSON; see yamljson.h.
 * Aliases are resolved by libyaml's document loader; recursion depth is
 * bounded so a hostile file cannot exhaust the stack. */
#include "vx/yamljson.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YJ_MAX_DEPTH 64

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

static cJSON *scalar(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
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

static cJSON *convert(yaml_document_t *d, yaml_node_t *n, int depth, char *err, size_t errlen)
{
	if (depth > YJ_MAX_DEPTH) {
		snprintf(err, errlen, "%zu: nested deeper than %d levels", n->start_mark.line + 1,
			 YJ_MAX_DEPTH);
		return NULL;
	}
	if (n->type == YAML_SCALAR_NODE)
		return scalar(n);
	if (n->type == YAML_SEQUENCE_NODE) {
		cJSON *arr = cJSON_CreateArray();
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top; i++) {
			cJSON *v =
			    convert(d, yaml_document_get_node(d, *i), depth + 1, err, errlen);
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
				 n->start_mark.line + 1);
			cJSON_Delete(obj);
			return NULL;
		}
		cJSON *v = convert(d, yaml_document_get_node(d, p->value), depth + 1, err, errlen);
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

int yj_parse(const char *data, size_t len, const char *name, yj_doc_cb cb, void *ud, char *err,
	     size_t errlen)
{
	yaml_parser_t parser;
	char msg[400];
	int count = 0, rc = 0;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	for (;;) {
		yaml_document_t doc;
		if (!yaml_parser_load(&parser, &doc)) {
			snprintf(err, errlen, "%s:%zu: %s", name, parser.problem_mark.line + 1,
				 parser.problem ? parser.problem : "YAML syntax error");
			rc = -1;
			break;
		}
		yaml_node_t *root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;
		}
		int line = (int)root->start_mark.line + 1;
		cJSON *j = convert(&doc, root, 0, msg, sizeof msg);
		yaml_document_delete(&doc);
		if (!j) {
			snprintf(err, errlen, "%s:%s", name, msg);
			rc = -1;
			break;
		}
		count++;
		if (!cJSON_IsNull(j) && cb && cb(ud, j, line, err, errlen)) {
			cJSON_Delete(j);
			rc = -1;
			break;
		}
		cJSON_Delete(j);
	}
	yaml_parser_delete(&parser);
	return rc ? -1 : count;
}

char *yj_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	size_t cap = 65536, n = 0;
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
