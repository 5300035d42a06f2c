/*
 * /api/health: liveness, readiness and dependency checks. The database
 * is required (503 when it is down); Redis is optional (reported as
 * "degraded", still 200). Every answer has the same shape.
 *
 * Anonymous callers (load balancers, probes) get the status alone: the
 * details name hosts, ports, the database and the node, and are only
 * for the holder of METRICS_TOKEN, as the metrics are.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/core.h"
#include "domain/health.h"
#include "http/api.h"

static void	health_all(struct api_ctx *);
static void	health_live(struct api_ctx *);
static void	health_database(struct api_ctx *);
static void	health_redis(struct api_ctx *);
static void	health_status(struct api_ctx *);
static void	health_run(struct api_ctx *, int);
static void	health_entry(struct json *, const struct health_check *);
static int	health_brief(struct api_ctx *, const char *, int);

const struct api_route health_routes[] = {
	{ API_GET, "/api/health", 0, health_all },
	{ API_GET, "/api/health/ready", 0, health_all },
	{ API_GET, "/api/health/live", API_INLINE, health_live },
	{ API_GET, "/api/health/database", 0, health_database },
	{ API_GET, "/api/health/redis", 0, health_redis },
	{ API_GET, "/api/health/status", API_INLINE, health_status },
	{ 0, NULL, 0, NULL }
};

static int64_t	started_at;

static void
health_all(struct api_ctx *ctx)
{
	health_run(ctx, HEALTH_DB | HEALTH_REDIS);
}

static void
health_database(struct api_ctx *ctx)
{
	health_run(ctx, HEALTH_DB);
}

static void
health_redis(struct api_ctx *ctx)
{
	health_run(ctx, HEALTH_REDIS);
}

/* The process answers: that is all liveness means. */
static void
health_live(struct api_ctx *ctx)
{
	health_run(ctx, 0);
}

static void
health_status(struct api_ctx *ctx)
{
	struct json	*j;
	int64_t		now;
	char		ts[32];

	now = core_now_ms();
	if (started_at == 0)
		started_at = now;
	if (health_brief(ctx, "ok", 200))
		return;
	json_iso8601(now, ts, sizeof(ts));

	j = api_out(ctx);
	json_obj_open(j);
	json_kstr(j, "status", "ok");
	json_kstr(j, "timestamp", ts);
	json_key(j, "uptime");
	json_double(j, (double)(now - started_at) / 1000.0);
	json_kstr(j, "version", "1.0.0");
	json_kstr(j, "environment", cfg.jwt_secret_is_default ?
	    "development" : "production");
	json_kstr(j, "node", core_node_id());
	json_obj_close(j);

	api_reply(ctx, 200);
}

static void
health_run(struct api_ctx *ctx, int which)
{
	struct health_check	checks[HEALTH_MAX];
	struct json		*j;
	char			ts[32];
	int			n, i, db_down, degraded;

	if (started_at == 0)
		started_at = core_now_ms();

	db_down = 0;
	degraded = 0;
	n = health_ping(which, checks);
	for (i = 0; i < n; i++) {
		if (checks[i].required)
			db_down |= !checks[i].up;
		else
			degraded |= !checks[i].up;
	}

	if (health_brief(ctx, db_down ? "error" : degraded ? "degraded" : "ok",
	    db_down ? 503 : 200))
		return;

	j = api_out(ctx);
	json_obj_open(j);
	json_kstr(j, "status", db_down ? "error" : degraded ? "degraded" : "ok");

	json_key(j, "info");
	json_obj_open(j);
	for (i = 0; i < n; i++) {
		if (checks[i].up)
			health_entry(j, &checks[i]);
	}
	json_obj_close(j);

	json_key(j, "error");
	json_obj_open(j);
	for (i = 0; i < n; i++) {
		if (!checks[i].up)
			health_entry(j, &checks[i]);
	}
	json_obj_close(j);

	json_key(j, "details");
	json_obj_open(j);
	for (i = 0; i < n; i++)
		health_entry(j, &checks[i]);
	json_obj_close(j);

	json_iso8601(core_now_ms(), ts, sizeof(ts));
	json_kstr(j, "timestamp", ts);
	json_obj_close(j);

	api_reply(ctx, db_down ? 503 : 200);
}

/* The answer for anonymous callers: {"status": ...}; 1 if it was one. */
static int
health_brief(struct api_ctx *ctx, const char *status, int code)
{
	struct json	*j;

	if (api_metrics_caller(ctx))
		return (0);

	j = api_out(ctx);
	json_obj_open(j);
	json_kstr(j, "status", status);
	json_obj_close(j);
	api_reply(ctx, code);

	return (1);
}

static void
health_entry(struct json *j, const struct health_check *c)
{
	char		ts[32];

	json_key(j, c->name);
	json_obj_open(j);
	json_kstr(j, "status", c->up ? "up" : "down");
	json_kint(j, "responseTimeMs", c->ms);

	if (!strcmp(c->name, "mongodb")) {
		json_kstr(j, "state", c->up ? "connected" : "disconnected");
		json_kstr(j, "database", c->database);
		json_kstr(j, "host", c->host);
		json_kint(j, "port", c->port);
	} else {
		json_iso8601(core_now_ms(), ts, sizeof(ts));
		json_kstr(j, "connectionStatus",
		    c->up ? "connected" : "disconnected");
		if (c->up)
			json_kstr(j, "ping", "PONG");
		json_kstr(j, "host", c->host);
		json_kint(j, "port", c->port);
		json_kstr(j, "lastChecked", ts);
	}

	json_obj_close(j);
}
