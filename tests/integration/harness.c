/* harness: see harness.h. Uses libcurl for HTTP and fork/exec for the
 * daemon; the daemon's stderr goes to a log file that a failing test prints. */
#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *hx_bin(const char *name)
{
	static char path[4][512];
	static int slot;
	const char *b = getenv("VX_BUILD");
	char *p = path[slot++ % 4];
	snprintf(p, 512, "%s/%s", b && *b ? b : "build", name);
	return p;
}

int hx_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) ||
	    getsockname(fd, (struct sockaddr *)&a, &l)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(a.sin_port);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int hx_spawn(struct hx_daemon *d, const char *const *args)
{
	char listen[64];
	const char *argv[64];
	int n = 0;
	memset(d, 0, sizeof *d);
	d->port = hx_free_port();
	snprintf(listen, sizeof listen, "127.0.0.1:%d", d->port);
	snprintf(d->url, sizeof d->url, "http://127.0.0.1:%d", d->port);
	snprintf(d->log_path, sizeof d->log_path, "/tmp/vx-test-%d-%d.log", (int)getpid(), d->port);
	argv[n++] = hx_bin("vgpu-extender");
	argv[n++] = "--listen";
	argv[n++] = listen;
	for (int i = 0; args && args[i] && n < 62; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	d->pid = fork();
	if (d->pid == 0) {
		int fd = open(d->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return d->pid > 0 ? 0 : -1;
}

int hx_wait_ready(struct hx_daemon *d, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		struct hx_resp r;
		int ok = hx_get(d, "/readyz", &r) == 0 && r.status == 200;
		hx_resp_free(&r);
		if (ok)
			return 0;
		int st;
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			hx_dump_log(d);
			return -1;
		}
		sleep_ms(50);
	}
	hx_dump_log(d);
	return -1;
}

int hx_start(struct hx_daemon *d, const char *const *args)
{
	if (hx_spawn(d, args))
		return -1;
	return hx_wait_ready(d, 15000);
}

void hx_kill(struct hx_daemon *d)
{
	int st;
	if (d->pid <= 0)
		return;
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &st, 0);
	d->pid = 0;
}

int hx_stop(struct hx_daemon *d)
{
	int st = 0;
	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				hx_dump_log(d);
			else if (!getenv("HX_KEEP_LOGS"))
				unlink(d->log_path);
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		sleep_ms(50);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &st, 0);
	d->pid = 0;
	hx_dump_log(d);
	return -1;
}

void hx_dump_log(const struct hx_daemon *d)
{
	FILE *f = fopen(d->log_path, "r");
	char line[1024];
	if (!f)
		return;
	fprintf(stderr, "---- daemon log %s ----\n", d->log_path);
	while (fgets(line, sizeof line, f))
		fputs(line, stderr);
	fclose(f);
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	struct hx_resp *r = ud;
	char *nb = realloc(r->body, r->len + sz * n + 1);
	if (!nb)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, p, sz * n);
	r->len += sz * n;
	r->body[r->len] = '\0';
	return sz * n;
}

/* bearer: the token sent (NULL: none). */
static int http_do(const char *method, const char *url, const char *body, size_t len,
		   const char *ca, const char *ctype, const char *bearer, struct hx_resp *r)
{
	char ct[128], auth[512];
	memset(r, 0, sizeof *r);
	CURL *c = curl_easy_init();
	snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
	struct curl_slist *h = curl_slist_append(NULL, ct);
	h = curl_slist_append(h, "Expect:");
	if (bearer) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
		h = curl_slist_append(h, auth);
	}
	if (ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (r->body)
		r->json = cJSON_Parse(r->body);
	return rc == CURLE_OK ? 0 : -1;
}

int hx_http_auth(const char *method, const char *url, const char *body, const char *token,
		 struct hx_resp *r)
{
	return http_do(method, url, body, body ? strlen(body) : 0, NULL, NULL, token, r);
}

int hx_http(const char *method, const char *url, const char *body, size_t len, struct hx_resp *r)
{
	return http_do(method, url, body, len, NULL, NULL, HX_TOKEN, r);
}

int hx_get(const struct hx_daemon *d, const char *path, struct hx_resp *r)
{
	char url[1024];
	snprintf(url, sizeof url, "%s%s", d->url, path);
	return hx_http("GET", url, NULL, 0, r);
}

int hx_post(const struct hx_daemon *d, const char *path, const char *body, struct hx_resp *r)
{
	char url[1024];
	snprintf(url, sizeof url, "%s%s", d->url, path);
	return hx_http("POST", url, body ? body : "", body ? strlen(body) : 0, r);
}

void hx_resp_free(struct hx_resp *r)
{
	free(r->body);
	cJSON_Delete(r->json);
	memset(r, 0, sizeof *r);
}

