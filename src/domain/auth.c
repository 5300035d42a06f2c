/*
 * Tokens (see auth.h): access tokens checked against the user they
 * name, refresh tokens rotated one use at a time within a family.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cache/redis.h"
#include "core/config.h"
#include "core/core.h"
#include "domain/auth.h"
#include "domain/domain.h"
#include "lib/json.h"
#include "lib/token.h"
#include "lib/token_memo.h"
#include "store/doc.h"
#include "store/store.h"
#include "store/users.h"

/*
 * How long the refresh token just rotated away may come back without
 * being taken for stolen: a client's own concurrent refreshes.
 */
#define AUTH_REUSE_GRACE_MS	5000

static int	auth_claims(const char *, struct token_claims *,
		    struct user_public *, struct dom_caller *);
static int	auth_fill(struct dom_caller *, const struct token_claims *,
		    const struct user_public *, int64_t *, char *, size_t);
static int	auth_invalid(char *, size_t);
static int	auth_rotate(const bson_oid_t *, const char *, const char *,
		    const char *);
static void	auth_token_hash(const char *, char *);
static int	auth_refresh_claim(const char *, int64_t);
static void	auth_refresh_reused(const bson_t *, const bson_oid_t *,
		    const char *, const char *);
static void	auth_family_revoke(const bson_oid_t *, const char *);
static int	auth_family_revoked(const char *);

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

	if (auth_claims(token, &claims, &pub, user) == -1)
		return (dom_fail(err, errlen, 401, "Unauthorized"));
	/* Whatever went wrong, the database could not say who this is. */
	if (users_load_public(&pub, 1) != STORE_OK)
		return (dom_store_fail(err, errlen, STORE_DOWN, NULL));

	return (auth_fill(user, &claims, &pub, exp, err, errlen));
}

int
auth_caller_quick(const char *token, struct dom_caller *user, char *err,
    size_t errlen)
{
	struct token_claims	claims;
	struct user_public	pub;

	if (auth_claims(token, &claims, &pub, user) == -1)
		return (dom_fail(err, errlen, 401, "Unauthorized"));
	if (!users_cached_public(&pub))
		return (AUTH_SLOW);

	return (auth_fill(user, &claims, &pub, NULL, err, errlen));
}

/* A good access token's claims, and pub keyed by its user; -1 if bad. */
static int
auth_claims(const char *token, struct token_claims *claims,
    struct user_public *pub, struct dom_caller *user)
{
	memset(user, 0, sizeof(*user));
	memset(pub, 0, sizeof(*pub));

	if (token_verify_access(cfg.jwt_secret, token, core_now_ms() / 1000,
	    claims) != TOKEN_OK)
		return (-1);

	bson_oid_init_from_string(&pub->oid, claims->uid);
	return (0);
}

static int
auth_fill(struct dom_caller *user, const struct token_claims *claims,
    const struct user_public *pub, int64_t *exp, char *err, size_t errlen)
{
	if (!pub->found || !pub->active)
		return (dom_fail(err, errlen, 401, "Unauthorized"));

	bson_oid_copy(&pub->oid, &user->oid);
	memcpy(user->id, claims->uid, sizeof(user->id));
	(void)snprintf(user->name, sizeof(user->name), "%s", pub->name);
	(void)snprintf(user->avatar, sizeof(user->avatar), "%s", pub->avatar);
	user->is_verified = pub->is_verified;
	user->is_premium = pub->is_premium;
	if (exp != NULL)
		*exp = claims->exp;

	return (200);
}

int
auth_refresh(const char *tok, struct json *out, char *err, size_t errlen)
{
	struct token_claims	claims;
	const char		*stored;
	char			hash[65];
	bson_t			user;
	bson_oid_t		oid;
	int			ret;

	if (token_verify(cfg.jwt_secret, tok, TOKEN_REFRESH,
	    core_now_ms() / 1000, &claims) != TOKEN_OK)
		return (auth_invalid(err, errlen));

	bson_oid_init_from_string(&oid, claims.uid);
	if ((ret = users_find_by_id(&oid, &user)) != STORE_OK) {
		if (ret == STORE_NOTFOUND)
			return (auth_invalid(err, errlen));
		return (dom_store_fail(err, errlen, ret, "Not found"));
	}

	auth_token_hash(tok, hash);
	stored = doc_str(&user, "refreshTokenHash");
	if (stored == NULL || strcmp(stored, hash) ||
	    !doc_bool(&user, "isActive", 1)) {
		if (stored != NULL && strcmp(stored, hash))
			auth_refresh_reused(&user, &oid, claims.fam, hash);
		bson_destroy(&user);
		return (auth_invalid(err, errlen));
	}

	/*
	 * A refresh token is good for one refresh. The stored-hash swap in
	 * auth_issue() is a compare-and-set, but FerretDB applies updates as
	 * read-modify-write, so two concurrent refreshes could both pass it:
	 * an atomic SET NX in Redis decides first (when Redis is up).
	 */
	if (auth_refresh_claim(hash, claims.exp) == -1) {
		bson_destroy(&user);
		return (auth_invalid(err, errlen));
	}

	/*
	 * auth_issue rotates the stored hash only if it is still ours, in
	 * the same family (a token from before families starts one).
	 */
	ret = auth_issue(&user, NULL, hash, claims.fam[0] != '\0' ?
	    claims.fam : NULL, out, err, errlen);
	bson_destroy(&user);

	return (ret);
}

