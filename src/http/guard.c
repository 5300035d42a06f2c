/*
 * Bearer-token authentication. A token is good when it is an HS256
 * access token, not expired, and names a user who exists and is active.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "app/app.h"
#include "app/config.h"
#include "http/api.h"
#include "http/guard.h"
#include "lib/token.h"
#include "store/store.h"
#include "store/users.h"

int
guard_authenticate(struct api_ctx *ctx)
{
	const char	*h;
	int		ret;

	h = ctx->authorization;
	if (h == NULL || strncasecmp(h, "Bearer ", 7)) {
		api_error(ctx, 401, "Unauthorized");
		return (-1);
	}

	h += 7;
	while (*h == ' ')
		h++;

	ret = guard_check_token(h, &ctx->user, NULL);
	if (ret == GUARD_UNAVAILABLE) {
		api_store_error(ctx, STORE_DOWN);
		return (-1);
	}
	if (ret != GUARD_OK) {
		api_error(ctx, 401, "Unauthorized");
		return (-1);
	}

	return (0);
}

/* exp (seconds) is returned so sockets can disconnect at expiry. */
int
guard_check_token(const char *token, struct api_user *user, int64_t *exp)
{
	struct token_claims	claims;
	bson_t			doc;
	const char		*s;
	int			ret;

	memset(user, 0, sizeof(*user));

	if (token_verify(cfg.jwt_secret, token, TOKEN_ACCESS,
	    app_now_ms() / 1000, &claims) != TOKEN_OK)
		return (GUARD_UNAUTHORIZED);

	bson_oid_init_from_string(&user->oid, claims.uid);
	memcpy(user->id, claims.uid, sizeof(user->id));

	ret = users_find_by_id(&user->oid, &doc);
	if (ret == STORE_NOTFOUND)
		return (GUARD_UNAUTHORIZED);
	if (ret != STORE_OK)
		return (GUARD_UNAVAILABLE);

	ret = GUARD_OK;
	if (!users_doc_bool(&doc, "isActive", 1)) {
		ret = GUARD_UNAUTHORIZED;
	} else {
		if ((s = users_doc_str(&doc, "name")) != NULL)
			(void)snprintf(user->name, sizeof(user->name), "%s", s);
		if ((s = users_doc_str(&doc, "avatar")) != NULL)
			(void)snprintf(user->avatar, sizeof(user->avatar),
			    "%s", s);
		user->is_verified = users_doc_bool(&doc, "isVerified", 0);
		user->is_premium = users_doc_bool(&doc, "isPremium", 0);
		if (exp != NULL)
			*exp = claims.exp;
	}

	bson_destroy(&doc);
	return (ret);
}
