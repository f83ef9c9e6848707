/* yamljson: reads a YAML (or JSON) stream with libyaml and hands each
 * document to a callback as a cJSON tree, so manifests from files and from
 * HTTP bodies go through the same object code. Plain scalars become numbers,
 * booleans and null the way Kubernetes' YAML decoder reads them. */
#ifndef VX_YAMLJSON_H
#define VX_YAMLJSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* doc is borrowed; line is the document's first line (1-based). Return
 * non-zero to stop with that error already written to err. */
typedef int (*yj_doc_cb)(void *ud, const cJSON *doc, int line, char *err, size_t errlen);

/* Returns the number of documents read, or -1 with "NAME:LINE: message". */
int yj_parse(const char *data, size_t len, const char *name, yj_doc_cb cb, void *ud, char *err,
	     size_t errlen);
int yj_parse_file(const char *path, yj_doc_cb cb, void *ud, char *err, size_t errlen);
/* Reads a whole file; returns NULL with err set. */
char *yj_read_file(const char *path, size_t *len, char *err, size_t errlen);

#endif
