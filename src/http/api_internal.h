/*
 * Between the parts of the REST dispatcher (api.c, api_request.c):
 * not for handlers.
 */

#ifndef LNK_HTTP_API_INTERNAL_H
#define LNK_HTTP_API_INTERNAL_H

struct api_ctx;
struct api_route;
struct http_request;

/*
 * The route of path and method, or NULL (*allowed: the methods the path
 * has). With ctx, its parameters are copied into it.
 */
const struct api_route	*api_match(const char *, int, struct api_ctx *,
			    int *);
/* Copies the request into ctx; -1 with the error answer written. */
int			api_prepare(struct http_request *, struct api_ctx *);

#endif
