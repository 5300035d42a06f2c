/*
 * The messages collection (see messages.h).
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "store/doclist.h"
#include "store/messages.h"
#include "store/store.h"

static void	msgs_visible(bson_t *, const bson_oid_t *, const bson_oid_t *);
static void	msgs_filter(bson_t *, const struct msgs_query *);
static void	msgs_seq_range(bson_t *, int64_t, int64_t);
static void	msgs_append_in(bson_t *, const char *, const struct oidlist *);
static void	msgs_user_key(char *, size_t, const char *, const bson_oid_t *);

/* Up to this many ids are read or written one by one, by _id. */
#define MSGS_POINT_MAX	100

int
msgs_insert(const struct msgs_new *m, bson_t *out)
{
	bson_t		doc, map, arr;
	bson_error_t	err;
	char		hex[25];
	int		ret;

	bson_oid_to_string(m->sender, hex);

	bson_init(&doc);
	BSON_APPEND_OID(&doc, "_id", &m->id);
	BSON_APPEND_OID(&doc, "conversationId", m->conv);
	BSON_APPEND_OID(&doc, "senderId", m->sender);
	BSON_APPEND_UTF8(&doc, "content", m->content);
	BSON_APPEND_UTF8(&doc, "type", m->type);
	if (m->metadata != NULL)
		BSON_APPEND_DOCUMENT(&doc, "metadata", m->metadata);
	BSON_APPEND_DOCUMENT_BEGIN(&doc, "readBy", &map);
	BSON_APPEND_DATE_TIME(&map, hex, m->now);
	bson_append_document_end(&doc, &map);
	BSON_APPEND_ARRAY_BEGIN(&doc, "reactions", &arr);
	bson_append_array_end(&doc, &arr);
	BSON_APPEND_DOCUMENT_BEGIN(&doc, "reactionTypes", &map);
	bson_append_document_end(&doc, &map);
	if (m->reply_to != NULL)
		BSON_APPEND_OID(&doc, "replyToId", m->reply_to);
	BSON_APPEND_ARRAY_BEGIN(&doc, "deletedFor", &arr);
	bson_append_array_end(&doc, &arr);
	BSON_APPEND_BOOL(&doc, "isForwarded", m->forwarded_from != NULL);
	if (m->forwarded_from != NULL)
		BSON_APPEND_OID(&doc, "forwardedFromId", m->forwarded_from);
	BSON_APPEND_INT64(&doc, "seq", m->seq);
	if (m->client_id != NULL) {
		BSON_APPEND_UTF8(&doc, "clientMessageId", m->client_id);
	} else {
		bson_oid_to_string(&m->id, hex);
		BSON_APPEND_UTF8(&doc, "clientMessageId", hex);
	}
	BSON_APPEND_DATE_TIME(&doc, "createdAt", m->now);
	BSON_APPEND_DATE_TIME(&doc, "updatedAt", m->now);

	ret = STORE_OK;
	if (!mongoc_collection_insert_one(store_coll(STORE_MESSAGES), &doc,
	    NULL, NULL, &err))
		ret = store_error("messages.insert", &err);
	else if (out != NULL)
		bson_copy_to(&doc, out);

	bson_destroy(&doc);
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
msgs_find_client(const bson_oid_t *conv, const bson_oid_t *sender,
    const char *client_id, bson_t *out)
{
	bson_t		filter;
	int		ret;

	bson_init(&filter);
	BSON_APPEND_OID(&filter, "conversationId", conv);
	BSON_APPEND_OID(&filter, "senderId", sender);
	BSON_APPEND_UTF8(&filter, "clientMessageId", client_id);
	ret = store_find_one(STORE_MESSAGES, &filter, NULL, out);
	bson_destroy(&filter);

	return (ret);
}

/* The highest seq stored in conv (0 when it has no message). */
int
msgs_max_seq(const bson_oid_t *conv, int64_t *seq)
{
	bson_t		filter, opts, sort, doc;
	int		ret;

	bson_init(&filter);
	BSON_APPEND_OID(&filter, "conversationId", conv);
	bson_init(&opts);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "seq", -1);
	bson_append_document_end(&opts, &sort);

	*seq = 0;
	ret = store_find_one(STORE_MESSAGES, &filter, &opts, &doc);
	if (ret == STORE_OK) {
		*seq = msgs_doc_int(&doc, "seq", 0);
		bson_destroy(&doc);
	} else if (ret == STORE_NOTFOUND) {
		ret = STORE_OK;
	}

	bson_destroy(&filter);
	bson_destroy(&opts);
	return (ret);
}

