/* yamlfast: the fast path of yamljson.c for kubectl-style block YAML; see
 * yamlfast.c for the subset it reads. Private to yamljson.c and its tests. */
#ifndef VX_YAMLFAST_H
#define VX_YAMLFAST_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define YJ_MAX_DEPTH 64

struct line {
	const char *s, *c, *e; /* start, first non-space, end ('\n' or the end) */
	int indent;
};

struct yf {
	const char *p, *end, *valid_to;
	int line; /* 1-based line of p */
	int docs;
	bool bail;
	char *tmp; /* the scalar or key at hand, unquoted */
	size_t cap;
	const char *peeked; /* where the last peek started, and its answer */
	struct line last;
	int last_type;
};

/* The cJSON value of a scalar, typed the way Kubernetes' decoder types
 * plain scalars; quoted ones are strings. Shared with the libyaml path. */
cJSON *yj_scalar(const char *v, bool plain);

void yf_init(struct yf *f, const char *data, size_t len);
/* Reads the next document: 1 with *doc (NULL for an empty document) and
 * *line (its first line), 0 at the end of the stream, -1 when the rest of
 * the stream, from f->p (line f->line) on, is for libyaml to read. */
int yf_next(struct yf *f, cJSON **doc, int *line);
void yf_free(struct yf *f);

#endif
