/* memory: the dev-mode store; see memstore.h. One mutex guards everything;
 * events go to the sink while it is held, so the model sees writes in the
 * order they happened (the lock order is always store, then model). */
#include "statefile.h"
#include "vx/xalloc.h"
#include "vx/hmap.h"
#include "vx/volcano.h"
#include "vx/json.h"
#include "vx/log.h"
#include "vx/memstore.h"
#include "vx/request.h"
#include "vx/yamljson.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <zlib.h>

struct mobj {
	char *text;       /* the object's JSON while it is hot, else NULL */
	unsigned char *z; /* the same, deflated, once it went cold */
	uint32_t zlen, len;
	int64_t touched_ms;
	bool external;   /* first seen through /filter: left to the caller */
	bool bound;      /* spec.nodeName is set */
	bool allocating; /* bind-phase allocating: the plugin stand-in acts */
	bool running, terminal;
	int64_t created_ms, start_ms, runtime_s;
	uint64_t seq;
	char *lock_owner;    /* nodes: key of the pod whose bind holds hamivgpu */
	struct chunk *chunk; /* where text lives when it came from the file */
	char key[];          /* "ns/name" or the node name */
};

struct mstore {
	struct store base;
	pthread_mutex_t mu;
	pthread_cond_t changed;
	z_stream def, inf; /* reused under mu: setting one up costs ~270 KB */
	struct hmap pods, nodes;
	/* Indexes over pods, kept by index_pod() so the dev loop's passes cost
	 * what is pending, allocating or timed, never a scan of every pod. */
	struct hmap pending, allocating, timed;
	struct hmap hot;     /* objects kept plain: written less than HOT_MS ago */
	struct buf pbuf;     /* print_obj's scratch */
	unsigned char *zbuf; /* deflate_obj's */
	/* The preset dictionary of every deflated object: a node's and a pod's
	 * text as the store first deflated them. Objects are small and alike,
	 * so alone each one compresses ~4:1, against its kind's text far more. */
	char *dict;
	uInt dict_len;
	bool dict_set;
	size_t zcap;
	struct chunk *chunks; /* the cluster file's texts; the first one fills */
	int64_t next_cool_ms; /* owned by the dev loop's thread */
	struct store_sink sink;
	bool early_sink; /* the sink receives objects as the cluster file loads */
	bool started;
	uint64_t rv, seq, changes;
	struct vx_clock *clock;
	char *state_dir; /* --state-dir: where state_put keeps documents */
};

static struct mstore *ms_of(struct store *s)
{
	return (struct mstore *)s;
}

/* The plain text of objects loaded from the cluster file, packed in large
 * mappings until the dev loop deflates them: freed one by one, 40,000
 * texts would leave the heap full of holes that never go back to the
 * system. A chunk is unmapped when its last text is released. */
#define CHUNK_BYTES (8u << 20)

struct chunk {
	struct chunk *next, **prev;
	size_t used, cap, live;
	char data[];
};

