/*
 * GET /api/metrics: the Prometheus text exposition of the whole node
 * (see src/app/metrics.h). Public, like the original's. The dependency
 * gauges are refreshed by the scrape itself, on a task thread.
 */

#include <sys/types.h>

#include <stdlib.h>

#include "app/config.h"
#include "app/metrics.h"
#include "cache/redis.h"
#include "http/api.h"
#include "store/store.h"

#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

static void	metrics_get(struct api_ctx *);

const struct api_route metrics_routes[] = {
	{ API_GET, "/api/metrics", 0, metrics_get },
	{ 0, NULL, 0, NULL }
};

static void
metrics_get(struct api_ctx *ctx)
{
	int64_t		ms;
	size_t		len;
	char		*text;

	if (cfg.mode == CONFIG_MODE_SERVER) {
		metrics_gauge_set(METRIC_DB_STATUS,
		    store_ping(&ms) == STORE_OK, "mongodb");
		metrics_gauge_set(METRIC_DB_STATUS,
		    cache_ping(&ms) == 0, "redis");
	}

	if ((text = metrics_render(&len)) == NULL) {
		api_error(ctx, 500, "Internal server error");
		return;
	}

	api_reply_raw(ctx, 200, METRICS_CONTENT_TYPE, text, len);
}