int hx_run(const char *const *argv, char **out)
{
	int pfd[2];
	if (pipe(pfd))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		/* Never the runner's terminal: a question (vgpuctl delete) reads EOF. */
		int in = open("/dev/null", O_RDONLY);
		if (in >= 0)
			dup2(in, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t got;
	while (buf && (got = read(pfd[0], buf + len, cap - len - 1)) > 0) {
		len += (size_t)got;
		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	close(pfd[0]);
	if (buf)
		buf[len] = '\0';
	int st;
	waitpid(pid, &st, 0);
	*out = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int hx_wait_json(const struct hx_daemon *d, const char *path, int (*pred)(const cJSON *, void *),
		 void *ud, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		struct hx_resp r;
		int ok = hx_get(d, path, &r) == 0 && r.json && pred(r.json, ud);
		hx_resp_free(&r);
		if (ok)
			return 0;
		sleep_ms(50);
	}
	return -1;
}

const char *hx_tmpfile(const char *text, const char *suffix)
{
	static char path[8][256];
	static int slot;
	char *p = path[slot++ % 8];
	snprintf(p, 256, "/tmp/vx-test-%d-%d%s", (int)getpid(), slot, suffix ? suffix : "");
	FILE *f = fopen(p, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	return p;
}

int hx_make_cert(const char *dir, char *ca, size_t calen)
{
	char key[128], *out = NULL;
	snprintf(ca, calen, "%s/tls.crt", dir);
	snprintf(key, sizeof key, "%s/tls.key", dir);
	const char *argv[] = {"/usr/bin/openssl",
			      "req",
			      "-x509",
			      "-newkey",
			      "ec",
			      "-pkeyopt",
			      "ec_paramgen_curve:prime256v1",
			      "-nodes",
			      "-days",
			      "1",
			      "-subj",
			      "/CN=127.0.0.1",
			      "-addext",
			      "subjectAltName=IP:127.0.0.1",
			      "-keyout",
			      key,
			      "-out",
			      ca,
			      NULL};
	int rc = hx_run(argv, &out);
	free(out);
	return rc;
}

static int write_kubeconfig(struct hx_fake *f)
{
	char text[1024];
	snprintf(f->kubeconfig, sizeof f->kubeconfig, "%s/kubeconfig", f->dir);
	snprintf(text, sizeof text,
		 "apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
		 "clusters:\n- name: fake\n  cluster:\n    server: %s\n"
		 "    certificate-authority: tls.crt\n"
		 "users:\n- name: tester\n  user:\n    token: " HX_TOKEN "\n"
		 "contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: tester\n"
		 "    namespace: kube-system\n",
		 f->url);
	FILE *fp = fopen(f->kubeconfig, "w");
	if (!fp)
		return -1;
	fputs(text, fp);
	return fclose(fp);
}

/* Reads "LISTENING <port>" from the fake's stdout. */
static int read_port(int fd)
{
	char buf[128];
	size_t n = 0;
	while (n + 1 < sizeof buf) {
		ssize_t got = read(fd, buf + n, 1);
		if (got <= 0)
			return -1;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	int port = -1;
	return sscanf(buf, "LISTENING %d", &port) == 1 ? port : -1;
}

int hx_fake_start(struct hx_fake *f, const char *const *args)
{
	const char *argv[48];
	int n = 0, pfd[2];
	memset(f, 0, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/vx-fake-XXXXXX");
	if (!mkdtemp(f->dir) || hx_make_cert(f->dir, f->ca, sizeof f->ca) || pipe(pfd))
		return -1;
	char key[128];
	snprintf(key, sizeof key, "%s/tls.key", f->dir);
	snprintf(f->log_path, sizeof f->log_path, "%s/fake.log", f->dir);
	argv[n++] = hx_bin("fake-apiserver");
	const char *fixed[] = {
	    "--listen", "127.0.0.1:0", "--tls-cert",       f->ca,           "--tls-key", key,
	    "--token",  HX_TOKEN,      "--plugin-standin", "--bookmark-ms", "200"};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		argv[n++] = fixed[i];
	for (int i = 0; args && args[i] && n < 46; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	f->pid = fork();
	if (f->pid == 0) {
		int fd = open(f->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0)
			dup2(fd, 2);
		dup2(pfd[1], 1);
		close(pfd[0]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	f->port = read_port(pfd[0]);
	close(pfd[0]);
	if (f->port <= 0)
		return -1;
	snprintf(f->url, sizeof f->url, "https://127.0.0.1:%d", f->port);
	return write_kubeconfig(f);
}

int hx_fake_stop(struct hx_fake *f)
{
	int st = 0;
	char path[256];
	if (f->pid <= 0)
		return -1;
	kill(f->pid, SIGTERM);
	waitpid(f->pid, &st, 0);
	f->pid = 0;
	const char *files[] = {"tls.crt", "tls.key", "kubeconfig", "fake.log"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/%s", f->dir, files[i]);
		unlink(path);
	}
	rmdir(f->dir);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int hx_fake_call(const struct hx_fake *f, const char *method, const char *path, const char *ctype,
		 const char *body, struct hx_resp *r)
{
	char url[1024];
	snprintf(url, sizeof url, "%s%s", f->url, path);
	return http_do(method, url, body, body ? strlen(body) : 0, f->ca, ctype, HX_TOKEN, r);
}
