/*
 * Engine.IO v4 server on Kore (see eio.h). Behaviour follows the
 * reference server (engine.io 6.x) as the official test suite checks it;
 * see shared/notes/socketio-protocol.md §1.
 *
 * Where a transport ends is an "endpoint": a local Kore object (a parked
 * GET, a WebSocket connection) or a request/connection held by another
 * worker that relays it here (worker id, its generation, relay id).
 * The session code only talks to endpoints, so relayed and local
 * clients behave alike.
 *
 * Workers die and Kore starts them again under the same id. A relay is
 * therefore named by its front worker's generation too (wmsg.h), every
 * relayed message is checked against the worker, generation and sid it
 * belongs to, and when a worker restarts its peers drop what pointed at
 * the dead one (eio_peer_restart).
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "core/config.h"
#include "core/core.h"
#include "core/metrics.h"
#include "core/peer.h"
#include "engineio/eio.h"
#include "engineio/eio_packet.h"
#include "engineio/ws_reader.h"
#include "lib/json.h"

#define EP_NONE			0
#define EP_LOCAL		1
#define EP_REMOTE		2

#define S_OPEN			1
#define S_CLOSING		2	/* last GET still to answer */
#define S_CLOSED		3

#define T_POLLING		1
#define T_WEBSOCKET		2

#define TQ_NONE			0
#define TQ_PING			1	/* waiting to send a ping */
#define TQ_PONG			2	/* waiting for the pong */
#define TQ_DROP			3	/* to end now, see sess_drop() */

#define WS_LOCAL		1
#define WS_PROXY		2

/* Relay operations: front worker -> owner ... */
#define OP_GET			1
#define OP_POST			2
#define OP_CANCEL		3
#define OP_WS_OPEN		4
#define OP_WS_FRAME		5
#define OP_WS_CLOSED		6
#define OP_OVERSIZE		7
/* ... and owner -> front worker. */
#define OP_REPLY		10
#define OP_WS_SEND		11
#define OP_WS_KILL		12

#define CT_NONE			0
#define CT_PLAIN		1
#define CT_HTML			2
#define CT_JSON			3

/* Internal status: accept the WebSocket, then close it at once. */
#define ACCEPT_AND_CLOSE	199

#define ERR_TRANSPORT		0
#define ERR_SID			1
#define ERR_METHOD		2
#define ERR_BAD_REQUEST		3
#define ERR_FORBIDDEN		4
#define ERR_VERSION		5

/*
 * A WebSocket client that stops reading makes Kore queue every frame
 * for it, a polling client that stops polling makes its session queue
 * them: past cfg.socket_queue_max bytes (or this many frames) it is
 * dropped instead.
 */
#define WS_BACKLOG_FRAMES	16384

/*
 * Frames up to this size are queued and written once per loop pass
 * (ws_send); larger ones go out at once through Kore. It must stay
 * within the 16-bit payload length ws_send encodes.
 */
#define WS_COALESCE_MAX		65535

#define SESS_BUCKETS		16384
#define RELAY_BUCKETS		4096
#define UPGRADE_TIMEOUT_MS	10000
/* A GET arriving mid-upgrade gets its noop after this (the reference
 * server's check interval), see sess_get(). */
#define UPGRADE_NOOP_MS		100
/* How long a closing session waits for the GET that ends it. */
#define CLOSING_GRACE_MS	2000

struct eio_qpkt {
	TAILQ_ENTRY(eio_qpkt)	list;
	u_int8_t		type;
	u_int8_t		binary;
	size_t			len;
	u_int8_t		data[];
};

struct eio_ep {
	int			kind;
	struct connection	*c;		/* LOCAL websocket */
	struct http_request	*req;		/* LOCAL GET */
	/* REMOTE: the front worker, its generation, its relay id */
	u_int16_t		worker;
	u_int32_t		gen;
	u_int32_t		relay;
	char			sid[EIO_SID_LEN + 1];
};

struct eio_session {
	char				sid[EIO_SID_LEN + 1];
	const struct eio_server		*srv;
	int				state;
	int				transport;
	int				opened;
	int				upgrading;
	struct eio_ep			ws;
	struct eio_ep			probe;
	struct eio_ep			poll;
	u_int64_t			probe_since;
	u_int8_t			final_pkt;
	u_int64_t			closing_until;
	TAILQ_HEAD(, eio_qpkt)		outq;
	size_t				outq_bytes;
	int				dropped;	/* over the queue cap */
	int				tq;
	u_int64_t			due;
	TAILQ_ENTRY(eio_session)	tlist;
	TAILQ_ENTRY(eio_session)	clist;
	LIST_ENTRY(eio_session)		hlist;
	char				*query;
	char				*authorization;
	char				addr[INET6_ADDRSTRLEN];
	void				*udata;
};

TAILQ_HEAD(eio_squeue, eio_session);

/* A request or connection this worker relays to the owner of its sid. */
struct eio_relay {
	u_int32_t			id;
	u_int16_t			owner;
	int				op;
	char				sid[EIO_SID_LEN + 1];
	struct http_request		*req;
	struct connection		*c;
	u_int64_t			created;
	u_int64_t			started;	/* 0: not pending */
	LIST_ENTRY(eio_relay)		hlist;
	TAILQ_ENTRY(eio_relay)		plist;
};

/* c->hdlr_extra of our WebSocket connections (Kore frees it). */
struct eio_wsconn {
	int			kind;
	int			dropped;	/* shut down for not reading */
	int			dirty;		/* on dirty_q */
	int			write_held;	/* see ws_hold_writes() */
	struct connection	*c;
	struct eio_session	*sess;
	struct eio_relay	*relay;
	struct wsr		reader;
	TAILQ_ENTRY(eio_wsconn)	dlist;
};

/* Per-request state (req->hdlr_extra). */
struct eio_req {
	struct eio_session	*sess;
	struct eio_relay	*relay;
	int			done;
	int			status;
	int			ctype;
	struct eio_buf		body;
};

/*
 * In front of every relayed message, both ways. relay and gen name the
 * relay on its front worker (gen is the front's generation); sid is the
 * session it is for.
 */
