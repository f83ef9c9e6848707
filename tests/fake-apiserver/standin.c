/* standin.c: --plugin-standin, playing the Volcano vGPU device plugin's part
 * after a bind. A pod that is bound and carries volcano.sh/bind-phase:
 * allocating gets, --standin-delay-ms later on this background thread,
 * bind-phase success and status.phase Running (one write), then its node
 * loses the lock annotation "hamivgpu" (a second write, only if present).
 * Fault rules with verb STANDIN change that per pod: the rule's path is
 * matched against "NAMESPACE/NAME@NODE"; delayMs replaces the delay (a long
 * one holds the node lock, as a slow kubelet would), and a non-zero status
 * makes the plugin report bind-phase failed instead. */
#include "fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct job {
	char *ns, *name;
	uint64_t due;
	int fail;
	struct job *next;
};

static pthread_t thread;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static struct job *head, *tail;
static int started, stopping;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void fk_standin_notify(const struct fk_ver *v)
{
	if (!started)
		return;
	struct job *j = calloc(1, sizeof *j);
	if (!j)
		abort();
	j->ns = strdup(v->ns);
	j->name = strdup(v->name);
	if (!j->ns || !j->name)
		abort();
	long delay = fk_srv.cfg.standin_delay_ms > 0 ? fk_srv.cfg.standin_delay_ms : 0;
	char what[600];
	struct fk_fault f;
	snprintf(what, sizeof what, "%s/%s@%s", v->ns, v->name, v->standin_node);
	if (fk_fault_match("STANDIN", what, 0, &f)) {
		delay = f.delay_ms > 0 ? f.delay_ms : delay;
		j->fail = f.status != 0;
	}
	j->due = now_ms() + (uint64_t)delay;
	pthread_mutex_lock(&mu);
	if (stopping) {
		pthread_mutex_unlock(&mu);
		free(j->ns);
		free(j->name);
		free(j);
		return;
	}
	/* Due times differ once rules change delays: keep the list in due order. */
	struct job **pp = &head;
	while (*pp && (*pp)->due <= j->due)
		pp = &(*pp)->next;
	j->next = *pp;
	*pp = j;
	if (!j->next)
		tail = j;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

struct pod_ctx {
	char node[256];
	int fail;
};

static cJSON *obj_field(cJSON *parent, const char *name)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, name);
	if (!cJSON_IsObject(o)) {
		cJSON_DeleteItemFromObjectCaseSensitive(parent, name);
		o = cJSON_AddObjectToObject(parent, name);
	}
	return o;
}

static void put_str(cJSON *o, const char *name, const char *val)
{
	cJSON *s = cJSON_CreateString(val);
	if (cJSON_GetObjectItemCaseSensitive(o, name))
		cJSON_ReplaceItemInObjectCaseSensitive(o, name, s);
	else
		cJSON_AddItemToObject(o, name, s);
}

static int pod_fn(struct fk_kind *k, cJSON **obj, void *ctx, struct fk_err *err)
{
	(void)k;
	struct pod_ctx *pc = ctx;
	cJSON *md = obj_field(*obj, "metadata");
	cJSON *ann = obj_field(md, "annotations");
	const cJSON *phase = cJSON_GetObjectItemCaseSensitive(ann, "volcano.sh/bind-phase");
	const cJSON *node = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(*obj, "spec"), "nodeName");
	if (!cJSON_IsString(phase) || strcmp(phase->valuestring, "allocating") != 0 ||
	    !cJSON_IsString(node) || !*node->valuestring) {
		fk_err_set(err, 0, "Skip", "not allocating");
		return -1;
	}
	size_t n = strlen(node->valuestring);
	if (n >= sizeof pc->node)
		n = sizeof pc->node - 1;
	memcpy(pc->node, node->valuestring, n);
	pc->node[n] = '\0';
	put_str(ann, "volcano.sh/bind-phase", pc->fail ? "failed" : "success");
	if (!pc->fail)
		put_str(obj_field(*obj, "status"), "phase", "Running");
	return 0;
}

static int node_fn(struct fk_kind *k, cJSON **obj, void *ctx, struct fk_err *err)
{
	(void)k;
	(void)ctx;
	(void)err;
	cJSON *ann = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(*obj, "metadata"), "annotations");
	cJSON_DeleteItemFromObjectCaseSensitive(ann, "hamivgpu");
	return 0; /* unchanged: the store writes nothing */
}

static void process(const struct job *j)
{
	struct pod_ctx pc = {{0}, j->fail};
	struct fk_err err;
	struct fk_ver *v = fk_store_mutate(&fk_srv.kinds[FK_POD], j->ns, j->name, FK_W_INTERNAL,
					   pod_fn, &pc, &err);
	if (!v)
		return;
	fk_ver_unref(v);
	v = fk_store_mutate(&fk_srv.kinds[FK_NODE], "", pc.node, FK_W_INTERNAL, node_fn, NULL,
			    &err);
	fk_ver_unref(v);
}

static void *run(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	for (;;) {
		if (stopping)
			break;
		uint64_t now = now_ms();
		if (!head || head->due > now) {
			uint64_t until = head ? head->due : now + 1000;
			struct timespec ts = {(time_t)(until / 1000),
					      (long)(until % 1000) * 1000000};
			pthread_cond_timedwait(&cv, &mu, &ts);
			continue;
		}
		struct job *j = head;
		head = j->next;
		if (!head)
			tail = NULL;
		pthread_mutex_unlock(&mu);
		process(j);
		free(j->ns);
		free(j->name);
		free(j);
		pthread_mutex_lock(&mu);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

void fk_standin_start(void)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &ca);
	pthread_condattr_destroy(&ca);
	if (!fk_srv.cfg.standin)
		return;
	started = 1;
	if (pthread_create(&thread, NULL, run, NULL) != 0)
		abort();
}

void fk_standin_stop(void)
{
	if (started) {
		pthread_mutex_lock(&mu);
		stopping = 1;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
		pthread_join(thread, NULL);
	}
	while (head) {
		struct job *j = head;
		head = j->next;
		free(j->ns);
		free(j->name);
		free(j);
	}
	tail = NULL;
	pthread_cond_destroy(&cv);
}
