/*
 * The /chat namespace: who may connect, which rooms a socket starts in,
 * and when it must go.
 *
 * A CONNECT is held until the token is checked: the signature and claims
 * on the loop (cheap), the user (exists, active), their conversations
 * and their count of sockets (at most MAX_SOCKETS_PER_USER on all
 * workers and nodes) in a job. Only then is the socket accepted and
 * joined to user:<id> and to every conversation it is in (archived ones
 * too), so no event can arrive before the socket knows its user
 * (SPEC.md §2.1, §2.8). A socket goes when its token expires, and when
 * its user is deactivated or deleted (chat_users.c).
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kore/kore.h>

#include "chat/chat.h"
#include "core/config.h"
#include "core/core.h"
#include "core/job.h"
#include "domain/auth.h"
#include "domain/conversation_service.h"
#include "domain/domain.h"
#include "lib/json.h"
#include "lib/token.h"
#include "lib/token_memo.h"
#include "socketio/bus.h"
#include "socketio/sio.h"
#include "lib/doclist.h"

#define CHAT_TOKEN_MAX		4096

struct chat_connect_job {
	u_int64_t		sock;
	char			*token;
	int			status;
	struct dom_caller		user;
	int64_t			exp;
	struct oidlist		rooms;
	struct chat_admit	admit;
};

static void	chat_connect(struct sio_socket *, const char *, size_t);
static void	chat_disconnect(struct sio_socket *, const char *);
static int	chat_token(struct sio_socket *, const char *, size_t, char *,
		    size_t);
static void	chat_reject(struct sio_socket *, const char *, const char *);
static void	chat_connect_run(void *);
static void	chat_connect_done(void *);
static void	chat_client_free(struct chat_client *);
static void	chat_expire_tokens(void);
static void	chat_note(const char *, const char *);

static const struct sio_nsp_ops chat_ops = {
	chat_connect, chat_event, chat_disconnect
};

struct chat_clients	chat_clients;

void
chat_init(void)
{
	TAILQ_INIT(&chat_clients);
	chat_users_init();
	chat_events_init();
	bus_on_note(chat_note);
	(void)sio_namespace_register(CHAT_NAMESPACE, &chat_ops);
}

void
chat_teardown(void)
{
	struct chat_client	*c;

	while ((c = TAILQ_FIRST(&chat_clients)) != NULL)
		chat_client_free(c);
}

void
chat_tick(u_int64_t now)
{
	chat_typing_expire(now);
	chat_expire_tokens();
	chat_users_check(now);
	chat_presence_tick(now);
}

/* Built on every typing event: no printf. */
void
chat_conv_room(char *room, const char *hex)
{
	memcpy(room, "conversation:", 13);
	memcpy(room + 13, hex, 24);
	room[13 + 24] = '\0';
}

void
chat_user_room(char *room, const char *hex)
{
	memcpy(room, "user:", 5);
	memcpy(room + 5, hex, 24);
	room[5 + 24] = '\0';
}

struct chat_client *
chat_client_of(struct sio_socket *s)
{
	return (sio_data(s));
}

void
chat_user_of(const struct chat_client *c, struct dom_caller *u)
{
	memset(u, 0, sizeof(*u));
	bson_oid_copy(&c->user->oid, &u->oid);
	memcpy(u->id, c->user->id, sizeof(u->id));
	if (c->user->name != NULL)
		(void)snprintf(u->name, sizeof(u->name), "%s", c->user->name);
	if (c->user->avatar != NULL)
		(void)snprintf(u->avatar, sizeof(u->avatar), "%s",
		    c->user->avatar);
}

static void
chat_connect(struct sio_socket *s, const char *auth, size_t len)
{
	struct chat_connect_job		*job;
	struct token_claims		claims;
	char				token[CHAT_TOKEN_MAX + 1];
	int				ret;

	if (chat_token(s, auth, len, token, sizeof(token)) == -1) {
		chat_reject(s, "Unauthorized", "missing token");
		return;
	}

	/* Refuse forged, expired or refresh tokens without a DB trip. */
	ret = token_verify_access(cfg.jwt_secret, token, core_now_ms() / 1000,
	    &claims);
	if (ret != TOKEN_OK) {
		chat_reject(s, "Unauthorized", ret == TOKEN_EXPIRED ?
		    "token expired" :
		    ret == TOKEN_WRONG_TYPE ? "not an access token" :
		    "invalid token");
		return;
	}

	if ((job = calloc(1, sizeof(*job))) == NULL ||
	    (job->token = strdup(token)) == NULL) {
		free(job);
		chat_reject(s, "Service unavailable", "out of memory");
		return;
	}

	job->sock = sio_socket_id(s);
	oidlist_init(&job->rooms);
	chat_admit_init(&job->admit, claims.uid, sio_socket_sid(s),
	    core_now_ms());
	if (job_start(chat_connect_run, chat_connect_done, job) == -1) {
		chat_reject(s, "Service unavailable", "server busy");
		chat_admit_free(&job->admit);
		free(job->token);
		free(job);
	}
}

/*
 * Task thread: the user must exist and be active; then their rooms,
 * then a place under their cap of sockets (last: nothing refuses the
 * socket after it is counted).
 */
