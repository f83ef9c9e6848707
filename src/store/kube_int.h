/* kube_int: what the cluster-mode store's files share (kube.c, informer.c,
 * lease.c). Not a public interface. */
#ifndef VX_KUBE_INT_H
#define VX_KUBE_INT_H

#include "vx/hmap.h"
#include "vx/kubestore.h"

#include <pthread.h>
#include <stdatomic.h>

struct kstore;

struct informer {
	struct kstore *ks;
	const char *resource; /* "nodes" or "pods", for logs */
	const char *path;     /* "/api/v1/nodes" */
	bool is_pod;
	struct hmap known; /* keys of the objects delivered, for relist deletions */
	char rv[32];       /* resourceVersion to watch from */
	bool need_list;
	atomic_int listed;
	pthread_t thread;
	bool running;
};

struct lease {
	struct kstore *ks;
	char *ns, *name, *identity;
	int seconds;
	atomic_int leader;
	pthread_t thread;
	bool running;
};

struct kstore {
	struct store base;
	struct kube_client *kc;
	struct vx_clock *clock;
	struct store_sink sink;
	atomic_int stop;
	int page_size;
	int stale_lock_s;
	struct informer nodes, pods;
	atomic_int synced;
	bool leader_elect;
	struct lease lease;
	pthread_mutex_t lock_mu; /* nodes this process is binding to, see kube.c */
	pthread_cond_t lock_cv;
	struct hmap locking;
	struct hmap locked; /* node -> struct node_lock: hamivgpu as last seen */
	pthread_t janitor;
	bool janitor_running;
	char *ns;
};

/* Called by the node informer for every node event (any thread). */
void kstore_note_node(struct kstore *ks, enum store_ev ev, const cJSON *node);

void informer_init(struct informer *in, struct kstore *ks, const char *resource, const char *path,
		   bool is_pod);
int informer_start(struct informer *in);
void informer_join(struct informer *in);
void informer_free(struct informer *in);

int lease_start(struct lease *l, struct kstore *ks, const struct kstore_opts *o);
void lease_stop(struct lease *l);

/* Sleeps up to ms, waking early when the store is stopping. */
void kstore_sleep(struct kstore *ks, long ms);
/* Status message of an API error body, or a fallback. */
void kstore_api_error(const struct kube_resp *r, char *out, size_t len);

#endif
