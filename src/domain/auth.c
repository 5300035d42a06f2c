/*
 * Tokens (see auth.h): access tokens checked against the user they
 * name.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/core.h"
#include "domain/auth.h"
#include "domain/domain.h"
#include "lib/token.h"
#include "store/store.h"
#include "store/users.h"

/*
 * The user comes from the memo (store/memo.h): a deactivation takes at
 * most its ttl to be seen.
 */
int
auth_caller(const char *token, struct dom_caller *user, int64_t *exp,
    char *err, size_t errlen)
{
	struct token_claims	claims;
	struct user_public	pub;

	memset(user, 0, sizeof(*user));

	if (token_verify(cfg.jwt_secret, token, TOKEN_ACCESS,
	    core_now_ms() / 1000, &claims) != TOKEN_OK)
		return (dom_fail(err, errlen, 401, "Unauthorized"));

	memset(&pub, 0, sizeof(pub));
	bson_oid_init_from_string(&pub.oid, claims.uid);
	/* Whatever went wrong, the database could not say who this is. */
	if (users_load_public(&pub, 1) != STORE_OK)
		return (dom_store_fail(err, errlen, STORE_DOWN, NULL));
	if (!pub.found || !pub.active)
		return (dom_fail(err, errlen, 401, "Unauthorized"));

	bson_oid_copy(&pub.oid, &user->oid);
	memcpy(user->id, claims.uid, sizeof(user->id));
	(void)snprintf(user->name, sizeof(user->name), "%s", pub.name);
	(void)snprintf(user->avatar, sizeof(user->avatar), "%s", pub.avatar);
	user->is_verified = pub.is_verified;
	user->is_premium = pub.is_premium;
	if (exp != NULL)
		*exp = claims.exp;

	return (200);
}
