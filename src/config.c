/* config: flags and config file; see config.h. The file is walked as a
 * libyaml document rather than converted to JSON, so that every error can
 * point at the line of the offending key. Files that flags name are opened
 * once here, so that a missing one is reported with its flag. */
#include "vx/config.h"
#include "vx/auth.h"
#include "vx/binder.h"
#include "vx/cfgcheck.h"
#include "vx/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* OPT_FILE: a string naming a file that must be readable. */
enum opt_kind { OPT_STR, OPT_FILE, OPT_BOOL, OPT_POLICY, OPT_LEVEL, OPT_INT, OPT_IGNORED };

struct opt {
	const char *flag, *arg, *key; /* arg: the value's placeholder in --help */
	enum opt_kind kind;
	size_t off;
	const char *help;
};

#define OFF(f) offsetof(struct vx_config, f)

static void free_licenses(struct vx_config *c)
{
	for (int i = 0; i < c->nlicenses; i++)
		license_conf_free(&c->licenses[i]);
	free(c->licenses);
	c->licenses = NULL;
	c->nlicenses = 0;
}

static void free_queues(struct vx_config *c)
{
	for (int i = 0; i < c->nqueues; i++)
		queue_conf_free(&c->queues[i]);
	free(c->queues);
	c->queues = NULL;
	c->nqueues = 0;
}

static const struct opt opts[] = {
    {"--config", "FILE", "config", OPT_STR, OFF(config_file),
     "YAML config: these flags as camelCase keys, plus queues and licenses"},
    {"--listen", "ADDR:PORT", "listen", OPT_STR, OFF(listen),
     "serve HTTP(S) here (default 127.0.0.1:8888)"},
    {"--tls-cert", "FILE", "tlsCert", OPT_FILE, OFF(tls_cert), "serve HTTPS with this certificate"},
    {"--tls-key", "FILE", "tlsKey", OPT_FILE, OFF(tls_key), "private key for --tls-cert"},
    {"--kubeconfig", "FILE", "kubeconfig", OPT_FILE, OFF(kubeconfig),
     "API server access (default: in-cluster)"},
    {"--dev", NULL, "dev", OPT_BOOL, OFF(dev), "dev mode: in-memory cluster, no API server"},
    {"--cluster", "FILE", "cluster", OPT_FILE, OFF(cluster),
     "dev mode: YAML stream of Nodes and Pods (default: built-in demo)"},
    {"--state-dir", "DIR", "stateDir", OPT_STR, OFF(state_dir), "dev mode: where state persists"},
    {"--node-policy", "POLICY", "nodePolicy", OPT_POLICY, OFF(node_policy),
     "which node a pod goes to: binpack or spread (default binpack)"},
    {"--gpu-policy", "POLICY", "gpuPolicy", OPT_POLICY, OFF(gpu_policy),
     "which GPUs of the node: binpack or spread (default spread)"},
    {"--log-level", "LEVEL", "logLevel", OPT_LEVEL, OFF(log_level),
     "debug, info, warn or error (default info)"},
    {"--threads", "N", "threads", OPT_INT, OFF(threads), "HTTP worker threads (default 2)"},
    {"--leader-elect", NULL, "leaderElect", OPT_BOOL, OFF(leader_elect),
     "cluster mode: only the holder of the Lease binds"},
    {"--lease-duration", "SECONDS", "leaseDuration", OPT_INT, OFF(lease_seconds),
     "how long a leader's Lease lasts without renewal (default 15)"},
    {"--stale-lock-seconds", "SECONDS", "staleLockSeconds", OPT_INT, OFF(stale_lock_seconds),
     "cluster mode: remove a node lock this old whose node has no pod allocating (default 30)"},
    {"--lease-namespace", "NS", "leaseNamespace", OPT_STR, OFF(lease_namespace),
     "namespace of the Lease (default: the kubeconfig's)"},
    {"--bind-workers", "N", "bindWorkers", OPT_INT, OFF(bind_workers),
     "threads making the API calls of binds (default 64)"},
    {"--max-binds-in-flight", "N", "maxBindsInFlight", OPT_INT, OFF(max_binds_in_flight),
     "binds accepted at once; beyond, a bind fails at once (default 2000)"},
    {"--bind-wait-seconds", "SECONDS", "bindWaitSeconds", OPT_INT, OFF(bind_wait_seconds),
     "longest a bind waits for a busy node's lock; keep it below the extender's httpTimeout "
     "(default 10)"},
    {"--admin-token-file", "FILE", "adminTokenFile", OPT_FILE, OFF(admin_token_file),
     "dev mode: bearer tokens for the admin API and dashboard, one per line, optionally "
     "token,user"},
    {"--insecure-admin", NULL, "insecureAdmin", OPT_BOOL, OFF(insecure_admin),
     "no access control on the admin API and dashboard, even off loopback or in a cluster"},
    {"--check-config", NULL, "checkConfig", OPT_BOOL, OFF(check_config),
     "validate the flags and the config file, print what is wrong, exit 0 or 2"},
    {NULL, NULL, "queues", OPT_IGNORED, 0, NULL},
    {NULL, NULL, "licenses", OPT_IGNORED, 0, NULL},
};

