/*
 * Access/refresh tokens and passwords.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jwt.h>

#include "core/config.h"
#include "lib/password.h"
#include "lib/token.h"
#include "lib/token_memo.h"

#define SECRET	"unit-test-secret-0123456789"
#define UID	"66aa00000000000000000001"

static char *
forge(const char *alg_secret, jwt_alg_t alg, const char *grants)
{
	jwt_t	*jwt;
	char	*s;

	jwt_new(&jwt);
	jwt_add_grants_json(jwt, grants);
	if (alg != JWT_ALG_NONE)
		jwt_set_alg(jwt, alg, (const unsigned char *)alg_secret,
		    (int)strlen(alg_secret));
	s = jwt_encode_str(jwt);
	jwt_free(jwt);
	return (s);
}

static void
test_access_round_trip(void **state)
{
	struct token_claims	c;
	char			*t;

	t = token_issue(SECRET, UID, TOKEN_ACCESS, 1000, 60, NULL);
	assert_int_equal(token_verify(SECRET, t, TOKEN_ACCESS, 1010, &c),
	    TOKEN_OK);
	assert_string_equal(c.uid, UID);
	assert_int_equal(token_verify(SECRET, t, TOKEN_ACCESS, 1060, &c),
	    TOKEN_EXPIRED);
	assert_int_equal(token_verify("other-secret-0123456789", t,
	    TOKEN_ACCESS, 1010, &c), TOKEN_INVALID);
	free(t);
}

/* The memo answers what token_verify() would: hits, expiry, forgeries. */
static void
test_access_memo(void **state)
{
	struct token_claims	c, d;
	char			*t, *r;
	size_t			n;

	t = token_issue(SECRET, UID, TOKEN_ACCESS, 1000, 60, NULL);
	assert_int_equal(token_verify_access(SECRET, t, 1010, &c), TOKEN_OK);
	assert_int_equal(token_verify_access(SECRET, t, 1011, &d), TOKEN_OK);
	assert_memory_equal(&c, &d, sizeof(c));
	assert_string_equal(d.uid, UID);
	/* Remembered, still not past its exp, nor under another secret. */
	assert_int_equal(token_verify_access(SECRET, t, 1060, &d),
	    TOKEN_EXPIRED);
	assert_int_equal(token_verify_access("other-secret-0123456789", t,
	    1010, &d), TOKEN_INVALID);
	/* One byte of the signature changed is another token. */
	n = strlen(t);
	t[n - 2] = t[n - 2] == 'A' ? 'B' : 'A';
	assert_int_equal(token_verify_access(SECRET, t, 1010, &d),
	    TOKEN_INVALID);
	/* Refresh tokens are never access tokens, remembered or not. */
	r = token_issue(SECRET, UID, TOKEN_REFRESH, 1000, 60, "fam");
	assert_int_equal(token_verify_access(SECRET, r, 1010, &d),
	    TOKEN_WRONG_TYPE);
	assert_int_equal(token_verify_access(SECRET, r, 1010, &d),
	    TOKEN_WRONG_TYPE);
	assert_int_equal(token_verify_access(SECRET, NULL, 1010, &d),
	    TOKEN_INVALID);
	free(t);
	free(r);
}

static void
test_refresh_is_not_access(void **state)
{
	struct token_claims	c;
	char			*t;

	t = token_issue(SECRET, UID, TOKEN_REFRESH, 1000, 60, NULL);
	assert_int_equal(token_verify(SECRET, t, TOKEN_ACCESS, 1010, &c),
	    TOKEN_WRONG_TYPE);
	assert_int_equal(token_verify(SECRET, t, TOKEN_REFRESH, 1010, &c),
	    TOKEN_OK);
	assert_int_equal(strlen(c.jti), 32);
	assert_string_equal(c.fam, "");
	free(t);
}

