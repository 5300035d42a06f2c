/*
 * Socket.IO v5 server (see sio.h). Protocol rules follow socket.io 4.x
 * (lib/client.ts, lib/socket.ts): the first packet of a namespace must
 * be CONNECT, anything malformed or out of order closes the whole
 * engine connection, an unknown namespace gets CONNECT_ERROR
 * "Invalid namespace" and the connection stays open.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "core/config.h"
#include "core/core.h"
#include "engineio/eio.h"
#include "engineio/eio_packet.h"
#include "lib/json.h"
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

struct sio_pending_ack {
	u_int64_t			id;
	sio_ack_cb			cb;
	void				*arg;
	TAILQ_ENTRY(sio_pending_ack)	list;
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
	u_int64_t			ack_seq;
	TAILQ_HEAD(, sio_pending_ack)	acks;
	LIST_HEAD(, sio_member)		rooms;
	void				*udata;
	LIST_ENTRY(sio_socket)		clist;
	LIST_ENTRY(sio_socket)		hlist;
	TAILQ_ENTRY(sio_socket)		reap;
};

static void	sio_eio_open(struct eio_session *);
static void	sio_eio_message(struct eio_session *, const u_int8_t *,
		    size_t, int);
static void	sio_eio_close(struct eio_session *, const char *);

static void	client_fail(struct sio_client *, const char *);
static void	client_packet(struct sio_client *, const struct sio_packet *,
		    const struct sio_bin *, int);
static void	client_bin_reset(struct sio_client *);
static struct sio_socket	*client_socket(struct sio_client *,
				    const char *, size_t);
static void	client_connect(struct sio_client *, const struct sio_packet *);
static void	client_event(struct sio_socket *, const struct sio_packet *,
		    const struct sio_bin *, int);
static void	client_ack(struct sio_socket *, const struct sio_packet *);

static struct sio_socket	*socket_new(struct sio_client *,
				    struct sio_nsp *);
static void	socket_gone(struct sio_socket *, const char *);
static void	socket_send(struct sio_socket *, int, int, u_int64_t,
		    const char *, const char *, size_t, int,
		    const struct sio_bin *, int);
static void	encode_event(struct eio_buf *, struct sio_nsp *, int,
		    u_int64_t, const char *, const char *, size_t, int, int);
static void	send_encoded(struct sio_client *, struct eio_buf *,
		    const struct sio_bin *, int);

static struct sio_room	*room_find(struct sio_nsp *, const char *, int);
static int		socket_in(struct sio_socket *, struct sio_room *);
static void		member_remove(struct sio_member *);
static u_int32_t	hash_str(const char *);

const struct eio_server sio_eio_server = {
	"socket.io",
	sio_eio_open,
	sio_eio_message,
	sio_eio_close
};

static TAILQ_HEAD(, sio_nsp)		namespaces;
static TAILQ_HEAD(, sio_client)		connect_q;
static TAILQ_HEAD(, sio_client)		client_reap;
static TAILQ_HEAD(, sio_socket)		socket_reap;
static LIST_HEAD(, sio_socket)		sockets[SOCK_BUCKETS];
static u_int64_t			socket_seq;

void
sio_init(void)
{
	size_t		i;

	TAILQ_INIT(&namespaces);
	TAILQ_INIT(&connect_q);
	TAILQ_INIT(&client_reap);
	TAILQ_INIT(&socket_reap);
	for (i = 0; i < SOCK_BUCKETS; i++)
		LIST_INIT(&sockets[i]);
	socket_seq = 0;
}

void
sio_teardown(void)
{
}

/*
 * connectTimeout: an engine connection that has joined no namespace by
 * then is closed. Also frees what was closed since the last tick.
 */
void
sio_tick(u_int64_t unused)
{
	struct sio_client	*c;
	struct sio_socket	*s;
	struct sio_pending_ack	*a;
	u_int64_t		now;

	now = kore_time_ms();
	while ((c = TAILQ_FIRST(&connect_q)) != NULL &&
	    now - c->created >= cfg.connect_timeout) {
		TAILQ_REMOVE(&connect_q, c, list);
		c->in_connect_q = 0;
		if (LIST_EMPTY(&c->sockets))
			client_fail(c, "connect timeout");
	}

	while ((s = TAILQ_FIRST(&socket_reap)) != NULL) {
		TAILQ_REMOVE(&socket_reap, s, reap);
		while ((a = TAILQ_FIRST(&s->acks)) != NULL) {
			TAILQ_REMOVE(&s->acks, a, list);
			kore_free(a);
		}
		kore_free(s);
	}

	while ((c = TAILQ_FIRST(&client_reap)) != NULL) {
		TAILQ_REMOVE(&client_reap, c, list);
		client_bin_reset(c);
		kore_free(c);
	}
}

