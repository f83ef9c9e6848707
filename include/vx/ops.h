/* ops: what operators read: /debug/state, /metrics and the admin API's job
 * rows, all rendered from the model (and the binder's counters) under the
 * model's read lock. */
#ifndef VX_OPS_H
#define VX_OPS_H

#include "vx/buf.h"
#include "vx/daemon.h"

void ops_debug_state(struct vx_daemon *d, struct buf *b);
void ops_metrics(struct vx_daemon *d, struct buf *b);
/* Rows of SPEC section 9, optionally only one namespace, queue and licence
 * (NULL: all); -1 (nothing written) when the licence is not configured. */
int ops_jobs(struct vx_daemon *d, const char *ns, const char *queue, const char *license,
	     struct buf *b);
/* The licence's figures (SPEC section 7's object); -1 when there is none. */
int ops_license(struct vx_daemon *d, const char *name, struct buf *b);

#endif
