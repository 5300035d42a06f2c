/*
 * Engine.IO over HTTP (see eio_internal.h): a request is routed by its
 * query (transport, sid, EIO), a handshake opens a session, a request
 * with a sid goes to the session here or is relayed to the worker that
 * owns it, and errors are answered as the reference server does.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <string.h>
#include <strings.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "core/core.h"
#include "core/peer.h"
#include "engineio/eio.h"
#include "engineio/eio_internal.h"
#include "engineio/eio_packet.h"
#include "lib/json.h"

static int	eio_with_sid(struct http_request *, const char *, int, int);
static int	eio_handshake(struct http_request *,
		    const struct eio_server *, int);
static int	eio_finish(struct http_request *, struct eio_req *);
static int	eio_error(struct http_request *, int);
static void	eio_respond_to(void *, int, int, const void *, size_t);
static void	eio_respond(struct http_request *, int, int, const void *,
		    size_t);
static int	eio_ws_headers_ok(struct http_request *);
static int	eio_origin_ok(struct http_request *);
static int	eio_read_body(struct http_request *, struct eio_buf *);
static struct eio_req	*eio_req_state(struct http_request *);
static void	eio_req_free(struct http_request *);
static void	eio_ws_accept(struct http_request *, struct eio_wsconn *);

static const char *ctypes[] = {
	NULL,
	"text/plain; charset=UTF-8",
	"text/html",
	"application/json"
};

static const char *err_messages[] = {
	"Transport unknown",
	"Session ID unknown",
	"Bad handshake method",
	"Bad request",
	"Forbidden",
	"Unsupported protocol version"
};

int
eio_http(struct http_request *req, const struct eio_server *srv)
{
	char		transport[16], sid[EIO_SID_LEN + 2], eio[8];
	const struct eio_hooks	*hooks = &eio_conf.hooks;
	const char	*hdr;
	int		r, ws, upgrade;

	if (http_state_exists(req))
		return (eio_finish(req, http_state_get(req)));

	if (req->method == HTTP_METHOD_OPTIONS && hooks->cors_preflight != NULL &&
	    hooks->cors_preflight(req))
		return (KORE_RESULT_OK);
	if (hooks->cors_headers != NULL)
		(void)hooks->cors_headers(req);

	r = eio_query_get(req->query_string, "transport", transport,
	    sizeof(transport));
	if (r != 1 || (strcmp(transport, "polling") &&
	    strcmp(transport, "websocket")))
		return (eio_error(req, ERR_TRANSPORT));

	ws = !strcmp(transport, "websocket");
	upgrade = ws && req->method == HTTP_METHOD_GET &&
	    http_request_header(req, "upgrade", &hdr) &&
	    !strcasecmp(hdr, "websocket");
	if (upgrade && !eio_ws_headers_ok(req))
		return (eio_error(req, ERR_BAD_REQUEST));
	/* Browsers do not apply CORS to WebSockets: the server must. */
	if (upgrade && !eio_origin_ok(req))
		return (eio_error(req, ERR_FORBIDDEN));

	r = eio_query_get(req->query_string, "sid", sid, sizeof(sid));
	if (r == -1)
		return (eio_error(req, ERR_SID));
	if (r == 1) {
		if (ws && !upgrade)
			return (eio_error(req, ERR_BAD_REQUEST));
		return (eio_with_sid(req, sid, ws, upgrade));
	}

	if (req->method != HTTP_METHOD_GET)
		return (eio_error(req, ERR_METHOD));
	if (ws && !upgrade)
		return (eio_error(req, ERR_BAD_REQUEST));

	r = eio_query_get(req->query_string, "EIO", eio, sizeof(eio));
	if (r != 1 || strcmp(eio, "4"))
		return (eio_error(req, ERR_VERSION));

	return (eio_handshake(req, srv, ws));
}