struct sio_nsp *
sio_namespace_register(const char *name, const struct sio_nsp_ops *ops)
{
	struct sio_nsp	*nsp;
	size_t		i;

	nsp = kore_calloc(1, sizeof(*nsp));
	nsp->name = kore_strdup(name);
	nsp->name_len = strlen(name);
	nsp->ops = *ops;
	for (i = 0; i < ROOM_BUCKETS; i++)
		LIST_INIT(&nsp->rooms[i]);
	TAILQ_INSERT_TAIL(&namespaces, nsp, list);

	return (nsp);
}

struct sio_nsp *
sio_namespace_find(const char *name)
{
	struct sio_nsp	*nsp;

	TAILQ_FOREACH(nsp, &namespaces, list) {
		if (!strcmp(nsp->name, name))
			return (nsp);
	}

	return (NULL);
}

const char *
sio_namespace_name(struct sio_nsp *nsp)
{
	return (nsp->name);
}

void
sio_accept(struct sio_socket *s)
{
	struct json	j;
	const u_int8_t	*d;
	size_t		len;

	if (s->state != SOCK_PENDING)
		return;
	s->state = SOCK_CONNECTED;

	json_init(&j);
	json_obj_open(&j);
	json_kstr(&j, "sid", s->sid);
	json_obj_close(&j);
	d = json_data(&j, &len);
	socket_send(s, SIO_CONNECT, 0, 0, NULL, (const char *)d, len, 0,
	    NULL, 0);
	json_free(&j);
}

void
sio_reject(struct sio_socket *s, const char *message, const char *data,
    size_t len)
{
	struct json	j;
	const u_int8_t	*d;
	size_t		dlen;
	yajl_val	v;
	char		err[64];

	if (s->state != SOCK_PENDING)
		return;

	json_init(&j);
	json_obj_open(&j);
	json_kstr(&j, "message", message);
	if (data != NULL &&
	    (v = json_parse(data, len, err, sizeof(err))) != NULL) {
		json_key(&j, "data");
		json_yajl(&j, v);
		json_tree_free(v);
	}
	json_obj_close(&j);
	d = json_data(&j, &dlen);
	socket_send(s, SIO_CONNECT_ERROR, 0, 0, NULL, (const char *)d, dlen,
	    0, NULL, 0);
	json_free(&j);

	/* A refused socket never existed for the namespace. */
	s->state = SOCK_GONE;
	socket_gone(s, NULL);
}

void
sio_emit(struct sio_socket *s, const char *event, const char *arg,
    size_t len)
{
	if (s->state != SOCK_CONNECTED)
		return;
	socket_send(s, SIO_EVENT, 0, 0, event, arg, len, 0, NULL, 0);
}

void
sio_emitv(struct sio_socket *s, const char *event, const char *args,
    size_t len)
{
	if (s->state != SOCK_CONNECTED)
		return;
	socket_send(s, SIO_EVENT, 0, 0, event, args, len, 1, NULL, 0);
}

void
sio_emit_bin(struct sio_socket *s, const char *event, const char *args,
    size_t len, const struct sio_bin *att, int natt)
{
	if (s->state != SOCK_CONNECTED)
		return;
	socket_send(s, SIO_EVENT, 0, 0, event, args, len, 1, att, natt);
}

void
sio_emit_ack(struct sio_socket *s, const char *event, const char *arg,
    size_t len, sio_ack_cb cb, void *cbarg)
{
	struct sio_pending_ack	*a;

	if (s->state != SOCK_CONNECTED) {
		cb(NULL, NULL, 0, cbarg);
		return;
	}

	a = kore_calloc(1, sizeof(*a));
	a->id = s->ack_seq++;
	a->cb = cb;
	a->arg = cbarg;
	TAILQ_INSERT_TAIL(&s->acks, a, list);

	socket_send(s, SIO_EVENT, 1, a->id, event, arg, len, 0, NULL, 0);
}

