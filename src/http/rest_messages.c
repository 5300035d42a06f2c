/*
 * Messages: /api/conversations/:id/messages... and /api/messages/...,
 * HTTP adapters over domain/message_service. Routes that create messages
 * are rate limited and every one of their responses carries the limit's
 * headers (SPEC.md §3).
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "domain/message_service.h"
#include "domain/msg_types.h"
#include "http/api.h"
#include "http/paging.h"
#include "lib/valid.h"
#include "lib/json.h"
#include "lib/text.h"

#define RM_SEARCH_MAX		200
#define RM_REACTION_MAX		32
#define RM_ADDRESS_MAX		500
#define RM_PACKAGE_ID_MAX	64
#define RM_TIME_MAX		32
#define RM_PAGE_MAX		10000000

static void	rm_list(struct api_ctx *);
static void	rm_send(struct api_ctx *);
static int	rm_send_quick(struct api_ctx *);
static void	rm_offer(struct api_ctx *);
static void	rm_booking(struct api_ctx *);
static void	rm_location(struct api_ctx *);
static void	rm_bulk_read(struct api_ctx *);
union rm_typed;
struct rm_typed_send;
static void	rm_typed(struct api_ctx *, const struct rm_typed_send *);
static void	rm_offer_parse(struct valid *, yajl_val, union rm_typed *);
static void	rm_booking_parse(struct valid *, yajl_val, union rm_typed *);
static void	rm_location_parse(struct valid *, yajl_val,
		    union rm_typed *);
static int	rm_offer_send(const struct dom_caller *, const bson_oid_t *,
		    union rm_typed *, struct msg_input *, struct msg_draft **,
		    char *, size_t);
static int	rm_booking_send(const struct dom_caller *, const bson_oid_t *,
		    union rm_typed *, struct msg_input *, struct msg_draft **,
		    char *, size_t);
static int	rm_location_send(const struct dom_caller *,
		    const bson_oid_t *, union rm_typed *, struct msg_input *,
		    struct msg_draft **, char *, size_t);
static void	rm_offer_free(union rm_typed *);
static void	rm_booking_free(union rm_typed *);
static void	rm_location_free(union rm_typed *);
static void	rm_search(struct api_ctx *);
static void	rm_get(struct api_ctx *);
static void	rm_edit(struct api_ctx *);
static void	rm_delete(struct api_ctx *);
static void	rm_hide(struct api_ctx *);
static void	rm_read(struct api_ctx *);
static void	rm_react(struct api_ctx *);
static void	rm_unreact(struct api_ctx *);
static void	rm_reads(struct api_ctx *);
static void	rm_show(struct api_ctx *, int (*)(const struct dom_caller *,
		    const bson_oid_t *, struct json *, char *, size_t));
static void	rm_change(struct api_ctx *, int (*)(const struct dom_caller *,
		    const bson_oid_t *, struct evq *, char *, size_t));
static int	rm_limit(struct api_ctx *);
static void	rm_sent(struct api_ctx *, int, struct msg_draft *,
		    const char *);
static void	rm_commit(struct api_ctx *, void *);
static void	rm_committed(void *, const struct msg_result *);
static void	rm_detach(void *);
static void	rm_client_id(struct valid *, yajl_val, struct msg_input *);
static char	*rm_optional_text(struct valid *, yajl_val, const char *,
		    size_t);
static int	rm_query_date(struct valid *, struct api_ctx *, const char *,
		    int64_t *);

const struct api_route messages_routes[] = {
	{ API_GET, "/api/conversations/:id/messages", API_AUTH, rm_list },
	{ API_POST, "/api/conversations/:id/messages", API_AUTH, rm_send,
	    rm_send_quick },
	{ API_POST, "/api/conversations/:id/messages/service-offer", API_AUTH,
	    rm_offer },
	{ API_POST, "/api/conversations/:id/messages/booking-request",
	    API_AUTH, rm_booking },
	{ API_POST, "/api/conversations/:id/messages/location", API_AUTH,
	    rm_location },
	{ API_POST, "/api/conversations/:id/messages/bulk-mark-read",
	    API_AUTH, rm_bulk_read },
	/* Before /api/messages/:id, as in the peer (route order). */
	{ API_GET, "/api/messages/search", API_AUTH, rm_search },
	{ API_GET, "/api/messages/:id", API_AUTH, rm_get },
	{ API_PUT | API_PATCH, "/api/messages/:id", API_AUTH, rm_edit },
	{ API_DELETE, "/api/messages/:id", API_AUTH, rm_delete },
	{ API_DELETE, "/api/messages/:id/for-me", API_AUTH, rm_hide },
	{ API_POST, "/api/messages/:id/read", API_AUTH, rm_read },
	{ API_POST, "/api/messages/:id/reaction", API_AUTH, rm_react },
	{ API_DELETE, "/api/messages/:id/reaction", API_AUTH, rm_unreact },
	{ API_GET, "/api/messages/:id/reads", API_AUTH, rm_reads },
	{ 0, NULL, 0, NULL }
};

