/* codec: the Volcano vGPU wire formats.
 *   node register: "UUID,Count,DevmemMiB,Type,Health,Mode:" per GPU, concatenated
 *   pod devices:   per vGPU "UUID,NVIDIA,MemMiB,Cores:"; containers joined by ';'
 * Decoders allocate; encoders append to a buf. Both are pure functions. */
#ifndef VX_CODEC_H
#define VX_CODEC_H

#include "vx/buf.h"

#include <stdbool.h>
#include <stdint.h>

#define VX_MAX_GPUS 128 /* per node; a longer register annotation is rejected */
/* A GPU's or a slice's memory, MiB (1 EiB): far beyond any card, and small
 * enough that percentages of it and sums over a whole cluster of such cards
 * stay within int64_t. Larger figures are refused as malformed. */
#define VX_MAX_MEM_MIB ((int64_t)1 << 40)

struct codec_gpu {
	char *uuid;
	char *type;
	int slots;
	int64_t mem_mib;
	bool healthy;
	char mode[16];
};

struct codec_dev {
	char *uuid;
	int64_t mem_mib;
	int cores;
};

struct codec_ctr {
	int ndev;
	struct codec_dev *devs;
};

struct codec_pod_devs {
	int nctr;
	struct codec_ctr *ctrs;
};

/* Returns the GPU count (>= 0) or -1 with a reason in err. */
int codec_decode_register(const char *s, struct codec_gpu **out, char *err, size_t errlen);
void codec_free_gpus(struct codec_gpu *g, int n);
void codec_encode_register(struct buf *b, const struct codec_gpu *g, int n);

int codec_decode_pod_devs(const char *s, struct codec_pod_devs *out, char *err, size_t errlen);
void codec_free_pod_devs(struct codec_pod_devs *p);
void codec_copy_pod_devs(struct codec_pod_devs *dst, const struct codec_pod_devs *src);
void codec_encode_pod_devs(struct buf *b, const struct codec_pod_devs *p);

#endif
