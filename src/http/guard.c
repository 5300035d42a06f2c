/*
 * Bearer-token authentication. A token is good when it is an HS256
 * access token, not expired, and names a user who exists and is active.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/core.h"
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

/*
 * exp (seconds) is returned so sockets can disconnect at expiry. The
 * user comes from the memo (store/memo.h): a deactivation takes at most
 * its ttl to be seen.
 */
int
guard_check_token(const char *token, struct dom_caller *user, int64_t *exp)
{
	struct token_claims	claims;
	struct user_public	pub;

	memset(user, 0, sizeof(*user));

	if (token_verify(cfg.jwt_secret, token, TOKEN_ACCESS,
	    core_now_ms() / 1000, &claims) != TOKEN_OK)
		return (GUARD_UNAUTHORIZED);

	memset(&pub, 0, sizeof(pub));
	bson_oid_init_from_string(&pub.oid, claims.uid);
	if (users_load_public(&pub, 1) != STORE_OK)
		return (GUARD_UNAVAILABLE);
	if (!pub.found || !pub.active)
		return (GUARD_UNAUTHORIZED);

	bson_oid_copy(&pub.oid, &user->oid);
	memcpy(user->id, claims.uid, sizeof(user->id));
	(void)snprintf(user->name, sizeof(user->name), "%s", pub.name);
	(void)snprintf(user->avatar, sizeof(user->avatar), "%s", pub.avatar);
	user->is_verified = pub.is_verified;
	user->is_premium = pub.is_premium;
	if (exp != NULL)
		*exp = claims.exp;

	return (GUARD_OK);
}
