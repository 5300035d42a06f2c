/*
 * The event bus (placeholder until the realtime layer lands): logs the
 * events domain operations publish.
 */

#include <sys/types.h>

#include "app/app.h"
#include "domain/events.h"

void
bus_publish(struct evq *q)
{
	struct evt	*e;

	TAILQ_FOREACH(e, q, list) {
		if (e->kind == EVT_EMIT)
			app_log("bus: %s -> %s", e->name, e->room);
		else
			app_log("bus: %s %s -> %s",
			    e->kind == EVT_JOIN ? "join" : "leave",
			    e->room, e->arg);
	}
}

void
rt_worker_init(void)
{
}

void
rt_worker_teardown(void)
{
}

void
rt_tick(u_int64_t now)
{
	(void)now;
}
