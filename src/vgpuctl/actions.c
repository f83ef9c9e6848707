/* vgpuctl state, license and the job actions (priority, use-credits,
 * delete). Actions name their pod "pod/NS/NAME", like every other command. */
#include "vgpuctl.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* GET path and print the answer as f says (JSON or YAML). */
static int show(const struct ctl *c, const char *path, enum output f)
{
	cJSON *j;
	if (call(c, "GET", path, NULL, NULL, &j))
		return EXIT_REFUSED;
	if (!j) {
		fprintf(stderr, "vgpuctl: the answer to GET %s is not JSON\n", path);
		return EXIT_REFUSED;
	}
	print_doc(j, f);
	cJSON_Delete(j);
	return 0;
}

int cmd_state(const struct ctl *c, const struct command *cmd, const struct args *a)
{
	enum output f;
	if (output_parse(cmd, a->output, &f))
		return EXIT_USAGE;
	return show(c, "/debug/state", f);
}

/* Sends METHOD to /api/v1/jobs/NS/NAME[suffix]; prints "pod/NS/NAME done". */
static int job_action(const struct ctl *c, const struct ref *r, const char *method,
		      const char *suffix, const char *body, const char *done)
{
	char *path = ref_path("/api/v1/jobs/", r, suffix);
	int rc = call(c, method, path, body, r->noun, NULL);
	free(path);
	if (rc == 0)
		printf("%s %s\n", r->noun, done);
	return rc ? EXIT_REFUSED : EXIT_OK;
}

int cmd_priority(const struct ctl *c, const struct command *cmd, const struct args *a)
{
	char *end, body[32], done[48];
	struct ref r;
	if (ref_parse(cmd, a, a->pos[0], &r))
		return EXIT_USAGE;
	long n = strtol(a->pos[1], &end, 10);
	/* Checked here so a typo never reaches the licence queue. */
	if (end == a->pos[1] || *end || n < 1 || n > 10)
		return usage_error(cmd, "N must be a whole number from 1 to 10, got \"%s\"",
				   a->pos[1]);
	snprintf(body, sizeof body, "{\"priority\":%ld}", n);
	snprintf(done, sizeof done, "priority set to %ld", n);
	return job_action(c, &r, "PATCH", NULL, body, done);
}

int cmd_use_credits(const struct ctl *c, const struct command *cmd, const struct args *a)
{
	struct ref r;
	if (ref_parse(cmd, a, a->pos[0], &r))
		return EXIT_USAGE;
	return job_action(c, &r, "POST", "/use-credits", "{}", "now billed to credits");
}

/* Asks on stderr, reads the answer from stdin: true for y or yes. */
static bool confirm(const struct ref *r)
{
	char line[16];
	fprintf(stderr, "Delete %s? It cannot be undone. [y/N] ", r->noun);
	fflush(stderr);
	if (!fgets(line, sizeof line, stdin)) {
		fputc('\n', stderr);
		return false;
	}
	line[strcspn(line, "\r\n")] = '\0';
	return !strcasecmp(line, "y") || !strcasecmp(line, "yes");
}

int cmd_delete(const struct ctl *c, const struct command *cmd, const struct args *a)
{
	struct ref r;
	if (ref_parse(cmd, a, a->pos[0], &r))
		return EXIT_USAGE;
	if (!a->yes && !confirm(&r)) {
		fprintf(stderr, "vgpuctl delete: %s not deleted (-y skips the question)\n", r.noun);
		return EXIT_REFUSED;
	}
	return job_action(c, &r, "DELETE", NULL, NULL, "deleted");
}

static double num_of(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* The seed page's four cards, as text. */
static void print_licence_cards(const cJSON *j)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
	long left = (long)num_of(j, "resetInSeconds");
	printf("Licence %s\n", cJSON_IsString(name) ? name->valuestring : "?");
	printf("  Daily Total Run Time  %.2f Hours Used / %g hours Total\n", num_of(j, "usedHours"),
	       num_of(j, "dailyHours"));
	printf("  Remaining Run Time    %.2f Hours\n", num_of(j, "remainingHours"));
	printf("  Reset Timer           %02ld:%02ld:%02ld\n", left / 3600, left / 60 % 60,
	       left % 60);
	printf("  vGPU Usage            %d/%d Used", (int)num_of(j, "usedSlots"),
	       (int)num_of(j, "maxSlots"));
	int waiting = (int)num_of(j, "waiting");
	if (waiting)
		printf(", %d waiting", waiting);
	putchar('\n');
}

int cmd_license(const struct ctl *c, const struct command *cmd, const struct args *a)
{
	struct buf path = BUF_INIT;
	enum output f;
	cJSON *j;
	const cJSON *v;
	if (output_parse(cmd, a->output, &f))
		return EXIT_USAGE;
	buf_puts(&path, "/api/v1/licenses/");
	put_escaped(&path, a->pos[0]);
	int rc = a->output ? show(c, path.data, f) : call(c, "GET", path.data, NULL, NULL, &j);
	buf_free(&path);
	if (rc || a->output)
		return rc ? EXIT_REFUSED : EXIT_OK;
	if (!cJSON_IsObject(j)) {
		fprintf(stderr, "vgpuctl: the daemon's licence summary is not a JSON object\n");
		cJSON_Delete(j);
		return EXIT_REFUSED;
	}
	(void)v;
	print_licence_cards(j);
	cJSON_Delete(j);
	return 0;
}
