/*
 * Messages (see message_service.h).
 *
 * Numbering. A message's seq is its conversation's seq + 1, inserted
 * under the conversation lock together with the conversation update, and
 * the unique index {conversationId, seq} refuses a number twice. So the
 * numbers have no gap and no repeat, and message n+1 is only ever
 * visible after message n: a reader paging with afterSeq never skips
 * one. Should the lock not hold (Redis down, several workers) or a
 * crash leave the conversation's seq behind, the insert collides and
 * retries after the highest stored seq: still no gap, no repeat.
 *
 * Idempotency. The unique index {conversationId, senderId,
 * clientMessageId} refuses the second copy of a send; the sender gets the
 * stored message back (200) and nothing is announced twice.
 *
 * Unread counts (SPEC.md §2.9). Under the conversation lock every send
 * adds one for the other participants ($inc); a read sets the reader's
 * lastReadSeq and recounts what is left after it; a delete (for all, or
 * for the reader) takes one off those who still counted the message.
 */

#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/app.h"
#include "app/metrics.h"
#include "app/config.h"
#include "cache/redis.h"
#include "domain/chat_json.h"
#include "domain/conv_lock.h"
#include "domain/conversation_service.h"
#include "domain/domain.h"
#include "domain/events.h"
#include "domain/message_service.h"
#include "http/valid.h"
#include "lib/json.h"
#include "lib/jsonbson.h"
#include "lib/text.h"
#include "store/conversations.h"
#include "store/doclist.h"
#include "store/messagereads.h"
#include "store/messages.h"
#include "store/store.h"
#include "store/users.h"

#define MSG_METADATA_MAX	16384
#define MSG_INSERT_ATTEMPTS	8
#define MSG_READ_RANGE_MAX	1000

static int	msg_deliver(const struct api_user *, const bson_oid_t *,
		    const struct msg_input *, struct json *, struct evq *,
		    char *, size_t);
static int	msg_check_reply(const struct api_user *, const bson_oid_t *,
		    const struct msg_input *, struct doclist *, char *,
		    size_t);
static int	msg_check_forward(const struct api_user *,
		    const struct msg_input *, bson_t *, char *, size_t);
static int	msg_insert_numbered(const bson_oid_t *, struct msgs_new *,
		    bson_t *, int *);
static int	msg_load(const struct api_user *, const bson_oid_t *, bson_t *,
		    bson_t *, char *, size_t);
static int	msg_read_upto(const bson_t *, const bson_oid_t *,
		    const bson_oid_t *, const struct doclist *, int64_t,
		    int64_t);
static int	msg_render_one(const struct api_user *, const bson_t *,
		    struct json *, struct evq *, const char *, char *, size_t);
static void	msg_emit_message(struct evq *, const char *, const char *,
		    const bson_t *, const struct userset *,
		    const struct doclist *);
static void	msg_emit_conv_updated(struct evq *, const bson_t *,
		    const bson_oid_t *);
static void	msg_emit_read(struct evq *, const bson_oid_t *,
		    const bson_oid_t *, const bson_oid_t *, int64_t);
static void	msg_caller(const struct api_user *, struct user_public *);
static int	msg_metadata_urls(struct valid *, yajl_val, const char *, int);
static int	msg_package_meta(const bson_oid_t *, const char *, bson_t *,
		    const char **, char *, size_t);
static int	msg_deliver_typed(const struct api_user *,
		    const bson_oid_t *, struct msg_input *, const char *,
		    const char *, bson_t *, struct json *, struct evq *, char *,
		    size_t);
static void	msg_set_content(struct msg_input *, const char *);

static const char *msg_types[] = {
	"text", "image", "file", "video", "audio", "service_offer",
	"booking_request", "location", NULL
};

static const char *msg_not_found = "Message not found";
static const char *conv_not_found = "Conversation not found";

void
msg_input_init(struct msg_input *in)
{
	memset(in, 0, sizeof(*in));
	(void)snprintf(in->type, sizeof(in->type), "text");
}

void
msg_input_free(struct msg_input *in)
{
	free(in->content);
	if (in->metadata != NULL)
		bson_destroy(in->metadata);
	memset(in, 0, sizeof(*in));
}

void
msg_input_parse(struct msg_input *in, yajl_val obj, struct valid *v)
{
	yajl_val	meta, val;
	const char	*type, *cmid, *s;
	const u_int8_t	*data;
	u_int32_t	len;
	bson_t		*doc;
	bson_iter_t	it;
	char		err[160];
	size_t		i;

	if (obj == NULL || !YAJL_IS_OBJECT(obj)) {
		valid_fail(v, "message must be an object");
		return;
	}

	if ((type = valid_enum(v, obj, "type", msg_types, 0)) != NULL)
		(void)snprintf(in->type, sizeof(in->type), "%s", type);

	in->has_forward = valid_oid(v, obj, "forwardedFromId", 0,
	    &in->forwarded_from);
	in->has_reply_to = valid_oid(v, obj, "replyToId", 0, &in->reply_to);

	/* A forward copies the original's content: its own is optional. */
	val = json_get(obj, "content");
	if (val == NULL || YAJL_IS_NULL(val)) {
		if (!in->has_forward && json_get(obj, "forwardedFromId") ==
		    NULL)
			valid_fail(v, "content should not be empty");
	} else if (!YAJL_IS_STRING(val)) {
		valid_fail(v, "content must be a string");
	} else if (!in->has_forward) {
		in->content = msg_clean_text(v, "content", val->u.string,
		    cfg.message_max_length, 1);
	}

	if ((meta = valid_object(v, obj, "metadata", 0)) != NULL &&
	    msg_metadata_urls(v, meta, "metadata", 0) == 0) {
		doc = bson_new();
		if (jsonbson_append(doc, "metadata", meta, err,
		    sizeof(err)) == -1) {
			valid_fail(v, "%s", err);
		} else if (doc->len > MSG_METADATA_MAX) {
			valid_fail(v, "metadata must not be larger than %d "
			    "bytes", MSG_METADATA_MAX);
		} else if (bson_iter_init_find(&it, doc, "metadata") &&
		    BSON_ITER_HOLDS_DOCUMENT(&it)) {
			bson_iter_document(&it, &len, &data);
			in->metadata = bson_new_from_data(data, len);
		}
		bson_destroy(doc);
	}

	cmid = valid_string(v, obj, "clientMessageId", 0, 1,
	    MSG_CLIENT_ID_MAX);
	if (cmid != NULL) {
		for (s = cmid, i = 0; *s != '\0'; s++) {
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				i++;
		}
		if (i > 0)
			valid_fail(v, "clientMessageId must not contain "
			    "control characters");
		else
			(void)snprintf(in->client_id, sizeof(in->client_id),
			    "%s", cmid);
	}
}

/*
 * The content rules of SPEC.md §3: valid UTF-8, controls but \n and \t
 * removed, 1..max characters (not bytes). A blank optional text is NULL
 * without a complaint.
 */
