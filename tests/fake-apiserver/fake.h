/* fake.h: shared declarations of the fake Kubernetes API server used by the
 * integration tests and the benchmark (see README.md beside this file).
 *
 * Files and what each owns:
 *   main.c     flags, startup (seed file, synthetic objects), signals, shutdown
 *   ver.c      immutable, reference-counted object versions (cached JSON text)
 *   store.c    the object store: kinds, writes, resourceVersion counter,
 *              event history
 *   list.c     LIST: pagination, continue tokens
 *   select.c   field and label selectors
 *   patch.c    JSON merge patch (RFC 7386) and JSON patch (RFC 6902)
 *   watch.c    watchers: per-watcher queues and the chunked WATCH stream
 *   http.c     libmicrohttpd glue: listen, TLS, bodies, replies, auth, faults
 *   rest.c     routing of REST paths and the handlers (CRUD, binding, eviction)
 *   pdb.c      PodDisruptionBudgets: the eviction's budget check
 *   status.c   API errors as v1 Status objects
 *   control.c  /fake/ control API, fault rules, request statistics
 *   standin.c  the Volcano device-plugin stand-in (--plugin-standin)
 *
 * Locking: one store mutex (fk_srv.mu) guards every kind's objects, history
 * and watcher list and the resourceVersion counter. Each watcher has its own
 * mutex and condition variable for its queue; lock order is store, then
 * watcher (or store, then stand-in queue). Object versions are immutable and
 * reference counted, so readers format them without holding the store lock. */
#ifndef FAKE_H
#define FAKE_H

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "vx/buf.h"
#include "vx/hmap.h"

#define FK_BODY_MAX (16u << 20)

enum fk_evtype { FK_ADDED, FK_MODIFIED, FK_DELETED, FK_BOOKMARK, FK_ERROR };

/* One version of one object. Never changes once made. */
struct fk_ver {
	atomic_int refs;
	uint64_t rv;
	char *text; /* full JSON; starts with {"kind":..,"apiVersion":.., */
	size_t len;
	size_t item_off; /* "{" + text + item_off is the object without kind/apiVersion */
	/* the strings below live in one block, strs */
	char *key;       /* "ns/name", or "name" for cluster-scoped kinds */
	char *name, *ns; /* ns is "" for cluster-scoped kinds */
	char *uid;
	char **fields;      /* one value per kind->fields[i], "" when absent */
	char **labels;      /* key, value, key, value, ... */
	size_t nlabels;     /* number of pairs */
	char *standin_node; /* pods: bound node when bind-phase is allocating, or NULL */
	char *strs;
};

struct fk_obj {
	char *key;
	struct fk_ver *cur;
};

struct fk_event {
	int type;
	struct fk_ver *cur;  /* the object after the write (for DELETED: its last state) */
	struct fk_ver *prev; /* before the write, NULL for ADDED */
};

struct fk_watcher;

struct fk_kind {
	const char *resource;    /* "pods" */
	const char *kind;        /* "Pod" */
	const char *list_kind;   /* "PodList" */
	const char *api_version; /* "v1" */
	const char *group;       /* "" or "coordination.k8s.io" */
	const char *qualified;   /* "pods" or "leases.coordination.k8s.io" */
	int namespaced;
	int has_status; /* main resource keeps status, /status keeps spec */
	const char *const *fields;
	int nfields;
	/* state, under fk_srv.mu */
	struct hmap objs; /* key -> struct fk_obj */
	struct fk_obj **vec;
	size_t n, cap;
	int sorted;
	struct fk_event *ring;
	size_t ring_cap, ring_head, ring_len;
	uint64_t oldest_rv; /* watches and continue tokens from an RV below this get 410 */
	struct fk_watcher *watchers;
};

enum { FK_POD, FK_NODE, FK_EVENT, FK_CONFIGMAP, FK_LEASE, FK_PDB, FK_NKINDS };

struct fk_config {
	const char *listen;
	const char *tls_cert, *tls_key;
	const char *token;
	const char *seed;
	long gen_nodes, gen_gpus, gen_pods;
	int standin;
	long standin_delay_ms;
	long history;
	long bookmark_ms;
	int verbose;
};

struct fk_server {
	pthread_mutex_t mu;
	uint64_t rv;
	struct fk_kind kinds[FK_NKINDS];
	int nwatchers;
	int shutdown;
	uint64_t rng[2];
	struct fk_config cfg;
	int watch_delay_ms; /* /fake/watch-delay: events reach watchers this late; atomic */
};

extern struct fk_server fk_srv;

