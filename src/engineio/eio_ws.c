/*
 * Endpoints and WebSocket writes (see eio_internal.h): answering the
 * request or writing to the connection behind an endpoint, local or
 * relayed; Kore's WebSocket callbacks; frames written once per loop
 * pass; clients that stop reading.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "core/core.h"
#include "core/kx.h"
#include "core/peer.h"
#include "engineio/eio.h"
#include "engineio/eio_internal.h"
#include "engineio/eio_packet.h"
#include "engineio/ws_reader.h"
#include "lib/json.h"

static int	ws_backlogged(struct connection *);
static void	ws_send(struct connection *, u_int8_t, const void *, size_t);
static void	ws_flush_fire(void *, u_int64_t);
static void	ep_answer_to(void *, int, int, const void *, size_t);

static TAILQ_HEAD(, eio_wsconn)	dirty_q;
static int			flush_pending;

void
ws_init(void)
{
	TAILQ_INIT(&dirty_q);
	flush_pending = 0;
}

/* Kore WebSocket callbacks (looked up by name at every handshake). */
void
rt_ws_connect(struct connection *c)
{
	struct eio_wsconn	*wc = c->hdlr_extra;
	struct eio_session	*s;
	struct json		j;
	const u_int8_t		*d;
	size_t			len;

	if (wc == NULL || wc->kind != WS_LOCAL || (s = wc->sess) == NULL)
		return;
	if (s->ws.kind != EP_LOCAL || s->ws.c != c || s->opened)
		return;

	eio_open_json(&j, s, 0);
	d = json_data(&j, &len);
	ep_ws_text(&s->ws, EIO_OPEN, d, len);
	json_free(&j);

	sess_opened(s);
}

void
rt_ws_message(struct connection *c, u_int8_t op, const void *data,
    size_t len)
{
	struct eio_wsconn	*wc = c->hdlr_extra;
	struct eio_session	*s;

	if (wc == NULL)
		return;

	if (wc->kind == WS_PROXY) {
		if (wc->relay != NULL) {
			relay_send(wc->relay->owner, peer_generation(),
			    wc->relay->id, OP_WS_FRAME, 0, op, wc->relay->sid,
			    data, len);
		}
		return;
	}

	if ((s = wc->sess) == NULL)
		return;

	if (s->ws.kind == EP_LOCAL && s->ws.c == c)
		sess_ws_frame(s, &s->ws, op, data, len);
	else if (s->probe.kind == EP_LOCAL && s->probe.c == c)
		sess_ws_frame(s, &s->probe, op, data, len);
}

void
rt_ws_disconnect(struct connection *c)
{
	struct eio_wsconn	*wc = c->hdlr_extra;
	struct eio_session	*s;

	wsr_release(c);
	if (wc == NULL)
		return;

	/*
	 * Kore frees c and wc once this returns; the CLOSE frame it sends
	 * next flushes what is still queued.
	 */
	ws_clean(wc);

	if (wc->kind == WS_PROXY) {
		if (wc->relay != NULL) {
			relay_up(wc->relay, OP_WS_CLOSED, NULL, 0);
			relay_free(wc->relay);
			wc->relay = NULL;
		}
		return;
	}

	if ((s = wc->sess) == NULL)
		return;
	wc->sess = NULL;

	if (s->ws.kind == EP_LOCAL && s->ws.c == c)
		sess_ws_gone(s, &s->ws);
	else if (s->probe.kind == EP_LOCAL && s->probe.c == c)
		sess_ws_gone(s, &s->probe);
}

int
ep_match(struct eio_ep *a, struct eio_ep *b)
{
	return (a->kind == EP_REMOTE && b->kind == EP_REMOTE &&
	    a->worker == b->worker && a->gen == b->gen &&
	    a->relay == b->relay);
}

/* Answers the HTTP request behind an endpoint (local or relayed). */
void
ep_answer(struct eio_ep *ep, int status, int ctype, const void *data,
    size_t len)
{
	struct eio_req	*st;

	if (ep->kind == EP_REMOTE) {
		relay_down(ep, OP_REPLY, status, ctype, data, len);
		return;
	}

	if (ep->kind != EP_LOCAL || ep->req == NULL ||
	    !http_state_exists(ep->req))
		return;

	st = http_state_get(ep->req);
	if (st->done)
		return;
	/* Only an accepted upgrade still needs the session (eio_finish). */
	if (status != 101)
		st->sess = NULL;
	st->done = 1;
	st->status = status;
	st->ctype = ctype;
	st->body.len = 0;
	eio_buf_add(&st->body, data, len);
	wake(ep->req);
}

void
ep_error(struct eio_ep *ep, int code)
{
	eio_error_to(code, ep_answer_to, ep);
}

static void
ep_answer_to(void *ep, int status, int ctype, const void *data, size_t len)
{
	ep_answer(ep, status, ctype, data, len);
}

void
ep_ws_send(struct eio_ep *ep, int op, const void *data, size_t len)
{
	if (ep->kind == EP_LOCAL)
		ws_send_capped(ep->c, op, data, len);
	else if (ep->kind == EP_REMOTE)
		relay_down(ep, OP_WS_SEND, 0, op, data, len);
}

