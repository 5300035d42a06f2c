/*
 * The messages collection (see messages.h).
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "store/doc.h"
#include "lib/doclist.h"
#include "store/messages.h"
#include "store/store.h"

static int	msgs_buckets(const bson_oid_t *, int64_t, int64_t, size_t,
		    struct doclist *);
static size_t	msgs_window_span(const struct msgs_window *, int64_t, int64_t);
static int	msgs_window_take(const struct msgs_window *, struct doclist *,
		    struct doclist *);
static void	msgs_sort(struct doclist *, int);
static int	msgs_cmp_asc(const void *, const void *);
static int	msgs_cmp_desc(const void *, const void *);
static int	msgs_cmp_newest(const void *, const void *);
static void	msgs_filter(bson_t *, const struct msgs_query *);
static int	msgs_update_id(const char *, const bson_oid_t *, const bson_t *);

void
msgs_bucket_key(char *buf, size_t len, const bson_oid_t *conv, int64_t seq)
{
	char		hex[25];

	bson_oid_to_string(conv, hex);
	(void)snprintf(buf, len, "%s:%lld", hex,
	    (long long)(seq / MSGS_BUCKET));
}

void
msgs_build(const struct msgs_new *m, bson_t *doc)
{
	char		hex[25], bucket[MSGS_BUCKET_KEY_MAX];

	msgs_bucket_key(bucket, sizeof(bucket), &m->conv, m->seq);

	bson_init(doc);
	BSON_APPEND_OID(doc, "_id", &m->id);
	BSON_APPEND_OID(doc, "conversationId", &m->conv);
	BSON_APPEND_OID(doc, "senderId", &m->sender);
	BSON_APPEND_UTF8(doc, "content", m->content);
	BSON_APPEND_UTF8(doc, "type", m->type);
	if (m->metadata != NULL)
		BSON_APPEND_DOCUMENT(doc, "metadata", m->metadata);
	if (m->reply_to != NULL)
		BSON_APPEND_OID(doc, "replyToId", m->reply_to);
	if (m->forwarded_from != NULL) {
		BSON_APPEND_BOOL(doc, "isForwarded", true);
		BSON_APPEND_OID(doc, "forwardedFromId", m->forwarded_from);
	}
	BSON_APPEND_INT64(doc, "seq", m->seq);
	BSON_APPEND_UTF8(doc, "bucket", bucket);
	if (m->client_id != NULL) {
		BSON_APPEND_UTF8(doc, "clientMessageId", m->client_id);
	} else {
		bson_oid_to_string(&m->id, hex);
		BSON_APPEND_UTF8(doc, "clientMessageId", hex);
	}
	BSON_APPEND_DATE_TIME(doc, "createdAt", m->now);
}

int
msgs_insert_many(const bson_t **docs, size_t n, size_t *done)
{
	bson_t		opts, reply;
	bson_iter_t	it, we;
	bson_error_t	err;
	int		ret;

	*done = 0;
	if (n == 0)
		return (STORE_OK);

	bson_init(&opts);
	BSON_APPEND_BOOL(&opts, "ordered", true);

	ret = STORE_OK;
	if (mongoc_collection_insert_many(store_coll(STORE_MESSAGES), docs, n,
	    &opts, &reply, &err)) {
		*done = n;
	} else {
		ret = store_error("messages.insert", &err);
		if (bson_iter_init_find(&it, &reply, "insertedCount") &&
		    BSON_ITER_HOLDS_NUMBER(&it))
			*done = (size_t)bson_iter_as_int64(&it);
		/* The index of the first write error is the exact one. */
		if (bson_iter_init_find(&it, &reply, "writeErrors") &&
		    BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &we) &&
		    bson_iter_next(&we) && BSON_ITER_HOLDS_DOCUMENT(&we) &&
		    bson_iter_recurse(&we, &we) &&
		    bson_iter_find(&we, "index") && BSON_ITER_HOLDS_NUMBER(&we))
			*done = (size_t)bson_iter_as_int64(&we);
		if (*done > n)
			*done = n;
	}

	bson_destroy(&opts);
	bson_destroy(&reply);
	return (ret);
}

