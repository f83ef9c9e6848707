/* explain: the one explanation of why a vGPU pod waits, computed from the
 * filter's verdicts over every node and shown everywhere (/debug/state,
 * the jobs API, vgpuctl, the dev loop's log):
 *   - a rule no node can ever satisfy, with figures: "needs 1 vGPU of
 *     100000 MiB; the largest card has 24576 MiB (no node can ever fit)";
 *   - otherwise a count of nodes by reason, most common first, with the
 *     model's best figures: "0/500 nodes fit: 480 insufficient memory (best
 *     free 1800 MiB, needs 2000 MiB), 20 no free vGPU slot".
 * Takes the model's read lock itself. */
#ifndef VX_EXPLAIN_H
#define VX_EXPLAIN_H

#include "vx/cluster.h"
#include "vx/pipeline.h"
#include "vx/reasons.h"

struct explain {
	char msg[RSN_MSG_MAX];
	char nodes[RSN_MSG_MAX]; /* the count of nodes by reason (msg unless a rule holds) */
	char top[160];           /* the main category, for a count over many pods */
	bool never;              /* no node can ever run it: an invalid or impossible request */
};

/* f holds the verdicts of pod r over the n nodes of the cluster. */
void explain_pod(struct cluster *c, const struct req_pod *r, const struct pipe_filter_out *f,
		 struct explain *out);
/* An invalid request (req_parse_pod's message). */
void explain_invalid(const char *err, struct explain *out);

#endif
