/*
 * Conversation heads in Redis: what a send changes in a conversation
 * (its seq, its newest message, how many messages each member sent),
 * kept where every worker and node reads it in one round trip, so that
 * a batch of sends costs the database one insert and no update.
 *
 * The head is authoritative while it is there and at least as new as
 * the conversation document (seq): the document is a checkpoint of it,
 * written once the conversation has been quiet a while, or has been
 * dirty too long (domain/conv_checkpoint.c). A head that Redis lost
 * (restart, eviction) costs nothing but staleness until the next send
 * collides on seq and recounts from the messages (domain/msg_number.c):
 * everything here is derived from the messages collection.
 *
 *   conv:head:<cid>   hash: seq, mid, at, text, u:<uid> (sent count), ck
 *   conv:dirty        zset: cid by the time of its last send
 *   conv:dirty:first  zset: cid by the time it first became dirty
 *
 * Task threads (synchronous hiredis, see redis.h).
 */

#ifndef LNK_CACHE_HEADS_H
#define LNK_CACHE_HEADS_H

#include <sys/types.h>
#include <stdint.h>

#include <bson/bson.h>

struct cache_pipe;

#define HEADS_MEMBERS_MAX	64

struct conv_head {
	bson_oid_t	id;
	int		found;
	int64_t		seq;
	bson_oid_t	last_id;
	int64_t		last_at;
	char		*text;		/* malloc'd */
	size_t		nsent;
	bson_oid_t	users[HEADS_MEMBERS_MAX];
	int64_t		sent[HEADS_MEMBERS_MAX];
	int64_t		checked;	/* seq the document has */
};

/* One round trip; -1 when Redis is away (then no head is known). */
int	heads_get(struct conv_head *, size_t);
/* The same in halves, on a pipe shared with other commands (redis.h). */
void	heads_get_queue(struct cache_pipe *, struct conv_head *, size_t);
int	heads_get_collect(struct cache_pipe *, struct conv_head *, size_t);
/* Stores heads (all fields) and marks them dirty; -1 Redis is away. */
int	heads_put(const struct conv_head *, size_t);
/* The text of cid's newest message, when mid is still it. */
int	heads_set_text(const bson_oid_t *, const bson_oid_t *, const char *);
/* Up to max conversations due for a checkpoint (see heads.h). */
int	heads_due(int64_t, int64_t, bson_oid_t *, size_t, size_t *);
/* The document has h->seq now: clean, unless a send came since. */
int	heads_checked(const struct conv_head *);
/* The document is newer than this head: the head goes. */
int	heads_drop(const bson_oid_t *);
void	heads_free(struct conv_head *, size_t);

/* The sent count of user in h, or -1 when h does not say. */
int64_t	heads_sent_of(const struct conv_head *, const bson_oid_t *);
void	heads_set_sent(struct conv_head *, const bson_oid_t *, int64_t);

#endif
