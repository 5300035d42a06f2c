/*
 * /api/auth: register, login, refresh-token, me.
 */

#include <sys/types.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cache/redis.h"
#include "core/config.h"
#include "core/core.h"
#include "http/api.h"
#include "lib/valid.h"
#include "lib/netaddr.h"
#include "lib/password.h"
#include "lib/token.h"
#include "store/doc.h"
#include "store/store.h"
#include "store/users.h"

/*
 * A rate limit of this file: what it counts (the client's address, the
 * account, or the two together), and the answer over it.
 */
struct auth_limit {
	const char	*bucket;
	int		by;
	const u_int32_t	*limit;
	const char	*message;
};

#define AUTH_BY_ADDRESS		1
#define AUTH_BY_ACCOUNT		2
#define AUTH_BY_PAIR		3	/* account from one address */

/*
 * How long the refresh token just rotated away may come back without
 * being taken for stolen: a client's own concurrent refreshes.
 */
#define AUTH_REUSE_GRACE_MS	5000

#define AUTH_LIMITS_MAX		3
#define AUTH_ID_MAX		(NETADDR_KEY_MAX + 260)

/* What a request counted, to refund it or to report it in headers. */
struct auth_count {
	const struct auth_limit	*limits;
	size_t			counted;
	char			ids[AUTH_LIMITS_MAX][AUTH_ID_MAX];
	struct ratelimit	rl[AUTH_LIMITS_MAX];
};

#define AUTH_LOGIN_OK		0
#define AUTH_LOGIN_FAILED	1	/* the client's: counted */
#define AUTH_LOGIN_ERROR	2	/* ours (store down): refunded */

static void	auth_register(struct api_ctx *);
static void	auth_login(struct api_ctx *);
static int	auth_login_verify(struct api_ctx *, const char *,
		    const char *, const char *);
static int	auth_count(struct api_ctx *, const struct auth_limit *,
		    size_t, const char *, struct auth_count *);
static void	auth_count_refund(struct auth_count *);
static void	auth_count_headers(struct api_ctx *, const struct auth_count *,
		    int);
static void	auth_refresh(struct api_ctx *);
static void	auth_me(struct api_ctx *);

static int	auth_issue(struct api_ctx *, const bson_t *, const char *,
		    const char *, const char *);
static int	auth_rotate(const bson_oid_t *, const char *, const char *,
		    const char *);
static void	auth_token_hash(const char *, char *);
static int	auth_refresh_claim(const char *, int64_t);
static void	auth_refresh_reused(const bson_t *, const bson_oid_t *,
		    const char *, const char *);
static void	auth_family_revoke(const bson_oid_t *, const char *);
static int	auth_family_revoked(const char *);
static void	auth_lower(char *);
static void	auth_dummy_init(void);
static void	auth_burn(const char *);

/* Verified against when the account is unknown (see auth_burn). */
static pthread_once_t	auth_dummy_once = PTHREAD_ONCE_INIT;
static char		auth_dummy_hash[PASSWORD_HASH_MAX];

const struct api_route auth_routes[] = {
	{ API_POST, "/api/auth/register", 0, auth_register },
	{ API_POST, "/api/auth/login", 0, auth_login },
	{ API_POST, "/api/auth/refresh-token", 0, auth_refresh },
	{ API_GET, "/api/auth/me", API_AUTH, auth_me },
	{ 0, NULL, 0, NULL }
};

/*
 * Failed logins, counted three ways (a good login takes its hit back):
 * per client address whatever the account (password spraying), per
 * account from one address (guessing), and a much higher ceiling per
 * account from everywhere (a distributed attack). A few wrong guesses
 * from elsewhere therefore never lock the owner out. In this order: an
 * attempt one of them refuses is not counted by the next, so a blocked
 * attacker does not use up the account's ceiling.
 */
static const struct auth_limit login_limits[] = {
	{ "login-address", AUTH_BY_ADDRESS, &cfg.rate_limit_logins_address,
	    "Too many login attempts, try again later" },
	{ "login-pair", AUTH_BY_PAIR, &cfg.rate_limit_logins,
	    "Too many login attempts, try again later" },
	{ "login-account", AUTH_BY_ACCOUNT, &cfg.rate_limit_logins_account,
	    "Too many login attempts, try again later" },
};

