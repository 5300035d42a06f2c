/*
 * Relaying between workers (see eio.h and eio_internal.h). A session
 * lives in the worker that created it; a request or WebSocket for it
 * that reaches another worker (the "front") is relayed to the owner as
 * a peer message, and the owner's answer or frames come back the same
 * way.
 *
 * Workers die and Kore starts them again under the same id. A relay is
 * therefore named by its front worker's generation too (core/peer.h),
 * every relayed message is checked against the worker, generation and
 * sid it belongs to, and when a worker restarts its peers drop what
 * pointed at the dead one (eio_peer_restart).
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "core/core.h"
#include "core/peer.h"
#include "engineio/eio.h"
#include "engineio/eio_internal.h"
#include "engineio/eio_packet.h"

static u_int32_t		relay_new_id(void);
static struct eio_relay		*relay_find(u_int32_t);
static const u_int8_t		*relay_header(const void *, size_t *,
				    struct eio_msg *);
static void			msg_relay(u_int16_t, const void *, size_t);
static void			msg_reply(u_int16_t, const void *, size_t);
static void			eio_peer_restart(u_int16_t, u_int32_t,
				    u_int64_t);

static LIST_HEAD(, eio_relay)	relays[RELAY_BUCKETS];
static TAILQ_HEAD(, eio_relay)	relays_pending;
static u_int32_t		relay_seq;

void
relay_init(void)
{
	size_t		i;

	for (i = 0; i < RELAY_BUCKETS; i++)
		LIST_INIT(&relays[i]);
	TAILQ_INIT(&relays_pending);
	relay_seq = 0;

	peer_register(PEER_EIO_RELAY, msg_relay);
	peer_register(PEER_EIO_REPLY, msg_reply);
	peer_on_restart(eio_peer_restart);
}

/* Relayed requests the owner never answered. */
void
relay_tick(u_int64_t now)
{
	struct eio_relay	*r, *rnext;
	u_int64_t		limit;

	limit = eio_conf.ping_interval + eio_conf.ping_timeout + 5000;
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
}

/* A request for a session of worker owner, parked until it answers. */
struct eio_relay *
relay_new(u_int16_t owner, int op, const char *sid, struct http_request *req)
{
	struct eio_relay	*r;

	r = kore_calloc(1, sizeof(*r));
	r->id = relay_new_id();
	r->owner = owner;
	r->op = op;
	r->req = req;
	r->created = r->started = kore_time_ms();
	(void)kore_strlcpy(r->sid, sid, sizeof(r->sid));
	LIST_INSERT_HEAD(&relays[r->id % RELAY_BUCKETS], r, hlist);
	TAILQ_INSERT_TAIL(&relays_pending, r, plist);

	return (r);
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

void
relay_free(struct eio_relay *r)
{
	LIST_REMOVE(r, hlist);
	if (r->started != 0)
		TAILQ_REMOVE(&relays_pending, r, plist);
	kore_free(r);
}

/* A relayed request the owner will never answer: "Session ID unknown". */
void
relay_fail(struct eio_relay *r)
{
	struct eio_req	*st;
	struct eio_buf	body;
	int		status;

	st = http_state_get(r->req);
	status = eio_error_json(ERR_SID, &body);
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
void
relay_up(struct eio_relay *r, int op, const void *data, size_t len)
{
	relay_send(r->owner, peer_generation(), r->id, op, 0, 0, r->sid,
	    data, len);
}

/* Owner -> the front worker behind a remote endpoint. */
void
relay_down(struct eio_ep *ep, int op, int status, int flag,
    const void *data, size_t len)
{
	relay_send(ep->worker, ep->gen, ep->relay, op, status, flag,
	    ep->sid, data, len);
}

void
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

/* The header of a relayed message (hdr), its body, and len left. */
static const u_int8_t *
relay_header(const void *data, size_t *len, struct eio_msg *hdr)
{
	if (*len < sizeof(*hdr))
		return (NULL);
	memcpy(hdr, data, sizeof(*hdr));
	hdr->sid[EIO_SID_LEN] = '\0';
	*len -= sizeof(*hdr);
	return ((const u_int8_t *)data + sizeof(*hdr));
}

/* On the owner: a request or frame another worker relays to us. */
static void
msg_relay(u_int16_t src, const void *data, size_t len)
{
	struct eio_msg		hdr;
	struct eio_session	*s;
	struct eio_ep		from;
	const u_int8_t		*body;

	if ((body = relay_header(data, &len, &hdr)) == NULL)
		return;

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

	if ((body = relay_header(data, &len, &hdr)) == NULL)
		return;

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
	struct eio_relay	*r, *rnext;
	struct connection	*c;
	struct eio_wsconn	*wc;
	size_t			i, n;

	n = sess_peer_restart(w, gen);
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
int
ep_stale(struct eio_ep *ep, u_int16_t w, u_int32_t gen)
{
	return (ep->kind == EP_REMOTE && ep->worker == w && ep->gen != gen);
}
