/* authkube: cluster mode's half of auth.c, private to it: TokenReview and
 * SubjectAccessReview through the daemon's kube client, with a short cache. */
#ifndef VX_AUTHKUBE_H
#define VX_AUTHKUBE_H

#include "vx/auth.h"

struct authkube;

struct authkube *authkube_new(struct kube_client *kc, int cache_seconds);
void authkube_free(struct authkube *k);
void authkube_check(struct authkube *k, const char *tok, size_t len, enum auth_verb v,
		    const char *ns, const char *name, struct auth_answer *out);

#endif
