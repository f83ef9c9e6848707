/* api: the HTTP routes (an http_handler): extender verbs (SPEC section 4),
 * operator endpoints (section 7), the dev-mode pod API (section 3) and the
 * admin API (section 9). Handlers decode, call a pipeline stage, the binder
 * or an ops reader, and encode; none holds scheduling logic. */
#ifndef VX_API_H
#define VX_API_H

#include "vx/httpd.h"

void api_handle(void *daemon, const struct http_req *req, struct http_resp *resp);

#endif
