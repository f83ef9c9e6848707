/* scorecache: one entry, the last filtered pod; see scorecache.h. A single
 * entry suffices because kube-scheduler runs one scheduling cycle at a time
 * and calls prioritize straight after filter. */
#include "vx/scorecache.h"

#include <stdlib.h>
#include <string.h>

void scache_init(struct score_cache *c)
{
	memset(c, 0, sizeof *c);
	pthread_mutex_init(&c->mu, NULL);
}

void scache_free(struct score_cache *c)
{
	free(c->raw);
	free(c->off);
	buf_free(&c->names);
	pthread_mutex_destroy(&c->mu);
}

static void reserve(struct score_cache *c, int n)
{
	if (n + 1 <= c->cap)
		return;
	c->cap = n + 1;
	c->raw = realloc(c->raw, (size_t)c->cap * sizeof *c->raw);
	c->off = realloc(c->off, (size_t)c->cap * sizeof *c->off);
	if (!c->raw || !c->off)
		abort();
}

void scache_store(struct score_cache *c, const char *uid, uint64_t version,
		  const char *const *names, const size_t *lens, const bool *pass, const double *raw,
		  int n)
{
	if (!uid || strlen(uid) >= sizeof c->uid)
		return;
	pthread_mutex_lock(&c->mu);
	reserve(c, n);
	buf_reset(&c->names);
	c->n = 0;
	for (int i = 0; i < n; i++) {
		if (!pass[i])
			continue;
		c->off[c->n] = (uint32_t)c->names.len;
		c->raw[c->n++] = raw[i];
		buf_append(&c->names, names[i], lens[i]);
	}
	c->off[c->n] = (uint32_t)c->names.len;
	memcpy(c->uid, uid, strlen(uid) + 1);
	c->version = version;
	pthread_mutex_unlock(&c->mu);
}

bool scache_lookup(struct score_cache *c, const char *uid, uint64_t version,
		   const char *const *names, const size_t *lens, int n, double *raw)
{
	bool hit = false;
	pthread_mutex_lock(&c->mu);
	if (uid && c->n == n && c->version == version && strcmp(c->uid, uid) == 0) {
		hit = true;
		for (int i = 0; i < n && hit; i++) {
			size_t len = c->off[i + 1] - c->off[i];
			hit =
			    len == lens[i] && memcmp(c->names.data + c->off[i], names[i], len) == 0;
			raw[i] = c->raw[i];
		}
	}
	pthread_mutex_unlock(&c->mu);
	return hit;
}
