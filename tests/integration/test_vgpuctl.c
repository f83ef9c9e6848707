/* test_vgpuctl: runs the real vgpuctl against a real dev-mode daemon and
 * checks what a user sees: the lines it prints and its exit code. Each test
 * gets its own daemon (the fixture), so pods never leak between tests, and
 * the teardown fails the test when the daemon does not exit cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NCOLS 6
#define WAIT_MS 15000

static const char *const dev_args[] = {"--dev", NULL};

static const char two_pods[] = "apiVersion: v1\n"
			       "kind: Pod\n"
			       "metadata:\n"
			       "  name: vgpu-a\n"
			       "spec:\n"
			       "  containers:\n"
			       "  - name: main\n"
			       "    image: busybox\n"
			       "    resources:\n"
			       "      limits:\n"
			       "        volcano.sh/vgpu-number: 1\n"
			       "        volcano.sh/vgpu-memory: 2000\n"
			       "        volcano.sh/vgpu-cores: 20\n"
			       "---\n"
			       "apiVersion: v1\n"
			       "kind: Pod\n"
			       "metadata:\n"
			       "  name: vgpu-b\n"
			       "spec:\n"
			       "  containers:\n"
			       "  - name: main\n"
			       "    image: busybox\n"
			       "    resources:\n"
			       "      limits:\n"
			       "        volcano.sh/vgpu-number: 2\n"
			       "        volcano.sh/vgpu-memory: 4000\n"
			       "        volcano.sh/vgpu-cores: 30\n";

static int start_daemon(void **state)
{
	struct hx_daemon *d = calloc(1, sizeof *d);
	if (!d || hx_start(d, dev_args)) {
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

static int stop_daemon(void **state)
{
	struct hx_daemon *d = *state;
	int rc = hx_stop(d);
	free(d);
	if (rc != 0)
		fprintf(stderr, "daemon exited with status %d\n", rc);
	return rc == 0 ? 0 : -1;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Runs vgpuctl [--server URL] ARGS... and captures its output. */
static int run_ctl(const struct hx_daemon *d, char **out, const char *const *args)
{
	const char *argv[32];
	int n = 0;
	argv[n++] = hx_bin("vgpuctl");
	if (d) {
		argv[n++] = "--server";
		argv[n++] = d->url;
	}
	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	int rc = hx_run(argv, out);
	assert_non_null(*out);
	return rc;
}
#define ctl(d, out, ...) run_ctl(d, out, (const char *const[]){__VA_ARGS__, NULL})

/* Runs a shell command line (for stdin redirection). */
static int sh(const char *cmd, char **out)
{
	const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	int rc = hx_run(argv, out);
	assert_non_null(*out);
	return rc;
}

struct row {
	char tok[NCOLS][128];
	int col[NCOLS]; /* where each cell starts, to check the alignment */
	int n;
};

static void split_row(const char *line, size_t len, struct row *r)
{
	memset(r, 0, sizeof *r);
	for (size_t i = 0; i < len && r->n < NCOLS;) {
		while (i < len && line[i] == ' ')
			i++;
		size_t s = i;
		while (i < len && line[i] != ' ')
			i++;
		if (i > s && i - s < sizeof r->tok[0]) {
			r->col[r->n] = (int)s;
			memcpy(r->tok[r->n++], line + s, i - s);
		}
	}
}

/* Finds the table row whose first cell is workload; 0 if found. */
static int find_row(const char *out, const char *workload, struct row *r)
{
	memset(r, 0, sizeof *r);
	for (const char *l = out; *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		split_row(l, len, r);
		if (r->n == NCOLS && !strcmp(r->tok[0], workload))
			return 0;
		l += len + (e ? 1 : 0);
	}
	return -1;
}

/* The header must name the six columns, and each row's cells must start
 * under their heading. */
static void assert_table(const char *out, const struct row *row)
{
	struct row head;
	static const char *const names[NCOLS] = {"Workload", "Queue", "Status",
						 "Priority", "GPUs",  "Node"};
	assert_int_equal(find_row(out, "Workload", &head), 0);
	for (int k = 0; k < NCOLS; k++) {
		assert_string_equal(head.tok[k], names[k]);
		assert_int_equal(head.col[k], row->col[k]);
	}
}

/* Polls `list -A` until workload shows Running on a node; returns its row. */
static void wait_running(const struct hx_daemon *d, const char *workload, struct row *r)
{
	char *out = NULL;
	for (int waited = 0; waited < WAIT_MS; waited += 100) {
		free(out);
		assert_int_equal(ctl(d, &out, "list", "-A"), 0);
		if (find_row(out, workload, r) == 0 && !strcmp(r->tok[2], "Running") &&
		    strcmp(r->tok[5], "-") != 0)
			break;
		sleep_ms(100);
	}
	if (find_row(out, workload, r) || strcmp(r->tok[2], "Running") != 0)
		fail_msg("%s never ran; last list:\n%s", workload, out);
	assert_table(out, r);
	free(out);
}

