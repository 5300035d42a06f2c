/*
 * Accounts (see account.h): registration, login with its limits and
 * its constant cost, the caller's own account.
 */

#include <sys/types.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cache/redis.h"
#include "core/config.h"
#include "core/core.h"
#include "domain/account.h"
#include "domain/auth.h"
#include "domain/domain.h"
#include "lib/netaddr.h"
#include "lib/password.h"
#include "store/doc.h"
#include "store/store.h"
#include "store/users.h"

/*
 * A rate limit of this file: what it counts (the client's address, the
 * account, or the two together), and the answer over it.
 */
struct account_limit {
	const char	*bucket;
	int		by;
	const u_int32_t	*limit;
	const char	*message;
};

#define ACCOUNT_BY_ADDRESS	1
#define ACCOUNT_BY_ACCOUNT	2
#define ACCOUNT_BY_PAIR		3	/* account from one address */

#define ACCOUNT_LIMITS_MAX	3
#define ACCOUNT_ID_MAX		(NETADDR_KEY_MAX + 260)
#define ACCOUNT_EMAIL_MAX	256

/* What a request counted, to refund it or to report it in headers. */
struct account_count {
	const struct account_limit	*limits;
	size_t				counted;
	char				ids[ACCOUNT_LIMITS_MAX][ACCOUNT_ID_MAX];
	struct ratelimit		rl[ACCOUNT_LIMITS_MAX];
};

static int	account_count(const struct account_limit *, size_t,
		    const char *, const char *, struct account_count *,
		    struct ratelimit *, char *, size_t);
static void	account_count_refund(struct account_count *);
static void	account_count_tightest(const struct account_count *, int,
		    struct ratelimit *);
static int	account_verify(const char *, const char *, const char *,
		    int *, struct json *, char *, size_t);
static void	account_rehash(const bson_t *, const char *);
static void	account_doc(bson_t *, const bson_oid_t *,
		    const struct account_new *, const char *, const char *);
static void	account_lower(char *, size_t, const char *);
static void	account_dummy_init(void);
static void	account_burn(const char *);

/* Verified against when the account is unknown (see account_burn). */
static pthread_once_t	account_dummy_once = PTHREAD_ONCE_INIT;
static char		account_dummy_hash[PASSWORD_HASH_MAX];

/*
 * Failed logins, counted three ways (a good login takes its hit back):
 * per client address whatever the account (password spraying), per
 * account from one address (guessing), and a much higher ceiling per
 * account from everywhere (a distributed attack). A few wrong guesses
 * from elsewhere therefore never lock the owner out. In this order: an
 * attempt one of them refuses is not counted by the next, so a blocked
 * attacker does not use up the account's ceiling.
 */
static const struct account_limit login_limits[] = {
	{ "login-address", ACCOUNT_BY_ADDRESS, &cfg.rate_limit_logins_address,
	    "Too many login attempts, try again later" },
	{ "login-pair", ACCOUNT_BY_PAIR, &cfg.rate_limit_logins,
	    "Too many login attempts, try again later" },
	{ "login-account", ACCOUNT_BY_ACCOUNT, &cfg.rate_limit_logins_account,
	    "Too many login attempts, try again later" },
};

/* Each registration hashes a password (19 MiB of Argon2id). */
static const struct account_limit register_limits[] = {
	{ "register", ACCOUNT_BY_ADDRESS, &cfg.rate_limit_registrations,
	    "Too many registrations from this address, try again later" },
};

int
account_register(const char *client, const struct account_new *in,
    struct ratelimit *rl, struct json *out, char *err, size_t errlen)
{
	struct account_count	count;
	char			email[ACCOUNT_EMAIL_MAX];
	char			hash[PASSWORD_HASH_MAX];
	bson_t			doc, user;
	bson_oid_t		oid;
	int			which, ret;

	if ((ret = account_count(register_limits, sizeof(register_limits) /
	    sizeof(register_limits[0]), client, NULL, &count, rl, err,
	    errlen)) != 200)
		return (ret);

	if (password_hash(in->password, hash, sizeof(hash)) == -1)
		return (dom_fail(err, errlen, 500, "Internal server error"));

	account_lower(email, sizeof(email), in->email);
	bson_oid_init(&oid, NULL);
	account_doc(&doc, &oid, in, email, hash);
	ret = users_insert(&doc, &which);
	bson_destroy(&doc);
	if (ret == STORE_DUP) {
		return (dom_fail(err, errlen, 409, "%s",
		    which == USERS_DUP_PHONE ?
		    "Phone number already registered" :
		    "Email already registered"));
	}
	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, "Not found"));

	if ((ret = users_find_by_id(&oid, &user)) != STORE_OK)
		return (dom_store_fail(err, errlen, ret, "Not found"));

	ret = auth_issue(&user, "User registered successfully.", NULL, NULL,
	    out, err, errlen);
	bson_destroy(&user);

	return (ret == 200 ? 201 : ret);
}

