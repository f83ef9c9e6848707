/* checkpoint: the licences' day of usage kept through the store (a file in
 * --state-dir in dev mode, a ConfigMap in cluster mode), loaded once at
 * start and saved every CKPT_SAVE_S and at shutdown, so a restart neither
 * forgets nor counts usage twice. Replicas save the same figures (each
 * watches every pod); a write that loses the resourceVersion race reads the
 * other's save, keeps the larger figure per licence, and writes again. */
#ifndef VX_CHECKPOINT_H
#define VX_CHECKPOINT_H

#include "vx/clock.h"
#include "vx/cluster.h"
#include "vx/store.h"

#include <stdbool.h>

#define CKPT_SAVE_S 30

struct ckpt {
	struct store *store;
	struct cluster *cluster;
	struct vx_clock *clock;
	char version[64]; /* of the document as last read or written */
	bool failing;     /* the last save failed (logged once, not every time) */
};

void ckpt_init(struct ckpt *k, struct store *s, struct cluster *c, struct vx_clock *clock);
/* Before the model counts anything: adds what was saved for today. */
void ckpt_load(struct ckpt *k);
/* Writes the usage as of now; errors are logged, never fatal. */
void ckpt_save(struct ckpt *k);

#endif
