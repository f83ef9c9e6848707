/* json: see json.h. */
#include "vx/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const cJSON *json_path(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
	return b ? cJSON_GetObjectItemCaseSensitive(v, b) : v;
}

const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *json_annotation(const cJSON *obj, const char *key)
{
	return json_str(json_path(obj, "metadata", "annotations"), key);
}

const char *json_label(const cJSON *obj, const char *key)
{
	return json_str(json_path(obj, "metadata", "labels"), key);
}

int pod_names_ok(const char *ns, const char *name)
{
	return strlen(ns) <= VX_NAMESPACE_MAX && strlen(name) <= VX_NAME_MAX;
}

char *pod_key(char *out, const char *ns, const char *name)
{
	snprintf(out, VX_POD_KEY_MAX, "%s/%s", ns, name);
	return out;
}

/* cJSON's rule: an integral value in int range as an integer, else the
 * shortest of %1.15g and %1.17g that reads back the same; NaN and infinities
 * as null. */
static void print_number(struct buf *b, const cJSON *n)
{
	double d = n->valuedouble;
	char tmp[32];
	int len;
	if (isnan(d) || isinf(d)) {
		buf_lit(b, "null");
		return;
	}
	if (d == (double)n->valueint) {
		len = snprintf(tmp, sizeof tmp, "%d", n->valueint);
	} else {
		len = snprintf(tmp, sizeof tmp, "%1.15g", d);
		if (strtod(tmp, NULL) != d)
			len = snprintf(tmp, sizeof tmp, "%1.17g", d);
	}
	buf_append(b, tmp, (size_t)len);
}

static void print_children(struct buf *b, const cJSON *c, char open, char close, int keys)
{
	buf_putc(b, open);
	for (; c; c = c->next) {
		if (keys) {
			buf_json_str(b, c->string);
			buf_putc(b, ':');
		}
		json_print(b, c);
		if (c->next)
			buf_putc(b, ',');
	}
	buf_putc(b, close);
}

void json_print(struct buf *b, const cJSON *item)
{
	switch (item ? item->type & 0xFF : cJSON_NULL) {
	case cJSON_False: buf_lit(b, "false"); break;
	case cJSON_True: buf_lit(b, "true"); break;
	case cJSON_Number: print_number(b, item); break;
	case cJSON_String: buf_json_str(b, item->valuestring); break;
	case cJSON_Raw: buf_puts(b, item->valuestring ? item->valuestring : ""); break;
	case cJSON_Array: print_children(b, item->child, '[', ']', 0); break;
	case cJSON_Object: print_children(b, item->child, '{', '}', 1); break;
	default: buf_lit(b, "null");
	}
}
