/*
 * CORS for every HTTP answer, REST and Engine.IO alike (SPEC.md §4:
 * CORS_ORIGINS applies to both), so the two can never disagree as the
 * original's lists did.
 */

#ifndef LNK_HTTP_CORS_H
#define LNK_HTTP_CORS_H

struct http_request;

/* Adds the headers when the request's Origin is allowed; 1 if it was. */
int	cors_headers(struct http_request *);
/* Answers an OPTIONS preflight with 204 if the Origin is allowed (1). */
int	cors_preflight(struct http_request *);

#endif
