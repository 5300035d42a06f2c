/*
 * Conversations (see conversation_service.h).
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/metrics.h"
#include "domain/chat_json.h"
#include "domain/conv_lock.h"
#include "domain/conv_state.h"
#include "domain/conversation_service.h"
#include "domain/domain.h"
#include "domain/events.h"
#include "lib/json.h"
#include "lib/text.h"
#include "store/conversations.h"
#include "store/doc.h"
#include "lib/doclist.h"
#include "store/messages.h"
#include "store/store.h"
#include "store/users.h"

static int	conv_reopen(const struct dom_caller *, bson_t *, struct json *,
		    struct evq *, char *, size_t);
static int	conv_mark(const struct dom_caller *, const bson_oid_t *,
		    const char *, int64_t, bson_t *, char *, size_t);
static int	conv_load(const bson_oid_t *, const bson_oid_t *, int,
		    bson_t *, char *, size_t);
static int	conv_cmp_recent(const void *, const void *);
static int	conv_partners_named(const struct oidlist *, const char *,
		    struct oidlist *);
static int	conv_group_changes(const bson_t *, const struct dom_caller *,
		    const struct conv_update_in *, struct oidlist *,
		    struct oidlist *, struct oidlist *, char *, size_t);

static const char *conv_not_found = "Conversation not found";

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
	if (all.n < CONV_MIN_PARTICIPANTS || all.n > CONV_MAX_PARTICIPANTS) {
		status = dom_fail(err, errlen, 400, "A conversation must have "
		    "between %d and %d participants", CONV_MIN_PARTICIPANTS,
		    CONV_MAX_PARTICIPANTS);
		goto done;
	}

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
conv_list(const struct dom_caller *u, const struct conv_list_in *in,
    struct json *out, char *err, size_t errlen)
{
	struct convs_query	q;
	struct oidlist		partners, matched, lastids;
	struct doclist		docs, last, all;
	struct userset		users;
	const bson_t		*lm;
	bson_oid_t		oid;
	bson_iter_t		it;
	char			*pattern;
	int64_t			total;
	size_t			i, k;
	int			ret, status;

	pattern = NULL;
	oidlist_init(&partners);
	oidlist_init(&matched);
	oidlist_init(&lastids);
	doclist_init(&docs);
	doclist_init(&last);
	doclist_init(&all);
	userset_init(&users);

	memset(&q, 0, sizeof(q));
	q.user = &u->oid;
	q.archived = in->archived ? 1 : 0;
	q.type = in->type;

	/*
	 * Search matches the group name or a partner's name. FerretDB has
	 * no $lookup: find the partners whose name matches first, then the
	 * conversations that have one of them. Escaped (SPEC.md §2.6).
	 */
	if (in->search != NULL && in->search[0] != '\0') {
		pattern = text_regex_escape(in->search);
		q.pattern = pattern;
		q.matched = &matched;
		if ((ret = convs_partners_of(&u->oid, &partners)) != STORE_OK ||
		    (ret = conv_partners_named(&partners, in->search,
		    &matched)) != STORE_OK) {
			status = dom_store_fail(err, errlen, ret,
			    conv_not_found);
			goto done;
		}
	}

	/*
	 * Every matching conversation, then the live heads over them, then
	 * the order and the page: a head newer than its document moves the
	 * conversation up the list. FerretDB reads them all to sort anyway.
	 */
	if ((ret = convs_list(&q, 0, CONV_LIST_SCAN_MAX, &all)) != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, conv_not_found);
		goto done;
	}
	conv_state_overlay(&all);
	qsort(all.docs, all.n, sizeof(all.docs[0]), conv_cmp_recent);
	total = (int64_t)all.n;
	for (i = (size_t)((in->page - 1) * in->limit);
	    i < all.n && docs.n < (size_t)in->limit; i++)
		doclist_push(&docs, all.docs[i]);

	for (i = 0; i < docs.n; i++) {
		userset_add_field(&users, docs.docs[i], "participants");
		if (doc_oid(docs.docs[i], "lastMessageId", &oid))
			oidlist_add(&lastids, &oid);
	}
	if ((ret = msgs_find_many(&lastids, &last)) != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, conv_not_found);
		goto done;
	}
	for (i = 0; i < last.n; i++)
		userset_add_field(&users, last.docs[i], "senderId");
	if ((ret = userset_load(&users)) != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, conv_not_found);
		goto done;
	}

	json_obj_open(out);
	json_key(out, "conversations");
	json_arr_open(out);
	for (i = 0; i < docs.n; i++) {
		lm = NULL;
		if (doc_oid(docs.docs[i], "lastMessageId", &oid)) {
			for (k = 0; k < last.n; k++) {
				if (bson_iter_init_find(&it, last.docs[k],
				    "_id") && BSON_ITER_HOLDS_OID(&it) &&
				    bson_oid_equal(bson_iter_oid(&it), &oid) &&
				    msgs_doc_visible_to(last.docs[k], &u->oid))
					lm = last.docs[k];
			}
		}
		cj_conversation_item(out, docs.docs[i], &users, lm);
	}
	json_arr_close(out);
	json_key(out, "pagination");
	json_obj_open(out);
	cj_pagination_fields(out, in->page, in->limit, total);
	json_obj_close(out);
	json_obj_close(out);
	status = 200;

