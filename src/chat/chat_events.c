/*
 * Client events of /chat (SPEC.md §1). Every payload is validated before
 * anything happens; a wrong shape, a foreign conversation or a spoofed
 * sender gets {success:false, error} in the ack, never a crash. Events
 * that touch the database run as jobs calling the same domain functions
 * as REST, then publish what the domain queued and answer the ack, in
 * that order (the room hears new_message before the sender's ack).
 */

#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "chat/chat.h"
#include "core/core.h"
#include "core/job.h"
#include "core/metrics.h"
#include "domain/conversation_service.h"
#include "domain/events.h"
#include "domain/message_service.h"
#include "lib/valid.h"
#include "lib/json.h"
#include "lib/json_arena.h"
#include "socketio/sio.h"

#define OP_JOIN		1
#define OP_SEND		2
#define OP_READ		3

struct chat_op {
	int			kind;
	u_int64_t		sock;
	int			has_ack;
	u_int64_t		ack_id;
	struct dom_caller		user;
	char			*args;
	size_t			args_len;
	bson_oid_t		conv;
	bson_oid_t		msg;
	int			status;
	char			err[256];
	struct json		out;
	int			has_out;
	struct evq		ev;
	struct msg_draft	*draft;		/* OP_SEND, to commit */
};

/*
 * Event arguments are parsed into this arena (event_payload) and the
 * trees dropped when the handler returns: handlers copy what they keep.
 */
static u_int8_t			args_storage[8192];
static struct json_arena	args_arena;

static yajl_val	event_payload(struct sio_socket *, const struct sio_event *);
static int	event_oid(yajl_val, const char *, bson_oid_t *, char *);
static void	event_join(struct sio_socket *, const struct sio_event *);
static void	event_leave(struct sio_socket *, const struct sio_event *);
static void	event_op(struct sio_socket *, const struct sio_event *, int,
		    const char *);
static void	event_send(struct sio_socket *, const struct sio_event *);
static void	event_read(struct sio_socket *, const struct sio_event *);
static void	event_typing_start(struct sio_socket *,
		    const struct sio_event *);
static void	event_typing_stop(struct sio_socket *,
		    const struct sio_event *);
static void	event_user_online(struct sio_socket *,
		    const struct sio_event *);
static int	event_typing_target(struct sio_socket *,
		    const struct sio_event *, char *);
static struct chat_op	*op_new(int, struct sio_socket *,
			    const struct sio_event *, int);
static void	op_run(void *);
static void	op_done(void *);
static void	op_committed(void *, const struct msg_result *);
static void	op_ack(struct sio_socket *, struct chat_op *, int,
		    const char *, struct json *);
static void	op_send(struct chat_op *);
static int	op_input(struct msg_input *, yajl_val, char *, size_t);
static void	op_start(struct sio_socket *, const struct sio_event *,
		    struct chat_op *);
static void	op_free(struct chat_op *);

static struct {
	const char		*name;
	void			(*fn)(struct sio_socket *,
				    const struct sio_event *);
	struct metrics_series	*count;		/* set by chat_events_init */
} handlers[] = {
	{ "join_conversation",		event_join,		NULL },
	{ "leave_conversation",		event_leave,		NULL },
	{ "send_message",		event_send,		NULL },
	{ "mark_read",			event_read,		NULL },
	{ "typing_start",		event_typing_start,	NULL },
	{ "typing_stop",		event_typing_stop,	NULL },
	{ "user_online",		event_user_online,	NULL },
	{ NULL,				NULL,			NULL }
};

void
chat_events_init(void)
{
	int		i;

	json_arena_init(&args_arena, args_storage, sizeof(args_storage));
	for (i = 0; handlers[i].name != NULL; i++) {
		handlers[i].count = metrics_counter(METRIC_SOCKET_EVENTS,
		    handlers[i].name);
	}
}

void
chat_event(struct sio_socket *s, const struct sio_event *ev)
{
	int		i;

	if (chat_client_of(s) == NULL)
		return;

	for (i = 0; handlers[i].name != NULL; i++) {
		if (!strcmp(handlers[i].name, ev->name)) {
			metrics_series_inc(handlers[i].count);
			handlers[i].fn(s, ev);
			json_arena_reset(&args_arena);
			return;
		}
	}

	chat_ack_error(s, ev, "Unknown event");
}

