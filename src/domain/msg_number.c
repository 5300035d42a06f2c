/*
 * Group commit, under the locks: where each conversation is, the
 * drafts numbered after it and stored with one ordered insert, and the
 * collisions resolved (the numbering rules are in msg_commit.c).
 */

#include <sys/queue.h>
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "cache/heads.h"
#include "core/core.h"
#include "domain/commit_internal.h"
#include "domain/domain.h"
#include "domain/msg_internal.h"
#include "lib/doclist.h"
#include "store/conversations.h"
#include "store/doc.h"
#include "store/messages.h"
#include "store/store.h"

static struct msg_draft	*commit_replay_of(struct commit_batch *,
			    struct msg_draft *);
static void	commit_head_of(struct commit_conv *);
static void	commit_number(struct msg_draft **, size_t, size_t,
		    struct commit_conv *, int64_t);
static int	commit_collision(struct msg_draft *, struct msg_draft **,
		    size_t, size_t);
static void	commit_lagged(struct commit_conv *, int64_t);
static void	commit_count(struct commit_conv *, const bson_oid_t *,
		    int64_t);

/*
 * Under the lock: where the conversation is (its head from Redis, else
 * its document read now), who may send (membership may have changed
 * since msg_send checked: the memo drops a change as it is made), and
 * the drafts numbered after it.
 */
void
commit_load(struct commit_conv *cc, struct commit_batch *b,
    struct conv_head *live)
{
	struct msg_draft	*d;
	int			ret;

	if (live != NULL && live->found) {
		ret = convs_cached(&cc->id, &cc->doc);
		/* A document newer than the head (Redis came back stale). */
		if (ret == STORE_OK && doc_int(&cc->doc, "seq", 0) <=
		    live->seq) {
			cc->head = *live;
			live->text = NULL;
			cc->live = 1;
		} else if (ret == STORE_OK) {
			(void)heads_drop(&cc->id);
		}
	} else {
		ret = convs_find(&cc->id, &cc->doc);
		cc->live = live != NULL;
	}
	cc->has_doc = ret == STORE_OK;
	if (cc->has_doc && !cc->head.found)
		commit_head_of(cc);

	cc->doc_seq = cc->head.seq;
	cc->seq = cc->doc_seq;

	TAILQ_FOREACH(d, &b->drafts, list) {
		if (d->cc != cc || d->res.status != 0)
			continue;
		d->held = 0;
		d->replay_of = NULL;
		if (ret != STORE_OK && ret != STORE_NOTFOUND) {
			commit_fail(d, dom_store_fail(d->res.err,
			    sizeof(d->res.err), ret, msg_conv_not_found),
			    NULL);
			continue;
		}
		if (!cc->has_doc || !convs_doc_visible_to(&cc->doc,
		    &d->user.oid)) {
			commit_fail(d, 404, msg_conv_not_found);
			continue;
		}
		/* A retry in the same batch is its first copy's answer. */
		if ((d->replay_of = commit_replay_of(b, d)) == NULL)
			d->m.seq = ++cc->seq;
	}
}

static struct msg_draft *
commit_replay_of(struct commit_batch *b, struct msg_draft *d)
{
	struct msg_draft	*e;

	if (d->client_id[0] == '\0')
		return (NULL);

	TAILQ_FOREACH(e, &b->drafts, list) {
		if (e == d)
			break;
		if (e->cc == d->cc && e->res.status == 0 && !e->held &&
		    e->replay_of == NULL && !strcmp(e->client_id,
		    d->client_id) && bson_oid_equal(&e->user.oid, &d->user.oid))
			return (e);
	}

	return (NULL);
}

