/*
 * Synchronous Redis for task threads (see redis.h).
 */

#include <sys/types.h>
#include <sys/time.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <hiredis.h>

#include "app/app.h"
#include "app/config.h"
#include "cache/redis.h"

#define CACHE_TIMEOUT_MS	300
#define CACHE_RETRY_MS		1000

static redisContext	*cache_conn(void);
static void		cache_drop(void);

static __thread redisContext	*tl_redis;
static __thread int64_t		tl_next_try;

/*
 * A fixed window counter: INCR, and start the window on the first hit.
 * One round trip, atomic on the server.
 */
static const char *ratelimit_lua =
    "local c = redis.call('INCR', KEYS[1]) "
    "if c == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end "
    "local t = redis.call('TTL', KEYS[1]) "
    "if t < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) t = tonumber(ARGV[1]) end "
    "return {c, t}";

void
cache_init(void)
{
	tl_redis = NULL;
	tl_next_try = 0;
}

redisReply *
cache_command(const char *fmt, ...)
{
	redisContext	*c;
	redisReply	*r;
	va_list		ap;

	if ((c = cache_conn()) == NULL)
		return (NULL);

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);

	if (r == NULL)
		cache_drop();

	return (r);
}

redisReply *
cache_command_argv(int argc, const char **argv, const size_t *lens)
{
	redisContext	*c;
	redisReply	*r;

	if ((c = cache_conn()) == NULL)
		return (NULL);

	if ((r = redisCommandArgv(c, argc, argv, lens)) == NULL)
		cache_drop();

	return (r);
}

int
cache_pipe_begin(struct cache_pipe *p)
{
	memset(p, 0, sizeof(*p));
	if ((p->c = cache_conn()) == NULL)
		return (-1);

	return (0);
}

void
cache_pipe_cmd(struct cache_pipe *p, const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	if (!p->failed && redisvAppendCommand(p->c, fmt, ap) == REDIS_OK)
		p->sent++;
	else
		p->failed = 1;
	va_end(ap);
}

void
cache_pipe_argv(struct cache_pipe *p, int argc, const char **argv,
    const size_t *lens)
{
	if (!p->failed &&
	    redisAppendCommandArgv(p->c, argc, argv, lens) == REDIS_OK)
		p->sent++;
	else
		p->failed = 1;
}

redisReply *
cache_pipe_reply(struct cache_pipe *p)
{
	void		*r;

	if (p->failed || p->read >= p->sent)
		return (NULL);
	if (redisGetReply(p->c, &r) != REDIS_OK) {
		p->failed = 1;
		return (NULL);
	}
	p->read++;

	return (r);
}

void
cache_pipe_end(struct cache_pipe *p)
{
	redisReply	*r;

	while (!p->failed && p->read < p->sent) {
		if ((r = cache_pipe_reply(p)) != NULL)
			freeReplyObject(r);
	}
	/* A broken pipeline leaves the connection in an unknown state. */
	if (p->failed && p->c != NULL && p->c == tl_redis)
		cache_drop();
	p->c = NULL;
}

int
cache_ping(int64_t *ms)
{
	redisReply	*r;
	int64_t		start;
	int		ok;

	start = app_now_ms();
	/*
	 * A health check should see a recovered Redis at once. A connection
	 * made before Redis restarted fails on first use (and is dropped):
	 * then try once more on a fresh one.
	 */
	tl_next_try = 0;
	if ((r = cache_command("PING")) == NULL) {
		tl_next_try = 0;
		r = cache_command("PING");
	}
	*ms = app_now_ms() - start;

	ok = r != NULL && r->type == REDIS_REPLY_STATUS &&
	    !strcmp(r->str, "PONG");
	if (r != NULL)
		freeReplyObject(r);

	return (ok ? 0 : -1);
}

int
cache_ratelimit(const char *bucket, const char *id, u_int32_t limit,
    u_int32_t window, struct ratelimit *rl)
{
	return (cache_ratelimit_many(bucket, &id, 1, limit, window, rl));
}

int
cache_ratelimit_many(const char *bucket, const char **ids, size_t n,
    u_int32_t limit, u_int32_t window, struct ratelimit *rl)
{
	struct cache_pipe	p;
	redisReply		*r;
	char			key[160];
	long long		count, ttl;
	int64_t			now;
	size_t			i;
	int			ret;

	now = app_now_ms() / 1000;
	for (i = 0; i < n; i++) {
		memset(&rl[i], 0, sizeof(rl[i]));
		rl[i].limit = limit;
		rl[i].remaining = limit;
		rl[i].reset = now + window;
	}

	/* Fail open: a Redis outage must not stop people from chatting. */
	if (n == 0 || cache_pipe_begin(&p) == -1)
		return (-1);
	for (i = 0; i < n; i++) {
		(void)snprintf(key, sizeof(key), "ratelimit:%s:%s", bucket,
		    ids[i]);
		cache_pipe_cmd(&p, "EVAL %s 1 %s %u", ratelimit_lua, key,
		    window);
	}

	ret = 0;
	for (i = 0; i < n; i++) {
		if ((r = cache_pipe_reply(&p)) == NULL) {
			ret = -1;
			break;
		}
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_INTEGER ||
		    r->element[1]->type != REDIS_REPLY_INTEGER) {
			freeReplyObject(r);
			ret = -1;
			continue;
		}
		count = r->element[0]->integer;
		ttl = r->element[1]->integer;
		freeReplyObject(r);

		rl[i].checked = 1;
		rl[i].reset = now + ttl;
		if (count > (long long)limit) {
			rl[i].exceeded = 1;
			rl[i].remaining = 0;
			rl[i].retry_after = ttl > 0 ? (u_int32_t)ttl : 1;
		} else {
			rl[i].remaining = limit - (u_int32_t)count;
		}
	}
	cache_pipe_end(&p);

	return (ret);
}

static redisContext *
cache_conn(void)
{
	struct timeval	tv;
	redisReply	*r;
	int64_t		now;

	if (tl_redis != NULL)
		return (tl_redis);

	now = app_now_ms();
	if (now < tl_next_try)
		return (NULL);
	tl_next_try = now + CACHE_RETRY_MS;

	tv.tv_sec = 0;
	tv.tv_usec = CACHE_TIMEOUT_MS * 1000;

	tl_redis = redisConnectWithTimeout(cfg.redis_host, cfg.redis_port, tv);
	if (tl_redis == NULL || tl_redis->err) {
		cache_drop();
		return (NULL);
	}
	(void)redisSetTimeout(tl_redis, tv);

	if (cfg.redis_password[0] != '\0') {
		r = redisCommand(tl_redis, "AUTH %s", cfg.redis_password);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			app_log("redis: AUTH failed");
			if (r != NULL)
				freeReplyObject(r);
			cache_drop();
			return (NULL);
		}
		freeReplyObject(r);
	}

	return (tl_redis);
}

static void
cache_drop(void)
{
	if (tl_redis != NULL)
		redisFree(tl_redis);
	tl_redis = NULL;
}
