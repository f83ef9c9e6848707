/* main.c: the fake API server's entry point. Parses flags, loads the seed
 * file and the synthetic benchmark cluster (--gen-*, written as JSON text
 * directly, which is what makes 100,000 pods fast), starts the stand-in and
 * the HTTP server, then waits for SIGTERM/SIGINT and frees everything. */
#include "fake.h"

#include "vx/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fputs("usage: fake-apiserver [--listen ADDR:PORT] [--tls-cert FILE --tls-key FILE]\n"
	      "         [--token T] [--seed FILE] [--gen-nodes N --gen-gpus G --gen-pods P]\n"
	      "         [--plugin-standin] [--standin-delay-ms MS] [--history N]\n"
	      "         [--bookmark-ms MS] [--verbose]\n"
	      "Prints \"LISTENING <port>\" on stdout once it serves. See README.md.\n",
	      f);
}

static int parse_long(const char *flag, const char *v, long *out)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || end == v || n < 0) {
		fprintf(stderr, "fake-apiserver: %s wants a number >= 0, got \"%s\"\n", flag, v);
		return -1;
	}
	*out = n;
	return 0;
}

static int parse_flags(int argc, char **argv, struct fk_config *c)
{
	c->listen = "127.0.0.1:0";
	c->history = 10000;
	c->bookmark_ms = 1000;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char name[64];
		const char *val = NULL;
		const char *eq = strchr(a, '=');
		if (strncmp(a, "--", 2) == 0 && eq && (size_t)(eq - a) < sizeof name) {
			snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
			val = eq + 1;
		} else {
			snprintf(name, sizeof name, "%s", a);
		}
		if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
			usage(stdout);
			exit(0);
		}
		if (strcmp(name, "--plugin-standin") == 0) {
			c->standin = 1;
			continue;
		}
		if (strcmp(name, "--verbose") == 0 || strcmp(name, "-v") == 0) {
			c->verbose = 1;
			continue;
		}
		static const char *const valued[] = {
		    "--listen",   "--tls-cert",    "--tls-key",
		    "--token",    "--seed",        "--gen-nodes",
		    "--gen-gpus", "--gen-pods",    "--standin-delay-ms",
		    "--history",  "--bookmark-ms",
		};
		int known = 0;
		for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
			known |= strcmp(name, valued[k]) == 0;
		if (!known) {
			fprintf(stderr, "fake-apiserver: unknown flag %s\n", a);
			usage(stderr);
			return -1;
		}
		if (!val) {
			if (i + 1 >= argc) {
				fprintf(stderr, "fake-apiserver: %s needs a value\n", name);
				return -1;
			}
			val = argv[++i];
		}
		int rc = 0;
		if (strcmp(name, "--listen") == 0)
			c->listen = val;
		else if (strcmp(name, "--tls-cert") == 0)
			c->tls_cert = val;
		else if (strcmp(name, "--tls-key") == 0)
			c->tls_key = val;
		else if (strcmp(name, "--token") == 0)
			c->token = val;
		else if (strcmp(name, "--seed") == 0)
			c->seed = val;
		else if (strcmp(name, "--gen-nodes") == 0)
			rc = parse_long(name, val, &c->gen_nodes);
		else if (strcmp(name, "--gen-gpus") == 0)
			rc = parse_long(name, val, &c->gen_gpus);
		else if (strcmp(name, "--gen-pods") == 0)
			rc = parse_long(name, val, &c->gen_pods);
		else if (strcmp(name, "--standin-delay-ms") == 0)
			rc = parse_long(name, val, &c->standin_delay_ms);
		else if (strcmp(name, "--history") == 0)
			rc = parse_long(name, val, &c->history);
		else if (strcmp(name, "--bookmark-ms") == 0)
			rc = parse_long(name, val, &c->bookmark_ms);
		if (rc)
			return -1;
	}
	return 0;
}

