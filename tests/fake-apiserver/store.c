/* store.c: the object store of the fake API server. Owns the kinds, the
 * immutable reference-counted object versions, every write (create, update,
 * patch, delete, binding: one place, commit(), bumps the global
 * resourceVersion and records the event), the per-kind event history used to
 * resume watches. Everything here runs under fk_srv.mu unless it says
 * otherwise. LIST is in list.c. */
#include "fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct fk_server fk_srv = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const char *const pod_fields[] = {
    "metadata.name",      "metadata.namespace",       "spec.nodeName",    "spec.restartPolicy",
    "spec.schedulerName", "spec.serviceAccountName",  "spec.hostNetwork", "status.phase",
    "status.podIP",       "status.nominatedNodeName",
};
static const char *const node_fields[] = {"metadata.name", "spec.unschedulable"};
static const char *const event_fields[] = {
    "metadata.name",
    "metadata.namespace",
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
};
static const char *const plain_fields[] = {"metadata.name", "metadata.namespace"};

#define NFIELDS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void kind_setup(struct fk_kind *k, const char *resource, const char *kind,
		       const char *api_version, const char *group, const char *qualified,
		       int namespaced, int has_status, const char *const *fields, int nfields)
{
	memset(k, 0, sizeof *k);
	k->resource = resource;
	k->kind = kind;
	k->api_version = api_version;
	k->group = group;
	k->qualified = qualified;
	k->namespaced = namespaced;
	k->has_status = has_status;
	k->fields = fields;
	k->nfields = nfields;
	hmap_init(&k->objs);
	k->sorted = 1;
	long h = fk_srv.cfg.history;
	k->ring_cap = h > 0 ? (size_t)h : 0;
	if (k->ring_cap) {
		k->ring = calloc(k->ring_cap, sizeof *k->ring);
		if (!k->ring)
			abort();
	}
}

void fk_store_init(void)
{
	uint64_t seed[2] = {0x9e3779b97f4a7c15ull, 0xd1b54a32d192ed03ull};
	if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed)
		seed[0] ^= (uint64_t)time(NULL);
	fk_srv.rng[0] = seed[0] | 1;
	fk_srv.rng[1] = seed[1];
	fk_srv.rv = 1000;
	struct fk_kind *ks = fk_srv.kinds;
	kind_setup(&ks[FK_POD], "pods", "Pod", "v1", "", "pods", 1, 1, pod_fields,
		   NFIELDS(pod_fields));
	ks[FK_POD].list_kind = "PodList";
	kind_setup(&ks[FK_NODE], "nodes", "Node", "v1", "", "nodes", 0, 1, node_fields,
		   NFIELDS(node_fields));
	ks[FK_NODE].list_kind = "NodeList";
	kind_setup(&ks[FK_EVENT], "events", "Event", "v1", "", "events", 1, 0, event_fields,
		   NFIELDS(event_fields));
	ks[FK_EVENT].list_kind = "EventList";
	kind_setup(&ks[FK_CONFIGMAP], "configmaps", "ConfigMap", "v1", "", "configmaps", 1, 0,
		   plain_fields, NFIELDS(plain_fields));
	ks[FK_CONFIGMAP].list_kind = "ConfigMapList";
	kind_setup(&ks[FK_LEASE], "leases", "Lease", "coordination.k8s.io/v1",
		   "coordination.k8s.io", "leases.coordination.k8s.io", 1, 0, plain_fields,
		   NFIELDS(plain_fields));
	ks[FK_LEASE].list_kind = "LeaseList";
	kind_setup(&ks[FK_PDB], "poddisruptionbudgets", "PodDisruptionBudget", "policy/v1",
		   "policy", "poddisruptionbudgets.policy", 1, 1, plain_fields,
		   NFIELDS(plain_fields));
	ks[FK_PDB].list_kind = "PodDisruptionBudgetList";
	for (int i = 0; i < FK_NKINDS; i++)
		ks[i].oldest_rv = fk_srv.rv;
}

struct fk_kind *fk_kind_by_resource(const char *group, const char *resource)
{
	for (int i = 0; i < FK_NKINDS; i++) {
		struct fk_kind *k = &fk_srv.kinds[i];
		if (strcmp(k->group, group) == 0 && strcmp(k->resource, resource) == 0)
			return k;
	}
	return NULL;
}

