/* devstart: the dev-mode start-up benchmark (`make bench`, after loadgen).
 * Owns the YAML cluster file a new user would hand to `--dev --cluster`:
 * 5,000 Nodes x 8 GPUs and 40,000 bound, Running Pods, one document per
 * object, printed the way `kubectl get -o yaml` prints them (keys sorted,
 * status, tolerations, the service-account volume and all). It times exec
 * of the daemon to the first /readyz 200 over several runs, reads the
 * daemon's memory at that moment, and writes the figures as JSON and as a
 * line against the target (ready in <= 2 s).
 *
 * Exit status: 0 when every run became ready (target met or not), 2 for
 * usage errors or a daemon that did not start. */
#include "bench.h"
#include "../integration/harness.h"
#include "vx/buf.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define TARGET_MS 2000.0
#define MAX_RUNS 20
#define STARTUP_TIMEOUT_S 120
#define POD_MEM_MIB 8192
#define POD_CORES 25

struct opts {
	const char *daemon, *out, *keep;
	int nodes, gpus, per_node, runs;
};

/* The generator ---------------------------------------------------------- */

/* Deterministic hex digits, so the file is the same on every run. */
static void hex(char *out, int n, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
	for (int i = 0; i < n; i++) {
		x ^= x >> 31;
		x *= 0xBF58476D1CE4E5B9ULL;
		x ^= x >> 29;
		out[i] = "0123456789abcdef"[x & 15];
	}
	out[n] = '\0';
}

static void put_node(FILE *f, const char *name, int idx, int gpus)
{
	char uid[40];
	hex(uid, 32, (uint64_t)idx);
	fprintf(f, "apiVersion: v1\nkind: Node\nmetadata:\n  annotations:\n"
		   "    node.alpha.kubernetes.io/ttl: \"0\"\n"
		   "    volcano.sh/node-handshake: Reported 2026-01-01 00:00:00\n"
		   "    volcano.sh/node-vgpu-register: \"");
	for (int g = 0; g < gpus; g++)
		fprintf(f, "GPU-%s-%d,10,81920,NVIDIA-A100-SXM4-80GB,true,hami-core:", name, g);
	fprintf(f,
		"\"\n    volumes.kubernetes.io/controller-managed-attach-detach: \"true\"\n"
		"  creationTimestamp: \"2025-12-01T08:00:00Z\"\n  labels:\n"
		"    beta.kubernetes.io/arch: amd64\n    beta.kubernetes.io/os: linux\n"
		"    gpu: \"on\"\n    kubernetes.io/arch: amd64\n"
		"    kubernetes.io/hostname: %s\n    kubernetes.io/os: linux\n"
		"    nvidia.com/gpu.present: \"true\"\n  name: %s\n"
		"  resourceVersion: \"%d\"\n  uid: %.8s-%.4s-4%.3s-8%.3s-%.12s\n"
		"spec:\n  podCIDR: 10.%d.%d.0/24\n  podCIDRs:\n  - 10.%d.%d.0/24\n",
		name, name, 1000 + idx, uid, uid + 8, uid + 12, uid + 15, uid + 18, 64 + idx / 256,
		idx % 256, 64 + idx / 256, idx % 256);
	fprintf(f,
		"status:\n  addresses:\n  - address: 172.16.%d.%d\n    type: InternalIP\n"
		"  - address: %s\n    type: Hostname\n",
		idx / 256, idx % 256, name);
	static const char *const rk[] = {"allocatable", "capacity"};
	for (int i = 0; i < 2; i++)
		fprintf(f,
			"  %s:\n    cpu: %s\n    ephemeral-storage: \"%s\"\n"
			"    hugepages-1Gi: \"0\"\n    hugepages-2Mi: \"0\"\n    memory: %s\n"
			"    pods: \"110\"\n    volcano.sh/vgpu-number: \"%d\"\n",
			rk[i], i ? "128" : "127900m", i ? "1873827012Ki" : "1726925253120",
			i ? "1056492228Ki" : "1056389828Ki", gpus * 10);
	static const char *const conds[][3] = {
	    {"False", "KubeletHasSufficientMemory", "MemoryPressure"},
	    {"False", "KubeletHasNoDiskPressure", "DiskPressure"},
	    {"False", "KubeletHasSufficientPID", "PIDPressure"},
	    {"True", "KubeletReady", "Ready"}};
	fprintf(f, "  conditions:\n");
	for (int i = 0; i < 4; i++)
		fprintf(f,
			"  - lastHeartbeatTime: \"2026-01-01T00:00:00Z\"\n"
			"    lastTransitionTime: \"2025-12-01T08:00:30Z\"\n"
			"    message: kubelet is posting status\n    reason: %s\n"
			"    status: \"%s\"\n    type: %s\n",
			conds[i][1], conds[i][0], conds[i][2]);
	fprintf(f,
		"  daemonEndpoints:\n    kubeletEndpoint:\n      Port: 10250\n"
		"  nodeInfo:\n    architecture: amd64\n    bootID: %.8s-%.4s-%.4s-%.4s-%.12s\n"
		"    containerRuntimeVersion: containerd://1.7.24\n"
		"    kernelVersion: 6.1.0-28-amd64\n    kubeProxyVersion: v1.32.1\n"
		"    kubeletVersion: v1.32.1\n    machineID: %s\n"
		"    operatingSystem: linux\n    osImage: Debian GNU/Linux 12 (bookworm)\n"
		"    systemUUID: %.8s-%.4s-%.4s-%.4s-%.12s\n",
		uid, uid + 4, uid + 8, uid + 12, uid + 16, uid, uid + 1, uid + 5, uid + 9, uid + 13,
		uid + 17);
}

