/* patch.c: the patch formats the fake API server accepts.
 * fk_merge_patch: RFC 7386 JSON merge patch (also used for strategic merge
 * patch, which is the same for maps such as metadata, annotations, status).
 * fk_json_patch: RFC 6902 JSON patch (add, remove, replace, move, copy, test)
 * with RFC 6901 pointers. Both work on cJSON trees in place. */
#include "fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cJSON *fk_merge_patch(cJSON *target, const cJSON *patch)
{
	if (!cJSON_IsObject(patch)) {
		cJSON_Delete(target);
		return cJSON_Duplicate(patch, 1);
	}
	if (!cJSON_IsObject(target)) {
		cJSON_Delete(target);
		target = cJSON_CreateObject();
	}
	const cJSON *m;
	cJSON_ArrayForEach (m, patch) {
		if (!m->string)
			continue;
		if (cJSON_IsNull(m)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, m->string);
			continue;
		}
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(target, m->string);
		if (cur) {
			cJSON *copy = cJSON_Duplicate(cur, 1);
			cJSON *merged = fk_merge_patch(copy, m);
			cJSON_ReplaceItemInObjectCaseSensitive(target, m->string, merged);
		} else {
			cJSON_AddItemToObject(target, m->string, fk_merge_patch(NULL, m));
		}
	}
	return target;
}

/* Splits a JSON pointer into unescaped tokens. Returns the count, -1 if bad. */
static int ptr_split(const char *ptr, char ***out)
{
	*out = NULL;
	if (*ptr == '\0')
		return 0;
	if (*ptr != '/')
		return -1;
	int n = 0;
	char **toks = NULL;
	const char *p = ptr + 1;
	for (;;) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char *t = malloc(len + 1);
		if (!t)
			abort();
		size_t j = 0;
		for (size_t i = 0; i < len; i++) {
			if (p[i] == '~' && i + 1 < len && (p[i + 1] == '0' || p[i + 1] == '1')) {
				t[j++] = p[i + 1] == '0' ? '~' : '/';
				i++;
			} else {
				t[j++] = p[i];
			}
		}
		t[j] = '\0';
		toks = realloc(toks, (size_t)(n + 1) * sizeof *toks);
		if (!toks)
			abort();
		toks[n++] = t;
		if (!e)
			break;
		p = e + 1;
	}
	*out = toks;
	return n;
}

static void toks_free(char **t, int n)
{
	for (int i = 0; i < n; i++)
		free(t[i]);
	free(t);
}

/* Array index token: digits only; "-" gives size when allow_end. */
static int arr_index(const cJSON *arr, const char *tok, int allow_end)
{
	int size = cJSON_GetArraySize(arr);
	if (allow_end && strcmp(tok, "-") == 0)
		return size;
	if (!*tok || strlen(tok) > 9)
		return -1;
	for (const char *c = tok; *c; c++)
		if (*c < '0' || *c > '9')
			return -1;
	if (tok[0] == '0' && tok[1])
		return -1;
	int i = atoi(tok);
	return i <= size ? i : -1;
}

static cJSON *child(cJSON *node, const char *tok)
{
	if (cJSON_IsObject(node))
		return cJSON_GetObjectItemCaseSensitive(node, tok);
	if (cJSON_IsArray(node)) {
		int i = arr_index(node, tok, 0);
		return i >= 0 ? cJSON_GetArrayItem(node, i) : NULL;
	}
	return NULL;
}

/* Resolves all but the last token. */
static cJSON *resolve_parent(cJSON *doc, char **toks, int n)
{
	cJSON *cur = doc;
	for (int i = 0; i < n - 1 && cur; i++)
		cur = child(cur, toks[i]);
	return cur;
}

static cJSON *resolve(cJSON *doc, const char *ptr)
{
	char **toks;
	int n = ptr_split(ptr, &toks);
	if (n < 0)
		return NULL;
	cJSON *cur = doc;
	for (int i = 0; i < n && cur; i++)
		cur = child(cur, toks[i]);
	toks_free(toks, n);
	return cur;
}

/* Detaches the value at ptr; NULL if missing. */
static cJSON *op_remove(cJSON **doc, const char *ptr)
{
	char **toks;
	int n = ptr_split(ptr, &toks);
	if (n < 0)
		return NULL;
	cJSON *res = NULL;
	if (n == 0) {
		res = *doc;
		*doc = NULL;
	} else {
		cJSON *parent = resolve_parent(*doc, toks, n);
		const char *last = toks[n - 1];
		if (cJSON_IsObject(parent)) {
			res = cJSON_DetachItemFromObjectCaseSensitive(parent, last);
		} else if (cJSON_IsArray(parent)) {
			int i = arr_index(parent, last, 0);
			if (i >= 0 && i < cJSON_GetArraySize(parent))
				res = cJSON_DetachItemFromArray(parent, i);
		}
	}
	toks_free(toks, n);
	return res;
}

