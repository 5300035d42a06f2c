/*
 * Document and ObjectId lists (see doclist.h).
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "lib/doclist.h"

void
doclist_init(struct doclist *l)
{
	memset(l, 0, sizeof(*l));
}

void
doclist_push(struct doclist *l, const bson_t *doc)
{
	bson_t		**v;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		if ((v = realloc(l->docs, l->cap * sizeof(*v))) == NULL)
			abort();
		l->docs = v;
	}

	l->docs[l->n++] = bson_copy(doc);
}

void
doclist_reverse(struct doclist *l)
{
	bson_t		*t;
	size_t		i;

	for (i = 0; i < l->n / 2; i++) {
		t = l->docs[i];
		l->docs[i] = l->docs[l->n - 1 - i];
		l->docs[l->n - 1 - i] = t;
	}
}

void
doclist_free(struct doclist *l)
{
	size_t		i;

	for (i = 0; i < l->n; i++)
		bson_destroy(l->docs[i]);
	free(l->docs);
	memset(l, 0, sizeof(*l));
}

void
oidlist_init(struct oidlist *l)
{
	memset(l, 0, sizeof(*l));
}

void
oidlist_add(struct oidlist *l, const bson_oid_t *oid)
{
	if (!oidlist_has(l, oid))
		oidlist_push(l, oid);
}

void
oidlist_push(struct oidlist *l, const bson_oid_t *oid)
{
	bson_oid_t	*v;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		if ((v = realloc(l->v, l->cap * sizeof(*v))) == NULL)
			abort();
		l->v = v;
	}

	bson_oid_copy(oid, &l->v[l->n++]);
}

int
oidlist_has(const struct oidlist *l, const bson_oid_t *oid)
{
	size_t		i;

	for (i = 0; i < l->n; i++) {
		if (bson_oid_equal(&l->v[i], oid))
			return (1);
	}

	return (0);
}

void
oidlist_free(struct oidlist *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}