/* Item 11: a refresh token names its family; each token is distinct. */
static void
test_refresh_family(void **state)
{
	struct token_claims	c;
	char			fam[TOKEN_ID_LEN + 1], other[TOKEN_ID_LEN + 1];
	char			*t, *u;

	token_new_id(fam);
	token_new_id(other);
	assert_int_equal(strlen(fam), TOKEN_ID_LEN);
	assert_string_not_equal(fam, other);

	t = token_issue(SECRET, UID, TOKEN_REFRESH, 1000, 60, fam);
	u = token_issue(SECRET, UID, TOKEN_REFRESH, 1000, 60, fam);
	assert_string_not_equal(t, u);
	assert_int_equal(token_verify(SECRET, t, TOKEN_REFRESH, 1010, &c),
	    TOKEN_OK);
	assert_string_equal(c.fam, fam);
	free(t);
	free(u);
}

static void
test_alg_none_and_other_algs_refused(void **state)
{
	struct token_claims	c;
	char			*t;

	t = forge(SECRET, JWT_ALG_NONE,
	    "{\"sub\":\"" UID "\",\"exp\":99999999999}");
	assert_int_equal(token_verify(SECRET, t, TOKEN_ACCESS, 1, &c),
	    TOKEN_INVALID);
	free(t);

	t = forge(SECRET, JWT_ALG_HS512,
	    "{\"sub\":\"" UID "\",\"exp\":99999999999}");
	assert_int_equal(token_verify(SECRET, t, TOKEN_ACCESS, 1, &c),
	    TOKEN_INVALID);
	free(t);
}

static void
test_foreign_issuer_sub_or_id_only(void **state)
{
	struct token_claims	c;
	char			*t;

	t = forge(SECRET, JWT_ALG_HS256,
	    "{\"sub\":\"" UID "\",\"exp\":99999999999}");
	assert_int_equal(token_verify(SECRET, t, TOKEN_ACCESS, 1, &c), TOKEN_OK);
	free(t);

	t = forge(SECRET, JWT_ALG_HS256,
	    "{\"id\":\"" UID "\",\"exp\":99999999999}");
	assert_int_equal(token_verify(SECRET, t, TOKEN_ACCESS, 1, &c), TOKEN_OK);
	free(t);

	t = forge(SECRET, JWT_ALG_HS256, "{\"sub\":\"" UID "\","
	    "\"type\":\"password_reset\",\"exp\":99999999999}");
	assert_int_equal(token_verify(SECRET, t, TOKEN_ACCESS, 1, &c),
	    TOKEN_WRONG_TYPE);
	free(t);

	t = forge(SECRET, JWT_ALG_HS256,
	    "{\"sub\":\"not-an-id\",\"exp\":99999999999}");
	assert_int_equal(token_verify(SECRET, t, TOKEN_ACCESS, 1, &c),
	    TOKEN_INVALID);
	free(t);
}

/*
 * Item 7: a token that is not valid yet (nbf) or claims to be issued in
 * the future (iat) is refused, with TOKEN_SKEW seconds of clock skew.
 */
