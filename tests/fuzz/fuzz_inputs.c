/* libFuzzer target over everything that reads untrusted bytes: extender
 * bodies (filter/prioritize, bind, preempt), the register and device codecs,
 * pod request parsing, the YAML reader (and json_print on what it reads), watch events into the
 * model (a licence and a queue configured) and the licences' saved usage. The first byte picks the
 * parser. Run with `make fuzz` (clang, -fsanitize=fuzzer,address,undefined). */
#include "vx/cluster.h"
#include "vx/codec.h"
#include "vx/extender.h"
#include "vx/json.h"
#include "vx/log.h"
#include "vx/request.h"
#include "vx/sync.h"
#include "vx/xalloc.h"
#include "vx/yamljson.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Malformed objects are logged as warnings; millions of them only slow the
 * run and bury a finding. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	vlog_set_level(VLOG_ERROR);
	return 0;
}

/* Counts the document, and checks json_print on it: what it writes must
 * read back as the same tree (the dev store keeps objects as that text). */
static int count_doc(void *ud, const cJSON *doc, int line, char *err, size_t errlen)
{
	(void)line, (void)err, (void)errlen;
	struct buf b = BUF_INIT;
	json_print(&b, doc);
	cJSON *back = cJSON_ParseWithLength(b.data, b.len);
	if (!back || !cJSON_Compare(doc, back, 1))
		abort();
	cJSON_Delete(back);
	buf_free(&b);
	++*(int *)ud;
	return 0;
}

static void fuzz_args(const char *s, size_t n)
{
	struct ext_args a;
	char err[256];
	if (ext_parse_args(s, n, &a, err, sizeof err) == 0) {
		struct req_pod r;
		struct buf out = BUF_INIT;
		int *scores = calloc((size_t)a.n + 1, sizeof *scores);
		if (req_parse_pod(a.pod, &r, err, sizeof err) == 0)
			req_free(&r);
		ext_write_priorities(&out, &a, scores);
		free(scores);
		buf_free(&out);
	}
	ext_args_free(&a);
}

static void fuzz_codecs(const char *s)
{
	struct codec_gpu *g;
	struct codec_pod_devs p;
	char err[256];
	int n = codec_decode_register(s, &g, err, sizeof err);
	if (n >= 0)
		codec_free_gpus(g, n);
	if (codec_decode_pod_devs(s, &p, err, sizeof err) == 0) {
		struct buf b = BUF_INIT;
		codec_encode_pod_devs(&b, &p);
		buf_free(&b);
		codec_free_pod_devs(&p);
	}
}

/* A one-namespace list, as the config reader builds it. */
static char **only_ns(const char *ns, int *n)
{
	char **v = xcalloc(1, sizeof(char *));
	v[0] = xstrdup(ns);
	*n = 1;
	return v;
}

/* A model with the licence acme over namespace acme and the queue team-a. */
static void model_init(struct cluster *c)
{
	struct license_conf *l = xcalloc(1, sizeof *l);
	struct queue_conf *q = xcalloc(1, sizeof *q);
	cluster_init(c);
	l->name = xstrdup("acme");
	l->namespaces = only_ns("acme", &l->nns);
	l->daily_hours = 1;
	l->max_slots = 2;
	cluster_set_licenses(c, l, 1);
	q->name = xstrdup("team-a");
	q->namespaces = only_ns("acme", &q->nns);
	q->quota = 1;
	q->weight = 1;
	q->limit = QUEUE_NO_LIMIT;
	cluster_set_queues(c, q, 1);
	free(l);
	free(q);
}

/* A JSON document (or an array of them) as watch events: nodes and pods in,
 * then the licences' figures, estimates and save; or as saved usage. */
static void fuzz_model(const char *s, size_t n, bool saved)
{
	cJSON *j = cJSON_ParseWithLength(s, n), *it;
	struct cluster c;
	struct lic_waits w;
	if (!j)
		return;
	model_init(&c);
	if (saved) {
		cluster_licenses_restore(&c, j, 1000);
		cluster_licenses_merge(&c, j, 2000);
	}
	cJSON *objs = cJSON_IsArray(j) ? j : NULL;
	cJSON_ArrayForEach (it, objs) {
		sync_node(&c, it);
		sync_pod(&c, it);
	}
	if (!saved && !cJSON_IsArray(j)) {
		sync_node(&c, j);
		sync_pod(&c, j);
		sync_pod(&c, j); /* the same event twice changes nothing */
	}
	cluster_license_waits(&c, 3000, &w);
	free(w.w);
	cJSON_Delete(cluster_licenses_save(&c, 4000));
	cluster_free(&c);
	cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 1)
		return 0;
	char *s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0'; /* bodies arrive NUL-terminated from httpd */
	size_t n = size - 1;
	char err[256];
	switch (data[0] % 7) {
	case 0: fuzz_args(s, n); break;
	case 1: {
		struct ext_bind b;
		ext_parse_bind(s, n, &b, err, sizeof err);
		ext_bind_free(&b);
		break;
	}
	case 2: {
		struct ext_preempt p;
		if (ext_parse_preempt(s, n, &p, err, sizeof err) == 0) {
			struct buf out = BUF_INIT;
			ext_write_preempt(&out, &p);
			buf_free(&out);
		}
		ext_preempt_free(&p);
		break;
	}
	case 3: fuzz_codecs(s); break;
	case 5: fuzz_model(s, n, false); break;
	case 6: fuzz_model(s, n, true); break;
	default: {
		int docs = 0;
		yj_parse(s, n, "fuzz", count_doc, &docs, err, sizeof err);
		break;
	}
	}
	free(s);
	return 0;
}
