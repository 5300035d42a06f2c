/*
 * hiredis async on Kore's event loop (see async.h).
 *
 * Kore's epoll hands an event to the object whose first member is a
 * struct kore_event; the adapter registers its fd level-triggered
 * (hiredis reads one buffer per call, so edge-triggered could strand
 * data) with the read/write interest hiredis asks for.
 */

#include <sys/types.h>

#include <stdarg.h>
#include <sys/epoll.h>

#include <string.h>

#include <kore/kore.h>

#include <hiredis.h>
#include <async.h>

#include "cache/async.h"
#include "core/config.h"
#include "core/core.h"

#define ROLE_PUB		0
#define ROLE_SUB		1

#define BACKOFF_MIN_MS		250
#define BACKOFF_MAX_MS		8000

struct aconn {
	struct kore_event	evt;	/* first: Kore casts to it */
	int			role;
	redisAsyncContext	*ac;
	int			fd;
	int			reading;
	int			writing;
	int			registered;
	int			connected;
	u_int64_t		backoff;
	int			warned;
};

static void	aconn_start(struct aconn *);
static void	aconn_retry(void *, u_int64_t);
static void	aconn_schedule(struct aconn *);
static void	aconn_update(struct aconn *);
static void	aconn_event(void *, int);
static void	ev_add_read(void *);
static void	ev_del_read(void *);
static void	ev_add_write(void *);
static void	ev_del_write(void *);
static void	ev_cleanup(void *);
static void	on_connect(const redisAsyncContext *, int);
static void	on_disconnect(const redisAsyncContext *, int);
static void	on_message(redisAsyncContext *, void *, void *);
static void	on_numsub(redisAsyncContext *, void *, void *);

static struct aconn		conns[2];
static char			channel[128];
static cache_async_msg_cb	msg_cb;
static cache_async_ready_cb	ready_cb;
static int			stopping;
static u_int64_t		epoch;

void
cache_async_init(const char *chan, cache_async_msg_cb cb,
    cache_async_ready_cb ready)
{
	int		i;

	(void)kore_strlcpy(channel, chan, sizeof(channel));
	msg_cb = cb;
	ready_cb = ready;
	stopping = 0;

	for (i = 0; i < 2; i++) {
		memset(&conns[i], 0, sizeof(conns[i]));
		conns[i].role = i;
		conns[i].fd = -1;
		conns[i].backoff = BACKOFF_MIN_MS;
		aconn_start(&conns[i]);
	}
}

void
cache_async_teardown(void)
{
	int		i;

	stopping = 1;
	for (i = 0; i < 2; i++) {
		if (conns[i].ac != NULL)
			redisAsyncFree(conns[i].ac);
	}
}

u_int64_t
cache_async_epoch(void)
{
	return (epoch);
}

int
cache_async_publish(const void *data, size_t len)
{
	struct aconn	*a = &conns[ROLE_PUB];

	if (!a->connected || a->ac == NULL)
		return (-1);

	if (redisAsyncCommand(a->ac, NULL, NULL, "PUBLISH %s %b", channel,
	    data, len) != REDIS_OK)
		return (-1);

	return (0);
}

int
cache_async_subscribers(cache_async_count_cb cb)
{
	struct aconn	*a = &conns[ROLE_PUB];

	if (!a->connected || a->ac == NULL)
		return (-1);

	if (redisAsyncCommand(a->ac, on_numsub, (void *)cb,
	    "PUBSUB NUMSUB %s", channel) != REDIS_OK)
		return (-1);

	return (0);
}

int
cache_async_command(const char *fmt, ...)
{
	struct aconn	*a = &conns[ROLE_PUB];
	va_list		ap;
	int		r;

	if (!a->connected || a->ac == NULL)
		return (-1);

	va_start(ap, fmt);
	r = redisvAsyncCommand(a->ac, NULL, NULL, fmt, ap);
	va_end(ap);

	return (r == REDIS_OK ? 0 : -1);
}

static void
aconn_start(struct aconn *a)
{
	redisAsyncContext	*ac;

	ac = redisAsyncConnect(cfg.redis_host, cfg.redis_port);
	if (ac == NULL || ac->err) {
		if (ac != NULL)
			redisAsyncFree(ac);
		aconn_schedule(a);
		return;
	}

	a->ac = ac;
	a->fd = ac->c.fd;
	a->reading = 0;
	a->writing = 0;
	a->registered = 0;
	a->connected = 0;
	a->evt.type = 0;
	a->evt.flags = 0;
	a->evt.handle = aconn_event;

	ac->data = a;
	ac->ev.data = a;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;

	(void)redisAsyncSetConnectCallback(ac, on_connect);
	(void)redisAsyncSetDisconnectCallback(ac, on_disconnect);

	if (cfg.redis_password[0] != '\0') {
		(void)redisAsyncCommand(ac, NULL, NULL, "AUTH %s",
		    cfg.redis_password);
	}
	if (a->role == ROLE_SUB) {
		(void)redisAsyncCommand(ac, on_message, a, "SUBSCRIBE %s",
		    channel);
	}
}

