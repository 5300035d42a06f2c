/*
 * Redis from task threads: one synchronous hiredis connection per thread
 * with short timeouts. Redis is optional: when it is down, commands fail
 * fast (and are retried at most once a second per thread), rate limits
 * fail open, and the caller reports "degraded". The event-loop side
 * (pub/sub for the bus) lives in src/cache/async.c.
 */

#ifndef LNK_CACHE_REDIS_H
#define LNK_CACHE_REDIS_H

#include <sys/types.h>
#include <stdint.h>

#include <hiredis.h>

struct ratelimit {
	u_int32_t	limit;
	u_int32_t	remaining;
	int64_t		reset;		/* epoch seconds */
	u_int32_t	retry_after;	/* seconds, when exceeded */
	int		exceeded;
	int		checked;	/* 0 when Redis was unavailable */
};

void		cache_init(void);
redisReply	*cache_command(const char *, ...);
redisReply	*cache_command_argv(int, const char **, const size_t *);
int		cache_ping(int64_t *);
int		cache_ratelimit(const char *, const char *, u_int32_t,
		    u_int32_t, struct ratelimit *);

#endif
