/*
 * The messages collection. A document:
 *
 *   _id, conversationId, senderId, content, type, metadata?,
 *   readBy {uid: date}, reactions [uid], reactionTypes {uid: emoji},
 *   replyToId?, editedAt?, deletedAt?, deletedFor [uid], isForwarded,
 *   forwardedFromId?, seq, clientMessageId, createdAt, updatedAt
 *
 * seq numbers a conversation's messages 1, 2, 3... without gaps: the
 * unique index {conversationId, seq} refuses a number twice. A message
 * sent without a clientMessageId stores its own id there, so the unique
 * index {conversationId, senderId, clientMessageId} needs no partial
 * filter (FerretDB has none).
 *
 * "Visible to a viewer" means: in the conversation, not deleted for
 * everyone and not deleted by the viewer for themselves.
 */

#ifndef LNK_STORE_MESSAGES_H
#define LNK_STORE_MESSAGES_H

#include <sys/types.h>
#include <stdint.h>

#include <bson/bson.h>

struct doclist;
struct oidlist;

struct msgs_new {
	bson_oid_t		id;
	const bson_oid_t	*conv;
	const bson_oid_t	*sender;
	const char		*content;
	const char		*type;
	const bson_t		*metadata;	/* NULL: none */
	const bson_oid_t	*reply_to;
	const bson_oid_t	*forwarded_from;
	const char		*client_id;	/* NULL: the message's id */
	int64_t			seq;
	int64_t			now;
};

#define MSGS_NOSEQ	-1

struct msgs_query {
	const bson_oid_t	*conv;
	const bson_oid_t	*viewer;
	const char		*type;		/* NULL: any */
	const char		*pattern;	/* escaped regex on content */
	int			has_after;
	int64_t			after;		/* createdAt >= (ms) */
	int			has_before;
	int64_t			before;		/* createdAt <= (ms) */
	int64_t			after_seq;	/* seq > (MSGS_NOSEQ: none) */
	int64_t			before_seq;	/* seq < (MSGS_NOSEQ: none) */
};

int	msgs_insert(const struct msgs_new *, bson_t *);
int	msgs_find(const bson_oid_t *, bson_t *);
int	msgs_find_client(const bson_oid_t *, const bson_oid_t *, const char *,
	    bson_t *);
int	msgs_max_seq(const bson_oid_t *, int64_t *);
int	msgs_list(const struct msgs_query *, int, int64_t, int64_t,
	    struct doclist *);
int64_t	msgs_count(const struct msgs_query *);
int	msgs_find_many(const struct oidlist *, struct doclist *);
int	msgs_find_visible(const bson_oid_t *, const bson_oid_t *,
	    const struct oidlist *, struct doclist *);
int	msgs_search(const struct oidlist *, const bson_oid_t *, const char *,
	    int64_t, struct doclist *);
int64_t	msgs_count_unread(const bson_oid_t *, const bson_oid_t *, int64_t,
	    int64_t);
int	msgs_unread_ids(const bson_oid_t *, const bson_oid_t *, int64_t,
	    int64_t, int64_t, struct oidlist *);

int	msgs_mark_read(const struct oidlist *, const bson_oid_t *, int64_t);
int	msgs_edit(const bson_oid_t *, const char *, int64_t);
int	msgs_delete_for_all(const bson_oid_t *, int64_t);
int	msgs_delete_for(const bson_oid_t *, const bson_oid_t *, int64_t);
int	msgs_react(const bson_oid_t *, const bson_oid_t *, const char *,
	    int64_t);
int	msgs_unreact(const bson_oid_t *, const bson_oid_t *, int64_t);

/* Readers over a stored message document. */
int	msgs_doc_visible_to(const bson_t *, const bson_oid_t *);
int	msgs_doc_read_by(const bson_t *, const bson_oid_t *);
int	msgs_doc_oid(const bson_t *, const char *, bson_oid_t *);
int64_t	msgs_doc_int(const bson_t *, const char *, int64_t);
int64_t	msgs_doc_date(const bson_t *, const char *, int64_t);
const char *msgs_doc_str(const bson_t *, const char *);

#endif
