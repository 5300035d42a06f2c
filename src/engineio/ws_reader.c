/*
 * WebSocket frame reader on Kore's receive netbuf (see ws_reader.h).
 *
 * The netbuf of an installed connection always points at wsr_buf with
 * NETBUF_CALL_CB_ALWAYS, so net_recv_flush() calls wsr_recv() after
 * every read. wsr_recv() hands out the complete frames and copies a
 * trailing partial frame to the connection's carry buffer; the next
 * read is appended to the carry and parsed from there.
 *
 * A worker runs one connection's callbacks at a time and no ws_message
 * handler reads from another WebSocket connection, so the one buffer
 * is never filled while frames in it are still being handed out.
 */

#include <sys/types.h>

#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "core/kx.h"
#include "engineio/ws_frame.h"
#include "engineio/ws_reader.h"

#define WSR_BUFSZ	65536

static int	wsr_recv(struct netbuf *);
static ssize_t	wsr_frame(struct connection *, struct wsr *, u_int8_t *,
		    size_t);
static int	wsr_data(struct connection *, struct wsr *,
		    const struct ws_frame *, const u_int8_t *);
static void	wsr_deliver(struct connection *, u_int8_t, const u_int8_t *,
		    size_t);
static void	wsr_close(struct connection *, const u_int8_t *, size_t);
static void	wsr_fail(struct connection *, u_int16_t);
static void	wsr_carry(struct wsr *, const u_int8_t *, size_t, size_t);
static void	wsr_free(struct wsr *);

static u_int8_t		wsr_buf[WSR_BUFSZ];

void
wsr_install(struct connection *c, struct wsr *r,
    void (*drained)(struct connection *))
{
	memset(r, 0, sizeof(*r));
	r->drained = drained;

	/* The connect callback may have closed it already. */
	if (!kx_ws_open(c))
		return;

	/* Kore's header-sized buffer from the HTTP request is not needed. */
	kx_rnb_take(c, wsr_buf, WSR_BUFSZ, wsr_recv, r);
}

void
wsr_release(struct connection *c)
{
	struct wsr	*r;

	if ((r = kx_rnb_give_back(c, wsr_recv)) == NULL)
		return;

	r->released = 1;
	if (!r->busy)
		wsr_free(r);
}

static int
wsr_recv(struct netbuf *nb)
{
	struct connection	*c = kx_rnb_conn(nb);
	struct wsr		*r = kx_rnb_arg(nb);
	u_int8_t		*data;
	size_t			n, off, got;
	ssize_t			step;

	got = kx_rnb_consume(nb);

	if (r->carry != NULL) {
		kore_buf_append(r->carry, wsr_buf, got);
		data = r->carry->data;
		n = r->carry->offset;
	} else {
		data = wsr_buf;
		n = got;
	}

	r->busy = 1;
	off = 0;
	step = 0;
	while (off < n && !r->released) {
		if ((step = wsr_frame(c, r, data + off, n - off)) <= 0)
			break;
		off += step;
	}
	r->busy = 0;

	/* A handler or a CLOSE disconnected: the netbuf is Kore's again. */
	if (r->released) {
		wsr_free(r);
		return (KORE_RESULT_OK);
	}
	if (step == -1)
		return (KORE_RESULT_ERROR);

	wsr_carry(r, data, off, n);
	if (r->drained != NULL)
		r->drained(c);

	/*
	 * A short read drained the socket: skip the recv(2) that would
	 * only say EAGAIN. The socket is edge-triggered, so bytes that
	 * arrive from now on raise a new read event. Not with TLS in Kore:
	 * SSL_read returns a record at a time and may hold more already.
	 */
	if (got < WSR_BUFSZ && kx_conn_plain(c))
		kx_conn_pause_read(c);

	return (KORE_RESULT_OK);
}

