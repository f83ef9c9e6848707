/* informer: keeps the model current with one resource (nodes or pods) the
 * way client-go's reflector does: paginated LIST, then WATCH from the list's
 * resourceVersion with bookmarks; a 410 Gone (or an ERROR event carrying
 * it) means our resourceVersion is too old, so we LIST again and deliver
 * DELETED for whatever vanished meanwhile. Transport errors back off with
 * jitter and resume the WATCH from the last resourceVersion seen. */
#include "informer.h"
#include "vx/bgthread.h"
#include "vx/json.h"
#include "vx/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WATCH_TIMEOUT_S 300
#define IDLE_TIMEOUT_MS 90000

/* Bounds of the retry delay after a failed LIST or WATCH (jitter added). */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000

void informer_init(struct informer *in, const struct informer_cfg *cfg)
{
	memset(in, 0, sizeof *in);
	in->cfg = *cfg;
	in->need_list = true;
	hmap_init(&in->known);
}

static void obj_key(const struct informer *in, const cJSON *obj, char *key, size_t len)
{
	const cJSON *md = json_path(obj, "metadata", NULL);
	const char *ns = json_str(md, "namespace"), *name = json_str(md, "name");
	if (in->cfg.is_pod)
		pod_key(key, ns ? ns : "default", name ? name : "");
	else
		snprintf(key, len, "%s", name ? name : "");
}

static void deliver(struct informer *in, enum store_ev ev, const cJSON *obj)
{
	in->cfg.deliver(in->cfg.ud, in->cfg.is_pod, ev, obj);
}

static void remember(struct informer *in, const char *key, uint64_t gen)
{
	uint64_t *v = hmap_get(&in->known, key);
	if (v) {
		*v = gen;
		return;
	}
	size_t kl = strlen(key) + 1;
	/* One allocation: the generation, then the key it is filed under. */
	v = malloc(sizeof *v + kl);
	if (!v)
		abort();
	*v = gen;
	memcpy(v + 1, key, kl);
	hmap_put(&in->known, (char *)(v + 1), v);
}

static void forget(struct informer *in, const char *key)
{
	free(hmap_del(&in->known, key));
}

/* A minimal object that names what was deleted. */
static cJSON *tombstone(const struct informer *in, const char *key)
{
	cJSON *o = cJSON_CreateObject(), *md = cJSON_AddObjectToObject(o, "metadata");
	const char *slash = in->cfg.is_pod ? strchr(key, '/') : NULL;
	if (slash) {
		char ns[256];
		snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
		cJSON_AddStringToObject(md, "namespace", ns);
		cJSON_AddStringToObject(md, "name", slash + 1);
	} else {
		cJSON_AddStringToObject(md, "name", key);
	}
	return o;
}

static void drop_unseen(struct informer *in, uint64_t gen)
{
	size_t it = 0, n = 0;
	const char *key;
	void *v;
	char **gone = calloc(hmap_size(&in->known) + 1, sizeof *gone);
	if (!gone)
		abort();
	while (hmap_next(&in->known, &it, &key, &v))
		if (*(uint64_t *)v != gen)
			gone[n++] = strdup(key);
	for (size_t i = 0; i < n; i++) {
		cJSON *t = tombstone(in, gone[i]);
		log_info("%s %s vanished while we were not watching", in->cfg.resource, gone[i]);
		deliver(in, STORE_DELETED, t);
		cJSON_Delete(t);
		forget(in, gone[i]);
		free(gone[i]);
	}
	free(gone);
}

/* One page; returns 1 more pages, 0 done, -1 error, -2 continue token expired. */
static int list_page(struct informer *in, char *cont, size_t contlen, uint64_t gen)
{
	char path[2048], err[256], key[512];
	struct kube_resp r;
	snprintf(path, sizeof path, "%s?limit=%d%s%s", in->cfg.path, in->cfg.page_size,
		 cont[0] ? "&continue=" : "", cont);
	if (kube_request(in->cfg.kc, "GET", path, NULL, NULL, 0, &r, NULL, err, sizeof err)) {
		log_warn("list %s: %s", in->cfg.resource, err);
		kube_resp_free(&r);
		return -1;
	}
	cJSON *list = r.status == 200 ? cJSON_ParseWithLength(r.body.data, r.body.len) : NULL;
	if (!list) {
		kube_status_message(&r, err, sizeof err);
		log_warn("list %s: HTTP %ld: %s", in->cfg.resource, r.status, err);
		int rc = r.status == 410 ? -2 : -1;
		kube_resp_free(&r);
		return rc;
	}
	kube_resp_free(&r);
	const cJSON *item;
	cJSON_ArrayForEach (item, cJSON_GetObjectItemCaseSensitive(list, "items")) {
		obj_key(in, item, key, sizeof key);
		enum store_ev ev = hmap_get(&in->known, key) ? STORE_MODIFIED : STORE_ADDED;
		remember(in, key, gen);
		deliver(in, ev, item);
	}
	const cJSON *md = json_path(list, "metadata", NULL);
	const char *c = json_str(md, "continue"), *rv = json_str(md, "resourceVersion");
	if (rv && !cont[0])
		snprintf(in->rv, sizeof in->rv, "%s", rv);
	snprintf(cont, contlen, "%s", c ? c : "");
	cJSON_Delete(list);
	return cont[0] ? 1 : 0;
}

