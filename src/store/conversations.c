/*
 * The conversations collection (see conversations.h).
 */

#include <sys/types.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "store/conversations.h"
#include "store/doc.h"
#include "lib/doclist.h"
#include "store/memo.h"
#include "store/store.h"

static void	convs_filter(bson_t *, const struct convs_query *);
static void	convs_direct_key(char *, size_t, const bson_oid_t *,
		    const bson_oid_t *);
static void	convs_head_update(const struct convs_head *, bson_t *);
static int	convs_write(const bson_oid_t *, const char *, const bson_t *);
static int	convs_apply_bulk(const struct convs_head *, size_t);

#define CONVS_BULK_MAX	16
static void	convs_copy_map(bson_t *, const bson_t *, const char *,
		    const bson_oid_t *, size_t, const int64_t *,
		    const struct oidlist *);

/*
 * Membership is re-read by every participant check; changes made through
 * the server forget the entry everywhere at once (convs_forget and the
 * bus), so the ttl only bounds changes made behind the server's back.
 */
#define CONVS_MEMO_TTL_MS	30000
#define CONVS_MEMO_CAP		8192

static void	convs_memo_init(void);

#define CONVS_ROOMS_TTL_MS	30000
#define CONVS_ROOMS_CAP		16384

static void	convs_rooms_read(const bson_t *, const char *,
		    struct oidlist *);
static void	convs_forget_all_rooms(const bson_t *,
		    const struct oidlist *);

static pthread_once_t	memo_once = PTHREAD_ONCE_INIT;
static struct memo	memo;
static struct memo	rooms_memo;

/* Bookkeeping fields, never rendered (the counters unread comes from). */
static const char *internal_fields[] = {
	"directKey", "sentCounts", "ownReadCounts", "skipCounts",
	"deletedCount", "hiddenCounts", "unreadCounts", NULL
};

/* The memo's copy while fresh, else the database's (and memo it). */
int
convs_cached(const bson_oid_t *id, bson_t *out)
{
	(void)pthread_once(&memo_once, convs_memo_init);
	if (memo_get_doc(&memo, id, out))
		return (STORE_OK);

	return (convs_find(id, out));
}

int
convs_members(const bson_oid_t *id, struct convs_members *m)
{
	bson_t		doc;
	int		ret;

	ret = convs_cached(id, &doc);
	if (ret == STORE_NOTFOUND) {
		memset(m, 0, sizeof(*m));
		bson_oid_copy(id, &m->id);
		return (STORE_OK);
	}
	if (ret != STORE_OK)
		return (ret);

	convs_members_of(&doc, m);
	bson_destroy(&doc);
	return (STORE_OK);
}

int
convs_members_cached(const bson_oid_t *id, struct convs_members *m)
{
	bson_t		doc;

	(void)pthread_once(&memo_once, convs_memo_init);
	if (!memo_get_doc(&memo, id, &doc))
		return (0);

	convs_members_of(&doc, m);
	bson_destroy(&doc);
	return (1);
}

void
convs_forget(const bson_oid_t *id)
{
	(void)pthread_once(&memo_once, convs_memo_init);
	memo_forget(&memo, id);
}

void
convs_members_of(const bson_t *doc, struct convs_members *m)
{
	struct oidlist	parts;
	bson_iter_t	it, map;
	const char	*key;
	size_t		i;

	memset(m, 0, sizeof(*m));
	if (!doc_oid(doc, "_id", &m->id))
		return;
	m->found = 1;
	m->group = convs_doc_is_group(doc);
	m->active = doc_bool(doc, "isActive", 1);

	oidlist_init(&parts);
	convs_doc_participants(doc, &parts);
	for (i = 0; i < parts.n && i < CONVS_MEMBERS_MAX; i++)
		bson_oid_copy(&parts.v[i], &m->parts[m->nparts++]);
	oidlist_free(&parts);

	if (bson_iter_init_find(&it, doc, "deletedBy") &&
	    BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &map)) {
		while (bson_iter_next(&map) &&
		    m->ndeleted < CONVS_MEMBERS_MAX) {
			key = bson_iter_key(&map);
			if (strlen(key) == 24 && bson_oid_is_valid(key, 24))
				bson_oid_init_from_string(
				    &m->deleted[m->ndeleted++], key);
		}
	}
}

