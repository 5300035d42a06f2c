/*
 * What the files of src/socketio's server share (not for other layers:
 * they use sio.h):
 *
 *  sio.c         the public calls: namespaces, accept/reject, emit, ack
 *  sio_client.c  engine connections: packets in, sockets come and go
 *  sio_room.c    rooms of one namespace on this worker
 */

#ifndef LNK_SOCKETIO_SIO_INTERNAL_H
#define LNK_SOCKETIO_SIO_INTERNAL_H

#include <sys/types.h>
#include <sys/queue.h>

#include "engineio/eio.h"
#include "engineio/eio_packet.h"
#include "socketio/sio.h"
#include "socketio/sio_packet.h"

#define SOCK_PENDING		1
#define SOCK_CONNECTED		2
#define SOCK_GONE		3

#define ROOM_BUCKETS		16384
#define SOCK_BUCKETS		16384
/* An encoded event or ack of a chat message fits; bigger go to the heap. */
#define SIO_STACK		1024

struct sio_member {
	struct sio_room			*room;
	struct sio_socket		*sock;
	TAILQ_ENTRY(sio_member)		rlist;
	LIST_ENTRY(sio_member)		slist;
};

struct sio_room {
	char				*name;
	size_t				count;
	TAILQ_HEAD(, sio_member)	members;
	LIST_ENTRY(sio_room)		hlist;
};

struct sio_nsp {
	char				*name;
	size_t				name_len;
	struct sio_nsp_ops		ops;
	LIST_HEAD(, sio_room)		rooms[ROOM_BUCKETS];
	TAILQ_ENTRY(sio_nsp)		list;
};

struct sio_client {
	struct eio_session		*sess;
	int				closed;
	LIST_HEAD(, sio_socket)		sockets;
	u_int64_t			created;
	int				in_connect_q;
	TAILQ_ENTRY(sio_client)		list;

	/* A binary packet waiting for its attachments. */
	char				*bin_text;
	size_t				bin_len;
	int				bin_need;
	int				bin_have;
	struct sio_bin			bin_att[SIO_MAX_ATTACHMENTS];
};

struct sio_socket {
	char				sid[SIO_SID_LEN + 1];
	u_int64_t			id;
	int				state;
	struct sio_nsp			*nsp;
	struct sio_client		*client;
	LIST_HEAD(, sio_member)		rooms;
	void				*udata;
	LIST_ENTRY(sio_socket)		clist;
	LIST_ENTRY(sio_socket)		hlist;
	TAILQ_ENTRY(sio_socket)		reap;
};

/* Hidden: these cross files, not the module (see eio_internal.h). */
#pragma GCC visibility push(hidden)

/* sio.c */
struct sio_nsp	*nsp_find_len(const char *, size_t);
void	encode_event(struct eio_buf *, struct sio_nsp *, int, u_int64_t,
	    const char *, const char *, size_t, int, int);
void	send_encoded(struct sio_client *, struct eio_buf *,
	    const struct sio_bin *, int);

/* sio_client.c */
void	client_init(u_int32_t);
void	client_tick(u_int64_t);
void	socket_gone(struct sio_socket *, const char *);

/* sio_room.c */
void	member_remove(struct sio_member *);

#pragma GCC visibility pop

#endif
