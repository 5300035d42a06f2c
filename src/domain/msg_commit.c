/*
 * Group commit: numbering and storing messages (see message_service.h).
 *
 * A checked send (a draft) waits on its worker's loop. While no commit
 * runs, everything waiting becomes one batch and one task: it takes the
 * locks of the batch's conversations and reads their heads (Redis, one
 * round trip each), numbers the drafts seq + 1, seq + 2, ..., stores
 * them all with one ordered insert, moves the heads (one round trip),
 * releases the locks, and renders replies and events. The database sees
 * one write per batch; the conversation documents get the heads later,
 * coalesced (conv_checkpoint.c). Without Redis (or a head) the batch
 * reads each conversation and moves its head in one bulk update.
 * Back on the loop the events are published in batch order (so, per
 * conversation, in seq order), then each requester hears its result.
 * Sends that arrive meanwhile form the next batch: the busier the
 * worker, the bigger the batch and the fewer round trips per message.
 *
 * Numbering. The unique index {conversationId, seq} refuses a number
 * twice, so seq has no gap and no repeat, and message n+1 is never
 * visible before n (an afterSeq reader cannot skip one). A draft that
 * collides is either this sender's earlier send with the same
 * clientMessageId (it gets that message back, 200, nothing announced) or
 * a number taken without the lock, or stored while the conversation's
 * head was not moved (a crash between the two writes): then the drafts
 * are numbered after the highest stored seq, and the messages the head
 * missed are counted into this batch's head, so derived state (seq,
 * unread counts) is repaired by the next write.
 *
 * A conversation locked elsewhere keeps its drafts waiting for a later
 * batch (the others go ahead); past CONV_LOCK_WAIT_MS they get 503.
 */

#include <sys/queue.h>
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/heads.h"
#include "cache/redis.h"
#include "core/config.h"
#include "core/core.h"
#include "core/job.h"
#include "core/metrics.h"
#include "domain/chat_json.h"
#include "domain/conv_checkpoint.h"
#include "domain/conv_lock.h"
#include "domain/conv_state.h"
#include "domain/conversation_service.h"
#include "domain/domain.h"
#include "domain/msg_internal.h"
#include "store/conversations.h"
#include "store/doc.h"
#include "store/store.h"
#include "store/users.h"

/*
 * Drafts per batch: a bigger one gains little (an insert of 256 costs
 * FerretDB about 0.1 s) and holds its first draft back longer.
 */
#define COMMIT_BATCH_MAX	256
#define COMMIT_RETRY_MS		5
#define COMMIT_RETRY_MAX_MS	100	/* a busy conversation's backoff */
#define COMMIT_BLOCKED_MAX	256
#define COMMIT_ATTEMPTS		8

/* One conversation of a batch. */
struct commit_conv {
	bson_oid_t		id;
	bson_t			doc;		/* membership, read positions */
	int			has_doc;
	struct conv_head	head;		/* what the batch moves on */
	int			live;		/* head kept in Redis */
	int64_t			seq;		/* the last number given */
	int64_t			doc_seq;	/* the head's, as read */
	struct msg_draft	*first;		/* first and last stored */
	struct msg_draft	*last;
	struct oidlist		revive;
	bson_t			tail;		/* the newest the head missed */
	int			has_tail;
	int			moved;		/* the head goes forward */
	int			attempts;
	bson_t			after;
	int			has_after;
};

TAILQ_HEAD(draft_list, msg_draft);

struct commit_batch {
	struct draft_list	drafts;
	size_t			n;
};

static void	commit_kick(void);
static void	commit_retry(void *);
static void	commit_run(void *);
static void	commit_done(void *);
static void	commit_finish(struct msg_draft *);
static void	commit_limit(struct commit_batch *);
static size_t	commit_group(struct commit_batch *, struct commit_conv **);
static void	commit_load(struct commit_conv *, struct commit_batch *,
		    struct conv_head *);
static void	commit_head_of(struct commit_conv *);
static struct msg_draft	*commit_replay_of(struct commit_batch *,
			    struct msg_draft *);
static void	commit_replays(struct commit_batch *);
static void	commit_number(struct msg_draft **, size_t, size_t,
		    struct commit_conv *, int64_t);
static void	commit_store(struct commit_batch *);
static int	commit_collision(struct msg_draft *, struct msg_draft **,
		    size_t, size_t);