int
msgs_find(const bson_oid_t *id, bson_t *out)
{
	bson_t		filter;
	int		ret;

	bson_init(&filter);
	BSON_APPEND_OID(&filter, "_id", id);
	ret = store_find_one(STORE_MESSAGES, &filter, NULL, out);
	bson_destroy(&filter);

	return (ret);
}

int
msgs_find_many(const struct oidlist *ids, struct doclist *out)
{
	return (store_find_each(msgs_find, ids, out));
}

int
msgs_find_client(const bson_oid_t *conv, const bson_oid_t *sender,
    const char *client_id, bson_t *out)
{
	bson_t		filter;
	int		ret;

	bson_init(&filter);
	BSON_APPEND_UTF8(&filter, "clientMessageId", client_id);
	BSON_APPEND_OID(&filter, "conversationId", conv);
	BSON_APPEND_OID(&filter, "senderId", sender);
	ret = store_find_one(STORE_MESSAGES, &filter, NULL, out);
	bson_destroy(&filter);

	return (ret);
}

/*
 * The buckets a window spans, newest or oldest first. Those that its
 * limit covers when every message in them is visible are read at once
 * (store_find_all); should some be hidden from the viewer, the next
 * ones are read one at a time until the limit is met.
 */
int
msgs_window(const struct msgs_window *w, struct doclist *out)
{
	struct doclist	docs[MSGS_WINDOW_AHEAD];
	int64_t		b, first, last, step;
	size_t		i, n;
	int		ret, full;

	if (w->to <= w->from || w->to <= 0)
		return (STORE_OK);

	step = w->newest_first ? -1 : 1;
	first = w->newest_first ? w->to / MSGS_BUCKET :
	    (w->from + 1) / MSGS_BUCKET;
	last = w->newest_first ? (w->from + 1) / MSGS_BUCKET :
	    w->to / MSGS_BUCKET;

	n = msgs_window_span(w, first, last);
	full = 0;
	ret = STORE_OK;
	for (b = first; !full; b += (int64_t)n * step, n = 1) {
		ret = msgs_buckets(w->conv, b, step, n, docs);
		for (i = 0; i < n; i++) {
			if (ret == STORE_OK && !full)
				full = msgs_window_take(w, &docs[i], out) ||
				    b + (int64_t)i * step == last;
			doclist_free(&docs[i]);
		}
		if (ret != STORE_OK)
			break;
	}

	return (ret);
}

/* How many buckets from first the limit spans, at most AHEAD. */
static size_t
msgs_window_span(const struct msgs_window *w, int64_t first, int64_t last)
{
	int64_t		end, n;

	if (w->limit == 0)
		end = last;
	else if (w->newest_first)
		end = (w->to - (int64_t)w->limit + 1 > w->from + 1 ?
		    w->to - (int64_t)w->limit + 1 : w->from + 1) / MSGS_BUCKET;
	else
		end = (w->from + (int64_t)w->limit < w->to ?
		    w->from + (int64_t)w->limit : w->to) / MSGS_BUCKET;

	n = (w->newest_first ? first - end : end - first) + 1;
	if (n < 1)
		n = 1;
	return (n > MSGS_WINDOW_AHEAD ? MSGS_WINDOW_AHEAD : (size_t)n);
}

/* One bucket's messages of the window into out; 1 once it is full. */
static int
msgs_window_take(const struct msgs_window *w, struct doclist *docs,
    struct doclist *out)
{
	int64_t		seq;
	size_t		i;

	msgs_sort(docs, w->newest_first);
	for (i = 0; i < docs->n; i++) {
		seq = doc_int(docs->docs[i], "seq", 0);
		if (seq <= w->from || seq > w->to)
			continue;
		if (w->viewer != NULL &&
		    !msgs_doc_visible_to(docs->docs[i], w->viewer))
			continue;
		doclist_push(out, docs->docs[i]);
		if (w->limit > 0 && out->n >= w->limit)
			return (1);
	}

	return (0);
}

