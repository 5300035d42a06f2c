/*
 * Engine.IO v4 server on Kore: sessions over HTTP long-polling and
 * WebSocket, the upgrade from one to the other, heartbeats and the
 * HTTP error answers of the reference server.
 *
 * A session lives in the worker that created it; its sid names that
 * worker. A request that reaches another worker (Kore hands every new
 * connection to whichever worker accepts it) is relayed to the owner
 * with kore_msg and answered when the owner replies; an upgraded
 * WebSocket on another worker is proxied frame by frame.
 *
 * Everything here runs on a worker's event loop.
 */

#ifndef LNK_ENGINEIO_EIO_H
#define LNK_ENGINEIO_EIO_H

#include <sys/types.h>
#include <stddef.h>

struct http_request;
struct eio_session;

/*
 * What the layers above decide for the transport, given once per worker
 * (eio_init). Any hook may be NULL.
 */
struct eio_hooks {
	/* Adds the CORS headers to an answer (polling). */
	int	(*cors_headers)(struct http_request *);
	/* Answers an OPTIONS preflight; 1 if it did. */
	int	(*cors_preflight)(struct http_request *);
	/*
	 * Whether a page from this Origin may open a WebSocket (a page of
	 * this server's own origin always may). NULL: any.
	 */
	int	(*origin_allowed)(const char *);
};

/* The transport's settings: this layer reads no configuration itself. */
struct eio_config {
	/* Heartbeat (ms): a ping every interval, a pong within timeout. */
	u_int32_t		ping_interval;
	u_int32_t		ping_timeout;
	/* The largest POST body or WebSocket message (bytes). */
	u_int32_t		max_payload;
	/* Bytes queued for a client that does not read before it is dropped. */
	u_int32_t		socket_queue_max;
	struct eio_hooks	hooks;
};

/* What runs on top of a session (Socket.IO, or the raw echo). */
struct eio_server {
	const char	*name;
	/* The session is open; the handshake request is still readable. */
	void		(*on_open)(struct eio_session *);
	/* One message packet, text (without the "4") or binary. */
	void		(*on_message)(struct eio_session *, const u_int8_t *,
			    size_t, int);
	/* The session is gone; no eio_* call on it afterwards. */
	void		(*on_close)(struct eio_session *, const char *);
};

/* eio_send() flags */
#define EIO_SEND_BINARY		0x01
/* data[0] is already the "4" of a text message packet */
#define EIO_SEND_PREFIXED	0x02

void		eio_init(const struct eio_config *);
void		eio_teardown(void);
void		eio_tick(u_int64_t);

/* The Kore page handler body for an Engine.IO path. */
int		eio_http(struct http_request *, const struct eio_server *);

void		eio_send(struct eio_session *, const void *, size_t, int);
/* Server-side close: queued packets go out first (polling). */
void		eio_close(struct eio_session *, const char *);

void		eio_set_data(struct eio_session *, void *);
void		*eio_data(struct eio_session *);
/* From the request that opened the session. */
const char	*eio_handshake_query(struct eio_session *);
const char	*eio_handshake_authorization(struct eio_session *);
const char	*eio_remote_addr(struct eio_session *);

#endif
