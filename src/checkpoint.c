/* checkpoint: see checkpoint.h. Runs on the daemon's main thread only
 * (start, the serve loop, shutdown), so struct ckpt needs no lock; the model
 * is read and raised under its own lock, and never held across a store call. */
#include "vx/checkpoint.h"
#include "vx/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CKPT_DOC "licenses"
/* A write that keeps losing the race gives up until the next period. */
#define CKPT_ATTEMPTS 4

void ckpt_init(struct ckpt *k, struct store *s, struct cluster *c, struct vx_clock *clock)
{
	memset(k, 0, sizeof *k);
	k->store = s;
	k->cluster = c;
	k->clock = clock;
}

static bool enabled(const struct ckpt *k)
{
	return k->cluster->licenses.n > 0 && k->store->ops->state_get && k->store->ops->state_put;
}

/* Reads the document; returns its JSON, or NULL when there is none (*none
 * set) or it cannot be read or trusted (logged). */
static cJSON *read_doc(struct ckpt *k, struct store_doc *d, bool *none)
{
	struct store_err e = {0};
	*none = false;
	if (k->store->ops->state_get(k->store, CKPT_DOC, d, &e)) {
		log_error("cannot read licence usage from %s: %s", d->where, e.msg);
		return NULL;
	}
	snprintf(k->version, sizeof k->version, "%s", d->version);
	if (!d->data) {
		*none = true;
		return NULL;
	}
	cJSON *j = cJSON_Parse(d->data);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		j = NULL;
		log_error("%s is not a licence usage file (not a JSON object); counting "
			  "today's usage from zero, and the next save replaces it",
			  d->where);
	}
	free(d->data);
	d->data = NULL;
	return j;
}

void ckpt_load(struct ckpt *k)
{
	struct store_doc d = {0};
	bool none;
	if (!enabled(k))
		return;
	cJSON *j = read_doc(k, &d, &none);
	if (!j) {
		if (d.nowhere)
			log_info("licence usage is kept in memory only (no --state-dir): a "
				 "restart starts the day at zero");
		else if (none)
			log_info("no licence usage saved yet in %s: today starts at zero", d.where);
		return;
	}
	cluster_wrlock(k->cluster);
	cluster_licenses_restore(k->cluster, j, clk_now_s(k->clock));
	cluster_unlock(k->cluster);
	log_info("licence usage restored from %s", d.where);
	cJSON_Delete(j);
}

/* Another writer got there first: take the larger figures from its save. */
static void merge_theirs(struct ckpt *k)
{
	struct store_doc d = {0};
	bool none;
	cJSON *j = read_doc(k, &d, &none);
	if (!j)
		return;
	cluster_wrlock(k->cluster);
	int raised = cluster_licenses_merge(k->cluster, j, clk_now_s(k->clock));
	cluster_unlock(k->cluster);
	cJSON_Delete(j);
	log_info("licence usage: %s was written by another replica; merged, %d licence(s) "
		 "took its larger figure",
		 d.where, raised);
}

static char *snapshot(struct ckpt *k)
{
	cluster_rdlock(k->cluster);
	cJSON *j = cluster_licenses_save(k->cluster, clk_now_s(k->clock));
	cluster_unlock(k->cluster);
	char *text = cJSON_Print(j);
	cJSON_Delete(j);
	if (!text)
		abort();
	return text;
}

void ckpt_save(struct ckpt *k)
{
	struct store_err e = {0};
	struct store_doc d = {0};
	if (!enabled(k))
		return;
	for (int attempt = 0; attempt < CKPT_ATTEMPTS; attempt++) {
		char *text = snapshot(k);
		snprintf(d.version, sizeof d.version, "%s", k->version);
		int rc = k->store->ops->state_put(k->store, CKPT_DOC, text, &d, &e);
		free(text);
		if (rc == 0) {
			snprintf(k->version, sizeof k->version, "%s", d.version);
			if (k->failing)
				log_info("licence usage saved to %s again", d.where);
			k->failing = false;
			return;
		}
		if (e.code != 409)
			break;
		merge_theirs(k);
	}
	if (!k->failing)
		log_error("cannot save licence usage to %s: %s (trying again every %d s)", d.where,
			  e.msg, CKPT_SAVE_S);
	k->failing = true;
}
