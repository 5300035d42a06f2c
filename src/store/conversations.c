/*
 * The conversations collection (see conversations.h).
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "store/conversations.h"
#include "store/doclist.h"
#include "store/store.h"

static void	convs_filter(bson_t *, const struct convs_query *);
static void	convs_map_key(char *, size_t, const char *,
		    const bson_oid_t *);
static void	convs_direct_key(char *, size_t, const bson_oid_t *,
		    const bson_oid_t *);

int
convs_insert(const struct convs_new *c, bson_t *out)
{
	bson_t		doc, empty, reads;
	bson_error_t	err;
	char		key[64], hex[25];
	size_t		i;
	int		ret;

	if (c->group) {
		bson_oid_to_string(&c->id, hex);
		(void)snprintf(key, sizeof(key), "g:%s", hex);
	} else {
		convs_direct_key(key, sizeof(key), &c->participants[0],
		    &c->participants[1]);
	}

	bson_init(&empty);
	bson_init(&doc);
	BSON_APPEND_OID(&doc, "_id", &c->id);
	store_append_oids(&doc, "participants", c->participants,
	    c->nparticipants);
	BSON_APPEND_UTF8(&doc, "type", c->group ? "group" : "direct");
	if (c->group_name != NULL)
		BSON_APPEND_UTF8(&doc, "groupName", c->group_name);
	if (c->group_avatar != NULL)
		BSON_APPEND_UTF8(&doc, "groupAvatar", c->group_avatar);
	if (c->admin != NULL)
		BSON_APPEND_OID(&doc, "groupAdmin", c->admin);
	BSON_APPEND_DATE_TIME(&doc, "lastMessageAt", c->now);
	BSON_APPEND_DOCUMENT(&doc, "unreadCounts", &empty);
	BSON_APPEND_DOCUMENT_BEGIN(&doc, "lastReadSeq", &reads);
	for (i = 0; i < c->nparticipants; i++) {
		bson_oid_to_string(&c->participants[i], hex);
		BSON_APPEND_INT64(&reads, hex, 0);
	}
	bson_append_document_end(&doc, &reads);
	BSON_APPEND_INT64(&doc, "seq", 0);
	BSON_APPEND_BOOL(&doc, "isActive", true);
	BSON_APPEND_DOCUMENT(&doc, "archivedBy", &empty);
	BSON_APPEND_DOCUMENT(&doc, "deletedBy", &empty);
	BSON_APPEND_UTF8(&doc, "directKey", key);
	BSON_APPEND_DATE_TIME(&doc, "createdAt", c->now);
	BSON_APPEND_DATE_TIME(&doc, "updatedAt", c->now);

	ret = STORE_OK;
	if (!mongoc_collection_insert_one(store_coll(STORE_CONVERSATIONS),
	    &doc, NULL, NULL, &err))
		ret = store_error("conversations.insert", &err);
	else if (out != NULL)
		bson_copy_to(&doc, out);

	bson_destroy(&doc);
	bson_destroy(&empty);
	return (ret);
}

int
convs_find(const bson_oid_t *id, bson_t *out)
{
	bson_t		filter;
	int		ret;

	bson_init(&filter);
	BSON_APPEND_OID(&filter, "_id", id);
	ret = store_find_one(STORE_CONVERSATIONS, &filter, NULL, out);
	bson_destroy(&filter);

	return (ret);
}

int
convs_find_many(const struct oidlist *ids, struct doclist *out)
{
	bson_t		filter, in;
	int		ret;

	if (ids->n == 0)
		return (STORE_OK);

	bson_init(&filter);
	BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &in);
	store_append_oids(&in, "$in", ids->v, ids->n);
	bson_append_document_end(&filter, &in);
	ret = store_find(STORE_CONVERSATIONS, "conversations.find",
	    &filter, NULL, out);
	bson_destroy(&filter);

	return (ret);
}

int
convs_find_direct(const bson_oid_t *a, const bson_oid_t *b, bson_t *out)
{
	bson_t		filter;
	char		key[64];
	int		ret;

	convs_direct_key(key, sizeof(key), a, b);
	bson_init(&filter);
	BSON_APPEND_UTF8(&filter, "directKey", key);
	ret = store_find_one(STORE_CONVERSATIONS, &filter, NULL, out);
	bson_destroy(&filter);

	return (ret);
}

int
convs_list(const struct convs_query *q, int64_t skip, int64_t limit,
    struct doclist *out)
{
	bson_t		filter, opts, sort;
	int		ret;

	bson_init(&filter);
	convs_filter(&filter, q);

	bson_init(&opts);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "lastMessageAt", -1);
	BSON_APPEND_INT32(&sort, "_id", -1);
	bson_append_document_end(&opts, &sort);
	BSON_APPEND_INT64(&opts, "skip", skip);
	BSON_APPEND_INT64(&opts, "limit", limit);

	ret = store_find(STORE_CONVERSATIONS, "conversations.find", &filter,
	    &opts, out);
	bson_destroy(&filter);
	bson_destroy(&opts);

	return (ret);
}

int64_t
convs_count(const struct convs_query *q)
{
	bson_t		filter;
	int64_t		n;

	bson_init(&filter);
	convs_filter(&filter, q);
	n = store_count(STORE_CONVERSATIONS, &filter);
	bson_destroy(&filter);

	return (n);
}

/*
 * Ids of every conversation the user is in and has not deleted (archived
 * ones too when with_archived): the rooms a socket joins, the scope of
 * search.
 */