#define NOPTS (sizeof opts / sizeof opts[0])

/* The range of each integer flag. */
struct int_range {
	size_t off;
	long min, max;
};

static const struct int_range int_ranges[] = {
    {OFF(threads), 1, 256},
    {OFF(lease_seconds), 1, 3600},
    {OFF(stale_lock_seconds), 1, 86400},
    {OFF(bind_workers), 1, 1024},
    {OFF(max_binds_in_flight), 1, 100000},
    {OFF(bind_wait_seconds), 1, 600},
};

static const struct int_range *range_of(size_t off)
{
	static const struct int_range any = {0, 1, 1L << 30};
	for (size_t i = 0; i < sizeof int_ranges / sizeof int_ranges[0]; i++)
		if (int_ranges[i].off == off)
			return &int_ranges[i];
	return &any;
}

#define HELP_WIDTH 80

/* "--flag ARG" as --help shows it. */
static void flag_text(const struct opt *o, char *out, size_t len)
{
	snprintf(out, len, "%s%s%s", o->flag, o->arg ? " " : "", o->arg ? o->arg : "");
}

/* One flag: left in a column as wide as the widest flag, help wrapped at
 * HELP_WIDTH with its continuation lines under the help's first word. */
static void usage_line(const char *left, int col, const char *help)
{
	int at = printf("  %-*s ", col, left);
	for (const char *w = help; *w;) {
		int wl = (int)strcspn(w, " ");
		if (at > col + 3 && at + 1 + wl > HELP_WIDTH)
			at = printf("\n  %-*s ", col, "") - 1;
		at += printf(" %.*s", wl, w);
		w += wl + (w[wl] == ' ');
	}
	putchar('\n');
}

void cfg_usage(void)
{
	char left[64];
	int col = (int)strlen("--version");
	for (size_t i = 0; i < NOPTS; i++) {
		flag_text(&opts[i], left, sizeof left);
		if (opts[i].flag && (int)strlen(left) > col)
			col = (int)strlen(left);
	}
	printf("Usage: vgpu-extender [flags]\n\n"
	       "A Kubernetes scheduler extender for fractional (vGPU) GPUs.\n\nFlags:\n");
	for (size_t i = 0; i < NOPTS; i++) {
		if (!opts[i].flag)
			continue;
		flag_text(&opts[i], left, sizeof left);
		usage_line(left, col, opts[i].help);
	}
	usage_line("--help", col, "print this help");
	usage_line("--version", col, "print the version");
}

/* Sets one option from text; returns 0 or -1 with what was wrong. */
static int set_opt(struct vx_config *c, const struct opt *o, const char *v, char *why, size_t len)
{
	char *base = (char *)c;
	switch (o->kind) {
	case OPT_STR:
	case OPT_FILE: {
		char **dst = (char **)(base + o->off);
		free(*dst);
		*dst = strdup(v);
		return 0;
	}
	case OPT_BOOL:
		if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
			snprintf(why, len, "want true or false, got \"%s\"", v);
			return -1;
		}
		*(bool *)(base + o->off) = strcmp(v, "true") == 0;
		return 0;
	case OPT_POLICY: {
		enum vx_policy p = req_parse_policy(v);
		if (p == POLICY_DEFAULT) {
			snprintf(why, len, "want binpack or spread, got \"%s\"", v);
			return -1;
		}
		*(enum vx_policy *)(base + o->off) = p;
		return 0;
	}
	case OPT_LEVEL: {
		int l = vlog_parse_level(v);
		if (l < 0) {
			snprintf(why, len, "want debug, info, warn or error, got \"%s\"", v);
			return -1;
		}
		*(int *)(base + o->off) = l;
		return 0;
	}
	case OPT_INT: {
		char *end;
		errno = 0;
		long n = strtol(v, &end, 10);
		const struct int_range *r = range_of(o->off);
		if (!*v || *end || errno || n < r->min || n > r->max) {
			snprintf(why, len, "want a number from %ld to %ld, got \"%s\"", r->min,
				 r->max, v);
			return -1;
		}
		*(int *)(base + o->off) = (int)n;
		return 0;
	}
	case OPT_IGNORED: return 0;
	}
	return 0;
}