static void	commit_lagged(struct commit_conv *, int64_t);
static void	commit_count(struct commit_conv *, const bson_oid_t *,
		    int64_t);
static void	commit_tally(struct commit_batch *);
static void	commit_heads(struct commit_conv *, size_t);
static void	commit_head_to(struct commit_conv *, int64_t,
		    const bson_oid_t *, int64_t, const char *);
static void	commit_head_to_doc(struct commit_conv *, const bson_t *);
static void	commit_render(struct commit_batch *);
static void	commit_render_doubt(struct msg_draft *);
static void	commit_events(struct msg_draft *, struct commit_conv *);
static void	commit_fail(struct msg_draft *, int, const char *);

/* The loop's: drafts waiting, and whether a commit task runs. */
static struct draft_list	waiting = TAILQ_HEAD_INITIALIZER(waiting);
static int			running;
static int			retry_armed;

void
msg_worker_init(void)
{
	msg_route_init();
	conv_checkpoint_start();
}

void
msg_commit(struct msg_draft *d, void (*done)(void *,
    const struct msg_result *), void *arg)
{
	d->done = done;
	d->arg = arg;
	d->deadline = core_now_ms() + CONV_LOCK_WAIT_MS;
	if (!msg_route(d))
		msg_commit_here(d, done, arg);
}

void
msg_commit_here(struct msg_draft *d, void (*done)(void *,
    const struct msg_result *), void *arg)
{
	d->done = done;
	d->arg = arg;
	d->deadline = core_now_ms() + CONV_LOCK_WAIT_MS;
	d->not_before = 0;
	TAILQ_INSERT_TAIL(&waiting, d, list);
	commit_kick();
}

void
msg_commit_detach(struct msg_draft *d)
{
	d->done = NULL;
	d->arg = NULL;
}

void
msg_draft_discard(struct msg_draft *d)
{
	msg_draft_free(d);
}

void
msg_draft_free(struct msg_draft *d)
{
	free(d->content);
	if (d->metadata != NULL)
		bson_destroy(d->metadata);
	doclist_free(&d->replies);
	if (d->has_doc)
		bson_destroy(&d->doc);
	json_free(&d->res.out);
	evq_clear(&d->ev);
	free(d);
}

/* Loop: start a batch of what is due, unless one is running. */
static void
commit_kick(void)
{
	struct commit_batch	*b;
	struct msg_draft	*d, *next;
	bson_oid_t		blocked[COMMIT_BLOCKED_MAX];
	int64_t			now, soonest;
	size_t			i, nblocked;

	if (running || TAILQ_EMPTY(&waiting))
		return;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		abort();
	TAILQ_INIT(&b->drafts);

	now = core_now_ms();
	soonest = 0;
	nblocked = 0;
	for (d = TAILQ_FIRST(&waiting); d != NULL &&
	    b->n < COMMIT_BATCH_MAX; d = next) {
		next = TAILQ_NEXT(d, list);
		/*
		 * A draft waiting for a busy conversation keeps its place:
		 * the later ones of that conversation wait behind it, so a
		 * sender's messages are numbered in the order they came.
		 */
		for (i = 0; i < nblocked; i++) {
			if (bson_oid_equal(&blocked[i], &d->conv))
				break;
		}
		if (i < nblocked)
			continue;
		if (d->not_before > now) {
			if (soonest == 0 || d->not_before < soonest)
				soonest = d->not_before;
			if (nblocked < COMMIT_BLOCKED_MAX)
				bson_oid_copy(&d->conv, &blocked[nblocked++]);
			continue;
		}
		TAILQ_REMOVE(&waiting, d, list);
		TAILQ_INSERT_TAIL(&b->drafts, d, list);
		b->n++;
	}

	if (b->n == 0) {
		free(b);
		if (soonest != 0 && !retry_armed) {
			retry_armed = 1;
			job_after(soonest - now, commit_retry, NULL);
		}
		return;
	}

	running = 1;
	if (job_start(commit_run, commit_done, b) == -1) {
		/* The worker is saturated: put them back, try shortly. */
		running = 0;
		while ((d = TAILQ_LAST(&b->drafts, draft_list)) != NULL) {
			TAILQ_REMOVE(&b->drafts, d, list);
			d->not_before = now + COMMIT_RETRY_MS;
			TAILQ_INSERT_HEAD(&waiting, d, list);
		}
		free(b);
		if (!retry_armed) {
			retry_armed = 1;
			job_after(COMMIT_RETRY_MS, commit_retry, NULL);
		}
	}
}