int
convs_ids_of(const bson_oid_t *user, int with_archived, struct oidlist *out)
{
	struct convs_query	q;
	struct doclist		docs;
	bson_t			filter, opts, proj;
	bson_iter_t		it;
	size_t			i;
	int			ret;

	memset(&q, 0, sizeof(q));
	q.user = user;
	q.archived = with_archived ? -1 : 0;

	bson_init(&filter);
	convs_filter(&filter, &q);

	bson_init(&opts);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, "_id", 1);
	bson_append_document_end(&opts, &proj);

	doclist_init(&docs);
	ret = store_find(STORE_CONVERSATIONS, "conversations.find",
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

/* Everyone the user shares a visible conversation with (for search). */
int
convs_partners_of(const bson_oid_t *user, struct oidlist *out)
{
	struct convs_query	q;
	struct doclist		docs;
	struct oidlist		ids;
	bson_t			filter, opts, proj;
	size_t			i, k;
	int			ret;

	memset(&q, 0, sizeof(q));
	q.user = user;
	q.archived = -1;

	bson_init(&filter);
	convs_filter(&filter, &q);
	bson_init(&opts);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, "participants", 1);
	bson_append_document_end(&opts, &proj);

	doclist_init(&docs);
	ret = store_find(STORE_CONVERSATIONS, "conversations.find",
	    &filter, &opts, &docs);
	for (i = 0; ret == STORE_OK && i < docs.n; i++) {
		oidlist_init(&ids);
		convs_doc_participants(docs.docs[i], &ids);
		for (k = 0; k < ids.n; k++) {
			if (!bson_oid_equal(&ids.v[k], user))
				oidlist_add(out, &ids.v[k]);
		}
		oidlist_free(&ids);
	}

	doclist_free(&docs);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return (ret);
}

/*
 * A stored message becomes the conversation's newest: seq, lastMessage*,
 * one more unread for each of `others`, and the conversation comes back
 * for those in `revive` who had deleted it.
 */