static char *chunk_copy(struct mstore *m, const char *text, size_t len, struct chunk **owner)
{
	struct chunk *c = m->chunks;
	if (!c || c->cap - c->used < len + 1) {
		size_t cap = len + 1 > CHUNK_BYTES ? len + 1 : CHUNK_BYTES;
		c = mmap(NULL, sizeof *c + cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		if (c == MAP_FAILED)
			abort();
		*c = (struct chunk){m->chunks, &m->chunks, 0, cap, 0};
		if (m->chunks)
			m->chunks->prev = &c->next;
		m->chunks = c;
	}
	char *p = c->data + c->used;
	memcpy(p, text, len + 1);
	c->used += len + 1;
	c->live++;
	*owner = c;
	return p;
}

/* Frees o->text, wherever it lives. */
static void release_text(struct mobj *o)
{
	struct chunk *c = o->chunk;
	if (!c)
		free(o->text);
	else if (--c->live == 0) {
		*c->prev = c->next;
		if (c->next)
			c->next->prev = c->prev;
		munmap(c, sizeof *c + c->cap);
	}
	o->text = NULL;
	o->chunk = NULL;
}

/* Objects that have not changed for a while are kept deflated: pod JSON is
 * repetitive and compresses well (see dict), and the dev store would otherwise
 * hold most of the daemon's memory. Objects just written stay plain, so a
 * bind, which reads and writes a pod and a node several times, pays no
 * compression; the dev loop's tick deflates them once they go quiet. The
 * streams are reset, not rebuilt (setting one up costs ~270 KB). The caller
 * holds m->mu. */
#define HOT_MS 3000
/* Raw deflate (no zlib header and checksum: 6 bytes an object) with a 4 KiB
 * window, of which the dictionary may take this much. */
#define ZWINDOW_BITS 12
#define DICT_MAX 2560

/* The text of some object of the map that is plain now, or NULL. */
static const struct mobj *plain_one(const struct hmap *h)
{
	size_t it = 0;
	void *v;
	while (hmap_next(h, &it, NULL, &v))
		if (((const struct mobj *)v)->text)
			return v;
	return NULL;
}

/* Fixes the dictionary before the first object is deflated; it never
 * changes after, since every deflated object needs it to inflate. */
static void set_dict(struct mstore *m)
{
	const struct mobj *node = plain_one(&m->nodes), *pod = plain_one(&m->pods);
	size_t nl = node ? node->len : 0, pl = pod ? pod->len : 0;
	m->dict_set = true;
	/* The window must hold the dictionary and the object: share DICT_MAX. */
	if (pl > DICT_MAX - (nl < DICT_MAX / 2 ? nl : DICT_MAX / 2))
		pl = DICT_MAX - (nl < DICT_MAX / 2 ? nl : DICT_MAX / 2);
	if (nl > DICT_MAX - pl)
		nl = DICT_MAX - pl;
	m->dict = malloc(nl + pl + 1);
	if (!m->dict)
		abort();
	if (nl)
		memcpy(m->dict, node->text, nl);
	if (pl) /* last, as the nearer bytes are the cheaper references */
		memcpy(m->dict + nl, pod->text, pl);
	m->dict_len = (uInt)(nl + pl);
}

static void deflate_obj(struct mstore *m, struct mobj *o)
{
	/* Into a reused buffer, then copied at its size: a buffer of the bound
	 * shrunk in place would leave a hole per object in the heap. */
	uLong len = o->len, cap = deflateBound(&m->def, len);
	if (cap > m->zcap) {
		free(m->zbuf);
		m->zcap = cap > 65536 ? cap : 65536;
		m->zbuf = malloc(m->zcap);
	}
	if (!m->dict_set)
		set_dict(m);
	if (!m->zbuf || deflateReset(&m->def) != Z_OK ||
	    (m->dict_len &&
	     deflateSetDictionary(&m->def, (const Bytef *)m->dict, m->dict_len) != Z_OK))
		abort();
	m->def.next_in = (Bytef *)o->text;
	m->def.avail_in = (uInt)len;
	m->def.next_out = m->zbuf;
	m->def.avail_out = (uInt)cap;
	if (deflate(&m->def, Z_FINISH) != Z_STREAM_END)
		abort();
	o->zlen = (uint32_t)(cap - m->def.avail_out);
	o->z = malloc(o->zlen);
	if (!o->z)
		abort();
	memcpy(o->z, m->zbuf, o->zlen);
	release_text(o);
	hmap_del(&m->hot, o->key);
}

/* Takes ownership of text (from print_obj; the caller sets o->chunk). */
static void store_text(struct mstore *m, struct mobj *o, char *text)
{
	free(o->z);
	release_text(o);
	o->z = NULL;
	o->text = text;
	o->len = (uint32_t)strlen(text);
	o->touched_ms = clk_now_ms(m->clock);
	/* Objects loaded from the cluster file count as quiet already: the dev
	 * loop's first tick after start deflates them, off the path to ready. */
	if (!m->started)
		o->touched_ms -= HOT_MS;
	hmap_put(&m->hot, o->key, o);
}

static void forget_text(struct mstore *m, struct mobj *o)
{
	hmap_del(&m->hot, o->key);
	release_text(o);
	free(o->z);
	o->z = NULL;
}

static char *load_text(struct mstore *m, const struct mobj *o)
{
	char *text = malloc((size_t)o->len + 1);
	if (!text)
		abort();
	if (o->text) {
		memcpy(text, o->text, (size_t)o->len + 1);
		return text;
	}
	if (inflateReset(&m->inf) != Z_OK ||
	    (m->dict_len &&
	     inflateSetDictionary(&m->inf, (const Bytef *)m->dict, m->dict_len) != Z_OK))
		abort();
	m->inf.next_in = o->z;
	m->inf.avail_in = o->zlen;
	m->inf.next_out = (Bytef *)text;
	m->inf.avail_out = o->len;
	if (inflate(&m->inf, Z_FINISH) != Z_STREAM_END || m->inf.avail_out != 0)
		abort(); /* we deflated it ourselves */
	text[o->len] = '\0';
	return text;
}

static struct mobj *new_obj(const char *key)
{
	struct mobj *o = calloc(1, sizeof *o + strlen(key) + 1);
	if (!o)
		abort();
	memcpy(o->key, key, strlen(key) + 1);
	return o;
}

static void refresh_flags(struct mobj *o, const cJSON *pod)
{
	const char *phase = json_str(json_path(pod, "status", NULL), "phase");
	const char *bp = json_annotation(pod, ANN_BIND_PHASE);
	const char *rt = json_annotation(pod, VX_ANN_DEV_RUNTIME);
	o->bound = json_str(json_path(pod, "spec", NULL), "nodeName") != NULL;
	o->allocating = o->bound && bp && strcmp(bp, "allocating") == 0;
	o->terminal = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
	o->running = phase && !strcmp(phase, "Running");
	o->runtime_s = rt ? strtoll(rt, NULL, 10) : -1;
}

static void set_member(struct hmap *h, struct mobj *o, bool in)
{
	if (in)
		hmap_put(h, o->key, o);
	else
		hmap_del(h, o->key);
}

static void index_pod(struct mstore *m, struct mobj *o, bool present)
{
	set_member(&m->pending, o, present && !o->external && !o->bound && !o->terminal);
	set_member(&m->allocating, o, present && o->allocating);
	set_member(&m->timed, o, present && o->running && !o->terminal && o->runtime_s >= 0);
}

/* The object's compact JSON, copied to the heap, or to a chunk while the
 * cluster file loads: printing into a reused buffer spares cJSON's growing
 * reallocations. */
static char *print_obj(struct mstore *m, const cJSON *obj, struct chunk **owner)
{
	buf_reset(&m->pbuf);
	json_print(&m->pbuf, obj);
	*owner = NULL;
	if (!m->started)
		return chunk_copy(m, m->pbuf.data, m->pbuf.len, owner);
	char *text = xmalloc(m->pbuf.len + 1);
	memcpy(text, m->pbuf.data, m->pbuf.len + 1);
	return text;
}

/* Stamps a new resourceVersion, stores the text and tells the sink. */
static void commit(struct mstore *m, struct mobj *o, cJSON *obj, bool is_pod, enum store_ev ev)
{
	char rv[24];
	cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	snprintf(rv, sizeof rv, "%" PRIu64, ++m->rv);
	cJSON_DeleteItemFromObjectCaseSensitive(md, "resourceVersion");
	cJSON_AddStringToObject(md, "resourceVersion", rv);
	struct chunk *owner;
	char *text = print_obj(m, obj, &owner);
	store_text(m, o, text);
	o->chunk = owner;
	if (is_pod) {
		refresh_flags(o, obj);
		index_pod(m, o, true);
	}
	m->changes++;
	pthread_cond_broadcast(&m->changed);
	if (!m->started && !m->early_sink)
		return;
	if (is_pod && m->sink.pod)
		m->sink.pod(m->sink.ud, ev, obj);
	else if (!is_pod && m->sink.node)
		m->sink.node(m->sink.ud, ev, obj);
}

static void random_uid(char *out, size_t len)
{
	unsigned char b[16];
	/* getrandom, not a /dev/urandom open per pod: a file of 40,000 pods
	 * without uids would otherwise open it 40,000 times. */
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
		for (size_t i = 0; i < sizeof b; i++)
			b[i] = (unsigned char)rand();
	}
	snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

static cJSON *ensure_obj(cJSON *parent, const char *key)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, key);
	if (!cJSON_IsObject(o)) {
		cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
		o = cJSON_AddObjectToObject(parent, key);
	}
	return o;
}