void
chat_ack_ok(struct sio_socket *s, const struct sio_event *ev)
{
	static const char	ok[] = "{\"success\":true}";

	if (ev->has_ack)
		sio_ack(s, ev->ack_id, ok, sizeof(ok) - 1);
}

void
chat_ack_error(struct sio_socket *s, const struct sio_event *ev,
    const char *msg)
{
	struct json	j;
	const u_int8_t	*data;
	size_t		len;

	if (!ev->has_ack)
		return;

	json_init(&j);
	json_obj_open(&j);
	json_kbool(&j, "success", 0);
	json_kstr(&j, "error", msg);
	json_obj_close(&j);
	data = json_data(&j, &len);
	sio_ack(s, ev->ack_id, (const char *)data, len);
	json_free(&j);
}

/*
 * The events that need the database: join_conversation {conversationId},
 * send_message {conversationId, message} (only the outer id counts) and
 * mark_read {messageId, conversationId}, each run as a job.
 */
static void
event_join(struct sio_socket *s, const struct sio_event *ev)
{
	event_op(s, ev, OP_JOIN, NULL);
}

/*
 * A plain message of a conversation in the memo is checked here on the
 * loop and goes straight to its batch; anything the checks need the
 * database for (a reply, a forward, a conversation not in the memo)
 * runs as a job.
 */
static void
event_send(struct sio_socket *s, const struct sio_event *ev)
{
	struct msg_input	in;
	struct msg_draft	*draft;
	struct dom_caller		user;
	struct chat_op		*op;
	yajl_val		p;
	bson_oid_t		cid;
	char			err[256];
	int			status;

	if ((p = event_payload(s, ev)) == NULL)
		return;
	if (event_oid(p, "conversationId", &cid, err) == -1) {
		chat_ack_error(s, ev, err);
		return;
	}

	msg_input_init(&in);
	if (op_input(&in, json_get(p, "message"), err, sizeof(err)) == -1) {
		chat_ack_error(s, ev, err);
		goto done;
	}

	chat_user_of(chat_client_of(s), &user);
	status = msg_send_quick(&user, &cid, &in, &draft, err, sizeof(err));
	if (status == MSG_SLOW) {
		event_op(s, ev, OP_SEND, NULL);
	} else if (status != MSG_PENDING) {
		chat_ack_error(s, ev, err);
	} else if ((op = op_new(OP_SEND, s, ev, 0)) == NULL) {
		chat_ack_error(s, ev, "Out of memory");
		msg_draft_discard(draft);
	} else {
		msg_commit(draft, op_committed, op);
	}

done:
	msg_input_free(&in);
}

static void
event_read(struct sio_socket *s, const struct sio_event *ev)
{
	event_op(s, ev, OP_READ, "messageId");
}

static void
event_op(struct sio_socket *s, const struct sio_event *ev, int kind,
    const char *msgkey)
{
	struct chat_op	*op;
	yajl_val	p;
	char		err[128];

	if ((p = event_payload(s, ev)) == NULL)
		return;

	if ((op = op_new(kind, s, ev, kind == OP_SEND)) == NULL) {
		chat_ack_error(s, ev, "Out of memory");
		return;
	}

	if ((msgkey != NULL && event_oid(p, msgkey, &op->msg, err) == -1) ||
	    event_oid(p, "conversationId", &op->conv, err) == -1) {
		chat_ack_error(s, ev, err);
		op_free(op);
		return;
	}

	op_start(s, ev, op);
}

static void
event_leave(struct sio_socket *s, const struct sio_event *ev)
{
	yajl_val	p;
	bson_oid_t	oid;
	char		hex[25], room[CHAT_ROOM_LEN], err[128];

	if ((p = event_payload(s, ev)) == NULL)
		return;

	if (event_oid(p, "conversationId", &oid, err) == -1) {
		chat_ack_error(s, ev, err);
		return;
	}

	bson_oid_to_string(&oid, hex);
	chat_conv_room(room, hex);
	if (sio_in_room(s, room))
		chat_typing_stop(chat_client_of(s), hex, 1);
	sio_leave(s, room);
	chat_ack_ok(s, ev);
}

static void
event_typing_start(struct sio_socket *s, const struct sio_event *ev)
{
	char		conv[25];

	if (event_typing_target(s, ev, conv) == -1)
		return;

	chat_typing_start(chat_client_of(s), conv);
	chat_ack_ok(s, ev);
}

