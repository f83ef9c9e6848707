/* extender: the extender/v1 wire codec; see extender.h. Replies are built
 * straight into one buffer: the filter reply for 5,000 nodes is written
 * without creating a cJSON tree. */
#include "vx/extender.h"
#include "vx/json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static cJSON *parse_root(const char *body, size_t len, char *err, size_t errlen)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	while (root && end && end < body + len && *end && strchr(" \t\r\n", *end))
		end++;
	if (root && end && end < body + len) {
		cJSON_Delete(root); /* trailing garbage after the object */
		root = NULL;
	}
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

/* The fast path for kube-scheduler's bodies: find the top-level keys without
 * building a tree, take NodeNames as slices of the body (5,000 names would
 * otherwise cost 10,000 cJSON allocations per call) and let cJSON parse only
 * the Pod. Anything unusual (escapes in names, a full Nodes list, a
 * structural surprise) returns -1 and the caller uses the plain cJSON path,
 * which also produces the precise error message. */
static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* Jumps quote to quote with memchr (most of a filter body is the names). */
static const char *skip_string(const char *p, const char *end)
{
	for (p++; p < end;) {
		const char *q = memchr(p, '"', (size_t)(end - p));
		if (!q)
			return NULL;
		size_t bs = 0; /* an odd run of backslashes escapes the quote */
		while (q - bs > p && q[-1 - (ptrdiff_t)bs] == '\\')
			bs++;
		if (bs % 2 == 0)
			return q + 1;
		p = q + 1;
	}
	return NULL;
}

static const char *skip_value(const char *p, const char *end)
{
	int depth = 0;
	if (p >= end)
		return NULL;
	if (*p == '"')
		return skip_string(p, end);
	if (*p != '{' && *p != '[') {
		const char *s = p;
		while (p < end && strchr("truefalsn0123456789+-.eE", *p))
			p++;
		return p > s ? p : NULL;
	}
	for (; p < end; p++) {
		if (*p == '"') {
			p = skip_string(p, end);
			if (!p)
				return NULL;
			p--;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if ((*p == '}' || *p == ']') && --depth == 0) {
			return p + 1;
		}
	}
	return NULL;
}

static bool key_is(const char *k, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(k, want, n) == 0;
}

struct span {
	const char *p;
	size_t n;
};

/* True when some byte is below 0x20: such a name needs escaping. Eight
 * bytes at a time, since names are checked for every candidate node. */
static bool has_control(const char *s, size_t n)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if ((w - 0x20 * ones) & ~w & highs)
			return true;
	}
	for (; i < n; i++)
		if ((unsigned char)s[i] < 0x20)
			return true;
	return false;
}

/* Takes NodeNames as slices of the body, from its '['; returns the position
 * after the ']', or NULL for anything but an array of plain strings. */
static const char *scan_names(struct ext_args *a, const char *p, const char *end)
{
	int cap = 64, n = 0;
	if (a->names || p >= end || *p != '[')
		return NULL; /* a repeated key, or not an array: the slow path decides */
	a->names = malloc((size_t)cap * sizeof *a->names);
	a->lens = malloc((size_t)cap * sizeof *a->lens);
	if (!a->names || !a->lens)
		abort();
	p = skip_ws(p + 1, end);
	if (p < end && *p == ']')
		return a->node_names = true, p + 1;
	for (;;) {
		if (p >= end || *p != '"')
			return NULL;
		const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
		if (!q || memchr(p + 1, '\\', (size_t)(q - p - 1)) ||
		    has_control(p + 1, (size_t)(q - p - 1)))
			return NULL;
		if (n == cap) {
			cap *= 2;
			a->names = realloc(a->names, (size_t)cap * sizeof *a->names);
			a->lens = realloc(a->lens, (size_t)cap * sizeof *a->lens);
			if (!a->names || !a->lens)
				abort();
		}
		a->names[n] = p + 1;
		a->lens[n++] = (size_t)(q - p - 1);
		a->n = n;
		p = skip_ws(q + 1, end);
		if (p < end && *p == ',')
			p = skip_ws(p + 1, end);
		else if (p < end && *p == ']')
			return a->node_names = true, p + 1;
		else
			return NULL;
	}
}