static int
eio_with_sid(struct http_request *req, const char *sid, int ws, int upgrade)
{
	struct eio_session	*s;
	struct eio_relay	*r;
	struct eio_req		*st;
	struct eio_ep		from;
	struct eio_buf		body;
	int			owner, op;

	if (upgrade)
		op = OP_WS_OPEN;
	else if (req->method == HTTP_METHOD_GET)
		op = OP_GET;
	else if (req->method == HTTP_METHOD_POST)
		op = OP_POST;
	else
		return (eio_error(req, ERR_BAD_REQUEST));

	owner = eio_sid_worker(sid);
	if (owner < 1 || owner > peer_count())
		return (eio_error(req, ERR_SID));

	/* Over maxPayload: 413, and the session ends (wherever it is). */
	eio_buf_init(&body);
	if (op == OP_POST && eio_read_body(req, &body) == -1) {
		eio_buf_free(&body);
		if (owner != peer_self()) {
			relay_send(owner, peer_generation(), 0, OP_OVERSIZE,
			    0, 0, sid, NULL, 0);
		} else if ((s = sess_find(sid)) != NULL) {
			core_log("eio %s: POST over maxPayload", s->sid);
			sess_destroy(s, "transport error", EIO_CLOSE);
		}
		eio_respond(req, 413, CT_NONE, NULL, 0);
		return (KORE_RESULT_OK);
	}

	st = eio_req_state(req);

	if (owner != peer_self()) {
		r = relay_new(owner, op, sid, req);
		st->relay = r;
		relay_up(r, op, body.data, body.len);
		eio_buf_free(&body);
		http_request_sleep(req);
		return (KORE_RESULT_RETRY);
	}

	s = sess_find(sid);
	if (s != NULL && s->state == S_OPEN && sess_expired(s, kore_time_ms()))
		s = NULL;
	if (s == NULL) {
		eio_buf_free(&body);
		return (eio_error(req, ERR_SID));
	}

	memset(&from, 0, sizeof(from));
	from.kind = EP_LOCAL;
	from.req = req;
	if (op == OP_WS_OPEN)
		from.c = req->owner;
	st->sess = s;

	switch (op) {
	case OP_GET:
		sess_get(s, &from);
		break;
	case OP_POST:
		sess_post(s, &from, body.data, body.len);
		break;
	case OP_WS_OPEN:
		sess_ws_open(s, &from);
		break;
	}
	eio_buf_free(&body);

	return (eio_finish(req, st));
}

/*
 * A request with state: answer it if its answer is there, accept the
 * WebSocket if the upgrade was accepted, else keep it asleep.
 */
static int
eio_finish(struct http_request *req, struct eio_req *st)
{
	struct eio_wsconn	*wc;
	struct eio_relay	*r;

	if (!st->done) {
		http_request_sleep(req);
		return (KORE_RESULT_RETRY);
	}

	if (st->status == ACCEPT_AND_CLOSE) {
		if (st->relay != NULL) {
			relay_free(st->relay);
			st->relay = NULL;
		}
		wc = kore_calloc(1, sizeof(*wc));
		wc->kind = WS_LOCAL;
		eio_ws_accept(req, wc);
		kore_connection_disconnect(req->owner);
		return (KORE_RESULT_OK);
	}

	if (st->status != 101) {
		eio_respond(req, st->status, st->ctype, st->body.data,
		    st->body.len);
		return (KORE_RESULT_OK);
	}

	wc = kore_calloc(1, sizeof(*wc));
	if ((r = st->relay) != NULL) {
		/* The owner accepted: this worker proxies the frames. */
		wc->kind = WS_PROXY;
		wc->relay = r;
		r->c = req->owner;
		r->req = NULL;
		st->relay = NULL;
	} else {
		wc->kind = WS_LOCAL;
		wc->sess = st->sess;
		st->sess = NULL;
	}

	eio_ws_accept(req, wc);
	return (KORE_RESULT_OK);
}

static void
eio_ws_accept(struct http_request *req, struct eio_wsconn *wc)
{
	wc->c = req->owner;
	req->owner->hdlr_extra = wc;
	kore_websocket_handshake(req, "rt_ws_connect", "rt_ws_message",
	    "rt_ws_disconnect");
	wsr_install(req->owner, &wc->reader, ws_hold_writes);
}

static int
eio_handshake(struct http_request *req, const struct eio_server *srv, int ws)
{
	struct eio_session	*s;
	struct eio_wsconn	*wc;
	struct json		j;
	struct eio_buf		out;
	const u_int8_t		*d;
	size_t			len;

	s = sess_new(srv, req);

	if (ws) {
		s->transport = T_WEBSOCKET;
		s->ws.kind = EP_LOCAL;
		s->ws.c = req->owner;
		wc = kore_calloc(1, sizeof(*wc));
		wc->kind = WS_LOCAL;
		wc->sess = s;
		eio_ws_accept(req, wc);
		return (KORE_RESULT_OK);
	}

	s->transport = T_POLLING;

	eio_open_json(&j, s, 1);
	d = json_data(&j, &len);

	eio_buf_init(&out);
	eio_payload_add(&out, EIO_OPEN, 0, d, len);
	json_free(&j);

	eio_respond(req, 200, CT_PLAIN, out.data, out.len);
	eio_buf_free(&out);

	sess_opened(s);
	return (KORE_RESULT_OK);
}

static int
eio_error(struct http_request *req, int code)
{
	eio_error_to(code, eio_respond_to, req);
	return (KORE_RESULT_OK);
}

static void
eio_respond_to(void *req, int status, int ctype, const void *data,
    size_t len)
{
	eio_respond(req, status, ctype, data, len);
}

/*
 * The open packet's JSON (j initialised here): a polling session may
 * upgrade to websocket, a websocket one has nowhere to go.
 */
