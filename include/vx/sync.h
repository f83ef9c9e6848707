/* sync: applies Kubernetes Node and Pod objects, as a store delivers them, to
 * the cluster model. Both stores (dev memory store, API server watch) feed
 * the model only through here, so dev mode and cluster mode rebuild state
 * the same way. Each call takes the model's write lock itself. */
#ifndef VX_SYNC_H
#define VX_SYNC_H

#include "vx/cluster.h"

#include <cjson/cJSON.h>

#define ANN_NODE "volcano.sh/vgpu-node"
#define ANN_TIME "volcano.sh/vgpu-time"
#define ANN_IDS "volcano.sh/vgpu-ids-new"
#define ANN_TO_ALLOCATE "volcano.sh/devices-to-allocate"
#define ANN_BIND_PHASE "volcano.sh/bind-phase"
#define ANN_BIND_TIME "volcano.sh/bind-time"
#define ANN_REGISTER "volcano.sh/node-vgpu-register"
#define ANN_NODE_LOCK "hamivgpu"

void sync_node(struct cluster *c, const cJSON *node);
void sync_node_deleted(struct cluster *c, const char *name);
void sync_pod(struct cluster *c, const cJSON *pod);
void sync_pod_deleted(struct cluster *c, const char *ns, const char *name);
/* Node's allocatable volcano.sh/vgpu-number, 0 when absent or malformed. */
int64_t sync_node_allocatable(const cJSON *node);
/* RFC 3339 "2026-11-22T07:23:39Z" to unix seconds; -1 when malformed. */
int64_t sync_parse_time(const char *s);

#endif
