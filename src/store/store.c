/* store: helpers shared by the store implementations. */
#include "vx/store.h"

#include <stdarg.h>
#include <stdio.h>

void store_err_set(struct store_err *e, int code, const char *fmt, ...)
{
	if (!e)
		return;
	e->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
}
