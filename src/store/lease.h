/* lease: leader election for the cluster-mode store. Private to it; the
 * store reads `leader` to decide whether this replica may bind. */
#ifndef VX_STORE_LEASE_H
#define VX_STORE_LEASE_H

#include "vx/kube.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct lease_cfg {
	struct kube_client *kc;
	const atomic_int *stop;
	const char *ns;       /* namespace of the Lease */
	const char *name;     /* default "vgpu-extender" */
	const char *identity; /* default hostname_pid */
	int seconds;          /* default 15 */
};

struct lease {
	struct kube_client *kc;
	const atomic_int *stop;
	char *ns, *name, *identity;
	int seconds;
	atomic_int leader;
	pthread_t thread;
	bool running;
};

int lease_start(struct lease *l, const struct lease_cfg *cfg);
void lease_stop(struct lease *l);

#endif
