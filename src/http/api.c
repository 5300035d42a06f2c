/*
 * REST dispatch: route matching, CORS, request copy, task execution and
 * the single response / error path (see api.h).
 */

#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>

#include "core/config.h"
#include "core/core.h"
#include "core/job.h"
#include "core/metrics.h"
#include "domain/limits.h"
#include "http/api.h"
#include "http/cors.h"
#include "http/guard.h"
#include "lib/multipart.h"
#include "lib/netaddr.h"
#include "lib/valid.h"

struct api_state {
	struct kore_task	task;
	int			task_started;
	int			slot;		/* holds a job slot */
	struct api_ctx		ctx;
};

static const struct api_route	*api_match(const char *, int, struct api_ctx *,
				    int *);
static int	api_match_pattern(const char *, char *, struct api_ctx *);
static int	api_prepare(struct http_request *, struct api_ctx *);
static void	api_client(struct http_request *, struct api_ctx *);
static void	api_parse_query(struct http_request *, struct api_ctx *);
static int	api_read_body(struct http_request *, struct api_ctx *);
static void	api_body_refused(struct api_ctx *);
static void	api_note_upload(struct http_request *, struct api_ctx *);
static ssize_t	api_upload_reader(void *, void *, size_t, size_t);
static int	api_task(struct kore_task *);
static void	api_run(struct api_ctx *);
static int	api_respond(struct http_request *, struct api_ctx *);
static int	api_preflight(struct http_request *);
static int	api_immediate(struct http_request *, int, const char *);
static void	api_state_free(struct http_request *);
static void	api_error_body(struct api_ctx *, int, const char *,
		    const char * const *, size_t);

static const struct api_route	*route_tables[] = {
	auth_routes,
	users_routes,
	health_routes,
	metrics_routes,
	upload_routes,
	conversations_routes,
	messages_routes,
	NULL
};

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

int
api_dispatch(struct http_request *req)
{
	struct api_state	*st;
	const struct api_route	*r;
	int			allowed;
	char			msg[600];

	if (http_state_exists(req)) {
		st = http_state_get(req);
		if (st->task_started &&
		    kore_task_state(&st->task) != KORE_TASK_STATE_FINISHED) {
			http_request_sleep(req);
			return (KORE_RESULT_RETRY);
		}
		/* The task's job slot: what follows is no task. */
		if (st->slot) {
			st->slot = 0;
			job_slot_give();
		}
		if (st->ctx.defer_start != NULL && !st->ctx.deferred) {
			st->ctx.deferred = 1;
			st->ctx.req = req;
			st->ctx.defer_start(&st->ctx, st->ctx.defer_arg);
		}
		if (st->ctx.deferred && !st->ctx.resumed) {
			http_request_sleep(req);
			return (KORE_RESULT_RETRY);
		}
		return (api_respond(req, &st->ctx));
	}

	if (req->method == HTTP_METHOD_OPTIONS)
		return (api_preflight(req));

	if ((r = api_match(req->path, req->method, NULL, &allowed)) == NULL) {
		if (allowed)
			return (api_immediate(req, 405, "Method Not Allowed"));
		(void)snprintf(msg, sizeof(msg), "Cannot %s %s",
		    http_method_text(req->method), req->path);
		return (api_immediate(req, 404, msg));
	}

	st = http_state_create(req, sizeof(*st), api_state_free);
	st->ctx.route = api_match(req->path, req->method, &st->ctx, &allowed);
	st->ctx.started = core_now_ms();
	st->ctx.status = 200;
	st->ctx.content_type = "application/json; charset=utf-8";
	st->ctx.upload.body_fd = -1;
	json_arena_init(&st->ctx.arena, NULL, 0);
	json_init(&st->ctx.out);
	evq_init(&st->ctx.events);

	if (api_prepare(req, &st->ctx) == -1)
		return (api_respond(req, &st->ctx));

	if (r->flags & API_INLINE) {
		api_run(&st->ctx);
		return (api_respond(req, &st->ctx));
	}

	/* Saturated: shed load rather than run out of descriptors. */
	if (!job_slot_take()) {
		api_header(&st->ctx, "Retry-After", "1");
		api_error(&st->ctx, 503, "Server busy, try again shortly");
		return (api_respond(req, &st->ctx));
	}
	st->slot = 1;

	kore_task_create(&st->task, api_task);
	kore_task_bind_request(&st->task, req);
	st->task_started = 1;
	kore_task_run(&st->task);

	return (KORE_RESULT_RETRY);
}