int
convs_members_visible_to(const struct convs_members *m, const bson_oid_t *u)
{
	size_t		i;

	if (!m->found || !m->active || !convs_members_has(m, u))
		return (0);
	for (i = 0; i < m->ndeleted; i++) {
		if (bson_oid_equal(&m->deleted[i], u))
			return (0);
	}

	return (1);
}

int
convs_members_has(const struct convs_members *m, const bson_oid_t *u)
{
	size_t		i;

	for (i = 0; i < m->nparts; i++) {
		if (bson_oid_equal(&m->parts[i], u))
			return (1);
	}

	return (0);
}

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
	if (ret == STORE_OK)
		convs_forget_all_rooms(&doc, NULL);

	bson_destroy(&doc);
	bson_destroy(&empty);
	return (ret);
}

/* Refreshes the memo: whoever reads the document has it fresh. */
int
convs_find(const bson_oid_t *id, bson_t *out)
{
	bson_t		filter;
	int		ret;

	bson_init(&filter);
	BSON_APPEND_OID(&filter, "_id", id);
	ret = store_find_one(STORE_CONVERSATIONS, &filter, NULL, out);
	bson_destroy(&filter);

	if (ret == STORE_OK) {
		(void)pthread_once(&memo_once, convs_memo_init);
		memo_put_doc(&memo, id, out);
	}

	return (ret);
}

/* By _id, one lookup each: FerretDB scans the collection for an $in. */
int
convs_find_many(const struct oidlist *ids, struct doclist *out)
{
	return (store_find_each(convs_find, ids, out));
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

/*
 * Ids of every conversation the user is in and has not deleted (archived
 * ones too when with_archived): the rooms a socket joins, the scope of
 * search. With archived ones, from the rooms memo.
 */
int
convs_ids_of(const bson_oid_t *user, int with_archived, struct oidlist *out)
{
	struct convs_query	q;
	struct doclist		docs;
	bson_t			filter, opts, proj;
	size_t			i;
	bson_oid_t		oid;
	int			ret;

	if (with_archived)
		return (convs_rooms(user, out, NULL));

	memset(&q, 0, sizeof(q));
	q.user = user;
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
		if (doc_oid(docs.docs[i], "_id", &oid))
			oidlist_add(out, &oid);
	}

	doclist_free(&docs);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return (ret);
}

/* Everyone the user shares a visible conversation with (rooms memo). */
int
convs_partners_of(const bson_oid_t *user, struct oidlist *out)
{
	return (convs_rooms(user, NULL, out));
}

/*
 * A user's conversations (not deleted, archived or not) and partners:
 * what every socket connect and presence change needs. FerretDB decodes
 * every conversation document the query returns (about 300 µs each), so
 * the answer is kept CONVS_ROOMS_TTL_MS, dropped by every change of a
 * membership or a deletedBy mark (convs_forget_rooms, and the bus).
 */
int
convs_rooms(const bson_oid_t *user, struct oidlist *convs,
    struct oidlist *partners)
{
	struct convs_query	q;
	struct doclist		docs;
	struct oidlist		c, p, parts;
	bson_t			filter, opts, proj, doc;
	bson_oid_t		oid;
	size_t			i, k;
	int			ret;

	(void)pthread_once(&memo_once, convs_memo_init);
	if (memo_get_doc(&rooms_memo, user, &doc)) {
		convs_rooms_read(&doc, "c", convs);
		convs_rooms_read(&doc, "p", partners);
		bson_destroy(&doc);
		return (STORE_OK);
	}

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
	oidlist_init(&c);
	oidlist_init(&p);
	ret = store_find(STORE_CONVERSATIONS, "conversations.find",
	    &filter, &opts, &docs);
	for (i = 0; ret == STORE_OK && i < docs.n; i++) {
		if (doc_oid(docs.docs[i], "_id", &oid))
			oidlist_add(&c, &oid);
		oidlist_init(&parts);
		convs_doc_participants(docs.docs[i], &parts);
		for (k = 0; k < parts.n; k++) {
			if (!bson_oid_equal(&parts.v[k], user))
				oidlist_add(&p, &parts.v[k]);
		}
		oidlist_free(&parts);
	}

