/* vgpuctl apply: reads a YAML or JSON file (or stdin) of Pods, kind: List
 * expanded, and applies each as kubectl does (dev mode): POST /api/v1/pods
 * creates it; when it exists, PATCH /api/v1/pods/NS/NAME updates its labels
 * and annotations, or it is reported unchanged. Every object is read before
 * the first is sent, so a syntax error creates nothing. */
#include "vgpuctl.h"
#include "vx/volcano.h"
#include "vx/yamljson.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct manifest {
	cJSON *objs; /* array of {"line":N,"obj":{...}}, in file order */
};

static void add_manifest(struct manifest *m, const cJSON *obj, int line)
{
	cJSON *w = cJSON_CreateObject();
	cJSON_AddNumberToObject(w, "line", line);
	cJSON_AddItemToObject(w, "obj", cJSON_Duplicate(obj, true));
	cJSON_AddItemToArray(m->objs, w);
}

/* Collects every object first, so a syntax error late in the file stops the
 * apply before anything was created. */
static int collect_doc(void *ud, const cJSON *doc, int line, char *err, size_t errlen)
{
	struct manifest *m = ud;
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
	const cJSON *it;
	(void)err;
	(void)errlen;
	if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "List") && cJSON_IsArray(items)) {
		cJSON_ArrayForEach (it, items) {
			add_manifest(m, it, line);
		}
	} else {
		add_manifest(m, doc, line);
	}
	return 0;
}

static char *read_stdin(size_t *len)
{
	struct buf b = BUF_INIT;
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
		buf_append(&b, chunk, n);
	if (ferror(stdin)) {
		buf_free(&b);
		return NULL;
	}
	*len = b.len;
	buf_putc(&b, '\0');
	return buf_steal(&b);
}

/* How FILE is named in messages. */
static const char *source_name(const char *file)
{
	return strcmp(file, "-") != 0 ? file : "<stdin>";
}

/* Reads FILE ("-" = stdin) into m; returns 0 or 1 after printing why. */
static int load_manifest(const char *file, struct manifest *m)
{
	char err[512];
	size_t len = 0;
	bool in = !strcmp(file, "-");
	char *data = in ? read_stdin(&len) : yj_read_file(file, &len, err, sizeof err);
	if (!data) {
		if (in)
			snprintf(err, sizeof err, "<stdin>: read error");
		fprintf(stderr, "vgpuctl: %s\n", err);
		return 1;
	}
	m->objs = cJSON_CreateArray();
	int n = yj_parse(data, len, source_name(file), collect_doc, m, err, sizeof err);
	free(data);
	if (n < 0) {
		fprintf(stderr, "vgpuctl: %s\n", err);
		return 1;
	}
	if (cJSON_GetArraySize(m->objs) == 0) {
		fprintf(stderr, "vgpuctl: %s: no objects to apply\n", source_name(file));
		return 1;
	}
	return 0;
}

static const char *meta_str(const cJSON *obj, const char *key, const char *dflt)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(md, key);
	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : dflt;
}

/* Whether every member of want is in have with the same value: what the
 * store added (uid, nodeName, status) does not count as a change. */
static bool subset(const cJSON *want, const cJSON *have)
{
	const cJSON *it, *h;
	if (cJSON_IsObject(want)) {
		if (!cJSON_IsObject(have))
			return false;
		cJSON_ArrayForEach (it, want) {
			if (!subset(it, cJSON_GetObjectItemCaseSensitive(have, it->string)))
				return false;
		}
		return true;
	}
	if (cJSON_IsArray(want)) {
		if (!cJSON_IsArray(have) || cJSON_GetArraySize(want) != cJSON_GetArraySize(have))
			return false;
		for (it = want->child, h = have->child; it; it = it->next, h = h->next)
			if (!subset(it, h))
				return false;
		return true;
	}
	return have && cJSON_Compare(want, have, true);
}

/* The labels and annotations of obj that the stored pod lacks or holds
 * with another value, as a merge patch; NULL when there are none. Keys
 * are added or changed, never removed (there is no last-applied record). */
static cJSON *metadata_patch(const cJSON *obj, const cJSON *stored)
{
	static const char *const fields[] = {"labels", "annotations"};
	cJSON *patch = cJSON_CreateObject(), *md = cJSON_AddObjectToObject(patch, "metadata");
	bool any = false;
	for (int f = 0; f < 2; f++) {
		const cJSON *want = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(obj, "metadata"), fields[f]);
		const cJSON *have = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(stored, "metadata"), fields[f]);
		const cJSON *it;
		cJSON *out = NULL;
		cJSON_ArrayForEach (it, want) {
			if (subset(it, cJSON_GetObjectItemCaseSensitive(have, it->string)))
				continue;
			if (!out)
				out = cJSON_AddObjectToObject(md, fields[f]);
			cJSON_AddItemToObject(out, it->string, cJSON_Duplicate(it, true));
			any = true;
		}
	}
	if (!any) {
		cJSON_Delete(patch);
		return NULL;
	}
	return patch;
}