static void test_apply_list_get_state(void **state)
{
	struct hx_daemon *d = *state;
	const char *file = hx_tmpfile(two_pods, ".yaml");
	char *out;
	struct row a, b;
	assert_int_equal(ctl(d, &out, "apply", "-f", file), 0);
	assert_non_null(strstr(out, "pod/default/vgpu-a created"));
	assert_non_null(strstr(out, "pod/default/vgpu-b created"));
	free(out);

	wait_running(d, "default/vgpu-a", &a);
	wait_running(d, "default/vgpu-b", &b);
	assert_string_equal(a.tok[4], "1");
	assert_string_equal(b.tok[4], "2");
	assert_string_equal(a.tok[3], "5"); /* the default priority */
	assert_non_null(strstr(a.tok[5], "demo-node-"));

	assert_int_equal(ctl(d, &out, "get", "default/vgpu-a"), 0);
	assert_non_null(strstr(out, "\"volcano.sh/vgpu-ids-new\": \""));
	cJSON *pod = cJSON_Parse(out);
	assert_non_null(pod);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(pod, "metadata"), "name")->valuestring,
	    "vgpu-a");
	cJSON_Delete(pod);
	free(out);

	assert_int_equal(ctl(d, &out, "state"), 0);
	cJSON *st = cJSON_Parse(out);
	assert_non_null(st);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "nodes")), 2);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "pods")), 2);
	cJSON_Delete(st);
	free(out);
	unlink(file);
}

static void test_list_namespaces_and_json(void **state)
{
	struct hx_daemon *d = *state;
	char cmd[1024], *out;
	struct row r;
	const char *file = hx_tmpfile(
	    "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":["
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p-def\"},"
	    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\",\"resources\":"
	    "{\"limits\":{\"volcano.sh/vgpu-number\":1,\"volcano.sh/vgpu-memory\":1000}}}]}},"
	    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"svc\"}},"
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p-team\","
	    "\"namespace\":\"team-x\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
	    "\"x\",\"resources\":{\"limits\":{\"volcano.sh/vgpu-number\":1}}}]}}]}",
	    ".json");
	/* A JSON List on stdin: items expanded, the Service skipped with a warning. */
	snprintf(cmd, sizeof cmd, "%s --server=%s apply -f - < %s", hx_bin("vgpuctl"), d->url,
		 file);
	assert_int_equal(sh(cmd, &out), 0);
	assert_non_null(strstr(out, "pod/default/p-def created"));
	assert_non_null(strstr(out, "pod/team-x/p-team created"));
	assert_non_null(strstr(out, "skipping Service svc"));
	free(out);
	wait_running(d, "team-x/p-team", &r);

	assert_int_equal(ctl(d, &out, "list"), 0); /* namespace default only */
	assert_int_equal(find_row(out, "default/p-def", &r), 0);
	assert_int_not_equal(find_row(out, "team-x/p-team", &r), 0);
	free(out);
	assert_int_equal(ctl(d, &out, "list", "-n", "team-x", "-o", "json"), 0);
	cJSON *rows = cJSON_Parse(out);
	assert_int_equal(cJSON_GetArraySize(rows), 1);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 0), "name")->valuestring,
			    "p-team");
	cJSON_Delete(rows);
	free(out);
	assert_int_equal(ctl(d, &out, "list", "--namespace=nobody"), 0);
	assert_non_null(strstr(out, "No workloads found in namespace nobody"));
	free(out);
	unlink(file);
}

static void test_apply_malformed(void **state)
{
	struct hx_daemon *d = *state;
	char want[300], *out;
	/* A good pod first: nothing may be created when a later document is bad. */
	const char *file = hx_tmpfile("apiVersion: v1\nkind: Pod\nmetadata:\n  name: early\n"
				      "spec:\n  containers: []\n---\n"
				      "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: bad\n",
				      ".yaml");
	assert_int_equal(ctl(d, &out, "apply", "-f", file), 1);
	snprintf(want, sizeof want, "vgpuctl: %s:11: ", file);
	if (!strstr(out, want))
		fail_msg("expected \"%s\" in:\n%s", want, out);
	assert_null(strstr(out, "created"));
	free(out);
	assert_int_equal(ctl(d, &out, "list", "-A"), 0);
	assert_null(strstr(out, "early"));
	free(out);
	unlink(file);
}

static void test_apply_twice(void **state)
{
	struct hx_daemon *d = *state;
	const char *file = hx_tmpfile("apiVersion: v1\nkind: Pod\nmetadata:\n  name: dup\n"
				      "spec:\n  containers: []\n",
				      ".yaml");
	char *out;
	assert_int_equal(ctl(d, &out, "apply", "-f", file), 0);
	assert_non_null(strstr(out, "pod/default/dup created"));
	free(out);
	assert_int_equal(ctl(d, &out, "apply", "-f", file), 1);
	assert_non_null(strstr(out, "vgpuctl: pod/default/dup: "));
	assert_non_null(strstr(out, "already exists"));
	assert_null(strstr(out, "created"));
	free(out);
	unlink(file);
}