void
sio_ack(struct sio_socket *s, u_int64_t id, const char *value, size_t len)
{
	if (s->state != SOCK_CONNECTED)
		return;
	socket_send(s, SIO_ACK, 1, id, NULL, value, len, 0, NULL, 0);
}

void
sio_ackv(struct sio_socket *s, u_int64_t id, const char *args, size_t len)
{
	if (s->state != SOCK_CONNECTED)
		return;
	socket_send(s, SIO_ACK, 1, id, NULL, args, len, 1, NULL, 0);
}

void
sio_ack_bin(struct sio_socket *s, u_int64_t id, const char *args,
    size_t len, const struct sio_bin *att, int natt)
{
	if (s->state != SOCK_CONNECTED)
		return;
	socket_send(s, SIO_ACK, 1, id, NULL, args, len, 1, att, natt);
}

void
sio_join(struct sio_socket *s, const char *name)
{
	struct sio_room		*r;
	struct sio_member	*m;

	if (s->state == SOCK_GONE || sio_in_room(s, name))
		return;

	r = room_find(s->nsp, name, 1);
	m = kore_malloc(sizeof(*m));
	m->room = r;
	m->sock = s;
	TAILQ_INSERT_TAIL(&r->members, m, rlist);
	LIST_INSERT_HEAD(&s->rooms, m, slist);
	r->count++;
}

void
sio_leave(struct sio_socket *s, const char *name)
{
	struct sio_member	*m;

	LIST_FOREACH(m, &s->rooms, slist) {
		if (!strcmp(m->room->name, name)) {
			member_remove(m);
			return;
		}
	}
}

int
sio_in_room(struct sio_socket *s, const char *name)
{
	struct sio_member	*m;

	LIST_FOREACH(m, &s->rooms, slist) {
		if (!strcmp(m->room->name, name))
			return (1);
	}

	return (0);
}

/*
 * Encodes the event once and hands the same bytes to every member.
 * Returns how many sockets it went to.
 */
size_t
sio_room_emit_local(struct sio_nsp *nsp, const char *room,
    const char *except, const char *event, const char *arg, size_t len)
{
	struct sio_room		*r, *xr;
	struct sio_member	*m;
	struct sio_socket	*s;
	struct eio_buf		buf;
	u_int8_t		stack[SIO_STACK];
	size_t			n;

	if ((r = room_find(nsp, room, 0)) == NULL)
		return (0);

	/* The except room is looked up once, not for every member. */
	xr = (except != NULL) ? room_find(nsp, except, 0) : NULL;

	eio_buf_init_with(&buf, stack, sizeof(stack));
	encode_event(&buf, nsp, 0, 0, event, arg, len, 0, 0);

	n = 0;
	TAILQ_FOREACH(m, &r->members, rlist) {
		s = m->sock;
		if (s->state != SOCK_CONNECTED)
			continue;
		if (except != NULL && (!strcmp(s->sid, except) ||
		    (xr != NULL && socket_in(s, xr))))
			continue;
		send_encoded(s->client, &buf, NULL, 0);
		n++;
	}

	eio_buf_free(&buf);
	return (n);
}

void
sio_room_join_local(struct sio_nsp *nsp, const char *room, const char *target)
{
	struct sio_room		*r;
	struct sio_member	*m;

	if ((r = room_find(nsp, room, 0)) == NULL)
		return;

	/* Joining adds to the tail of other rooms, never to this one. */
	TAILQ_FOREACH(m, &r->members, rlist)
		sio_join(m->sock, target);
}

void
sio_room_leave_local(struct sio_nsp *nsp, const char *room, const char *target)
{
	struct sio_room		*r;
	struct sio_member	*m, *next;

	if ((r = room_find(nsp, room, 0)) == NULL)
		return;

	/* When target is room itself the last removal frees r: next is NULL. */
	for (m = TAILQ_FIRST(&r->members); m != NULL; m = next) {
		next = TAILQ_NEXT(m, rlist);
		if (!strcmp(room, target))
			member_remove(m);
		else
			sio_leave(m->sock, target);
	}
}

size_t
sio_room_size(struct sio_nsp *nsp, const char *room)
{
	struct sio_room	*r;

	if ((r = room_find(nsp, room, 0)) == NULL)
		return (0);

	return (r->count);
}

