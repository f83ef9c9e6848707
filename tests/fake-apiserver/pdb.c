/* pdb.c: policy/v1 PodDisruptionBudgets as the real kube-apiserver's
 * eviction subresource honours them, and their validation on writes. There
 * is no disruption controller: nothing writes a budget's status; each
 * eviction counts, at that moment, the pods of the namespace the budget
 * selects (expected) and those of them Running and not being deleted
 * (healthy; readiness is not modelled). Runs under fk_srv.mu. */
#include "fake.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str_of(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static const char *pod_label(const struct fk_ver *v, const char *key)
{
	for (size_t i = 0; i < v->nlabels; i++)
		if (strcmp(v->labels[2 * i], key) == 0)
			return v->labels[2 * i + 1];
	return NULL;
}

static int in_values(const cJSON *values, const char *val)
{
	const cJSON *it;
	cJSON_ArrayForEach (it, values)
		if (val && cJSON_IsString(it) && strcmp(it->valuestring, val) == 0)
			return 1;
	return 0;
}

/* One matchExpressions entry: 1 matches, 0 does not, -1 invalid. */
static int expr_matches(const cJSON *ex, const struct fk_ver *pod)
{
	const char *key = str_of(ex, "key"), *op = str_of(ex, "operator");
	if (!key || !op)
		return -1;
	const char *val = pod_label(pod, key);
	const cJSON *values = cJSON_GetObjectItemCaseSensitive(ex, "values");
	if (strcmp(op, "In") == 0)
		return in_values(values, val);
	if (strcmp(op, "NotIn") == 0)
		return !in_values(values, val);
	if (strcmp(op, "Exists") == 0)
		return val != NULL;
	if (strcmp(op, "DoesNotExist") == 0)
		return val == NULL;
	return -1;
}

/* A budget's spec.selector against a pod's labels. An absent, empty or
 * invalid selector selects nothing: the eviction subresource treats it so. */
static int selects(const cJSON *sel, const struct fk_ver *pod)
{
	const cJSON *ml = cJSON_GetObjectItemCaseSensitive(sel, "matchLabels");
	const cJSON *me = cJSON_GetObjectItemCaseSensitive(sel, "matchExpressions");
	if (!cJSON_IsObject(ml))
		ml = NULL;
	if (!cJSON_IsArray(me))
		me = NULL;
	int terms = 0, ok = 1;
	const cJSON *it;
	cJSON_ArrayForEach (it, ml) {
		const char *val = pod_label(pod, it->string);
		terms++;
		if (!cJSON_IsString(it))
			return 0;
		ok &= val && strcmp(val, it->valuestring) == 0;
	}
	cJSON_ArrayForEach (it, me) {
		int m = expr_matches(it, pod);
		terms++;
		if (m < 0)
			return 0;
		ok &= m;
	}
	return terms > 0 && ok;
}

static int being_deleted(const struct fk_ver *v)
{
	cJSON *t = cJSON_ParseWithLength(v->text, v->len);
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(t, "metadata");
	int del = cJSON_GetObjectItemCaseSensitive(md, "deletionTimestamp") != NULL;
	cJSON_Delete(t);
	return del;
}

static const char *pod_phase(const struct fk_kind *pods, const struct fk_ver *v)
{
	for (int i = 0; i < pods->nfields; i++)
		if (strcmp(pods->fields[i], "status.phase") == 0)
			return v->fields[i];
	return "";
}

/* Counts the pods of ns the selector takes, and the healthy ones. */
static void count_pods(struct fk_kind *pods, const char *ns, const cJSON *sel, int *expected,
		       int *healthy)
{
	char prefix[300];
	int pl = snprintf(prefix, sizeof prefix, "%s/", ns);
	*expected = *healthy = 0;
	fk_kind_sort(pods);
	for (size_t i = fk_kind_lower(pods, prefix); i < pods->n; i++) {
		const struct fk_ver *v = pods->vec[i]->cur;
		if (strncmp(pods->vec[i]->key, prefix, (size_t)pl) != 0)
			break;
		if (!selects(sel, v))
			continue;
		(*expected)++;
		if (strcmp(pod_phase(pods, v), "Running") == 0 && !being_deleted(v))
			(*healthy)++;
	}
}

/* An int-or-string: an integer >= 0 or "N%" (N <= 100 when max100).
 * Returns 0 and the value scaled to `of` (a percentage rounds up), or -1. */
static int int_or_percent(const cJSON *v, int of, int max100, int *out)
{
	if (cJSON_IsNumber(v)) {
		if (v->valuedouble < 0 || v->valuedouble > INT_MAX)
			return -1;
		*out = v->valueint;
		return 0;
	}
	if (!cJSON_IsString(v))
		return -1;
	char *end;
	const char *s = v->valuestring;
	long pct = strtol(s, &end, 10);
	if (end == s || s[0] < '0' || s[0] > '9' || strcmp(end, "%") != 0 || pct > INT_MAX / 100 ||
	    (max100 && pct > 100))
		return -1;
	*out = (int)((pct * of + 99) / 100);
	return 0;
}

