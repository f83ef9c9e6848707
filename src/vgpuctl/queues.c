/* vgpuctl queues: each team queue's quota, limit, weight, and what the
 * daemon says of it now (allocation, fair share, pending), in GPUs, from
 * GET /debug/state (SPEC section 7). */
#include "vgpuctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *num(const cJSON *q, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(q, key);
	char s[32];
	if (!cJSON_IsNumber(v))
		snprintf(s, sizeof s, "-");
	else if (v->valuedouble < 0)
		snprintf(s, sizeof s, "none"); /* a limit of -1 */
	else
		snprintf(s, sizeof s, "%.4g", v->valuedouble);
	return strdup(s);
}

int cmd_queues(const struct ctl *c, const struct command *cmd, const struct args *a)
{
	enum output f;
	cJSON *state;
	if (output_parse(cmd, a->output, &f))
		return EXIT_USAGE;
	if (call(c, "GET", "/debug/state", NULL, NULL, &state) || !state)
		return EXIT_REFUSED;
	const cJSON *queues = cJSON_GetObjectItemCaseSensitive(state, "queues");
	if (f == OUT_JSON || f == OUT_YAML) {
		print_doc(queues, f);
		cJSON_Delete(state);
		return EXIT_OK;
	}
	static const char *const head[] = {"Queue",     "Quota",     "Limit",  "Weight",
					   "Allocated", "FairShare", "Pending"};
	struct table t;
	struct buf out = BUF_INIT;
	table_init(&t, head, 7);
	const cJSON *q;
	cJSON_ArrayForEach (q, queues) {
		char *cells[7]; /* the table takes the strings */
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(q, "name");
		cells[0] = strdup(cJSON_IsString(name) ? name->valuestring : "?");
		cells[1] = num(q, "quota");
		cells[2] = num(q, "limit");
		cells[3] = num(q, "overQuotaWeight");
		cells[4] = num(q, "allocated");
		cells[5] = num(q, "fairShare");
		cells[6] = num(q, "pending");
		table_add(&t, cells);
	}
	table_render(&t, &out);
	fputs(out.data ? out.data : "", stdout);
	buf_free(&out);
	table_free(&t);
	cJSON_Delete(state);
	return EXIT_OK;
}