struct eio_msg {
	u_int32_t	relay;
	u_int32_t	gen;
	u_int16_t	status;
	u_int8_t	op;
	u_int8_t	flag;
	char		sid[EIO_SID_LEN + 1];
};

void	rt_ws_connect(struct connection *);
void	rt_ws_message(struct connection *, u_int8_t, const void *, size_t);
void	rt_ws_disconnect(struct connection *);

static int	eio_with_sid(struct http_request *, const char *, int, int);
static int	eio_handshake(struct http_request *,
		    const struct eio_server *, int);
static int	eio_finish(struct http_request *, struct eio_req *);
static int	eio_error(struct http_request *, int);
static void	eio_error_body(int, int *, struct eio_buf *);
static void	eio_respond(struct http_request *, int, int, const void *,
		    size_t);
static int	eio_ws_headers_ok(struct http_request *);
static int	eio_origin_ok(struct http_request *);
static int	eio_read_body(struct http_request *, struct eio_buf *);
static struct eio_req	*eio_req_state(struct http_request *);
static void	eio_req_free(struct http_request *);
static void	eio_ws_accept(struct http_request *, struct eio_wsconn *);

static struct eio_session	*sess_new(const struct eio_server *,
				    struct http_request *);
static struct eio_session	*sess_find(const char *);
static void	sess_opened(struct eio_session *);
static int	sess_expired(struct eio_session *, u_int64_t);
static int	sess_polling(struct eio_session *, struct eio_ep *);
static void	sess_get(struct eio_session *, struct eio_ep *);
static void	sess_post(struct eio_session *, struct eio_ep *,
		    const u_int8_t *, size_t);
static void	sess_ws_open(struct eio_session *, struct eio_ep *);
static void	sess_ws_frame(struct eio_session *, struct eio_ep *,
		    int, const u_int8_t *, size_t);
static void	sess_ws_gone(struct eio_session *, struct eio_ep *);
static void	sess_packet(struct eio_session *, struct eio_pkt *);
static void	sess_pong(struct eio_session *);
static void	sess_client_close(struct eio_session *);
static void	sess_destroy(struct eio_session *, const char *, int);
static void	upgrade_noop_fire(void *, u_int64_t);
static void	sess_flush(struct eio_session *);
static void	sess_payload(struct eio_session *, struct eio_buf *, int);
static void	sess_queue(struct eio_session *, int, int, const void *,
		    size_t);
static void	sess_drop(struct eio_session *);
static void	sess_outq_free(struct eio_session *);
static void	sess_handshake_info(struct eio_session *,
		    struct http_request *);

static int	ep_match(struct eio_ep *, struct eio_ep *);
static void	ep_answer(struct eio_ep *, int, int, const void *, size_t);
static void	ep_error(struct eio_ep *, int);
static void	ep_ws_send(struct eio_ep *, int, const void *, size_t);
static void	ep_ws_text(struct eio_ep *, int, const void *, size_t);
static void	ep_ws_close(struct eio_ep *);
static int	ws_backlogged(struct connection *);
static void	ws_send_capped(struct connection *, u_int8_t, const void *,
		    size_t);
static void	ws_send(struct connection *, u_int8_t, const void *, size_t);
static void	ws_clean(struct eio_wsconn *);
static void	ws_flush_fire(void *, u_int64_t);
static void	ws_hold_writes(struct connection *);

static void	upgrade_timeouts(struct eio_squeue *, u_int64_t);
static void	wake(struct http_request *);
static void	kick_fire(void *, u_int64_t);
static void	timer_arm(u_int64_t);
static void	timer_fire(void *, u_int64_t);
static void	timer_set(struct eio_session *, int, u_int64_t);

static u_int32_t		relay_new_id(void);
static struct eio_relay		*relay_find(u_int32_t);
static void			relay_free(struct eio_relay *);
static void			relay_fail(struct eio_relay *);
static void			relay_up(struct eio_relay *, int,
				    const void *, size_t);
static void			relay_down(struct eio_ep *, int, int, int,
				    const void *, size_t);
static void			relay_send(u_int16_t, u_int32_t, u_int32_t,
				    int, int, int, const char *, const void *,
				    size_t);
static void			msg_relay(u_int16_t, const void *, size_t);
static void			msg_reply(u_int16_t, const void *, size_t);
static void			eio_peer_restart(u_int16_t, u_int32_t,
				    u_int64_t);
static int			ep_stale(struct eio_ep *, u_int16_t,
				    u_int32_t);
static int			nworkers(void);

static LIST_HEAD(, eio_session)	sessions[SESS_BUCKETS];
static LIST_HEAD(, eio_relay)	relays[RELAY_BUCKETS];
static TAILQ_HEAD(, eio_relay)	relays_pending;
static struct eio_squeue		ping_q;
static struct eio_squeue		pong_q;
static struct eio_squeue		drop_q;
static TAILQ_HEAD(, eio_session)	closing_q;
static TAILQ_HEAD(, eio_session)	reap_q;
static struct kore_timer	*timer;
static u_int64_t		timer_due;
static u_int32_t		relay_seq;
static int			kick_pending;
static TAILQ_HEAD(, eio_wsconn)	dirty_q;
static int			flush_pending;
static struct eio_hooks		hooks;

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

void
eio_init(const struct eio_hooks *h)
{
	size_t		i;

	memset(&hooks, 0, sizeof(hooks));
	if (h != NULL)
		hooks = *h;

	for (i = 0; i < SESS_BUCKETS; i++)
		LIST_INIT(&sessions[i]);
	for (i = 0; i < RELAY_BUCKETS; i++)
		LIST_INIT(&relays[i]);
	TAILQ_INIT(&relays_pending);
	TAILQ_INIT(&ping_q);
	TAILQ_INIT(&pong_q);
	TAILQ_INIT(&drop_q);
	TAILQ_INIT(&closing_q);
	TAILQ_INIT(&reap_q);
	TAILQ_INIT(&dirty_q);

	timer = NULL;
	timer_due = 0;
	relay_seq = 0;
	kick_pending = 0;
	flush_pending = 0;

	peer_register(PEER_EIO_RELAY, msg_relay);
	peer_register(PEER_EIO_REPLY, msg_reply);
	peer_on_restart(eio_peer_restart);
}