static void test_delete(void **state)
{
	struct hx_daemon *d = *state;
	const char *file = hx_tmpfile(two_pods, ".yaml");
	char *out;
	struct row r;
	assert_int_equal(ctl(d, &out, "apply", "-f", file), 0);
	free(out);
	wait_running(d, "default/vgpu-a", &r);
	assert_int_equal(ctl(d, &out, "delete", "default/vgpu-a"), 0);
	assert_non_null(strstr(out, "job/default/vgpu-a deleted"));
	free(out);
	assert_int_equal(ctl(d, &out, "list", "-A"), 0);
	assert_int_not_equal(find_row(out, "default/vgpu-a", &r), 0);
	assert_int_equal(find_row(out, "default/vgpu-b", &r), 0);
	free(out);
	assert_int_equal(ctl(d, &out, "delete", "default/vgpu-a"), 1);
	assert_non_null(strstr(out, "not found"));
	free(out);
	unlink(file);
}

/* priority, use-credits and license may not be served yet: then the
 * daemon's own error is shown and the exit code is 1, never a usage error. */
static void test_admin_actions(void **state)
{
	struct hx_daemon *d = *state;
	const char *file = hx_tmpfile(two_pods, ".yaml");
	char *out;
	struct row r;
	assert_int_equal(ctl(d, &out, "apply", "-f", file), 0);
	free(out);
	wait_running(d, "default/vgpu-a", &r);
	int rc = ctl(d, &out, "priority", "default/vgpu-a", "7");
	if (rc == 0)
		assert_non_null(strstr(out, "job/default/vgpu-a priority set to 7"));
	else
		assert_true(rc == 1 && !strncmp(out, "vgpuctl: ", 9) && !strstr(out, "Usage"));
	free(out);
	rc = ctl(d, &out, "use-credits", "default/vgpu-b");
	if (rc == 0)
		assert_non_null(strstr(out, "job/default/vgpu-b now billed to credits"));
	else
		assert_true(rc == 1 && !strncmp(out, "vgpuctl: ", 9) && !strstr(out, "Usage"));
	free(out);
	assert_int_equal(ctl(d, &out, "license", "no-such-licence"), 1);
	assert_true(!strncmp(out, "vgpuctl: ", 9) && !strstr(out, "Usage"));
	free(out);
	unlink(file);
}

static void test_usage(void **state)
{
	char *out;
	(void)state;
	assert_int_equal(ctl(NULL, &out, "frobnicate"), 2);
	assert_non_null(strstr(out, "unknown command \"frobnicate\""));
	assert_non_null(strstr(out, "Usage: vgpuctl"));
	free(out);
	assert_int_equal(ctl(NULL, &out, "--help"), 0);
	assert_non_null(strstr(out, "apply -f FILE"));
	assert_non_null(strstr(out, "list [-A | -n NS]"));
	free(out);
	assert_int_equal(ctl(NULL, &out, "--version"), 0);
	assert_int_equal(strncmp(out, "vgpuctl ", 8), 0);
	free(out);
	assert_int_equal(ctl(NULL, &out, "priority", "default/x", "11"), 2);
	assert_non_null(strstr(out, "from 1 to 10"));
	free(out);
	assert_int_equal(ctl(NULL, &out, "get", "no-slash"), 2);
	assert_non_null(strstr(out, "expected NS/NAME"));
	free(out);
	assert_int_equal(ctl(NULL, &out, "list", "-A", "-n", "x"), 2);
	assert_non_null(strstr(out, "exclude each other"));
	free(out);
	assert_int_equal(ctl(NULL, &out, "apply"), 2);
	assert_non_null(strstr(out, "needs -f FILE"));
	free(out);
}

static void test_unreachable(void **state)
{
	char *out;
	(void)state;
	const char *argv[] = {hx_bin("vgpuctl"), "--server", "http://127.0.0.1:1", "list", NULL};
	assert_int_equal(hx_run(argv, &out), 1);
	assert_non_null(strstr(out, "vgpuctl: cannot reach the daemon at http://127.0.0.1:1: "));
	free(out);
	/* The environment names the server when --server does not. */
	setenv("VGPUCTL_SERVER", "http://127.0.0.1:1/", 1);
	assert_int_equal(ctl(NULL, &out, "state"), 1);
	unsetenv("VGPUCTL_SERVER");
	assert_non_null(strstr(out, "cannot reach the daemon at http://127.0.0.1:1: "));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_apply_list_get_state, start_daemon, stop_daemon),
	    cmocka_unit_test_setup_teardown(test_list_namespaces_and_json, start_daemon,
					    stop_daemon),
	    cmocka_unit_test_setup_teardown(test_apply_malformed, start_daemon, stop_daemon),
	    cmocka_unit_test_setup_teardown(test_apply_twice, start_daemon, stop_daemon),
	    cmocka_unit_test_setup_teardown(test_delete, start_daemon, stop_daemon),
	    cmocka_unit_test_setup_teardown(test_admin_actions, start_daemon, stop_daemon),
	    cmocka_unit_test(test_usage),
	    cmocka_unit_test(test_unreachable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
