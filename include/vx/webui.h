/* webui: the dashboard page (web/), embedded in the binary. The bytes are
 * generated at build time (scripts/embed-web.sh into $(BUILD)/gen/); this
 * header is the only way to them. */
#ifndef VX_WEBUI_H
#define VX_WEBUI_H

#include "vx/httpd.h"

#include <stddef.h>

extern const unsigned char webui_page[];
extern const size_t webui_page_len;

/* Writes the page into resp (status left as it is). */
void webui_serve(struct http_resp *resp);

#endif
