/* kubestore: the cluster-mode store. Lists and watches Nodes and Pods from
 * the API server (paginated LIST, WATCH with bookmarks, relist on 410 Gone),
 * binds pods under the node lock `hamivgpu` with the Volcano annotations in
 * the Binding, emits Events for failed binds, and optionally runs leader
 * election on a coordination.k8s.io Lease so that only one replica binds. */
#ifndef VX_KUBESTORE_H
#define VX_KUBESTORE_H

#include "vx/clock.h"
#include "vx/kube.h"
#include "vx/store.h"

#include <stdbool.h>

struct kstore_opts {
	bool leader_elect;
	const char *lease_namespace; /* default: the config's namespace */
	const char *lease_name;      /* default "vgpu-extender" */
	const char *identity;        /* default hostname_pid */
	int lease_seconds;           /* default 15 */
	int page_size;               /* LIST limit, default 500 */
	int stale_lock_seconds;      /* age after which an idle node lock is removed, 30 */
	int preconnect;              /* API connections opened at start, 0 none */
};

struct store *kstore_new(const struct kube_config *cfg, const struct kstore_opts *o,
			 struct vx_clock *clock, char *err, size_t errlen);
/* Whether this replica may bind now (always true without leader election). */
bool kstore_is_leader(struct store *s);
/* The store's API client, shared with the admin API's access checks
 * (auth.c: TokenReview, SubjectAccessReview) and its Events; it lives as
 * long as the store. */
struct kube_client *kstore_client(struct store *s);

#endif
