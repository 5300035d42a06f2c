/*
 * Kore 4.1.0's internals (see kx.h). Each function says which internal
 * it touches and why the module needs it.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "core/kx.h"

/* kore_version (version.c): the Kore this worker runs in. */
void
kx_check(void)
{
	if (strncmp(kore_version, KX_KORE_VERSION,
	    strlen(KX_KORE_VERSION)) != 0) {
		fatal("src/core/kx.c is written for Kore %s*, this is %s",
		    KX_KORE_VERSION, kore_version);
	}
}

/*
 * worker_count counts Kore's own keymgr and acme slots too: the
 * application's workers are worker_count - KORE_WORKER_BASE, with ids
 * 1..that.
 */
u_int16_t
kx_worker_count(void)
{
	return (worker_count - KORE_WORKER_BASE);
}

/* worker->id: this worker's id, 1..kx_worker_count(). */
u_int16_t
kx_worker_id(void)
{
	return (worker->id);
}

/*
 * kore_msg_send() copies its data into one buffer; queueing the pieces
 * on the worker's message channel (worker->msg[1]) sends a header and
 * a body without the copy. kx_msg_flush() writes them.
 */
void
kx_msg_queue(const void *data, size_t len)
{
	net_send_queue(worker->msg[1], data, len);
}

void
kx_msg_flush(void)
{
	net_send_flush(worker->msg[1]);
}

/* c->state: not yet closing. */
int
kx_conn_established(struct connection *c)
{
	return (c->state == CONN_STATE_ESTABLISHED);
}

/* c->read: net_read() is plain TCP; with TLS Kore reads records. */
int
kx_conn_plain(struct connection *c)
{
	return (c->read == net_read);
}

/*
 * c->evt.flags: Kore reads a connection while KORE_EVENT_READ is set.
 * Clearing it stops reads until the next edge-triggered read event: a
 * drained socket skips the recv(2) that would say EAGAIN, a closing
 * one reads no more.
 */
void
kx_conn_pause_read(struct connection *c)
{
	c->evt.flags &= ~KORE_EVENT_READ;
}

/*
 * c->evt.flags: Kore flushes a connection's send queue whenever it
 * handles an event on it while KORE_EVENT_WRITE is set. Hiding it
 * until kx_conn_release_write() makes frames queued in one loop pass go
 * out in one write (src/engineio/eio_ws.c). Returns 1 when it hid it.
 */
int
kx_conn_hold_write(struct connection *c)
{
	if (!(c->evt.flags & KORE_EVENT_WRITE))
		return (0);

	c->evt.flags &= ~KORE_EVENT_WRITE;
	return (1);
}

void
kx_conn_release_write(struct connection *c)
{
	c->evt.flags |= KORE_EVENT_WRITE;
}

/*
 * net_send_queue(): appends to the connection's send queue, packing
 * small writes into its last netbuf, without writing; kx_conn_flush()
 * (net_send_flush()) writes. 0 from kx_conn_flush(): a failed write,
 * disconnect as Kore's own loop does.
 */
void
kx_conn_queue(struct connection *c, const void *data, size_t len)
{
	net_send_queue(c, data, len);
}

int
kx_conn_flush(struct connection *c)
{
	return (net_send_flush(c) == KORE_RESULT_OK);
}

/* c->send_queue: whether an answer is still being written. */
int
kx_conn_sending(struct connection *c)
{
	return (!TAILQ_EMPTY(&c->send_queue));
}

/*
 * c->send_queue: whether more than max_bytes or max_bufs netbufs wait
 * to be written, i.e. the client stopped reading.
 */
int
kx_conn_backlogged(struct connection *c, size_t max_bytes, int max_bufs)
{
	struct netbuf	*nb;
	size_t		bytes;
	int		n;

	if (c->state != CONN_STATE_ESTABLISHED)
		return (0);

	bytes = 0;
	n = 0;
	TAILQ_FOREACH(nb, &c->send_queue, list) {
		bytes += nb->b_len - nb->s_off;
		if (bytes > max_bytes || ++n > max_bufs)
			return (1);
	}

	return (0);
}

/* c->proto, c->state: an open WebSocket (a callback may have closed it). */
int
kx_ws_open(struct connection *c)
{
	return (c->proto == CONN_PROTO_WEBSOCKET &&
	    c->state == CONN_STATE_ESTABLISHED);
}

/*
 * c->flags CONN_WS_CLOSE_SENT: Kore's own mark that a CLOSE frame went
 * out. 1 (and marked) when this is the first, so exactly one is sent.
 */
int
kx_ws_close_once(struct connection *c)
{
	if (c->flags & CONN_WS_CLOSE_SENT)
		return (0);

	c->flags |= CONN_WS_CLOSE_SENT;
	return (1);
}

/* c->ws_message, kore_runtime_wsmessage(): the handshake's callback. */
void
kx_ws_deliver(struct connection *c, u_int8_t op, const void *data,
    size_t len)
{
	if (c->ws_message != NULL)
		kore_runtime_wsmessage(c->ws_message, c, op, data, len);
}

/*
 * c->rnb: the connection's receive netbuf. Reads go into buf (len
 * bytes, the caller's) and cb runs after every read
 * (NETBUF_CALL_CB_ALWAYS) with arg; Kore's own buffer is freed. Used
 * for the one read buffer per worker of src/engineio/ws_reader.c.
 */
void
kx_rnb_take(struct connection *c, u_int8_t *buf, size_t len,
    int (*cb)(struct netbuf *), void *arg)
{
	struct netbuf	*nb = c->rnb;

	kore_free(nb->buf);
	nb->buf = buf;
	nb->m_len = len;
	nb->b_len = len;
	nb->s_off = 0;
	nb->extra = arg;
	nb->cb = cb;
	nb->flags |= NETBUF_CALL_CB_ALWAYS;
}

/*
 * Undoes kx_rnb_take() before Kore frees the connection, so that it
 * does not free the caller's buffer. Returns the arg, or NULL when the
 * netbuf is not (or no longer) taken with cb.
 */
void *
kx_rnb_give_back(struct connection *c, int (*cb)(struct netbuf *))
{
	struct netbuf	*nb = c->rnb;
	void		*arg;

	if (nb == NULL || nb->cb != cb)
		return (NULL);

	arg = nb->extra;
	nb->buf = NULL;
	nb->b_len = 0;
	nb->m_len = 0;
	nb->s_off = 0;
	nb->cb = NULL;
	nb->extra = NULL;

	return (arg);
}

/* nb->s_off: the bytes read into the buffer; the next read starts over. */
size_t
kx_rnb_consume(struct netbuf *nb)
{
	size_t		got;

	got = nb->s_off;
	nb->s_off = 0;

	return (got);
}

/* nb->owner, nb->extra: in the netbuf's callback. */
struct connection *
kx_rnb_conn(struct netbuf *nb)
{
	return (nb->owner);
}

void *
kx_rnb_arg(struct netbuf *nb)
{
	return (nb->extra);
}
