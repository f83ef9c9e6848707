/* kubestate: the cluster-mode store's documents (store_ops state_get and
 * state_put) as ConfigMaps named vgpu-extender-NAME in the daemon's
 * namespace, the document under the key NAME.json. Writes carry the
 * resourceVersion last read, so two replicas never overwrite each other:
 * the loser gets 409 and merges. Private to the cluster-mode store. */
#ifndef VX_STORE_KUBESTATE_H
#define VX_STORE_KUBESTATE_H

#include "vx/kube.h"
#include "vx/store.h"

int kubestate_get(struct kube_client *kc, const char *ns, const char *name, struct store_doc *d,
		  struct store_err *e);
int kubestate_put(struct kube_client *kc, const char *ns, const char *name, const char *data,
		  struct store_doc *d, struct store_err *e);

#endif
