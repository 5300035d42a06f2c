/*
 * Presence and typing keys (see presence.h). The Lua scripts keep each
 * transition to one round trip and make it atomic across nodes.
 * Key names of the original service are kept as well (user:<id>:online,
 * user:<id>:last_seen, typing:<conv>:<user>) for tools that read them.
 *
 * Entries past their expiry still count until the sweep (or a close of
 * that user's socket) removes them: whoever removes the last one is the
 * one who announces the user offline. A connect or a refresh that finds
 * presence:<uid> empty announces the user online.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis.h>

#include "cache/presence.h"
#include "cache/redis.h"

#define EXPIRY_KEY		"presence:expiry"
/* Sockets renewed per EVAL: the keys of 64 sockets fit one script call. */
#define REFRESH_BATCH		64
#define KEY_LEN			96
#define SID_MAX			32

struct user_keys {
	char	online_set[KEY_LEN];	/* presence:<uid> */
	char	all_set[KEY_LEN];	/* sockets:<uid> */
	char	online[KEY_LEN];	/* user:<uid>:online */
	char	last_seen[KEY_LEN];	/* user:<uid>:last_seen */
};

struct sweep_item {
	char	uid[25];
	char	sid[SID_MAX];
};

static void	user_keys(struct user_keys *, const char *);
static int	presence_script(const char *, const char *, const char *,
		    int64_t, long long);
static int	refresh_batch(struct cache_pipe *, struct presence_entry *,
		    size_t, int64_t);
static int	sweep_parse(const char *, size_t, struct sweep_item *);
static int	sweep_cmp(const void *, const void *);
static void	sweep_user(struct cache_pipe *, const struct sweep_item *,
		    size_t, int64_t);

/*
 * KEYS[1] presence:<uid>  KEYS[2] sockets:<uid>  KEYS[3] user:<uid>:online
 * KEYS[4] last_seen  KEYS[5] presence:expiry
 * ARGV[1] socket id  ARGV[2] now (ms)  ARGV[3] ttl (s)  ARGV[4] uid
 * ARGV[5] cap (0: none)
 * A connect (cap set) or a socket back from away. -2 when the user has
 * cap live sockets; 0 for a socket already gone (see offline_lua).
 */
static const char *connect_lua =
    "if redis.call('EXISTS', 'presence:gone:' .. ARGV[1]) == 1 then "
    "  return 0 "
    "end "
    "local exp = ARGV[2] + ARGV[3] * 1000 "
    "if ARGV[5] ~= '0' then "
    "  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2]) "
    "  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) and "
    "      not redis.call('ZSCORE', KEYS[2], ARGV[1]) then "
    "    return -2 "
    "  end "
    "end "
    "redis.call('DEL', 'presence:away:' .. ARGV[1]) "
    "redis.call('ZADD', KEYS[2], exp, ARGV[1]) "
    "redis.call('EXPIRE', KEYS[2], ARGV[3] * 2) "
    "redis.call('ZADD', KEYS[5], exp, ARGV[4] .. ':' .. ARGV[1]) "
    "local before = redis.call('ZCARD', KEYS[1]) "
    "redis.call('ZADD', KEYS[1], exp, ARGV[1]) "
    "redis.call('EXPIRE', KEYS[1], ARGV[3] * 2) "
    "redis.call('SET', KEYS[3], 'true', 'EX', ARGV[3]) "
    "redis.call('SET', KEYS[4], ARGV[2]) "
    "if before == 0 then return 1 end return 0";

/*
 * The same keys; ARGV[5] '1' when the socket closed, else it is away.
 * Jobs run on any task thread, so a socket's close can overtake its
 * return from away, and its away a refresh taken while it was online:
 * the tombstone and the away mark make those late ones no-ops.
 */