/* Walks the top-level object once: NodeNames is sliced on the way, the
 * spans of Pod and Nodes are kept for the caller. */
static int split_top(const char *body, size_t len, struct ext_args *a, struct span *pod,
		     struct span *nodes)
{
	const char *p = skip_ws(body, body + len), *end = body + len;
	if (p >= end || *p++ != '{')
		return -1;
	for (;;) {
		p = skip_ws(p, end);
		if (p < end && *p == '}')
			return skip_ws(p + 1, end) == end ? 0 : -1;
		if (p >= end || *p != '"')
			return -1;
		const char *k = p + 1, *ke = skip_string(p, end);
		if (!ke || memchr(k, '\\', (size_t)(ke - 1 - k)))
			return -1;
		size_t kn = (size_t)(ke - 1 - k);
		p = skip_ws(ke, end);
		if (p >= end || *p++ != ':')
			return -1;
		p = skip_ws(p, end);
		const char *v = p;
		if (key_is(k, kn, "NodeNames") && p < end && *p == '[')
			p = scan_names(a, p, end);
		else
			p = skip_value(p, end);
		if (!p)
			return -1;
		struct span sv = {v, (size_t)(p - v)};
		if (key_is(k, kn, "Pod"))
			*pod = sv;
		else if (key_is(k, kn, "Nodes"))
			*nodes = sv;
		p = skip_ws(p, end);
		if (p < end && *p == ',')
			p++;
		else if (p >= end || *p != '}')
			return -1;
	}
}

static bool is_null(struct span s)
{
	return !s.p || (s.n == 4 && memcmp(s.p, "null", 4) == 0);
}

static int fast_parse(const char *body, size_t len, struct ext_args *a)
{
	struct span pod = {0}, nodes = {0};
	if (split_top(body, len, a, &pod, &nodes) || !pod.p || !a->node_names || !is_null(nodes))
		return -1;
	a->clean_names = true;
	a->root = cJSON_ParseWithLength(pod.p, pod.n);
	a->pod = a->root;
	return cJSON_IsObject(a->pod) ? 0 : -1;
}

static void set_lens(struct ext_args *a)
{
	a->lens = calloc((size_t)a->n + 1, sizeof *a->lens);
	if (!a->lens)
		abort();
	for (int i = 0; i < a->n; i++)
		a->lens[i] = a->names[i] ? strlen(a->names[i]) : 0;
}

static int slow_parse(const char *body, size_t len, struct ext_args *a, char *err, size_t errlen);

/* The Pod's shape, checked where the daemon reads it: a field of the wrong
 * JSON type is a broken request (400 naming the field), not a pod that fits
 * nowhere. Values of the right type that are out of range (cores 150) are
 * the pod's problem and are reported per node by the caller. Null counts as
 * absent, as it does for Go's decoder. */
static const char *json_kind(const cJSON *v)
{
	return cJSON_IsObject(v)   ? "an object"
	       : cJSON_IsArray(v)  ? "an array"
	       : cJSON_IsString(v) ? "a string"
	       : cJSON_IsNumber(v) ? "a number"
	       : cJSON_IsBool(v)   ? "a boolean"
				   : "null";
}

static bool present(const cJSON *v)
{
	return v && !cJSON_IsNull(v);
}

static int want_object(const cJSON *v, const char *path, char *err, size_t errlen)
{
	if (!present(v) || cJSON_IsObject(v))
		return 0;
	snprintf(err, errlen, "%s must be an object, not %s", path, json_kind(v));
	return -1;
}

/* Every value of the map (labels, annotations) must be a string. */
static int string_map(const cJSON *m, const char *path, char *err, size_t errlen)
{
	const cJSON *it, *map = present(m) ? m : NULL;
	if (want_object(m, path, err, errlen))
		return -1;
	cJSON_ArrayForEach (it, map) {
		if (!cJSON_IsString(it)) {
			snprintf(err, errlen, "%s[\"%s\"] must be a string, not %s", path,
				 it->string, json_kind(it));
			return -1;
		}
	}
	return 0;
}

