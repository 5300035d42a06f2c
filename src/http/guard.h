/*
 * The access-token guard: runs on the task thread before every API_AUTH
 * handler. On failure it writes the 401 and returns -1.
 */

#ifndef LNK_HTTP_GUARD_H
#define LNK_HTTP_GUARD_H

struct api_ctx;
struct dom_caller;

int	guard_authenticate(struct api_ctx *);
/* Shared with the socket layer: token string → active user. */
int	guard_check_token(const char *, struct dom_caller *, int64_t *);

#define GUARD_OK		0
#define GUARD_UNAUTHORIZED	-1
#define GUARD_UNAVAILABLE	-2

#endif
