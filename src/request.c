/* request: turns a Pod manifest into a req_pod (SPEC section 2). Limits win
 * over requests, init containers are ignored, and every value is checked so
 * that a typo fails the pod with a message instead of scheduling it wrong. */
#include "vx/request.h"
#include "vx/json.h"
#include "vx/volcano.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int req_parse_quantity(const char *s, int64_t *out)
{
	static const struct {
		const char *sfx;
		int64_t mul;
	} sfx[] = {{"Ki", 1LL << 10},   {"Mi", 1LL << 20},      {"Gi", 1LL << 30},
		   {"Ti", 1LL << 40},   {"k", 1000LL},          {"M", 1000000LL},
		   {"G", 1000000000LL}, {"T", 1000000000000LL}, {"", 1}};
	char *end;
	if (!s || !*s)
		return -1;
	errno = 0;
	long long whole = strtoll(s, &end, 10);
	if (end == s || whole < 0 || errno)
		return -1;
	if (strcmp(end, "m") == 0) { /* milli: only whole multiples of 1000 */
		if (whole % 1000)
			return -1;
		*out = whole / 1000;
		return 0;
	}
	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
		if (strcmp(end, sfx[i].sfx) == 0) {
			if (whole > INT64_MAX / sfx[i].mul)
				return -1;
			*out = whole * sfx[i].mul;
			return 0;
		}
	}
	return -1;
}

enum vx_policy req_parse_policy(const char *s)
{
	if (s && strcasecmp(s, "binpack") == 0)
		return POLICY_BINPACK;
	if (s && strcasecmp(s, "spread") == 0)
		return POLICY_SPREAD;
	return POLICY_DEFAULT;
}

/* Looks a resource up in limits, then requests. Returns 1 found, 0 absent,
 * -1 present but not a whole non-negative quantity. */
static int resource(const cJSON *ctr, const char *name, int64_t *v)
{
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(ctr, "resources");
	const char *where[] = {"limits", "requests"};
	for (int i = 0; i < 2; i++) {
		const cJSON *q = json_path(res, where[i], name);
		if (!q)
			continue;
		if (cJSON_IsNumber(q)) {
			if (q->valuedouble < 0 || q->valuedouble != (double)(int64_t)q->valuedouble)
				return -1;
			*v = (int64_t)q->valuedouble;
			return 1;
		}
		return cJSON_IsString(q) && req_parse_quantity(q->valuestring, v) == 0 ? 1 : -1;
	}
	return 0;
}

static int parse_ctr(const cJSON *ctr, struct req_ctr *c, char *err, size_t errlen)
{
	const char *name = json_str(ctr, "name");
	int64_t num = 0, mem = 0, pct = 0, cores = 0;
	int hn = resource(ctr, RES_NUMBER, &num), hm = resource(ctr, RES_MEMORY, &mem);
	int hp = resource(ctr, RES_MEMPCT, &pct), hc = resource(ctr, RES_CORES, &cores);
	const char *bad = hn < 0   ? RES_NUMBER
			  : hm < 0 ? RES_MEMORY
			  : hp < 0 ? RES_MEMPCT
			  : hc < 0 ? RES_CORES
				   : NULL;
	memset(c, 0, sizeof *c);
	if (bad) {
		snprintf(err, errlen, "container %s: %s is not a whole non-negative quantity",
			 name ? name : "?", bad);
		return -1;
	}
	if (!hn && !hm && !hp && !hc)
		return 0;
	if (!hn)
		num = 1;
	if (num > REQ_MAX_VGPUS) {
		snprintf(err, errlen, "container %s: %s is above %d", name ? name : "?", RES_NUMBER,
			 REQ_MAX_VGPUS);
		return -1;
	}
	if (cores > VOLCANO_CORES_PER_GPU || pct > 100) {
		snprintf(err, errlen, "container %s: %s is above %d", name ? name : "?",
			 cores > VOLCANO_CORES_PER_GPU ? RES_CORES : RES_MEMPCT, 100);
		return -1;
	}
	c->nums = (int)num;
	c->mem_mib = mem;
	c->mem_pct = mem > 0 ? 0 : pct > 0 ? (int)pct : 100;
	c->cores = (int)cores;
	return 0;
}

