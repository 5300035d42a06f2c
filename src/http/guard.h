/*
 * The access-token guard: runs on the task thread before every API_AUTH
 * handler. On failure it writes the answer (401, or 503 when the
 * database cannot say) and returns -1.
 */

#ifndef LNK_HTTP_GUARD_H
#define LNK_HTTP_GUARD_H

struct api_ctx;

int	guard_authenticate(struct api_ctx *);

#endif
