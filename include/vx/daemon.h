/* daemon: the one struct that ties the subsystems together. Everything the
 * HTTP handlers need hangs off it; there is no other process state besides
 * globals.h. */
#ifndef VX_DAEMON_H
#define VX_DAEMON_H

#include "vx/clock.h"
#include "vx/cluster.h"
#include "vx/config.h"
#include "vx/httpd.h"
#include "vx/metrics.h"
#include "vx/pipeline.h"
#include "vx/store.h"

#include <stdatomic.h>

struct devloop;

struct vx_daemon {
	struct vx_config cfg;
	struct vx_clock clock;
	struct cluster cluster;
	struct store *store;
	struct pipeline pipe;
	struct score_cache scores;
	struct metrics metrics;
	struct devloop *devloop;
	struct httpd *http;
	atomic_int ready;
};

/* api.c: the HTTP router (an http_handler). */
void api_handle(void *daemon, const struct http_req *req, struct http_resp *resp);

/* ops.c: readers of the model for operators. */
void ops_debug_state(struct vx_daemon *d, struct buf *b);
void ops_metrics(struct vx_daemon *d, struct buf *b);
/* Rows of SPEC section 9, optionally only one namespace (NULL: all). */
void ops_jobs(struct vx_daemon *d, const char *ns, const char *queue, struct buf *b);

#endif