	if (ret == STORE_OK) {
		bson_init(&doc);
		store_append_oids(&doc, "c", c.v, c.n);
		store_append_oids(&doc, "p", p.v, p.n);
		memo_put_doc(&rooms_memo, user, &doc);
		bson_destroy(&doc);
		for (i = 0; convs != NULL && i < c.n; i++)
			oidlist_add(convs, &c.v[i]);
		for (i = 0; partners != NULL && i < p.n; i++)
			oidlist_add(partners, &p.v[i]);
	}

	oidlist_free(&c);
	oidlist_free(&p);
	doclist_free(&docs);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return (ret);
}

void
convs_forget_rooms(const bson_oid_t *user)
{
	(void)pthread_once(&memo_once, convs_memo_init);
	memo_forget(&rooms_memo, user);
}

/*
 * Ordered: the heads of one batch never name one conversation twice,
 * but a failure stops at the first one, which the caller reports. In
 * bulks of CONVS_BULK_MAX: FerretDB v1.24 holds a PostgreSQL connection
 * for each statement of an update command until the whole command ends
 * (internal/handler/msg_update.go), so a command of as many statements
 * as its pool has connections (50) never ends, and every client of that
 * FerretDB waits with it.
 */
int
convs_apply_heads(const struct convs_head *v, size_t n)
{
	size_t		i;
	int		ret;

	for (i = 0; i < n; i += CONVS_BULK_MAX) {
		if ((ret = convs_apply_bulk(v + i, n - i < CONVS_BULK_MAX ?
		    n - i : CONVS_BULK_MAX)) != STORE_OK)
			return (ret);
	}

	return (STORE_OK);
}

static int
convs_apply_bulk(const struct convs_head *v, size_t n)
{
	mongoc_bulk_operation_t	*bulk;
	bson_t			filter, update, reply;
	bson_error_t		err;
	size_t			i;
	int			ret;

	if (n == 0)
		return (STORE_OK);

	bulk = mongoc_collection_create_bulk_operation_with_opts(
	    store_coll(STORE_CONVERSATIONS), NULL);
	for (i = 0; i < n; i++) {
		bson_init(&filter);
		BSON_APPEND_OID(&filter, "_id", &v[i].id);
		bson_init(&update);
		convs_head_update(&v[i], &update);
		(void)mongoc_bulk_operation_update_one_with_opts(bulk, &filter,
		    &update, NULL, &err);
		bson_destroy(&filter);
		bson_destroy(&update);
	}

	ret = STORE_OK;
	if (!mongoc_bulk_operation_execute(bulk, &reply, &err))
		ret = store_error("conversations.apply_heads", &err);
	for (i = 0; i < n; i++) {
		convs_forget(&v[i].id);
		if (v[i].revive != NULL)
			convs_forget_all_rooms(NULL, v[i].revive);
	}

	bson_destroy(&reply);
	mongoc_bulk_operation_destroy(bulk);
	return (ret);
}

int
convs_write_head(const struct convs_head *h)
{
	bson_t		filter, update, range;
	int		ret;

	bson_init(&filter);
	BSON_APPEND_OID(&filter, "_id", &h->id);
	BSON_APPEND_DOCUMENT_BEGIN(&filter, "seq", &range);
	BSON_APPEND_INT64(&range, "$lte", h->seq);
	bson_append_document_end(&filter, &range);
	bson_init(&update);
	convs_head_update(h, &update);

	ret = store_update(STORE_CONVERSATIONS, "conversations.write_head",
	    &filter, &update);
	bson_destroy(&filter);
	bson_destroy(&update);
	convs_forget(&h->id);

	return (ret);
}

int
convs_unmark(const bson_oid_t *id, const char *field,
    const struct oidlist *users)
{
	bson_t		update, unset;
	char		key[64];
	size_t		i;
	int		ret;

	if (users->n == 0)
		return (STORE_OK);

	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$unset", &unset);
	for (i = 0; i < users->n; i++) {
		doc_map_key(key, sizeof(key), field, &users->v[i]);
		BSON_APPEND_UTF8(&unset, key, "");
	}
	bson_append_document_end(&update, &unset);

	ret = convs_write(id, "conversations.unmark", &update);
	bson_destroy(&update);
	if (!strcmp(field, "deletedBy"))
		convs_forget_all_rooms(NULL, users);

	return (ret);
}