static const char *offline_lua =
    "if ARGV[5] == '1' then "
    "  redis.call('SET', 'presence:gone:' .. ARGV[1], 1, 'EX', ARGV[3] * 2) "
    "  redis.call('ZREM', KEYS[2], ARGV[1]) "
    "  redis.call('ZREM', KEYS[5], ARGV[4] .. ':' .. ARGV[1]) "
    "else "
    "  redis.call('SET', 'presence:away:' .. ARGV[1], 1, 'EX', ARGV[3] * 2) "
    "end "
    "redis.call('SET', KEYS[4], ARGV[2]) "
    "if redis.call('ZCARD', KEYS[1]) == 0 then return 0 end "
    "redis.call('ZREM', KEYS[1], ARGV[1]) "
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2]) "
    "if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end "
    "redis.call('DEL', KEYS[1], KEYS[3]) "
    "return 1";

/*
 * KEYS[1] presence:expiry, then per socket presence:<uid>, sockets:<uid>,
 * user:<uid>:online. ARGV[1] now, ARGV[2] ttl, then per socket uid, sid,
 * '1' if online. Returns per socket 1 where it made its user online.
 */
static const char *refresh_lua =
    "local exp = ARGV[1] + ARGV[2] * 1000 "
    "local out = {} "
    "for i = 0, (#KEYS - 1) / 3 - 1 do "
    "  local p, s, on = KEYS[2 + 3 * i], KEYS[3 + 3 * i], KEYS[4 + 3 * i] "
    "  local uid, sid = ARGV[3 + 3 * i], ARGV[4 + 3 * i] "
    "  out[i + 1] = 0 "
    "  if redis.call('EXISTS', 'presence:gone:' .. sid) == 0 then "
    "    redis.call('ZADD', s, exp, sid) "
    "    redis.call('EXPIRE', s, ARGV[2] * 2) "
    "    redis.call('ZADD', KEYS[1], exp, uid .. ':' .. sid) "
    "    if ARGV[5 + 3 * i] == '1' and "
    "        redis.call('EXISTS', 'presence:away:' .. sid) == 0 then "
    "      if redis.call('ZCARD', p) == 0 then out[i + 1] = 1 end "
    "      redis.call('ZADD', p, exp, sid) "
    "      redis.call('EXPIRE', p, ARGV[2] * 2) "
    "      redis.call('SET', on, 'true', 'EX', ARGV[2]) "
    "    end "
    "  end "
    "end "
    "return out";

/*
 * The keys of connect_lua; ARGV[1] now, ARGV[2] ttl, ARGV[3] uid, then
 * the user's socket ids listed as expired in presence:expiry (a refresh
 * may have renewed one since: its score decides). Returns the last
 * refresh (ms) when this call removed the user's last online entry.
 */
static const char *sweep_lua =
    "local now = tonumber(ARGV[1]) "
    "for i = 4, #ARGV do "
    "  local m = ARGV[3] .. ':' .. ARGV[i] "
    "  local t = redis.call('ZSCORE', KEYS[5], m) "
    "  if t and tonumber(t) <= now then redis.call('ZREM', KEYS[5], m) end "
    "end "
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) "
    "local before = redis.call('ZCARD', KEYS[1]) "
    "if before == 0 then return 0 end "
    "local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, "
    "    'WITHSCORES') "
    "if #dead == 0 then return 0 end "
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) "
    "if #dead / 2 < before then return 0 end "
    "local last = 0 "
    "for i = 2, #dead, 2 do "
    "  if tonumber(dead[i]) > last then last = tonumber(dead[i]) end "
    "end "
    "last = last - ARGV[2] * 1000 "
    "redis.call('DEL', KEYS[1], KEYS[3]) "
    "redis.call('SET', KEYS[4], string.format('%.0f', last)) "
    "if last < 1 then last = 1 end "
    "return last";

int
presence_connect(const char *uid, const char *sid, int64_t now, u_int32_t cap)
{
	return (presence_script(connect_lua, uid, sid, now, cap));
}

/* closed: the socket is gone for good (not just marked away). */
int
presence_disconnect(const char *uid, const char *sid, int64_t now,
    int closed)
{
	return (presence_script(offline_lua, uid, sid, now, closed));
}