/* The pod exists: patch what may change, or say it is unchanged. Like the
 * API server, a change anywhere else is refused. */
static int update(const struct ctl *c, const char *what, const char *path, const cJSON *obj,
		  const cJSON *stored)
{
	if (!subset(cJSON_GetObjectItemCaseSensitive(obj, "spec"),
		    cJSON_GetObjectItemCaseSensitive(stored, "spec"))) {
		fprintf(stderr,
			"vgpuctl: %s: Pod \"%s\" is invalid: spec: Forbidden: pod updates may not "
			"change fields other than metadata.labels and metadata.annotations "
			"(delete the pod and apply again)\n",
			what, meta_str(obj, "name", ""));
		return EXIT_REFUSED;
	}
	cJSON *patch = metadata_patch(obj, stored);
	if (!patch) {
		printf("%s unchanged\n", what);
		return 0;
	}
	char *body = cJSON_PrintUnformatted(patch);
	int rc = call(c, "PATCH", path, body, what, NULL);
	free(body);
	cJSON_Delete(patch);
	if (rc == 0)
		printf("%s configured\n", what);
	return rc;
}

/* A copy of the pod that names who submitted it (the jobs table's User),
 * unless the manifest does: the caller's login name. A daemon with access
 * control replaces it with the token's user. */
static cJSON *with_user(const cJSON *obj)
{
	cJSON *copy = cJSON_Duplicate(obj, 1);
	const char *login = getenv("USER");
	struct passwd *pw = login && *login ? NULL : getpwuid(getuid());
	if (pw)
		login = pw->pw_name;
	cJSON *md = cJSON_GetObjectItemCaseSensitive(copy, "metadata");
	if (!login || !*login || !cJSON_IsObject(md))
		return copy;
	cJSON *ann = cJSON_GetObjectItemCaseSensitive(md, "annotations");
	if (!ann)
		ann = cJSON_AddObjectToObject(md, "annotations");
	if (cJSON_IsObject(ann) && !cJSON_GetObjectItemCaseSensitive(ann, VX_ANN_USER))
		cJSON_AddStringToObject(ann, VX_ANN_USER, login);
	return copy;
}

/* Creates the pod, or updates it when it exists (kubectl apply). */
static int create_or_update(const struct ctl *c, const char *what, const cJSON *obj)
{
	struct ref r;
	long status = 0;
	cJSON *stored = NULL;
	snprintf(r.ns, sizeof r.ns, "%s", meta_str(obj, "namespace", "default"));
	snprintf(r.name, sizeof r.name, "%s", meta_str(obj, "name", ""));
	char *path = ref_path("/api/v1/pods/", &r, NULL);
	int rc = r.name[0] ? call_quiet(c, "GET", path, NULL, &status, &stored) : 0;
	if (rc == 0 && status == 200) {
		rc = update(c, what, path, obj, stored);
	} else if (rc == 0) {
		cJSON *copy = with_user(obj);
		char *body = cJSON_PrintUnformatted(copy);
		cJSON_Delete(copy);
		rc = call(c, "POST", "/api/v1/pods", body, what, NULL);
		free(body);
		if (rc == 0)
			printf("%s created\n", what);
	}
	cJSON_Delete(stored);
	free(path);
	return rc;
}

/* Sends one object; returns 0 applied or skipped, 1 refused, -1 unreachable. */
static int apply_one(const struct ctl *c, const char *file, const cJSON *w)
{
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(w, "obj");
	int line = cJSON_GetObjectItemCaseSensitive(w, "line")->valueint;
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
	const char *name = meta_str(obj, "name", "<unnamed>");
	if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "Pod") != 0) {
		fprintf(stderr, "vgpuctl: warning: %s:%d: skipping %s %s: only Pods are applied\n",
			file, line,
			cJSON_IsString(kind) ? kind->valuestring : "object without kind", name);
		return 0;
	}
	char what[600];
	snprintf(what, sizeof what, "pod/%s/%s", meta_str(obj, "namespace", "default"), name);
	return create_or_update(c, what, obj);
}

int cmd_apply(const struct ctl *c, const struct command *cmd, const struct args *a)
{
	struct manifest m = {NULL};
	if (!a->file)
		return usage_error(cmd, "needs -f FILE (- for stdin)");
	if (load_manifest(a->file, &m)) {
		cJSON_Delete(m.objs);
		return EXIT_REFUSED;
	}
	const char *file = source_name(a->file);
	int failed = 0;
	const cJSON *w;
	cJSON_ArrayForEach (w, m.objs) {
		int rc = apply_one(c, file, w);
		fflush(stdout); /* keep "created" lines and errors in file order */
		failed |= rc != 0;
		if (rc < 0) /* the rest would fail the same way */
			break;
	}
	cJSON_Delete(m.objs);
	return failed ? EXIT_REFUSED : EXIT_OK;
}
