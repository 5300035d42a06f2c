/*
 * GET /api/metrics: the Prometheus text exposition of the whole node
 * (see src/app/metrics.h). The dependency gauges are refreshed by the
 * scrape itself, on a task thread.
 *
 * Only for the holder of METRICS_TOKEN (Prometheus' `authorization`
 * scrape setting): the original's were public, and they list every
 * route with its status counts. Without a token configured nobody may
 * scrape. Behind a proxy every request comes from loopback, so the
 * peer address proves nothing.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "core/config.h"
#include "core/metrics.h"
#include "domain/health.h"
#include "http/api.h"

#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

static void	metrics_get(struct api_ctx *);

const struct api_route metrics_routes[] = {
	{ API_GET, "/api/metrics", 0, metrics_get },
	{ 0, NULL, 0, NULL }
};

static void
metrics_get(struct api_ctx *ctx)
{
	struct health_check	checks[HEALTH_MAX];
	size_t			len;
	char			*text;
	int			i, n;

	if (cfg.metrics_token[0] == '\0') {
		api_error(ctx, 403, "Metrics are disabled: METRICS_TOKEN "
		    "is not set");
		return;
	}
	if (!api_metrics_caller(ctx)) {
		api_header(ctx, "WWW-Authenticate", "Bearer realm=\"metrics\"");
		api_error(ctx, 401, "Unauthorized");
		return;
	}

	if (cfg.mode == CONFIG_MODE_SERVER) {
		n = health_ping(HEALTH_DB | HEALTH_REDIS, checks);
		for (i = 0; i < n; i++) {
			metrics_gauge_set(METRIC_DB_STATUS, checks[i].up,
			    checks[i].name);
		}
	}

	if ((text = metrics_render(&len)) == NULL) {
		api_error(ctx, 500, "Internal server error");
		return;
	}

	api_reply_raw(ctx, 200, METRICS_CONTENT_TYPE, text, len);
}

int
api_metrics_caller(struct api_ctx *ctx)
{
	const char	*t;
	size_t		len;

	len = strlen(cfg.metrics_token);
	if (len == 0 || (t = ctx->authorization) == NULL ||
	    strncasecmp(t, "Bearer ", 7))
		return (0);
	t += 7;
	while (*t == ' ')
		t++;

	/* Only the length may show: the bytes are compared in fixed time. */
	if (strlen(t) != len)
		return (0);

	return (sodium_memcmp(t, cfg.metrics_token, len) == 0);
}
