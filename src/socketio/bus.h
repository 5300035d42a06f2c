/*
 * The event bus: room fan-out for namespace /chat on every socket of
 * every worker of every node. Local sockets get an event at once, the
 * other workers of this node through kore_msg, other nodes through
 * Redis pub/sub (each worker subscribes; a node skips its own
 * publishes). A batch keeps its order, so a JOIN queued before an EMIT
 * is applied everywhere before that EMIT is delivered; per room the
 * delivery order is the publish order.
 *
 * bus_publish() (events.h) carries what domain operations queue; the
 * calls below are for the chat layer itself. arg is the event's single
 * argument as JSON text. except (may be NULL) is a socket sid or a room
 * whose members are skipped: typing goes to "the others in the room"
 * with except = sio_socket_sid(sender).
 */

#ifndef LNK_SOCKETIO_BUS_H
#define LNK_SOCKETIO_BUS_H

#include <sys/types.h>
#include <stddef.h>

#define BUS_NAMESPACE		"/chat"
#define BUS_REDIS_CHANNEL	"lnk-chat:bus"

void	bus_init(void);
void	bus_teardown(void);
void	bus_tick(u_int64_t);

void	bus_emit(const char *, const char *, const char *, size_t,
	    const char *);
/* The same for another namespace (bus_emit is for /chat). */
void	bus_emit_nsp(const char *, const char *, const char *, const char *,
	    size_t, const char *);
void	bus_join(const char *, const char *);
void	bus_leave(const char *, const char *);

/* Who hears EVT_NOTE records (topic, argument), on every worker. */
void	bus_on_note(void (*)(const char *, const char *));

/* Decodes one batch and applies it to this worker's sockets. */
int	bus_deliver(const u_int8_t *, size_t);

#endif
