/*
 * The realtime layer's Kore hooks: the page handlers of the Engine.IO
 * routes and the per-worker init/tick/teardown app.c calls.
 */

#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "app/app.h"
#include "chat/chat.h"
#include "core/config.h"
#include "core/core.h"
#include "engineio/eio.h"
#include "http/cors.h"
#include "socketio/bus.h"
#include "socketio/conformance.h"
#include "socketio/sio.h"

int	rt_socketio(struct http_request *);
int	rt_engineio(struct http_request *);

/* route /socket.io/ */
int
rt_socketio(struct http_request *req)
{
	return (eio_http(req, &sio_eio_server));
}

/* route /engine.io/ (conformance fixture only: a raw echo) */
int
rt_engineio(struct http_request *req)
{
	if (cfg.mode != CONFIG_MODE_CONFORMANCE) {
		http_response(req, 404, NULL, 0);
		return (KORE_RESULT_OK);
	}

	return (eio_http(req, &conformance_echo_server));
}

/* CORS_ORIGINS, for polling and the WebSocket handshake alike. */
static const struct eio_hooks	rt_eio_hooks = {
	cors_headers,
	cors_preflight,
	config_origin_allowed
};

void
rt_worker_init(void)
{
	eio_init(&rt_eio_hooks);
	sio_init();
	bus_init();

	/*
	 * Namespaces register here, in every worker. The chat layer adds
	 * its /chat registration next to this.
	 */
	if (cfg.mode == CONFIG_MODE_CONFORMANCE)
		conformance_init();
	else
		chat_init();
}

void
rt_worker_teardown(void)
{
	if (cfg.mode == CONFIG_MODE_SERVER)
		chat_teardown();
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
	if (cfg.mode == CONFIG_MODE_SERVER)
		chat_tick(now);
}