static void
rm_list(struct api_ctx *ctx)
{
	struct msg_list_in	in;
	struct valid		v;
	bson_oid_t		cid;
	const char		*s;
	char			*search, err[256];
	int			status, blank;

	if (api_param_oid(ctx, 0, &cid) == -1)
		return;

	valid_init(&v);
	memset(&in, 0, sizeof(in));
	search = NULL;

	in.page = paging_clamp(api_query(ctx, "page"), 1, RM_PAGE_MAX);
	in.limit = paging_clamp(api_query(ctx, "limit"), MSG_PAGE_DEFAULT,
	    MSG_PAGE_MAX);
	in.after_seq = -1;
	in.before_seq = -1;

	if ((s = api_query(ctx, "afterSeq")) != NULL &&
	    paging_uint(s, &in.after_seq) == -1)
		valid_fail(&v, "afterSeq must be a non-negative integer");
	if ((s = api_query(ctx, "beforeSeq")) != NULL &&
	    paging_uint(s, &in.before_seq) == -1)
		valid_fail(&v, "beforeSeq must be a non-negative integer");
	if (in.after_seq >= 0 && in.before_seq >= 0)
		valid_fail(&v, "afterSeq and beforeSeq cannot be combined");

	if ((s = api_query(ctx, "type")) != NULL) {
		if (msg_type_check(&v, "type", s, MSG_TYPE_LIST) != NULL)
			in.type = s;
	}

	if ((s = api_query(ctx, "search")) != NULL) {
		if (text_clean(s, strlen(s), &search, NULL, NULL, &blank) !=
		    TEXT_OK)
			valid_fail(&v, "search must be valid UTF-8 text");
		else if (text_utf8_len(search) > RM_SEARCH_MAX)
			valid_fail(&v, "search must be shorter than or equal "
			    "to %d characters", RM_SEARCH_MAX);
		else if (!blank)
			in.search = search;
	}

	in.has_after = rm_query_date(&v, ctx, "after", &in.after);
	in.has_before = rm_query_date(&v, ctx, "before", &in.before);

	if (!api_valid_reply(ctx, &v)) {
		status = msg_list(&ctx->user, &cid, &in, api_out(ctx), err,
		    sizeof(err));
		api_domain_reply(ctx, status, err);
	}

	free(search);
}

static void
rm_send(struct api_ctx *ctx)
{
	struct msg_input	in;
	struct msg_draft	*draft;
	struct valid		v;
	bson_oid_t		cid;
	char			err[256];
	int			status;

	if (rm_limit(ctx) == -1 || api_param_oid(ctx, 0, &cid) == -1)
		return;

	valid_init(&v);
	msg_input_init(&in);
	if (api_body(ctx) == NULL)
		valid_fail(&v, "content should not be empty");
	else
		msg_input_parse(&in, api_body(ctx), &v);

	if (!api_valid_reply(ctx, &v)) {
		in.ratelimited = 1;
		status = msg_send(&ctx->user, &cid, &in, &draft, err,
		    sizeof(err));
		rm_sent(ctx, status, draft, err);
	}

	msg_input_free(&in);
}

