/*
 * The list of a user's conversations (GET /api/conversations, SPEC.md
 * §2.6): search, live heads, the order and the page.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "domain/chat_json.h"
#include "domain/conv_internal.h"
#include "domain/conv_state.h"
#include "domain/conversation_service.h"
#include "domain/domain.h"
#include "lib/doclist.h"
#include "lib/json.h"
#include "lib/text.h"
#include "store/conversations.h"
#include "store/doc.h"
#include "store/messages.h"
#include "store/store.h"
#include "store/users.h"

static int	conv_partners_named(const struct oidlist *, const char *,
		    struct oidlist *);
static int	conv_cmp_recent(const void *, const void *);

int
conv_list(const struct dom_caller *u, const struct conv_list_in *in,
    struct json *out, char *err, size_t errlen)
{
	struct convs_query	q;
	struct oidlist		partners, matched, lastids;
	struct doclist		docs, last, all;
	struct userset		users;
	const bson_t		*lm;
	bson_oid_t		oid;
	bson_iter_t		it;
	char			*pattern;
	int64_t			total;
	size_t			i, k;
	int			ret, status;

	pattern = NULL;
	oidlist_init(&partners);
	oidlist_init(&matched);
	oidlist_init(&lastids);
	doclist_init(&docs);
	doclist_init(&last);
	doclist_init(&all);
	userset_init(&users);

	memset(&q, 0, sizeof(q));
	q.user = &u->oid;
	q.archived = in->archived ? 1 : 0;
	q.type = in->type;

	/*
	 * Search matches the group name or a partner's name. FerretDB has
	 * no $lookup: find the partners whose name matches first, then the
	 * conversations that have one of them. Escaped (SPEC.md §2.6).
	 */
	if (in->search != NULL && in->search[0] != '\0') {
		pattern = text_regex_escape(in->search);
		q.pattern = pattern;
		q.matched = &matched;
		if ((ret = convs_partners_of(&u->oid, &partners)) != STORE_OK ||
		    (ret = conv_partners_named(&partners, in->search,
		    &matched)) != STORE_OK) {
			status = dom_store_fail(err, errlen, ret,
			    conv_not_found);
			goto done;
		}
	}

	/*
	 * Every matching conversation, then the live heads over them, then
	 * the order and the page: a head newer than its document moves the
	 * conversation up the list. FerretDB reads them all to sort anyway.
	 */
	if ((ret = convs_list(&q, 0, CONV_LIST_SCAN_MAX, &all)) != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, conv_not_found);
		goto done;
	}
	conv_state_overlay(&all);
	qsort(all.docs, all.n, sizeof(all.docs[0]), conv_cmp_recent);
	total = (int64_t)all.n;
	for (i = (size_t)((in->page - 1) * in->limit);
	    i < all.n && docs.n < (size_t)in->limit; i++)
		doclist_push(&docs, all.docs[i]);

	for (i = 0; i < docs.n; i++) {
		userset_add_field(&users, docs.docs[i], "participants");
		if (doc_oid(docs.docs[i], "lastMessageId", &oid))
			oidlist_add(&lastids, &oid);
	}
	if ((ret = msgs_find_many(&lastids, &last)) != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, conv_not_found);
		goto done;
	}
	for (i = 0; i < last.n; i++)
		userset_add_field(&users, last.docs[i], "senderId");
	if ((ret = userset_load(&users)) != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, conv_not_found);
		goto done;
	}

	json_obj_open(out);
	json_key(out, "conversations");
	json_arr_open(out);
	for (i = 0; i < docs.n; i++) {
		lm = NULL;
		if (doc_oid(docs.docs[i], "lastMessageId", &oid)) {
			for (k = 0; k < last.n; k++) {
				if (bson_iter_init_find(&it, last.docs[k],
				    "_id") && BSON_ITER_HOLDS_OID(&it) &&
				    bson_oid_equal(bson_iter_oid(&it), &oid) &&
				    msgs_doc_visible_to(last.docs[k], &u->oid))
					lm = last.docs[k];
			}
		}
		cj_conversation_item(out, docs.docs[i], &users, lm);
	}
	json_arr_close(out);
	json_key(out, "pagination");
	json_obj_open(out);
	cj_pagination_fields(out, in->page, in->limit, total);
	json_obj_close(out);
	json_obj_close(out);
	status = 200;

done:
	free(pattern);
	oidlist_free(&partners);
	oidlist_free(&matched);
	oidlist_free(&lastids);
	doclist_free(&docs);
	doclist_free(&last);
	doclist_free(&all);
	userset_free(&users);
	return (status);
}

/* matched ← the partners whose name contains text (memo, not a scan). */
static int
conv_partners_named(const struct oidlist *partners, const char *text,
    struct oidlist *matched)
{
	struct user_public	*v;
	size_t			i;
	int			ret;

	if (partners->n == 0)
		return (STORE_OK);
	if ((v = calloc(partners->n, sizeof(*v))) == NULL)
		abort();
	for (i = 0; i < partners->n; i++)
		bson_oid_copy(&partners->v[i], &v[i].oid);
	if ((ret = users_load_public(v, partners->n)) == STORE_OK)
		users_filter_by_name(v, partners->n, text, matched);
	free(v);

	return (ret);
}

/* Lists: the most recent message first, then the newest conversation. */
static int
conv_cmp_recent(const void *a, const void *b)
{
	return (doc_cmp_newest(*(bson_t * const *)a, *(bson_t * const *)b,
	    "lastMessageAt"));
}
