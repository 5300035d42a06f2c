/*
 * Rate limits (see limits.h).
 */

#include <sys/types.h>

#include "core/config.h"
#include "domain/limits.h"

int
limits_upload(const struct dom_caller *u, struct ratelimit *rl)
{
	if (cache_ratelimit("upload", u->id, cfg.rate_limit_uploads,
	    cfg.rate_limit_window, rl) == 0 && rl->exceeded)
		return (429);

	return (200);
}
