/* test_vgpuctl: runs the real vgpuctl against a real dev-mode daemon and
 * checks what a user sees: the lines it prints and its exit code. Each test
 * gets its own daemon (the fixture), so pods never leak between tests, and
 * the teardown fails the test when the daemon does not exit cleanly. It also
 * checks what a new user sees of the daemon itself: --help and file errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "vx/yamljson.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pwd.h>
#include <unistd.h>
#include <unistd.h>

#define NCOLS 6    /* the SPEC columns */
#define MAXCOLS 11 /* with -o wide; the last, Message, is free text */
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

/* Runs a bash script with $V (vgpuctl) and $U (the daemon's URL) set. */
static int bash(const struct hx_daemon *d, const char *script, char **out)
{
	char *full = NULL;
	assert_true(
	    asprintf(&full, "V='%s'; U='%s'\n%s", hx_bin("vgpuctl"), d ? d->url : "", script) > 0);
	const char *argv[] = {"/bin/bash", "-c", full, NULL};
	int rc = hx_run(argv, out);
	free(full);
	assert_non_null(*out);
	return rc;
}

static void assert_out(const char *out, const char *want)
{
	if (strcmp(out, want) != 0)
		fail_msg("expected:\n%s\ngot:\n%s", want, out);
}

static void assert_prefix(const char *out, const char *want)
{
	if (strncmp(out, want, strlen(want)) != 0)
		fail_msg("expected a start of:\n%s\ngot:\n%s", want, out);
}

static void assert_one_line(const char *out)
{
	const char *nl = strchr(out, '\n');
	if (!nl || nl[1])
		fail_msg("expected one line, got:\n%s", out);
}

static char *slurp(const char *path)
{
	size_t len;
	char err[256];
	char *s = yj_read_file(path, &len, err, sizeof err);
	if (!s)
		fail_msg("%s", err);
	return s;
}

struct row {
	char tok[MAXCOLS][512];
	int col[MAXCOLS]; /* where each cell starts, to check the alignment */
	int n;
};

static void split_row(const char *line, size_t len, struct row *r)
{
	memset(r, 0, sizeof *r);
	for (size_t i = 0; i < len && r->n < MAXCOLS;) {
		while (i < len && line[i] == ' ')
			i++;
		size_t s = i;
		while (i < len && (line[i] != ' ' || r->n == MAXCOLS - 1))
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
		if (r->n >= NCOLS && !strcmp(r->tok[0], workload))
			return 0;
		l += len + (e ? 1 : 0);
	}
	return -1;
}

/* The header must name the columns (the SPEC's six, then wide's four), and
 * each row's cells must start under their heading. */
