/*
 * Conversation and message JSON (see chat_json.h).
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "domain/chat_json.h"
#include "lib/json.h"
#include "store/conversations.h"
#include "store/doc.h"
#include "lib/doclist.h"
#include "store/store.h"
#include "store/users.h"

static void	cj_conversation_fields(struct json *, const bson_t *,
		    const struct userset *);
static int	cj_field(struct json *, const bson_t *, const char *,
		    const char *);
static void	cj_field_as(struct json *, const bson_t *, const char *,
		    const char *);
static void	cj_map_fields(struct json *, const bson_t *, const char *);

/* What cj_message writes itself; internal ones are never written. */
static const char *const msg_fields[] = {
	"_id", "conversationId", "senderId", "content", "type", "metadata",
	"readBy", "reactions", "reactionTypes", "replyToId", "editedAt",
	"deletedAt", "deletedFor", "isForwarded", "forwardedFromId", "seq",
	"clientMessageId", "createdAt", "updatedAt", "bucket", "__v", NULL
};
static const char *const cj_hidden[] = { "bucket", "__v", NULL };

static const bson_t *cj_find_doc(const struct doclist *, const bson_oid_t *);
static void	cj_oid_array(struct json *, const bson_iter_t *,
		    const struct userset *);

void
userset_init(struct userset *s)
{
	memset(s, 0, sizeof(*s));
}

void
userset_add(struct userset *s, const bson_oid_t *oid)
{
	struct user_public	*v;

	if (userset_find(s, oid) != NULL)
		return;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		if ((v = realloc(s->v, s->cap * sizeof(*v))) == NULL)
			abort();
		s->v = v;
	}

	memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
	bson_oid_copy(oid, &s->v[s->n].oid);
	s->n++;
}

void
userset_add_field(struct userset *s, const bson_t *doc, const char *key)
{
	bson_iter_t	it, arr;

	if (!bson_iter_init_find(&it, doc, key))
		return;

	if (BSON_ITER_HOLDS_OID(&it)) {
		userset_add(s, bson_iter_oid(&it));
		return;
	}

	if (BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &arr)) {
		while (bson_iter_next(&arr)) {
			if (BSON_ITER_HOLDS_OID(&arr))
				userset_add(s, bson_iter_oid(&arr));
		}
	}
}

void
userset_put(struct userset *s, const struct user_public *u)
{
	size_t		i;

	userset_add(s, &u->oid);
	for (i = 0; i < s->n; i++) {
		if (bson_oid_equal(&s->v[i].oid, &u->oid)) {
			s->v[i] = *u;
			s->v[i].found = 1;
			return;
		}
	}
}

/* One $in query for everyone not known yet. */
int
userset_load(struct userset *s)
{
	struct user_public	*want;
	size_t			i, n, k;
	int			ret;

	if ((want = calloc(s->n + 1, sizeof(*want))) == NULL)
		abort();

	for (i = 0, n = 0; i < s->n; i++) {
		if (!s->v[i].found)
			bson_oid_copy(&s->v[i].oid, &want[n++].oid);
	}

	ret = users_load_public(want, n);
	for (k = 0; ret == STORE_OK && k < n; k++) {
		if (!want[k].found)
			continue;
		for (i = 0; i < s->n; i++) {
			if (bson_oid_equal(&s->v[i].oid, &want[k].oid))
				s->v[i] = want[k];
		}
	}

	free(want);
	return (ret);
}

const struct user_public *
userset_find(const struct userset *s, const bson_oid_t *oid)
{
	size_t		i;

	for (i = 0; i < s->n; i++) {
		if (bson_oid_equal(&s->v[i].oid, oid))
			return (&s->v[i]);
	}

	return (NULL);
}

