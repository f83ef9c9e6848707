/* vgpuctl rows: the workload rows of GET /api/v1/jobs and what -o wide and
 * describe add from GET /debug/state: how long ago a pod was submitted, the
 * vGPUs it holds, its share of the GPUs, the memory it holds, and why it
 * waits (the row's message). */
#include "vgpuctl.h"
#include "vx/hmap.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NBASE 6
#define NWIDE 11

/* The SPEC's six columns first; -o wide adds figures and, last because it
 * is free text, the daemon's explanation of a waiting pod. */
static const char *const head[NWIDE] = {"Workload",   "Queue",  "Status", "Priority",
					"GPUs",       "Node",   "Age",    "Running/Requested",
					"Allocation", "Memory", "Message"};

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* Keeps the rows of namespace ns (all when NULL) and, when given, of that
 * name, in the server's order. */
static void keep(cJSON *rows, const char *ns, const char *name)
{
	cJSON *row = rows ? rows->child : NULL;
	while (row) {
		cJSON *next = row->next;
		if ((ns && strcmp(str_of(row, "namespace"), ns) != 0) ||
		    (name && strcmp(str_of(row, "name"), name) != 0))
			cJSON_Delete(cJSON_DetachItemViaPointer(rows, row));
		row = next;
	}
}

/* Indexes the state: card memory by device UUID (nodes[].gpus[]) and pods
 * by "NS/NAME", keyed by a "_key" member added to each pod so the key lives
 * as long as the tree. */
static void index_state(struct jobs *j)
{
	const cJSON *node, *gpu;
	cJSON *pod;
	cJSON_ArrayForEach (node, cJSON_GetObjectItemCaseSensitive(j->state, "nodes")) {
		cJSON_ArrayForEach (gpu, cJSON_GetObjectItemCaseSensitive(node, "gpus")) {
			const char *uuid = str_of(gpu, "uuid");
			if (*uuid)
				hmap_put(&j->gpus, uuid, (void *)gpu);
		}
	}
	cJSON_ArrayForEach (pod, cJSON_GetObjectItemCaseSensitive(j->state, "pods")) {
		struct buf key = BUF_INIT;
		buf_printf(&key, "%s/%s", str_of(pod, "namespace"), str_of(pod, "name"));
		cJSON *k = cJSON_CreateString(key.data);
		buf_free(&key);
		if (!k || !cJSON_AddItemToObject(pod, "_key", k))
			abort();
		hmap_put(&j->pods, k->valuestring, pod);
	}
}

int jobs_fetch(const struct ctl *c, const char *ns, const char *name, const char *license,
	       bool want_state, struct jobs *j)
{
	struct buf path = BUF_INIT;
	memset(j, 0, sizeof *j);
	j->license = license;
	hmap_init(&j->gpus);
	hmap_init(&j->pods);
	buf_puts(&path, "/api/v1/jobs");
	if (license) {
		buf_puts(&path, "?license=");
		put_escaped(&path, license);
	}
	if (ns) { /* the daemon filters; keep() covers one that does not */
		buf_puts(&path, license ? "&namespace=" : "?namespace=");
		put_escaped(&path, ns);
	}
	int rc = call(c, "GET", path.data, NULL, NULL, &j->rows);
	buf_free(&path);
	if (rc)
		return EXIT_REFUSED;
	if (!cJSON_IsArray(j->rows)) {
		fprintf(stderr, "vgpuctl: the daemon's job list is not a JSON array\n");
		jobs_free(j);
		return EXIT_REFUSED;
	}
	keep(j->rows, ns, name);
	if (want_state && call(c, "GET", "/debug/state", NULL, NULL, &j->state)) {
		jobs_free(j);
		return EXIT_REFUSED;
	}
	index_state(j);
	return 0;
}

void jobs_free(struct jobs *j)
{
	cJSON_Delete(j->rows);
	cJSON_Delete(j->state);
	hmap_free(&j->gpus);
	hmap_free(&j->pods);
	memset(j, 0, sizeof *j);
}

static double num_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

const cJSON *jobs_state_pod(const struct jobs *j, const cJSON *row)
{
	struct buf key = BUF_INIT;
	buf_printf(&key, "%s/%s", str_of(row, "namespace"), str_of(row, "name"));
	const cJSON *pod = hmap_get(&j->pods, key.data);
	buf_free(&key);
	return pod;
}

void jobs_alloc(const struct jobs *j, const cJSON *state_pod, struct alloc *out)
{
	const cJSON *ctr, *dev;
	memset(out, 0, sizeof *out);
	cJSON_ArrayForEach (ctr, cJSON_GetObjectItemCaseSensitive(state_pod, "devices")) {
		cJSON_ArrayForEach (dev, ctr) {
			double mem = num_of(dev, "memoryMiB"), cores = num_of(dev, "cores") / 100;
			double card = num_of(hmap_get(&j->gpus, str_of(dev, "uuid")), "memoryMiB");
			double by_mem = card > 0 ? mem / card : 0;
			out->vgpus++;
			out->share += cores > by_mem ? cores : by_mem;
			out->mem_mib += (long long)mem;
		}
	}
}