static void
chat_connect_run(void *arg)
{
	struct chat_connect_job		*job = arg;

	job->status = auth_caller(job->token, &job->user, &job->exp, NULL, 0);
	if (job->status != 200)
		return;

	if (conv_rooms_of(&job->user.oid, &job->rooms) != 200) {
		job->status = 503;
		return;
	}

	chat_admit_run(&job->admit);
}

static void
chat_connect_done(void *arg)
{
	struct chat_connect_job		*job = arg;
	struct sio_socket		*s;
	struct chat_client		*c;
	char				room[CHAT_ROOM_LEN], hex[25];
	size_t				i;

	/* NULL: the client left while we were looking. */
	if ((s = sio_socket_find(job->sock)) == NULL) {
		if (job->status == 200)
			chat_admit_done(&job->admit, NULL);
		goto out;
	}

	if (job->status == 503) {
		chat_reject(s, "Service unavailable", "database unavailable");
		goto out;
	}
	if (job->status != 200) {
		chat_reject(s, "Unauthorized", "user not found or inactive");
		goto out;
	}
	if (chat_admit_refused(&job->admit)) {
		chat_reject(s, "Too many connections", "this user has "
		    "MAX_SOCKETS_PER_USER sockets connected already");
		goto out;
	}

	c = kore_calloc(1, sizeof(*c));
	c->sock = job->sock;
	(void)snprintf(c->sid, sizeof(c->sid), "%s", sio_socket_sid(s));
	c->exp = job->exp;
	chat_user_attach(c, &job->user);
	TAILQ_INSERT_TAIL(&chat_clients, c, list);
	sio_set_data(s, c);

	chat_user_room(room, c->user->id);
	sio_join(s, room);
	for (i = 0; i < job->rooms.n; i++) {
		bson_oid_to_string(&job->rooms.v[i], hex);
		chat_conv_room(room, hex);
		sio_join(s, room);
	}

	sio_accept(s);

	chat_admit_done(&job->admit, c);

out:
	chat_admit_free(&job->admit);
	oidlist_free(&job->rooms);
	free(job->token);
	free(job);
}

/*
 * Tokens are re-checked: a socket goes when its token expires. One pass
 * a second over this worker's clients (a few µs per thousand) is cheaper
 * than a Kore timer each, whose insertion walks every timer.
 */
static void
chat_expire_tokens(void)
{
	struct chat_client	*c, *next;
	struct sio_socket	*s;
	int64_t			now;

	now = core_now_ms() / 1000;
	for (c = TAILQ_FIRST(&chat_clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, list);
		if (c->exp > now)
			continue;
		/* sio_disconnect() runs chat_disconnect(), which frees c. */
		if ((s = sio_socket_find(c->sock)) != NULL)
			sio_disconnect(s);
	}
}

static void
chat_disconnect(struct sio_socket *s, const char *reason)
{
	struct chat_client	*c;

	if ((c = sio_data(s)) == NULL)
		return;

	sio_set_data(s, NULL);
	chat_typing_clear(c);
	chat_presence_offline(c, 1);
	chat_client_free(c);
}

static void
chat_client_free(struct chat_client *c)
{
	TAILQ_REMOVE(&chat_clients, c, list);
	chat_user_detach(c);
	kore_free(c);
}

/* The bus's notes: a revoked account's sockets end here too. */
static void
chat_note(const char *topic, const char *arg)
{
	if (!strcmp(topic, "revoke"))
		chat_user_revoke(arg);
	dom_note(topic, arg);
}

/*
 * The token comes from auth.token, else the Authorization header, else
 * the token query parameter (SPEC.md §2.1).
 */
static int
chat_token(struct sio_socket *s, const char *auth, size_t len, char *out,
    size_t outlen)
{
	yajl_val	v;
	const char	*t;
	char		err[64];
	int		ret;

	ret = -1;
	if (auth != NULL && len > 0 &&
	    (v = json_parse(auth, len, err, sizeof(err))) != NULL) {
		t = json_get_str(v, "token");
		if (t != NULL && *t != '\0' && strlen(t) < outlen) {
			(void)snprintf(out, outlen, "%s", t);
			ret = 0;
		}
		json_tree_free(v);
		if (ret == 0)
			return (0);
	}

	t = sio_handshake_authorization(s);
	if (t != NULL && !strncasecmp(t, "Bearer ", 7)) {
		t += 7;
		while (*t == ' ')
			t++;
		if (*t != '\0' && strlen(t) < outlen) {
			(void)snprintf(out, outlen, "%s", t);
			return (0);
		}
	}

	if (sio_handshake_query(s, "token", out, outlen) == 1 && *out != '\0')
		return (0);

	return (-1);
}

/* connect_error (usually "Unauthorized") with a reason a client can show. */
static void
chat_reject(struct sio_socket *s, const char *message, const char *reason)
{
	struct json	j;
	const u_int8_t	*data;
	size_t		len;

	json_init(&j);
	json_obj_open(&j);
	json_kstr(&j, "reason", reason);
	json_obj_close(&j);
	data = json_data(&j, &len);

	sio_reject(s, message, (const char *)data, len);
	json_free(&j);
}
