/*
 * /api/auth: register, login, refresh-token, me: HTTP adapters over
 * domain/account.h and domain/auth.h. Registration and login answers
 * carry the rate limit's headers (SPEC.md §3).
 */

#include <sys/types.h>

#include <string.h>

#include "domain/account.h"
#include "domain/auth.h"
#include "domain/limits.h"
#include "http/api.h"
#include "lib/valid.h"

static void	ra_register(struct api_ctx *);
static void	ra_login(struct api_ctx *);
static void	ra_refresh(struct api_ctx *);
static void	ra_me(struct api_ctx *);
static void	ra_answer(struct api_ctx *, int, const struct ratelimit *,
		    const char *);

const struct api_route auth_routes[] = {
	{ API_POST, "/api/auth/register", 0, ra_register },
	{ API_POST, "/api/auth/login", 0, ra_login },
	{ API_POST, "/api/auth/refresh-token", 0, ra_refresh },
	{ API_GET, "/api/auth/me", API_AUTH, ra_me },
	{ 0, NULL, 0, NULL }
};

static const char *user_types[] = {
	"homme", "femme", "couple", "autres", NULL
};

static void
ra_register(struct api_ctx *ctx)
{
	struct account_new	in;
	struct ratelimit	rl;
	struct valid		v;
	yajl_val		body;
	char			email[256], err[256];
	int			status;

	body = api_body(ctx);
	valid_init(&v);
	memset(&in, 0, sizeof(in));

	in.name = valid_string(&v, body, "name", 1, 1, 100);
	in.password = valid_string(&v, body, "password", 1, 0, 128);
	if (in.password != NULL && strlen(in.password) < 6)
		valid_fail(&v, "Password must be at least 6 characters long");
	if (in.password == NULL && json_get(body, "password") == NULL)
		valid_fail(&v, "Password is required");

	email[0] = '\0';
	(void)valid_email(&v, body, "email", email, sizeof(email));
	in.email = email;

	in.phone = valid_string(&v, body, "phoneNumber", 0, 1, 32);
	in.country = valid_string(&v, body, "countryCode", 0, 1, 8);
	in.user_type = valid_enum(&v, body, "userType", user_types, 0);

	in.has_age = valid_int(&v, body, "age", 0, &in.age) == 1;
	if (in.has_age && in.age < 18)
		valid_fail(&v, "You must be at least 18 years old");
	if (in.has_age && in.age > 100)
		valid_fail(&v, "Age must be less than 100");
	in.has_accept = valid_bool(&v, body, "acceptTerms", 0,
	    &in.accept) == 1;

	if (email[0] == '\0' && in.phone == NULL &&
	    json_get(body, "email") == NULL &&
	    json_get(body, "phoneNumber") == NULL)
		valid_fail(&v, "Either email or phoneNumber is required");

	if (api_valid_reply(ctx, &v))
		return;

	status = account_register(ctx->client, &in, &rl, api_out(ctx), err,
	    sizeof(err));
	ra_answer(ctx, status, &rl, err);
}

static void
ra_login(struct api_ctx *ctx)
{
	struct ratelimit	rl;
	struct valid		v;
	yajl_val		body;
	const char		*phone, *password;
	char			email[256], err[256];
	int			status;

	body = api_body(ctx);
	valid_init(&v);

	email[0] = '\0';
	(void)valid_email(&v, body, "email", email, sizeof(email));
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

	status = account_login(ctx->client, phone, email, password, &rl,
	    api_out(ctx), err, sizeof(err));
	ra_answer(ctx, status, &rl, err);
}

static void
ra_refresh(struct api_ctx *ctx)
{
	struct valid	v;
	const char	*tok;
	char		err[256];

	valid_init(&v);
	tok = valid_string(&v, api_body(ctx), "refreshToken", 1, 1, 4096);
	if (api_valid_reply(ctx, &v))
		return;

	api_domain_reply(ctx, auth_refresh(tok, api_out(ctx), err,
	    sizeof(err)), err);
}

static void
ra_me(struct api_ctx *ctx)
{
	char		err[256];

	api_domain_reply(ctx, account_me(&ctx->user, api_out(ctx), err,
	    sizeof(err)), err);
}

/* The limit's headers whatever the outcome, then the outcome. */
static void
ra_answer(struct api_ctx *ctx, int status, const struct ratelimit *rl,
    const char *err)
{
	api_limit_headers(ctx, rl, status);
	api_domain_reply(ctx, status, err);
}
