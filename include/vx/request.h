/* request: what a pod asks for, parsed once from its manifest (SPEC section 2).
 * Per container: vGPU count, memory (MiB or percent of the card), cores; per
 * pod: GPU type/UUID selectors and policy overrides from annotations. */
#ifndef VX_REQUEST_H
#define VX_REQUEST_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define REQ_MAX_VGPUS 128 /* per container */

enum vx_policy { POLICY_DEFAULT = 0, POLICY_BINPACK, POLICY_SPREAD };

struct req_ctr {
	int nums;        /* 0: this container asks for no vGPU */
	int64_t mem_mib; /* > 0: absolute MiB per vGPU */
	int mem_pct;     /* used when mem_mib == 0: percent of the card, 1..100 */
	int cores;       /* 0..100; 100 = exclusive */
};

struct req_list {
	int n;
	char **items;
};

struct req_pod {
	int nctr; /* spec.containers, vGPU or not, so device strings line up */
	struct req_ctr *ctrs;
	bool is_vgpu;
	int total_vgpus;
	int max_nums;        /* largest per-container count: needs that many GPUs */
	int64_t max_mem_mib; /* largest absolute per-vGPU memory, 0 if none */
	int max_cores;
	struct req_list use_types, nouse_types, use_uuids, nouse_uuids;
	enum vx_policy node_policy, gpu_policy;
};

/* Returns 0, or -1 with a message such as "container c: volcano.sh/vgpu-cores
 * 150 is above 100". A pod without vGPU requests parses with is_vgpu false. */
int req_parse_pod(const cJSON *pod, struct req_pod *out, char *err, size_t errlen);
void req_free(struct req_pod *r);
/* A Kubernetes quantity read as the API server reads one of an extended
 * resource: any of its forms ("3", "2k", "1Gi", "4000m", "1.5k", "1e3"),
 * but only a whole, non-negative value that fits in 64 bits. */
enum req_quantity {
	REQ_Q_OK,
	REQ_Q_SYNTAX,   /* not a quantity at all: "abc", "12x" */
	REQ_Q_NEGATIVE, /* "-1" */
	REQ_Q_FRACTION, /* "1.5", "1500m" */
	REQ_Q_RANGE     /* above 2^63 - 1 */
};
enum req_quantity req_quantity(const char *s, int64_t *out);
/* req_quantity as 0 (OK) or -1. */
int req_parse_quantity(const char *s, int64_t *out);
/* The dev store's check of a created pod, as the API server's: every
 * volcano.sh/vgpu-* limit and request a valid, whole, non-negative
 * quantity. 0, or -1 with the API server's kind of message: Pod "x" is
 * invalid: spec.containers[0].resources.limits[volcano.sh/vgpu-memory]:
 * Invalid value: "1.5": must be an integer. */
int req_validate_pod(const cJSON *pod, char *err, size_t errlen);
enum vx_policy req_parse_policy(const char *s);
/* Per-vGPU memory this container takes on a card of card_mib. */
int64_t req_mem_on(const struct req_ctr *c, int64_t card_mib);
/* Selectors (pod annotations): may a GPU of this type / UUID be used? */
bool req_type_allowed(const struct req_pod *r, const char *type);
bool req_uuid_allowed(const struct req_pod *r, const char *uuid);

#endif
