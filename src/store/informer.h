/* informer: one resource (nodes or pods) kept current from the API server,
 * the way client-go's reflector does it. Private to the cluster-mode store,
 * which owns the client and the stop flag and receives every event through
 * the callbacks; the informer knows nothing else of the store. */
#ifndef VX_STORE_INFORMER_H
#define VX_STORE_INFORMER_H

#include "vx/hmap.h"
#include "vx/kube.h"
#include "vx/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct informer_cfg {
	struct kube_client *kc;
	const atomic_int *stop;
	int page_size;
	const char *resource; /* "nodes" or "pods", for logs */
	const char *path;     /* "/api/v1/nodes" */
	bool is_pod;
	void *ud;
	void (*deliver)(void *ud, bool is_pod, enum store_ev ev, const cJSON *obj);
	void (*listed)(void *ud); /* after the first complete LIST */
};

struct informer {
	struct informer_cfg cfg;
	struct hmap known; /* keys of the objects delivered, for relist deletions */
	char rv[32];       /* resourceVersion to watch from */
	bool need_list;
	atomic_int listed;
	pthread_t thread;
	bool running;
};

void informer_init(struct informer *in, const struct informer_cfg *cfg);
int informer_start(struct informer *in);
void informer_join(struct informer *in);
void informer_free(struct informer *in);

#endif
