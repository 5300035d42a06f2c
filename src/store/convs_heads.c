/*
 * Conversation heads (see conversations.h): the newest message, seq and
 * the senders' counts a batch of sends or a checkpoint writes, and the
 * same change made to a copy in memory.
 */

#include <sys/types.h>

#include <string.h>

#include <mongoc/mongoc.h>

#include "lib/doclist.h"
#include "store/conversations.h"
#include "store/convs_internal.h"
#include "store/doc.h"
#include "store/store.h"

/* Statements per update command (see convs_apply_heads). */
#define CONVS_BULK_MAX	16

static int	convs_apply_bulk(const struct convs_head *, size_t);
static void	convs_head_update(const struct convs_head *, bson_t *);
static void	convs_copy_map(bson_t *, const bson_t *, const char *,
		    const bson_oid_t *, size_t, const int64_t *,
		    const struct oidlist *);

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