static void assert_table(const char *out, const struct row *row)
{
	struct row head;
	static const char *const names[MAXCOLS] = {
	    "Workload",          "Queue",      "Status", "Priority", "GPUs", "Node", "Age",
	    "Running/Requested", "Allocation", "Memory", "Message"};
	assert_int_equal(find_row(out, "Workload", &head), 0);
	assert_int_equal(head.n, row->n);
	for (int k = 0; k < head.n; k++) {
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

static int first_doc(void *ud, const cJSON *doc, int line, char *err, size_t errlen)
{
	cJSON **out = ud;
	(void)line, (void)err, (void)errlen;
	if (!*out)
		*out = cJSON_Duplicate(doc, 1);
	return 0;
}

/* -o yaml must read back (as Kubernetes reads YAML) as exactly -o json. */
static void assert_yaml_is_json(const char *yaml, const char *json)
{
	char err[256];
	cJSON *y = NULL, *j = cJSON_Parse(json);
	assert_non_null(j);
	if (yj_parse(yaml, strlen(yaml), "yaml", first_doc, &y, err, sizeof err) < 0)
		fail_msg("-o yaml does not parse: %s\n%s", err, yaml);
	if (!cJSON_Compare(y, j, 1))
		fail_msg("-o yaml:\n%s\ndiffers from -o json:\n%s", yaml, json);
	cJSON_Delete(y);
	cJSON_Delete(j);
}

/* apply names the submitter (the jobs table's User): the caller's login. */
static void assert_user_is_login(const struct hx_daemon *d, const char *pod)
{
	const char *login = getenv("USER");
	struct passwd *pw = login && *login ? NULL : getpwuid(getuid());
	char want[300];
	struct hx_resp r;
	snprintf(want, sizeof want, "\"user\":\"%s\",", pw ? pw->pw_name : login);
	assert_int_equal(hx_get(d, "/api/v1/jobs", &r), 0);
	const char *at = strstr(r.body, pod);
	const char *row = at;
	while (row && row > r.body && *row != '{')
		row--;
	if (!at || strncmp(row + 1, want, strlen(want)) != 0)
		fail_msg("%s's row does not start with %s: %s", pod, want, r.body);
	hx_resp_free(&r);
}

static void test_apply_list_get_state(void **state)
{
	struct hx_daemon *d = *state;
	const char *file = hx_tmpfile(two_pods, ".yaml");
	char *out, *json, want[512];
	struct row a, b;
	assert_int_equal(ctl(d, &out, "apply", "-f", file), 0);
	assert_out(out, "pod/default/vgpu-a created\npod/default/vgpu-b created\n");
	free(out);

	wait_running(d, "default/vgpu-a", &a);
	wait_running(d, "default/vgpu-b", &b);
	assert_user_is_login(d, "vgpu-a");
	assert_string_equal(a.tok[4], "1");
	assert_string_equal(b.tok[4], "2");
	assert_string_equal(a.tok[3], "5"); /* the default priority */
	assert_non_null(strstr(a.tok[5], "demo-node-"));

	/* get NAME: namespace default, a one-row table; NS/NAME and -n say the same. */
	snprintf(want, sizeof want,
		 "Workload        Queue    Status   Priority  GPUs  Node\n"
		 "default/vgpu-a  default  Running  5         1     %.64s\n",
		 a.tok[5]);
	assert_int_equal(ctl(d, &out, "get", "vgpu-a"), 0);
	assert_out(out, want);
	free(out);
	assert_int_equal(ctl(d, &out, "get", "default/vgpu-a"), 0);
	assert_out(out, want);
	free(out);
	assert_int_equal(ctl(d, &out, "get", "-n", "default", "vgpu-a"), 0);
	assert_out(out, want);
	free(out);
	assert_int_equal(ctl(d, &out, "get", "vgpu-a", "-o", "name"), 0);
	assert_out(out, "pod/default/vgpu-a\n");
	free(out);

	/* -o json is the stored pod, -o yaml the same pod in YAML. */
	assert_int_equal(ctl(d, &json, "get", "vgpu-a", "-o", "json"), 0);
	assert_non_null(strstr(json, "\"volcano.sh/vgpu-ids-new\": \""));
	cJSON *pod = cJSON_Parse(json);
	assert_non_null(pod);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(pod, "metadata"), "name")->valuestring,
	    "vgpu-a");
	cJSON_Delete(pod);
	assert_int_equal(ctl(d, &out, "get", "default/vgpu-a", "--output=yaml"), 0);
	assert_prefix(out, "metadata:\n  name: vgpu-a\n");
	assert_non_null(strstr(out, "\n  namespace: default\n"));
	assert_yaml_is_json(out, json);
	free(out);
	free(json);

	/* Not there: the daemon's message, exit 1. */
	assert_int_equal(ctl(d, &out, "get", "vgpu-a", "-n", "elsewhere"), 1);
	assert_prefix(out, "vgpuctl: pod/elsewhere/vgpu-a: ");
	assert_non_null(strstr(out, "not found"));
	assert_one_line(out);
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

static void test_describe(void **state)
{
	struct hx_daemon *d = *state;
	const char *file = hx_tmpfile(two_pods, ".yaml");
	char *out, want[256];
	struct row b;
	assert_int_equal(ctl(d, &out, "apply", "-f", file), 0);
	free(out);
	wait_running(d, "default/vgpu-b", &b);
	assert_int_equal(ctl(d, &out, "describe", "vgpu-b"), 0);
	assert_prefix(out, "Name:        vgpu-b\nNamespace:   default\n");
	snprintf(want, sizeof want, "\nNode:        %.64s\n", b.tok[5]);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "\nStatus:      Running\n"));
	assert_non_null(strstr(out, "\nvGPUs:       2 running of 2 requested\n"));
	/* 2 x max(30/100, 4000/24576 MiB) on the demo's 24 GiB cards */
	assert_non_null(strstr(out, "\nAllocation:  0.60 GPUs, 8000Mi\nDevices:\n"));
	assert_non_null(strstr(out, "  container 0: GPU-demo-"));
	assert_non_null(strstr(out, "  4000Mi of 24576Mi, 30% compute\n"));
	free(out);
	assert_int_equal(ctl(d, &out, "describe", "nobody"), 1);
	assert_prefix(out, "vgpuctl: pod/default/nobody: ");
	free(out);
	unlink(file);
}

static void test_list_namespaces_and_formats(void **state)
{
	struct hx_daemon *d = *state;
	char cmd[1024], *out, *json;
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
	wait_running(d, "default/p-def", &r);

	assert_int_equal(ctl(d, &out, "list"), 0); /* namespace default only */
	assert_int_equal(find_row(out, "default/p-def", &r), 0);
	assert_int_not_equal(find_row(out, "team-x/p-team", &r), 0);
	free(out);
	assert_int_equal(ctl(d, &json, "list", "-n", "team-x", "-o", "json"), 0);
	cJSON *rows = cJSON_Parse(json);
	assert_int_equal(cJSON_GetArraySize(rows), 1);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 0), "name")->valuestring,
			    "p-team");
	cJSON_Delete(rows);
	assert_int_equal(ctl(d, &out, "list", "-n", "team-x", "-o", "yaml"), 0);
	assert_prefix(out, "- user: ");
	assert_non_null(strstr(out, "\n  name: p-team\n  namespace: team-x\n"));
	assert_yaml_is_json(out, json);
	free(out);
	free(json);
	assert_int_equal(ctl(d, &out, "list", "-A", "-o", "name"), 0);
	assert_out(out, "pod/default/p-def\npod/team-x/p-team\n");
	free(out);
	assert_int_equal(ctl(d, &out, "list", "--namespace=nobody"), 0);
	assert_out(out, "No workloads found in namespace nobody.\n");
	free(out);

	/* --server goes before or after the command, long or short. */
	const char *argv1[] = {hx_bin("vgpuctl"), "list", "-o", "name", "--server", d->url, NULL};
	const char *argv2[] = {hx_bin("vgpuctl"), "-s", d->url, "list", "-o", "name", NULL};
	assert_int_equal(hx_run(argv1, &out), 0);
	assert_out(out, "pod/default/p-def\n");
	free(out);
	assert_int_equal(hx_run(argv2, &out), 0);
	assert_out(out, "pod/default/p-def\n");
	free(out);
	unlink(file);
}

/* One 12 GiB/10% slice (memory outweighs compute: 0.50 of a 24 GiB card),
 * and a pod asking for three vGPUs, more than any demo node has. */
static const char wide_pods[] = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: big-mem\n"
				"spec:\n  containers:\n  - name: c\n    image: x\n"
				"    resources:\n      limits:\n"
				"        volcano.sh/vgpu-memory: 12288\n"
				"        volcano.sh/vgpu-cores: 10\n"
				"---\n"
				"apiVersion: v1\nkind: Pod\nmetadata:\n  name: too-many\n"
				"spec:\n  containers:\n  - name: c\n    image: x\n"
				"    resources:\n      limits:\n"
				"        volcano.sh/vgpu-number: 3\n";

static void assert_wide(const char *out, const char *workload, const char *status,
			const char *const want[4])
{
	struct row r;
	if (find_row(out, workload, &r))
		fail_msg("no %s in:\n%s", workload, out);
	assert_int_equal(r.n, MAXCOLS);
	assert_table(out, &r);
	assert_string_equal(r.tok[2], status);
	size_t age = strlen(r.tok[6]); /* "5s", "3m20s", ... */
	assert_true(age >= 2 && r.tok[6][0] >= '0' && r.tok[6][0] <= '9');
	assert_non_null(strchr("smhd", r.tok[6][age - 1]));
	for (int k = 0; k < 4; k++)
		assert_string_equal(r.tok[7 + k], want[k]);
}

static void test_list_wide(void **state)
{
	struct hx_daemon *d = *state;
	const char *f1 = hx_tmpfile(two_pods, ".yaml"), *f2 = hx_tmpfile(wide_pods, ".yaml");
	char *out;
	struct row r;
	assert_int_equal(ctl(d, &out, "apply", "-f", f1), 0);
	free(out);
	assert_int_equal(ctl(d, &out, "apply", "-f", f2), 0);
	free(out);
	wait_running(d, "default/vgpu-a", &r);
	wait_running(d, "default/vgpu-b", &r);
	wait_running(d, "default/big-mem", &r);
	assert_int_equal(ctl(d, &out, "list", "-o", "wide"), 0);
	assert_wide(out, "default/vgpu-a", "Running",
		    (const char *const[]){"1/1", "0.20", "2000Mi", "-"});
	assert_wide(out, "default/vgpu-b", "Running",
		    (const char *const[]){"2/2", "0.60", "8000Mi", "-"});
	assert_wide(out, "default/big-mem", "Running",
		    (const char *const[]){"1/1", "0.50", "12288Mi", "-"});
	assert_wide(out, "default/too-many", "Unschedulable",
		    (const char *const[]){"0/3", "-", "-",
					  "needs 3 vGPUs in one container, each on its own GPU; "
					  "the largest node has 2 GPUs (no node can ever fit)"});
	free(out);
	assert_int_equal(ctl(d, &out, "get", "big-mem", "-o", "wide"), 0);
	assert_prefix(out, "Workload");
	assert_wide(out, "default/big-mem", "Running",
		    (const char *const[]){"1/1", "0.50", "12288Mi", "-"});
	free(out);
	/* Not left pending: a dev loop stopped while it walks pending pods
	 * leaks the rest of its list (src/store/devloop.c, place_pending). */
	assert_int_equal(ctl(d, &out, "delete", "-y", "too-many"), 0);
	free(out);
	unlink(f1);
	unlink(f2);
}

/* list -w prints the list, then again whenever it changes; --watch-count
 * stops it, Ctrl-C (SIGINT) does otherwise. */
static void test_watch(void **state)
{
	struct hx_daemon *d = *state;
	char *out, *first, *second, script[1024];
	struct row r;
	const char *pod = hx_tmpfile("apiVersion: v1\nkind: Pod\nmetadata:\n  name: w1\n"
				     "  namespace: w\nspec:\n  containers:\n  - name: c\n"
				     "    resources:\n      limits:\n"
				     "        volcano.sh/vgpu-number: 1\n",
				     ".yaml");
	const char *log1 = hx_tmpfile("", ".out"), *log2 = hx_tmpfile("", ".out");
	snprintf(
	    script, sizeof script,
	    /* job control, else bash starts background jobs with SIGINT ignored;
	     * its "[1]+ Done" notices go to stderr */
	    "exec 2>/dev/null; set -m; p=''; trap '[ -n \"$p\" ] && kill $p 2>/dev/null' EXIT\n"
	    "wait_for() { for i in $(seq 300); do grep -q \"$1\" \"$2\" && return; "
	    "sleep 0.1; done; exit 9; }\n"
	    "\"$V\" --server \"$U\" list -n w -w --watch-count 2 > %s 2>&1 & p=$!\n"
	    "wait_for 'No workloads' %s\n"
	    "\"$V\" --server \"$U\" apply -f %s > /dev/null || exit 8\n"
	    "wait $p; echo \"count: $?\"; p=''\n"
	    "\"$V\" --server \"$U\" list -n w -w > %s 2>&1 & p=$!\n"
	    "wait_for w/w1 %s\n"
	    "kill -INT $p; wait $p; echo \"interrupted: $?\"; p=''\n",
	    log1, log1, pod, log2, log2);
	assert_int_equal(bash(d, script, &out), 0);
	assert_out(out, "count: 0\ninterrupted: 130\n");
	free(out);
	/* First the empty list, then a blank line and the list with w1. */
	first = slurp(log1);
	assert_prefix(first, "No workloads found in namespace w.\n\nWorkload ");
	assert_int_equal(find_row(first, "w/w1", &r), 0);
	assert_table(first, &r);
	assert_null(strstr(strstr(first, "w/w1"), "\n\n")); /* two renderings, no more */
	second = slurp(log2);
	assert_prefix(second, "Workload ");
	free(first);
	free(second);
	unlink(pod);
	unlink(log1);
	unlink(log2);
}

static void test_completion(void **state)
{
	struct hx_daemon *d = *state;
	const char *file = hx_tmpfile(two_pods, ".yaml");
	char *out;
	struct row r;
	assert_int_equal(ctl(d, &out, "apply", "-f", file), 0);
	free(out);
	wait_running(d, "default/vgpu-b", &r);
	assert_int_equal(bash(d, "\"$V\" completion bash | bash -n && echo ok", &out), 0);
	assert_out(out, "ok\n");
	free(out);
	/* c WORDS...: what bash would offer for the last word. */
	assert_int_equal(bash(d,
			      "source <(\"$V\" completion bash) || exit 3\n"
			      "c() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMPREPLY=();\n"
			      "  _vgpuctl; echo \"${COMPREPLY[*]}\"; }\n"
			      "c \"$V\" li\n"
			      "c \"$V\" list -o ''\n"
			      "c \"$V\" list --w\n"
			      "c \"$V\" --server \"$U\" get ''\n"
			      "c \"$V\" --server \"$U\" delete -n default vgpu-b\n"
			      "c \"$V\" help de\n"
			      "c \"$V\" completion ''\n",
			      &out),
			 0);
	assert_out(out, "list license\n"
			"json yaml wide name\n"
			"--watch\n"
			"vgpu-a vgpu-b\n"
			"vgpu-b\n"
			"describe delete\n"
			"bash\n");
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
	assert_out(out, "pod/default/dup created\n");
	free(out);
	/* Again: nothing to do, as kubectl apply says. */
	assert_int_equal(ctl(d, &out, "apply", "-f", file), 0);
	assert_out(out, "pod/default/dup unchanged\n");
	free(out);
	/* A new label and annotation: patched into the stored pod. */
	const char *labelled =
	    hx_tmpfile("apiVersion: v1\nkind: Pod\nmetadata:\n  name: dup\n  labels:\n"
		       "    team: a\n  annotations:\n    note: first\nspec:\n  containers: []\n",
		       ".yaml");
	assert_int_equal(ctl(d, &out, "apply", "-f", labelled), 0);
	assert_out(out, "pod/default/dup configured\n");
	free(out);
	assert_int_equal(ctl(d, &out, "apply", "-f", labelled), 0);
	assert_out(out, "pod/default/dup unchanged\n");
	free(out);
	assert_int_equal(ctl(d, &out, "get", "dup", "-o", "json"), 0);
	cJSON *pod = cJSON_Parse(out), *md = cJSON_GetObjectItem(pod, "metadata");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(md, "labels"), "team")->valuestring, "a");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(md, "annotations"), "note")->valuestring,
	    "first");
	cJSON_Delete(pod);
	free(out);
	/* The spec of a pod cannot change: refused as the API server refuses it. */
	const char *respec = hx_tmpfile("apiVersion: v1\nkind: Pod\nmetadata:\n  name: dup\n"
					"spec:\n  containers:\n  - name: c\n",
					".yaml");
	assert_int_equal(ctl(d, &out, "apply", "-f", respec), 1);
	assert_out(out, "vgpuctl: pod/default/dup: Pod \"dup\" is invalid: spec: Forbidden: pod "
			"updates may not change fields other than metadata.labels and "
			"metadata.annotations (delete the pod and apply again)\n");
	free(out);
	unlink(labelled);
	unlink(respec);
	/* A pod without vGPUs has no workload row; -o yaml still shows it. */
	assert_int_equal(ctl(d, &out, "get", "dup"), 1);
	assert_out(out, "vgpuctl: pod/default/dup is not a vGPU workload; -o yaml shows the pod\n");
	free(out);
	assert_int_equal(ctl(d, &out, "get", "dup", "-o", "yaml"), 0);
	assert_prefix(out, "metadata:\n  name: dup\n");
	free(out);
	unlink(file);
}

/* Why pods do not run, as a new user meets it: two requests no card can
 * ever hold (one of them bytes where MiB were meant), and a pod that waits
 * for memory behind two that filled every card. */
static const char why_pods[] = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: fill-1\n"
			       "spec:\n  containers:\n  - name: c\n    resources:\n      limits:\n"
			       "        volcano.sh/vgpu-number: 2\n"
			       "        volcano.sh/vgpu-memory: 20000\n"
			       "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: fill-2\n"
			       "spec:\n  containers:\n  - name: c\n    resources:\n      limits:\n"
			       "        volcano.sh/vgpu-number: 2\n"
			       "        volcano.sh/vgpu-memory: 20000\n"
			       "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: huge\n"
			       "spec:\n  containers:\n  - name: c\n    resources:\n      limits:\n"
			       "        volcano.sh/vgpu-memory: 100000\n"
			       "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: bytes\n"
			       "spec:\n  containers:\n  - name: c\n    resources:\n      limits:\n"
			       "        volcano.sh/vgpu-memory: 2Gi\n"
			       "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: waits\n"
			       "spec:\n  containers:\n  - name: c\n    resources:\n      limits:\n"
			       "        volcano.sh/vgpu-memory: 20000\n"
			       "        volcano.sh/vgpu-cores: 10\n"
			       "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: invalid\n"
			       "spec:\n  containers:\n  - name: c\n    resources:\n      limits:\n"
			       "        volcano.sh/vgpu-cores: 150\n";

static int four_explained(const cJSON *rows, void *ud)
{
	const cJSON *row;
	int n = 0;
	(void)ud;
	cJSON_ArrayForEach (row, rows) {
		n += cJSON_IsString(cJSON_GetObjectItem(row, "message"));
	}
	return n == 4;
}

static const char *row_field(const cJSON *rows, const char *name, const char *key)
{
	const cJSON *row;
	cJSON_ArrayForEach (row, rows) {
		if (!strcmp(cJSON_GetObjectItem(row, "name")->valuestring, name))
			return cJSON_GetObjectItem(row, key)->valuestring;
	}
	fail_msg("no row %s", name);
	return NULL;
}

#define HUGE_WHY "needs 1 vGPU of 100000 MiB; the largest card has 24576 MiB (no node can ever fit)"
#define WAITS_WHY "0/2 nodes fit: 2 insufficient memory (best free 4576 MiB, needs 20000 MiB)"

static void test_why_pending(void **state)
{
	struct hx_daemon *d = *state;
	const char *file = hx_tmpfile(why_pods, ".yaml");
	struct hx_resp r;
	char *out;
	struct row row;
	assert_int_equal(ctl(d, &out, "apply", "-f", file), 0);
	free(out);
	assert_int_equal(hx_wait_json(d, "/api/v1/jobs", four_explained, NULL, WAIT_MS), 0);
	assert_int_equal(hx_get(d, "/api/v1/jobs", &r), 0);
	assert_string_equal(row_field(r.json, "huge", "status"), "Unschedulable");
	assert_string_equal(row_field(r.json, "huge", "message"), HUGE_WHY);
	assert_string_equal(row_field(r.json, "bytes", "status"), "Unschedulable");
	assert_string_equal(
	    row_field(r.json, "bytes", "message"),
	    "needs 1 vGPU of 2147483648 MiB (volcano.sh/vgpu-memory is in MiB; "
	    "2147483648 MiB looks like bytes, which would be 2048 MiB); the largest "
	    "card has 24576 MiB (no node can ever fit)");
	assert_string_equal(row_field(r.json, "invalid", "status"), "Unschedulable");
	assert_string_equal(
	    row_field(r.json, "invalid", "message"),
	    "invalid vGPU request: container c: volcano.sh/vgpu-cores is above 100");
	assert_string_equal(row_field(r.json, "waits", "status"), "Submitted");
	assert_string_equal(row_field(r.json, "waits", "message"), WAITS_WHY);
	hx_resp_free(&r);

	/* /debug/state keeps SPEC section 8's statuses and says it apart. */
	assert_int_equal(hx_get(d, "/debug/state", &r), 0);
	const cJSON *p;
	cJSON_ArrayForEach (p, cJSON_GetObjectItem(r.json, "pods")) {
		if (strcmp(cJSON_GetObjectItem(p, "name")->valuestring, "huge") != 0)
			continue;
		assert_string_equal(cJSON_GetObjectItem(p, "status")->valuestring, "Submitted");
		assert_true(cJSON_IsTrue(cJSON_GetObjectItem(p, "unschedulable")));
		assert_string_equal(cJSON_GetObjectItem(p, "reason")->valuestring, HUGE_WHY);
	}
	hx_resp_free(&r);

	assert_int_equal(ctl(d, &out, "list", "-o", "wide"), 0);
	assert_int_equal(find_row(out, "default/waits", &row), 0);
	assert_table(out, &row);
	assert_string_equal(row.tok[2], "Submitted");
	assert_string_equal(row.tok[10], WAITS_WHY);
	assert_int_equal(find_row(out, "default/huge", &row), 0);
	assert_string_equal(row.tok[2], "Unschedulable");
	assert_string_equal(row.tok[10], HUGE_WHY);
	free(out);

	assert_int_equal(ctl(d, &out, "describe", "huge"), 0);
	if (!strstr(out, "\nStatus:      Unschedulable\n"
			 "Reason:      " HUGE_WHY "\n"
			 "Nodes:       0/2 nodes fit: 2 card smaller than 100000 MiB (no node can "
			 "ever fit)\n"
			 "Node:        -\n"
			 "Request:\n"
			 "  container 0: 1 vGPU x 100000 MiB, 0% compute\n"
			 "vGPUs:       0 running of 1 requested\n"))
		fail_msg("describe huge:\n%s", out);
	free(out);
	assert_int_equal(ctl(d, &out, "describe", "invalid"), 0);
	if (!strstr(out, "\nStatus:      Unschedulable\n"
			 "Reason:      invalid vGPU request: container c: volcano.sh/vgpu-cores is "
			 "above 100\n"
			 "Node:        -\n"
			 "Request:     -\n"))
		fail_msg("describe invalid:\n%s", out);
	free(out);
	assert_int_equal(ctl(d, &out, "describe", "waits"), 0);
	if (!strstr(out, "\nStatus:      Submitted\n"
			 "Reason:      " WAITS_WHY "\n"
			 "Node:        -\n"
			 "Request:\n"
			 "  container 0: 1 vGPU x 20000 MiB, 10% compute\n"))
		fail_msg("describe waits:\n%s", out);
	free(out);
	/* Deleting one filler lets it run; then it explains nothing. */
	assert_int_equal(ctl(d, &out, "delete", "fill-1", "--yes"), 0);
	free(out);
	wait_running(d, "default/waits", &row);
	assert_int_equal(ctl(d, &out, "describe", "waits"), 0);
	assert_null(strstr(out, "Reason:"));
	free(out);
	unlink(file);
}

/* Values the API server refuses are refused at once, naming the field. */
static void test_apply_invalid_quantities(void **state)
{
	struct hx_daemon *d = *state;
	char *out;
	const char *file = hx_tmpfile(
	    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: q1\nspec:\n  containers:\n"
	    "  - name: c\n    resources:\n      limits:\n        volcano.sh/vgpu-memory: abc\n"
	    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: q2\nspec:\n  containers:\n"
	    "  - name: c\n    resources:\n      limits:\n        volcano.sh/vgpu-memory: \"-100\"\n"
	    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: q3\nspec:\n  containers:\n"
	    "  - name: a\n  - name: c\n    resources:\n      requests:\n"
	    "        volcano.sh/vgpu-memory: 1.5\n"
	    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: q4\nspec:\n  containers:\n"
	    "  - name: c\n    resources:\n      limits:\n        volcano.sh/vgpu-number: -1\n",
	    ".yaml");
	assert_int_equal(ctl(d, &out, "apply", "-f", file), 1);
	assert_out(out, "vgpuctl: pod/default/q1: Pod \"q1\" is invalid: "
			"spec.containers[0].resources.limits[volcano.sh/vgpu-memory]: Invalid "
			"value: \"abc\": quantities must match the regular expression "
			"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'\n"
			"vgpuctl: pod/default/q2: Pod \"q2\" is invalid: "
			"spec.containers[0].resources.limits[volcano.sh/vgpu-memory]: Invalid "
			"value: \"-100\": must be greater than or equal to 0\n"
			"vgpuctl: pod/default/q3: Pod \"q3\" is invalid: "
			"spec.containers[1].resources.requests[volcano.sh/vgpu-memory]: Invalid "
			"value: \"1.5\": must be an integer\n"
			"vgpuctl: pod/default/q4: Pod \"q4\" is invalid: "
			"spec.containers[0].resources.limits[volcano.sh/vgpu-number]: Invalid "
			"value: \"-1\": must be greater than or equal to 0\n");
	free(out);
	assert_int_equal(ctl(d, &out, "list", "-A"), 0);
	assert_out(out, "No workloads found.\n");
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
	/* It asks first: no answer (stdin at EOF) or "n" deletes nothing. */
	assert_int_equal(ctl(d, &out, "delete", "vgpu-a"), 1);
	assert_out(out, "Delete pod/default/vgpu-a? It cannot be undone. [y/N] \n"
			"vgpuctl delete: pod/default/vgpu-a not deleted (-y skips the question)\n");
	free(out);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "echo n | %s --server=%s delete vgpu-a", hx_bin("vgpuctl"),
		 d->url);
	assert_int_equal(sh(cmd, &out), 1);
	free(out);
	assert_int_equal(ctl(d, &out, "list"), 0);
	assert_int_equal(find_row(out, "default/vgpu-a", &r), 0);
	free(out);
	snprintf(cmd, sizeof cmd, "echo yes | %s --server=%s delete vgpu-a", hx_bin("vgpuctl"),
		 d->url);
	assert_int_equal(sh(cmd, &out), 0);
	assert_out(out, "Delete pod/default/vgpu-a? It cannot be undone. [y/N] "
			"pod/default/vgpu-a deleted\n");
	free(out);
	assert_int_equal(ctl(d, &out, "list", "-A"), 0);
	assert_int_not_equal(find_row(out, "default/vgpu-a", &r), 0);
	assert_int_equal(find_row(out, "default/vgpu-b", &r), 0);
	free(out);
	assert_int_equal(ctl(d, &out, "delete", "-y", "default/vgpu-a"), 1);
	assert_prefix(out, "vgpuctl: pod/default/vgpu-a: ");
	assert_non_null(strstr(out, "not found"));
	assert_one_line(out);
	free(out);
	assert_int_equal(ctl(d, &out, "delete", "-n", "default", "-y", "vgpu-b"), 0);
	assert_out(out, "pod/default/vgpu-b deleted\n");
	free(out);
	unlink(file);
}

/* priority and use-credits write the pod's annotations through the daemon
 * and say so; a priority outside 1..10 is a usage error; an unknown job and
 * an unknown licence are the daemon's refusals (exit 1). */
static void test_admin_actions(void **state)
{
	struct hx_daemon *d = *state;
	const char *file = hx_tmpfile(two_pods, ".yaml");
	char *out;
	struct row r;
	assert_int_equal(ctl(d, &out, "apply", "-f", file), 0);
	free(out);
	wait_running(d, "default/vgpu-a", &r);
	assert_int_equal(ctl(d, &out, "priority", "default/vgpu-a", "7"), 0);
	assert_non_null(strstr(out, "pod/default/vgpu-a priority set to 7"));
	free(out);
	assert_int_equal(ctl(d, &out, "use-credits", "default/vgpu-b"), 0);
	assert_non_null(strstr(out, "pod/default/vgpu-b now billed to credits"));
	free(out);
	struct hx_resp resp;
	assert_int_equal(hx_get(d, "/api/v1/jobs?namespace=default", &resp), 0);
	const cJSON *row;
	int seen = 0;
	cJSON_ArrayForEach (row, resp.json) {
		const char *name = cJSON_GetObjectItemCaseSensitive(row, "name")->valuestring;
		if (!strcmp(name, "vgpu-a"))
			seen += cJSON_GetObjectItemCaseSensitive(row, "priority")->valueint == 7;
		if (!strcmp(name, "vgpu-b"))
			seen +=
			    !strcmp(cJSON_GetObjectItemCaseSensitive(row, "billing")->valuestring,
				    "credits");
	}
	hx_resp_free(&resp);
	assert_int_equal(seen, 2);
	assert_int_equal(ctl(d, &out, "priority", "default/vgpu-a", "11"), 2); /* 1..10 */
	free(out);
	assert_int_equal(ctl(d, &out, "priority", "default/nope", "3"), 1);
	assert_non_null(strstr(out, "no such job"));
	free(out);
	assert_int_equal(ctl(d, &out, "license", "no-such-licence"), 1);
	assert_true(!strncmp(out, "vgpuctl: ", 9) && !strstr(out, "Usage"));
	free(out);
	unlink(file);
}

/* Every usage error is one line naming what is wrong and which --help to
 * read, with exit status 2; none needs a daemon. */