static void set_string(cJSON *obj, const char *key, const char *val)
{
	cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
	if (val)
		cJSON_AddStringToObject(obj, key, val);
}

/* Fills what the API server fills on create: namespace, uid, timestamps,
 * phase. The caller holds the mutex. */
static int take_pod(struct mstore *m, cJSON *pod, bool external, struct store_err *e)
{
	char key[512], uid[40], ts[32];
	cJSON *md = ensure_obj(pod, "metadata");
	const char *name = json_str(md, "name");
	if (!name || !*name) {
		cJSON_Delete(pod);
		store_err_set(e, 400, "pod has no metadata.name");
		return -1;
	}
	if (!json_str(md, "namespace"))
		set_string(md, "namespace", "default");
	if (!pod_names_ok(json_str(md, "namespace"), name)) { /* as the API server */
		store_err_set(e, 422,
			      "Pod \"%.64s\" is invalid: metadata.name must be no more than %d "
			      "characters and metadata.namespace no more than %d",
			      name, VX_NAME_MAX, VX_NAMESPACE_MAX);
		cJSON_Delete(pod);
		return -1;
	}
	pod_key(key, json_str(md, "namespace"), name);
	if (hmap_get(&m->pods, key)) {
		cJSON_Delete(pod);
		store_err_set(e, 409, "pods \"%s\" already exists", key);
		return -1;
	}
	/* Field ownership means nothing without server-side apply, and it is
	 * often the largest part of a pod: the dev store does not keep it. */
	cJSON_DeleteItemFromObjectCaseSensitive(md, "managedFields");
	if (!json_str(md, "uid")) {
		random_uid(uid, sizeof uid);
		set_string(md, "uid", uid);
	}
	int64_t now = clk_now_ms(m->clock);
	if (!json_str(md, "creationTimestamp")) {
		clk_format_rfc3339(now / 1000, ts, sizeof ts);
		set_string(md, "creationTimestamp", ts);
	}
	set_string(pod, "kind", "Pod");
	set_string(pod, "apiVersion", "v1");
	cJSON *st = ensure_obj(pod, "status");
	if (!json_str(st, "phase"))
		set_string(st, "phase",
			   json_str(json_path(pod, "spec", NULL), "nodeName") ? "Running"
									      : "Pending");
	struct mobj *o = new_obj(key);
	o->external = external;
	int64_t created = clk_parse_rfc3339(json_str(md, "creationTimestamp"));
	o->created_ms = created >= 0 ? created * 1000 : now;
	o->start_ms = now;
	o->seq = ++m->seq;
	hmap_put(&m->pods, o->key, o);
	commit(m, o, pod, true, STORE_ADDED);
	cJSON_Delete(pod);
	return 0;
}

static int add_pod(struct mstore *m, const cJSON *in, bool external, struct store_err *e)
{
	return take_pod(m, cJSON_Duplicate(in, 1), external, e);
}

/* Like take_pod, the node is ours to change and free. */
static int take_node(struct mstore *m, cJSON *node, struct store_err *e)
{
	cJSON *md = ensure_obj(node, "metadata");
	const char *name = json_str(md, "name");
	if (!name || !*name) {
		cJSON_Delete(node);
		store_err_set(e, 400, "node has no metadata.name");
		return -1;
	}
	struct mobj *o = hmap_get(&m->nodes, name);
	enum store_ev ev = o ? STORE_MODIFIED : STORE_ADDED;
	if (!o) {
		o = new_obj(name);
		hmap_put(&m->nodes, o->key, o);
	}
	set_string(node, "kind", "Node");
	set_string(node, "apiVersion", "v1");
	commit(m, o, node, false, ev);
	cJSON_Delete(node);
	return 0;
}

struct load_ctx {
	struct mstore *m;
	const char *name;
};