/*
 * The common send, checked on the loop (msg_send_quick) when a valid
 * body and the membership memo are enough: no task, and its rate limit
 * is counted with its batch (msg_commit.c), which hands the count back
 * for the headers. Anything else (a bad body, a reply or a forward, a
 * miss) is rm_send's on a task, which counts first: a client over its
 * limit hears 429 before any 400, as from the original's guard.
 */
static int
rm_send_quick(struct api_ctx *ctx)
{
	struct msg_input	in;
	struct msg_draft	*draft;
	struct valid		v;
	const char		*id;
	bson_oid_t		cid;
	char			err[256];
	int			rc;

	id = api_param(ctx, 0);
	if (api_body(ctx) == NULL || !valid_is_oid(id))
		return (API_SLOW);
	bson_oid_init_from_string(&cid, id);

	rc = API_SLOW;
	valid_init(&v);
	msg_input_init(&in);
	msg_input_parse(&in, api_body(ctx), &v);
	if (v.n == 0 && msg_send_quick(&ctx->user, &cid, &in, &draft, err,
	    sizeof(err)) == MSG_PENDING) {
		api_defer(ctx, rm_commit, rm_detach, draft);
		rc = 0;
	}
	msg_input_free(&in);

	return (rc);
}

/*
 * The typed sends (peer §5.4): each reads its own fields, then they share
 * the send path. Their order of checks is the order of the messages of a
 * 400.
 */
union rm_typed {
	struct {
		const char	*package_id;
		char		*message;
	} offer;
	struct {
		struct msg_booking_in	in;
		char			*message, *time;
	} booking;
	struct {
		struct msg_location_in	in;
		char			*message, *address;
	} location;
};

struct rm_typed_send {
	void	(*parse)(struct valid *, yajl_val, union rm_typed *);
	int	(*send)(const struct dom_caller *, const bson_oid_t *,
		    union rm_typed *, struct msg_input *, struct msg_draft **,
		    char *, size_t);
	void	(*free)(union rm_typed *);
};

static void
rm_typed(struct api_ctx *ctx, const struct rm_typed_send *t)
{
	struct msg_draft	*draft;
	struct msg_input	in;
	struct valid		v;
	union rm_typed		u;
	yajl_val		body;
	bson_oid_t		cid;
	char			err[256];
	int			status;

	if (rm_limit(ctx) == -1 || api_param_oid(ctx, 0, &cid) == -1)
		return;

	body = api_body(ctx);
	valid_init(&v);
	msg_input_init(&in);
	memset(&u, 0, sizeof(u));
	t->parse(&v, body, &u);
	rm_client_id(&v, body, &in);

	if (!api_valid_reply(ctx, &v)) {
		in.ratelimited = 1;
		status = t->send(&ctx->user, &cid, &u, &in, &draft, err,
		    sizeof(err));
		rm_sent(ctx, status, draft, err);
	}

	t->free(&u);
	msg_input_free(&in);
}

static void
rm_offer_parse(struct valid *v, yajl_val body, union rm_typed *u)
{
	u->offer.package_id = valid_string(v, body, "servicePackageId", 1,
	    1, RM_PACKAGE_ID_MAX);
	u->offer.message = rm_optional_text(v, body, "message",
	    cfg.message_max_length);
}

static int
rm_offer_send(const struct dom_caller *user, const bson_oid_t *cid,
    union rm_typed *u, struct msg_input *in, struct msg_draft **draft,
    char *err, size_t errlen)
{
	return (msg_send_offer(user, cid, u->offer.package_id,
	    u->offer.message, in, draft, err, errlen));
}

static void
rm_offer_free(union rm_typed *u)
{
	free(u->offer.message);
}

