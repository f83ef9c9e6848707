/* webui: serves the generated page (see webui.h). No caching headers: the
 * page is small and must match the daemon that serves it after an upgrade. */
#include "vx/webui.h"

void webui_serve(struct http_resp *resp)
{
	buf_reset(&resp->body);
	buf_append(&resp->body, webui_page, webui_page_len);
	resp->ctype = "text/html; charset=utf-8";
}
