/* store: the one interface between the daemon and "the cluster". Two
 * implementations: the in-memory store of dev mode (store/memory.c) and the
 * API server client of cluster mode. A store delivers Node and Pod objects to
 * a sink (the sync layer) and performs the writes the pipeline decides.
 * Rule: nobody calls into a store while holding the model lock. */
#ifndef VX_STORE_H
#define VX_STORE_H

#include <cjson/cJSON.h>
#include <stdbool.h>

enum store_ev { STORE_ADDED, STORE_MODIFIED, STORE_DELETED };

struct store_sink {
	void *ud;
	void (*node)(void *ud, enum store_ev ev, const cJSON *node);
	void (*pod)(void *ud, enum store_ev ev, const cJSON *pod);
	void (*synced)(void *ud); /* the first full list has been delivered */
};

struct store_err {
	int code; /* HTTP-like: 400, 404, 409, 500, 503 */
	char msg[256];
};

struct store_binding {
	const char *ns, *name, *uid, *node;
	const cJSON *annotations; /* object of string values, or NULL */
};

struct store;

struct store_ops {
	int (*start)(struct store *s, const struct store_sink *sink);
	void (*stop)(struct store *s);
	void (*destroy)(struct store *s);
	/* Returns a new cJSON pod the caller frees, or NULL with e set. */
	cJSON *(*get_pod)(struct store *s, const char *ns, const char *name, struct store_err *e);
	int (*bind)(struct store *s, const struct store_binding *b, struct store_err *e);
	int (*create_pod)(struct store *s, const cJSON *pod, struct store_err *e);
	int (*delete_pod)(struct store *s, const char *ns, const char *name, struct store_err *e);
	/* Merge-patches metadata.annotations; a JSON null value removes a key. */
	int (*patch_pod_annotations)(struct store *s, const char *ns, const char *name,
				     const cJSON *annotations, struct store_err *e);
	/* Whether this replica may bind (leader election); NULL = always. */
	bool (*is_leader)(struct store *s);
	/* Dev mode registers pods first seen through /filter; may be NULL. */
	void (*observe_pod)(struct store *s, const cJSON *pod);
};

struct store {
	const struct store_ops *ops;
	const char *kind; /* "memory" or "kubernetes" */
};

void store_err_set(struct store_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