void
eio_teardown(void)
{
	struct eio_session	*s;
	size_t			i;

	for (i = 0; i < SESS_BUCKETS; i++) {
		while ((s = LIST_FIRST(&sessions[i])) != NULL)
			sess_destroy(s, "server shutting down", EIO_CLOSE);
	}
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
	struct eio_session	*s, *next;
	struct eio_relay	*r, *rnext;
	u_int64_t		now, limit;

	now = kore_time_ms();

	for (s = TAILQ_FIRST(&closing_q); s != NULL; s = next) {
		next = TAILQ_NEXT(s, clist);
		if (now >= s->closing_until)
			sess_destroy(s, NULL, EIO_CLOSE);
	}

	upgrade_timeouts(&ping_q, now);
	upgrade_timeouts(&pong_q, now);

	limit = cfg.ping_interval + cfg.ping_timeout + 5000;
	for (r = TAILQ_FIRST(&relays_pending); r != NULL; r = rnext) {
		rnext = TAILQ_NEXT(r, plist);
		if (now - r->started < limit)
			break;
		if (r->req == NULL || !http_state_exists(r->req))
			continue;
		if (r->op == OP_GET)
			relay_up(r, OP_CANCEL, NULL, 0);
		relay_fail(r);
	}

	while ((s = TAILQ_FIRST(&reap_q)) != NULL) {
		TAILQ_REMOVE(&reap_q, s, clist);
		sess_outq_free(s);
		kore_free(s->query);
		kore_free(s->authorization);
		kore_free(s);
	}
}

int
eio_http(struct http_request *req, const struct eio_server *srv)
{
	char		transport[16], sid[EIO_SID_LEN + 2], eio[8];
	const char	*hdr;
	int		r, ws, upgrade;

	if (http_state_exists(req))
		return (eio_finish(req, http_state_get(req)));

	if (req->method == HTTP_METHOD_OPTIONS &&
	    hooks.cors_preflight != NULL && hooks.cors_preflight(req))
		return (KORE_RESULT_OK);
	if (hooks.cors_headers != NULL)
		(void)hooks.cors_headers(req);

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
		s->state = S_CLOSING;
		s->final_pkt = EIO_CLOSE;
		s->closing_until = kore_time_ms() + CLOSING_GRACE_MS;
		TAILQ_INSERT_TAIL(&closing_q, s, clist);
		timer_set(s, TQ_NONE, 0);
		s->srv->on_close(s, reason);
		return;
	}

	sess_destroy(s, reason, EIO_CLOSE);
}