/* The same change, made to a copy of the document in memory. */
void
convs_doc_with_head(const bson_t *doc, const struct convs_head *h,
    bson_t *out)
{
	bson_iter_t	it;
	const char	*key;

	bson_init(out);
	if (!bson_iter_init(&it, doc))
		return;

	while (bson_iter_next(&it)) {
		key = bson_iter_key(&it);
		if (!strcmp(key, "seq")) {
			BSON_APPEND_INT64(out, key, h->seq);
		} else if (!strcmp(key, "lastMessageAt")) {
			BSON_APPEND_DATE_TIME(out, key, h->last_at);
		} else if (!strcmp(key, "updatedAt")) {
			BSON_APPEND_DATE_TIME(out, key, h->last_at);
		} else if (!strcmp(key, "lastMessage") ||
		    !strcmp(key, "lastMessageId") ||
		    !strcmp(key, "sentCounts") || !strcmp(key, "deletedBy")) {
			continue;
		} else {
			bson_append_iter(out, key, -1, &it);
		}
	}

	BSON_APPEND_UTF8(out, "lastMessage", h->last_content);
	BSON_APPEND_OID(out, "lastMessageId", &h->last_id);
	if (!doc_has(doc, "seq"))
		BSON_APPEND_INT64(out, "seq", h->seq);
	if (!doc_has(doc, "lastMessageAt"))
		BSON_APPEND_DATE_TIME(out, "lastMessageAt", h->last_at);
	convs_copy_map(out, doc, "sentCounts", h->users, h->nsent, h->sent,
	    NULL);
	convs_copy_map(out, doc, "deletedBy", NULL, 0, NULL, h->revive);
}

int
convs_set_read(const bson_oid_t *id, const bson_oid_t *user, int64_t seq,
    int64_t own_read, int64_t skip)
{
	bson_t		update, set;
	char		key[64];
	int		ret;

	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	doc_map_key(key, sizeof(key), "lastReadSeq", user);
	BSON_APPEND_INT64(&set, key, seq);
	doc_map_key(key, sizeof(key), "ownReadCounts", user);
	BSON_APPEND_INT64(&set, key, own_read);
	doc_map_key(key, sizeof(key), "skipCounts", user);
	BSON_APPEND_INT64(&set, key, skip);
	bson_append_document_end(&update, &set);

	ret = convs_write(id, "conversations.set_read", &update);
	bson_destroy(&update);

	return (ret);
}

int
convs_adjust(const bson_oid_t *id, const struct convs_inc *v, size_t n)
{
	bson_t		update, inc;
	char		key[64];
	size_t		i;
	int		ret;

	if (n == 0)
		return (STORE_OK);

	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$inc", &inc);
	for (i = 0; i < n; i++) {
		if (v[i].user != NULL)
			doc_map_key(key, sizeof(key), v[i].field, v[i].user);
		else
			(void)snprintf(key, sizeof(key), "%s", v[i].field);
		BSON_APPEND_INT64(&inc, key, v[i].delta);
	}
	bson_append_document_end(&update, &inc);

	ret = convs_write(id, "conversations.adjust", &update);
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

	ret = convs_write(id, "conversations.set_last", &update);
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

	doc_map_key(key, sizeof(key), field, user);

	bson_init(&update);
	if (at != 0) {
		BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &op);
		BSON_APPEND_DATE_TIME(&op, key, at);
	} else {
		BSON_APPEND_DOCUMENT_BEGIN(&update, "$unset", &op);
		BSON_APPEND_UTF8(&op, key, "");
	}
	bson_append_document_end(&update, &op);

	ret = convs_write(id, "conversations.set_mark", &update);
	bson_destroy(&update);
	if (!strcmp(field, "deletedBy"))
		convs_forget_rooms(user);

	return (ret);
}

