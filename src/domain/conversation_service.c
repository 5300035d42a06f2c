/*
 * Conversations (see conversation_service.h): create, read, archive,
 * delete, and the participant checks every other rule starts with. The
 * list is conv_list.c's, group changes conv_group.c's.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/metrics.h"
#include "domain/chat_json.h"
#include "domain/conv_internal.h"
#include "domain/conv_lock.h"
#include "domain/conv_state.h"
#include "domain/conversation_service.h"
#include "domain/domain.h"
#include "domain/events.h"
#include "lib/doclist.h"
#include "lib/json.h"
#include "store/conversations.h"
#include "store/doc.h"
#include "store/store.h"
#include "store/users.h"

static int	conv_reopen(const struct dom_caller *, bson_t *, struct json *,
		    struct evq *, char *, size_t);
static int	conv_mark(const struct dom_caller *, const bson_oid_t *,
		    const char *, int64_t, bson_t *, char *, size_t);
static int	conv_load(const bson_oid_t *, const bson_oid_t *, int,
		    bson_t *, char *, size_t);

const char	*conv_not_found = "Conversation not found";

int
conv_create(const struct dom_caller *u, const struct conv_create_in *in,
    struct json *out, struct evq *ev, char *err, size_t errlen)
{
	struct convs_new	c;
	struct oidlist		all;
	bson_t			doc;
	char			room[64], target[64];
	int64_t			found;
	size_t			i;
	int			ret, status;

	/* Duplicates in the request are one participant, not an error. */
	oidlist_init(&all);
	for (i = 0; i < in->nparticipants; i++)
		oidlist_add(&all, &in->participants[i]);
	oidlist_add(&all, &u->oid);

	if (!in->group && all.n != 2) {
		status = dom_fail(err, errlen, 400,
		    "Direct conversations must have exactly 2 participants");
		goto done;
	}
	if (in->group && in->group_name == NULL) {
		status = dom_fail(err, errlen, 400,
		    "Group name is required for group conversations");
		goto done;
	}
	if ((status = conv_size_check(all.n, err, errlen)) != 200)
		goto done;

	if ((ret = users_count_existing(all.v, all.n, &found)) != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, conv_not_found);
		goto done;
	}
	if (found != (int64_t)all.n) {
		status = dom_fail(err, errlen, 400,
		    "One or more participants do not exist");
		goto done;
	}

	/* Direct conversations are deduplicated (SPEC.md §2.7). */
	if (!in->group) {
		ret = convs_find_direct(&all.v[0], &all.v[1], &doc);
		if (ret == STORE_OK) {
			status = conv_reopen(u, &doc, out, ev, err, errlen);
			bson_destroy(&doc);
			goto done;
		}
		if (ret != STORE_NOTFOUND) {
			status = dom_store_fail(err, errlen, ret,
			    conv_not_found);
			goto done;
		}
	}

	memset(&c, 0, sizeof(c));
	bson_oid_init(&c.id, NULL);
	c.participants = all.v;
	c.nparticipants = all.n;
	c.group = in->group;
	c.group_name = in->group ? in->group_name : NULL;
	c.group_avatar = in->group ? in->group_avatar : NULL;
	c.admin = in->group ? &u->oid : NULL;
	c.now = core_now_ms();

	ret = convs_insert(&c, &doc);
	if (ret == STORE_DUP && !in->group) {
		/* Lost a race with the same pair: that one is the chat. */
		if ((ret = convs_find_direct(&all.v[0], &all.v[1], &doc)) ==
		    STORE_OK) {
			status = conv_reopen(u, &doc, out, ev, err, errlen);
			bson_destroy(&doc);
			goto done;
		}
	}
	if (ret != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, conv_not_found);
		goto done;
	}

	metrics_inc(METRIC_CONVERSATIONS_CREATED,
	    in->group ? "group" : "direct");

	/*
	 * Every participant's sockets join the room first, then each one
	 * hears about it (SPEC.md §2.8): a message sent right after the
	 * 201 reaches sockets that are already in the room.
	 */
	conv_event_room(target, sizeof(target), "conversation", &c.id);
	dom_note_members(ev, &c.id, all.v, all.n);
	for (i = 0; ev != NULL && i < all.n; i++) {
		conv_event_room(room, sizeof(room), "user", &all.v[i]);
		evq_join(ev, room, target);
	}
	for (i = 0; ev != NULL && i < all.n; i++) {
		conv_event_room(room, sizeof(room), "user", &all.v[i]);
		conv_emit(ev, room, "new_conversation", &doc,
		    NULL, 0);
	}

	if (out != NULL)
		cj_conversation(out, &doc, NULL);
	bson_destroy(&doc);
	status = 201;

done:
	oidlist_free(&all);
	return (status);
}

