/*
 * HS256 JWTs. Tokens carry sub and id (both the user id, for clients of
 * the original that read either), typ (access or refresh), iat and exp.
 * Refresh tokens also carry a random jti so that each one is distinct and
 * can be revoked by storing only its hash, and fam, the family of tokens
 * rotated from one login, so that the reuse of one revokes them all.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bson/bson.h>
#include <jwt.h>
#include <sodium.h>

#include "lib/token.h"

static int	token_claim_uid(jwt_t *, char *);
static int	token_claim_typ(jwt_t *);
static int	token_claim_time(jwt_t *, const char *, int64_t *);

char *
token_issue(const char *secret, const char *uid, int typ, int64_t now,
    int64_t ttl, const char *fam)
{
	jwt_t		*jwt;
	char		*out;
	char		jti[TOKEN_ID_LEN + 1];

	if (jwt_new(&jwt) != 0)
		return (NULL);

	out = NULL;
	if (jwt_add_grant(jwt, "sub", uid) != 0 ||
	    jwt_add_grant(jwt, "id", uid) != 0 ||
	    jwt_add_grant(jwt, "typ",
	    typ == TOKEN_REFRESH ? "refresh" : "access") != 0 ||
	    jwt_add_grant_int(jwt, "iat", (long)now) != 0 ||
	    jwt_add_grant_int(jwt, "exp", (long)(now + ttl)) != 0)
		goto out;

	if (typ == TOKEN_REFRESH) {
		token_new_id(jti);
		if (jwt_add_grant(jwt, "jti", jti) != 0)
			goto out;
		if (fam != NULL && jwt_add_grant(jwt, "fam", fam) != 0)
			goto out;
	}

	if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret,
	    (int)strlen(secret)) != 0)
		goto out;

	out = jwt_encode_str(jwt);

out:
	jwt_free(jwt);
	return (out);
}

int
token_verify(const char *secret, const char *token, int want, int64_t now,
    struct token_claims *claims)
{
	jwt_t		*jwt;
	const char	*jti, *fam;
	long		exp;
	int64_t		nbf;
	int		ret;

	memset(claims, 0, sizeof(*claims));

	if (token == NULL || *token == '\0' || strlen(token) > 4096)
		return (TOKEN_INVALID);

	jwt = NULL;
	if (jwt_decode(&jwt, token, (const unsigned char *)secret,
	    (int)strlen(secret)) != 0 || jwt == NULL)
		return (TOKEN_INVALID);

	/*
	 * libjwt verifies with whatever algorithm the header names. Only
	 * HS256 is ours: "none" and anything else is refused here.
	 */
	ret = TOKEN_INVALID;
	if (jwt_get_alg(jwt) != JWT_ALG_HS256)
		goto out;

	if (token_claim_uid(jwt, claims->uid) == -1)
		goto out;

	errno = 0;
	exp = jwt_get_grant_int(jwt, "exp");
	if (errno != 0 || exp <= 0)
		goto out;
	claims->exp = exp;
	if (token_claim_time(jwt, "iat", &claims->iat) == -1 ||
	    token_claim_time(jwt, "nbf", &nbf) == -1)
		goto out;

	if (now >= claims->exp) {
		ret = TOKEN_EXPIRED;
		goto out;
	}

	/*
	 * A token from the future is either forged with a stolen secret to
	 * outlive a rotation, or minted on a badly wrong clock: neither is
	 * good yet. Clocks of honest issuers drift by seconds, not minutes.
	 */
	if ((nbf != 0 && nbf > now + TOKEN_SKEW) ||
	    (claims->iat != 0 && claims->iat > now + TOKEN_SKEW)) {
		ret = TOKEN_NOT_YET_VALID;
		goto out;
	}

	/*
	 * A token with no typ/type claim (another issuer sharing the
	 * secret) counts as an access token; a refresh or password-reset
	 * token is never one.
	 */
	claims->typ = token_claim_typ(jwt);
	if (claims->typ == 0 && want == TOKEN_ACCESS)
		claims->typ = TOKEN_ACCESS;
	if (claims->typ != want) {
		ret = TOKEN_WRONG_TYPE;
		goto out;
	}

	if ((jti = jwt_get_grant(jwt, "jti")) != NULL &&
	    strlen(jti) < sizeof(claims->jti))
		memcpy(claims->jti, jti, strlen(jti) + 1);
	if ((fam = jwt_get_grant(jwt, "fam")) != NULL &&
	    strlen(fam) < sizeof(claims->fam))
		memcpy(claims->fam, fam, strlen(fam) + 1);

	ret = TOKEN_OK;

out:
	jwt_free(jwt);
	return (ret);
}

void
token_new_id(char *out)
{
	u_int8_t	rnd[TOKEN_ID_LEN / 2];

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(out, TOKEN_ID_LEN + 1, rnd, sizeof(rnd));
}

/* sub and id must agree when both are present; either alone is fine. */
static int
token_claim_uid(jwt_t *jwt, char *uid)
{
	const char	*sub, *id;

	sub = jwt_get_grant(jwt, "sub");
	id = jwt_get_grant(jwt, "id");

	if (sub == NULL)
		sub = id;
	if (sub == NULL)
		return (-1);
	if (id != NULL && strcmp(sub, id))
		return (-1);
	if (strlen(sub) != 24 || !bson_oid_is_valid(sub, 24))
		return (-1);

	memcpy(uid, sub, 25);
	return (0);
}

/*
 * An optional NumericDate: 0 when absent, -1 when not an integer.
 * libjwt 1.10's jwt_get_grant_int() reads a string or a boolean as 0
 * with no error, so the claim's JSON text is checked instead.
 */
static int
token_claim_time(jwt_t *jwt, const char *name, int64_t *out)
{
	char		*js, *ep;
	long long	v;
	int		ret;

	*out = 0;
	if ((js = jwt_get_grants_json(jwt, name)) == NULL)
		return (0);

	errno = 0;
	v = strtoll(js, &ep, 10);
	ret = (ep == js || *ep != '\0' || errno != 0) ? -1 : 0;
	if (ret == 0)
		*out = v;
	free(js);

	return (ret);
}

/* -1: some other kind (password_reset…), 0: none, else TOKEN_*. */
static int
token_claim_typ(jwt_t *jwt)
{
	const char	*t;

	if ((t = jwt_get_grant(jwt, "typ")) == NULL)
		t = jwt_get_grant(jwt, "type");
	if (t == NULL)
		return (0);
	if (!strcmp(t, "access"))
		return (TOKEN_ACCESS);
	if (!strcmp(t, "refresh"))
		return (TOKEN_REFRESH);

	return (-1);
}
