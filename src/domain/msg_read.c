/*
 * Reading: history pages, search, single messages and their receipts,
 * and the read position unread counts are derived from (SPEC.md §2.9,
 * store/conversations.h for the counters).
 *
 * History is read by bucket (store/messages.h): a cursor page, and a
 * page-number page while the conversation has no deletions for the
 * reader, read O(page) messages whatever the conversation's size.
 * Filters (type, text, dates) scan the conversation: they are rare.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "domain/chat_json.h"
#include "domain/conv_lock.h"
#include "domain/conv_state.h"
#include "domain/conversation_service.h"
#include "domain/domain.h"
#include "domain/msg_internal.h"
#include "lib/json.h"
#include "lib/text.h"
#include "store/conversations.h"
#include "store/doc.h"
#include "store/messagereads.h"
#include "store/store.h"
#include "store/users.h"

/* Receipts and readBy marks written by one read, at most. */
#define MSG_READ_RANGE_MAX	1000

struct read_tally {
	int64_t		own;		/* the reader's own messages */
	int64_t		skip;		/* others', deleted or hidden */
};

static int	msg_page(const struct dom_caller *, const bson_oid_t *,
		    const bson_t *, const struct msg_list_in *,
		    struct doclist *, int64_t *, int *);
static void	msg_page_cursor(const bson_t *, const bson_oid_t *, int64_t,
		    const struct msg_list_in *, struct msgs_window *, int *);
static int	msg_read_upto(const bson_t *, const bson_oid_t *,
		    const bson_oid_t *, const struct doclist *, int64_t,
		    int64_t);
static int	msg_read_range(const bson_oid_t *, const bson_oid_t *,
		    int64_t, int64_t, struct doclist *, struct read_tally *);
static void	msg_tally(const bson_t *, const bson_oid_t *,
		    struct read_tally *);

int
msg_list(const struct dom_caller *u, const bson_oid_t *cid,
    const struct msg_list_in *in, struct json *out, char *err, size_t errlen)
{
	struct doclist		docs, replies;
	struct oidlist		rids;
	struct userset		users;
	bson_t			conv;
	bson_oid_t		oid;
	int64_t			total, first, last, convseq;
	size_t			i;
	int			status, ret, more, cursor;

	if ((status = conv_load_visible(cid, &u->oid, &conv, err, errlen)) !=
	    200)
		return (status);
	convseq = doc_int(&conv, "seq", 0);

	doclist_init(&docs);
	doclist_init(&replies);
	oidlist_init(&rids);
	userset_init(&users);

	cursor = in->after_seq >= 0 || in->before_seq >= 0;
	if ((ret = msg_page(u, cid, &conv, in, &docs, &total, &more)) !=
	    STORE_OK) {
		status = dom_store_fail(err, errlen, ret, msg_conv_not_found);
		goto done;
	}

	/* Pages read newest first are shown oldest first, like the peer. */
	if (in->after_seq < 0)
		doclist_reverse(&docs);

	for (i = 0; i < docs.n; i++) {
		userset_add_field(&users, docs.docs[i], "senderId");
		if (doc_oid(docs.docs[i], "replyToId", &oid))
			oidlist_add(&rids, &oid);
	}
	if ((ret = msgs_find_many(&rids, &replies)) != STORE_OK ||
	    (ret = userset_load(&users)) != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, msg_conv_not_found);
		goto done;
	}

	first = docs.n > 0 ? doc_int(docs.docs[0], "seq", 0) : -1;
	last = docs.n > 0 ? doc_int(docs.docs[docs.n - 1], "seq", 0) : -1;

	json_obj_open(out);
	json_key(out, "messages");
	json_arr_open(out);
	for (i = 0; i < docs.n; i++)
		cj_message(out, docs.docs[i], &users, &replies, NULL);
	json_arr_close(out);

	/*
	 * nextCursor: pass as afterSeq for what comes after this page;
	 * prevCursor: pass as beforeSeq for what comes before it.
	 */
	json_key(out, "pagination");
	json_obj_open(out);
	if (!cursor) {
		cj_pagination_fields(out, in->page, in->limit, total);
	} else if (in->after_seq >= 0) {
		json_kint(out, "limit", in->limit);
		json_kbool(out, "hasNext", more);
		json_kbool(out, "hasPrev",
		    (first >= 0 ? first : in->after_seq + 1) > 1);
	} else {
		json_kint(out, "limit", in->limit);
		json_kbool(out, "hasNext",
		    (last >= 0 ? last : in->before_seq - 1) < convseq);
		json_kbool(out, "hasPrev", more);
	}
	json_key(out, "nextCursor");
	if (last >= 0)
		json_int(out, last);
	else if (in->after_seq >= 0)
		json_int(out, in->after_seq);
	else if (in->before_seq > 0)
		json_int(out, in->before_seq - 1);
	else
		json_null(out);
	json_key(out, "prevCursor");
	if (first >= 0)
		json_int(out, first);
	else if (in->after_seq >= 0)
		json_int(out, in->after_seq + 1);
	else
		json_null(out);
	json_obj_close(out);
	json_obj_close(out);
	status = 200;

