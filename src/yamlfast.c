/* yamlfast: a fast reader for the block YAML that `kubectl get -o yaml`
 * prints; see yamlfast.h. libyaml builds a node tree with a malloc per
 * token, which made a 150 MB cluster file take seconds. This reader covers
 * only a strict subset: printable ASCII, space indentation, block mappings
 * and sequences, one-line plain and quoted scalars, `{}` and `[]`, comment
 * lines and `---` markers. Anything else (tabs, UTF-8, anchors, tags, block
 * or multi-line scalars, flow collections, odd indentation, errors) makes
 * it stop before the document at hand, and libyaml reads the rest of the
 * stream: this reader never decides what is an error, so every error
 * message still comes from libyaml. */
#include "yamlfast.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define YF_MAX_KEY 1000 /* libyaml refuses simple keys over 1024 chars */

enum { L_EOF, L_CONTENT, L_MARKER, L_BAIL };

static void *bail_ptr(struct yf *f)
{
	f->bail = true;
	return NULL;
}

/* Checks the bytes of lines not checked yet: printable ASCII only. Eight
 * at a time: a byte below 0x20 or above 0x7e sets a high bit in the sum
 * (with rare false alarms, which the byte loop then clears). */
static bool bad_byte(char c)
{
	return ((unsigned char)c < 0x20 && c != '\n') || (unsigned char)c > 0x7e;
}

static bool check_to(struct yf *f, const char *e)
{
	const char *q = f->valid_to;
	for (uint64_t w; e - q >= 8; q += 8) {
		memcpy(&w, q, 8);
		if (((w - 0x2020202020202020ULL) | w | (w + 0x0101010101010101ULL)) &
		    0x8080808080808080ULL)
			for (int i = 0; i < 8; i++)
				if (bad_byte(q[i]))
					return false;
	}
	for (; q < e; q++)
		if (bad_byte(*q))
			return false;
	f->valid_to = e;
	return true;
}

/* The next line with content at or after f->p; skips blank and comment
 * lines (moving f->p and f->line past them). */
static int peek_scan(struct yf *f, struct line *l)
{
	while (f->p && f->p < f->end) {
		const char *nl = memchr(f->p, '\n', (size_t)(f->end - f->p));
		const char *e = nl ? nl : f->end;
		if (e > f->valid_to && !check_to(f, e))
			return L_BAIL;
		const char *c = f->p;
		while (c < e && *c == ' ')
			c++;
		if (c < e && *c != '#') {
			*l = (struct line){f->p, c, e, (int)(c - f->p)};
			if (c == f->p && e - c >= 3 &&
			    (!memcmp(c, "---", 3) || !memcmp(c, "...", 3)))
				return L_MARKER;
			return *c == '%' && c == f->p ? L_BAIL : L_CONTENT;
		}
		f->p = nl ? nl + 1 : f->end;
		f->line++;
	}
	return L_EOF;
}

/* peek, remembering the answer: a line is often looked at twice, by the
 * value that ends before it and by the node it starts. */
static int peek(struct yf *f, struct line *l)
{
	if (f->peeked == f->p && f->p) {
		*l = f->last;
		return f->last_type;
	}
	int t = peek_scan(f, l);
	f->peeked = f->p;
	f->last = *l;
	f->last_type = t;
	return t;
}

static void consume(struct yf *f, const struct line *l)
{
	f->p = l->e < f->end ? l->e + 1 : f->end;
	f->line++;
}

static char *scratch(struct yf *f, size_t n)
{
	if (n + 1 > f->cap) {
		size_t cap = f->cap ? f->cap : 256;
		while (cap < n + 1)
			cap *= 2;
		char *t = realloc(f->tmp, cap);
		if (!t)
			abort();
		f->tmp = t;
		f->cap = cap;
	}
	return f->tmp;
}

/* The end of a scalar's line part: before " #" and trailing spaces. */
static const char *trim_comment(const char *s, const char *e)
{
	for (const char *q = s; q < e; q++)
		if (*q == '#' && q > s && q[-1] == ' ') {
			e = q;
			break;
		}
	while (e > s && e[-1] == ' ')
		e--;
	return e;
}

/* Nothing but spaces, or a comment after at least one space. */
static bool rest_is_blank(const char *s, const char *e)
{
	if (s == e)
		return true;
	if (*s != ' ')
		return false;
	while (s < e && *s == ' ')
		s++;
	return s == e || *s == '#';
}

/* A quoted scalar starting at s (at the quote) on one line; the unquoted
 * text goes to f->tmp. Returns the position after the closing quote. */
