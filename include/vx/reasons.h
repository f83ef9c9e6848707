/* reasons: one summary line over many failure reasons, e.g.
 *   "480 insufficient memory (best free 1800 MiB, needs 2000 MiB), 20 no free vGPU slot"
 * Counts by category, most common first, cut to what a Kubernetes Event
 * message holds. Pure: no model, no locks; the caller adds the figures. */
#ifndef VX_REASONS_H
#define VX_REASONS_H

#include <stddef.h>

/* kube-scheduler's Event messages are cut at 1 KiB (events' note limit). */
#define RSN_MSG_MAX 1024

struct rsn_entry {
	char *key;    /* the category, e.g. "insufficient memory" */
	char *figure; /* shown in parentheses after it, or NULL */
	int count;
	int first; /* order of first appearance: ties keep it */
};

struct rsn_tally {
	int n, cap, total;
	struct rsn_entry *e;
};

void rsn_init(struct rsn_tally *t);
void rsn_free(struct rsn_tally *t);
/* The category of one node's reason: the clause of "a/b GPUs: X, c/b GPUs:
 * Y" that covers the most GPUs, without "container N: " or "k/b GPUs fit,
 * n needed; " in front; any other text is its own category. */
void rsn_key(const char *reason, char *key, size_t len);
/* Counts one reason under its category. */
void rsn_add(struct rsn_tally *t, const char *reason);
/* Counts one item under key as given (no rsn_key). */
void rsn_add_key(struct rsn_tally *t, const char *key);
/* Sets the figure shown after key's count; nothing when key was not counted. */
void rsn_figure(struct rsn_tally *t, const char *key, const char *figure);
/* The most common category, or NULL when nothing was counted. */
const char *rsn_top(const struct rsn_tally *t);
/* prefix, then "COUNT KEY (FIGURE)" per category, most common first, joined
 * by ", ". What does not fit in len ends as ", and K more reasons (N)". */
void rsn_render(const struct rsn_tally *t, const char *prefix, char *out, size_t len);

#endif