void
userset_free(struct userset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void
cj_user(struct json *j, const struct userset *s, const bson_oid_t *oid)
{
	const struct user_public	*u;
	struct user_public		blank;

	if (s == NULL || (u = userset_find(s, oid)) == NULL) {
		/* A user who no longer exists: only the id is known. */
		memset(&blank, 0, sizeof(blank));
		bson_oid_copy(oid, &blank.oid);
		u = &blank;
	}

	users_json_public(j, u);
}

void
cj_user_brief(struct json *j, const struct userset *s, const bson_oid_t *oid)
{
	const struct user_public	*u;

	u = s != NULL ? userset_find(s, oid) : NULL;

	json_obj_open(j);
	json_koid(j, "_id", oid);
	json_koid(j, "id", oid);
	if (u != NULL && u->name[0] != '\0')
		json_kstr(j, "name", u->name);
	if (u != NULL && u->avatar[0] != '\0')
		json_kstr(j, "avatar", u->avatar);
	json_obj_close(j);
}

/*
 * MSG in the peer's field order. Stored documents keep only what a
 * message has (store/messages.h): what is absent is written empty, the
 * sender's own read is its creation, and bucket stays internal.
 */
void
cj_message(struct json *j, const bson_t *msg, const struct userset *users,
    const struct doclist *replies, const struct doclist *convs)
{
	bson_iter_t	it;
	const bson_t	*reply, *conv;
	bson_oid_t	oid, sender;
	const char	*key;
	char		hex[25];
	size_t		i;
	int		has_sender;

	json_obj_open(j);

	if (bson_iter_init_find(&it, msg, "_id")) {
		json_key(j, "_id");
		json_bson_value(j, &it);
		json_key(j, "id");
		json_bson_value(j, &it);
	}

	if (doc_oid(msg, "conversationId", &oid)) {
		json_key(j, "conversationId");
		if (convs != NULL && (conv = cj_find_doc(convs, &oid)) != NULL)
			cj_conversation(j, conv, NULL);
		else
			json_oid(j, &oid);
	}

	has_sender = doc_oid(msg, "senderId", &sender);
	if (has_sender) {
		json_key(j, "senderId");
		cj_user(j, users, &sender);
	}

	cj_field(j, msg, "content", NULL);
	cj_field(j, msg, "type", NULL);
	cj_field(j, msg, "metadata", NULL);

	json_key(j, "readBy");
	json_obj_open(j);
	if (has_sender && !doc_map_has(msg, "readBy", &sender)) {
		bson_oid_to_string(&sender, hex);
		json_key(j, hex);
		json_date(j, doc_date(msg, "createdAt", 0));
	}
	cj_map_fields(j, msg, "readBy");
	json_obj_close(j);

	cj_field(j, msg, "reactions", "[]");
	cj_field(j, msg, "reactionTypes", "{}");

	if (doc_oid(msg, "replyToId", &oid)) {
		json_key(j, "replyToId");
		/* The stored reply, blanked already if deleted. */
		if (replies != NULL &&
		    (reply = cj_find_doc(replies, &oid)) != NULL)
			json_bson_doc(j, reply, cj_hidden);
		else
			json_oid(j, &oid);
	}

	cj_field(j, msg, "editedAt", NULL);
	cj_field(j, msg, "deletedAt", NULL);
	cj_field(j, msg, "deletedFor", "[]");
	json_kbool(j, "isForwarded", doc_bool(msg, "isForwarded", 0));
	cj_field(j, msg, "forwardedFromId", NULL);
	cj_field(j, msg, "seq", NULL);
	cj_field(j, msg, "clientMessageId", NULL);
	cj_field(j, msg, "createdAt", NULL);
	if (!cj_field(j, msg, "updatedAt", NULL))
		cj_field_as(j, msg, "createdAt", "updatedAt");

	/* Anything else a document carries (older shapes) as it is. */
	if (bson_iter_init(&it, msg)) {
		while (bson_iter_next(&it)) {
			key = bson_iter_key(&it);
			for (i = 0; msg_fields[i] != NULL; i++) {
				if (!strcmp(msg_fields[i], key))
					break;
			}
			if (msg_fields[i] != NULL)
				continue;
			json_key(j, key);
			json_bson_value(j, &it);
		}
	}

	json_obj_close(j);
}

void
cj_conversation(struct json *j, const bson_t *conv, const struct userset *users)
{
	json_obj_open(j);
	cj_conversation_fields(j, conv, users);
	json_obj_close(j);
}

void
cj_conversation_item(struct json *j, const bson_t *conv,
    const struct userset *users, const bson_t *last)
{
	bson_iter_t	it, arr;
	bson_oid_t	sender;

	json_obj_open(j);
	cj_conversation_fields(j, conv, NULL);

	json_key(j, "participantDetails");
	json_arr_open(j);
	if (bson_iter_init_find(&it, conv, "participants") &&
	    BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &arr)) {
		while (bson_iter_next(&arr)) {
			if (BSON_ITER_HOLDS_OID(&arr))
				cj_user(j, users, bson_iter_oid(&arr));
		}
	}
	json_arr_close(j);

	json_key(j, "lastMessageDetails");
	json_arr_open(j);
	if (last != NULL) {
		json_obj_open(j);
		json_bson_fields(j, last, NULL);
		if (bson_iter_init_find(&it, last, "senderId") &&
		    BSON_ITER_HOLDS_OID(&it)) {
			bson_oid_copy(bson_iter_oid(&it), &sender);
			json_key(j, "sender");
			cj_user(j, users, &sender);
		}
		json_obj_close(j);
	}
	json_arr_close(j);

	json_obj_close(j);
}

