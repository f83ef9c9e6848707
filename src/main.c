/* main: the vgpu-extender daemon. Parses flags, wires model, store, pipeline
 * and HTTP server together, and waits for SIGINT/SIGTERM to shut down in the
 * reverse order. Signals are blocked in every thread and taken by sigwait
 * here, so no handler ever runs in the middle of a request. */
#include "vx/daemon.h"
#include "vx/devloop.h"
#include "vx/kubestore.h"
#include "vx/log.h"
#include "vx/memstore.h"
#include "vx/sync.h"
#include "vx/yamljson.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sink_node(void *ud, enum store_ev ev, const cJSON *node)
{
	struct vx_daemon *d = ud;
	if (ev == STORE_DELETED)
		sync_node_deleted(&d->cluster, json_str(json_path(node, "metadata", NULL), "name"));
	else
		sync_node(&d->cluster, node);
}

static void sink_pod(void *ud, enum store_ev ev, const cJSON *pod)
{
	struct vx_daemon *d = ud;
	const cJSON *md = json_path(pod, "metadata", NULL);
	const char *ns = json_str(md, "namespace"), *name = json_str(md, "name");
	if (ev == STORE_DELETED && name)
		sync_pod_deleted(&d->cluster, ns ? ns : "default", name);
	else if (ev != STORE_DELETED)
		sync_pod(&d->cluster, pod);
}

static void sink_synced(void *ud)
{
	struct vx_daemon *d = ud;
	atomic_store(&d->ready, 1);
	cluster_rdlock(&d->cluster);
	log_info("model synced: %zu nodes, %zu vGPU pods", hmap_size(&d->cluster.nodes),
		 hmap_size(&d->cluster.pods));
	cluster_unlock(&d->cluster);
	/* The first sync parsed every object once; give that scratch memory back. */
	malloc_trim(0);
}

static struct store *open_kube_store(struct vx_daemon *d, char *err, size_t errlen)
{
	struct kube_config kc = {0};
	int rc;
	if (d->cfg.kubeconfig)
		rc = kube_config_load_file(d->cfg.kubeconfig, &kc, err, errlen);
	else if (getenv("KUBERNETES_SERVICE_HOST"))
		rc = kube_config_in_cluster(&kc, err, errlen);
	else {
		snprintf(err, errlen,
			 "no API server: pass --kubeconfig FILE, run in a cluster, "
			 "or use --dev for the embedded demo");
		return NULL;
	}
	if (rc)
		return NULL;
	struct kstore_opts o = {.leader_elect = d->cfg.leader_elect,
				.lease_namespace = d->cfg.lease_namespace,
				.lease_seconds = d->cfg.lease_seconds,
				.stale_lock_seconds = d->cfg.stale_lock_seconds};
	struct store *s = kstore_new(&kc, &o, &d->clock, err, errlen);
	if (s)
		log_info("cluster mode: API server %s%s", kc.server,
			 d->cfg.leader_elect ? ", leader election on" : "");
	kube_config_free(&kc);
	return s;
}

static struct store *open_store(struct vx_daemon *d, char *err, size_t errlen)
{
	if (!d->cfg.dev)
		return open_kube_store(d, err, errlen);
	struct store *s = mstore_new(&d->clock);
	int rc = d->cfg.cluster ? mstore_load_file(s, d->cfg.cluster, err, errlen)
				: mstore_load_demo(s, err, errlen);
	if (rc) {
		s->ops->destroy(s);
		return NULL;
	}
	return s;
}

static char *read_pem(const char *path, char *err, size_t errlen)
{
	size_t len;
	return path ? yj_read_file(path, &len, err, errlen) : NULL;
}

enum { EXIT_RUNTIME = 1, EXIT_CONFIG = 2 };

static int start_http(struct vx_daemon *d, char *err, size_t errlen)
{
	char *cert = read_pem(d->cfg.tls_cert, err, errlen);
	char *key = cert ? read_pem(d->cfg.tls_key, err, errlen) : NULL;
	if (d->cfg.tls_cert && (!cert || !key)) {
		free(cert);
		return EXIT_CONFIG;
	}
	struct httpd_opts o = {d->cfg.listen, cert, key, d->cfg.threads, 120};
	d->http = httpd_start(&o, api_handle, d, err, errlen);
	free(cert);
	free(key);
	if (!d->http)
		return EXIT_RUNTIME;
	log_info("serving %s on %s (port %d)%s", d->cfg.tls_cert ? "HTTPS" : "HTTP", d->cfg.listen,
		 httpd_port(d->http), d->cfg.dev ? ", dev mode" : "");
	return 0;
}

/* Exit statuses: a file or setting that cannot be used is a configuration
 * error (2, like a bad flag); a failure of the running system is 1. */
static int run(struct vx_daemon *d, char *err, size_t errlen)
{
	if (clk_init(&d->clock, d->cfg.state_dir, err, errlen))
		return EXIT_CONFIG;
	cluster_init(&d->cluster);
	if (!(d->store = open_store(d, err, errlen)))
		return EXIT_CONFIG;
	scache_init(&d->scores);
	d->pipe = (struct pipeline){.cluster = &d->cluster,
				    .store = d->store,
				    .clock = &d->clock,
				    .node_policy = d->cfg.node_policy,
				    .gpu_policy = d->cfg.gpu_policy,
				    .scores = &d->scores};
	struct store_sink sink = {d, sink_node, sink_pod, sink_synced};
	if (d->store->ops->start(d->store, &sink)) {
		snprintf(err, errlen, "the %s store did not start", d->store->kind);
		return EXIT_RUNTIME;
	}
	if (d->cfg.dev && !(d->devloop = devloop_start(&d->pipe, d->store))) {
		snprintf(err, errlen, "cannot start the dev scheduling loop");
		return EXIT_RUNTIME;
	}
	int rc = start_http(d, err, errlen);
	if (rc)
		return rc;
	sigset_t set;
	int sig = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigwait(&set, &sig);
	log_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	return 0;
}

static void shutdown_all(struct vx_daemon *d)
{
	httpd_stop(d->http);
	if (d->store)
		d->store->ops->stop(d->store);
	devloop_stop(d->devloop);
	if (d->store)
		d->store->ops->destroy(d->store);
	cluster_free(&d->cluster);
	if (d->pipe.scores)
		scache_free(d->pipe.scores);
	clk_free(&d->clock);
	cfg_free(&d->cfg);
}

int main(int argc, char **argv)
{
	static struct vx_daemon d;
	char err[1024];
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	enum cfg_result r = cfg_parse(argc, argv, &d.cfg, err, sizeof err);
	if (r != CFG_OK) {
		if (r == CFG_ERROR)
			fprintf(stderr, "vgpu-extender: %s\n", err);
		cfg_free(&d.cfg);
		return r == CFG_EXIT ? 0 : 2;
	}
	vlog_set_level((enum vlog_level)d.cfg.log_level);
	log_info("vgpu-extender %s starting (node policy %s, GPU policy %s)", VX_VERSION,
		 d.cfg.node_policy == POLICY_SPREAD ? "spread" : "binpack",
		 d.cfg.gpu_policy == POLICY_BINPACK ? "binpack" : "spread");
	if (kube_global_init(err, sizeof err)) {
		fprintf(stderr, "vgpu-extender: %s\n", err);
		return 1;
	}
	int rc = run(&d, err, sizeof err);
	if (rc)
		log_error("%s", err);
	shutdown_all(&d);
	kube_global_cleanup();
	return rc;
}