/* Each registration hashes a password (19 MiB of Argon2id). */
static const struct auth_limit register_limits[] = {
	{ "register", AUTH_BY_ADDRESS, &cfg.rate_limit_registrations,
	    "Too many registrations from this address, try again later" },
};

static const char *user_types[] = {
	"homme", "femme", "couple", "autres", NULL
};

static void
auth_register(struct api_ctx *ctx)
{
	struct auth_count	count;
	struct valid		v;
	yajl_val		body;
	const char		*name, *password, *phone, *cc, *utype;
	char			email[256], hash[PASSWORD_HASH_MAX], key[64];
	bson_t			doc, out;
	bson_oid_t		oid;
	int64_t			now, age;
	int			which, ret, has_age, accept, has_accept;

	body = api_body(ctx);
	valid_init(&v);

	name = valid_string(&v, body, "name", 1, 1, 100);
	password = valid_string(&v, body, "password", 1, 0, 128);
	if (password != NULL && strlen(password) < 6)
		valid_fail(&v, "Password must be at least 6 characters long");
	if (password == NULL && json_get(body, "password") == NULL)
		valid_fail(&v, "Password is required");

	email[0] = '\0';
	if (valid_email(&v, body, "email", email, sizeof(email)) == 1)
		auth_lower(email);

	phone = valid_string(&v, body, "phoneNumber", 0, 1, 32);
	cc = valid_string(&v, body, "countryCode", 0, 1, 8);
	utype = valid_enum(&v, body, "userType", user_types, 0);

	has_age = valid_int(&v, body, "age", 0, &age);
	if (has_age == 1 && age < 18)
		valid_fail(&v, "You must be at least 18 years old");
	if (has_age == 1 && age > 100)
		valid_fail(&v, "Age must be less than 100");
	has_accept = valid_bool(&v, body, "acceptTerms", 0, &accept);

	if (email[0] == '\0' && phone == NULL &&
	    json_get(body, "email") == NULL &&
	    json_get(body, "phoneNumber") == NULL)
		valid_fail(&v, "Either email or phoneNumber is required");

	if (api_valid_reply(ctx, &v))
		return;

	if (auth_count(ctx, register_limits, sizeof(register_limits) /
	    sizeof(register_limits[0]), NULL, &count) == -1)
		return;
	auth_count_headers(ctx, &count, 0);

	if (password_hash(password, hash, sizeof(hash)) == -1) {
		api_error(ctx, 500, "Internal server error");
		return;
	}

	bson_oid_init(&oid, NULL);
	now = core_now_ms();

	bson_init(&doc);
	BSON_APPEND_OID(&doc, "_id", &oid);
	BSON_APPEND_UTF8(&doc, "name", name);
	if (email[0] != '\0') {
		BSON_APPEND_UTF8(&doc, "email", email);
		BSON_APPEND_UTF8(&doc, "emailKey", email);
	} else {
		bson_oid_to_string(&oid, key + 1);
		key[0] = '-';
		BSON_APPEND_UTF8(&doc, "emailKey", key);
	}
	if (phone != NULL) {
		BSON_APPEND_UTF8(&doc, "phoneNumber", phone);
		BSON_APPEND_UTF8(&doc, "phoneKey", phone);
	} else {
		key[0] = '-';
		bson_oid_to_string(&oid, key + 1);
		BSON_APPEND_UTF8(&doc, "phoneKey", key);
	}
	BSON_APPEND_UTF8(&doc, "countryCode", cc != NULL ? cc : "CM");
	BSON_APPEND_UTF8(&doc, "userType", utype != NULL ? utype : "user");
	if (has_age == 1)
		BSON_APPEND_INT32(&doc, "age", (int32_t)age);
	if (has_accept == 1)
		BSON_APPEND_BOOL(&doc, "acceptTerms", accept);
	BSON_APPEND_UTF8(&doc, "password", hash);
	BSON_APPEND_UTF8(&doc, "authType", email[0] ? "email" : "phone");
	BSON_APPEND_BOOL(&doc, "isActive", true);
	BSON_APPEND_BOOL(&doc, "isVerified", false);
	BSON_APPEND_BOOL(&doc, "isPremium", false);
	BSON_APPEND_BOOL(&doc, "isAdmin", false);
	BSON_APPEND_BOOL(&doc, "isEmailVerified", false);
	BSON_APPEND_BOOL(&doc, "isPhoneVerified", false);
	{
		bson_t	arr;

		BSON_APPEND_ARRAY_BEGIN(&doc, "servicePackages", &arr);
		bson_append_array_end(&doc, &arr);
	}
	BSON_APPEND_DATE_TIME(&doc, "createdAt", now);
	BSON_APPEND_DATE_TIME(&doc, "updatedAt", now);

	ret = users_insert(&doc, &which);
	if (ret == STORE_DUP) {
		bson_destroy(&doc);
		api_error(ctx, 409, which == USERS_DUP_PHONE ?
		    "Phone number already registered" :
		    "Email already registered");
		return;
	}
	if (ret != STORE_OK) {
		bson_destroy(&doc);
		api_store_error(ctx, ret);
		return;
	}

	if ((ret = users_find_by_id(&oid, &out)) != STORE_OK) {
		bson_destroy(&doc);
		api_store_error(ctx, ret);
		return;
	}
	bson_destroy(&doc);

	if (auth_issue(ctx, &out, "User registered successfully.",
	    NULL, NULL) == 0)
		api_reply(ctx, 201);
	bson_destroy(&out);
}

