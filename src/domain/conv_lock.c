/*
 * Per-conversation write lock (see conv_lock.h).
 */

#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/redis.h"
#include "core/core.h"
#include "domain/conv_lock.h"

#define HELD_SLOTS	256
#define MANY_MAX	256

struct held {
	struct held	*next;
	bson_oid_t	id;
};

static void	lock_prepare(const bson_oid_t *, struct conv_lock *,
		    const char *);
static int	local_take(const bson_oid_t *, int64_t);
static void	local_give(const bson_oid_t *);
static int	local_held(const bson_oid_t *);
static int	remote_take(struct conv_lock *, int64_t);
static void	remote_take_queue(struct cache_pipe *, struct conv_lock *,
		    const int *, size_t);
static void	remote_take_collect(struct cache_pipe *, struct conv_lock *,
		    int *, size_t);
static void	remote_give(struct conv_lock **, size_t);
static void	lock_sleep(int64_t);

static pthread_mutex_t	table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	table_cond = PTHREAD_COND_INITIALIZER;
static struct held	*table[HELD_SLOTS];

static const char *take_lua =
    "local r = {} "
    "for i, k in ipairs(KEYS) do "
    "if redis.call('SET', k, ARGV[1], 'NX', 'PX', ARGV[2]) then "
    "r[i] = 1 else r[i] = 0 end end "
    "return r";

static const char *give_lua =
    "local n = 0 "
    "for i, k in ipairs(KEYS) do "
    "if redis.call('GET', k) == ARGV[1] then "
    "redis.call('DEL', k) n = n + 1 end end "
    "return n";

int
conv_lock(const bson_oid_t *conv, struct conv_lock *l)
{
	bson_oid_t	tok;
	char		hex[25];
	int64_t		deadline;

	/* One deadline for both parts: waiting in-process counts too. */
	deadline = core_now_ms() + CONV_LOCK_WAIT_MS;
	bson_oid_init(&tok, NULL);
	bson_oid_to_string(&tok, hex);
	lock_prepare(conv, l, hex);

	if (local_take(conv, deadline) == -1) {
		core_log("conv_lock: %s busy in this worker for %d ms", l->key,
		    CONV_LOCK_WAIT_MS);
		return (-1);
	}
	l->local = 1;

	if (remote_take(l, deadline) == -1) {
		core_log("conv_lock: %s still held after %d ms", l->key,
		    CONV_LOCK_WAIT_MS);
		local_give(conv);
		l->local = 0;
		return (-1);
	}

	return (0);
}

void
conv_unlock(struct conv_lock *l)
{
	int		got;

	got = 1;
	conv_unlock_many(l, &got, 1);
}

void
conv_trylock_many(const bson_oid_t *convs, struct conv_lock *v, int *got,
    size_t n)
{
	struct cache_pipe	p;

	(void)cache_pipe_begin(&p);
	conv_trylock_queue(&p, convs, v, got, n);
	conv_trylock_collect(&p, v, got, n);
	cache_pipe_end(&p);
}

/* In chunks of MANY_MAX keys, each one EVAL. */
void
conv_trylock_queue(struct cache_pipe *p, const bson_oid_t *convs,
    struct conv_lock *v, int *got, size_t n)
{
	bson_oid_t	tok;
	char		hex[25];
	size_t		i;

	bson_oid_init(&tok, NULL);
	bson_oid_to_string(&tok, hex);

	for (i = 0; i < n; i++) {
		lock_prepare(&convs[i], &v[i], hex);
		got[i] = local_take(&convs[i], 0) == 0;
		v[i].local = got[i];
	}
	for (i = 0; i < n; i += MANY_MAX)
		remote_take_queue(p, v + i, got + i, n - i < MANY_MAX ? n - i :
		    MANY_MAX);
}

void
conv_trylock_collect(struct cache_pipe *p, struct conv_lock *v, int *got,
    size_t n)
{
	size_t		i;

	for (i = 0; i < n; i += MANY_MAX)
		remote_take_collect(p, v + i, got + i, n - i < MANY_MAX ?
		    n - i : MANY_MAX);
}

void
conv_unlock_many(struct conv_lock *v, const int *got, size_t n)
{
	struct conv_lock	*remote[MANY_MAX];
	size_t			i, k;

	for (i = 0, k = 0; i < n; i++) {
		if (!got[i] || !v[i].remote)
			continue;
		remote[k++] = &v[i];
		if (k == MANY_MAX) {
			remote_give(remote, k);
			k = 0;
		}
	}
	remote_give(remote, k);

	for (i = 0; i < n; i++) {
		if (!got[i] || !v[i].local)
			continue;
		local_give(&v[i].id);
		v[i].local = 0;
		v[i].remote = 0;
	}
}

/* Those of v[0..n) held in-process, in Redis too, in one EVAL. */
static void
remote_take_queue(struct cache_pipe *p, struct conv_lock *v, const int *got,
    size_t n)
{
	const char	*argv[MANY_MAX + 5];
	size_t		lens[MANY_MAX + 5], i, k;
	char		nkeys[24], lease[24];

	argv[0] = "EVAL";
	argv[1] = take_lua;
	argv[2] = nkeys;
	for (i = 0, k = 0; i < n; i++) {
		if (got[i])
			argv[3 + k++] = v[i].key;
	}
	if (k == 0)
		return;

	(void)snprintf(nkeys, sizeof(nkeys), "%zu", k);
	(void)snprintf(lease, sizeof(lease), "%d", CONV_LOCK_LEASE_MS);
	/* One batch, one token (lock_prepare). */
	argv[3 + k] = v[0].token;
	argv[4 + k] = lease;
	for (i = 0; i < k + 5; i++)
		lens[i] = strlen(argv[i]);

	cache_pipe_argv(p, (int)(k + 5), argv, lens);
}

