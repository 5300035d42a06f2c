/*
 * Reading WebSocket frames off Kore connections, many per recv(2).
 *
 * Kore reads a frame with two recv(2) calls (the 2-byte header, then
 * the rest) and a realloc of the connection's buffer: a client that
 * sends ten events in one segment costs twenty syscalls. After the
 * handshake wsr_install() takes over the connection's receive netbuf:
 * every read goes into one buffer per worker, each complete frame in
 * it is handed to the connection's ws_message callback, and only a
 * partial frame is copied aside. An idle socket holds no read buffer.
 *
 * Control frames are answered as RFC 6455 asks (PONG for PING, the
 * CLOSE echoed), fragmented messages are reassembled, and a frame over
 * websocket_maxframe or a protocol error closes the connection with
 * 1009 or 1002.
 */

#ifndef LNK_ENGINEIO_WS_READER_H
#define LNK_ENGINEIO_WS_READER_H

#include <sys/types.h>

struct connection;
struct kore_buf;

/* Per-connection reader state; lives as long as the connection. */
struct wsr {
	struct kore_buf	*carry;		/* the start of a partial frame */
	struct kore_buf	*frag;		/* a fragmented message so far */
	u_int8_t	frag_op;
	int		busy;		/* frames are being handed out */
	int		released;
	/* After the frames of one read were handed out (may be NULL). */
	void		(*drained)(struct connection *);
};

/* Right after kore_websocket_handshake() succeeded. */
void	wsr_install(struct connection *, struct wsr *,
	    void (*)(struct connection *));

/*
 * From the ws_disconnect callback, before Kore frees the connection:
 * gives the worker's buffer back so Kore does not free it.
 */
void	wsr_release(struct connection *);

#endif
