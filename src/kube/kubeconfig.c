/* kubeconfig: builds a struct kube_config from a kubeconfig file (its current
 * context) or from the pod's service account. It only reads files and the
 * environment; client.c does the talking. The YAML is loaded as a libyaml document
 * so that every complaint can point at a line of the user's file. */
#include "vx/xalloc.h"
#include "kube_priv.h"
#include "vx/kube.h"
#include "vx/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#define SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"
#define SMALL_FILE_MAX (1 << 20) /* tokens, namespaces and CAs are tiny */

struct kc {
	const char *path;
	char *dir; /* directory of path, NULL when path has no '/' (then cwd is right) */
	yaml_document_t doc;
	char *err;
	size_t errlen;
};

void kube_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 1, 2))) static char *xasprintf(const char *fmt, ...)
{
	char *p;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	return p;
}

/* Reads a small text file whole, without trailing whitespace (token and namespace
 * files usually end with a newline that must not reach the HTTP header). */
static char *read_small_file(const char *path, int *errnum)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		*errnum = errno;
		return NULL;
	}
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= SMALL_FILE_MAX)
		buf_append(&b, chunk, n);
	int failed = ferror(f) || b.len > SMALL_FILE_MAX;
	fclose(f);
	if (failed) {
		*errnum = b.len > SMALL_FILE_MAX ? EFBIG : EIO;
		buf_free(&b);
		return NULL;
	}
	while (b.len && strchr(" \t\r\n", b.data[b.len - 1]))
		b.data[--b.len] = '\0';
	return buf_steal(&b);
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64 as kubectl writes it; whitespace (line-wrapped blocks) is
 * tolerated. Returns a NUL-terminated copy, or NULL when s is not base64. */
static char *b64_decode(const char *s)
{
	struct buf out = BUF_INIT;
	unsigned acc = 0;
	int bits = 0, pad = 0;
	buf_reserve(&out, strlen(s) / 4 * 3 + 3);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (strchr(" \t\r\n", *p))
			continue;
		if (*p == '=') {
			pad++;
			continue;
		}
		int v = b64_value(*p);
		if (v < 0 || pad) { /* nothing but '=' may follow padding */
			buf_free(&out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_putc(&out, (char)((acc >> bits) & 0xff));
		}
	}
	if (pad > 2 || bits >= 6) { /* a lone sextet cannot encode a byte */
		buf_free(&out);
		return NULL;
	}
	return buf_steal(&out);
}

static yaml_node_t *map_get(struct kc *k, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(&k->doc, p->key);
		if (kn && kn->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)kn->data.scalar.value, key) == 0)
			return yaml_document_get_node(&k->doc, p->value);
	}
	return NULL;
}

/* A scalar's text; YAML nulls and empty strings count as absent. */
static const char *scalar(yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.length == 0)
		return NULL;
	const char *v = (const char *)n->data.scalar.value;
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (!strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL")))
		return NULL;
	return v;
}

static const char *get_str(struct kc *k, yaml_node_t *map, const char *key)
{
	return scalar(map_get(k, map, key));
}

static unsigned long line_of(yaml_node_t *n)
{
	return (unsigned long)n->start_mark.line + 1;
}

/* The entry of list (contexts, clusters, users) called name. */
static yaml_node_t *find_named(struct kc *k, const char *list, const char *name)
{
	yaml_node_t *seq = map_get(k, yaml_document_get_root_node(&k->doc), list);
	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
	     i++) {
		yaml_node_t *item = yaml_document_get_node(&k->doc, *i);
		const char *n = get_str(k, item, "name");
		if (n && strcmp(n, name) == 0)
			return item;
	}
	return NULL;
}

/* YAML 1.1 booleans, as kubectl's YAML reader takes them; -1 for anything else. */
static int parse_bool(const char *v)
{
	static const char *const yes[] = {"true", "yes", "on", "y"};
	static const char *const no[] = {"false", "no", "off", "n"};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (!strcasecmp(v, yes[i]))
			return 1;
		if (!strcasecmp(v, no[i]))
			return 0;
	}
	return -1;
}

static char *resolve_path(struct kc *k, const char *p)
{
	if (p[0] == '/' || !k->dir)
		return xstrdup(p);
	return xasprintf("%s/%s", k->dir, p);
}

/* Sets *dst from `key` (a path, made absolute) or `key-data` (base64), whichever is
 * present; data wins, as in kubectl. */
