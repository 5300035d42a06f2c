/*
 * Redis from task threads: one synchronous hiredis connection per thread
 * with short timeouts. Redis is optional: when it is down, commands fail
 * fast (and are retried at most once a second per thread), rate limits
 * are counted by each worker on its own, and the caller reports
 * "degraded". The event-loop side (pub/sub for the bus) lives in
 * src/cache/async.c.
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
	int		checked;	/* counted (in Redis, or locally) */
	int		local;		/* counted by this worker alone */
};

/*
 * Several commands in one round trip: begin, add commands, then read
 * the replies in order (each freed by the caller), then end. When Redis
 * is away begin returns -1; the pipe is then a failed one (commands go
 * nowhere, every reply is NULL), which the *_queue / *_collect halves
 * below (and in heads.h, conv_lock.h) treat as Redis away, so that one
 * batch can put several modules' commands in one round trip.
 */
struct cache_pipe {
	redisContext	*c;
	size_t		sent;
	size_t		read;
	int		failed;
};

void		cache_init(void);
redisReply	*cache_command(const char *, ...);
redisReply	*cache_command_argv(int, const char **, const size_t *);
int		cache_ping(int64_t *);
int		cache_pipe_begin(struct cache_pipe *);
void		cache_pipe_cmd(struct cache_pipe *, const char *, ...);
void		cache_pipe_argv(struct cache_pipe *, int, const char **,
		    const size_t *);
redisReply	*cache_pipe_reply(struct cache_pipe *);
void		cache_pipe_end(struct cache_pipe *);
/*
 * Counts a hit on bucket:id in a fixed window and says whether it is over
 * the limit. Redis counts for the whole deployment; while it is away each
 * worker counts alone (rl->local), in memory its task threads share, so
 * a limit then holds per worker: up to workers x limit per node (and per
 * node). Returns 0 when counted, -1 when not (nothing to count).
 */
int		cache_ratelimit(const char *, const char *, u_int32_t,
		    u_int32_t, struct ratelimit *);
/* The same for n ids in one round trip. */
int		cache_ratelimit_many(const char *, const char **, size_t,
		    u_int32_t, u_int32_t, struct ratelimit *);
/*
 * The same in halves, on a pipe shared with other commands: queue, then
 * (after the replies queued before it are read) collect.
 */
void		cache_ratelimit_queue(struct cache_pipe *, const char *,
		    const char **, size_t, u_int32_t);
int		cache_ratelimit_collect(struct cache_pipe *, const char *,
		    const char **, size_t, u_int32_t, u_int32_t,
		    struct ratelimit *);
/* Takes back a hit counted by cache_ratelimit() (where it was counted). */
void		cache_ratelimit_refund(const char *, const char *,
		    const struct ratelimit *);

#endif
