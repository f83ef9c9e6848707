/* hmap: string-keyed hash map with open addressing (linear probing).
 * Keys are borrowed: the caller keeps each key alive while it is in the map,
 * normally because the key is a field of the value. Not thread-safe; the
 * owner's lock protects it. */
#ifndef VX_HMAP_H
#define VX_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap_slot {
	const char *key; /* NULL: empty; HMAP_TOMBSTONE: deleted */
	uint32_t keylen;
	uint32_t hash;
	void *val;
};

struct hmap {
	struct hmap_slot *slots;
	size_t cap;  /* power of two */
	size_t used; /* live entries */
	size_t dead; /* tombstones */
};

uint32_t hmap_hash(const char *s, size_t n);
void hmap_init(struct hmap *m);
void hmap_free(struct hmap *m);
void *hmap_get(const struct hmap *m, const char *key);
void *hmap_getn(const struct hmap *m, const char *key, size_t n);
/* Lookup with a hash the caller computed (hmap_hash) ahead of time. */
void *hmap_getnh(const struct hmap *m, const char *key, size_t n, uint32_t hash);
/* Prefetch help for batched lookups: pulls the key's home slot into cache;
 * hmap_prefetch_key then pulls the key that slot points at (a guess: the
 * first probe usually holds it). Neither changes anything. */
void hmap_prefetch_slot(const struct hmap *m, uint32_t hash);
void hmap_prefetch_key(const struct hmap *m, uint32_t hash);
/* Inserts or replaces; returns the value it replaced, or NULL. */
void *hmap_put(struct hmap *m, const char *key, void *val);
/* Removes key; returns its value, or NULL when absent. */
void *hmap_del(struct hmap *m, const char *key);
size_t hmap_size(const struct hmap *m);
/* Iteration: size_t it = 0; while (hmap_next(m, &it, &key, &val)) ... */
int hmap_next(const struct hmap *m, size_t *it, const char **key, void **val);

#endif