static int file_or_data(struct kc *k, yaml_node_t *map, const char *key, char **file, char **data,
			const char *owner)
{
	char dkey[64];
	snprintf(dkey, sizeof dkey, "%s-data", key);
	const char *f = get_str(k, map, key);
	yaml_node_t *dn = map_get(k, map, dkey);
	const char *d = scalar(dn);
	if (f)
		*file = resolve_path(k, f);
	if (d && !(*data = b64_decode(d))) {
		kube_seterr(k->err, k->errlen,
			    "kubeconfig %s: line %lu: %s of %s is not valid base64", k->path,
			    line_of(dn), dkey, owner);
		return -1;
	}
	return 0;
}

static int load_cluster(struct kc *k, const char *name, const char *ctx_name,
			struct kube_config *out)
{
	yaml_node_t *item = find_named(k, "clusters", name);
	yaml_node_t *cl = map_get(k, item, "cluster");
	if (!item || !cl) {
		kube_seterr(k->err, k->errlen,
			    "kubeconfig %s: cluster \"%s\" (of context \"%s\") not found", k->path,
			    name, ctx_name);
		return -1;
	}
	char owner[300];
	snprintf(owner, sizeof owner, "cluster \"%s\"", name);
	const char *server = get_str(k, cl, "server");
	if (!server ||
	    (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)) {
		kube_seterr(k->err, k->errlen,
			    "kubeconfig %s: line %lu: %s needs a server such as https://host:6443",
			    k->path, line_of(cl), owner);
		return -1;
	}
	out->server = xstrdup(server);
	for (size_t n = strlen(out->server); n > 0 && out->server[n - 1] == '/'; n--)
		out->server[n - 1] = '\0';
	yaml_node_t *ins = map_get(k, cl, "insecure-skip-tls-verify");
	const char *iv = scalar(ins);
	out->insecure = iv ? parse_bool(iv) : 0;
	if (out->insecure < 0) {
		kube_seterr(
		    k->err, k->errlen,
		    "kubeconfig %s: line %lu: insecure-skip-tls-verify of %s must be true or false",
		    k->path, line_of(ins), owner);
		return -1;
	}
	return file_or_data(k, cl, "certificate-authority", &out->ca_file, &out->ca_data, owner);
}

static int load_user(struct kc *k, const char *name, const char *ctx_name, struct kube_config *out)
{
	yaml_node_t *item = find_named(k, "users", name);
	if (!item) {
		kube_seterr(k->err, k->errlen,
			    "kubeconfig %s: user \"%s\" (of context \"%s\") not found", k->path,
			    name, ctx_name);
		return -1;
	}
	yaml_node_t *u = map_get(k, item, "user");
	char owner[300];
	snprintf(owner, sizeof owner, "user \"%s\"", name);
	const char *tok = get_str(k, u, "token"), *tf = get_str(k, u, "tokenFile");
	if (tok)
		out->token = xstrdup(tok);
	if (tf)
		out->token_file = resolve_path(k, tf);
	if (file_or_data(k, u, "client-certificate", &out->cert_file, &out->cert_data, owner) ||
	    file_or_data(k, u, "client-key", &out->key_file, &out->key_data, owner))
		return -1;
	int has_cert = out->cert_file || out->cert_data, has_key = out->key_file || out->key_data;
	if (has_cert != has_key) {
		kube_seterr(k->err, k->errlen,
			    "kubeconfig %s: line %lu: %s has a client %s but no %s", k->path,
			    line_of(u), owner, has_cert ? "certificate" : "key",
			    has_cert ? "key" : "certificate");
		return -1;
	}
	const char *plugin = map_get(k, u, "exec")            ? "exec"
			     : map_get(k, u, "auth-provider") ? "auth-provider"
							      : NULL;
	if (plugin && !tok && !tf && !has_cert) {
		kube_seterr(
		    k->err, k->errlen,
		    "kubeconfig %s: line %lu: %s uses %s credentials, which vgpu-extender does not "
		    "support; give it a token, tokenFile or client certificate",
		    k->path, line_of(u), owner, plugin);
		return -1;
	}
	return 0;
}

