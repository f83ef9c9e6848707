/* Tests of the YAML reader's fast path (src/yamlfast.c): on every input it
 * must give what libyaml alone gives (documents, their first lines, the
 * document count, the error message), and the dev store must load a
 * kubectl-style cluster file through it. */
#include "vx/memstore.h"
#include "vx/yamljson.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int collect(void *ud, const cJSON *doc, int line, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	cJSON *w = cJSON_CreateObject();
	cJSON_AddNumberToObject(w, "line", line);
	cJSON_AddItemToObject(w, "doc", cJSON_Duplicate(doc, 1));
	cJSON_AddItemToArray(ud, w);
	return 0;
}

/* Parses y both ways and checks that nothing differs. */
static void same(const char *y)
{
	cJSON *a = cJSON_CreateArray(), *b = cJSON_CreateArray();
	char ea[512] = "", eb[512] = "";
	int na = yj_parse(y, strlen(y), "t.yaml", collect, a, ea, sizeof ea);
	int nb = yj_parse_libyaml(y, strlen(y), "t.yaml", collect, b, eb, sizeof eb);
	if (na != nb || strcmp(ea, eb) || !cJSON_Compare(a, b, 1)) {
		char *ta = cJSON_PrintUnformatted(a), *tb = cJSON_PrintUnformatted(b);
		fail_msg("input:\n%s\nfast: %d %s %s\nlibyaml: %d %s %s", y, na, ea, ta, nb, eb,
			 tb);
	}
	cJSON_Delete(a);
	cJSON_Delete(b);
}

static void fast_path_equals_libyaml(void **state)
{
	(void)state;
	static const char *const cases[] = {
	    "a: 1\nb: x\n",
	    "# c\n\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p # trailing\n  labels: {}\n",
	    "---\na: 1\n---\n---\nb: [ ]\n",
	    "a: 1\n---\n",
	    "---\n# only a comment\n",
	    "",
	    "# nothing\n",
	    "k:\n- a\n- -b\n- 'it''s'\n- \"q\\\"\\n\\t\\\\\"\n- \n- ~\nz: 1\n",
	    "spec:\n  containers:\n  - name: c\n    args:\n    - --x=1\n    resources:\n"
	    "      limits:\n        n: \"2\"\n  - name: d\n  nodeName: n1\nstatus: {}\n",
	    "n: [1]\n",
	    "v: 1.5\nw: -3\nx: 0x1F\ny: True\nz: null\ne: 1e3\nt: yes\ns: \"3\"\nq: ''\n",
	    "dup: 1\ndup: 2\nother: 3\n",
	    "a:\nb:\n  c:\n",
	    "a: b: c\n",
	    "a: 1\n  b: 2\n",
	    "a:\n  b: 1\n c: 2\n",
	    "a: hello\n  world\n",
	    "a: |\n  text\n  more\nb: 1\n",
	    "a: >-\n  folded\n",
	    "a: &x 1\nb: *x\n",
	    "a: !!str 1\n",
	    "a:\tb\n",
	    "a: b\r\nc: d\r\n",
	    "a: \"unterminated\n",
	    "a: \"x\"#c\n",
	    "a: {}x\n",
	    "- a\n- b\n",
	    "  a: 1\n  b: 2\n",
	    "a: 1\n...\n---\nb: 2\n",
	    "%YAML 1.1\n---\na: 1\n",
	    "--- {a: 1}\n",
	    "a: 1\n--- |\n  x\n",
	    "\"quoted key\": 1\n'single': 2\n? complex\n: 3\n",
	    "a: caf\xc3\xa9\n",
	    "a: [1, 2\nb: 3\n",
	    "a: 1\n---\nb: [1, 2\nc: 3\n",
	    "k: a#b\nm: 'x' # c\nn: x:y\no: http://h:80/p\np: -\n",
	    "list:\n  - a: 1\n    b: 2\n  - c: 3\n-x: 4\n",
	    "s:\n- - a\n- b\n",
	    "s:\n-\n  a: 1\n",
	    "a: 1 # c\n# c2\n  # c3\nb: 2\n",
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		same(cases[i]);
}

/* 70 levels: past the depth limit, which the fast path leaves to libyaml. */
static void deep_nesting_is_refused_the_same_way(void **state)
{
	(void)state;
	char y[8192];
	size_t n = 0;
	for (int i = 0; i < 70; i++)
		n += (size_t)snprintf(y + n, sizeof y - n, "%*sk:\n", i * 2, "");
	snprintf(y + n, sizeof y - n, "%*sv: 1\n", 140, "");
	same(y);
	char err[256];
	assert_int_equal(yj_parse(y, strlen(y), "d.yaml", NULL, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "nested deeper"));
}

/* An error after many fast-path documents is reported at its own line. */
static void errors_keep_file_and_line(void **state)
{
	(void)state;
	const char *y = "a: 1\n---\nb: 2\n---\nc: [1,\nd: 2\n";
	char err[256];
	assert_int_equal(yj_parse(y, strlen(y), "f.yaml", NULL, NULL, err, sizeof err), -1);
	char want[256];
	assert_int_equal(yj_parse_libyaml(y, strlen(y), "f.yaml", NULL, NULL, want, sizeof want),
			 -1);
	assert_string_equal(err, want);
	assert_non_null(strstr(err, "f.yaml:7:")); /* libyaml notices at the end */
}

/* The dev store loads kubectl-style YAML: a corrupt vgpu-ids-new does not
 * stop the file, and a store error names the document's line. */
static void store_loads_kubectl_yaml(void **state)
{
	(void)state;
	const char *y = "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  annotations:\n"
			"    volcano.sh/node-vgpu-register: \"GPU-0,10,24576,L4,true,hami-core:\"\n"
			"status:\n  allocatable:\n    volcano.sh/vgpu-number: \"10\"\n---\n"
			"apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\n  annotations:\n"
			"    volcano.sh/vgpu-ids-new: \"GPU-0,NVIDIA,notanumber\"\n"
			"spec:\n  nodeName: n1\n  containers:\n  - name: c\nstatus:\n"
			"  phase: Running\n---\napiVersion: v1\nkind: List\nitems:\n"
			"- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: ok\n"
			"  spec:\n    containers:\n    - name: c\n";
	char err[256];
	struct vx_clock clk;
	assert_int_equal(clk_init(&clk, NULL, err, sizeof err), 0);
	struct store *s = mstore_new(&clk);
	assert_int_equal(mstore_load(s, y, strlen(y), "c.yaml", err, sizeof err), 0);
	struct store_err e;
	cJSON *p = s->ops->get_pod(s, "default", "ok", &e);
	assert_non_null(p);
	assert_string_equal(
	    cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "status"), "phase")),
	    "Pending");
	cJSON_Delete(p);
	const char *dup = "kind: Pod\nmetadata:\n  name: ok\n";
	assert_int_equal(mstore_load(s, dup, strlen(dup), "d.yaml", err, sizeof err), -1);
	assert_non_null(strstr(err, "d.yaml:1: "));
	s->ops->destroy(s);
	clk_free(&clk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fast_path_equals_libyaml),
	    cmocka_unit_test(deep_nesting_is_refused_the_same_way),
	    cmocka_unit_test(errors_keep_file_and_line),
	    cmocka_unit_test(store_loads_kubectl_yaml),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
