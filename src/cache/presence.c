/*
 * Presence and typing keys (see presence.h). The Lua scripts keep each
 * transition to one round trip and make it atomic across nodes.
 * Key names of the original service are kept as well (user:<id>:online,
 * user:<id>:last_seen, typing:<conv>:<user>) for tools that read them.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis.h>

#include "cache/presence.h"
#include "cache/redis.h"

static int	presence_script(const char *, const char *, const char *,
		    int64_t, int);

/*
 * KEYS[1] presence:<uid>  KEYS[2] user:<uid>:online  KEYS[3] last_seen
 * ARGV[1] socket id  ARGV[2] now (ms)  ARGV[3] ttl (s)
 * Returns 1 when this socket is the user's first live one; 0 also for a
 * socket already gone (see disconnect_lua).
 */
static const char *connect_lua =
    "if redis.call('EXISTS', 'presence:gone:' .. ARGV[1]) == 1 then "
    "  return 0 "
    "end "
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2]) "
    "local before = redis.call('ZCARD', KEYS[1]) "
    "redis.call('ZADD', KEYS[1], ARGV[2] + ARGV[3] * 1000, ARGV[1]) "
    "redis.call('EXPIRE', KEYS[1], ARGV[3] * 2) "
    "redis.call('SET', KEYS[2], 'true', 'EX', ARGV[3]) "
    "redis.call('SET', KEYS[3], ARGV[2]) "
    "if before == 0 then return 1 end return 0";

/*
 * Returns 1 when this socket was the user's last live one. Jobs run on
 * any task thread, so a socket's disconnect can overtake its connect: the
 * tombstone makes that late connect a no-op instead of a ghost entry.
 */
static const char *disconnect_lua =
    "if ARGV[4] == '1' then "
    "  redis.call('SET', 'presence:gone:' .. ARGV[1], 1, 'EX', ARGV[3] * 2) "
    "end "
    "local had = redis.call('ZREM', KEYS[1], ARGV[1]) "
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2]) "
    "redis.call('SET', KEYS[3], ARGV[2]) "
    "if redis.call('ZCARD', KEYS[1]) == 0 then "
    "  redis.call('DEL', KEYS[1], KEYS[2]) "
    "  if had == 1 then return 1 end "
    "end return 0";

/* Extends this socket's entry; re-adds it if it had expired. */
static const char *refresh_lua =
    "if redis.call('EXISTS', 'presence:gone:' .. ARGV[1]) == 1 then "
    "  return 0 "
    "end "
    "redis.call('ZADD', KEYS[1], ARGV[2] + ARGV[3] * 1000, ARGV[1]) "
    "redis.call('EXPIRE', KEYS[1], ARGV[3] * 2) "
    "redis.call('SET', KEYS[2], 'true', 'EX', ARGV[3]) "
    "return 0";

int
presence_connect(const char *uid, const char *sid, int64_t now)
{
	return (presence_script(connect_lua, uid, sid, now, 0));
}

/* closed: the socket is gone for good (not just marked offline). */
int
presence_disconnect(const char *uid, const char *sid, int64_t now,
    int closed)
{
	return (presence_script(disconnect_lua, uid, sid, now, closed));
}

int
presence_refresh(const char *uid, const char *sid, int64_t now)
{
	return (presence_script(refresh_lua, uid, sid, now, 0));
}

int
presence_get(const char *uid, int64_t *last_seen)
{
	redisReply	*r;
	char		key[96];
	int		online;

	*last_seen = 0;
	(void)snprintf(key, sizeof(key), "presence:%s", uid);

	/* An entry only counts while its score (expiry) is in the future. */
	r = cache_command("EVAL %s 2 %s user:%s:last_seen",
	    "local n = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf') "
	    "return {n, redis.call('GET', KEYS[2])}", key, uid);
	if (r == NULL)
		return (-1);

	online = -1;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_INTEGER) {
		online = r->element[0]->integer > 0;
		if (r->element[1]->type == REDIS_REPLY_STRING)
			*last_seen = strtoll(r->element[1]->str, NULL, 10);
	}

	freeReplyObject(r);
	return (online);
}

int
typing_start(const char *conv, const char *uid)
{
	redisReply	*r;
	int		ok;

	r = cache_command("SETEX typing:%s:%s %d true", conv, uid, TYPING_TTL);
	ok = r != NULL && r->type == REDIS_REPLY_STATUS;
	if (r != NULL)
		freeReplyObject(r);

	return (ok ? 0 : -1);
}

int
typing_stop(const char *conv, const char *uid)
{
	redisReply	*r;
	int		ok;

	r = cache_command("DEL typing:%s:%s", conv, uid);
	ok = r != NULL && r->type == REDIS_REPLY_INTEGER;
	if (r != NULL)
		freeReplyObject(r);

	return (ok ? 0 : -1);
}

static int
presence_script(const char *lua, const char *uid, const char *sid,
    int64_t now, int flag)
{
	redisReply	*r;
	char		k1[96], k2[96], k3[96];
	int		ret;

	(void)snprintf(k1, sizeof(k1), "presence:%s", uid);
	(void)snprintf(k2, sizeof(k2), "user:%s:online", uid);
	(void)snprintf(k3, sizeof(k3), "user:%s:last_seen", uid);

	r = cache_command("EVAL %s 3 %s %s %s %s %lld %d %d", lua, k1, k2, k3,
	    sid, (long long)now, PRESENCE_TTL, flag);
	if (r == NULL)
		return (-1);

	ret = -1;
	if (r->type == REDIS_REPLY_INTEGER)
		ret = (int)r->integer;

	freeReplyObject(r);
	return (ret);
}