/* Adds value (taken) at ptr. Returns 0, -1 if the target location is bad. */
static int op_add(cJSON **doc, const char *ptr, cJSON *value)
{
	char **toks;
	int n = ptr_split(ptr, &toks);
	if (n < 0) {
		cJSON_Delete(value);
		return -1;
	}
	int rc = -1;
	if (n == 0) {
		cJSON_Delete(*doc);
		*doc = value;
		value = NULL;
		rc = 0;
	} else {
		cJSON *parent = resolve_parent(*doc, toks, n);
		const char *last = toks[n - 1];
		if (cJSON_IsObject(parent)) {
			if (cJSON_GetObjectItemCaseSensitive(parent, last))
				cJSON_ReplaceItemInObjectCaseSensitive(parent, last, value);
			else
				cJSON_AddItemToObject(parent, last, value);
			value = NULL;
			rc = 0;
		} else if (cJSON_IsArray(parent)) {
			int i = arr_index(parent, last, 1);
			if (i >= 0) {
				if (i == cJSON_GetArraySize(parent))
					cJSON_AddItemToArray(parent, value);
				else
					cJSON_InsertItemInArray(parent, i, value);
				value = NULL;
				rc = 0;
			}
		}
	}
	cJSON_Delete(value);
	toks_free(toks, n);
	return rc;
}

int fk_json_patch(cJSON **doc, const cJSON *ops, char *err, size_t errlen)
{
	if (!cJSON_IsArray(ops)) {
		snprintf(err, errlen, "json patch must be an array of operations");
		return -1;
	}
	const cJSON *op;
	cJSON_ArrayForEach (op, ops) {
		const cJSON *jo = cJSON_GetObjectItemCaseSensitive(op, "op");
		const cJSON *jp = cJSON_GetObjectItemCaseSensitive(op, "path");
		const cJSON *jv = cJSON_GetObjectItemCaseSensitive(op, "value");
		const cJSON *jf = cJSON_GetObjectItemCaseSensitive(op, "from");
		if (!cJSON_IsString(jo) || !cJSON_IsString(jp)) {
			snprintf(err, errlen, "json patch operation needs \"op\" and \"path\"");
			return -1;
		}
		const char *o = jo->valuestring, *path = jp->valuestring;
		if (strcmp(o, "add") == 0 || strcmp(o, "replace") == 0) {
			if (!jv) {
				snprintf(err, errlen, "%s operation does not have a value", o);
				return -1;
			}
			if (strcmp(o, "replace") == 0) {
				cJSON *old = op_remove(doc, path);
				if (!old) {
					snprintf(err, errlen,
						 "replace operation does not apply: doc is missing "
						 "key: %s",
						 path);
					return -1;
				}
				cJSON_Delete(old);
			}
			if (op_add(doc, path, cJSON_Duplicate(jv, 1)) != 0) {
				snprintf(err, errlen,
					 "%s operation does not apply: doc is missing path: %s", o,
					 path);
				return -1;
			}
		} else if (strcmp(o, "remove") == 0) {
			cJSON *old = op_remove(doc, path);
			if (!old) {
				snprintf(
				    err, errlen,
				    "remove operation does not apply: doc is missing path: \"%s\"",
				    path);
				return -1;
			}
			cJSON_Delete(old);
		} else if (strcmp(o, "move") == 0 || strcmp(o, "copy") == 0) {
			if (!cJSON_IsString(jf)) {
				snprintf(err, errlen, "%s operation needs \"from\"", o);
				return -1;
			}
			cJSON *v;
			if (strcmp(o, "move") == 0) {
				v = op_remove(doc, jf->valuestring);
			} else {
				cJSON *src = resolve(*doc, jf->valuestring);
				v = src ? cJSON_Duplicate(src, 1) : NULL;
			}
			if (!v) {
				snprintf(
				    err, errlen,
				    "%s operation does not apply: doc is missing from path: %s", o,
				    jf->valuestring);
				return -1;
			}
			if (op_add(doc, path, v) != 0) {
				snprintf(err, errlen,
					 "%s operation does not apply: doc is missing path: %s", o,
					 path);
				return -1;
			}
		} else if (strcmp(o, "test") == 0) {
			cJSON *cur = resolve(*doc, path);
			if (!cur || !jv || !cJSON_Compare(cur, jv, 1)) {
				snprintf(err, errlen, "testing value %s failed: test failed", path);
				return -1;
			}
		} else {
			snprintf(err, errlen, "Unexpected kind: %s", o);
			return -1;
		}
		if (!*doc) {
			snprintf(err, errlen, "json patch removed the whole document");
			return -1;
		}
	}
	return 0;
}