done:
	bson_destroy(&conv);
	doclist_free(&docs);
	doclist_free(&replies);
	oidlist_free(&rids);
	userset_free(&users);
	return (status);
}

/*
 * docs ← the page, newest first (afterSeq: oldest first). *total is the
 * page-number total, *more whether a cursor page has a successor.
 */
static int
msg_page(const struct dom_caller *u, const bson_oid_t *cid, const bson_t *conv,
    const struct msg_list_in *in, struct doclist *docs, int64_t *total,
    int *more)
{
	struct msgs_window	w;
	struct msgs_query	q;
	struct doclist		all;
	char			*pattern;
	int64_t			seq, skip, n;
	size_t			i;
	int			ret, filtered;

	*total = 0;
	*more = 0;
	seq = doc_int(conv, "seq", 0);
	filtered = in->type != NULL || (in->search != NULL &&
	    in->search[0] != '\0') || in->has_after || in->has_before;

	if (filtered) {
		memset(&q, 0, sizeof(q));
		q.conv = cid;
		q.viewer = &u->oid;
		q.type = in->type;
		pattern = NULL;
		if (in->search != NULL && in->search[0] != '\0') {
			pattern = text_regex_escape(in->search);
			q.pattern = pattern;
		}
		q.has_after = in->has_after;
		q.after = in->after;
		q.has_before = in->has_before;
		q.before = in->before;
		q.after_seq = in->after_seq;
		q.before_seq = in->before_seq;
		if (in->after_seq >= 0) {
			ret = msgs_list(&q, 0, 0, in->limit + 1, docs);
		} else if (in->before_seq >= 0) {
			ret = msgs_list(&q, 1, 0, in->limit + 1, docs);
		} else if ((n = msgs_count(&q)) < 0) {
			ret = (int)n;
		} else {
			*total = n;
			ret = msgs_list(&q, 1, (in->page - 1) * in->limit,
			    in->limit, docs);
		}
		free(pattern);
	} else {
		memset(&w, 0, sizeof(w));
		w.conv = cid;
		w.viewer = &u->oid;
		if (in->after_seq >= 0) {
			w.from = in->after_seq;
			w.to = seq;
			w.limit = in->limit + 1;
		} else if (in->before_seq >= 0) {
			w.to = in->before_seq - 1;
			w.newest_first = 1;
			w.limit = in->limit + 1;
		} else {
			*total = convs_doc_history(conv, &u->oid);
			skip = (in->page - 1) * in->limit;
			w.newest_first = 1;
			w.to = seq;
			w.limit = in->limit;
			/* Without deletions a position is a seq. */
			if (convs_doc_history_dense(conv, &u->oid)) {
				w.to = seq - skip;
				skip = 0;
			}
			w.limit += skip;
		}
		if (in->after_seq >= 0 || in->before_seq >= 0)
			msg_page_cursor(conv, &u->oid, seq, in, &w, more);
		if (w.to <= w.from) {
			ret = STORE_OK;
		} else if (in->after_seq < 0 && in->before_seq < 0 &&
		    w.limit > (size_t)in->limit) {
			/* Deletions: walk to the page, keep only the page. */
			doclist_init(&all);
			ret = msgs_window(&w, &all);
			for (i = w.limit - in->limit; i < all.n; i++)
				doclist_push(docs, all.docs[i]);
			doclist_free(&all);
		} else {
			ret = msgs_window(&w, docs);
		}
	}

	if (ret == STORE_OK && (in->after_seq >= 0 || in->before_seq >= 0) &&
	    docs->n > (size_t)in->limit) {
		*more = 1;
		bson_destroy(docs->docs[--docs->n]);
	}

	return (ret);
}