static void
rm_booking_parse(struct valid *v, yajl_val body, union rm_typed *u)
{
	struct msg_booking_in	*b = &u->booking.in;
	const char		*date;

	b->package_id = valid_string(v, body, "servicePackageId", 1, 1,
	    RM_PACKAGE_ID_MAX);
	if ((date = valid_string(v, body, "requestedDate", 0, 0, 64)) !=
	    NULL) {
		if (json_parse_iso8601(date, &b->date) == -1)
			valid_fail(v, "requestedDate must be a valid ISO 8601 "
			    "date string");
		else
			b->has_date = 1;
	}
	u->booking.time = rm_optional_text(v, body, "requestedTime",
	    RM_TIME_MAX);
	u->booking.message = rm_optional_text(v, body, "message",
	    cfg.message_max_length);
	b->has_provider = valid_oid(v, body, "providerId", 0, &b->provider);
	b->time = u->booking.time;
	b->message = u->booking.message;
}

static int
rm_booking_send(const struct dom_caller *user, const bson_oid_t *cid,
    union rm_typed *u, struct msg_input *in, struct msg_draft **draft,
    char *err, size_t errlen)
{
	return (msg_send_booking(user, cid, &u->booking.in, in, draft, err,
	    errlen));
}

static void
rm_booking_free(union rm_typed *u)
{
	free(u->booking.message);
	free(u->booking.time);
}

static void
rm_location_parse(struct valid *v, yajl_val body, union rm_typed *u)
{
	struct msg_location_in	*l = &u->location.in;

	if (valid_number(v, body, "latitude", 1, &l->latitude) &&
	    (l->latitude < -90 || l->latitude > 90))
		valid_fail(v, "latitude must be between -90 and 90");
	if (valid_number(v, body, "longitude", 1, &l->longitude) &&
	    (l->longitude < -180 || l->longitude > 180))
		valid_fail(v, "longitude must be between -180 and 180");
	u->location.address = rm_optional_text(v, body, "address",
	    RM_ADDRESS_MAX);
	u->location.message = rm_optional_text(v, body, "message",
	    cfg.message_max_length);
	l->address = u->location.address;
	l->message = u->location.message;
}

static int
rm_location_send(const struct dom_caller *user, const bson_oid_t *cid,
    union rm_typed *u, struct msg_input *in, struct msg_draft **draft,
    char *err, size_t errlen)
{
	return (msg_send_location(user, cid, &u->location.in, in, draft, err,
	    errlen));
}

static void
rm_location_free(union rm_typed *u)
{
	free(u->location.message);
	free(u->location.address);
}

static const struct rm_typed_send rm_offer_t = {
	rm_offer_parse, rm_offer_send, rm_offer_free
};
static const struct rm_typed_send rm_booking_t = {
	rm_booking_parse, rm_booking_send, rm_booking_free
};
static const struct rm_typed_send rm_location_t = {
	rm_location_parse, rm_location_send, rm_location_free
};

static void
rm_offer(struct api_ctx *ctx)
{
	rm_typed(ctx, &rm_offer_t);
}

static void
rm_booking(struct api_ctx *ctx)
{
	rm_typed(ctx, &rm_booking_t);
}

static void
rm_location(struct api_ctx *ctx)
{
	rm_typed(ctx, &rm_location_t);
}

static void
rm_bulk_read(struct api_ctx *ctx)
{
	struct valid	v;
	yajl_val	arr, e;
	bson_oid_t	cid, *ids;
	char		err[256];
	size_t		i, n;
	int		status;

	if (api_param_oid(ctx, 0, &cid) == -1)
		return;

	valid_init(&v);
	ids = NULL;
	n = 0;

	if ((arr = valid_array(&v, api_body(ctx), "messageIds", 1)) != NULL) {
		if (arr->u.array.len > MSG_BULK_MAX) {
			valid_fail(&v, "messageIds must contain no more than "
			    "%d elements", MSG_BULK_MAX);
		} else {
			if ((ids = calloc(arr->u.array.len + 1,
			    sizeof(*ids))) == NULL)
				abort();
			for (i = 0; i < arr->u.array.len; i++) {
				e = arr->u.array.values[i];
				if (!YAJL_IS_STRING(e) ||
				    !valid_is_oid(e->u.string)) {
					valid_fail(&v, "each value in "
					    "messageIds must be a mongodb id");
					break;
				}
				bson_oid_init_from_string(&ids[n++],
				    e->u.string);
			}
		}
	}

	if (!api_valid_reply(ctx, &v)) {
		status = msg_read_bulk(&ctx->user, &cid, ids, n, &ctx->events,
		    err, sizeof(err));
		api_domain_reply(ctx, status, err);
	}

	free(ids);
}