static void
commit_retry(void *arg)
{
	(void)arg;
	retry_armed = 0;
	commit_kick();
}

/* Task thread: the whole batch. */
static void
commit_run(void *arg)
{
	struct commit_batch	*b = arg;
	struct commit_conv	*cv;
	struct conv_head	*live;
	bson_oid_t		*ids;
	struct conv_lock	*locks;
	int			*got;
	size_t			n, i, k;

	commit_limit(b);
	n = commit_group(b, &cv);
	if ((ids = calloc(n, sizeof(*ids))) == NULL ||
	    (locks = calloc(n, sizeof(*locks))) == NULL ||
	    (got = calloc(n, sizeof(*got))) == NULL ||
	    (live = calloc(n, sizeof(*live))) == NULL)
		abort();

	for (i = 0; i < n; i++)
		bson_oid_copy(&cv[i].id, &ids[i]);
	conv_trylock_many(ids, locks, got, n);

	/* Heads count only where Redis holds the lock as well. */
	for (i = 0, k = 0; i < n; i++) {
		if (got[i] && locks[i].remote)
			bson_oid_copy(&cv[i].id, &live[k++].id);
	}
	if (heads_get(live, k) == -1)
		k = 0;
	for (i = 0, k = 0; i < n; i++) {
		if (!got[i])
			continue;
		if (locks[i].remote && bson_oid_equal(&live[k].id, &cv[i].id))
			commit_load(&cv[i], b, &live[k++]);
		else
			commit_load(&cv[i], b, NULL);
	}

	commit_store(b);
	commit_replays(b);
	commit_tally(b);
	commit_heads(cv, n);
	conv_unlock_many(locks, got, n);
	commit_render(b);

	for (i = 0; i < n; i++) {
		if (cv[i].has_doc)
			bson_destroy(&cv[i].doc);
		if (cv[i].has_after)
			bson_destroy(&cv[i].after);
		if (cv[i].has_tail)
			bson_destroy(&cv[i].tail);
		heads_free(&cv[i].head, 1);
		oidlist_free(&cv[i].revive);
	}
	free(cv);
	free(ids);
	free(locks);
	free(got);
	heads_free(live, n);
	free(live);
}

/* Loop: announce, answer, and requeue what met a busy conversation. */
static void
commit_done(void *arg)
{
	struct commit_batch	*b = arg;
	struct draft_list	again;
	struct msg_draft	*d;
	int64_t			now;

	now = core_now_ms();
	TAILQ_INIT(&again);

	while ((d = TAILQ_FIRST(&b->drafts)) != NULL) {
		TAILQ_REMOVE(&b->drafts, d, list);
		if (d->held && now < d->deadline) {
			/* Held elsewhere: try again, less often each time. */
			d->held = 0;
			d->backoff = d->backoff == 0 ? COMMIT_RETRY_MS :
			    d->backoff * 2;
			if (d->backoff > COMMIT_RETRY_MAX_MS)
				d->backoff = COMMIT_RETRY_MAX_MS;
			d->not_before = now + d->backoff;
			TAILQ_INSERT_TAIL(&again, d, list);
			continue;
		}
		if (d->held)
			commit_fail(d, 503, "Conversation busy, try again "
			    "later");
		commit_finish(d);
	}

	/* Ahead of newer sends: their conversation's order is kept. */
	while ((d = TAILQ_LAST(&again, draft_list)) != NULL) {
		TAILQ_REMOVE(&again, d, list);
		TAILQ_INSERT_HEAD(&waiting, d, list);
	}

	free(b);
	running = 0;
	commit_kick();
}

/* Loop: stored first, then announced, then the requester told. */
static void
commit_finish(struct msg_draft *d)
{
	if (d->doubt)
		msg_doubt_add(&d->m.id, &d->ev);
	else if (!TAILQ_EMPTY(&d->ev))
		evq_publish(&d->ev);
	if (d->done != NULL)
		d->done(d->arg, &d->res);
	msg_draft_free(d);
}