static const char *quoted(struct yf *f, const char *s, const char *e, size_t *len)
{
	char q = *s, *out = scratch(f, (size_t)(e - s));
	size_t n = 0;
	for (const char *p = s + 1; p < e; p++) {
		if (*p == q && q == '\'' && p + 1 < e && p[1] == '\'') {
			out[n++] = '\'';
			p++;
		} else if (*p == q) {
			out[n] = '\0';
			*len = n;
			return p + 1;
		} else if (*p == '\\' && q == '"') {
			static const char from[] = "\\\"/nt", to[] = "\\\"/\n\t";
			const char *k = p + 1 < e ? strchr(from, p[1]) : NULL;
			if (!k || !p[1])
				return NULL; /* other escapes: libyaml's job */
			out[n++] = to[k - from];
			p++;
		} else {
			out[n++] = *p;
		}
	}
	return NULL; /* continues on the next line */
}

/* Whether [s, e) holds " #", where a comment starts. */
static bool has_comment(const char *s, const char *e)
{
	for (const char *h = s; (h = memchr(h, '#', (size_t)(e - h))) != NULL; h++)
		if (h > s && h[-1] == ' ')
			return true;
	return false;
}

/* Where a plain key at s ends (at its ':'), or NULL when the line does not
 * hold "key:" followed by a space or the end. */
static const char *plain_key_end(const char *s, const char *e)
{
	for (const char *p = s; (p = memchr(p, ':', (size_t)(e - p))) != NULL; p++) {
		if (p + 1 == e || p[1] == ' ')
			return has_comment(s, p) ? NULL : p;
	}
	return NULL;
}

static bool plain_start_ok(const char *s, const char *e)
{
	switch (*s) {
	case '-':
	case '?':
	case ':': return s + 1 < e && s[1] != ' ';
	case ',':
	case '[':
	case ']':
	case '{':
	case '}':
	case '#':
	case '&':
	case '*':
	case '!':
	case '|':
	case '>':
	case '\'':
	case '"':
	case '%':
	case '@':
	case '`': return false;
	default: return true;
	}
}

/* A key at s: returns its text (in f->tmp) and sets *after past the ':';
 * NULL (without bail) when the line holds no key. */
static const char *key_at(struct yf *f, const char *s, const char *e, const char **after)
{
	size_t n;
	const char *end;
	if (*s == '"' || *s == '\'') {
		end = quoted(f, s, e, &n);
		if (!end || end >= e || *end != ':' || (end + 1 < e && end[1] != ' '))
			return NULL;
		*after = end + 1;
		return n <= YF_MAX_KEY ? f->tmp : bail_ptr(f);
	}
	end = plain_key_end(s, e);
	if (!end)
		return NULL;
	n = (size_t)(end - s);
	if (!plain_start_ok(s, e) || n > YF_MAX_KEY || end[-1] == ' ')
		return bail_ptr(f);
	char *out = scratch(f, n);
	memcpy(out, s, n);
	out[n] = '\0';
	*after = end + 1;
	return out;
}

/* A scalar or empty collection filling the rest of a line. */
static cJSON *inline_value(struct yf *f, const char *s, const char *e)
{
	size_t n;
	if (*s == '"' || *s == '\'') {
		const char *end = quoted(f, s, e, &n);
		if (!end || !rest_is_blank(end, e))
			return bail_ptr(f);
		return yj_scalar(f->tmp, false);
	}
	if (*s == '{' || *s == '[') {
		if (s + 1 >= e || s[1] != (*s == '{' ? '}' : ']') || !rest_is_blank(s + 2, e))
			return bail_ptr(f);
		return *s == '{' ? cJSON_CreateObject() : cJSON_CreateArray();
	}
	if (!plain_start_ok(s, e) || plain_key_end(s, e))
		return bail_ptr(f); /* "a: b: c" is libyaml's error to report */
	const char *end = trim_comment(s, e);
	n = (size_t)(end - s);
	char *out = scratch(f, n);
	memcpy(out, s, n);
	out[n] = '\0';
	return yj_scalar(out, true);
}

static bool is_item(const struct line *l)
{
	return *l->c == '-' && (l->c + 1 == l->e || l->c[1] == ' ');
}

static cJSON *block(struct yf *f, int parent, bool seq_ok, int depth);

/* Adds v under key, the last duplicate winning as in the libyaml path. */
static void put(cJSON *obj, char *key, cJSON *v)
{
	for (cJSON *c = obj->child; c; c = c->next)
		if (c->string[0] == key[0] && strcmp(c->string, key) == 0) {
			cJSON_Delete(cJSON_DetachItemViaPointer(obj, c));
			break;
		}
	v->string = key;
	cJSON_AddItemToArray(obj, v);
}

/* The value after "key:" at *after on line l of a mapping at indent n. */
static cJSON *map_value(struct yf *f, struct line *l, const char *after, int n, int depth)
{
	while (after < l->e && *after == ' ')
		after++;
	if (after < l->e && *after != '#') {
		cJSON *v = inline_value(f, after, l->e);
		consume(f, l);
		return v;
	}
	consume(f, l);
	return block(f, n, true, depth);
}

