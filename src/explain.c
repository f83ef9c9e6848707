/* explain: see explain.h. Whole-pod rules come first because a summary of
 * 500 nodes that all say "card smaller than 100000 MiB" is true but says
 * less than one sentence about the largest card. */
#include "vx/explain.h"
#include "vx/volcano.h"

#include <stdio.h>
#include <string.h>

/* Above this many MiB (1 TiB) a memory request is most likely bytes. */
#define BYTES_HINT_MIB (1LL << 20)

/* What the cluster could ever offer one vGPU: its largest healthy card and
 * its node with the most healthy cards. */
struct biggest {
	int64_t card_mib, free_mib; /* free_mib: most free memory on one GPU with a slot */
	int gpus, free_cores;
};

static void biggest(const struct cluster *c, struct biggest *b)
{
	size_t it = 0;
	const char *name;
	void *v;
	memset(b, 0, sizeof *b);
	while (hmap_next(&c->nodes, &it, &name, &v)) {
		const struct cl_node *n = v;
		if (!n->present || !n->usable)
			continue;
		for (int i = 0; i < n->ngpus; i++)
			if (n->gpus[i].healthy && n->gpus[i].mem_mib > b->card_mib)
				b->card_mib = n->gpus[i].mem_mib;
		b->gpus = n->healthy_gpus > b->gpus ? n->healthy_gpus : b->gpus;
		b->free_mib = n->max_free_mem > b->free_mib ? n->max_free_mem : b->free_mib;
		b->free_cores =
		    n->max_free_cores > b->free_cores ? n->max_free_cores : b->free_cores;
	}
}

/* " (volcano.sh/vgpu-memory is in MiB: ...)" when the request looks like bytes. */
static void bytes_hint(int64_t mib, char *out, size_t len)
{
	if (mib >= BYTES_HINT_MIB)
		snprintf(out, len,
			 " (volcano.sh/vgpu-memory is in MiB; %lld MiB looks like bytes, which "
			 "would be %lld MiB)",
			 (long long)mib, (long long)(mib >> 20));
	else
		out[0] = '\0';
}

/* The whole-pod rules; true when one of them holds. */
static bool never_rule(const struct req_pod *r, const struct biggest *b, struct explain *out)
{
	char hint[160];
	if (b->card_mib > 0 && r->max_mem_mib > b->card_mib) {
		int n = 0;
		for (int i = 0; i < r->nctr; i++)
			n = r->ctrs[i].mem_mib == r->max_mem_mib ? r->ctrs[i].nums : n;
		bytes_hint(r->max_mem_mib, hint, sizeof hint);
		snprintf(out->msg, sizeof out->msg,
			 "needs %d vGPU%s of %lld MiB%s; the largest card has %lld MiB (no node "
			 "can ever fit)",
			 n, n == 1 ? "" : "s", (long long)r->max_mem_mib, hint,
			 (long long)b->card_mib);
		snprintf(out->top, sizeof out->top, "larger than any card");
		return true;
	}
	if (b->gpus > 0 && r->max_nums > b->gpus) {
		snprintf(out->msg, sizeof out->msg,
			 "needs %d vGPUs in one container, each on its own GPU; the largest node "
			 "has %d GPUs (no node can ever fit)",
			 r->max_nums, b->gpus);
		snprintf(out->top, sizeof out->top, "more GPUs than any node has");
		return true;
	}
	return false;
}

/* The model's best figures next to the reasons they explain. */
static void figures(struct rsn_tally *t, const struct req_pod *r, const struct biggest *b)
{
	char fig[128];
	if (r->max_mem_mib > 0)
		snprintf(fig, sizeof fig, "best free %lld MiB, needs %lld MiB",
			 (long long)b->free_mib, (long long)r->max_mem_mib);
	else
		snprintf(fig, sizeof fig, "best free %lld MiB", (long long)b->free_mib);
	rsn_figure(t, "insufficient memory", fig);
	snprintf(fig, sizeof fig, "best free %d%%, needs %d%%", b->free_cores, r->max_cores);
	rsn_figure(t, "insufficient cores", fig);
}

void explain_pod(struct cluster *c, const struct req_pod *r, const struct pipe_filter_out *f,
		 struct explain *out)
{
	struct biggest b;
	struct rsn_tally t;
	char prefix[64];
	int fit = 0, unresolvable = 0;
	memset(out, 0, sizeof *out);
	cluster_rdlock(c);
	biggest(c, &b);
	cluster_unlock(c);
	rsn_init(&t);
	for (int i = 0; i < f->n; i++) {
		fit += f->verdict[i] == PIPE_PASS;
		unresolvable += f->verdict[i] == PIPE_UNRESOLVABLE;
		if (f->verdict[i] != PIPE_PASS)
			rsn_add(&t, f->reasons.data + f->reason[i]);
	}
	out->never = f->n > 0 && unresolvable == f->n;
	figures(&t, r, &b);
	snprintf(prefix, sizeof prefix, "%d/%d nodes fit%s", fit, f->n, t.n ? ": " : "");
	rsn_render(&t, prefix, out->nodes, sizeof out->nodes - 32); /* room for the suffix */
	if (out->never)
		strcat(out->nodes, " (no node can ever fit)");
	if (never_rule(r, &b, out)) {
		out->never = true;
	} else {
		snprintf(out->msg, sizeof out->msg, "%s", out->nodes);
		snprintf(out->top, sizeof out->top, "%s", rsn_top(&t) ? rsn_top(&t) : "no nodes");
	}
	rsn_free(&t);
}

void explain_invalid(const char *err, struct explain *out)
{
	memset(out, 0, sizeof *out);
	snprintf(out->msg, sizeof out->msg, "invalid vGPU request: %s", err);
	snprintf(out->nodes, sizeof out->nodes, "%s", out->msg);
	snprintf(out->top, sizeof out->top, "invalid vGPU request");
	out->never = true;
}
