/*
 * Dependency checks (see health.h).
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include "cache/redis.h"
#include "core/config.h"
#include "domain/health.h"
#include "store/store.h"

int
health_ping(int which, struct health_check *checks)
{
	struct health_check	*c;
	int			n;

	n = 0;
	if (which & HEALTH_DB) {
		c = &checks[n++];
		memset(c, 0, sizeof(*c));
		c->name = "mongodb";
		c->required = 1;
		c->up = store_ping(&c->ms) == STORE_OK;
		store_host(c->host, sizeof(c->host), &c->port);
		c->database = store_dbname();
	}
	if (which & HEALTH_REDIS) {
		c = &checks[n++];
		memset(c, 0, sizeof(*c));
		c->name = "redis";
		c->up = cache_ping(&c->ms) == 0;
		(void)snprintf(c->host, sizeof(c->host), "%s", cfg.redis_host);
		c->port = cfg.redis_port;
	}

	return (n);
}
