/* devloop: dev mode's stand-in for kube-scheduler, kubelet and the device
 * plugin. A thread that waits for changes in the memory store, lets it play
 * plugin and kubelet, and places pending pods through the same pipeline that
 * serves /filter, /prioritize and /bind. */
#ifndef VX_DEVLOOP_H
#define VX_DEVLOOP_H

#include "vx/pipeline.h"

struct devloop;

struct devloop *devloop_start(struct pipeline *pl, struct store *memstore);
void devloop_stop(struct devloop *d);

#endif
