/*
 * The conversations collection. A document:
 *
 *   _id, participants [oid], type "direct"|"group", groupName?,
 *   groupAvatar?, groupAdmin?, lastMessage?, lastMessageId?,
 *   lastMessageAt, unreadCounts {uid: n}, lastReadSeq {uid: seq},
 *   seq (number of the newest message), isActive, archivedBy {uid: date},
 *   deletedBy {uid: date}, directKey, createdAt, updatedAt
 *
 * directKey is "<lower id>:<higher id>" for a direct conversation and
 * "g:<_id>" for a group; a unique index on it makes direct dedupe safe
 * under concurrent creates without a partial index.
 *
 * Every update addresses one document by _id alone: that is the only
 * filter FerretDB v1.24 pushes down to SQLite, and FerretDB applies
 * updates as read-modify-write, so callers serialize the updates of one
 * conversation with domain/conv_lock.h.
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
	int64_t			seq;		/* added users start here */
	int64_t			now;
};

int	convs_insert(const struct convs_new *, bson_t *);
int	convs_find(const bson_oid_t *, bson_t *);
int	convs_find_many(const struct oidlist *, struct doclist *);
int	convs_find_direct(const bson_oid_t *, const bson_oid_t *, bson_t *);
int	convs_list(const struct convs_query *, int64_t, int64_t,
	    struct doclist *);
int64_t	convs_count(const struct convs_query *);
int	convs_ids_of(const bson_oid_t *, int, struct oidlist *);
int	convs_partners_of(const bson_oid_t *, struct oidlist *);

int	convs_apply_message(const bson_oid_t *, int64_t, const bson_oid_t *,
	    const char *, int64_t, const struct oidlist *,
	    const struct oidlist *);
int	convs_set_read(const bson_oid_t *, const bson_oid_t *, int64_t,
	    int64_t);
int	convs_add_unread(const bson_oid_t *, const struct oidlist *, int);
int	convs_set_last_message(const bson_oid_t *, const char *, int64_t);
int	convs_set_mark(const bson_oid_t *, const char *, const bson_oid_t *,
	    int64_t);
int	convs_update_group(const bson_oid_t *, const struct convs_group_set *);

/* Readers over a stored conversation document. */
int	convs_doc_is_participant(const bson_t *, const bson_oid_t *);
int	convs_doc_visible_to(const bson_t *, const bson_oid_t *);
int	convs_doc_has_mark(const bson_t *, const char *, const bson_oid_t *);
int	convs_doc_is_group(const bson_t *);
int64_t	convs_doc_int(const bson_t *, const char *, int64_t);
int64_t	convs_doc_map_int(const bson_t *, const char *, const bson_oid_t *,
	    int64_t);
int	convs_doc_oid(const bson_t *, const char *, bson_oid_t *);
void	convs_doc_participants(const bson_t *, struct oidlist *);

#endif