/* The budget's desiredHealthy for `expected` matching pods. */
static int desired_healthy(const cJSON *spec, int expected)
{
	const cJSON *min = cJSON_GetObjectItemCaseSensitive(spec, "minAvailable");
	const cJSON *max = cJSON_GetObjectItemCaseSensitive(spec, "maxUnavailable");
	int n = 0;
	if (min && int_or_percent(min, expected, 1, &n) == 0)
		return n;
	if (max && int_or_percent(max, expected, 1, &n) == 0)
		return expected - n;
	return 0;
}

static void refuse(struct fk_err *err, const char *pdb, int desired, int healthy)
{
	/* the real answer: no Retry-After, one DisruptionBudget cause */
	fk_err_set(err, 429, "TooManyRequests",
		   "Cannot evict pod as it would violate the pod's disruption budget.");
	snprintf(err->cause_reason, sizeof err->cause_reason, "DisruptionBudget");
	snprintf(err->cause_msg, sizeof err->cause_msg,
		 "The disruption budget %.200s needs %d healthy pods and has %d currently", pdb,
		 desired, healthy);
}

/* The budget of the pod's namespace that selects it: 0 none, 1 one (its
 * parsed tree in *out), 2 more than one. */
static int find_budget(const struct fk_ver *pod, cJSON **out)
{
	struct fk_kind *kb = &fk_srv.kinds[FK_PDB];
	char prefix[300];
	int pl = snprintf(prefix, sizeof prefix, "%s/", pod->ns), found = 0;
	*out = NULL;
	fk_kind_sort(kb);
	for (size_t i = fk_kind_lower(kb, prefix); i < kb->n; i++) {
		const struct fk_ver *b = kb->vec[i]->cur;
		if (strncmp(kb->vec[i]->key, prefix, (size_t)pl) != 0)
			break;
		cJSON *t = cJSON_ParseWithLength(b->text, b->len);
		const cJSON *sel = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(t, "spec"), "selector");
		if (!selects(sel, pod)) {
			cJSON_Delete(t);
			continue;
		}
		if (++found > 1) {
			cJSON_Delete(t);
			cJSON_Delete(*out);
			*out = NULL;
			return 2;
		}
		*out = t;
	}
	return found;
}

int fk_pdb_allows(struct fk_kind *pods, const struct fk_ver *pod, struct fk_err *err)
{
	const char *phase = pod_phase(pods, pod);
	/* a pod not running yet or any more, or already going, disrupts nothing */
	if (strcmp(phase, "Pending") == 0 || strcmp(phase, "Succeeded") == 0 ||
	    strcmp(phase, "Failed") == 0 || being_deleted(pod))
		return 0;
	cJSON *pdb = NULL;
	int n = find_budget(pod, &pdb);
	if (n == 2) {
		/* the real server's answer here is a Status without a reason */
		fk_err_set(err, 500, "",
			   "This pod has more than one PodDisruptionBudget, which the eviction "
			   "subresource does not support.");
		return -1;
	}
	if (n == 0)
		return 0;
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pdb, "spec");
	int expected, healthy;
	count_pods(pods, pod->ns, cJSON_GetObjectItemCaseSensitive(spec, "selector"), &expected,
		   &healthy);
	int desired = desired_healthy(spec, expected);
	int rc = 0;
	if (healthy - desired < 1) {
		refuse(err, str_of(cJSON_GetObjectItemCaseSensitive(pdb, "metadata"), "name"),
		       desired, healthy);
		rc = -1;
	}
	cJSON_Delete(pdb);
	return rc;
}

static int bad_value(struct fk_err *err, const struct fk_kind *k, const char *name,
		     const char *field, const cJSON *v, const char *why)
{
	char *val = cJSON_PrintUnformatted(v);
	fk_err_set(err, 422, "Invalid", "%s.%s \"%s\" is invalid: %s: Invalid value: %s: %s",
		   k->kind, k->group, name, field, val ? val : "?", why);
	fk_err_details(err, k, k->kind, name);
	free(val);
	return -1;
}

int fk_pdb_validate(const struct fk_kind *k, const cJSON *obj, const char *name, struct fk_err *err)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	const cJSON *min = cJSON_GetObjectItemCaseSensitive(spec, "minAvailable");
	const cJSON *max = cJSON_GetObjectItemCaseSensitive(spec, "maxUnavailable");
	if (min && max)
		return bad_value(err, k, name, "spec", spec,
				 "minAvailable and maxUnavailable cannot be both set");
	const char *fields[] = {"spec.minAvailable", "spec.maxUnavailable"};
	const cJSON *vals[] = {min, max};
	for (int i = 0; i < 2; i++) {
		int n;
		if (vals[i] && int_or_percent(vals[i], 100, 0, &n) != 0)
			return bad_value(err, k, name, fields[i], vals[i],
					 cJSON_IsNumber(vals[i])
					     ? "must be greater than or equal to 0"
					     : "must be an integer or percentage (e.g '5%')");
		if (vals[i] && int_or_percent(vals[i], 100, 1, &n) != 0)
			return bad_value(err, k, name, fields[i], vals[i],
					 "must not be greater than 100%");
	}
	return 0;
}
