/*
 * Group commit: numbering and storing messages (see message_service.h).
 *
 * A checked send (a draft) waits on its worker's loop. While no commit
 * runs, everything waiting becomes one batch and one task: it counts the
 * rate limits, takes the locks of the batch's conversations and reads
 * their heads (Redis, one pipelined round trip for the three: 0.5 ms a
 * batch instead of 0.85, 2-10% more REST sends/s), numbers the drafts
 * seq + 1, seq + 2, ..., stores them all with one ordered insert, moves the heads (one round trip),
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
 *
 * This file runs the batches (loop side, locks, the task); the drafts
 * are numbered and stored in msg_number.c, the heads moved and the
 * replies rendered in msg_heads.c (commit_internal.h).
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
#include "domain/commit_internal.h"
#include "domain/conv_checkpoint.h"
#include "domain/conv_lock.h"
#include "domain/msg_internal.h"

/*
 * Drafts per batch: a bigger one gains little (an insert of 256 costs
 * FerretDB about 0.1 s) and holds its first draft back longer.
 */
#define COMMIT_BATCH_MAX	256
#define COMMIT_RETRY_MS		5
#define COMMIT_RETRY_MAX_MS	100	/* a busy conversation's backoff */
#define COMMIT_BLOCKED_MAX	256

/* The batch's sends that are counted against the rate limit. */
struct commit_limits {
	struct msg_draft	**v;
	const char		**ids;
	struct ratelimit	*rl;
	size_t			n;
};

static void	commit_kick(void);
static void	commit_retry(void *);
static void	commit_run(void *);
static void	commit_done(void *);
static void	commit_finish(struct msg_draft *);
static void	commit_limit_queue(struct commit_batch *, struct cache_pipe *,
		    struct commit_limits *);
static void	commit_limit_collect(struct cache_pipe *,
		    struct commit_limits *);
static size_t	commit_group(struct commit_batch *, struct commit_conv **);

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
	/*
	 * Its _id is drawn where the requester is: should the worker that
	 * stores it die before answering, the requester can still find out
	 * whether it landed (msg_doubt.c).
	 */
	bson_oid_init(&d->m.id, NULL);
	d->has_id = 1;
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
			/* Unrecorded, its conversation's later ones pass it. */
			if (nblocked == COMMIT_BLOCKED_MAX)
				break;
			if (soonest == 0 || d->not_before < soonest)
				soonest = d->not_before;
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
	struct cache_pipe	p;
	struct commit_limits	cl;
	int			*got, heads_ok;
	size_t			n, i;

	n = commit_group(b, &cv);
	if ((ids = calloc(n, sizeof(*ids))) == NULL ||
	    (locks = calloc(n, sizeof(*locks))) == NULL ||
	    (got = calloc(n, sizeof(*got))) == NULL ||
	    (live = calloc(n, sizeof(*live))) == NULL)
		abort();
	for (i = 0; i < n; i++) {
		bson_oid_copy(&cv[i].id, &ids[i]);
		bson_oid_copy(&cv[i].id, &live[i].id);
	}

	/*
	 * One round trip: the rate limit, the locks, and the heads
	 * (pipelined after the locks: a head counts only where Redis gave
	 * the lock too).
	 */
	(void)cache_pipe_begin(&p);
	commit_limit_queue(b, &p, &cl);
	conv_trylock_queue(&p, ids, locks, got, n);
	heads_get_queue(&p, live, n);
	commit_limit_collect(&p, &cl);
	conv_trylock_collect(&p, locks, got, n);
	heads_ok = heads_get_collect(&p, live, n) == 0;
	cache_pipe_end(&p);

	for (i = 0; i < n; i++) {
		if (got[i])
			commit_load(&cv[i], b, heads_ok && locks[i].remote ?
			    &live[i] : NULL);
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
	if (d->doubt) {
		msg_doubt_add(&d->m.id, &d->ev);
	} else if (!TAILQ_EMPTY(&d->ev)) {
		if (d->res.status == 201)
			msg_announced_note(&d->m.id);
		evq_publish(&d->ev);
	}
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
 * sends, and REST sends checked on the loop; a REST send checked on a
 * task counted its own): in the batch's first round trip, the count
 * kept in the result for the X-RateLimit-* headers. Redis away: this
 * worker counts (cache/redis.h).
 */
static void
commit_limit_queue(struct commit_batch *b, struct cache_pipe *p,
    struct commit_limits *cl)
{
	struct msg_draft	*d;

	if ((cl->v = calloc(b->n, sizeof(*cl->v))) == NULL ||
	    (cl->ids = calloc(b->n, sizeof(*cl->ids))) == NULL ||
	    (cl->rl = calloc(b->n, sizeof(*cl->rl))) == NULL)
		abort();

	cl->n = 0;
	TAILQ_FOREACH(d, &b->drafts, list) {
		if (!d->ratelimit)
			continue;
		d->ratelimit = 0;
		cl->v[cl->n] = d;
		cl->ids[cl->n++] = d->user.id;
	}
	cache_ratelimit_queue(p, "messages", cl->ids, cl->n,
	    cfg.rate_limit_window);
}

static void
commit_limit_collect(struct cache_pipe *p, struct commit_limits *cl)
{
	size_t		i;

	if (cl->n > 0 && cache_ratelimit_collect(p, "messages", cl->ids,
	    cl->n, cfg.rate_limit_messages, cfg.rate_limit_window,
	    cl->rl) == 0) {
		for (i = 0; i < cl->n; i++) {
			cl->v[i]->res.rl = cl->rl[i];
			if (cl->rl[i].exceeded)
				commit_fail(cl->v[i], 429,
				    "Rate limit exceeded");
		}
	}

	free(cl->v);
	free(cl->ids);
	free(cl->rl);
}

void
commit_fail(struct msg_draft *d, int status, const char *msg)
{
	d->held = 0;	/* answered: never retried */
	d->res.status = status;
	if (msg != NULL)
		(void)snprintf(d->res.err, sizeof(d->res.err), "%s", msg);
	else if (d->res.err[0] == '\0')
		(void)snprintf(d->res.err, sizeof(d->res.err),
		    "Request failed");
}