/* Pod k of a node holds one vGPU on GPU k, every fourth pod two (on GPUs k
 * and k+1): the devices written at bind, as the device plugin reads them. */
static void put_pod_meta(FILE *f, const char *node, int idx, int k, int gpus, const char *ids)
{
	char uid[40];
	hex(uid, 32, (uint64_t)idx * 131 + (uint64_t)k + 1000003);
	fprintf(f,
		"apiVersion: v1\nkind: Pod\nmetadata:\n  annotations:\n"
		"    volcano.sh/bind-phase: success\n    volcano.sh/bind-time: \"1767225600\"\n"
		"    volcano.sh/devices-to-allocate: \"%s\"\n    volcano.sh/vgpu-ids-new: \"%s\"\n"
		"    volcano.sh/vgpu-node: %s\n    volcano.sh/vgpu-time: \"1767225600\"\n"
		"  creationTimestamp: \"2026-01-01T00:00:00Z\"\n  labels:\n"
		"    app: train-%d\n    vgpu-extender.io/queue: team-%02d\n"
		"  name: train-%s-%d\n  namespace: team-%02d\n  resourceVersion: \"%d\"\n"
		"  uid: %.8s-%.4s-4%.3s-8%.3s-%.12s\n",
		ids, ids, node, k, idx % 20, node, k, idx % 20, 100000 + idx * gpus + k, uid,
		uid + 8, uid + 12, uid + 15, uid + 18);
}

