/*
 * Readers over a stored conversation document (see conversations.h):
 * membership, marks, and the counters unread counts and page totals are
 * derived from.
 */

#include <sys/types.h>

#include <string.h>

#include <bson/bson.h>

#include "lib/doclist.h"
#include "store/conversations.h"
#include "store/doc.h"

/* Bookkeeping fields, never rendered (the counters unread comes from). */
static const char *internal_fields[] = {
	"directKey", "sentCounts", "ownReadCounts", "skipCounts",
	"deletedCount", "hiddenCounts", "unreadCounts", NULL
};

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