static void
event_typing_stop(struct sio_socket *s, const struct sio_event *ev)
{
	char		conv[25];

	if (event_typing_target(s, ev, conv) == -1)
		return;

	chat_typing_stop(chat_client_of(s), conv, 1);
	chat_ack_ok(s, ev);
}

static void
event_user_online(struct sio_socket *s, const struct sio_event *ev)
{
	yajl_val	p, v;
	int		online;

	if ((p = event_payload(s, ev)) == NULL)
		return;

	v = json_get(p, "isOnline");
	if (v == NULL || (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))) {
		chat_ack_error(s, ev, "isOnline must be a boolean value");
		return;
	}
	online = YAJL_IS_TRUE(v);

	if (online)
		chat_presence_online(chat_client_of(s));
	else
		chat_presence_offline(chat_client_of(s), 0);
	chat_ack_ok(s, ev);
}

/*
 * Typing needs no database trip: a socket is in conversation:<id> only
 * after a participant check (at connect, join_conversation, or the
 * server-side join of a new conversation).
 */
static int
event_typing_target(struct sio_socket *s, const struct sio_event *ev,
    char *conv)
{
	yajl_val	p;
	const char	*id;
	char		room[CHAT_ROOM_LEN];
	int		i;

	if ((p = event_payload(s, ev)) == NULL)
		return (-1);

	/* The hex form is all it needs: no ObjectId round trip. */
	id = json_get_str(p, "conversationId");
	if (id == NULL || !valid_is_oid(id)) {
		chat_ack_error(s, ev, "conversationId must be a mongodb id");
		return (-1);
	}
	for (i = 0; i < 24; i++)
		conv[i] = tolower((unsigned char)id[i]);
	conv[24] = '\0';
	chat_conv_room(room, conv);
	if (!sio_in_room(s, room)) {
		chat_ack_error(s, ev, "Conversation not found");
		return (-1);
	}

	return (0);
}

/* The first argument, which must be an object; acks the error itself. */
static yajl_val
event_payload(struct sio_socket *s, const struct sio_event *ev)
{
	yajl_val	root;
	char		err[128];

	root = json_arena_parse(&args_arena, ev->args, ev->args_len, err,
	    sizeof(err));
	if (root == NULL && args_arena.error != JSON_ARENA_ESYNTAX) {
		/* Too deep, or a NUL that would cut a string: say so. */
		chat_ack_error(s, ev, err);
		return (NULL);
	}
	if (root == NULL || !YAJL_IS_ARRAY(root) || root->u.array.len == 0 ||
	    !YAJL_IS_OBJECT(root->u.array.values[0])) {
		chat_ack_error(s, ev, "Invalid payload: expected an object");
		return (NULL);
	}

	return (root->u.array.values[0]);
}

static int
event_oid(yajl_val p, const char *key, bson_oid_t *oid, char *err)
{
	const char	*s;

	s = json_get_str(p, key);
	if (s == NULL || !valid_is_oid(s)) {
		(void)snprintf(err, 128, "%s must be a mongodb id", key);
		return (-1);
	}

	bson_oid_init_from_string(oid, s);
	return (0);
}

/* with_args: the job parses the event's arguments itself. */
static struct chat_op *
op_new(int kind, struct sio_socket *s, const struct sio_event *ev,
    int with_args)
{
	struct chat_op	*op;

	if ((op = calloc(1, sizeof(*op))) == NULL)
		return (NULL);

	op->kind = kind;
	op->sock = sio_socket_id(s);
	op->has_ack = ev->has_ack;
	op->ack_id = ev->ack_id;
	chat_user_of(chat_client_of(s), &op->user);
	json_init(&op->out);
	evq_init(&op->ev);

	if (with_args) {
		if ((op->args = malloc(ev->args_len + 1)) == NULL) {
			json_free(&op->out);
			free(op);
			return (NULL);
		}
		memcpy(op->args, ev->args, ev->args_len);
		op->args[ev->args_len] = '\0';
		op->args_len = ev->args_len;
	}

	return (op);
}

