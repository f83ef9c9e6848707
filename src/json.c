/* json: see json.h. */
#include "vx/json.h"

#include <stdio.h>
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