struct fk_kind *fk_kind_by_kind(const char *kind)
{
	for (int i = 0; i < FK_NKINDS; i++)
		if (kind && strcmp(fk_srv.kinds[i].kind, kind) == 0)
			return &fk_srv.kinds[i];
	return NULL;
}

/* ---- helpers ---- */

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		abort();
	return p;
}

static const char *str_of(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static uint64_t rng_next(void)
{
	/* xorshift128+ */
	uint64_t s1 = fk_srv.rng[0];
	const uint64_t s0 = fk_srv.rng[1];
	fk_srv.rng[0] = s0;
	s1 ^= s1 << 23;
	fk_srv.rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
	return fk_srv.rng[1] + s0;
}

void fk_uuid(char out[37])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t a = rng_next(), b = rng_next();
	unsigned char r[16];
	memcpy(r, &a, 8);
	memcpy(r + 8, &b, 8);
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	int o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[r[i] >> 4];
		out[o++] = hex[r[i] & 15];
	}
	out[o] = '\0';
}

void fk_now_rfc3339(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void set_str(cJSON *obj, const char *name, const char *val)
{
	cJSON *n = cJSON_CreateString(val);
	if (cJSON_GetObjectItemCaseSensitive(obj, name))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, name, n);
	else
		cJSON_AddItemToObject(obj, name, n);
}

static void set_rv(cJSON *tree, uint64_t rv)
{
	char s[24];
	snprintf(s, sizeof s, "%llu", (unsigned long long)rv);
	set_str(cJSON_GetObjectItemCaseSensitive(tree, "metadata"), "resourceVersion", s);
}

/* Replaces (or removes) dst[name] by a copy of src[name]. */
static void copy_field(cJSON *dst, const cJSON *src, const char *name)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(src, name);
	if (!s) {
		cJSON_DeleteItemFromObjectCaseSensitive(dst, name);
		return;
	}
	cJSON *c = cJSON_Duplicate(s, 1);
	if (cJSON_GetObjectItemCaseSensitive(dst, name))
		cJSON_ReplaceItemInObjectCaseSensitive(dst, name, c);
	else
		cJSON_AddItemToObject(dst, name, c);
}

static cJSON *ensure_obj(cJSON *parent, const char *name)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, name);
	if (cJSON_IsObject(o))
		return o;
	o = cJSON_CreateObject();
	if (cJSON_GetObjectItemCaseSensitive(parent, name))
		cJSON_ReplaceItemInObjectCaseSensitive(parent, name, o);
	else
		cJSON_AddItemToObject(parent, name, o);
	return o;
}

/* Moves the named members of obj to its front, in this order, as the real
 * server's serialisation has them. */
static void order_keys(cJSON *obj, const char *const *names, size_t n)
{
	cJSON *front[24];
	size_t nf = 0;
	for (size_t i = 0; i < n && nf < 24; i++) {
		cJSON *it = cJSON_DetachItemFromObjectCaseSensitive(obj, names[i]);
		if (it)
			front[nf++] = it;
	}
	cJSON *rest = obj->child;
	obj->child = NULL;
	for (size_t i = 0; i < nf; i++)
		cJSON_AddItemToArray(obj, front[i]);
	while (rest) {
		cJSON *next = rest->next;
		rest->next = rest->prev = NULL;
		cJSON_AddItemToArray(obj, rest);
		rest = next;
	}
}

static void order_object(cJSON *obj)
{
	static const char *const top[] = {"metadata", "spec", "status"};
	static const char *const meta[] = {"name",
					   "generateName",
					   "namespace",
					   "uid",
					   "resourceVersion",
					   "generation",
					   "creationTimestamp",
					   "deletionTimestamp",
					   "deletionGracePeriodSeconds",
					   "labels",
					   "annotations",
					   "ownerReferences",
					   "finalizers",
					   "managedFields"};
	order_keys(obj, top, sizeof top / sizeof top[0]);
	cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	if (cJSON_IsObject(md))
		order_keys(md, meta, sizeof meta / sizeof meta[0]);
}

