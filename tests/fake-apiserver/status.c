/* status.c: API errors and their v1 Status form, with the reasons, messages
 * and details the real kube-apiserver uses. */
#include "fake.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *fk_reason_for(int code)
{
	switch (code) {
	case 400: return "BadRequest";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 405: return "MethodNotAllowed";
	case 409: return "Conflict";
	case 410: return "Expired";
	case 413: return "RequestEntityTooLarge";
	case 415: return "UnsupportedMediaType";
	case 422: return "Invalid";
	case 429: return "TooManyRequests";
	case 503: return "ServiceUnavailable";
	case 504: return "Timeout";
	default: return "InternalError";
	}
}

void fk_err_set(struct fk_err *e, int code, const char *reason, const char *fmt, ...)
{
	char msg[sizeof e->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
	va_end(ap);
	memset(e, 0, sizeof *e);
	e->code = code;
	e->reason = reason ? reason : fk_reason_for(code);
	memcpy(e->msg, msg, sizeof msg);
}

void fk_err_details(struct fk_err *e, const struct fk_kind *k, const char *kindname,
		    const char *name)
{
	snprintf(e->dname, sizeof e->dname, "%s", name ? name : "");
	snprintf(e->dkind, sizeof e->dkind, "%s", kindname ? kindname : "");
	e->dgroup = k && *k->group ? k->group : NULL;
}

void fk_err_notfound(struct fk_err *e, const struct fk_kind *k, const char *name)
{
	fk_err_set(e, 404, "NotFound", "%s \"%s\" not found", k->qualified, name);
	fk_err_details(e, k, k->resource, name);
}

void fk_err_conflict(struct fk_err *e, const struct fk_kind *k, const char *name)
{
	fk_err_set(e, 409, "Conflict",
		   "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
		   "please apply your changes to the latest version and try again",
		   k->qualified, name);
	fk_err_details(e, k, k->resource, name);
}

static void details_json(struct buf *b, const struct fk_err *e)
{
	buf_puts(b, ",\"details\":{");
	const char *sep = "";
	if (e->dname[0]) {
		buf_puts(b, "\"name\":");
		buf_json_str(b, e->dname);
		sep = ",";
	}
	if (e->dgroup) {
		buf_printf(b, "%s\"group\":", sep);
		buf_json_str(b, e->dgroup);
		sep = ",";
	}
	if (e->dkind[0]) {
		buf_printf(b, "%s\"kind\":", sep);
		buf_json_str(b, e->dkind);
		sep = ",";
	}
	if (e->cause_reason[0]) {
		buf_printf(b, "%s\"causes\":[{\"reason\":", sep);
		buf_json_str(b, e->cause_reason);
		buf_puts(b, ",\"message\":");
		buf_json_str(b, e->cause_msg);
		buf_puts(b, "}]");
	}
	buf_putc(b, '}');
}

void fk_status_json(struct buf *b, const struct fk_err *e)
{
	buf_puts(b, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
		    "\"status\":\"Failure\",\"message\":");
	buf_json_str(b, e->msg);
	const char *reason = e->reason ? e->reason : fk_reason_for(e->code);
	if (*reason) {
		buf_puts(b, ",\"reason\":");
		buf_json_str(b, reason);
	}
	if (e->dkind[0] || e->dname[0] || e->cause_reason[0])
		details_json(b, e);
	else if (e->retry_after > 0)
		buf_printf(b, ",\"details\":{\"retryAfterSeconds\":%d}", e->retry_after);
	buf_printf(b, ",\"code\":%d}", e->code);
}