static const struct opt *find_flag(const char *arg, size_t n)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (opts[i].flag && strlen(opts[i].flag) == n && !strncmp(opts[i].flag, arg, n))
			return &opts[i];
	return NULL;
}

static const struct opt *find_key(const char *key)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strcmp(opts[i].key, key) == 0)
			return &opts[i];
	return NULL;
}

static int load_pairs(struct vx_config *c, yaml_document_t *d, yaml_node_t *root, const char *path,
		      char *err, size_t errlen)
{
	char why[200];
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		yaml_node_t *v = yaml_document_get_node(d, p->value);
		const char *key = k->type == YAML_SCALAR_NODE ? (char *)k->data.scalar.value : "?";
		const struct opt *o = find_key(key);
		size_t line = k->start_mark.line + 1;
		if (!o) {
			snprintf(err, errlen, "%s:%zu: unknown key \"%s\"", path, line, key);
			return -1;
		}
		if (o->kind == OPT_IGNORED) { /* queues, licenses: checked, not used yet */
			int n = cfgcheck_section(d, key, v, path, err, errlen);
			if (n < 0)
				return -1;
			if (key[0] == 'q') {
				free_queues(c);
				c->nqueues = cfgcheck_queues(d, v, &c->queues);
			} else {
				free_licenses(c);
				c->nlicenses = cfgcheck_licenses(d, v, &c->licenses);
			}
			continue;
		}
		if (v->type != YAML_SCALAR_NODE) {
			snprintf(err, errlen, "%s:%zu: key \"%s\" needs a single value", path, line,
				 key);
			return -1;
		}
		if (set_opt(c, o, (char *)v->data.scalar.value, why, sizeof why)) {
			snprintf(err, errlen, "%s:%zu: key \"%s\": %s", path, line, key, why);
			return -1;
		}
	}
	return 0;
}

static int load_file(struct vx_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (!f || (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode))) {
		snprintf(err, errlen, "--config %s: %s", path, strerror(f ? EISDIR : errno));
		if (f)
			fclose(f);
		return -1;
	}
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc = -1;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s:%zu: %s", path, parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "YAML syntax error");
	} else {
		yaml_node_t *root = yaml_document_get_root_node(&doc);
		if (!root)
			rc = 0; /* an empty file sets nothing */
		else if (root->type != YAML_MAPPING_NODE)
			snprintf(err, errlen, "%s:%zu: the config must be a mapping of keys", path,
				 root->start_mark.line + 1);
		else
			rc = load_pairs(c, &doc, root, path, err, errlen);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}

/* Opens each file a flag names, so that a missing or unreadable one is
 * reported as "--cluster /x.yaml: No such file or directory" before
 * anything starts; the reader that uses it later only adds syntax errors. */
static int check_files(const struct vx_config *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < NOPTS; i++) {
		struct stat st;
		if (opts[i].kind != OPT_FILE)
			continue;
		const char *path = *(char *const *)((const char *)c + opts[i].off);
		if (!path)
			continue;
		FILE *f = fopen(path, "rb");
		int e = errno;
		if (f && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode))
			e = EISDIR;
		if (!f || e == EISDIR) {
			snprintf(err, errlen, "%s %s: %s", opts[i].flag, path, strerror(e));
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
	}
	return 0;
}

static bool listen_ok(const char *s)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	char *end;
	if (!colon || !colon[1])
		return false;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	return !*end && !errno && port >= 0 && port <= 65535;
}

static void defaults(struct vx_config *c)
{
	memset(c, 0, sizeof *c);
	c->listen = strdup("127.0.0.1:8888");
	c->node_policy = POLICY_BINPACK;
	c->gpu_policy = POLICY_SPREAD;
	c->log_level = VLOG_INFO;
	c->threads = 2;
	c->bind_workers = BINDER_DEFAULT_WORKERS;
	c->max_binds_in_flight = BINDER_DEFAULT_MAX_INFLIGHT;
	c->bind_wait_seconds = BINDER_DEFAULT_WAIT_S;
}