/*
 * One page of q, by seq: newest first or oldest first. With the
 * conversationId equality, MongoDB walks the {conversationId, seq} index
 * from the cursor, so a deep cursor page costs what the first one does.
 */
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
 * By _id, one lookup each for the handful a page needs (reply previews,
 * last messages): FerretDB v1.24 pushes down only {_id: x}, and runs an
 * $in as a scan of the whole collection.
 */
int
msgs_find_many(const struct oidlist *ids, struct doclist *out)
{
	bson_t		filter, doc;
	size_t		i;
	int		ret;

	if (ids->n > MSGS_POINT_MAX) {
		bson_init(&filter);
		msgs_append_in(&filter, "_id", ids);
		ret = store_find(STORE_MESSAGES, "messages.find",
		    &filter, NULL, out);
		bson_destroy(&filter);
		return (ret);
	}

	for (i = 0; i < ids->n; i++) {
		ret = msgs_find(&ids->v[i], &doc);
		if (ret == STORE_NOTFOUND)
			continue;
		if (ret != STORE_OK)
			return (ret);
		doclist_push(out, &doc);
		bson_destroy(&doc);
	}

	return (STORE_OK);
}

/* Those of ids that are in conv and visible to viewer. */
int
msgs_find_visible(const bson_oid_t *conv, const bson_oid_t *viewer,
    const struct oidlist *ids, struct doclist *out)
{
	bson_t		filter;
	int		ret;

	if (ids->n == 0)
		return (STORE_OK);

	bson_init(&filter);
	msgs_append_in(&filter, "_id", ids);
	msgs_visible(&filter, conv, viewer);
	ret = store_find(STORE_MESSAGES, "messages.find", &filter, NULL, out);
	bson_destroy(&filter);

	return (ret);
}

/* Newest first, across convs, content matching the escaped pattern. */
int
msgs_search(const struct oidlist *convs, const bson_oid_t *viewer,
    const char *pattern, int64_t limit, struct doclist *out)
{
	bson_t		filter, opts, sort, re;
	int		ret;

	if (convs->n == 0)
		return (STORE_OK);

	bson_init(&filter);
	msgs_append_in(&filter, "conversationId", convs);
	msgs_visible(&filter, NULL, viewer);
	BSON_APPEND_DOCUMENT_BEGIN(&filter, "content", &re);
	BSON_APPEND_UTF8(&re, "$regex", pattern);
	BSON_APPEND_UTF8(&re, "$options", "i");
	bson_append_document_end(&filter, &re);

	bson_init(&opts);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "createdAt", -1);
	BSON_APPEND_INT32(&sort, "_id", -1);
	bson_append_document_end(&opts, &sort);
	BSON_APPEND_INT64(&opts, "limit", limit);

	ret = store_find(STORE_MESSAGES, "messages.find", &filter, &opts, out);
	bson_destroy(&filter);
	bson_destroy(&opts);

	return (ret);
}

/*
 * Unread for viewer among seq (from, to]: messages from others, visible
 * to the viewer (SPEC.md §2.9). Returns the count or a STORE_* error.
 */
int64_t
msgs_count_unread(const bson_oid_t *conv, const bson_oid_t *viewer,
    int64_t from, int64_t to)
{
	bson_t		filter, ne;
	int64_t		n;

	bson_init(&filter);
	msgs_visible(&filter, conv, viewer);
	msgs_seq_range(&filter, from, to);
	BSON_APPEND_DOCUMENT_BEGIN(&filter, "senderId", &ne);
	BSON_APPEND_OID(&ne, "$ne", viewer);
	bson_append_document_end(&filter, &ne);

	n = store_count(STORE_MESSAGES, &filter);
	bson_destroy(&filter);

	return (n);
}

