/* select.c: fieldSelector and labelSelector, parsed once per request and
 * matched against the fields and labels each object version carries.
 * Field selectors: `f=v`, `f==v`, `f!=v`, comma-separated, on the fields the
 * real server supports for the kind (others are 400 "field label not
 * supported"). Label selectors: `k=v`, `k==v`, `k!=v`, `k`, `!k`,
 * `k in (a,b)`, `k notin (a,b)`. */
#include "fake.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

enum { L_EQ, L_NE, L_EXISTS, L_NOTEXISTS, L_IN, L_NOTIN };

struct fterm {
	int idx;
	int neg;
	char *val;
};

struct lterm {
	int op;
	char *key;
	char **vals;
	size_t nvals;
};

struct fk_sel {
	struct fterm *f;
	size_t nf;
	struct lterm *l;
	size_t nl;
};

static char *dupn(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p)
		abort();
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

static int parse_fields(const struct fk_kind *k, const char *s, struct fk_sel *sel,
			struct fk_err *err)
{
	while (*s) {
		const char *end = strchr(s, ',');
		size_t n = end ? (size_t)(end - s) : strlen(s);
		const char *t = s;
		size_t tn = n;
		trim(&t, &tn);
		if (tn) {
			const char *op = NULL;
			size_t oplen = 0;
			int neg = 0;
			for (size_t i = 0; i < tn; i++) {
				if (t[i] == '!' && i + 1 < tn && t[i + 1] == '=') {
					op = t + i, oplen = 2, neg = 1;
					break;
				}
				if (t[i] == '=') {
					op = t + i;
					oplen = (i + 1 < tn && t[i + 1] == '=') ? 2 : 1;
					break;
				}
			}
			if (!op) {
				fk_err_set(err, 400, "BadRequest",
					   "invalid selector: '%.*s'; can't understand '%.*s'",
					   (int)strlen(s), s, (int)tn, t);
				return -1;
			}
			const char *f = t;
			size_t fn = (size_t)(op - t);
			trim(&f, &fn);
			const char *v = op + oplen;
			size_t vn = tn - (size_t)(v - t);
			trim(&v, &vn);
			int idx = -1;
			for (int i = 0; i < k->nfields; i++)
				if (strlen(k->fields[i]) == fn && memcmp(k->fields[i], f, fn) == 0)
					idx = i;
			if (idx < 0) {
				fk_err_set(err, 400, "BadRequest",
					   "field label not supported: %.*s", (int)fn, f);
				return -1;
			}
			sel->f = realloc(sel->f, (sel->nf + 1) * sizeof *sel->f);
			if (!sel->f)
				abort();
			sel->f[sel->nf++] = (struct fterm){idx, neg, dupn(v, vn)};
		}
		if (!end)
			break;
		s = end + 1;
	}
	return 0;
}

static int keych(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-' || c == '/';
}

static int valch(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-';
}

static void skipsp(const char **p)
{
	while (isspace((unsigned char)**p))
		(*p)++;
}

