/* vgpuctl list, get and describe: the read commands. list -w polls the
 * daemon every second and prints again whenever the rendering changed;
 * get and describe name one pod as NAME with -n NS, or NS/NAME. */
#include "vgpuctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WATCH_PERIOD_MS 1000

/* Renders one poll: the rows as f says, or the "nothing here" line, which
 * goes to stderr as kubectl's does. */
static void render_list(const struct jobs *j, enum output f, const char *ns, struct buf *out,
			bool *to_stderr)
{
	bool doc = f == OUT_JSON || f == OUT_YAML;
	*to_stderr = !doc && cJSON_GetArraySize(j->rows) == 0;
	if (*to_stderr)
		buf_printf(out, "No workloads found%s%s.\n", ns ? " in namespace " : "",
			   ns ? ns : "");
	else
		jobs_render(j, f, out);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Polls until interrupted, or until it printed count times (count > 0: the
 * hidden --watch-count, for tests and scripts). */
static int watch(const struct ctl *c, const char *ns, const char *license, enum output f,
		 long count)
{
	struct buf last = BUF_INIT;
	int rc = 0;
	for (long printed = 0; count <= 0 || printed < count;) {
		struct jobs j;
		struct buf now = BUF_INIT;
		bool to_stderr;
		if ((rc = jobs_fetch(c, ns, NULL, license, f == OUT_WIDE, &j)))
			break;
		render_list(&j, f, ns, &now, &to_stderr);
		jobs_free(&j);
		if (!last.data || strcmp(last.data, now.data) != 0) {
			FILE *out = to_stderr ? stderr : stdout;
			if (printed++ > 0)
				fputc('\n', out); /* one blank line between renderings */
			fputs(now.data, out);
			fflush(out);
			buf_free(&last);
			last = now;
		} else {
			buf_free(&now);
		}
		if (count <= 0 || printed < count)
			sleep_ms(WATCH_PERIOD_MS);
	}
	buf_free(&last);
	return rc;
}

static int parse_count(const struct command *cmd, const struct args *a, long *count)
{
	char *end;
	*count = 0;
	if (!a->watch_count)
		return 0;
	if (!a->watch)
		return usage_error(cmd, "--watch-count needs -w");
	errno = 0;
	*count = strtol(a->watch_count, &end, 10);
	if (end == a->watch_count || *end || errno || *count < 1)
		return usage_error(cmd, "--watch-count wants a positive number, got \"%s\"",
				   a->watch_count);
	return 0;
}

int cmd_list(const struct ctl *c, const struct command *cmd, const struct args *a)
{
	/* A licence spans its namespaces: --license lists them all unless -n. */
	const char *ns = a->all || (a->license && !a->ns) ? NULL : a->ns ? a->ns : "default";
	enum output f;
	long count;
	if (a->all && a->ns)
		return usage_error(cmd, "-A and -n exclude each other");
	if (output_parse(cmd, a->output, &f) || parse_count(cmd, a, &count))
		return EXIT_USAGE;
	if (a->watch)
		return watch(c, ns, a->license, f, count);
	struct jobs j;
	struct buf out = BUF_INIT;
	bool to_stderr;
	if (jobs_fetch(c, ns, NULL, a->license, f == OUT_WIDE, &j))
		return EXIT_REFUSED;
	render_list(&j, f, ns, &out, &to_stderr);
	fputs(out.data, to_stderr ? stderr : stdout);
	buf_free(&out);
	jobs_free(&j);
	return 0;
}

/* GET /api/v1/pods/NS/NAME: the stored pod, with everything written to it. */
static int show_pod(const struct ctl *c, const struct ref *r, enum output f)
{
	cJSON *pod;
	char *path = ref_path("/api/v1/pods/", r, NULL);
	int rc = call(c, "GET", path, NULL, r->noun, &pod);
	free(path);
	if (rc)
		return EXIT_REFUSED;
	if (!pod) {
		fprintf(stderr, "vgpuctl: %s: the daemon's answer is not JSON\n", r->noun);
		return EXIT_REFUSED;
	}
	print_doc(pod, f);
	cJSON_Delete(pod);
	return 0;
}

/* The pod has no workload row: the daemon says why (not found), or it
 * exists but holds no vGPUs, so only -o json|yaml can show it. */
static int no_row(const struct ctl *c, const struct ref *r)
{
	char *path = ref_path("/api/v1/pods/", r, NULL);
	int rc = call(c, "GET", path, NULL, r->noun, NULL);
	free(path);
	if (rc == 0)
		fprintf(stderr, "vgpuctl: %s is not a vGPU workload; -o yaml shows the pod\n",
			r->noun);
	return EXIT_REFUSED;
}

/* The workload row of r, with the state when want_state; 0, or 1 after saying why. */
static int fetch_one(const struct ctl *c, const struct ref *r, bool want_state, struct jobs *j)
{
	if (jobs_fetch(c, r->ns, r->name, NULL, want_state, j))
		return EXIT_REFUSED;
	if (cJSON_GetArraySize(j->rows) == 0) {
		jobs_free(j);
		return no_row(c, r);
	}
	return 0;
}

int cmd_get(const struct ctl *c, const struct command *cmd, const struct args *a)
{
	struct ref r;
	struct jobs j;
	struct buf out = BUF_INIT;
	enum output f;
	if (ref_parse(cmd, a, a->pos[0], &r) || output_parse(cmd, a->output, &f))
		return EXIT_USAGE;
	if (f == OUT_JSON || f == OUT_YAML)
		return show_pod(c, &r, f);
	if (fetch_one(c, &r, f == OUT_WIDE, &j))
		return EXIT_REFUSED;
	jobs_render(&j, f, &out);
	fputs(out.data, stdout);
	buf_free(&out);
	jobs_free(&j);
	return 0;
}

/* ---- describe ------------------------------------------------------------ */

static double num_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void field(const char *label, const cJSON *row, const char *key)
{
	char *t = value_text(cJSON_GetObjectItemCaseSensitive(row, key));
	printf("%-12s %s\n", label, t);
	free(t);
}

static void describe_devices(const struct jobs *j, const cJSON *state_pod)
{
	const cJSON *ctr, *dev;
	int k = 0;
	printf("Devices:\n");
	cJSON_ArrayForEach (ctr, cJSON_GetObjectItemCaseSensitive(state_pod, "devices")) {
		cJSON_ArrayForEach (dev, ctr) {
			char *uuid = value_text(cJSON_GetObjectItemCaseSensitive(dev, "uuid"));
			char *mem = value_text(cJSON_GetObjectItemCaseSensitive(dev, "memoryMiB"));
			char *cores = value_text(cJSON_GetObjectItemCaseSensitive(dev, "cores"));
			const cJSON *gpu = hmap_get(&j->gpus, uuid);
			char *card = value_text(cJSON_GetObjectItemCaseSensitive(gpu, "memoryMiB"));
			printf("  container %d: %s  %sMi of %sMi, %s%% compute\n", k, uuid, mem,
			       card, cores);
			free(uuid);
			free(mem);
			free(cores);
			free(card);
		}
		k++;
	}
}

/* What each container asks for, as the daemon read it (memory in MiB). */
static void describe_request(const cJSON *state_pod)
{
	const cJSON *ctr, *req = cJSON_GetObjectItemCaseSensitive(state_pod, "request");
	int k = 0;
	if (cJSON_GetArraySize(req) == 0) {
		printf("%-12s -\n", "Request:"); /* invalid: the reason says why */
		return;
	}
	printf("Request:\n");
	cJSON_ArrayForEach (ctr, req) {
		int n = (int)num_of(ctr, "vgpus"), pct = (int)num_of(ctr, "memoryPercent");
		long long mem = (long long)num_of(ctr, "memoryMiB");
		if (!n)
			printf("  container %d: no vGPU\n", k);
		else if (mem)
			printf("  container %d: %d vGPU%s x %lld MiB, %d%% compute\n", k, n,
			       n == 1 ? "" : "s", mem, (int)num_of(ctr, "cores"));
		else
			printf(
			    "  container %d: %d vGPU%s x %d%% of a card's memory, %d%% compute\n",
			    k, n, n == 1 ? "" : "s", pct, (int)num_of(ctr, "cores"));
		k++;
	}
}

/* Why it waits: the daemon's one explanation and, when that is a rule
 * rather than the count itself, the nodes counted by reason. */
static void describe_reason(const cJSON *row, const cJSON *state_pod)
{
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(row, "message");
	const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(state_pod, "nodes");
	if (!cJSON_IsString(msg))
		return;
	printf("%-12s %s\n", "Reason:", msg->valuestring);
	if (cJSON_IsString(nodes) && strcmp(nodes->valuestring, msg->valuestring) != 0)
		printf("%-12s %s\n", "Nodes:", nodes->valuestring);
}

static void describe(const struct jobs *j, const cJSON *row)
{
	const cJSON *sp = jobs_state_pod(j, row);
	const cJSON *submit = cJSON_GetObjectItemCaseSensitive(row, "submitTime");
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(row, "gpus");
	char age[32];
	struct alloc al;
	jobs_alloc(j, sp, &al);
	age_text(cJSON_IsString(submit) ? submit->valuestring : "", age, sizeof age);
	field("Name:", row, "name");
	field("Namespace:", row, "namespace");
	field("User:", row, "user");
	printf("%-12s %s (%s ago)\n",
	       "Submitted:", cJSON_IsString(submit) ? submit->valuestring : "-", age);
	field("Queue:", row, "queue");
	field("License:", row, "license");
	field("Billing:", row, "billing");
	field("Priority:", row, "priority");
	field("Status:", row, "status");
	describe_reason(row, sp);
	field("Node:", row, "node");
	describe_request(sp);
	printf("%-12s %d running of %d requested\n", "vGPUs:", al.vgpus,
	       cJSON_IsNumber(want) ? want->valueint : 0);
	printf("%-12s %.2f GPUs, %lldMi\n", "Allocation:", al.share, al.mem_mib);
	if (al.vgpus)
		describe_devices(j, sp);
}

int cmd_describe(const struct ctl *c, const struct command *cmd, const struct args *a)
{
	struct ref r;
	struct jobs j;
	if (ref_parse(cmd, a, a->pos[0], &r))
		return EXIT_USAGE;
	if (fetch_one(c, &r, true, &j))
		return EXIT_REFUSED;
	describe(&j, j.rows->child);
	jobs_free(&j);
	return 0;
}