done:
	free(pattern);
	oidlist_free(&partners);
	oidlist_free(&matched);
	oidlist_free(&lastids);
	doclist_free(&docs);
	doclist_free(&last);
	doclist_free(&all);
	userset_free(&users);
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
conv_update(const struct dom_caller *u, const bson_oid_t *id,
    const struct conv_update_in *in, struct json *out, struct evq *ev,
    char *err, size_t errlen)
{
	struct convs_group_set	g;
	struct conv_lock	lk;
	struct oidlist		next, added, removed;
	bson_t			doc, after;
	char			room[64], target[64];
	size_t			i;
	int			status, ret, locked;

	if ((status = conv_load_visible(id, &u->oid, &doc, err, errlen)) !=
	    200)
		return (status);
	bson_destroy(&doc);

	oidlist_init(&next);
	oidlist_init(&added);
	oidlist_init(&removed);
	locked = 0;

	if (conv_lock(id, &lk) == -1) {
		status = dom_fail(err, errlen, 503,
		    "Conversation busy, try again later");
		goto done_nodoc;
	}
	locked = 1;

	/* Checked again under the lock: membership may have changed. */
	if ((status = conv_load_fresh(id, &u->oid, &doc, err, errlen)) !=
	    200)
		goto done_nodoc;

	if ((status = conv_group_changes(&doc, u, in, &next, &added,
	    &removed, err, errlen)) != 200)
		goto done;

	if (!convs_doc_is_group(&doc)) {
		/* Nothing to change on a direct conversation: as it is. */
		if (out != NULL)
			cj_conversation(out, &doc, NULL);
		status = 200;
		goto done;
	}

	memset(&g, 0, sizeof(g));
	g.group_name = in->group_name;
	g.group_avatar = in->group_avatar;
	g.admin = in->admin;
	g.participants = (added.n > 0 || removed.n > 0) ? &next : NULL;
	g.added = &added;
	g.removed = &removed;
	g.doc = &doc;
	g.now = core_now_ms();

	if ((ret = convs_update_group(id, &g)) != STORE_OK ||
	    (ret = conv_state_fresh(id, &after)) != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, conv_not_found);
		goto done;
	}

	conv_unlock(&lk);
	locked = 0;

	/*
	 * The room hears the change before removed users leave it (so they
	 * learn about it too); added users join, then get the conversation.
	 */
	conv_event_room(target, sizeof(target), "conversation", id);
	dom_note_members(ev, id, next.v, next.n);
	dom_note_members(ev, id, removed.v, removed.n);
	if (ev != NULL) {
		conv_emit(ev, target, "conversation_updated",
		    &after, NULL, 0);
		for (i = 0; i < removed.n; i++) {
			conv_event_room(room, sizeof(room), "user",
			    &removed.v[i]);
			evq_leave(ev, room, target);
		}
		for (i = 0; i < added.n; i++) {
			conv_event_room(room, sizeof(room), "user",
			    &added.v[i]);
			evq_join(ev, room, target);
		}
		for (i = 0; i < added.n; i++) {
			conv_event_room(room, sizeof(room), "user",
			    &added.v[i]);
			conv_emit(ev, room, "new_conversation",
			    &after, NULL, 0);
		}
	}

	if (out != NULL)
		cj_conversation(out, &after, NULL);
	bson_destroy(&after);
	status = 200;

done:
	bson_destroy(&doc);
