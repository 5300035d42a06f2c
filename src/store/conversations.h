/*
 * The conversations collection. A document:
 *
 *   _id, participants [oid], type "direct"|"group", groupName?,
 *   groupAvatar?, groupAdmin?, lastMessage?, lastMessageId?,
 *   lastMessageAt, seq (number of the newest message), isActive,
 *   archivedBy {uid: date}, deletedBy {uid: date}, directKey, createdAt,
 *   updatedAt, and the counters unread counts are derived from:
 *   lastReadSeq {uid: seq}, sentCounts {uid: n}, ownReadCounts {uid: n},
 *   skipCounts {uid: n}, deletedCount, hiddenCounts {uid: n}
 *
 * Unread counts are never stored: a send would have to write one per
 * recipient. For a member u (SPEC.md §2.9: messages from others after
 * u's last read, deleted-for-self ones excepted)
 *
 *   unread(u) = seq - lastReadSeq[u]                  messages after it
 *             - (sentCounts[u] - ownReadCounts[u])    ... u's own
 *             - skipCounts[u]                         ... deleted, hidden
 *
 * where sentCounts[u] counts every message u sent, ownReadCounts[u] those
 * at or before u's read position, and skipCounts[u] the messages of
 * others after it that do not count for u. A send changes seq and the
 * sender's sentCounts only; a read, delete or hide sets the reader's or
 * adjusts the others' counters (domain/message_service.c). The visible
 * history of u has seq - deletedCount - hiddenCounts[u] messages.
 *
 * directKey is "<lower id>:<higher id>" for a direct conversation and
 * "g:<_id>" for a group; a unique index on it makes direct dedupe safe
 * under concurrent creates without a partial index.
 *
 * Every update addresses one document by _id: FerretDB v1.24 applies
 * updates as read-modify-write with no transaction around them (even
 * $inc), so callers serialize the updates of one conversation with
 * domain/conv_lock.h.
 */

#ifndef LNK_STORE_CONVERSATIONS_H
#define LNK_STORE_CONVERSATIONS_H

#include <sys/types.h>
#include <stdint.h>

#include <bson/bson.h>

struct doclist;
struct oidlist;

struct convs_new {
	bson_oid_t		id;
	const bson_oid_t	*participants;
	size_t			nparticipants;
	int			group;
	const char		*group_name;
	const char		*group_avatar;
	const bson_oid_t	*admin;
	int64_t			now;
};

struct convs_query {
	const bson_oid_t	*user;		/* participant, not deleted */
	int			archived;	/* 0 not / 1 archived; -1 any */
	const char		*type;		/* NULL: any */
	const char		*pattern;	/* escaped regex on groupName */
	const struct oidlist	*matched;	/* ... or these participants */
};

/* Group changes, applied together (all already validated). */
struct convs_group_set {
	const char		*group_name;
	const char		*group_avatar;
	const bson_oid_t	*admin;
	const struct oidlist	*participants;	/* the full new list */
	const struct oidlist	*added;
	const struct oidlist	*removed;
	const bson_t		*doc;		/* as it is now */
	int64_t			now;
};

/*
 * Who may see a conversation, as every participant check needs it:
 * from the memo (store/memo.h, CONVS_MEMO_TTL_MS) or one lookup. The
 * memo keeps whole documents, refreshed by every convs_find() and
 * dropped by every write; its seq and head may lag (cache/heads.h).
 */
#define CONVS_MEMBERS_MAX	64

struct convs_members {
	bson_oid_t		id;
	int			found;
	int			group;
	int			active;
	size_t			nparts;
	bson_oid_t		parts[CONVS_MEMBERS_MAX];
	size_t			ndeleted;		/* deletedBy marks */
	bson_oid_t		deleted[CONVS_MEMBERS_MAX];
};