/* Adds one document's objects; obj is ours, so nothing is copied. */
static int load_one(struct load_ctx *lc, cJSON *obj, int line, char *err, size_t errlen)
{
	struct store_err e = {0};
	const char *kind = json_str(obj, "kind");
	int rc = 0;
	if (!cJSON_IsObject(obj)) {
		snprintf(err, errlen, "%s:%d: document is not a mapping", lc->name, line);
		rc = -1;
	} else if (kind && strcmp(kind, "List") == 0) {
		cJSON *items = cJSON_GetObjectItemCaseSensitive(obj, "items"), *it;
		while (rc == 0 && cJSON_IsArray(items) && (it = items->child) != NULL)
			rc = load_one(lc, cJSON_DetachItemViaPointer(items, it), line, err, errlen);
	} else if (kind && (strcmp(kind, "Node") == 0 || strcmp(kind, "Pod") == 0)) {
		rc = kind[0] == 'N' ? take_node(lc->m, obj, &e) : take_pod(lc->m, obj, false, &e);
		obj = NULL; /* taken */
		if (rc)
			snprintf(err, errlen, "%s:%d: %s", lc->name, line, e.msg);
	} else {
		log_warn("%s:%d: skipping kind %s (only Node, Pod and List are read)", lc->name,
			 line, kind ? kind : "(none)");
	}
	cJSON_Delete(obj);
	return rc;
}

static int load_doc(void *ud, cJSON *doc, int line, char *err, size_t errlen)
{
	return load_one(ud, doc, line, err, errlen);
}

void mstore_set_sink(struct store *s, const struct store_sink *sink)
{
	struct mstore *m = ms_of(s);
	pthread_mutex_lock(&m->mu);
	m->sink = *sink;
	m->early_sink = true;
	pthread_mutex_unlock(&m->mu);
}

int mstore_load(struct store *s, const char *data, size_t len, const char *name, char *err,
		size_t errlen)
{
	struct mstore *m = ms_of(s);
	struct load_ctx lc = {m, name};
	pthread_mutex_lock(&m->mu);
	int rc = yj_parse_take(data, len, name, load_doc, &lc, err, errlen);
	pthread_mutex_unlock(&m->mu);
	return rc < 0 ? -1 : 0;
}

int mstore_load_file(struct store *s, const char *path, char *err, size_t errlen)
{
	size_t len;
	char *data = yj_read_file(path, &len, err, errlen);
	if (!data)
		return -1;
	int rc = mstore_load(s, data, len, path, err, errlen);
	free(data);
	return rc;
}

static const char demo_cluster[] =
    "apiVersion: v1\nkind: Node\nmetadata:\n  name: demo-node-1\n  annotations:\n"
    "    volcano.sh/node-vgpu-register: "
    "\"GPU-demo-1-0,10,24576,NVIDIA-L4,true,hami-core:"
    "GPU-demo-1-1,10,24576,NVIDIA-L4,true,hami-core:\"\n"
    "status:\n  allocatable:\n    volcano.sh/vgpu-number: \"20\"\n"
    "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: demo-node-2\n  annotations:\n"
    "    volcano.sh/node-vgpu-register: "
    "\"GPU-demo-2-0,10,24576,NVIDIA-L4,true,hami-core:"
    "GPU-demo-2-1,10,24576,NVIDIA-L4,true,hami-core:\"\n"
    "status:\n  allocatable:\n    volcano.sh/vgpu-number: \"20\"\n";

int mstore_load_demo(struct store *s, char *err, size_t errlen)
{
	return mstore_load(s, demo_cluster, sizeof demo_cluster - 1, "(built-in demo cluster)", err,
			   errlen);
}

static cJSON *parse_obj(struct mstore *m, const struct mobj *o)
{
	char *text = o->text ? o->text : load_text(m, o);
	cJSON *j = cJSON_ParseWithLength(text, o->len);
	if (!j)
		abort(); /* we printed it ourselves */
	if (text != o->text)
		free(text);
	return j;
}

static int ms_start(struct store *s, const struct store_sink *sink)
{
	struct mstore *m = ms_of(s);
	size_t it = 0;
	void *v;
	pthread_mutex_lock(&m->mu);
	m->sink = *sink;
	/* Objects the sink saw while they loaded need not be parsed again. */
	while (!m->early_sink && hmap_next(&m->nodes, &it, NULL, &v)) {
		cJSON *j = parse_obj(m, v);
		if (m->sink.node)
			m->sink.node(m->sink.ud, STORE_ADDED, j);
		cJSON_Delete(j);
	}
	for (it = 0; !m->early_sink && hmap_next(&m->pods, &it, NULL, &v);) {
		cJSON *j = parse_obj(m, v);
		if (m->sink.pod)
			m->sink.pod(m->sink.ud, STORE_ADDED, j);
		cJSON_Delete(j);
	}
	m->started = true;
	pthread_mutex_unlock(&m->mu);
	if (m->sink.synced)
		m->sink.synced(m->sink.ud);
	return 0;
}

static void ms_stop(struct store *s)
{
	struct mstore *m = ms_of(s);
	pthread_mutex_lock(&m->mu);
	m->started = false;
	pthread_cond_broadcast(&m->changed);
	pthread_mutex_unlock(&m->mu);
}

static void free_objs(struct hmap *h)
{
	size_t it = 0;
	void *v;
	while (hmap_next(h, &it, NULL, &v)) {
		struct mobj *o = v;
		free(o->z);
		release_text(o);
		free(o->lock_owner);
		free(o);
	}
	hmap_free(h);
}