/*
 * A cursor page of a history with no gap for this caller (nothing deleted
 * or hidden): every seq up to the head is there, so whether more follow
 * is arithmetic, and the window is the page itself. Otherwise the page
 * reads one message past it to know, which can cost a whole bucket.
 */
static void
msg_page_cursor(const bson_t *conv, const bson_oid_t *viewer, int64_t seq,
    const struct msg_list_in *in, struct msgs_window *w, int *more)
{
	if (!convs_doc_history_dense(conv, viewer))
		return;

	if (w->to > seq)
		w->to = seq;
	if (in->after_seq >= 0) {
		if (w->to - w->from > in->limit) {
			w->to = w->from + in->limit;
			*more = 1;
		}
	} else if (w->to > in->limit) {
		w->from = w->to - in->limit;
		*more = 1;
	}
	w->limit = in->limit;
}

/*
 * Search runs on a task thread like every handler (SPEC.md §2.6),
 * scoped to the conversations the caller can see, archived included.
 */
int
msg_search(const struct dom_caller *u, const char *text, int64_t limit,
    struct json *out, char *err, size_t errlen)
{
	struct oidlist	scope, cids;
	struct doclist	docs, convs;
	struct userset	users;
	bson_oid_t	oid;
	char		*pattern;
	size_t		i;
	int		ret, status;

	oidlist_init(&scope);
	oidlist_init(&cids);
	doclist_init(&docs);
	doclist_init(&convs);
	userset_init(&users);
	pattern = text_regex_escape(text);

	if ((ret = convs_ids_of(&u->oid, 1, &scope)) != STORE_OK ||
	    (ret = msgs_search(&scope, &u->oid, pattern, limit, &docs)) !=
	    STORE_OK) {
		status = dom_store_fail(err, errlen, ret, msg_not_found);
		goto done;
	}

	for (i = 0; i < docs.n; i++) {
		userset_add_field(&users, docs.docs[i], "senderId");
		if (doc_oid(docs.docs[i], "conversationId", &oid))
			oidlist_add(&cids, &oid);
	}
	if ((ret = convs_find_many(&cids, &convs)) != STORE_OK ||
	    (ret = userset_load(&users)) != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, msg_not_found);
		goto done;
	}
	conv_state_overlay(&convs);

	json_arr_open(out);
	for (i = 0; i < docs.n; i++)
		cj_message(out, docs.docs[i], &users, NULL, &convs);
	json_arr_close(out);
	status = 200;

done:
	free(pattern);
	oidlist_free(&scope);
	oidlist_free(&cids);
	doclist_free(&docs);
	doclist_free(&convs);
	userset_free(&users);
	return (status);
}

int
msg_get(const struct dom_caller *u, const bson_oid_t *mid, struct json *out,
    char *err, size_t errlen)
{
	bson_t		msg;
	int		status;

	if ((status = msg_load(u, mid, &msg, NULL, err, errlen)) != 200)
		return (status);

	status = msg_render_one(u, &msg, out, NULL, NULL, err, errlen);
	bson_destroy(&msg);

	return (status);
}

int
msg_read(const struct dom_caller *u, const bson_oid_t *mid,
    const bson_oid_t *cid_given, struct evq *ev, char *err, size_t errlen)
{
	struct conv_lock	lk;
	struct doclist		docs;
	bson_oid_t		cid;
	bson_t			msg, conv;
	int64_t			now;
	int			status, ret;

	if ((status = msg_lock_load(u, mid, cid_given, &lk, &msg, &conv, err,
	    errlen)) != 200)
		return (status);
	(void)doc_oid(&msg, "conversationId", &cid);

	now = core_now_ms();
	doclist_init(&docs);
	doclist_push(&docs, &msg);
	ret = msg_read_upto(&conv, &cid, &u->oid, &docs,
	    doc_int(&msg, "seq", 0), now);
	conv_unlock(&lk);
	doclist_free(&docs);
	bson_destroy(&msg);
	bson_destroy(&conv);

	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, msg_not_found));

	dom_note_changed(ev, "conv", &cid);
	if (ev != NULL)
		msg_emit_read(ev, &cid, mid, &u->oid, now);

	return (204);
}