int
conv_get(const struct dom_caller *u, const bson_oid_t *id, struct json *out,
    char *err, size_t errlen)
{
	struct userset	users;
	bson_t		doc;
	int		status, ret;

	if ((status = conv_load_visible(id, &u->oid, &doc, err, errlen)) !=
	    200)
		return (status);

	userset_init(&users);
	userset_add_field(&users, &doc, "participants");
	userset_add_field(&users, &doc, "groupAdmin");
	if ((ret = userset_load(&users)) != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, conv_not_found);
	} else {
		cj_conversation(out, &doc, &users);
		status = 200;
	}

	userset_free(&users);
	bson_destroy(&doc);
	return (status);
}

int
conv_archive(const struct dom_caller *u, const bson_oid_t *id, int archive,
    struct evq *ev, char *err, size_t errlen)
{
	bson_t		after;
	char		room[64];
	int		status;

	status = conv_mark(u, id, "archivedBy", archive ? core_now_ms() : 0,
	    &after, err, errlen);
	if (status != 200)
		return (status);

	/* Archiving is the caller's own view: only their sockets hear it. */
	conv_event_room(room, sizeof(room), "user", &u->oid);
	if (ev != NULL)
		conv_emit(ev, room, "conversation_updated", &after,
		    "archived", archive);
	bson_destroy(&after);

	return (204);
}

int
conv_delete(const struct dom_caller *u, const bson_oid_t *id, struct evq *ev,
    char *err, size_t errlen)
{
	bson_t		after;
	char		room[64], target[64];
	int		status;

	status = conv_mark(u, id, "deletedBy", core_now_ms(), &after, err,
	    errlen);
	if (status != 200)
		return (status);
	dom_note_members(ev, id, &u->oid, 1);

	/* Hidden for the caller: their sockets stop following it. */
	conv_event_room(room, sizeof(room), "user", &u->oid);
	conv_event_room(target, sizeof(target), "conversation", id);
	if (ev != NULL) {
		conv_emit(ev, room, "conversation_updated", &after,
		    "deleted", 1);
		evq_leave(ev, room, target);
	}
	bson_destroy(&after);

	return (204);
}

int
conv_unread(const struct dom_caller *u, const bson_oid_t *id, struct json *out,
    char *err, size_t errlen)
{
	bson_t		doc;
	char		hex[25];
	int64_t		n;
	int		status;

	if ((status = conv_load_visible(id, &u->oid, &doc, err, errlen)) !=
	    200)
		return (status);

	n = convs_doc_unread(&doc, &u->oid);
	bson_destroy(&doc);

	bson_oid_to_string(id, hex);
	json_obj_open(out);
	json_kstr(out, "conversationId", hex);
	json_kint(out, "unreadCount", n > 0 ? n : 0);
	json_obj_close(out);

	return (200);
}

int
conv_rooms_of(const bson_oid_t *user, struct oidlist *out)
{
	int		ret;

	if ((ret = convs_ids_of(user, 1, out)) != STORE_OK)
		return (dom_store_fail(NULL, 0, ret, conv_not_found));

	return (200);
}

int
conv_check_participant(const bson_oid_t *id, const bson_oid_t *user,
    char *err, size_t errlen)
{
	struct convs_members	m;

	return (conv_members_visible(id, user, &m, err, errlen));
}

/* The participant check from the membership memo (store/memo.h). */
int
conv_members_visible(const bson_oid_t *id, const bson_oid_t *user,
    struct convs_members *m, char *err, size_t errlen)
{
	int		ret;

	if ((ret = convs_members(id, m)) != STORE_OK)
		return (dom_store_fail(err, errlen, ret, conv_not_found));

	if (!convs_members_visible_to(m, user))
		return (dom_fail(err, errlen, 404, "%s", conv_not_found));

	return (200);
}

/*
 * The participant check (SPEC.md §2.3): a conversation that does not
 * exist and one the user may not see answer the same 404.
 */
int
conv_load_visible(const bson_oid_t *id, const bson_oid_t *user, bson_t *out,
    char *err, size_t errlen)
{
	return (conv_load(id, user, 0, out, err, errlen));
}

/* Under the lock, before a write: read now, not from the memo. */
int
conv_load_fresh(const bson_oid_t *id, const bson_oid_t *user, bson_t *out,
    char *err, size_t errlen)
{
	return (conv_load(id, user, 1, out, err, errlen));
}

static int
conv_load(const bson_oid_t *id, const bson_oid_t *user, int fresh,
    bson_t *out, char *err, size_t errlen)
{
	int		ret;

	ret = fresh ? conv_state_fresh(id, out) : conv_state(id, out);
	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, conv_not_found));

	if (!convs_doc_visible_to(out, user)) {
		bson_destroy(out);
		return (dom_fail(err, errlen, 404, "%s", conv_not_found));
	}

	return (200);
}