/* resources.limits / requests: quantities, a string or a plain number. */
static int quantities(const cJSON *m, const char *path, char *err, size_t errlen)
{
	const cJSON *it, *map = present(m) ? m : NULL;
	if (want_object(m, path, err, errlen))
		return -1;
	cJSON_ArrayForEach (it, map) {
		if (!cJSON_IsString(it) && !cJSON_IsNumber(it)) {
			snprintf(err, errlen,
				 "%s[\"%s\"] must be a quantity (a string or a number), not %s",
				 path, it->string, json_kind(it));
			return -1;
		}
	}
	return 0;
}

static int container_shape(const cJSON *c, int i, char *err, size_t errlen)
{
	char path[96], sub[128];
	snprintf(path, sizeof path, "Pod.spec.containers[%d]", i);
	if (!cJSON_IsObject(c)) {
		snprintf(err, errlen, "%s must be an object, not %s", path, json_kind(c));
		return -1;
	}
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
	if (present(name) && !cJSON_IsString(name)) {
		snprintf(err, errlen, "%s.name must be a string, not %s", path, json_kind(name));
		return -1;
	}
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(c, "resources");
	snprintf(sub, sizeof sub, "%s.resources", path);
	if (want_object(res, sub, err, errlen))
		return -1;
	snprintf(sub, sizeof sub, "%s.resources.limits", path);
	if (quantities(json_path(res, "limits", NULL), sub, err, errlen))
		return -1;
	snprintf(sub, sizeof sub, "%s.resources.requests", path);
	return quantities(json_path(res, "requests", NULL), sub, err, errlen);
}

static int check_pod_shape(const cJSON *pod, char *err, size_t errlen)
{
	const cJSON *md = json_path(pod, "metadata", NULL), *spec = json_path(pod, "spec", NULL);
	if (want_object(md, "Pod.metadata", err, errlen) ||
	    string_map(json_path(md, "labels", NULL), "Pod.metadata.labels", err, errlen) ||
	    string_map(json_path(md, "annotations", NULL), "Pod.metadata.annotations", err,
		       errlen) ||
	    want_object(spec, "Pod.spec", err, errlen))
		return -1;
	const cJSON *ctrs = json_path(spec, "containers", NULL), *c;
	if (!present(ctrs))
		return 0;
	if (!cJSON_IsArray(ctrs)) {
		snprintf(err, errlen, "Pod.spec.containers must be an array, not %s",
			 json_kind(ctrs));
		return -1;
	}
	int i = 0;
	cJSON_ArrayForEach (c, ctrs) {
		if (container_shape(c, i++, err, errlen))
			return -1;
	}
	return 0;
}

int ext_parse_args(const char *body, size_t len, struct ext_args *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof *a);
	if (fast_parse(body, len, a) == 0)
		return check_pod_shape(a->pod, err, errlen);
	ext_args_free(a);
	int rc = slow_parse(body, len, a, err, errlen);
	if (rc == 0 && a->names && !a->lens)
		set_lens(a);
	return rc ? rc : check_pod_shape(a->pod, err, errlen);
}

static int slow_parse(const char *body, size_t len, struct ext_args *a, char *err, size_t errlen)
{
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
	free(a->lens);
	free(a->items);
	memset(a, 0, sizeof *a);
}

static void write_name(struct buf *out, const struct ext_args *a, int i)
{
	if (a->clean_names)
		buf_json_raw(out, a->names[i], a->lens[i]);
	else
		buf_json_strn(out, a->names[i], a->lens[i]);
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
		write_name(out, a, i);
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
			if (*sep)
				buf_putc(out, ',');
			write_name(out, a, i);
			sep = ",";
		}
		buf_putc(out, ']');
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
	buf_reserve(out, (size_t)a->n * 40 + 2);
	buf_putc(out, '[');
	for (int i = 0; i < a->n; i++) {
		/* printf per node would cost more than the rest of prioritize */
		int v = scores[i] < 0 ? 0 : scores[i] > 10 ? 10 : scores[i];
		if (i)
			buf_lit(out, ",{\"Host\":");
		else
			buf_lit(out, "{\"Host\":");
		write_name(out, a, i);
		if (v == 10) {
			buf_lit(out, ",\"Score\":10}");
		} else {
			char score[] = ",\"Score\":0}";
			score[9] = (char)('0' + v);
			buf_lit(out, score);
		}
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
	if (check_pod_shape(p->pod, err, errlen))
		return -1;
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
