/*
 * Conversations: the business rules of peer contract §4.1 with the fixes
 * of SPEC.md §2 (3, 5, 7, 8, 9, 10). See domain.h for the conventions.
 *
 * Inputs are validated for shape by the caller (REST adapter or socket
 * handler); the rules that need the database are checked here.
 */

#ifndef LNK_DOMAIN_CONVERSATION_SERVICE_H
#define LNK_DOMAIN_CONVERSATION_SERVICE_H

#include <sys/types.h>
#include <stdint.h>

#include <bson/bson.h>

#include "domain/caller.h"
#include "domain/events.h"
#include "lib/json.h"
#include "lib/doclist.h"

struct evq;
struct json;

#define CONV_MIN_PARTICIPANTS	2
#define CONV_MAX_PARTICIPANTS	50
/* A list reads at most this many of a user's conversations to sort. */
#define CONV_LIST_SCAN_MAX	5000

struct conv_create_in {
	const bson_oid_t	*participants;	/* the caller may be absent */
	size_t			nparticipants;
	int			group;		/* type "group" */
	const char		*group_name;	/* cleaned, or NULL */
	const char		*group_avatar;	/* safe URL, or NULL */
};

struct conv_list_in {
	int64_t			page;		/* ≥ 1 */
	int64_t			limit;		/* 1..100 */
	const char		*type;		/* "direct", "group" or NULL */
	const char		*search;	/* raw user text, or NULL */
	int			archived;
};

struct conv_update_in {
	const char		*group_name;	/* NULL: unchanged */
	const char		*group_avatar;	/* NULL: unchanged */
	const bson_oid_t	*admin;		/* NULL: unchanged */
	const bson_oid_t	*add;
	size_t			nadd;
	const bson_oid_t	*remove;
	size_t			nremove;
};

/* 201 new, 200 an existing direct conversation (dedupe); out: CONV. */
int	conv_create(const struct dom_caller *, const struct conv_create_in *,
	    struct json *, struct evq *, char *, size_t);
/* 200 {conversations, pagination}. */
int	conv_list(const struct dom_caller *, const struct conv_list_in *,
	    struct json *, char *, size_t);
/* 200 CONV with participants and groupAdmin populated. */
int	conv_get(const struct dom_caller *, const bson_oid_t *, struct json *,
	    char *, size_t);
/* 200 CONV; 403 not the group admin; 400 on direct conversations. */
int	conv_update(const struct dom_caller *, const bson_oid_t *,
	    const struct conv_update_in *, struct json *, struct evq *, char *,
	    size_t);
/* 204: archive (1) or unarchive (0) for the caller. */
int	conv_archive(const struct dom_caller *, const bson_oid_t *, int,
	    struct evq *, char *, size_t);
/* 204: hide the conversation for the caller. */
int	conv_delete(const struct dom_caller *, const bson_oid_t *, struct evq *,
	    char *, size_t);
/* 200 {conversationId, unreadCount}. */
int	conv_unread(const struct dom_caller *, const bson_oid_t *,
	    struct json *, char *, size_t);

/*
 * For the realtime layer.
 * conv_rooms_of: every conversation the user is in and has not deleted,
 * archived ones included (the rooms a socket joins at connect).
 * conv_check_participant: 200, 404 "Conversation not found", or 503.
 */
int	conv_rooms_of(const bson_oid_t *, struct oidlist *);
/* The participant check from the membership memo; m filled on 200. */
struct convs_members;
int	conv_members_visible(const bson_oid_t *, const bson_oid_t *,
	    struct convs_members *, char *, size_t);
int	conv_check_participant(const bson_oid_t *, const bson_oid_t *, char *,
	    size_t);

/* Shared with the message service: load conv if visible to the user. */
int	conv_load_fresh(const bson_oid_t *, const bson_oid_t *, bson_t *,
	    char *, size_t);
int	conv_load_visible(const bson_oid_t *, const bson_oid_t *, bson_t *,
	    char *, size_t);
/* "<prefix>:<hex id>": the user: and conversation: rooms. */
void	conv_event_room(char *, size_t, const char *, const bson_oid_t *);
/*
 * Appends new_conversation {conversation} or conversation_updated
 * {conversationId, lastMessage, lastMessageAt[, flag], conversation}.
 */
void	conv_emit(struct evq *, const char *, const char *, const bson_t *,
	    const char *, int);

#endif
