/* preempt: the PostFilter stage for kube-scheduler's PriorityClass
 * preemption (SPEC section 4). kube-scheduler proposes victims per node;
 * this keeps only those whose eviction frees vGPU capacity the preemptor
 * needs there, and drops nodes where even every victim would not be enough.
 * Pure reads of the model under the read lock: scratch copies of a node's
 * GPUs are charged down, never the model. */
#include "vx/fit.h"
#include "vx/pipeline.h"
#include "vx/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* Fit test on a scratch copy of the node with the victims' slices freed. */
bool pipe_fits_without(const struct cl_node *n, const struct cl_pod *const *victims, int nv,
		       const struct req_pod *r, enum vx_policy gp)
{
	struct cl_gpu gpus[VX_MAX_GPUS];
	struct cl_node copy = *n;
	memcpy(gpus, n->gpus, (size_t)n->ngpus * sizeof *gpus);
	copy.gpus = gpus;
	for (int v = 0; v < nv; v++) {
		const struct cl_pod *p = victims[v];
		for (int i = 0; p && p->charged && i < p->nctr; i++)
			for (int j = 0; j < p->devs[i].ndev; j++) {
				const struct cl_dev *d = &p->devs[i].devs[j];
				if (d->gpu < 0)
					continue;
				gpus[d->gpu].used_slots--;
				gpus[d->gpu].used_mem -= d->mem_mib;
				gpus[d->gpu].used_cores -= d->cores;
			}
	}
	cluster_node_recompute(&copy);
	return fit_pod(&copy, r, gp, NULL, NULL, 0) == FIT_FITS;
}

static const struct cl_pod *pod_on_node(const struct cl_node *n, const char *uid)
{
	for (const struct cl_pod *p = n->pods; p; p = p->node_next)
		if (p->uid && strcmp(p->uid, uid) == 0)
			return p;
	return NULL;
}

/* Keeps the smallest useful set greedily: a victim that holds nothing here
 * goes at once; then each one whose eviction is not needed goes too. */
static void preempt_node(const struct cl_node *n, const struct req_pod *r, enum vx_policy gp,
			 struct pipe_victims *v)
{
	const struct cl_pod **vp =
	    xcalloc((size_t)v->n, sizeof *vp); // NOLINT(bugprone-sizeof-expression)
	for (int i = 0; i < v->n; i++) {
		vp[i] = pod_on_node(n, v->uids[i]);
		v->keep[i] = vp[i] && vp[i]->charged;
		if (!v->keep[i])
			vp[i] = NULL;
	}
	v->keep_node = pipe_fits_without(n, vp, v->n, r, gp);
	for (int i = v->n - 1; v->keep_node && i >= 0; i--) {
		if (!v->keep[i])
			continue;
		const struct cl_pod *saved = vp[i];
		vp[i] = NULL;
		if (pipe_fits_without(n, vp, v->n, r, gp))
			v->keep[i] = false;
		else
			vp[i] = saved;
	}
	free(vp);
}

void pipe_preempt(struct pipeline *pl, const struct req_pod *r, struct pipe_victims *v, int n)
{
	enum vx_policy gp = pipe_gpu_policy(pl, r);
	cluster_rdlock(pl->cluster);
	for (int k = 0; k < n; k++) {
		const struct cl_node *node = cluster_node(pl->cluster, v[k].node);
		if (!r->is_vgpu) {
			v[k].keep_node = true;
			for (int i = 0; i < v[k].n; i++)
				v[k].keep[i] = true;
			continue;
		}
		if (!node || !node->present || !node->usable) {
			v[k].keep_node = false;
			continue;
		}
		preempt_node(node, r, gp, &v[k]);
	}
	cluster_unlock(pl->cluster);
}
