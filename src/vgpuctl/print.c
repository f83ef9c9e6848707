/* vgpuctl print: how answers look: cells and "key: value" text, JSON
 * indented like kubectl and jq, YAML like kubectl's, aligned tables, and the
 * -o formats each command accepts. Everything renders into a buffer first,
 * so watch can tell whether anything changed. */
#include "vgpuctl.h"

#include <stdlib.h>
#include <string.h>

char *value_text(const cJSON *v)
{
	char tmp[64];
	if (cJSON_IsString(v))
		return strdup(v->valuestring[0] ? v->valuestring : "-");
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		/* The range check keeps the cast defined (UBSan) for huge values. */
		if (d > -1e15 && d < 1e15 && d == (double)(long long)d)
			snprintf(tmp, sizeof tmp, "%lld", (long long)d);
		else
			snprintf(tmp, sizeof tmp, "%.4g", d);
		return strdup(tmp);
	}
	if (cJSON_IsBool(v))
		return strdup(cJSON_IsTrue(v) ? "true" : "false");
	if (!v || cJSON_IsNull(v))
		return strdup("-");
	return cJSON_PrintUnformatted(v);
}

static void newline(struct buf *b, int depth)
{
	buf_putc(b, '\n');
	for (int i = 0; i < depth; i++)
		buf_puts(b, "  ");
}

/* j indented by two spaces, one member per line, like kubectl and jq:
 * cJSON_Print's tabs and "key":<tab>value layout read poorly in a terminal.
 * Works on cJSON's compact text, whose only blanks are inside strings. */
static void render_json(const cJSON *j, struct buf *b)
{
	char *s = cJSON_PrintUnformatted(j);
	int depth = 0;
	bool in_str = false;
	for (const char *p = s; p && *p; p++) {
		if (in_str) {
			buf_putc(b, *p);
			if (*p == '\\' && p[1])
				buf_putc(b, *++p);
			else if (*p == '"')
				in_str = false;
		} else if ((*p == '{' || *p == '[') && (p[1] == '}' || p[1] == ']')) {
			buf_putc(b, *p++); /* an empty object or array stays on one line */
			buf_putc(b, *p);
		} else if (*p == '{' || *p == '[') {
			buf_putc(b, *p);
			newline(b, ++depth);
		} else if (*p == '}' || *p == ']') {
			newline(b, --depth);
			buf_putc(b, *p);
		} else if (*p == ',') {
			buf_putc(b, ',');
			newline(b, depth);
		} else if (*p == ':') {
			buf_puts(b, ": ");
		} else {
			buf_putc(b, *p);
			in_str = *p == '"';
		}
	}
	buf_puts(b, s ? "\n" : "null\n");
	free(s);
}

/* ---- YAML ---------------------------------------------------------------- */

/* Whether s can be written unquoted and still read back as the same string:
 * not empty, not a number, bool or null, no indicator or blank at the edges,
 * nothing that starts a comment or a mapping inside. */
static bool yaml_plain(const char *s)
{
	static const char *const words[] = {"true", "false", "yes",   "no",   "on",   "off",
					    "null", "True",  "False", "Null", "NULL", "~"};
	char *end;
	if (!*s || strchr("-?:,[]{}#&*!|>'\"%@` ", *s) || s[strlen(s) - 1] == ' ')
		return false;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (!strcmp(s, words[i]))
			return false;
	(void)strtod(s, &end);
	if (!*end)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || (*p == ':' && (p[1] == ' ' || !p[1])) ||
		    (*p == '#' && p[-1] == ' '))
			return false;
	return true;
}

/* A JSON string literal is also a valid YAML double-quoted scalar. */
static void yaml_str(struct buf *b, const char *s)
{
	if (yaml_plain(s))
		buf_puts(b, s);
	else
		buf_json_str(b, s);
}

static void yaml_scalar(struct buf *b, const cJSON *v)
{
	if (cJSON_IsString(v)) {
		yaml_str(b, v->valuestring);
	} else if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		buf_puts(b, cJSON_IsObject(v) ? "{}" : "[]"); /* only empty ones get here */
	} else {
		char *t = cJSON_PrintUnformatted(v);
		buf_puts(b, t ? t : "null");
		free(t);
	}
}

static void yaml_value(struct buf *b, const cJSON *v, int indent, bool after_key);

