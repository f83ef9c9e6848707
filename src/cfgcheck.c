/* cfgcheck: validates queues: and licenses: entries field by field; see
 * cfgcheck.h. Each section is a table of known fields and what their values
 * must be, so an unknown or misspelt field is an error too. */
#include "vx/cfgcheck.h"
#include "vx/license.h"
#include "vx/queue.h"
#include "vx/xalloc.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum fkind { F_NAME, F_NAMESPACES, F_NONNEG, F_LIMIT, F_COUNT, F_HHMM };

struct field {
	const char *key;
	enum fkind kind;
};

static const struct field queue_fields[] = {
    {"name", F_NAME},   {"namespaces", F_NAMESPACES},  {"quota", F_NONNEG},
    {"limit", F_LIMIT}, {"overQuotaWeight", F_NONNEG}, {NULL, F_NAME},
};

static const struct field license_fields[] = {
    {"name", F_NAME},      {"namespaces", F_NAMESPACES}, {"dailyHours", F_NONNEG},
    {"maxSlots", F_COUNT}, {"resetUTC", F_HHMM},         {NULL, F_NAME},
};

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool number(const char *s, double *out)
{
	char *end;
	if (!s || !*s)
		return false;
	errno = 0;
	*out = strtod(s, &end);
	return !*end && !errno && isfinite(*out);
}

static bool hhmm(const char *s)
{
	int h, m;
	char extra;
	return s && strlen(s) == 5 && sscanf(s, "%2d:%2d%c", &h, &m, &extra) == 2 && h >= 0 &&
	       h < 24 && m >= 0 && m < 60;
}

/* A list of non-empty strings (namespace names). */
static const char *check_list(yaml_document_t *d, const yaml_node_t *v)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return "want a list of namespace names, e.g. [team-a]";
	for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
	     i++) {
		const char *s = scalar(yaml_document_get_node(d, *i));
		if (!s || !*s)
			return "want a list of namespace names, e.g. [team-a]";
	}
	return NULL;
}

/* NULL when v suits the field, else what was wanted. */
static const char *check_value(yaml_document_t *d, enum fkind k, const yaml_node_t *v)
{
	const char *s = scalar(v);
	double x;
	if (k == F_NAMESPACES)
		return check_list(d, v);
	if (!s)
		return "needs a single value";
	switch (k) {
	case F_NAME: return *s ? NULL : "must not be empty";
	case F_NONNEG: return number(s, &x) && x >= 0 ? NULL : "want a number >= 0";
	case F_LIMIT:
		return number(s, &x) && (x >= 0 || x == -1) ? NULL : "want -1 or a number >= 0";
	case F_COUNT:
		return number(s, &x) && x >= 0 && x == floor(x) ? NULL : "want a whole number >= 0";
	case F_HHMM: return hhmm(s) ? NULL : "want a time of day \"HH:MM\" (UTC)";
	default: return NULL;
	}
}

static const struct field *find_field(const struct field *f, const char *key)
{
	for (; key && f->key; f++)
		if (strcmp(f->key, key) == 0)
			return f;
	return NULL;
}

static const char *entry_name(yaml_document_t *d, const yaml_node_t *e)
{
	for (yaml_node_pair_t *p = e->data.mapping.pairs.start; p < e->data.mapping.pairs.top; p++)
		if (scalar(yaml_document_get_node(d, p->key)) &&
		    strcmp(scalar(yaml_document_get_node(d, p->key)), "name") == 0)
			return scalar(yaml_document_get_node(d, p->value));
	return NULL;
}

static int check_entry(yaml_document_t *d, const struct field *fields, const char *key, int idx,
		       const yaml_node_t *e, const char *path, char *err, size_t errlen)
{
	if (e->type != YAML_MAPPING_NODE) {
		snprintf(err, errlen, "%s:%zu: %s[%d] must be a mapping with a name", path,
			 e->start_mark.line + 1, key, idx);
		return -1;
	}
	for (yaml_node_pair_t *p = e->data.mapping.pairs.start; p < e->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = yaml_document_get_node(d, p->key);
		const struct field *f = find_field(fields, scalar(k));
		const char *why = f ? check_value(d, f->kind, yaml_document_get_node(d, p->value))
				    : "unknown key";
		if (why) {
			const char *got = f ? scalar(yaml_document_get_node(d, p->value)) : NULL;
			snprintf(err, errlen, "%s:%zu: %s[%d] key \"%s\": %s%s%s%s", path,
				 k->start_mark.line + 1, key, idx, scalar(k) ? scalar(k) : "?", why,
				 got ? ", got \"" : "", got ? got : "", got ? "\"" : "");
			return -1;
		}
	}
	if (!entry_name(d, e)) {
		snprintf(err, errlen, "%s:%zu: %s[%d] has no name", path, e->start_mark.line + 1,
			 key, idx);
		return -1;
	}
	return 0;
}