/* The EVAL's answer, key by key; none (Redis away): in-process only. */
static void
remote_take_collect(struct cache_pipe *p, struct conv_lock *v, int *got,
    size_t n)
{
	redisReply	*r;
	size_t		i, k, idx[MANY_MAX];

	for (i = 0, k = 0; i < n; i++) {
		if (got[i])
			idx[k++] = i;
	}
	if (k == 0)
		return;

	r = cache_pipe_reply(p);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != k) {
		if (r != NULL)
			freeReplyObject(r);
		return;
	}

	for (i = 0; i < k; i++) {
		if (r->element[i]->type == REDIS_REPLY_INTEGER &&
		    r->element[i]->integer == 1) {
			v[idx[i]].remote = 1;
		} else {
			local_give(&v[idx[i]].id);
			v[idx[i]].local = 0;
			got[idx[i]] = 0;
		}
	}
	freeReplyObject(r);
}

static void
lock_prepare(const bson_oid_t *conv, struct conv_lock *l, const char *token)
{
	char		hex[25];

	memset(l, 0, sizeof(*l));
	bson_oid_copy(conv, &l->id);
	bson_oid_to_string(conv, hex);
	(void)snprintf(l->key, sizeof(l->key), "lock:conv:%s", hex);
	(void)snprintf(l->token, sizeof(l->token), "%s", token);
}

/* deadline 0: do not wait. */
static int
local_take(const bson_oid_t *conv, int64_t deadline)
{
	struct held	*h;
	struct timespec	ts;
	int64_t		now;

	(void)pthread_mutex_lock(&table_lock);
	while (local_held(conv)) {
		now = core_now_ms();
		if (deadline == 0 || now >= deadline) {
			(void)pthread_mutex_unlock(&table_lock);
			return (-1);
		}
		(void)clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (deadline - now) / 1000;
		ts.tv_nsec += ((deadline - now) % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&table_cond, &table_lock, &ts);
	}

	if ((h = malloc(sizeof(*h))) == NULL)
		abort();
	bson_oid_copy(conv, &h->id);
	h->next = table[bson_oid_hash(conv) % HELD_SLOTS];
	table[bson_oid_hash(conv) % HELD_SLOTS] = h;
	(void)pthread_mutex_unlock(&table_lock);

	return (0);
}

static void
local_give(const bson_oid_t *conv)
{
	struct held	**p, *h;

	(void)pthread_mutex_lock(&table_lock);
	for (p = &table[bson_oid_hash(conv) % HELD_SLOTS]; (h = *p) != NULL;
	    p = &h->next) {
		if (bson_oid_equal(&h->id, conv)) {
			*p = h->next;
			free(h);
			break;
		}
	}
	(void)pthread_cond_broadcast(&table_cond);
	(void)pthread_mutex_unlock(&table_lock);
}

/* Called with table_lock held. */
static int
local_held(const bson_oid_t *conv)
{
	struct held	*h;

	for (h = table[bson_oid_hash(conv) % HELD_SLOTS]; h != NULL;
	    h = h->next) {
		if (bson_oid_equal(&h->id, conv))
			return (1);
	}

	return (0);
}

static int
remote_take(struct conv_lock *l, int64_t deadline)
{
	redisReply	*r;
	int64_t		pause;
	int		got;

	pause = 1;
	for (;;) {
		r = cache_command("SET %s %s NX PX %d", l->key, l->token,
		    CONV_LOCK_LEASE_MS);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			/* Redis is down: the in-process part is all we have. */
			if (r != NULL)
				freeReplyObject(r);
			return (0);
		}
		got = r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
		if (got) {
			l->remote = 1;
			return (0);
		}

		if (core_now_ms() >= deadline)
			return (-1);
		lock_sleep(pause);
		if (pause < 16)
			pause *= 2;
	}
}

static void
remote_give(struct conv_lock **v, size_t k)
{
	redisReply	*r;
	const char	*argv[MANY_MAX + 4];
	size_t		lens[MANY_MAX + 4], i;
	char		nkeys[24];

	if (k == 0)
		return;

	(void)snprintf(nkeys, sizeof(nkeys), "%zu", k);
	argv[0] = "EVAL";
	argv[1] = give_lua;
	argv[2] = nkeys;
	for (i = 0; i < k; i++)
		argv[3 + i] = v[i]->key;
	/* One batch, one token: every lock of v was taken with it. */
	argv[3 + k] = v[0]->token;
	for (i = 0; i < k + 4; i++)
		lens[i] = strlen(argv[i]);

	if ((r = cache_command_argv((int)(k + 4), argv, lens)) != NULL)
		freeReplyObject(r);
}

static void
lock_sleep(int64_t ms)
{
	struct timespec	ts;

	ts.tv_sec = 0;
	ts.tv_nsec = (long)ms * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}
