/* Unit tests for flags, the YAML config file and the YAML-to-JSON reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/config.h"
#include "vx/log.h"
#include "vx/yamljson.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof path, "/tmp/vx-cfg-%d.yaml", (int)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static enum cfg_result parse(struct vx_config *c, char *err, const char *a1, const char *a2,
			     const char *a3, const char *a4)
{
	char *argv[] = {"vgpu-extender", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
	int argc = 1;
	while (argv[argc])
		argc++;
	return cfg_parse(argc, argv, c, err, 512);
}

static void defaults_and_flags(void **state)
{
	(void)state;
	struct vx_config c;
	char err[512];
	assert_int_equal(parse(&c, err, "--dev", NULL, NULL, NULL), CFG_OK);
	assert_string_equal(c.listen, "127.0.0.1:8888");
	assert_true(c.dev);
	assert_int_equal(c.node_policy, POLICY_BINPACK);
	assert_int_equal(c.gpu_policy, POLICY_SPREAD);
	cfg_free(&c);
	assert_int_equal(parse(&c, err, "--node-policy=spread", "--listen", "0.0.0.0:9", NULL),
			 CFG_OK);
	assert_int_equal(c.node_policy, POLICY_SPREAD);
	assert_string_equal(c.listen, "0.0.0.0:9");
	cfg_free(&c);
}

static void bad_flags(void **state)
{
	(void)state;
	struct vx_config c;
	char err[512];
	assert_int_equal(parse(&c, err, "--nope", NULL, NULL, NULL), CFG_ERROR);
	assert_non_null(strstr(err, "--nope"));
	cfg_free(&c);
	assert_int_equal(parse(&c, err, "--gpu-policy", "tight", NULL, NULL), CFG_ERROR);
	assert_non_null(strstr(err, "--gpu-policy"));
	assert_non_null(strstr(err, "tight"));
	cfg_free(&c);
	assert_int_equal(parse(&c, err, "--listen", NULL, NULL, NULL), CFG_ERROR);
	assert_non_null(strstr(err, "needs a value"));
	cfg_free(&c);
	assert_int_equal(parse(&c, err, "--tls-cert", "x.pem", NULL, NULL), CFG_ERROR);
	cfg_free(&c);
	assert_int_equal(parse(&c, err, "--listen", "127.0.0.1:99999", NULL, NULL), CFG_ERROR);
	assert_non_null(strstr(err, "--listen"));
	cfg_free(&c);
	assert_int_equal(parse(&c, err, "--listen", "localhost", NULL, NULL), CFG_ERROR);
	cfg_free(&c);
	assert_int_equal(parse(&c, err, "--cluster", "x.yaml", NULL, NULL), CFG_ERROR);
	assert_non_null(strstr(err, "--dev"));
	cfg_free(&c);
}

static void config_file_and_override(void **state)
{
	(void)state;
	struct vx_config c;
	char err[512];
	const char *p = write_tmp("listen: 127.0.0.1:7000\nnodePolicy: spread\nlogLevel: debug\n"
				  "dev: true\nqueues:\n  - name: a\n");
	assert_int_equal(parse(&c, err, "--config", p, "--listen=127.0.0.1:7001", NULL), CFG_OK);
	assert_string_equal(c.listen, "127.0.0.1:7001"); /* the flag wins */
	assert_int_equal(c.node_policy, POLICY_SPREAD);
	assert_int_equal(c.log_level, VLOG_DEBUG);
	assert_true(c.dev);
	cfg_free(&c);
	unlink(p);
}

static void config_file_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text, *want;
	} bad[] = {
	    {"listen: x\nnodePolicy: tight\n", ":2: key \"nodePolicy\": want binpack or spread"},
	    {"listen: x\n\nbogus: 1\n", ":3: unknown key \"bogus\""},
	    {"listen: [a, b]\n", ":1: key \"listen\" needs a single value"},
	    {"- just\n- a list\n", ":1: the config must be a mapping"},
	    {"listen: x\n  bad: indent: here\n", ":2:"},
	    {"threads: 0\n", ":1: key \"threads\": want a number"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct vx_config c;
		char err[512];
		const char *p = write_tmp(bad[i].text);
		assert_int_equal(parse(&c, err, "--config", p, NULL, NULL), CFG_ERROR);
		if (!strstr(err, p) || !strstr(err, bad[i].want))
			fail_msg("config %zu: error \"%s\" lacks \"%s\"", i, err, bad[i].want);
		cfg_free(&c);
		unlink(p);
	}
	struct vx_config c;
	char err[512];
	assert_int_equal(parse(&c, err, "--config", "/nonexistent/x.yaml", NULL, NULL), CFG_ERROR);
	assert_non_null(strstr(err, "/nonexistent/x.yaml"));
	cfg_free(&c);
}

/* queues: and licenses: are not used yet, but their entries are checked
 * field by field (SPEC sections 5 and 6). */