static void put_pod_spec(FILE *f, const char *node, int k, int n, const char *token)
{
	fprintf(f,
		"spec:\n  containers:\n  - args:\n    - --epochs=90\n    command:\n"
		"    - python\n    - train.py\n    image: registry.example.invalid/ml/train:1.4\n"
		"    imagePullPolicy: IfNotPresent\n    name: train\n    resources:\n"
		"      limits:\n        volcano.sh/vgpu-cores: \"%d\"\n"
		"        volcano.sh/vgpu-memory: \"%d\"\n        volcano.sh/vgpu-number: \"%d\"\n"
		"      requests:\n        cpu: \"4\"\n        memory: 32Gi\n"
		"        volcano.sh/vgpu-cores: \"%d\"\n        volcano.sh/vgpu-memory: \"%d\"\n"
		"        volcano.sh/vgpu-number: \"%d\"\n"
		"    terminationMessagePath: /dev/termination-log\n"
		"    terminationMessagePolicy: File\n    volumeMounts:\n"
		"    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount\n"
		"      name: kube-api-access-%s\n      readOnly: true\n",
		POD_CORES, POD_MEM_MIB, n, POD_CORES, POD_MEM_MIB, n, token);
	fprintf(f,
		"  dnsPolicy: ClusterFirst\n  enableServiceLinks: true\n  nodeName: %s\n"
		"  preemptionPolicy: PreemptLowerPriority\n  priority: 0\n"
		"  restartPolicy: Always\n  schedulerName: default-scheduler\n"
		"  securityContext: {}\n  serviceAccount: default\n"
		"  serviceAccountName: default\n  terminationGracePeriodSeconds: 30\n"
		"  tolerations:\n  - effect: NoExecute\n    key: node.kubernetes.io/not-ready\n"
		"    operator: Exists\n    tolerationSeconds: 300\n  - effect: NoExecute\n"
		"    key: node.kubernetes.io/unreachable\n    operator: Exists\n"
		"    tolerationSeconds: 300\n",
		node);
	fprintf(f,
		"  volumes:\n  - name: kube-api-access-%s\n    projected:\n      defaultMode: 420\n"
		"      sources:\n      - serviceAccountToken:\n          expirationSeconds: 3607\n"
		"          path: token\n      - configMap:\n          items:\n"
		"          - key: ca.crt\n            path: ca.crt\n"
		"          name: kube-root-ca.crt\n      - downwardAPI:\n          items:\n"
		"          - fieldRef:\n              apiVersion: v1\n"
		"              fieldPath: metadata.namespace\n            path: namespace\n",
		token);
	(void)k;
}

static void put_pod_status(FILE *f, int idx, int k)
{
	static const char *const types[] = {"PodReadyToStartContainers", "Initialized", "Ready",
					    "ContainersReady", "PodScheduled"};
	char cid[72], digest[72];
	hex(cid, 64, (uint64_t)idx * 977 + (uint64_t)k);
	hex(digest, 64, 42);
	fprintf(f, "status:\n  conditions:\n");
	for (int i = 0; i < 5; i++)
		fprintf(
		    f,
		    "  - lastProbeTime: null\n    lastTransitionTime: \"2026-01-01T00:00:0%dZ\"\n"
		    "    status: \"True\"\n    type: %s\n",
		    i == 4 ? 0 : 5, types[i]);
	fprintf(f,
		"  containerStatuses:\n  - containerID: containerd://%s\n"
		"    image: registry.example.invalid/ml/train:1.4\n"
		"    imageID: registry.example.invalid/ml/train@sha256:%s\n"
		"    lastState: {}\n    name: train\n    ready: true\n    restartCount: 0\n"
		"    started: true\n    state:\n      running:\n"
		"        startedAt: \"2026-01-01T00:00:04Z\"\n"
		"  hostIP: 172.16.%d.%d\n  hostIPs:\n  - ip: 172.16.%d.%d\n  phase: Running\n"
		"  podIP: 10.%d.%d.%d\n  podIPs:\n  - ip: 10.%d.%d.%d\n  qosClass: Burstable\n"
		"  startTime: \"2026-01-01T00:00:01Z\"\n",
		cid, digest, idx / 256, idx % 256, idx / 256, idx % 256, 64 + idx / 256, idx % 256,
		k + 2, 64 + idx / 256, idx % 256, k + 2);
}

static void put_pod(FILE *f, const char *node, int idx, int k, int gpus)
{
	char ids[256], token[8];
	int n = k % 4 == 3 && gpus > 1 ? 2 : 1;
	int len = 0;
	for (int v = 0; v < n; v++)
		len +=
		    snprintf(ids + len, sizeof ids - (size_t)len, "GPU-%s-%d,NVIDIA,%d,%d:", node,
			     (k + v) % gpus, POD_MEM_MIB, POD_CORES);
	hex(token, 5, (uint64_t)idx * 7 + (uint64_t)k);
	put_pod_meta(f, node, idx, k, gpus, ids);
	put_pod_spec(f, node, k, n, token);
	put_pod_status(f, idx, k);
}