void
conv_event_room(char *buf, size_t len, const char *prefix,
    const bson_oid_t *oid)
{
	char		hex[25];

	bson_oid_to_string(oid, hex);
	(void)snprintf(buf, len, "%s:%s", prefix, hex);
}

/*
 * Dedupe found the direct conversation: it comes back for a caller who
 * had deleted it (SPEC.md §2.7), and both participants' sockets are
 * (re)joined to its room; only the caller's own sockets are told.
 */
static int
conv_reopen(const struct dom_caller *u, bson_t *doc, struct json *out,
    struct evq *ev, char *err, size_t errlen)
{
	struct conv_lock	lk;
	struct oidlist		parts;
	bson_oid_t		id;
	bson_t			after;
	char			room[64], target[64];
	size_t			i;
	int			ret;

	(void)doc_oid(doc, "_id", &id);

	if (convs_doc_has_mark(doc, "deletedBy", &u->oid)) {
		if (conv_lock(&id, &lk) == -1)
			return (dom_fail(err, errlen, 503,
			    "Conversation busy, try again later"));
		ret = convs_set_mark(&id, "deletedBy", &u->oid, 0);
		if (ret == STORE_OK)
			ret = conv_state_fresh(&id, &after);
		conv_unlock(&lk);
		if (ret != STORE_OK)
			return (dom_store_fail(err, errlen, ret,
			    conv_not_found));
		bson_reinit(doc);
		bson_copy_to_excluding_noinit(&after, doc, "", NULL);
		bson_destroy(&after);
		dom_note_members(ev, &id, &u->oid, 1);
	}

	oidlist_init(&parts);
	convs_doc_participants(doc, &parts);
	conv_event_room(target, sizeof(target), "conversation", &id);
	for (i = 0; ev != NULL && i < parts.n; i++) {
		conv_event_room(room, sizeof(room), "user", &parts.v[i]);
		evq_join(ev, room, target);
	}
	oidlist_free(&parts);

	conv_event_room(room, sizeof(room), "user", &u->oid);
	if (ev != NULL)
		conv_emit(ev, room, "new_conversation", doc,
		    NULL, 0);

	if (out != NULL)
		cj_conversation(out, doc, NULL);

	return (200);
}

/* archivedBy / deletedBy for the caller, under the conversation lock. */
static int
conv_mark(const struct dom_caller *u, const bson_oid_t *id, const char *field,
    int64_t at, bson_t *after, char *err, size_t errlen)
{
	struct conv_lock	lk;
	bson_t			doc;
	int			status, ret;

	if ((status = conv_load_visible(id, &u->oid, &doc, err, errlen)) !=
	    200)
		return (status);
	bson_destroy(&doc);

	if (conv_lock(id, &lk) == -1)
		return (dom_fail(err, errlen, 503,
		    "Conversation busy, try again later"));

	ret = convs_set_mark(id, field, &u->oid, at);
	if (ret == STORE_OK)
		ret = conv_state_fresh(id, after);
	conv_unlock(&lk);

	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, conv_not_found));

	return (200);
}

/*
 * {conversation: CONV} (new_conversation) or conversation_updated:
 * {conversationId, lastMessage, lastMessageAt, conversation[, flag]}.
 */
void
conv_emit(struct evq *ev, const char *room, const char *name,
    const bson_t *doc, const char *flag, int value)
{
	struct json	j;
	bson_iter_t	it;

	json_init(&j);
	json_obj_open(&j);
	if (!strcmp(name, "conversation_updated")) {
		if (bson_iter_init_find(&it, doc, "_id")) {
			json_key(&j, "conversationId");
			json_bson_value(&j, &it);
		}
		if (bson_iter_init_find(&it, doc, "lastMessage")) {
			json_key(&j, "lastMessage");
			json_bson_value(&j, &it);
		}
		if (bson_iter_init_find(&it, doc, "lastMessageAt")) {
			json_key(&j, "lastMessageAt");
			json_bson_value(&j, &it);
		}
		if (flag != NULL)
			json_kbool(&j, flag, value);
	}
	json_key(&j, "conversation");
	cj_conversation(&j, doc, NULL);
	json_obj_close(&j);

	evq_emit(ev, room, name, &j);
	json_free(&j);
}

int
conv_size_check(size_t n, char *err, size_t errlen)
{
	if (n < CONV_MIN_PARTICIPANTS || n > CONV_MAX_PARTICIPANTS)
		return (dom_fail(err, errlen, 400, "A conversation must have "
		    "between %d and %d participants", CONV_MIN_PARTICIPANTS,
		    CONV_MAX_PARTICIPANTS));

	return (200);
}
