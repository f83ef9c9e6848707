/* daemon: the one struct that ties the subsystems together, assembled and
 * torn down by daemon.c. Everything the HTTP handlers need hangs off it;
 * there is no other process state besides globals.h. */
#ifndef VX_DAEMON_H
#define VX_DAEMON_H

#include "vx/binder.h"
#include "vx/checkpoint.h"
#include "vx/clock.h"
#include "vx/cluster.h"
#include "vx/config.h"
#include "vx/httpd.h"
#include "vx/metrics.h"
#include "vx/pipeline.h"
#include "vx/store.h"

#include <stdatomic.h>

struct devloop;
struct reclaimer;
struct auth;

struct vx_daemon {
	struct vx_config cfg;
	struct vx_clock clock;
	struct cluster cluster;
	struct store *store;
	struct pipeline pipe;
	struct score_cache scores;
	struct nominations noms;
	struct metrics metrics;
	struct binder *binder;
	struct devloop *devloop;
	struct reclaimer *reclaimer;
	struct httpd *http;
	struct auth *auth; /* who may use the admin API and the dashboard */
	struct ckpt ckpt;  /* the licences' usage through restarts */
	atomic_int ready;
};

/* Exit statuses: a file or setting that cannot be used is a configuration
 * error (2, like a bad flag); a failure of the running system is 1. */
enum { DAEMON_EXIT_RUNTIME = 1, DAEMON_EXIT_CONFIG = 2 };

/* Opens the store, starts every subsystem and serves until SIGINT or
 * SIGTERM; returns 0 or a DAEMON_EXIT_* status with err set. */
int daemon_run(struct vx_daemon *d, char *err, size_t errlen);
/* Stops and frees everything daemon_run started, in reverse order. */
void daemon_shutdown(struct vx_daemon *d);

#endif
