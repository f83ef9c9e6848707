/* fit: does a pod's request fit on a node, and on which GPUs (SPEC section 2).
 * Pure functions over the cluster model: the caller holds the model lock.
 * Filter asks "does it fit and why not"; bind asks "which GPUs"; both run the
 * same greedy walk in the same policy order, so they never disagree. */
#ifndef VX_FIT_H
#define VX_FIT_H

#include "vx/cluster.h"

enum fit_reason {
	FIT_OK,
	FIT_UNHEALTHY,
	FIT_TYPE,
	FIT_UUID,
	FIT_TOO_SMALL, /* the card's whole memory is below the request */
	FIT_SLOTS,
	FIT_MEMORY,
	FIT_CORES,
	FIT_EXCLUSIVE,
	FIT_CORES_FULL,
	FIT_NREASONS
};

/* O(1) test on the node's aggregates: true when the pod cannot fit. */
bool fit_quick_reject(const struct cl_node *n, const struct req_pod *r);
/* O(1) test for the common request (one vGPU of fixed memory, no
 * selectors, not exclusive): true when it certainly fits. */
bool fit_quick_accept(const struct cl_node *n, const struct req_pod *r);
enum fit_verdict {
	FIT_FITS,        /* the pod fits now */
	FIT_NO_CAPACITY, /* it would fit if slices were freed */
	FIT_NEVER        /* no eviction can help: no GPUs, wrong type, cards too few or too small */
};

/* Full test. out (optional) receives the chosen devices per container;
 * why (optional) receives a reason like "2/2 GPUs: insufficient memory". */
enum fit_verdict fit_pod(const struct cl_node *n, const struct req_pod *r,
			 enum vx_policy gpu_policy, struct codec_pod_devs *out, char *why,
			 size_t whylen);
/* Higher is better for the given node policy. */
double fit_node_score(const struct cl_node *n, enum vx_policy node_policy);

#endif