char *
msg_clean_text(struct valid *v, const char *key, const char *s, size_t max,
    int required)
{
	char		*out;
	size_t		chars;
	int		blank;

	if (text_clean(s, strlen(s), &out, NULL, &chars, &blank) != TEXT_OK) {
		valid_fail(v, "%s must be valid UTF-8 text", key);
		return (NULL);
	}

	if (blank) {
		if (required)
			valid_fail(v, "%s should not be empty", key);
		free(out);
		return (NULL);
	}

	if (chars > max) {
		valid_fail(v, "%s must be shorter than or equal to %zu "
		    "characters", key, max);
		free(out);
		return (NULL);
	}

	return (out);
}

int
msg_ratelimit(const struct api_user *u, struct ratelimit *rl)
{
	if (cache_ratelimit("messages", u->id, cfg.rate_limit_messages,
	    cfg.rate_limit_window, rl) == 0 && rl->exceeded)
		return (429);

	return (200);
}

int
msg_send(const struct api_user *u, const bson_oid_t *cid,
    const struct msg_input *in, struct json *out, struct evq *ev, char *err,
    size_t errlen)
{
	return (msg_deliver(u, cid, in, out, ev, err, errlen));
}

int
msg_send_offer(const struct api_user *u, const bson_oid_t *cid,
    const char *package_id, const char *message, struct msg_input *in,
    struct json *out, struct evq *ev, char *err, size_t errlen)
{
	bson_t		conv, *meta;
	const char	*title;
	char		text[512];
	int		status;

	/* The conversation first: no probing packages from outside it. */
	if ((status = conv_load_visible(cid, &u->oid, &conv, err, errlen)) !=
	    200)
		return (status);
	bson_destroy(&conv);

	meta = bson_new();
	status = msg_package_meta(&u->oid, package_id, meta, &title, err,
	    errlen);
	if (status != 200) {
		bson_destroy(meta);
		return (status);
	}

	(void)snprintf(text, sizeof(text), "Service proposé: %s", title);
	return (msg_deliver_typed(u, cid, in, "service_offer",
	    message != NULL ? message : text, meta, out, ev, err, errlen));
}

/*
 * A booking request goes to the owner of the package (SPEC.md §2.13):
 * providerId when given (another participant), else the other
 * participant of a direct conversation.
 */
int
msg_send_booking(const struct api_user *u, const bson_oid_t *cid,
    const struct msg_booking_in *b, struct msg_input *in, struct json *out,
    struct evq *ev, char *err, size_t errlen)
{
	struct oidlist	parts;
	bson_oid_t	provider;
	bson_t		conv, *meta;
	const char	*title;
	char		text[512];
	size_t		i;
	int		status, found;

	if ((status = conv_load_visible(cid, &u->oid, &conv, err, errlen)) !=
	    200)
		return (status);

	oidlist_init(&parts);
	convs_doc_participants(&conv, &parts);
	found = 0;
	if (b->has_provider) {
		if (!bson_oid_equal(&b->provider, &u->oid) &&
		    oidlist_has(&parts, &b->provider)) {
			bson_oid_copy(&b->provider, &provider);
			found = 1;
		}
	} else if (!convs_doc_is_group(&conv)) {
		for (i = 0; i < parts.n; i++) {
			if (!bson_oid_equal(&parts.v[i], &u->oid)) {
				bson_oid_copy(&parts.v[i], &provider);
				found = 1;
			}
		}
	}
	oidlist_free(&parts);

	if (!found) {
		status = b->has_provider || convs_doc_is_group(&conv) ?
		    dom_fail(err, errlen, 400, b->has_provider ?
		    "providerId must be another participant of the "
		    "conversation" : "providerId is required in group "
		    "conversations") :
		    dom_fail(err, errlen, 400, "Invalid conversation");
		bson_destroy(&conv);
		return (status);
	}
	bson_destroy(&conv);

	meta = bson_new();
	status = msg_package_meta(&provider, b->package_id, meta, &title, err,
	    errlen);
	if (status != 200) {
		bson_destroy(meta);
		return (status);
	}
	if (b->has_date)
		BSON_APPEND_DATE_TIME(meta, "requestedDate", b->date);
	if (b->time != NULL)
		BSON_APPEND_UTF8(meta, "requestedTime", b->time);
	BSON_APPEND_OID(meta, "providerId", &provider);

	(void)snprintf(text, sizeof(text), "Demande de réservation: %s", title);
	return (msg_deliver_typed(u, cid, in, "booking_request",
	    b->message != NULL ? b->message : text, meta, out, ev, err,
	    errlen));
}

int
msg_send_location(const struct api_user *u, const bson_oid_t *cid,
    const struct msg_location_in *l, struct msg_input *in, struct json *out,
    struct evq *ev, char *err, size_t errlen)
{
	bson_t		*meta;

	meta = bson_new();
	BSON_APPEND_DOUBLE(meta, "latitude", l->latitude);
	BSON_APPEND_DOUBLE(meta, "longitude", l->longitude);
	if (l->address != NULL)
		BSON_APPEND_UTF8(meta, "address", l->address);

	return (msg_deliver_typed(u, cid, in, "location",
	    l->message != NULL ? l->message : "Localisation partagée", meta,
	    out, ev, err, errlen));
}

