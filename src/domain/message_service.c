/*
 * Messages: the rules of peer contract §4.2–4.3 with the fixes of
 * SPEC.md §2 (3, 5, 6, 9–13) and the additions of §3 (seq, cursor
 * paging, clientMessageId idempotency, content rules, rate limits). One
 * file per seam: msg_input.c (what a client sends), msg_send.c (the
 * checks of a send), msg_commit.c (the batches that number and store
 * them, with msg_number.c and msg_heads.c), msg_read.c (history and the
 * read position), msg_change.c (edit, delete, react). This file holds
 * what they share: loading a message the caller may see, and the shapes
 * of its events.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include "domain/chat_json.h"
#include "domain/conv_lock.h"
#include "domain/conversation_service.h"
#include "domain/domain.h"
#include "domain/msg_internal.h"
#include "lib/json.h"
#include "store/conversations.h"
#include "store/doc.h"
#include "store/store.h"
#include "store/users.h"

const char	*msg_not_found = "Message not found";
const char	*msg_conv_not_found = "Conversation not found";

/*
 * A message the caller may see: it exists, is not deleted (for all or
 * for them), and its conversation passes the participant check. Every
 * failure is the same 404 (SPEC.md §2.3). conv, when not NULL, gets the
 * conversation as it is now (read for a write under the lock); without
 * it the membership memo answers.
 */
int
msg_load(const struct dom_caller *u, const bson_oid_t *mid, bson_t *msg,
    bson_t *conv, char *err, size_t errlen)
{
	struct convs_members	m;
	bson_oid_t		cid;
	int			ret, status;

	if ((ret = msgs_find(mid, msg)) != STORE_OK)
		return (dom_store_fail(err, errlen, ret, msg_not_found));

	if (!msgs_doc_visible_to(msg, &u->oid) ||
	    !doc_oid(msg, "conversationId", &cid)) {
		bson_destroy(msg);
		return (dom_fail(err, errlen, 404, "%s", msg_not_found));
	}

	if (conv == NULL)
		status = conv_members_visible(&cid, &u->oid, &m, err, errlen);
	else
		status = conv_load_fresh(&cid, &u->oid, conv, err, errlen);
	if (status != 200) {
		bson_destroy(msg);
		return (status == 404 ? dom_fail(err, errlen, 404, "%s",
		    msg_not_found) : status);
	}

	return (200);
}

/*
 * msg_load under the lock of the message's conversation: found first
 * (outsiders get their 404 without taking a lock), then read again once
 * the lock is held. cid, when not NULL, must be its conversation (socket
 * mark_read names both). 200: the caller holds lk.
 */
int
msg_lock_load(const struct dom_caller *u, const bson_oid_t *mid,
    const bson_oid_t *cid, struct conv_lock *lk, bson_t *msg, bson_t *conv,
    char *err, size_t errlen)
{
	bson_oid_t	mcid;
	bson_t		doc;
	int		ret, status;

	if ((ret = msgs_find(mid, &doc)) != STORE_OK)
		return (dom_store_fail(err, errlen, ret, msg_not_found));
	if (!doc_oid(&doc, "conversationId", &mcid) ||
	    !msgs_doc_visible_to(&doc, &u->oid) ||
	    (cid != NULL && !bson_oid_equal(cid, &mcid))) {
		bson_destroy(&doc);
		return (dom_fail(err, errlen, 404, "%s", msg_not_found));
	}
	bson_destroy(&doc);

	if ((status = conv_check_participant(&mcid, &u->oid, err, errlen)) !=
	    200)
		return (status == 404 ? dom_fail(err, errlen, 404, "%s",
		    msg_not_found) : status);

	if (conv_lock(&mcid, lk) == -1)
		return (dom_fail(err, errlen, 503,
		    "Conversation busy, try again later"));

	if ((status = msg_load(u, mid, msg, conv, err, errlen)) != 200)
		conv_unlock(lk);

	return (status);
}

/* out ← MSG (sender and reply populated); ev ← event name, if any. */
int
msg_render_one(const struct dom_caller *u, const bson_t *msg, struct json *out,
    struct evq *ev, const char *event, char *err, size_t errlen)
{
	struct userset		users;
	struct doclist		replies;
	struct oidlist		rids;
	struct user_public	me;
	struct json		own, *rendered;
	bson_oid_t		oid, cid;
	char			room[64];
	int			ret;

