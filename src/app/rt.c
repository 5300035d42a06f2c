/*
 * The realtime layer's Kore hooks: the page handler of the Socket.IO
 * route and the per-worker init/tick/teardown app.c calls. What runs on
 * top (the chat, or the conformance fixture's reference servers) is
 * chosen at link time: rt_app.h.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "app/app.h"
#include "app/rt_app.h"
#include "chat/chat.h"
#include "core/config.h"
#include "core/core.h"
#include "core/kx.h"
#include "domain/events.h"
#include "engineio/eio.h"
#include "http/cors.h"
#include "socketio/bus.h"
#include "socketio/sio.h"

/* Between the nodes of one deployment. */
#define RT_BUS_CHANNEL		"lnk-chat:bus"

int	rt_socketio(struct http_request *);

static void	rt_publish(struct evq *);

/* route /socket.io/ */
int
rt_socketio(struct http_request *req)
{
	return (eio_http(req, &sio_eio_server));
}

/*
 * The transport and protocol layers read no configuration: what they
 * need of it is handed to their init calls here. CORS_ORIGINS applies
 * to polling and to the WebSocket handshake alike.
 */
void
rt_worker_init(void)
{
	struct eio_config	ec;
	struct sio_config	sc;
	struct bus_config	bc;
	const char		*v;

	/* The module reaches into Kore 4.1.0's internals (core/kx.h). */
	kx_check();

	memset(&ec, 0, sizeof(ec));
	ec.ping_interval = cfg.ping_interval;
	ec.ping_timeout = cfg.ping_timeout;
	ec.max_payload = cfg.max_payload;
	ec.socket_queue_max = cfg.socket_queue_max;
	ec.hooks.cors_headers = cors_headers;
	ec.hooks.cors_preflight = cors_preflight;
	ec.hooks.origin_allowed = config_origin_allowed;
	eio_init(&ec);

	memset(&sc, 0, sizeof(sc));
	sc.connect_timeout = cfg.connect_timeout;
	sio_init(&sc);

	/* The conformance fixture joins a Redis only when told to. */
	memset(&bc, 0, sizeof(bc));
	bc.nsp = CHAT_NAMESPACE;
	v = getenv("REDIS_HOST");
	if (cfg.mode == CONFIG_MODE_SERVER || (v != NULL && *v != '\0'))
		bc.redis_channel = RT_BUS_CHANNEL;
	bus_init(&bc);

	/* What domain operations announce goes out on the bus. */
	evq_set_sink(rt_publish);

	/* Namespaces register here, in every worker. */
	rt_app_init();
}

void
rt_worker_teardown(void)
{
	rt_app_teardown();
	eio_teardown();
	sio_teardown();
	bus_teardown();
}

void
rt_tick(u_int64_t now)
{
	eio_tick(now);
	sio_tick(now);
	bus_tick(now);
	rt_app_tick(now);
}

/* A domain event queue as one bus batch, in order, for /chat. */
static void
rt_publish(struct evq *q)
{
	struct bus_batch	b;
	struct evt		*e;

	bus_batch_init(&b);
	TAILQ_FOREACH(e, q, list) {
		switch (e->kind) {
		case EVT_EMIT:
			bus_batch_emit(&b, CHAT_NAMESPACE, e->room, e->name,
			    e->data, e->len);
			break;
		case EVT_JOIN:
			bus_batch_join(&b, CHAT_NAMESPACE, e->room, e->arg);
			break;
		case EVT_LEAVE:
			bus_batch_leave(&b, CHAT_NAMESPACE, e->room, e->arg);
			break;
		case EVT_NOTE:
			bus_batch_note(&b, CHAT_NAMESPACE, e->room, e->arg);
			break;
		}
	}
	bus_batch_send(&b);
}