int
msg_list(const struct api_user *u, const bson_oid_t *cid,
    const struct msg_list_in *in, struct json *out, char *err, size_t errlen)
{
	struct msgs_query	q;
	struct doclist		docs, replies;
	struct oidlist		rids;
	struct userset		users;
	bson_t			conv;
	bson_oid_t		oid;
	char			*pattern;
	int64_t			total, first, last, convseq;
	size_t			i;
	int			status, ret, more, cursor;

	if ((status = conv_load_visible(cid, &u->oid, &conv, err, errlen)) !=
	    200)
		return (status);
	convseq = convs_doc_int(&conv, "seq", 0);
	bson_destroy(&conv);

	pattern = NULL;
	doclist_init(&docs);
	doclist_init(&replies);
	oidlist_init(&rids);
	userset_init(&users);

	memset(&q, 0, sizeof(q));
	q.conv = cid;
	q.viewer = &u->oid;
	q.type = in->type;
	if (in->search != NULL && in->search[0] != '\0') {
		pattern = text_regex_escape(in->search);
		q.pattern = pattern;
	}
	q.has_after = in->has_after;
	q.after = in->after;
	q.has_before = in->has_before;
	q.before = in->before;
	q.after_seq = in->after_seq >= 0 ? in->after_seq : MSGS_NOSEQ;
	q.before_seq = in->before_seq >= 0 ? in->before_seq : MSGS_NOSEQ;

	cursor = in->after_seq >= 0 || in->before_seq >= 0;
	total = 0;
	more = 0;

	if (in->after_seq >= 0) {
		/* Oldest first from the cursor: what a client missed. */
		ret = msgs_list(&q, 0, 0, in->limit + 1, &docs);
	} else if (in->before_seq >= 0) {
		ret = msgs_list(&q, 1, 0, in->limit + 1, &docs);
	} else {
		if ((total = msgs_count(&q)) < 0) {
			status = dom_store_fail(err, errlen, (int)total,
			    conv_not_found);
			goto done;
		}
		ret = msgs_list(&q, 1, (in->page - 1) * in->limit, in->limit,
		    &docs);
	}
	if (ret != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, conv_not_found);
		goto done;
	}

	if (cursor && docs.n > (size_t)in->limit) {
		more = 1;
		bson_destroy(docs.docs[--docs.n]);
	}
	/* Pages read newest first are shown oldest first, like the peer. */
	if (in->after_seq < 0)
		doclist_reverse(&docs);

	for (i = 0; i < docs.n; i++) {
		userset_add_field(&users, docs.docs[i], "senderId");
		if (msgs_doc_oid(docs.docs[i], "replyToId", &oid))
			oidlist_add(&rids, &oid);
	}
	if ((ret = msgs_find_many(&rids, &replies)) != STORE_OK ||
	    (ret = userset_load(&users)) != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, conv_not_found);
		goto done;
	}

	first = docs.n > 0 ? msgs_doc_int(docs.docs[0], "seq", 0) : -1;
	last = docs.n > 0 ? msgs_doc_int(docs.docs[docs.n - 1], "seq", 0) : -1;

	json_obj_open(out);
	json_key(out, "messages");
	json_arr_open(out);
	for (i = 0; i < docs.n; i++)
		cj_message(out, docs.docs[i], &users, &replies, NULL);
	json_arr_close(out);

	/*
	 * nextCursor: pass as afterSeq for what comes after this page;
	 * prevCursor: pass as beforeSeq for what comes before it.
	 */
	json_key(out, "pagination");
	json_obj_open(out);
	if (!cursor) {
		cj_pagination_fields(out, in->page, in->limit, total);
	} else if (in->after_seq >= 0) {
		json_kint(out, "limit", in->limit);
		json_kbool(out, "hasNext", more);
		json_kbool(out, "hasPrev",
		    (first >= 0 ? first : in->after_seq + 1) > 1);
	} else {
		json_kint(out, "limit", in->limit);
		json_kbool(out, "hasNext",
		    (last >= 0 ? last : in->before_seq - 1) < convseq);
		json_kbool(out, "hasPrev", more);
	}
	json_key(out, "nextCursor");
	if (last >= 0)
		json_int(out, last);
	else if (in->after_seq >= 0)
		json_int(out, in->after_seq);
	else if (in->before_seq > 0)
		json_int(out, in->before_seq - 1);
	else
		json_null(out);
	json_key(out, "prevCursor");
	if (first >= 0)
		json_int(out, first);
	else if (in->after_seq >= 0)
		json_int(out, in->after_seq + 1);
	else
		json_null(out);
	json_obj_close(out);
	json_obj_close(out);
	status = 200;

done:
	free(pattern);
	doclist_free(&docs);
	doclist_free(&replies);
	oidlist_free(&rids);
	userset_free(&users);
	return (status);
}

/*
 * Search runs on a task thread like every handler (SPEC.md §2.6),
 * scoped to the conversations the caller can see, archived included.
 */
int
msg_search(const struct api_user *u, const char *text, int64_t limit,
    struct json *out, char *err, size_t errlen)
{
	struct oidlist	scope, cids;
	struct doclist	docs, convs;
	struct userset	users;
	bson_oid_t	oid;
	char		*pattern;
	size_t		i;
	int		ret, status;

	oidlist_init(&scope);
	oidlist_init(&cids);
	doclist_init(&docs);
	doclist_init(&convs);
	userset_init(&users);
	pattern = text_regex_escape(text);

	if ((ret = convs_ids_of(&u->oid, 1, &scope)) != STORE_OK ||
	    (ret = msgs_search(&scope, &u->oid, pattern, limit, &docs)) !=
	    STORE_OK) {
		status = dom_store_fail(err, errlen, ret, msg_not_found);
		goto done;
	}

	for (i = 0; i < docs.n; i++) {
		userset_add_field(&users, docs.docs[i], "senderId");
		if (msgs_doc_oid(docs.docs[i], "conversationId", &oid))
			oidlist_add(&cids, &oid);
	}
	if ((ret = convs_find_many(&cids, &convs)) != STORE_OK ||
	    (ret = userset_load(&users)) != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, msg_not_found);
		goto done;
	}

	json_arr_open(out);
	for (i = 0; i < docs.n; i++)
		cj_message(out, docs.docs[i], &users, NULL, &convs);
	json_arr_close(out);
	status = 200;

done:
	free(pattern);
	oidlist_free(&scope);
	oidlist_free(&cids);
	doclist_free(&docs);
	doclist_free(&convs);
	userset_free(&users);
	return (status);
}

int
msg_get(const struct api_user *u, const bson_oid_t *mid, struct json *out,
    char *err, size_t errlen)
{
	bson_t		msg;
	int		status;

	if ((status = msg_load(u, mid, &msg, NULL, err, errlen)) != 200)
		return (status);

	status = msg_render_one(u, &msg, out, NULL, NULL, err, errlen);
	bson_destroy(&msg);

	return (status);
}

int
msg_edit(const struct api_user *u, const bson_oid_t *mid, const char *content,
    struct json *out, struct evq *ev, char *err, size_t errlen)
{
	struct conv_lock	lk;
	bson_oid_t		cid, sender, last;
	bson_t			msg, conv, after;
	int64_t			now;
	int			status, ret, was_last;

	if ((status = msg_load(u, mid, &msg, NULL, err, errlen)) != 200)
		return (status);

	(void)msgs_doc_oid(&msg, "conversationId", &cid);
	(void)msgs_doc_oid(&msg, "senderId", &sender);
	now = app_now_ms();

	if (!bson_oid_equal(&sender, &u->oid)) {
		bson_destroy(&msg);
		return (dom_fail(err, errlen, 403,
		    "You can only edit your own messages"));
	}
	if (now - msgs_doc_date(&msg, "createdAt", now) > MSG_EDIT_WINDOW_MS) {
		bson_destroy(&msg);
		return (dom_fail(err, errlen, 400,
		    "Cannot edit messages older than 24 hours"));
	}
	bson_destroy(&msg);

	if (conv_lock(&cid, &lk) == -1)
		return (dom_fail(err, errlen, 503,
		    "Conversation busy, try again later"));

	was_last = 0;
	if ((status = msg_load(u, mid, &msg, &conv, err, errlen)) != 200) {
		conv_unlock(&lk);
		return (status);
	}
	bson_destroy(&msg);

