/* ver.c: object versions. A version is immutable once made and reference
 * counted; it carries the object's JSON text (kind and apiVersion first, so
 * LIST can cut them off), its key, the values of the kind's selectable fields
 * and its labels, all strings in one allocation. */
#include "fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fk_ver_ref(struct fk_ver *v)
{
	atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

void fk_ver_unref(struct fk_ver *v)
{
	if (!v || atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(v->text);
	free(v->strs);
	free(v);
}

static const char *str_of(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

const char *fk_json_path_str(const cJSON *obj, const char *dotted, char tmp[64])
{
	if (strcmp(dotted, "source") == 0) /* events: field "source" is source.component */
		dotted = "source.component";
	const cJSON *cur = obj;
	const char *p = dotted;
	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char part[64];
		if (n >= sizeof part)
			return NULL;
		memcpy(part, p, n);
		part[n] = '\0';
		cur = cJSON_IsObject(cur) ? cJSON_GetObjectItemCaseSensitive(cur, part) : NULL;
		p = dot ? dot + 1 : p + n;
	}
	if (!cur)
		return NULL;
	if (cJSON_IsString(cur))
		return cur->valuestring;
	if (cJSON_IsBool(cur))
		return cJSON_IsTrue(cur) ? "true" : "false";
	if (cJSON_IsNumber(cur)) {
		snprintf(tmp, 64, "%.0f", cur->valuedouble);
		return tmp;
	}
	return NULL;
}

void fk_ver_set_strings(const struct fk_kind *k, struct fk_ver *v, const char *name, const char *ns,
			const char *uid, const char *const *fieldvals, const char *const *labels,
			size_t nlabels, const char *standin)
{
	if (!k->namespaced)
		ns = "";
	size_t nf = (size_t)k->nfields;
	size_t nptr = nf + 1 + 2 * nlabels + 1;
	size_t lname = strlen(name), lns = strlen(ns);
	size_t bytes = (lns + 1 + lname + 1) + (lname + 1) + (lns + 1) + strlen(uid) + 1;
	for (size_t i = 0; i < nf; i++)
		bytes += (fieldvals[i] ? strlen(fieldvals[i]) : 0) + 1;
	for (size_t i = 0; i < 2 * nlabels; i++)
		bytes += strlen(labels[i]) + 1;
	if (standin)
		bytes += strlen(standin) + 1;
	char **ptrs = malloc(nptr * sizeof(char *) + bytes);
	if (!ptrs)
		abort();
	v->strs = (char *)ptrs;
	char *p = (char *)(ptrs + nptr);
#define PUT(dst, src)                                                                              \
	do {                                                                                       \
		size_t l_ = strlen(src);                                                           \
		memcpy(p, src, l_ + 1);                                                            \
		(dst) = p;                                                                         \
		p += l_ + 1;                                                                       \
	} while (0)
	v->key = p;
	if (k->namespaced) {
		memcpy(p, ns, lns);
		p[lns] = '/';
		p += lns + 1;
	}
	memcpy(p, name, lname + 1);
	p += lname + 1;
	PUT(v->name, name);
	PUT(v->ns, ns);
	PUT(v->uid, uid);
	v->fields = ptrs;
	for (size_t i = 0; i < nf; i++)
		PUT(ptrs[i], fieldvals[i] ? fieldvals[i] : "");
	ptrs[nf] = NULL;
	v->labels = ptrs + nf + 1;
	for (size_t i = 0; i < 2 * nlabels; i++)
		PUT(v->labels[i], labels[i]);
	v->labels[2 * nlabels] = NULL;
	v->nlabels = nlabels;
	v->standin_node = NULL;
	if (standin)
		PUT(v->standin_node, standin);
#undef PUT
}

struct fk_ver *fk_ver_from_tree(struct fk_kind *k, cJSON *tree, uint64_t rv)
{
	struct fk_ver *v = calloc(1, sizeof *v);
	if (!v)
		abort();
	atomic_init(&v->refs, 1);
	v->rv = rv;
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(tree, "metadata");
	const char *name = str_of(md, "name"), *ns = str_of(md, "namespace");
	const char *uid = str_of(md, "uid");
	const char *fieldvals[32];
	char tmp[32][64];
	for (int i = 0; i < k->nfields && i < 32; i++)
		fieldvals[i] = fk_json_path_str(tree, k->fields[i], tmp[i]);
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(md, "labels");
	const char **lab = NULL;
	size_t nl = 0;
	if (cJSON_IsObject(labels)) {
		lab = malloc(2 * (size_t)cJSON_GetArraySize(labels) * sizeof *lab + 1);
		if (!lab)
			abort();
		const cJSON *l;
		cJSON_ArrayForEach (l, labels) {
			if (!cJSON_IsString(l) || !l->string)
				continue;
			lab[2 * nl] = l->string;
			lab[2 * nl + 1] = l->valuestring;
			nl++;
		}
	}
	const char *standin = NULL;
	if (k == &fk_srv.kinds[FK_POD]) {
		const cJSON *ann = cJSON_GetObjectItemCaseSensitive(md, "annotations");
		const char *phase = str_of(ann, "volcano.sh/bind-phase");
		const char *node =
		    str_of(cJSON_GetObjectItemCaseSensitive(tree, "spec"), "nodeName");
		if (phase && strcmp(phase, "allocating") == 0 && node && *node)
			standin = node;
	}
	fk_ver_set_strings(k, v, name ? name : "", ns ? ns : "", uid ? uid : "", fieldvals, lab, nl,
			   standin);
	free(lab);
	cJSON_DeleteItemFromObjectCaseSensitive(tree, "kind");
	cJSON_DeleteItemFromObjectCaseSensitive(tree, "apiVersion");
	char *rest = cJSON_PrintUnformatted(tree);
	if (!rest)
		abort();
	struct buf b = BUF_INIT;
	buf_printf(&b, "{\"kind\":\"%s\",\"apiVersion\":\"%s\"", k->kind, k->api_version);
	if (rest[0] == '{' && rest[1] == '}') {
		v->item_off = b.len;
		buf_putc(&b, '}');
	} else {
		buf_putc(&b, ',');
		v->item_off = b.len;
		buf_puts(&b, rest + 1);
	}
	free(rest);
	v->len = b.len;
	v->text = buf_steal(&b);
	return v;
}