int cfgcheck_section(yaml_document_t *d, const char *key, yaml_node_t *v, const char *path,
		     char *err, size_t errlen)
{
	const struct field *fields = strcmp(key, "queues") == 0 ? queue_fields : license_fields;
	const char *s = scalar(v);
	if (s && (!*s || !strcmp(s, "~") || !strcmp(s, "null")))
		return 0; /* "queues:" with nothing after it */
	if (v->type != YAML_SEQUENCE_NODE) {
		snprintf(err, errlen, "%s:%zu: key \"%s\" must be a list of entries", path,
			 v->start_mark.line + 1, key);
		return -1;
	}
	int n = 0;
	for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
	     i++, n++) {
		const yaml_node_t *e = yaml_document_get_node(d, *i);
		if (check_entry(d, fields, key, n, e, path, err, errlen))
			return -1;
		for (yaml_node_item_t *j = v->data.sequence.items.start; j < i; j++) {
			if (strcmp(entry_name(d, yaml_document_get_node(d, *j)),
				   entry_name(d, e)) == 0) {
				snprintf(err, errlen, "%s:%zu: %s[%d]: a second entry named \"%s\"",
					 path, e->start_mark.line + 1, key, n, entry_name(d, e));
				return -1;
			}
		}
	}
	return n;
}

/* One checked queue entry's values. */
static void read_queue(yaml_document_t *d, const yaml_node_t *e, struct queue_conf *q)
{
	*q = (struct queue_conf){NULL, NULL, 0, 0, 1, QUEUE_NO_LIMIT};
	for (yaml_node_pair_t *p = e->data.mapping.pairs.start; p < e->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(d, p->key));
		const yaml_node_t *v = yaml_document_get_node(d, p->value);
		double x = 0;
		if (!strcmp(k, "name"))
			q->name = xstrdup(scalar(v));
		else if (!strcmp(k, "quota") && number(scalar(v), &x))
			q->quota = x;
		else if (!strcmp(k, "overQuotaWeight") && number(scalar(v), &x))
			q->weight = x;
		else if (!strcmp(k, "limit") && number(scalar(v), &x))
			q->limit = x;
		else if (!strcmp(k, "namespaces")) {
			q->namespaces = xcalloc(
			    (size_t)(v->data.sequence.items.top - v->data.sequence.items.start),
			    sizeof *q->namespaces);
			for (yaml_node_item_t *i = v->data.sequence.items.start;
			     i < v->data.sequence.items.top; i++)
				q->namespaces[q->nns++] =
				    xstrdup(scalar(yaml_document_get_node(d, *i)));
		}
	}
}

int cfgcheck_queues(yaml_document_t *d, yaml_node_t *v, struct queue_conf **out)
{
	*out = NULL;
	if (v->type != YAML_SEQUENCE_NODE)
		return 0;
	int n = (int)(v->data.sequence.items.top - v->data.sequence.items.start), k = 0;
	*out = xcalloc((size_t)n, sizeof **out);
	for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
	     i++)
		read_queue(d, yaml_document_get_node(d, *i), &(*out)[k++]);
	return k;
}

static void read_license(yaml_document_t *d, const yaml_node_t *e, struct license_conf *l)
{
	*l = (struct license_conf){NULL, NULL, 0, 0, 0, 0};
	for (yaml_node_pair_t *p = e->data.mapping.pairs.start; p < e->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(d, p->key));
		const yaml_node_t *v = yaml_document_get_node(d, p->value);
		double x = 0;
		int h = 0, m = 0;
		if (!strcmp(k, "name"))
			l->name = xstrdup(scalar(v));
		else if (!strcmp(k, "dailyHours") && number(scalar(v), &x))
			l->daily_hours = x;
		else if (!strcmp(k, "maxSlots") && number(scalar(v), &x))
			l->max_slots = (int)x;
		else if (!strcmp(k, "resetUTC") && sscanf(scalar(v), "%d:%d", &h, &m) == 2)
			l->reset_min = h * 60 + m;
		else if (!strcmp(k, "namespaces")) {
			l->namespaces = xcalloc(
			    (size_t)(v->data.sequence.items.top - v->data.sequence.items.start),
			    sizeof *l->namespaces);
			for (yaml_node_item_t *i = v->data.sequence.items.start;
			     i < v->data.sequence.items.top; i++)
				l->namespaces[l->nns++] =
				    xstrdup(scalar(yaml_document_get_node(d, *i)));
		}
	}
}

int cfgcheck_licenses(yaml_document_t *d, yaml_node_t *v, struct license_conf **out)
{
	*out = NULL;
	if (v->type != YAML_SEQUENCE_NODE)
		return 0;
	int n = (int)(v->data.sequence.items.top - v->data.sequence.items.start), k = 0;
	*out = xcalloc((size_t)n, sizeof **out);
	for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
	     i++)
		read_license(d, yaml_document_get_node(d, *i), &(*out)[k++]);
	return k;
}
