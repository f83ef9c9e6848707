/* license: see license.h. */
#include "vx/license.h"
#include "vx/volcano.h"
#include "vx/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void license_conf_free(struct license_conf *c)
{
	for (int i = 0; i < c->nns; i++)
		free(c->namespaces[i]);
	free(c->namespaces);
	free(c->name);
	memset(c, 0, sizeof *c);
}

void license_set_init(struct license_set *s, struct license_conf *confs, int n)
{
	s->n = n;
	s->l = xcalloc((size_t)n, sizeof *s->l);
	for (int i = 0; i < n; i++)
		s->l[i] = confs[i];
	hmap_init(&s->by_ns);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < s->l[i].nns; j++)
			if (!hmap_get(&s->by_ns, s->l[i].namespaces[j]))
				hmap_put(&s->by_ns, s->l[i].namespaces[j], &s->l[i]);
}

void license_set_free(struct license_set *s)
{
	for (int i = 0; i < s->n; i++)
		license_conf_free(&s->l[i]);
	free(s->l);
	hmap_free(&s->by_ns);
	memset(s, 0, sizeof *s);
}

int license_by_name(const struct license_set *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->l[i].name, name))
			return i;
	return -1;
}

int license_of(const struct license_set *s, const char *ns, const char *billing)
{
	if (!ns || (billing && strcmp(billing, LICENSE_BILLING_CREDITS) == 0))
		return -1;
	const struct license_conf *l = hmap_get(&s->by_ns, ns);
	return l ? (int)(l - s->l) : -1;
}

int64_t license_next_reset(int64_t now_s, int reset_min)
{
	int64_t day = now_s - ((now_s % SECONDS_PER_DAY) + SECONDS_PER_DAY) % SECONDS_PER_DAY;
	int64_t at = day + (int64_t)reset_min * 60;
	return at > now_s ? at : at + SECONDS_PER_DAY;
}

bool license_before(int prio_a, int64_t created_a, const char *key_a, int prio_b, int64_t created_b,
		    const char *key_b)
{
	if (prio_a != prio_b)
		return prio_a > prio_b;
	if (created_a != created_b)
		return created_a < created_b;
	return strcmp(key_a, key_b) < 0;
}

void license_refusal(char *out, size_t len, const struct license_conf *l, double used_h,
		     int64_t to_reset_s)
{
	int64_t h = to_reset_s / 3600, m = (to_reset_s % 3600 + 59) / 60;
	if (m == 60) {
		h++;
		m = 0;
	}
	snprintf(
	    out, len,
	    "licence %s: %.1f of %.4g vGPU-hours used today; resets in %lldh%02lldm (%02d:%02d "
	    "UTC); set %s=%s to run now",
	    l->name, used_h, l->daily_hours, (long long)h, (long long)m, l->reset_min / 60,
	    l->reset_min % 60, VX_ANN_BILLING, LICENSE_BILLING_CREDITS);
}
