/* vgpuctl http: one libcurl call per request, the daemon's error messages,
 * and naming a pod on the command line (NAME with -n, or NS/NAME). */
#include "vgpuctl.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define TIMEOUT_S 30L

struct reply {
	long status;
	struct buf body;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	buf_append(ud, p, sz * n);
	return sz * n;
}

/* Percent-encodes one path or query segment; names are DNS labels today, but
 * a stray '/' or '?' must never change which route is asked. */
void put_escaped(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch))
			buf_putc(b, (char)ch);
		else
			buf_printf(b, "%%%02X", ch);
	}
}

/* Returns 0 when the daemon answered (whatever the status), or -1 after
 * saying why it could not be reached. */
static int http_do(const struct ctl *c, const char *method, const char *path, const char *body,
		   struct reply *r)
{
	char url[2048], cerr[CURL_ERROR_SIZE] = "";
	snprintf(url, sizeof url, "%s%s", c->server, path);
	r->status = 0;
	CURL *h = curl_easy_init();
	if (!h) {
		fprintf(stderr, "vgpuctl: cannot initialise libcurl\n");
		return -1;
	}
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Accept: application/json");
	/* A daemon with access control on wants a bearer token (SPEC section 9). */
	const char *token = getenv("VGPUCTL_TOKEN");
	char auth[4096];
	if (token && *token && strlen(token) < sizeof auth - 32) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		hdr = curl_slist_append(hdr, auth);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM for resolver timeouts */
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK) {
		fprintf(stderr, "vgpuctl: cannot reach the daemon at %s: %s\n", c->server,
			cerr[0] ? cerr : curl_easy_strerror(rc));
		return -1;
	}
	buf_putc(&r->body, '\0'); /* an empty body still reads as "" */
	r->body.len--;
	return 0;
}

/* The daemon's errors are {"Error":"..."}; a Kubernetes-style Status body
 * carries "message". Anything else falls back to the HTTP status. */
static void error_text(const struct reply *r, const cJSON *j, char *out, size_t len)
{
	const cJSON *e = cJSON_GetObjectItem(j, "Error");
	if (!cJSON_IsString(e) || !e->valuestring[0])
		e = cJSON_GetObjectItem(j, "message");
	if (cJSON_IsString(e) && e->valuestring[0])
		snprintf(out, len, "%s", e->valuestring);
	else
		snprintf(out, len, "HTTP %ld", r->status);
}

int call(const struct ctl *c, const char *method, const char *path, const char *body,
	 const char *what, cJSON **out)
{
	struct reply r = {0, BUF_INIT};
	if (out)
		*out = NULL;
	if (http_do(c, method, path, body, &r)) {
		buf_free(&r.body);
		return -1;
	}
	cJSON *j = cJSON_ParseWithLength(r.body.data, r.body.len);
	const cJSON *e = cJSON_GetObjectItem(j, "Error");
	/* A 200 carrying a non-empty Error is how extender-style routes fail. */
	bool failed = r.status < 200 || r.status > 299 || (cJSON_IsString(e) && e->valuestring[0]);
	if (failed) {
		char msg[1024];
		error_text(&r, j, msg, sizeof msg);
		fprintf(stderr, "vgpuctl: %s%s%s\n", what ? what : "", what ? ": " : "", msg);
		cJSON_Delete(j);
	} else if (out) {
		*out = j;
	} else {
		cJSON_Delete(j);
	}
	buf_free(&r.body);
	return failed ? EXIT_REFUSED : EXIT_OK;
}

int call_quiet(const struct ctl *c, const char *method, const char *path, const char *body,
	       long *status, cJSON **out)
{
	struct reply r = {0, BUF_INIT};
	*out = NULL;
	if (http_do(c, method, path, body, &r)) {
		buf_free(&r.body);
		return -1;
	}
	*status = r.status;
	*out = cJSON_ParseWithLength(r.body.data, r.body.len);
	buf_free(&r.body);
	return 0;
}

int ref_parse(const struct command *cmd, const struct args *a, const char *pos, struct ref *r)
{
	const char *slash = strchr(pos, '/'), *name = slash ? slash + 1 : pos;
	size_t nslen = slash ? (size_t)(slash - pos) : 0;
	if (slash && a->ns)
		return usage_error(cmd, "give the namespace once: NS/NAME or -n NS, not both");
	if (!*name || strchr(name, '/') || (slash && !nslen))
		return usage_error(cmd, "expected NAME or NS/NAME, got \"%s\"", pos);
	if (nslen >= sizeof r->ns || strlen(name) >= sizeof r->name)
		return usage_error(cmd, "the name \"%s\" is too long", pos);
	if (slash)
		snprintf(r->ns, sizeof r->ns, "%.*s", (int)nslen, pos);
	else
		snprintf(r->ns, sizeof r->ns, "%s", a->ns ? a->ns : "default");
	snprintf(r->name, sizeof r->name, "%s", name);
	snprintf(r->noun, sizeof r->noun, "pod/%s/%s", r->ns, r->name);
	return 0;
}

char *ref_path(const char *prefix, const struct ref *r, const char *suffix)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, prefix);
	put_escaped(&b, r->ns);
	buf_putc(&b, '/');
	put_escaped(&b, r->name);
	buf_puts(&b, suffix ? suffix : "");
	return buf_steal(&b);
}