int
convs_update_group(const bson_oid_t *id, const struct convs_group_set *g)
{
	bson_t		update, set, unset;
	char		key[64];
	int64_t		seq;
	size_t		i;
	int		ret;

	seq = doc_int(g->doc, "seq", 0);

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
		doc_map_key(key, sizeof(key), "lastReadSeq", &g->added->v[i]);
		BSON_APPEND_INT64(&set, key, seq);
		doc_map_key(key, sizeof(key), "ownReadCounts",
		    &g->added->v[i]);
		BSON_APPEND_INT64(&set, key, doc_map_int(g->doc, "sentCounts",
		    &g->added->v[i], 0));
		doc_map_key(key, sizeof(key), "skipCounts", &g->added->v[i]);
		BSON_APPEND_INT64(&set, key, 0);
	}
	BSON_APPEND_DATE_TIME(&set, "updatedAt", g->now);
	bson_append_document_end(&update, &set);

	/*
	 * Who leaves loses their read position and marks; what they sent
	 * and hid stays counted, as their messages and marks stay stored.
	 */
	if (g->removed != NULL && g->removed->n > 0) {
		BSON_APPEND_DOCUMENT_BEGIN(&update, "$unset", &unset);
		for (i = 0; i < g->removed->n; i++) {
			doc_map_key(key, sizeof(key), "lastReadSeq",
			    &g->removed->v[i]);
			BSON_APPEND_UTF8(&unset, key, "");
			doc_map_key(key, sizeof(key), "ownReadCounts",
			    &g->removed->v[i]);
			BSON_APPEND_UTF8(&unset, key, "");
			doc_map_key(key, sizeof(key), "skipCounts",
			    &g->removed->v[i]);
			BSON_APPEND_UTF8(&unset, key, "");
			doc_map_key(key, sizeof(key), "archivedBy",
			    &g->removed->v[i]);
			BSON_APPEND_UTF8(&unset, key, "");
			doc_map_key(key, sizeof(key), "deletedBy",
			    &g->removed->v[i]);
			BSON_APPEND_UTF8(&unset, key, "");
		}
		bson_append_document_end(&update, &unset);
	}

	ret = convs_write(id, "conversations.update_group", &update);
	bson_destroy(&update);
	/* Partners of everyone, old members and new, have changed. */
	convs_forget_all_rooms(g->doc, g->added);

	return (ret);
}

int
convs_doc_is_participant(const bson_t *doc, const bson_oid_t *user)
{
	return (doc_array_has_oid(doc, "participants", user));
}

/*
 * The participant check of every route (SPEC.md §2.3): active, the user
 * is a participant and has not deleted it. Archived is still visible.
 */
int
convs_doc_visible_to(const bson_t *doc, const bson_oid_t *user)
{
	if (!doc_bool(doc, "isActive", 1))
		return (0);

	return (convs_doc_is_participant(doc, user) &&
	    !convs_doc_has_mark(doc, "deletedBy", user));
}

int
convs_doc_has_mark(const bson_t *doc, const char *field,
    const bson_oid_t *user)
{
	return (doc_map_has(doc, field, user));
}

int
convs_doc_is_group(const bson_t *doc)
{
	const char	*s;

	return ((s = doc_str(doc, "type")) != NULL && !strcmp(s, "group"));
}

void
convs_doc_participants(const bson_t *doc, struct oidlist *out)
{
	doc_oids(doc, "participants", out);
}

/* See conversations.h for the formula. */
int64_t
convs_doc_unread(const bson_t *doc, const bson_oid_t *u)
{
	int64_t		n;

	n = doc_int(doc, "seq", 0) - doc_map_int(doc, "lastReadSeq", u, 0) -
	    (doc_map_int(doc, "sentCounts", u, 0) -
	    doc_map_int(doc, "ownReadCounts", u, 0)) -
	    doc_map_int(doc, "skipCounts", u, 0);

	return (n > 0 ? n : 0);
}

int64_t
convs_doc_history(const bson_t *doc, const bson_oid_t *u)
{
	int64_t		n;

	n = doc_int(doc, "seq", 0) - doc_int(doc, "deletedCount", 0) -
	    doc_map_int(doc, "hiddenCounts", u, 0);

	return (n > 0 ? n : 0);
}

int
convs_doc_history_dense(const bson_t *doc, const bson_oid_t *u)
{
	return (doc_int(doc, "deletedCount", 0) == 0 &&
	    doc_map_int(doc, "hiddenCounts", u, 0) == 0);
}

int
convs_field_internal(const char *key)
{
	size_t		i;

	for (i = 0; internal_fields[i] != NULL; i++) {
		if (!strcmp(internal_fields[i], key))
			return (1);
	}

	return (0);
}

