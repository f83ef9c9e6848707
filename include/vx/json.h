/* json: small readers over cJSON trees shared by every parser of Kubernetes
 * objects, and the "namespace/name" key pods are known by. */
#ifndef VX_JSON_H
#define VX_JSON_H

#include "vx/buf.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* Namespace (63) + '/' + name (253) fit with room to spare. */
#define VX_POD_KEY_MAX 512
#define VX_NAMESPACE_MAX 63
#define VX_NAME_MAX 253

/* o[a][b] (b may be NULL); NULL when any step is missing. */
const cJSON *json_path(const cJSON *o, const char *a, const char *b);
/* The string value of o[key], or NULL when absent or not a string. */
const char *json_str(const cJSON *o, const char *key);
const char *json_annotation(const cJSON *obj, const char *key);
const char *json_label(const cJSON *obj, const char *key);

/* Appends item as compact JSON, as cJSON_PrintUnformatted would write it
 * (but control characters as \uXXXX except \n, \r and \t, and numbers
 * that read back exactly where cJSON would round them to 15 digits), in
 * one pass per string: the dev store prints every object it keeps, 45,000
 * of them before a big cluster file is ready, and cJSON's own printer scans
 * each string several times. */
void json_print(struct buf *b, const cJSON *item);

/* Writes "ns/name" into out (VX_POD_KEY_MAX bytes) and returns out. */
char *pod_key(char *out, const char *ns, const char *name);
/* Whether ns and name are within Kubernetes' lengths, so that their key is
 * never truncated (two long names would share one). */
int pod_names_ok(const char *ns, const char *name);

#endif
