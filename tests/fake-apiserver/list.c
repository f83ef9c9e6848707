/* list.c: LIST of a kind (GET on a collection): items in key order
 * (namespace/name) from each object's cached JSON text, fieldSelector and
 * labelSelector, limit/continue pagination with remainingItemCount, and the
 * continue token (base64url of {"v","rv","start"} like the real server's),
 * which gets 410 Expired once its resourceVersion has left the history. */
#include "fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str_of(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64_encode(struct buf *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		buf_putc(out, b64[(v >> 18) & 63]);
		buf_putc(out, b64[(v >> 12) & 63]);
		if (i + 1 < n)
			buf_putc(out, b64[(v >> 6) & 63]);
		if (i + 2 < n)
			buf_putc(out, b64[v & 63]);
	}
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-' || c == '+')
		return 62;
	if (c == '_' || c == '/')
		return 63;
	return -1;
}

static int b64_decode(const char *s, struct buf *out)
{
	uint32_t acc = 0;
	int bits = 0;
	for (; *s && *s != '='; s++) {
		int v = b64_val(*s);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_putc(out, (char)((acc >> bits) & 0xff));
		}
	}
	return 0;
}

static int key_in_ns(const struct fk_kind *k, const char *key, const char *ns, size_t nslen)
{
	if (!k->namespaced || !ns || !*ns)
		return 1;
	return strncmp(key, ns, nslen) == 0 && key[nslen] == '/';
}

int fk_store_list(struct fk_kind *k, const char *ns, const struct fk_sel *sel, long limit,
		  const char *cont, struct buf *out, struct fk_err *err)
{
	uint64_t list_rv = 0;
	char *start = NULL;
	if (cont && *cont) {
		struct buf raw = BUF_INIT;
		cJSON *tok = NULL;
		if (b64_decode(cont, &raw) == 0 && raw.data)
			tok = cJSON_ParseWithLength(raw.data, raw.len);
		const cJSON *trv = cJSON_GetObjectItemCaseSensitive(tok, "rv");
		const char *tstart = str_of(tok, "start");
		if (!cJSON_IsNumber(trv) || !tstart) {
			fk_err_set(err, 400, "BadRequest",
				   "continue key is not valid: incorrect encoded start "
				   "resourceVersion (version meta.k8s.io/v1)");
			cJSON_Delete(tok);
			buf_free(&raw);
			return -1;
		}
		list_rv = (uint64_t)trv->valuedouble;
		start = strdup(tstart);
		if (!start)
			abort();
		cJSON_Delete(tok);
		buf_free(&raw);
	}
	size_t nslen = ns ? strlen(ns) : 0;
	pthread_mutex_lock(&fk_srv.mu);
	if (start && list_rv < k->oldest_rv) {
		pthread_mutex_unlock(&fk_srv.mu);
		free(start);
		fk_err_set(err, 410, "Expired",
			   "The provided continue parameter is too old to display a consistent "
			   "list result. You can start a new list without the continue parameter, "
			   "or use the continue token in this response to retrieve the remainder "
			   "of the results. Continuing with the provided token results in an "
			   "inconsistent list - objects that were created, modified, or deleted "
			   "between the time the first chunk was returned and now may show up in "
			   "the list.");
		return -1;
	}
	if (!start)
		list_rv = fk_srv.rv;
	fk_kind_sort(k);
	size_t i = 0;
	if (start) {
		i = fk_kind_lower(k, start);
		if (i < k->n && strcmp(k->vec[i]->key, start) == 0)
			i++;
	} else if (k->namespaced && ns && *ns) {
		char pfx[300];
		snprintf(pfx, sizeof pfx, "%s/", ns);
		i = fk_kind_lower(k, pfx);
	}
	free(start);
	buf_puts(out, "{\"kind\":\"");
	buf_puts(out, k->list_kind);
	buf_puts(out, "\",\"apiVersion\":\"");
	buf_puts(out, k->api_version);
	buf_printf(out, "\",\"metadata\":{\"resourceVersion\":\"%llu\"",
		   (unsigned long long)list_rv);
	struct buf items = BUF_INIT;
	buf_reserve(&items, (limit > 0 && (size_t)limit < k->n ? (size_t)limit : k->n) * 1024);
	long count = 0;
	const char *last = NULL;
	int more = 0;
	size_t remaining = 0;
	for (; i < k->n; i++) {
		const struct fk_obj *o = k->vec[i];
		if (!key_in_ns(k, o->key, ns, nslen))
			break;
		if (limit > 0 && count == limit) {
			more = 1;
			size_t end = k->n;
			if (k->namespaced && ns && *ns) {
				char past[300]; /* '0' follows '/': the first key after this
						   namespace */
				snprintf(past, sizeof past, "%s0", ns);
				end = fk_kind_lower(k, past);
			}
			remaining = end - i;
			break;
		}
		if (sel && !fk_sel_match(sel, o->cur))
			continue;
		const struct fk_ver *v = o->cur;
		if (count)
			buf_putc(&items, ',');
		buf_putc(&items, '{');
		buf_append(&items, v->text + v->item_off, v->len - v->item_off);
		count++;
		last = o->key;
	}
	if (more && last) {
		struct buf tok = BUF_INIT, enc = BUF_INIT;
		buf_printf(&tok, "{\"v\":\"meta.k8s.io/v1\",\"rv\":%llu,\"start\":",
			   (unsigned long long)list_rv);
		size_t l = strlen(last);
		char *withnul = malloc(l + 1);
		if (!withnul)
			abort();
		memcpy(withnul, last, l);
		withnul[l] = '\0';
		buf_json_strn(&tok, withnul, l + 1);
		free(withnul);
		buf_putc(&tok, '}');
		b64_encode(&enc, (const unsigned char *)tok.data, tok.len);
		buf_printf(out, ",\"continue\":\"%s\"", enc.data);
		if (fk_sel_empty(sel))
			buf_printf(out, ",\"remainingItemCount\":%zu", remaining);
		buf_free(&tok);
		buf_free(&enc);
	}
	pthread_mutex_unlock(&fk_srv.mu);
	buf_puts(out, "},\"items\":[");
	if (items.len)
		buf_append(out, items.data, items.len);
	buf_puts(out, "]}");
	buf_free(&items);
	return 0;
}
