/*
 * Each conversation's sends are committed by one worker of the node: its
 * owner, peer_owner() of the conversation id. A draft checked elsewhere
 * travels there (PEER_COMMIT) and its result comes back
 * (PEER_COMMITTED); the draft stays behind as the requester's handle.
 * So a busy conversation is one batch at a time on one worker, instead
 * of batches on every worker taking turns at its lock, and its events
 * leave one worker, in seq order.
 *
 * Should the owner die with a draft, the draft is answered 503 as soon
 * as the owner's successor announces itself (peer_on_restart), or once
 * its deadline has passed by longer than a live owner can take (a
 * database call's timeout, then ROUTE_GRACE_MS) should no successor
 * come: it may have been stored, and a retry with the same
 * clientMessageId gets the stored one back.
 */

#include <sys/queue.h>
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/job.h"
#include "core/peer.h"
#include "domain/msg_internal.h"
#include "lib/json.h"
#include "store/store.h"

#define ROUTE_GRACE_MS		5000
#define ROUTE_SWEEP_MS		1000

static void	route_commit(u_int16_t, const void *, size_t);
static void	route_owner_restarted(u_int16_t, u_int32_t, u_int64_t);
static void	route_fail(struct msg_draft *);
static void	route_committed(u_int16_t, const void *, size_t);
static void	route_done(void *, const struct msg_result *);
static void	route_put_limit(bson_t *, const struct ratelimit *);
static void	route_get_limit(const bson_t *, struct ratelimit *);
static void	route_sweep(void *);
static void	route_answer(struct msg_draft *);
static void	route_encode(const struct msg_draft *, bson_t *);
static struct msg_draft	*route_decode(const bson_t *);

/* Drafts sent to their owner, waiting for the result. */
static TAILQ_HEAD(, msg_draft)	sent = TAILQ_HEAD_INITIALIZER(sent);
static u_int64_t		sent_seq;
static int			sweep_armed;

void
msg_route_init(void)
{
	peer_register(PEER_COMMIT, route_commit);
	peer_register(PEER_COMMITTED, route_committed);
	peer_on_restart(route_owner_restarted);
}

/* 1: d went to its owner (and stays here as the handle); 0: commit here. */
int
msg_route(struct msg_draft *d)
{
	bson_t		doc;
	u_int16_t	owner;

	owner = peer_owner(bson_oid_hash(&d->conv));
	if (owner == peer_self())
		return (0);

	d->route_id = ++sent_seq;
	d->route_to = owner;
	d->route_at = peer_clock_ms();
	bson_init(&doc);
	route_encode(d, &doc);
	peer_send(owner, PEER_COMMIT, bson_get_data(&doc), doc.len);
	bson_destroy(&doc);

	TAILQ_INSERT_TAIL(&sent, d, list);
	if (!sweep_armed) {
		sweep_armed = 1;
		job_after(ROUTE_SWEEP_MS, route_sweep, NULL);
	}

	return (1);
}

/* On the owner: a draft from another worker of the node. */
static void
route_commit(u_int16_t src, const void *data, size_t len)
{
	struct msg_draft	*d;
	bson_t			doc;

	if (!bson_init_static(&doc, data, len) ||
	    (d = route_decode(&doc)) == NULL) {
		core_log("route: malformed draft from worker %u", src);
		return;
	}
	d->route_origin = src;
	msg_commit_here(d, route_done, d);
}

/* On the owner: stored (or not); the result goes back. */
static void
route_done(void *arg, const struct msg_result *res)
{
	struct msg_draft	*d = arg;
	const u_int8_t		*out;
	size_t			len;
	bson_t			doc;

	bson_init(&doc);
	BSON_APPEND_INT64(&doc, "i", (int64_t)d->route_id);
	BSON_APPEND_INT32(&doc, "s", res->status);
	BSON_APPEND_UTF8(&doc, "e", res->err);
	if (res->status < 300) {
		out = json_data((struct json *)&res->out, &len);
		bson_append_utf8(&doc, "o", -1, (const char *)out, (int)len);
	}
	if (res->rl.checked)
		route_put_limit(&doc, &res->rl);
	peer_send(d->route_origin, PEER_COMMITTED, bson_get_data(&doc),
	    doc.len);
	bson_destroy(&doc);
}