static void ms_destroy(struct store *s)
{
	struct mstore *m = ms_of(s);
	hmap_free(&m->pending);
	hmap_free(&m->allocating);
	hmap_free(&m->timed);
	hmap_free(&m->hot);
	free_objs(&m->pods);
	free_objs(&m->nodes);
	buf_free(&m->pbuf);
	free(m->zbuf);
	deflateEnd(&m->def);
	inflateEnd(&m->inf);
	free(m->dict);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->changed);
	free(m->state_dir);
	free(m);
}

static struct mobj *find_pod(struct mstore *m, const char *ns, const char *name)
{
	char key[VX_POD_KEY_MAX];
	pod_key(key, ns, name);
	return hmap_get(&m->pods, key);
}

static cJSON *ms_get_pod(struct store *s, const char *ns, const char *name, struct store_err *e)
{
	struct mstore *m = ms_of(s);
	pthread_mutex_lock(&m->mu);
	struct mobj *o = find_pod(m, ns, name);
	cJSON *j = o ? parse_obj(m, o) : NULL;
	pthread_mutex_unlock(&m->mu);
	if (!j)
		store_err_set(e, 404, "pods \"%s/%s\" not found", ns, name);
	return j;
}

/* Seconds the node's hamivgpu lock has left, 0 when free or expired. */
static int64_t lock_left(struct mstore *m, const cJSON *node)
{
	const char *v = json_annotation(node, ANN_NODE_LOCK);
	int64_t t = v ? clk_parse_rfc3339(v) : -1;
	if (t < 0)
		return 0;
	int64_t left = t + VOLCANO_LOCK_TTL_S - clk_now_s(m->clock);
	return left > 0 ? left : 0;
}

/* A merge patch of metadata[field] (labels or annotations): a string sets
 * a key, anything else (JSON null) removes it. */
static void merge_meta(cJSON *obj, const char *field, const cJSON *vals)
{
	cJSON *a = ensure_obj(ensure_obj(obj, "metadata"), field);
	const cJSON *it;
	cJSON_ArrayForEach (it, vals) {
		cJSON_DeleteItemFromObjectCaseSensitive(a, it->string);
		if (cJSON_IsString(it))
			cJSON_AddStringToObject(a, it->string, it->valuestring);
	}
}

static void merge_annotations(cJSON *obj, const cJSON *ann)
{
	merge_meta(obj, "annotations", ann);
}

static void set_node_lock(struct mstore *m, struct mobj *no, cJSON *node, const char *owner)
{
	bool take = owner != NULL;
	free(no->lock_owner);
	no->lock_owner = owner ? xstrdup(owner) : NULL;
	char ts[32];
	cJSON *a = ensure_obj(ensure_obj(node, "metadata"), "annotations");
	cJSON_DeleteItemFromObjectCaseSensitive(a, ANN_NODE_LOCK);
	if (take) {
		clk_format_rfc3339(clk_now_s(m->clock), ts, sizeof ts);
		cJSON_AddStringToObject(a, ANN_NODE_LOCK, ts);
	}
	commit(m, no, node, false, STORE_MODIFIED);
}

/* Checks the binding against the pod; 1 = already bound there, 0 = go on. */
static int check_binding(const cJSON *pod, const struct store_binding *b, struct store_err *e)
{
	const char *uid = json_str(json_path(pod, "metadata", NULL), "uid");
	const char *cur = json_str(json_path(pod, "spec", NULL), "nodeName");
	if (b->uid && *b->uid && uid && strcmp(uid, b->uid) != 0) {
		store_err_set(e, 409, "pod %s/%s has uid %s, binding names %s", b->ns, b->name, uid,
			      b->uid);
		return -1;
	}
	if (cur && strcmp(cur, b->node) == 0)
		return 1;
	if (cur) {
		store_err_set(e, 409,
			      "Operation cannot be fulfilled on pods/binding \"%s\": pod %s is "
			      "already assigned to node \"%s\"",
			      b->name, b->name, cur);
		return -1;
	}
	return 0;
}

static void play_plugin(struct mstore *m, struct mobj *o, int64_t now, bool release_lock);

/* Takes the node lock for pod_key (mutex held). A lock held for a pod still
 * allocating is finished first by the plugin stand-in, as the real plugin
 * would have by then; any other live lock makes the bind STORE_BUSY. */
static int lock_node(struct mstore *m, const char *node, const char *pod_key, struct store_err *e)
{
	struct mobj *no = hmap_get(&m->nodes, node);
	if (!no) {
		store_err_set(e, 404, "nodes \"%s\" not found", node);
		return -1;
	}
	struct mobj *owner = no->lock_owner ? hmap_get(&m->pods, no->lock_owner) : NULL;
	bool taking_over = owner && owner->allocating;
	if (taking_over)
		play_plugin(m, owner, clk_now_ms(m->clock), false);
	cJSON *nj = parse_obj(m, no);
	int rc = 0;
	if (taking_over || !lock_left(m, nj)) {
		set_node_lock(m, no, nj, pod_key);
	} else {
		store_err_set(e, 423, "node %s is locked by another vGPU allocation in progress",
			      node);
		rc = STORE_BUSY;
	}
	cJSON_Delete(nj);
	return rc;
}