void fk_obj_free(struct fk_obj *o)
{
	if (!o)
		return;
	fk_ver_unref(o->cur);
	free(o->key);
	free(o);
}

static int cmp_obj(const void *a, const void *b)
{
	const struct fk_obj *x = *(struct fk_obj *const *)a, *y = *(struct fk_obj *const *)b;
	return strcmp(x->key, y->key);
}

void fk_kind_sort(struct fk_kind *k)
{
	if (k->sorted)
		return;
	qsort(k->vec, k->n, sizeof(struct fk_obj *), cmp_obj);
	k->sorted = 1;
}

/* First index whose key is >= key (vec sorted). */
size_t fk_kind_lower(const struct fk_kind *k, const char *key)
{
	size_t lo = 0, hi = k->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(k->vec[mid]->key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void vec_insert(struct fk_kind *k, struct fk_obj *o)
{
	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 1024;
		k->vec = realloc(k->vec, k->cap * sizeof(struct fk_obj *));
		if (!k->vec)
			abort();
	}
	if (!k->sorted || k->n == 0 || strcmp(k->vec[k->n - 1]->key, o->key) < 0) {
		k->vec[k->n++] = o;
		return;
	}
	size_t i = fk_kind_lower(k, o->key);
	memmove(k->vec + i + 1, k->vec + i, (k->n - i) * sizeof(struct fk_obj *));
	k->vec[i] = o;
	k->n++;
}

static void vec_remove(struct fk_kind *k, const struct fk_obj *o)
{
	fk_kind_sort(k);
	size_t i = fk_kind_lower(k, o->key);
	if (i < k->n && k->vec[i] == o) {
		memmove(k->vec + i, k->vec + i + 1, (k->n - i - 1) * sizeof(struct fk_obj *));
		k->n--;
	}
}

void fk_store_load(struct fk_kind *k, struct fk_ver *v)
{
	struct fk_obj *o = hmap_get(&k->objs, v->key);
	if (o) {
		fk_ver_unref(o->cur);
		o->cur = v;
		return;
	}
	o = calloc(1, sizeof *o);
	if (!o)
		abort();
	o->key = xstrdup(v->key);
	o->cur = v;
	hmap_put(&k->objs, o->key, o);
	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 1024;
		k->vec = realloc(k->vec, k->cap * sizeof(struct fk_obj *));
		if (!k->vec)
			abort();
	}
	k->vec[k->n++] = o;
	k->sorted = 0;
}

static void ring_clear(struct fk_kind *k)
{
	for (size_t i = 0; i < k->ring_len; i++) {
		struct fk_event *e = &k->ring[(k->ring_head + i) % k->ring_cap];
		fk_ver_unref(e->cur);
		fk_ver_unref(e->prev);
	}
	k->ring_head = k->ring_len = 0;
}

void fk_store_loaded(void)
{
	pthread_mutex_lock(&fk_srv.mu);
	for (int i = 0; i < FK_NKINDS; i++) {
		struct fk_kind *k = &fk_srv.kinds[i];
		ring_clear(k);
		k->oldest_rv = fk_srv.rv;
		fk_kind_sort(k);
	}
	pthread_mutex_unlock(&fk_srv.mu);
}

static void history_push(struct fk_kind *k, const struct fk_event *ev)
{
	if (!k->ring_cap) {
		k->oldest_rv = ev->cur->rv;
		return;
	}
	if (k->ring_len == k->ring_cap) {
		struct fk_event *old = &k->ring[k->ring_head];
		k->oldest_rv = old->cur->rv;
		fk_ver_unref(old->cur);
		fk_ver_unref(old->prev);
		k->ring_head = (k->ring_head + 1) % k->ring_cap;
		k->ring_len--;
	}
	struct fk_event *e = &k->ring[(k->ring_head + k->ring_len) % k->ring_cap];
	*e = *ev;
	fk_ver_ref(e->cur);
	if (e->prev)
		fk_ver_ref(e->prev);
	k->ring_len++;
}

/* The one write path: new RV, new version, history, watchers, stand-in.
 * o is NULL for ADDED. Returns the new version with a reference for the caller. */
