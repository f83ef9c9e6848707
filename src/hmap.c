/* hmap: open-addressing string map; see hmap.h. Lookups compare the stored
 * hash and length before the bytes, so a miss rarely touches key memory. */
#include "vx/hmap.h"

#include <stdlib.h>
#include <string.h>

static const char hmap_tombstone_key[] = "";
#define HMAP_TOMBSTONE hmap_tombstone_key

uint32_t hmap_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h ? h : 1;
}

void hmap_init(struct hmap *m)
{
	memset(m, 0, sizeof *m);
}

void hmap_free(struct hmap *m)
{
	free(m->slots);
	memset(m, 0, sizeof *m);
}

static struct hmap_slot *find(const struct hmap *m, const char *key, size_t n, uint32_t h)
{
	if (!m->cap)
		return NULL;
	size_t mask = m->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct hmap_slot *s = &m->slots[i];
		if (!s->key)
			return NULL;
		if (s->key != HMAP_TOMBSTONE && s->hash == h && s->keylen == n &&
		    memcmp(s->key, key, n) == 0)
			return s;
	}
}

void *hmap_getn(const struct hmap *m, const char *key, size_t n)
{
	struct hmap_slot *s = find(m, key, n, hmap_hash(key, n));
	return s ? s->val : NULL;
}

void *hmap_getnh(const struct hmap *m, const char *key, size_t n, uint32_t hash)
{
	struct hmap_slot *s = find(m, key, n, hash);
	return s ? s->val : NULL;
}

void hmap_prefetch_slot(const struct hmap *m, uint32_t hash)
{
	if (m->cap)
		__builtin_prefetch(&m->slots[hash & (m->cap - 1)]);
}

void hmap_prefetch_key(const struct hmap *m, uint32_t hash)
{
	if (!m->cap)
		return;
	const char *k = m->slots[hash & (m->cap - 1)].key;
	if (k)
		__builtin_prefetch(k);
}

void *hmap_get(const struct hmap *m, const char *key)
{
	return hmap_getn(m, key, strlen(key));
}

static void grow(struct hmap *m)
{
	size_t cap = m->cap ? m->cap : 16;
	while ((m->used + 1) * 4 >= cap * 3)
		cap *= 2;
	struct hmap_slot *old = m->slots;
	size_t oldcap = m->cap;
	m->slots = calloc(cap, sizeof *m->slots);
	if (!m->slots)
		abort();
	m->cap = cap;
	m->dead = 0;
	for (size_t i = 0; i < oldcap; i++) {
		if (!old[i].key || old[i].key == HMAP_TOMBSTONE)
			continue;
		size_t j = old[i].hash & (cap - 1);
		while (m->slots[j].key)
			j = (j + 1) & (cap - 1);
		m->slots[j] = old[i];
	}
	free(old);
}

void *hmap_put(struct hmap *m, const char *key, void *val)
{
	size_t n = strlen(key);
	uint32_t h = hmap_hash(key, n);
	struct hmap_slot *s = find(m, key, n, h);
	if (s) {
		void *prev = s->val;
		s->key = key; /* the new value owns the key now */
		s->val = val;
		return prev;
	}
	if ((m->used + m->dead + 1) * 4 >= m->cap * 3)
		grow(m);
	size_t mask = m->cap - 1, i = h & mask;
	while (m->slots[i].key && m->slots[i].key != HMAP_TOMBSTONE)
		i = (i + 1) & mask;
	if (m->slots[i].key == HMAP_TOMBSTONE)
		m->dead--;
	m->slots[i] = (struct hmap_slot){key, (uint32_t)n, h, val};
	m->used++;
	return NULL;
}

void *hmap_del(struct hmap *m, const char *key)
{
	size_t n = strlen(key);
	struct hmap_slot *s = find(m, key, n, hmap_hash(key, n));
	if (!s)
		return NULL;
	void *val = s->val;
	s->key = HMAP_TOMBSTONE;
	s->val = NULL;
	m->used--;
	m->dead++;
	return val;
}

size_t hmap_size(const struct hmap *m)
{
	return m->used;
}

int hmap_next(const struct hmap *m, size_t *it, const char **key, void **val)
{
	for (; *it < m->cap; (*it)++) {
		const struct hmap_slot *s = &m->slots[*it];
		if (s->key && s->key != HMAP_TOMBSTONE) {
			if (key)
				*key = s->key;
			if (val)
				*val = s->val;
			(*it)++;
			return 1;
		}
	}
	return 0;
}