/*
 * The sender's rate limit as the owner's batch counted it (a REST send
 * answers with it): int64s in a fixed order.
 */
static void
route_put_limit(bson_t *doc, const struct ratelimit *rl)
{
	bson_t	a;

	BSON_APPEND_ARRAY_BEGIN(doc, "r", &a);
	BSON_APPEND_INT64(&a, "0", rl->limit);
	BSON_APPEND_INT64(&a, "1", rl->remaining);
	BSON_APPEND_INT64(&a, "2", rl->reset);
	BSON_APPEND_INT64(&a, "3", rl->retry_after);
	BSON_APPEND_INT64(&a, "4", rl->exceeded);
	BSON_APPEND_INT64(&a, "5", rl->local);
	bson_append_array_end(doc, &a);
}

static void
route_get_limit(const bson_t *doc, struct ratelimit *rl)
{
	bson_iter_t	it, a;
	int64_t		v[6];
	int		n;

	if (!bson_iter_init_find(&it, doc, "r") ||
	    !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &a))
		return;
	for (n = 0; n < 6 && bson_iter_next(&a); n++) {
		if (!BSON_ITER_HOLDS_INT64(&a))
			return;
		v[n] = bson_iter_int64(&a);
	}
	if (n != 6)
		return;

	rl->limit = (u_int32_t)v[0];
	rl->remaining = (u_int32_t)v[1];
	rl->reset = v[2];
	rl->retry_after = (u_int32_t)v[3];
	rl->exceeded = v[4] != 0;
	rl->local = v[5] != 0;
	rl->checked = 1;
}

/* Where the draft came from: its result. */
static void
route_committed(u_int16_t src, const void *data, size_t len)
{
	struct msg_draft	*d;
	bson_t			doc;
	bson_iter_t		it;
	u_int64_t		id;
	const char		*s;
	u_int32_t		n;

	if (!bson_init_static(&doc, data, len) ||
	    !bson_iter_init_find(&it, &doc, "i") ||
	    !BSON_ITER_HOLDS_INT64(&it)) {
		core_log("route: malformed result from worker %u", src);
		return;
	}
	id = (u_int64_t)bson_iter_int64(&it);

	TAILQ_FOREACH(d, &sent, list) {
		if (d->route_id == id)
			break;
	}
	if (d == NULL)
		return;		/* answered already (the sweep) */

	if (bson_iter_init_find(&it, &doc, "s") && BSON_ITER_HOLDS_INT32(&it))
		d->res.status = bson_iter_int32(&it);
	else
		d->res.status = 500;
	if (bson_iter_init_find(&it, &doc, "e") && BSON_ITER_HOLDS_UTF8(&it))
		(void)snprintf(d->res.err, sizeof(d->res.err), "%s",
		    bson_iter_utf8(&it, NULL));
	if (bson_iter_init_find(&it, &doc, "o") && BSON_ITER_HOLDS_UTF8(&it)) {
		s = bson_iter_utf8(&it, &n);
		json_raw(&d->res.out, s, n);
	}
	route_get_limit(&doc, &d->res.rl);

	TAILQ_REMOVE(&sent, d, list);
	route_answer(d);
}

/*
 * An owner started again: what went to it before it started went to
 * the one that died, and will never be answered.
 */
static void
route_owner_restarted(u_int16_t id, u_int32_t gen, u_int64_t started)
{
	struct msg_draft	*d, *next;

	(void)gen;
	for (d = TAILQ_FIRST(&sent); d != NULL; d = next) {
		next = TAILQ_NEXT(d, list);
		if (d->route_to != id || d->route_at >= started)
			continue;
		TAILQ_REMOVE(&sent, d, list);
		route_fail(d);
	}
}