static void
test_nbf_and_future_iat_refused(void **state)
{
	struct token_claims	c;
	char			*t;

	/* nbf a day ahead: refused, then good once the day has passed. */
	t = forge(SECRET, JWT_ALG_HS256, "{\"sub\":\"" UID "\","
	    "\"nbf\":87400,\"exp\":99999999999}");
	assert_int_equal(token_verify(SECRET, t, TOKEN_ACCESS, 1000, &c),
	    TOKEN_NOT_YET_VALID);
	assert_int_equal(token_verify(SECRET, t, TOKEN_ACCESS, 87400, &c),
	    TOKEN_OK);
	/* Within the allowed skew of the nbf: fine. */
	assert_int_equal(token_verify(SECRET, t, TOKEN_ACCESS,
	    87400 - TOKEN_SKEW, &c), TOKEN_OK);
	assert_int_equal(token_verify(SECRET, t, TOKEN_ACCESS,
	    87400 - TOKEN_SKEW - 1, &c), TOKEN_NOT_YET_VALID);
	free(t);

	/* iat in the future, beyond the skew. */
	t = forge(SECRET, JWT_ALG_HS256, "{\"sub\":\"" UID "\","
	    "\"iat\":87400,\"exp\":99999999999}");
	assert_int_equal(token_verify(SECRET, t, TOKEN_ACCESS, 1000, &c),
	    TOKEN_NOT_YET_VALID);
	assert_int_equal(token_verify(SECRET, t, TOKEN_ACCESS,
	    87400 - TOKEN_SKEW, &c), TOKEN_OK);
	free(t);

	/* Our own tokens: a clock a little behind the issuer is fine. */
	t = token_issue(SECRET, UID, TOKEN_REFRESH, 1000, 600, NULL);
	assert_int_equal(token_verify(SECRET, t, TOKEN_REFRESH,
	    1000 - TOKEN_SKEW, &c), TOKEN_OK);
	assert_int_equal(token_verify(SECRET, t, TOKEN_REFRESH,
	    1000 - TOKEN_SKEW - 1, &c), TOKEN_NOT_YET_VALID);
	free(t);

	/* nbf or iat that is not a number is no token of ours. */
	t = forge(SECRET, JWT_ALG_HS256, "{\"sub\":\"" UID "\","
	    "\"nbf\":\"tomorrow\",\"exp\":99999999999}");
	assert_int_equal(token_verify(SECRET, t, TOKEN_ACCESS, 1000, &c),
	    TOKEN_INVALID);
	free(t);
	t = forge(SECRET, JWT_ALG_HS256, "{\"sub\":\"" UID "\","
	    "\"iat\":\"now\",\"exp\":99999999999}");
	assert_int_equal(token_verify(SECRET, t, TOKEN_ACCESS, 1000, &c),
	    TOKEN_INVALID);
	free(t);

	/* No nbf and no iat (another issuer): still accepted. */
	t = forge(SECRET, JWT_ALG_HS256,
	    "{\"sub\":\"" UID "\",\"exp\":99999999999}");
	assert_int_equal(token_verify(SECRET, t, TOKEN_ACCESS, 1000, &c),
	    TOKEN_OK);
	free(t);
}

static void
test_password_hash_and_bcrypt_import(void **state)
{
	char	h[PASSWORD_HASH_MAX];

	assert_int_equal(password_init(), 0);
	assert_int_equal(password_hash("secret1", h, sizeof(h)), 0);
	assert_true(strncmp(h, "$argon2id$", 10) == 0);
	assert_int_equal(password_verify(h, "secret1"), PASSWORD_OK);
	assert_int_equal(password_verify(h, "secret2"), PASSWORD_MISMATCH);

	/* bcrypt of "password123", as the NestJS service stored it */
	assert_int_equal(password_verify(
	    "$2b$10$Hs5ItFA5gxYr6.o5XDm9NeKbvtbhBCkgVVkwg2.4QIdM7m2Ps9pMK",
	    "password123"), PASSWORD_REHASH);
	assert_int_equal(password_verify(
	    "$2b$10$Hs5ItFA5gxYr6.o5XDm9NeKbvtbhBCkgVVkwg2.4QIdM7m2Ps9pMK",
	    "password124"), PASSWORD_MISMATCH);
}

static void
test_durations(void **state)
{
	long	v;

	assert_int_equal(config_parse_duration("7d", &v), 0);
	assert_int_equal(v, 604800);
	assert_int_equal(config_parse_duration("15m", &v), 0);
	assert_int_equal(v, 900);
	assert_int_equal(config_parse_duration("3600", &v), 0);
	assert_int_equal(v, 3600);
	assert_int_equal(config_parse_duration("7x", &v), -1);
	assert_int_equal(config_parse_duration("-5", &v), -1);
	assert_int_equal(config_parse_duration("", &v), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_access_round_trip),
		cmocka_unit_test(test_access_memo),
		cmocka_unit_test(test_refresh_is_not_access),
		cmocka_unit_test(test_refresh_family),
		cmocka_unit_test(test_alg_none_and_other_algs_refused),
		cmocka_unit_test(test_foreign_issuer_sub_or_id_only),
		cmocka_unit_test(test_nbf_and_future_iat_refused),
		cmocka_unit_test(test_password_hash_and_bcrypt_import),
		cmocka_unit_test(test_durations),
	};

	return (cmocka_run_group_tests_name("token", tests, NULL, NULL));
}