	ret = msgs_edit(mid, content, now);
	/* Editing the newest message edits the preview too (§2.11). */
	if (ret == STORE_OK && convs_doc_oid(&conv, "lastMessageId", &last) &&
	    bson_oid_equal(&last, mid)) {
		was_last = 1;
		ret = convs_set_last_message(&cid, content, now);
	}
	bson_destroy(&conv);
	if (ret == STORE_OK)
		ret = msgs_find(mid, &after);
	if (ret == STORE_OK && was_last && ev != NULL) {
		if (convs_find(&cid, &conv) == STORE_OK) {
			msg_emit_conv_updated(ev, &conv, &cid);
			bson_destroy(&conv);
		}
	}
	conv_unlock(&lk);

	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, msg_not_found));

	status = msg_render_one(u, &after, out, ev, "message_updated", err,
	    errlen);
	bson_destroy(&after);

	return (status);
}

int
msg_delete(const struct api_user *u, const bson_oid_t *mid, struct evq *ev,
    char *err, size_t errlen)
{
	struct conv_lock	lk;
	struct oidlist		parts, counted;
	struct json		j;
	bson_oid_t		cid, sender, last;
	bson_t			msg, conv, after;
	char			room[64];
	int64_t			seq, now;
	size_t			i;
	int			status, ret, was_last;

	if ((status = msg_load(u, mid, &msg, NULL, err, errlen)) != 200)
		return (status);

	(void)msgs_doc_oid(&msg, "conversationId", &cid);
	(void)msgs_doc_oid(&msg, "senderId", &sender);
	bson_destroy(&msg);

	if (!bson_oid_equal(&sender, &u->oid))
		return (dom_fail(err, errlen, 403,
		    "You can only delete your own messages"));

	if (conv_lock(&cid, &lk) == -1)
		return (dom_fail(err, errlen, 503,
		    "Conversation busy, try again later"));

	if ((status = msg_load(u, mid, &msg, &conv, err, errlen)) != 200) {
		conv_unlock(&lk);
		return (status);
	}

	now = app_now_ms();
	seq = msgs_doc_int(&msg, "seq", 0);
	was_last = convs_doc_oid(&conv, "lastMessageId", &last) &&
	    bson_oid_equal(&last, mid);

	/* Those who still count it as unread: not read, not hidden. */
	oidlist_init(&parts);
	oidlist_init(&counted);
	convs_doc_participants(&conv, &parts);
	for (i = 0; i < parts.n; i++) {
		if (bson_oid_equal(&parts.v[i], &sender) ||
		    !msgs_doc_visible_to(&msg, &parts.v[i]) ||
		    convs_doc_map_int(&conv, "lastReadSeq", &parts.v[i], 0) >=
		    seq)
			continue;
		oidlist_add(&counted, &parts.v[i]);
	}
	bson_destroy(&msg);
	bson_destroy(&conv);

	ret = msgs_delete_for_all(mid, now);
	if (ret == STORE_OK)
		ret = convs_add_unread(&cid, &counted, -1);
	if (ret == STORE_OK && was_last)
		ret = convs_set_last_message(&cid, "", now);
	if (ret == STORE_OK && was_last && ev != NULL &&
	    convs_find(&cid, &after) == STORE_OK) {
		msg_emit_conv_updated(ev, &after, &cid);
		bson_destroy(&after);
	}
	conv_unlock(&lk);
	oidlist_free(&parts);
	oidlist_free(&counted);

	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, msg_not_found));

	if (ev != NULL) {
		conv_event_room(room, sizeof(room), "conversation", &cid);
		json_init(&j);
		json_obj_open(&j);
		json_koid(&j, "conversationId", &cid);
		json_koid(&j, "messageId", mid);
		json_obj_close(&j);
		evq_emit(ev, room, "message_deleted", &j);
		json_free(&j);
	}

	return (204);
}

int
msg_hide(const struct api_user *u, const bson_oid_t *mid, struct evq *ev,
    char *err, size_t errlen)
{
	struct conv_lock	lk;
	struct oidlist		me;
	struct json		j;
	bson_oid_t		cid, sender;
	bson_t			msg, conv;
	char			room[64];
	int			status, ret, counted;

	if ((status = msg_load(u, mid, &msg, NULL, err, errlen)) != 200)
		return (status);
	(void)msgs_doc_oid(&msg, "conversationId", &cid);
	bson_destroy(&msg);

	if (conv_lock(&cid, &lk) == -1)
		return (dom_fail(err, errlen, 503,
		    "Conversation busy, try again later"));

	if ((status = msg_load(u, mid, &msg, &conv, err, errlen)) != 200) {
		conv_unlock(&lk);
		return (status);
	}

	(void)msgs_doc_oid(&msg, "senderId", &sender);
	counted = !bson_oid_equal(&sender, &u->oid) &&
	    convs_doc_map_int(&conv, "lastReadSeq", &u->oid, 0) <
	    msgs_doc_int(&msg, "seq", 0);
	bson_destroy(&msg);
	bson_destroy(&conv);

	/* Hidden messages do not count as unread (SPEC.md §2.9). */
	ret = msgs_delete_for(mid, &u->oid, app_now_ms());
	if (ret == STORE_OK && counted) {
		oidlist_init(&me);
		oidlist_add(&me, &u->oid);
		ret = convs_add_unread(&cid, &me, -1);
		oidlist_free(&me);
	}
	conv_unlock(&lk);

	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, msg_not_found));

	/* Only the caller's own sockets: nobody else's view changed. */
	if (ev != NULL) {
		conv_event_room(room, sizeof(room), "user", &u->oid);
		json_init(&j);
		json_obj_open(&j);
		json_koid(&j, "conversationId", &cid);
		json_koid(&j, "messageId", mid);
		json_kbool(&j, "forMe", 1);
		json_obj_close(&j);
		evq_emit(ev, room, "message_deleted", &j);
		json_free(&j);
	}

	return (204);
}

int
msg_read(const struct api_user *u, const bson_oid_t *mid,
    const bson_oid_t *cid_given, struct evq *ev, char *err, size_t errlen)
{
	struct conv_lock	lk;
	struct doclist		docs;
	bson_oid_t		cid;
	bson_t			msg, conv;
	int64_t			now;
	int			status, ret;

	if ((status = msg_load(u, mid, &msg, NULL, err, errlen)) != 200)
		return (status);
	(void)msgs_doc_oid(&msg, "conversationId", &cid);
	bson_destroy(&msg);

	/* mark_read names both: they must agree, or nothing is said. */
	if (cid_given != NULL && !bson_oid_equal(cid_given, &cid))
		return (dom_fail(err, errlen, 404, "%s", msg_not_found));

	if (conv_lock(&cid, &lk) == -1)
		return (dom_fail(err, errlen, 503,
		    "Conversation busy, try again later"));

	if ((status = msg_load(u, mid, &msg, &conv, err, errlen)) != 200) {
		conv_unlock(&lk);
		return (status);
	}

	now = app_now_ms();
	doclist_init(&docs);
	doclist_push(&docs, &msg);
	ret = msg_read_upto(&conv, &cid, &u->oid, &docs,
	    msgs_doc_int(&msg, "seq", 0), now);
	conv_unlock(&lk);
	doclist_free(&docs);
	bson_destroy(&msg);
	bson_destroy(&conv);

	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, msg_not_found));

	if (ev != NULL)
		msg_emit_read(ev, &cid, mid, &u->oid, now);

	return (204);
}

