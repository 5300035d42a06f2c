/*
 * Sending, the checking half (see message_service.h): the rate limit,
 * the participant check, replies and forwards, the typed messages
 * (offers, bookings, locations). What passes becomes a draft for
 * msg_commit.c, which numbers and stores it.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/redis.h"
#include "core/config.h"
#include "domain/conversation_service.h"
#include "domain/domain.h"
#include "domain/msg_internal.h"
#include "store/conversations.h"
#include "store/doc.h"
#include "store/store.h"
#include "store/users.h"

static int	msg_prepare(const struct dom_caller *, const bson_oid_t *,
		    const struct msg_input *, struct msg_draft **, char *,
		    size_t);
static struct msg_draft	*msg_draft_new(const struct dom_caller *,
			    const bson_oid_t *, const struct msg_input *,
			    const char *, const char *, const bson_t *);
static int	msg_check_reply(const struct dom_caller *, const bson_oid_t *,
		    const struct msg_input *, struct doclist *, char *,
		    size_t);
static int	msg_check_forward(const struct dom_caller *,
		    const struct msg_input *, bson_t *, char *, size_t);
static int	msg_package_meta(const bson_oid_t *, const char *, bson_t *,
		    const char **, char *, size_t);
static int	msg_prepare_typed(const struct dom_caller *,
		    const bson_oid_t *, struct msg_input *, const char *,
		    const char *, bson_t *, struct msg_draft **, char *,
		    size_t);

int
msg_ratelimit(const struct dom_caller *u, struct ratelimit *rl)
{
	if (cache_ratelimit("messages", u->id, cfg.rate_limit_messages,
	    cfg.rate_limit_window, rl) == 0 && rl->exceeded)
		return (429);

	return (200);
}

int
msg_send(const struct dom_caller *u, const bson_oid_t *cid,
    const struct msg_input *in, struct msg_draft **draft, char *err,
    size_t errlen)
{
	return (msg_prepare(u, cid, in, draft, err, errlen));
}

int
msg_send_quick(const struct dom_caller *u, const bson_oid_t *cid,
    const struct msg_input *in, struct msg_draft **draft, char *err,
    size_t errlen)
{
	struct convs_members	m;

	*draft = NULL;
	if (in->has_reply_to || in->has_forward ||
	    !convs_members_cached(cid, &m))
		return (MSG_SLOW);
	if (!convs_members_visible_to(&m, &u->oid))
		return (dom_fail(err, errlen, 404, "%s", msg_conv_not_found));
	if (in->content == NULL || in->content[0] == '\0')
		return (dom_fail(err, errlen, 400,
		    "content should not be empty"));

	*draft = msg_draft_new(u, cid, in, in->content, in->type,
	    in->metadata);
	return (MSG_PENDING);
}

int
msg_send_offer(const struct dom_caller *u, const bson_oid_t *cid,
    const char *package_id, const char *message, struct msg_input *in,
    struct msg_draft **draft, char *err, size_t errlen)
{
	bson_t		*meta;
	const char	*title;
	char		text[512];
	int		status;

	/* The conversation first: no probing packages from outside it. */
	if ((status = conv_check_participant(cid, &u->oid, err, errlen)) !=
	    200)
		return (status);

	meta = bson_new();
	status = msg_package_meta(&u->oid, package_id, meta, &title, err,
	    errlen);
	if (status != 200) {
		bson_destroy(meta);
		return (status);
	}

	(void)snprintf(text, sizeof(text), "Service proposé: %s", title);
	return (msg_prepare_typed(u, cid, in, "service_offer",
	    message != NULL ? message : text, meta, draft, err, errlen));
}

/*
 * A booking request goes to the owner of the package (SPEC.md §2.13):
 * providerId when given (another participant), else the other
 * participant of a direct conversation.
 */
int
msg_send_booking(const struct dom_caller *u, const bson_oid_t *cid,
    const struct msg_booking_in *b, struct msg_input *in,
    struct msg_draft **draft, char *err, size_t errlen)
{
	struct convs_members	cm;
	bson_oid_t		provider;
	bson_t			*meta;
	const char		*title;
	char			text[512];
	size_t			i;
	int			status, found;

	if ((status = conv_members_visible(cid, &u->oid, &cm, err,
	    errlen)) != 200)
		return (status);

	found = 0;
	if (b->has_provider) {
		if (!bson_oid_equal(&b->provider, &u->oid) &&
		    convs_members_has(&cm, &b->provider)) {
			bson_oid_copy(&b->provider, &provider);
			found = 1;
		}
	} else if (!cm.group) {
		for (i = 0; i < cm.nparts; i++) {
			if (!bson_oid_equal(&cm.parts[i], &u->oid)) {
				bson_oid_copy(&cm.parts[i], &provider);
				found = 1;
			}
		}
	}

	if (!found) {
		return (b->has_provider || cm.group ?
		    dom_fail(err, errlen, 400, b->has_provider ?
		    "providerId must be another participant of the "
		    "conversation" : "providerId is required in group "
		    "conversations") :
		    dom_fail(err, errlen, 400, "Invalid conversation"));
	}

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
	return (msg_prepare_typed(u, cid, in, "booking_request",
	    b->message != NULL ? b->message : text, meta, draft, err,
	    errlen));
}

int
msg_send_location(const struct dom_caller *u, const bson_oid_t *cid,
    const struct msg_location_in *l, struct msg_input *in,
    struct msg_draft **draft, char *err, size_t errlen)
{
	bson_t		*meta;

