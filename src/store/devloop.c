/* devloop: see devloop.h. Pending pods are tried oldest first whenever the
 * store changed; a pod that does not fit is logged once per reason change,
 * not every pass, so the log stays readable. */
#include "vx/devloop.h"
#include "vx/log.h"
#include "vx/memstore.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct devloop {
	struct pipeline *pl;
	struct store *ms;
	pthread_t thread;
	atomic_int stop;
	char last_why[512];
};

static void place_pending(struct devloop *d)
{
	char **keys = NULL, why[512];
	int n = mstore_pending(d->ms, &keys);
	for (int i = 0; i < n && !atomic_load(&d->stop); i++) {
		char *slash = strchr(keys[i], '/');
		if (slash) {
			*slash = '\0';
			why[0] = '\0';
			int rc = pipe_schedule(d->pl, keys[i], slash + 1, why, sizeof why);
			*slash = '/';
			if (rc <= 0 && strcmp(why, d->last_why) != 0) {
				log_info("dev: pod %s waits: %s", keys[i], why);
				memcpy(d->last_why, why, sizeof why);
			}
		}
		free(keys[i]);
	}
	free(keys);
}

static void *run(void *arg)
{
	struct devloop *d = arg;
	uint64_t seen = 0;
	while (!atomic_load(&d->stop)) {
		int64_t due = mstore_next_due_ms(d->ms);
		int timeout = due >= 0 && due < 1000 ? (int)due + 1 : 1000;
		seen = mstore_wait(d->ms, seen, timeout);
		if (atomic_load(&d->stop))
			break;
		mstore_tick(d->ms);
		place_pending(d);
	}
	return NULL;
}

struct devloop *devloop_start(struct pipeline *pl, struct store *memstore)
{
	struct devloop *d = calloc(1, sizeof *d);
	if (!d)
		abort();
	d->pl = pl;
	d->ms = memstore;
	if (pthread_create(&d->thread, NULL, run, d) != 0) {
		free(d);
		return NULL;
	}
	return d;
}

void devloop_stop(struct devloop *d)
{
	if (!d)
		return;
	atomic_store(&d->stop, 1);
	mstore_kick(d->ms);
	pthread_join(d->thread, NULL);
	free(d);
}