int
convs_apply_message(const bson_oid_t *id, int64_t seq, const bson_oid_t *mid,
    const char *content, int64_t at, const struct oidlist *others,
    const struct oidlist *revive)
{
	bson_t		update, set, inc, unset;
	char		key[64];
	size_t		i;
	int		ret;

	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_INT64(&set, "seq", seq);
	BSON_APPEND_UTF8(&set, "lastMessage", content);
	BSON_APPEND_OID(&set, "lastMessageId", mid);
	BSON_APPEND_DATE_TIME(&set, "lastMessageAt", at);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", at);
	bson_append_document_end(&update, &set);

	if (others->n > 0) {
		BSON_APPEND_DOCUMENT_BEGIN(&update, "$inc", &inc);
		for (i = 0; i < others->n; i++) {
			convs_map_key(key, sizeof(key), "unreadCounts",
			    &others->v[i]);
			BSON_APPEND_INT32(&inc, key, 1);
		}
		bson_append_document_end(&update, &inc);
	}

	if (revive->n > 0) {
		BSON_APPEND_DOCUMENT_BEGIN(&update, "$unset", &unset);
		for (i = 0; i < revive->n; i++) {
			convs_map_key(key, sizeof(key), "deletedBy",
			    &revive->v[i]);
			BSON_APPEND_UTF8(&unset, key, "");
		}
		bson_append_document_end(&update, &unset);
	}

	ret = store_update_id(STORE_CONVERSATIONS,
	    "conversations.apply_message", id, &update);
	bson_destroy(&update);

	return (ret);
}

int
convs_set_read(const bson_oid_t *id, const bson_oid_t *user, int64_t seq,
    int64_t unread)
{
	bson_t		update, set;
	char		key[64];
	int		ret;

	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	convs_map_key(key, sizeof(key), "lastReadSeq", user);
	BSON_APPEND_INT64(&set, key, seq);
	convs_map_key(key, sizeof(key), "unreadCounts", user);
	BSON_APPEND_INT64(&set, key, unread);
	bson_append_document_end(&update, &set);

	ret = store_update_id(STORE_CONVERSATIONS, "conversations.set_read",
	    id, &update);
	bson_destroy(&update);

	return (ret);
}

int
convs_add_unread(const bson_oid_t *id, const struct oidlist *users,
    int delta)
{
	bson_t		update, inc;
	char		key[64];
	size_t		i;
	int		ret;

	if (users->n == 0)
		return (STORE_OK);

	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$inc", &inc);
	for (i = 0; i < users->n; i++) {
		convs_map_key(key, sizeof(key), "unreadCounts", &users->v[i]);
		BSON_APPEND_INT32(&inc, key, delta);
	}
	bson_append_document_end(&update, &inc);

	ret = store_update_id(STORE_CONVERSATIONS, "conversations.add_unread",
	    id, &update);
	bson_destroy(&update);

	return (ret);
}

int
convs_set_last_message(const bson_oid_t *id, const char *content, int64_t at)
{
	bson_t		update, set;
	int		ret;

	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_UTF8(&set, "lastMessage", content);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", at);
	bson_append_document_end(&update, &set);

	ret = store_update_id(STORE_CONVERSATIONS, "conversations.set_last",
	    id, &update);
	bson_destroy(&update);

	return (ret);
}

/* field is "archivedBy" or "deletedBy"; at 0 removes the user's mark. */
int
convs_set_mark(const bson_oid_t *id, const char *field,
    const bson_oid_t *user, int64_t at)
{
	bson_t		update, op;
	char		key[64];
	int		ret;

	convs_map_key(key, sizeof(key), field, user);

	bson_init(&update);
	if (at != 0) {
		BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &op);
		BSON_APPEND_DATE_TIME(&op, key, at);
	} else {
		BSON_APPEND_DOCUMENT_BEGIN(&update, "$unset", &op);
		BSON_APPEND_UTF8(&op, key, "");
	}
	bson_append_document_end(&update, &op);

	ret = store_update_id(STORE_CONVERSATIONS, "conversations.set_mark",
	    id, &update);
	bson_destroy(&update);

	return (ret);
}