static int load_seed(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fake-apiserver: --seed %s: %s\n", path, strerror(errno));
		return -1;
	}
	struct buf b = BUF_INIT;
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	cJSON *doc = b.len ? cJSON_ParseWithLength(b.data, b.len) : NULL;
	buf_free(&b);
	if (!doc) {
		fprintf(stderr, "fake-apiserver: --seed %s: not valid JSON\n", path);
		return -1;
	}
	struct fk_err err;
	int rc = fk_load_objects(doc, NULL, &err);
	cJSON_Delete(doc);
	if (rc != 0)
		fprintf(stderr, "fake-apiserver: --seed %s: %s\n", path, err.msg);
	return rc;
}

/* ---- synthetic cluster ---- */

/* A version whose JSON text we wrote ourselves; fields given by name. */
static struct fk_ver *raw_ver(struct fk_kind *k, struct buf *text, const char *name, const char *ns,
			      const char *uid, uint64_t rv, const char *const *fieldvals,
			      const char *const *labels, size_t nlabels)
{
	struct fk_ver *v = calloc(1, sizeof *v);
	if (!v)
		abort();
	atomic_init(&v->refs, 1);
	v->rv = rv;
	v->len = text->len;
	v->text = buf_steal(text);
	const char *c1 = strchr(v->text, ',');
	const char *c2 = c1 ? strchr(c1 + 1, ',') : NULL; /* after kind and apiVersion */
	v->item_off = c2 ? (size_t)(c2 - v->text) + 1 : 1;
	const char *vals[32] = {0};
	for (int i = 0; i < k->nfields && i < 32; i++)
		for (size_t j = 0; fieldvals[j]; j += 2)
			if (strcmp(fieldvals[j], k->fields[i]) == 0)
				vals[i] = fieldvals[j + 1];
	fk_ver_set_strings(k, v, name, ns, uid, vals, labels, nlabels, NULL);
	return v;
}

