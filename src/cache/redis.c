/*
 * Synchronous Redis for task threads (see redis.h).
 */

#include <sys/types.h>
#include <sys/time.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <hiredis.h>
#include <sodium.h>

#include "cache/redis.h"
#include "core/config.h"
#include "core/core.h"

#define CACHE_TIMEOUT_MS	300
#define CACHE_RETRY_MS		1000

/*
 * The limiter of a worker while Redis is away: fixed windows in a table
 * of hashed keys (siphash with a per-process key, so nobody can pick
 * keys that collide). A key lives in one of LOCAL_PROBE slots; when all
 * are live the one whose window ends first is dropped, so a flood of
 * distinct keys can forget an old counter: one more approximation.
 */
#define LOCAL_SLOTS		16384		/* a power of two */
#define LOCAL_PROBE		8
#define RATELIMIT_KEY_MAX	600

struct local_slot {
	u_int64_t	key;		/* 0: free */
	int64_t		expires;	/* epoch seconds */
	u_int32_t	count;
};

static redisContext	*cache_conn(void);
static void		cache_drop(void);
static void		ratelimit_key(char *, const char *, const char *);
static void		ratelimit_set(struct ratelimit *, long long, long long,
			    int64_t);
static void		local_hit(const char *, u_int32_t, int64_t,
			    struct ratelimit *);
static void		local_refund(const char *, int64_t);
static struct local_slot	*local_slot(const char *, int64_t, int);
static void		local_seed(void);

static __thread redisContext	*tl_redis;
static __thread int64_t		tl_next_try;

static struct local_slot	local_slots[LOCAL_SLOTS];
static pthread_mutex_t		local_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t		local_once = PTHREAD_ONCE_INIT;
static u_int8_t			local_hashkey[crypto_shorthash_KEYBYTES];

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

/* A refund never takes a counter below zero or revives an expired one. */
static const char *refund_lua =
    "local c = tonumber(redis.call('GET', KEYS[1]) or '0') "
    "if c > 0 then return redis.call('DECR', KEYS[1]) end "
    "return 0";

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
	if ((p->c = cache_conn()) == NULL) {
		p->failed = 1;
		return (-1);
	}

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

	start = core_now_ms();
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
	*ms = core_now_ms() - start;

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
	int			ret;

	(void)cache_pipe_begin(&p);
	cache_ratelimit_queue(&p, bucket, ids, n, window);
	ret = cache_ratelimit_collect(&p, bucket, ids, n, limit, window, rl);
	cache_pipe_end(&p);

	return (ret);
}

void
cache_ratelimit_queue(struct cache_pipe *p, const char *bucket,
    const char **ids, size_t n, u_int32_t window)
{
	char		key[RATELIMIT_KEY_MAX];
	size_t		i;

	for (i = 0; i < n; i++) {
		ratelimit_key(key, bucket, ids[i]);
		cache_pipe_cmd(p, "EVAL %s 1 %s %u", ratelimit_lua, key,
		    window);
	}
}

int
cache_ratelimit_collect(struct cache_pipe *p, const char *bucket,
    const char **ids, size_t n, u_int32_t limit, u_int32_t window,
    struct ratelimit *rl)
{
	redisReply	*r;
	char		key[RATELIMIT_KEY_MAX];
	int64_t		now;
	size_t		i;

	if (n == 0)
		return (-1);

	now = core_now_ms() / 1000;
	for (i = 0; i < n; i++) {
		memset(&rl[i], 0, sizeof(rl[i]));
		rl[i].limit = limit;
		rl[i].remaining = limit;
		rl[i].reset = now + window;
	}

