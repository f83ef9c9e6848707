/* codec: parsers and printers for the node register and pod device strings
 * that the Volcano vGPU device plugin reads and writes (SPEC section 2).
 * Parsing is strict about numbers and field counts because a silently
 * misread register would over-commit a GPU; a bad value is reported, and the
 * caller decides to skip the node or the pod. */
#include "vx/codec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *dupn(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p)
		abort();
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Parses a whole field as a non-negative decimal integer. */
static int parse_i64(const char *s, size_t n, int64_t max, int64_t *out)
{
	if (n == 0 || n > 19)
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (max - (s[i] - '0')) / 10)
			return -1; /* not a digit, or over max (checked before it can overflow) */
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Splits [s, s+n) at sep into at most max fields; returns the field count. */
static int split(const char *s, size_t n, char sep, const char **f, size_t *fl, int max)
{
	int k = 0;
	const char *start = s, *end = s + n;
	for (const char *p = s; p <= end; p++) {
		if (p == end || *p == sep) {
			if (k == max)
				return max + 1;
			f[k] = start;
			fl[k++] = (size_t)(p - start);
			start = p + 1;
		}
	}
	return k;
}

static int decode_gpu(const char *seg, size_t n, struct codec_gpu *g, char *err, size_t errlen)
{
	const char *f[8];
	size_t fl[8];
	int k = split(seg, n, ',', f, fl, 7);
	int64_t slots, mem;
	if (k < 6 || k > 7) {
		snprintf(err, errlen, "GPU entry %.*s: want 6 fields, got %d",
			 (int)(n > 60 ? 60 : n), seg, k);
		return -1;
	}
	if (fl[0] == 0) {
		snprintf(err, errlen, "GPU entry with an empty UUID");
		return -1;
	}
	if (parse_i64(f[1], fl[1], 100000, &slots) ||
	    parse_i64(f[2], fl[2], VX_MAX_MEM_MIB, &mem)) {
		snprintf(err, errlen, "GPU %.*s: count and memory must be whole numbers",
			 (int)fl[0], f[0]);
		return -1;
	}
	if (fl[4] == 4 && strncasecmp(f[4], "true", 4) == 0)
		g->healthy = true;
	else if (fl[4] == 5 && strncasecmp(f[4], "false", 5) == 0)
		g->healthy = false;
	else {
		snprintf(err, errlen, "GPU %.*s: health must be true or false", (int)fl[0], f[0]);
		return -1;
	}
	g->uuid = dupn(f[0], fl[0]);
	g->type = dupn(f[3], fl[3]);
	g->slots = (int)slots;
	g->mem_mib = mem;
	snprintf(g->mode, sizeof g->mode, "%.*s", (int)(fl[5] < 15 ? fl[5] : 15), f[5]);
	return 0;
}

int codec_decode_register(const char *s, struct codec_gpu **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!s || !strchr(s, ':')) {
		snprintf(err, errlen, "register annotation has no ':'-terminated GPU entry");
		return -1;
	}
	struct codec_gpu *g = calloc(VX_MAX_GPUS, sizeof *g);
	if (!g)
		abort();
	int n = 0;
	for (const char *p = s; *p;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		/* Volcano ignores segments without a comma (e.g. trailing text). */
		if (memchr(p, ',', len)) {
			if (n == VX_MAX_GPUS) {
				snprintf(err, errlen, "more than %d GPUs", VX_MAX_GPUS);
				codec_free_gpus(g, n);
				return -1;
			}
			if (decode_gpu(p, len, &g[n], err, errlen)) {
				codec_free_gpus(g, n);
				return -1;
			}
			n++;
		}
		p += len + (colon ? 1 : 0);
	}
	*out = g;
	return n;
}

void codec_free_gpus(struct codec_gpu *g, int n)
{
	for (int i = 0; g && i < n; i++) {
		free(g[i].uuid);
		free(g[i].type);
	}
	free(g);
}

void codec_encode_register(struct buf *b, const struct codec_gpu *g, int n)
{
	for (int i = 0; i < n; i++)
		buf_printf(b, "%s,%d,%lld,%s,%s,%s:", g[i].uuid, g[i].slots,
			   (long long)g[i].mem_mib, g[i].type, g[i].healthy ? "true" : "false",
			   g[i].mode);
}

