/* admin: the gate in front of the admin API, /debug/state and the dashboard
 * (SPEC section 9): which permission on pods each route needs, asking auth,
 * answering 401/403/503, and recording who performed an action on a pod
 * (annotations, an Event in cluster mode, the log). */
#ifndef VX_ADMIN_H
#define VX_ADMIN_H

#include "vx/auth.h"
#include "vx/daemon.h"
#include "vx/httpd.h"

/* Annotations that name the last admin action on a pod and who did it. */
#define ADMIN_ANN_BY "vgpu-extender.io/last-action-by"
#define ADMIN_ANN_ACTION "vgpu-extender.io/last-action"

/* true: go on serving (who->user says who asked); false: resp holds the
 * refusal. Open routes (extender verbs, probes, /metrics) always pass. */
bool admin_gate(struct vx_daemon *d, const struct http_req *req, struct http_resp *resp,
		struct auth_answer *who);
/* Records that user did action ("priority 7", "use-credits") on the pod: the
 * two annotations above and, in cluster mode, an Event. Returns 0, or -1
 * with e set when the annotations could not be written. */
int admin_record(struct vx_daemon *d, const char *ns, const char *name, const char *user,
		 const char *action, struct store_err *e);
/* Before a delete: the log and, in cluster mode, an Event name who did it
 * (the pod and its annotations are about to go). */
void admin_record_delete(struct vx_daemon *d, const char *ns, const char *name, const char *user);

#endif