const char *
eio_sid(struct eio_session *s)
{
	return (s->sid);
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

int
eio_is_websocket(struct eio_session *s)
{
	return (s->transport == T_WEBSOCKET);
}

/*
 * Kore WebSocket callbacks (looked up by name at every handshake).
 */
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

	json_init(&j);
	json_obj_open(&j);
	json_kstr(&j, "sid", s->sid);
	json_key(&j, "upgrades");
	json_arr_open(&j);
	json_arr_close(&j);
	json_kint(&j, "pingInterval", cfg.ping_interval);
	json_kint(&j, "pingTimeout", cfg.ping_timeout);
	json_kint(&j, "maxPayload", cfg.max_payload);
	json_obj_close(&j);
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
	if (owner < 1 || owner > nworkers())
		return (eio_error(req, ERR_SID));

	/* Over maxPayload: 413, and the session ends (wherever it is). */
	eio_buf_init(&body);
	if (op == OP_POST && eio_read_body(req, &body) == -1) {
		eio_buf_free(&body);
		if (owner != worker->id) {
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

	if (owner != worker->id) {
		r = kore_calloc(1, sizeof(*r));
		r->id = relay_new_id();
		r->owner = owner;
		r->op = op;
		r->req = req;
		r->created = r->started = kore_time_ms();
		(void)kore_strlcpy(r->sid, sid, sizeof(r->sid));
		LIST_INSERT_HEAD(&relays[r->id % RELAY_BUCKETS], r, hlist);
		TAILQ_INSERT_TAIL(&relays_pending, r, plist);
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

	json_init(&j);
	json_obj_open(&j);
	json_kstr(&j, "sid", s->sid);
	json_key(&j, "upgrades");
	json_arr_open(&j);
	json_str(&j, "websocket");
	json_arr_close(&j);
	json_kint(&j, "pingInterval", cfg.ping_interval);
	json_kint(&j, "pingTimeout", cfg.ping_timeout);
	json_kint(&j, "maxPayload", cfg.max_payload);
	json_obj_close(&j);
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
	struct eio_buf	body;
	int		status;

	eio_buf_init(&body);
	eio_error_body(code, &status, &body);
	eio_respond(req, status, CT_JSON, body.data, body.len);
	eio_buf_free(&body);

	return (KORE_RESULT_OK);
}

static void
eio_error_body(int code, int *status, struct eio_buf *out)
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
	eio_buf_add(out, d, len);
	json_free(&j);

	*status = (code == ERR_FORBIDDEN) ? 403 : 400;
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
	const char	*origin, *host, *p;

	if (!http_request_header(req, "origin", &origin))
		return (1);
	if (hooks.origin_allowed == NULL || hooks.origin_allowed(origin))
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

	if (req->content_length > cfg.max_payload)
		return (-1);

	eio_buf_reserve(out, req->content_length + 1);
	for (;;) {
		eio_buf_reserve(out, 4096);
		r = http_body_read(req, out->data + out->len,
		    out->cap - out->len);
		if (r <= 0)
			break;
		out->len += r;
		if (out->len > cfg.max_payload)
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

static struct eio_session *
sess_new(const struct eio_server *srv, struct http_request *req)
{
	struct eio_session	*s;
	u_int8_t		rnd[EIO_SID_RANDOM];
	u_int32_t		h;
	size_t			i;

	s = kore_calloc(1, sizeof(*s));
	s->srv = srv;
	s->state = S_OPEN;
	TAILQ_INIT(&s->outq);

	do {
		arc4random_buf(rnd, sizeof(rnd));
		eio_sid_make(worker->id, rnd, s->sid);
	} while (sess_find(s->sid) != NULL);

	for (h = 0, i = 0; i < EIO_SID_LEN; i++)
		h = h * 31 + (u_int8_t)s->sid[i];
	LIST_INSERT_HEAD(&sessions[h % SESS_BUCKETS], s, hlist);

	sess_handshake_info(s, req);

	return (s);
}

static void
sess_handshake_info(struct eio_session *s, struct http_request *req)
{
	const char	*v;
	struct connection *c = req->owner;

	if (req->query_string != NULL)
		s->query = kore_strdup(req->query_string);
	if (http_request_header(req, "authorization", &v))
		s->authorization = kore_strdup(v);

	if (c->family == AF_INET) {
		(void)inet_ntop(AF_INET, &c->addr.ipv4.sin_addr, s->addr,
		    sizeof(s->addr));
	} else if (c->family == AF_INET6) {
		(void)inet_ntop(AF_INET6, &c->addr.ipv6.sin6_addr, s->addr,
		    sizeof(s->addr));
	}
}

static struct eio_session *
sess_find(const char *sid)
{
	struct eio_session	*s;
	u_int32_t		h;
	size_t			i;

	for (h = 0, i = 0; i < EIO_SID_LEN && sid[i] != '\0'; i++)
		h = h * 31 + (u_int8_t)sid[i];

	LIST_FOREACH(s, &sessions[h % SESS_BUCKETS], hlist) {
		if (!strcmp(s->sid, sid))
			return (s);
	}

	return (NULL);
}

/* The open packet is out: start the heartbeat, tell the layer above. */
static void
sess_opened(struct eio_session *s)
{
	s->opened = 1;
	metrics_gauge_add(METRIC_CONNECTIONS, 1,
	    s->transport == T_WEBSOCKET ? "websocket" : "polling");
	timer_set(s, TQ_PING, kore_time_ms() + cfg.ping_interval);
	s->srv->on_open(s);
}

/*
 * Deadlines come from the scheduled ping time, not from when the timer
 * ran, and are also checked when a request arrives: a client that did
 * not answer a ping within pingInterval + pingTimeout of the last
 * heartbeat is gone even if the timer has not run yet.
 */
static int
sess_expired(struct eio_session *s, u_int64_t now)
{
	if (s->tq == TQ_PONG && now >= s->due) {
		sess_destroy(s, "ping timeout", EIO_CLOSE);
		return (1);
	}

	return (0);
}

/* An open polling session; else the reference server's error goes out. */
static int
sess_polling(struct eio_session *s, struct eio_ep *from)
{
	if (s->state != S_OPEN) {
		ep_error(from, ERR_SID);
		return (0);
	}
	if (s->transport != T_POLLING) {
		ep_error(from, ERR_BAD_REQUEST);
		return (0);
	}

	return (1);
}

static void
sess_get(struct eio_session *s, struct eio_ep *from)
{
	struct eio_buf	out;

	if (s->state == S_CLOSING) {
		eio_buf_init(&out);
		sess_payload(s, &out, s->final_pkt);
		ep_answer(from, 200, CT_PLAIN, out.data, out.len);
		eio_buf_free(&out);
		sess_destroy(s, NULL, EIO_CLOSE);
		return;
	}

	if (!sess_polling(s, from))
		return;

	if (s->poll.kind != EP_NONE) {
		ep_answer(from, 400, CT_NONE, NULL, 0);
		sess_destroy(s, "transport error", EIO_CLOSE);
		return;
	}

	s->poll = *from;

	/*
	 * A GET that arrives while upgrading is answered with a noop a
	 * moment later, as the reference server's 100 ms check does, not at
	 * once: the "5" completing the upgrade may be relayed from another
	 * worker and land just after this GET, which must then fail like
	 * any polling request after an upgrade.
	 */
	if (s->upgrading) {
		(void)kore_timer_add(upgrade_noop_fire, UPGRADE_NOOP_MS,
		    kore_strdup(s->sid), KORE_TIMER_ONESHOT);
		return;
	}

	if (!TAILQ_EMPTY(&s->outq))
		sess_flush(s);
}

static void
upgrade_noop_fire(void *arg, u_int64_t now)
{
	struct eio_session	*s;

	if ((s = sess_find(arg)) != NULL && s->upgrading)
		sess_flush(s);
	kore_free(arg);
}

static void
sess_post(struct eio_session *s, struct eio_ep *from, const u_int8_t *body,
    size_t len)
{
	struct eio_buf	scratch;
	struct eio_pkt	pkt;
	size_t		off;
	int		r;

	if (s->state == S_CLOSING) {
		ep_answer(from, 200, CT_HTML, "ok", 2);
		return;
	}
	if (!sess_polling(s, from))
		return;

	eio_buf_init(&scratch);
	off = 0;
	while ((r = eio_payload_next(body, len, &off, &pkt, &scratch)) == 1) {
		sess_packet(s, &pkt);
		if (s->state != S_OPEN)
			break;
	}
	eio_buf_free(&scratch);

	if (r == -1) {
		ep_error(from, ERR_BAD_REQUEST);
		sess_destroy(s, "parse error", EIO_CLOSE);
		return;
	}

	ep_answer(from, 200, CT_HTML, "ok", 2);
}

static void
sess_ws_open(struct eio_session *s, struct eio_ep *from)
{
	/* Like the reference server: accepted, then closed. */
	if (s->state != S_OPEN || s->transport != T_POLLING ||
	    s->probe.kind != EP_NONE) {
		ep_answer(from, ACCEPT_AND_CLOSE, CT_NONE, NULL, 0);
		return;
	}

	s->probe = *from;
	s->probe.req = NULL;
	s->probe_since = kore_time_ms();
	s->upgrading = 0;

	ep_answer(from, 101, CT_NONE, NULL, 0);
}

static void
sess_ws_frame(struct eio_session *s, struct eio_ep *ep, int op,
    const u_int8_t *data, size_t len)
{
	struct eio_pkt	pkt;

	if (s->state != S_OPEN)
		return;

	if (len > cfg.max_payload) {
		core_log("eio %s: %zu byte frame over maxPayload", s->sid, len);
		sess_destroy(s, "transport error", EIO_CLOSE);
		return;
	}

	if (ep == &s->probe) {
		if (op == WEBSOCKET_OP_TEXT && len == 6 &&
		    !memcmp(data, "2probe", 6)) {
			ep_ws_text(&s->probe, EIO_PONG, "probe", 5);
			s->upgrading = 1;
			/* The parked GET ends now so the client can pause. */
			sess_flush(s);
		} else if (op == WEBSOCKET_OP_TEXT && s->upgrading &&
		    len == 1 && data[0] == '0' + EIO_UPGRADE) {
			/* Polling is over for this session (see sess_get). */
			if (s->poll.kind != EP_NONE) {
				ep_error(&s->poll, ERR_BAD_REQUEST);
				s->poll.kind = EP_NONE;
			}
			s->ws = s->probe;
			memset(&s->probe, 0, sizeof(s->probe));
			s->transport = T_WEBSOCKET;
			metrics_gauge_add(METRIC_CONNECTIONS, -1, "polling");
			metrics_gauge_add(METRIC_CONNECTIONS, 1, "websocket");
			s->upgrading = 0;
			sess_flush(s);
		} else {
			ep_ws_close(&s->probe);
			s->upgrading = 0;
		}
		return;
	}

	if (op == WEBSOCKET_OP_BINARY) {
		pkt.type = EIO_MESSAGE;
		pkt.binary = 1;
		pkt.data = data;
		pkt.len = len;
		sess_packet(s, &pkt);
		return;
	}

	if (eio_packet_parse(data, len, &pkt) == -1) {
		sess_destroy(s, "parse error", EIO_CLOSE);
		return;
	}

	sess_packet(s, &pkt);
}

static void
sess_ws_gone(struct eio_session *s, struct eio_ep *ep)
{
	if (ep == &s->probe) {
		memset(&s->probe, 0, sizeof(s->probe));
		s->upgrading = 0;
		return;
	}

	memset(&s->ws, 0, sizeof(s->ws));
	sess_destroy(s, "transport close", EIO_CLOSE);
}

static void
sess_packet(struct eio_session *s, struct eio_pkt *pkt)
{
	switch (pkt->type) {
	case EIO_MESSAGE:
		s->srv->on_message(s, pkt->data, pkt->len, pkt->binary);
		break;
	case EIO_PONG:
		sess_pong(s);
		break;
	case EIO_CLOSE:
		sess_client_close(s);
		break;
	case EIO_PING:
		/* v4 heartbeats go server -> client only. */
		sess_destroy(s, "transport error", EIO_CLOSE);
		break;
	default:
		break;
	}
}

static void
sess_pong(struct eio_session *s)
{
	if (s->tq != TQ_PONG)
		return;

	timer_set(s, TQ_PING, kore_time_ms() + cfg.ping_interval);
}

/*
 * The client said goodbye. A parked GET gets a noop; otherwise the GET
 * the client may still have in flight (it can reach us after this POST
 * when the two travel through different workers) gets one too.
 */
static void
sess_client_close(struct eio_session *s)
{
	if (s->transport == T_POLLING && s->poll.kind == EP_NONE &&
	    s->probe.kind == EP_NONE) {
		s->state = S_CLOSING;
		s->final_pkt = EIO_NOOP;
		s->closing_until = kore_time_ms() + CLOSING_GRACE_MS;
		TAILQ_INSERT_TAIL(&closing_q, s, clist);
		timer_set(s, TQ_NONE, 0);
		s->srv->on_close(s, "transport close");
		return;
	}

	sess_destroy(s, "transport close", EIO_NOOP);
}

/*
 * Ends a session now. reason (when the layer above has not been told
 * yet) goes to on_close; a parked GET gets the queued packets and then
 * final ("1" close, or "6" noop when the client closed).
 */
static void
sess_destroy(struct eio_session *s, const char *reason, int final)
{
	struct eio_buf	out;
	int		prev;

	if (s->state == S_CLOSED)
		return;

	prev = s->state;
	s->state = S_CLOSED;

	LIST_REMOVE(s, hlist);
	timer_set(s, TQ_NONE, 0);
	if (prev == S_CLOSING) {
		TAILQ_REMOVE(&closing_q, s, clist);
		final = s->final_pkt;
	}

	if (s->poll.kind != EP_NONE) {
		eio_buf_init(&out);
		sess_payload(s, &out, final);
		ep_answer(&s->poll, 200, CT_PLAIN, out.data, out.len);
		eio_buf_free(&out);
		s->poll.kind = EP_NONE;
	}

	if (s->ws.kind != EP_NONE)
		ep_ws_close(&s->ws);
	if (s->probe.kind != EP_NONE)
		ep_ws_close(&s->probe);

	if (s->opened) {
		metrics_gauge_add(METRIC_CONNECTIONS, -1,
		    s->transport == T_WEBSOCKET ? "websocket" : "polling");
	}
	if (prev == S_OPEN && s->opened)
		s->srv->on_close(s, reason != NULL ? reason : "forced close");

	TAILQ_INSERT_TAIL(&reap_q, s, clist);
}

/* Sends what is queued to whichever transport can take it now. */
static void
sess_flush(struct eio_session *s)
{
	struct eio_qpkt	*q;
	struct eio_buf	out;

	if (s->state != S_OPEN)
		return;

	if (s->transport == T_WEBSOCKET) {
		if (s->ws.kind == EP_NONE)
			return;
		while ((q = TAILQ_FIRST(&s->outq)) != NULL) {
			TAILQ_REMOVE(&s->outq, q, list);
			if (q->binary) {
				ep_ws_send(&s->ws, WEBSOCKET_OP_BINARY,
				    q->data, q->len);
			} else {
				ep_ws_text(&s->ws, q->type, q->data, q->len);
			}
			kore_free(q);
		}
		s->outq_bytes = 0;
		return;
	}

	if (s->poll.kind == EP_NONE)
		return;
	if (TAILQ_EMPTY(&s->outq) && !s->upgrading)
		return;

	eio_buf_init(&out);
	sess_payload(s, &out, TAILQ_EMPTY(&s->outq) ? EIO_NOOP : -1);
	ep_answer(&s->poll, 200, CT_PLAIN, out.data, out.len);
	eio_buf_free(&out);
	s->poll.kind = EP_NONE;
}

/* Moves the queue into a polling payload, plus a last bare packet. */
static void
sess_payload(struct eio_session *s, struct eio_buf *out, int last)
{
	struct eio_qpkt	*q;

	while ((q = TAILQ_FIRST(&s->outq)) != NULL) {
		TAILQ_REMOVE(&s->outq, q, list);
		eio_payload_add(out, q->type, q->binary, q->data, q->len);
		kore_free(q);
	}
	s->outq_bytes = 0;

	if (last >= 0)
		eio_payload_add(out, last, 0, NULL, 0);
}

static void
sess_queue(struct eio_session *s, int type, int binary, const void *data,
    size_t len)
{
	struct eio_qpkt	*q;

	if (s->dropped)
		return;
	/* The same rule as for a WebSocket that is not read (ws_backlogged). */
	if (s->outq_bytes > cfg.socket_queue_max) {
		sess_drop(s);
		return;
	}

	q = kore_malloc(sizeof(*q) + len);
	q->type = type;
	q->binary = binary;
	q->len = len;
	if (len > 0)
		memcpy(q->data, data, len);
	TAILQ_INSERT_TAIL(&s->outq, q, list);
	s->outq_bytes += len;
}

/*
 * A polling client that stopped fetching what is queued for it. The
 * queue goes now; the session ends once this loop pass is over (timer
 * TQ_DROP): ending it here could take a socket out of a room in the
 * middle of the room's broadcast.
 */
static void
sess_drop(struct eio_session *s)
{
	core_log("eio %s: dropping a polling client that does not poll "
	    "(over %u bytes queued)", s->sid, cfg.socket_queue_max);
	s->dropped = 1;
	sess_outq_free(s);
	timer_set(s, TQ_DROP, kore_time_ms());
}

static void
sess_outq_free(struct eio_session *s)
{
	struct eio_qpkt	*q;

	while ((q = TAILQ_FIRST(&s->outq)) != NULL) {
		TAILQ_REMOVE(&s->outq, q, list);
		kore_free(q);
	}
	s->outq_bytes = 0;
}

static int
ep_match(struct eio_ep *a, struct eio_ep *b)
{
	return (a->kind == EP_REMOTE && b->kind == EP_REMOTE &&
	    a->worker == b->worker && a->gen == b->gen &&
	    a->relay == b->relay);
}

/* Answers the HTTP request behind an endpoint (local or relayed). */
static void
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

static void
ep_error(struct eio_ep *ep, int code)
{
	struct eio_buf	body;
	int		status;

	eio_buf_init(&body);
	eio_error_body(code, &status, &body);
	ep_answer(ep, status, CT_JSON, body.data, body.len);
	eio_buf_free(&body);
}

static void
ep_ws_send(struct eio_ep *ep, int op, const void *data, size_t len)
{
	if (ep->kind == EP_LOCAL)
		ws_send_capped(ep->c, op, data, len);
	else if (ep->kind == EP_REMOTE)
		relay_down(ep, OP_WS_SEND, 0, op, data, len);
}

/*
 * A frame for a WebSocket of ours, the session's or one we proxy,
 * unless its client stopped reading: then it is dropped.
 */
static void
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
		    "read (over %u bytes queued)", cfg.socket_queue_max);
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
	struct netbuf	*nb;
	size_t		bytes;
	int		n;

	if (c->state != CONN_STATE_ESTABLISHED)
		return (0);

	bytes = 0;
	n = 0;
	TAILQ_FOREACH(nb, &c->send_queue, list) {
		bytes += nb->b_len - nb->s_off;
		if (bytes > cfg.socket_queue_max || ++n > WS_BACKLOG_FRAMES)
			return (1);
	}

	return (0);
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

	if (wc == NULL || c->state != CONN_STATE_ESTABLISHED ||
	    len > WS_COALESCE_MAX) {
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
	net_send_queue(c, hdr, hlen);
	if (len > 0)
		net_send_queue(c, data, len);

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

static void
ws_clean(struct eio_wsconn *wc)
{
	if (wc->dirty) {
		TAILQ_REMOVE(&dirty_q, wc, dlist);
		wc->dirty = 0;
	}
	if (wc->write_held) {
		wc->c->evt.flags |= KORE_EVENT_WRITE;
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
		if (!net_send_flush(wc->c))
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
static void
ws_hold_writes(struct connection *c)
{
	struct eio_wsconn	*wc = c->hdlr_extra;

	if (wc != NULL && wc->dirty && (c->evt.flags & KORE_EVENT_WRITE)) {
		c->evt.flags &= ~KORE_EVENT_WRITE;
		wc->write_held = 1;
	}
}

static void
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

static void
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
 * Kore runs woken requests in http_process(); one woken from inside it
 * (a POST answering the parked GET) would wait for the next loop pass,
 * which epoll may delay until the next timer. A 0 ms timer makes that
 * pass come at once.
 */
static void
wake(struct http_request *req)
{
	http_request_wakeup(req);

	if (!kick_pending) {
		kick_pending = 1;
		(void)kore_timer_add(kick_fire, 0, NULL, KORE_TIMER_ONESHOT);
	}
}

static void
kick_fire(void *arg, u_int64_t now)
{
	kick_pending = 0;
}

/* Upgrades that did not finish within 10 s give up the probe. */
static void
upgrade_timeouts(struct eio_squeue *q, u_int64_t now)
{
	struct eio_session	*s;

	TAILQ_FOREACH(s, q, tlist) {
		if (s->probe.kind != EP_NONE &&
		    now - s->probe_since > UPGRADE_TIMEOUT_MS) {
			ep_ws_close(&s->probe);
			s->upgrading = 0;
		}
	}
}

/*
 * Heartbeats. Every session uses the same intervals, so appending keeps
 * each queue sorted by deadline; one Kore timer covers both heads.
 */
static void
timer_set(struct eio_session *s, int tq, u_int64_t due)
{
	if (s->tq == TQ_PING)
		TAILQ_REMOVE(&ping_q, s, tlist);
	else if (s->tq == TQ_PONG)
		TAILQ_REMOVE(&pong_q, s, tlist);
	else if (s->tq == TQ_DROP)
		TAILQ_REMOVE(&drop_q, s, tlist);

	s->tq = tq;
	s->due = due;

	if (tq == TQ_PING)
		TAILQ_INSERT_TAIL(&ping_q, s, tlist);
	else if (tq == TQ_PONG)
		TAILQ_INSERT_TAIL(&pong_q, s, tlist);
	else if (tq == TQ_DROP)
		TAILQ_INSERT_TAIL(&drop_q, s, tlist);

	if (tq != TQ_NONE)
		timer_arm(due);
}

static void
timer_arm(u_int64_t due)
{
	u_int64_t	now;

	if (timer != NULL) {
		if (timer_due <= due)
			return;
		kore_timer_remove(timer);
	}

	now = kore_time_ms();
	timer_due = due;
	timer = kore_timer_add(timer_fire, due > now ? due - now : 0, NULL,
	    KORE_TIMER_ONESHOT);
}

static void
timer_fire(void *arg, u_int64_t unused)
{
	struct eio_session	*s;
	u_int64_t		now;

	timer = NULL;
	now = kore_time_ms();

	while ((s = TAILQ_FIRST(&drop_q)) != NULL)
		sess_destroy(s, "transport error", EIO_CLOSE);

	while ((s = TAILQ_FIRST(&pong_q)) != NULL && s->due <= now)
		sess_destroy(s, "ping timeout", EIO_CLOSE);

	while ((s = TAILQ_FIRST(&ping_q)) != NULL && s->due <= now) {
		timer_set(s, TQ_PONG, s->due + cfg.ping_timeout);
		if (s->transport == T_WEBSOCKET && s->ws.kind != EP_NONE) {
			ep_ws_text(&s->ws, EIO_PING, NULL, 0);
		} else {
			sess_queue(s, EIO_PING, 0, NULL, 0);
			sess_flush(s);
		}
	}

	if ((s = TAILQ_FIRST(&pong_q)) != NULL)
		timer_arm(s->due);
	if ((s = TAILQ_FIRST(&ping_q)) != NULL)
		timer_arm(s->due);
}

/*
 * Relaying between workers.
 */
static int
nworkers(void)
{
	return (worker_count - KORE_WORKER_BASE);
}

static u_int32_t
relay_new_id(void)
{
	do {
		relay_seq++;
	} while (relay_seq == 0 || relay_find(relay_seq) != NULL);

	return (relay_seq);
}

static struct eio_relay *
relay_find(u_int32_t id)
{
	struct eio_relay	*r;

	LIST_FOREACH(r, &relays[id % RELAY_BUCKETS], hlist) {
		if (r->id == id)
			return (r);
	}

	return (NULL);
}

static void
relay_free(struct eio_relay *r)
{
	LIST_REMOVE(r, hlist);
	if (r->started != 0)
		TAILQ_REMOVE(&relays_pending, r, plist);
	kore_free(r);
}

/* A relayed request the owner will never answer: "Session ID unknown". */
static void
relay_fail(struct eio_relay *r)
{
	struct eio_req	*st;
	struct eio_buf	body;
	int		status;

	st = http_state_get(r->req);
	eio_buf_init(&body);
	eio_error_body(ERR_SID, &status, &body);
	st->done = 1;
	st->status = status;
	st->ctype = CT_JSON;
	eio_buf_free(&st->body);
	st->body = body;
	wake(r->req);
	st->relay = NULL;
	relay_free(r);
}

/* Front -> owner, about one of our relays. */
static void
relay_up(struct eio_relay *r, int op, const void *data, size_t len)
{
	relay_send(r->owner, peer_generation(), r->id, op, 0, 0, r->sid,
	    data, len);
}

/* Owner -> the front worker behind a remote endpoint. */
static void
relay_down(struct eio_ep *ep, int op, int status, int flag,
    const void *data, size_t len)
{
	relay_send(ep->worker, ep->gen, ep->relay, op, status, flag,
	    ep->sid, data, len);
}

static void
relay_send(u_int16_t dst, u_int32_t gen, u_int32_t relay, int op,
    int status, int flag, const char *sid, const void *data, size_t len)
{
	struct eio_msg	hdr;

	memset(&hdr, 0, sizeof(hdr));
	hdr.relay = relay;
	hdr.gen = gen;
	hdr.op = op;
	hdr.status = status;
	hdr.flag = flag;
	(void)kore_strlcpy(hdr.sid, sid, sizeof(hdr.sid));

	peer_send2(dst, (op >= OP_REPLY) ? PEER_EIO_REPLY : PEER_EIO_RELAY,
	    &hdr, sizeof(hdr), data, len);
}

/* On the owner: a request or frame another worker relays to us. */
static void
msg_relay(u_int16_t src, const void *data, size_t len)
{
	struct eio_msg		hdr;
	struct eio_session	*s;
	struct eio_ep		from;
	const u_int8_t		*body;

	if (len < sizeof(hdr))
		return;
	memcpy(&hdr, data, sizeof(hdr));
	hdr.sid[EIO_SID_LEN] = '\0';
	body = (const u_int8_t *)data + sizeof(hdr);
	len -= sizeof(hdr);

	memset(&from, 0, sizeof(from));
	from.kind = EP_REMOTE;
	from.worker = src;
	from.gen = hdr.gen;
	from.relay = hdr.relay;
	memcpy(from.sid, hdr.sid, sizeof(from.sid));

	s = sess_find(hdr.sid);
	if (s != NULL && s->state == S_OPEN && sess_expired(s, kore_time_ms()))
		s = NULL;
	if (s != NULL && s->state == S_CLOSED)
		s = NULL;

	switch (hdr.op) {
	case OP_GET:
	case OP_POST:
	case OP_WS_OPEN:
		if (s == NULL) {
			ep_error(&from, ERR_SID);
			return;
		}
		if (hdr.op == OP_GET)
			sess_get(s, &from);
		else if (hdr.op == OP_POST)
			sess_post(s, &from, body, len);
		else
			sess_ws_open(s, &from);
		break;
	case OP_OVERSIZE:
		if (s != NULL) {
			core_log("eio %s: POST over maxPayload", s->sid);
			sess_destroy(s, "transport error", EIO_CLOSE);
		}
		break;
	case OP_CANCEL:
		if (s != NULL && ep_match(&s->poll, &from)) {
			s->poll.kind = EP_NONE;
			sess_destroy(s, "transport close", EIO_CLOSE);
		}
		break;
	case OP_WS_FRAME:
		if (s != NULL && ep_match(&s->ws, &from))
			sess_ws_frame(s, &s->ws, hdr.flag, body, len);
		else if (s != NULL && ep_match(&s->probe, &from))
			sess_ws_frame(s, &s->probe, hdr.flag, body, len);
		else
			ep_ws_close(&from);
		break;
	case OP_WS_CLOSED:
		if (s != NULL && ep_match(&s->ws, &from))
			sess_ws_gone(s, &s->ws);
		else if (s != NULL && ep_match(&s->probe, &from))
			sess_ws_gone(s, &s->probe);
		break;
	}
}

/*
 * On the front worker: the owner's answer or a frame for our client.
 * It must be for a relay of this generation, from the worker the relay
 * went to, about the relay's session: anything else (an owner still
 * answering for a front worker that died, whose successor reuses relay
 * ids) would reach another client.
 */
static void
msg_reply(u_int16_t src, const void *data, size_t len)
{
	struct eio_msg		hdr;
	struct eio_relay	*r;
	struct eio_req		*st;
	struct eio_wsconn	*wc;
	const u_int8_t		*body;

	if (len < sizeof(hdr))
		return;
	memcpy(&hdr, data, sizeof(hdr));
	hdr.sid[EIO_SID_LEN] = '\0';
	body = (const u_int8_t *)data + sizeof(hdr);
	len -= sizeof(hdr);

	r = (hdr.gen == peer_generation()) ? relay_find(hdr.relay) : NULL;
	if (r != NULL && (r->owner != src || strcmp(r->sid, hdr.sid))) {
		core_log("eio: dropped a reply from worker %u for %s that "
		    "names relay %u of worker %u for %s", src, hdr.sid,
		    hdr.relay, r->owner, r->sid);
		r = NULL;
	} else if (r == NULL && hdr.gen != peer_generation()) {
		core_log("eio: dropped a reply from worker %u for %s to an "
		    "earlier run of this worker", src, hdr.sid);
	}

	if (r == NULL) {
		/* Our side is gone; make sure the owner forgets it too. */
		if (hdr.op == OP_REPLY && hdr.status == 101) {
			relay_send(src, hdr.gen, hdr.relay, OP_WS_CLOSED, 0, 0,
			    hdr.sid, NULL, 0);
		}
		return;
	}

	switch (hdr.op) {
	case OP_REPLY:
		if (r->req == NULL || !http_state_exists(r->req))
			return;
		st = http_state_get(r->req);
		if (st->done || r->started == 0)
			return;
		st->done = 1;
		st->status = hdr.status;
		st->ctype = hdr.flag <= CT_JSON ? hdr.flag : CT_NONE;
		st->body.len = 0;
		eio_buf_add(&st->body, body, len);
		TAILQ_REMOVE(&relays_pending, r, plist);
		r->started = 0;
		wake(r->req);
		break;
	case OP_WS_SEND:
		if (r->c != NULL)
			ws_send_capped(r->c, hdr.flag, body, len);
		break;
	case OP_WS_KILL:
		if (r->c != NULL) {
			if ((wc = r->c->hdlr_extra) != NULL)
				wc->relay = NULL;
			kore_connection_disconnect(r->c);
			relay_free(r);
		}
		break;
	}
}

/*
 * Worker w started again (generation gen, at started): the one before
 * it is dead, with every request and connection it held. As the owner
 * of sessions, end those it fronted; as a front, give up on what we
 * relayed to it before it started (nobody will answer).
 */
static void
eio_peer_restart(u_int16_t w, u_int32_t gen, u_int64_t started)
{
	struct eio_session	*s, **v;
	struct eio_relay	*r, *rnext;
	struct connection	*c;
	struct eio_wsconn	*wc;
	size_t			i, n, cap;

	/* Collected first: ending one session may touch others. */
	n = 0;
	cap = 64;
	v = kore_calloc(cap, sizeof(*v));
	for (i = 0; i < SESS_BUCKETS; i++) {
		LIST_FOREACH(s, &sessions[i], hlist) {
			if (!ep_stale(&s->poll, w, gen) &&
			    !ep_stale(&s->ws, w, gen) &&
			    !ep_stale(&s->probe, w, gen))
				continue;
			if (n == cap) {
				cap *= 2;
				v = kore_realloc(v, cap * sizeof(*v));
			}
			v[n++] = s;
		}
	}
	for (i = 0; i < n; i++) {
		s = v[i];
		if (s->state == S_CLOSED)
			continue;
		if (ep_stale(&s->probe, w, gen))
			sess_ws_gone(s, &s->probe);
		if (ep_stale(&s->ws, w, gen)) {
			sess_ws_gone(s, &s->ws);
		} else if (ep_stale(&s->poll, w, gen)) {
			/* A GET gone unanswered ends it (eio_req_free). */
			s->poll.kind = EP_NONE;
			sess_destroy(s, "transport close", EIO_CLOSE);
		}
	}
	kore_free(v);
	if (n > 0) {
		core_log("eio: worker %u restarted, %zu session(s) lost "
		    "their transport with it", w, n);
	}

	n = 0;
	for (i = 0; i < RELAY_BUCKETS; i++) {
		for (r = LIST_FIRST(&relays[i]); r != NULL; r = rnext) {
			rnext = LIST_NEXT(r, hlist);
			if (r->owner != w || r->created >= started)
				continue;
			n++;
			if (r->c != NULL) {
				c = r->c;
				if ((wc = c->hdlr_extra) != NULL)
					wc->relay = NULL;
				relay_free(r);
				kore_connection_disconnect(c);
			} else if (r->req != NULL &&
			    http_state_exists(r->req)) {
				relay_fail(r);
			}
		}
	}
	if (n > 0) {
		core_log("eio: worker %u restarted, %zu relayed request(s) "
		    "and connection(s) given up", w, n);
	}
}

/* An endpoint behind worker w from before its generation gen. */
static int
ep_stale(struct eio_ep *ep, u_int16_t w, u_int32_t gen)
{
	return (ep->kind == EP_REMOTE && ep->worker == w && ep->gen != gen);
}
