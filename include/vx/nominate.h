/* nominate: the node kube-scheduler is about to bind a pod to, known a
 * moment before the bind arrives. kube-scheduler starts the next pod's
 * scheduling cycle as soon as it has picked a node, and sends the bind from
 * another goroutine; the next filter can reach us first. Without this, the
 * next pod sees the same node as the best idle one and its bind then waits
 * for the node lock. So prioritize nominates the nodes it scored best (when
 * there are few), and filter and score treat them as busy for other pods
 * until the pod's bind arrives or NOM_TTL_MS passes. Never a rejection: a
 * busy node still passes when no idle one fits. */
#ifndef VX_NOMINATE_H
#define VX_NOMINATE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define NOM_TTL_MS 2000
#define NOM_MAX_NODES 4 /* more ties than this: kube-scheduler's pick is a lottery */
#define NOM_SLOTS 128   /* pods between prioritize and bind */
#define NOM_NAME_MAX 64

struct nom_node {
	uint32_t hash; /* hmap_hash of the name */
	char name[NOM_NAME_MAX];
};

struct nominations {
	pthread_mutex_t mu;
	struct nom_slot {
		char uid[64];
		int64_t expires_ms;
		int n;
		struct nom_node nodes[NOM_MAX_NODES];
	} slot[NOM_SLOTS];
	int live; /* slots in use, so an empty table costs filter nothing */
};

void nom_init(struct nominations *t);
void nom_free(struct nominations *t);
/* Records the nodes for pod uid (replacing its earlier ones). */
void nom_set(struct nominations *t, const char *uid, const char *const *names, const size_t *lens,
	     int n, int64_t now_ms);
void nom_clear(struct nominations *t, const char *uid);
/* Copies the live nominations of pods other than uid into out; returns
 * how many (at most max). */
int nom_snapshot(struct nominations *t, const char *uid, int64_t now_ms, struct nom_node *out,
		 int max);
/* Whether name (with its hash) is among the snapshot's nodes. */
int nom_has(const struct nom_node *snap, int n, const char *name, size_t len, uint32_t hash);

#endif