done_nodoc:
	if (locked)
		conv_unlock(&lk);
	oidlist_free(&next);
	oidlist_free(&added);
	oidlist_free(&removed);
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

/*
 * The membership rules of PUT /api/conversations/:id (SPEC.md §2.7):
 * computes the new participant list, or the 4xx that forbids it.
 */
static int
conv_group_changes(const bson_t *doc, const struct dom_caller *u,
    const struct conv_update_in *in, struct oidlist *next,
    struct oidlist *added, struct oidlist *removed, char *err, size_t errlen)
{
	struct oidlist	cur;
	bson_oid_t	admin;
	int64_t		found;
	size_t		i, k;
	int		status, ret, has_admin;

	if (!convs_doc_is_group(doc)) {
		if (in->group_name != NULL || in->group_avatar != NULL ||
		    in->admin != NULL || in->nadd > 0 || in->nremove > 0)
			return (dom_fail(err, errlen, 400, "Direct "
			    "conversations cannot be renamed or change "
			    "members"));
		return (200);
	}

	has_admin = doc_oid(doc, "groupAdmin", &admin);
	if (!has_admin || !bson_oid_equal(&admin, &u->oid))
		return (dom_fail(err, errlen, 403,
		    "Only group admin can update group settings"));

	for (i = 0; i < in->nadd; i++) {
		for (k = 0; k < in->nremove; k++) {
			if (bson_oid_equal(&in->add[i], &in->remove[k]))
				return (dom_fail(err, errlen, 400, "A user "
				    "cannot be added and removed at once"));
		}
	}

	oidlist_init(&cur);
	convs_doc_participants(doc, &cur);
	status = 200;

	for (i = 0; i < cur.n; i++) {
		for (k = 0; k < in->nremove; k++) {
			if (bson_oid_equal(&cur.v[i], &in->remove[k]))
				break;
		}
		if (k < in->nremove)
			oidlist_add(removed, &cur.v[i]);
		else
			oidlist_add(next, &cur.v[i]);
	}
	for (i = 0; i < in->nadd; i++) {
		if (!oidlist_has(&cur, &in->add[i]))
			oidlist_add(added, &in->add[i]);
		oidlist_add(next, &in->add[i]);
	}

	if (added->n > 0) {
		ret = users_count_existing(added->v, added->n, &found);
		if (ret != STORE_OK) {
			status = dom_store_fail(err, errlen, ret,
			    conv_not_found);
			goto done;
		}
		if (found != (int64_t)added->n) {
			status = dom_fail(err, errlen, 400,
			    "One or more participants do not exist");
			goto done;
		}
	}

	if (next->n < CONV_MIN_PARTICIPANTS ||
	    next->n > CONV_MAX_PARTICIPANTS) {
		status = dom_fail(err, errlen, 400, "A conversation must have "
		    "between %d and %d participants", CONV_MIN_PARTICIPANTS,
		    CONV_MAX_PARTICIPANTS);
		goto done;
	}

	if (in->admin != NULL && !oidlist_has(next, in->admin)) {
		status = dom_fail(err, errlen, 400,
		    "New admin must be a participant in the conversation");
		goto done;
	}
	if (in->admin == NULL && !oidlist_has(next, &admin)) {
		status = dom_fail(err, errlen, 400, "The group admin cannot be "
		    "removed; transfer admin first");
		goto done;
	}

done:
	oidlist_free(&cur);
	return (status);
}

/* matched ← the partners whose name contains text (memo, not a scan). */
static int
conv_partners_named(const struct oidlist *partners, const char *text,
    struct oidlist *matched)
{
	struct user_public	*v;
	size_t			i;
	int			ret;

	if (partners->n == 0)
		return (STORE_OK);
	if ((v = calloc(partners->n, sizeof(*v))) == NULL)
		abort();
	for (i = 0; i < partners->n; i++)
		bson_oid_copy(&partners->v[i], &v[i].oid);
	if ((ret = users_load_public(v, partners->n)) == STORE_OK)
		users_filter_by_name(v, partners->n, text, matched);
	free(v);

	return (ret);
}

/* Lists: the most recent message first, then the newest conversation. */
static int
conv_cmp_recent(const void *a, const void *b)
{
	return (doc_cmp_newest(*(bson_t * const *)a, *(bson_t * const *)b,
	    "lastMessageAt"));
}
