/* memstore: the dev-mode store. It stands in for the API server: it holds
 * Node and Pod objects (compact JSON, deflated once quiet), hands out
 * resourceVersions, applies bindings with their annotations atomically, and
 * plays the device plugin and kubelet (bind-phase success, lock release,
 * Running, Succeeded after vgpu-extender.io/dev-runtime-seconds). The dev
 * loop drives it. */
#ifndef VX_MEMSTORE_H
#define VX_MEMSTORE_H

#include "vx/clock.h"
#include "vx/store.h"

#include <stddef.h>
#include <stdint.h>

struct store *mstore_new(struct vx_clock *clock);
/* Adds the Nodes and Pods of a YAML/JSON stream; call before start. */
int mstore_load(struct store *s, const char *data, size_t len, const char *name, char *err,
		size_t errlen);
int mstore_load_file(struct store *s, const char *path, char *err, size_t errlen);
/* The built-in demo cluster: 2 nodes x 2 GPUs (24 GiB, 10 slots). */
int mstore_load_demo(struct store *s, char *err, size_t errlen);
/* Plays device plugin and kubelet for every pod that needs it, and deflates
 * objects that went quiet; returns the number of objects changed. */
int mstore_tick(struct store *s);
/* Keys ("ns/name") of pods the dev loop should place, oldest first. */
int mstore_pending(struct store *s, char ***keys);
/* Blocks until something changed after `seen` or timeout_ms passed;
 * returns the current change counter. */
uint64_t mstore_wait(struct store *s, uint64_t seen, int timeout_ms);
void mstore_kick(struct store *s);
/* Ms until the next dev-runtime completion is due, or -1 for none. */
int64_t mstore_next_due_ms(struct store *s);

#endif
