/* memstore: the dev-mode store. It stands in for the API server: it holds
 * Node and Pod objects (compact JSON, deflated once quiet), hands out
 * resourceVersions, applies bindings with their annotations atomically, and
 * plays the device plugin and kubelet (bind-phase success, lock release,
 * Running, Succeeded after vgpu-extender.io/dev-runtime-seconds) through the
 * store ops that are dev-only (tick, pending, wait, kick); the dev loop drives
 * it through those ops like any other store client. */
#ifndef VX_MEMSTORE_H
#define VX_MEMSTORE_H

#include "vx/clock.h"
#include "vx/store.h"

#include <stddef.h>
#include <stdint.h>

struct store *mstore_new(struct vx_clock *clock);
/* Where state_put keeps documents (--state-dir); NULL: nowhere. */
void mstore_set_state_dir(struct store *s, const char *dir);
/* Hands the sink every object as it loads, so start() need not parse the
 * cluster file's objects a second time; call before mstore_load. start()
 * must be given the same sink. */
void mstore_set_sink(struct store *s, const struct store_sink *sink);
/* Adds the Nodes and Pods of a YAML/JSON stream; call before start. */
int mstore_load(struct store *s, const char *data, size_t len, const char *name, char *err,
		size_t errlen);
int mstore_load_file(struct store *s, const char *path, char *err, size_t errlen);
/* The built-in demo cluster: 2 nodes x 2 GPUs (24 GiB, 10 slots). */
int mstore_load_demo(struct store *s, char *err, size_t errlen);
#endif
