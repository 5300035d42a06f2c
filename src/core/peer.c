/*
 * The other workers of this node (see peer.h).
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "core/core.h"
#include "core/kx.h"
#include "core/peer.h"

#define PEER_IDS		256
#define PEER_WORKERS		256
#define PEER_RESTART_HOOKS	4

/* In front of every message's data. */
struct peer_hdr {
	u_int32_t	gen;
	u_int32_t	seq;
};

struct peer_hello {
	u_int64_t	started;
};

/* What was last heard from a worker. */
struct peer_state {
	u_int32_t	gen;
	u_int32_t	seq;
	int		dup_logged;
};

static void	peer_recv(struct kore_msg *, const void *);
static void	peer_hello(u_int16_t, u_int32_t, const void *, size_t);

static peer_fn		handlers[PEER_IDS];
static peer_restart_fn	restart_hooks[PEER_RESTART_HOOKS];
static struct peer_state	peers[PEER_WORKERS];
static u_int32_t	generation;
static u_int32_t	seq;

void
peer_init(void)
{
	struct peer_hello	h;

	memset(handlers, 0, sizeof(handlers));
	memset(restart_hooks, 0, sizeof(restart_hooks));
	memset(peers, 0, sizeof(peers));

	do {
		generation = arc4random();
	} while (generation == 0);
	seq = 0;

	(void)kore_msg_register(PEER_HELLO, peer_recv);

	/*
	 * The first message this worker sends: the others see it before
	 * anything else from this generation (the parent keeps each
	 * worker's messages in order).
	 */
	h.started = kore_time_ms();
	peer_send(PEER_ALL, PEER_HELLO, &h, sizeof(h));
}

u_int32_t
peer_generation(void)
{
	return (generation);
}

u_int16_t
peer_count(void)
{
	return (kx_worker_count());
}

u_int16_t
peer_self(void)
{
	return (kx_worker_id());
}

u_int16_t
peer_owner(u_int32_t hash)
{
	u_int16_t	n;

	n = peer_count();
	return (n > 1 ? 1 + hash % n : peer_self());
}

void
peer_register(u_int8_t id, peer_fn fn)
{
	handlers[id] = fn;
	(void)kore_msg_register(id, peer_recv);
}

void
peer_on_restart(peer_restart_fn fn)
{
	size_t		i;

	for (i = 0; i < PEER_RESTART_HOOKS; i++) {
		if (restart_hooks[i] == NULL) {
			restart_hooks[i] = fn;
			return;
		}
	}

	fatal("peer: too many restart hooks");
}

u_int64_t
peer_clock_ms(void)
{
	return (kore_time_ms());
}

void
peer_send(u_int16_t dst, u_int8_t id, const void *data, size_t len)
{
	peer_send2(dst, id, data, len, NULL, 0);
}

/* kore_msg_send() with the header in front, without copying the data. */
void
peer_send2(u_int16_t dst, u_int8_t id, const void *a, size_t alen,
    const void *b, size_t blen)
{
	struct kore_msg		m;
	struct peer_hdr		h;

	h.gen = generation;
	h.seq = ++seq;

	memset(&m, 0, sizeof(m));
	m.id = id;
	m.dst = dst == PEER_ALL ? KORE_MSG_WORKER_ALL : dst;
	m.src = kx_worker_id();
	m.length = sizeof(h) + alen + blen;

	kx_msg_queue(&m, sizeof(m));
	kx_msg_queue(&h, sizeof(h));
	if (alen > 0)
		kx_msg_queue(a, alen);
	if (blen > 0)
		kx_msg_queue(b, blen);
	kx_msg_flush();
}

static void
peer_recv(struct kore_msg *msg, const void *data)
{
	struct peer_hdr		h;
	struct peer_state	*p;
	const u_int8_t		*body;
	size_t			len;

	if (msg->src == kx_worker_id() || msg->src >= PEER_WORKERS)
		return;
	if (data == NULL || msg->length < sizeof(h)) {
		core_log("peer: short message %u from worker %u",
		    msg->id, msg->src);
		return;
	}

	memcpy(&h, data, sizeof(h));
	body = (const u_int8_t *)data + sizeof(h);
	len = msg->length - sizeof(h);
	p = &peers[msg->src];

	if (h.gen == p->gen && (int32_t)(h.seq - p->seq) <= 0) {
		if (!p->dup_logged) {
			core_log("peer: dropping repeated copies of messages "
			    "from worker %u (Kore's parent delivers them "
			    "again after a worker restart)", msg->src);
			p->dup_logged = 1;
		}
		return;
	}

	if (h.gen != p->gen) {
		p->gen = h.gen;
		p->dup_logged = 0;
	}
	p->seq = h.seq;

	if (msg->id == PEER_HELLO)
		peer_hello(msg->src, h.gen, body, len);
	else if (handlers[msg->id] != NULL)
		handlers[msg->id](msg->src, body, len);
}

static void
peer_hello(u_int16_t src, u_int32_t gen, const void *data, size_t len)
{
	struct peer_hello	h;
	size_t			i;

	if (len < sizeof(h))
		return;
	memcpy(&h, data, sizeof(h));

	for (i = 0; i < PEER_RESTART_HOOKS; i++) {
		if (restart_hooks[i] != NULL)
			restart_hooks[i](src, gen, h.started);
	}
}
