/* extender: kube-scheduler's extender/v1 JSON in and out. Top-level keys are
 * matched case-insensitively (kube-scheduler sends PascalCase, older clients
 * lowercase); replies use PascalCase. Knows nothing about GPUs. */
#ifndef VX_EXTENDER_H
#define VX_EXTENDER_H

#include "vx/buf.h"
#include "vx/pipeline.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

struct ext_args {
	cJSON *root;
	const cJSON *pod;
	int n;
	const char **names; /* candidate node names, not NUL-terminated: see lens */
	size_t *lens;
	const cJSON **items; /* the Node objects when Nodes was sent, else NULL */
	bool node_names;     /* answer with NodeNames (it was sent) */
	bool clean_names;    /* names need no escaping (checked while scanning) */
};

/* ExtenderArgs for filter and prioritize. Returns 0, or -1 with err. */
int ext_parse_args(const char *body, size_t len, struct ext_args *a, char *err, size_t errlen);
void ext_args_free(struct ext_args *a);
void ext_write_filter(struct buf *out, const struct ext_args *a, const struct pipe_filter_out *f);
void ext_write_priorities(struct buf *out, const struct ext_args *a, const int *scores);
void ext_write_error(struct buf *out, const char *msg);

struct ext_bind {
	cJSON *root;
	const char *name, *ns, *uid, *node;
};
int ext_parse_bind(const char *body, size_t len, struct ext_bind *b, char *err, size_t errlen);
void ext_bind_free(struct ext_bind *b);

struct ext_preempt {
	cJSON *root;
	const cJSON *pod;
	int n;
	struct pipe_victims *v;
};
int ext_parse_preempt(const char *body, size_t len, struct ext_preempt *p, char *err,
		      size_t errlen);
void ext_write_preempt(struct buf *out, const struct ext_preempt *p);
void ext_preempt_free(struct ext_preempt *p);

#endif
