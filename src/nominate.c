/* nominate: see nominate.h. A fixed table: prioritize and bind for one pod
 * are a millisecond apart, so a few dozen slots are plenty, and a full table
 * simply drops the oldest nomination. */
#include "vx/nominate.h"
#include "vx/hmap.h"

#include <stdio.h>
#include <string.h>

void nom_init(struct nominations *t)
{
	memset(t, 0, sizeof *t);
	pthread_mutex_init(&t->mu, NULL);
}

void nom_free(struct nominations *t)
{
	pthread_mutex_destroy(&t->mu);
}

static void expire(struct nominations *t, int64_t now_ms)
{
	for (int i = 0; i < NOM_SLOTS && t->live; i++)
		if (t->slot[i].uid[0] && t->slot[i].expires_ms <= now_ms) {
			t->slot[i].uid[0] = '\0';
			t->live--;
		}
}

static struct nom_slot *find(struct nominations *t, const char *uid)
{
	for (int i = 0; i < NOM_SLOTS; i++)
		if (t->slot[i].uid[0] && strcmp(t->slot[i].uid, uid) == 0)
			return &t->slot[i];
	return NULL;
}

/* A free slot, or the one that expires first. */
static struct nom_slot *take(struct nominations *t)
{
	struct nom_slot *oldest = &t->slot[0];
	for (int i = 0; i < NOM_SLOTS; i++) {
		if (!t->slot[i].uid[0]) {
			t->live++;
			return &t->slot[i];
		}
		if (t->slot[i].expires_ms < oldest->expires_ms)
			oldest = &t->slot[i];
	}
	return oldest;
}

void nom_set(struct nominations *t, const char *uid, const char *const *names, const size_t *lens,
	     int n, int64_t now_ms)
{
	if (!uid || !*uid || strlen(uid) >= sizeof t->slot[0].uid || n > NOM_MAX_NODES)
		return;
	pthread_mutex_lock(&t->mu);
	expire(t, now_ms);
	struct nom_slot *s = find(t, uid);
	if (!s)
		s = take(t);
	snprintf(s->uid, sizeof s->uid, "%s", uid);
	s->expires_ms = now_ms + NOM_TTL_MS;
	s->n = 0;
	for (int i = 0; i < n; i++) {
		if (lens[i] >= NOM_NAME_MAX)
			continue; /* such names are not worth the space: no nomination */
		struct nom_node *nn = &s->nodes[s->n++];
		memcpy(nn->name, names[i], lens[i]);
		nn->name[lens[i]] = '\0';
		nn->hash = hmap_hash(names[i], lens[i]);
	}
	pthread_mutex_unlock(&t->mu);
}

void nom_clear(struct nominations *t, const char *uid)
{
	if (!uid || !*uid)
		return;
	pthread_mutex_lock(&t->mu);
	struct nom_slot *s = t->live ? find(t, uid) : NULL;
	if (s) {
		s->uid[0] = '\0';
		t->live--;
	}
	pthread_mutex_unlock(&t->mu);
}

int nom_snapshot(struct nominations *t, const char *uid, int64_t now_ms, struct nom_node *out,
		 int max)
{
	int k = 0;
	pthread_mutex_lock(&t->mu);
	expire(t, now_ms);
	for (int i = 0; i < NOM_SLOTS && t->live && k < max; i++) {
		const struct nom_slot *s = &t->slot[i];
		if (!s->uid[0] || (uid && strcmp(s->uid, uid) == 0))
			continue;
		for (int j = 0; j < s->n && k < max; j++)
			out[k++] = s->nodes[j];
	}
	pthread_mutex_unlock(&t->mu);
	return k;
}

int nom_has(const struct nom_node *snap, int n, const char *name, size_t len, uint32_t hash)
{
	for (int i = 0; i < n; i++)
		if (snap[i].hash == hash && strncmp(snap[i].name, name, len) == 0 &&
		    snap[i].name[len] == '\0')
			return 1;
	return 0;
}
