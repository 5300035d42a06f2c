/*
 * Engine.IO v4 server on Kore (see eio.h): the calls the layer above
 * makes. Behaviour follows the reference server (engine.io 6.x) as the
 * official test suite checks it; see shared/notes/socketio-protocol.md
 * §1. How the rest is split: eio_internal.h.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "engineio/eio.h"
#include "engineio/eio_internal.h"
#include "engineio/eio_packet.h"

struct eio_config	eio_conf;

void
eio_init(const struct eio_config *conf)
{
	eio_conf = *conf;

	sess_init();
	relay_init();
	timer_init();
	ws_init();
}

void
eio_teardown(void)
{
	sess_teardown();
}

/*
 * The 1 s tick: closing sessions whose last GET never came, upgrades
 * that never finished, relayed requests the owner never answered, and
 * the memory of closed sessions (kept until now because callers up the
 * stack may still hold them).
 */
void
eio_tick(u_int64_t unused)
{
	u_int64_t	now;

	now = kore_time_ms();
	sess_tick_closing(now);
	timer_tick_upgrades(now);
	relay_tick(now);
	sess_reap();
}

void
eio_send(struct eio_session *s, const void *data, size_t len, int flags)
{
	const u_int8_t	*p = data;

	if (s->state != S_OPEN)
		return;

	if (flags & EIO_SEND_PREFIXED) {
		p++;
		len--;
	}

	if (s->transport == T_WEBSOCKET && s->ws.kind != EP_NONE) {
		if (flags & EIO_SEND_BINARY)
			ep_ws_send(&s->ws, WEBSOCKET_OP_BINARY, p, len);
		else if (flags & EIO_SEND_PREFIXED)
			ep_ws_send(&s->ws, WEBSOCKET_OP_TEXT, data, len + 1);
		else
			ep_ws_text(&s->ws, EIO_MESSAGE, p, len);
		return;
	}

	sess_queue(s, EIO_MESSAGE, (flags & EIO_SEND_BINARY) != 0, p, len);
	sess_flush(s);
}

void
eio_close(struct eio_session *s, const char *reason)
{
	if (s->state != S_OPEN)
		return;

	/* Polling without a parked GET: the next GET gets the rest + "1". */
	if (s->transport == T_POLLING && s->poll.kind == EP_NONE &&
	    s->probe.kind == EP_NONE) {
		sess_linger(s, EIO_CLOSE, reason);
		return;
	}

	sess_destroy(s, reason, EIO_CLOSE);
}

void
eio_set_data(struct eio_session *s, void *data)
{
	s->udata = data;
}

void *
eio_data(struct eio_session *s)
{
	return (s->udata);
}

const char *
eio_handshake_query(struct eio_session *s)
{
	return (s->query != NULL ? s->query : "");
}

const char *
eio_handshake_authorization(struct eio_session *s)
{
	return (s->authorization);
}

const char *
eio_remote_addr(struct eio_session *s)
{
	return (s->addr);
}
