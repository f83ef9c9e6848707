/* fit: the per-GPU rules, the GPU order of each policy, and node scoring.
 * The walk works on a scratch copy of GPU usage so the containers of one pod
 * see each other's tentative use without touching the model. */
#include "vx/fit.h"
#include "vx/volcano.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct usage {
	int64_t mem;
	int slots;
	int cores;
};

static const char *const reason_text[FIT_NREASONS] = {"fits",
						      "unhealthy",
						      "GPU type mismatch",
						      "GPU UUID mismatch",
						      "card too small",
						      "no free vGPU slot",
						      "insufficient memory",
						      "insufficient cores",
						      "in use (exclusive request)",
						      "compute fully used"};

bool fit_quick_reject(const struct cl_node *n, const struct req_pod *r)
{
	if (!n->present || !n->usable)
		return true;
	if (r->max_nums > n->healthy_gpus || r->total_vgpus > n->free_slots)
		return true;
	if (r->max_mem_mib > n->max_free_mem || r->max_cores > n->max_free_cores)
		return true;
	return r->max_cores == VOLCANO_CORES_PER_GPU && n->idle_gpus == 0;
}

bool fit_quick_accept(const struct cl_node *n, const struct req_pod *r)
{
	if (r->total_vgpus != 1 || r->max_mem_mib == 0 || r->max_cores == VOLCANO_CORES_PER_GPU ||
	    r->use_types.n || r->nouse_types.n || r->use_uuids.n || r->nouse_uuids.n ||
	    !n->present || !n->usable)
		return false;
	int64_t mem = r->max_mem_mib;
	/* Cores 0 must not land on a card whose compute is fully used. */
	int cores = r->max_cores > 0 ? r->max_cores : 1;
	return (n->max_free_mem >= mem && n->cores_at_max_mem >= cores) ||
	       (n->max_free_cores >= cores && n->mem_at_max_cores >= mem);
}

static enum fit_reason check_gpu(const struct cl_gpu *g, const struct usage *u,
				 const struct req_pod *r, const struct req_ctr *c)
{
	if (!g->healthy)
		return FIT_UNHEALTHY;
	if (!req_type_allowed(r, g->type))
		return FIT_TYPE;
	if (!req_uuid_allowed(r, g->uuid))
		return FIT_UUID;
	if (g->mem_mib < req_mem_on(c, g->mem_mib))
		return FIT_TOO_SMALL;
	if (u->slots >= g->slots)
		return FIT_SLOTS;
	if (g->mem_mib - u->mem < req_mem_on(c, g->mem_mib))
		return FIT_MEMORY;
	if (u->cores + c->cores > VOLCANO_CORES_PER_GPU)
		return FIT_CORES;
	if (c->cores == VOLCANO_CORES_PER_GPU && u->slots > 0)
		return FIT_EXCLUSIVE;
	if (u->cores >= VOLCANO_CORES_PER_GPU && c->cores == 0)
		return FIT_CORES_FULL;
	return FIT_OK;
}

/* binpack: most memory used first; spread: fewest slots used first; ties by
 * index so the choice is deterministic. Insertion sort: a node has few GPUs. */
static void order_gpus(int n, const struct usage *u, enum vx_policy pol, int *ord)
{
	for (int i = 0; i < n; i++) {
		int j = i;
		while (j > 0) {
			const struct usage *a = &u[ord[j - 1]], *b = &u[i];
			bool later = pol == POLICY_BINPACK ? a->mem < b->mem : a->slots > b->slots;
			if (!later)
				break;
			ord[j] = ord[j - 1];
			j--;
		}
		ord[j] = i;
	}
}

static void describe(char *why, size_t len, const struct req_pod *r, int ci, const int *counts,
		     int ngpus, int picked, int want)
{
	struct buf b = BUF_INIT;
	if (r->nctr > 1)
		buf_printf(&b, "container %d: ", ci + 1);
	if (picked > 0)
		buf_printf(&b, "%d/%d GPUs fit, %d needed; ", picked, ngpus, want);
	const char *sep = "";
	for (int k = 1; k < FIT_NREASONS; k++) {
		if (!counts[k])
			continue;
		buf_printf(&b, "%s%d/%d GPUs: ", sep, counts[k], ngpus);
		/* The same text on every node for one pod, so kube-scheduler's
		 * count of nodes per reason groups them. */
		if (k == FIT_TOO_SMALL)
			buf_printf(&b, "card smaller than %lld MiB",
				   (long long)r->ctrs[ci].mem_mib);
		else
			buf_puts(&b, reason_text[k]);
		sep = ", ";
	}
	snprintf(why, len, "%s", b.data ? b.data : "");
	buf_free(&b);
}