const char *
api_query(struct api_ctx *ctx, const char *key)
{
	int		i;

	for (i = 0; i < ctx->nquery; i++) {
		if (!strcmp(ctx->query[i].key, key))
			return (ctx->query[i].value);
	}

	return (NULL);
}

const char *
api_param(struct api_ctx *ctx, int idx)
{
	if (idx < 0 || idx >= ctx->nparams)
		return (NULL);

	return (ctx->params[idx]);
}

/*
 * Path ids must be ObjectIds; anything else is the client's mistake
 * (400), never a 500 from the driver.
 */
int
api_param_oid(struct api_ctx *ctx, int idx, bson_oid_t *oid)
{
	const char	*s;

	s = api_param(ctx, idx);
	if (s == NULL || strlen(s) != 24 || !bson_oid_is_valid(s, 24)) {
		api_error(ctx, 400, "Invalid id: must be a 24-character "
		    "hexadecimal ObjectId");
		return (-1);
	}

	bson_oid_init_from_string(oid, s);
	return (0);
}

yajl_val
api_body(struct api_ctx *ctx)
{
	return (ctx->json);
}

int
api_upload_find(struct api_ctx *ctx, const char *field)
{
	struct api_upload	*up;
	struct multipart_part	part;
	int			r;

	up = &ctx->upload;
	up->present = 0;
	if (up->boundary[0] == '\0' || up->content_length == 0)
		return (-1);

	r = multipart_find_file(api_upload_reader, ctx, up->content_length,
	    up->boundary, field, &part);
	if (r != 1)
		return (r);

	up->present = 1;
	up->offset = part.offset;
	up->length = part.length;
	(void)snprintf(up->filename, sizeof(up->filename), "%s",
	    part.filename);
	(void)snprintf(up->part_type, sizeof(up->part_type), "%s",
	    part.content_type);

	return (1);
}

ssize_t
api_upload_read(struct api_ctx *ctx, void *buf, size_t len, size_t off)
{
	struct api_upload	*up;
	ssize_t			r;

	up = &ctx->upload;
	if (off >= up->content_length)
		return (0);
	if (len > up->content_length - off)
		len = up->content_length - off;

	if (up->body_fd != -1) {
		/* pread: the worker never moves this fd while we run. */
		do {
			r = pread(up->body_fd, buf, len, (off_t)off);
		} while (r == -1 && errno == EINTR);
		return (r);
	}

	if (up->body_mem == NULL)
		return (-1);
	memcpy(buf, up->body_mem + off, len);

	return ((ssize_t)len);
}

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

void
api_defer(struct api_ctx *ctx, void (*start)(struct api_ctx *, void *),
    void (*cancel)(void *), void *arg)
{
	ctx->defer_start = start;
	ctx->defer_cancel = cancel;
	ctx->defer_arg = arg;
}