/* Task thread. */
static void
op_run(void *arg)
{
	struct chat_op	*op = arg;

	switch (op->kind) {
	case OP_JOIN:
		op->status = conv_check_participant(&op->conv, &op->user.oid,
		    op->err, sizeof(op->err));
		break;
	case OP_SEND:
		op_send(op);
		break;
	case OP_READ:
		op->status = msg_read(&op->user, &op->msg, &op->conv,
		    &op->ev, op->err, sizeof(op->err));
		break;
	}
}

static void
op_send(struct chat_op *op)
{
	struct msg_input	in;
	yajl_val		root;
	char			err[64];

	root = json_parse(op->args, op->args_len, err, sizeof(err));
	msg_input_init(&in);
	if (op_input(&in, root != NULL ? json_get(root->u.array.values[0],
	    "message") : NULL, op->err, sizeof(op->err)) == -1)
		op->status = 400;
	else
		op->status = msg_send(&op->user, &op->conv, &in, &op->draft,
		    op->err, sizeof(op->err));
	msg_input_free(&in);

	if (root != NULL)
		json_tree_free(root);
}

/* in ← the message object; -1 and the problems in err when it is bad. */
static int
op_input(struct msg_input *in, yajl_val msg, char *err, size_t errlen)
{
	struct valid	v;
	size_t		i, off;

	if (msg == NULL || !YAJL_IS_OBJECT(msg)) {
		(void)snprintf(err, errlen, "message must be an object");
		return (-1);
	}

	valid_init(&v);
	msg_input_parse(in, msg, &v);
	if (v.n == 0)
		return (0);

	for (i = 0, off = 0; i < v.n && off < errlen; i++) {
		off += (size_t)snprintf(err + off, errlen - off, "%s%s",
		    i ? "; " : "", v.msgs[i]);
	}

	return (-1);
}

static void
op_done(void *arg)
{
	struct chat_op		*op = arg;
	struct sio_socket	*s;
	char			hex[25], room[CHAT_ROOM_LEN];

	/* A checked send waits for its batch, sender or not. */
	if (op->status == MSG_PENDING) {
		msg_commit(op->draft, op_committed, op);
		return;
	}

	/* Stored: announce it even if the sender has gone meanwhile. */
	if (!TAILQ_EMPTY(&op->ev))
		evq_publish(&op->ev);

	if ((s = sio_socket_find(op->sock)) == NULL)
		goto out;

	if (op->kind == OP_JOIN && op->status == 200) {
		bson_oid_to_string(&op->conv, hex);
		chat_conv_room(room, hex);
		sio_join(s, room);
	}

	op_ack(s, op, op->status, op->err, op->has_out ? &op->out : NULL);

out:
	op_free(op);
}

/* The send's batch is stored and announced: the sender's ack. */
static void
op_committed(void *arg, const struct msg_result *res)
{
	struct chat_op		*op = arg;
	struct sio_socket	*s;

	if ((s = sio_socket_find(op->sock)) != NULL)
		op_ack(s, op, res->status, res->err, res->status < 300 ?
		    (struct json *)&res->out : NULL);
	op_free(op);
}

/* {success: true[, message]} or {success: false, error}. */
static void
op_ack(struct sio_socket *s, struct chat_op *op, int status, const char *err,
    struct json *out)
{
	struct json	j;
	const u_int8_t	*data;
	size_t		len;

	if (!op->has_ack)
		return;

	json_init(&j);
	json_obj_open(&j);
	if (status >= 200 && status < 300) {
		json_kbool(&j, "success", 1);
		if (out != NULL) {
			data = json_data(out, &len);
			json_key(&j, "message");
			json_raw(&j, (const char *)data, len);
		}
	} else {
		json_kbool(&j, "success", 0);
		json_kstr(&j, "error", status == 429 ?
		    "Rate limit exceeded" : err[0] != '\0' ? err :
		    "Request failed");
	}
	json_obj_close(&j);
	data = json_data(&j, &len);
	sio_ack(s, op->ack_id, (const char *)data, len);
	json_free(&j);
}

static void
op_start(struct sio_socket *s, const struct sio_event *ev, struct chat_op *op)
{
	if (job_start(op_run, op_done, op) == -1) {
		chat_ack_error(s, ev, "Server busy, try again shortly");
		op_free(op);
	}
}

static void
op_free(struct chat_op *op)
{
	evq_clear(&op->ev);
	json_free(&op->out);
	free(op->args);
	free(op);
}
