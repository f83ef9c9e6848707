/* auth: who may use the admin API and the dashboard (SPEC section 9).
 * Dev mode checks bearer tokens against --admin-token-file; cluster mode asks
 * the API server (TokenReview, then SubjectAccessReview) and caches both
 * answers for a few seconds, so the dashboard's refresh costs no API calls.
 * Which routes need what is decided by the caller (admin.c); the extender
 * verbs and the probes never come here. */
#ifndef VX_AUTH_H
#define VX_AUTH_H

#include <stdbool.h>
#include <stddef.h>

struct kube_client;

/* The permission on pods an admin route needs. */
enum auth_verb { AUTH_LIST, AUTH_GET, AUTH_UPDATE, AUTH_DELETE, AUTH_CREATE };

struct auth_opts {
	const char *token_file;   /* dev mode: "token" or "token,user" per line */
	bool insecure;            /* --insecure-admin: no access control at all */
	const char *listen;       /* ADDR:PORT; open without tokens only on loopback */
	struct kube_client *kube; /* cluster mode: whom to ask; NULL in dev mode */
	int cache_seconds;        /* cluster mode: how long answers are reused (default 10) */
};

struct auth_answer {
	int status;     /* 200 allowed, 401 no or bad token, 403 denied, 503 cannot tell */
	char user[128]; /* who asked ("anonymous" when access control is off) */
	char msg[1024]; /* why not, for {"Error": ...} */
};

/* NULL with err set when the settings are unusable: an unreadable or empty
 * token file, or no access control on a non-loopback address without
 * --insecure-admin (the daemon exits 2). */
struct auth *auth_new(const struct auth_opts *o, char *err, size_t errlen);
void auth_free(struct auth *a);
/* "off", "tokens" or "kubernetes", for the start-up log line. */
const char *auth_mode(const struct auth *a);
/* header: the request's Authorization header or NULL. ns NULL: every
 * namespace; name NULL: any pod. Never logs the token. */
void auth_check(struct auth *a, const char *header, enum auth_verb v, const char *ns,
		const char *name, struct auth_answer *out);
/* Whether ADDR:PORT accepts connections from this host only. */
bool auth_listen_is_loopback(const char *listen);
/* Equal strings, in time that depends on their lengths only. */
bool auth_ct_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif
