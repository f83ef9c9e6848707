/* Integration test of time-shared licences in dev mode, with the daemon's
 * clock moved by /debug/clock/advance: slots, the waiting order by priority
 * then age, change of priority, use-credits, the daily hours running out
 * with the refusal text, and the reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "vx/clock.h"

#include <math.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct hx_daemon D;

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* A one-vGPU pod; deadline > 0 sets spec.activeDeadlineSeconds, the
 * runtime bound the licence's start estimates use. */
static void create_for(const char *name, int prio, int deadline)
{
	char body[1024], dl[64] = "";
	if (deadline > 0)
		snprintf(dl, sizeof dl, "\"activeDeadlineSeconds\":%d,", deadline);
	snprintf(body, sizeof body,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"acme\",\"annotations\":{\"vgpu-extender.io/priority\":\"%d\"}},"
		 "\"spec\":{%s\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
		 "\"volcano.sh/vgpu-memory\":\"1000\",\"volcano.sh/vgpu-cores\":\"10\"}}}]}}",
		 name, prio, dl);
	struct hx_resp r;
	assert_int_equal(hx_post(&D, "/api/v1/pods", body, &r), 0);
	assert_int_equal(r.status, 201);
	hx_resp_free(&r);
	usleep(1100 * 1000); /* distinct creation seconds: the order's tie-break */
}

static void create(const char *name, int prio)
{
	create_for(name, prio, 0);
}

static long call(const char *method, const char *path, const char *body, struct hx_resp *r)
{
	char url[256];
	snprintf(url, sizeof url, "%s%s", D.url, path);
	assert_int_equal(hx_http(method, url, body, body ? strlen(body) : 0, r), 0);
	return r->status;
}

static const cJSON *row(const cJSON *rows, const char *name)
{
	const cJSON *it;
	cJSON_ArrayForEach (it, rows) {
		if (!strcmp(get(it, "name")->valuestring, name))
			return it;
	}
	return NULL;
}

/* "name=Status" or "name@position", comma separated, all true in the rows. */
static int rows_are(const cJSON *rows, void *ud)
{
	char want[256], *save = NULL;
	snprintf(want, sizeof want, "%s", (const char *)ud);
	for (char *t = strtok_r(want, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '='), *at = strchr(t, '@');
		char *sep = eq ? eq : at;
		if (!sep)
			return 0; /* a malformed expectation never holds */
		*sep = '\0';
		const cJSON *r = row(rows, t);
		if (!r)
			return 0;
		if (eq && strcmp(get(r, "status")->valuestring, eq + 1) != 0)
			return 0;
		if (at && (!get(r, "position") || get(r, "position")->valueint != atoi(at + 1)))
			return 0;
	}
	return 1;
}

static void expect(const char *want)
{
	if (hx_wait_json(&D, "/api/v1/jobs?license=acme", rows_are, (void *)want, 5000)) {
		struct hx_resp r;
		call("GET", "/api/v1/jobs?license=acme", NULL, &r);
		fail_msg("never: %s\n%s", want, r.body);
	}
}

/* The value of the licence metric NAME for acme, -1 when absent. */
static double metric(const char *name)
{
	struct hx_resp r;
	char key[128];
	assert_int_equal(call("GET", "/metrics", NULL, &r), 200);
	snprintf(key, sizeof key, "vgpu_extender_license_%s{license=\"acme\"} ", name);
	const char *at = strstr(r.body, key);
	double v = at ? atof(at + strlen(key)) : -1;
	hx_resp_free(&r);
	return v;
}

/* The line of out that shows NS/NAME, copied into line; asserts there is one. */
static void line_of(const char *out, const char *job, char *line, size_t len)
{
	char key[96];
	snprintf(key, sizeof key, " %s ", job);
	const char *at = strstr(out, key);
	if (!at)
		fail_msg("no %s in:\n%s", job, out);
	while (at > out && at[-1] != '\n')
		at--;
	size_t n = strcspn(at, "\n");
	snprintf(line, len, "%.*s", (int)n, at);
}

/* l3, first in line, starts when l1's deadline frees its slot; l4 waits
 * for l2, which runs for as long as it likes: no estimate. */
static void check_estimates(void)
{
	struct hx_resp r;
	assert_int_equal(call("GET", "/api/v1/jobs?license=acme", NULL, &r), 200);
	const cJSON *est = get(row(r.json, "l3"), "estimatedStart");
	const cJSON *l1_submit = get(row(r.json, "l1"), "submitTime");
	assert_true(cJSON_IsString(est) && cJSON_IsString(l1_submit));
	int64_t gap =
	    clk_parse_rfc3339(est->valuestring) - clk_parse_rfc3339(l1_submit->valuestring);
	if (gap < 7200 || gap > 7260)
		fail_msg("l3 estimated %s, l1 submitted %s", est->valuestring,
			 l1_submit->valuestring);
	assert_null(get(row(r.json, "l4"), "estimatedStart"));
	assert_null(get(row(r.json, "l1"), "estimatedStart"));
	hx_resp_free(&r);
}

/* Whether the last two columns of a table line are a and b (b NULL: any
 * value but "-"). */
static bool ends_with_cells(const char *line, const char *a, const char *b)
{
	char copy[512], *tok, *save = NULL, *last = NULL, *prev = NULL;
	snprintf(copy, sizeof copy, "%s", line);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		prev = last;
		last = tok;
	}
	return prev && last && strcmp(prev, a) == 0 &&
	       (b ? strcmp(last, b) == 0 : strcmp(last, "-") != 0);
}

/* vgpuctl list --license: the seed's columns, the waiting rows' positions
 * and, where the runtimes tell, their estimated start. */
static void check_list_license(void)
{
	char *out = NULL, line[512];
	const char *argv[] = {hx_bin("vgpuctl"), "--server", D.url, "list",
			      "--license",       "acme",     NULL};
	assert_int_equal(hx_run(argv, &out), 0);
	if (strncmp(out, "User", 4) != 0 || !strstr(out, "Submit Time") ||
	    !strstr(out, "Resource Name") || !strstr(out, "Resource ID") ||
	    !strstr(out, "Priority") || !strstr(out, "Status") || !strstr(out, "Position") ||
	    !strstr(out, "Estimated Start"))
		fail_msg("header:\n%s", out);
	line_of(out, "acme/l3", line, sizeof line);
	assert_non_null(strstr(line, " 10 ")); /* priority */
	assert_non_null(strstr(line, "Submitted"));
	assert_true(ends_with_cells(line, "1", NULL)); /* position 1, and an estimate */
	line_of(out, "acme/l4", line, sizeof line);
	assert_true(ends_with_cells(line, "2", "-"));
	line_of(out, "acme/l1", line, sizeof line);
	assert_non_null(strstr(line, "Running"));
	assert_true(ends_with_cells(line, "-", "-"));
	free(out);
	const char *nope[] = {hx_bin("vgpuctl"), "--server", D.url, "list",
			      "--license",       "nope",     NULL};
	assert_int_equal(hx_run(nope, &out), 1); /* a typo is an error, not an empty list */
	assert_non_null(strstr(out, "no such licence"));
	free(out);
}

/* Whether every line promtool printed is about one of the contract's
 * gauges whose names its lint dislikes (hours, a _total gauge). */
static bool only_contract_names(const char *out)
{
	static const char *const ok[] = {"vgpu_extender_license_hours_used ",
					 "vgpu_extender_license_hours_total ",
					 "vgpu_extender_license_slots_total "};
	for (const char *line = out; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		bool fine = len == 0;
		for (size_t i = 0; i < sizeof ok / sizeof *ok && !fine; i++)
			fine = strncmp(line, ok[i], strlen(ok[i])) == 0;
		if (!fine)
			return false;
		line = end ? end + 1 : line + len;
	}
	return true;
}

/* /metrics with a licence configured passes `promtool check metrics` with
 * no finding but the contract's names (promtool comes with bash
 * scripts/deps.sh), and those names are there with the same figures. */
static void metrics_pass_promtool(void)
{
	struct hx_resp r;
	char cmd[512], *out = NULL;
	assert_int_equal(call("GET", "/metrics", NULL, &r), 200);
	const char *file = hx_tmpfile(r.body, ".prom");
	hx_resp_free(&r);
	snprintf(cmd, sizeof cmd, "promtool check metrics < %s", file);
	const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	int rc = hx_run(argv, &out);
	if ((rc != 0 && rc != 3) || !only_contract_names(out))
		fail_msg("promtool check metrics: exit %d\n%s", rc, out ? out : "");
	free(out);
	unlink(file);
	assert_true(fabs(metric("hours_used") - metric("used_seconds") / 3600) < 0.01);
	assert_true(metric("hours_total") == metric("daily_seconds") / 3600);
	assert_true(metric("slots_total") == metric("slots_capacity"));
}

static const cJSON *licence(struct hx_resp *r)
{
	assert_int_equal(call("GET", "/api/v1/licenses/acme", NULL, r), 200);
	return r->json;
}

/* A config file with the licence acme over namespace acme, reset 00:00 UTC. */
static const char *acme_config(int daily_hours, int max_slots)
{
	char text[256];
	snprintf(text, sizeof text,
		 "licenses:\n  - name: acme\n    namespaces: [acme]\n"
		 "    dailyHours: %d\n    maxSlots: %d\n    resetUTC: \"00:00\"\n",
		 daily_hours, max_slots);
	return hx_tmpfile(text, ".yaml");
}

