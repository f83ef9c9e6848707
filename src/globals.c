/* globals: storage for the process-wide settings declared in globals.h. */
#include "vx/globals.h"
#include "vx/log.h"

struct vx_globals vx_globals = {.log_level = VLOG_INFO};