void
sio_room_foreach(struct sio_nsp *nsp, const char *room,
    void (*cb)(struct sio_socket *, void *), void *arg)
{
	struct sio_room		*r;
	struct sio_member	*m, *next;

	if ((r = room_find(nsp, room, 0)) == NULL)
		return;

	/* The last member leaving frees the room: stop before that. */
	for (m = TAILQ_FIRST(&r->members); m != NULL; m = next) {
		next = TAILQ_NEXT(m, rlist);
		if (next == NULL) {
			cb(m->sock, arg);
			return;
		}
		cb(m->sock, arg);
	}
}

void
sio_disconnect(struct sio_socket *s)
{
	if (s->state == SOCK_GONE)
		return;

	if (s->state == SOCK_CONNECTED) {
		socket_send(s, SIO_DISCONNECT, 0, 0, NULL, NULL, 0, 0,
		    NULL, 0);
	}
	socket_gone(s, "server namespace disconnect");
}

void
sio_close(struct sio_socket *s)
{
	if (s->state == SOCK_GONE || s->client->closed)
		return;

	eio_close(s->client->sess, "forced server close");
}

const char *
sio_socket_sid(struct sio_socket *s)
{
	return (s->sid);
}

u_int64_t
sio_socket_id(struct sio_socket *s)
{
	return (s->id);
}

struct sio_socket *
sio_socket_find(u_int64_t id)
{
	struct sio_socket	*s;

	LIST_FOREACH(s, &sockets[id % SOCK_BUCKETS], hlist) {
		if (s->id == id)
			return (s->state == SOCK_GONE ? NULL : s);
	}

	return (NULL);
}

struct sio_nsp *
sio_socket_nsp(struct sio_socket *s)
{
	return (s->nsp);
}

int
sio_connected(struct sio_socket *s)
{
	return (s->state == SOCK_CONNECTED);
}

void
sio_set_data(struct sio_socket *s, void *data)
{
	s->udata = data;
}

void *
sio_data(struct sio_socket *s)
{
	return (s->udata);
}

const char *
sio_handshake_authorization(struct sio_socket *s)
{
	return (eio_handshake_authorization(s->client->sess));
}

int
sio_handshake_query(struct sio_socket *s, const char *name, char *out,
    size_t outlen)
{
	return (eio_query_get(eio_handshake_query(s->client->sess), name,
	    out, outlen));
}

const char *
sio_remote_addr(struct sio_socket *s)
{
	return (eio_remote_addr(s->client->sess));
}

static void
sio_eio_open(struct eio_session *sess)
{
	struct sio_client	*c;

	c = kore_calloc(1, sizeof(*c));
	c->sess = sess;
	c->created = kore_time_ms();
	LIST_INIT(&c->sockets);
	TAILQ_INSERT_TAIL(&connect_q, c, list);
	c->in_connect_q = 1;

	eio_set_data(sess, c);
}

static void
sio_eio_message(struct eio_session *sess, const u_int8_t *data, size_t len,
    int binary)
{
	struct sio_client	*c = eio_data(sess);
	struct sio_bin		*b;
	struct sio_packet	p;

	if (c == NULL || c->closed)
		return;

	if (binary) {
		if (c->bin_text == NULL) {
			client_fail(c, "parse error");
			return;
		}
		b = &c->bin_att[c->bin_have++];
		b->data = kore_malloc(len > 0 ? len : 1);
		memcpy((u_int8_t *)b->data, data, len);
		b->len = len;
		if (c->bin_have == c->bin_need) {
			/* Checked when it came; decoded again from the copy. */
			if (sio_packet_decode(c->bin_text, c->bin_len,
			    &p) == -1) {
				client_fail(c, "parse error");
				return;
			}
			client_packet(c, &p, c->bin_att, c->bin_have);
			if (!c->closed)
				client_bin_reset(c);
		}
		return;
	}

	if (c->bin_text != NULL) {
		client_fail(c, "parse error");
		return;
	}

	if (sio_packet_decode((const char *)data, len, &p) == -1) {
		client_fail(c, "parse error");
		return;
	}

	if (p.attachments > 0) {
		c->bin_text = kore_malloc(len);
		memcpy(c->bin_text, data, len);
		c->bin_len = len;
		c->bin_need = p.attachments;
		c->bin_have = 0;
		return;
	}

	client_packet(c, &p, NULL, 0);
}

