/*
 * Worker messages (see wmsg.h).
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "app/app.h"
#include "engineio/wmsg.h"

#define WMSG_IDS		256
#define WMSG_WORKERS		256
#define WMSG_RESTART_HOOKS	4

/* In front of every message's data. */
struct wmsg_hdr {
	u_int32_t	gen;
	u_int32_t	seq;
};

struct wmsg_hello {
	u_int64_t	started;
};

/* What was last heard from a worker. */
struct wmsg_peer {
	u_int32_t	gen;
	u_int32_t	seq;
	int		dup_logged;
};

static void	wmsg_recv(struct kore_msg *, const void *);
static void	wmsg_hello(u_int16_t, u_int32_t, const void *, size_t);

static wmsg_fn		handlers[WMSG_IDS];
static wmsg_restart_fn	restart_hooks[WMSG_RESTART_HOOKS];
static struct wmsg_peer	peers[WMSG_WORKERS];
static u_int32_t	generation;
static u_int32_t	seq;

void
wmsg_init(void)
{
	struct wmsg_hello	h;

	memset(handlers, 0, sizeof(handlers));
	memset(restart_hooks, 0, sizeof(restart_hooks));
	memset(peers, 0, sizeof(peers));

	do {
		generation = arc4random();
	} while (generation == 0);
	seq = 0;

	(void)kore_msg_register(WMSG_HELLO, wmsg_recv);

	/*
	 * The first message this worker sends: the others see it before
	 * anything else from this generation (the parent keeps each
	 * worker's messages in order).
	 */
	h.started = kore_time_ms();
	wmsg_send(KORE_MSG_WORKER_ALL, WMSG_HELLO, &h, sizeof(h));
}

u_int32_t
wmsg_generation(void)
{
	return (generation);
}

void
wmsg_register(u_int8_t id, wmsg_fn fn)
{
	handlers[id] = fn;
	(void)kore_msg_register(id, wmsg_recv);
}

void
wmsg_on_restart(wmsg_restart_fn fn)
{
	size_t		i;

	for (i = 0; i < WMSG_RESTART_HOOKS; i++) {
		if (restart_hooks[i] == NULL) {
			restart_hooks[i] = fn;
			return;
		}
	}

	fatal("wmsg: too many restart hooks");
}

void
wmsg_send(u_int16_t dst, u_int8_t id, const void *data, size_t len)
{
	wmsg_send2(dst, id, data, len, NULL, 0);
}

/* kore_msg_send() with the header in front, without copying the data. */
void
wmsg_send2(u_int16_t dst, u_int8_t id, const void *a, size_t alen,
    const void *b, size_t blen)
{
	struct kore_msg		m;
	struct wmsg_hdr		h;

	h.gen = generation;
	h.seq = ++seq;

	memset(&m, 0, sizeof(m));
	m.id = id;
	m.dst = dst;
	m.src = worker->id;
	m.length = sizeof(h) + alen + blen;

	net_send_queue(worker->msg[1], &m, sizeof(m));
	net_send_queue(worker->msg[1], &h, sizeof(h));
	if (alen > 0)
		net_send_queue(worker->msg[1], a, alen);
	if (blen > 0)
		net_send_queue(worker->msg[1], b, blen);
	net_send_flush(worker->msg[1]);
}

static void
wmsg_recv(struct kore_msg *msg, const void *data)
{
	struct wmsg_hdr		h;
	struct wmsg_peer	*p;
	const u_int8_t		*body;
	size_t			len;

	if (msg->src == worker->id || msg->src >= WMSG_WORKERS)
		return;
	if (data == NULL || msg->length < sizeof(h)) {
		app_log("wmsg: short message %u from worker %u",
		    msg->id, msg->src);
		return;
	}

	memcpy(&h, data, sizeof(h));
	body = (const u_int8_t *)data + sizeof(h);
	len = msg->length - sizeof(h);
	p = &peers[msg->src];

	if (h.gen == p->gen && (int32_t)(h.seq - p->seq) <= 0) {
		if (!p->dup_logged) {
			app_log("wmsg: dropping repeated copies of messages "
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

	if (msg->id == WMSG_HELLO)
		wmsg_hello(msg->src, h.gen, body, len);
	else if (handlers[msg->id] != NULL)
		handlers[msg->id](msg->src, body, len);
}

static void
wmsg_hello(u_int16_t src, u_int32_t gen, const void *data, size_t len)
{
	struct wmsg_hello	h;
	size_t			i;

	if (len < sizeof(h))
		return;
	memcpy(&h, data, sizeof(h));

	for (i = 0; i < WMSG_RESTART_HOOKS; i++) {
		if (restart_hooks[i] != NULL)
			restart_hooks[i](src, gen, h.started);
	}
}
