/*
 * Changing a stored message: edit, delete for everyone, delete for me
 * (hide), react. Each runs under its conversation's lock, and keeps the
 * counters unread counts and history totals are derived from exact
 * (store/conversations.h): a message that leaves someone's view after
 * their read position is skipped for them, and counted out of totals.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include "cache/heads.h"
#include "core/core.h"
#include "domain/conv_lock.h"
#include "domain/conv_state.h"
#include "domain/conversation_service.h"
#include "domain/domain.h"
#include "domain/msg_internal.h"
#include "lib/json.h"
#include "store/conversations.h"
#include "store/doc.h"
#include "store/store.h"

static int	change_load(const struct dom_caller *, const bson_oid_t *,
		    struct conv_lock *, bson_t *, bson_t *, bson_oid_t *,
		    bson_oid_t *, char *, size_t);
static void	msg_emit_deleted(struct evq *, const char *,
		    const bson_oid_t *, const bson_oid_t *, int);
static int	msg_touch_last(const bson_oid_t *, const bson_t *,
		    const bson_oid_t *, const char *, int64_t, struct evq *);

/* The message locked with its conversation, and who sent it where. */
static int
change_load(const struct dom_caller *u, const bson_oid_t *mid,
    struct conv_lock *lk, bson_t *msg, bson_t *conv, bson_oid_t *cid,
    bson_oid_t *sender, char *err, size_t errlen)
{
	int	status;

	if ((status = msg_lock_load(u, mid, NULL, lk, msg, conv, err,
	    errlen)) != 200)
		return (status);

	(void)doc_oid(msg, "conversationId", cid);
	(void)doc_oid(msg, "senderId", sender);
	return (200);
}

int
msg_edit(const struct dom_caller *u, const bson_oid_t *mid, const char *content,
    struct json *out, struct evq *ev, char *err, size_t errlen)
{
	struct conv_lock	lk;
	bson_oid_t		cid, sender;
	bson_t			msg, conv, after;
	int64_t			now;
	int			status, ret;

	if ((status = change_load(u, mid, &lk, &msg, &conv, &cid, &sender,
	    err, errlen)) != 200)
		return (status);
	now = core_now_ms();

	if (!bson_oid_equal(&sender, &u->oid))
		status = dom_fail(err, errlen, 403,
		    "You can only edit your own messages");
	else if (now - doc_date(&msg, "createdAt", now) > MSG_EDIT_WINDOW_MS)
		status = dom_fail(err, errlen, 400,
		    "Cannot edit messages older than 24 hours");
	bson_destroy(&msg);
	if (status != 200) {
		conv_unlock(&lk);
		bson_destroy(&conv);
		return (status);
	}

	ret = msgs_edit(mid, content, now);
	/* Editing the newest message edits the preview too (§2.11). */
	if (ret == STORE_OK)
		ret = msg_touch_last(&cid, &conv, mid, content, now, ev);
	if (ret == STORE_OK)
		ret = msgs_find(mid, &after);
	conv_unlock(&lk);
	bson_destroy(&conv);

	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, msg_not_found));

	status = msg_render_one(u, &after, out, ev, "message_updated", err,
	    errlen);
	bson_destroy(&after);

	return (status);
}

int
msg_delete(const struct dom_caller *u, const bson_oid_t *mid, struct evq *ev,
    char *err, size_t errlen)
{
	struct conv_lock	lk;
	struct oidlist		parts;
	struct convs_inc	inc[2 * CONVS_MEMBERS_MAX + 1];
	bson_oid_t		cid, sender;
	bson_t			msg, conv;
	char			room[64];
	int64_t			seq, now;
	size_t			i, n;
	int			status, ret;

	if ((status = change_load(u, mid, &lk, &msg, &conv, &cid, &sender,
	    err, errlen)) != 200)
		return (status);
	if (!bson_oid_equal(&sender, &u->oid)) {
		conv_unlock(&lk);
		bson_destroy(&msg);
		bson_destroy(&conv);
		return (dom_fail(err, errlen, 403,
		    "You can only delete your own messages"));
	}

	now = core_now_ms();
	seq = doc_int(&msg, "seq", 0);

	/*
	 * Skipped for whoever still counted it (not read, not hidden); out
	 * of everyone's totals, so off the hidden count of who had hid it.
	 */
	n = 0;
	inc[n++] = (struct convs_inc){ "deletedCount", NULL, 1 };
	oidlist_init(&parts);
	convs_doc_participants(&conv, &parts);
	for (i = 0; i < parts.n && n + 2 <= 2 * CONVS_MEMBERS_MAX + 1; i++) {
		if (!msgs_doc_visible_to(&msg, &parts.v[i])) {
			inc[n++] = (struct convs_inc){ "hiddenCounts",
			    &parts.v[i], -1 };
			continue;
		}
		if (bson_oid_equal(&parts.v[i], &sender) ||
		    doc_map_int(&conv, "lastReadSeq", &parts.v[i], 0) >= seq)
			continue;
		inc[n++] = (struct convs_inc){ "skipCounts", &parts.v[i], 1 };
	}
	bson_destroy(&msg);

	ret = msgs_delete_for_all(mid, now);
	if (ret == STORE_OK)
		ret = convs_adjust(&cid, inc, n);
	if (ret == STORE_OK)
		ret = msg_touch_last(&cid, &conv, mid, "", now, ev);
	conv_unlock(&lk);
	oidlist_free(&parts);
	bson_destroy(&conv);

	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, msg_not_found));

	dom_note_changed(ev, "conv", &cid);
	conv_event_room(room, sizeof(room), "conversation", &cid);
	msg_emit_deleted(ev, room, &cid, mid, 0);

	return (204);
}