static struct fk_ver *commit(struct fk_kind *k, struct fk_obj *o, cJSON *tree, int type)
{
	uint64_t rv = ++fk_srv.rv;
	set_rv(tree, rv);
	struct fk_ver *v = fk_ver_from_tree(k, tree, rv);
	struct fk_event ev = {type, v, NULL};
	if (type == FK_ADDED) {
		o = calloc(1, sizeof *o);
		if (!o)
			abort();
		o->key = xstrdup(v->key);
		hmap_put(&k->objs, o->key, o);
		vec_insert(k, o);
		fk_ver_ref(v);
		o->cur = v;
	} else if (type == FK_MODIFIED) {
		ev.prev = o->cur;
		fk_ver_ref(v);
		o->cur = v;
	} else {
		ev.prev = o->cur;
		o->cur = NULL;
		hmap_del(&k->objs, o->key);
		vec_remove(k, o);
		fk_obj_free(o);
	}
	history_push(k, &ev);
	fk_watch_emit(k, &ev);
	if (v->standin_node && type != FK_DELETED)
		fk_standin_notify(v);
	fk_ver_unref(ev.prev);
	return v;
}

static cJSON *parse_ver(const struct fk_ver *v)
{
	cJSON *t = cJSON_ParseWithLength(v->text, v->len);
	if (!t)
		abort(); /* we wrote it */
	return t;
}

struct fk_ver *fk_store_get(struct fk_kind *k, const char *ns, const char *name)
{
	struct buf key = BUF_INIT;
	if (k->namespaced)
		buf_printf(&key, "%s/%s", ns, name);
	else
		buf_puts(&key, name);
	pthread_mutex_lock(&fk_srv.mu);
	struct fk_obj *o = hmap_get(&k->objs, key.data);
	struct fk_ver *v = o ? o->cur : NULL;
	if (v)
		fk_ver_ref(v);
	pthread_mutex_unlock(&fk_srv.mu);
	buf_free(&key);
	return v;
}

uint64_t fk_store_rv(void)
{
	pthread_mutex_lock(&fk_srv.mu);
	uint64_t rv = fk_srv.rv;
	pthread_mutex_unlock(&fk_srv.mu);
	return rv;
}

/* RFC 1123 subdomain, as the real server checks names. */
static int valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && c != '-' && c != '.')
			return 0;
		if ((i == 0 || i == n - 1) && !alnum)
			return 0;
		if (c == '.' && (s[i + 1] == '.' || s[i + 1] == '-' || s[i - 1] == '-'))
			return 0;
	}
	return 1;
}

static void invalid(struct fk_err *err, const struct fk_kind *k, const char *name, const char *what)
{
	fk_err_set(err, 422, "Invalid", "%s \"%s\" is invalid: %s", k->kind, name, what);
	fk_err_details(err, k, k->kind, name);
}

