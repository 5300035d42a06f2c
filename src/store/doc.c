/*
 * Readers over stored documents (see doc.h).
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include "lib/doclist.h"
#include "store/doc.h"

int
doc_oid(const bson_t *doc, const char *key, bson_oid_t *out)
{
	bson_iter_t	it;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_OID(&it))
		return (0);

	bson_oid_copy(bson_iter_oid(&it), out);
	return (1);
}

int64_t
doc_int(const bson_t *doc, const char *key, int64_t def)
{
	bson_iter_t	it;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_NUMBER(&it))
		return (def);

	return (bson_iter_as_int64(&it));
}

int64_t
doc_date(const bson_t *doc, const char *key, int64_t def)
{
	bson_iter_t	it;

	if (!bson_iter_init_find(&it, doc, key) ||
	    !BSON_ITER_HOLDS_DATE_TIME(&it))
		return (def);

	return (bson_iter_date_time(&it));
}

int
doc_bool(const bson_t *doc, const char *key, int def)
{
	bson_iter_t	it;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_BOOL(&it))
		return (def);

	return (bson_iter_bool(&it));
}

const char *
doc_str(const bson_t *doc, const char *key)
{
	bson_iter_t	it;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
		return (NULL);

	return (bson_iter_utf8(&it, NULL));
}

int
doc_has(const bson_t *doc, const char *key)
{
	bson_iter_t	it;

	return (bson_iter_init_find(&it, doc, key) &&
	    !BSON_ITER_HOLDS_NULL(&it));
}

void
doc_map_key(char *buf, size_t len, const char *field, const bson_oid_t *u)
{
	char		hex[25];

	bson_oid_to_string(u, hex);
	(void)snprintf(buf, len, "%s.%s", field, hex);
}

int64_t
doc_map_int(const bson_t *doc, const char *field, const bson_oid_t *user,
    int64_t def)
{
	bson_iter_t	it;
	char		key[64];

	doc_map_key(key, sizeof(key), field, user);
	if (!bson_iter_init(&it, doc) ||
	    !bson_iter_find_descendant(&it, key, &it) ||
	    !BSON_ITER_HOLDS_NUMBER(&it))
		return (def);

	return (bson_iter_as_int64(&it));
}

int
doc_map_has(const bson_t *doc, const char *field, const bson_oid_t *user)
{
	bson_iter_t	it;
	char		key[64];

	doc_map_key(key, sizeof(key), field, user);
	return (bson_iter_init(&it, doc) &&
	    bson_iter_find_descendant(&it, key, &it));
}

int
doc_array_has_oid(const bson_t *doc, const char *key, const bson_oid_t *oid)
{
	bson_iter_t	it, arr;

	if (!bson_iter_init_find(&it, doc, key) ||
	    !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
		return (0);

	while (bson_iter_next(&arr)) {
		if (BSON_ITER_HOLDS_OID(&arr) &&
		    bson_oid_equal(bson_iter_oid(&arr), oid))
			return (1);
	}

	return (0);
}

void
doc_oids(const bson_t *doc, const char *key, struct oidlist *out)
{
	bson_iter_t	it, arr;

	if (!bson_iter_init_find(&it, doc, key) ||
	    !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
		return;

	while (bson_iter_next(&arr)) {
		if (BSON_ITER_HOLDS_OID(&arr))
			oidlist_add(out, bson_iter_oid(&arr));
	}
}

int
doc_cmp_newest(const bson_t *x, const bson_t *y, const char *key)
{
	bson_oid_t	ox, oy;
	int64_t		tx, ty;

	tx = doc_date(x, key, 0);
	ty = doc_date(y, key, 0);
	if (tx != ty)
		return (tx > ty ? -1 : 1);
	if (!doc_oid(x, "_id", &ox) || !doc_oid(y, "_id", &oy))
		return (0);

	return (-bson_oid_compare(&ox, &oy));
}