/* The batch's conversations, in order of first appearance. */
static size_t
commit_group(struct commit_batch *b, struct commit_conv **out)
{
	struct commit_conv	*cv;
	struct msg_draft	*d;
	size_t			n, i;

	if ((cv = calloc(b->n, sizeof(*cv))) == NULL)
		abort();

	n = 0;
	TAILQ_FOREACH(d, &b->drafts, list) {
		for (i = 0; i < n; i++) {
			if (bson_oid_equal(&cv[i].id, &d->conv))
				break;
		}
		if (i == n) {
			bson_oid_copy(&d->conv, &cv[n].id);
			bson_oid_copy(&d->conv, &cv[n].head.id);
			oidlist_init(&cv[n].revive);
			n++;
		}
		d->cc = &cv[i];
		d->held = d->res.status == 0;
	}

	*out = cv;
	return (n);
}

/*
 * The rate limit of the sends that have not been counted (socket
 * sends; REST counts its own to answer with the headers): one round
 * trip for the batch. Redis away: this worker counts (cache/redis.h).
 */
static void
commit_limit(struct commit_batch *b)
{
	struct msg_draft	*d, **v;
	struct ratelimit	*rl;
	const char		**ids;
	size_t			n, i;

	if ((v = calloc(b->n, sizeof(*v))) == NULL ||
	    (ids = calloc(b->n, sizeof(*ids))) == NULL ||
	    (rl = calloc(b->n, sizeof(*rl))) == NULL)
		abort();

	n = 0;
	TAILQ_FOREACH(d, &b->drafts, list) {
		if (!d->ratelimit)
			continue;
		d->ratelimit = 0;
		v[n] = d;
		ids[n++] = d->user.id;
	}
	if (n > 0 && cache_ratelimit_many("messages", ids, n,
	    cfg.rate_limit_messages, cfg.rate_limit_window, rl) == 0) {
		for (i = 0; i < n; i++) {
			if (rl[i].exceeded)
				commit_fail(v[i], 429, "Rate limit exceeded");
		}
	}

	free(v);
	free(ids);
	free(rl);
}

/*
 * Under the lock: where the conversation is (its head from Redis, else
 * its document read now), who may send (membership may have changed
 * since msg_send checked: the memo drops a change as it is made), and
 * the drafts numbered after it.
 */
static void
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
static void
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
		bson_oid_init(&d->m.id, NULL);
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
static void
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
static void
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

/*
 * Each conversation's newest message becomes its head: in Redis for the
 * live ones (one round trip), in the documents for the others (one bulk
 * update). Members who had deleted the conversation get it back.
 */
static void
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

static void
commit_render(struct commit_batch *b)
{
	struct msg_draft	*d;
	struct userset		users;
	struct user_public	me;
	char			room[64];

	TAILQ_FOREACH(d, &b->drafts, list) {
		if (d->doubt) {
			commit_render_doubt(d);
			continue;
		}
		if (d->held || (d->res.status != 201 && d->res.status != 200))
			continue;
		userset_init(&users);
		msg_caller(&d->user, &me);
		userset_put(&users, &me);
		cj_message(&d->res.out, &d->doc, &users, &d->replies, NULL);
		if (d->res.status == 201) {
			conv_event_room(room, sizeof(room), "conversation",
			    &d->conv);
			msg_emit_message(&d->ev, room, "new_message", &d->doc,
			    &users, &d->replies);
			msg_emit_message(&d->ev, room, "message_received",
			    &d->doc, &users, &d->replies);
			commit_events(d, d->cc);
			metrics_inc(METRIC_MESSAGES_SENT, d->type);
			if (!strcmp(d->type, "service_offer"))
				metrics_inc(METRIC_SERVICE_OFFERS);
			else if (!strcmp(d->type, "booking_request"))
				metrics_inc(METRIC_BOOKING_REQUESTS);
		}
		userset_free(&users);
	}
}

/* What d would have announced; heads moved later recount its sender. */
static void
commit_render_doubt(struct msg_draft *d)
{
	struct userset		users;
	struct user_public	me;
	char			room[64];

	userset_init(&users);
	msg_caller(&d->user, &me);
	userset_put(&users, &me);
	conv_event_room(room, sizeof(room), "conversation", &d->conv);
	msg_emit_message(&d->ev, room, "new_message", &d->doc, &users,
	    &d->replies);
	msg_emit_message(&d->ev, room, "message_received", &d->doc, &users,
	    &d->replies);
	userset_free(&users);
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

static void
commit_fail(struct msg_draft *d, int status, const char *msg)
{
	d->res.status = status;
	if (msg != NULL)
		(void)snprintf(d->res.err, sizeof(d->res.err), "%s", msg);
	else if (d->res.err[0] == '\0')
		(void)snprintf(d->res.err, sizeof(d->res.err),
		    "Request failed");
}