/* Moves the dev clock to 00:30 UTC of the next day, so that hours fit
 * before the next reset whatever the time the test runs at. */
static void half_past_reset(void)
{
	struct hx_resp r;
	char adv[80];
	int64_t to_reset = (int64_t)get(licence(&r), "resetInSeconds")->valuedouble;
	hx_resp_free(&r);
	snprintf(adv, sizeof adv, "/debug/clock/advance?seconds=%lld", (long long)to_reset + 1800);
	assert_int_equal(call("POST", adv, NULL, &r), 200);
	hx_resp_free(&r);
}

static void walkthrough(void **state)
{
	(void)state;
	struct hx_resp r;
	const char *cfg = acme_config(3, 2);
	const char *args[] = {"--dev", "--config", cfg, NULL};
	assert_int_equal(hx_start(&D, args), 0);
	create_for("l1", 5, 7200); /* ends within 2 h: l3's start can be estimated */
	create("l2", 5);
	create("l3", 5);
	create("l4", 9); /* newest, but first in line: higher priority */
	expect("l1=Running,l2=Running,l3=Submitted,l4=Submitted,l4@1,l3@2");
	const cJSON *l = licence(&r);
	assert_int_equal(get(l, "usedSlots")->valueint, 2);
	assert_int_equal(get(l, "maxSlots")->valueint, 2);
	assert_int_equal(get(l, "waiting")->valueint, 2);
	hx_resp_free(&r);
	/* Priority: 1..10 only; an unknown job is a 404. */
	assert_int_equal(call("PATCH", "/api/v1/jobs/acme/l3", "{\"priority\":11}", &r), 400);
	hx_resp_free(&r);
	assert_int_equal(call("PATCH", "/api/v1/jobs/acme/nope", "{\"priority\":3}", &r), 404);
	hx_resp_free(&r);
	assert_int_equal(call("PATCH", "/api/v1/jobs/acme/l3", "{\"priority\":10}", &r), 200);
	hx_resp_free(&r);
	expect("l3@1,l4@2");
	check_estimates();
	check_list_license();
	/* use-credits takes l4 out of the licence: it runs at once. */
	assert_int_equal(call("POST", "/api/v1/jobs/acme/l4/use-credits", NULL, &r), 200);
	hx_resp_free(&r);
	expect("l4=Running,l3=Submitted,l3@1");
	/* Two slots for 1.5 h use the day's 3 vGPU-hours: l3 is refused, with the way out. */
	assert_int_equal(call("POST", "/debug/clock/advance?seconds=5400", NULL, &r), 200);
	hx_resp_free(&r);
	assert_int_equal(call("DELETE", "/api/v1/jobs/acme/l1", NULL, &r), 200);
	hx_resp_free(&r);
	usleep(500 * 1000);
	l = licence(&r);
	assert_true(fabs(get(l, "usedHours")->valuedouble - 3.0) < 0.05);
	int64_t to_reset = (int64_t)get(l, "resetInSeconds")->valuedouble;
	hx_resp_free(&r);
	call("GET", "/api/v1/jobs?license=acme", NULL, &r);
	const cJSON *l3 = row(r.json, "l3");
	assert_string_equal(get(l3, "status")->valuestring, "Submitted");
	const char *msg = get(l3, "message") ? get(l3, "message")->valuestring : "";
	if (!strstr(msg, "vGPU-hours used today; resets in") ||
	    !strstr(msg, "set vgpu-extender.io/billing=credits to run now"))
		fail_msg("l3's message: %s", msg);
	hx_resp_free(&r);
	assert_true(fabs(metric("used_seconds") - 3 * 3600.0) < 180);
	assert_true(metric("daily_seconds") == 3 * 3600.0);
	assert_true(metric("slots_capacity") == 2.0);
	assert_true(metric("waiting_pods") == 1.0);
	assert_true(metric("refused_total") >= 1.0); /* l3, l4 at least while they waited */
	metrics_pass_promtool();
	/* At 00:00 UTC the day starts over: l3 runs. */
	char path[80];
	snprintf(path, sizeof path, "/debug/clock/advance?seconds=%lld", (long long)to_reset + 1);
	assert_int_equal(call("POST", path, NULL, &r), 200);
	hx_resp_free(&r);
	expect("l3=Running");
	l = licence(&r);
	assert_true(get(l, "usedHours")->valuedouble < 0.1);
	hx_resp_free(&r);
	/* vgpuctl license: the page's four cards as text. */
	char *out = NULL;
	const char *argv[] = {hx_bin("vgpuctl"), "--server", D.url, "license", "acme", NULL};
	assert_int_equal(hx_run(argv, &out), 0);
	assert_non_null(strstr(out, "Hours Used / 3 hours Total"));
	assert_non_null(strstr(out, "vGPU Usage            2/2 Used")); /* l2, l3 */
	free(out);
	assert_int_equal(hx_stop(&D), 0);
}

