/* xalloc: allocation that cannot fail. The daemon has no way to go on
 * without memory, so running out aborts at once rather than threading an
 * error through every caller. */
#ifndef VX_XALLOC_H
#define VX_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
/* calloc that treats n == 0 as 1, so the result is never NULL. */
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* strdup; NULL gives "". */
char *xstrdup(const char *s);

#endif