int
msgs_max_seq(const bson_oid_t *conv, int64_t known, int64_t *max)
{
	struct doclist	docs;
	int64_t		b, m, seq;
	size_t		i;
	int		ret;

	*max = known;
	for (b = (known + 1) / MSGS_BUCKET;; b++) {
		ret = msgs_buckets(conv, b, 1, 1, &docs);
		for (i = 0, m = 0; i < docs.n; i++) {
			if ((seq = doc_int(docs.docs[i], "seq", 0)) > m)
				m = seq;
		}
		doclist_free(&docs);
		if (ret != STORE_OK)
			return (ret);
		if (m > *max)
			*max = m;
		/* seq has no gap: only a full bucket may have a successor. */
		if (m != b * MSGS_BUCKET + MSGS_BUCKET - 1)
			break;
	}

	return (STORE_OK);
}

int
msgs_list(const struct msgs_query *q, int newest_first, int64_t skip,
    int64_t limit, struct doclist *out)
{
	bson_t		filter, opts, sort;
	int		ret;

	bson_init(&filter);
	msgs_filter(&filter, q);

	bson_init(&opts);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "seq", newest_first ? -1 : 1);
	bson_append_document_end(&opts, &sort);
	if (skip > 0)
		BSON_APPEND_INT64(&opts, "skip", skip);
	BSON_APPEND_INT64(&opts, "limit", limit);

	ret = store_find(STORE_MESSAGES, "messages.find", &filter, &opts, out);
	bson_destroy(&filter);
	bson_destroy(&opts);

	return (ret);
}

int64_t
msgs_count(const struct msgs_query *q)
{
	bson_t		filter;
	int64_t		n;

	bson_init(&filter);
	msgs_filter(&filter, q);
	n = store_count(STORE_MESSAGES, &filter);
	bson_destroy(&filter);

	return (n);
}

/*
 * One query per conversation (an equality FerretDB pushes down; an $in
 * over the scope would read the whole collection), merged newest first.
 */
int
msgs_search(const struct oidlist *convs, const bson_oid_t *viewer,
    const char *pattern, int64_t limit, struct doclist *out)
{
	struct msgs_query	q;
	struct doclist		all;
	size_t			i;
	int			ret;

	doclist_init(&all);
	memset(&q, 0, sizeof(q));
	q.viewer = viewer;
	q.pattern = pattern;
	q.after_seq = -1;
	q.before_seq = -1;

	ret = STORE_OK;
	for (i = 0; i < convs->n && ret == STORE_OK; i++) {
		q.conv = &convs->v[i];
		ret = msgs_list(&q, 1, 0, limit, &all);
	}

	if (ret == STORE_OK) {
		qsort(all.docs, all.n, sizeof(all.docs[0]), msgs_cmp_newest);
		for (i = 0; i < all.n && (int64_t)i < limit; i++)
			doclist_push(out, all.docs[i]);
	}

	doclist_free(&all);
	return (ret);
}

int
msgs_mark_read(const struct doclist *docs, const bson_oid_t *viewer,
    int64_t at)
{
	bson_t		filter, update, set, range, ex, ne;
	bson_error_t	err;
	const char	*bucket;
	bson_oid_t	id;
	char		key[64];
	int64_t		lo, hi, seq;
	size_t		i, k, n;
	int		ret;

	doc_map_key(key, sizeof(key), "readBy", viewer);
	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_DATE_TIME(&set, key, at);
	bson_append_document_end(&update, &set);

	ret = STORE_OK;
	for (i = 0; i < docs->n && ret == STORE_OK; i = k) {
		/* docs come bucket by bucket (msgs_window): take a run. */
		bucket = doc_str(docs->docs[i], "bucket");
		lo = hi = doc_int(docs->docs[i], "seq", 0);
		for (k = i + 1, n = 1; k < docs->n; k++, n++) {
			if (bucket == NULL || doc_str(docs->docs[k],
			    "bucket") == NULL || strcmp(bucket,
			    doc_str(docs->docs[k], "bucket")))
				break;
			seq = doc_int(docs->docs[k], "seq", 0);
			lo = seq < lo ? seq : lo;
			hi = seq > hi ? seq : hi;
		}

		if (n == 1) {
			if (doc_oid(docs->docs[i], "_id", &id))
				ret = msgs_update_id("messages.mark_read", &id,
				    &update);
			if (ret == STORE_NOTFOUND)
				ret = STORE_OK;
			continue;
		}

		/* One update for the run: the unread of others in lo..hi. */
		bson_init(&filter);
		BSON_APPEND_UTF8(&filter, "bucket", bucket);
		BSON_APPEND_DOCUMENT_BEGIN(&filter, "seq", &range);
		BSON_APPEND_INT64(&range, "$gte", lo);
		BSON_APPEND_INT64(&range, "$lte", hi);
		bson_append_document_end(&filter, &range);
		BSON_APPEND_DOCUMENT_BEGIN(&filter, "senderId", &ne);
		BSON_APPEND_OID(&ne, "$ne", viewer);
		bson_append_document_end(&filter, &ne);
		BSON_APPEND_DOCUMENT_BEGIN(&filter, key, &ex);
		BSON_APPEND_BOOL(&ex, "$exists", false);
		bson_append_document_end(&filter, &ex);
		if (!mongoc_collection_update_many(store_coll(STORE_MESSAGES),
		    &filter, &update, NULL, NULL, &err))
			ret = store_error("messages.mark_read", &err);
		bson_destroy(&filter);
	}

	bson_destroy(&update);
	return (ret);
}