int
auth_issue(const bson_t *user, const char *message, const char *old_hash,
    const char *fam, struct json *j, char *err, size_t errlen)
{
	bson_iter_t	it;
	char		uid[25], hash[65], newfam[TOKEN_ID_LEN + 1];
	char		*access, *refresh;
	int64_t		now;
	int		ret;

	if (!bson_iter_init_find(&it, user, "_id") || !BSON_ITER_HOLDS_OID(&it))
		return (dom_fail(err, errlen, 500, "Internal server error"));
	bson_oid_to_string(bson_iter_oid(&it), uid);

	if (fam == NULL) {
		token_new_id(newfam);
		fam = newfam;
	}

	now = core_now_ms() / 1000;
	access = token_issue(cfg.jwt_secret, uid, TOKEN_ACCESS, now,
	    cfg.jwt_expires_in, NULL);
	refresh = token_issue(cfg.jwt_secret, uid, TOKEN_REFRESH, now,
	    cfg.jwt_refresh_expires_in, fam);
	if (access == NULL || refresh == NULL) {
		free(access);
		free(refresh);
		return (dom_fail(err, errlen, 500, "Internal server error"));
	}

	auth_token_hash(refresh, hash);
	ret = auth_rotate(bson_iter_oid(&it), old_hash, hash, fam);
	if (ret != STORE_OK) {
		free(access);
		free(refresh);
		if (ret == STORE_NOTFOUND)
			return (auth_invalid(err, errlen));
		return (dom_store_fail(err, errlen, ret, "Not found"));
	}

	json_obj_open(j);
	if (message != NULL)
		json_kstr(j, "message", message);
	json_kstr(j, "accessToken", access);
	/* The original's test scripts read access_token. */
	json_kstr(j, "access_token", access);
	json_kstr(j, "refreshToken", refresh);
	json_kint(j, "expiresIn", cfg.jwt_expires_in);
	json_key(j, "user");
	users_json_self(j, user);
	json_obj_close(j);

	free(access);
	free(refresh);
	return (200);
}

static int
auth_invalid(char *err, size_t errlen)
{
	return (dom_fail(err, errlen, 401, "Invalid refresh token"));
}

/*
 * Stores the new hash for fam, remembering the one it replaces and when
 * (auth_refresh_reused). A family revoked meanwhile (its revoker marks
 * Redis, then the database) may have missed this swap: it is revoked
 * again and the refresh refused.
 */
static int
auth_rotate(const bson_oid_t *oid, const char *old_hash, const char *hash,
    const char *fam)
{
	bson_t		set;
	int		ret;

	bson_init(&set);
	BSON_APPEND_UTF8(&set, "refreshTokenHash", hash);
	BSON_APPEND_UTF8(&set, "refreshFamily", fam);
	BSON_APPEND_UTF8(&set, "refreshPrevHash",
	    old_hash != NULL ? old_hash : "");
	BSON_APPEND_DATE_TIME(&set, "refreshRotatedAt", core_now_ms());
	ret = users_swap_refresh(oid, old_hash, &set);
	bson_destroy(&set);

	if (ret == STORE_OK && old_hash != NULL && auth_family_revoked(fam)) {
		(void)users_revoke_refresh(oid, fam);
		ret = STORE_NOTFOUND;
	}

	return (ret);
}

/*
 * A refresh token that is not the user's current one. When it belongs
 * to the current family it was rotated away, so two parties hold the
 * family (OAuth 2.0 Security BCP §4.14): whichever is the thief, the
 * family ends, and the current token stops working too. The exception
 * is the token rotated a moment ago: that is a client's concurrent
 * refreshes, which lose the race (and get 401) but steal nothing.
 */
static void
auth_refresh_reused(const bson_t *user, const bson_oid_t *oid,
    const char *fam, const char *hash)
{
	const char	*current, *prev;
	int64_t		at;

	current = doc_str(user, "refreshFamily");
	if (fam[0] == '\0' || current == NULL || strcmp(current, fam))
		return;

	prev = doc_str(user, "refreshPrevHash");
	at = doc_date(user, "refreshRotatedAt", 0);
	if (prev != NULL && !strcmp(prev, hash) &&
	    core_now_ms() - at < AUTH_REUSE_GRACE_MS)
		return;

	core_log("auth: a rotated refresh token was reused; its family is "
	    "revoked");
	auth_family_revoke(oid, fam);
}

/* Redis first: a rotation that raced past the database sees it there. */
static void
auth_family_revoke(const bson_oid_t *oid, const char *fam)
{
	redisReply	*r;

	r = cache_command("SET refresh:revoked:%s 1 EX %ld", fam,
	    cfg.jwt_refresh_expires_in);
	if (r != NULL)
		freeReplyObject(r);

	(void)users_revoke_refresh(oid, fam);
}

static int
auth_family_revoked(const char *fam)
{
	redisReply	*r;
	int		ret;

	if ((r = cache_command("EXISTS refresh:revoked:%s", fam)) == NULL)
		return (0);
	ret = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	freeReplyObject(r);

	return (ret);
}

static void
auth_token_hash(const char *tok, char *hex)
{
	u_int8_t	h[32];

	crypto_generichash(h, sizeof(h), (const u_int8_t *)tok, strlen(tok),
	    NULL, 0);
	sodium_bin2hex(hex, 65, h, sizeof(h));
}

/* -1 when this refresh token was already used; 0 otherwise (or no Redis). */
static int
auth_refresh_claim(const char *hash, int64_t exp)
{
	redisReply	*r;
	int64_t		ttl;
	int		ret;

	ttl = exp - core_now_ms() / 1000;
	if (ttl < 1)
		ttl = 1;

	r = cache_command("SET refresh:used:%s 1 NX EX %lld", hash,
	    (long long)ttl);
	if (r == NULL)
		return (0);

	ret = r->type == REDIS_REPLY_NIL ? -1 : 0;
	freeReplyObject(r);
	return (ret);
}