static void
aconn_schedule(struct aconn *a)
{
	if (stopping)
		return;

	(void)kore_timer_add(aconn_retry, a->backoff, a, KORE_TIMER_ONESHOT);
	a->backoff *= 2;
	if (a->backoff > BACKOFF_MAX_MS)
		a->backoff = BACKOFF_MAX_MS;
}

static void
aconn_retry(void *arg, u_int64_t now)
{
	struct aconn	*a = arg;

	if (a->ac == NULL && !stopping)
		aconn_start(a);
}

static void
aconn_update(struct aconn *a)
{
	int		mask;

	if (a->fd == -1)
		return;

	mask = 0;
	if (a->reading)
		mask |= EPOLLIN | EPOLLRDHUP;
	if (a->writing)
		mask |= EPOLLOUT;

	if (mask == 0) {
		if (a->registered) {
			kore_platform_disable_read(a->fd);
			a->registered = 0;
		}
		return;
	}

	kore_platform_event_schedule(a->fd, mask, 0, a);
	a->registered = 1;
}

static void
aconn_event(void *arg, int error)
{
	struct aconn	*a = arg;
	int		flags;

	flags = a->evt.flags;
	a->evt.flags = 0;

	if (a->ac == NULL)
		return;

	if (!(a->ac->c.flags & REDIS_CONNECTED)) {
		/* Connecting: hiredis checks the result on write. */
		redisAsyncHandleWrite(a->ac);
		return;
	}

	if (error || (flags & KORE_EVENT_READ))
		redisAsyncHandleRead(a->ac);
	if (a->ac != NULL && (flags & KORE_EVENT_WRITE) && a->writing)
		redisAsyncHandleWrite(a->ac);
}

static void
ev_add_read(void *arg)
{
	struct aconn	*a = arg;

	if (!a->reading) {
		a->reading = 1;
		aconn_update(a);
	}
}

static void
ev_del_read(void *arg)
{
	struct aconn	*a = arg;

	if (a->reading) {
		a->reading = 0;
		aconn_update(a);
	}
}

static void
ev_add_write(void *arg)
{
	struct aconn	*a = arg;

	if (!a->writing) {
		a->writing = 1;
		aconn_update(a);
	}
}

static void
ev_del_write(void *arg)
{
	struct aconn	*a = arg;

	if (a->writing) {
		a->writing = 0;
		aconn_update(a);
	}
}

/* hiredis is freeing the context; it closes the fd right after. */
static void
ev_cleanup(void *arg)
{
	struct aconn	*a = arg;

	a->reading = 0;
	a->writing = 0;
	aconn_update(a);
	a->fd = -1;
	a->ac = NULL;
	a->connected = 0;
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
	struct aconn	*a = ac->data;

	if (status != REDIS_OK) {
		if (!a->warned) {
			kore_log(LOG_WARNING, "bus: redis %s:%u unavailable "
			    "(%s), retrying", cfg.redis_host, cfg.redis_port,
			    ac->errstr);
			a->warned = 1;
		}
		/* hiredis frees the context after this returns. */
		a->ac = NULL;
		aconn_schedule(a);
		return;
	}

	a->connected = 1;
	a->backoff = BACKOFF_MIN_MS;
	if (a->role == ROLE_PUB)
		epoch++;
	if (a->role == ROLE_PUB && ready_cb != NULL)
		ready_cb();
	if (a->warned) {
		kore_log(LOG_NOTICE, "bus: redis connection back");
		a->warned = 0;
	}
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	struct aconn	*a = ac->data;

	a->ac = NULL;
	a->connected = 0;
	if (stopping)
		return;

	if (!a->warned) {
		kore_log(LOG_WARNING, "bus: redis connection lost, "
		    "reconnecting");
		a->warned = 1;
	}
	aconn_schedule(a);
}

static void
on_message(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;

	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 3)
		return;
	if (reply->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(reply->element[0]->str, "message"))
		return;
	if (reply->element[2]->type != REDIS_REPLY_STRING)
		return;

	msg_cb((const u_int8_t *)reply->element[2]->str,
	    reply->element[2]->len);
}

/* Reply: ["<channel>", <count>]. */
static void
on_numsub(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply		*reply = r;
	cache_async_count_cb	cb;

	/* Function and object pointers: POSIX guarantees the round trip. */
	cb = (cache_async_count_cb)priv;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 2 ||
	    reply->element[1]->type != REDIS_REPLY_INTEGER) {
		cb(-1);
		return;
	}

	cb(reply->element[1]->integer);
}