void
api_resume(struct api_ctx *ctx)
{
	ctx->resumed = 1;
	if (ctx->req != NULL)
		http_request_wakeup(ctx->req);
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

static const struct api_route *
api_match(const char *path, int method, struct api_ctx *ctx, int *allowed)
{
	const struct api_route	*r;
	char			buf[1024];
	size_t			len;
	int			t, m;

	*allowed = 0;
	if ((len = strlen(path)) >= sizeof(buf))
		return (NULL);

	/* Express routing is not strict: "/x/" is "/x". */
	memcpy(buf, path, len + 1);
	if (len > 1 && buf[len - 1] == '/')
		buf[len - 1] = '\0';

	m = method == HTTP_METHOD_HEAD ? HTTP_METHOD_GET : method;

	for (t = 0; route_tables[t] != NULL; t++) {
		for (r = route_tables[t]; r->pattern != NULL; r++) {
			if (!api_match_pattern(r->pattern, buf, NULL))
				continue;
			if (!(r->methods & m)) {
				*allowed |= r->methods;
				continue;
			}
			(void)api_match_pattern(r->pattern, buf, ctx);
			return (r);
		}
	}

	return (NULL);
}

/* Segment match; ":name" matches one non-empty segment. */
static int
api_match_pattern(const char *pattern, char *path, struct api_ctx *ctx)
{
	const char	*p, *pe;
	char		*s, *se;
	size_t		plen, slen;

	p = pattern;
	s = path;

	for (;;) {
		if (*p == '\0' || *s == '\0')
			return (*p == '\0' && *s == '\0');
		if (*p != '/' || *s != '/')
			return (0);
		p++;
		s++;

		pe = strchr(p, '/');
		plen = pe ? (size_t)(pe - p) : strlen(p);
		se = strchr(s, '/');
		slen = se ? (size_t)(se - s) : strlen(s);

		if (*p == ':') {
			if (slen == 0)
				return (0);
			if (ctx != NULL && ctx->nparams < API_MAX_PARAMS) {
				ctx->params[ctx->nparams] = kore_malloc(slen + 1);
				memcpy(ctx->params[ctx->nparams], s, slen);
				ctx->params[ctx->nparams][slen] = '\0';
				ctx->nparams++;
			}
		} else if (plen != slen || strncmp(p, s, plen)) {
			return (0);
		}

		p += plen;
		s += slen;
	}
}

static int
api_prepare(struct http_request *req, struct api_ctx *ctx)
{
	const char	*auth;

	ctx->method = req->method;
	ctx->path = kore_strdup(req->path);

	if (http_request_header(req, "authorization", &auth))
		ctx->authorization = kore_strdup(auth);
	api_client(req, ctx);

	api_parse_query(req, ctx);

	if (req->method == HTTP_METHOD_POST || req->method == HTTP_METHOD_PUT ||
	    req->method == HTTP_METHOD_PATCH) {
		if (api_read_body(req, ctx) == -1)
			return (-1);
	}

	return (0);
}

/*
 * Who is asking, for the per-address limits: the TCP peer, or what a
 * trusted proxy (TRUSTED_PROXIES) says it forwarded.
 */
static void
api_client(struct http_request *req, struct api_ctx *ctx)
{
	struct netaddr	peer, client;
	const char	*real, *fwd;

	memset(&peer, 0, sizeof(peer));
	if (req->owner->family == AF_INET)
		netaddr_set(&peer, AF_INET, &req->owner->addr.ipv4.sin_addr);
	else if (req->owner->family == AF_INET6)
		netaddr_set(&peer, AF_INET6, &req->owner->addr.ipv6.sin6_addr);

	if (!http_request_header(req, "x-real-ip", &real))
		real = NULL;
	if (!http_request_header(req, "x-forwarded-for", &fwd))
		fwd = NULL;

	netaddr_client(&peer, real, fwd, cfg.trusted_proxies,
	    cfg.trusted_count, &client);
	netaddr_key(&client, ctx->client, sizeof(ctx->client));
}

static void
api_parse_query(struct http_request *req, struct api_ctx *ctx)
{
	char		*qs, *pair, *next, *eq;

	if (req->query_string == NULL || *req->query_string == '\0')
		return;

	qs = kore_strdup(req->query_string);
	ctx->priv = qs;		/* freed with the state */

	for (pair = qs; pair != NULL && ctx->nquery < API_MAX_QUERY;
	    pair = next) {
		if ((next = strchr(pair, '&')) != NULL)
			*next++ = '\0';
		if (*pair == '\0')
			continue;
		if ((eq = strchr(pair, '=')) != NULL)
			*eq++ = '\0';
		else
			eq = pair + strlen(pair);
		if (http_argument_urldecode(pair) != KORE_RESULT_OK ||
		    http_argument_urldecode(eq) != KORE_RESULT_OK)
			continue;
		/* The first occurrence wins, like a single-valued DTO. */
		if (api_query(ctx, pair) != NULL)
			continue;
		ctx->query[ctx->nquery].key = pair;
		ctx->query[ctx->nquery].value = eq;
		ctx->nquery++;
	}
}

static int
api_read_body(struct http_request *req, struct api_ctx *ctx)
{
	ssize_t		r;
	size_t		off;
	char		err[256];

	if (ctx->route->flags & API_MULTIPART) {
		api_note_upload(req, ctx);
		return (0);
	}

	if (req->content_length > API_BODY_MAX) {
		api_error(ctx, 413, "Request body is larger than %d bytes",
		    API_BODY_MAX);
		return (-1);
	}

	ctx->body = kore_malloc(req->content_length + 1);
	off = 0;
	while (off < req->content_length) {
		r = http_body_read(req, ctx->body + off,
		    req->content_length - off);
		if (r == -1) {
			api_error(ctx, 400, "Could not read the request body");
			return (-1);
		}
		if (r == 0)
			break;
		off += (size_t)r;
	}
	ctx->body[off] = '\0';
	ctx->body_len = off;

	/* An empty body is an empty object, as with express.json(). */
	if (off == 0)
		return (0);

	ctx->json = json_arena_parse(&ctx->arena, ctx->body, off, err,
	    sizeof(err));
	if (ctx->json == NULL) {
		api_body_refused(ctx);
		return (-1);
	}
	if (!YAJL_IS_OBJECT(ctx->json)) {
		api_error(ctx, 400, "Request body must be a JSON object");
		return (-1);
	}

	return (0);
}

/* What was wrong with a JSON body the parser refused. */
static void
api_body_refused(struct api_ctx *ctx)
{
	switch (ctx->arena.error) {
	case JSON_ARENA_EDEPTH:
		api_error(ctx, 400, "JSON in request body is nested too "
		    "deeply (at most %d levels)", JSON_ARENA_DEPTH);
		break;
	case JSON_ARENA_ENUL:
		api_error(ctx, 400, "JSON strings in request body must not "
		    "contain NUL (\\u0000)");
		break;
	case JSON_ARENA_ENOMEM:
		api_error(ctx, 503, "Server busy, try again shortly");
		break;
	default:
		api_error(ctx, 400, "Malformed JSON in request body");
		break;
	}
}

/*
 * Where the body is, for the task thread. The request (and its body file
 * or buffer) stays alive until the bound task has finished.
 */
static void
api_note_upload(struct http_request *req, struct api_ctx *ctx)
{
	struct api_upload	*up;
	const char		*ctype;

	up = &ctx->upload;
	up->body_fd = req->http_body_fd;
	up->content_length = req->content_length;
	if (req->http_body_path != NULL) {
		(void)snprintf(up->body_path, sizeof(up->body_path), "%s",
		    req->http_body_path);
	}
	/* After Kore's rewind the whole body sits at data[0..length). */
	if (req->http_body_fd == -1 && req->http_body != NULL)
		up->body_mem = req->http_body->data;

	if (!http_request_header(req, "content-type", &ctype) ||
	    multipart_boundary(ctype, up->boundary, sizeof(up->boundary)) == -1)
		up->boundary[0] = '\0';
}

static ssize_t
api_upload_reader(void *arg, void *buf, size_t len, size_t off)
{
	return (api_upload_read(arg, buf, len, off));
}

static int
api_task(struct kore_task *t)
{
	struct api_state	*st;

	st = (struct api_state *)t;
	api_run(&st->ctx);

	return (KORE_RESULT_OK);
}

static void
api_run(struct api_ctx *ctx)
{
	if (ctx->route->flags & API_AUTH) {
		if (guard_authenticate(ctx) == -1)
			return;
	}

	ctx->route->handler(ctx);
}

static int
api_respond(struct http_request *req, struct api_ctx *ctx)
{
	const u_int8_t	*data;
	size_t		len;
	int		i;

	(void)cors_headers(req);

	for (i = 0; i < ctx->nheaders; i++) {
		http_response_header(req, ctx->headers[i].name,
		    ctx->headers[i].value);
	}

	if (ctx->status == 204 || !ctx->has_body) {
		http_response(req, ctx->status, NULL, 0);
	} else {
		if (ctx->raw != NULL) {
			data = (const u_int8_t *)ctx->raw;
			len = ctx->raw_len;
		} else {
			data = json_data(&ctx->out, &len);
		}
		http_response_header(req, "content-type", ctx->content_type);
		http_response_header(req, "cache-control", "no-store");
		http_response(req, ctx->status, data, len);
	}

	metrics_http(ctx->route->pattern, ctx->method, ctx->status,
	    core_now_ms() - ctx->started);

	/* Stored first, announced after: the client already has its reply. */
	ctx->responded = 1;
	ctx->req = NULL;
	if (!TAILQ_EMPTY(&ctx->events))
		bus_publish(&ctx->events);
	evq_clear(&ctx->events);

	return (KORE_RESULT_OK);
}

/* Disallowed origins get an answer without CORS headers: the browser
 * then refuses it, which is the point. */
static int
api_preflight(struct http_request *req)
{
	if (!cors_preflight(req))
		http_response(req, 204, NULL, 0);

	return (KORE_RESULT_OK);
}

/* 404/405 before any state exists. */
static int
api_immediate(struct http_request *req, int status, const char *msg)
{
	struct api_ctx		ctx;
	const u_int8_t		*data;
	size_t			len;

	memset(&ctx, 0, sizeof(ctx));
	json_init(&ctx.out);
	api_error(&ctx, status, "%s", msg);

	(void)cors_headers(req);
	data = json_data(&ctx.out, &len);
	http_response_header(req, "content-type",
	    "application/json; charset=utf-8");
	http_response(req, status, data, len);
	json_free(&ctx.out);

	metrics_http("unmatched", req->method, status, 0);
	return (KORE_RESULT_OK);
}

static void
api_state_free(struct http_request *req)
{
	struct api_state	*st;
	int			i;

	if ((st = http_state_get(req)) == NULL)
		return;

	/*
	 * Kore calls onfree on every attempt to free the request, also while
	 * its task is still running (client gone): the task is using the
	 * context then. Kore retries until the task has finished.
	 */
	if (st->task_started && !kore_task_finished(&st->task))
		return;

	/*
	 * The client has gone. What its request stored is announced all
	 * the same, and deferred work goes on without anyone to tell.
	 */
	if (st->ctx.defer_start != NULL && !st->ctx.deferred) {
		st->ctx.deferred = 1;
		st->ctx.defer_start(&st->ctx, st->ctx.defer_arg);
	}
	if (st->ctx.deferred && !st->ctx.resumed) {
		st->ctx.resumed = 1;
		if (st->ctx.defer_cancel != NULL)
			st->ctx.defer_cancel(st->ctx.defer_arg);
	}
	st->ctx.req = NULL;
	if (!st->ctx.responded && !TAILQ_EMPTY(&st->ctx.events))
		bus_publish(&st->ctx.events);

	if (st->slot) {
		st->slot = 0;
		job_slot_give();
	}

	json_free(&st->ctx.out);
	evq_clear(&st->ctx.events);
	json_arena_reset(&st->ctx.arena);
	for (i = 0; i < st->ctx.nparams; i++)
		kore_free(st->ctx.params[i]);
	kore_free(st->ctx.path);
	kore_free(st->ctx.body);
	kore_free(st->ctx.authorization);
	kore_free(st->ctx.priv);
	free(st->ctx.raw);
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