int	convs_members(const bson_oid_t *, struct convs_members *);
/* From the memo only: 1 when it had them, else 0 (nothing read). */
int	convs_members_cached(const bson_oid_t *, struct convs_members *);
/* The document from the memo while fresh, else from the database. */
int	convs_cached(const bson_oid_t *, bson_t *);
/* After a change to membership or marks: the next check reads it. */
void	convs_forget(const bson_oid_t *);
void	convs_members_of(const bson_t *, struct convs_members *);
int	convs_members_visible_to(const struct convs_members *,
	    const bson_oid_t *);
int	convs_members_has(const struct convs_members *, const bson_oid_t *);

int	convs_insert(const struct convs_new *, bson_t *);
int	convs_find(const bson_oid_t *, bson_t *);
int	convs_find_many(const struct oidlist *, struct doclist *);
int	convs_find_direct(const bson_oid_t *, const bson_oid_t *, bson_t *);
int	convs_list(const struct convs_query *, int64_t, int64_t,
	    struct doclist *);
int	convs_ids_of(const bson_oid_t *, int, struct oidlist *);
int	convs_partners_of(const bson_oid_t *, struct oidlist *);
/* Both at once (either may be NULL), memoized per user. */
int	convs_rooms(const bson_oid_t *, struct oidlist *, struct oidlist *);
void	convs_forget_rooms(const bson_oid_t *);

/*
 * A conversation's head: its newest message and each sender's count, as
 * absolute values (a batch of sends, a checkpoint of cache/heads.h);
 * revive, when not NULL, names those whose deletedBy mark goes.
 */
struct convs_head {
	bson_oid_t		id;
	int64_t			seq;
	bson_oid_t		last_id;
	const char		*last_content;
	int64_t			last_at;
	size_t			nsent;
	const bson_oid_t	*users;		/* ... and how many each sent */
	const int64_t		*sent;
	const struct oidlist	*revive;
};

/* A counter change: field (or field.<user>) += delta. */
struct convs_inc {
	const char		*field;
	const bson_oid_t	*user;		/* NULL: a plain counter */
	int64_t			delta;
};

/* Every head of a batch, one round trip. */
int	convs_apply_heads(const struct convs_head *, size_t);
/* A checkpoint: STORE_NOTFOUND when the document is newer already. */
int	convs_write_head(const struct convs_head *);
/* Clears field (deletedBy, archivedBy) of users. */
int	convs_unmark(const bson_oid_t *, const char *, const struct oidlist *);
/* doc with head applied, as the database has it (or will). */
void	convs_doc_with_head(const bson_t *, const struct convs_head *,
	    bson_t *);
/* The reader's new read position and its counters. */
int	convs_set_read(const bson_oid_t *, const bson_oid_t *, int64_t,
	    int64_t, int64_t);
int	convs_adjust(const bson_oid_t *, const struct convs_inc *, size_t);
int	convs_set_last_message(const bson_oid_t *, const char *, int64_t);
int	convs_set_mark(const bson_oid_t *, const char *, const bson_oid_t *,
	    int64_t);
int	convs_update_group(const bson_oid_t *, const struct convs_group_set *);

/* Readers over a stored conversation document. */
int	convs_doc_is_participant(const bson_t *, const bson_oid_t *);
int	convs_doc_visible_to(const bson_t *, const bson_oid_t *);
int	convs_doc_has_mark(const bson_t *, const char *, const bson_oid_t *);
int	convs_doc_is_group(const bson_t *);
void	convs_doc_participants(const bson_t *, struct oidlist *);
int64_t	convs_doc_unread(const bson_t *, const bson_oid_t *);
/* How many messages u sees in the history (page-number totals). */
int64_t	convs_doc_history(const bson_t *, const bson_oid_t *);
/* No message was deleted for everyone or hidden by u: seq is position. */
int	convs_doc_history_dense(const bson_t *, const bson_oid_t *);
/* Fields that are bookkeeping, never shown to clients. */
int	convs_field_internal(const char *);

#endif