int
msg_read_bulk(const struct dom_caller *u, const bson_oid_t *cid,
    const bson_oid_t *mids, size_t n, struct evq *ev, char *err,
    size_t errlen)
{
	struct conv_lock	lk;
	struct oidlist		want, ids;
	struct doclist		docs;
	bson_oid_t		oid;
	bson_t			conv;
	struct doclist		found;
	bson_oid_t		mcid;
	int64_t			now, upto, seq;
	size_t			i;
	int			status, ret;

	if ((status = conv_check_participant(cid, &u->oid, err, errlen)) !=
	    200)
		return (status);

	if (n == 0)
		return (204);

	oidlist_init(&want);
	oidlist_init(&ids);
	doclist_init(&docs);
	for (i = 0; i < n; i++)
		oidlist_add(&want, &mids[i]);

	if (conv_lock(cid, &lk) == -1) {
		status = dom_fail(err, errlen, 503,
		    "Conversation busy, try again later");
		goto done;
	}

	if ((status = conv_load_fresh(cid, &u->oid, &conv, err, errlen)) !=
	    200) {
		conv_unlock(&lk);
		goto done;
	}

	/* Only messages of this conversation the caller can see count. */
	doclist_init(&found);
	ret = msgs_find_many(&want, &found);
	for (i = 0; ret == STORE_OK && i < found.n; i++) {
		if (doc_oid(found.docs[i], "conversationId", &mcid) &&
		    bson_oid_equal(&mcid, cid) &&
		    msgs_doc_visible_to(found.docs[i], &u->oid))
			doclist_push(&docs, found.docs[i]);
	}
	doclist_free(&found);
	upto = 0;
	for (i = 0; ret == STORE_OK && i < docs.n; i++) {
		if (doc_oid(docs.docs[i], "_id", &oid))
			oidlist_add(&ids, &oid);
		if ((seq = doc_int(docs.docs[i], "seq", 0)) > upto)
			upto = seq;
	}

	now = core_now_ms();
	if (ret == STORE_OK && ids.n > 0)
		ret = msg_read_upto(&conv, cid, &u->oid, &docs, upto, now);
	conv_unlock(&lk);
	bson_destroy(&conv);

	if (ret != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, msg_conv_not_found);
		goto done;
	}

	if (ids.n > 0)
		dom_note_changed(ev, "conv", cid);
	for (i = 0; ev != NULL && i < ids.n; i++)
		msg_emit_read(ev, cid, &ids.v[i], &u->oid, now);
	status = 204;

done:
	oidlist_free(&want);
	oidlist_free(&ids);
	doclist_free(&docs);
	return (status);
}

int
msg_reads(const struct dom_caller *u, const bson_oid_t *mid, struct json *out,
    char *err, size_t errlen)
{
	struct doclist	docs;
	struct userset	users;
	bson_iter_t	it;
	bson_t		msg;
	const char	*key;
	size_t		i;
	int		status, ret;

	if ((status = msg_load(u, mid, &msg, NULL, err, errlen)) != 200)
		return (status);
	bson_destroy(&msg);

	doclist_init(&docs);
	userset_init(&users);
	if ((ret = reads_list(mid, &docs)) != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, msg_not_found);
		goto done;
	}
	for (i = 0; i < docs.n; i++)
		userset_add_field(&users, docs.docs[i], "userId");
	if ((ret = userset_load(&users)) != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, msg_not_found);
		goto done;
	}

	json_arr_open(out);
	for (i = 0; i < docs.n; i++) {
		json_obj_open(out);
		if (bson_iter_init(&it, docs.docs[i])) {
			while (bson_iter_next(&it)) {
				key = bson_iter_key(&it);
				json_key(out, key);
				if (!strcmp(key, "userId") &&
				    BSON_ITER_HOLDS_OID(&it))
					cj_user_brief(out, &users,
					    bson_iter_oid(&it));
				else
					json_bson_value(out, &it);
				if (!strcmp(key, "_id")) {
					json_key(out, "id");
					json_bson_value(out, &it);
				}
			}
		}
		json_obj_close(out);
	}
	json_arr_close(out);
	status = 200;