static void gen_cluster(long nodes, long gpus, long pods)
{
	struct fk_kind *kn = &fk_srv.kinds[FK_NODE], *kp = &fk_srv.kinds[FK_POD];
	char ts[32], uid[37], name[64], ns[32], node[64], rv[24];
	fk_now_rfc3339(ts);
	struct buf b = BUF_INIT;
	pthread_mutex_lock(&fk_srv.mu);
	for (long n = 1; n <= nodes; n++) {
		snprintf(node, sizeof node, "node-%05ld", n);
		fk_uuid(uid);
		uint64_t r = ++fk_srv.rv;
		snprintf(rv, sizeof rv, "%llu", (unsigned long long)r);
		buf_reset(&b);
		buf_puts(&b, "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"");
		buf_puts(&b, node);
		buf_puts(&b, "\",\"uid\":\"");
		buf_puts(&b, uid);
		buf_puts(&b, "\",\"resourceVersion\":\"");
		buf_puts(&b, rv);
		buf_puts(&b, "\",\"creationTimestamp\":\"");
		buf_puts(&b, ts);
		buf_puts(&b, "\",\"labels\":{\"kubernetes.io/hostname\":\"");
		buf_puts(&b, node);
		buf_puts(&b, "\"},\"annotations\":{\"volcano.sh/node-vgpu-register\":\"");
		for (long g = 0; g < gpus; g++)
			buf_printf(&b, "GPU-%s-%ld,10,81920,NVIDIA-A100,true,hami-core:", node, g);
		buf_puts(&b, "\"}},\"spec\":{},\"status\":{");
		static const char *const rk[] = {"capacity", "allocatable"};
		for (int i = 0; i < 2; i++)
			buf_printf(
			    &b,
			    "\"%s\":{\"cpu\":\"64\",\"memory\":\"512Gi\",\"pods\":\"110\","
			    "\"volcano.sh/vgpu-number\":\"%ld\",\"volcano.sh/vgpu-memory\":\"%ld\","
			    "\"volcano.sh/vgpu-cores\":\"%ld\"},",
			    rk[i], gpus * 10, gpus * 81920, gpus * 100);
		buf_puts(&b, "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}");
		const char *const fields[] = {"metadata.name", node, NULL};
		const char *const labels[] = {"kubernetes.io/hostname", node};
		fk_store_load(kn, raw_ver(kn, &b, node, "", uid, r, fields, labels, 1));
	}
	for (long i = 0; i < pods; i++) {
		snprintf(name, sizeof name, "pod-%06ld", i + 1);
		snprintf(ns, sizeof ns, "ns-%ld", i % 10);
		int bound = nodes > 0;
		if (bound)
			snprintf(node, sizeof node, "node-%05ld", i % nodes + 1);
		fk_uuid(uid);
		uint64_t r = ++fk_srv.rv;
		snprintf(rv, sizeof rv, "%llu", (unsigned long long)r);
		buf_reset(&b);
		buf_puts(&b, "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"");
		buf_puts(&b, name);
		buf_puts(&b, "\",\"namespace\":\"");
		buf_puts(&b, ns);
		buf_puts(&b, "\",\"uid\":\"");
		buf_puts(&b, uid);
		buf_puts(&b, "\",\"resourceVersion\":\"");
		buf_puts(&b, rv);
		buf_puts(&b, "\",\"creationTimestamp\":\"");
		buf_puts(&b, ts);
		buf_puts(&b, "\",\"labels\":{\"app\":\"bench\"}");
		if (bound) {
			buf_puts(&b, ",\"annotations\":{\"volcano.sh/vgpu-node\":\"");
			buf_puts(&b, node);
			buf_puts(&b, "\",\"volcano.sh/vgpu-ids-new\":\"");
			if (gpus > 0)
				buf_printf(&b, "GPU-%s-%ld,NVIDIA,1024,5:", node,
					   (i / nodes) % gpus);
			buf_puts(&b, "\",\"volcano.sh/bind-phase\":\"success\"}");
		}
		buf_puts(&b, "},\"spec\":{");
		if (bound) {
			buf_puts(&b, "\"nodeName\":\"");
			buf_puts(&b, node);
			buf_puts(&b, "\",");
		}
		buf_puts(&b,
			 "\"schedulerName\":\"default-scheduler\",\"restartPolicy\":\"Always\","
			 "\"containers\":[{\"name\":\"main\",\"image\":\"busybox\",\"resources\":{"
			 "\"limits\":{\"volcano.sh/vgpu-number\":\"1\",\"volcano.sh/vgpu-memory\":"
			 "\"1024\",\"volcano.sh/vgpu-cores\":\"5\"}}}]},\"status\":{\"phase\":\"");
		buf_puts(&b, bound ? "Running" : "Pending");
		buf_puts(&b, "\"}}");
		const char *const fields[] = {"metadata.name",
					      name,
					      "metadata.namespace",
					      ns,
					      "spec.nodeName",
					      bound ? node : "",
					      "spec.restartPolicy",
					      "Always",
					      "spec.schedulerName",
					      "default-scheduler",
					      "status.phase",
					      bound ? "Running" : "Pending",
					      NULL};
		const char *const labels[] = {"app", "bench"};
		fk_store_load(kp, raw_ver(kp, &b, name, ns, uid, r, fields, labels, 1));
	}
	pthread_mutex_unlock(&fk_srv.mu);
	buf_free(&b);
}

int main(int argc, char **argv)
{
	if (parse_flags(argc, argv, &fk_srv.cfg) != 0)
		return 2;
	vlog_set_level(VLOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* every thread inherits it; main waits */

	fk_store_init();
	fk_control_init();
	fk_authz_reset();
	fk_standin_start();
	int rc = 0;
	if (fk_srv.cfg.seed && load_seed(fk_srv.cfg.seed) != 0)
		rc = 1;
	if (!rc && (fk_srv.cfg.gen_nodes || fk_srv.cfg.gen_pods))
		gen_cluster(fk_srv.cfg.gen_nodes, fk_srv.cfg.gen_gpus, fk_srv.cfg.gen_pods);
	fk_store_loaded();
	if (!rc && fk_http_start() != 0)
		rc = 1;
	if (!rc) {
		int sig = 0;
		sigwait(&set, &sig);
		if (fk_srv.cfg.verbose)
			log_info("fake-apiserver: signal %d, shutting down", sig);
	}
	pthread_mutex_lock(&fk_srv.mu);
	fk_srv.shutdown = 1;
	fk_watch_close_all();
	pthread_mutex_unlock(&fk_srv.mu);
	fk_http_stop();
	fk_standin_stop();
	fk_store_free();
	fk_control_free();
	fk_authz_free();
	return rc;
}
