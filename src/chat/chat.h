/*
 * The /chat namespace: authentication, the client events of SPEC.md §1,
 * presence and typing. Runs on the worker's event loop; everything that
 * blocks (MongoDB, Redis) runs in jobs (src/app/job.h) that call the
 * same domain functions as the REST layer.
 *
 *   chat.c           namespace, connect (token → user → cap → rooms),
 *                    expiry, disconnect
 *   chat_users.c     this worker's users: their sockets, and the check
 *                    that ends the sockets of a deactivated or deleted one
 *   chat_events.c    join/leave, send_message, mark_read, typing, user_online
 *   chat_presence.c  online/offline transitions, refresh and sweep, typing
 *                    marks and expiry
 */

#ifndef LNK_CHAT_CHAT_H
#define LNK_CHAT_CHAT_H

#include <sys/queue.h>
#include <sys/types.h>
#include <stdint.h>

#include <bson/bson.h>

#include "domain/caller.h"
#include "domain/events.h"
#include "lib/json.h"
#include "lib/doclist.h"

struct sio_socket;
struct sio_event;
struct kore_timer;
struct json;
struct chat_client;

#define CHAT_NAMESPACE		"/chat"
#define CHAT_TYPING_MS		10000

/* One conversation a user is typing in (on this worker). */
struct chat_typing {
	char			conv[25];
	u_int64_t		deadline;	/* ms, kore_time_ms() */
	u_int64_t		marked;		/* last SETEX sent */
	u_int64_t		announced;	/* last isTyping:true; 0: none */
	/* user_typing {isTyping: true}: the same bytes every time. */
	char			*announce;
	size_t			announce_len;
	struct chat_user	*user;
	struct chat_client	*by;		/* typed last; not told */
	TAILQ_ENTRY(chat_typing) list;		/* the user's marks */
	TAILQ_ENTRY(chat_typing) olist;		/* all, oldest first */
};

/* A user with sockets on this worker (chat_users.c). */
struct chat_user {
	bson_oid_t		oid;
	char			id[25];
	char			*name;
	char			*avatar;
	u_int32_t		nclients;
	u_int32_t		nonline;	/* of them not away */
	/* Typing state changes announced: a bucket (chat_presence.c). */
	u_int32_t		typing_tokens;
	u_int64_t		typing_refill;
	TAILQ_HEAD(, chat_client) clients;
	TAILQ_HEAD(, chat_typing) typing;
	TAILQ_ENTRY(chat_user)	round;		/* check order */
	LIST_ENTRY(chat_user)	hash;
};

/* Per-socket state, kept small: thousands of these live per worker. */
struct chat_client {
	u_int64_t		sock;		/* sio_socket_id() */
	char			sid[24];	/* sio_socket_sid() */
	int64_t			exp;		/* token expiry, epoch s */
	int			online;		/* counted in presence */
	struct chat_user	*user;
	TAILQ_ENTRY(chat_client) list;		/* all of this worker */
	TAILQ_ENTRY(chat_client) ulist;		/* the user's */
};

TAILQ_HEAD(chat_clients, chat_client);
extern struct chat_clients	chat_clients;

/*
 * A connect's presence, decided in its job before the socket is
 * accepted: counted in under the per-user cap, and whether that made
 * the user online (then with the partners to tell).
 */
struct chat_admit {
	char			uid[25];
	char			sid[24];
	bson_oid_t		oid;
	int64_t			now;
	u_int32_t		local_online;	/* the user's online sockets here */
	int			result;		/* presence_connect() */
	int64_t			when;
	struct oidlist		partners;
};

void	chat_init(void);
void	chat_teardown(void);
void	chat_tick(u_int64_t);

/* chat.c */
struct chat_client	*chat_client_of(struct sio_socket *);
void			chat_user_of(const struct chat_client *,
			    struct dom_caller *);

/*
 * Room names: "conversation:<24 hex>" and "user:<24 hex>". The buffer
 * holds CHAT_ROOM_LEN bytes; hex is a 24-character id.
 */
#define CHAT_ROOM_LEN		64
void	chat_conv_room(char *, const char *);
void	chat_user_room(char *, const char *);

/* chat_users.c */
void			chat_users_init(void);
struct chat_user	*chat_user_find(const char *);
void			chat_user_attach(struct chat_client *,
			    const struct dom_caller *);
void			chat_user_detach(struct chat_client *);
void			chat_users_check(u_int64_t);
/* Ends every local socket of the user (its account is gone). */
void			chat_user_revoke(const char *);

/* chat_events.c */
void	chat_events_init(void);
void	chat_event(struct sio_socket *, const struct sio_event *);
void	chat_ack_ok(struct sio_socket *, const struct sio_event *);
void	chat_ack_error(struct sio_socket *, const struct sio_event *,
	    const char *);

/* chat_presence.c */
void	chat_admit_init(struct chat_admit *, const char *, const char *,
	    int64_t);
void	chat_admit_run(struct chat_admit *);
int	chat_admit_refused(const struct chat_admit *);
void	chat_admit_done(struct chat_admit *, struct chat_client *);
void	chat_admit_free(struct chat_admit *);
void	chat_presence_online(struct chat_client *);
void	chat_presence_offline(struct chat_client *, int);
void	chat_presence_tick(u_int64_t);
void	chat_typing_start(struct chat_client *, const char *);
void	chat_typing_stop(struct chat_client *, const char *, int);
void	chat_typing_clear(struct chat_client *);
void	chat_typing_expire(u_int64_t);

#endif