struct fk_ver *fk_store_create(struct fk_kind *k, const char *ns, cJSON *obj, int direct,
			       int *created, struct fk_err *err)
{
	struct fk_ver *ret = NULL;
	if (created)
		*created = 0;
	if (!cJSON_IsObject(obj)) {
		fk_err_set(err, 400, "BadRequest", "the body of the request is not a JSON object");
		goto out;
	}
	const char *bk = str_of(obj, "kind");
	if (bk && strcmp(bk, k->kind) != 0) {
		fk_err_set(err, 400, "BadRequest",
			   "the kind in the data (%s) does not match the expected kind (%s)", bk,
			   k->kind);
		goto out;
	}
	cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	if (md && !cJSON_IsObject(md)) {
		fk_err_set(err, 400, "BadRequest", "metadata must be an object");
		goto out;
	}
	md = ensure_obj(obj, "metadata");
	const char *bns = str_of(md, "namespace");
	if (k->namespaced) {
		if (!ns || !*ns)
			ns = bns && *bns ? bns : "default";
		if (bns && *bns && strcmp(bns, ns) != 0) {
			fk_err_set(err, 400, "BadRequest",
				   "the namespace of the provided object does not match the "
				   "namespace sent on the request");
			goto out;
		}
		set_str(md, "namespace", ns);
	} else {
		cJSON_DeleteItemFromObjectCaseSensitive(md, "namespace");
	}
	pthread_mutex_lock(&fk_srv.mu);
	const char *name = str_of(md, "name");
	const char *gen = str_of(md, "generateName");
	if ((!name || !*name) && gen && *gen) {
		static const char alpha[] = "bcdfghjklmnpqrstvwxz2456789";
		char n[300];
		snprintf(n, sizeof n, "%.250s", gen);
		size_t l = strlen(n);
		for (int i = 0; i < 5; i++)
			n[l + (size_t)i] = alpha[rng_next() % (sizeof alpha - 1)];
		n[l + 5] = '\0';
		set_str(md, "name", n);
		name = str_of(md, "name");
	}
	if (!name || !*name) {
		invalid(err, k, "",
			"metadata.name: Required value: name or generateName is required");
		goto unlock;
	}
	if (!valid_name(name)) {
		char what[700];
		snprintf(what, sizeof what,
			 "metadata.name: Invalid value: \"%.200s\": a lowercase RFC 1123 subdomain "
			 "must consist of lower case alphanumeric characters, '-' or '.', and must "
			 "start and end with an alphanumeric character",
			 name);
		invalid(err, k, name, what);
		goto unlock;
	}
	const char *brv = str_of(md, "resourceVersion");
	if (!direct && brv && *brv) {
		fk_err_set(err, 500, "InternalError",
			   "resourceVersion should not be set on objects to be created");
		goto unlock;
	}
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	if (k == &fk_srv.kinds[FK_POD] && !direct) {
		cJSON *cs = cJSON_GetObjectItemCaseSensitive(spec, "containers");
		if (!cJSON_IsArray(cs) || cJSON_GetArraySize(cs) == 0) {
			invalid(err, k, name, "spec.containers: Required value");
			goto unlock;
		}
	}
	if (k == &fk_srv.kinds[FK_PDB] && !direct && fk_pdb_validate(k, obj, name, err) != 0)
		goto unlock;
	char key[600];
	snprintf(key, sizeof key, "%s%s%s", k->namespaced ? ns : "", k->namespaced ? "/" : "",
		 name);
	struct fk_obj *o = hmap_get(&k->objs, key);
	if (o && !direct) {
		fk_err_set(err, 409, "AlreadyExists", "%s \"%s\" already exists", k->qualified,
			   name);
		fk_err_details(err, k, k->resource, name);
		goto unlock;
	}
	char uid[37], ts[32];
	fk_uuid(uid);
	fk_now_rfc3339(ts);
	if (o) {
		/* direct replace: keep identity unless given */
		cJSON *old = parse_ver(o->cur);
		cJSON *omd = cJSON_GetObjectItemCaseSensitive(old, "metadata");
		if (!str_of(md, "uid"))
			copy_field(md, omd, "uid");
		if (!str_of(md, "creationTimestamp"))
			copy_field(md, omd, "creationTimestamp");
		cJSON_Delete(old);
	}
	if (!direct || !str_of(md, "uid"))
		set_str(md, "uid", uid);
	if (!direct || !str_of(md, "creationTimestamp"))
		set_str(md, "creationTimestamp", ts);
	if (k == &fk_srv.kinds[FK_POD]) {
		cJSON *st = ensure_obj(obj, "status");
		if (!str_of(st, "phase"))
			set_str(st, "phase", "Pending");
		if (!direct) {
			spec = ensure_obj(obj, "spec");
			if (!cJSON_GetObjectItemCaseSensitive(spec, "schedulerName"))
				set_str(spec, "schedulerName", "default-scheduler");
			if (!cJSON_GetObjectItemCaseSensitive(spec, "restartPolicy"))
				set_str(spec, "restartPolicy", "Always");
			if (!cJSON_GetObjectItemCaseSensitive(spec, "dnsPolicy"))
				set_str(spec, "dnsPolicy", "ClusterFirst");
			if (!cJSON_GetObjectItemCaseSensitive(spec,
							      "terminationGracePeriodSeconds"))
				cJSON_AddNumberToObject(spec, "terminationGracePeriodSeconds", 30);
		}
	}
	set_str(md, "resourceVersion", "0"); /* placeholder, so that it is ordered */
	order_object(obj);
	ret = commit(k, o, obj, o ? FK_MODIFIED : FK_ADDED);
	if (created)
		*created = !o;
unlock:
	pthread_mutex_unlock(&fk_srv.mu);
out:
	cJSON_Delete(obj);
	return ret;
}