	userset_init(&users);
	doclist_init(&replies);
	oidlist_init(&rids);

	msg_caller(u, &me);
	userset_put(&users, &me);
	userset_add_field(&users, msg, "senderId");
	if (doc_oid(msg, "replyToId", &oid))
		oidlist_add(&rids, &oid);

	if ((ret = userset_load(&users)) == STORE_OK)
		ret = msgs_find_many(&rids, &replies);

	/* Rendered once, for the answer and the event alike. */
	json_init(&own);
	rendered = out != NULL ? out : &own;
	if (ret == STORE_OK && (out != NULL || ev != NULL))
		cj_message(rendered, msg, &users, &replies, NULL);
	if (ret == STORE_OK && ev != NULL && event != NULL &&
	    doc_oid(msg, "conversationId", &cid)) {
		conv_event_room(room, sizeof(room), "conversation", &cid);
		msg_emit_message(ev, room, event, &cid, rendered);
	}
	json_free(&own);

	userset_free(&users);
	doclist_free(&replies);
	oidlist_free(&rids);

	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, msg_not_found));

	return (200);
}

/*
 * new_message / message_updated: {conversationId, message};
 * message_received: {message, conversationId} (peer contract §5.6).
 */
void
msg_emit_message(struct evq *ev, const char *room, const char *name,
    const bson_oid_t *cid, struct json *msg)
{
	struct json	j;
	const u_int8_t	*data;
	size_t		len;
	int		received;

	received = !strcmp(name, "message_received");
	data = json_data(msg, &len);

	json_init(&j);
	json_obj_open(&j);
	if (!received)
		json_koid(&j, "conversationId", cid);
	json_key(&j, "message");
	json_raw(&j, (const char *)data, len);
	if (received)
		json_koid(&j, "conversationId", cid);
	json_obj_close(&j);

	evq_emit(ev, room, name, &j);
	json_free(&j);
}

/*
 * conversation_updated after a send or an edit/delete of the newest
 * message: {conversationId, lastMessage, lastMessageAt, unreadCounts}
 * (the peer's payload, plus the counters it never pushed, §8.13).
 */
void
msg_emit_conv_updated(struct evq *ev, const bson_t *conv,
    const bson_oid_t *cid)
{
	struct json	j;
	bson_iter_t	it;
	char		room[64];

	json_init(&j);
	json_obj_open(&j);
	json_koid(&j, "conversationId", cid);
	json_kstr(&j, "lastMessage", doc_str(conv, "lastMessage") ?
	    doc_str(conv, "lastMessage") : "");
	if (bson_iter_init_find(&it, conv, "lastMessageAt")) {
		json_key(&j, "lastMessageAt");
		json_bson_value(&j, &it);
	}
	json_key(&j, "unreadCounts");
	cj_unread_counts(&j, conv);
	json_obj_close(&j);

	conv_event_room(room, sizeof(room), "conversation", cid);
	evq_emit(ev, room, "conversation_updated", &j);
	json_free(&j);
}

/* message_read {messageId, conversationId, readBy, readAt}. */
void
msg_emit_read(struct evq *ev, const bson_oid_t *cid, const bson_oid_t *mid,
    const bson_oid_t *user, int64_t at)
{
	struct json	j;
	char		room[64];

	json_init(&j);
	json_obj_open(&j);
	json_koid(&j, "messageId", mid);
	json_koid(&j, "conversationId", cid);
	json_koid(&j, "readBy", user);
	json_kdate(&j, "readAt", at);
	json_obj_close(&j);

	conv_event_room(room, sizeof(room), "conversation", cid);
	evq_emit(ev, room, "message_read", &j);
	json_free(&j);
}

void
msg_caller(const struct dom_caller *u, struct user_public *me)
{
	memset(me, 0, sizeof(*me));
	bson_oid_copy(&u->oid, &me->oid);
	me->found = 1;
	(void)snprintf(me->name, sizeof(me->name), "%s", u->name);
	(void)snprintf(me->avatar, sizeof(me->avatar), "%s", u->avatar);
	me->is_verified = u->is_verified;
	me->is_premium = u->is_premium;
}