static int load_current_context(struct kc *k, struct kube_config *out)
{
	yaml_node_t *root = yaml_document_get_root_node(&k->doc);
	const char *cur = get_str(k, root, "current-context");
	if (!cur) {
		kube_seterr(k->err, k->errlen, "kubeconfig %s: current-context is not set",
			    k->path);
		return -1;
	}
	yaml_node_t *item = find_named(k, "contexts", cur);
	yaml_node_t *ctx = map_get(k, item, "context");
	if (!item || !ctx) {
		kube_seterr(k->err, k->errlen,
			    "kubeconfig %s: context \"%s\" (current-context) not found", k->path,
			    cur);
		return -1;
	}
	const char *cluster = get_str(k, ctx, "cluster"), *user = get_str(k, ctx, "user");
	const char *ns = get_str(k, ctx, "namespace");
	if (!cluster) {
		kube_seterr(k->err, k->errlen,
			    "kubeconfig %s: line %lu: context \"%s\" names no cluster", k->path,
			    line_of(ctx), cur);
		return -1;
	}
	out->namespace = xstrdup(ns ? ns : "default");
	if (load_cluster(k, cluster, cur, out))
		return -1;
	return user ? load_user(k, user, cur, out) : 0;
}

static int parse_file(struct kc *k, FILE *f)
{
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		abort();
	yaml_parser_set_input_file(&p, f);
	int ok = yaml_parser_load(&p, &k->doc);
	if (!ok) {
		kube_seterr(k->err, k->errlen, "kubeconfig %s: line %lu column %lu: %s%s%s%s",
			    k->path, (unsigned long)p.problem_mark.line + 1,
			    (unsigned long)p.problem_mark.column + 1,
			    p.problem ? p.problem : "invalid YAML", p.context ? " (" : "",
			    p.context ? p.context : "", p.context ? ")" : "");
	}
	yaml_parser_delete(&p);
	if (!ok)
		return -1;
	yaml_node_t *root = yaml_document_get_root_node(&k->doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		kube_seterr(k->err, k->errlen, "kubeconfig %s: %s", k->path,
			    root ? "the top level is not a mapping" : "the file is empty");
		yaml_document_delete(&k->doc);
		return -1;
	}
	return 0;
}

int kube_config_load_file(const char *path, struct kube_config *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	FILE *f = fopen(path, "rb");
	if (!f) {
		kube_seterr(err, errlen, "kubeconfig %s: %s", path, strerror(errno));
		return -1;
	}
	struct kc k = {.path = path, .err = err, .errlen = errlen};
	int rc = parse_file(&k, f);
	fclose(f);
	if (rc)
		return -1;
	const char *slash = strrchr(path, '/');
	if (slash)
		k.dir = strndup(path, (size_t)(slash - path));
	if (slash && !k.dir)
		abort();
	rc = load_current_context(&k, out);
	yaml_document_delete(&k.doc);
	free(k.dir);
	if (rc)
		kube_config_free(out);
	return rc;
}

int kube_config_in_cluster(struct kube_config *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	const char *host = getenv("KUBERNETES_SERVICE_HOST"),
		   *port = getenv("KUBERNETES_SERVICE_PORT");
	if (!host || !*host || !port || !*port) {
		kube_seterr(err, errlen,
			    "in-cluster config: KUBERNETES_SERVICE_HOST and "
			    "KUBERNETES_SERVICE_PORT must be set (not in a pod? use --kubeconfig)");
		return -1;
	}
	const char *dir = getenv("VX_SERVICEACCOUNT_DIR");
	if (!dir || !*dir)
		dir = SA_DIR_DEFAULT;
	int v6 = strchr(host, ':') && host[0] != '[';
	out->server = xasprintf(v6 ? "https://[%s]:%s" : "https://%s:%s", host, port);
	out->token_file = xasprintf("%s/token", dir);
	int e = 0;
	out->token = read_small_file(out->token_file, &e);
	if (!out->token || !*out->token) {
		kube_seterr(err, errlen, "in-cluster config: token file %s: %s", out->token_file,
			    out->token ? "empty" : strerror(e));
		kube_config_free(out);
		return -1;
	}
	out->ca_file = xasprintf("%s/ca.crt", dir);
	if (access(out->ca_file, R_OK) != 0) {
		log_warn(
		    "in-cluster config: %s: %s; the API server is checked against the system CAs",
		    out->ca_file, strerror(errno));
		free(out->ca_file);
		out->ca_file = NULL;
	}
	char *nsfile = xasprintf("%s/namespace", dir);
	out->namespace = read_small_file(nsfile, &e);
	free(nsfile);
	if (!out->namespace || !*out->namespace) {
		free(out->namespace);
		out->namespace = xstrdup("default");
	}
	return 0;
}

void kube_config_free(struct kube_config *c)
{
	if (!c)
		return;
	char **fields[] = {&c->server,    &c->ca_file,   &c->ca_data,  &c->token,    &c->token_file,
			   &c->cert_file, &c->cert_data, &c->key_file, &c->key_data, &c->namespace};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		free(*fields[i]);
		*fields[i] = NULL;
	}
	c->insecure = 0;
}
