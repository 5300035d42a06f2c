/*
 * One writer at a time per conversation.
 *
 * FerretDB v1.24 applies every update (even $inc, even findAndModify) as
 * read, modify in Go, write back by _id, with no transaction around it:
 * 50 concurrent {$inc: 1} on one document leave it at ~10. MongoDB would
 * not need this, but the unread counters, lastMessage, read positions and
 * the seq of a conversation are derived from one another, so every
 * mutation of a conversation or of one of its messages runs under this
 * lock on both databases: its critical sections are a few small writes.
 *
 * Threads of one worker queue on an in-process mutex (one of a fixed set
 * of stripes); workers and nodes on a Redis key (SET NX PX, released
 * only by its holder). When Redis is down only the in-process part
 * holds: correct with one worker, best effort across several.
 */

#ifndef LNK_DOMAIN_CONV_LOCK_H
#define LNK_DOMAIN_CONV_LOCK_H

#include <bson/bson.h>

struct conv_lock {
	char		key[64];
	char		token[25];
	int		stripe;
	int		remote;		/* the Redis key is ours */
};

/* 0 when held; -1 when it could not be taken in time (answer 503). */
int	conv_lock(const bson_oid_t *, struct conv_lock *);
void	conv_unlock(struct conv_lock *);

#endif
