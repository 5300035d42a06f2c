/*
 * The messagereads collection (see messagereads.h).
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>

#include <mongoc/mongoc.h>

#include "lib/doclist.h"
#include "store/messagereads.h"
#include "store/store.h"

/*
 * Unordered, so one existing receipt does not stop the others; the
 * duplicates it reports are the receipts we wanted anyway.
 */
int
reads_insert(const bson_oid_t *conv, const bson_oid_t *user,
    const struct oidlist *ids, int64_t at)
{
	bson_t		**docs, opts, reply;
	bson_error_t	err;
	bson_oid_t	oid;
	size_t		i;
	int		ret;

	if (ids->n == 0)
		return (STORE_OK);

	if ((docs = calloc(ids->n, sizeof(*docs))) == NULL)
		abort();

	for (i = 0; i < ids->n; i++) {
		docs[i] = bson_new();
		bson_oid_init(&oid, NULL);
		BSON_APPEND_OID(docs[i], "_id", &oid);
		BSON_APPEND_OID(docs[i], "messageId", &ids->v[i]);
		BSON_APPEND_OID(docs[i], "userId", user);
		BSON_APPEND_DATE_TIME(docs[i], "readAt", at);
		BSON_APPEND_OID(docs[i], "conversationId", conv);
		BSON_APPEND_DATE_TIME(docs[i], "createdAt", at);
		BSON_APPEND_DATE_TIME(docs[i], "updatedAt", at);
	}

	bson_init(&opts);
	BSON_APPEND_BOOL(&opts, "ordered", false);

	ret = STORE_OK;
	if (!mongoc_collection_insert_many(store_coll(STORE_MESSAGEREADS),
	    (const bson_t **)docs, ids->n, &opts, &reply, &err)) {
		ret = store_error("messagereads.insert", &err);
		if (ret == STORE_DUP)
			ret = STORE_OK;
	}

	for (i = 0; i < ids->n; i++)
		bson_destroy(docs[i]);
	free(docs);
	bson_destroy(&opts);
	bson_destroy(&reply);
	return (ret);
}

int
reads_list(const bson_oid_t *msg, struct doclist *out)
{
	mongoc_cursor_t		*cur;
	const bson_t		*doc;
	bson_t			filter, opts, sort;
	bson_error_t		err;
	int			ret;

	bson_init(&filter);
	BSON_APPEND_OID(&filter, "messageId", msg);
	bson_init(&opts);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "readAt", -1);
	BSON_APPEND_INT32(&sort, "_id", -1);
	bson_append_document_end(&opts, &sort);
	BSON_APPEND_INT64(&opts, "limit", 1000);

	cur = mongoc_collection_find_with_opts(store_coll(STORE_MESSAGEREADS),
	    &filter, &opts, NULL);
	while (mongoc_cursor_next(cur, &doc))
		doclist_push(out, doc);

	ret = STORE_OK;
	if (mongoc_cursor_error(cur, &err))
		ret = store_error("messagereads.list", &err);

	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return (ret);
}