static double used_hours(void)
{
	struct hx_resp r;
	double h = get(licence(&r), "usedHours")->valuedouble;
	hx_resp_free(&r);
	return h;
}

/* With --state-dir a restart mid-day keeps the day's usage (the dev clock's
 * offset persists there too); a corrupt file is named in the log and the
 * day starts over, the daemon runs. */
static void restart_keeps_usage(void **state)
{
	(void)state;
	char dir[] = "/tmp/vx-lic-XXXXXX", path[128];
	assert_non_null(mkdtemp(dir));
	const char *cfg = acme_config(96, 16);
	const char *args[] = {"--dev", "--config", cfg, "--state-dir", dir, NULL};
	assert_int_equal(hx_start(&D, args), 0);
	struct hx_resp r;
	half_past_reset();
	create("p1", 5);
	create("p2", 5);
	expect("p1=Running,p2=Running");
	assert_int_equal(call("POST", "/debug/clock/advance?seconds=3600", NULL, &r), 200);
	hx_resp_free(&r);
	double before = used_hours();
	assert_true(before > 1.99 && before < 2.2);
	/* A reload that changes the licence keeps the day's usage. */
	FILE *cf = fopen(cfg, "w");
	assert_non_null(cf);
	fputs("licenses:\n  - name: acme\n    namespaces: [acme]\n"
	      "    dailyHours: 96\n    maxSlots: 8\n    resetUTC: \"00:00\"\n",
	      cf);
	fclose(cf);
	assert_int_equal(kill(D.pid, SIGHUP), 0);
	for (int i = 0; i < 50 && metric("slots_capacity") != 8.0; i++)
		usleep(100 * 1000);
	assert_true(metric("slots_capacity") == 8.0);
	if (used_hours() < before - 0.01)
		fail_msg("usage %.3f h before the reload, %.3f h after", before, used_hours());
	before = used_hours();
	assert_int_equal(hx_stop(&D), 0);
	assert_int_equal(hx_start(&D, args), 0);
	double after = used_hours();
	if (after < before - 0.01 || after > before + 0.2)
		fail_msg("usage %.3f h before the restart, %.3f h after", before, after);
	assert_int_equal(hx_stop(&D), 0);
	snprintf(path, sizeof path, "%s/licenses.json", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("{ not json", f);
	fclose(f);
	assert_int_equal(hx_start(&D, args), 0);
	assert_true(used_hours() < 0.5); /* the two pods still running count from now */
	char *log = NULL;
	const char *cat[] = {"/bin/cat", D.log_path, NULL};
	hx_run(cat, &log);
	assert_non_null(strstr(log, "licenses.json is not a licence usage file"));
	free(log);
	assert_int_equal(hx_stop(&D), 0);
}

/* A pod that ends inside a clock jump is billed for its runtime only: the
 * dev kubelet records when it ended, and the licence bills up to then. */
static void billed_for_the_runtime_only(void **state)
{
	(void)state;
	struct hx_resp r;
	const char *cfg = acme_config(96, 16);
	const char *args[] = {"--dev", "--config", cfg, NULL};
	assert_int_equal(hx_start(&D, args), 0);
	half_past_reset();
	const char *pod =
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"short\","
	    "\"namespace\":\"acme\",\"annotations\":{\"vgpu-extender.io/dev-runtime-seconds\":"
	    "\"600\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
	    "\"volcano.sh/vgpu-number\":\"2\",\"volcano.sh/vgpu-memory\":\"1000\"}}}]}}";
	assert_int_equal(hx_post(&D, "/api/v1/pods", pod, &r), 0);
	assert_int_equal(r.status, 201);
	hx_resp_free(&r);
	expect("short=Running");
	/* Bound is not started: the runtime counts from the dev kubelet's start. */
	bool started = false;
	for (int i = 0; i < 100 && !started; i++) {
		assert_int_equal(call("GET", "/api/v1/pods/acme/short", NULL, &r), 200);
		started = strstr(r.body, "\"startTime\"") != NULL;
		hx_resp_free(&r);
		if (!started)
			usleep(20 * 1000);
	}
	assert_true(started);
	assert_int_equal(call("POST", "/debug/clock/advance?seconds=3600", NULL, &r), 200);
	hx_resp_free(&r);
	expect("short=Completed");
	double h = used_hours(); /* 2 vGPUs x 600 s, plus the real seconds before the jump */
	if (h < 1200 / 3600.0 - 0.001 || h > 1200 / 3600.0 + 0.02)
		fail_msg("%.4f vGPU-hours used, expected %.4f", h, 1200 / 3600.0);
	assert_int_equal(hx_stop(&D), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(walkthrough),
					   cmocka_unit_test(restart_keeps_usage),
					   cmocka_unit_test(billed_for_the_runtime_only)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
