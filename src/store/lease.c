/* lease: leader election on a coordination.k8s.io/v1 Lease, the same
 * protocol client-go's leaderelection uses: the holder renews renewTime
 * every few seconds; anyone may take the lease once renewTime plus
 * leaseDurationSeconds has passed. Writes are guarded by resourceVersion,
 * so two candidates never both win. */
#include "lease.h"
#include "vx/bgthread.h"
#include "vx/clock.h"
#include "vx/json.h"
#include "vx/log.h"
#include "vx/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* client-go's defaults: renew well inside the lease's duration. */
#define LEASE_DEFAULT_SECONDS 15
#define LEASE_RENEWS_PER_DURATION 5

static void micro_time(char *out, size_t len)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	char base[32];
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%06ldZ", base, (long)tv.tv_usec);
}

static char *lease_body(const struct lease *l, const char *rv, const char *acquire)
{
	char now[40];
	micro_time(now, sizeof now);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "coordination.k8s.io/v1");
	cJSON_AddStringToObject(o, "kind", "Lease");
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "name", l->name);
	cJSON_AddStringToObject(md, "namespace", l->ns);
	if (rv)
		cJSON_AddStringToObject(md, "resourceVersion", rv);
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "holderIdentity", l->identity);
	cJSON_AddNumberToObject(spec, "leaseDurationSeconds", l->seconds);
	cJSON_AddStringToObject(spec, "acquireTime", acquire ? acquire : now);
	cJSON_AddStringToObject(spec, "renewTime", now);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static int write_lease(struct lease *l, const char *method, const char *rv, const char *acquire)
{
	char path[512], err[256];
	struct kube_resp r;
	if (!strcmp(method, "POST"))
		snprintf(path, sizeof path, "/apis/coordination.k8s.io/v1/namespaces/%s/leases",
			 l->ns);
	else
		snprintf(path, sizeof path, "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s",
			 l->ns, l->name);
	char *body = lease_body(l, rv, acquire);
	int rc =
	    kube_request(l->kc, method, path, NULL, body, strlen(body), &r, NULL, err, sizeof err);
	free(body);
	int ok = rc == 0 && (r.status == 200 || r.status == 201);
	kube_resp_free(&r);
	return ok;
}

/* One round: returns whether we hold the lease afterwards. */
static int try_acquire(struct lease *l)
{
	char path[512], err[256];
	struct kube_resp r;
	snprintf(path, sizeof path, "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", l->ns,
		 l->name);
	if (kube_request(l->kc, "GET", path, NULL, NULL, 0, &r, NULL, err, sizeof err)) {
		kube_resp_free(&r);
		return 0;
	}
	if (r.status == 404) {
		kube_resp_free(&r);
		return write_lease(l, "POST", NULL, NULL);
	}
	cJSON *lease = r.status == 200 ? cJSON_ParseWithLength(r.body.data, r.body.len) : NULL;
	kube_resp_free(&r);
	if (!lease)
		return 0;
	const cJSON *spec = json_path(lease, "spec", NULL);
	const char *holder = json_str(spec, "holderIdentity");
	const char *renew = json_str(spec, "renewTime");
	const cJSON *dur = cJSON_GetObjectItemCaseSensitive(spec, "leaseDurationSeconds");
	int64_t renewed = clk_parse_rfc3339(renew);
	int64_t expires = renewed + (cJSON_IsNumber(dur) ? dur->valueint : l->seconds);
	int mine = holder && !strcmp(holder, l->identity);
	int free_now = !holder || !*holder || renewed < 0 || expires < (int64_t)time(NULL);
	int ok = 0;
	if (mine || free_now)
		ok = write_lease(l, "PUT",
				 json_str(json_path(lease, "metadata", NULL), "resourceVersion"),
				 mine ? json_str(spec, "acquireTime") : NULL);
	cJSON_Delete(lease);
	return ok;
}

static void *run(void *arg)
{
	struct lease *l = arg;
	vx_thread_name("vx-lease");
	int period_ms = l->seconds * 1000 / LEASE_RENEWS_PER_DURATION;
	while (!atomic_load(l->stop)) {
		int won = try_acquire(l);
		if (won != atomic_exchange(&l->leader, won))
			log_info("leader election: %s the lease %s/%s as %s",
				 won ? "now holding" : "lost", l->ns, l->name, l->identity);
		kube_sleep(l->stop, period_ms);
	}
	return NULL;
}

int lease_start(struct lease *l, const struct lease_cfg *cfg)
{
	char host[256] = "vgpu-extender", id[320];
	gethostname(host, sizeof host - 1);
	snprintf(id, sizeof id, "%s_%d", host, (int)getpid());
	l->kc = cfg->kc;
	l->stop = cfg->stop;
	l->ns = xstrdup(cfg->ns);
	l->name = xstrdup(cfg->name ? cfg->name : "vgpu-extender");
	l->identity = xstrdup(cfg->identity ? cfg->identity : id);
	l->seconds = cfg->seconds > 0 ? cfg->seconds : LEASE_DEFAULT_SECONDS;
	l->running = pthread_create(&l->thread, NULL, run, l) == 0;
	return l->running ? 0 : -1;
}

void lease_stop(struct lease *l)
{
	if (l->running) {
		pthread_join(l->thread, NULL);
		l->running = false;
	}
	free(l->ns);
	free(l->name);
	free(l->identity);
}
