/* extender: the extender/v1 wire codec; see extender.h. Replies are built
 * straight into one buffer: the filter reply for 5,000 nodes is written
 * without creating a cJSON tree. */
#include "vx/extender.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *parse_root(const char *body, size_t len, char *err, size_t errlen)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (!root) {
		snprintf(err, errlen, "malformed JSON near byte %ld",
			 end ? (long)(end - body) : 0L);
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "request body must be a JSON object");
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

static int names_from_list(struct ext_args *a, const cJSON *names, char *err, size_t errlen)
{
	int n = cJSON_GetArraySize(names), i = 0;
	a->names = calloc(n ? (size_t)n : 1, sizeof *a->names);
	if (!a->names)
		abort();
	const cJSON *it;
	cJSON_ArrayForEach (it, names) {
		if (!cJSON_IsString(it)) {
			snprintf(err, errlen, "NodeNames[%d] is not a string", i);
			return -1;
		}
		a->names[i++] = it->valuestring;
	}
	a->n = n;
	a->node_names = true;
	return 0;
}

static int names_from_nodes(struct ext_args *a, const cJSON *nodes, char *err, size_t errlen)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(nodes, "items");
	if (!cJSON_IsObject(nodes) || (items && !cJSON_IsArray(items))) {
		snprintf(err, errlen, "Nodes must be a NodeList with an items array");
		return -1;
	}
	int n = cJSON_GetArraySize(items), i = 0;
	a->names = calloc(n ? (size_t)n : 1, sizeof *a->names);
	a->items =
	    calloc(n ? (size_t)n : 1, sizeof *a->items); // NOLINT(bugprone-sizeof-expression)
	if (!a->names || !a->items)
		abort();
	const cJSON *it;
	cJSON_ArrayForEach (it, items) {
		const char *name = json_str(json_path(it, "metadata", NULL), "name");
		if (!name) {
			snprintf(err, errlen, "Nodes.items[%d] has no metadata.name", i);
			return -1;
		}
		a->items[i] = it;
		a->names[i++] = name;
	}
	a->n = n;
	return 0;
}

int ext_parse_args(const char *body, size_t len, struct ext_args *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof *a);
	if (!(a->root = parse_root(body, len, err, errlen)))
		return -1;
	a->pod = cJSON_GetObjectItem(a->root, "Pod");
	if (!a->pod || cJSON_IsNull(a->pod)) {
		snprintf(err, errlen, "missing Pod");
		return -1;
	}
	if (!cJSON_IsObject(a->pod)) {
		snprintf(err, errlen, "Pod must be an object");
		return -1;
	}
	const cJSON *names = cJSON_GetObjectItem(a->root, "NodeNames");
	const cJSON *nodes = cJSON_GetObjectItem(a->root, "Nodes");
	if (names && !cJSON_IsNull(names)) {
		if (!cJSON_IsArray(names)) {
			snprintf(err, errlen, "NodeNames must be an array of strings");
			return -1;
		}
		return names_from_list(a, names, err, errlen);
	}
	if (nodes && !cJSON_IsNull(nodes))
		return names_from_nodes(a, nodes, err, errlen);
	a->node_names = true; /* nothing to filter: answer an empty NodeNames */
	return 0;
}

void ext_args_free(struct ext_args *a)
{
	cJSON_Delete(a->root);
	free(a->names);
	free(a->items);
	memset(a, 0, sizeof *a);
}

static void write_failed(struct buf *out, const struct ext_args *a, const struct pipe_filter_out *f,
			 enum pipe_verdict which)
{
	const char *sep = "";
	buf_putc(out, '{');
	for (int i = 0; f && i < f->n; i++) {
		if (f->verdict[i] != which)
			continue;
		buf_puts(out, sep);
		buf_json_str(out, a->names[i]);
		buf_putc(out, ':');
		buf_json_str(out, f->reasons.data + f->reason[i]);
		sep = ",";
	}
	buf_putc(out, '}');
}

void ext_write_filter(struct buf *out, const struct ext_args *a, const struct pipe_filter_out *f)
{
	const char *sep = "";
	buf_reserve(out, (size_t)a->n * 24 + 128);
	if (a->node_names) {
		buf_puts(out, "{\"Nodes\":null,\"NodeNames\":[");
		for (int i = 0; i < a->n; i++) {
			if (f && f->verdict[i] != PIPE_PASS)
				continue;
			buf_puts(out, sep);
			buf_json_str(out, a->names[i]);
			sep = ",";
		}
		buf_puts(out, "]");
	} else {
		buf_puts(out, "{\"Nodes\":{\"metadata\":{},\"items\":[");
		for (int i = 0; i < a->n; i++) {
			if (f && f->verdict[i] != PIPE_PASS)
				continue;
			char *j = cJSON_PrintUnformatted(a->items[i]);
			buf_puts(out, sep);
			buf_puts(out, j ? j : "{}");
			free(j);
			sep = ",";
		}
		buf_puts(out, "]},\"NodeNames\":null");
	}
	buf_puts(out, ",\"FailedNodes\":");
	write_failed(out, a, f, PIPE_FAIL);
	buf_puts(out, ",\"FailedAndUnresolvableNodes\":");
	write_failed(out, a, f, PIPE_UNRESOLVABLE);
	buf_puts(out, ",\"Error\":\"\"}");
}

