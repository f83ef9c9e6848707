/* statefile: the dev-mode store's documents (store_ops state_get and
 * state_put) as files NAME.json in --state-dir, written to a temporary
 * name and renamed so a crash never leaves half a file. Private to the
 * memory store. */
#ifndef VX_STORE_STATEFILE_H
#define VX_STORE_STATEFILE_H

#include "vx/store.h"

/* With dir NULL nothing persists: get finds nothing, put keeps nothing. */
int statefile_get(const char *dir, const char *name, struct store_doc *d, struct store_err *e);
int statefile_put(const char *dir, const char *name, const char *data, struct store_doc *d,
		  struct store_err *e);

#endif
