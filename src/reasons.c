/* reasons: see reasons.h. A pod waiting on 5,000 nodes has at most a dozen
 * categories, so a linear table beats a hash map here. */
#include "vx/reasons.h"
#include "vx/buf.h"
#include "vx/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rsn_init(struct rsn_tally *t)
{
	memset(t, 0, sizeof *t);
}

void rsn_free(struct rsn_tally *t)
{
	for (int i = 0; i < t->n; i++) {
		free(t->e[i].key);
		free(t->e[i].figure);
	}
	free(t->e);
	memset(t, 0, sizeof *t);
}

/* Skips "container N: " and "k/b GPUs fit, n needed; ". */
static const char *skip_prefixes(const char *s)
{
	const char *p;
	if (!strncmp(s, "container ", 10) && (p = strstr(s, ": ")))
		s = p + 2;
	if ((p = strstr(s, " needed; ")) && strstr(s, " GPUs fit, ") < p)
		s = p + 9;
	return s;
}

/* The end of the clause starting at s: the next ", " outside parentheses. */
static const char *clause_end(const char *s)
{
	int depth = 0;
	for (; *s; s++) {
		depth += *s == '(' ? 1 : *s == ')' ? -1 : 0;
		if (depth == 0 && s[0] == ',' && s[1] == ' ')
			return s;
	}
	return s;
}

void rsn_key(const char *reason, char *key, size_t len)
{
	const char *s = skip_prefixes(reason), *best = NULL, *best_end = NULL;
	int most = -1;
	for (const char *c = s; *c;) {
		const char *end = clause_end(c);
		int a, b, text = 0;
		if (sscanf(c, "%d/%d GPUs: %n", &a, &b, &text) != 2 || !text || c + text > end) {
			best = NULL; /* not our "a/b GPUs: X" list: the text is the category */
			break;
		}
		if (a > most) {
			most = a;
			best = c + text;
			best_end = end;
		}
		c = *end ? end + 2 : end;
	}
	if (!best)
		snprintf(key, len, "%s", s);
	else
		snprintf(key, len, "%.*s", (int)(best_end - best), best);
}

static struct rsn_entry *find(const struct rsn_tally *t, const char *key)
{
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->e[i].key, key))
			return &t->e[i];
	return NULL;
}

void rsn_add_key(struct rsn_tally *t, const char *key)
{
	struct rsn_entry *e = find(t, key);
	t->total++;
	if (e) {
		e->count++;
		return;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 8;
		t->e = xrealloc(t->e, (size_t)t->cap * sizeof *t->e);
	}
	t->e[t->n] = (struct rsn_entry){xstrdup(key), NULL, 1, t->n};
	t->n++;
}

void rsn_add(struct rsn_tally *t, const char *reason)
{
	char key[256];
	rsn_key(reason, key, sizeof key);
	rsn_add_key(t, key);
}

void rsn_figure(struct rsn_tally *t, const char *key, const char *figure)
{
	struct rsn_entry *e = find(t, key);
	if (!e)
		return;
	free(e->figure);
	e->figure = xstrdup(figure);
}

static int by_count(const void *a, const void *b)
{
	const struct rsn_entry *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->first - y->first;
}

const char *rsn_top(const struct rsn_tally *t)
{
	const struct rsn_entry *best = NULL;
	for (int i = 0; i < t->n; i++)
		if (!best || by_count(&t->e[i], best) < 0)
			best = &t->e[i];
	return best ? best->key : NULL;
}

/* ", and K more reasons (N)" for entries from..n-1, or "" when none. */
static void tail(const struct rsn_entry *e, int from, int n, char *out, size_t len)
{
	int items = 0;
	for (int i = from; i < n; i++)
		items += e[i].count;
	if (from >= n)
		out[0] = '\0';
	else
		snprintf(out, len, "%s%d more reason%s (%d)", from ? ", and " : "", n - from,
			 n - from == 1 ? "" : "s", items);
}

void rsn_render(const struct rsn_tally *t, const char *prefix, char *out, size_t len)
{
	struct rsn_entry *e = xcalloc((size_t)t->n + 1, sizeof *e);
	struct buf b = BUF_INIT, clause = BUF_INIT;
	char rest[96];
	int i;
	if (t->n)
		memcpy(e, t->e, (size_t)t->n * sizeof *e);
	qsort(e, (size_t)t->n, sizeof *e, by_count);
	buf_puts(&b, prefix);
	for (i = 0; i < t->n; i++) {
		buf_reset(&clause);
		buf_printf(&clause, "%s%d %s", i ? ", " : "", e[i].count, e[i].key);
		if (e[i].figure)
			buf_printf(&clause, " (%s)", e[i].figure);
		tail(e, i + 1, t->n, rest, sizeof rest);
		if (b.len + clause.len + strlen(rest) >= len)
			break;
		buf_append(&b, clause.data, clause.len);
	}
	tail(e, i, t->n, rest, sizeof rest);
	snprintf(out, len, "%s%s", b.data ? b.data : "", rest);
	buf_free(&clause);
	buf_free(&b);
	free(e);
}
