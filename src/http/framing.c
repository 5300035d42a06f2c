/*
 * HTTP/1.1 message framing on Kore's connections (RFC 9112 §6.3).
 *
 * Kore 4.1.0 parses requests itself and takes what it reads on trust:
 * the first of two Content-Length fields, strtoll()'s "+27", no word
 * of Transfer-Encoding, no body for GET or DELETE (one sent along passes
 * for the next request), and it keeps the bytes after a request read in
 * one go: a GET's are lost, and a POST's push its body count below zero,
 * so the connection waits, silent, for the body timeout. Behind a proxy
 * that frames the same bytes otherwise, that is how requests are
 * smuggled; and a head over http_header_max is a bare TCP reset.
 *
 * So every connection reads through framing_read(). Before Kore parses
 * a head, the bytes in the socket are looked at (MSG_PEEK) and read up
 * to the end of this request only, once lib/reqhead.c has found where
 * that is and that the framing is sound. What follows stays in the
 * socket, and Kore reads it after the response as the next request:
 * pipelined requests are answered in order. A head refused is answered
 * here (400, 411, 413, 414 or 431) and the connection closed.
 *
 * Here, and nowhere else, the module reaches into Kore's connections:
 * the listener's connect callback, c->read, the receive netbuf c->rnb,
 * http_header_recv(), c->http_requests, the send queue and
 * CONN_CLOSE_EMPTY, all as declared by Kore 4.1.0's kore.h and http.h.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "core/kx.h"
#include "http/api.h"
#include "lib/json.h"
#include "lib/reqhead.h"

/* Exported: app.c names it as the listener's connect callback. */
void	framing_connect(struct connection *);

static int	framing_read(struct connection *, size_t *);
static int	framing_head_read(struct connection *, size_t *);
static size_t	framing_want(struct netbuf *, size_t);
static int	framing_head(struct netbuf *);
static int	framing_busy(struct connection *);
static void	framing_hold(struct netbuf *);
static int	framing_held(struct netbuf *);
static int	framing_drain(struct netbuf *);
static int	framing_drain_read(struct connection *, size_t *);
static void	framing_refuse(struct connection *, int, const char *);
static int	framing_refused(struct netbuf *);
static struct http_request *framing_newest(struct connection *);
static void	framing_defaults(struct http_request *);
static void	framing_limits(struct reqhead_limits *);
static void	framing_kick(void *, u_int64_t);

void
framing_connect(struct connection *c)
{
	/* What kore_connection_accept() does without a connect callback. */
	c->proto = CONN_PROTO_HTTP;
	if (http_keepalive_time != 0)
		c->idle_timer.length = http_keepalive_time * 1000;
	net_recv_queue(c, http_header_max, NETBUF_CALL_CB_ALWAYS,
	    http_header_recv);

	c->read = framing_read;
}

/*
 * net_recv_flush() calls c->read and then the netbuf's callback, which
 * Kore sets back to http_header_recv() whenever a new head is due: so
 * here every head is caught before Kore parses it.
 */
static int
framing_read(struct connection *c, size_t *bytes)
{
	struct netbuf	*nb = c->rnb;

	/* Upgraded to a WebSocket: no HTTP on this socket any more. */
	if (c->proto != CONN_PROTO_HTTP) {
		c->read = net_read;
		return (net_read(c, bytes));
	}

	if (nb->cb == framing_drain)
		return (framing_drain_read(c, bytes));

	/* A body: Kore reads exactly its length. */
	if (nb->cb != http_header_recv && nb->cb != framing_head)
		return (net_read(c, bytes));

	/*
	 * After a body, Kore goes on to the next head while the request
	 * is still being handled, so two answers could cross. Wait, as
	 * Kore itself waits after a GET, until the answer is out: then
	 * http_start_recv() resets the netbuf and reads again.
	 */
	if (framing_busy(c)) {
		framing_hold(nb);
		*bytes = 0;
		return (KORE_RESULT_OK);
	}

	nb->cb = framing_head;
	return (framing_head_read(c, bytes));
}

