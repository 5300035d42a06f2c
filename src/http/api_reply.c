/*
 * REST answers: the body and status a handler leaves in its context,
 * and the one error envelope (see api.h). Nothing here touches Kore:
 * api.c writes the answer out.
 */

#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain/limits.h"
#include "http/api.h"
#include "lib/valid.h"

static void	api_error_body(struct api_ctx *, int, const char *,
		    const char * const *, size_t);

static const struct {
	int		code;
	const char	*text;
} reasons[] = {
	{ 200, "OK" }, { 201, "Created" }, { 204, "No Content" },
	{ 400, "Bad Request" }, { 401, "Unauthorized" },
	{ 403, "Forbidden" }, { 404, "Not Found" },
	{ 405, "Method Not Allowed" }, { 409, "Conflict" },
	{ 411, "Length Required" }, { 413, "Payload Too Large" },
	{ 414, "URI Too Long" }, { 415, "Unsupported Media Type" },
	{ 422, "Unprocessable Entity" }, { 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" }, { 503, "Service Unavailable" },
	{ 0, NULL }
};

struct json *
api_out(struct api_ctx *ctx)
{
	return (&ctx->out);
}

void
api_reply(struct api_ctx *ctx, int status)
{
	ctx->status = status;
	ctx->has_body = 1;
}

void
api_no_content(struct api_ctx *ctx)
{
	json_reset(&ctx->out);
	ctx->status = 204;
	ctx->has_body = 0;
}

void
api_reply_raw(struct api_ctx *ctx, int status, const char *type, char *buf,
    size_t len)
{
	free(ctx->raw);
	ctx->raw = buf;
	ctx->raw_len = len;
	ctx->content_type = type;
	ctx->status = status;
	ctx->has_body = 1;
}

void
api_error(struct api_ctx *ctx, int status, const char *fmt, ...)
{
	va_list		ap;
	char		msg[1024];

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	api_error_body(ctx, status, msg, NULL, 0);
}

void
api_error_list(struct api_ctx *ctx, int status, const char * const *msgs,
    size_t n)
{
	api_error_body(ctx, status, NULL, msgs, n);
}

void
api_domain_reply(struct api_ctx *ctx, int status, const char *err)
{
	if (status == 204)
		api_no_content(ctx);
	else if (status >= 400)
		api_error(ctx, status, "%s", err);
	else
		api_reply(ctx, status);
}

void
api_header(struct api_ctx *ctx, const char *name, const char *fmt, ...)
{
	struct api_header	*h;
	va_list			ap;
	int			i;

	h = NULL;
	for (i = 0; i < ctx->nheaders; i++) {
		if (!strcasecmp(ctx->headers[i].name, name)) {
			h = &ctx->headers[i];
			break;
		}
	}

	if (h == NULL) {
		if (ctx->nheaders == API_MAX_HEADERS)
			return;
		h = &ctx->headers[ctx->nheaders++];
	}

	(void)snprintf(h->name, sizeof(h->name), "%s", name);
	va_start(ap, fmt);
	(void)vsnprintf(h->value, sizeof(h->value), fmt, ap);
	va_end(ap);
}

void
api_limit_headers(struct api_ctx *ctx, const struct ratelimit *rl, int status)
{
	if (rl->checked) {
		api_header(ctx, "X-RateLimit-Limit", "%u", rl->limit);
		api_header(ctx, "X-RateLimit-Remaining", "%u", rl->remaining);
		api_header(ctx, "X-RateLimit-Reset", "%lld",
		    (long long)rl->reset);
	}
	if (status == 429)
		api_header(ctx, "Retry-After", "%u", rl->retry_after);
}

const char *
api_reason(int code)
{
	int		i;

	for (i = 0; reasons[i].text != NULL; i++) {
		if (reasons[i].code == code)
			return (reasons[i].text);
	}

	return ("Error");
}

/*
 * One error envelope for everything: {statusCode, message, error}. 401s
 * keep the original's exact body {statusCode, message:"Unauthorized"}.
 */
static void
api_error_body(struct api_ctx *ctx, int status, const char *msg,
    const char * const *msgs, size_t n)
{
	struct json	*j;
	size_t		i;

	json_reset(&ctx->out);
	j = &ctx->out;
	free(ctx->raw);
	ctx->raw = NULL;
	ctx->content_type = "application/json; charset=utf-8";

	json_obj_open(j);
	json_kint(j, "statusCode", status);
	json_key(j, "message");
	if (msgs != NULL) {
		json_arr_open(j);
		for (i = 0; i < n; i++)
			json_str(j, msgs[i]);
		json_arr_close(j);
	} else {
		json_str(j, msg);
	}
	if (status != 401)
		json_kstr(j, "error", api_reason(status));
	json_obj_close(j);

	ctx->status = status;
	ctx->has_body = 1;
}

/* Returns 1 (and writes the 400) when validation failed. */
int
api_valid_reply(struct api_ctx *ctx, const struct valid *v)
{
	const char	*list[VALID_MAX_MSGS];
	size_t		i;

	if (v->n == 0)
		return (0);

	for (i = 0; i < v->n; i++)
		list[i] = v->msgs[i];

	api_error_list(ctx, 400, list, v->n);
	return (1);
}
