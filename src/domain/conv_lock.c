/*
 * Per-conversation write lock (see conv_lock.h).
 */

#include <sys/types.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "cache/redis.h"
#include "domain/conv_lock.h"

#define CONV_LOCK_STRIPES	128
/*
 * A crashed holder's key expires after the TTL. It must outlast the
 * longest critical section a live holder can have (a few queries, each
 * bounded by the driver's 15 s socket timeout), or two writers could
 * overlap on a slow database.
 */
#define CONV_LOCK_TTL_MS	30000
#define CONV_LOCK_WAIT_MS	10000	/* then 503: try again later */

static void	conv_lock_init(void);
static void	conv_lock_sleep(int64_t);

static pthread_once_t	stripes_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t	stripes[CONV_LOCK_STRIPES];

static const char *release_lua =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('DEL', KEYS[1]) else return 0 end";

int
conv_lock(const bson_oid_t *conv, struct conv_lock *l)
{
	redisReply	*r;
	bson_oid_t	tok;
	char		hex[25];
	int64_t		deadline, pause;
	int		got;

	(void)pthread_once(&stripes_once, conv_lock_init);

	memset(l, 0, sizeof(*l));
	bson_oid_to_string(conv, hex);
	(void)snprintf(l->key, sizeof(l->key), "lock:conv:%s", hex);
	bson_oid_init(&tok, NULL);
	bson_oid_to_string(&tok, l->token);
	l->stripe = (int)(bson_oid_hash(conv) % CONV_LOCK_STRIPES);

	(void)pthread_mutex_lock(&stripes[l->stripe]);

	deadline = app_now_ms() + CONV_LOCK_WAIT_MS;
	pause = 1;
	for (;;) {
		r = cache_command("SET %s %s NX PX %d", l->key, l->token,
		    CONV_LOCK_TTL_MS);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			/* Redis is down: the in-process lock is all we have. */
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

		if (app_now_ms() >= deadline)
			break;
		conv_lock_sleep(pause);
		if (pause < 8)
			pause *= 2;
	}

	app_log("conv_lock: %s still held after %d ms", l->key,
	    CONV_LOCK_WAIT_MS);
	(void)pthread_mutex_unlock(&stripes[l->stripe]);
	return (-1);
}

void
conv_unlock(struct conv_lock *l)
{
	redisReply	*r;

	if (l->remote) {
		r = cache_command("EVAL %s 1 %s %s", release_lua, l->key,
		    l->token);
		if (r != NULL)
			freeReplyObject(r);
		l->remote = 0;
	}

	(void)pthread_mutex_unlock(&stripes[l->stripe]);
}

static void
conv_lock_init(void)
{
	int		i;

	for (i = 0; i < CONV_LOCK_STRIPES; i++)
		(void)pthread_mutex_init(&stripes[i], NULL);
}

static void
conv_lock_sleep(int64_t ms)
{
	struct timespec	ts;

	ts.tv_sec = 0;
	ts.tv_nsec = (long)ms * 1000000L;
	(void)nanosleep(&ts, NULL);
}