/* Writes the YAML stream; returns its size in bytes, or -1 with err set. */
static long gen_yaml(const char *path, const struct opts *o, char *err, size_t errlen)
{
	char name[32];
	FILE *f = fopen(path, "w");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	for (int i = 1; i <= o->nodes; i++) {
		snprintf(name, sizeof name, "node-%05d", i);
		fputs(i > 1 ? "---\n" : "", f);
		put_node(f, name, i, o->gpus);
	}
	for (int i = 1; i <= o->nodes; i++) {
		snprintf(name, sizeof name, "node-%05d", i);
		for (int k = 0; k < o->per_node; k++) {
			fputs("---\n", f);
			put_pod(f, name, i, k, o->gpus);
		}
	}
	long size = ftell(f);
	int bad = ferror(f);
	if (fclose(f) || bad || size < 0) {
		snprintf(err, errlen, "%s: write failed", path);
		return -1;
	}
	return size;
}

/* One start ------------------------------------------------------------- */

struct run {
	double ready_ms;
	long rss_kib, hwm_kib;
};

static pid_t spawn(const char *bin, const char *cluster, const char *listen, const char *log)
{
	pid_t parent = getpid(), pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* do not outlive the benchmark */
		if (getppid() != parent || !freopen(log, "w", stderr))
			_exit(127);
		execl(bin, bin, "--dev", "--cluster", cluster, "--listen", listen, "--log-level",
		      "warn", (char *)NULL);
		fprintf(stderr, "devstart: cannot run %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	return pid;
}

static CURL *get_handle(const char *url, struct buf *resp)
{
	CURL *h = curl_easy_init();
	if (!h)
		abort();
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, bench_on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	return h;
}

/* Polls /readyz every 2 ms (a refused connection costs microseconds);
 * 0 when it answered 200, -1 when the daemon exited or time ran out. */
static int wait_ready(pid_t pid, const char *base)
{
	char url[128];
	struct buf resp = BUF_INIT;
	int rc = -1, status;
	snprintf(url, sizeof url, "%s/readyz", base);
	CURL *h = get_handle(url, &resp);
	double deadline = bench_now_s() + STARTUP_TIMEOUT_S;
	while (rc && bench_now_s() < deadline) {
		long code = 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "devstart: the daemon exited during start-up\n");
			break;
		}
		buf_reset(&resp);
		if (curl_easy_perform(h) == CURLE_OK &&
		    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200)
			rc = 0;
		else
			bench_sleep_ms(2);
	}
	curl_easy_cleanup(h);
	buf_free(&resp);
	return rc;
}

/* Checks /debug/state against the file: every node, every pod bound where
 * the file says, and every vGPU of every pod charged to its GPU. */
static int verify(const char *base, const struct opts *o)
{
	char url[128];
	struct buf resp = BUF_INIT;
	snprintf(url, sizeof url, "%s/debug/state", base);
	CURL *h = get_handle(url, &resp);
	long code = 0;
	int ok = curl_easy_perform(h) == CURLE_OK &&
		 curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200;
	curl_easy_cleanup(h);
	cJSON *j = ok ? cJSON_ParseWithLength(resp.data, resp.len) : NULL;
	buf_free(&resp);
	long nodes = 0, pods = 0, bound = 0, slots = 0, want = 0;
	const cJSON *it, *g;
	cJSON_ArrayForEach (it, cJSON_GetObjectItem(j, "nodes")) {
		nodes++;
		cJSON_ArrayForEach (g, cJSON_GetObjectItem(it, "gpus"))
			slots += (long)cJSON_GetNumberValue(cJSON_GetObjectItem(g, "usedSlots"));
	}
	cJSON_ArrayForEach (it, cJSON_GetObjectItem(j, "pods")) {
		pods++;
		bound += cJSON_IsString(cJSON_GetObjectItem(it, "node"));
	}
	cJSON_Delete(j);
	for (int k = 0; k < o->per_node; k++)
		want += (long)o->nodes * (k % 4 == 3 && o->gpus > 1 ? 2 : 1);
	long npods = (long)o->nodes * o->per_node;
	if (nodes == o->nodes && pods == npods && bound == npods && slots == want)
		return 0;
	fprintf(stderr,
		"devstart: /debug/state shows %ld nodes, %ld pods (%ld bound), %ld vGPUs in "
		"use; the file has %d, %ld, %ld, %ld\n",
		nodes, pods, bound, slots, o->nodes, npods, npods, want);
	return -1;
}

