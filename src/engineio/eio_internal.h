/*
 * What the files of src/engineio share (not for other layers: they use
 * eio.h). The server is split by subsystem:
 *
 *  eio.c          the public calls, init/tick/teardown
 *  eio_request.c  HTTP requests: routing, handshake, errors, bodies
 *  eio_session.c  sessions: polling, upgrade, packets, close, queues
 *  eio_ws.c       endpoints and WebSocket writes (coalesced per pass)
 *  eio_timer.c    heartbeats, upgrade timeouts, waking requests
 *  eio_relay.c    requests and frames relayed between workers
 *
 * Where a transport ends is an "endpoint": a local Kore object (a parked
 * GET, a WebSocket connection) or a request/connection held by another
 * worker that relays it here (worker id, its generation, relay id).
 * The session code only talks to endpoints, so relayed and local
 * clients behave alike.
 */

#ifndef LNK_ENGINEIO_EIO_INTERNAL_H
#define LNK_ENGINEIO_EIO_INTERNAL_H

#include <sys/types.h>
#include <sys/queue.h>

#include <netinet/in.h>

#include "engineio/eio.h"
#include "engineio/eio_packet.h"
#include "engineio/ws_reader.h"

struct connection;
struct http_request;
struct json;

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
 * them: past eio_config's socket_queue_max bytes (or this many frames)
 * it is dropped instead.
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

/* Kore WebSocket callbacks (eio_ws.c), looked up by name. */
void	rt_ws_connect(struct connection *);
void	rt_ws_message(struct connection *, u_int8_t, const void *, size_t);
void	rt_ws_disconnect(struct connection *);

/*
 * The calls below cross files but not the module: hidden, so they are
 * not exported from the .so, where a generic name (wake, timer_set)
 * could bind to a symbol of the same name in Kore or a library.
 */
#pragma GCC visibility push(hidden)

/* What the layer above gave eio_init() (eio.c). */
extern struct eio_config	eio_conf;

/* eio_request.c */
int	eio_error_json(int, struct eio_buf *);
void	eio_open_json(struct json *, const struct eio_session *, int);
void	eio_error_to(int, void (*)(void *, int, int, const void *, size_t),
	    void *);

/* eio_session.c */
void	sess_init(void);
void	sess_teardown(void);
void	sess_tick_closing(u_int64_t);
void	sess_reap(void);
struct eio_session	*sess_new(const struct eio_server *,
			    struct http_request *);
struct eio_session	*sess_find(const char *);
void	sess_opened(struct eio_session *);
int	sess_expired(struct eio_session *, u_int64_t);
void	sess_linger(struct eio_session *, int, const char *);
void	sess_get(struct eio_session *, struct eio_ep *);
void	sess_post(struct eio_session *, struct eio_ep *, const u_int8_t *,
	    size_t);
void	sess_ws_open(struct eio_session *, struct eio_ep *);
void	sess_ws_frame(struct eio_session *, struct eio_ep *, int,
	    const u_int8_t *, size_t);
void	sess_ws_gone(struct eio_session *, struct eio_ep *);
void	sess_destroy(struct eio_session *, const char *, int);
void	sess_flush(struct eio_session *);
void	sess_queue(struct eio_session *, int, int, const void *, size_t);
size_t	sess_peer_restart(u_int16_t, u_int32_t);

/* eio_ws.c */
void	ws_init(void);
int	ep_match(struct eio_ep *, struct eio_ep *);
void	ep_answer(struct eio_ep *, int, int, const void *, size_t);
void	ep_error(struct eio_ep *, int);
void	ep_ws_send(struct eio_ep *, int, const void *, size_t);
void	ep_ws_text(struct eio_ep *, int, const void *, size_t);
void	ep_ws_close(struct eio_ep *);
void	ws_send_capped(struct connection *, u_int8_t, const void *, size_t);
void	ws_clean(struct eio_wsconn *);
void	ws_hold_writes(struct connection *);

/* eio_timer.c */
void	timer_init(void);
void	timer_tick_upgrades(u_int64_t);
void	timer_set(struct eio_session *, int, u_int64_t);
void	wake(struct http_request *);

/* eio_relay.c */
void	relay_init(void);
void	relay_tick(u_int64_t);
struct eio_relay	*relay_new(u_int16_t, int, const char *,
			    struct http_request *);
void	relay_free(struct eio_relay *);
void	relay_fail(struct eio_relay *);
void	relay_up(struct eio_relay *, int, const void *, size_t);
void	relay_down(struct eio_ep *, int, int, int, const void *, size_t);
void	relay_send(u_int16_t, u_int32_t, u_int32_t, int, int, int,
	    const char *, const void *, size_t);
int	ep_stale(struct eio_ep *, u_int16_t, u_int32_t);

#pragma GCC visibility pop

#endif
