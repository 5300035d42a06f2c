/*
 * One writer at a time per conversation.
 *
 * FerretDB v1.24 applies every update (even $inc, even findAndModify) as
 * read, modify in Go, write back by _id, with no transaction around it:
 * 50 concurrent {$inc: 1} on one document leave it at ~10. MongoDB would
 * not need this, but a conversation's seq, head and counters are derived
 * from one another, so every change to a conversation or to one of its
 * messages runs under this lock on both databases.
 *
 * Two parts: within a worker, a table of the conversations held (a
 * waiter sleeps on a condition, holding nothing, so a wait on one
 * conversation never holds up another); across workers and nodes, a
 * Redis key (SET NX PX) whose value is the holder's token, released only
 * by its holder. The key's lease (CONV_LOCK_LEASE_MS) outlasts the
 * longest critical section a live holder can have; a dead holder's key
 * expires with it. When Redis is down only the in-process part holds:
 * correct with one worker, best effort across several (the unique index
 * on {conversationId, seq} still refuses a number twice).
 */

#ifndef LNK_DOMAIN_CONV_LOCK_H
#define LNK_DOMAIN_CONV_LOCK_H

#include <sys/types.h>

#include <bson/bson.h>

struct cache_pipe;

#define CONV_LOCK_LEASE_MS	30000
#define CONV_LOCK_WAIT_MS	10000	/* then 503: try again later */

struct conv_lock {
	bson_oid_t	id;
	char		key[64];
	char		token[25];
	int		local;		/* the in-process part is ours */
	int		remote;		/* the Redis key is ours */
};

/* 0 when held; -1 when it could not be taken in time (answer 503). */
int	conv_lock(const bson_oid_t *, struct conv_lock *);
void	conv_unlock(struct conv_lock *);

/*
 * For a batch: take what is free now, without waiting, in one Redis
 * round trip; got[i] says which. A conversation held elsewhere waits for
 * the next batch.
 */
void	conv_trylock_many(const bson_oid_t *, struct conv_lock *, int *,
	    size_t);
/*
 * The same in halves, on a pipe shared with other commands
 * (cache/redis.h): the in-process part is taken by the queue half.
 */
void	conv_trylock_queue(struct cache_pipe *, const bson_oid_t *,
	    struct conv_lock *, int *, size_t);
void	conv_trylock_collect(struct cache_pipe *, struct conv_lock *, int *,
	    size_t);
void	conv_unlock_many(struct conv_lock *, const int *, size_t);

#endif
