/* license: time-shared vGPU licences (SPEC section 6). An organisation's
 * licence covers namespaces, grants a daily budget of vGPU-hours (reset at
 * resetUTC) and a cap on vGPUs running at once; its waiting pods go by
 * priority (higher first), then age. This module owns the configured
 * licences and the pure rules (which licence covers a pod, the next reset,
 * the waiting order, the refusal text); the model (cluster_license.c) keeps
 * each licence's slots and hours where GPU usage is charged. */
#ifndef VX_LICENSE_H
#define VX_LICENSE_H

#include "vx/hmap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LICENSE_BILLING_CREDITS "credits"
#define SECONDS_PER_DAY 86400

struct license_conf {
	char *name;
	char **namespaces;
	int nns;
	double daily_hours;
	int max_slots;
	int reset_min; /* minutes after 00:00 UTC */
};

struct license_set {
	struct license_conf *l;
	int n;
	struct hmap by_ns;
};

/* Takes over the contents of confs[0..n) (the array stays the caller's). */
void license_set_init(struct license_set *s, struct license_conf *confs, int n);
void license_set_free(struct license_set *s);
void license_conf_free(struct license_conf *c);
/* The licence covering a pod of namespace ns and billing annotation, or -1
 * (not covered, or billed to credits). */
int license_of(const struct license_set *s, const char *ns, const char *billing);
/* The index of the licence named name, or -1. */
int license_by_name(const struct license_set *s, const char *name);

/* The first reset strictly after now (unix seconds). */
int64_t license_next_reset(int64_t now_s, int reset_min);
/* Whether pod a (priority, created, key) goes before pod b. */
bool license_before(int prio_a, int64_t created_a, const char *key_a, int prio_b, int64_t created_b,
		    const char *key_b);
/* "licence acme: 96.0 of 96 vGPU-hours used today; resets in 3h12m (00:00
 * UTC); set vgpu-extender.io/billing=credits to run now". */
void license_refusal(char *out, size_t len, const struct license_conf *l, double used_h,
		     int64_t to_reset_s);

#endif