/* An API error, turned into a v1 Status by the HTTP layer. */
struct fk_err {
	int code;
	const char *reason; /* "" leaves it out, as some real answers do */
	char msg[1024];
	char dname[256]; /* details.name, "" for none */
	char dkind[64];  /* details.kind */
	const char *dgroup;
	int retry_after;
	/* one details.causes entry when cause_reason is set */
	char cause_reason[32];
	char cause_msg[512];
};

void fk_err_set(struct fk_err *e, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void fk_err_details(struct fk_err *e, const struct fk_kind *k, const char *kindname,
		    const char *name);
void fk_err_notfound(struct fk_err *e, const struct fk_kind *k, const char *name);
void fk_err_conflict(struct fk_err *e, const struct fk_kind *k, const char *name);
const char *fk_reason_for(int code);
/* Appends a v1 Status (failure) to b. */
void fk_status_json(struct buf *b, const struct fk_err *e);

/* ---- store.c ---- */
void fk_store_init(void);
void fk_store_free(void);
struct fk_kind *fk_kind_by_resource(const char *group, const char *resource);
struct fk_kind *fk_kind_by_kind(const char *kind);
void fk_ver_ref(struct fk_ver *v);
void fk_ver_unref(struct fk_ver *v);
/* Makes a version from a tree (kind/apiVersion are set from k; the tree loses
 * its own kind/apiVersion members). Does not take the tree. */
struct fk_ver *fk_ver_from_tree(struct fk_kind *k, cJSON *tree, uint64_t rv);
/* Fills a version's strings in one block. fieldvals: one per kind field (NULL = "");
 * labels: nlabels key/value pairs; standin: NULL or the node name. */
void fk_ver_set_strings(const struct fk_kind *k, struct fk_ver *v, const char *name, const char *ns,
			const char *uid, const char *const *fieldvals, const char *const *labels,
			size_t nlabels, const char *standin);
/* Bulk loading (startup): adds a ready version without history or events. */
void fk_store_load(struct fk_kind *k, struct fk_ver *v);
void fk_store_loaded(void); /* history starts at the current RV */
void fk_uuid(char out[37]); /* under fk_srv.mu or before threads start */
void fk_now_rfc3339(char out[32]);
void fk_obj_free(struct fk_obj *o);
void fk_kind_sort(struct fk_kind *k);
/* First index of k->vec (sorted) whose key is >= key. */
size_t fk_kind_lower(const struct fk_kind *k, const char *key);

enum fk_wmode {
	FK_W_MAIN,     /* PUT/PATCH of the main resource */
	FK_W_STATUS,   /* PUT/PATCH of the status subresource */
	FK_W_INTERNAL, /* binding, stand-in: no strategy, no preconditions */
};
/* Changes the object in place; return 0, or -1 with err set. */
typedef int (*fk_mutator)(struct fk_kind *k, cJSON **obj, void *ctx, struct fk_err *err);

struct fk_ver *fk_store_get(struct fk_kind *k, const char *ns, const char *name);
/* All write calls return a referenced version or NULL with err set. */
struct fk_ver *fk_store_create(struct fk_kind *k, const char *ns, cJSON *obj, int direct,
			       int *created, struct fk_err *err);
struct fk_ver *fk_store_mutate(struct fk_kind *k, const char *ns, const char *name,
			       enum fk_wmode mode, fk_mutator fn, void *ctx, struct fk_err *err);
/* With fk_srv.mu held: may refuse a delete (return -1 with err set) after the
 * object is found and before the preconditions are checked. */
typedef int (*fk_guard)(struct fk_kind *k, const struct fk_ver *cur, struct fk_err *err);
/* guard may be NULL. */
struct fk_ver *fk_store_delete(struct fk_kind *k, const char *ns, const char *name,
			       const char *pre_uid, const char *pre_rv, fk_guard guard,
			       struct fk_err *err);
/* Drops every object and the history, bumps the RV. */
void fk_store_reset(void);
void fk_store_compact(void);
uint64_t fk_store_rv(void);

struct fk_sel;

/* ---- list.c ---- */
/* Appends the whole list document to out. ns NULL or "": every namespace. */
int fk_store_list(struct fk_kind *k, const char *ns, const struct fk_sel *sel, long limit,
		  const char *cont, struct buf *out, struct fk_err *err);

/* ---- select.c ---- */
int fk_sel_parse(const struct fk_kind *k, const char *fieldsel, const char *labelsel,
		 struct fk_sel **out, struct fk_err *err);
/* ns: "" means every namespace. */
int fk_sel_match(const struct fk_sel *s, const struct fk_ver *v);
int fk_sel_empty(const struct fk_sel *s);
void fk_sel_free(struct fk_sel *s);
const char *fk_json_path_str(const cJSON *obj, const char *dotted, char tmp[64]);

/* ---- patch.c ---- */
cJSON *fk_merge_patch(cJSON *target, const cJSON *patch);
int fk_json_patch(cJSON **doc, const cJSON *ops, char *err, size_t errlen);

/* ---- watch.c ---- */
struct fk_watch_opts {
	const char *rv; /* NULL or "" or "0": start now with synthetic ADDED events */
	int bookmarks;
	int initial_end; /* sendInitialEvents=true: bookmark marking their end */
	long timeout_s;  /* 0: none */
};
/* Takes sel. Returns NULL with err set for a bad request. */
struct MHD_Response *fk_watch_start(struct fk_kind *k, const char *ns, struct fk_sel *sel,
				    const struct fk_watch_opts *o, struct MHD_Connection *c,
				    struct fk_err *err);
/* Called with fk_srv.mu held, for every write. */
void fk_watch_emit(struct fk_kind *k, const struct fk_event *ev);
/* Ends every watch stream (close-watches, reset, shutdown). With fk_srv.mu held. */
int fk_watch_close_all(void);

/* ---- http.c ---- */
int fk_http_start(void);
void fk_http_stop(void);
struct fk_req {
	struct buf body;
	int too_large;
	int code;
	struct timespec t0;
	char *line; /* "METHOD /path?query" for the log */
};
/* Reply helpers: each queues one response; fk_send_ver drops the reference. */
enum MHD_Result fk_send_buf(struct MHD_Connection *c, struct fk_req *r, int code, struct buf *b,
			    int retry_after);
enum MHD_Result fk_send_err(struct MHD_Connection *c, struct fk_req *r, const struct fk_err *e);
enum MHD_Result fk_send_simple(struct MHD_Connection *c, struct fk_req *r, int code,
			       const char *msg);
enum MHD_Result fk_send_ver(struct MHD_Connection *c, struct fk_req *r, int code, struct fk_ver *v);
enum MHD_Result fk_send_success(struct MHD_Connection *c, struct fk_req *r, int code);
const char *fk_arg(struct MHD_Connection *c, const char *name);
int fk_arg_true(struct MHD_Connection *c, const char *name);
/* The body as a JSON object or array, or NULL with a 400 in e. */
cJSON *fk_parse_body(struct fk_req *r, struct fk_err *e);

/* ---- rest.c ---- */
struct fk_route {
	struct fk_kind *k;
	char ns[256];
	char name[256];
	char sub[32];
	int has_ns, has_name;
	char tmpl[192];
};
/* Returns 1 and fills rt for a known resource path, 0 otherwise. */
int fk_route(const char *url, struct fk_route *rt);
enum MHD_Result fk_rest_serve(struct MHD_Connection *c, struct fk_req *r, const struct fk_route *rt,
			      const char *method, int watch);

/* ---- pdb.c ---- */
/* The eviction's guard: the pod may go unless a PodDisruptionBudget of its
 * namespace that selects it has no disruption left (429), or more than one
 * selects it (500). */
int fk_pdb_allows(struct fk_kind *pods, const struct fk_ver *pod, struct fk_err *err);
/* A budget's spec on create and update: 0, or -1 with a 422 in err. */
int fk_pdb_validate(const struct fk_kind *k, const cJSON *obj, const char *name,
		    struct fk_err *err);

/* ---- control.c ---- */
struct fk_fault {
	int status;
	int retry_after;
	long delay_ms;
	char msg[256];
};
/* Returns 1 when a rule matched (and consumed one count). */
int fk_fault_match(const char *method, const char *path, int watch, struct fk_fault *out);
void fk_stats_count(const char *method, const char *tmpl);
void fk_stats_bind(void);
void fk_control_init(void);
void fk_control_free(void);
/* Handles /fake/...; sets *code and appends the reply to out. */
void fk_control_handle(const char *method, const char *path, const char *body, size_t len,
		       int *code, struct buf *out);
/* Loads Node/Pod objects (or {"items":[...]}) as direct writes; used by --seed too. */
int fk_load_objects(const cJSON *doc, struct buf *out, struct fk_err *err);

/* ---- authz.c ---- */
void fk_authz_reset(void); /* also the initial state */
void fk_authz_free(void);
/* /fake/authz: POST adds tokens and rules, DELETE forgets them, GET counts. */
void fk_authz_control(const char *method, const cJSON *body, int *code, struct buf *out);
/* Answers the TokenReview and SubjectAccessReview paths (returns 1), else 0. */
int fk_authz_serve(struct MHD_Connection *c, struct fk_req *r, const char *url, const char *method,
		   enum MHD_Result *ret);

/* ---- standin.c ---- */
void fk_standin_start(void);
void fk_standin_stop(void);
/* With fk_srv.mu held: a pod version that is bound and allocating. */
void fk_standin_notify(const struct fk_ver *v);

#endif
