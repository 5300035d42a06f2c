/*
 * Rooms (see sio.h): the sockets of one namespace on this worker that
 * joined a name. A room exists while it has members.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <string.h>

#include <kore/kore.h>

#include "engineio/eio_packet.h"
#include "socketio/sio.h"
#include "socketio/sio_internal.h"

static struct sio_room	*room_find(struct sio_nsp *, const char *, int);
static int		socket_in(struct sio_socket *, struct sio_room *);
static u_int32_t	hash_str(const char *);

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

void
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
