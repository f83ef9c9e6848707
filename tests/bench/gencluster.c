/* gencluster: the benchmark's synthetic cluster file (see bench.h). Owns the
 * shape of the Node and busy Pod manifests the dev daemon loads: the Volcano
 * register annotation on each node, and on each busy pod the bind-time
 * annotations (vgpu-node, vgpu-ids-new, bind-phase success) the daemon
 * rebuilds its allocations from. */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_MEM_MIB 4096
#define BUSY_CORES 5

void bench_node_name(char *out, size_t len, int i)
{
	snprintf(out, len, "node-%05d", i);
}

static void put_node(FILE *f, const char *name, int gpus)
{
	fprintf(f,
		"{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\","
		"\"labels\":{\"kubernetes.io/hostname\":\"%s\",\"nvidia.com/gpu.present\":"
		"\"true\"},\"annotations\":{\"volcano.sh/node-vgpu-register\":\"",
		name, name);
	for (int g = 0; g < gpus; g++)
		fprintf(f, "GPU-%s-%d,10,81920,NVIDIA-A100-80GB,true,hami-core:", name, g);
	fprintf(f, "\"}},\"status\":{\"allocatable\":{\"volcano.sh/vgpu-number\":\"%d\"}}}",
		gpus * 10);
}

static void put_busy_pod(FILE *f, const char *node, int node_idx, int k, int gpus)
{
	fprintf(f,
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"busy-%s-%d\","
		"\"namespace\":\"prod\",\"uid\":\"b0000000-0000-4000-8000-%06d%06d\","
		"\"creationTimestamp\":\"2026-01-01T00:00:00Z\",\"annotations\":{"
		"\"volcano.sh/vgpu-node\":\"%s\",\"volcano.sh/bind-phase\":\"success\","
		"\"volcano.sh/vgpu-ids-new\":\"",
		node, k, node_idx, k, node);
	for (int g = 0; g < gpus; g++)
		fprintf(f, "GPU-%s-%d,NVIDIA,%d,%d:", node, g, BUSY_MEM_MIB, BUSY_CORES);
	fprintf(f,
		"\"}},\"spec\":{\"nodeName\":\"%s\",\"schedulerName\":\"default-scheduler\","
		"\"containers\":[{\"name\":\"train\",\"image\":\"example.invalid/train:1\","
		"\"resources\":{\"limits\":{\"volcano.sh/vgpu-number\":\"%d\","
		"\"volcano.sh/vgpu-memory\":\"%d\",\"volcano.sh/vgpu-cores\":\"%d\"}}}]},"
		"\"status\":{\"phase\":\"Running\"}}",
		node, gpus, BUSY_MEM_MIB, BUSY_CORES);
}

long bench_gen_cluster(const char *path, int nodes, int gpus, int busy, char *err, size_t errlen)
{
	char name[32];
	FILE *f = fopen(path, "w");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	/* One document per object, as a cluster file is a multi-document stream:
	 * the reader then holds one small object at a time, not one huge List. */
	for (int i = 1; i <= nodes; i++) {
		bench_node_name(name, sizeof name, i);
		fputs(i > 1 ? "\n---\n" : "", f);
		put_node(f, name, gpus);
	}
	for (int i = 1; i <= nodes; i++) {
		bench_node_name(name, sizeof name, i);
		for (int k = 0; k < busy; k++) {
			fputs("\n---\n", f);
			put_busy_pod(f, name, i, k, gpus);
		}
	}
	fputs("\n", f);
	long size = ftell(f);
	int bad = ferror(f);
	if (fclose(f) || bad || size < 0) {
		snprintf(err, errlen, "%s: write failed", path);
		return -1;
	}
	return size;
}