static int bind_locked(struct mstore *m, const struct store_binding *b, struct store_err *e)
{
	struct mobj *o = find_pod(m, b->ns, b->name);
	if (!o) {
		store_err_set(e, 404, "pods \"%s/%s\" not found", b->ns, b->name);
		return -1;
	}
	cJSON *pod = parse_obj(m, o);
	int chk = check_binding(pod, b, e); /* 1: already bound there */
	int rc = chk < 0 ? -1 : 0;
	if (chk == 0 && b->annotations)
		rc = lock_node(m, b->node, o->key, e);
	if (chk == 0 && rc == 0) {
		set_string(ensure_obj(pod, "spec"), "nodeName", b->node);
		if (b->annotations)
			merge_annotations(pod, b->annotations);
		commit(m, o, pod, true, STORE_MODIFIED);
	}
	cJSON_Delete(pod);
	return rc;
}

static int ms_bind(struct store *s, const struct store_binding *b, struct store_err *e)
{
	struct mstore *m = ms_of(s);
	pthread_mutex_lock(&m->mu);
	int rc = bind_locked(m, b, e);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int ms_refresh_pod(struct store *s, const char *ns, const char *name, struct store_err *e)
{
	struct mstore *m = ms_of(s);
	pthread_mutex_lock(&m->mu);
	struct mobj *o = find_pod(m, ns, name);
	if (o && m->started && m->sink.pod) {
		cJSON *j = parse_obj(m, o);
		m->sink.pod(m->sink.ud, STORE_MODIFIED, j);
		cJSON_Delete(j);
	}
	pthread_mutex_unlock(&m->mu);
	if (!o)
		store_err_set(e, 404, "pods \"%s/%s\" not found", ns, name);
	return o ? 0 : -1;
}

static int ms_create_pod(struct store *s, const cJSON *pod, struct store_err *e)
{
	struct mstore *m = ms_of(s);
	const char *kind = json_str(pod, "kind");
	if (!cJSON_IsObject(pod) || (kind && strcmp(kind, "Pod") != 0)) {
		store_err_set(e, 400, "expected a Pod, got %s", kind ? kind : "no object");
		return -1;
	}
	/* As the API server: a bad quantity is refused at once (422), not
	 * left to fail scheduling later. */
	char err[sizeof e->msg];
	if (req_validate_pod(pod, err, sizeof err)) {
		store_err_set(e, 422, "%s", err);
		return -1;
	}
	pthread_mutex_lock(&m->mu);
	int rc = add_pod(m, pod, false, e);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

/* Removes the pod (mutex held); returns its last state, which the caller
 * frees, or NULL with e set. */
static cJSON *remove_pod(struct mstore *m, const char *ns, const char *name, struct store_err *e)
{
	struct mobj *o = find_pod(m, ns, name);
	if (!o) {
		store_err_set(e, 404, "pods \"%s/%s\" not found", ns, name);
		return NULL;
	}
	cJSON *j = parse_obj(m, o);
	hmap_del(&m->pods, o->key);
	index_pod(m, o, false);
	forget_text(m, o);
	m->changes++;
	pthread_cond_broadcast(&m->changed);
	if (m->started && m->sink.pod)
		m->sink.pod(m->sink.ud, STORE_DELETED, j);
	free(o);
	return j;
}

static int ms_delete_pod(struct store *s, const char *ns, const char *name, struct store_err *e)
{
	struct mstore *m = ms_of(s);
	pthread_mutex_lock(&m->mu);
	cJSON *j = remove_pod(m, ns, name, e);
	pthread_mutex_unlock(&m->mu);
	cJSON_Delete(j);
	return j ? 0 : -1;
}

/* What a Job's controller would create again after an eviction: the same
 * pod, pending, with a new uid and none of the old binding. */
static cJSON *recreated(const cJSON *old)
{
	cJSON *p = cJSON_Duplicate(old, 1);
	cJSON *md = ensure_obj(p, "metadata"), *ann = ensure_obj(md, "annotations");
	static const char *const gone[] = {"uid", "resourceVersion", "creationTimestamp"};
	static const char *const bind[] = {ANN_NODE,        ANN_TIME,       ANN_IDS,
					   ANN_TO_ALLOCATE, ANN_BIND_PHASE, ANN_BIND_TIME};
	for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(md, gone[i]);
	for (size_t i = 0; i < sizeof bind / sizeof bind[0]; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(ann, bind[i]);
	cJSON_DeleteItemFromObjectCaseSensitive(ensure_obj(p, "spec"), "nodeName");
	cJSON_DeleteItemFromObjectCaseSensitive(p, "status");
	return p;
}

/* Dev mode has no PodDisruptionBudgets: the eviction always goes through,
 * and the pod comes back pending, as under a Job. */
static int ms_evict_pod(struct store *s, const char *ns, const char *name, const char *uid,
			struct store_err *e)
{
	struct mstore *m = ms_of(s);
	pthread_mutex_lock(&m->mu);
	struct mobj *o = find_pod(m, ns, name);
	cJSON *cur = o ? parse_obj(m, o) : NULL;
	const char *have = json_str(json_path(cur, "metadata", NULL), "uid");
	int rc = -1;
	if (!cur) {
		store_err_set(e, 404, "pods \"%s/%s\" not found", ns, name);
	} else if (uid && *uid && have && strcmp(uid, have) != 0) {
		store_err_set(e, 409, "pod %s/%s has uid %s, not %s", ns, name, have, uid);
	} else {
		cJSON *old = remove_pod(m, ns, name, e);
		rc = take_pod(m, recreated(old), false, e);
		cJSON_Delete(old);
	}
	pthread_mutex_unlock(&m->mu);
	cJSON_Delete(cur);
	return rc;
}

static int patch_meta(struct store *s, const char *ns, const char *name, const char *field,
		      const cJSON *vals, struct store_err *e)
{
	struct mstore *m = ms_of(s);
	pthread_mutex_lock(&m->mu);
	struct mobj *o = find_pod(m, ns, name);
	if (o) {
		cJSON *j = parse_obj(m, o);
		merge_meta(j, field, vals);
		commit(m, o, j, true, STORE_MODIFIED);
		cJSON_Delete(j);
	}
	pthread_mutex_unlock(&m->mu);
	if (!o)
		store_err_set(e, 404, "pods \"%s/%s\" not found", ns, name);
	return o ? 0 : -1;
}

static int ms_patch_ann(struct store *s, const char *ns, const char *name, const cJSON *ann,
			struct store_err *e)
{
	return patch_meta(s, ns, name, "annotations", ann, e);
}

static int ms_patch_labels(struct store *s, const char *ns, const char *name, const cJSON *labels,
			   struct store_err *e)
{
	return patch_meta(s, ns, name, "labels", labels, e);
}

static void ms_observe(struct store *s, const cJSON *pod)
{
	struct mstore *m = ms_of(s);
	const cJSON *md = json_path(pod, "metadata", NULL);
	const char *ns = json_str(md, "namespace"), *name = json_str(md, "name");
	if (!name)
		return;
	pthread_mutex_lock(&m->mu);
	if (!find_pod(m, ns ? ns : "default", name)) {
		struct store_err e;
		if (add_pod(m, pod, true, &e))
			log_warn("dev store: cannot record pod %s from /filter: %s", name, e.msg);
	}
	pthread_mutex_unlock(&m->mu);
}

/* Device plugin stand-in: Allocate succeeded, so report success, start the
 * pod and release the node lock, as the real plugin and kubelet would. */
static void play_plugin(struct mstore *m, struct mobj *o, int64_t now, bool release_lock)
{
	cJSON *pod = parse_obj(m, o);
	cJSON *ann = cJSON_CreateObject();
	cJSON_AddStringToObject(ann, ANN_BIND_PHASE, "success");
	merge_annotations(pod, ann);
	cJSON_Delete(ann);
	char started[32];
	clk_format_rfc3339(now / 1000, started, sizeof started);
	set_string(ensure_obj(pod, "status"), "phase", "Running");
	set_string(ensure_obj(pod, "status"), "startTime", started);
	o->start_ms = now;
	const char *node = json_str(json_path(pod, "spec", NULL), "nodeName");
	struct mobj *no = node ? hmap_get(&m->nodes, node) : NULL;
	if (no && !release_lock) {
		free(no->lock_owner); /* the caller takes the lock over in one write */
		no->lock_owner = NULL;
	} else if (no) {
		cJSON *nj = parse_obj(m, no);
		bool mine = !no->lock_owner || strcmp(no->lock_owner, o->key) == 0;
		if (mine && json_annotation(nj, ANN_NODE_LOCK))
			set_node_lock(m, no, nj, NULL);
		cJSON_Delete(nj);
	}
	commit(m, o, pod, true, STORE_MODIFIED);
	cJSON_Delete(pod);
}

/* Kubelet's part: Succeeded, with the time its containers ended (the
 * runtime's end, not the tick that noticed it: the clock may have jumped),
 * which licence accounting bills up to. */
static void finish_pod(struct mstore *m, struct mobj *o)
{
	char ended[32];
	cJSON *pod = parse_obj(m, o);
	cJSON *status = ensure_obj(pod, "status");
	clk_format_rfc3339(o->start_ms / 1000 + o->runtime_s, ended, sizeof ended);
	set_string(status, "phase", "Succeeded");
	cJSON_DeleteItemFromObjectCaseSensitive(status, "containerStatuses");
	cJSON *cs = cJSON_AddArrayToObject(status, "containerStatuses");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddItemToArray(cs, c);
	cJSON_AddStringToObject(c, "name", "main");
	cJSON *term = cJSON_AddObjectToObject(cJSON_AddObjectToObject(c, "state"), "terminated");
	cJSON_AddNumberToObject(term, "exitCode", 0);
	cJSON_AddStringToObject(term, "reason", "Completed");
	cJSON_AddStringToObject(term, "finishedAt", ended);
	commit(m, o, pod, true, STORE_MODIFIED);
	cJSON_Delete(pod);
	log_info("dev: pod %s succeeded after its dev-runtime-seconds", o->key);
}

/* Copies a set's members first: acting on them changes the set. */
static struct mobj **members(const struct hmap *h, size_t *n)
{
	struct mobj **list = calloc(hmap_size(h) + 1, sizeof(struct mobj *));
	size_t it = 0, k = 0;
	void *v;
	if (!list)
		abort();
	while (hmap_next(h, &it, NULL, &v))
		list[k++] = v;
	*n = k;
	return list;
}

/* Deflates quiet objects in small batches, letting go of the mutex between
 * them so a burst of binds never waits behind thousands of compressions. */
static void cool_down(struct mstore *m)
{
	/* The dev loop ticks after every write; scanning the hot set that often
	 * would cost more than the compression. Once a second is plenty. */
	int64_t now_ms = clk_now_ms(m->clock);
	if (now_ms < m->next_cool_ms && now_ms > m->next_cool_ms - 2000)
		return;
	m->next_cool_ms = now_ms + 1000;
	size_t total = 0;
	for (bool more = true; more;) {
		size_t it = 0, done = 0;
		void *v;
		pthread_mutex_lock(&m->mu);
		int64_t now = clk_now_ms(m->clock);
		struct mobj *batch[32];
		while (done < 32 && hmap_next(&m->hot, &it, NULL, &v))
			if (now - ((struct mobj *)v)->touched_ms >= HOT_MS)
				batch[done++] = v;
		more = done == 32;
		for (size_t i = 0; i < done; i++)
			deflate_obj(m, batch[i]);
		pthread_mutex_unlock(&m->mu);
		total += done;
	}
	/* After the cluster file's objects went cold, most of the heap is
	 * their freed plain text: give it back. */
	if (total >= 1024)
		malloc_trim(0);
}

static int ms_tick(struct store *s)
{
	struct mstore *m = ms_of(s);
	int changed = 0;
	size_t n;
	pthread_mutex_lock(&m->mu);
	int64_t now = clk_now_ms(m->clock);
	struct mobj **list = members(&m->allocating, &n);
	for (size_t i = 0; i < n; i++, changed++)
		play_plugin(m, list[i], now, true);
	free(list);
	list = members(&m->timed, &n);
	for (size_t i = 0; i < n; i++) {
		if (now >= list[i]->start_ms + list[i]->runtime_s * 1000) {
			finish_pod(m, list[i]);
			changed++;
		}
	}
	free(list);
	pthread_mutex_unlock(&m->mu);
	cool_down(m);
	return changed;
}

static int64_t ms_next_due_ms(struct store *s)
{
	struct mstore *m = ms_of(s);
	int64_t best = -1;
	size_t it = 0;
	void *v;
	pthread_mutex_lock(&m->mu);
	int64_t now = clk_now_ms(m->clock);
	while (hmap_next(&m->timed, &it, NULL, &v)) {
		const struct mobj *o = v;
		int64_t due = o->start_ms + o->runtime_s * 1000 - now;
		if (due < 0)
			due = 0;
		if (best < 0 || due < best)
			best = due;
	}
	pthread_mutex_unlock(&m->mu);
	return best;
}

static int by_age(const void *a, const void *b)
{
	const struct mobj *x = *(struct mobj *const *)a, *y = *(struct mobj *const *)b;
	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int ms_pending(struct store *s, char ***keys)
{
	struct mstore *m = ms_of(s);
	size_t n;
	pthread_mutex_lock(&m->mu);
	struct mobj **list = members(&m->pending, &n);
	qsort(list, n, sizeof(struct mobj *), by_age);
	*keys = calloc(n + 1, sizeof(char *));
	if (!*keys)
		abort();
	for (size_t i = 0; i < n; i++)
		(*keys)[i] = xstrdup(list[i]->key);
	pthread_mutex_unlock(&m->mu);
	free(list);
	return (int)n;
}

static uint64_t ms_wait(struct store *s, uint64_t seen, int timeout_ms)
{
	struct mstore *m = ms_of(s);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&m->mu);
	while (m->changes == seen && m->started)
		if (pthread_cond_timedwait(&m->changed, &m->mu, &ts) == ETIMEDOUT)
			break;
	uint64_t c = m->changes;
	pthread_mutex_unlock(&m->mu);
	return c;
}

static void ms_kick(struct store *s)
{
	struct mstore *m = ms_of(s);
	pthread_mutex_lock(&m->mu);
	m->changes++;
	pthread_cond_broadcast(&m->changed);
	pthread_mutex_unlock(&m->mu);
}

static int ms_state_get(struct store *s, const char *name, struct store_doc *d, struct store_err *e)
{
	return statefile_get(ms_of(s)->state_dir, name, d, e);
}

static int ms_state_put(struct store *s, const char *name, const char *data, struct store_doc *d,
			struct store_err *e)
{
	return statefile_put(ms_of(s)->state_dir, name, data, d, e);
}

void mstore_set_state_dir(struct store *s, const char *dir)
{
	struct mstore *m = ms_of(s);
	free(m->state_dir);
	m->state_dir = dir ? xstrdup(dir) : NULL;
}

static const struct store_ops mstore_ops = {
    .start = ms_start,
    .stop = ms_stop,
    .destroy = ms_destroy,
    .get_pod = ms_get_pod,
    .bind = ms_bind,
    .create_pod = ms_create_pod,
    .delete_pod = ms_delete_pod,
    .patch_pod_annotations = ms_patch_ann,
    .patch_pod_labels = ms_patch_labels,
    .refresh_pod = ms_refresh_pod,
    .evict_pod = ms_evict_pod,
    .observe_pod = ms_observe,
    .tick = ms_tick,
    .pending = ms_pending,
    .wait = ms_wait,
    .kick = ms_kick,
    .next_due_ms = ms_next_due_ms,
    .state_get = ms_state_get,
    .state_put = ms_state_put,
};

struct store *mstore_new(struct vx_clock *clock)
{
	struct mstore *m = calloc(1, sizeof *m);
	if (!m)
		abort();
	m->base.ops = &mstore_ops;
	m->base.kind = "memory";
	m->clock = clock;
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->changed, NULL);
	/* A 4 KiB window suffices for objects of a few KiB and keeps both
	 * streams small; memLevel 5 keeps the deflate hash at 16 KiB. */
	if (deflateInit2(&m->def, 1, Z_DEFLATED, -ZWINDOW_BITS, 5, Z_DEFAULT_STRATEGY) != Z_OK ||
	    inflateInit2(&m->inf, -ZWINDOW_BITS) != Z_OK)
		abort();
	hmap_init(&m->pods);
	hmap_init(&m->nodes);
	hmap_init(&m->pending);
	hmap_init(&m->allocating);
	hmap_init(&m->timed);
	hmap_init(&m->hot);
	return &m->base;
}