/* The members of v, one a line at indent; when first_done the first one goes
 * where the cursor is (after "- "), as kubectl writes a list of objects. */
static void yaml_block(struct buf *b, const cJSON *v, int indent, bool first_done)
{
	const cJSON *it;
	bool first = true;
	cJSON_ArrayForEach (it, v) {
		if (!first || !first_done)
			buf_printf(b, "%*s", indent, "");
		first = false;
		if (cJSON_IsObject(v)) {
			yaml_str(b, it->string);
			buf_putc(b, ':');
			yaml_value(b, it, indent, true);
		} else {
			buf_puts(b, "- ");
			yaml_value(b, it, indent + 2, false);
		}
	}
}

static void yaml_value(struct buf *b, const cJSON *v, int indent, bool after_key)
{
	bool obj = cJSON_IsObject(v);
	if ((obj || cJSON_IsArray(v)) && v->child) {
		if (!after_key) {
			yaml_block(b, v, indent, true);
			return;
		}
		buf_putc(b, '\n'); /* a list under a key is not indented, as kubectl does */
		yaml_block(b, v, obj ? indent + 2 : indent, false);
		return;
	}
	if (after_key)
		buf_putc(b, ' ');
	yaml_scalar(b, v);
	buf_putc(b, '\n');
}

static void render_yaml(const cJSON *j, struct buf *b)
{
	if ((cJSON_IsObject(j) || cJSON_IsArray(j)) && j->child)
		yaml_block(b, j, 0, false);
	else
		yaml_value(b, j, 0, false);
}

void render(const cJSON *j, enum output fmt, struct buf *b)
{
	if (fmt == OUT_YAML)
		render_yaml(j, b);
	else
		render_json(j, b);
}

void print_doc(const cJSON *j, enum output fmt)
{
	struct buf b = BUF_INIT;
	render(j, fmt, &b);
	fputs(b.data, stdout);
	buf_free(&b);
}

/* ---- output formats ------------------------------------------------------ */

int output_parse(const struct command *cmd, const char *o, enum output *out)
{
	static const struct {
		const char *name;
		enum output fmt;
	} names[] = {
	    {"wide", OUT_WIDE}, {"json", OUT_JSON}, {"yaml", OUT_YAML}, {"name", OUT_NAME}};
	const char *allowed = cmd->outputs ? cmd->outputs : "";
	*out = OUT_TABLE;
	if (!o)
		return 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		size_t l = strlen(names[i].name);
		const char *at = strstr(allowed, names[i].name);
		if (!strcmp(o, names[i].name) && at && (at[l] == '|' || !at[l])) {
			*out = names[i].fmt;
			return 0;
		}
	}
	return usage_error(cmd, "unknown output format \"%s\" (want %s)", o, allowed);
}

/* ---- tables -------------------------------------------------------------- */

void table_init(struct table *t, const char *const *head, int ncols)
{
	char *cells[16];
	memset(t, 0, sizeof *t);
	t->ncols = ncols;
	for (int k = 0; k < ncols && k < 16; k++)
		cells[k] = strdup(head[k]);
	table_add(t, cells);
}

void table_add(struct table *t, char **cells)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->cell = realloc(t->cell, (size_t)t->cap * (size_t)t->ncols * sizeof *t->cell);
		if (!t->cell)
			abort();
	}
	for (int k = 0; k < t->ncols; k++) {
		if (!cells[k])
			abort();
		t->cell[t->nrows * t->ncols + k] = cells[k];
	}
	t->nrows++;
}

void table_render(const struct table *t, struct buf *out)
{
	size_t w[16] = {0};
	for (int i = 0; i < t->nrows * t->ncols; i++) {
		size_t l = strlen(t->cell[i]);
		if (l > w[i % t->ncols])
			w[i % t->ncols] = l;
	}
	for (int i = 0; i < t->nrows * t->ncols; i++) {
		int k = i % t->ncols;
		if (k == t->ncols - 1) /* no trailing blanks after the last column */
			buf_printf(out, "%s\n", t->cell[i]);
		else
			buf_printf(out, "%-*s  ", (int)w[k], t->cell[i]);
	}
}

void table_free(struct table *t)
{
	for (int i = 0; i < t->nrows * t->ncols; i++)
		free(t->cell[i]);
	free(t->cell);
	memset(t, 0, sizeof *t);
}
