/*
 * Engine connections on the Socket.IO side (see sio.h). Protocol rules
 * follow socket.io 4.x (lib/client.ts, lib/socket.ts): the first packet
 * of a namespace must be CONNECT, anything malformed or out of order
 * closes the whole engine connection, an unknown namespace gets
 * CONNECT_ERROR "Invalid namespace" and the connection stays open.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "core/core.h"
#include "engineio/eio.h"
#include "engineio/eio_packet.h"
#include "lib/json.h"
#include "socketio/sio.h"
#include "socketio/sio_internal.h"
#include "socketio/sio_packet.h"

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
static struct sio_socket	*socket_new(struct sio_client *,
				    struct sio_nsp *);

const struct eio_server sio_eio_server = {
	"socket.io",
	sio_eio_open,
	sio_eio_message,
	sio_eio_close
};

static TAILQ_HEAD(, sio_client)		connect_q;
static TAILQ_HEAD(, sio_client)		client_reap;
static TAILQ_HEAD(, sio_socket)		socket_reap;
static LIST_HEAD(, sio_socket)		sockets[SOCK_BUCKETS];
static u_int64_t			socket_seq;
static u_int32_t			connect_timeout;

/* connect_timeout: ms for a new engine connection to join a namespace. */
void
client_init(u_int32_t timeout)
{
	size_t		i;

	connect_timeout = timeout;

	TAILQ_INIT(&connect_q);
	TAILQ_INIT(&client_reap);
	TAILQ_INIT(&socket_reap);
	for (i = 0; i < SOCK_BUCKETS; i++)
		LIST_INIT(&sockets[i]);
	socket_seq = 0;
}

/* connectTimeout, and what was closed since the last tick (sio_tick). */
void
client_tick(u_int64_t now)
{
	struct sio_client	*c;
	struct sio_socket	*s;

	while ((c = TAILQ_FIRST(&connect_q)) != NULL &&
	    now - c->created >= connect_timeout) {
		TAILQ_REMOVE(&connect_q, c, list);
		c->in_connect_q = 0;
		if (LIST_EMPTY(&c->sockets))
			client_fail(c, "connect timeout");
	}

	while ((s = TAILQ_FIRST(&socket_reap)) != NULL) {
		TAILQ_REMOVE(&socket_reap, s, reap);
		kore_free(s);
	}

	while ((c = TAILQ_FIRST(&client_reap)) != NULL) {
		TAILQ_REMOVE(&client_reap, c, list);
		client_bin_reset(c);
		kore_free(c);
	}
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
		/* The server asks for no acks (sio.h): nothing waits. */
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

	if ((nsp = nsp_find_len(p->nsp, p->nsp_len)) == NULL) {
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
	LIST_INIT(&s->rooms);

	arc4random_buf(rnd, sizeof(rnd));
	eio_id_make(rnd, s->sid);

	LIST_INSERT_HEAD(&c->sockets, s, clist);
	LIST_INSERT_HEAD(&sockets[s->id % SOCK_BUCKETS], s, hlist);

	return (s);
}

/*
 * The socket leaves its namespace: rooms, lookups. The
 * namespace hears about it unless it was refused (reason NULL).
 */
void
socket_gone(struct sio_socket *s, const char *reason)
{
	struct sio_member	*m;
	int			was;

	was = s->state;
	if (was == SOCK_GONE && reason != NULL)
		return;
	s->state = SOCK_GONE;

	if (reason != NULL)
		s->nsp->ops.on_disconnect(s, reason);

	while ((m = LIST_FIRST(&s->rooms)) != NULL)
		member_remove(m);

	LIST_REMOVE(s, clist);
	LIST_REMOVE(s, hlist);
	TAILQ_INSERT_TAIL(&socket_reap, s, reap);
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