/* Pods: the main resource may change only what the real server lets it. */
static int pod_spec_ok(const cJSON *oldspec, const cJSON *newspec)
{
	static const char *const free_keys[] = {"activeDeadlineSeconds", "tolerations",
						"schedulingGates", "terminationGracePeriodSeconds"};
	if (!oldspec || !newspec)
		return oldspec == newspec;
	cJSON *a = cJSON_Duplicate(newspec, 1);
	for (size_t i = 0; i < sizeof free_keys / sizeof free_keys[0]; i++)
		copy_field(a, oldspec, free_keys[i]);
	static const char *const lists[] = {"containers", "initContainers"};
	for (int l = 0; l < 2; l++) {
		cJSON *na = cJSON_GetObjectItemCaseSensitive(a, lists[l]);
		const cJSON *oa = cJSON_GetObjectItemCaseSensitive(oldspec, lists[l]);
		if (!cJSON_IsArray(na) || !cJSON_IsArray(oa))
			continue;
		int n = cJSON_GetArraySize(na);
		for (int i = 0; i < n && i < cJSON_GetArraySize(oa); i++) {
			cJSON *nc = cJSON_GetArrayItem(na, i);
			if (cJSON_IsObject(nc))
				copy_field(nc, cJSON_GetArrayItem(oa, i), "image");
		}
	}
	int ok = cJSON_Compare(a, oldspec, 1);
	cJSON_Delete(a);
	return ok;
}

struct fk_ver *fk_store_mutate(struct fk_kind *k, const char *ns, const char *name,
			       enum fk_wmode mode, fk_mutator fn, void *ctx, struct fk_err *err)
{
	char key[600];
	snprintf(key, sizeof key, "%s%s%s", k->namespaced ? ns : "", k->namespaced ? "/" : "",
		 name);
	struct fk_ver *ret = NULL;
	pthread_mutex_lock(&fk_srv.mu);
	struct fk_obj *o = hmap_get(&k->objs, key);
	if (!o) {
		fk_err_notfound(err, k, name);
		pthread_mutex_unlock(&fk_srv.mu);
		return NULL;
	}
	cJSON *old = parse_ver(o->cur);
	cJSON *neu = cJSON_Duplicate(old, 1);
	if (fn(k, &neu, ctx, err) != 0)
		goto out;
	if (!cJSON_IsObject(neu)) {
		fk_err_set(err, 422, "Invalid", "the result is not an object");
		goto out;
	}
	cJSON *omd = cJSON_GetObjectItemCaseSensitive(old, "metadata");
	cJSON *nmd = cJSON_GetObjectItemCaseSensitive(neu, "metadata");
	if (nmd && !cJSON_IsObject(nmd)) {
		fk_err_set(err, 400, "BadRequest", "metadata must be an object");
		goto out;
	}
	nmd = ensure_obj(neu, "metadata");
	if (mode != FK_W_INTERNAL) {
		const char *nrv = str_of(nmd, "resourceVersion");
		if (nrv && *nrv && strcmp(nrv, str_of(omd, "resourceVersion")) != 0) {
			fk_err_conflict(err, k, name);
			goto out;
		}
		if (k->has_status)
			copy_field(neu, old, mode == FK_W_MAIN ? "status" : "spec");
		if (k == &fk_srv.kinds[FK_POD] && mode == FK_W_MAIN &&
		    !pod_spec_ok(cJSON_GetObjectItemCaseSensitive(old, "spec"),
				 cJSON_GetObjectItemCaseSensitive(neu, "spec"))) {
			invalid(
			    err, k, name,
			    "spec: Forbidden: pod updates may not change fields other than "
			    "`spec.containers[*].image`,`spec.initContainers[*].image`,"
			    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
			    "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it "
			    "to be set to 1 if it was previously negative)");
			goto out;
		}
		if (k == &fk_srv.kinds[FK_PDB] && mode == FK_W_MAIN &&
		    fk_pdb_validate(k, neu, name, err) != 0)
			goto out;
	}
	static const char *const ident[] = {"name", "namespace", "uid", "creationTimestamp",
					    "resourceVersion"};
	for (size_t i = 0; i < sizeof ident / sizeof ident[0]; i++)
		copy_field(nmd, omd, ident[i]);
	cJSON_DeleteItemFromObjectCaseSensitive(old, "kind");
	cJSON_DeleteItemFromObjectCaseSensitive(old, "apiVersion");
	cJSON_DeleteItemFromObjectCaseSensitive(neu, "kind");
	cJSON_DeleteItemFromObjectCaseSensitive(neu, "apiVersion");
	if (cJSON_Compare(old, neu, 1)) { /* no-op: the real server writes nothing */
		ret = o->cur;
		fk_ver_ref(ret);
		goto out;
	}
	ret = commit(k, o, neu, FK_MODIFIED);
out:
	pthread_mutex_unlock(&fk_srv.mu);
	cJSON_Delete(old);
	cJSON_Delete(neu);
	return ret;
}

