/* harness: helpers for integration tests that run the real binaries over
 * loopback: start/stop the daemon on a free port, make HTTP calls, run a
 * command and capture its output. Binaries come from $VX_BUILD (default
 * "build"), so `make test` exercises the sanitized build. */
#ifndef VX_TEST_HARNESS_H
#define VX_TEST_HARNESS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <sys/types.h>

struct hx_daemon {
	pid_t pid;
	int port;
	char url[64];
	char log_path[256];
};

struct hx_resp {
	long status;
	char *body;
	size_t len;
	cJSON *json; /* parsed body when it is JSON, else NULL */
};

/* Path of a built binary, e.g. hx_bin("vgpu-extender"); static storage. */
const char *hx_bin(const char *name);
int hx_free_port(void);
/* Starts vgpu-extender with --listen on a free port plus args (NULL-ended),
 * and waits up to 15 s for /readyz. Returns 0 or -1. */
int hx_start(struct hx_daemon *d, const char *const *args);
/* Like hx_start, but returns as soon as the process runs. */
int hx_spawn(struct hx_daemon *d, const char *const *args);
int hx_wait_ready(struct hx_daemon *d, int timeout_ms);
/* SIGKILL: a crash at an arbitrary point. */
void hx_kill(struct hx_daemon *d);
/* SIGTERM and wait; returns the exit status (0 = clean, no leaks under ASan). */
int hx_stop(struct hx_daemon *d);
/* Prints the daemon's log to stderr (for failed tests). */
void hx_dump_log(const struct hx_daemon *d);
/* The fake API server's token; every call below sends it as a bearer token,
 * which a cluster-mode daemon has reviewed by the fake (user fake-admin, in
 * system:masters: allowed everything) and a dev daemon ignores when open. */
#define HX_TOKEN "test-token"

int hx_http(const char *method, const char *url, const char *body, size_t len, struct hx_resp *r);
/* Sends token as the bearer token (NULL: no Authorization header). */
int hx_http_auth(const char *method, const char *url, const char *body, const char *token,
		 struct hx_resp *r);
int hx_get(const struct hx_daemon *d, const char *path, struct hx_resp *r);
int hx_post(const struct hx_daemon *d, const char *path, const char *body, struct hx_resp *r);
void hx_resp_free(struct hx_resp *r);
/* Runs argv, captures stdout+stderr into *out (caller frees); returns the
 * exit status or -1. */
int hx_run(const char *const *argv, char **out);
/* Polls GET path until pred(json) is true or timeout_ms passes. */
int hx_wait_json(const struct hx_daemon *d, const char *path, int (*pred)(const cJSON *, void *),
		 void *ud, int timeout_ms);
/* Writes text to a temporary file; returns its path (static storage per call slot). */
const char *hx_tmpfile(const char *text, const char *suffix);

/* A self-signed certificate for 127.0.0.1 (EC P-256) in dir/tls.crt and
 * dir/tls.key; ca receives the certificate's path. Needs the openssl CLI. */
int hx_make_cert(const char *dir, char *ca, size_t calen);

/* The project's fake API server over HTTPS with a bearer token, and a
 * kubeconfig for the daemon that points at it. */
struct hx_fake {
	pid_t pid;
	int port;
	char url[64];
	char dir[64]; /* holds tls.crt, tls.key, kubeconfig */
	char kubeconfig[128], ca[128];
	char log_path[256];
};

/* Starts build/fake-apiserver with --plugin-standin plus args (NULL-ended). */
int hx_fake_start(struct hx_fake *f, const char *const *args);
int hx_fake_stop(struct hx_fake *f);
/* A request to the fake (token and CA set); ctype NULL = application/json. */
int hx_fake_call(const struct hx_fake *f, const char *method, const char *path, const char *ctype,
		 const char *body, struct hx_resp *r);

/* harness_kube.c: kube-scheduler's part against the fake and a daemon. */
void hk_fake(const struct hx_fake *f, const char *method, const char *path, const char *body);
/* GET from the fake: the object, or NULL unless 200; the caller frees it. */
cJSON *hk_fake_get(const struct hx_fake *f, const char *path);
/* A node with two 24,576 MiB GPUs "NAME-0" and "NAME-1". */
void hk_node(const struct hx_fake *f, const char *name);
/* The fake with nodes n1..nN (hk_node) and a cluster-mode daemon on it with
 * the config text; 0 or -1. hk_stop stops both: 0 when both exit cleanly. */
int hk_start(struct hx_fake *f, struct hx_daemon *d, int nodes, const char *config_yaml);
int hk_stop(struct hx_fake *f, struct hx_daemon *d);
/* A pod asking for `gpus` whole cards (cores 100). */
void hk_pod(const struct hx_fake *f, const char *ns, const char *name, int gpus);
/* hx_wait_json predicate: the daemon's state lists the pod named ud. */
int hk_known(const cJSON *state, void *ud);
/* One scheduling cycle over nodes n1 and n2: 1 bound (node_out set, 64
 * bytes), 0 when no node passed filter. */
int hk_schedule(const struct hx_fake *f, const struct hx_daemon *d, const char *ns,
		const char *name, char *node_out);

#endif
