/*
 * Rate limits of the REST routes that are not messages' (those are
 * msg_ratelimit, message_service.h). rl is filled for the answer's
 * X-RateLimit-* headers when rl->checked (without Redis each worker
 * counts alone: cache/redis.h).
 */

#ifndef LNK_DOMAIN_LIMITS_H
#define LNK_DOMAIN_LIMITS_H

#include "cache/redis.h"
#include "domain/caller.h"

/* One upload against RATE_LIMIT_UPLOADS: 429 over it, else 200. */
int	limits_upload(const struct dom_caller *, struct ratelimit *);

#endif