static void
rm_search(struct api_ctx *ctx)
{
	struct valid	v;
	const char	*q;
	char		*text, err[256];
	int64_t		limit;
	int		status, blank;

	valid_init(&v);
	text = NULL;

	/* Missing q is the client's mistake (SPEC.md §2.5). */
	if ((q = api_query(ctx, "q")) == NULL) {
		valid_fail(&v, "q should not be empty");
	} else if (text_clean(q, strlen(q), &text, NULL, NULL, &blank) !=
	    TEXT_OK) {
		valid_fail(&v, "q must be valid UTF-8 text");
	} else if (blank) {
		valid_fail(&v, "q should not be empty");
	} else if (text_utf8_len(text) > RM_SEARCH_MAX) {
		valid_fail(&v, "q must be shorter than or equal to %d "
		    "characters", RM_SEARCH_MAX);
	}
	limit = paging_clamp(api_query(ctx, "limit"), MSG_SEARCH_DEFAULT,
	    MSG_SEARCH_MAX);

	if (!api_valid_reply(ctx, &v)) {
		status = msg_search(&ctx->user, text, limit, api_out(ctx), err,
		    sizeof(err));
		api_domain_reply(ctx, status, err);
	}

	free(text);
}

static void
rm_get(struct api_ctx *ctx)
{
	rm_show(ctx, msg_get);
}

static void
rm_edit(struct api_ctx *ctx)
{
	struct valid	v;
	bson_oid_t	mid;
	const char	*s;
	char		*content, err[256];
	int		status;

	if (api_param_oid(ctx, 0, &mid) == -1)
		return;

	valid_init(&v);
	content = NULL;
	if ((s = valid_string(&v, api_body(ctx), "content", 1, 0,
	    (size_t)cfg.message_max_length * 4 + 4096)) != NULL)
		content = msg_clean_text(&v, "content", s,
		    cfg.message_max_length, 1);

	if (!api_valid_reply(ctx, &v)) {
		status = msg_edit(&ctx->user, &mid, content, api_out(ctx),
		    &ctx->events, err, sizeof(err));
		api_domain_reply(ctx, status, err);
	}

	free(content);
}

static void
rm_delete(struct api_ctx *ctx)
{
	rm_change(ctx, msg_delete);
}

static void
rm_hide(struct api_ctx *ctx)
{
	rm_change(ctx, msg_hide);
}

static void
rm_read(struct api_ctx *ctx)
{
	bson_oid_t	mid;
	char		err[256];

	if (api_param_oid(ctx, 0, &mid) == -1)
		return;

	api_domain_reply(ctx, msg_read(&ctx->user, &mid, NULL, &ctx->events,
	    err, sizeof(err)), err);
}

static void
rm_react(struct api_ctx *ctx)
{
	struct valid	v;
	bson_oid_t	mid;
	const char	*s;
	char		*emoji, err[256];
	int		status;

	if (api_param_oid(ctx, 0, &mid) == -1)
		return;

	valid_init(&v);
	emoji = NULL;
	if ((s = valid_string(&v, api_body(ctx), "reaction", 1, 0, 256)) !=
	    NULL)
		emoji = msg_clean_text(&v, "reaction", s, RM_REACTION_MAX, 1);

	if (!api_valid_reply(ctx, &v)) {
		status = msg_react(&ctx->user, &mid, emoji, api_out(ctx),
		    &ctx->events, err, sizeof(err));
		api_domain_reply(ctx, status, err);
	}

	free(emoji);
}

static void
rm_unreact(struct api_ctx *ctx)
{
	bson_oid_t	mid;
	char		err[256];

	if (api_param_oid(ctx, 0, &mid) == -1)
		return;

	api_domain_reply(ctx, msg_unreact(&ctx->user, &mid, api_out(ctx),
	    &ctx->events, err, sizeof(err)), err);
}