int
msg_read_bulk(const struct api_user *u, const bson_oid_t *cid,
    const bson_oid_t *mids, size_t n, struct evq *ev, char *err,
    size_t errlen)
{
	struct conv_lock	lk;
	struct oidlist		want, ids;
	struct doclist		docs;
	bson_oid_t		oid;
	bson_t			conv;
	int64_t			now, upto, seq;
	size_t			i;
	int			status, ret;

	if ((status = conv_load_visible(cid, &u->oid, &conv, err, errlen)) !=
	    200)
		return (status);
	bson_destroy(&conv);

	if (n == 0)
		return (204);

	oidlist_init(&want);
	oidlist_init(&ids);
	doclist_init(&docs);
	for (i = 0; i < n; i++)
		oidlist_add(&want, &mids[i]);

	if (conv_lock(cid, &lk) == -1) {
		status = dom_fail(err, errlen, 503,
		    "Conversation busy, try again later");
		goto done;
	}

	if ((status = conv_load_visible(cid, &u->oid, &conv, err, errlen)) !=
	    200) {
		conv_unlock(&lk);
		goto done;
	}

	/* Only messages of this conversation the caller can see count. */
	ret = msgs_find_visible(cid, &u->oid, &want, &docs);
	upto = 0;
	for (i = 0; ret == STORE_OK && i < docs.n; i++) {
		if (msgs_doc_oid(docs.docs[i], "_id", &oid))
			oidlist_add(&ids, &oid);
		if ((seq = msgs_doc_int(docs.docs[i], "seq", 0)) > upto)
			upto = seq;
	}

	now = app_now_ms();
	if (ret == STORE_OK && ids.n > 0)
		ret = msg_read_upto(&conv, cid, &u->oid, &docs, upto, now);
	conv_unlock(&lk);
	bson_destroy(&conv);

	if (ret != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, conv_not_found);
		goto done;
	}

	for (i = 0; ev != NULL && i < ids.n; i++)
		msg_emit_read(ev, cid, &ids.v[i], &u->oid, now);
	status = 204;

done:
	oidlist_free(&want);
	oidlist_free(&ids);
	doclist_free(&docs);
	return (status);
}

int
msg_react(const struct api_user *u, const bson_oid_t *mid, const char *emoji,
    struct json *out, struct evq *ev, char *err, size_t errlen)
{
	struct conv_lock	lk;
	bson_oid_t		cid;
	bson_t			msg, after;
	int			status, ret;

	if ((status = msg_load(u, mid, &msg, NULL, err, errlen)) != 200)
		return (status);
	(void)msgs_doc_oid(&msg, "conversationId", &cid);
	bson_destroy(&msg);

	if (conv_lock(&cid, &lk) == -1)
		return (dom_fail(err, errlen, 503,
		    "Conversation busy, try again later"));
	if ((status = msg_load(u, mid, &msg, NULL, err, errlen)) != 200) {
		conv_unlock(&lk);
		return (status);
	}
	bson_destroy(&msg);

	if (emoji != NULL)
		ret = msgs_react(mid, &u->oid, emoji, app_now_ms());
	else
		ret = msgs_unreact(mid, &u->oid, app_now_ms());
	if (ret == STORE_OK)
		ret = msgs_find(mid, &after);
	conv_unlock(&lk);

	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, msg_not_found));

	status = msg_render_one(u, &after, out, ev, "message_updated", err,
	    errlen);
	bson_destroy(&after);

	if (status == 200 && emoji != NULL)
		status = 201;
	return (status);
}

int
msg_unreact(const struct api_user *u, const bson_oid_t *mid, struct json *out,
    struct evq *ev, char *err, size_t errlen)
{
	return (msg_react(u, mid, NULL, out, ev, err, errlen));
}

int
msg_reads(const struct api_user *u, const bson_oid_t *mid, struct json *out,
    char *err, size_t errlen)
{
	struct doclist	docs;
	struct userset	users;
	bson_iter_t	it;
	bson_t		msg;
	const char	*key;
	size_t		i;
	int		status, ret;

	if ((status = msg_load(u, mid, &msg, NULL, err, errlen)) != 200)
		return (status);
	bson_destroy(&msg);

	doclist_init(&docs);
	userset_init(&users);
	if ((ret = reads_list(mid, &docs)) != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, msg_not_found);
		goto done;
	}
	for (i = 0; i < docs.n; i++)
		userset_add_field(&users, docs.docs[i], "userId");
	if ((ret = userset_load(&users)) != STORE_OK) {
		status = dom_store_fail(err, errlen, ret, msg_not_found);
		goto done;
	}

	json_arr_open(out);
	for (i = 0; i < docs.n; i++) {
		json_obj_open(out);
		if (bson_iter_init(&it, docs.docs[i])) {
			while (bson_iter_next(&it)) {
				key = bson_iter_key(&it);
				json_key(out, key);
				if (!strcmp(key, "userId") &&
				    BSON_ITER_HOLDS_OID(&it))
					cj_user_brief(out, &users,
					    bson_iter_oid(&it));
				else
					json_bson_value(out, &it);
				if (!strcmp(key, "_id")) {
					json_key(out, "id");
					json_bson_value(out, &it);
				}
			}
		}
		json_obj_close(out);
	}
	json_arr_close(out);
	status = 200;

done:
	doclist_free(&docs);
	userset_free(&users);
	return (status);
}

/*
 * The one path every message takes (REST send, offers, bookings,
 * locations, socket send_message): limit, check, number and store,
 * update the conversation, announce.
 */
