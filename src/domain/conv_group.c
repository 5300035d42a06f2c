/*
 * Group changes (PUT /api/conversations/:id, SPEC.md §2.7): name,
 * avatar, admin and members, under the conversation's lock.
 */

#include <sys/types.h>

#include <string.h>

#include "core/core.h"
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

static int	conv_group_changes(const bson_t *, const struct dom_caller *,
		    const struct conv_update_in *, struct oidlist *,
		    struct oidlist *, struct oidlist *, char *, size_t);

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

	if ((status = conv_size_check(next->n, err, errlen)) != 200)
		goto done;

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
