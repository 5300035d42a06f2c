/*
 * Accounts: registration, login and the caller's own account (the
 * tokens themselves are auth.h's). See domain.h for the conventions.
 *
 * Registration and login are rate limited by the client's address (a
 * limiter key, lib/netaddr.h) and, for logins, by the account: rl is
 * filled with the limit closest to refusing, for the answer's
 * X-RateLimit-* headers (none unless rl->checked), and on 429 with the
 * one that refused (its retry_after for Retry-After).
 */

#ifndef LNK_DOMAIN_ACCOUNT_H
#define LNK_DOMAIN_ACCOUNT_H

#include <sys/types.h>
#include <stdint.h>

#include "domain/caller.h"

struct json;
struct ratelimit;

/* A registration, validated by the adapter. */
struct account_new {
	const char	*name;
	const char	*password;
	const char	*email;		/* "" when none */
	const char	*phone;		/* NULL when none */
	const char	*country;	/* NULL: "CM" */
	const char	*user_type;	/* NULL: "user" */
	int		has_age;
	int64_t		age;
	int		has_accept;
	int		accept;
};

/*
 * 201 with {message, accessToken, access_token, refreshToken, expiresIn,
 * user} in out; 409 email or phone taken, 429 too many from client.
 */
int	account_register(const char *, const struct account_new *,
	    struct ratelimit *, struct json *, char *, size_t);

/*
 * client, phone (NULL: by email), email, password: 200 with the same
 * body as a registration but the message; 401 "Invalid credentials"
 * (an unknown account costs what a wrong password does), 429.
 */
int	account_login(const char *, const char *, const char *, const char *,
	    struct ratelimit *, struct json *, char *, size_t);

/* GET /api/auth/me: 200 with the caller's account, 401 when it is gone. */
int	account_me(const struct dom_caller *, struct json *, char *, size_t);

#endif
