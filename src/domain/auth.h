/*
 * Tokens: who an access token belongs to. See domain.h for the
 * conventions: every function here runs on a task thread and returns
 * an HTTP-like status with err.
 */

#ifndef LNK_DOMAIN_AUTH_H
#define LNK_DOMAIN_AUTH_H

#include <sys/types.h>
#include <stdint.h>

#include "domain/caller.h"

/*
 * An HS256 access token, not expired, naming a user who exists and is
 * active: 200 with the caller filled (and *exp, in seconds, when exp is
 * not NULL), 401 "Unauthorized", 503 when the database cannot say. The
 * REST guard and the socket's CONNECT both ask here.
 */
int	auth_caller(const char *, struct dom_caller *, int64_t *, char *,
	    size_t);

#endif