static void test_usage_errors(void **state)
{
	static const struct {
		const char *args[5], *want;
	} cases[] = {
	    {{"frobnicate"}, "vgpuctl: unknown command \"frobnicate\"; see 'vgpuctl --help'\n"},
	    {{NULL}, "vgpuctl: no command given; see 'vgpuctl --help'\n"},
	    {{"--bogus", "list"}, "vgpuctl: unknown option --bogus; see 'vgpuctl --help'\n"},
	    /* a flag that needs a value does not swallow the command */
	    {{"--server", "list", "-A"}, "vgpuctl: --server needs a URL; see 'vgpuctl --help'\n"},
	    {{"list", "--server"},
	     "vgpuctl list: --server needs a URL; see 'vgpuctl list --help'\n"},
	    {{"list", "-n", "-A"},
	     "vgpuctl list: -n needs a value (NS); see 'vgpuctl list --help'\n"},
	    {{"list", "-x"}, "vgpuctl list: unknown option -x; see 'vgpuctl list --help'\n"},
	    {{"list", "-A", "-n", "x"},
	     "vgpuctl list: -A and -n exclude each other; see 'vgpuctl list --help'\n"},
	    {{"list", "-o", "xml"},
	     "vgpuctl list: unknown output format \"xml\" (want json|yaml|wide|name); "
	     "see 'vgpuctl list --help'\n"},
	    {{"list", "--watch-count", "2"},
	     "vgpuctl list: --watch-count needs -w; see 'vgpuctl list --help'\n"},
	    {{"state", "-o", "wide"},
	     "vgpuctl state: unknown output format \"wide\" (want json|yaml); "
	     "see 'vgpuctl state --help'\n"},
	    {{"get"}, "vgpuctl get: missing argument; see 'vgpuctl get --help'\n"},
	    {{"get", "a", "b"}, "vgpuctl get: too many arguments; see 'vgpuctl get --help'\n"},
	    {{"get", "a/b/c"},
	     "vgpuctl get: expected NAME or NS/NAME, got \"a/b/c\"; see 'vgpuctl get --help'\n"},
	    {{"get", "a/b", "-n", "x"},
	     "vgpuctl get: give the namespace once: NS/NAME or -n NS, not both; "
	     "see 'vgpuctl get --help'\n"},
	    {{"priority", "default/x", "11"},
	     "vgpuctl priority: N must be a whole number from 1 to 10, got \"11\"; "
	     "see 'vgpuctl priority --help'\n"},
	    {{"apply"}, "vgpuctl apply: needs -f FILE (- for stdin); see 'vgpuctl apply --help'\n"},
	    {{"completion", "zsh"},
	     "vgpuctl completion: no completion for \"zsh\" (only bash); "
	     "see 'vgpuctl completion --help'\n"},
	    {{"help", "nope"}, "vgpuctl: unknown command \"nope\"; see 'vgpuctl --help'\n"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out;
		int rc = run_ctl(NULL, &out, cases[i].args);
		if (rc != 2 || strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: exit %d, output:\n%s\nwanted exit 2 and:\n%s", i, rc,
				 out, cases[i].want);
		free(out);
	}
}

static void test_help(void **state)
{
	char *out, *help;
	(void)state;
	assert_int_equal(ctl(NULL, &out, "--help"), 0);
	assert_prefix(out, "Usage: vgpuctl [--server URL] COMMAND [ARGS]\n");
	assert_non_null(strstr(out, "\n  list         list workloads"));
	assert_non_null(strstr(out, "\n  completion   print a bash completion script\n"));
	assert_non_null(
	    strstr(out, "\n  -s, --server URL       the daemon (default: $VGPUCTL_SERVER"));
	free(out);
	assert_int_equal(ctl(NULL, &out, "--version"), 0);
	assert_prefix(out, "vgpuctl ");
	free(out);
	/* A command's --help is that command's usage, whatever surrounds it. */
	assert_int_equal(ctl(NULL, &help, "list", "--help"), 0);
	assert_prefix(help,
		      "Usage: vgpuctl list [-A | -n NS] [--license L] [-o json|yaml|wide|name] "
		      "[-w]\n\n"
		      "List workloads (namespace default unless -n NS or -A).\n");
	assert_non_null(strstr(help, "\nOptions:\n  -n, --namespace NS     the namespace"));
	assert_non_null(
	    strstr(help, "\n  -o, --output FORMAT    output format: json|yaml|wide|name\n"));
	assert_non_null(strstr(help, "\n  -w, --watch            print again whenever"));
	assert_null(strstr(help, "Commands:"));
	assert_non_null(strstr(help, "\n  --license L            only the jobs of licence L\n"));
	assert_null(strstr(help, "watch-count")); /* hidden: for tests and scripts */
	assert_int_equal(ctl(NULL, &out, "help", "list"), 0);
	assert_out(out, help);
	free(out);
	assert_int_equal(ctl(NULL, &out, "list", "-x", "-h"), 0);
	assert_out(out, help);
	free(out);
	free(help);
	assert_int_equal(ctl(NULL, &out, "get", "-h"), 0);
	assert_prefix(out, "Usage: vgpuctl get NAME [-n NS] [-o json|yaml|wide|name]\n");
	assert_non_null(strstr(out, "NAME may also be NS/NAME."));
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

/* Where the help text of one `  --flag ARG   help` line starts. */
static int help_column(const char *line, size_t len)
{
	size_t i = 2;
	while (i < len && line[i] != ' ')
		i++;
	if (i + 1 < len && line[i + 1] != ' ') /* "--flag ARG" */
		for (i++; i < len && line[i] != ' '; i++)
			;
	while (i < len && line[i] == ' ')
		i++;
	return (int)i;
}

/* What a new user meets first: the daemon's --help, with placeholders and
 * one column for the help texts, and a missing file named with its flag. */
static void test_daemon_help_and_files(void **state)
{
	char *out;
	int col = -1, lines = 0;
	(void)state;
	const char *help[] = {hx_bin("vgpu-extender"), "--help", NULL};
	assert_int_equal(hx_run(help, &out), 0);
	assert_prefix(out, "Usage: vgpu-extender [flags]\n");
	static const char *const want[] = {"\n  --listen ADDR:PORT ",
					   "\n  --config FILE ",
					   "\n  --cluster FILE ",
					   "\n  --node-policy POLICY ",
					   "\n  --stale-lock-seconds SECONDS ",
					   "\n  --dev "};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		if (!strstr(out, want[i]))
			fail_msg("no \"%s\" in:\n%s", want[i] + 1, out);
	for (const char *l = out; *l; lines++) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		bool flag_or_more = !strncmp(l, "  --", 4) || !strncmp(l, "    ", 4);
		int c = flag_or_more ? help_column(l, len) : -1;
		if (c >= 0 && col < 0)
			col = c;
		if (c >= 0 && c != col)
			fail_msg("line %d starts its help at column %d, not %d:\n%s", lines, c, col,
				 out);
		if (len > 80)
			fail_msg("line %d is wider than 80 columns:\n%s", lines, out);
		l += len + (e ? 1 : 0);
	}
	free(out);
	const char *missing[] = {hx_bin("vgpu-extender"), "--dev", "--cluster", "/missing.yaml",
				 NULL};
	assert_int_equal(hx_run(missing, &out), 2);
	assert_out(out, "vgpu-extender: --cluster /missing.yaml: No such file or directory\n");
	free(out);
	const char *dir[] = {hx_bin("vgpu-extender"), "--kubeconfig", "/tmp", NULL};
	assert_int_equal(hx_run(dir, &out), 2);
	assert_out(out, "vgpu-extender: --kubeconfig /tmp: Is a directory\n");
	free(out);
}

int main(void)
{
#define WITH_DAEMON(t) cmocka_unit_test_setup_teardown(t, start_daemon, stop_daemon)
	const struct CMUnitTest tests[] = {
	    WITH_DAEMON(test_apply_list_get_state),
	    WITH_DAEMON(test_describe),
	    WITH_DAEMON(test_list_namespaces_and_formats),
	    WITH_DAEMON(test_list_wide),
	    WITH_DAEMON(test_watch),
	    WITH_DAEMON(test_completion),
	    WITH_DAEMON(test_apply_malformed),
	    WITH_DAEMON(test_apply_twice),
	    WITH_DAEMON(test_why_pending),
	    WITH_DAEMON(test_apply_invalid_quantities),
	    WITH_DAEMON(test_delete),
	    WITH_DAEMON(test_admin_actions),
	    cmocka_unit_test(test_usage_errors),
	    cmocka_unit_test(test_help),
	    cmocka_unit_test(test_unreachable),
	    cmocka_unit_test(test_daemon_help_and_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
