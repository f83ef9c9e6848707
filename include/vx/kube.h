/* kube: the Kubernetes API server client.
 * kubeconfig.c turns a kubeconfig file or the in-cluster service account into a
 * struct kube_config; client.c speaks HTTPS to the API server with it (retries,
 * token rotation, connection reuse, streamed watches). The cluster-mode store is
 * built on top; nothing here knows about Pods or Nodes. */
#ifndef VX_KUBE_H
#define VX_KUBE_H

#include <stdatomic.h>
#include <stddef.h>

#include "vx/buf.h"

/* Every string is owned by the struct (malloc'd) and freed by kube_config_free. */
struct kube_config {
	char *server;     /* https://host:port, no trailing slash */
	char *ca_file;    /* PEM file path, or NULL */
	char *ca_data;    /* PEM text (decoded from certificate-authority-data), or NULL */
	char *token;      /* bearer token, or NULL */
	char *token_file; /* re-read when it changes (service-account token rotation) */
	char *cert_file, *cert_data, *key_file, *key_data; /* client certificate auth */
	int insecure;                                      /* insecure-skip-tls-verify */
	char *namespace; /* in-cluster: the pod's namespace; kubeconfig: context namespace;
			    default "default" */
};

/* Reads the current context of a kubeconfig file. Relative file paths inside it are
 * taken relative to the file's directory. On error returns -1, leaves *out empty and
 * writes a message naming the file (and the line where it helps) into err. */
int kube_config_load_file(const char *path, struct kube_config *out, char *err, size_t errlen);
/* The pod's service account: KUBERNETES_SERVICE_HOST/PORT and the files in
 * /var/run/secrets/kubernetes.io/serviceaccount (or $VX_SERVICEACCOUNT_DIR). */
int kube_config_in_cluster(struct kube_config *out, char *err, size_t errlen);
void kube_config_free(struct kube_config *c);

/* Process-wide libcurl setup: the daemon calls it once at start, before any thread
 * exists (curl_global_init is not thread-safe everywhere), and kube_global_cleanup
 * once at exit. Returns 0, or -1 with err. */
int kube_global_init(char *err, size_t errlen);
void kube_global_cleanup(void);

struct kube_client; /* opaque, thread-safe */

/* Copies what it needs from cfg; cfg may be freed afterwards. Fails when a token
 * file cannot be read. */
struct kube_client *kube_client_new(const struct kube_config *cfg, char *err, size_t errlen);
/* No call may be in progress. */
void kube_client_free(struct kube_client *c);

struct kube_resp {
	long status;        /* HTTP status of the last attempt, 0 if none arrived */
	struct buf body;    /* its body (NUL-terminated when non-empty) */
	double retry_after; /* seconds from its Retry-After header, 0 if none */
};
void kube_resp_free(struct kube_resp *r);

struct kube_call_opts {
	int max_attempts; /* default 5 */
	long timeout_ms;  /* per attempt, default 10000 */
};

/* method GET/POST/PUT/PATCH/DELETE; path like "/api/v1/namespaces/x/pods/y" (query
 * included); content_type NULL = application/json; body may be NULL. opts NULL or
 * zero fields = defaults. Connection errors, 429 and 5xx are retried with backoff;
 * a 401 makes the token file be re-read and the call retried once if it changed.
 * *resp is overwritten; free it with kube_resp_free whatever the result.
 * Returns 0 when an HTTP answer arrived (any status; the caller inspects
 * resp->status), -1 when none did (err says why). */
int kube_request(struct kube_client *c, const char *method, const char *path,
		 const char *content_type, const char *body, size_t body_len,
		 struct kube_resp *resp, const struct kube_call_opts *opts, char *err,
		 size_t errlen);

/* Called for every complete line of a watch stream, without the newline (and without
 * a trailing '\r'); line[len] is '\0'. Empty lines are skipped. Returns 0 to go on,
 * non-zero to stop the watch. */
/* Opens up to n connections to the API server, one after another (a GET
 * /version on each), and pools them, so that a burst of calls (the first
 * binds after start-up) does not pay n TCP and TLS handshakes on its path.
 * Stops at the first failure, once budget_ms have passed (a distant API
 * server must not hold start-up), or once *stop is set (stop may be NULL).
 * Returns how many answered. */
int kube_preconnect(struct kube_client *c, int n, long budget_ms, const atomic_int *stop);

typedef int (*kube_line_cb)(void *ud, const char *line, size_t len);

/* Streams GET path (the caller adds ?watch=1&resourceVersion=...). Ends when the
 * server closes, when on_line asks to, when *stop becomes non-zero (checked at least
 * about once a second; stop may be NULL), or when no byte arrived for idle_timeout_ms
 * (<= 0: no limit; bookmarks keep a healthy stream alive).
 * Returns the HTTP status: 200 for a stream that ended normally or was stopped; for
 * any other status on_line is not called and err carries the server's message.
 * Returns -1 on a transport error or an idle timeout (err says which). */
long kube_watch(struct kube_client *c, const char *path, kube_line_cb on_line, void *ud,
		const atomic_int *stop, long idle_timeout_ms, char *err, size_t errlen);

/* The message of a Kubernetes Status body, or a fallback naming what happened. */
void kube_status_message(const struct kube_resp *r, char *out, size_t len);
/* Sleeps up to ms, in short steps, returning early once *stop is non-zero. */
void kube_sleep(const atomic_int *stop, long ms);

#endif
