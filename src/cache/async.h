/*
 * Redis on a worker's event loop: hiredis' async API driven by Kore's
 * epoll (an adapter like hiredis' own libevent one), for the bus's
 * pub/sub. Each worker keeps one publishing and one subscribed
 * connection and reconnects with backoff when Redis goes away; while it
 * is away publishes are dropped (the bus still reaches this node's
 * workers through kore_msg).
 */

#ifndef LNK_CACHE_ASYNC_H
#define LNK_CACHE_ASYNC_H

#include <sys/types.h>
#include <stddef.h>

/* Called for every message on the subscribed channel. */
typedef void	(*cache_async_msg_cb)(const u_int8_t *, size_t);
/* Called when the publishing connection is (re)established. */
typedef void	(*cache_async_ready_cb)(void);
/* PUBSUB NUMSUB answer: subscribers of the channel, or -1. */
typedef void	(*cache_async_count_cb)(long long);

void	cache_async_init(const char *, cache_async_msg_cb,
	    cache_async_ready_cb);
void	cache_async_teardown(void);
/* 0 when handed to Redis, -1 when Redis is not connected. */
int	cache_async_publish(const void *, size_t);
/*
 * How many times the publishing connection has been established: a
 * change tells that Redis came back (it may have lost its data).
 */
u_int64_t	cache_async_epoch(void);
/* Asks how many connections (all nodes' workers) subscribe the channel. */
int	cache_async_subscribers(cache_async_count_cb);
/*
 * A command whose reply nobody waits for (typing marks), sent on the
 * publishing connection without leaving the loop; -1 when disconnected.
 */
int	cache_async_command(const char *, ...)
	    __attribute__((format (printf, 1, 2)));

#endif