/* A block mapping whose keys sit at column n; the first key is at k on
 * line l (after "- " for a mapping inside a sequence). */
static cJSON *mapping(struct yf *f, struct line *l, const char *k, int n, int depth)
{
	if (depth + 1 > YJ_MAX_DEPTH)
		return bail_ptr(f);
	cJSON *obj = cJSON_CreateObject();
	for (;;) {
		const char *after;
		const char *key = key_at(f, k, l->e, &after);
		char *kc = key ? strdup(key) : NULL;
		cJSON *v = kc ? map_value(f, l, after, n, depth + 1) : NULL;
		if (!v) {
			free(kc);
			cJSON_Delete(obj);
			return bail_ptr(f);
		}
		put(obj, kc, v);
		int t = peek(f, l);
		if (t == L_BAIL || (t == L_CONTENT && l->indent > n)) {
			cJSON_Delete(obj);
			return bail_ptr(f);
		}
		if (t != L_CONTENT || l->indent < n || is_item(l))
			return obj; /* the caller decides what a "- " here means */
		k = l->c;
	}
}

/* A block sequence whose "- " sit at column n, starting on line l. */
static cJSON *sequence(struct yf *f, struct line *l, int n, int depth)
{
	cJSON *arr = cJSON_CreateArray();
	for (;;) {
		const char *c = l->c + 1, *after;
		while (c < l->e && *c == ' ')
			c++;
		cJSON *v = NULL;
		bool nested = *c == '-' && (c + 1 == l->e || c[1] == ' ');
		if (depth + 1 <= YJ_MAX_DEPTH && c < l->e && *c != '#' && !nested) {
			if (key_at(f, c, l->e, &after))
				v = mapping(f, l, c, (int)(c - l->s), depth + 1);
			else if (!f->bail) {
				v = inline_value(f, c, l->e);
				consume(f, l);
			}
		}
		if (!v) {
			cJSON_Delete(arr);
			return bail_ptr(f);
		}
		cJSON_AddItemToArray(arr, v);
		int t = peek(f, l);
		if (t == L_BAIL || (t == L_CONTENT && l->indent > n)) {
			cJSON_Delete(arr);
			return bail_ptr(f);
		}
		if (t != L_CONTENT || l->indent < n || !is_item(l))
			return arr;
	}
}

/* The node below "key:" (or nothing: null). A sequence may sit at the
 * key's own column (seq_ok), as kubectl prints them. */
static cJSON *block(struct yf *f, int parent, bool seq_ok, int depth)
{
	struct line l;
	int t = peek(f, &l);
	if (t == L_BAIL || depth > YJ_MAX_DEPTH)
		return bail_ptr(f);
	if (t != L_CONTENT || l.indent < parent || (l.indent == parent && !(seq_ok && is_item(&l))))
		return yj_scalar("", true); /* empty: null */
	if (is_item(&l))
		return sequence(f, &l, l.indent, depth);
	const char *after;
	if (!key_at(f, l.c, l.e, &after))
		return bail_ptr(f); /* a scalar on its own line */
	return mapping(f, &l, l.c, l.indent, depth);
}

void yf_init(struct yf *f, const char *data, size_t len)
{
	*f = (struct yf){.p = data, .end = data + len, .valid_to = data, .line = 1};
}

void yf_free(struct yf *f)
{
	free(f->tmp);
	f->tmp = NULL;
}

int yf_next(struct yf *f, cJSON **doc, int *line)
{
	struct line l;
	const char *start = f->p;
	int start_line = f->line;
	*doc = NULL;
	if (f->bail)
		return -1;
	int t = peek(f, &l);
	if (t == L_MARKER && l.e - l.c == 3 && l.c[0] == '-') {
		consume(f, &l); /* a bare "---" */
		t = peek(f, &l);
		if (t == L_EOF || (t == L_MARKER && l.e - l.c == 3 && l.c[0] == '-')) {
			*line = f->line;
			f->docs++;
			return 1; /* an empty document: libyaml's null */
		}
	} else if (t == L_EOF) {
		return 0;
	} else if (f->docs > 0) {
		t = L_BAIL; /* "..." or "--- text": leave them to libyaml */
	}
	if (t == L_CONTENT && l.indent == 0 && !is_item(&l)) {
		const char *after;
		*line = f->line;
		if (key_at(f, l.c, l.e, &after))
			*doc = mapping(f, &l, l.c, 0, 0);
		t = *doc ? peek(f, &l) : L_BAIL;
		if (t == L_EOF || (t == L_MARKER && l.e - l.c == 3 && l.c[0] == '-')) {
			f->docs++;
			return 1;
		}
	}
	cJSON_Delete(*doc);
	*doc = NULL;
	f->p = start;
	f->line = start_line;
	f->bail = true;
	return -1;
}
