/*
 * Sends whose store outcome is unknown.
 *
 * An insert that meets a database going away mid-write (a timeout, a
 * dropped connection) is answered 503, yet it may have landed: a frozen
 * database that resumes finishes it. Such a message would be stored and
 * never announced, because the sender's retry finds it by its
 * clientMessageId and, by design, announces nothing the second time.
 * So msg_commit.c hands each one here with its rendered events; once
 * the database answers again it is looked up by _id, and announced if
 * it is there. The same holds for a send routed to a worker that died
 * before answering (msg_route.c): it may have stored the message and
 * not announced it. Its draft waits here, with the _id the requester
 * drew, and is rendered from the stored document if that turns up. The lookups are point reads on _id (index-served on
 * MongoDB and pushed down by FerretDB), one task per round.
 */

#include <sys/queue.h>
#include <sys/types.h>

#include <stdlib.h>

#include "core/core.h"
#include "core/job.h"
#include "domain/msg_internal.h"
#include "store/store.h"

#define DOUBT_ROUND_MS	1000
#define DOUBT_SETTLE_MS	2000		/* a miss this early may be in flight */
#define DOUBT_KEEP_MS	(10 * 60 * 1000)	/* then the database forgot */
#define DOUBT_MAX	4096
#define DOUBT_BATCH	256

enum doubt_state {
	DOUBT_UNCHECKED,
	DOUBT_FOUND,
	DOUBT_MISSING,
};

struct doubt {
	TAILQ_ENTRY(doubt)	list;
	bson_oid_t		id;
	struct evq		ev;
	struct msg_draft	*draft;		/* rendered when found */
	int64_t			since;
	int64_t			checked_at;
	enum doubt_state	state;
};

TAILQ_HEAD(doubt_list, doubt);

struct doubt_round {
	struct doubt_list	v;
};

static void	doubt_arm(void);
static void	doubt_tick(void *);
static void	doubt_run(void *);
static void	doubt_done(void *);
static void	doubt_free(struct doubt *);
static struct doubt	*doubt_new(const bson_oid_t *);

static struct doubt_list	doubts = TAILQ_HEAD_INITIALIZER(doubts);
static size_t			ndoubts;
static int			armed;
static int			checking;

/* Loop: keep d's message and its events until its outcome is known. */
void
msg_doubt_add(const bson_oid_t *id, struct evq *ev)
{
	struct doubt	*d;
	struct evt	*e;

	d = doubt_new(id);
	while ((e = TAILQ_FIRST(ev)) != NULL) {
		TAILQ_REMOVE(ev, e, list);
		TAILQ_INSERT_TAIL(&d->ev, e, list);
	}
}

/* Loop: keep draft (ours now) until its outcome is known. */
void
msg_doubt_draft(struct msg_draft *draft)
{
	struct doubt	*d;

	d = doubt_new(&draft->m.id);
	d->draft = draft;
}

static struct doubt *
doubt_new(const bson_oid_t *id)
{
	struct doubt	*d, *old;

	if (ndoubts == DOUBT_MAX && (old = TAILQ_FIRST(&doubts)) != NULL) {
		core_log("messages: a send of unknown outcome dropped "
		    "(over %d)", DOUBT_MAX);
		TAILQ_REMOVE(&doubts, old, list);
		doubt_free(old);
		ndoubts--;
	}

	if ((d = calloc(1, sizeof(*d))) == NULL)
		abort();
	bson_oid_copy(id, &d->id);
	evq_init(&d->ev);
	d->since = core_now_ms();
	TAILQ_INSERT_TAIL(&doubts, d, list);
	ndoubts++;
	doubt_arm();

	return (d);
}

static void
doubt_arm(void)
{
	if (armed || checking || TAILQ_EMPTY(&doubts))
		return;
	armed = 1;
	job_after(DOUBT_ROUND_MS, doubt_tick, NULL);
}

static void
doubt_tick(void *arg)
{
	struct doubt_round	*r;
	struct doubt		*d;
	size_t			n;

	(void)arg;
	armed = 0;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		abort();
	TAILQ_INIT(&r->v);
	for (n = 0; n < DOUBT_BATCH && (d = TAILQ_FIRST(&doubts)) != NULL;
	    n++) {
		TAILQ_REMOVE(&doubts, d, list);
		ndoubts--;
		d->state = DOUBT_UNCHECKED;
		TAILQ_INSERT_TAIL(&r->v, d, list);
	}

	checking = 1;
	if (job_start(doubt_run, doubt_done, r) == -1) {
		/* Saturated: everything stays unchecked, next round. */
		doubt_done(r);
	}
}

/* Task: look each one up; the first failure ends the round. */
static void
doubt_run(void *arg)
{
	struct doubt_round	*r = arg;
	struct doubt		*d;
	bson_t			doc;
	int			ret;

	TAILQ_FOREACH(d, &r->v, list) {
		ret = msgs_find(&d->id, &doc);
		if (ret == STORE_OK) {
			/* As stored: its seq is the owner's. */
			if (d->draft != NULL) {
				if (d->draft->has_doc)
					bson_destroy(&d->draft->doc);
				bson_copy_to(&doc, &d->draft->doc);
				d->draft->has_doc = 1;
			}
			bson_destroy(&doc);
			d->state = DOUBT_FOUND;
		} else if (ret == STORE_NOTFOUND) {
			d->state = DOUBT_MISSING;
		} else {
			break;
		}
		d->checked_at = core_now_ms();
	}
}

/* Loop: announce what landed, forget what did not, keep the rest. */
static void
doubt_done(void *arg)
{
	struct doubt_round	*r = arg;
	struct doubt		*d;
	int64_t			now;

	now = core_now_ms();
	while ((d = TAILQ_FIRST(&r->v)) != NULL) {
		TAILQ_REMOVE(&r->v, d, list);
		if (d->state == DOUBT_FOUND && !msg_announced(&d->id)) {
			if (d->draft != NULL)
				msg_render_stored(d->draft);
			msg_announced_note(&d->id);
			evq_publish(d->draft != NULL ? &d->draft->ev : &d->ev);
			doubt_free(d);
			continue;
		}
		if (d->state == DOUBT_FOUND) {
			/* Its owner announced it before dying. */
			doubt_free(d);
			continue;
		}
		if ((d->state == DOUBT_MISSING &&
		    d->checked_at - d->since >= DOUBT_SETTLE_MS) ||
		    now - d->since > DOUBT_KEEP_MS) {
			doubt_free(d);
			continue;
		}
		TAILQ_INSERT_TAIL(&doubts, d, list);
		ndoubts++;
	}

	free(r);
	checking = 0;
	doubt_arm();
}

static void
doubt_free(struct doubt *d)
{
	evq_clear(&d->ev);
	if (d->draft != NULL)
		msg_draft_free(d->draft);
	free(d);
}