static void record(struct codec_ctr *oc, const struct cl_gpu *g, int64_t mem, int cores)
{
	struct codec_dev *d = &oc->devs[oc->ndev++];
	d->uuid = strdup(g->uuid);
	if (!d->uuid)
		abort();
	d->mem_mib = mem;
	d->cores = cores;
}

static void out_init(struct codec_pod_devs *out, const struct req_pod *r)
{
	out->nctr = r->nctr;
	out->ctrs = calloc(r->nctr ? (size_t)r->nctr : 1, sizeof *out->ctrs);
	if (!out->ctrs)
		abort();
	for (int i = 0; i < r->nctr; i++) {
		out->ctrs[i].devs = calloc((size_t)r->ctrs[i].nums + 1, sizeof(struct codec_dev));
		if (!out->ctrs[i].devs)
			abort();
	}
}

/* Capacity can be freed by evictions; health, type, UUID and a card's
 * size cannot: the container can never run here when the cards it fits
 * now plus those short only of free capacity are fewer than it needs. */
static enum fit_verdict classify(const int *counts, int picked, int want)
{
	int possible = picked;
	for (int k = FIT_SLOTS; k < FIT_NREASONS; k++)
		possible += counts[k];
	return possible < want ? FIT_NEVER : FIT_NO_CAPACITY;
}

enum fit_verdict fit_pod(const struct cl_node *n, const struct req_pod *r,
			 enum vx_policy gpu_policy, struct codec_pod_devs *out, char *why,
			 size_t whylen)
{
	struct usage u[VX_MAX_GPUS];
	int ord[VX_MAX_GPUS];
	if (!n->present || !n->usable) {
		if (why)
			snprintf(why, whylen, "%s", n->reason[0] ? n->reason : "no usable GPUs");
		return FIT_NEVER;
	}
	if (r->max_nums > n->ngpus) {
		if (why)
			snprintf(why, whylen, "a container needs %d GPUs, node has %d", r->max_nums,
				 n->ngpus);
		return FIT_NEVER;
	}
	for (int i = 0; i < n->ngpus; i++)
		u[i] = (struct usage){.mem = n->gpus[i].used_mem,
				      .slots = n->gpus[i].used_slots,
				      .cores = n->gpus[i].used_cores};
	if (out)
		out_init(out, r);
	for (int ci = 0; ci < r->nctr; ci++) {
		const struct req_ctr *c = &r->ctrs[ci];
		int counts[FIT_NREASONS] = {0}, picked = 0;
		if (!c->nums)
			continue;
		order_gpus(n->ngpus, u, gpu_policy, ord);
		for (int k = 0; k < n->ngpus && picked < c->nums; k++) {
			const struct cl_gpu *g = &n->gpus[ord[k]];
			enum fit_reason why_not = check_gpu(g, &u[ord[k]], r, c);
			if (why_not != FIT_OK) {
				counts[why_not]++;
				continue;
			}
			int64_t mem = req_mem_on(c, g->mem_mib);
			u[ord[k]].slots++;
			u[ord[k]].mem += mem;
			u[ord[k]].cores += c->cores;
			if (out)
				record(&out->ctrs[ci], g, mem, c->cores);
			picked++;
		}
		if (picked < c->nums) {
			if (why)
				describe(why, whylen, r, ci, counts, n->ngpus, picked, c->nums);
			if (out)
				codec_free_pod_devs(out);
			return classify(counts, picked, c->nums);
		}
	}
	return FIT_FITS;
}

double fit_node_score(const struct cl_node *n, enum vx_policy node_policy)
{
	double u = cluster_node_usage(n);
	return node_policy == POLICY_SPREAD ? 3.0 - u : u;
}
