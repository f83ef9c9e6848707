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
/* Like yj_parse, but the callback owns doc (and must delete it), so a
 * loader can keep the tree without copying it. */
typedef int (*yj_take_cb)(void *ud, cJSON *doc, int line, char *err, size_t errlen);
int yj_parse_take(const char *data, size_t len, const char *name, yj_take_cb cb, void *ud,
		  char *err, size_t errlen);
/* yj_parse through libyaml alone, without the fast reader: the reference
 * the tests compare the fast reader with. */
int yj_parse_libyaml(const char *data, size_t len, const char *name, yj_doc_cb cb, void *ud,
		     char *err, size_t errlen);
int yj_parse_file(const char *path, yj_doc_cb cb, void *ud, char *err, size_t errlen);
/* Reads a whole file; returns NULL with err set. */
char *yj_read_file(const char *path, size_t *len, char *err, size_t errlen);
/* Replaces path with data: written to path.tmp, synced, then renamed, so a
 * crash leaves the old file or the new one, never half of one. 0, or -1
 * with err set. */
int yj_write_file(const char *path, const char *data, char *err, size_t errlen);

#endif
