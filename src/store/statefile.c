/* statefile: see statefile.h. One process owns a state directory, so the
 * version is only a marker that the file exists; there is no one to race. */
#include "statefile.h"
#include "vx/yamljson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void where(const char *dir, const char *name, struct store_doc *d)
{
	d->nowhere = !dir;
	if (dir)
		snprintf(d->where, sizeof d->where, "%s/%s.json", dir, name);
	else
		snprintf(d->where, sizeof d->where, "memory (no --state-dir)");
}

int statefile_get(const char *dir, const char *name, struct store_doc *d, struct store_err *e)
{
	char err[256];
	size_t len;
	d->data = NULL;
	d->version[0] = 0;
	where(dir, name, d);
	if (!dir || access(d->where, F_OK) != 0)
		return 0; /* the first start */
	if (!(d->data = yj_read_file(d->where, &len, err, sizeof err))) {
		store_err_set(e, 500, "%s", err);
		return -1;
	}
	snprintf(d->version, sizeof d->version, "file");
	return 0;
}

int statefile_put(const char *dir, const char *name, const char *data, struct store_doc *d,
		  struct store_err *e)
{
	char err[sizeof e->msg];
	where(dir, name, d);
	if (!dir)
		return 0;
	if (yj_write_file(d->where, data, err, sizeof err)) {
		store_err_set(e, 500, "%s", err);
		return -1;
	}
	snprintf(d->version, sizeof d->version, "file");
	return 0;
}