	for (i = 0; i < n; i++) {
		if ((r = cache_pipe_reply(p)) == NULL)
			break;
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[0]->type == REDIS_REPLY_INTEGER &&
		    r->element[1]->type == REDIS_REPLY_INTEGER) {
			ratelimit_set(&rl[i], r->element[0]->integer,
			    r->element[1]->integer, now);
		}
		freeReplyObject(r);
	}

	/*
	 * A Redis outage must neither stop people from chatting nor lift
	 * every limit: what Redis does not count, this worker does.
	 */
	for (i = 0; i < n; i++) {
		if (!rl[i].checked) {
			ratelimit_key(key, bucket, ids[i]);
			local_hit(key, window, now, &rl[i]);
		}
	}

	return (0);
}

void
cache_ratelimit_refund(const char *bucket, const char *id,
    const struct ratelimit *rl)
{
	redisReply	*r;
	char		key[RATELIMIT_KEY_MAX];

	if (!rl->checked)
		return;

	ratelimit_key(key, bucket, id);
	if (rl->local) {
		local_refund(key, core_now_ms() / 1000);
		return;
	}

	if ((r = cache_command("EVAL %s 1 %s", refund_lua, key)) != NULL)
		freeReplyObject(r);
}

static void
ratelimit_key(char *key, const char *bucket, const char *id)
{
	(void)snprintf(key, RATELIMIT_KEY_MAX, "ratelimit:%s:%s", bucket, id);
}

static void
ratelimit_set(struct ratelimit *rl, long long count, long long ttl,
    int64_t now)
{
	rl->checked = 1;
	rl->reset = now + ttl;
	if (count > (long long)rl->limit) {
		rl->exceeded = 1;
		rl->remaining = 0;
		rl->retry_after = ttl > 0 ? (u_int32_t)ttl : 1;
	} else {
		rl->remaining = rl->limit - (u_int32_t)count;
	}
}

static void
local_hit(const char *key, u_int32_t window, int64_t now,
    struct ratelimit *rl)
{
	struct local_slot	*s;
	long long		count, ttl;

	(void)pthread_mutex_lock(&local_lock);
	s = local_slot(key, now, 1);
	if (s->expires <= now) {
		s->expires = now + window;
		s->count = 0;
	}
	if (s->count < UINT32_MAX)
		s->count++;
	count = s->count;
	ttl = s->expires - now;
	(void)pthread_mutex_unlock(&local_lock);

	ratelimit_set(rl, count, ttl, now);
	rl->local = 1;
}

static void
local_refund(const char *key, int64_t now)
{
	struct local_slot	*s;

	(void)pthread_mutex_lock(&local_lock);
	if ((s = local_slot(key, now, 0)) != NULL && s->expires > now &&
	    s->count > 0)
		s->count--;
	(void)pthread_mutex_unlock(&local_lock);
}

/*
 * The slot of key, under local_lock. With create, a missing key takes a
 * free or expired slot of its probe run, else the one ending soonest.
 */
static struct local_slot *
local_slot(const char *key, int64_t now, int create)
{
	struct local_slot	*s, *victim;
	u_int64_t		h;
	size_t			i, at;

	(void)pthread_once(&local_once, local_seed);
	crypto_shorthash((u_int8_t *)&h, (const u_int8_t *)key, strlen(key),
	    local_hashkey);
	if (h == 0)
		h = 1;

	victim = NULL;
	at = (size_t)h & (LOCAL_SLOTS - 1);
	for (i = 0; i < LOCAL_PROBE; i++) {
		s = &local_slots[(at + i) & (LOCAL_SLOTS - 1)];
		if (s->key == h)
			return (s);
		if (victim == NULL || (victim->key != 0 &&
		    victim->expires > now &&
		    (s->key == 0 || s->expires <= now ||
		    s->expires < victim->expires)))
			victim = s;
	}
	if (!create)
		return (NULL);

	victim->key = h;
	victim->expires = 0;
	victim->count = 0;
	return (victim);
}

static void
local_seed(void)
{
	crypto_shorthash_keygen(local_hashkey);
}

static redisContext *
cache_conn(void)
{
	struct timeval	tv;
	redisReply	*r;
	int64_t		now;

	if (tl_redis != NULL)
		return (tl_redis);

	now = core_now_ms();
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
			core_log("redis: AUTH failed");
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