static void parse_list(const char *s, struct req_list *l)
{
	l->n = 0;
	l->items = NULL;
	if (!s)
		return;
	char *copy = strdup(s), *save = NULL;
	int cap = 1;
	for (const char *p = s; *p; p++)
		cap += *p == ',';
	l->items = calloc((size_t)cap, sizeof *l->items);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t')
			t++;
		size_t n = strlen(t);
		while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
			t[--n] = '\0';
		if (n)
			l->items[l->n++] = strdup(t);
	}
	free(copy);
}

static void free_list(struct req_list *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static void summarize(struct req_pod *r)
{
	for (int i = 0; i < r->nctr; i++) {
		const struct req_ctr *c = &r->ctrs[i];
		if (!c->nums)
			continue;
		r->is_vgpu = true;
		r->total_vgpus += c->nums;
		if (c->nums > r->max_nums)
			r->max_nums = c->nums;
		if (c->mem_mib > r->max_mem_mib)
			r->max_mem_mib = c->mem_mib;
		if (c->cores > r->max_cores)
			r->max_cores = c->cores;
	}
}

int req_parse_pod(const cJSON *pod, struct req_pod *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	const cJSON *ctrs = json_path(pod, "spec", "containers");
	if (ctrs && !cJSON_IsArray(ctrs)) {
		snprintf(err, errlen, "spec.containers is not an array");
		return -1;
	}
	int n = cJSON_GetArraySize(ctrs);
	r->ctrs = calloc(n ? (size_t)n : 1, sizeof *r->ctrs);
	r->nctr = n;
	int i = 0;
	const cJSON *c;
	cJSON_ArrayForEach (c, ctrs) {
		if (parse_ctr(c, &r->ctrs[i++], err, errlen)) {
			req_free(r);
			return -1;
		}
	}
	summarize(r);
	parse_list(json_annotation(pod, ANN_USE_GPUTYPE), &r->use_types);
	parse_list(json_annotation(pod, ANN_NOUSE_GPUTYPE), &r->nouse_types);
	parse_list(json_annotation(pod, ANN_USE_UUID), &r->use_uuids);
	parse_list(json_annotation(pod, ANN_NOUSE_UUID), &r->nouse_uuids);
	r->node_policy = req_parse_policy(json_annotation(pod, VX_ANN_NODE_POLICY));
	r->gpu_policy = req_parse_policy(json_annotation(pod, VX_ANN_GPU_POLICY));
	return 0;
}

void req_free(struct req_pod *r)
{
	free(r->ctrs);
	free_list(&r->use_types);
	free_list(&r->nouse_types);
	free_list(&r->use_uuids);
	free_list(&r->nouse_uuids);
	memset(r, 0, sizeof *r);
}

int64_t req_mem_on(const struct req_ctr *c, int64_t card_mib)
{
	return c->mem_mib > 0 ? c->mem_mib : card_mib * c->mem_pct / 100;
}

static bool any_substr(const struct req_list *l, const char *s)
{
	for (int i = 0; i < l->n; i++)
		if (strcasestr(s, l->items[i]))
			return true;
	return false;
}

static bool any_equal(const struct req_list *l, const char *s)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(s, l->items[i]) == 0)
			return true;
	return false;
}

bool req_type_allowed(const struct req_pod *r, const char *type)
{
	if (r->use_types.n && !any_substr(&r->use_types, type))
		return false;
	return !(r->nouse_types.n && any_substr(&r->nouse_types, type));
}

bool req_uuid_allowed(const struct req_pod *r, const char *uuid)
{
	if (r->use_uuids.n && !any_equal(&r->use_uuids, uuid))
		return false;
	return !(r->nouse_uuids.n && any_equal(&r->nouse_uuids, uuid));
}