/* Bytes used by the frame at p, 0 when it is not complete, -1 to close. */
static ssize_t
wsr_frame(struct connection *c, struct wsr *r, u_int8_t *p, size_t avail)
{
	struct ws_frame		f;
	u_int8_t		*payload;

	switch (ws_frame_header(p, avail, kore_websocket_maxframe, &f)) {
	case WS_FRAME_OK:
		break;
	case WS_FRAME_MORE:
		return (0);
	case WS_FRAME_TOOBIG:
		wsr_fail(c, WS_CLOSE_TOOBIG);
		return (-1);
	default:
		wsr_fail(c, WS_CLOSE_PROTOCOL);
		return (-1);
	}

	if (avail - f.hlen < f.len)
		return (0);

	payload = p + f.hlen;
	ws_frame_unmask(payload, f.len, f.mask);

	switch (f.op) {
	case WS_OP_TEXT:
	case WS_OP_BINARY:
	case WS_OP_CONT:
		if (wsr_data(c, r, &f, payload) == -1)
			return (-1);
		break;
	case WS_OP_PING:
		kore_websocket_send(c, WEBSOCKET_OP_PONG, payload, f.len);
		break;
	case WS_OP_PONG:
		break;
	case WS_OP_CLOSE:
		wsr_close(c, payload, f.len);
		break;
	}

	return (f.hlen + f.len);
}

/* A data frame: a whole message, or one fragment of it (§5.4). */
static int
wsr_data(struct connection *c, struct wsr *r, const struct ws_frame *f,
    const u_int8_t *payload)
{
	struct kore_buf	*msg;

	if (f->op != WS_OP_CONT) {
		if (r->frag != NULL) {
			wsr_fail(c, WS_CLOSE_PROTOCOL);
			return (-1);
		}
		if (f->fin) {
			wsr_deliver(c, f->op, payload, f->len);
			return (0);
		}
		r->frag = kore_buf_alloc(f->len > 0 ? f->len : 128);
		r->frag_op = f->op;
		kore_buf_append(r->frag, payload, f->len);
		return (0);
	}

	if (r->frag == NULL) {
		wsr_fail(c, WS_CLOSE_PROTOCOL);
		return (-1);
	}
	if (r->frag->offset + f->len > kore_websocket_maxframe) {
		wsr_fail(c, WS_CLOSE_TOOBIG);
		return (-1);
	}
	kore_buf_append(r->frag, payload, f->len);
	if (f->fin) {
		/* The handler may disconnect: take the buffer first. */
		msg = r->frag;
		r->frag = NULL;
		wsr_deliver(c, r->frag_op, msg->data, msg->offset);
		kore_buf_free(msg);
	}

	return (0);
}

static void
wsr_deliver(struct connection *c, u_int8_t op, const u_int8_t *data,
    size_t len)
{
	kx_ws_deliver(c, op, data, len);
}

/* The peer closes: echo its status code, then drop the connection. */
static void
wsr_close(struct connection *c, const u_int8_t *payload, size_t len)
{
	kx_conn_pause_read(c);
	if (kx_ws_close_once(c)) {
		kore_websocket_send(c, WEBSOCKET_OP_CLOSE, payload,
		    len >= 2 ? 2 : 0);
	}
	kore_connection_disconnect(c);
}

/* Our side closes with a status code; Kore drops the connection next. */
static void
wsr_fail(struct connection *c, u_int16_t code)
{
	u_int8_t	b[2];

	kx_conn_pause_read(c);
	if (kx_ws_close_once(c)) {
		b[0] = code >> 8;
		b[1] = code & 0xff;
		kore_websocket_send(c, WEBSOCKET_OP_CLOSE, b, sizeof(b));
	}
}

/* Keeps data[off..n) for the next read; frees the carry once empty. */
static void
wsr_carry(struct wsr *r, const u_int8_t *data, size_t off, size_t n)
{
	if (r->carry != NULL) {
		if (off == n) {
			kore_buf_free(r->carry);
			r->carry = NULL;
		} else if (off > 0) {
			memmove(r->carry->data, r->carry->data + off, n - off);
			r->carry->offset = n - off;
		}
		return;
	}

	if (off < n) {
		r->carry = kore_buf_alloc(n - off < 1024 ? 1024 : n - off);
		kore_buf_append(r->carry, data + off, n - off);
	}
}

static void
wsr_free(struct wsr *r)
{
	if (r->carry != NULL) {
		kore_buf_free(r->carry);
		r->carry = NULL;
	}
	if (r->frag != NULL) {
		kore_buf_free(r->frag);
		r->frag = NULL;
	}
}