/* Owners that went away with drafts: 503 past the deadline. */
static void
route_sweep(void *arg)
{
	struct msg_draft	*d, *next;
	int64_t			now;

	(void)arg;
	now = core_now_ms();
	for (d = TAILQ_FIRST(&sent); d != NULL; d = next) {
		next = TAILQ_NEXT(d, list);
		if (now < d->deadline + store_timeout_ms() + ROUTE_GRACE_MS)
			continue;
		TAILQ_REMOVE(&sent, d, list);
		route_fail(d);
	}

	sweep_armed = !TAILQ_EMPTY(&sent);
	if (sweep_armed)
		job_after(ROUTE_SWEEP_MS, route_sweep, NULL);
}

/*
 * The owner died with d: the requester hears 503 (a retry with the same
 * clientMessageId gets the stored one back), and d waits in msg_doubt.c
 * to be announced should the owner have stored it before dying.
 */
static void
route_fail(struct msg_draft *d)
{
	d->res.status = 503;
	(void)snprintf(d->res.err, sizeof(d->res.err),
	    "Server busy, try again shortly");
	if (d->done != NULL)
		d->done(d->arg, &d->res);
	d->done = NULL;
	msg_doubt_draft(d);
}

static void
route_answer(struct msg_draft *d)
{
	if (d->done != NULL)
		d->done(d->arg, &d->res);
	msg_draft_free(d);
}

/*
 * The draft as a document: what the owner needs to number, store and
 * render it (the sender as the requester saw them, the checked reply).
 */
static void
route_encode(const struct msg_draft *d, bson_t *doc)
{
	bson_t		u, arr;
	char		key[24];
	size_t		i;

	BSON_APPEND_INT64(doc, "i", (int64_t)d->route_id);
	BSON_APPEND_OID(doc, "id", &d->m.id);
	BSON_APPEND_DOCUMENT_BEGIN(doc, "u", &u);
	BSON_APPEND_OID(&u, "o", &d->user.oid);
	BSON_APPEND_UTF8(&u, "n", d->user.name);
	BSON_APPEND_UTF8(&u, "a", d->user.avatar);
	BSON_APPEND_BOOL(&u, "v", d->user.is_verified);
	BSON_APPEND_BOOL(&u, "p", d->user.is_premium);
	bson_append_document_end(doc, &u);
	BSON_APPEND_OID(doc, "c", &d->conv);
	BSON_APPEND_UTF8(doc, "t", d->content);
	BSON_APPEND_UTF8(doc, "y", d->type);
	if (d->metadata != NULL)
		BSON_APPEND_DOCUMENT(doc, "m", d->metadata);
	if (d->has_reply_to)
		BSON_APPEND_OID(doc, "r", &d->reply_to);
	if (d->has_forward)
		BSON_APPEND_OID(doc, "f", &d->forwarded_from);
	BSON_APPEND_UTF8(doc, "k", d->client_id);
	BSON_APPEND_BOOL(doc, "l", d->ratelimit);
	BSON_APPEND_ARRAY_BEGIN(doc, "rp", &arr);
	for (i = 0; i < d->replies.n; i++) {
		(void)snprintf(key, sizeof(key), "%zu", i);
		BSON_APPEND_DOCUMENT(&arr, key, d->replies.docs[i]);
	}
	bson_append_array_end(doc, &arr);
}