int
convs_update_group(const bson_oid_t *id, const struct convs_group_set *g)
{
	bson_t		update, set, unset;
	char		key[64];
	size_t		i;
	int		ret;

	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	if (g->group_name != NULL)
		BSON_APPEND_UTF8(&set, "groupName", g->group_name);
	if (g->group_avatar != NULL)
		BSON_APPEND_UTF8(&set, "groupAvatar", g->group_avatar);
	if (g->admin != NULL)
		BSON_APPEND_OID(&set, "groupAdmin", g->admin);
	if (g->participants != NULL)
		store_append_oids(&set, "participants", g->participants->v,
		    g->participants->n);
	for (i = 0; g->added != NULL && i < g->added->n; i++) {
		/* Newcomers start with the history read, nothing unread. */
		convs_map_key(key, sizeof(key), "lastReadSeq", &g->added->v[i]);
		BSON_APPEND_INT64(&set, key, g->seq);
		convs_map_key(key, sizeof(key), "unreadCounts",
		    &g->added->v[i]);
		BSON_APPEND_INT64(&set, key, 0);
	}
	BSON_APPEND_DATE_TIME(&set, "updatedAt", g->now);
	bson_append_document_end(&update, &set);

	if (g->removed != NULL && g->removed->n > 0) {
		BSON_APPEND_DOCUMENT_BEGIN(&update, "$unset", &unset);
		for (i = 0; i < g->removed->n; i++) {
			convs_map_key(key, sizeof(key), "unreadCounts",
			    &g->removed->v[i]);
			BSON_APPEND_UTF8(&unset, key, "");
			convs_map_key(key, sizeof(key), "lastReadSeq",
			    &g->removed->v[i]);
			BSON_APPEND_UTF8(&unset, key, "");
			convs_map_key(key, sizeof(key), "archivedBy",
			    &g->removed->v[i]);
			BSON_APPEND_UTF8(&unset, key, "");
			convs_map_key(key, sizeof(key), "deletedBy",
			    &g->removed->v[i]);
			BSON_APPEND_UTF8(&unset, key, "");
		}
		bson_append_document_end(&update, &unset);
	}

	ret = store_update_id(STORE_CONVERSATIONS, "conversations.update_group",
	    id, &update);
	bson_destroy(&update);

	return (ret);
}

int
convs_doc_is_participant(const bson_t *doc, const bson_oid_t *user)
{
	bson_iter_t	it, arr;

	if (!bson_iter_init_find(&it, doc, "participants") ||
	    !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
		return (0);

	while (bson_iter_next(&arr)) {
		if (BSON_ITER_HOLDS_OID(&arr) &&
		    bson_oid_equal(bson_iter_oid(&arr), user))
			return (1);
	}

	return (0);
}

/*
 * The participant check of every route (SPEC.md §2.3): active, the user
 * is a participant and has not deleted it. Archived is still visible.
 */
int
convs_doc_visible_to(const bson_t *doc, const bson_oid_t *user)
{
	bson_iter_t	it;

	if (bson_iter_init_find(&it, doc, "isActive") &&
	    BSON_ITER_HOLDS_BOOL(&it) && !bson_iter_bool(&it))
		return (0);

	return (convs_doc_is_participant(doc, user) &&
	    !convs_doc_has_mark(doc, "deletedBy", user));
}

int
convs_doc_has_mark(const bson_t *doc, const char *field,
    const bson_oid_t *user)
{
	bson_iter_t	it;
	char		key[64];

	convs_map_key(key, sizeof(key), field, user);
	return (bson_iter_init(&it, doc) &&
	    bson_iter_find_descendant(&it, key, &it));
}

int
convs_doc_is_group(const bson_t *doc)
{
	bson_iter_t	it;

	return (bson_iter_init_find(&it, doc, "type") &&
	    BSON_ITER_HOLDS_UTF8(&it) &&
	    !strcmp(bson_iter_utf8(&it, NULL), "group"));
}

int64_t
convs_doc_int(const bson_t *doc, const char *key, int64_t def)
{
	bson_iter_t	it;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_NUMBER(&it))
		return (def);

	return (bson_iter_as_int64(&it));
}