static void sections_checked(void **state)
{
	(void)state;
	static const struct {
		const char *text, *want;
	} bad[] = {
	    {"queues:\n  - name: a\n    quota: two\n",
	     ":3: queues[0] key \"quota\": want a number"},
	    {"queues:\n  - name: a\n    limit: -2\n", ":3: queues[0] key \"limit\": want -1"},
	    {"queues:\n  - namespaces: [x]\n", ":2: queues[0] has no name"},
	    {"queues:\n  - name: a\n  - name: a\n", ":3: queues[1]: a second entry named \"a\""},
	    {"queues:\n  - name: a\n    namespace: [x]\n", "key \"namespace\": unknown key"},
	    {"queues:\n  - name: a\n    namespaces: x\n", "want a list of namespace names"},
	    {"queues: {name: a}\n", ":1: key \"queues\" must be a list"},
	    {"licenses:\n  - name: l\n    resetUTC: \"25:00\"\n", "want a time of day"},
	    {"licenses:\n  - name: l\n    maxSlots: 1.5\n", "want a whole number"},
	    {"licenses:\n  - just-a-name\n", ":2: licenses[0] must be a mapping"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct vx_config c;
		char err[512];
		const char *p = write_tmp(bad[i].text);
		assert_int_equal(parse(&c, err, "--config", p, NULL, NULL), CFG_ERROR);
		if (!strstr(err, p) || !strstr(err, bad[i].want))
			fail_msg("config %zu: error \"%s\" lacks \"%s\"", i, err, bad[i].want);
		cfg_free(&c);
		unlink(p);
	}
	struct vx_config c;
	char err[512];
	const char *p =
	    write_tmp("queues:\n  - name: team-a\n    namespaces: [team-a]\n"
		      "    quota: 1.5\n    overQuotaWeight: 1\n    limit: -1\n"
		      "  - name: team-b\nlicenses:\n  - name: acme\n"
		      "    namespaces: [acme-cfd]\n    dailyHours: 96\n    maxSlots: 16\n"
		      "    resetUTC: \"00:00\"\n");
	assert_int_equal(parse(&c, err, "--config", p, NULL, NULL), CFG_OK);
	assert_int_equal(c.nqueues, 2);
	assert_int_equal(c.nlicenses, 1);
	cfg_free(&c);
	p = write_tmp("queues: []\nlicenses:\n");
	assert_int_equal(parse(&c, err, "--config", p, NULL, NULL), CFG_OK);
	cfg_free(&c);
	unlink(p);
}

/* --check-config: exit 0 (CFG_EXIT) with a summary, or an error naming what
 * the daemon could not open. */
static void check_config(void **state)
{
	(void)state;
	struct vx_config c;
	char err[512];
	const char *p = write_tmp("nodePolicy: spread\nqueues:\n  - name: a\n");
	assert_int_equal(parse(&c, err, "--config", p, "--check-config", NULL), CFG_EXIT);
	cfg_free(&c);
	assert_int_equal(parse(&c, err, "--check-config", "--node-policy=x", NULL, NULL),
			 CFG_ERROR);
	assert_non_null(strstr(err, "--node-policy"));
	cfg_free(&c);
	assert_int_equal(parse(&c, err, "--check-config", "--kubeconfig", "/nonexistent/kc", NULL),
			 CFG_ERROR);
	assert_non_null(strstr(err, "--kubeconfig /nonexistent/kc"));
	cfg_free(&c);
	assert_int_equal(parse(&c, err, "--check-config", "--state-dir", p, NULL), CFG_ERROR);
	assert_non_null(strstr(err, "not a directory"));
	cfg_free(&c);
	unlink(p);
}

struct docs {
	int n;
	char kinds[8][32];
};

static int collect(void *ud, const cJSON *doc, int line, char *err, size_t errlen)
{
	struct docs *d = ud;
	(void)line, (void)err, (void)errlen;
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(doc, "kind");
	snprintf(d->kinds[d->n++ % 8], 32, "%s", cJSON_IsString(k) ? k->valuestring : "?");
	return 0;
}

static void yaml_stream(void **state)
{
	(void)state;
	const char *y = "kind: Node\nmetadata:\n  name: a\n---\n---\nkind: Pod\nspec:\n  n: 3\n"
			"  b: true\n  s: \"3\"\n  z: ~\n  f: 1.5\n  h: 0x1F\n";
	struct docs d = {0};
	char err[256];
	assert_int_equal(yj_parse(y, strlen(y), "t.yaml", collect, &d, err, sizeof err), 3);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.kinds[0], "Node");
	assert_string_equal(d.kinds[1], "Pod");
}

static int check_scalars(void *ud, const cJSON *doc, int line, char *err, size_t errlen)
{
	(void)ud, (void)line, (void)err, (void)errlen;
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "spec");
	assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(s, "n")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "b")));
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(s, "s")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s, "z")));
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(s, "h")));
	return 0;
}

static void yaml_scalars_and_errors(void **state)
{
	(void)state;
	const char *y = "spec:\n  n: 3\n  b: true\n  s: \"3\"\n  z: ~\n  h: 0x1F\n";
	char err[256];
	assert_int_equal(yj_parse(y, strlen(y), "s.yaml", check_scalars, NULL, err, sizeof err), 1);
	const char *bad = "a: 1\nb: [1, 2\nc: 3\n";
	assert_int_equal(yj_parse(bad, strlen(bad), "bad.yaml", NULL, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "bad.yaml:"));
	assert_int_equal(yj_parse_file("/nonexistent.yaml", NULL, NULL, err, sizeof err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(defaults_and_flags),
	    cmocka_unit_test(bad_flags),
	    cmocka_unit_test(config_file_and_override),
	    cmocka_unit_test(config_file_errors),
	    cmocka_unit_test(sections_checked),
	    cmocka_unit_test(check_config),
	    cmocka_unit_test(yaml_stream),
	    cmocka_unit_test(yaml_scalars_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
