/*
 * REST requests: matching a path against the route tables, and the
 * copy of the request (query, body, upload, client address) that the
 * handler reads on its task thread (see api.h).
 */

#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "core/config.h"
#include "http/api.h"
#include "http/api_internal.h"
#include "lib/multipart.h"
#include "lib/netaddr.h"

static int	api_match_pattern(const char *, char *, struct api_ctx *);
static void	api_client(struct http_request *, struct api_ctx *);
static void	api_parse_query(struct http_request *, struct api_ctx *);
static int	api_read_body(struct http_request *, struct api_ctx *);
static void	api_body_refused(struct api_ctx *);
static void	api_note_upload(struct http_request *, struct api_ctx *);
static ssize_t	api_upload_reader(void *, void *, size_t, size_t);

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

const struct api_route *
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

int
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