int
msgs_edit(const bson_oid_t *id, const char *content, int64_t at)
{
	bson_t		update, set;
	int		ret;

	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_UTF8(&set, "content", content);
	BSON_APPEND_DATE_TIME(&set, "editedAt", at);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", at);
	bson_append_document_end(&update, &set);

	ret = msgs_update_id("messages.edit", id, &update);
	bson_destroy(&update);

	return (ret);
}

/*
 * Delete for everyone blanks what could still be shown (SPEC.md §2.11):
 * the content and the metadata (file URLs, offers) are gone from the
 * document itself, so no later read or reply preview can expose them.
 */
int
msgs_delete_for_all(const bson_oid_t *id, int64_t at)
{
	bson_t		update, set, unset;
	int		ret;

	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_UTF8(&set, "content", "");
	BSON_APPEND_DATE_TIME(&set, "deletedAt", at);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", at);
	bson_append_document_end(&update, &set);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$unset", &unset);
	BSON_APPEND_UTF8(&unset, "metadata", "");
	bson_append_document_end(&update, &unset);

	ret = msgs_update_id("messages.delete_for_all", id, &update);
	bson_destroy(&update);

	return (ret);
}

int
msgs_delete_for(const bson_oid_t *id, const bson_oid_t *viewer, int64_t at)
{
	bson_t		update, add, set;
	int		ret;

	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$addToSet", &add);
	BSON_APPEND_OID(&add, "deletedFor", viewer);
	bson_append_document_end(&update, &add);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", at);
	bson_append_document_end(&update, &set);

	ret = msgs_update_id("messages.delete_for", id, &update);
	bson_destroy(&update);

	return (ret);
}

/* One reaction per user: a new one replaces the old (peer contract). */
int
msgs_react(const bson_oid_t *id, const bson_oid_t *user, const char *emoji,
    int64_t at)
{
	bson_t		update, set, add;
	char		key[64];
	int		ret;

	doc_map_key(key, sizeof(key), "reactionTypes", user);

	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_UTF8(&set, key, emoji);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", at);
	bson_append_document_end(&update, &set);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$addToSet", &add);
	BSON_APPEND_OID(&add, "reactions", user);
	bson_append_document_end(&update, &add);

	ret = msgs_update_id("messages.react", id, &update);
	bson_destroy(&update);

	return (ret);
}

int
msgs_unreact(const bson_oid_t *id, const bson_oid_t *user, int64_t at)
{
	bson_t		update, set, unset, pull;
	char		key[64];
	int		ret;

	doc_map_key(key, sizeof(key), "reactionTypes", user);

	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", at);
	bson_append_document_end(&update, &set);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$unset", &unset);
	BSON_APPEND_UTF8(&unset, key, "");
	bson_append_document_end(&update, &unset);
	/* An exact value: the kind of $pull FerretDB matches. */
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$pull", &pull);
	BSON_APPEND_OID(&pull, "reactions", user);
	bson_append_document_end(&update, &pull);

	ret = msgs_update_id("messages.unreact", id, &update);
	bson_destroy(&update);

	return (ret);
}

int
msgs_doc_visible_to(const bson_t *doc, const bson_oid_t *viewer)
{
	if (doc_has(doc, "deletedAt"))
		return (0);

	return (!doc_array_has_oid(doc, "deletedFor", viewer));
}

