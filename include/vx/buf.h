/* buf: a growable byte buffer for building replies and annotation values.
 * Allocation failure aborts: every caller would have to give up anyway. */
#ifndef VX_BUF_H
#define VX_BUF_H

#include <stddef.h>

struct buf {
	char *data; /* always NUL-terminated once anything was appended */
	size_t len, cap;
};

#define BUF_INIT                                                                                   \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
void buf_json_str(struct buf *b, const char *s);
void buf_json_strn(struct buf *b, const char *s, size_t n);
/* Appends a string literal without measuring it at run time. */
#define buf_lit(b, s) buf_append((b), (s), sizeof(s) - 1)
/* Appends "s" for a string known to need no escaping. */
void buf_json_raw(struct buf *b, const char *s, size_t n);
void buf_reset(struct buf *b);
/* Hands the storage to the caller (never NULL) and leaves b empty. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

#endif
