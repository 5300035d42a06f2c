/*
 * Conversation updates other than heads (see conversations.h): read
 * positions, counters, archive and delete marks, group changes. Each
 * addresses one document by _id and drops the memo's copy of it.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "lib/doclist.h"
#include "store/conversations.h"
#include "store/convs_internal.h"
#include "store/doc.h"
#include "store/store.h"

static int	convs_write(const bson_oid_t *, const char *, const bson_t *);

/* A member's entries that go when they leave a group, in this order. */
static const char *const left_fields[] = {
	"lastReadSeq", "ownReadCounts", "skipCounts", "archivedBy",
	"deletedBy", NULL
};

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
	size_t		i, f;
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
			for (f = 0; left_fields[f] != NULL; f++) {
				doc_map_key(key, sizeof(key), left_fields[f],
				    &g->removed->v[i]);
				BSON_APPEND_UTF8(&unset, key, "");
			}
		}
		bson_append_document_end(&update, &unset);
	}

	ret = convs_write(id, "conversations.update_group", &update);
	bson_destroy(&update);
	/* Partners of everyone, old members and new, have changed. */
	convs_forget_all_rooms(g->doc, g->added);

	return (ret);
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
