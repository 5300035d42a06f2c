/*
 * The access-token guard: runs on the task thread before every API_AUTH
 * handler. On failure it writes the answer (401, or 503 when the
 * database cannot say) and returns -1.
 *
 * guard_authenticate_quick() is the same on the worker's loop, from the
 * user memo only: 1 (nothing written) when the user is not in it.
 */

#ifndef LNK_HTTP_GUARD_H
#define LNK_HTTP_GUARD_H

struct api_ctx;

int	guard_authenticate(struct api_ctx *);
int	guard_authenticate_quick(struct api_ctx *);

#endif
