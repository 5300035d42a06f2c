/*
 * The conversations collection (see conversations.h).
 */

#include <sys/types.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "lib/doclist.h"
#include "store/conversations.h"
#include "store/convs_internal.h"
#include "store/doc.h"
#include "store/memo.h"
#include "store/store.h"

/*
 * Membership is re-read by every participant check; changes made through
 * the server forget the entry everywhere at once (convs_forget and the
 * bus), so the ttl only bounds changes made behind the server's back.
 */
#define CONVS_MEMO_TTL_MS	30000
#define CONVS_MEMO_CAP		8192

#define CONVS_ROOMS_TTL_MS	30000
#define CONVS_ROOMS_CAP		16384

static void	convs_filter(bson_t *, const struct convs_query *);
static void	convs_direct_key(char *, size_t, const bson_oid_t *,
		    const bson_oid_t *);
static void	convs_memo_init(void);
static void	convs_rooms_read(const bson_t *, const char *,
		    struct oidlist *);

static pthread_once_t	memo_once = PTHREAD_ONCE_INIT;
static struct memo	memo;
static struct memo	rooms_memo;

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
void
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
