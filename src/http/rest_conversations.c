/*
 * /api/conversations: HTTP adapters over domain/conversation_service.
 * Each handler checks the shape of its input, calls the domain, and
 * writes what it answered.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "domain/conversation_service.h"
#include "domain/message_service.h"
#include "http/api.h"
#include "http/paging.h"
#include "lib/valid.h"
#include "lib/text.h"

#define RC_NAME_MAX		100
#define RC_SEARCH_MAX		200
#define RC_PAGE_MAX		10000000

static void	rc_list(struct api_ctx *);
static void	rc_create(struct api_ctx *);
static void	rc_get(struct api_ctx *);
static void	rc_update(struct api_ctx *);
static void	rc_archive(struct api_ctx *);
static void	rc_unarchive(struct api_ctx *);
static void	rc_delete(struct api_ctx *);
static void	rc_unread(struct api_ctx *);
static bson_oid_t *rc_oid_array(struct valid *, yajl_val, const char *, int,
		    size_t *);
static char	*rc_avatar(struct valid *, yajl_val, const char *);

const struct api_route conversations_routes[] = {
	{ API_GET, "/api/conversations", API_AUTH, rc_list },
	{ API_POST, "/api/conversations", API_AUTH, rc_create },
	{ API_GET, "/api/conversations/:id", API_AUTH, rc_get },
	{ API_PUT, "/api/conversations/:id", API_AUTH, rc_update },
	{ API_DELETE, "/api/conversations/:id", API_AUTH, rc_delete },
	{ API_PUT, "/api/conversations/:id/archive", API_AUTH, rc_archive },
	{ API_PUT, "/api/conversations/:id/unarchive", API_AUTH,
	    rc_unarchive },
	{ API_GET, "/api/conversations/:id/unread-count", API_AUTH,
	    rc_unread },
	{ 0, NULL, 0, NULL }
};

static const char *conv_types[] = { "direct", "group", NULL };

static void
rc_list(struct api_ctx *ctx)
{
	struct conv_list_in	in;
	struct valid		v;
	const char		*s;
	char			*search, err[256];
	int			status, blank;

	valid_init(&v);
	memset(&in, 0, sizeof(in));
	search = NULL;

	in.page = paging_clamp(api_query(ctx, "page"), 1, RC_PAGE_MAX);
	in.limit = paging_clamp(api_query(ctx, "limit"), 20, 100);

	if ((s = api_query(ctx, "type")) != NULL) {
		if (strcmp(s, "direct") && strcmp(s, "group"))
			valid_fail(&v, "type must be one of the following "
			    "values: direct, group");
		else
			in.type = s;
	}

	/* "false" means false (SPEC.md §2.5). */
	if ((s = api_query(ctx, "archived")) != NULL) {
		if (!strcmp(s, "true") || !strcmp(s, "1"))
			in.archived = 1;
		else if (strcmp(s, "false") && strcmp(s, "0") && *s != '\0')
			valid_fail(&v, "archived must be a boolean value");
	}

	if ((s = api_query(ctx, "search")) != NULL) {
		if (text_clean(s, strlen(s), &search, NULL, NULL, &blank) !=
		    TEXT_OK)
			valid_fail(&v, "search must be valid UTF-8 text");
		else if (text_utf8_len(search) > RC_SEARCH_MAX)
			valid_fail(&v, "search must be shorter than or equal "
			    "to %d characters", RC_SEARCH_MAX);
		else if (!blank)
			in.search = search;
	}

	if (!api_valid_reply(ctx, &v)) {
		status = conv_list(&ctx->user, &in, api_out(ctx), err,
		    sizeof(err));
		api_domain_reply(ctx, status, err);
	}

	free(search);
}

static void
rc_create(struct api_ctx *ctx)
{
	struct conv_create_in	in;
	struct valid		v;
	yajl_val		body;
	const char		*type, *name;
	char			*clean_name, *avatar, err[256];
	bson_oid_t		*parts;
	size_t			n;
	int			status;

	body = api_body(ctx);
	valid_init(&v);
	memset(&in, 0, sizeof(in));
	clean_name = NULL;

	parts = rc_oid_array(&v, body, "participants", 1, &n);
	if (parts != NULL && n > CONV_MAX_PARTICIPANTS)
		valid_fail(&v, "participants must contain no more than %d "
		    "elements", CONV_MAX_PARTICIPANTS);
	type = valid_enum(&v, body, "type", conv_types, 0);
	if ((name = valid_string(&v, body, "groupName", 0, 0, 4096)) != NULL &&
	    name[0] != '\0')
		clean_name = msg_clean_text(&v, "groupName", name, RC_NAME_MAX,
		    0);
	avatar = rc_avatar(&v, body, "groupAvatar");

	if (!api_valid_reply(ctx, &v)) {
		in.participants = parts;
		in.nparticipants = n;
		/* type defaults to direct (SPEC.md §2.7). */
		in.group = type != NULL && !strcmp(type, "group");
		in.group_name = clean_name;
		in.group_avatar = avatar;
		status = conv_create(&ctx->user, &in, api_out(ctx),
		    &ctx->events, err, sizeof(err));
		api_domain_reply(ctx, status, err);
	}

	free(parts);
	free(clean_name);
	free(avatar);
}