int
presence_refresh(struct presence_entry *v, size_t n, int64_t now)
{
	struct cache_pipe	p;
	redisReply		*r;
	size_t			i, k, off;
	int			ret;

	for (i = 0; i < n; i++)
		v[i].changed = 0;
	if (n == 0)
		return (0);
	if (cache_pipe_begin(&p) == -1)
		return (PRESENCE_DOWN);

	for (off = 0; off < n; off += REFRESH_BATCH) {
		k = n - off < REFRESH_BATCH ? n - off : REFRESH_BATCH;
		if (refresh_batch(&p, v + off, k, now) == -1)
			break;
	}

	ret = 0;
	for (off = 0; off < n && ret == 0; off += REFRESH_BATCH) {
		k = n - off < REFRESH_BATCH ? n - off : REFRESH_BATCH;
		if ((r = cache_pipe_reply(&p)) == NULL) {
			ret = PRESENCE_DOWN;
			break;
		}
		if (r->type == REDIS_REPLY_ARRAY && r->elements == k) {
			for (i = 0; i < k; i++) {
				v[off + i].changed =
				    r->element[i]->type == REDIS_REPLY_INTEGER &&
				    r->element[i]->integer == 1;
			}
		} else {
			ret = PRESENCE_DOWN;
		}
		freeReplyObject(r);
	}
	cache_pipe_end(&p);

	return (ret);
}

int
presence_sweep(int64_t now, struct presence_gone *gone, int *more)
{
	struct cache_pipe	p;
	struct sweep_item	*items;
	redisReply		*r, *e;
	size_t			i, j, n, users, damaged;
	int			count;

	*more = 0;
	r = cache_command("ZRANGEBYSCORE " EXPIRY_KEY " -inf %lld LIMIT 0 %d",
	    (long long)now, PRESENCE_SWEEP_MAX);
	if (r == NULL)
		return (PRESENCE_DOWN);
	if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
		freeReplyObject(r);
		return (0);
	}
	*more = r->elements >= PRESENCE_SWEEP_MAX;

	if ((items = calloc(r->elements, sizeof(*items))) == NULL ||
	    cache_pipe_begin(&p) == -1) {
		free(items);
		freeReplyObject(r);
		return (PRESENCE_DOWN);
	}

	/* Not ours, or damaged: dropped, or it would head the list forever. */
	n = damaged = 0;
	for (i = 0; i < r->elements; i++) {
		e = r->element[i];
		if (e->type != REDIS_REPLY_STRING)
			continue;
		if (sweep_parse(e->str, e->len, &items[n]) == 0) {
			n++;
		} else {
			cache_pipe_cmd(&p, "ZREM " EXPIRY_KEY " %b", e->str,
			    e->len);
			damaged++;
		}
	}
	freeReplyObject(r);

	/* One script per user, over all of its listed sockets. */
	qsort(items, n, sizeof(*items), sweep_cmp);
	users = 0;
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && !strcmp(items[j].uid, items[i].uid);
		    j++)
			;
		sweep_user(&p, &items[i], j - i, now);
		items[users++] = items[i];
	}

	count = 0;
	for (i = 0; i < damaged + users; i++) {
		if ((r = cache_pipe_reply(&p)) == NULL) {
			count = PRESENCE_DOWN;
			break;
		}
		if (i >= damaged && r->type == REDIS_REPLY_INTEGER &&
		    r->integer > 0) {
			memcpy(gone[count].uid, items[i - damaged].uid,
			    sizeof(gone[count].uid));
			gone[count].last_seen = r->integer;
			count++;
		}
		freeReplyObject(r);
	}
	cache_pipe_end(&p);
	free(items);

	return (count);
}

static void
user_keys(struct user_keys *k, const char *uid)
{
	(void)snprintf(k->online_set, sizeof(k->online_set), "presence:%s",
	    uid);
	(void)snprintf(k->all_set, sizeof(k->all_set), "sockets:%s", uid);
	(void)snprintf(k->online, sizeof(k->online), "user:%s:online", uid);
	(void)snprintf(k->last_seen, sizeof(k->last_seen),
	    "user:%s:last_seen", uid);
}

static int
presence_script(const char *lua, const char *uid, const char *sid,
    int64_t now, long long arg)
{
	struct user_keys	k;
	redisReply		*r;
	int			ret;

	user_keys(&k, uid);
	r = cache_command("EVAL %s 5 %s %s %s %s " EXPIRY_KEY " %s %lld %d "
	    "%s %lld", lua, k.online_set, k.all_set, k.online, k.last_seen,
	    sid, (long long)now, PRESENCE_TTL, uid, arg);
	if (r == NULL)
		return (PRESENCE_DOWN);

	ret = PRESENCE_DOWN;
	if (r->type == REDIS_REPLY_INTEGER)
		ret = (int)r->integer;

	freeReplyObject(r);
	return (ret);
}