static void
auth_login(struct api_ctx *ctx)
{
	struct auth_count	count;
	struct valid		v;
	yajl_val		body;
	const char		*phone, *password;
	char			email[256];
	int			ret;

	body = api_body(ctx);
	valid_init(&v);

	email[0] = '\0';
	(void)valid_email(&v, body, "email", email, sizeof(email));
	auth_lower(email);
	phone = valid_string(&v, body, "phoneNumber", 0, 1, 32);
	password = valid_string(&v, body, "password", 0, 1, 128);
	if (json_get(body, "password") == NULL)
		valid_fail(&v, "Password is required");
	if (email[0] == '\0' && phone == NULL &&
	    json_get(body, "email") == NULL &&
	    json_get(body, "phoneNumber") == NULL)
		valid_fail(&v, "Either email or phoneNumber is required");

	if (api_valid_reply(ctx, &v))
		return;

	if (auth_count(ctx, login_limits, sizeof(login_limits) /
	    sizeof(login_limits[0]), phone != NULL ? phone : email,
	    &count) == -1)
		return;

	ret = auth_login_verify(ctx, phone, email, password);
	if (ret != AUTH_LOGIN_FAILED)
		auth_count_refund(&count);
	auth_count_headers(ctx, &count, ret != AUTH_LOGIN_FAILED);
}

/* Answers the login; says whose failure it was, if any. */
static int
auth_login_verify(struct api_ctx *ctx, const char *phone, const char *email,
    const char *password)
{
	const char		*hash;
	char			newhash[PASSWORD_HASH_MAX];
	bson_t			user, set;
	bson_oid_t		oid;
	bson_iter_t		it;
	int			ret, pw;

	if (phone != NULL)
		ret = users_find_by_phone(phone, &user);
	else
		ret = users_find_by_email(email, &user);

	if (ret == STORE_NOTFOUND) {
		auth_burn(password);
		api_error(ctx, 401, "Invalid credentials");
		return (AUTH_LOGIN_FAILED);
	}
	if (ret != STORE_OK) {
		api_store_error(ctx, ret);
		return (AUTH_LOGIN_ERROR);
	}

	hash = doc_str(&user, "password");
	if (hash == NULL) {
		bson_destroy(&user);
		api_error(ctx, 401,
		    "Password authentication not set up for this user");
		return (AUTH_LOGIN_FAILED);
	}

	pw = password_verify(hash, password);
	if (pw == PASSWORD_MISMATCH || !doc_bool(&user, "isActive", 1)) {
		bson_destroy(&user);
		api_error(ctx, 401, "Invalid credentials");
		return (AUTH_LOGIN_FAILED);
	}

	/* Upgrade bcrypt (imported) or weaker hashes on a good login. */
	if (pw == PASSWORD_REHASH && bson_iter_init_find(&it, &user, "_id") &&
	    password_hash(password, newhash, sizeof(newhash)) == 0) {
		bson_oid_copy(bson_iter_oid(&it), &oid);
		bson_init(&set);
		BSON_APPEND_UTF8(&set, "password", newhash);
		(void)users_set(&oid, &set);
		bson_destroy(&set);
	}

	ret = auth_issue(ctx, &user, NULL, NULL, NULL);
	if (ret == 0)
		api_reply(ctx, 200);
	bson_destroy(&user);

	return (ret == 0 ? AUTH_LOGIN_OK : AUTH_LOGIN_ERROR);
}

