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

int
guard_authenticate(struct api_ctx *ctx)
{
	const char	*h;
	char		err[128];
	int		status;

	h = ctx->authorization;
	if (h == NULL || strncasecmp(h, "Bearer ", 7)) {
		api_error(ctx, 401, "Unauthorized");
		return (-1);
	}

	h += 7;
	while (*h == ' ')
		h++;

	status = auth_caller(h, &ctx->user, NULL, err, sizeof(err));
	if (status != 200) {
		api_error(ctx, status, "%s", err);
		return (-1);
	}

	return (0);
}
