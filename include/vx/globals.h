/* globals: the one place that holds process-wide mutable state.
 * Everything else hangs off a struct passed down explicitly (see daemon.h). */
#ifndef VX_GLOBALS_H
#define VX_GLOBALS_H

#include <stdatomic.h>

struct vx_globals {
	atomic_int log_level; /* enum vlog_level */
};

extern struct vx_globals vx_globals;

#endif
