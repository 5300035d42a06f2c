/*
 * Bearer-token authentication for the REST routes: the header is ours,
 * what makes a token good is domain's (auth_caller, domain/auth.h).
 */

#include <sys/types.h>

#include <string.h>
#include <strings.h>

#include "domain/auth.h"
#include "http/api.h"
#include "http/guard.h"

static const char	*guard_bearer(struct api_ctx *);
static int		guard_check(struct api_ctx *, int, const char *);

int
guard_authenticate(struct api_ctx *ctx)
{
	const char	*tok;
	char		err[128];

	if ((tok = guard_bearer(ctx)) == NULL)
		return (guard_check(ctx, 401, "Unauthorized"));

	return (guard_check(ctx, auth_caller(tok, &ctx->user, NULL, err,
	    sizeof(err)), err));
}

int
guard_authenticate_quick(struct api_ctx *ctx)
{
	const char	*tok;
	char		err[128];
	int		status;

	if ((tok = guard_bearer(ctx)) == NULL)
		return (guard_check(ctx, 401, "Unauthorized"));

	status = auth_caller_quick(tok, &ctx->user, err, sizeof(err));
	if (status == AUTH_SLOW)
		return (1);

	return (guard_check(ctx, status, err));
}

/* The token of "Authorization: Bearer <token>", or NULL. */
static const char *
guard_bearer(struct api_ctx *ctx)
{
	const char	*h;

	h = ctx->authorization;
	if (h == NULL || strncasecmp(h, "Bearer ", 7))
		return (NULL);

	h += 7;
	while (*h == ' ')
		h++;

	return (h);
}

static int
guard_check(struct api_ctx *ctx, int status, const char *err)
{
	if (status != 200) {
		api_error(ctx, status, "%s", err);
		return (-1);
	}

	return (0);
}
