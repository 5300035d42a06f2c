/*
 * The messages this node announced last: a ring in memory shared by the
 * workers (mapped by the parent before they fork, so it outlives any of
 * them).
 *
 * Why: a send routed to the worker that owns its conversation may be
 * stored and announced there, and the owner die before its answer gets
 * back; the requester cannot tell that from an owner that died before
 * announcing, and looks the message up (msg_doubt.c). Found, it was
 * stored; in this ring, it was announced as well, and must not be twice.
 * The owner notes each message just before publishing it.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <stdlib.h>
#include <string.h>

#include "domain/msg_internal.h"

#define ANNOUNCED_RING	32768	/* 16 s at 2,000 messages a second */

struct announced_ring {
	volatile u_int64_t	next;
	bson_oid_t		ids[ANNOUNCED_RING];
};

static struct announced_ring	*ring;

/* Parent, before the workers fork. */
void
msg_announced_init(void)
{
	void	*p;

	p = mmap(NULL, sizeof(*ring), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		abort();
	ring = p;
}

void
msg_announced_note(const bson_oid_t *id)
{
	u_int64_t	i;

	if (ring == NULL)
		return;
	i = __atomic_fetch_add(&ring->next, 1, __ATOMIC_RELAXED);
	memcpy(&ring->ids[i % ANNOUNCED_RING], id, sizeof(*id));
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/* 1 when id is among the last ANNOUNCED_RING messages announced here. */
int
msg_announced(const bson_oid_t *id)
{
	size_t		i;

	if (ring == NULL)
		return (0);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	for (i = 0; i < ANNOUNCED_RING; i++) {
		if (bson_oid_equal(&ring->ids[i], id))
			return (1);
	}

	return (0);
}