/*
 * Counts this request against each limit in turn. Over one: 429 with
 * its headers and Retry-After, and -1; the limits after it are not
 * counted.
 */
static int
auth_count(struct api_ctx *ctx, const struct auth_limit *limits, size_t n,
    const char *account, struct auth_count *c)
{
	const struct auth_limit	*l;
	struct ratelimit	*rl;
	char			*id;

	memset(c, 0, sizeof(*c));
	c->limits = limits;

	for (c->counted = 0; c->counted < n; c->counted++) {
		l = &limits[c->counted];
		id = c->ids[c->counted];
		rl = &c->rl[c->counted];

		if (l->by == AUTH_BY_ADDRESS)
			(void)snprintf(id, AUTH_ID_MAX, "%s", ctx->client);
		else if (l->by == AUTH_BY_ACCOUNT)
			(void)snprintf(id, AUTH_ID_MAX, "%s", account);
		else
			(void)snprintf(id, AUTH_ID_MAX, "%s|%s", ctx->client,
			    account);

		if (cache_ratelimit(l->bucket, id, *l->limit,
		    cfg.rate_limit_window, rl) == -1 || !rl->exceeded)
			continue;

		api_header(ctx, "X-RateLimit-Limit", "%u", rl->limit);
		api_header(ctx, "X-RateLimit-Remaining", "0");
		api_header(ctx, "X-RateLimit-Reset", "%lld",
		    (long long)rl->reset);
		api_header(ctx, "Retry-After", "%u", rl->retry_after);
		api_error(ctx, 429, "%s", l->message);
		return (-1);
	}

	return (0);
}

static void
auth_count_refund(struct auth_count *c)
{
	size_t		i;

	for (i = 0; i < c->counted; i++) {
		cache_ratelimit_refund(c->limits[i].bucket, c->ids[i],
		    &c->rl[i]);
	}
}

/* The headers of the limit closest to refusing (SPEC.md §3). */
static void
auth_count_headers(struct api_ctx *ctx, const struct auth_count *c,
    int refunded)
{
	const struct ratelimit	*rl, *tight;
	u_int32_t		remaining;
	size_t			i;

	tight = NULL;
	for (i = 0; i < c->counted; i++) {
		rl = &c->rl[i];
		if (rl->checked && (tight == NULL ||
		    rl->remaining < tight->remaining))
			tight = rl;
	}
	if (tight == NULL)
		return;

	remaining = tight->remaining;
	if (refunded && remaining < tight->limit)
		remaining++;
	api_header(ctx, "X-RateLimit-Limit", "%u", tight->limit);
	api_header(ctx, "X-RateLimit-Remaining", "%u", remaining);
	api_header(ctx, "X-RateLimit-Reset", "%lld", (long long)tight->reset);
}

