/*
 * Socket.IO v5 server on top of src/engineio: namespaces, sockets,
 * acks, binary attachments and local rooms. This is the API the chat
 * layer (/chat) is written against. Everything runs on the worker's
 * event loop; nothing here may be called from a task thread.
 *
 * Registering a namespace (in rt_worker_init, every worker, after
 * sio_init):
 *
 *	static const struct sio_nsp_ops chat_ops = {
 *		chat_connect, chat_event, chat_disconnect
 *	};
 *	chat_nsp = sio_namespace_register("/chat", &chat_ops);
 *
 * Connecting. on_connect(s, auth, len) runs for every CONNECT; auth is
 * the client's auth object as JSON text ("{}" when it sent none). The
 * handler must eventually call sio_accept(s) (the client gets
 * 40/chat,{"sid":...} and the socket is live) or sio_reject(s, message,
 * data) (44/chat,{"message":..,"data":..}; the client's connect_error).
 * It may do so later, e.g. after a job_start() lookup: keep
 * sio_socket_id(s), and in the job's done callback get the socket back
 * with sio_socket_find(id), which returns NULL when the client left in
 * the meantime. The handshake is readable with sio_handshake_*():
 * Authorization header, query parameters (?token=), peer address.
 *
 * Events. on_event(s, ev): ev->name is the event name, ev->args the
 * remaining arguments as a JSON array text ("[]" when none; parse with
 * json_parse()). With ev->has_ack the client waits for
 * sio_ack(s, ev->ack_id, value) (at most once; also allowed later, after
 * async work, via sio_socket_find()). Strings passed in are only valid
 * during the call.
 *
 * Leaving. on_disconnect(s, reason) runs once for every socket whose
 * on_connect ran and that was not rejected, connected or still pending:
 * "client namespace disconnect", "server namespace disconnect",
 * "transport close", "transport error", "ping timeout", "parse error",
 * "forced server close", "server shutting down". Free the user data
 * there; the socket is gone after it returns.
 *
 * Sending. Arguments are JSON text written with src/lib/json.h:
 *   sio_emit(s, "new_message", obj, len)    one argument (NULL: none)
 *   sio_emit_bin(s, "x", args, len, att, n) a JSON array of arguments,
 *                                           with binary attachments
 *   sio_ack(s, id, obj, len)                ack with one value
 *   sio_ack_bin(s, id, args, len, att, n)   ack with an array, binary
 * The server asks for no acks of its own: an ACK packet from the
 * client is ignored.
 * Rooms are local to this worker: sio_join/sio_leave, and
 * sio_room_emit_local(nsp, room, except, ...) where except is a socket
 * sid or a room whose members are skipped (NULL: nobody). To reach a
 * room on every worker and node use src/socketio/bus.h instead.
 */

#ifndef LNK_SOCKETIO_SIO_H
#define LNK_SOCKETIO_SIO_H

#include <sys/types.h>
#include <stddef.h>

#include "engineio/eio.h"

#define SIO_SID_LEN		20

struct sio_socket;
struct sio_nsp;

struct sio_bin {
	const u_int8_t	*data;
	size_t		len;
};

struct sio_event {
	const char		*name;
	const char		*args;		/* JSON array text */
	size_t			args_len;
	int			has_ack;
	u_int64_t		ack_id;
	const struct sio_bin	*att;		/* binary attachments */
	int			natt;
};

struct sio_nsp_ops {
	void	(*on_connect)(struct sio_socket *, const char *, size_t);
	void	(*on_event)(struct sio_socket *, const struct sio_event *);
	void	(*on_disconnect)(struct sio_socket *, const char *);
};

/* The Engine.IO server Socket.IO runs on (route /socket.io/). */
extern const struct eio_server	sio_eio_server;

/* Socket.IO's settings: this layer reads no configuration itself. */
struct sio_config {
	/* ms for a new engine connection to join a namespace */
	u_int32_t	connect_timeout;
};

void		sio_init(const struct sio_config *);
void		sio_teardown(void);
void		sio_tick(u_int64_t);

struct sio_nsp	*sio_namespace_register(const char *,
		    const struct sio_nsp_ops *);
struct sio_nsp	*sio_namespace_find(const char *);
const char	*sio_namespace_name(struct sio_nsp *);

void		sio_accept(struct sio_socket *);
void		sio_reject(struct sio_socket *, const char *, const char *,
		    size_t);

void		sio_emit(struct sio_socket *, const char *, const char *,
		    size_t);
void		sio_emit_bin(struct sio_socket *, const char *, const char *,
		    size_t, const struct sio_bin *, int);
void		sio_ack(struct sio_socket *, u_int64_t, const char *, size_t);
void		sio_ack_bin(struct sio_socket *, u_int64_t, const char *,
		    size_t, const struct sio_bin *, int);

void		sio_join(struct sio_socket *, const char *);
void		sio_leave(struct sio_socket *, const char *);
int		sio_in_room(struct sio_socket *, const char *);

/* Local rooms of one namespace (this worker only). */
size_t		sio_room_emit_local(struct sio_nsp *, const char *,
		    const char *, const char *, const char *, size_t);
void		sio_room_join_local(struct sio_nsp *, const char *,
		    const char *);
void		sio_room_leave_local(struct sio_nsp *, const char *,
		    const char *);

/* Sends 41 and drops the socket; the engine connection stays. */
void		sio_disconnect(struct sio_socket *);

const char	*sio_socket_sid(struct sio_socket *);
u_int64_t	sio_socket_id(struct sio_socket *);
struct sio_socket *sio_socket_find(u_int64_t);
void		sio_set_data(struct sio_socket *, void *);
void		*sio_data(struct sio_socket *);

const char	*sio_handshake_authorization(struct sio_socket *);
int		sio_handshake_query(struct sio_socket *, const char *, char *,
		    size_t);
const char	*sio_remote_addr(struct sio_socket *);

#endif