static void
convs_filter(bson_t *f, const struct convs_query *q)
{
	bson_t		ex, or, alt, re, in;
	char		key[64];

	BSON_APPEND_OID(f, "participants", q->user);
	BSON_APPEND_BOOL(f, "isActive", true);

	doc_map_key(key, sizeof(key), "deletedBy", q->user);
	BSON_APPEND_DOCUMENT_BEGIN(f, key, &ex);
	BSON_APPEND_BOOL(&ex, "$exists", false);
	bson_append_document_end(f, &ex);

	if (q->archived >= 0) {
		doc_map_key(key, sizeof(key), "archivedBy", q->user);
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


/* Every write by _id: the memo's copy goes with the old document. */
static int
convs_write(const bson_oid_t *id, const char *what, const bson_t *update)
{
	int		ret;

	ret = store_update_id(STORE_CONVERSATIONS, what, id, update);
	convs_forget(id);

	return (ret);
}

static void
convs_memo_init(void)
{
	memo_init(&memo, 0, CONVS_MEMO_TTL_MS, CONVS_MEMO_CAP);
	memo_init(&rooms_memo, 0, CONVS_ROOMS_TTL_MS, CONVS_ROOMS_CAP);
}

static void
convs_rooms_read(const bson_t *doc, const char *key, struct oidlist *out)
{
	if (out != NULL)
		doc_oids(doc, key, out);
}

/* Every participant of doc (as it was) and of more: their rooms changed. */
static void
convs_forget_all_rooms(const bson_t *doc, const struct oidlist *more)
{
	struct oidlist	parts;
	size_t		i;

	oidlist_init(&parts);
	if (doc != NULL)
		convs_doc_participants(doc, &parts);
	for (i = 0; more != NULL && i < more->n; i++)
		oidlist_add(&parts, &more->v[i]);
	for (i = 0; i < parts.n; i++)
		convs_forget_rooms(&parts.v[i]);
	oidlist_free(&parts);
}

static void
convs_head_update(const struct convs_head *h, bson_t *update)
{
	bson_t		set, unset;
	char		key[64];
	size_t		i;

	BSON_APPEND_DOCUMENT_BEGIN(update, "$set", &set);
	BSON_APPEND_INT64(&set, "seq", h->seq);
	BSON_APPEND_UTF8(&set, "lastMessage", h->last_content != NULL ?
	    h->last_content : "");
	BSON_APPEND_OID(&set, "lastMessageId", &h->last_id);
	BSON_APPEND_DATE_TIME(&set, "lastMessageAt", h->last_at);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", h->last_at);
	for (i = 0; i < h->nsent; i++) {
		doc_map_key(key, sizeof(key), "sentCounts", &h->users[i]);
		BSON_APPEND_INT64(&set, key, h->sent[i]);
	}
	bson_append_document_end(update, &set);

	if (h->revive != NULL && h->revive->n > 0) {
		BSON_APPEND_DOCUMENT_BEGIN(update, "$unset", &unset);
		for (i = 0; i < h->revive->n; i++) {
			doc_map_key(key, sizeof(key), "deletedBy",
			    &h->revive->v[i]);
			BSON_APPEND_UTF8(&unset, key, "");
		}
		bson_append_document_end(update, &unset);
	}
}

/*
 * out.field ← doc.field with users[i] set to val[i], and without the
 * keys of drop: a map as an update leaves it.
 */
static void
convs_copy_map(bson_t *out, const bson_t *doc, const char *field,
    const bson_oid_t *users, size_t n, const int64_t *val,
    const struct oidlist *drop)
{
	bson_iter_t	it, m;
	bson_oid_t	oid;
	bson_t		map;
	const char	*key;
	char		hex[25];
	size_t		i;

	BSON_APPEND_DOCUMENT_BEGIN(out, field, &map);
	if (bson_iter_init_find(&it, doc, field) &&
	    BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &m)) {
		while (bson_iter_next(&m)) {
			key = bson_iter_key(&m);
			if (strlen(key) == 24 && bson_oid_is_valid(key, 24)) {
				bson_oid_init_from_string(&oid, key);
				if (drop != NULL && oidlist_has(drop, &oid))
					continue;
				for (i = 0; i < n; i++) {
					if (bson_oid_equal(&users[i], &oid))
						break;
				}
				if (i < n)
					continue;
			}
			bson_append_iter(&map, key, -1, &m);
		}
	}
	for (i = 0; i < n; i++) {
		bson_oid_to_string(&users[i], hex);
		BSON_APPEND_INT64(&map, hex, val[i]);
	}
	bson_append_document_end(out, &map);
}
