/*
 * Group commit, the end of a batch: each conversation's head moves to
 * its newest message (Redis, else the documents), and the replies and
 * events of every draft are rendered (see msg_commit.c).
 */

#include <sys/queue.h>
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "cache/heads.h"
#include "core/core.h"
#include "domain/chat_json.h"
#include "domain/commit_internal.h"
#include "domain/conv_state.h"
#include "domain/conversation_service.h"
#include "domain/domain.h"
#include "domain/msg_internal.h"
#include "domain/msg_types.h"
#include "lib/doclist.h"
#include "store/conversations.h"
#include "store/doc.h"
#include "store/store.h"
#include "store/users.h"

static void	commit_head_to(struct commit_conv *, int64_t,
		    const bson_oid_t *, int64_t, const char *);
static void	commit_head_to_doc(struct commit_conv *, const bson_t *);
static void	commit_announce(struct msg_draft *, struct json *);
static void	commit_events(struct msg_draft *, struct commit_conv *);

/*
 * Each conversation's newest message becomes its head: in Redis for the
 * live ones (one round trip), in the documents for the others (one bulk
 * update). Members who had deleted the conversation get it back.
 */
void
commit_heads(struct commit_conv *cv, size_t n)
{
	struct convs_head	*docs;
	struct conv_head	*live;
	struct commit_conv	*cc;
	struct oidlist		parts;
	size_t			i, k, nd, nl;
	int			ret;

	if ((docs = calloc(n, sizeof(*docs))) == NULL ||
	    (live = calloc(n, sizeof(*live))) == NULL)
		abort();

	for (i = 0, nl = 0; i < n; i++) {
		cc = &cv[i];
		if (cc->last != NULL)
			commit_head_to(cc, cc->last->m.seq, &cc->last->m.id,
			    cc->last->m.now, cc->last->m.content);
		else if (cc->has_tail)
			commit_head_to_doc(cc, &cc->tail);
		else
			continue;
		cc->moved = 1;
		if (cc->live)
			live[nl++] = cc->head;
	}
	if (nl > 0 && heads_put(live, nl) == -1) {
		core_log("commit: redis lost %zu conversation heads: writing "
		    "them to the documents", nl);
		for (i = 0; i < n; i++)
			cv[i].live = 0;
	}

	for (i = 0, nd = 0; i < n; i++) {
		cc = &cv[i];
		if (!cc->moved)
			continue;

		/* A new message brings a deleted chat back (peer §8.10). */
		oidlist_init(&parts);
		convs_doc_participants(&cc->doc, &parts);
		for (k = 0; k < parts.n; k++) {
			if (convs_doc_has_mark(&cc->doc, "deletedBy",
			    &parts.v[k]))
				oidlist_add(&cc->revive, &parts.v[k]);
		}
		oidlist_free(&parts);

		conv_state_head(&cc->head, &docs[nd]);
		docs[nd].revive = &cc->revive;
		convs_doc_with_head(&cc->doc, &docs[nd], &cc->after);
		cc->has_after = 1;
		if (!cc->live)
			nd++;
		else if (cc->revive.n > 0 && (ret = convs_unmark(&cc->id,
		    "deletedBy", &cc->revive)) != STORE_OK)
			core_log("commit: deletedBy not cleared (%d)", ret);
	}

	/*
	 * The messages are stored whatever happens here: should the heads
	 * not move, the next send to each conversation collides and repairs
	 * them (commit_collision). Say so, and still announce.
	 */
	if ((ret = convs_apply_heads(docs, nd)) != STORE_OK)
		core_log("commit: %zu conversation heads not moved (%d)", nd,
		    ret);

	free(docs);
	free(live);
}

static void
commit_head_to(struct commit_conv *cc, int64_t seq, const bson_oid_t *id,
    int64_t at, const char *text)
{
	cc->head.seq = seq;
	bson_oid_copy(id, &cc->head.last_id);
	cc->head.last_at = at;
	free(cc->head.text);
	if ((cc->head.text = strdup(text != NULL ? text : "")) == NULL)
		abort();
}

static void
commit_head_to_doc(struct commit_conv *cc, const bson_t *msg)
{
	bson_oid_t	id;

	if (!doc_oid(msg, "_id", &id))
		bson_oid_copy(&cc->head.last_id, &id);
	commit_head_to(cc, doc_int(msg, "seq", 0), &id,
	    doc_date(msg, "createdAt", 0), doc_str(msg, "content"));
}

void
commit_render(struct commit_batch *b)
{
	struct msg_draft	*d;
	struct userset		users;
	struct user_public	me;

	TAILQ_FOREACH(d, &b->drafts, list) {
		if (d->doubt) {
			msg_render_stored(d);
			continue;
		}
		if (d->held || (d->res.status != 201 && d->res.status != 200))
			continue;
		userset_init(&users);
		msg_caller(&d->user, &me);
		userset_put(&users, &me);
		cj_message(&d->res.out, &d->doc, &users, &d->replies, NULL);
		if (d->res.status == 201) {
			commit_announce(d, &d->res.out);
			commit_events(d, d->cc);
			msg_type_count(d->type);
		}
		userset_free(&users);
	}
}

/* What d would have announced; heads moved later recount its sender. */
void
msg_render_stored(struct msg_draft *d)
{
	struct userset		users;
	struct user_public	me;
	struct json		msg;

	userset_init(&users);
	msg_caller(&d->user, &me);
	userset_put(&users, &me);
	json_init(&msg);
	cj_message(&msg, &d->doc, &users, &d->replies, NULL);
	commit_announce(d, &msg);
	json_free(&msg);
	userset_free(&users);
}

/*
 * The message (msg, rendered) to its conversation's room, under both
 * event names.
 */
static void
commit_announce(struct msg_draft *d, struct json *msg)
{
	char		room[64];

	conv_event_room(room, sizeof(room), "conversation", &d->conv);
	msg_emit_message(&d->ev, room, "new_message", &d->conv, msg);
	msg_emit_message(&d->ev, room, "message_received", &d->conv, msg);
}

/*
 * The conversation's events ride with its first and last message of
 * the batch: revived members join and hear of it before the first is
 * delivered; conversation_updated follows the last, once per batch.
 */
static void
commit_events(struct msg_draft *d, struct commit_conv *cc)
{
	struct evq	pre;
	struct evt	*e;
	char		room[64], target[64];
	size_t		i;

	if (!cc->has_after)
		return;

	if (d == cc->first && cc->revive.n > 0) {
		evq_init(&pre);
		conv_event_room(target, sizeof(target), "conversation",
		    &cc->id);
		for (i = 0; i < cc->revive.n; i++) {
			conv_event_room(room, sizeof(room), "user",
			    &cc->revive.v[i]);
			evq_join(&pre, room, target);
			conv_emit(&pre, room, "new_conversation", &cc->after,
			    NULL, 0);
		}
		dom_note_members(&pre, &cc->id, cc->revive.v, cc->revive.n);
		while ((e = TAILQ_LAST(&pre, evq)) != NULL) {
			TAILQ_REMOVE(&pre, e, list);
			TAILQ_INSERT_HEAD(&d->ev, e, list);
		}
	}

	if (d == cc->last)
		msg_emit_conv_updated(&d->ev, &cc->after, &cc->id);
}
