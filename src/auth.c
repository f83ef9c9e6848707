/* auth: see auth.h. Dev mode's tokens are read once at start; every
 * presented token is compared with all of them in constant time, so neither
 * which token matched nor how much of it did shows in the answer's timing.
 * Cluster mode's reviews live in authkube.c. Tokens are never logged. */
#include "vx/auth.h"
#include "authkube.h"
#include "vx/xalloc.h"
#include "vx/yamljson.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TOKENS 1024

struct dev_token {
	char *token;
	size_t len;
	char *user;
};

struct auth {
	bool off; /* no access control */
	struct dev_token *tokens;
	int ntokens;
	struct authkube *kube; /* cluster mode */
};

bool auth_ct_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen > blen ? alen : blen;
	unsigned char diff = (unsigned char)(alen != blen);
	for (size_t i = 0; i < n; i++) {
		unsigned char x = i < alen ? (unsigned char)a[i] : 0;
		unsigned char y = i < blen ? (unsigned char)b[i] : 0;
		diff |= (unsigned char)(x ^ y);
	}
	return diff == 0;
}

bool auth_listen_is_loopback(const char *listen)
{
	char host[256];
	const char *colon = listen ? strrchr(listen, ':') : NULL;
	size_t n = colon ? (size_t)(colon - listen) : 0;
	if (n >= 2 && listen[0] == '[' && listen[n - 1] == ']') {
		listen++;
		n -= 2;
	}
	if (!colon || n == 0 || n >= sizeof host)
		return false; /* ":8888" listens on every address */
	memcpy(host, listen, n);
	host[n] = '\0';
	if (!strcasecmp(host, "localhost"))
		return true;
	struct in_addr v4;
	struct in6_addr v6;
	if (inet_pton(AF_INET, host, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

/* One line of the token file: "token" or "token,user"; blank lines and
 * lines starting with '#' are skipped. */
static void add_token(struct auth *a, char *line, int lineno)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	if (!*line || *line == '#')
		return;
	char *comma = strchr(line, ','), name[32];
	if (comma)
		*comma = '\0';
	snprintf(name, sizeof name, "token-line-%d", lineno);
	struct dev_token *t = &a->tokens[a->ntokens++];
	t->token = xstrdup(line);
	t->len = strlen(line);
	t->user = xstrdup(comma && comma[1] ? comma + 1 : name);
}

static int load_tokens(struct auth *a, const char *path, char *err, size_t errlen)
{
	size_t len;
	char *text = yj_read_file(path, &len, err, errlen);
	if (!text)
		return -1;
	a->tokens = xcalloc(MAX_TOKENS, sizeof *a->tokens);
	int lineno = 0;
	for (char *l = text, *nl; l && a->ntokens < MAX_TOKENS; l = nl ? nl + 1 : NULL) {
		if ((nl = strchr(l, '\n')))
			*nl = '\0';
		add_token(a, l, ++lineno); /* counted like an editor, blank lines too */
	}
	free(text);
	if (a->ntokens == 0) {
		snprintf(err, errlen, "--admin-token-file %s: no token in the file", path);
		return -1;
	}
	return 0;
}

struct auth *auth_new(const struct auth_opts *o, char *err, size_t errlen)
{
	struct auth *a = xcalloc(1, sizeof *a);
	/* Without tokens or a cluster, loopback is the one safe place to be open. */
	bool local = !o->kube && !o->token_file && auth_listen_is_loopback(o->listen);
	if (o->insecure || local) {
		a->off = true;
	} else if (o->kube) {
		a->kube = authkube_new(o->kube, o->cache_seconds > 0 ? o->cache_seconds : 10);
	} else if (o->token_file) {
		if (load_tokens(a, o->token_file, err, errlen)) {
			auth_free(a);
			return NULL;
		}
	} else {
		snprintf(err, errlen,
			 "refusing to serve the admin API and dashboard on %s without access "
			 "control: give --admin-token-file FILE, listen on loopback, or pass "
			 "--insecure-admin",
			 o->listen);
		auth_free(a);
		return NULL;
	}
	return a;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	for (int i = 0; i < a->ntokens; i++) {
		free(a->tokens[i].token);
		free(a->tokens[i].user);
	}
	free(a->tokens);
	authkube_free(a->kube);
	free(a);
}

const char *auth_mode(const struct auth *a)
{
	return a->off ? "off" : a->kube ? "kubernetes" : "tokens";
}

/* The bearer token of an Authorization header, or NULL. */
static const char *bearer(const char *header, size_t *len)
{
	if (!header || strncasecmp(header, "Bearer ", 7) != 0)
		return NULL;
	const char *t = header + 7;
	while (*t == ' ')
		t++;
	*len = strlen(t);
	while (*len && t[*len - 1] == ' ')
		(*len)--;
	return *len ? t : NULL;
}

static void check_dev(const struct auth *a, const char *tok, size_t len, struct auth_answer *out)
{
	const struct dev_token *hit = NULL;
	for (int i = 0; i < a->ntokens; i++) /* no early exit: constant time */
		if (auth_ct_equal(tok, len, a->tokens[i].token, a->tokens[i].len))
			hit = &a->tokens[i];
	if (!hit) {
		out->status = 401;
		snprintf(out->msg, sizeof out->msg, "invalid bearer token");
		return;
	}
	out->status = 200;
	snprintf(out->user, sizeof out->user, "%s", hit->user);
}

void auth_check(struct auth *a, const char *header, enum auth_verb v, const char *ns,
		const char *name, struct auth_answer *out)
{
	size_t len = 0;
	memset(out, 0, sizeof *out);
	if (a->off) {
		out->status = 200;
		snprintf(out->user, sizeof out->user, "anonymous");
		return;
	}
	const char *tok = bearer(header, &len);
	if (!tok) {
		out->status = 401;
		snprintf(out->msg, sizeof out->msg,
			 "this route needs a bearer token (Authorization: Bearer TOKEN)");
		return;
	}
	if (a->kube)
		authkube_check(a->kube, tok, len, v, ns, name, out);
	else
		check_dev(a, tok, len, out);
}