/* Ids of up to limit messages of (from, to] that viewer has not read. */
int
msgs_unread_ids(const bson_oid_t *conv, const bson_oid_t *viewer,
    int64_t from, int64_t to, int64_t limit, struct oidlist *out)
{
	struct doclist	docs;
	bson_t		filter, opts, proj, ex, ne;
	bson_iter_t	it;
	char		key[64];
	size_t		i;
	int		ret;

	bson_init(&filter);
	msgs_visible(&filter, conv, viewer);
	msgs_seq_range(&filter, from, to);
	BSON_APPEND_DOCUMENT_BEGIN(&filter, "senderId", &ne);
	BSON_APPEND_OID(&ne, "$ne", viewer);
	bson_append_document_end(&filter, &ne);
	msgs_user_key(key, sizeof(key), "readBy", viewer);
	BSON_APPEND_DOCUMENT_BEGIN(&filter, key, &ex);
	BSON_APPEND_BOOL(&ex, "$exists", false);
	bson_append_document_end(&filter, &ex);

	bson_init(&opts);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, "_id", 1);
	bson_append_document_end(&opts, &proj);
	BSON_APPEND_INT64(&opts, "limit", limit);

	doclist_init(&docs);
	ret = store_find(STORE_MESSAGES, "messages.find",
	    &filter, &opts, &docs);
	for (i = 0; ret == STORE_OK && i < docs.n; i++) {
		if (bson_iter_init_find(&it, docs.docs[i], "_id") &&
		    BSON_ITER_HOLDS_OID(&it))
			oidlist_add(out, bson_iter_oid(&it));
	}

	doclist_free(&docs);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return (ret);
}

/*
 * readBy.<viewer> = at on ids, which the caller (under the conversation
 * lock) knows are unread. One update by _id each for a few: see
 * msgs_find_many.
 */
int
msgs_mark_read(const struct oidlist *ids, const bson_oid_t *viewer,
    int64_t at)
{
	bson_t		filter, update, set;
	bson_error_t	err;
	char		key[64];
	size_t		i;
	int		ret;

	if (ids->n == 0)
		return (STORE_OK);

	msgs_user_key(key, sizeof(key), "readBy", viewer);
	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_DATE_TIME(&set, key, at);
	bson_append_document_end(&update, &set);

	ret = STORE_OK;
	if (ids->n > MSGS_POINT_MAX) {
		bson_init(&filter);
		msgs_append_in(&filter, "_id", ids);
		if (!mongoc_collection_update_many(store_coll(STORE_MESSAGES),
		    &filter, &update, NULL, NULL, &err))
			ret = store_error("messages.mark_read", &err);
		bson_destroy(&filter);
	} else {
		for (i = 0; i < ids->n && ret == STORE_OK; i++) {
			ret = store_update_id(STORE_MESSAGES,
			    "messages.mark_read", &ids->v[i], &update);
			if (ret == STORE_NOTFOUND)
				ret = STORE_OK;
		}
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

	ret = store_update_id(STORE_MESSAGES, "messages.edit", id, &update);
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

	ret = store_update_id(STORE_MESSAGES, "messages.delete_for_all",
	    id, &update);
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

	ret = store_update_id(STORE_MESSAGES, "messages.delete_for",
	    id, &update);
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

	msgs_user_key(key, sizeof(key), "reactionTypes", user);

	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_UTF8(&set, key, emoji);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", at);
	bson_append_document_end(&update, &set);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$addToSet", &add);
	BSON_APPEND_OID(&add, "reactions", user);
	bson_append_document_end(&update, &add);

	ret = store_update_id(STORE_MESSAGES, "messages.react", id, &update);
	bson_destroy(&update);

	return (ret);
}

int
msgs_unreact(const bson_oid_t *id, const bson_oid_t *user, int64_t at)
{
	bson_t		update, set, unset, pull;
	char		key[64];
	int		ret;

	msgs_user_key(key, sizeof(key), "reactionTypes", user);

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

	ret = store_update_id(STORE_MESSAGES, "messages.unreact", id, &update);
	bson_destroy(&update);

	return (ret);
}

int
msgs_doc_visible_to(const bson_t *doc, const bson_oid_t *viewer)
{
	bson_iter_t	it, arr;

	if (bson_iter_init_find(&it, doc, "deletedAt") &&
	    !BSON_ITER_HOLDS_NULL(&it))
		return (0);

	if (bson_iter_init_find(&it, doc, "deletedFor") &&
	    BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &arr)) {
		while (bson_iter_next(&arr)) {
			if (BSON_ITER_HOLDS_OID(&arr) &&
			    bson_oid_equal(bson_iter_oid(&arr), viewer))
				return (0);
		}
	}

	return (1);
}