done:
	doclist_free(&docs);
	userset_free(&users);
	return (status);
}

/*
 * Under the conversation lock: user has read the messages `docs` and
 * everything up to seq upto. readBy and receipts for what was unread in
 * that range, then the read position moves on, and with it the counters
 * unread is derived from (store/conversations.h): the range read is
 * tallied, or what is left after it when that is shorter.
 */
static int
msg_read_upto(const bson_t *conv, const bson_oid_t *cid,
    const bson_oid_t *user, const struct doclist *docs, int64_t upto,
    int64_t now)
{
	struct read_tally	read, rest;
	struct doclist		mark;
	struct oidlist		receipts;
	bson_oid_t		oid;
	int64_t			last, top, own, skip;
	size_t			i;
	int			ret;

	last = doc_map_int(conv, "lastReadSeq", user, 0);
	top = doc_int(conv, "seq", 0);
	own = doc_map_int(conv, "ownReadCounts", user, 0);
	skip = doc_map_int(conv, "skipCounts", user, 0);

	doclist_init(&mark);
	oidlist_init(&receipts);
	for (i = 0; i < docs->n; i++) {
		if (!doc_oid(docs->docs[i], "_id", &oid))
			continue;
		oidlist_add(&receipts, &oid);
		/* The first read is the one readBy keeps. */
		if (!msgs_doc_read_by(docs->docs[i], user))
			doclist_push(&mark, docs->docs[i]);
	}

	ret = STORE_OK;
	memset(&read, 0, sizeof(read));
	memset(&rest, 0, sizeof(rest));
	if (upto > last) {
		ret = msg_read_range(cid, user, last, upto, &mark, &read);
		if (ret == STORE_OK && top - upto < upto - last && upto < top)
			ret = msg_read_range(cid, user, upto, top, NULL, &rest);
	}
	for (i = 0; ret == STORE_OK && i < mark.n; i++) {
		if (doc_oid(mark.docs[i], "_id", &oid))
			oidlist_add(&receipts, &oid);
	}
	if (ret == STORE_OK)
		ret = msgs_mark_read(&mark, user, now);
	if (ret == STORE_OK)
		ret = reads_insert(cid, user, &receipts, now);
	doclist_free(&mark);
	oidlist_free(&receipts);

	if (ret != STORE_OK || upto <= last)
		return (ret);

	if (top - upto < upto - last && upto < top) {
		own = doc_map_int(conv, "sentCounts", user, 0) - rest.own;
		skip = rest.skip;
	} else {
		own += read.own;
		skip -= read.skip;
	}

	return (convs_set_read(cid, user, upto, own, skip > 0 ? skip : 0));
}

/*
 * Tallies (from, to] for user; mark (when not NULL) gets the messages of
 * others the user can see and has not read, up to MSG_READ_RANGE_MAX,
 * the newest first.
 */
static int
msg_read_range(const bson_oid_t *cid, const bson_oid_t *user, int64_t from,
    int64_t to, struct doclist *mark, struct read_tally *t)
{
	struct msgs_window	w;
	struct doclist		docs;
	bson_oid_t		sender;
	size_t			i;
	int			ret;

	memset(&w, 0, sizeof(w));
	w.conv = cid;
	w.from = from;
	w.to = to;
	w.newest_first = 1;

	doclist_init(&docs);
	ret = msgs_window(&w, &docs);
	for (i = 0; ret == STORE_OK && i < docs.n; i++) {
		msg_tally(docs.docs[i], user, t);
		if (mark == NULL || mark->n >= MSG_READ_RANGE_MAX ||
		    !doc_oid(docs.docs[i], "senderId", &sender) ||
		    bson_oid_equal(&sender, user) ||
		    !msgs_doc_visible_to(docs.docs[i], user) ||
		    msgs_doc_read_by(docs.docs[i], user))
			continue;
		doclist_push(mark, docs.docs[i]);
	}
	doclist_free(&docs);

	return (ret);
}

static void
msg_tally(const bson_t *msg, const bson_oid_t *user, struct read_tally *t)
{
	bson_oid_t	sender;

	if (!doc_oid(msg, "senderId", &sender))
		return;
	if (bson_oid_equal(&sender, user))
		t->own++;
	else if (!msgs_doc_visible_to(msg, user))
		t->skip++;
}