static void
auth_refresh(struct api_ctx *ctx)
{
	struct token_claims	claims;
	struct valid		v;
	const char		*tok, *stored;
	char			hash[65];
	bson_t			user;
	bson_oid_t		oid;
	int			ret;

	valid_init(&v);
	tok = valid_string(&v, api_body(ctx), "refreshToken", 1, 1, 4096);
	if (api_valid_reply(ctx, &v))
		return;

	if (token_verify(cfg.jwt_secret, tok, TOKEN_REFRESH,
	    core_now_ms() / 1000, &claims) != TOKEN_OK) {
		api_error(ctx, 401, "Invalid refresh token");
		return;
	}

	bson_oid_init_from_string(&oid, claims.uid);
	if ((ret = users_find_by_id(&oid, &user)) != STORE_OK) {
		if (ret == STORE_NOTFOUND)
			api_error(ctx, 401, "Invalid refresh token");
		else
			api_store_error(ctx, ret);
		return;
	}

	auth_token_hash(tok, hash);
	stored = doc_str(&user, "refreshTokenHash");
	if (stored == NULL || strcmp(stored, hash) ||
	    !doc_bool(&user, "isActive", 1)) {
		if (stored != NULL && strcmp(stored, hash))
			auth_refresh_reused(&user, &oid, claims.fam, hash);
		bson_destroy(&user);
		api_error(ctx, 401, "Invalid refresh token");
		return;
	}

	/*
	 * A refresh token is good for one refresh. The stored-hash swap in
	 * auth_issue() is a compare-and-set, but FerretDB applies updates as
	 * read-modify-write, so two concurrent refreshes could both pass it:
	 * an atomic SET NX in Redis decides first (when Redis is up).
	 */
	if (auth_refresh_claim(hash, claims.exp) == -1) {
		bson_destroy(&user);
		api_error(ctx, 401, "Invalid refresh token");
		return;
	}

	/*
	 * auth_issue rotates the stored hash only if it is still ours, in
	 * the same family (a token from before families starts one).
	 */
	if (auth_issue(ctx, &user, NULL, hash,
	    claims.fam[0] != '\0' ? claims.fam : NULL) == 0)
		api_reply(ctx, 200);
	bson_destroy(&user);
}

static void
auth_me(struct api_ctx *ctx)
{
	bson_t		user;
	int		ret;

	if ((ret = users_find_by_id(&ctx->user.oid, &user)) != STORE_OK) {
		if (ret == STORE_NOTFOUND)
			api_error(ctx, 401, "Unauthorized");
		else
			api_store_error(ctx, ret);
		return;
	}

	users_json_me(api_out(ctx), &user);
	api_reply(ctx, 200);
	bson_destroy(&user);
}

/*
 * Writes {message?, accessToken, access_token, refreshToken, user} and
 * stores the new refresh token's hash (never the token itself). A login
 * (old_hash NULL) starts a family; a refresh rotates old_hash in fam.
 */
static int
auth_issue(struct api_ctx *ctx, const bson_t *user, const char *message,
    const char *old_hash, const char *fam)
{
	struct json	*j;
	bson_iter_t	it;
	char		uid[25], hash[65], newfam[TOKEN_ID_LEN + 1];
	char		*access, *refresh;
	int64_t		now;
	int		ret;

	if (!bson_iter_init_find(&it, user, "_id") || !BSON_ITER_HOLDS_OID(&it)) {
		api_error(ctx, 500, "Internal server error");
		return (-1);
	}
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
		api_error(ctx, 500, "Internal server error");
		return (-1);
	}

	auth_token_hash(refresh, hash);
	ret = auth_rotate(bson_iter_oid(&it), old_hash, hash, fam);
	if (ret != STORE_OK) {
		free(access);
		free(refresh);
		if (ret == STORE_NOTFOUND)
			api_error(ctx, 401, "Invalid refresh token");
		else
			api_store_error(ctx, ret);
		return (-1);
	}

	j = api_out(ctx);
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
	return (0);
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

/*
 * A random password's hash, made by password_hash() so that it has the
 * parameters of every stored hash. Made once per worker, on first use.
 */
static void
auth_dummy_init(void)
{
	u_int8_t	rnd[16];
	char		pw[33];

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(pw, sizeof(pw), rnd, sizeof(rnd));
	if (password_hash(pw, auth_dummy_hash, sizeof(auth_dummy_hash)) == -1)
		auth_dummy_hash[0] = '\0';
	sodium_memzero(pw, sizeof(pw));
}

/*
 * An unknown account must cost what a wrong password costs, or the
 * answer's timing tells which accounts exist (54.8 ms against 7.7 ms).
 */
static void
auth_burn(const char *password)
{
	(void)pthread_once(&auth_dummy_once, auth_dummy_init);
	(void)password_verify(auth_dummy_hash, password);
}

static void
auth_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
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