void ext_write_priorities(struct buf *out, const struct ext_args *a, const int *scores)
{
	buf_putc(out, '[');
	for (int i = 0; i < a->n; i++) {
		buf_puts(out, i ? ",{\"Host\":" : "{\"Host\":");
		buf_json_str(out, a->names[i]);
		buf_printf(out, ",\"Score\":%d}", scores[i]);
	}
	buf_putc(out, ']');
}

void ext_write_error(struct buf *out, const char *msg)
{
	buf_puts(out, "{\"Error\":");
	buf_json_str(out, msg);
	buf_putc(out, '}');
}

static const char *field_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int ext_parse_bind(const char *body, size_t len, struct ext_bind *b, char *err, size_t errlen)
{
	memset(b, 0, sizeof *b);
	if (!(b->root = parse_root(body, len, err, errlen)))
		return -1;
	b->name = field_str(b->root, "PodName");
	b->ns = field_str(b->root, "PodNamespace");
	b->uid = field_str(b->root, "PodUID");
	b->node = field_str(b->root, "Node");
	const char *missing = !b->name ? "PodName" : !b->node ? "Node" : NULL;
	if (missing || (b->name && !*b->name) || (b->node && !*b->node)) {
		snprintf(err, errlen, "bind needs a non-empty %s",
			 missing ? missing : "PodName and Node");
		return -1;
	}
	if (!b->ns || !*b->ns)
		b->ns = "default";
	return 0;
}

void ext_bind_free(struct ext_bind *b)
{
	cJSON_Delete(b->root);
	memset(b, 0, sizeof *b);
}

/* Victim pods arrive as MetaPods ({UID}) or full Pods (metadata.uid). */
static int parse_victims(struct pipe_victims *v, const cJSON *entry, char *err, size_t errlen)
{
	const cJSON *pods = cJSON_GetObjectItem(entry, "Pods"), *it;
	int n = cJSON_GetArraySize(pods), i = 0;
	v->node = entry->string;
	v->uids = calloc((size_t)n + 1, sizeof *v->uids);
	v->keep = calloc((size_t)n + 1, sizeof *v->keep);
	if (!v->uids || !v->keep)
		abort();
	cJSON_ArrayForEach (it, pods) {
		const char *uid = field_str(it, "UID");
		if (!uid)
			uid = json_str(json_path(it, "metadata", NULL), "uid");
		if (!uid) {
			snprintf(err, errlen, "victim %d on node %s has no UID", i, v->node);
			return -1;
		}
		v->uids[i++] = uid;
	}
	v->n = n;
	return 0;
}

int ext_parse_preempt(const char *body, size_t len, struct ext_preempt *p, char *err, size_t errlen)
{
	memset(p, 0, sizeof *p);
	if (!(p->root = parse_root(body, len, err, errlen)))
		return -1;
	p->pod = cJSON_GetObjectItem(p->root, "Pod");
	if (!cJSON_IsObject(p->pod)) {
		snprintf(err, errlen, "missing Pod");
		return -1;
	}
	const cJSON *map = cJSON_GetObjectItem(p->root, "NodeNameToMetaVictims");
	if (!map || cJSON_IsNull(map))
		map = cJSON_GetObjectItem(p->root, "NodeNameToVictims");
	if (map && !cJSON_IsNull(map) && !cJSON_IsObject(map)) {
		snprintf(err, errlen, "NodeNameToMetaVictims must be an object");
		return -1;
	}
	int n = cJSON_GetArraySize(map), i = 0;
	p->v = calloc((size_t)n + 1, sizeof *p->v);
	if (!p->v)
		abort();
	const cJSON *it;
	cJSON_ArrayForEach (it, map) {
		if (parse_victims(&p->v[i++], it, err, errlen)) {
			p->n = i;
			return -1;
		}
	}
	p->n = n;
	return 0;
}

void ext_write_preempt(struct buf *out, const struct ext_preempt *p)
{
	const char *sep = "";
	buf_puts(out, "{\"NodeNameToMetaVictims\":{");
	for (int k = 0; k < p->n; k++) {
		const struct pipe_victims *v = &p->v[k];
		if (!v->keep_node)
			continue;
		buf_puts(out, sep);
		buf_json_str(out, v->node);
		buf_puts(out, ":{\"Pods\":[");
		const char *vs = "";
		for (int i = 0; i < v->n; i++) {
			if (!v->keep[i])
				continue;
			buf_printf(out, "%s{\"UID\":", vs);
			buf_json_str(out, v->uids[i]);
			buf_putc(out, '}');
			vs = ",";
		}
		buf_puts(out, "],\"NumPDBViolations\":0}");
		sep = ",";
	}
	buf_puts(out, "}}");
}

void ext_preempt_free(struct ext_preempt *p)
{
	for (int k = 0; k < p->n; k++) {
		free(p->v[k].uids);
		free(p->v[k].keep);
	}
	free(p->v);
	cJSON_Delete(p->root);
	memset(p, 0, sizeof *p);
}