static struct msg_draft *
route_decode(const bson_t *doc)
{
	struct msg_draft	*d;
	bson_iter_t		it, sub;
	const u_int8_t		*data;
	u_int32_t		len;
	bson_t			b;
	const char		*key;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		abort();
	doclist_init(&d->replies);
	json_init(&d->res.out);
	evq_init(&d->ev);

	if (!bson_iter_init(&it, doc))
		goto bad;
	while (bson_iter_next(&it)) {
		key = bson_iter_key(&it);
		if (!strcmp(key, "i") && BSON_ITER_HOLDS_INT64(&it)) {
			d->route_id = (u_int64_t)bson_iter_int64(&it);
		} else if (!strcmp(key, "id") && BSON_ITER_HOLDS_OID(&it)) {
			bson_oid_copy(bson_iter_oid(&it), &d->m.id);
			d->has_id = 1;
		} else if (!strcmp(key, "u") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
		    bson_iter_recurse(&it, &sub)) {
			while (bson_iter_next(&sub)) {
				key = bson_iter_key(&sub);
				if (!strcmp(key, "o") && BSON_ITER_HOLDS_OID(&sub)) {
					bson_oid_copy(bson_iter_oid(&sub),
					    &d->user.oid);
					bson_oid_to_string(&d->user.oid,
					    d->user.id);
				} else if (!strcmp(key, "n") &&
				    BSON_ITER_HOLDS_UTF8(&sub)) {
					(void)snprintf(d->user.name,
					    sizeof(d->user.name), "%s",
					    bson_iter_utf8(&sub, NULL));
				} else if (!strcmp(key, "a") &&
				    BSON_ITER_HOLDS_UTF8(&sub)) {
					(void)snprintf(d->user.avatar,
					    sizeof(d->user.avatar), "%s",
					    bson_iter_utf8(&sub, NULL));
				} else if (!strcmp(key, "v") &&
				    BSON_ITER_HOLDS_BOOL(&sub)) {
					d->user.is_verified =
					    bson_iter_bool(&sub);
				} else if (!strcmp(key, "p") &&
				    BSON_ITER_HOLDS_BOOL(&sub)) {
					d->user.is_premium =
					    bson_iter_bool(&sub);
				}
			}
		} else if (!strcmp(key, "c") && BSON_ITER_HOLDS_OID(&it)) {
			bson_oid_copy(bson_iter_oid(&it), &d->conv);
		} else if (!strcmp(key, "t") && BSON_ITER_HOLDS_UTF8(&it)) {
			if ((d->content = strdup(bson_iter_utf8(&it,
			    NULL))) == NULL)
				abort();
		} else if (!strcmp(key, "y") && BSON_ITER_HOLDS_UTF8(&it)) {
			(void)snprintf(d->type, sizeof(d->type), "%s",
			    bson_iter_utf8(&it, NULL));
		} else if (!strcmp(key, "m") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
			bson_iter_document(&it, &len, &data);
			d->metadata = bson_new_from_data(data, len);
		} else if (!strcmp(key, "r") && BSON_ITER_HOLDS_OID(&it)) {
			d->has_reply_to = 1;
			bson_oid_copy(bson_iter_oid(&it), &d->reply_to);
		} else if (!strcmp(key, "f") && BSON_ITER_HOLDS_OID(&it)) {
			d->has_forward = 1;
			bson_oid_copy(bson_iter_oid(&it), &d->forwarded_from);
		} else if (!strcmp(key, "k") && BSON_ITER_HOLDS_UTF8(&it)) {
			(void)snprintf(d->client_id, sizeof(d->client_id),
			    "%s", bson_iter_utf8(&it, NULL));
		} else if (!strcmp(key, "l") && BSON_ITER_HOLDS_BOOL(&it)) {
			d->ratelimit = bson_iter_bool(&it);
		} else if (!strcmp(key, "rp") && BSON_ITER_HOLDS_ARRAY(&it) &&
		    bson_iter_recurse(&it, &sub)) {
			while (bson_iter_next(&sub)) {
				if (!BSON_ITER_HOLDS_DOCUMENT(&sub))
					continue;
				bson_iter_document(&sub, &len, &data);
				if (bson_init_static(&b, data, len))
					doclist_push(&d->replies, &b);
			}
		}
	}

	if (d->content != NULL && d->type[0] != '\0' && d->route_id != 0)
		return (d);
bad:
	msg_draft_free(d);
	return (NULL);
}