void
cj_pagination_fields(struct json *j, int64_t page, int64_t limit,
    int64_t total)
{
	int64_t		pages;

	pages = limit > 0 ? (total + limit - 1) / limit : 0;
	json_kint(j, "page", page);
	json_kint(j, "limit", limit);
	json_kint(j, "totalPages", pages);
	json_kint(j, "totalCount", total);
	json_kbool(j, "hasNext", page < pages);
	json_kbool(j, "hasPrev", page > 1);
}

static void
cj_conversation_fields(struct json *j, const bson_t *conv,
    const struct userset *users)
{
	bson_iter_t	it, arr;
	const char	*key;
	int64_t		count;

	count = 0;
	if (!bson_iter_init(&it, conv))
		return;

	while (bson_iter_next(&it)) {
		key = bson_iter_key(&it);

		/* Bookkeeping: the dedupe key, the counters unread is from. */
		if (convs_field_internal(key))
			continue;

		json_key(j, key);
		if (!strcmp(key, "participants") &&
		    BSON_ITER_HOLDS_ARRAY(&it)) {
			cj_oid_array(j, &it, users);
			if (bson_iter_recurse(&it, &arr)) {
				while (bson_iter_next(&arr))
					count++;
			}
		} else if (!strcmp(key, "groupAdmin") &&
		    BSON_ITER_HOLDS_OID(&it) && users != NULL) {
			cj_user_brief(j, users, bson_iter_oid(&it));
		} else {
			json_bson_value(j, &it);
		}

		if (!strcmp(key, "_id")) {
			json_key(j, "id");
			json_bson_value(j, &it);
		}
	}

	json_key(j, "unreadCounts");
	cj_unread_counts(j, conv);
	json_kint(j, "participantCount", count);
}

/*
 * {uid: n} for the participants, derived (store/conversations.h). Like
 * the peer's stored map, a member appears once something was unread for
 * them: now, or before their last read.
 */
void
cj_unread_counts(struct json *j, const bson_t *conv)
{
	struct oidlist	parts;
	char		hex[25];
	int64_t		n;
	size_t		i;

	oidlist_init(&parts);
	convs_doc_participants(conv, &parts);
	json_obj_open(j);
	for (i = 0; i < parts.n; i++) {
		n = convs_doc_unread(conv, &parts.v[i]);
		if (n == 0 &&
		    doc_map_int(conv, "lastReadSeq", &parts.v[i], 0) == 0)
			continue;
		bson_oid_to_string(&parts.v[i], hex);
		json_kint(j, hex, n);
	}
	json_obj_close(j);
	oidlist_free(&parts);
}

/* key: value when doc has it; else key: empty (a JSON literal) or none. */
static int
cj_field(struct json *j, const bson_t *doc, const char *key,
    const char *empty)
{
	bson_iter_t	it;

	if (bson_iter_init_find(&it, doc, key) && !BSON_ITER_HOLDS_NULL(&it)) {
		json_key(j, key);
		json_bson_value(j, &it);
		return (1);
	}
	if (empty != NULL) {
		json_key(j, key);
		json_raw(j, empty, strlen(empty));
	}

	return (0);
}

static void
cj_field_as(struct json *j, const bson_t *doc, const char *key,
    const char *as)
{
	bson_iter_t	it;

	if (bson_iter_init_find(&it, doc, key)) {
		json_key(j, as);
		json_bson_value(j, &it);
	}
}

/* The entries of the map at key, written into an open object. */
static void
cj_map_fields(struct json *j, const bson_t *doc, const char *key)
{
	bson_iter_t	it, map;

	if (!bson_iter_init_find(&it, doc, key) ||
	    !BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &map))
		return;

	while (bson_iter_next(&map)) {
		json_key(j, bson_iter_key(&map));
		json_bson_value(j, &map);
	}
}

static void
cj_oid_array(struct json *j, const bson_iter_t *it, const struct userset *users)
{
	bson_iter_t	arr;

	json_arr_open(j);
	if (bson_iter_recurse(it, &arr)) {
		while (bson_iter_next(&arr)) {
			if (users != NULL && BSON_ITER_HOLDS_OID(&arr))
				cj_user(j, users, bson_iter_oid(&arr));
			else
				json_bson_value(j, &arr);
		}
	}
	json_arr_close(j);
}

static const bson_t *
cj_find_doc(const struct doclist *l, const bson_oid_t *oid)
{
	bson_iter_t	it;
	size_t		i;

	for (i = 0; i < l->n; i++) {
		if (bson_iter_init_find(&it, l->docs[i], "_id") &&
		    BSON_ITER_HOLDS_OID(&it) &&
		    bson_oid_equal(bson_iter_oid(&it), oid))
			return (l->docs[i]);
	}

	return (NULL);
}
