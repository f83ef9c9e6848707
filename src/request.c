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

/* Suffixes of a Kubernetes quantity: a power of ten, or of two. */
static const struct {
	const char *sfx;
	int exp10, exp2;
} quantity_sfx[] = {{"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},  {"", 0, 0},
		    {"k", 3, 0},   {"M", 6, 0},   {"G", 9, 0},   {"T", 12, 0},
		    {"P", 15, 0},  {"E", 18, 0},  {"Ki", 0, 10}, {"Mi", 0, 20},
		    {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60}};

/* The suffix after the number: a unit, or an exponent "e3" / "E-2". */
static int parse_suffix(const char *s, int *exp10, int *exp2)
{
	for (size_t i = 0; i < sizeof quantity_sfx / sizeof quantity_sfx[0]; i++) {
		if (!strcmp(s, quantity_sfx[i].sfx)) {
			*exp10 = quantity_sfx[i].exp10;
			*exp2 = quantity_sfx[i].exp2;
			return 0;
		}
	}
	char *end;
	if ((*s != 'e' && *s != 'E') ||
	    !(s[1] == '-' || s[1] == '+' || (s[1] >= '0' && s[1] <= '9')))
		return -1;
	errno = 0;
	long e = strtol(s + 1, &end, 10);
	if (*end || errno || end == s + 1 || e < -1000 || e > 1000)
		return -1;
	*exp10 = (int)e;
	*exp2 = 0;
	return 0;
}

/* The digits of [+-]?(D+|D+.D*|.D+) without leading zeros, and how many
 * came after the point; s moves past the number. */
static int parse_number(const char **s, bool *neg, char *digits, size_t len, int *nfrac)
{
	const char *p = *s;
	size_t n = 0;
	bool any = false, point = false;
	*neg = *p == '-';
	p += *p == '-' || *p == '+';
	for (*nfrac = 0; (*p >= '0' && *p <= '9') || (*p == '.' && !point); p++) {
		if (*p == '.') {
			point = true;
			continue;
		}
		any = true;
		*nfrac += point;
		if (n == 0 && *p == '0')
			continue;
		if (n + 1 >= len)
			return -1;
		digits[n++] = *p;
	}
	digits[n] = '\0';
	*s = p;
	return any ? 0 : -1;
}

/* m * 2^exp2 * 10^exp10, exactly, for m < 10^19. */
static enum req_quantity scale(unsigned long long m, int exp2, int exp10, int64_t *out)
{
	typedef unsigned __int128 u128;
	u128 v = (u128)m << exp2, p10 = 1;
	if (exp10 < 0) {
		if (exp10 < -37)
			return REQ_Q_FRACTION;
		for (int i = 0; i < -exp10; i++)
			p10 *= 10;
		if (v % p10)
			return REQ_Q_FRACTION;
		v /= p10;
	}
	for (int i = 0; i < exp10; i++) {
		if (v > (u128)INT64_MAX)
			return REQ_Q_RANGE;
		v *= 10;
	}
	if (v > (u128)INT64_MAX)
		return REQ_Q_RANGE;
	*out = (int64_t)v;
	return REQ_Q_OK;
}

enum req_quantity req_quantity(const char *s, int64_t *out)
{
	char digits[64];
	bool neg;
	int nfrac, exp10, exp2;
	if (!s || parse_number(&s, &neg, digits, sizeof digits, &nfrac) ||
	    parse_suffix(s, &exp10, &exp2))
		return REQ_Q_SYNTAX;
	size_t n = strlen(digits);
	while (n && digits[n - 1] == '0') { /* 1.50 is 15 tenths */
		digits[--n] = '\0';
		exp10++;
	}
	if (n == 0) {
		*out = 0;
		return REQ_Q_OK;
	}
	if (neg)
		return REQ_Q_NEGATIVE;
	if (n > 19)
		return REQ_Q_RANGE;
	return scale(strtoull(digits, NULL, 10), exp2, exp10 - nfrac, out);
}

int req_parse_quantity(const char *s, int64_t *out)
{
	return req_quantity(s, out) == REQ_Q_OK ? 0 : -1;
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
			/* Range first: casting a double beyond int64 is undefined. */
			if (!(q->valuedouble >= 0 && q->valuedouble < 9e15) ||
			    q->valuedouble != (double)(int64_t)q->valuedouble)
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

/* The API server's words for a value it refuses. */
static const char *quantity_error(enum req_quantity q)
{
	switch (q) {
	case REQ_Q_NEGATIVE: return "must be greater than or equal to 0";
	case REQ_Q_FRACTION: return "must be an integer";
	case REQ_Q_RANGE: return "must be less than 9223372036854775808";
	default:
		return "quantities must match the regular expression "
		       "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
	}
}

/* One value: 0, or -1 with the API server's "Invalid value" text. */
static int check_value(const cJSON *v, char *err, size_t errlen)
{
	char text[64];
	int64_t n;
	if (cJSON_IsString(v))
		snprintf(text, sizeof text, "%s", v->valuestring);
	else if (cJSON_IsNumber(v))
		snprintf(text, sizeof text, "%.17g", v->valuedouble);
	else
		snprintf(text, sizeof text, "%s", cJSON_IsNull(v) ? "null" : "(not a string)");
	enum req_quantity q =
	    cJSON_IsString(v) || cJSON_IsNumber(v) ? req_quantity(text, &n) : REQ_Q_SYNTAX;
	if (q == REQ_Q_OK)
		return 0;
	snprintf(err, errlen, "Invalid value: \"%s\": %s", text, quantity_error(q));
	return -1;
}

int req_validate_pod(const cJSON *pod, char *err, size_t errlen)
{
	const char *name = json_str(json_path(pod, "metadata", NULL), "name");
	const char *where[] = {"limits", "requests"};
	const cJSON *ctr, *q;
	char why[256];
	int i = 0;
	cJSON_ArrayForEach (ctr, json_path(pod, "spec", "containers")) {
		const cJSON *res = cJSON_GetObjectItemCaseSensitive(ctr, "resources");
		for (int w = 0; w < 2; w++) {
			cJSON_ArrayForEach (q, cJSON_GetObjectItemCaseSensitive(res, where[w])) {
				if (!q->string || strncmp(q->string, "volcano.sh/vgpu-", 16) != 0 ||
				    check_value(q, why, sizeof why) == 0)
					continue;
				snprintf(
				    err, errlen,
				    "Pod \"%s\" is invalid: spec.containers[%d].resources.%s[%s]: "
				    "%s",
				    name ? name : "", i, where[w], q->string, why);
				return -1;
			}
		}
		i++;
	}
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