/* Reads what of the waiting bytes belongs to the head being read. */
static int
framing_head_read(struct connection *c, size_t *bytes)
{
	struct netbuf	*nb = c->rnb;
	size_t		b_len;
	ssize_t		n;
	int		r;

	if (nb->s_off >= nb->b_len)
		return (net_read(c, bytes));
	n = recv(c->fd, nb->buf + nb->s_off, nb->b_len - nb->s_off, MSG_PEEK);
	if (n == -1 && errno == EAGAIN) {
		kx_conn_pause_read(c);
		return (KORE_RESULT_OK);
	}
	/* End of input, EINTR, errors: net_read() meets them too. */
	if (n <= 0)
		return (net_read(c, bytes));

	b_len = nb->b_len;
	nb->b_len = nb->s_off + framing_want(nb, (size_t)n);
	r = net_read(c, bytes);
	nb->b_len = b_len;

	return (r);
}

/*
 * How many of the n bytes waiting (peeked at the end of the buffer)
 * belong to this request: its head and, of its body, what fits in the
 * buffer (Kore reads the rest itself, to the byte). All of them while
 * the head has not ended, or when it is to be refused.
 */
static size_t
framing_want(struct netbuf *nb, size_t n)
{
	struct reqhead_limits	lim;
	struct reqhead		rh;
	size_t			end;

	framing_limits(&lim);
	if (reqhead_scan(nb->buf, nb->s_off + n, &lim, &rh) != REQHEAD_DONE)
		return (n);

	end = rh.head_len;
	if (rh.content_length > nb->b_len - end)
		end = nb->b_len;
	else
		end += rh.content_length;
	if (end <= nb->s_off)
		return (n);

	return (end - nb->s_off < n ? end - nb->s_off : n);
}

/* The head netbuf's callback: judge the head, then let Kore parse it. */
static int
framing_head(struct netbuf *nb)
{
	struct connection	*c = nb->owner;
	struct http_request	*before, *req;
	struct reqhead_limits	lim;
	struct reqhead		rh;
	int			r;

	framing_limits(&lim);
	switch (reqhead_scan(nb->buf, nb->s_off, &lim, &rh)) {
	case REQHEAD_MORE:
		return (KORE_RESULT_OK);
	case REQHEAD_BAD:
		framing_refuse(c, rh.status, rh.reason);
		return (KORE_RESULT_OK);
	}

	/* A body Kore will not read goes with the head, all of it. */
	if (!rh.body_method && nb->s_off < rh.head_len + rh.content_length)
		return (KORE_RESULT_OK);

	before = framing_newest(c);
	nb->cb = http_header_recv;
	r = http_header_recv(nb);

	req = framing_newest(c);
	if (req == NULL || req == before || (req->flags & HTTP_REQUEST_DELETE))
		return (r);
	framing_defaults(req);

	/*
	 * A pipelined request, read as the one before it is answered:
	 * http_process() has passed it in this round, and the loop would
	 * sleep up to its next timer before the next round. Wake it now.
	 */
	if (before != NULL)
		(void)kore_timer_add(framing_kick, 0, NULL, KORE_TIMER_ONESHOT);

	return (r);
}

/* Whether a request of this connection still waits for its answer. */
static int
framing_busy(struct connection *c)
{
	struct http_request	*req;

	TAILQ_FOREACH(req, &c->http_requests, olist) {
		if (req->status == 0 && !(req->flags & HTTP_REQUEST_DELETE))
			return (1);
	}

	return (0);
}

/* No buffer, no reads: as Kore leaves the netbuf after taking a head. */
static void
framing_hold(struct netbuf *nb)
{
	kore_free(nb->buf);
	nb->buf = NULL;
	nb->m_len = 0;
	nb->s_off = 0;
	nb->cb = framing_held;
}

static int
framing_held(struct netbuf *nb)
{
	(void)nb;

	return (KORE_RESULT_OK);
}

