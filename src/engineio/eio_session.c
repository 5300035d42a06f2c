/*
 * Engine.IO sessions (see eio_internal.h): the table of this worker's
 * sessions, what a GET, a POST or a WebSocket frame does to one, the
 * queue of packets waiting for a polling GET, and how a session ends.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "core/core.h"
#include "core/metrics.h"
#include "core/peer.h"
#include "engineio/eio.h"
#include "engineio/eio_internal.h"
#include "engineio/eio_packet.h"

static void	sess_handshake_info(struct eio_session *,
		    struct http_request *);
static int	sess_polling(struct eio_session *, struct eio_ep *);
static void	upgrade_noop_fire(void *, u_int64_t);
static void	sess_packet(struct eio_session *, struct eio_pkt *);
static void	sess_pong(struct eio_session *);
static void	sess_client_close(struct eio_session *);
static void	sess_payload(struct eio_session *, struct eio_buf *, int);
static void	sess_drop(struct eio_session *);
static void	sess_outq_free(struct eio_session *);

static LIST_HEAD(, eio_session)	sessions[SESS_BUCKETS];
static TAILQ_HEAD(, eio_session)	closing_q;
static TAILQ_HEAD(, eio_session)	reap_q;

void
sess_init(void)
{
	size_t		i;

	for (i = 0; i < SESS_BUCKETS; i++)
		LIST_INIT(&sessions[i]);
	TAILQ_INIT(&closing_q);
	TAILQ_INIT(&reap_q);
}

void
sess_teardown(void)
{
	struct eio_session	*s;
	size_t			i;

	for (i = 0; i < SESS_BUCKETS; i++) {
		while ((s = LIST_FIRST(&sessions[i])) != NULL)
			sess_destroy(s, "server shutting down", EIO_CLOSE);
	}
}

/* Closing sessions whose last GET never came. */
void
sess_tick_closing(u_int64_t now)
{
	struct eio_session	*s, *next;

	for (s = TAILQ_FIRST(&closing_q); s != NULL; s = next) {
		next = TAILQ_NEXT(s, clist);
		if (now >= s->closing_until)
			sess_destroy(s, NULL, EIO_CLOSE);
	}
}

/*
 * The memory of closed sessions, kept until the tick because callers up
 * the stack may still hold them.
 */
void
sess_reap(void)
{
	struct eio_session	*s;

	while ((s = TAILQ_FIRST(&reap_q)) != NULL) {
		TAILQ_REMOVE(&reap_q, s, clist);
		sess_outq_free(s);
		kore_free(s->query);
		kore_free(s->authorization);
		kore_free(s);
	}
}

/*
 * Polling without a parked GET: the session is over for the layer
 * above, but the next GET still gets what is queued and then final
 * ("1" close, "6" noop), within CLOSING_GRACE_MS.
 */
void
sess_linger(struct eio_session *s, int final, const char *reason)
{
	s->state = S_CLOSING;
	s->final_pkt = final;
	s->closing_until = kore_time_ms() + CLOSING_GRACE_MS;
	TAILQ_INSERT_TAIL(&closing_q, s, clist);
	timer_set(s, TQ_NONE, 0);
	s->srv->on_close(s, reason);
}

struct eio_session *
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
		eio_sid_make(peer_self(), rnd, s->sid);
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

struct eio_session *
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
void
sess_opened(struct eio_session *s)
{
	s->opened = 1;
	metrics_gauge_add(METRIC_CONNECTIONS, 1,
	    s->transport == T_WEBSOCKET ? "websocket" : "polling");
	timer_set(s, TQ_PING, kore_time_ms() + eio_conf.ping_interval);
	s->srv->on_open(s);
}

/*
 * Deadlines come from the scheduled ping time, not from when the timer
 * ran, and are also checked when a request arrives: a client that did
 * not answer a ping within pingInterval + pingTimeout of the last
 * heartbeat is gone even if the timer has not run yet.
 */
int
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

void
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

void
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

void
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

void
sess_ws_frame(struct eio_session *s, struct eio_ep *ep, int op,
    const u_int8_t *data, size_t len)
{
	struct eio_pkt	pkt;

	if (s->state != S_OPEN)
		return;

	if (len > eio_conf.max_payload) {
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

void
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

	timer_set(s, TQ_PING, kore_time_ms() + eio_conf.ping_interval);
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
		sess_linger(s, EIO_NOOP, "transport close");
		return;
	}

	sess_destroy(s, "transport close", EIO_NOOP);
}

/*
 * Ends a session now. reason (when the layer above has not been told
 * yet) goes to on_close; a parked GET gets the queued packets and then
 * final ("1" close, or "6" noop when the client closed).
 */
void
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
void
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

void
sess_queue(struct eio_session *s, int type, int binary, const void *data,
    size_t len)
{
	struct eio_qpkt	*q;

	if (s->dropped)
		return;
	/* The same rule as for a WebSocket that is not read (ws_backlogged). */
	if (s->outq_bytes > eio_conf.socket_queue_max) {
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
	    "(over %u bytes queued)", s->sid, eio_conf.socket_queue_max);
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

/*
 * Worker w started again (generation gen): the sessions with a
 * transport behind the worker that died lose it. Returns how many.
 */
size_t
sess_peer_restart(u_int16_t w, u_int32_t gen)
{
	struct eio_session	*s, **v;
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

	return (n);
}
