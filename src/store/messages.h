/*
 * The messages collection. A document:
 *
 *   _id, conversationId, senderId, content, type, metadata?, replyToId?,
 *   forwardedFromId?, isForwarded?, seq, bucket, clientMessageId,
 *   createdAt, and once they happen: readBy {uid: date}, reactions [uid],
 *   reactionTypes {uid: emoji}, deletedFor [uid], editedAt, deletedAt,
 *   updatedAt
 *
 * A new message stores only what it has: FerretDB v1.24 spends about
 * 300 µs of CPU decoding each document it returns, twice as much for the
 * full peer shape as for this one, so empty maps and arrays are left out
 * and rendered as empty (domain/chat_json.c).
 *
 * seq numbers a conversation's messages 1, 2, 3... without gaps: the
 * unique index {conversationId, seq} refuses a number twice. bucket is
 * "<conversationId>:<seq / MSGS_BUCKET>": history is read by equality on
 * it, one bucket at a time, because an equality on one top-level field
 * is the only filter FerretDB pushes down to PostgreSQL (where a GIN
 * index serves it), and MongoDB serves it from {bucket, seq}. A page
 * reads at most two or three buckets, whatever the conversation's size
 * (the way Discord partitions channel history by time buckets).
 *
 * A message sent without a clientMessageId stores its own id there, so
 * the unique index {clientMessageId, conversationId, senderId} needs no
 * partial filter (FerretDB has none); clientMessageId leads the index so
 * that its GIN twin on FerretDB finds a duplicate by one key.
 *
 * "Visible to a viewer" means: not deleted for everyone and not deleted
 * by the viewer for themselves.
 */

#ifndef LNK_STORE_MESSAGES_H
#define LNK_STORE_MESSAGES_H

#include <sys/types.h>
#include <stdint.h>

#include <bson/bson.h>

struct doclist;
struct oidlist;

/*
 * 50 messages per bucket: the default page (50) spans two buckets at
 * most, so a page decodes at most 100 documents in FerretDB; smaller
 * buckets cost a query each for little less decoding.
 */
#define MSGS_BUCKET		50
/* Buckets of a window read at once (store_find_all): a page of 100. */
#define MSGS_WINDOW_AHEAD	3
#define MSGS_BUCKET_KEY_MAX	48

struct msgs_new {
	bson_oid_t		id;
	bson_oid_t		conv;
	bson_oid_t		sender;
	const char		*content;
	const char		*type;
	const bson_t		*metadata;	/* NULL: none */
	const bson_oid_t	*reply_to;
	const bson_oid_t	*forwarded_from;
	const char		*client_id;	/* NULL: the message's id */
	int64_t			seq;
	int64_t			now;
};

/*
 * A window of one conversation's history: seq in (from, to], newest or
 * oldest first, at most limit messages (0: all) visible to viewer (NULL:
 * every message). Read bucket by bucket from the start of the window.
 */
struct msgs_window {
	const bson_oid_t	*conv;
	const bson_oid_t	*viewer;
	int64_t			from;
	int64_t			to;
	int			newest_first;
	size_t			limit;
};

/* What buckets cannot serve: filters over a whole conversation. */
struct msgs_query {
	const bson_oid_t	*conv;
	const bson_oid_t	*viewer;
	const char		*type;		/* NULL: any */
	const char		*pattern;	/* escaped regex on content */
	int			has_after;
	int64_t			after;		/* createdAt >= (ms) */
	int			has_before;
	int64_t			before;		/* createdAt <= (ms) */
	int64_t			after_seq;	/* seq > (-1: none) */
	int64_t			before_seq;	/* seq < (-1: none) */
};

void	msgs_bucket_key(char *, size_t, const bson_oid_t *, int64_t);
/* The stored document of a new message. */
void	msgs_build(const struct msgs_new *, bson_t *);
/*
 * Ordered insert of n documents in one round trip. *done is the number
 * inserted; STORE_DUP means docs[*done] collided with a unique index
 * and nothing after it was tried.
 */
int	msgs_insert_many(const bson_t **, size_t, size_t *);

int	msgs_find(const bson_oid_t *, bson_t *);
/* By _id, one lookup each: FerretDB scans the collection for an $in. */
int	msgs_find_many(const struct oidlist *, struct doclist *);
int	msgs_find_client(const bson_oid_t *, const bson_oid_t *, const char *,
	    bson_t *);
int	msgs_window(const struct msgs_window *, struct doclist *);
/*
 * The highest seq stored in conv, probing buckets upwards from known (a
 * seq known to exist, or 0): what a lagging conversation has missed.
 */
int	msgs_max_seq(const bson_oid_t *, int64_t, int64_t *);

/* Whole-conversation queries (type, text, dates): never hot. */
int	msgs_list(const struct msgs_query *, int, int64_t, int64_t,
	    struct doclist *);
int64_t	msgs_count(const struct msgs_query *);
/* Newest first over convs, one conversation at a time, at most limit. */
int	msgs_search(const struct oidlist *, const bson_oid_t *, const char *,
	    int64_t, struct doclist *);

/*
 * readBy.<viewer> = at on docs (messages of one conversation the viewer
 * has not read): one update per bucket they fall in.
 */
int	msgs_mark_read(const struct doclist *, const bson_oid_t *, int64_t);
int	msgs_edit(const bson_oid_t *, const char *, int64_t);
int	msgs_delete_for_all(const bson_oid_t *, int64_t);
int	msgs_delete_for(const bson_oid_t *, const bson_oid_t *, int64_t);
int	msgs_react(const bson_oid_t *, const bson_oid_t *, const char *,
	    int64_t);
int	msgs_unreact(const bson_oid_t *, const bson_oid_t *, int64_t);

/* Readers over a stored message document. */
int	msgs_doc_visible_to(const bson_t *, const bson_oid_t *);
int	msgs_doc_read_by(const bson_t *, const bson_oid_t *);

#endif