void
ep_ws_text(struct eio_ep *ep, int type, const void *data, size_t len)
{
	u_int8_t	small[128], *buf;

	buf = (len + 1 <= sizeof(small)) ? small : kore_malloc(len + 1);
	buf[0] = '0' + type;
	if (len > 0)
		memcpy(buf + 1, data, len);
	ep_ws_send(ep, WEBSOCKET_OP_TEXT, buf, len + 1);
	if (buf != small)
		kore_free(buf);
}

void
ep_ws_close(struct eio_ep *ep)
{
	struct eio_wsconn	*wc;

	if (ep->kind == EP_LOCAL && ep->c != NULL) {
		if ((wc = ep->c->hdlr_extra) != NULL)
			wc->sess = NULL;
		kore_connection_disconnect(ep->c);
	} else if (ep->kind == EP_REMOTE) {
		relay_down(ep, OP_WS_KILL, 0, 0, NULL, 0);
	}

	memset(ep, 0, sizeof(*ep));
}

/*
 * A frame for a WebSocket of ours, the session's or one we proxy,
 * unless its client stopped reading: then it is dropped.
 */
void
ws_send_capped(struct connection *c, u_int8_t op, const void *data,
    size_t len)
{
	struct eio_wsconn	*wc = c->hdlr_extra;

	if (wc != NULL && wc->dropped)
		return;

	if (ws_backlogged(c)) {
		if (wc != NULL)
			wc->dropped = 1;
		/*
		 * Not kore_connection_disconnect(): that would end the
		 * session right here, maybe in the middle of a room
		 * broadcast. The loop notices the shutdown.
		 */
		core_log("eio: dropping a websocket client that does not "
		    "read (over %u bytes queued)", eio_conf.socket_queue_max);
		(void)shutdown(c->fd, SHUT_RDWR);
		return;
	}

	ws_send(c, op, data, len);
}

/*
 * Normally the queue holds only this pass's frames (ws_send), packed
 * into netbufs of up to 8 KiB, so the byte limit is the one that bites.
 */
static int
ws_backlogged(struct connection *c)
{
	return (kx_conn_backlogged(c, eio_conf.socket_queue_max,
	    WS_BACKLOG_FRAMES));
}

/*
 * kore_websocket_send() writes every frame with its own write(2): a
 * room broadcast of N events to M sockets cost N x M syscalls. Instead
 * the frame is appended to the connection's send queue (net_send_queue
 * packs it into the last netbuf) and the connection is flushed once,
 * by a 0 ms timer, after everything this loop pass produced.
 * Server frames are not masked: FIN|opcode, length, payload.
 */
static void
ws_send(struct connection *c, u_int8_t op, const void *data, size_t len)
{
	struct eio_wsconn	*wc = c->hdlr_extra;
	u_int8_t		hdr[4];
	size_t			hlen;

	if (wc == NULL || !kx_conn_established(c) || len > WS_COALESCE_MAX) {
		kore_websocket_send(c, op, data, len);
		return;
	}

	hdr[0] = 0x80 | op;
	if (len < 126) {
		hdr[1] = len;
		hlen = 2;
	} else {
		hdr[1] = 126;
		hdr[2] = (len >> 8) & 0xff;
		hdr[3] = len & 0xff;
		hlen = 4;
	}
	kx_conn_queue(c, hdr, hlen);
	if (len > 0)
		kx_conn_queue(c, data, len);

	if (!wc->dirty) {
		wc->dirty = 1;
		TAILQ_INSERT_TAIL(&dirty_q, wc, dlist);
	}
	if (!flush_pending) {
		flush_pending = 1;
		(void)kore_timer_add(ws_flush_fire, 0, NULL,
		    KORE_TIMER_ONESHOT);
	}
}

void
ws_clean(struct eio_wsconn *wc)
{
	if (wc->dirty) {
		TAILQ_REMOVE(&dirty_q, wc, dlist);
		wc->dirty = 0;
	}
	if (wc->write_held) {
		kx_conn_release_write(wc->c);
		wc->write_held = 0;
	}
}

/*
 * A failed write is handled as Kore's own loop does: disconnect. That
 * can run session code that queues frames for other connections; they
 * join dirty_q and are flushed by this same loop.
 */
static void
ws_flush_fire(void *arg, u_int64_t now)
{
	struct eio_wsconn	*wc;

	flush_pending = 0;
	while ((wc = TAILQ_FIRST(&dirty_q)) != NULL) {
		ws_clean(wc);
		if (!kx_conn_flush(wc->c))
			kore_connection_disconnect(wc->c);
	}
}

/*
 * Kore flushes a connection's send queue whenever it handles an event
 * on it while the socket is writable. A client whose frames were read
 * after its peer's in the same pass was then written twice: once when
 * its own read came (its acks so far), once at the end (the rest).
 * After a read, a connection with frames waiting for ws_flush_fire()
 * hides its writability from Kore until then: one send per pass.
 */
void
ws_hold_writes(struct connection *c)
{
	struct eio_wsconn	*wc = c->hdlr_extra;

	if (wc != NULL && wc->dirty && kx_conn_hold_write(c))
		wc->write_held = 1;
}
