/*
 * Conversations as they are now (see conv_state.h).
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "cache/heads.h"
#include "domain/conv_state.h"
#include "store/conversations.h"
#include "store/doc.h"
#include "lib/doclist.h"
#include "store/store.h"

static int	conv_state_over(const bson_oid_t *, bson_t *);

int
conv_state(const bson_oid_t *id, bson_t *out)
{
	int		ret;

	if ((ret = convs_cached(id, out)) != STORE_OK)
		return (ret);

	return (conv_state_over(id, out));
}

int
conv_state_fresh(const bson_oid_t *id, bson_t *out)
{
	int		ret;

	if ((ret = convs_find(id, out)) != STORE_OK)
		return (ret);

	return (conv_state_over(id, out));
}

void
conv_state_overlay(struct doclist *docs)
{
	struct conv_head	*heads;
	bson_t			after;
	size_t			i;

	if (docs->n == 0)
		return;
	if ((heads = calloc(docs->n, sizeof(*heads))) == NULL)
		abort();
	for (i = 0; i < docs->n; i++)
		(void)doc_oid(docs->docs[i], "_id", &heads[i].id);

	if (heads_get(heads, docs->n) == 0) {
		for (i = 0; i < docs->n; i++) {
			if (!heads[i].found)
				continue;
			conv_state_apply(docs->docs[i], &heads[i], &after);
			bson_destroy(docs->docs[i]);
			docs->docs[i] = bson_copy(&after);
			bson_destroy(&after);
		}
		heads_free(heads, docs->n);
	}
	free(heads);
}

void
conv_state_apply(const bson_t *doc, const struct conv_head *h, bson_t *out)
{
	struct convs_head	ch;

	if (!h->found || h->seq < doc_int(doc, "seq", 0)) {
		bson_copy_to(doc, out);
		return;
	}

	conv_state_head(h, &ch);
	convs_doc_with_head(doc, &ch, out);
}

void
conv_state_head(const struct conv_head *h, struct convs_head *ch)
{
	memset(ch, 0, sizeof(*ch));
	bson_oid_copy(&h->id, &ch->id);
	ch->seq = h->seq;
	bson_oid_copy(&h->last_id, &ch->last_id);
	ch->last_content = h->text != NULL ? h->text : "";
	ch->last_at = h->last_at;
	ch->nsent = h->nsent;
	ch->users = h->users;
	ch->sent = h->sent;
}

/* Redis away or no head: the document as it is (a checkpoint, or all). */
static int
conv_state_over(const bson_oid_t *id, bson_t *doc)
{
	struct conv_head	h;
	bson_t			after;

	memset(&h, 0, sizeof(h));
	bson_oid_copy(id, &h.id);
	if (heads_get(&h, 1) == -1 || !h.found)
		return (STORE_OK);

	conv_state_apply(doc, &h, &after);
	bson_destroy(doc);
	bson_copy_to(&after, doc);
	bson_destroy(&after);
	heads_free(&h, 1);

	return (STORE_OK);
}