static int
msg_deliver(const struct api_user *u, const bson_oid_t *cid,
    const struct msg_input *in, struct json *out, struct evq *ev, char *err,
    size_t errlen)
{
	struct ratelimit	rl;
	struct conv_lock	lk;
	struct msgs_new		m;
	struct oidlist		parts, others, revive;
	struct doclist		replies;
	struct userset		users;
	struct user_public	me;
	bson_t			conv, fwd, stored, after, fwdmeta;
	bson_iter_t		it;
	const bson_t		*metadata;
	const u_int8_t		*data;
	u_int32_t		len;
	const char		*content, *type;
	char			room[64], target[64];
	int64_t			now;
	size_t			i;
	int			status, ret, existing, has_after;

	if (!in->ratelimited && msg_ratelimit(u, &rl) == 429)
		return (dom_fail(err, errlen, 429, "Rate limit exceeded"));

	if ((status = conv_load_visible(cid, &u->oid, &conv, err, errlen)) !=
	    200)
		return (status);
	bson_destroy(&conv);

	doclist_init(&replies);
	oidlist_init(&parts);
	oidlist_init(&others);
	oidlist_init(&revive);
	userset_init(&users);
	bson_init(&fwd);
	bson_init(&fwdmeta);
	has_after = 0;

	content = in->content;
	type = in->type;
	metadata = in->metadata;

	if (in->has_reply_to && (status = msg_check_reply(u, cid, in,
	    &replies, err, errlen)) != 200)
		goto done;

	if (in->has_forward) {
		bson_destroy(&fwd);
		if ((status = msg_check_forward(u, in, &fwd, err, errlen)) !=
		    200) {
			bson_init(&fwd);
			goto done;
		}
		/* A forward copies content, type and metadata (§2.12). */
		content = msgs_doc_str(&fwd, "content");
		type = msgs_doc_str(&fwd, "type");
		metadata = NULL;
		if (bson_iter_init_find(&it, &fwd, "metadata") &&
		    BSON_ITER_HOLDS_DOCUMENT(&it)) {
			bson_iter_document(&it, &len, &data);
			bson_destroy(&fwdmeta);
			if (!bson_init_static(&fwdmeta, data, len))
				bson_init(&fwdmeta);
			metadata = &fwdmeta;
		}
	}

	if (content == NULL || content[0] == '\0' || type == NULL) {
		status = dom_fail(err, errlen, 400,
		    "content should not be empty");
		goto done;
	}

	memset(&m, 0, sizeof(m));
	bson_oid_init(&m.id, NULL);
	m.conv = cid;
	m.sender = &u->oid;
	m.content = content;
	m.type = type;
	m.metadata = metadata;
	m.reply_to = in->has_reply_to ? &in->reply_to : NULL;
	m.forwarded_from = in->has_forward ? &in->forwarded_from : NULL;
	m.client_id = in->client_id[0] != '\0' ? in->client_id : NULL;

	if (conv_lock(cid, &lk) == -1) {
		status = dom_fail(err, errlen, 503,
		    "Conversation busy, try again later");
		goto done;
	}

	/* Fresh under the lock: membership and seq may have moved. */
	if ((status = conv_load_visible(cid, &u->oid, &conv, err, errlen)) !=
	    200) {
		conv_unlock(&lk);
		goto done;
	}

	now = app_now_ms();
	m.now = now;
	m.seq = convs_doc_int(&conv, "seq", 0) + 1;
	ret = msg_insert_numbered(cid, &m, &stored, &existing);
	if (ret != STORE_OK) {
		conv_unlock(&lk);
		bson_destroy(&conv);
		status = dom_store_fail(err, errlen, ret, conv_not_found);
		goto done;
	}

	if (existing) {
		/* The same send again: the stored one, said once. */
		conv_unlock(&lk);
		bson_destroy(&conv);
		status = msg_render_one(u, &stored, out, NULL, NULL, err,
		    errlen);
		bson_destroy(&stored);
		goto done;
	}

	convs_doc_participants(&conv, &parts);
	for (i = 0; i < parts.n; i++) {
		if (bson_oid_equal(&parts.v[i], &u->oid))
			continue;
		oidlist_add(&others, &parts.v[i]);
		/* A new message brings a deleted chat back (peer §8.10). */
		if (convs_doc_has_mark(&conv, "deletedBy", &parts.v[i]))
			oidlist_add(&revive, &parts.v[i]);
	}
	bson_destroy(&conv);

	ret = convs_apply_message(cid, m.seq, &m.id, content, now, &others,
	    &revive);
	if (ret != STORE_OK) {
		/*
		 * The message is stored and numbered; a later send repairs
		 * seq (msg_insert_numbered). Say so, and still deliver it.
		 */
		app_log("message %d in a conversation stored, conversation "
		    "not updated (%d)", (int)m.seq, ret);
	}
	if (convs_find(cid, &after) == STORE_OK)
		has_after = 1;
	conv_unlock(&lk);

	msg_caller(u, &me);
	userset_put(&users, &me);

	if (ev != NULL) {
		conv_event_room(target, sizeof(target), "conversation", cid);
		for (i = 0; has_after && i < revive.n; i++) {
			conv_event_room(room, sizeof(room), "user",
			    &revive.v[i]);
			evq_join(ev, room, target);
			conv_emit(ev, room, "new_conversation", &after, NULL,
			    0);
		}
		msg_emit_message(ev, target, "new_message", &stored, &users,
		    &replies);
		msg_emit_message(ev, target, "message_received", &stored,
		    &users, &replies);
		if (has_after)
			msg_emit_conv_updated(ev, &after, cid);
	}

	if (out != NULL)
		cj_message(out, &stored, &users, &replies, NULL);
	bson_destroy(&stored);
	status = 201;

	/* Counted once per stored message, never for an idempotent replay. */
	metrics_inc(METRIC_MESSAGES_SENT, in->type);
	if (!strcmp(in->type, "service_offer"))
		metrics_inc(METRIC_SERVICE_OFFERS);
	else if (!strcmp(in->type, "booking_request"))
		metrics_inc(METRIC_BOOKING_REQUESTS);

done:
	if (has_after)
		bson_destroy(&after);
	doclist_free(&replies);
	oidlist_free(&parts);
	oidlist_free(&others);
	oidlist_free(&revive);
	userset_free(&users);
	bson_destroy(&fwd);
	bson_destroy(&fwdmeta);
	return (status);
}

/*
 * Inserts m numbered m->seq. A duplicate is either this sender's
 * clientMessageId (*existing = 1, stored ← that message) or a seq taken
 * without the lock: then number after the highest stored seq.
 */
static int
msg_insert_numbered(const bson_oid_t *cid, struct msgs_new *m,
    bson_t *stored, int *existing)
{
	int64_t		max;
	int		ret, attempt;

	*existing = 0;

	for (attempt = 0; attempt < MSG_INSERT_ATTEMPTS; attempt++) {
		ret = msgs_insert(m, stored);
		if (ret != STORE_DUP)
			return (ret);

		if (m->client_id != NULL) {
			ret = msgs_find_client(cid, m->sender, m->client_id,
			    stored);
			if (ret == STORE_OK) {
				*existing = 1;
				return (STORE_OK);
			}
			if (ret != STORE_NOTFOUND)
				return (ret);
		}

		if ((ret = msgs_max_seq(cid, &max)) != STORE_OK)
			return (ret);
		app_log("conversation seq behind its messages (%d < %d): "
		    "renumbering", (int)m->seq, (int)max + 1);
		m->seq = max + 1;
	}

	return (STORE_DOWN);
}