	meta = bson_new();
	BSON_APPEND_DOUBLE(meta, "latitude", l->latitude);
	BSON_APPEND_DOUBLE(meta, "longitude", l->longitude);
	if (l->address != NULL)
		BSON_APPEND_UTF8(meta, "address", l->address);

	return (msg_prepare_typed(u, cid, in, "location",
	    l->message != NULL ? l->message : "Localisation partagée", meta,
	    draft, err, errlen));
}

/*
 * The checks every message passes (REST send, offers, bookings,
 * locations, socket send_message): limit, participant, reply, forward.
 * The draft owns copies of what it stores.
 */
static int
msg_prepare(const struct dom_caller *u, const bson_oid_t *cid,
    const struct msg_input *in, struct msg_draft **draft, char *err,
    size_t errlen)
{
	struct msg_draft	*d;
	struct doclist		replies;
	bson_t			fwd, fwdmeta;
	bson_iter_t		it;
	const bson_t		*metadata;
	const u_int8_t		*data;
	u_int32_t		len;
	const char		*content, *type;
	int			status, has_fwd;

	*draft = NULL;
	if ((status = conv_check_participant(cid, &u->oid, err, errlen)) !=
	    200)
		return (status);

	doclist_init(&replies);
	content = in->content;
	type = in->type;
	metadata = in->metadata;
	has_fwd = 0;
	bson_init(&fwdmeta);

	if (in->has_reply_to && (status = msg_check_reply(u, cid, in,
	    &replies, err, errlen)) != 200)
		goto fail;

	if (in->has_forward) {
		if ((status = msg_check_forward(u, in, &fwd, err, errlen)) !=
		    200)
			goto fail;
		has_fwd = 1;
		/* A forward copies content, type and metadata (§2.12). */
		content = doc_str(&fwd, "content");
		type = doc_str(&fwd, "type");
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
		goto fail;
	}

	d = msg_draft_new(u, cid, in, content, type, metadata);
	doclist_free(&d->replies);
	d->replies = replies;
	doclist_init(&replies);
	*draft = d;
	status = MSG_PENDING;

fail:
	bson_destroy(&fwdmeta);
	if (has_fwd)
		bson_destroy(&fwd);
	doclist_free(&replies);
	return (status);
}

/* A draft owns copies of what it stores. */
static struct msg_draft *
msg_draft_new(const struct dom_caller *u, const bson_oid_t *cid,
    const struct msg_input *in, const char *content, const char *type,
    const bson_t *metadata)
{
	struct msg_draft	*d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		abort();
	d->user = *u;
	bson_oid_copy(cid, &d->conv);
	doclist_init(&d->replies);
	json_init(&d->res.out);
	evq_init(&d->ev);

	if ((d->content = strdup(content)) == NULL)
		abort();
	(void)snprintf(d->type, sizeof(d->type), "%s", type);
	if (metadata != NULL)
		d->metadata = bson_copy(metadata);
	d->has_reply_to = in->has_reply_to;
	d->reply_to = in->reply_to;
	d->has_forward = in->has_forward;
	d->forwarded_from = in->forwarded_from;
	(void)snprintf(d->client_id, sizeof(d->client_id), "%s",
	    in->client_id);
	d->ratelimit = !in->ratelimited;

	return (d);
}

static int
msg_check_reply(const struct dom_caller *u, const bson_oid_t *cid,
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

	ok = doc_oid(&reply, "conversationId", &rcid) &&
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
msg_check_forward(const struct dom_caller *u, const struct msg_input *in,
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

	ok = doc_oid(fwd, "conversationId", &fcid) &&
	    msgs_doc_visible_to(fwd, &u->oid) &&
	    doc_str(fwd, "content") != NULL &&
	    doc_str(fwd, "type") != NULL;
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

	if (!doc_bool(&pkg, "isActive", 1)) {
		bson_destroy(&pkg);
		return (dom_fail(err, errlen, 400,
		    "Service package is not active"));
	}

	s = doc_str(&pkg, "title");
	(void)snprintf(title_buf, sizeof(title_buf), "%s", s ? s : "");
	*title = title_buf;

	BSON_APPEND_UTF8(meta, "servicePackageId", package_id);
	BSON_APPEND_UTF8(meta, "serviceName", title_buf);
	if (bson_iter_init_find(&it, &pkg, "price"))
		bson_append_value(meta, "price", -1, bson_iter_value(&it));
	if ((s = doc_str(&pkg, "currency")) != NULL)
		BSON_APPEND_UTF8(meta, "currency", s);
	if ((s = doc_str(&pkg, "duration")) != NULL)
		BSON_APPEND_UTF8(meta, "duration", s);

	bson_destroy(&pkg);
	return (200);
}

/*
 * The typed sends (offer, booking, location): their text and metadata
 * replace whatever the input had, then the ordinary checks run.
 */
static int
msg_prepare_typed(const struct dom_caller *u, const bson_oid_t *cid,
    struct msg_input *in, const char *type, const char *content, bson_t *meta,
    struct msg_draft **draft, char *err, size_t errlen)
{
	msg_set_content(in, content);
	(void)snprintf(in->type, sizeof(in->type), "%s", type);
	if (in->metadata != NULL)
		bson_destroy(in->metadata);
	in->metadata = meta;

	return (msg_prepare(u, cid, in, draft, err, errlen));
}