/* The head as the document has it: seq, newest message, sent counts. */
static void
commit_head_of(struct commit_conv *cc)
{
	struct conv_head	*h = &cc->head;
	bson_iter_t		it, map;
	bson_oid_t		oid;
	const char		*key, *s;

	h->seq = doc_int(&cc->doc, "seq", 0);
	(void)doc_oid(&cc->doc, "lastMessageId", &h->last_id);
	h->last_at = doc_date(&cc->doc, "lastMessageAt", 0);
	s = doc_str(&cc->doc, "lastMessage");
	if ((h->text = strdup(s != NULL ? s : "")) == NULL)
		abort();
	if (bson_iter_init_find(&it, &cc->doc, "sentCounts") &&
	    BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &map)) {
		while (bson_iter_next(&map)) {
			key = bson_iter_key(&map);
			if (strlen(key) != 24 || !bson_oid_is_valid(key, 24) ||
			    !BSON_ITER_HOLDS_NUMBER(&map))
				continue;
			bson_oid_init_from_string(&oid, key);
			heads_set_sent(h, &oid, bson_iter_as_int64(&map));
		}
	}
	h->found = 1;
}

/*
 * (Re)numbers the drafts of cc among v[from..n) base + 1, base + 2, ...
 * and builds their documents.
 */
static void
commit_number(struct msg_draft **v, size_t from, size_t n,
    struct commit_conv *cc, int64_t base)
{
	struct msg_draft	*d;
	size_t			i;

	for (i = from; i < n; i++) {
		d = v[i];
		if (d->cc != cc)
			continue;
		d->m.seq = ++base;
		if (d->has_doc)
			bson_destroy(&d->doc);
		msgs_build(&d->m, &d->doc);
		d->has_doc = 1;
	}
	cc->seq = base;
}

/* One ordered insert for the batch; a collision is resolved and retried. */
void
commit_store(struct commit_batch *b)
{
	struct msg_draft	*d, **v;
	const bson_t		**docs;
	size_t			n, i, k, done;
	int			ret;

	if ((v = calloc(b->n, sizeof(*v))) == NULL ||
	    (docs = calloc(b->n, sizeof(*docs))) == NULL)
		abort();

	n = 0;
	TAILQ_FOREACH(d, &b->drafts, list) {
		if (d->held || d->res.status != 0 || d->replay_of != NULL)
			continue;
		d->m.conv = d->conv;
		d->m.sender = d->user.oid;
		d->m.content = d->content;
		d->m.type = d->type;
		d->m.metadata = d->metadata;
		d->m.reply_to = d->has_reply_to ? &d->reply_to : NULL;
		d->m.forwarded_from = d->has_forward ? &d->forwarded_from :
		    NULL;
		d->m.client_id = d->client_id[0] != '\0' ? d->client_id :
		    NULL;
		d->m.now = core_now_ms();
		if (!d->has_id) {
			bson_oid_init(&d->m.id, NULL);
			d->has_id = 1;
		}
		msgs_build(&d->m, &d->doc);
		d->has_doc = 1;
		v[n++] = d;
	}

	i = 0;
	while (i < n) {
		for (k = i; k < n; k++)
			docs[k] = &v[k]->doc;
		ret = msgs_insert_many(docs + i, n - i, &done);
		for (k = i; k < i + done; k++)
			v[k]->res.status = 201;
		i += done;
		if (ret == STORE_OK)
			break;

		if (ret != STORE_DUP || commit_collision(v[i], v, i, n) ==
		    -1) {
			/* Not stored: the rest of the batch is not either. */
			for (k = i; k < n; k++) {
				if (ret == STORE_DUP)
					commit_fail(v[k], 503, "Message not "
					    "numbered, try again later");
				else
					commit_fail(v[k], dom_store_fail(
					    v[k]->res.err,
					    sizeof(v[k]->res.err), ret,
					    msg_conv_not_found), NULL);
				/* Gone mid-write: the insert may land. */
				v[k]->doubt = ret == STORE_DOWN;
			}
			break;
		}
		if (v[i]->res.status != 0) {
			/* The sender's earlier send: taken out of the run. */
			memmove(&v[i], &v[i + 1], (n - i - 1) * sizeof(*v));
			n--;
		}
	}

	free(v);
	free(docs);
}

/*
 * v[i] collided. Either its sender stored it before (clientMessageId):
 * the stored one is its answer and the conversation's later drafts move
 * down one; or its number was taken: they are renumbered after the
 * highest stored seq. -1: give up (the database is failing).
 */
