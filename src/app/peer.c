/*
 * The other workers of this node (see peer.h).
 */

#include <sys/types.h>

#include <kore/kore.h>

#include "app/peer.h"

#define PEER_HANDLERS	256

static void	peer_msg(struct kore_msg *, const void *);

static void	(*handlers[PEER_HANDLERS])(u_int16_t, const void *, size_t);

u_int16_t
peer_count(void)
{
	return (worker_count - KORE_WORKER_BASE);
}

u_int16_t
peer_self(void)
{
	return (worker->id);
}

u_int16_t
peer_owner(u_int32_t hash)
{
	u_int16_t	n;

	n = peer_count();
	return (n > 1 ? 1 + hash % n : peer_self());
}

void
peer_register(u_int8_t id, void (*fn)(u_int16_t, const void *, size_t))
{
	handlers[id] = fn;
	(void)kore_msg_register(id, peer_msg);
}

void
peer_send(u_int16_t dst, u_int8_t id, const void *data, size_t len)
{
	kore_msg_send(dst, id, data, len);
}

static void
peer_msg(struct kore_msg *msg, const void *data)
{
	if (handlers[msg->id] != NULL)
		handlers[msg->id](msg->src, data, msg->length);
}
