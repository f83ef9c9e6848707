/* store: the one interface between the daemon and "the cluster", below the
 * pipeline. Two implementations: the in-memory store of dev mode
 * (store/memstore.c) and the API server client of cluster mode
 * (store/kubestore.c). A store delivers Node and Pod objects to a sink (the
 * sync layer, the only way into the model) and performs the writes the
 * pipeline decides. Rule: nobody calls into a store while holding the model
 * lock. */
#ifndef VX_STORE_H
#define VX_STORE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

enum store_ev { STORE_ADDED, STORE_MODIFIED, STORE_DELETED };

struct store_sink {
	void *ud;
	void (*node)(void *ud, enum store_ev ev, const cJSON *node);
	void (*pod)(void *ud, enum store_ev ev, const cJSON *pod);
	void (*synced)(void *ud); /* the first full list has been delivered */
};

struct store_err {
	int code;      /* HTTP-like: 400, 404, 409, 423, 500, 503 */
	char msg[512]; /* room for a pod name of 253 and the field it names */
};

struct store_binding {
	const char *ns, *name, *uid, *node;
	const cJSON *annotations; /* object of string values, or NULL */
};

/* A named document of the daemon's own (the licences' day of usage) as a
 * store keeps it: a file in --state-dir in dev mode, a ConfigMap in the
 * daemon's namespace in cluster mode. version is the optimistic-concurrency
 * token ("" while none exists), where names it for log lines. */
struct store_doc {
	char *data; /* NUL-terminated; NULL when there is none yet */
	char version[64];
	char where[320];
	bool nowhere; /* this store keeps nothing (dev mode without --state-dir) */
};

/* bind's answer when the node lock is held by an allocation still in
 * flight: nothing was written; try again once the lock is released. */
#define STORE_BUSY 1

struct store;

struct store_ops {
	int (*start)(struct store *s, const struct store_sink *sink);
	void (*stop)(struct store *s);
	void (*destroy)(struct store *s);
	/* Returns a new cJSON pod the caller frees, or NULL with e set. */
	cJSON *(*get_pod)(struct store *s, const char *ns, const char *name, struct store_err *e);
	/* Delivers the pod's current state to the sink now (a bind that raced
	 * ahead of the watch); 0, or -1 with e set (404: no such pod). */
	int (*refresh_pod)(struct store *s, const char *ns, const char *name, struct store_err *e);
	/* Takes the node lock (when b->annotations is set) and binds. Never
	 * waits for a held lock: returns 0, STORE_BUSY, or -1 with e set. */
	int (*bind)(struct store *s, const struct store_binding *b, struct store_err *e);
	int (*create_pod)(struct store *s, const cJSON *pod, struct store_err *e);
	int (*delete_pod)(struct store *s, const char *ns, const char *name, struct store_err *e);
	/* Merge-patches metadata.annotations; a JSON null value removes a key. */
	int (*patch_pod_annotations)(struct store *s, const char *ns, const char *name,
				     const cJSON *annotations, struct store_err *e);
	/* Evicts the pod (policy/v1 Eviction, so PodDisruptionBudgets hold): 0,
	 * or -1 with e set (429: a budget forbids it now; 404: gone). */
	int (*evict_pod)(struct store *s, const char *ns, const char *name, const char *uid,
			 struct store_err *e);
	/* Records a Normal Event on the pod, best effort; NULL: none are kept. */
	void (*pod_event)(struct store *s, const char *ns, const char *name, const char *uid,
			  const char *reason, const char *msg);
	/* The same for metadata.labels. */
	int (*patch_pod_labels)(struct store *s, const char *ns, const char *name,
				const cJSON *labels, struct store_err *e);
	/* Reads the named document into d (the caller frees d->data): 0, or
	 * -1 with e set. A document that does not exist is 0 with data NULL. */
	int (*state_get)(struct store *s, const char *name, struct store_doc *d,
			 struct store_err *e);
	/* Writes data if the stored document is still at d->version (""
	 * creates it) and updates d->version: 0, or -1 with e set; e->code 409
	 * when another writer got there first (read again, merge, retry). */
	int (*state_put)(struct store *s, const char *name, const char *data, struct store_doc *d,
			 struct store_err *e);
	/* Whether this replica may bind (leader election); NULL = always. */
	bool (*is_leader)(struct store *s);

	/* Dev mode only (NULL in cluster mode): the stand-ins for kubelet and
	 * the device plugin, and the queue the dev scheduling loop works on. */
	/* Registers a pod first seen through /filter (left to the caller). */
	void (*observe_pod)(struct store *s, const cJSON *pod);
	/* Plays device plugin and kubelet where due; returns objects changed. */
	int (*tick)(struct store *s);
	/* Keys ("ns/name") of the pods to place, oldest first; caller frees. */
	int (*pending)(struct store *s, char ***keys);
	/* Blocks until something changed after `seen` or timeout_ms passed;
	 * returns the current change counter. */
	uint64_t (*wait)(struct store *s, uint64_t seen, int timeout_ms);
	/* Wakes wait() (the clock moved, or the daemon is stopping). */
	void (*kick)(struct store *s);
	/* Milliseconds until the next timed event (a dev pod finishing), -1 none. */
	int64_t (*next_due_ms)(struct store *s);
};

struct store {
	const struct store_ops *ops;
	const char *kind; /* "memory" or "kubernetes" */
};

void store_err_set(struct store_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
