/*
 * The REST layer's request context and the helpers every handler uses.
 *
 * A request is matched against the route tables on the worker, its body
 * and query are copied into a struct api_ctx, and the handler runs on a
 * Kore task thread (blocking MongoDB / Redis calls are fine there). The
 * worker then writes the response and publishes the events the handler
 * queued. Handlers must not call Kore functions: only what is declared
 * here, lib/, core/ and domain/ (whose functions answer with a status
 * and a message: api_domain_reply).
 */

#ifndef LNK_HTTP_API_H
#define LNK_HTTP_API_H

#include <sys/types.h>

#include <bson/bson.h>
#include <yajl/yajl_tree.h>

#include "domain/caller.h"
#include "domain/events.h"
#include "lib/json.h"
#include "lib/json_arena.h"
#include "lib/netaddr.h"

#define API_AUTH		0x01	/* needs a valid access token */
#define API_INLINE		0x02	/* no blocking I/O: runs on the worker */
#define API_MULTIPART		0x04	/* multipart body kept on disk */

#define API_MAX_PARAMS		4
#define API_MAX_QUERY		24
#define API_MAX_HEADERS		12
#define API_BODY_MAX		(1024 * 1024)

/* Method bits (same values as Kore's HTTP_METHOD_*). */
#define API_GET			0x0001
#define API_POST		0x0002
#define API_PUT			0x0004
#define API_DELETE		0x0010
#define API_PATCH		0x0080

struct api_ctx;
struct http_request;
struct ratelimit;
struct valid;

struct api_route {
	int		methods;
	const char	*pattern;	/* "/api/messages/:id/read" */
	int		flags;
	void		(*handler)(struct api_ctx *);
	/*
	 * Optional: the same on the worker's loop from what is in memory
	 * (no blocking I/O), tried first; API_SLOW, with nothing answered,
	 * when the handler's task is needed. It may api_defer().
	 */
	int		(*quick)(struct api_ctx *);
};

#define API_SLOW		1

struct api_query {
	char		*key;
	char		*value;
};

struct api_header {
	char		name[48];
	char		value[256];
};

/*
 * A multipart upload (API_MULTIPART). The worker notes where Kore keeps
 * the body (a file above http_body_disk_offload, else memory) and the
 * boundary; nothing is read there. On the task thread the handler calls
 * api_upload_find() to locate the file part, then reads it with
 * api_upload_read(), so the body is never held in memory as a whole.
 */
struct api_upload {
	int		present;		/* api_upload_find() found it */
	char		filename[512];		/* as sent, unchecked bytes */
	char		part_type[128];		/* client-declared type */
	char		boundary[80];		/* "" when not multipart */
	char		body_path[512];		/* body on disk, or "" */
	int		body_fd;		/* body on disk, or -1 */
	const u_int8_t	*body_mem;		/* body in memory */
	size_t		offset;			/* part data in the body */
	size_t		length;
	size_t		content_length;
};

struct api_ctx {
	const struct api_route	*route;
	int			method;
	char			*path;
	char			*params[API_MAX_PARAMS];
	int			nparams;
	struct api_query	query[API_MAX_QUERY];
	int			nquery;
	char			*body;
	size_t			body_len;
	yajl_val		json;		/* the body's tree, in arena */
	struct json_arena	arena;
	char			*authorization;
	/* The client's address as a limiter key (lib/netaddr.h). */
	char			client[NETADDR_KEY_MAX];
	struct api_upload	upload;

	struct dom_caller		user;

	/* response */
	int			status;
	struct json		out;
	int			has_body;
	const char		*content_type;
	char			*raw;		/* non-JSON body (malloc'd) */
	size_t			raw_len;
	struct api_header	headers[API_MAX_HEADERS];
	int			nheaders;

	struct evq		events;
	int64_t			started;
	void			*priv;

	/* api_defer: the work that goes on after the task, on the loop. */
	void			(*defer_start)(struct api_ctx *, void *);
	void			(*defer_cancel)(void *);
	void			*defer_arg;
	int			deferred;	/* started */
	int			resumed;	/* response ready */
	int			responded;
	struct http_request	*req;		/* while deferred */
};

/* Route tables, one per resource file (NULL pattern ends a table). */
extern const struct api_route	auth_routes[];
extern const struct api_route	users_routes[];
extern const struct api_route	health_routes[];
extern const struct api_route	metrics_routes[];
extern const struct api_route	upload_routes[];
extern const struct api_route	conversations_routes[];
extern const struct api_route	messages_routes[];

/*
 * Whether the caller sent Authorization: Bearer METRICS_TOKEN (never
 * when none is configured): metrics, and health details.
 */
int		api_metrics_caller(struct api_ctx *);

/* Request accessors. */
const char	*api_query(struct api_ctx *, const char *);
const char	*api_param(struct api_ctx *, int);
int		api_param_oid(struct api_ctx *, int, bson_oid_t *);
yajl_val	api_body(struct api_ctx *);

/*
 * API_MULTIPART: find the file part named field. 1 found (ctx->upload
 * filled), 0 none, -1 the body is not multipart/form-data or malformed.
 */
int		api_upload_find(struct api_ctx *, const char *);
/* Read up to len body bytes at off (pread-like; task thread). */
ssize_t		api_upload_read(struct api_ctx *, void *, size_t, size_t);

/* Responses. The body is written into ctx->out with the json_* calls. */
struct json	*api_out(struct api_ctx *);
void		api_reply(struct api_ctx *, int);
void		api_no_content(struct api_ctx *);
/* A non-JSON body: takes over buf (malloc'd), content type kept as given. */
void		api_reply_raw(struct api_ctx *, int, const char *, char *,
		    size_t);
void		api_error(struct api_ctx *, int, const char *, ...)
		    __attribute__((format (printf, 3, 4)));
void		api_error_list(struct api_ctx *, int, const char * const *,
		    size_t);
/* A domain function's status (domain.h) and message as the response. */
void		api_domain_reply(struct api_ctx *, int, const char *);
void		api_header(struct api_ctx *, const char *, const char *, ...)
		    __attribute__((format (printf, 3, 4)));
/* A rate limit's X-RateLimit-* (when counted), Retry-After on a 429. */
void		api_limit_headers(struct api_ctx *, const struct ratelimit *,
		    int);
const char	*api_reason(int);

/*
 * Work that goes on after the handler's task (a message waiting for its
 * batch, msg_commit): once the task is done, start(ctx, arg) runs on the
 * worker's loop and calls api_resume(ctx) when the response is ready,
 * then or later. Should the client go first, cancel(arg) runs instead of
 * a response (after start, if start had not run yet): what was asked is
 * still done.
 */
void		api_defer(struct api_ctx *, void (*)(struct api_ctx *, void *),
		    void (*)(void *), void *);
void		api_resume(struct api_ctx *);

/* Exported for Kore (kore.conf routes). */
int		api_dispatch(struct http_request *);

/* Returns 1 (and writes the 400 listing them) when v has failures. */
int	api_valid_reply(struct api_ctx *, const struct valid *);

/* Uploads (rest_uploads.c): libvips, once per worker (app.c). */
void		upload_worker_init(void);

#endif