static int
msg_check_reply(const struct api_user *u, const bson_oid_t *cid,
    const struct msg_input *in, struct doclist *replies, char *err,
    size_t errlen)
{
	bson_oid_t	rcid;
	bson_t		reply;
	int		ret, ok;

	ret = msgs_find(&in->reply_to, &reply);
	if (ret == STORE_NOTFOUND)
		return (dom_fail(err, errlen, 400, "replyToId must refer to "
		    "a message you can see in this conversation"));
	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, msg_not_found));

	ok = msgs_doc_oid(&reply, "conversationId", &rcid) &&
	    bson_oid_equal(&rcid, cid) && msgs_doc_visible_to(&reply, &u->oid);
	if (ok)
		doclist_push(replies, &reply);
	bson_destroy(&reply);

	if (!ok)
		return (dom_fail(err, errlen, 400, "replyToId must refer to "
		    "a message you can see in this conversation"));

	return (200);
}

/* fwd ← the message forwarded, if the caller can see it (§2.12). */
static int
msg_check_forward(const struct api_user *u, const struct msg_input *in,
    bson_t *fwd, char *err, size_t errlen)
{
	bson_oid_t	fcid;
	bson_t		conv;
	int		ret, ok;

	ret = msgs_find(&in->forwarded_from, fwd);
	if (ret == STORE_NOTFOUND)
		return (dom_fail(err, errlen, 400, "forwardedFromId must "
		    "refer to a message you can see"));
	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, msg_not_found));

	ok = msgs_doc_oid(fwd, "conversationId", &fcid) &&
	    msgs_doc_visible_to(fwd, &u->oid) &&
	    msgs_doc_str(fwd, "content") != NULL &&
	    msgs_doc_str(fwd, "type") != NULL;
	if (ok) {
		ret = convs_find(&fcid, &conv);
		if (ret == STORE_OK) {
			ok = convs_doc_visible_to(&conv, &u->oid);
			bson_destroy(&conv);
		} else if (ret == STORE_NOTFOUND) {
			ok = 0;
		} else {
			bson_destroy(fwd);
			return (dom_store_fail(err, errlen, ret,
			    msg_not_found));
		}
	}

	if (!ok) {
		bson_destroy(fwd);
		return (dom_fail(err, errlen, 400, "forwardedFromId must "
		    "refer to a message you can see"));
	}

	return (200);
}

/*
 * A message the caller may see: it exists, is not deleted (for all or
 * for them), and its conversation passes the participant check. Every
 * failure is the same 404 (SPEC.md §2.3). conv, when not NULL, gets the
 * conversation.
 */
static int
msg_load(const struct api_user *u, const bson_oid_t *mid, bson_t *msg,
    bson_t *conv, char *err, size_t errlen)
{
	bson_oid_t	cid;
	bson_t		c;
	int		ret, ok;

	if ((ret = msgs_find(mid, msg)) != STORE_OK)
		return (dom_store_fail(err, errlen, ret, msg_not_found));

	if (!msgs_doc_visible_to(msg, &u->oid) ||
	    !msgs_doc_oid(msg, "conversationId", &cid)) {
		bson_destroy(msg);
		return (dom_fail(err, errlen, 404, "%s", msg_not_found));
	}

	if ((ret = convs_find(&cid, &c)) != STORE_OK) {
		bson_destroy(msg);
		return (dom_store_fail(err, errlen, ret, msg_not_found));
	}

	ok = convs_doc_visible_to(&c, &u->oid);
	if (ok && conv != NULL)
		bson_copy_to(&c, conv);
	bson_destroy(&c);

	if (!ok) {
		bson_destroy(msg);
		return (dom_fail(err, errlen, 404, "%s", msg_not_found));
	}

	return (200);
}

/*
 * Under the conversation lock: user has read the messages `docs` and
 * everything up to seq upto. readBy and receipts for what was unread in
 * that range, then the read position moves on and the unread count is
 * what is left after it.
 */
static int
msg_read_upto(const bson_t *conv, const bson_oid_t *cid,
    const bson_oid_t *user, const struct doclist *docs, int64_t upto,
    int64_t now)
{
	struct oidlist	mark, receipts;
	bson_oid_t	oid;
	int64_t		last, top, unread;
	size_t		i;
	int		ret;

	last = convs_doc_map_int(conv, "lastReadSeq", user, 0);
	top = convs_doc_int(conv, "seq", 0);

	oidlist_init(&mark);
	oidlist_init(&receipts);
	for (i = 0; i < docs->n; i++) {
		if (!msgs_doc_oid(docs->docs[i], "_id", &oid))
			continue;
		oidlist_add(&receipts, &oid);
		/* The first read is the one readBy keeps. */
		if (!msgs_doc_read_by(docs->docs[i], user))
			oidlist_add(&mark, &oid);
	}

	ret = STORE_OK;
	if (upto > last) {
		ret = msgs_unread_ids(cid, user, last, upto,
		    MSG_READ_RANGE_MAX, &mark);
		for (i = 0; i < mark.n; i++)
			oidlist_add(&receipts, &mark.v[i]);
	}
	if (ret == STORE_OK)
		ret = msgs_mark_read(&mark, user, now);
	if (ret == STORE_OK)
		ret = reads_insert(cid, user, &receipts, now);
	oidlist_free(&mark);
	oidlist_free(&receipts);

	if (ret != STORE_OK || upto <= last)
		return (ret);

	unread = 0;
	if (upto < top) {
		unread = msgs_count_unread(cid, user, upto, top);
		if (unread < 0)
			return ((int)unread);
	}

	return (convs_set_read(cid, user, upto, unread));
}

/* out ← MSG (sender and reply populated); ev ← event name, if any. */
static int
msg_render_one(const struct api_user *u, const bson_t *msg, struct json *out,
    struct evq *ev, const char *event, char *err, size_t errlen)
{
	struct userset		users;
	struct doclist		replies;
	struct oidlist		rids;
	struct user_public	me;
	bson_oid_t		oid, cid;
	char			room[64];
	int			ret;

	userset_init(&users);
	doclist_init(&replies);
	oidlist_init(&rids);

	msg_caller(u, &me);
	userset_put(&users, &me);
	userset_add_field(&users, msg, "senderId");
	if (msgs_doc_oid(msg, "replyToId", &oid))
		oidlist_add(&rids, &oid);

	if ((ret = userset_load(&users)) == STORE_OK)
		ret = msgs_find_many(&rids, &replies);

	if (ret == STORE_OK) {
		if (out != NULL)
			cj_message(out, msg, &users, &replies, NULL);
		if (ev != NULL && event != NULL &&
		    msgs_doc_oid(msg, "conversationId", &cid)) {
			conv_event_room(room, sizeof(room), "conversation",
			    &cid);
			msg_emit_message(ev, room, event, msg, &users,
			    &replies);
		}
	}

	userset_free(&users);
	doclist_free(&replies);
	oidlist_free(&rids);

	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, msg_not_found));

	return (200);
}

/*
 * new_message / message_updated: {conversationId, message};
 * message_received: {message, conversationId} (peer contract §5.6).
 */