struct fk_ver *fk_store_delete(struct fk_kind *k, const char *ns, const char *name,
			       const char *pre_uid, const char *pre_rv, fk_guard guard,
			       struct fk_err *err)
{
	char key[600];
	snprintf(key, sizeof key, "%s%s%s", k->namespaced ? ns : "", k->namespaced ? "/" : "",
		 name);
	struct fk_ver *ret = NULL;
	pthread_mutex_lock(&fk_srv.mu);
	struct fk_obj *o = hmap_get(&k->objs, key);
	if (!o) {
		fk_err_notfound(err, k, name);
		goto out;
	}
	/* under the same lock as the delete: no other write can slip in between */
	if (guard && guard(k, o->cur, err) != 0)
		goto out;
	if (pre_uid && *pre_uid && strcmp(pre_uid, o->cur->uid) != 0) {
		fk_err_set(err, 409, "Conflict",
			   "Operation cannot be fulfilled on %s \"%s\": Precondition failed: UID "
			   "in precondition: %s, UID in object meta: %s",
			   k->qualified, name, pre_uid, o->cur->uid);
		fk_err_details(err, k, k->resource, name);
		goto out;
	}
	char rvs[24];
	snprintf(rvs, sizeof rvs, "%llu", (unsigned long long)o->cur->rv);
	if (pre_rv && *pre_rv && strcmp(pre_rv, rvs) != 0) {
		fk_err_set(
		    err, 409, "Conflict",
		    "Operation cannot be fulfilled on %s \"%s\": Precondition failed: "
		    "ResourceVersion in precondition: %s, ResourceVersion in object meta: %s",
		    k->qualified, name, pre_rv, rvs);
		fk_err_details(err, k, k->resource, name);
		goto out;
	}
	cJSON *tree = parse_ver(o->cur);
	ret = commit(k, o, tree, FK_DELETED);
	cJSON_Delete(tree);
out:
	pthread_mutex_unlock(&fk_srv.mu);
	return ret;
}

static void kind_clear(struct fk_kind *k)
{
	for (size_t i = 0; i < k->n; i++)
		fk_obj_free(k->vec[i]);
	k->n = 0;
	k->sorted = 1;
	hmap_free(&k->objs);
	hmap_init(&k->objs);
	ring_clear(k);
}

void fk_store_reset(void)
{
	pthread_mutex_lock(&fk_srv.mu);
	fk_srv.rv++;
	for (int i = 0; i < FK_NKINDS; i++) {
		kind_clear(&fk_srv.kinds[i]);
		fk_srv.kinds[i].oldest_rv = fk_srv.rv;
	}
	fk_watch_close_all();
	pthread_mutex_unlock(&fk_srv.mu);
}

void fk_store_compact(void)
{
	pthread_mutex_lock(&fk_srv.mu);
	for (int i = 0; i < FK_NKINDS; i++) {
		ring_clear(&fk_srv.kinds[i]);
		fk_srv.kinds[i].oldest_rv = fk_srv.rv;
	}
	pthread_mutex_unlock(&fk_srv.mu);
}

void fk_store_free(void)
{
	for (int i = 0; i < FK_NKINDS; i++) {
		struct fk_kind *k = &fk_srv.kinds[i];
		kind_clear(k);
		hmap_free(&k->objs);
		free(k->vec);
		free(k->ring);
		k->vec = NULL;
		k->ring = NULL;
	}
}