int
msgs_doc_read_by(const bson_t *doc, const bson_oid_t *viewer)
{
	return (doc_map_has(doc, "readBy", viewer));
}

/*
 * Every message of n buckets from b by step (in no particular order),
 * read at once; the first error, if any.
 */
static int
msgs_buckets(const bson_oid_t *conv, int64_t b, int64_t step, size_t n,
    struct doclist *out)
{
	struct store_query	q[MSGS_WINDOW_AHEAD];
	bson_t			filter[MSGS_WINDOW_AHEAD];
	char			key[MSGS_BUCKET_KEY_MAX];
	size_t			i;
	int			ret;

	for (i = 0; i < n; i++) {
		doclist_init(&out[i]);
		msgs_bucket_key(key, sizeof(key), conv,
		    (b + (int64_t)i * step) * MSGS_BUCKET);
		bson_init(&filter[i]);
		BSON_APPEND_UTF8(&filter[i], "bucket", key);
		memset(&q[i], 0, sizeof(q[i]));
		q[i].coll = STORE_MESSAGES;
		q[i].what = "messages.bucket";
		q[i].filter = &filter[i];
		q[i].out = &out[i];
	}

	store_find_all(q, n);

	ret = STORE_OK;
	for (i = 0; i < n; i++) {
		if (ret == STORE_OK)
			ret = q[i].ret;
		bson_destroy(&filter[i]);
	}

	return (ret);
}

static void
msgs_sort(struct doclist *l, int newest_first)
{
	qsort(l->docs, l->n, sizeof(l->docs[0]),
	    newest_first ? msgs_cmp_desc : msgs_cmp_asc);
}

static int
msgs_cmp_asc(const void *a, const void *b)
{
	int64_t		x, y;

	x = doc_int(*(bson_t * const *)a, "seq", 0);
	y = doc_int(*(bson_t * const *)b, "seq", 0);

	return (x < y ? -1 : x > y);
}

static int
msgs_cmp_desc(const void *a, const void *b)
{
	return (msgs_cmp_asc(b, a));
}

/* Search results: createdAt, then _id, newest first. */
static int
msgs_cmp_newest(const void *a, const void *b)
{
	return (doc_cmp_newest(*(bson_t * const *)a, *(bson_t * const *)b,
	    "createdAt"));
}

static void
msgs_filter(bson_t *f, const struct msgs_query *q)
{
	bson_t		re, range, ex, ne;

	BSON_APPEND_OID(f, "conversationId", q->conv);
	BSON_APPEND_DOCUMENT_BEGIN(f, "deletedAt", &ex);
	BSON_APPEND_BOOL(&ex, "$exists", false);
	bson_append_document_end(f, &ex);
	BSON_APPEND_DOCUMENT_BEGIN(f, "deletedFor", &ne);
	BSON_APPEND_OID(&ne, "$ne", q->viewer);
	bson_append_document_end(f, &ne);

	if (q->after_seq >= 0 || q->before_seq >= 0) {
		BSON_APPEND_DOCUMENT_BEGIN(f, "seq", &range);
		if (q->after_seq >= 0)
			BSON_APPEND_INT64(&range, "$gt", q->after_seq);
		if (q->before_seq >= 0)
			BSON_APPEND_INT64(&range, "$lt", q->before_seq);
		bson_append_document_end(f, &range);
	}

	if (q->type != NULL)
		BSON_APPEND_UTF8(f, "type", q->type);

	if (q->pattern != NULL) {
		BSON_APPEND_DOCUMENT_BEGIN(f, "content", &re);
		BSON_APPEND_UTF8(&re, "$regex", q->pattern);
		BSON_APPEND_UTF8(&re, "$options", "i");
		bson_append_document_end(f, &re);
	}

	if (q->has_after || q->has_before) {
		BSON_APPEND_DOCUMENT_BEGIN(f, "createdAt", &range);
		if (q->has_after)
			BSON_APPEND_DATE_TIME(&range, "$gte", q->after);
		if (q->has_before)
			BSON_APPEND_DATE_TIME(&range, "$lte", q->before);
		bson_append_document_end(f, &range);
	}
}

static int
msgs_update_id(const char *what, const bson_oid_t *id, const bson_t *update)
{
	return (store_update_id(STORE_MESSAGES, what, id, update));
}