/* One EVAL of refresh_lua for n (at most REFRESH_BATCH) sockets. */
static int
refresh_batch(struct cache_pipe *p, struct presence_entry *v, size_t n,
    int64_t now)
{
	struct user_keys	*keys;
	const char		*argv[6 + 6 * REFRESH_BATCH];
	size_t			lens[6 + 6 * REFRESH_BATCH];
	char			numkeys[16], snow[24], sttl[16];
	size_t			i, argc;

	if ((keys = calloc(n, sizeof(*keys))) == NULL)
		return (-1);

	(void)snprintf(numkeys, sizeof(numkeys), "%zu", 1 + 3 * n);
	(void)snprintf(snow, sizeof(snow), "%lld", (long long)now);
	(void)snprintf(sttl, sizeof(sttl), "%d", PRESENCE_TTL);

	argc = 0;
	argv[argc++] = "EVAL";
	argv[argc++] = refresh_lua;
	argv[argc++] = numkeys;
	argv[argc++] = EXPIRY_KEY;
	for (i = 0; i < n; i++) {
		user_keys(&keys[i], v[i].uid);
		argv[argc++] = keys[i].online_set;
		argv[argc++] = keys[i].all_set;
		argv[argc++] = keys[i].online;
	}
	argv[argc++] = snow;
	argv[argc++] = sttl;
	for (i = 0; i < n; i++) {
		argv[argc++] = v[i].uid;
		argv[argc++] = v[i].sid;
		argv[argc++] = v[i].online ? "1" : "0";
	}
	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);

	/* hiredis formats the command at once: the buffers may go. */
	cache_pipe_argv(p, (int)argc, argv, lens);
	free(keys);

	return (p->failed ? -1 : 0);
}

/* "<24 hex uid>:<sid>" */
static int
sweep_parse(const char *s, size_t len, struct sweep_item *it)
{
	size_t		i;

	if (len < 26 || len - 25 >= SID_MAX || s[24] != ':')
		return (-1);
	for (i = 0; i < 24; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (-1);
	}

	memcpy(it->uid, s, 24);
	it->uid[24] = '\0';
	memcpy(it->sid, s + 25, len - 25);
	it->sid[len - 25] = '\0';

	return (0);
}

static int
sweep_cmp(const void *a, const void *b)
{
	const struct sweep_item	*x = a, *y = b;

	return (strcmp(x->uid, y->uid));
}

/* One EVAL of sweep_lua for the n listed sockets of one user. */
static void
sweep_user(struct cache_pipe *p, const struct sweep_item *v, size_t n,
    int64_t now)
{
	const char		**argv;
	size_t			*lens, i, argc;
	struct user_keys	k;
	char			snow[24], sttl[16];

	argc = 3 + 5 + 3 + n;
	if ((argv = calloc(argc, sizeof(*argv))) == NULL ||
	    (lens = calloc(argc, sizeof(*lens))) == NULL) {
		free(argv);
		p->failed = 1;
		return;
	}

	user_keys(&k, v[0].uid);
	(void)snprintf(snow, sizeof(snow), "%lld", (long long)now);
	(void)snprintf(sttl, sizeof(sttl), "%d", PRESENCE_TTL);

	argc = 0;
	argv[argc++] = "EVAL";
	argv[argc++] = sweep_lua;
	argv[argc++] = "5";
	argv[argc++] = k.online_set;
	argv[argc++] = k.all_set;
	argv[argc++] = k.online;
	argv[argc++] = k.last_seen;
	argv[argc++] = EXPIRY_KEY;
	argv[argc++] = snow;
	argv[argc++] = sttl;
	argv[argc++] = v[0].uid;
	for (i = 0; i < n; i++)
		argv[argc++] = v[i].sid;
	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);

	cache_pipe_argv(p, (int)argc, argv, lens);
	free(argv);
	free(lens);
}