static int
commit_collision(struct msg_draft *d, struct msg_draft **v, size_t i,
    size_t n)
{
	struct commit_conv	*cc = d->cc;
	bson_t			prev;
	int64_t			max;
	int			ret;

	if (d->m.client_id != NULL) {
		ret = msgs_find_client(&d->conv, &d->user.oid, d->m.client_id,
		    &prev);
		if (ret == STORE_OK) {
			bson_destroy(&d->doc);
			bson_copy_to(&prev, &d->doc);
			bson_destroy(&prev);
			d->res.status = 200;
			/*
			 * Stored past the head (an insert whose answer was
			 * lost): the head takes it in, or reads would not
			 * show what this retry acknowledges.
			 */
			if (doc_int(&d->doc, "seq", 0) <= cc->doc_seq) {
				commit_number(v, i + 1, n, cc, d->m.seq - 1);
				return (0);
			}
			if (msgs_max_seq(&d->conv, cc->doc_seq, &max) !=
			    STORE_OK)
				return (-1);
			commit_lagged(cc, max);
			commit_number(v, i + 1, n, cc, max);
			return (0);
		}
		if (ret != STORE_NOTFOUND)
			return (-1);
	}

	/* Each resolved replay is progress; renumbering must not loop. */
	if (++cc->attempts > COMMIT_ATTEMPTS ||
	    msgs_max_seq(&d->conv, cc->doc_seq, &max) != STORE_OK)
		return (-1);
	core_log("conversation head behind its messages (%lld < %lld): "
	    "renumbering", (long long)d->m.seq, (long long)max + 1);
	commit_lagged(cc, max);
	commit_number(v, i, n, cc, max);

	return (0);
}

/*
 * Messages (cc->doc_seq, max] are stored but were never counted into
 * the head: count them into this batch's.
 */
static void
commit_lagged(struct commit_conv *cc, int64_t max)
{
	struct msgs_window	w;
	struct doclist		docs;
	bson_oid_t		sender;
	size_t			i;

	memset(&w, 0, sizeof(w));
	w.conv = &cc->id;
	w.from = cc->doc_seq;
	w.to = max;

	doclist_init(&docs);
	if (msgs_window(&w, &docs) == STORE_OK) {
		for (i = 0; i < docs.n; i++) {
			if (doc_oid(docs.docs[i], "senderId", &sender))
				commit_count(cc, &sender, 1);
		}
		/* The newest heads the conversation if the batch stores none. */
		if (docs.n > 0 && doc_int(docs.docs[docs.n - 1], "seq", 0) ==
		    max) {
			if (cc->has_tail)
				bson_destroy(&cc->tail);
			bson_copy_to(docs.docs[docs.n - 1], &cc->tail);
			cc->has_tail = 1;
		}
	}
	doclist_free(&docs);
	cc->doc_seq = max;
}

static void
commit_count(struct commit_conv *cc, const bson_oid_t *sender, int64_t n)
{
	int64_t		had;

	if ((had = heads_sent_of(&cc->head, sender)) < 0)
		had = 0;
	heads_set_sent(&cc->head, sender, had + n);
}

/* Retries within the batch: what their first copy got, announced once. */
void
commit_replays(struct commit_batch *b)
{
	struct msg_draft	*d, *first;

	TAILQ_FOREACH(d, &b->drafts, list) {
		if ((first = d->replay_of) == NULL || d->res.status != 0)
			continue;
		if (first->res.status == 201 || first->res.status == 200) {
			if (d->has_doc)
				bson_destroy(&d->doc);
			bson_copy_to(&first->doc, &d->doc);
			d->has_doc = 1;
			d->res.status = 200;
		} else {
			commit_fail(d, first->res.status, first->res.err);
		}
	}
}

/* Each conversation's first and last message stored now, and who sent. */
void
commit_tally(struct commit_batch *b)
{
	struct msg_draft	*d;
	struct commit_conv	*cc;

	TAILQ_FOREACH(d, &b->drafts, list) {
		if (d->res.status != 201)
			continue;
		cc = d->cc;
		if (cc->first == NULL)
			cc->first = d;
		cc->last = d;
		commit_count(cc, &d->user.oid, 1);
	}
}