static void
sio_eio_close(struct eio_session *sess, const char *reason)
{
	struct sio_client	*c = eio_data(sess);
	struct sio_socket	*s;

	if (c == NULL || c->closed)
		return;
	c->closed = 1;

	while ((s = LIST_FIRST(&c->sockets)) != NULL)
		socket_gone(s, reason);

	if (c->in_connect_q) {
		TAILQ_REMOVE(&connect_q, c, list);
		c->in_connect_q = 0;
	}
	eio_set_data(sess, NULL);
	c->sess = NULL;
	TAILQ_INSERT_TAIL(&client_reap, c, list);
}

static void
client_fail(struct sio_client *c, const char *reason)
{
	if (c->closed)
		return;

	eio_close(c->sess, reason);
}

static void
client_bin_reset(struct sio_client *c)
{
	int		i;

	for (i = 0; i < c->bin_have; i++)
		kore_free((void *)c->bin_att[i].data);
	kore_free(c->bin_text);
	c->bin_text = NULL;
	c->bin_len = 0;
	c->bin_need = 0;
	c->bin_have = 0;
}

/* socket.io's Client.ondecoded(). */
static void
client_packet(struct sio_client *c, const struct sio_packet *p,
    const struct sio_bin *att, int natt)
{
	struct sio_socket	*s;

	s = client_socket(c, p->nsp, p->nsp_len);

	if (p->type == SIO_CONNECT) {
		if (s != NULL) {
			client_fail(c, "parse error");
			return;
		}
		client_connect(c, p);
		return;
	}

	if (s == NULL || s->state != SOCK_CONNECTED ||
	    p->type == SIO_CONNECT_ERROR) {
		client_fail(c, "parse error");
		return;
	}

	switch (p->type) {
	case SIO_DISCONNECT:
		socket_gone(s, "client namespace disconnect");
		break;
	case SIO_EVENT:
	case SIO_BINARY_EVENT:
		client_event(s, p, att, natt);
		break;
	case SIO_ACK:
	case SIO_BINARY_ACK:
		client_ack(s, p);
		break;
	}
}

static struct sio_socket *
client_socket(struct sio_client *c, const char *nsp, size_t len)
{
	struct sio_socket	*s;

	LIST_FOREACH(s, &c->sockets, clist) {
		if (s->nsp->name_len == len && !memcmp(s->nsp->name, nsp, len))
			return (s);
	}

	return (NULL);
}

static void
client_connect(struct sio_client *c, const struct sio_packet *p)
{
	struct sio_nsp		*nsp;
	struct sio_socket	*s;
	struct json		j;
	const u_int8_t		*d;
	struct eio_buf		buf;
	size_t			len;

	TAILQ_FOREACH(nsp, &namespaces, list) {
		if (nsp->name_len == p->nsp_len &&
		    !memcmp(nsp->name, p->nsp, p->nsp_len))
			break;
	}

	if (nsp == NULL) {
		json_init(&j);
		json_obj_open(&j);
		json_kstr(&j, "message", "Invalid namespace");
		json_obj_close(&j);
		d = json_data(&j, &len);
		eio_buf_init(&buf);
		eio_buf_addc(&buf, '0' + EIO_MESSAGE);
		sio_packet_header(&buf, SIO_CONNECT_ERROR, 0, p->nsp,
		    p->nsp_len, 0, 0);
		eio_buf_add(&buf, d, len);
		send_encoded(c, &buf, NULL, 0);
		eio_buf_free(&buf);
		json_free(&j);
		return;
	}

	s = socket_new(c, nsp);
	if (p->payload != NULL)
		nsp->ops.on_connect(s, p->payload, p->payload_len);
	else
		nsp->ops.on_connect(s, "{}", 2);
}