static int decode_dev(const char *seg, size_t n, struct codec_dev *d, char *err, size_t errlen)
{
	const char *f[8];
	size_t fl[8];
	int k = split(seg, n, ',', f, fl, 7);
	int64_t mem, cores;
	if (k < 4 || k > 7 || fl[0] == 0) {
		snprintf(err, errlen, "device entry %.*s: want UUID,Type,MemMiB,Cores",
			 (int)(n > 60 ? 60 : n), seg);
		return -1;
	}
	if (parse_i64(f[2], fl[2], VX_MAX_MEM_MIB, &mem) || parse_i64(f[3], fl[3], 100, &cores)) {
		snprintf(err, errlen, "device %.*s: memory must be a whole number, cores 0..100",
			 (int)fl[0], f[0]);
		return -1;
	}
	d->uuid = dupn(f[0], fl[0]);
	d->mem_mib = mem;
	d->cores = (int)cores;
	return 0;
}

static int decode_ctr(const char *s, size_t n, struct codec_ctr *c, char *err, size_t errlen)
{
	int cap = 0;
	for (size_t i = 0; i < n; i++)
		cap += s[i] == ':';
	c->devs = calloc(cap ? (size_t)cap : 1, sizeof *c->devs);
	if (!c->devs)
		abort();
	c->ndev = 0;
	const char *p = s, *end = s + n;
	while (p < end) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		if (!colon) {
			snprintf(err, errlen, "device entry not terminated by ':'");
			return -1;
		}
		if (decode_dev(p, (size_t)(colon - p), &c->devs[c->ndev], err, errlen))
			return -1;
		c->ndev++;
		p = colon + 1;
	}
	return 0;
}

int codec_decode_pod_devs(const char *s, struct codec_pod_devs *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!s)
		s = "";
	int nctr = 1;
	for (const char *p = s; *p; p++)
		nctr += *p == ';';
	out->ctrs = calloc((size_t)nctr, sizeof *out->ctrs);
	if (!out->ctrs)
		abort();
	out->nctr = nctr;
	const char *p = s;
	for (int i = 0; i < nctr; i++) {
		const char *semi = strchr(p, ';');
		size_t len = semi ? (size_t)(semi - p) : strlen(p);
		if (decode_ctr(p, len, &out->ctrs[i], err, errlen)) {
			codec_free_pod_devs(out);
			return -1;
		}
		p += len + (semi ? 1 : 0);
	}
	return 0;
}

void codec_free_pod_devs(struct codec_pod_devs *p)
{
	for (int i = 0; p->ctrs && i < p->nctr; i++) {
		for (int j = 0; j < p->ctrs[i].ndev; j++)
			free(p->ctrs[i].devs[j].uuid);
		free(p->ctrs[i].devs);
	}
	free(p->ctrs);
	memset(p, 0, sizeof *p);
}

void codec_copy_pod_devs(struct codec_pod_devs *dst, const struct codec_pod_devs *src)
{
	dst->nctr = src->nctr;
	dst->ctrs = calloc(src->nctr ? (size_t)src->nctr : 1, sizeof *dst->ctrs);
	if (!dst->ctrs)
		abort();
	for (int i = 0; i < src->nctr; i++) {
		const struct codec_ctr *s = &src->ctrs[i];
		dst->ctrs[i].ndev = s->ndev;
		dst->ctrs[i].devs = calloc(s->ndev ? (size_t)s->ndev : 1, sizeof(struct codec_dev));
		if (!dst->ctrs[i].devs)
			abort();
		for (int j = 0; j < s->ndev; j++) {
			dst->ctrs[i].devs[j] = s->devs[j];
			dst->ctrs[i].devs[j].uuid = dupn(s->devs[j].uuid, strlen(s->devs[j].uuid));
		}
	}
}

void codec_encode_pod_devs(struct buf *b, const struct codec_pod_devs *p)
{
	buf_reserve(b, 0);
	for (int i = 0; i < p->nctr; i++) {
		if (i)
			buf_putc(b, ';');
		for (int j = 0; j < p->ctrs[i].ndev; j++) {
			const struct codec_dev *d = &p->ctrs[i].devs[j];
			buf_printf(b, "%s,NVIDIA,%lld,%d:", d->uuid, (long long)d->mem_mib,
				   d->cores);
		}
	}
}
