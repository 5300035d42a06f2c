/*
 * The /chat namespace: authentication, the client events of SPEC.md §1,
 * presence and typing. Runs on the worker's event loop; everything that
 * blocks (MongoDB, Redis) runs in jobs (src/app/job.h) that call the
 * same domain functions as the REST layer.
 *
 *   chat.c           namespace, connect (token → user → rooms), expiry,
 *                    disconnect
 *   chat_events.c    join/leave, send_message, mark_read, typing, user_online
 *   chat_presence.c  online/offline transitions, typing marks and expiry
 */

#ifndef LNK_CHAT_CHAT_H
#define LNK_CHAT_CHAT_H

#include <sys/queue.h>
#include <sys/types.h>
#include <stdint.h>

#include <bson/bson.h>

#include "http/api.h"

struct sio_socket;
struct sio_event;
struct kore_timer;
struct json;

#define CHAT_NAMESPACE		"/chat"
#define CHAT_TYPING_MS		10000

/* One conversation this socket is typing in. */
struct chat_typing {
	char			conv[25];
	u_int64_t		deadline;	/* ms, kore_time_ms() */
	u_int64_t		marked;		/* last SETEX sent */
	/* user_typing {isTyping: true}: the same bytes every time. */
	char			*announce;
	size_t			announce_len;
	struct chat_client	*client;
	TAILQ_ENTRY(chat_typing) list;		/* the client's marks */
	TAILQ_ENTRY(chat_typing) olist;		/* all, oldest first */
};

/* Per-socket state, kept small: thousands of these live per worker. */
struct chat_client {
	u_int64_t		sock;		/* sio_socket_id() */
	char			sid[24];	/* sio_socket_sid() */
	bson_oid_t		oid;
	char			id[25];
	char			*name;
	char			*avatar;
	int64_t			exp;		/* token expiry, epoch s */
	int			online;		/* counted in presence */
	TAILQ_HEAD(, chat_typing) typing;
	TAILQ_ENTRY(chat_client) list;
};

TAILQ_HEAD(chat_clients, chat_client);
extern struct chat_clients	chat_clients;

void	chat_init(void);
void	chat_teardown(void);
void	chat_tick(u_int64_t);

/* chat.c */
struct chat_client	*chat_client_of(struct sio_socket *);
void			chat_user_of(const struct chat_client *,
			    struct api_user *);

/*
 * Room names: "conversation:<24 hex>" and "user:<24 hex>". The buffer
 * holds CHAT_ROOM_LEN bytes; hex is a 24-character id.
 */
#define CHAT_ROOM_LEN		64
void	chat_conv_room(char *, const char *);
void	chat_user_room(char *, const char *);

/* chat_events.c */
void	chat_events_init(void);
void	chat_event(struct sio_socket *, const struct sio_event *);
void	chat_ack_ok(struct sio_socket *, const struct sio_event *);
void	chat_ack_error(struct sio_socket *, const struct sio_event *,
	    const char *);

/* chat_presence.c */
void	chat_presence_online(struct chat_client *);
void	chat_presence_offline(struct chat_client *, int);
void	chat_presence_refresh(void);
void	chat_typing_start(struct chat_client *, const char *);
void	chat_typing_stop(struct chat_client *, const char *, int);
void	chat_typing_clear(struct chat_client *);
void	chat_typing_expire(u_int64_t);

#endif