int64_t
convs_doc_map_int(const bson_t *doc, const char *field,
    const bson_oid_t *user, int64_t def)
{
	bson_iter_t	it;
	char		key[64];

	convs_map_key(key, sizeof(key), field, user);
	if (!bson_iter_init(&it, doc) ||
	    !bson_iter_find_descendant(&it, key, &it) ||
	    !BSON_ITER_HOLDS_NUMBER(&it))
		return (def);

	return (bson_iter_as_int64(&it));
}

int
convs_doc_oid(const bson_t *doc, const char *key, bson_oid_t *out)
{
	bson_iter_t	it;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_OID(&it))
		return (0);

	bson_oid_copy(bson_iter_oid(&it), out);
	return (1);
}

void
convs_doc_participants(const bson_t *doc, struct oidlist *out)
{
	bson_iter_t	it, arr;

	if (!bson_iter_init_find(&it, doc, "participants") ||
	    !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
		return;

	while (bson_iter_next(&arr)) {
		if (BSON_ITER_HOLDS_OID(&arr))
			oidlist_add(out, bson_iter_oid(&arr));
	}
}

static void
convs_filter(bson_t *f, const struct convs_query *q)
{
	bson_t		ex, or, alt, re, in;
	char		key[64];

	BSON_APPEND_OID(f, "participants", q->user);
	BSON_APPEND_BOOL(f, "isActive", true);

	convs_map_key(key, sizeof(key), "deletedBy", q->user);
	BSON_APPEND_DOCUMENT_BEGIN(f, key, &ex);
	BSON_APPEND_BOOL(&ex, "$exists", false);
	bson_append_document_end(f, &ex);

	if (q->archived >= 0) {
		convs_map_key(key, sizeof(key), "archivedBy", q->user);
		BSON_APPEND_DOCUMENT_BEGIN(f, key, &ex);
		BSON_APPEND_BOOL(&ex, "$exists", q->archived != 0);
		bson_append_document_end(f, &ex);
	}

	if (q->type != NULL)
		BSON_APPEND_UTF8(f, "type", q->type);

	if (q->pattern != NULL) {
		BSON_APPEND_ARRAY_BEGIN(f, "$or", &or);
		BSON_APPEND_DOCUMENT_BEGIN(&or, "0", &alt);
		BSON_APPEND_DOCUMENT_BEGIN(&alt, "groupName", &re);
		BSON_APPEND_UTF8(&re, "$regex", q->pattern);
		BSON_APPEND_UTF8(&re, "$options", "i");
		bson_append_document_end(&alt, &re);
		bson_append_document_end(&or, &alt);
		if (q->matched != NULL && q->matched->n > 0) {
			BSON_APPEND_DOCUMENT_BEGIN(&or, "1", &alt);
			BSON_APPEND_DOCUMENT_BEGIN(&alt, "participants", &in);
			store_append_oids(&in, "$in", q->matched->v,
			    q->matched->n);
			bson_append_document_end(&alt, &in);
			bson_append_document_end(&or, &alt);
		}
		bson_append_array_end(f, &or);
	}
}

static void
convs_map_key(char *buf, size_t len, const char *field, const bson_oid_t *u)
{
	char		hex[25];

	bson_oid_to_string(u, hex);
	(void)snprintf(buf, len, "%s.%s", field, hex);
}

static void
convs_direct_key(char *buf, size_t len, const bson_oid_t *a,
    const bson_oid_t *b)
{
	char		ha[25], hb[25];

	bson_oid_to_string(a, ha);
	bson_oid_to_string(b, hb);
	if (strcmp(ha, hb) < 0)
		(void)snprintf(buf, len, "%s:%s", ha, hb);
	else
		(void)snprintf(buf, len, "%s:%s", hb, ha);
}

