/*
 * Socket.IO v5 server (see sio.h): the calls the layer above makes,
 * and the encoding of what it sends. How the rest is split:
 * sio_internal.h.
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

static void	socket_send(struct sio_socket *, int, int, u_int64_t,
		    const char *, const char *, size_t, int,
		    const struct sio_bin *, int);

static TAILQ_HEAD(, sio_nsp)		namespaces;

void
sio_init(const struct sio_config *conf)
{
	TAILQ_INIT(&namespaces);
	client_init(conf->connect_timeout);
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
	client_tick(kore_time_ms());
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

/* A namespace by the name a packet carries (not NUL-terminated). */
struct sio_nsp *
nsp_find_len(const char *name, size_t len)
{
	struct sio_nsp	*nsp;

	TAILQ_FOREACH(nsp, &namespaces, list) {
		if (nsp->name_len == len && !memcmp(nsp->name, name, len))
			return (nsp);
	}

	return (NULL);
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
sio_emit_bin(struct sio_socket *s, const char *event, const char *args,
    size_t len, const struct sio_bin *att, int natt)
{
	if (s->state != SOCK_CONNECTED)
		return;
	socket_send(s, SIO_EVENT, 0, 0, event, args, len, 1, att, natt);
}

void
sio_ack(struct sio_socket *s, u_int64_t id, const char *value, size_t len)
{
	if (s->state != SOCK_CONNECTED)
		return;
	socket_send(s, SIO_ACK, 1, id, NULL, value, len, 0, NULL, 0);
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
void
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

void
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