int
account_login(const char *client, const char *phone, const char *email_in,
    const char *password, struct ratelimit *rl, struct json *out, char *err,
    size_t errlen)
{
	struct account_count	count;
	char			email[ACCOUNT_EMAIL_MAX];
	int			ret, failed;

	account_lower(email, sizeof(email), email_in);
	if ((ret = account_count(login_limits, sizeof(login_limits) /
	    sizeof(login_limits[0]), client, phone != NULL ? phone : email,
	    &count, rl, err, errlen)) != 200)
		return (ret);

	ret = account_verify(phone, email, password, &failed, out, err,
	    errlen);
	if (!failed)
		account_count_refund(&count);
	account_count_tightest(&count, !failed, rl);

	return (ret);
}

int
account_me(const struct dom_caller *u, struct json *out, char *err,
    size_t errlen)
{
	bson_t		user;
	int		ret;

	if ((ret = users_find_by_id(&u->oid, &user)) != STORE_OK) {
		if (ret == STORE_NOTFOUND)
			return (dom_fail(err, errlen, 401, "Unauthorized"));
		return (dom_store_fail(err, errlen, ret, "Not found"));
	}

	users_json_me(out, &user);
	bson_destroy(&user);

	return (200);
}

/*
 * The login itself. *failed says whether the failure was the client's
 * (counted against the limits) rather than ours (store down: refunded).
 */
static int
account_verify(const char *phone, const char *email, const char *password,
    int *failed, struct json *out, char *err, size_t errlen)
{
	const char	*hash;
	bson_t		user;
	int		ret, pw;

	*failed = 1;
	if (phone != NULL)
		ret = users_find_by_phone(phone, &user);
	else
		ret = users_find_by_email(email, &user);

	if (ret == STORE_NOTFOUND) {
		account_burn(password);
		return (dom_fail(err, errlen, 401, "Invalid credentials"));
	}
	if (ret != STORE_OK) {
		*failed = 0;
		return (dom_store_fail(err, errlen, ret, "Not found"));
	}

	if ((hash = doc_str(&user, "password")) == NULL) {
		bson_destroy(&user);
		return (dom_fail(err, errlen, 401,
		    "Password authentication not set up for this user"));
	}

	pw = password_verify(hash, password);
	if (pw == PASSWORD_MISMATCH || !doc_bool(&user, "isActive", 1)) {
		bson_destroy(&user);
		return (dom_fail(err, errlen, 401, "Invalid credentials"));
	}

	if (pw == PASSWORD_REHASH)
		account_rehash(&user, password);

	*failed = 0;
	ret = auth_issue(&user, NULL, NULL, NULL, out, err, errlen);
	bson_destroy(&user);

	return (ret);
}

/* Upgrade bcrypt (imported) or weaker hashes on a good login. */
static void
account_rehash(const bson_t *user, const char *password)
{
	char		hash[PASSWORD_HASH_MAX];
	bson_t		set;
	bson_oid_t	oid;
	bson_iter_t	it;

	if (!bson_iter_init_find(&it, user, "_id") ||
	    password_hash(password, hash, sizeof(hash)) == -1)
		return;

	bson_oid_copy(bson_iter_oid(&it), &oid);
	bson_init(&set);
	BSON_APPEND_UTF8(&set, "password", hash);
	(void)users_set(&oid, &set);
	bson_destroy(&set);
}

