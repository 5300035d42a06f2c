/*
 * Growable lists of documents and ObjectIds returned by the collection
 * files. Plain malloc: they are filled and freed on task threads.
 */

#ifndef LNK_LIB_DOCLIST_H
#define LNK_LIB_DOCLIST_H

#include <sys/types.h>
#include <stddef.h>

#include <bson/bson.h>

struct doclist {
	bson_t		**docs;
	size_t		n;
	size_t		cap;
};

struct oidlist {
	bson_oid_t	*v;
	size_t		n;
	size_t		cap;
};

void	doclist_init(struct doclist *);
void	doclist_push(struct doclist *, const bson_t *);
void	doclist_reverse(struct doclist *);
void	doclist_free(struct doclist *);

void	oidlist_init(struct oidlist *);
/* Adds oid unless it is already there (lists stay small: ≤ a few 100). */
void	oidlist_add(struct oidlist *, const bson_oid_t *);
/* Appends without the check, for ids known to be distinct. */
void	oidlist_push(struct oidlist *, const bson_oid_t *);
int	oidlist_has(const struct oidlist *, const bson_oid_t *);
void	oidlist_free(struct oidlist *);

#endif
