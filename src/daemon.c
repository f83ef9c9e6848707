/* daemon: assembles the subsystems in dependency order (clock, model,
 * store, pipeline, binder, dev loop, HTTP server), serves until SIGINT or
 * SIGTERM, and takes them apart in the reverse order: the binder first, so
 * every bind still waiting is answered before the HTTP server goes away. */
#include "vx/daemon.h"
#include "vx/api.h"
#include "vx/auth.h"
#include "vx/devloop.h"
#include "vx/json.h"
#include "vx/kubestore.h"
#include "vx/log.h"
#include "vx/memstore.h"
#include "vx/reclaim.h"
#include "vx/sync.h"
#include "vx/yamljson.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>

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
				.stale_lock_seconds = d->cfg.stale_lock_seconds,
				.preconnect = d->cfg.bind_workers};
	struct store *s = kstore_new(&kc, &o, &d->clock, err, errlen);
	if (s)
		log_info("cluster mode: API server %s%s", kc.server,
			 d->cfg.leader_elect ? ", leader election on" : "");
	kube_config_free(&kc);
	return s;
}

static struct store *open_store(struct vx_daemon *d, const struct store_sink *sink, char *err,
				size_t errlen)
{
	if (!d->cfg.dev)
		return open_kube_store(d, err, errlen);
	struct store *s = mstore_new(&d->clock);
	mstore_set_state_dir(s, d->cfg.state_dir);
	mstore_set_sink(s, sink); /* the model learns the file as it loads */
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

/* Cluster mode: how long the first waiting pod of a full licence may wait
 * in filter for our watch to deliver the event that frees its slot
 * (pipeline.h); a watch event takes milliseconds. */
#define LICENSE_GRACE_MS 100

/* How often the config file is checked for a change. */
#define CONFIG_POLL_S 2
/* Keep-alive connections idle longer than this are closed. */
#define HTTP_IDLE_TIMEOUT_S 120
/* Connections beyond the binds that may wait: filters, scrapes, the CLI. */
#define HTTP_SPARE_CONNECTIONS 512

/* Every bind in flight holds a connection (a socket) while it waits; the
 * soft limit of open files is often 1,024. Raise it to the hard limit, as
 * Go programs such as kube-scheduler do. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int start_http(struct vx_daemon *d, char *err, size_t errlen)
{
	char *cert = read_pem(d->cfg.tls_cert, err, errlen);
	char *key = cert ? read_pem(d->cfg.tls_key, err, errlen) : NULL;
	if (d->cfg.tls_cert && (!cert || !key)) {
		free(cert);
		return DAEMON_EXIT_CONFIG;
	}
	struct httpd_opts o = {d->cfg.listen,
			       cert,
			       key,
			       d->cfg.threads,
			       HTTP_IDLE_TIMEOUT_S,
			       d->cfg.max_binds_in_flight + HTTP_SPARE_CONNECTIONS};
	d->http = httpd_start(&o, api_handle, d, err, errlen);
	free(cert);
	free(key);
	if (!d->http)
		return DAEMON_EXIT_RUNTIME;
	log_info("serving %s on %s (port %d)%s, admin access control %s",
		 d->cfg.tls_cert ? "HTTPS" : "HTTP", d->cfg.listen, httpd_port(d->http),
		 d->cfg.dev ? ", dev mode" : "", auth_mode(d->auth));
	return 0;
}

/* Reads the config file again and applies its queues; a file that does not
 * load leaves everything as it was, and the log says why. */
static void reload(struct vx_daemon *d, const char *why)
{
	struct vx_config fresh = {0};
	char err[1024];
	char *argv[] = {"vgpu-extender", "--config", d->cfg.config_file, NULL};
	if (cfg_parse(3, argv, &fresh, err, sizeof err) != CFG_OK) {
		log_error("config %s %s, but it does not load; keeping the old one: %s",
			  d->cfg.config_file, why, err);
		cfg_free(&fresh);
		return;
	}
	cluster_wrlock(&d->cluster);
	cluster_set_queues(&d->cluster, fresh.queues, fresh.nqueues);
	cluster_set_licenses(&d->cluster, fresh.licenses, fresh.nlicenses);
	cluster_unlock(&d->cluster);
	log_info("config %s %s: reloaded, %d queue(s), %d licence(s)", d->cfg.config_file, why,
		 fresh.nqueues, fresh.nlicenses);
	free(fresh.queues); /* the model owns the entries now */
	free(fresh.licenses);
	fresh.queues = NULL;
	fresh.licenses = NULL;
	fresh.nqueues = fresh.nlicenses = 0;
	cfg_free(&fresh);
}

/* What identifies the file's content as kubelet updates a mounted
 * ConfigMap: it swaps a symlink, so the target's inode changes. */
static void file_stamp(const char *path, struct stat *st)
{
	if (!path || stat(path, st) != 0)
		memset(st, 0, sizeof *st);
}

static bool stamp_changed(const struct stat *a, const struct stat *b)
{
	return a->st_ino != b->st_ino || a->st_dev != b->st_dev || a->st_size != b->st_size ||
	       a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec;
}

/* Waits for SIGINT or SIGTERM; SIGHUP, or a change of the config file,
 * reloads it meanwhile. */
static void serve(struct vx_daemon *d)
{
	sigset_t set;
	struct stat seen, now;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	file_stamp(d->cfg.config_file, &seen);
	for (int polls = 1;; polls++) {
		struct timespec poll = {CONFIG_POLL_S, 0};
		int sig = sigtimedwait(&set, NULL, &poll);
		if (sig == SIGINT || sig == SIGTERM) {
			log_info("received %s, shutting down",
				 sig == SIGINT ? "SIGINT" : "SIGTERM");
			ckpt_save(&d->ckpt);
			return;
		}
		if (polls % (CKPT_SAVE_S / CONFIG_POLL_S) == 0)
			ckpt_save(&d->ckpt);
		if (!d->cfg.config_file)
			continue;
		file_stamp(d->cfg.config_file, &now);
		if (sig == SIGHUP || stamp_changed(&seen, &now)) {
			reload(d, sig == SIGHUP ? "on SIGHUP" : "changed");
			seen = now;
		}
	}
}

int daemon_run(struct vx_daemon *d, char *err, size_t errlen)
{
	if (clk_init(&d->clock, d->cfg.state_dir, err, errlen))
		return DAEMON_EXIT_CONFIG;
	cluster_init(&d->cluster);
	d->cluster.clock = &d->clock;
	cluster_set_queues(&d->cluster, d->cfg.queues, d->cfg.nqueues);
	cluster_set_licenses(&d->cluster, d->cfg.licenses, d->cfg.nlicenses);
	free(d->cfg.queues); /* the model owns the entries now */
	free(d->cfg.licenses);
	d->cfg.queues = NULL;
	d->cfg.licenses = NULL;
	d->cfg.nqueues = d->cfg.nlicenses = 0;
	struct store_sink sink = {d, sink_node, sink_pod, sink_synced};
	if (!(d->store = open_store(d, &sink, err, errlen)))
		return DAEMON_EXIT_CONFIG;
	struct auth_opts ao = {.token_file = d->cfg.admin_token_file,
			       .insecure = d->cfg.insecure_admin,
			       .listen = d->cfg.listen,
			       .kube = d->cfg.dev ? NULL : kstore_client(d->store)};
	if (!(d->auth = auth_new(&ao, err, errlen)))
		return DAEMON_EXIT_CONFIG;
	scache_init(&d->scores);
	nom_init(&d->noms);
	d->pipe = (struct pipeline){.cluster = &d->cluster,
				    .store = d->store,
				    .clock = &d->clock,
				    .node_policy = d->cfg.node_policy,
				    .gpu_policy = d->cfg.gpu_policy,
				    .scores = &d->scores,
				    .noms = &d->noms,
				    .license_grace_ms = d->cfg.dev ? 0 : LICENSE_GRACE_MS};
	/* Before the store starts, so no pod is admitted against a day that
	 * forgot its usage. */
	ckpt_init(&d->ckpt, d->store, &d->cluster, &d->clock);
	ckpt_load(&d->ckpt);
	if (d->store->ops->start(d->store, &sink)) {
		snprintf(err, errlen, "the %s store did not start", d->store->kind);
		return DAEMON_EXIT_RUNTIME;
	}
	struct binder_opts bo = {d->cfg.bind_workers, d->cfg.max_binds_in_flight,
				 d->cfg.bind_wait_seconds * 1000};
	d->binder = binder_new(&d->pipe, &bo);
	if (!(d->reclaimer = reclaim_start(&d->pipe))) {
		snprintf(err, errlen, "cannot start the reclaim loop");
		return DAEMON_EXIT_RUNTIME;
	}
	if (d->cfg.dev && !(d->devloop = devloop_start(&d->pipe, d->binder))) {
		snprintf(err, errlen, "cannot start the dev scheduling loop");
		return DAEMON_EXIT_RUNTIME;
	}
	raise_fd_limit();
	int rc = start_http(d, err, errlen);
	if (rc)
		return rc;
	serve(d);
	return 0;
}

void daemon_shutdown(struct vx_daemon *d)
{
	reclaim_stop(d->reclaimer);
	d->reclaimer = NULL;
	binder_free(d->binder);
	d->binder = NULL;
	devloop_stop(d->devloop);
	httpd_stop(d->http);
	auth_free(d->auth);
	d->auth = NULL;
	if (d->store)
		d->store->ops->stop(d->store);
	if (d->store)
		d->store->ops->destroy(d->store);
	cluster_free(&d->cluster);
	if (d->pipe.scores)
		scache_free(d->pipe.scores);
	if (d->pipe.noms)
		nom_free(d->pipe.noms);
	clk_free(&d->clock);
	cfg_free(&d->cfg);
}
