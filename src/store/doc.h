/*
 * Readers over stored documents, shared by every collection file and
 * the layers above: one place for "the int at key, or a default".
 *
 * Maps keyed by user id ({uid: value}) are read with doc_map_*: the key
 * is the user's 24-hex id, as MongoDB and FerretDB store dotted paths.
 */

#ifndef LNK_STORE_DOC_H
#define LNK_STORE_DOC_H

#include <sys/types.h>
#include <stdint.h>

#include <bson/bson.h>

struct oidlist;

int		doc_oid(const bson_t *, const char *, bson_oid_t *);
int64_t		doc_int(const bson_t *, const char *, int64_t);
int64_t		doc_date(const bson_t *, const char *, int64_t);
int		doc_bool(const bson_t *, const char *, int);
const char	*doc_str(const bson_t *, const char *);
int		doc_has(const bson_t *, const char *);

/* "<field>.<uid hex>": the dotted path of a map entry. */
void		doc_map_key(char *, size_t, const char *, const bson_oid_t *);
int64_t		doc_map_int(const bson_t *, const char *, const bson_oid_t *,
		    int64_t);
int		doc_map_has(const bson_t *, const char *, const bson_oid_t *);
/* An array of ObjectIds holds oid. */
int		doc_array_has_oid(const bson_t *, const char *,
		    const bson_oid_t *);
/* Adds the ObjectIds of the array at key to the list (each once). */
void		doc_oids(const bson_t *, const char *, struct oidlist *);
/*
 * For qsort comparators: the later date at key first, then the larger
 * _id (the newer document of a same millisecond).
 */
int		doc_cmp_newest(const bson_t *, const bson_t *, const char *);

#endif
