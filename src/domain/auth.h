/*
 * Tokens: who an access token belongs to, and the refresh tokens that
 * renew it (one use each, in families that end when a used one comes
 * back). See domain.h for the conventions: every function here but
 * auth_caller_quick() runs on a task thread, and each returns an
 * HTTP-like status with err.
 */

#ifndef LNK_DOMAIN_AUTH_H
#define LNK_DOMAIN_AUTH_H

#include <sys/types.h>
#include <stdint.h>

#include <bson/bson.h>

#include "domain/caller.h"

struct json;

/*
 * An HS256 access token, not expired, naming a user who exists and is
 * active: 200 with the caller filled (and *exp, in seconds, when exp is
 * not NULL), 401 "Unauthorized", 503 when the database cannot say. The
 * REST guard and the socket's CONNECT both ask here.
 */
int	auth_caller(const char *, struct dom_caller *, int64_t *, char *,
	    size_t);
/*
 * The same on the worker's loop, from the memo only: AUTH_SLOW when the
 * user is not in it (then auth_caller() on a task).
 */
#define AUTH_SLOW	1
int	auth_caller_quick(const char *, struct dom_caller *, char *, size_t);

/*
 * POST /api/auth/refresh-token: a refresh token for a new pair. 200 with
 * {accessToken, access_token, refreshToken, expiresIn, user} in out; 401
 * "Invalid refresh token" for a bad, used or revoked one.
 */
int	auth_refresh(const char *, struct json *, char *, size_t);

/*
 * The pair for user (a users document): writes {message?, accessToken,
 * access_token, refreshToken, expiresIn, user} into out and stores the
 * refresh token's hash. A login (old_hash NULL) starts a family; a
 * refresh rotates old_hash in fam. 200, or the error.
 */
int	auth_issue(const bson_t *, const char *, const char *, const char *,
	    struct json *, char *, size_t);

#endif