/* One pass over argv; with file_only, only --config is acted upon. */
static enum cfg_result apply_flags(int argc, char **argv, struct vx_config *c, bool file_only,
				   char *err, size_t errlen)
{
	char why[200];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			cfg_usage();
			return CFG_EXIT;
		}
		if (!strcmp(a, "--version")) {
			printf("vgpu-extender %s\n", VX_VERSION);
			return CFG_EXIT;
		}
		const struct opt *o = find_flag(a, eq ? (size_t)(eq - a) : strlen(a));
		if (!o) {
			snprintf(err, errlen, "unknown flag %s (see --help)", a);
			return CFG_ERROR;
		}
		const char *v = eq ? eq + 1 : NULL;
		if (!v && o->kind == OPT_BOOL)
			v = "true";
		if (!v && (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))) {
			snprintf(err, errlen, "flag %s needs a value", o->flag);
			return CFG_ERROR;
		}
		if (!v)
			v = argv[++i];
		if (file_only != (o->off == OFF(config_file)))
			continue;
		if (set_opt(c, o, v, why, sizeof why)) {
			snprintf(err, errlen, "flag %s: %s", o->flag, why);
			return CFG_ERROR;
		}
	}
	return CFG_OK;
}

/* --check-config: what the daemon would open at start must be there too. */
static int readable(const char *flag, const char *path, bool dir, char *err, size_t errlen)
{
	struct stat st;
	if (!path)
		return 0;
	if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
		snprintf(err, errlen, "%s %s: %s", flag, path, strerror(errno));
		return -1;
	}
	if (dir != !!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s %s: %s", flag, path,
			 dir ? "not a directory" : "is a directory");
		return -1;
	}
	return 0;
}

static enum cfg_result check_only(const struct vx_config *c, char *err, size_t errlen)
{
	if (readable("--tls-cert", c->tls_cert, false, err, errlen) ||
	    readable("--tls-key", c->tls_key, false, err, errlen) ||
	    readable("--kubeconfig", c->kubeconfig, false, err, errlen) ||
	    readable("--cluster", c->cluster, false, err, errlen) ||
	    readable("--state-dir", c->state_dir, true, err, errlen))
		return CFG_ERROR;
	printf("config OK: %s mode, listen %s%s, node policy %s, GPU policy %s, "
	       "%d queue(s), %d licence(s)%s%s\n",
	       c->dev ? "dev" : "cluster", c->listen, c->tls_cert ? " (HTTPS)" : "",
	       c->node_policy == POLICY_SPREAD ? "spread" : "binpack",
	       c->gpu_policy == POLICY_BINPACK ? "binpack" : "spread", c->nqueues, c->nlicenses,
	       c->config_file ? ", file " : "", c->config_file ? c->config_file : "");
	return CFG_EXIT;
}

enum cfg_result cfg_parse(int argc, char **argv, struct vx_config *c, char *err, size_t errlen)
{
	defaults(c);
	enum cfg_result r = apply_flags(argc, argv, c, true, err, errlen);
	if (r != CFG_OK)
		return r;
	if (c->config_file && load_file(c, c->config_file, err, errlen))
		return CFG_ERROR;
	r = apply_flags(argc, argv, c, false, err, errlen);
	if (r != CFG_OK)
		return r;
	if (!listen_ok(c->listen)) {
		snprintf(err, errlen, "--listen %s: want ADDR:PORT with a port from 0 to 65535",
			 c->listen);
		return CFG_ERROR;
	}
	if (!!c->tls_cert != !!c->tls_key) {
		snprintf(err, errlen, "--tls-cert and --tls-key go together");
		return CFG_ERROR;
	}
	if (c->dev && c->kubeconfig) {
		snprintf(err, errlen, "--dev and --kubeconfig exclude each other");
		return CFG_ERROR;
	}
	if (c->cluster && !c->dev) {
		snprintf(err, errlen, "--cluster needs --dev");
		return CFG_ERROR;
	}
	if (c->admin_token_file && !c->dev) {
		snprintf(err, errlen,
			 "--admin-token-file needs --dev (cluster mode asks the API server)");
		return CFG_ERROR;
	}
	if (c->dev && !c->admin_token_file && !c->insecure_admin &&
	    !auth_listen_is_loopback(c->listen)) {
		snprintf(err, errlen,
			 "refusing to serve the admin API and dashboard on %s without access "
			 "control: give --admin-token-file FILE, listen on loopback, or pass "
			 "--insecure-admin",
			 c->listen);
		return CFG_ERROR;
	}
	if (check_files(c, err, errlen))
		return CFG_ERROR;
	return c->check_config ? check_only(c, err, errlen) : CFG_OK;
}

void cfg_free(struct vx_config *c)
{
	free_queues(c);
	free_licenses(c);
	free(c->config_file);
	free(c->listen);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->kubeconfig);
	free(c->cluster);
	free(c->state_dir);
	free(c->lease_namespace);
	free(c->admin_token_file);
	memset(c, 0, sizeof *c);
}
