/*
 * The event bus (see bus.h).
 *
 * A batch is a sequence of records, each
 *   kind(1) nsp_len(2) nsp  room_len(2) room  arg_len(2) arg
 *   except_len(2) except  data_len(4) data
 * with big-endian lengths: arg is the event name (EMIT) or the target
 * room (JOIN/LEAVE). Between nodes it is prefixed with "LNK1",
 * node_id_len(1) and the publishing node's id.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "cache/async.h"
#include "core/core.h"
#include "core/peer.h"
#include "engineio/eio_packet.h"
#include "socketio/bus.h"
#include "socketio/sio.h"

#define BUS_MAGIC		"LNK1"
#define BUS_FIELD_MAX		255

/* Record kinds: on the wire between nodes, so they keep their values. */
#define BUS_EMIT		1
#define BUS_JOIN		2
#define BUS_LEAVE		3
#define BUS_NOTE		4

static void	bus_add(struct eio_buf *, int, const char *, const char *,
		    const char *, const char *, const void *, size_t);
static void	bus_put16(struct eio_buf *, const char *);
static void	bus_send(struct eio_buf *);
static int	bus_remote(void);
static void	bus_forward(struct eio_buf *);
static void	bus_msg(u_int16_t, const void *, size_t);
static void	bus_redis(const u_int8_t *, size_t);
static int	bus_get(const u_int8_t **, size_t *, size_t, char *, size_t);

static void	bus_redis_ready(void);
static void	bus_redis_count(long long);

static int	redis_on;
static int	redis_warned;
/*
 * Whether another node listens on the bus. A single node needs no Redis
 * round trip per event (nor its own publishes back on every worker), so
 * it publishes only while the channel has subscribers beyond its own
 * workers. A node that (re)connects says hello at once, and anything
 * heard from another node switches publishing back on immediately;
 * the subscriber count, asked every second, switches it off.
 */
static int	others = 1;
static void	(*note_fn)(const char *, const char *);
static char	*bus_nsp;

void
bus_init(const struct bus_config *conf)
{
	peer_register(PEER_BUS, bus_msg);

	bus_nsp = kore_strdup(conf->nsp);
	redis_on = conf->redis_channel != NULL;
	redis_warned = 0;
	if (redis_on)
		cache_async_init(conf->redis_channel, bus_redis,
		    bus_redis_ready);
}

void
bus_teardown(void)
{
	if (redis_on)
		cache_async_teardown();
	kore_free(bus_nsp);
	bus_nsp = NULL;
}

void
bus_on_note(void (*fn)(const char *, const char *))
{
	note_fn = fn;
}

void
bus_batch_init(struct bus_batch *b)
{
	eio_buf_init_with(&b->buf, b->stack, sizeof(b->stack));
}

void
bus_batch_emit(struct bus_batch *b, const char *nsp, const char *room,
    const char *event, const void *data, size_t len)
{
	bus_add(&b->buf, BUS_EMIT, nsp, room, event, NULL, data, len);
}

void
bus_batch_join(struct bus_batch *b, const char *nsp, const char *room,
    const char *target)
{
	bus_add(&b->buf, BUS_JOIN, nsp, room, target, NULL, NULL, 0);
}

void
bus_batch_leave(struct bus_batch *b, const char *nsp, const char *room,
    const char *target)
{
	bus_add(&b->buf, BUS_LEAVE, nsp, room, target, NULL, NULL, 0);
}

/* The namespace is written but not read: a note is for every worker. */
void
bus_batch_note(struct bus_batch *b, const char *nsp, const char *topic,
    const char *arg)
{
	bus_add(&b->buf, BUS_NOTE, nsp, topic, arg, NULL, NULL, 0);
}

void
bus_batch_send(struct bus_batch *b)
{
	bus_send(&b->buf);
	eio_buf_free(&b->buf);
}

void
bus_emit(const char *room, const char *event, const char *arg, size_t len,
    const char *except)
{
	bus_emit_nsp(bus_nsp, room, event, arg, len, except);
}

void
bus_emit_nsp(const char *nsp, const char *room, const char *event,
    const char *arg, size_t len, const char *except)
{
	struct sio_nsp	*n;
	struct eio_buf	b;
	u_int8_t	stack[BUS_STACK];

	/* Here first, straight to the room: no record to write and read. */
	if ((n = sio_namespace_find(nsp)) != NULL)
		(void)sio_room_emit_local(n, room, except, event, arg, len);

	if (!bus_remote())
		return;

	eio_buf_init_with(&b, stack, sizeof(stack));
	bus_add(&b, BUS_EMIT, nsp, room, event, except, arg, len);
	bus_forward(&b);
	eio_buf_free(&b);
}

