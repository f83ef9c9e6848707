/* bench: what the benchmark's two files share. gencluster.c writes the
 * synthetic cluster; loadgen.c drives the daemon with it. */
#ifndef VX_BENCH_H
#define VX_BENCH_H

#include <stddef.h>

/* The name of node i (1-based): "node-00001". */
void bench_node_name(char *out, size_t len, int i);

/* Writes a single JSON document {"apiVersion":"v1","kind":"List","items":[...]}
 * to path: `nodes` Nodes with `gpus` A100-80GB GPUs of 10 slots each, and on
 * every node `busy` bound, Running pods that each hold one 4096 MiB, 5 %
 * slice of every GPU. Returns the bytes written, or -1 with err set. */
long bench_gen_cluster(const char *path, int nodes, int gpus, int busy, char *err, size_t errlen);

#endif