static void
rc_get(struct api_ctx *ctx)
{
	bson_oid_t	id;
	char		err[256];
	int		status;

	if (api_param_oid(ctx, 0, &id) == -1)
		return;

	status = conv_get(&ctx->user, &id, api_out(ctx), err, sizeof(err));
	api_domain_reply(ctx, status, err);
}

static void
rc_update(struct api_ctx *ctx)
{
	struct conv_update_in	in;
	struct valid		v;
	yajl_val		body;
	bson_oid_t		id, admin, *add, *rem;
	const char		*name;
	char			*clean_name, *avatar, err[256];
	size_t			nadd, nrem;
	int			status, has_admin;

	if (api_param_oid(ctx, 0, &id) == -1)
		return;

	body = api_body(ctx);
	valid_init(&v);
	memset(&in, 0, sizeof(in));
	clean_name = NULL;

	if ((name = valid_string(&v, body, "groupName", 0, 0, 4096)) != NULL &&
	    name[0] != '\0')
		clean_name = msg_clean_text(&v, "groupName", name, RC_NAME_MAX,
		    0);
	avatar = rc_avatar(&v, body, "groupAvatar");
	add = rc_oid_array(&v, body, "addParticipants", 0, &nadd);
	rem = rc_oid_array(&v, body, "removeParticipants", 0, &nrem);
	if (nadd > CONV_MAX_PARTICIPANTS || nrem > CONV_MAX_PARTICIPANTS)
		valid_fail(&v, "addParticipants and removeParticipants must "
		    "contain no more than %d elements", CONV_MAX_PARTICIPANTS);
	has_admin = valid_oid(&v, body, "groupAdmin", 0, &admin);

	if (!api_valid_reply(ctx, &v)) {
		in.group_name = clean_name;
		in.group_avatar = avatar;
		in.admin = has_admin ? &admin : NULL;
		in.add = add;
		in.nadd = nadd;
		in.remove = rem;
		in.nremove = nrem;
		status = conv_update(&ctx->user, &id, &in, api_out(ctx),
		    &ctx->events, err, sizeof(err));
		api_domain_reply(ctx, status, err);
	}

	free(clean_name);
	free(avatar);
	free(add);
	free(rem);
}

static void
rc_archive(struct api_ctx *ctx)
{
	bson_oid_t	id;
	char		err[256];

	if (api_param_oid(ctx, 0, &id) == -1)
		return;

	api_domain_reply(ctx, conv_archive(&ctx->user, &id, 1, &ctx->events,
	    err, sizeof(err)), err);
}

static void
rc_unarchive(struct api_ctx *ctx)
{
	bson_oid_t	id;
	char		err[256];

	if (api_param_oid(ctx, 0, &id) == -1)
		return;

	api_domain_reply(ctx, conv_archive(&ctx->user, &id, 0, &ctx->events,
	    err, sizeof(err)), err);
}

static void
rc_delete(struct api_ctx *ctx)
{
	bson_oid_t	id;
	char		err[256];

	if (api_param_oid(ctx, 0, &id) == -1)
		return;

	api_domain_reply(ctx, conv_delete(&ctx->user, &id, &ctx->events, err,
	    sizeof(err)), err);
}

static void
rc_unread(struct api_ctx *ctx)
{
	bson_oid_t	id;
	char		err[256];

	if (api_param_oid(ctx, 0, &id) == -1)
		return;

	api_domain_reply(ctx, conv_unread(&ctx->user, &id, api_out(ctx), err,
	    sizeof(err)), err);
}

/* A malloc'd array of the ObjectIds at key (NULL when absent/invalid). */
static bson_oid_t *
rc_oid_array(struct valid *v, yajl_val body, const char *key, int required,
    size_t *n)
{
	yajl_val	arr, e;
	bson_oid_t	*out;
	size_t		i;

	*n = 0;
	if ((arr = valid_array(v, body, key, required)) == NULL)
		return (NULL);

	/* More than a conversation can hold is refused by the caller. */
	if (arr->u.array.len > 1000) {
		valid_fail(v, "%s must contain no more than %d elements", key,
		    CONV_MAX_PARTICIPANTS);
		return (NULL);
	}

	if ((out = calloc(arr->u.array.len + 1, sizeof(*out))) == NULL)
		abort();

	for (i = 0; i < arr->u.array.len; i++) {
		e = arr->u.array.values[i];
		if (!YAJL_IS_STRING(e) || !valid_is_oid(e->u.string)) {
			valid_fail(v, "each value in %s must be a mongodb id",
			    key);
			free(out);
			return (NULL);
		}
		bson_oid_init_from_string(&out[i], e->u.string);
	}

	*n = arr->u.array.len;
	return (out);
}

/* An avatar URL must be http(s) or under /upload/ (SPEC.md §3). */
static char *
rc_avatar(struct valid *v, yajl_val body, const char *key)
{
	const char	*s;
	char		*copy;

	if ((s = valid_string(v, body, key, 0, 0, 2048)) == NULL ||
	    s[0] == '\0')
		return (NULL);

	if (!valid_is_safe_url(s)) {
		valid_fail(v, "%s must be an http(s) URL or a path under "
		    "/upload/", key);
		return (NULL);
	}

	if ((copy = strdup(s)) == NULL)
		abort();
	return (copy);
}
