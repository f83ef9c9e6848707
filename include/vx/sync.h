/* sync: applies Kubernetes Node and Pod objects, as a store delivers them, to
 * the cluster model. Both stores (dev memory store, API server watch) feed
 * the model only through here, so dev mode and cluster mode rebuild state
 * the same way. Each call takes the model's write lock itself. */
#ifndef VX_SYNC_H
#define VX_SYNC_H

#include "vx/cluster.h"
#include "vx/json.h"
#include "vx/volcano.h"

#include <cjson/cJSON.h>

void sync_node(struct cluster *c, const cJSON *node);
void sync_node_deleted(struct cluster *c, const char *name);
void sync_pod(struct cluster *c, const cJSON *pod);
void sync_pod_deleted(struct cluster *c, const char *ns, const char *name);
/* Node's allocatable volcano.sh/vgpu-number, 0 when absent or malformed. */
int64_t sync_node_allocatable(const cJSON *node);

#endif