static int parse_labels(const char *s, struct fk_sel *sel, struct fk_err *err)
{
	const char *p = s;
	for (;;) {
		skipsp(&p);
		if (!*p)
			break;
		struct lterm t = {L_EXISTS, NULL, NULL, 0};
		if (*p == '!') {
			t.op = L_NOTEXISTS;
			p++;
			skipsp(&p);
		}
		const char *k0 = p;
		while (keych(*p))
			p++;
		if (p == k0)
			goto bad;
		t.key = dupn(k0, (size_t)(p - k0));
		skipsp(&p);
		if (t.op == L_NOTEXISTS) {
			/* nothing more */
		} else if (p[0] == '!' && p[1] == '=') {
			t.op = L_NE;
			p += 2;
		} else if (p[0] == '=') {
			t.op = L_EQ;
			p += p[1] == '=' ? 2 : 1;
		} else if (strncmp(p, "notin", 5) == 0 &&
			   (isspace((unsigned char)p[5]) || p[5] == '(')) {
			t.op = L_NOTIN;
			p += 5;
		} else if (strncmp(p, "in", 2) == 0 &&
			   (isspace((unsigned char)p[2]) || p[2] == '(')) {
			t.op = L_IN;
			p += 2;
		}
		if (t.op == L_EQ || t.op == L_NE) {
			skipsp(&p);
			const char *v0 = p;
			while (valch(*p))
				p++;
			t.vals = malloc(sizeof *t.vals);
			if (!t.vals)
				abort();
			t.vals[0] = dupn(v0, (size_t)(p - v0));
			t.nvals = 1;
		} else if (t.op == L_IN || t.op == L_NOTIN) {
			skipsp(&p);
			if (*p != '(') {
				free(t.key);
				goto bad;
			}
			p++;
			for (;;) {
				skipsp(&p);
				const char *v0 = p;
				while (valch(*p))
					p++;
				t.vals = realloc(t.vals, (t.nvals + 1) * sizeof *t.vals);
				if (!t.vals)
					abort();
				t.vals[t.nvals++] = dupn(v0, (size_t)(p - v0));
				skipsp(&p);
				if (*p == ',') {
					p++;
					continue;
				}
				if (*p == ')') {
					p++;
					break;
				}
				sel->l = realloc(sel->l, (sel->nl + 1) * sizeof *sel->l);
				if (!sel->l)
					abort();
				sel->l[sel->nl++] = t; /* freed with the selector */
				goto bad;
			}
		}
		sel->l = realloc(sel->l, (sel->nl + 1) * sizeof *sel->l);
		if (!sel->l)
			abort();
		sel->l[sel->nl++] = t;
		skipsp(&p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p)
			goto bad;
		break;
	}
	return 0;
bad:
	fk_err_set(err, 400, "BadRequest",
		   "unable to parse requirement: found '%.40s' in \"%.200s\"", p, s);
	return -1;
}

int fk_sel_parse(const struct fk_kind *k, const char *fieldsel, const char *labelsel,
		 struct fk_sel **out, struct fk_err *err)
{
	struct fk_sel *sel = calloc(1, sizeof *sel);
	if (!sel)
		abort();
	*out = NULL;
	if ((fieldsel && parse_fields(k, fieldsel, sel, err) != 0) ||
	    (labelsel && parse_labels(labelsel, sel, err) != 0)) {
		fk_sel_free(sel);
		return -1;
	}
	*out = sel;
	return 0;
}

int fk_sel_empty(const struct fk_sel *s)
{
	return !s || (s->nf == 0 && s->nl == 0);
}

static const char *label_of(const struct fk_ver *v, const char *key)
{
	for (size_t i = 0; i < v->nlabels; i++)
		if (strcmp(v->labels[2 * i], key) == 0)
			return v->labels[2 * i + 1];
	return NULL;
}

int fk_sel_match(const struct fk_sel *s, const struct fk_ver *v)
{
	if (!s)
		return 1;
	for (size_t i = 0; i < s->nf; i++) {
		int eq = strcmp(v->fields[s->f[i].idx], s->f[i].val) == 0;
		if (eq == s->f[i].neg)
			return 0;
	}
	for (size_t i = 0; i < s->nl; i++) {
		const struct lterm *t = &s->l[i];
		const char *val = label_of(v, t->key);
		int in = 0;
		for (size_t j = 0; val && j < t->nvals; j++)
			if (strcmp(val, t->vals[j]) == 0)
				in = 1;
		switch (t->op) {
		case L_EXISTS:
			if (!val)
				return 0;
			break;
		case L_NOTEXISTS:
			if (val)
				return 0;
			break;
		case L_EQ:
		case L_IN:
			if (!in)
				return 0;
			break;
		case L_NE:
		case L_NOTIN:
			if (in)
				return 0;
			break;
		default: return 0;
		}
	}
	return 1;
}

void fk_sel_free(struct fk_sel *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nf; i++)
		free(s->f[i].val);
	for (size_t i = 0; i < s->nl; i++) {
		free(s->l[i].key);
		for (size_t j = 0; j < s->l[i].nvals; j++)
			free(s->l[i].vals[j]);
		free(s->l[i].vals);
	}
	free(s->f);
	free(s->l);
	free(s);
}