int
msg_hide(const struct dom_caller *u, const bson_oid_t *mid, struct evq *ev,
    char *err, size_t errlen)
{
	struct conv_lock	lk;
	struct convs_inc	inc[2];
	bson_oid_t		cid, sender;
	bson_t			msg, conv;
	char			room[64];
	size_t			n;
	int			status, ret;

	if ((status = change_load(u, mid, &lk, &msg, &conv, &cid, &sender,
	    err, errlen)) != 200)
		return (status);

	/* Hidden messages do not count as unread (SPEC.md §2.9). */
	n = 0;
	inc[n++] = (struct convs_inc){ "hiddenCounts", &u->oid, 1 };
	if (!bson_oid_equal(&sender, &u->oid) &&
	    doc_map_int(&conv, "lastReadSeq", &u->oid, 0) <
	    doc_int(&msg, "seq", 0))
		inc[n++] = (struct convs_inc){ "skipCounts", &u->oid, 1 };
	bson_destroy(&msg);
	bson_destroy(&conv);

	ret = msgs_delete_for(mid, &u->oid, core_now_ms());
	if (ret == STORE_OK)
		ret = convs_adjust(&cid, inc, n);
	conv_unlock(&lk);

	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, msg_not_found));

	/* Only the caller's own sockets: nobody else's view changed. */
	dom_note_changed(ev, "conv", &cid);
	conv_event_room(room, sizeof(room), "user", &u->oid);
	msg_emit_deleted(ev, room, &cid, mid, 1);

	return (204);
}

int
msg_react(const struct dom_caller *u, const bson_oid_t *mid, const char *emoji,
    struct json *out, struct evq *ev, char *err, size_t errlen)
{
	struct conv_lock	lk;
	bson_t			msg, conv, after;
	int			status, ret;

	/* FerretDB rewrites the whole message: one change at a time. */
	if ((status = msg_lock_load(u, mid, NULL, &lk, &msg, &conv, err,
	    errlen)) != 200)
		return (status);
	bson_destroy(&msg);
	bson_destroy(&conv);

	if (emoji != NULL)
		ret = msgs_react(mid, &u->oid, emoji, core_now_ms());
	else
		ret = msgs_unreact(mid, &u->oid, core_now_ms());
	if (ret == STORE_OK)
		ret = msgs_find(mid, &after);
	conv_unlock(&lk);

	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, msg_not_found));

	status = msg_render_one(u, &after, out, ev, "message_updated", err,
	    errlen);
	bson_destroy(&after);

	if (status == 200 && emoji != NULL)
		status = 201;
	return (status);
}

int
msg_unreact(const struct dom_caller *u, const bson_oid_t *mid, struct json *out,
    struct evq *ev, char *err, size_t errlen)
{
	return (msg_react(u, mid, NULL, out, ev, err, errlen));
}

/* message_deleted {conversationId, messageId[, forMe]}. */
static void
msg_emit_deleted(struct evq *ev, const char *room, const bson_oid_t *cid,
    const bson_oid_t *mid, int for_me)
{
	struct json	j;

	if (ev == NULL)
		return;

	json_init(&j);
	json_obj_open(&j);
	json_koid(&j, "conversationId", cid);
	json_koid(&j, "messageId", mid);
	if (for_me)
		json_kbool(&j, "forMe", 1);
	json_obj_close(&j);
	evq_emit(ev, room, "message_deleted", &j);
	json_free(&j);
}

/*
 * mid is the conversation's newest message: its preview becomes content
 * (§2.11) and the room hears conversation_updated.
 */
static int
msg_touch_last(const bson_oid_t *cid, const bson_t *conv,
    const bson_oid_t *mid, const char *content, int64_t now, struct evq *ev)
{
	bson_oid_t	last;
	bson_t		after;
	int		ret;

	if (!doc_oid(conv, "lastMessageId", &last) ||
	    !bson_oid_equal(&last, mid))
		return (STORE_OK);

	if ((ret = convs_set_last_message(cid, content, now)) != STORE_OK)
		return (ret);
	/* The live head keeps a copy of the text too (cache/heads.h). */
	(void)heads_set_text(cid, mid, content);
	dom_note_changed(ev, "conv", cid);
	if (ev != NULL && conv_state_fresh(cid, &after) == STORE_OK) {
		msg_emit_conv_updated(ev, &after, cid);
		bson_destroy(&after);
	}

	return (STORE_OK);
}
