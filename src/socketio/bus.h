/*
 * The event bus: room fan-out on every socket of every worker of every
 * node. Local sockets get an event at once, the other workers of this
 * node through peer messages, other nodes through Redis pub/sub (each
 * worker subscribes; a node skips its own publishes). A batch keeps its
 * order, so a JOIN added before an EMIT is applied everywhere before
 * that EMIT is delivered; per room the delivery order is the publish
 * order.
 *
 * A batch (struct bus_batch) is filled with records and sent once:
 *   EMIT   event name with data (its JSON arguments) to a room
 *   JOIN   every socket in a room joins another room (target)
 *   LEAVE  every socket in a room leaves target
 *   NOTE   every worker of every node hears topic about arg
 *          (bus_on_note), whatever the namespace
 * bus_emit() is one EMIT to the namespace bus_init() was given, sent
 * at once: arg is the event's single argument as JSON text; except (may
 * be NULL) is a socket sid or a room whose members are skipped: typing
 * goes to "the others in the room" with except = sio_socket_sid(sender).
 */

#ifndef LNK_SOCKETIO_BUS_H
#define LNK_SOCKETIO_BUS_H

#include <sys/types.h>
#include <stddef.h>

#include "engineio/eio_packet.h"

/* A batch of one event fits here; bigger ones move to the heap. */
#define BUS_STACK		1024

struct bus_config {
	/* The namespace of bus_emit(), e.g. "/chat". */
	const char	*nsp;
	/* The Redis channel between nodes; NULL: this node only. */
	const char	*redis_channel;
};

struct bus_batch {
	struct eio_buf	buf;
	u_int8_t	stack[BUS_STACK];
};

void	bus_init(const struct bus_config *);
void	bus_teardown(void);
void	bus_tick(u_int64_t);

void	bus_batch_init(struct bus_batch *);
void	bus_batch_emit(struct bus_batch *, const char *, const char *,
	    const char *, const void *, size_t);
void	bus_batch_join(struct bus_batch *, const char *, const char *,
	    const char *);
void	bus_batch_leave(struct bus_batch *, const char *, const char *,
	    const char *);
void	bus_batch_note(struct bus_batch *, const char *, const char *,
	    const char *);
/* Delivers the batch here, then elsewhere, and frees it. */
void	bus_batch_send(struct bus_batch *);

void	bus_emit(const char *, const char *, const char *, size_t,
	    const char *);
/* The same for another namespace. */
void	bus_emit_nsp(const char *, const char *, const char *, const char *,
	    size_t, const char *);

/* Who hears NOTE records (topic, argument), on every worker. */
void	bus_on_note(void (*)(const char *, const char *));

/* Decodes one batch and applies it to this worker's sockets. */
int	bus_deliver(const u_int8_t *, size_t);

#endif