static void
msg_emit_message(struct evq *ev, const char *room, const char *name,
    const bson_t *msg, const struct userset *users,
    const struct doclist *replies)
{
	struct json	j;
	bson_oid_t	cid;
	int		received;

	received = !strcmp(name, "message_received");
	(void)msgs_doc_oid(msg, "conversationId", &cid);

	json_init(&j);
	json_obj_open(&j);
	if (!received)
		json_koid(&j, "conversationId", &cid);
	json_key(&j, "message");
	cj_message(&j, msg, users, replies, NULL);
	if (received)
		json_koid(&j, "conversationId", &cid);
	json_obj_close(&j);

	evq_emit(ev, room, name, &j);
	json_free(&j);
}

/*
 * conversation_updated after a send or an edit/delete of the newest
 * message: {conversationId, lastMessage, lastMessageAt, unreadCounts}
 * (the peer's payload, plus the counters it never pushed, §8.13).
 */
static void
msg_emit_conv_updated(struct evq *ev, const bson_t *conv,
    const bson_oid_t *cid)
{
	struct json	j;
	bson_iter_t	it;
	char		room[64];

	json_init(&j);
	json_obj_open(&j);
	json_koid(&j, "conversationId", cid);
	json_kstr(&j, "lastMessage", msgs_doc_str(conv, "lastMessage") ?
	    msgs_doc_str(conv, "lastMessage") : "");
	if (bson_iter_init_find(&it, conv, "lastMessageAt")) {
		json_key(&j, "lastMessageAt");
		json_bson_value(&j, &it);
	}
	if (bson_iter_init_find(&it, conv, "unreadCounts")) {
		json_key(&j, "unreadCounts");
		json_bson_value(&j, &it);
	}
	json_obj_close(&j);

	conv_event_room(room, sizeof(room), "conversation", cid);
	evq_emit(ev, room, "conversation_updated", &j);
	json_free(&j);
}

/* message_read {messageId, conversationId, readBy, readAt}. */
static void
msg_emit_read(struct evq *ev, const bson_oid_t *cid, const bson_oid_t *mid,
    const bson_oid_t *user, int64_t at)
{
	struct json	j;
	char		room[64];

	json_init(&j);
	json_obj_open(&j);
	json_koid(&j, "messageId", mid);
	json_koid(&j, "conversationId", cid);
	json_koid(&j, "readBy", user);
	json_kdate(&j, "readAt", at);
	json_obj_close(&j);

	conv_event_room(room, sizeof(room), "conversation", cid);
	evq_emit(ev, room, "message_read", &j);
	json_free(&j);
}

static void
msg_caller(const struct api_user *u, struct user_public *me)
{
	memset(me, 0, sizeof(*me));
	bson_oid_copy(&u->oid, &me->oid);
	me->found = 1;
	(void)snprintf(me->name, sizeof(me->name), "%s", u->name);
	(void)snprintf(me->avatar, sizeof(me->avatar), "%s", u->avatar);
	me->is_verified = u->is_verified;
	me->is_premium = u->is_premium;
}

/*
 * Every URL-like value in metadata must be http(s) or under /upload/
 * (SPEC.md §3): keys ending in "url" (fileUrl, thumbnailUrl, ...) and
 * avatars, at any depth.
 */
static int
msg_metadata_urls(struct valid *v, yajl_val obj, const char *path, int depth)
{
	const char	*key;
	char		sub[160];
	size_t		i, len, bad;
	yajl_val	val;

	bad = 0;
	if (depth > JSONBSON_MAX_DEPTH)
		return (0);

	for (i = 0; YAJL_IS_OBJECT(obj) && i < obj->u.object.len; i++) {
		key = obj->u.object.keys[i];
		val = obj->u.object.values[i];
		len = strlen(key);

		if ((len >= 3 && !strcasecmp(key + len - 3, "url")) ||
		    !strcasecmp(key, "avatar") ||
		    !strcasecmp(key, "groupAvatar")) {
			if (!YAJL_IS_NULL(val) && (!YAJL_IS_STRING(val) ||
			    !valid_is_safe_url(val->u.string))) {
				valid_fail(v, "%s.%s must be an http(s) URL "
				    "or a path under /upload/", path, key);
				bad++;
			}
		} else if (YAJL_IS_OBJECT(val)) {
			(void)snprintf(sub, sizeof(sub), "%s.%s", path, key);
			if (msg_metadata_urls(v, val, sub, depth + 1) != 0)
				bad++;
		}
	}

	return (bad > 0 ? -1 : 0);
}

/*
 * metadata ← {servicePackageId, serviceName, price, currency, duration}
 * of owner's package; 404 when it has none of that id, 400 when it is
 * not active (SPEC.md §2.13).
 */
static int
msg_package_meta(const bson_oid_t *owner, const char *package_id,
    bson_t *meta, const char **title, char *err, size_t errlen)
{
	static __thread char	title_buf[256];
	bson_t			pkg;
	bson_iter_t		it;
	const char		*s;
	int			ret;

	ret = users_package_find(owner, package_id, &pkg);
	if (ret == STORE_NOTFOUND)
		return (dom_fail(err, errlen, 404,
		    "Service package not found"));
	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret,
		    "Service package not found"));

	if (!users_doc_bool(&pkg, "isActive", 1)) {
		bson_destroy(&pkg);
		return (dom_fail(err, errlen, 400,
		    "Service package is not active"));
	}

	s = users_doc_str(&pkg, "title");
	(void)snprintf(title_buf, sizeof(title_buf), "%s", s ? s : "");
	*title = title_buf;

	BSON_APPEND_UTF8(meta, "servicePackageId", package_id);
	BSON_APPEND_UTF8(meta, "serviceName", title_buf);
	if (bson_iter_init_find(&it, &pkg, "price"))
		bson_append_value(meta, "price", -1, bson_iter_value(&it));
	if ((s = users_doc_str(&pkg, "currency")) != NULL)
		BSON_APPEND_UTF8(meta, "currency", s);
	if ((s = users_doc_str(&pkg, "duration")) != NULL)
		BSON_APPEND_UTF8(meta, "duration", s);

	bson_destroy(&pkg);
	return (200);
}

static void
msg_set_content(struct msg_input *in, const char *text)
{
	char		*copy;

	if ((copy = strdup(text)) == NULL)
		abort();
	free(in->content);
	in->content = copy;
}

/*
 * The typed sends (offer, booking, location): their text and metadata
 * replace whatever the input had, then the ordinary send path runs.
 */
static int
msg_deliver_typed(const struct api_user *u, const bson_oid_t *cid,
    struct msg_input *in, const char *type, const char *content, bson_t *meta,
    struct json *out, struct evq *ev, char *err, size_t errlen)
{
	msg_set_content(in, content);
	(void)snprintf(in->type, sizeof(in->type), "%s", type);
	if (in->metadata != NULL)
		bson_destroy(in->metadata);
	in->metadata = meta;

	return (msg_deliver(u, cid, in, out, ev, err, errlen));
}