static void print_log(const char *log)
{
	FILE *f = fopen(log, "r");
	char line[512];
	for (int n = 0; f && n < 20 && fgets(line, sizeof line, f); n++)
		fprintf(stderr, "  daemon: %s", line);
	if (f)
		fclose(f);
}

/* Starts the daemon once on the file and stops it again; -1 when it did
 * not become ready or (with check) its state does not match the file. */
static int one_run(const struct opts *o, const char *cluster, bool check, struct run *r)
{
	char listen[64], base[96], log[64];
	int port = hx_free_port();
	if (port < 0)
		return -1;
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	snprintf(base, sizeof base, "http://%s", listen);
	snprintf(log, sizeof log, "/tmp/vx-devstart-%d.log", (int)getpid());
	double t0 = bench_now_s();
	pid_t pid = spawn(o->daemon, cluster, listen, log);
	if (pid < 0)
		return -1;
	int rc = wait_ready(pid, base);
	r->ready_ms = (bench_now_s() - t0) * 1e3;
	bench_read_mem(pid, &r->rss_kib, &r->hwm_kib);
	if (rc == 0 && check)
		rc = verify(base, o);
	int st = bench_stop(pid, "the daemon");
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		rc = -1;
	if (rc)
		print_log(log);
	unlink(log);
	return rc;
}

/* Report and main --------------------------------------------------------- */

static int parse_int(const char *s, const char *flag, int lo, int *out)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || !*s || *end || v < lo || v > 1000000) {
		fprintf(stderr, "devstart: %s wants a whole number >= %d, got '%s'\n", flag, lo, s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){NULL, "build/bench-devstart.json", NULL, 5000, 8, 8, 5};
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;
		if (!strcmp(a, "-h") || !strcmp(a, "--help") || !v) {
			fprintf(stderr, "usage: devstart --daemon PATH [--out FILE] [--runs N]\n"
					"  [--nodes N] [--gpus N] [--pods-per-node N]\n"
					"  [--keep FILE  (write the cluster file there and keep "
					"it)]\n");
			return -1;
		}
		if (!strcmp(a, "--daemon"))
			o->daemon = v;
		else if (!strcmp(a, "--out"))
			o->out = v;
		else if (!strcmp(a, "--keep"))
			o->keep = v;
		else if (!strcmp(a, "--runs"))
			rc = parse_int(v, a, 1, &o->runs);
		else if (!strcmp(a, "--nodes"))
			rc = parse_int(v, a, 1, &o->nodes);
		else if (!strcmp(a, "--gpus"))
			rc = parse_int(v, a, 2, &o->gpus);
		else if (!strcmp(a, "--pods-per-node"))
			rc = parse_int(v, a, 0, &o->per_node);
		else
			rc = (fprintf(stderr, "devstart: unknown option %s\n", a), -1);
		if (rc)
			return -1;
	}
	if (o->runs > MAX_RUNS || o->gpus > 16 || o->per_node > o->gpus * 5) {
		fprintf(stderr, "devstart: at most %d runs, 16 GPUs and 5 pods per GPU\n",
			MAX_RUNS);
		return -1;
	}
	if (!o->daemon)
		fprintf(stderr, "devstart: --daemon PATH is required\n");
	return o->daemon ? 0 : -1;
}