/* The new users document (email lowercased, "" when none). */
static void
account_doc(bson_t *doc, const bson_oid_t *oid, const struct account_new *in,
    const char *email, const char *hash)
{
	bson_t		arr;
	char		key[64];
	int64_t		now;

	now = core_now_ms();

	bson_init(doc);
	BSON_APPEND_OID(doc, "_id", oid);
	BSON_APPEND_UTF8(doc, "name", in->name);
	/* The unique keys of an absent email or phone: unique, never sent. */
	if (email[0] != '\0') {
		BSON_APPEND_UTF8(doc, "email", email);
		BSON_APPEND_UTF8(doc, "emailKey", email);
	} else {
		bson_oid_to_string(oid, key + 1);
		key[0] = '-';
		BSON_APPEND_UTF8(doc, "emailKey", key);
	}
	if (in->phone != NULL) {
		BSON_APPEND_UTF8(doc, "phoneNumber", in->phone);
		BSON_APPEND_UTF8(doc, "phoneKey", in->phone);
	} else {
		key[0] = '-';
		bson_oid_to_string(oid, key + 1);
		BSON_APPEND_UTF8(doc, "phoneKey", key);
	}
	BSON_APPEND_UTF8(doc, "countryCode",
	    in->country != NULL ? in->country : "CM");
	BSON_APPEND_UTF8(doc, "userType",
	    in->user_type != NULL ? in->user_type : "user");
	if (in->has_age)
		BSON_APPEND_INT32(doc, "age", (int32_t)in->age);
	if (in->has_accept)
		BSON_APPEND_BOOL(doc, "acceptTerms", in->accept);
	BSON_APPEND_UTF8(doc, "password", hash);
	BSON_APPEND_UTF8(doc, "authType", email[0] ? "email" : "phone");
	BSON_APPEND_BOOL(doc, "isActive", true);
	BSON_APPEND_BOOL(doc, "isVerified", false);
	BSON_APPEND_BOOL(doc, "isPremium", false);
	BSON_APPEND_BOOL(doc, "isAdmin", false);
	BSON_APPEND_BOOL(doc, "isEmailVerified", false);
	BSON_APPEND_BOOL(doc, "isPhoneVerified", false);
	BSON_APPEND_ARRAY_BEGIN(doc, "servicePackages", &arr);
	bson_append_array_end(doc, &arr);
	BSON_APPEND_DATE_TIME(doc, "createdAt", now);
	BSON_APPEND_DATE_TIME(doc, "updatedAt", now);
}

/*
 * Counts this request against each limit in turn. Over one: 429 with
 * its message, rl that limit; the limits after it are not counted.
 * Otherwise 200 and rl the tightest (account_count_tightest).
 */
static int
account_count(const struct account_limit *limits, size_t n,
    const char *client, const char *account, struct account_count *c,
    struct ratelimit *rl, char *err, size_t errlen)
{
	const struct account_limit	*l;
	struct ratelimit		*r;
	char				*id;

	memset(c, 0, sizeof(*c));
	c->limits = limits;

	for (c->counted = 0; c->counted < n; c->counted++) {
		l = &limits[c->counted];
		id = c->ids[c->counted];
		r = &c->rl[c->counted];

		if (l->by == ACCOUNT_BY_ADDRESS)
			(void)snprintf(id, ACCOUNT_ID_MAX, "%s", client);
		else if (l->by == ACCOUNT_BY_ACCOUNT)
			(void)snprintf(id, ACCOUNT_ID_MAX, "%s", account);
		else
			(void)snprintf(id, ACCOUNT_ID_MAX, "%s|%s", client,
			    account);

		if (cache_ratelimit(l->bucket, id, *l->limit,
		    cfg.rate_limit_window, r) == -1 || !r->exceeded)
			continue;

		*rl = *r;
		return (dom_fail(err, errlen, 429, "%s", l->message));
	}

	account_count_tightest(c, 0, rl);
	return (200);
}

static void
account_count_refund(struct account_count *c)
{
	size_t		i;

	for (i = 0; i < c->counted; i++) {
		cache_ratelimit_refund(c->limits[i].bucket, c->ids[i],
		    &c->rl[i]);
	}
}

/*
 * The limit closest to refusing (SPEC.md §3), with the hit taken back
 * when refunded; rl->checked is 0 when nothing was counted.
 */
static void
account_count_tightest(const struct account_count *c, int refunded,
    struct ratelimit *rl)
{
	const struct ratelimit	*r, *tight;
	size_t			i;

	tight = NULL;
	for (i = 0; i < c->counted; i++) {
		r = &c->rl[i];
		if (r->checked && (tight == NULL ||
		    r->remaining < tight->remaining))
			tight = r;
	}

	memset(rl, 0, sizeof(*rl));
	if (tight == NULL)
		return;

	*rl = *tight;
	if (refunded && rl->remaining < rl->limit)
		rl->remaining++;
}

static void
account_lower(char *dst, size_t len, const char *src)
{
	size_t		i;

	for (i = 0; i + 1 < len && src[i] != '\0'; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

/*
 * A random password's hash, made by password_hash() so that it has the
 * parameters of every stored hash. Made once per worker, on first use.
 */
static void
account_dummy_init(void)
{
	u_int8_t	rnd[16];
	char		pw[33];

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(pw, sizeof(pw), rnd, sizeof(rnd));
	if (password_hash(pw, account_dummy_hash,
	    sizeof(account_dummy_hash)) == -1)
		account_dummy_hash[0] = '\0';
	sodium_memzero(pw, sizeof(pw));
}

/*
 * An unknown account must cost what a wrong password costs, or the
 * answer's timing tells which accounts exist (54.8 ms against 7.7 ms).
 */
static void
account_burn(const char *password)
{
	(void)pthread_once(&account_dummy_once, account_dummy_init);
	(void)password_verify(account_dummy_hash, password);
}
