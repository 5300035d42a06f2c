/*
 * REST dispatch: a matched request runs its handler on a Kore task (or
 * inline, or its quick half on the loop when that is enough), then its
 * deferred work, then the answer goes out with CORS and its events are
 * published (see api.h). Matching and the request copy are
 * api_request.c's, the answer's body api_reply.c's.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>

#include "core/core.h"
#include "core/job.h"
#include "core/metrics.h"
#include "http/api.h"
#include "http/api_internal.h"
#include "http/cors.h"
#include "http/guard.h"

struct api_state {
	struct kore_task	task;
	int			task_started;
	int			slot;		/* holds a job slot */
	struct api_ctx		ctx;
};

static int	api_continue(struct http_request *, struct api_state *);
static int	api_quick(struct api_ctx *);
static int	api_task(struct kore_task *);
static void	api_run(struct api_ctx *);
static int	api_respond(struct http_request *, struct api_ctx *);
static int	api_preflight(struct http_request *);
static int	api_immediate(struct http_request *, int, const char *);
static void	api_state_free(struct http_request *);

int
api_dispatch(struct http_request *req)
{
	struct api_state	*st;
	const struct api_route	*r;
	int			allowed;
	char			msg[600];

	if (http_state_exists(req))
		return (api_continue(req, http_state_get(req)));

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
	if (r->quick != NULL && api_quick(&st->ctx) != API_SLOW)
		return (api_continue(req, st));

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

static int
api_task(struct kore_task *t)
{
	struct api_state	*st;

	st = (struct api_state *)t;
	api_run(&st->ctx);

	return (KORE_RESULT_OK);
}

/*
 * After the handler (its task, or its quick half on the loop): the
 * deferred work, then the answer.
 */
static int
api_continue(struct http_request *req, struct api_state *st)
{
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

/*
 * The route's quick half, on the loop: the guard from the memo, then
 * the handler from memory. API_SLOW (nothing answered): the task runs
 * the whole route as usual.
 */
static int
api_quick(struct api_ctx *ctx)
{
	int	rc;

	if (ctx->route->flags & API_AUTH) {
		if ((rc = guard_authenticate_quick(ctx)) == 1)
			return (API_SLOW);
		if (rc == -1)
			return (0);
	}

	return (ctx->route->quick(ctx));
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
		evq_publish(&ctx->events);
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
		evq_publish(&st->ctx.events);

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
