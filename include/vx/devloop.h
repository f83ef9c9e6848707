/* devloop: dev mode's stand-in for kube-scheduler. A thread that waits for
 * changes in the store, lets it play kubelet and the device plugin (the
 * store's tick), and places each pending pod the way kube-scheduler would:
 * filter over every node, score the survivors, bind the best through the
 * binder. It is a client of the pipeline, like the HTTP routes. */
#ifndef VX_DEVLOOP_H
#define VX_DEVLOOP_H

#include "vx/binder.h"
#include "vx/pipeline.h"

struct devloop;

/* The store must offer the dev-mode ops (tick, pending, wait, kick). */
struct devloop *devloop_start(struct pipeline *pl, struct binder *b);
void devloop_stop(struct devloop *d);

#endif