static int write_json(const struct opts *o, const struct run *runs, int n, long size)
{
	cJSON *j = cJSON_CreateObject(), *list = cJSON_CreateArray();
	double best = INFINITY;
	long rss = 0, hwm = 0;
	for (int i = 0; i < n; i++) {
		cJSON_AddItemToArray(list, cJSON_CreateNumber(round(runs[i].ready_ms)));
		best = fmin(best, runs[i].ready_ms);
		rss = runs[i].rss_kib > rss ? runs[i].rss_kib : rss;
		hwm = runs[i].hwm_kib > hwm ? runs[i].hwm_kib : hwm;
	}
	cJSON_AddNumberToObject(j, "dev_yaml_ready_ms", round(best));
	cJSON_AddItemToObject(j, "dev_yaml_ready_runs_ms", list);
	cJSON_AddNumberToObject(j, "dev_yaml_ready_target_ms", TARGET_MS);
	cJSON_AddBoolToObject(j, "dev_yaml_ready_pass", best <= TARGET_MS);
	cJSON_AddNumberToObject(j, "dev_yaml_rss_kib", (double)rss);
	cJSON_AddNumberToObject(j, "dev_yaml_rss_hwm_kib", (double)hwm);
	cJSON_AddNumberToObject(j, "dev_yaml_nodes", o->nodes);
	cJSON_AddNumberToObject(j, "dev_yaml_pods", (double)o->nodes * o->per_node);
	cJSON_AddNumberToObject(j, "dev_yaml_bytes", (double)size);
	char *text = cJSON_Print(j);
	cJSON_Delete(j);
	FILE *f = text ? fopen(o->out, "w") : NULL;
	int rc = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF ? 0 : -1;
	if (f && fclose(f))
		rc = -1;
	free(text);
	if (rc)
		fprintf(stderr, "devstart: cannot write %s\n", o->out);
	return rc;
}

static void print_table(const struct opts *o, const struct run *runs, int n)
{
	double best = INFINITY, worst = 0;
	long rss = 0, hwm = 0;
	for (int i = 0; i < n; i++) {
		best = fmin(best, runs[i].ready_ms);
		worst = fmax(worst, runs[i].ready_ms);
		rss = runs[i].rss_kib > rss ? runs[i].rss_kib : rss;
		hwm = runs[i].hwm_kib > hwm ? runs[i].hwm_kib : hwm;
	}
	printf("\nvgpu-extender dev start-up: YAML file, %d nodes x %d GPUs, %ld bound pods, "
	       "%d runs\n",
	       o->nodes, o->gpus, (long)o->nodes * o->per_node, n);
	printf("%-26s %14s   %-22s %s\n", "figure", "value", "target", "");
	printf("%-26s %11.0f ms   %-22s %s\n", "exec to /readyz 200, best", best, "<= 2000 ms",
	       best <= TARGET_MS ? "PASS" : "MISS");
	printf("%-26s %11.0f ms\n", "exec to /readyz 200, worst", worst);
	printf("%-26s %10ld KiB\n", "rss at ready (max)", rss);
	printf("%-26s %10ld KiB\n", "rss high-water mark (max)", hwm);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct run runs[MAX_RUNS];
	char path[] = "/tmp/vx-devstart-XXXXXX.yaml", err[512];
	if (parse_opts(argc, argv, &o))
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	int fd = o.keep ? -1 : mkstemps(path, 5);
	if (!o.keep && fd < 0)
		return (fprintf(stderr, "devstart: mkstemps: %s\n", strerror(errno)), 2);
	if (fd >= 0)
		close(fd);
	const char *file = o.keep ? o.keep : path;
	double t0 = bench_now_s();
	long size = gen_yaml(file, &o, err, sizeof err);
	if (size < 0) {
		fprintf(stderr, "devstart: %s\n", err);
		return 2;
	}
	printf("\ndev start-up: %s, %.1f MB of YAML, written in %.0f ms\n", file,
	       (double)size / 1e6, (bench_now_s() - t0) * 1e3);
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return 2;
	int rc = 0, n;
	for (n = 0; n < o.runs && rc == 0; n++) {
		rc = one_run(&o, file, n == 0, &runs[n]);
		printf("run %d: ready after %.0f ms, rss %ld KiB, high-water %ld KiB%s\n", n + 1,
		       runs[n].ready_ms, runs[n].rss_kib, runs[n].hwm_kib, rc ? " (FAILED)" : "");
	}
	curl_global_cleanup();
	if (!o.keep)
		unlink(path);
	if (rc)
		return 2;
	print_table(&o, runs, n);
	if (write_json(&o, runs, n, size))
		return 2;
	printf("wrote %s\n", o.out);
	return 0;
}