void age_text(const char *rfc3339, char *out, size_t len)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *end = strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end) {
		snprintf(out, len, "-");
		return;
	}
	long long s = (long long)difftime(time(NULL), timegm(&tm));
	long long m = s / 60, h = m / 60, d = h / 24;
	if (s < 0) /* the dev clock may run ahead of this machine's */
		snprintf(out, len, "0s");
	else if (s < 120)
		snprintf(out, len, "%llds", s);
	else if (m < 10 && s % 60)
		snprintf(out, len, "%lldm%llds", m, s % 60);
	else if (m < 180)
		snprintf(out, len, "%lldm", m);
	else if (h < 8 && m % 60)
		snprintf(out, len, "%lldh%lldm", h, m % 60);
	else if (h < 48)
		snprintf(out, len, "%lldh", h);
	else if (d < 8 && h % 24)
		snprintf(out, len, "%lldd%lldh", d, h % 24);
	else
		snprintf(out, len, "%lldd", d);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

static void row_cells(const struct jobs *j, const cJSON *row, bool wide, char **cell)
{
	static const char *const keys[NBASE] = {NULL,       "queue", "status",
						"priority", "gpus",  "node"};
	cell[0] = fmt("%s/%s", str_of(row, "namespace"), str_of(row, "name"));
	for (int k = 1; k < NBASE; k++)
		cell[k] = value_text(cJSON_GetObjectItemCaseSensitive(row, keys[k]));
	if (!wide)
		return;
	char age[32];
	struct alloc a;
	age_text(str_of(row, "submitTime"), age, sizeof age);
	jobs_alloc(j, jobs_state_pod(j, row), &a);
	cell[6] = strdup(age);
	cell[7] = fmt("%d/%.0f", a.vgpus, num_of(row, "gpus"));
	cell[8] = a.vgpus ? fmt("%.2f", a.share) : strdup("-");
	cell[9] = a.vgpus ? fmt("%lldMi", a.mem_mib) : strdup("-");
	cell[10] = strdup(*str_of(row, "message") ? str_of(row, "message") : "-");
}

void jobs_table(const struct jobs *j, bool wide, struct buf *out)
{
	struct table t;
	const cJSON *row;
	char *cells[NWIDE];
	table_init(&t, head, wide ? NWIDE : NBASE);
	cJSON_ArrayForEach (row, j->rows) {
		row_cells(j, row, wide, cells);
		table_add(&t, cells);
	}
	table_render(&t, out);
	table_free(&t);
}

/* The seed's vGPU Usage table, plus the waiting rows' place in line and,
 * where the running pods' runtimes tell, when they should start. */
static void licence_table(const struct jobs *j, struct buf *out)
{
	static const char *const lhead[] = {"User",        "Submit Time",    "Resource Name",
					    "Resource ID", "Priority",       "Status",
					    "Position",    "Estimated Start"};
	struct table t;
	const cJSON *row;
	char *cells[8];
	table_init(&t, lhead, 8);
	cJSON_ArrayForEach (row, j->rows) {
		const cJSON *pos = cJSON_GetObjectItemCaseSensitive(row, "position");
		cells[0] = strdup(*str_of(row, "user") ? str_of(row, "user") : "-");
		cells[1] = strdup(*str_of(row, "submitTime") ? str_of(row, "submitTime") : "-");
		cells[2] = fmt("%s/%s", str_of(row, "namespace"), str_of(row, "name"));
		cells[3] = strdup(*str_of(row, "uid") ? str_of(row, "uid") : "-");
		cells[4] = value_text(cJSON_GetObjectItemCaseSensitive(row, "priority"));
		cells[5] = value_text(cJSON_GetObjectItemCaseSensitive(row, "status"));
		cells[6] = cJSON_IsNumber(pos) ? fmt("%d", pos->valueint) : strdup("-");
		cells[7] =
		    strdup(*str_of(row, "estimatedStart") ? str_of(row, "estimatedStart") : "-");
		table_add(&t, cells);
	}
	table_render(&t, out);
	table_free(&t);
}

void jobs_render(const struct jobs *j, enum output f, struct buf *out)
{
	const cJSON *row;
	if (f == OUT_JSON || f == OUT_YAML) {
		render(j->rows, f, out);
	} else if (f == OUT_NAME) {
		cJSON_ArrayForEach (row, j->rows) {
			buf_printf(out, "pod/%s/%s\n", str_of(row, "namespace"),
				   str_of(row, "name"));
		}
	} else if (cJSON_GetArraySize(j->rows) > 0 && j->license) {
		licence_table(j, out);
	} else if (cJSON_GetArraySize(j->rows) > 0) {
		jobs_table(j, f == OUT_WIDE, out);
	}
}