static void
client_event(struct sio_socket *s, const struct sio_packet *p,
    const struct sio_bin *att, int natt)
{
	struct sio_event	ev;
	const char		*name, *rest;
	size_t			nlen, rlen;
	char			small[128], abuf[512], *nbuf, *args;

	if (sio_event_split(p->payload, p->payload_len, &name, &nlen,
	    &rest, &rlen) == -1) {
		client_fail(s->client, "parse error");
		return;
	}

	nbuf = (nlen < sizeof(small)) ? small : kore_malloc(nlen + 1);
	if (*name == '"' && nlen >= 2 && memchr(name, '\\', nlen) == NULL) {
		/* Validated, and nothing escaped: the bytes between quotes. */
		memcpy(nbuf, name + 1, nlen - 2);
		nbuf[nlen - 2] = '\0';
	} else if (*name == '"') {
		if (sio_json_unescape(name, nlen, nbuf, nlen + 1) == -1) {
			if (nbuf != small)
				kore_free(nbuf);
			client_fail(s->client, "parse error");
			return;
		}
	} else {
		memcpy(nbuf, name, nlen);
		nbuf[nlen] = '\0';
	}

	args = (rlen + 3 <= sizeof(abuf)) ? abuf : kore_malloc(rlen + 3);
	args[0] = '[';
	memcpy(args + 1, rest, rlen);
	args[rlen + 1] = ']';
	args[rlen + 2] = '\0';

	memset(&ev, 0, sizeof(ev));
	ev.name = nbuf;
	ev.args = args;
	ev.args_len = rlen + 2;
	ev.has_ack = p->has_id;
	ev.ack_id = p->id;
	ev.att = att;
	ev.natt = natt;

	s->nsp->ops.on_event(s, &ev);

	if (args != abuf)
		kore_free(args);
	if (nbuf != small)
		kore_free(nbuf);
}

static void
client_ack(struct sio_socket *s, const struct sio_packet *p)
{
	struct sio_pending_ack	*a;

	if (!p->has_id)
		return;

	TAILQ_FOREACH(a, &s->acks, list) {
		if (a->id == p->id)
			break;
	}
	if (a == NULL)
		return;

	TAILQ_REMOVE(&s->acks, a, list);
	a->cb(s, p->payload, p->payload_len, a->arg);
	kore_free(a);
}

static struct sio_socket *
socket_new(struct sio_client *c, struct sio_nsp *nsp)
{
	struct sio_socket	*s;
	u_int8_t		rnd[15];

	s = kore_calloc(1, sizeof(*s));
	s->id = ++socket_seq;
	s->state = SOCK_PENDING;
	s->nsp = nsp;
	s->client = c;
	TAILQ_INIT(&s->acks);
	LIST_INIT(&s->rooms);

	arc4random_buf(rnd, sizeof(rnd));
	eio_id_make(rnd, s->sid);

	LIST_INSERT_HEAD(&c->sockets, s, clist);
	LIST_INSERT_HEAD(&sockets[s->id % SOCK_BUCKETS], s, hlist);

	return (s);
}

/*
 * The socket leaves its namespace: rooms, pending acks, lookups. The
 * namespace hears about it unless it was refused (reason NULL).
 */
static void
socket_gone(struct sio_socket *s, const char *reason)
{
	struct sio_pending_ack	*a;
	struct sio_member	*m;
	int			was;

	was = s->state;
	if (was == SOCK_GONE && reason != NULL)
		return;
	s->state = SOCK_GONE;

	if (reason != NULL)
		s->nsp->ops.on_disconnect(s, reason);

	while ((a = TAILQ_FIRST(&s->acks)) != NULL) {
		TAILQ_REMOVE(&s->acks, a, list);
		a->cb(NULL, NULL, 0, a->arg);
		kore_free(a);
	}

	while ((m = LIST_FIRST(&s->rooms)) != NULL)
		member_remove(m);

	LIST_REMOVE(s, clist);
	LIST_REMOVE(s, hlist);
	TAILQ_INSERT_TAIL(&socket_reap, s, reap);
}

/*
 * Builds one packet for this socket's namespace and sends it. payload
 * is the event's single argument, or (is_array) a JSON array of them;
 * for ACK it is the value or the array.
 */
static void
socket_send(struct sio_socket *s, int type, int has_id, u_int64_t id,
    const char *event, const char *payload, size_t len, int is_array,
    const struct sio_bin *att, int natt)
{
	struct eio_buf	buf;
	u_int8_t	stack[SIO_STACK];

	if (s->client->closed)
		return;

	eio_buf_init_with(&buf, stack, sizeof(stack));

	switch (type) {
	case SIO_EVENT:
		encode_event(&buf, s->nsp, has_id, id, event, payload, len,
		    is_array, natt);
		break;
	case SIO_ACK:
		eio_buf_addc(&buf, '0' + EIO_MESSAGE);
		sio_packet_header(&buf, natt > 0 ? SIO_BINARY_ACK : SIO_ACK,
		    natt, s->nsp->name, s->nsp->name_len, 1, id);
		if (is_array) {
			eio_buf_add(&buf, payload, len);
		} else {
			eio_buf_addc(&buf, '[');
			eio_buf_add(&buf, payload, len);
			eio_buf_addc(&buf, ']');
		}
		break;
	default:
		eio_buf_addc(&buf, '0' + EIO_MESSAGE);
		sio_packet_header(&buf, type, 0, s->nsp->name,
		    s->nsp->name_len, 0, 0);
		if (payload != NULL)
			eio_buf_add(&buf, payload, len);
		break;
	}

	send_encoded(s->client, &buf, att, natt);
	eio_buf_free(&buf);
}