int
bus_deliver(const u_int8_t *p, size_t len)
{
	struct sio_nsp	*nsp;
	char		name[BUS_FIELD_MAX + 1], room[BUS_FIELD_MAX + 1];
	char		arg[BUS_FIELD_MAX + 1], except[BUS_FIELD_MAX + 1];
	u_int32_t	dlen;
	int		kind;

	while (len > 0) {
		kind = p[0];
		p++;
		len--;
		if (bus_get(&p, &len, 2, name, sizeof(name)) == -1 ||
		    bus_get(&p, &len, 2, room, sizeof(room)) == -1 ||
		    bus_get(&p, &len, 2, arg, sizeof(arg)) == -1 ||
		    bus_get(&p, &len, 2, except, sizeof(except)) == -1 ||
		    len < 4)
			return (-1);
		dlen = ((u_int32_t)p[0] << 24) | ((u_int32_t)p[1] << 16) |
		    ((u_int32_t)p[2] << 8) | p[3];
		p += 4;
		len -= 4;
		if (dlen > len)
			return (-1);

		if (kind == BUS_NOTE) {
			if (note_fn != NULL)
				note_fn(room, arg);
		} else if ((nsp = sio_namespace_find(name)) != NULL) {
			switch (kind) {
			case BUS_EMIT:
				(void)sio_room_emit_local(nsp, room,
				    except[0] != '\0' ? except : NULL, arg,
				    dlen > 0 ? (const char *)p : NULL, dlen);
				break;
			case BUS_JOIN:
				sio_room_join_local(nsp, room, arg);
				break;
			case BUS_LEAVE:
				sio_room_leave_local(nsp, room, arg);
				break;
			}
		}

		p += dlen;
		len -= dlen;
	}

	return (0);
}

static void
bus_add(struct eio_buf *b, int kind, const char *nsp, const char *room,
    const char *arg, const char *except, const void *data, size_t len)
{
	eio_buf_addc(b, kind);
	bus_put16(b, nsp);
	bus_put16(b, room);
	bus_put16(b, arg);
	bus_put16(b, except != NULL ? except : "");
	eio_buf_addc(b, (len >> 24) & 0xff);
	eio_buf_addc(b, (len >> 16) & 0xff);
	eio_buf_addc(b, (len >> 8) & 0xff);
	eio_buf_addc(b, len & 0xff);
	eio_buf_add(b, data, len);
}

static void
bus_put16(struct eio_buf *b, const char *s)
{
	size_t		len;

	len = strlen(s);
	if (len > BUS_FIELD_MAX)
		len = BUS_FIELD_MAX;
	eio_buf_addc(b, (len >> 8) & 0xff);
	eio_buf_addc(b, len & 0xff);
	eio_buf_add(b, s, len);
}

static int
bus_get(const u_int8_t **p, size_t *len, size_t width, char *out,
    size_t outlen)
{
	size_t		n;

	if (*len < width)
		return (-1);
	n = ((*p)[0] << 8) | (*p)[1];
	*p += width;
	*len -= width;
	if (n > *len || n >= outlen)
		return (-1);

	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	*len -= n;

	return (0);
}

/* Here, the other workers, the other nodes: in that order, one batch. */
static void
bus_send(struct eio_buf *b)
{
	if (b->len == 0)
		return;

	(void)bus_deliver(b->data, b->len);
	if (bus_remote())
		bus_forward(b);
}

/* Whether anyone but this worker hears the bus. */
static int
bus_remote(void)
{
	return (peer_count() > 1 || (redis_on && others));
}

/* The other workers of this node, then the other nodes. */
static void
bus_forward(struct eio_buf *b)
{
	struct eio_buf	r;
	const char	*node;
	size_t		nlen;
	u_int8_t	stack[BUS_STACK];

	if (peer_count() > 1)
		peer_send(PEER_ALL, PEER_BUS, b->data, b->len);

	if (!redis_on || !others)
		return;

	node = core_node_id();
	nlen = strlen(node);
	eio_buf_init_with(&r, stack, sizeof(stack));
	eio_buf_adds(&r, BUS_MAGIC);
	eio_buf_addc(&r, nlen);
	eio_buf_add(&r, node, nlen);
	eio_buf_add(&r, b->data, b->len);
	if (cache_async_publish(r.data, r.len) == -1) {
		if (!redis_warned) {
			core_log("bus: redis down, events reach this node only");
			redis_warned = 1;
		}
	} else {
		redis_warned = 0;
	}
	eio_buf_free(&r);
}

/* From another worker (wmsg never hands us our own broadcasts). */
static void
bus_msg(u_int16_t src, const void *data, size_t len)
{
	if (bus_deliver(data, len) == -1)
		core_log("bus: malformed batch from worker %u", src);
}

/* A batch from Redis: every worker of a node gets it, so no relay. */
static void
bus_redis(const u_int8_t *data, size_t len)
{
	const char	*node;
	size_t		nlen;

	if (len < 5 || memcmp(data, BUS_MAGIC, 4))
		return;
	nlen = data[4];
	if (len < 5 + nlen)
		return;

	node = core_node_id();
	if (strlen(node) == nlen && !memcmp(data + 5, node, nlen))
		return;

	others = 1;

	if (bus_deliver(data + 5 + nlen, len - 5 - nlen) == -1)
		core_log("bus: malformed batch from redis");
}

void
bus_tick(u_int64_t now)
{
	if (redis_on)
		(void)cache_async_subscribers(bus_redis_count);
}

/* An empty batch under our node id: "I am here, publish to me". */
static void
bus_redis_ready(void)
{
	struct eio_buf	r;
	const char	*node;
	size_t		nlen;

	node = core_node_id();
	nlen = strlen(node);
	eio_buf_init(&r);
	eio_buf_adds(&r, BUS_MAGIC);
	eio_buf_addc(&r, nlen);
	eio_buf_add(&r, node, nlen);
	(void)cache_async_publish(r.data, r.len);
	eio_buf_free(&r);
}

static void
bus_redis_count(long long n)
{
	/* Each of this node's workers holds one subscription. */
	if (n >= 0)
		others = n > (long long)peer_count();
}