static int list_all(struct informer *in)
{
	static _Thread_local uint64_t generation;
	char cont[1024] = "";
	uint64_t gen = ++generation;
	int rc;
	while ((rc = list_page(in, cont, sizeof cont, gen)) == 1 && !atomic_load(in->cfg.stop))
		;
	if (rc == -2)
		return -1; /* continue token expired: start over from page one */
	if (rc < 0 || atomic_load(in->cfg.stop))
		return -1;
	drop_unseen(in, gen);
	log_info("listed %s: %zu objects at resourceVersion %s", in->cfg.resource,
		 hmap_size(&in->known), in->rv);
	return 0;
}

static int on_event(void *ud, const char *line, size_t len)
{
	struct informer *in = ud;
	char key[512];
	cJSON *ev = cJSON_ParseWithLength(line, len);
	const char *type = json_str(ev, "type");
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
	if (!type || !cJSON_IsObject(obj)) {
		log_warn("watch %s: ignoring a malformed event", in->cfg.resource);
		cJSON_Delete(ev);
		return 0;
	}
	if (!strcmp(type, "ERROR")) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
		log_info("watch %s: %s", in->cfg.resource,
			 json_str(obj, "message") ? json_str(obj, "message") : "error event");
		in->need_list = cJSON_IsNumber(code) && code->valueint == 410;
		cJSON_Delete(ev);
		return 1;
	}
	const char *rv = json_str(json_path(obj, "metadata", NULL), "resourceVersion");
	if (rv)
		snprintf(in->rv, sizeof in->rv, "%s", rv);
	if (strcmp(type, "BOOKMARK") != 0) {
		obj_key(in, obj, key, sizeof key);
		if (!strcmp(type, "DELETED")) {
			forget(in, key);
			deliver(in, STORE_DELETED, obj);
		} else {
			remember(in, key, 0);
			deliver(in, !strcmp(type, "ADDED") ? STORE_ADDED : STORE_MODIFIED, obj);
		}
	}
	cJSON_Delete(ev);
	return 0;
}

static long watch_once(struct informer *in)
{
	char path[512], err[256];
	snprintf(path, sizeof path,
		 "%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s",
		 in->cfg.path, WATCH_TIMEOUT_S, in->rv);
	long st = kube_watch(in->cfg.kc, path, on_event, in, in->cfg.stop, IDLE_TIMEOUT_MS, err,
			     sizeof err);
	if (st == 410)
		in->need_list = true;
	if (st != 200 && !atomic_load(in->cfg.stop))
		log_warn("watch %s from %s: %s", in->cfg.resource, in->rv,
			 st < 0      ? err
			 : st == 410 ? "410 Gone, relisting"
				     : err);
	return st;
}

static void mark_listed(struct informer *in)
{
	if (!atomic_exchange(&in->listed, 1) && in->cfg.listed)
		in->cfg.listed(in->cfg.ud);
}

static void *run(void *arg)
{
	struct informer *in = arg;
	char name[16];
	snprintf(name, sizeof name, "vx-watch-%s", in->cfg.resource);
	bg_thread(name);
	long backoff = BACKOFF_MIN_MS;
	while (!atomic_load(in->cfg.stop)) {
		if (in->need_list) {
			if (list_all(in)) {
				kube_sleep(in->cfg.stop, backoff + rand() % (backoff + 1));
				backoff =
				    backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 : BACKOFF_MAX_MS;
				continue;
			}
			in->need_list = false;
			mark_listed(in);
		}
		long st = watch_once(in);
		if (st == 200 || in->need_list) {
			backoff = BACKOFF_MIN_MS;
			continue;
		}
		kube_sleep(in->cfg.stop, backoff + rand() % (backoff + 1));
		backoff = backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 : BACKOFF_MAX_MS;
	}
	return NULL;
}

int informer_start(struct informer *in)
{
	in->running = pthread_create(&in->thread, NULL, run, in) == 0;
	return in->running ? 0 : -1;
}

void informer_join(struct informer *in)
{
	if (in->running)
		pthread_join(in->thread, NULL);
	in->running = false;
}

void informer_free(struct informer *in)
{
	size_t it = 0;
	void *v;
	while (hmap_next(&in->known, &it, NULL, &v))
		free(v);
	hmap_free(&in->known);
}