int
msgs_doc_read_by(const bson_t *doc, const bson_oid_t *viewer)
{
	bson_iter_t	it;
	char		key[64];

	msgs_user_key(key, sizeof(key), "readBy", viewer);
	return (bson_iter_init(&it, doc) &&
	    bson_iter_find_descendant(&it, key, &it));
}

int
msgs_doc_oid(const bson_t *doc, const char *key, bson_oid_t *out)
{
	bson_iter_t	it;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_OID(&it))
		return (0);

	bson_oid_copy(bson_iter_oid(&it), out);
	return (1);
}

int64_t
msgs_doc_int(const bson_t *doc, const char *key, int64_t def)
{
	bson_iter_t	it;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_NUMBER(&it))
		return (def);

	return (bson_iter_as_int64(&it));
}

int64_t
msgs_doc_date(const bson_t *doc, const char *key, int64_t def)
{
	bson_iter_t	it;

	if (!bson_iter_init_find(&it, doc, key) ||
	    !BSON_ITER_HOLDS_DATE_TIME(&it))
		return (def);

	return (bson_iter_date_time(&it));
}

const char *
msgs_doc_str(const bson_t *doc, const char *key)
{
	bson_iter_t	it;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
		return (NULL);

	return (bson_iter_utf8(&it, NULL));
}

/* conv may be NULL when the caller constrains conversationId itself. */
static void
msgs_visible(bson_t *f, const bson_oid_t *conv, const bson_oid_t *viewer)
{
	bson_t		ex, ne;

	if (conv != NULL)
		BSON_APPEND_OID(f, "conversationId", conv);
	BSON_APPEND_DOCUMENT_BEGIN(f, "deletedAt", &ex);
	BSON_APPEND_BOOL(&ex, "$exists", false);
	bson_append_document_end(f, &ex);
	BSON_APPEND_DOCUMENT_BEGIN(f, "deletedFor", &ne);
	BSON_APPEND_OID(&ne, "$ne", viewer);
	bson_append_document_end(f, &ne);
}

static void
msgs_filter(bson_t *f, const struct msgs_query *q)
{
	bson_t		re, range;

	msgs_visible(f, q->conv, q->viewer);
	msgs_seq_range(f, q->after_seq, q->before_seq == MSGS_NOSEQ ?
	    MSGS_NOSEQ : q->before_seq - 1);

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

/* seq in (from, to]; MSGS_NOSEQ leaves that side open. */
static void
msgs_seq_range(bson_t *f, int64_t from, int64_t to)
{
	bson_t		range;

	if (from == MSGS_NOSEQ && to == MSGS_NOSEQ)
		return;

	BSON_APPEND_DOCUMENT_BEGIN(f, "seq", &range);
	if (from != MSGS_NOSEQ)
		BSON_APPEND_INT64(&range, "$gt", from);
	if (to != MSGS_NOSEQ)
		BSON_APPEND_INT64(&range, "$lte", to);
	bson_append_document_end(f, &range);
}

static void
msgs_append_in(bson_t *f, const char *field, const struct oidlist *ids)
{
	store_append_in(f, field, ids->v, ids->n);
}

static void
msgs_user_key(char *buf, size_t len, const char *field, const bson_oid_t *u)
{
	char		hex[25];

	bson_oid_to_string(u, hex);
	(void)snprintf(buf, len, "%s.%s", field, hex);
}