/* "4" + 2/5 header + ["event",args...] */
static void
encode_event(struct eio_buf *buf, struct sio_nsp *nsp, int has_id,
    u_int64_t id, const char *event, const char *payload, size_t len,
    int is_array, int natt)
{
	struct json	j;
	const u_int8_t	*d;
	size_t		dlen;

	eio_buf_addc(buf, '0' + EIO_MESSAGE);
	sio_packet_header(buf, natt > 0 ? SIO_BINARY_EVENT : SIO_EVENT, natt,
	    nsp->name, nsp->name_len, has_id, id);

	eio_buf_addc(buf, '[');
	dlen = strlen(event);
	if (json_plain(event, dlen)) {
		eio_buf_addc(buf, '"');
		eio_buf_add(buf, event, dlen);
		eio_buf_addc(buf, '"');
	} else {
		json_init(&j);
		json_str(&j, event);
		d = json_data(&j, &dlen);
		eio_buf_add(buf, d, dlen);
		json_free(&j);
	}

	if (payload != NULL && len > 0) {
		if (is_array) {
			/* Splice the array's elements in after the name. */
			while (len > 0 && payload[0] != '[') {
				payload++;
				len--;
			}
			while (len > 0 && payload[len - 1] != ']')
				len--;
			if (len > 2) {
				eio_buf_addc(buf, ',');
				eio_buf_add(buf, payload + 1, len - 2);
			}
		} else {
			eio_buf_addc(buf, ',');
			eio_buf_add(buf, payload, len);
		}
	}
	eio_buf_addc(buf, ']');
}

static void
send_encoded(struct sio_client *c, struct eio_buf *buf,
    const struct sio_bin *att, int natt)
{
	int		i;

	if (c->closed)
		return;

	eio_send(c->sess, buf->data, buf->len, EIO_SEND_PREFIXED);
	for (i = 0; i < natt; i++) {
		eio_send(c->sess, att[i].data, att[i].len, EIO_SEND_BINARY);
	}
}

static struct sio_room *
room_find(struct sio_nsp *nsp, const char *name, int create)
{
	struct sio_room		*r;
	u_int32_t		h;

	h = hash_str(name) % ROOM_BUCKETS;
	LIST_FOREACH(r, &nsp->rooms[h], hlist) {
		if (!strcmp(r->name, name))
			return (r);
	}

	if (!create)
		return (NULL);

	r = kore_calloc(1, sizeof(*r));
	r->name = kore_strdup(name);
	TAILQ_INIT(&r->members);
	LIST_INSERT_HEAD(&nsp->rooms[h], r, hlist);

	return (r);
}

static int
socket_in(struct sio_socket *s, struct sio_room *r)
{
	struct sio_member	*m;

	LIST_FOREACH(m, &s->rooms, slist) {
		if (m->room == r)
			return (1);
	}

	return (0);
}

static void
member_remove(struct sio_member *m)
{
	struct sio_room		*r = m->room;

	TAILQ_REMOVE(&r->members, m, rlist);
	LIST_REMOVE(m, slist);
	kore_free(m);

	if (--r->count == 0) {
		LIST_REMOVE(r, hlist);
		kore_free(r->name);
		kore_free(r);
	}
}

/*
 * Eight bytes per step (a multiply-xorshift mix): a room name is hashed
 * on every emit, and byte-wise FNV over "conversation:<24 hex>" showed
 * in profiles.
 */
static u_int32_t
hash_str(const char *s)
{
	u_int64_t	h, w;
	size_t		len, i;

	len = strlen(s);
	h = 0x9e3779b97f4a7c15ULL ^ len;
	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, sizeof(w));
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	if (i < len) {
		w = 0;
		memcpy(&w, s + i, len - i);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
		h ^= h >> 29;
	}

	return ((u_int32_t)(h ^ (h >> 32)));
}