static void
rm_reads(struct api_ctx *ctx)
{
	rm_show(ctx, msg_reads);
}

/* The message named by the route's id, written by show into the answer. */
static void
rm_show(struct api_ctx *ctx, int (*show)(const struct dom_caller *,
    const bson_oid_t *, struct json *, char *, size_t))
{
	bson_oid_t	mid;
	char		err[256];

	if (api_param_oid(ctx, 0, &mid) == -1)
		return;

	api_domain_reply(ctx, show(&ctx->user, &mid, api_out(ctx), err,
	    sizeof(err)), err);
}

/* The message named by the route's id, changed by change (204, events). */
static void
rm_change(struct api_ctx *ctx, int (*change)(const struct dom_caller *,
    const bson_oid_t *, struct evq *, char *, size_t))
{
	bson_oid_t	mid;
	char		err[256];

	if (api_param_oid(ctx, 0, &mid) == -1)
		return;

	api_domain_reply(ctx, change(&ctx->user, &mid, &ctx->events, err,
	    sizeof(err)), err);
}

/*
 * Counts this send and sets X-RateLimit-*; over the limit it answers
 * 429 with Retry-After and returns -1 (SPEC.md §3).
 */
static int
rm_limit(struct api_ctx *ctx)
{
	struct ratelimit	rl;
	int			status;

	status = msg_ratelimit(&ctx->user, &rl);
	api_limit_headers(ctx, &rl, status);
	if (status == 429) {
		api_error(ctx, 429, "Rate limit exceeded");
		return (-1);
	}

	return (0);
}

static void
rm_client_id(struct valid *v, yajl_val body, struct msg_input *in)
{
	const char	*s;

	if ((s = valid_string(v, body, "clientMessageId", 0, 1,
	    MSG_CLIENT_ID_MAX)) != NULL)
		(void)snprintf(in->client_id, sizeof(in->client_id), "%s", s);
}

/* Optional user text, cleaned; blank is absent. */
static char *
rm_optional_text(struct valid *v, yajl_val body, const char *key, size_t max)
{
	const char	*s;

	if ((s = valid_string(v, body, key, 0, 0, max * 4 + 4096)) == NULL ||
	    s[0] == '\0')
		return (NULL);

	return (msg_clean_text(v, key, s, max, 0));
}

/* ISO-8601 query date; 1 when present and valid. */
static int
rm_query_date(struct valid *v, struct api_ctx *ctx, const char *key,
    int64_t *out)
{
	const char	*s;

	if ((s = api_query(ctx, key)) == NULL || *s == '\0')
		return (0);

	if (json_parse_iso8601(s, out) == -1) {
		valid_fail(v, "%s must be a valid ISO 8601 date string", key);
		return (0);
	}

	return (1);
}

/*
 * A checked send waits for its batch (msg_commit) once the task is done;
 * anything else is the answer now.
 */
static void
rm_sent(struct api_ctx *ctx, int status, struct msg_draft *draft,
    const char *err)
{
	if (status == MSG_PENDING)
		api_defer(ctx, rm_commit, rm_detach, draft);
	else
		api_domain_reply(ctx, status, err);
}

/* The worker's loop. */
static void
rm_commit(struct api_ctx *ctx, void *draft)
{
	msg_commit(draft, rm_committed, ctx);
}

static void
rm_committed(void *arg, const struct msg_result *res)
{
	struct api_ctx	*ctx = arg;
	const u_int8_t	*data;
	size_t		len;

	if (res->rl.checked)
		api_limit_headers(ctx, &res->rl, res->status);
	if (res->status >= 300) {
		api_domain_reply(ctx, res->status, res->err);
	} else {
		data = json_data((struct json *)&res->out, &len);
		json_raw(api_out(ctx), (const char *)data, len);
		api_reply(ctx, res->status);
	}
	api_resume(ctx);
}

static void
rm_detach(void *draft)
{
	msg_commit_detach(draft);
}