/*
 * After a refused head, the connection closes the way a web server's
 * lingering close does. A socket closed with unread bytes is reset, and
 * a reset can overtake the answer, so the client might never see why:
 * what it still sends is read and dropped, the answer goes out, our
 * side is shut (framing_refused()), and the connection is dropped when
 * the client's end of input comes, or at Kore's header timeout.
 */
static int
framing_drain(struct netbuf *nb)
{
	nb->s_off = 0;

	return (KORE_RESULT_OK);
}

/* As net_read(), but the end of input waits for the answer to be out. */
static int
framing_drain_read(struct connection *c, size_t *bytes)
{
	struct netbuf	*nb = c->rnb;
	ssize_t		r;

	r = recv(c->fd, nb->buf, nb->b_len, 0);
	if (r > 0) {
		*bytes = (size_t)r;
		return (KORE_RESULT_OK);
	}
	if (r == -1 && errno == EINTR) {
		*bytes = 0;
		return (KORE_RESULT_OK);
	}
	if (r == -1 && errno != EAGAIN)
		return (KORE_RESULT_ERROR);

	kx_conn_pause_read(c);
	if (r == 0) {
		if (!kx_conn_sending(c))
			kore_connection_disconnect(c);
		else
			c->flags |= CONN_CLOSE_EMPTY;
	}

	return (KORE_RESULT_OK);
}

/*
 * Kore's own answer for a connection without a request,
 * http_error_response(), is static: this is the same answer with the
 * API's JSON error body and connection: close.
 */
static void
framing_refuse(struct connection *c, int status, const char *reason)
{
	struct json	j;
	const u_int8_t	*body;
	size_t		blen;
	char		*buf;
	int		len;

	json_init(&j);
	json_obj_open(&j);
	json_kint(&j, "statusCode", status);
	json_kstr(&j, "message", reason);
	json_kstr(&j, "error", api_reason(status));
	json_obj_close(&j);
	body = json_data(&j, &blen);

	buf = kore_malloc(512 + blen);
	len = snprintf(buf, 512 + blen, "HTTP/1.1 %d %s\r\n"
	    "content-type: application/json; charset=utf-8\r\n"
	    "x-content-type-options: nosniff\r\n"
	    "cache-control: no-store\r\n"
	    "connection: close\r\n"
	    "content-length: %zu\r\n\r\n%.*s", status, api_reason(status),
	    blen, (int)blen, (const char *)body);
	json_free(&j);

	if (len <= 0 || (size_t)len >= 512 + blen) {
		kore_free(buf);
		kore_connection_disconnect(c);
		return;
	}
	net_send_stream(c, buf, (size_t)len, framing_refused, NULL);

	c->rnb->s_off = 0;
	c->rnb->cb = framing_drain;
}

/* The answer is out (or the connection gone): shut our side. */
static int
framing_refused(struct netbuf *nb)
{
	struct connection	*c = nb->owner;

	kore_free(nb->buf);
	nb->buf = NULL;
	if (c->state == CONN_STATE_ESTABLISHED)
		(void)shutdown(c->fd, SHUT_WR);

	return (KORE_RESULT_OK);
}

static struct http_request *
framing_newest(struct connection *c)
{
	struct http_request	*req, *last;

	last = NULL;
	TAILQ_FOREACH(req, &c->http_requests, olist)
		last = req;

	return (last);
}

/*
 * Headers every answer carries, set as the request is made, so that no
 * handler (REST, files, Engine.IO) can leave them out.
 */
static void
framing_defaults(struct http_request *req)
{
	http_response_header(req, "x-content-type-options", "nosniff");
}

static void
framing_limits(struct reqhead_limits *lim)
{
	lim->head_max = http_header_max;
	/* Kore answers 414 itself from HTTP_URI_LEN - 1 bytes on. */
	lim->target_max = HTTP_URI_LEN - 2;
	lim->body_max = http_body_max;
}

static void
framing_kick(void *arg, u_int64_t now)
{
	(void)arg;
	(void)now;
}
