/*
 * The JSON shapes of conversations and messages (peer contract §4,
 * "MSG" and "CONV"), shared by REST responses and socket events so both
 * carry the same bytes. Users only ever appear as the public projection
 * (SPEC.md §2.4), loaded for a whole response with one $in query.
 */

#ifndef LNK_DOMAIN_CHAT_JSON_H
#define LNK_DOMAIN_CHAT_JSON_H

#include <sys/types.h>
#include <stddef.h>

#include <bson/bson.h>

struct doclist;
struct json;
struct user_public;

struct userset {
	struct user_public	*v;
	size_t			n;
	size_t			cap;
};

void	userset_init(struct userset *);
void	userset_add(struct userset *, const bson_oid_t *);
/* Adds the ObjectId (or every ObjectId of the array) at key of doc. */
void	userset_add_field(struct userset *, const bson_t *, const char *);
/* Puts a user whose projection is already known (the caller). */
void	userset_put(struct userset *, const struct user_public *);
int	userset_load(struct userset *);
const struct user_public *userset_find(const struct userset *,
	    const bson_oid_t *);
void	userset_free(struct userset *);

/* {_id, id, name, avatar, isVerified, isPremium} */
void	cj_user(struct json *, const struct userset *, const bson_oid_t *);
/* {_id, id, name, avatar} */
void	cj_user_brief(struct json *, const struct userset *,
	    const bson_oid_t *);

/*
 * MSG: senderId populated from users, replyToId populated from replies
 * when the replied message is there (else its id), conversationId
 * populated from convs (search results) when not NULL.
 */
void	cj_message(struct json *, const bson_t *, const struct userset *,
	    const struct doclist *, const struct doclist *);
/* CONV: users NULL leaves participants and groupAdmin as ids. */
void	cj_conversation(struct json *, const bson_t *, const struct userset *);
/* A list item: CONV + participantDetails + lastMessageDetails. */
void	cj_conversation_item(struct json *, const bson_t *,
	    const struct userset *, const bson_t *);

/* unreadCounts, derived from a stored conversation. */
void	cj_unread_counts(struct json *, const bson_t *);

/* PAGINATION: {page, limit, totalPages, totalCount, hasNext, hasPrev} */
void	cj_pagination_fields(struct json *, int64_t, int64_t, int64_t);

#endif