void
eio_open_json(struct json *j, const struct eio_session *s, int upgrade)
{
	json_init(j);
	json_obj_open(j);
	json_kstr(j, "sid", s->sid);
	json_key(j, "upgrades");
	json_arr_open(j);
	if (upgrade)
		json_str(j, "websocket");
	json_arr_close(j);
	json_kint(j, "pingInterval", eio_conf.ping_interval);
	json_kint(j, "pingTimeout", eio_conf.ping_timeout);
	json_kint(j, "maxPayload", eio_conf.max_payload);
	json_obj_close(j);
}

/* The error's JSON, handed to answer(arg, ...). */
void
eio_error_to(int code, void (*answer)(void *, int, int, const void *,
    size_t), void *arg)
{
	struct eio_buf	body;
	int		status;

	status = eio_error_json(code, &body);
	answer(arg, status, CT_JSON, body.data, body.len);
	eio_buf_free(&body);
}

/* out (initialised here) gets the error's JSON; returns its status. */
int
eio_error_json(int code, struct eio_buf *out)
{
	struct json	j;
	const u_int8_t	*d;
	size_t		len;

	json_init(&j);
	json_obj_open(&j);
	json_kint(&j, "code", code);
	json_kstr(&j, "message", err_messages[code]);
	json_obj_close(&j);
	d = json_data(&j, &len);
	eio_buf_init(out);
	eio_buf_add(out, d, len);
	json_free(&j);

	return (code == ERR_FORBIDDEN ? 403 : 400);
}

static void
eio_respond(struct http_request *req, int status, int ctype,
    const void *data, size_t len)
{
	if (ctype != CT_NONE)
		http_response_header(req, "content-type", ctypes[ctype]);
	if (ctype == CT_PLAIN)
		http_response_header(req, "cache-control", "no-store");

	http_response(req, status, data, len);
}

/* Kore's handshake would answer 400 itself; decide before any state. */
static int
eio_ws_headers_ok(struct http_request *req)
{
	const char	*v;

	if (!http_request_header(req, "sec-websocket-key", &v))
		return (0);
	if (!http_request_header(req, "sec-websocket-version", &v) ||
	    strcmp(v, "13"))
		return (0);

	return (1);
}

/*
 * Browsers send the Origin of the page with a WebSocket handshake and
 * apply no CORS to it. Allowed: none (not a browser), what the layers
 * above allow (CORS_ORIGINS), and this server's own pages (the Origin
 * names the Host the request is for).
 */
static int
eio_origin_ok(struct http_request *req)
{
	const struct eio_hooks	*hooks = &eio_conf.hooks;
	const char	*origin, *host, *p;

	if (!http_request_header(req, "origin", &origin))
		return (1);
	if (hooks->origin_allowed == NULL || hooks->origin_allowed(origin))
		return (1);

	if ((p = strstr(origin, "://")) != NULL &&
	    http_request_header(req, "host", &host) &&
	    !strcasecmp(p + 3, host))
		return (1);

	return (0);
}

static int
eio_read_body(struct http_request *req, struct eio_buf *out)
{
	ssize_t		r;

	if (req->content_length > eio_conf.max_payload)
		return (-1);

	eio_buf_reserve(out, req->content_length + 1);
	for (;;) {
		eio_buf_reserve(out, 4096);
		r = http_body_read(req, out->data + out->len,
		    out->cap - out->len);
		if (r <= 0)
			break;
		out->len += r;
		if (out->len > eio_conf.max_payload)
			return (-1);
	}

	return (r == -1 ? -1 : 0);
}

static struct eio_req *
eio_req_state(struct http_request *req)
{
	struct eio_req	*st;

	if (http_state_exists(req))
		return (http_state_get(req));

	st = http_state_create(req, sizeof(*st), eio_req_free);
	memset(st, 0, sizeof(*st));
	eio_buf_init(&st->body);

	return (st);
}

/*
 * Kore frees the request: after our answer, or because the client went
 * away while it was parked. A parked GET that goes away unanswered ends
 * its session, as in the reference server.
 */
static void
eio_req_free(struct http_request *req)
{
	struct eio_req		*st;
	struct eio_session	*s;
	struct eio_relay	*r;

	if ((st = http_state_get(req)) == NULL)
		return;

	if ((s = st->sess) != NULL && s->poll.kind == EP_LOCAL &&
	    s->poll.req == req) {
		s->poll.kind = EP_NONE;
		s->poll.req = NULL;
		if (!st->done)
			sess_destroy(s, "transport close", EIO_CLOSE);
	}
	st->sess = NULL;

	if ((r = st->relay) != NULL && r->req == req) {
		if (!st->done || st->status == 101) {
			if (r->op == OP_GET)
				relay_up(r, OP_CANCEL, NULL, 0);
			else if (r->op == OP_WS_OPEN)
				relay_up(r, OP_WS_CLOSED, NULL, 0);
		}
		relay_free(r);
	}
	st->relay = NULL;

	eio_buf_free(&st->body);
}
